/* config/toml: our toml-test-layout corpus (tests/toml/corpus), the C API
 * (paths, typed reads, positions, messages, key order, limits), a table of
 * 100k keys, toml_parse_file() errors, and bin/toml-decode through a pipe. */
#include "config/toml.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <math.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/err.h"
#include "lib/xalloc.h"
#include "tests/harness/harness.h"
#include "tests/toml/toml_compare.h"

/* Parses text or fails the test, printing the parser's message. */
#define PARSE(root, text)                                                                          \
    do {                                                                                           \
        struct err _e = ERR_INIT;                                                                  \
        int _r = toml_parse((text), strlen(text), "t.toml", &(root), &_e);                         \
        if (_r < 0)                                                                                \
            printf("#   parse error: %s\n", err_msg(&_e));                                         \
        ASSERT_EQ(_r, 0);                                                                          \
    } while (0)

/* The message of a document that must not parse, in a static buffer. */
static const char *parse_error(const char *text, const char *file)
{
    static char msg[ERR_MSG_MAX];
    struct err e = ERR_INIT;
    struct toml_value *root = NULL;
    int r = toml_parse(text, strlen(text), file, &root, &e);
    if (r >= 0) {
        toml_free(root);
        return "(parsed)";
    }
    snprintf(msg, sizeof(msg), "%s%s", r == -EINVAL ? "" : "(not EINVAL) ", err_msg(&e));
    return msg;
}

TEST(corpus)
{
    struct toml_suite_result res = {0, 0, 0};
    ASSERT_EQ(toml_compare_suite(TOML_CORPUS_DIR, NULL, stdout, false, &res), 0);
    printf("#   corpus: %u passed, %u failed\n", res.passed, res.failed);
    ASSERT_EQ(res.failed, 0);
    ASSERT_GE(res.passed, 300);
    return 0;
}

/* The comparison must notice differences, or the corpus proves nothing. */
static int compare_text(const char *toml, const char *json)
{
    _cleanup_toml_free_ struct toml_value *root = NULL;
    struct err e = ERR_INIT;
    if (toml_parse(toml, strlen(toml), NULL, &root, &e) < 0)
        return 99;
    struct json_object *j = json_tokener_parse(json);
    if (!j)
        return 98;
    int r = toml_compare_json(root, j, &e);
    json_object_put(j);
    return r;
}

TEST(compare_detects_differences)
{
    ASSERT_EQ(compare_text("a = 1", "{\"a\": {\"type\": \"integer\", \"value\": \"1\"}}"), 0);
    ASSERT_EQ(compare_text("a = 1", "{\"a\": {\"type\": \"integer\", \"value\": \"2\"}}"), -EINVAL);
    ASSERT_EQ(compare_text("a = 1", "{\"a\": {\"type\": \"float\", \"value\": \"1\"}}"), -EINVAL);
    ASSERT_EQ(compare_text("a = 1", "{\"b\": {\"type\": \"integer\", \"value\": \"1\"}}"), -EINVAL);
    ASSERT_EQ(compare_text("a = 1\nb = 2", "{\"a\": {\"type\": \"integer\", \"value\": \"1\"}}"),
              -EINVAL);
    ASSERT_EQ(compare_text("a = -0.0", "{\"a\": {\"type\": \"float\", \"value\": \"0.0\"}}"),
              -EINVAL);
    ASSERT_EQ(compare_text("a = nan", "{\"a\": {\"type\": \"float\", \"value\": \"nan\"}}"), 0);
    ASSERT_EQ(compare_text("a = [1]", "{\"a\": []}"), -EINVAL);
    ASSERT_EQ(compare_text("a = {}", "{\"a\": []}"), -EINVAL);
    ASSERT_EQ(compare_text("a = 'x'", "{\"a\": {\"type\": \"string\", \"value\": \"y\"}}"), -EINVAL);
    /* Date-times compare after normalisation, and only then. */
    ASSERT_EQ(compare_text("d = 1979-05-27 07:32:00.5000z",
                           "{\"d\": {\"type\": \"datetime\", \"value\": \"1979-05-27T07:32:00.5Z\"}}"),
              0);
    ASSERT_EQ(compare_text("d = 1979-05-27T07:32:00+00:00",
                           "{\"d\": {\"type\": \"datetime\", \"value\": \"1979-05-27T07:32:00Z\"}}"),
              0);
    ASSERT_EQ(compare_text("d = 1979-05-27T07:32:01Z",
                           "{\"d\": {\"type\": \"datetime\", \"value\": \"1979-05-27T07:32:00Z\"}}"),
              -EINVAL);
    return 0;
}

static const char *const sample = "title = \"demo\"\n"
                                  "[hypervisor.qemu]\n"
                                  "path = \"/usr/bin/qemu\"\n"
                                  "vcpus = 2\n"
                                  "\"dotted.key\".inner = true\n"
                                  "'quote\"d' = 1.5\n"
                                  "[agent]\n"
                                  "modules = [\"a\", \"b\"]\n";

TEST(get_paths)
{
    _cleanup_toml_free_ struct toml_value *root = NULL;
    PARSE(root, sample);
    const char *s = NULL;
    ASSERT_EQ(toml_string(toml_get(root, "hypervisor.qemu.path"), &s), 0);
    ASSERT_STREQ(s, "/usr/bin/qemu");
    ASSERT_EQ(toml_string(toml_get(root, "title"), &s), 0);
    ASSERT_STREQ(s, "demo");
    bool b = false;
    ASSERT_EQ(toml_bool(toml_get(root, "hypervisor.qemu.\"dotted.key\".inner"), &b), 0);
    ASSERT_TRUE(b);
    ASSERT_EQ(toml_bool(toml_get(root, "hypervisor.qemu.'dotted.key'.inner"), &b), 0);
    double d = 0;
    ASSERT_EQ(toml_float(toml_get(root, "hypervisor.qemu.\"quote\\\"d\""), &d), 0);
    ASSERT_TRUE(d == 1.5);
    const struct toml_value *qemu = toml_get(root, "hypervisor.qemu");
    ASSERT_TRUE(qemu && toml_type(qemu) == TOML_TABLE);
    ASSERT_TRUE(toml_get(qemu, "vcpus") == toml_get(root, "hypervisor.qemu.vcpus"));
    /* Absent, through a non-table, malformed. */
    ASSERT_TRUE(toml_get(root, "hypervisor.clh") == NULL);
    ASSERT_TRUE(toml_get(root, "title.x") == NULL);
    ASSERT_TRUE(toml_get(root, "agent.modules.0") == NULL);
    ASSERT_TRUE(toml_get(root, "hypervisor..qemu") == NULL);
    ASSERT_TRUE(toml_get(root, "hypervisor.") == NULL);
    ASSERT_TRUE(toml_get(root, ".hypervisor") == NULL);
    ASSERT_TRUE(toml_get(root, "hypervisor.qemu.\"dotted.key") == NULL);
    ASSERT_TRUE(toml_get(root, "hypervisor.qemu.\"dotted.key\"x") == NULL);
    ASSERT_TRUE(toml_get(root, "") == NULL);
    ASSERT_TRUE(toml_get(NULL, "title") == NULL);
    ASSERT_TRUE(toml_get(toml_get(root, "title"), "x") == NULL);
    return 0;
}

TEST(typed_reads)
{
    _cleanup_toml_free_ struct toml_value *root = NULL;
    PARSE(root, "s = \"a\\u0000b\"\ni = -42\nf = 2.5\nb = true\nd = 1979-05-27T07:32:00.1234567891-07:30\n"
                "ld = 2024-02-29\nlt = 23:59:60.5\nldt = 2000-01-02 03:04:05\narr = [1]\n");
    int64_t i = 7;
    const char *s = "untouched";
    double f = 9;
    bool b = false;
    struct toml_datetime dt;
    /* Wrong type: -EINVAL and the output untouched. */
    ASSERT_EQ(toml_int(toml_get(root, "s"), &i), -EINVAL);
    ASSERT_EQ(i, 7);
    ASSERT_EQ(toml_string(toml_get(root, "i"), &s), -EINVAL);
    ASSERT_STREQ(s, "untouched");
    ASSERT_EQ(toml_float(toml_get(root, "i"), &f), -EINVAL);
    ASSERT_TRUE(f == 9);
    ASSERT_EQ(toml_bool(toml_get(root, "f"), &b), -EINVAL);
    ASSERT_EQ(toml_datetime(toml_get(root, "arr"), &dt), -EINVAL);
    ASSERT_EQ(toml_int(toml_get(root, "missing"), &i), -ENOENT);
    /* Right type. */
    ASSERT_EQ(toml_int(toml_get(root, "i"), &i), 0);
    ASSERT_EQ(i, -42);
    ASSERT_EQ(toml_float(toml_get(root, "f"), &f), 0);
    ASSERT_TRUE(f == 2.5);
    ASSERT_EQ(toml_bool(toml_get(root, "b"), &b), 0);
    ASSERT_TRUE(b);
    ASSERT_EQ(toml_string(toml_get(root, "s"), &s), 0);
    ASSERT_EQ(toml_string_len(toml_get(root, "s")), 3);
    ASSERT_MEMEQ(s, "a\0b", 4);
    ASSERT_EQ(toml_string_len(toml_get(root, "i")), 0);
    ASSERT_EQ(toml_datetime(toml_get(root, "d"), &dt), 0);
    ASSERT_EQ(toml_type(toml_get(root, "d")), TOML_DATETIME);
    ASSERT_EQ(dt.year, 1979);
    ASSERT_EQ(dt.month, 5);
    ASSERT_EQ(dt.day, 27);
    ASSERT_EQ(dt.hour, 7);
    ASSERT_EQ(dt.minute, 32);
    ASSERT_EQ(dt.second, 0);
    ASSERT_EQ(dt.nanosecond, 123456789); /* truncated, not rounded */
    ASSERT_TRUE(dt.has_offset);
    ASSERT_EQ(dt.offset_minutes, -(7 * 60 + 30));
    ASSERT_EQ(toml_datetime(toml_get(root, "ld"), &dt), 0);
    ASSERT_EQ(toml_type(toml_get(root, "ld")), TOML_DATE_LOCAL);
    ASSERT_EQ(dt.day, 29);
    ASSERT_EQ(dt.hour, 0);
    ASSERT_TRUE(!dt.has_offset);
    ASSERT_EQ(toml_datetime(toml_get(root, "lt"), &dt), 0);
    ASSERT_EQ(toml_type(toml_get(root, "lt")), TOML_TIME_LOCAL);
    ASSERT_EQ(dt.year, 0);
    ASSERT_EQ(dt.second, 60);
    ASSERT_EQ(dt.nanosecond, 500000000);
    ASSERT_EQ(toml_type(toml_get(root, "ldt")), TOML_DATETIME_LOCAL);
    return 0;
}

TEST(type_names)
{
    static const char *const names[] = {"string",     "integer",        "float",
                                        "bool",       "datetime",       "datetime-local",
                                        "date-local", "time-local",     "array",
                                        "table"};
    for (int t = TOML_STRING; t <= TOML_TABLE; t++)
        ASSERT_STREQ(toml_type_name((enum toml_type)t), names[t]);
    return 0;
}

TEST(positions)
{
    _cleanup_toml_free_ struct toml_value *root = NULL;
    PARSE(root, "a = 1\r\n"
                "  [t . u]\n"
                "\"é\" = \"x\"  # é\n"
                "arr = [ 10,\n"
                "        20 ]\n"
                "[[list]]\n"
                "dotted.key = 'v'\n");
    const struct toml_value *v = toml_get(root, "a");
    ASSERT_EQ(toml_line(v), 1);
    ASSERT_EQ(toml_column(v), 5);
    v = toml_get(root, "t.u");
    ASSERT_EQ(toml_line(v), 2);
    ASSERT_EQ(toml_column(v), 8);
    /* Columns count code points: "é" is one. */
    v = toml_get(root, "t.u.\"é\"");
    ASSERT_EQ(toml_line(v), 3);
    ASSERT_EQ(toml_column(v), 7);
    v = toml_array_at(toml_get(root, "t.u.arr"), 1);
    ASSERT_EQ(toml_line(v), 5);
    ASSERT_EQ(toml_column(v), 9);
    v = toml_array_at(toml_get(root, "list"), 0);
    ASSERT_EQ(toml_line(v), 6);
    ASSERT_EQ(toml_column(v), 3);
    v = toml_get(toml_array_at(toml_get(root, "list"), 0), "dotted.key");
    ASSERT_EQ(toml_line(v), 7);
    ASSERT_EQ(toml_column(v), 14);
    ASSERT_EQ(toml_line(NULL), 0);
    return 0;
}

TEST(error_messages)
{
    ASSERT_STREQ(parse_error("a = 1\nb = 2\na = 3\n", "cfg.toml"),
                 "cfg.toml:3:1: duplicate key \"a\": already defined as an integer at line 1");
    ASSERT_STREQ(parse_error("[x]\n[x]\n", "cfg.toml"),
                 "cfg.toml:2:2: cannot define table \"x\": already defined as a table at line 1");
    ASSERT_STREQ(parse_error("s = \"bad \\e\"\n", NULL),
                 "<input>:1:10: invalid escape sequence: backslash followed by 'e'");
    ASSERT_STREQ(parse_error("n = 9223372036854775808\n", "c"),
                 "c:1:5: invalid number '9223372036854775808': integer out of range (64 bits)");
    ASSERT_STREQ(parse_error("\n\ns = \"open\n", "c"), "c:3:5: unterminated string");
    ASSERT_STREQ(parse_error("a = 1 2\n", "c"), "c:1:7: expected a newline after a value, found '2'");
    ASSERT_STREQ(parse_error("# ok\n# \xff\n", "c"), "c:2:3: invalid UTF-8 (byte 0xFF)");
    ASSERT_STREQ(parse_error("a = \"\x01\"\n", "c"), "c:1:6: control character U+0001 is not allowed");
    ASSERT_STREQ(parse_error("t = {a = 1}\n[[t.b]]\n", "c"),
                 "c:2:3: cannot define tables under \"t\": already defined as an inline table at "
                 "line 1");
    ASSERT_STREQ(parse_error("a = []\n[[a]]\n", "c"),
                 "c:2:3: cannot append a table to \"a\": already defined as an array at line 1");
    ASSERT_STREQ(parse_error("d = 2023-02-29\n", "c"), "c:1:5: invalid date: 2023-02 has no day 29");
    ASSERT_STREQ(parse_error("a = {b = 1,}\n", "c"), "c:1:12: trailing comma in an inline table");
    /* Long keys are shortened in messages. */
    char doc[512];
    snprintf(doc, sizeof(doc), "%s = 1\n%s = 2\n", "k123456789012345678901234567890123456789012345678901234567890",
             "k123456789012345678901234567890123456789012345678901234567890");
    ASSERT_TRUE(strstr(parse_error(doc, "c"), "c:2:1: duplicate key \"k12345") != NULL);
    ASSERT_TRUE(strstr(parse_error(doc, "c"), "...\"") != NULL);
    return 0;
}

TEST(document_order)
{
    _cleanup_toml_free_ struct toml_value *root = NULL;
    PARSE(root, "zeta = 1\nalpha = 2\nmid.b = 3\nmid.a = 4\n[later]\n[early]\n[mid2]\n");
    static const char *const want[] = {"zeta", "alpha", "mid", "later", "early", "mid2"};
    ASSERT_EQ(toml_table_size(root), ELEMENTSOF(want));
    for (size_t i = 0; i < ELEMENTSOF(want); i++)
        ASSERT_STREQ(toml_table_key_at(root, i), want[i]);
    const struct toml_value *mid = toml_get(root, "mid");
    ASSERT_STREQ(toml_table_key_at(mid, 0), "b");
    ASSERT_STREQ(toml_table_key_at(mid, 1), "a");
    ASSERT_TRUE(toml_table_value_at(mid, 1) == toml_get(root, "mid.a"));
    ASSERT_TRUE(toml_table_key_at(mid, 2) == NULL);
    ASSERT_TRUE(toml_table_value_at(mid, 2) == NULL);
    ASSERT_EQ(toml_table_size(toml_get(root, "zeta")), 0);
    ASSERT_EQ(toml_array_size(root), 0);
    ASSERT_TRUE(toml_array_at(root, 0) == NULL);
    return 0;
}

TEST(nul_in_key)
{
    _cleanup_toml_free_ struct toml_value *root = NULL;
    PARSE(root, "\"a\\u0000b\" = 1\n\"a\" = 2\n");
    ASSERT_EQ(toml_table_size(root), 2);
    ASSERT_EQ(toml_table_key_len_at(root, 0), 3);
    ASSERT_MEMEQ(toml_table_key_at(root, 0), "a\0b", 4);
    ASSERT_EQ(toml_table_key_len_at(root, 1), 1);
    ASSERT_EQ(toml_table_key_len_at(root, 2), 0);
    return 0;
}

/* Nested containers: 128 levels parse, 129 do not. */
static char *nested_arrays(int levels)
{
    char *doc = xmalloc((size_t)levels * 2 + 16);
    size_t o = (size_t)sprintf(doc, "a = ");
    for (int i = 0; i < levels; i++)
        doc[o++] = '[';
    for (int i = 0; i < levels; i++)
        doc[o++] = ']';
    doc[o] = '\0';
    return doc;
}

TEST(nesting_limit)
{
    _cleanup_free_ char *ok = nested_arrays(128);
    _cleanup_free_ char *deep = nested_arrays(129);
    _cleanup_toml_free_ struct toml_value *root = NULL;
    PARSE(root, ok);
    ASSERT_TRUE(strstr(parse_error(deep, "c"), "c:1:133: tables and arrays nested deeper") != NULL);
    /* Headers count towards the same depth. */
    char doc[1024] = "[t";
    for (int i = 1; i < 128; i++)
        strcat(doc, ".t");
    ASSERT_STREQ(parse_error(strcat(doc, "]\nx = [1]\n"), "c"),
                 "c:2:5: tables and arrays nested deeper than 128 levels");
    return 0;
}

static double seconds_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* 100k keys in one table (and 100k in an inline table): the index keeps it
 * linear; a quadratic parser takes minutes here. */
TEST(large_table)
{
    const int n = 100000;
    size_t cap = (size_t)n * 24 + 64, o = 0;
    _cleanup_free_ char *doc = xmalloc(cap);
    for (int i = 0; i < n; i++)
        o += (size_t)snprintf(doc + o, cap - o, "key%d = %d\n", (i * 7919) % n, i);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    _cleanup_toml_free_ struct toml_value *root = NULL;
    PARSE(root, doc);
    double took = seconds_since(&t0);
    printf("#   100k keys parsed in %.3f s\n", took);
    ASSERT_LT(took, 5.0);
    ASSERT_EQ(toml_table_size(root), (size_t)n);
    int64_t v = -1;
    ASSERT_EQ(toml_int(toml_get(root, "key7919"), &v), 0);
    ASSERT_EQ(v, 1);
    ASSERT_STREQ(toml_table_key_at(root, 2), "key15838");
    ASSERT_TRUE(toml_get(root, "key100000") == NULL);
    /* A duplicate at the end is still found. */
    snprintf(doc + o, cap - o, "key4242 = 0\n");
    ASSERT_TRUE(strstr(parse_error(doc, "c"), "duplicate key \"key4242\"") != NULL);
    return 0;
}

TEST(empty_and_null_input)
{
    struct toml_value *root = NULL;
    struct err e = ERR_INIT;
    ASSERT_EQ(toml_parse(NULL, 0, NULL, &root, &e), 0);
    ASSERT_EQ(toml_table_size(root), 0);
    root = toml_free(root);
    ASSERT_TRUE(toml_free(NULL) == NULL);
    /* Text is bounded by len, not by a NUL. */
    ASSERT_EQ(toml_parse("a = 1\nb = oops", 6, NULL, &root, &e), 0);
    ASSERT_EQ(toml_table_size(root), 1);
    toml_free(root);
    return 0;
}

static int write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "we");
    if (!f)
        return -errno;
    fputs(text, f);
    return fclose(f) == 0 ? 0 : -errno;
}

TEST(parse_file)
{
    char path[512];
    struct err e = ERR_INIT;
    struct toml_value *root = NULL;
    snprintf(path, sizeof(path), "%s/cfg.toml", test_tmpdir());
    ASSERT_EQ(write_file(path, "[a]\nb = 1\nc = \n"), 0);
    ASSERT_EQ(toml_parse_file(path, &root, &e), -EINVAL);
    char want[600];
    snprintf(want, sizeof(want), "%s:3:5: expected a value, found a newline", path);
    ASSERT_STREQ(err_msg(&e), want);
    err_clear(&e);
    ASSERT_EQ(write_file(path, "[a]\nb = 1\n"), 0);
    ASSERT_EQ(toml_parse_file(path, &root, &e), 0);
    ASSERT_EQ(toml_table_size(toml_get(root, "a")), 1);
    root = toml_free(root);
    /* I/O errors carry the errno and name the file. */
    snprintf(path, sizeof(path), "%s/missing.toml", test_tmpdir());
    ASSERT_EQ(toml_parse_file(path, &root, &e), -ENOENT);
    ASSERT_TRUE(strncmp(err_msg(&e), path, strlen(path)) == 0);
    err_clear(&e);
    ASSERT_EQ(toml_parse_file(test_tmpdir(), &root, &e), -EISDIR);
    err_clear(&e);
    /* Oversized documents are refused after reading just past the limit. */
    snprintf(path, sizeof(path), "%s/big.toml", test_tmpdir());
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(ftruncate(fd, 65 * 1024 * 1024), 0);
    close(fd);
    ASSERT_EQ(toml_parse_file(path, &root, &e), -EFBIG);
    ASSERT_TRUE(root == NULL);
    unlink(path);
    return 0;
}

/* Runs bin/toml-decode on input; returns its exit status, output in out. */
static int run_decoder(const char *input, char *out, size_t size)
{
    char in_path[512], cmd[1200];
    snprintf(in_path, sizeof(in_path), "%s/decode-in.toml", test_tmpdir());
    if (write_file(in_path, input) < 0)
        return -1;
    snprintf(cmd, sizeof(cmd), "'%s' < '%s' 2>&1", TOML_DECODE_PATH, in_path);
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    size_t n = fread(out, 1, size - 1, p);
    out[n] = '\0';
    int status = pclose(p);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(toml_decode_pipe)
{
    if (access(TOML_DECODE_PATH, X_OK) < 0)
        return test_skip("%s not built", TOML_DECODE_PATH);
    static const char doc[] = "s = \"tab\\there \\\"q\\\" \\u0001\"\n"
                              "i = -9223372036854775808\nf = [0.1, -0.0, -inf, nan, 1e300]\n"
                              "d = 1979-05-27 07:32:00.500-07:00\nt = 07:32:00\n"
                              "[[arr]]\nk.\"x y\" = true\n[[arr]]\n";
    static char out[8192];
    ASSERT_EQ(run_decoder(doc, out, sizeof(out)), 0);
    /* The output is JSON describing the same document... */
    struct json_object *j = json_tokener_parse(out);
    ASSERT_TRUE(j != NULL);
    _cleanup_toml_free_ struct toml_value *root = NULL;
    PARSE(root, doc);
    struct err e = ERR_INIT;
    int r = toml_compare_json(root, j, &e);
    if (r < 0)
        printf("#   %s\n%s", err_msg(&e), out);
    json_object_put(j);
    ASSERT_EQ(r, 0);
    /* ...in toml-test's spelling. */
    ASSERT_TRUE(strstr(out, "{\"type\": \"string\", \"value\": \"tab\\there \\\"q\\\" \\u0001\"}"));
    ASSERT_TRUE(strstr(out, "{\"type\": \"float\", \"value\": \"0.1\"}"));
    ASSERT_TRUE(strstr(out, "{\"type\": \"float\", \"value\": \"-inf\"}"));
    ASSERT_TRUE(strstr(out, "{\"type\": \"datetime\", \"value\": \"1979-05-27T07:32:00.5-07:00\"}"));
    ASSERT_TRUE(strstr(out, "{\"type\": \"time-local\", \"value\": \"07:32:00\"}"));
    ASSERT_TRUE(strstr(out, "\"x y\": {\"type\": \"bool\", \"value\": \"true\"}"));
    /* Invalid input: exit 1, the message on stderr. */
    ASSERT_EQ(run_decoder("a = 1\na = 2\n", out, sizeof(out)), 1);
    ASSERT_STREQ(out, "<stdin>:2:1: duplicate key \"a\": already defined as an integer at line 1\n");
    return 0;
}
