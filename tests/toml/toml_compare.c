/* Comparison of parsed TOML with toml-test's tagged JSON, and the case
 * runner over a folder in toml-test's layout. See toml_compare.h. */
#include "tests/toml/toml_compare.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config/toml.h"
#include "lib/err.h"
#include "lib/xalloc.h"

#define PATH_TEXT_MAX 200
#define JSON_NESTING_MAX 1000

/* Where in the document a comparison is, for messages: "a.b[2].c". */
struct where {
    char text[PATH_TEXT_MAX];
};

/* dst = src + sep + piece, cut to fit. */
static void where_join(struct where *dst, const struct where *src, const char *sep,
                       const char *piece)
{
    size_t o = strnlen(src->text, sizeof(dst->text) - 1);
    memmove(dst->text, src->text, o);
    for (const char *p = sep; *p && o + 1 < sizeof(dst->text); p++)
        dst->text[o++] = *p;
    for (const char *p = piece; *p && o + 1 < sizeof(dst->text); p++)
        dst->text[o++] = *p;
    dst->text[o] = '\0';
}

static void where_key(struct where *dst, const struct where *src, const char *key)
{
    where_join(dst, src, src->text[0] ? "." : "", key);
}

static void where_index(struct where *dst, const struct where *src, size_t i)
{
    char piece[32];
    snprintf(piece, sizeof(piece), "[%zu]", i);
    where_join(dst, src, "", piece);
}

static int differ(struct err *e, const struct where *w, const char *what, const char *want,
                  const char *have)
{
    return err_set(e, -EINVAL, "%s: %s differs: expected %s, parsed %s",
                   w->text[0] ? w->text : "(root)", what, want, have);
}

static int compare(const struct toml_value *v, struct json_object *j, const struct where *w,
                   struct err *e);

/* A tagged scalar is an object of exactly "type" (a string) and "value". */
static bool is_tagged(struct json_object *j)
{
    struct json_object *type, *value;
    return json_object_is_type(j, json_type_object) && json_object_object_length(j) == 2 &&
           json_object_object_get_ex(j, "type", &type) &&
           json_object_is_type(type, json_type_string) &&
           json_object_object_get_ex(j, "value", &value);
}

static int compare_table(const struct toml_value *v, struct json_object *j,
                         const struct where *w, struct err *e)
{
    size_t n = toml_table_size(v);
    if ((size_t)json_object_object_length(j) != n) {
        char want[32], have[32];
        snprintf(want, sizeof(want), "%d keys", json_object_object_length(j));
        snprintf(have, sizeof(have), "%zu keys", n);
        return differ(e, w, "table size", want, have);
    }
    for (size_t i = 0; i < n; i++) {
        /* json-c keys end at the first NUL; compare the same prefix. */
        const char *key = toml_table_key_at(v, i);
        struct json_object *sub;
        struct where wk;
        where_key(&wk, w, key);
        if (!json_object_object_get_ex(j, key, &sub))
            return differ(e, &wk, "key", "no such key", "a value");
        int r = compare(toml_table_value_at(v, i), sub, &wk, e);
        if (r < 0)
            return r;
    }
    return 0;
}

static int compare_array(const struct toml_value *v, struct json_object *j,
                         const struct where *w, struct err *e)
{
    size_t n = toml_array_size(v);
    if (json_object_array_length(j) != n) {
        char want[32], have[32];
        snprintf(want, sizeof(want), "%zu items", json_object_array_length(j));
        snprintf(have, sizeof(have), "%zu items", n);
        return differ(e, w, "array length", want, have);
    }
    for (size_t i = 0; i < n; i++) {
        struct where wi;
        where_index(&wi, w, i);
        int r = compare(toml_array_at(v, i), json_object_array_get_idx(j, i), &wi, e);
        if (r < 0)
            return r;
    }
    return 0;
}

/* RFC 3339 in one spelling: 'T', 'Z', no "+00:00", no trailing zeros in the
 * fraction, at most nanoseconds. */
static void normalise_datetime(const char *in, char *out, size_t size)
{
    size_t o = 0;
    for (size_t i = 0; in[i] && o + 1 < size; i++) {
        char ch = in[i];
        if (i == 10 && (ch == ' ' || ch == 't'))
            ch = 'T';
        if (ch == 'z')
            ch = 'Z';
        out[o++] = ch;
        if (ch != '.')
            continue;
        size_t digits = strspn(in + i + 1, "0123456789"), keep = MIN(digits, (size_t)9);
        while (keep > 0 && in[i + keep] == '0')
            keep--;
        if (keep == 0)
            o--; /* no fraction left: drop the dot */
        for (size_t k = 1; k <= keep && o + 1 < size; k++)
            out[o++] = in[i + k];
        i += digits;
    }
    out[o] = '\0';
    if (o >= 6 && (strcmp(out + o - 6, "+00:00") == 0 || strcmp(out + o - 6, "-00:00") == 0))
        snprintf(out + o - 6, size - (o - 6), "Z");
}

static void format_datetime(enum toml_type t, const struct toml_datetime *dt, char *buf,
                            size_t size)
{
    char date[16] = "", time[32] = "", offset[16] = "";
    if (t != TOML_TIME_LOCAL)
        snprintf(date, sizeof(date), "%04d-%02d-%02d%s", dt->year, dt->month, dt->day,
                 t == TOML_DATE_LOCAL ? "" : "T");
    if (t != TOML_DATE_LOCAL)
        snprintf(time, sizeof(time), "%02d:%02d:%02d.%09" PRIu32, dt->hour, dt->minute,
                 dt->second, dt->nanosecond);
    if (t == TOML_DATETIME)
        snprintf(offset, sizeof(offset), "%c%02d:%02d", dt->offset_minutes < 0 ? '-' : '+',
                 abs(dt->offset_minutes) / 60, abs(dt->offset_minutes) % 60);
    char raw[64];
    snprintf(raw, sizeof(raw), "%s%s%s", date, time, offset);
    normalise_datetime(raw, buf, size);
}

static int compare_float(double have, const char *want, const struct where *w, struct err *e)
{
    char *end;
    char buf[40];
    double d = strtod(want, &end);
    if (*end || end == want)
        return differ(e, w, "float", want, "(unreadable expectation)");
    if (isnan(d) ? isnan(have) : (d == have && !signbit(d) == !signbit(have)))
        return 0;
    snprintf(buf, sizeof(buf), "%.17g", have);
    return differ(e, w, "float", want, buf);
}

static int compare_scalar_value(const struct toml_value *v, const char *want, size_t want_len,
                                const struct where *w, struct err *e)
{
    char buf[64], norm[64];
    const char *s;
    int64_t i;
    double d;
    bool b;
    struct toml_datetime dt;
    if (toml_string(v, &s) == 0) {
        if (toml_string_len(v) == want_len && memcmp(s, want, want_len) == 0)
            return 0;
        return differ(e, w, "string", want, s);
    }
    if (toml_int(v, &i) == 0) {
        snprintf(buf, sizeof(buf), "%" PRId64, i);
        return strcmp(buf, want) == 0 ? 0 : differ(e, w, "integer", want, buf);
    }
    if (toml_float(v, &d) == 0)
        return compare_float(d, want, w, e);
    if (toml_bool(v, &b) == 0)
        return strcmp(want, b ? "true" : "false") == 0 ? 0
                                                        : differ(e, w, "bool", want, b ? "true" : "false");
    if (toml_datetime(v, &dt) < 0)
        return differ(e, w, "value", want, "a container");
    format_datetime(toml_type(v), &dt, buf, sizeof(buf));
    normalise_datetime(want, norm, sizeof(norm));
    return strcmp(buf, norm) == 0 ? 0 : differ(e, w, "date-time", norm, buf);
}

static int compare_tagged(const struct toml_value *v, struct json_object *j,
                          const struct where *w, struct err *e)
{
    struct json_object *type, *value;
    json_object_object_get_ex(j, "type", &type);
    json_object_object_get_ex(j, "value", &value);
    const char *want_type = json_object_get_string(type);
    /* Older toml-test files tag arrays too. */
    if (strcmp(want_type, "array") == 0 && json_object_is_type(value, json_type_array))
        return compare(v, value, w, e);
    if (strcmp(want_type, toml_type_name(toml_type(v))) != 0)
        return differ(e, w, "type", want_type, toml_type_name(toml_type(v)));
    if (!json_object_is_type(value, json_type_string))
        return differ(e, w, "value", "(expectation is not a string)", "a scalar");
    return compare_scalar_value(v, json_object_get_string(value),
                                (size_t)json_object_get_string_len(value), w, e);
}

static int compare(const struct toml_value *v, struct json_object *j, const struct where *w,
                   struct err *e)
{
    enum toml_type t = toml_type(v);
    if (is_tagged(j))
        return compare_tagged(v, j, w, e);
    if (json_object_is_type(j, json_type_object))
        return t == TOML_TABLE ? compare_table(v, j, w, e)
                               : differ(e, w, "type", "table", toml_type_name(t));
    if (json_object_is_type(j, json_type_array))
        return t == TOML_ARRAY ? compare_array(v, j, w, e)
                               : differ(e, w, "type", "array", toml_type_name(t));
    return differ(e, w, "type", "(malformed expectation)", toml_type_name(t));
}

int toml_compare_json(const struct toml_value *v, struct json_object *expected, struct err *e)
{
    struct where root = {""};
    return compare(v, expected, &root, e);
}

/* An error message must start with "PATH:LINE:COL: ". */
static bool well_formed_error(const char *msg, const char *path)
{
    size_t n = strlen(path);
    int line = 0, col = 0, used = 0;
    if (strncmp(msg, path, n) != 0)
        return false;
    if (sscanf(msg + n, ":%d:%d: %n", &line, &col, &used) != 2 || used == 0)
        return false;
    return line > 0 && col > 0 && msg[n + (size_t)used] != '\0';
}

static int run_valid(const char *path, struct err *e)
{
    _cleanup_toml_free_ struct toml_value *root = NULL;
    int r = toml_parse_file(path, &root, e);
    if (r < 0)
        return r;
    /* X.toml -> X.json */
    _cleanup_free_ char *json_path = xstrdup(path);
    strcpy(json_path + strlen(json_path) - 4, "json");
    /* json-c's default depth (32) is below what TOML documents may nest. */
    _cleanup_close_ int fd = open(json_path, O_RDONLY | O_CLOEXEC);
    struct json_object *want = fd >= 0 ? json_object_from_fd_ex(fd, JSON_NESTING_MAX) : NULL;
    if (!want)
        return err_set(e, -ENOENT, "%s: cannot read: %s", json_path, json_util_get_last_err());
    r = toml_compare_json(root, want, e);
    json_object_put(want);
    return r;
}

static int run_invalid(const char *path, struct err *e)
{
    _cleanup_toml_free_ struct toml_value *root = NULL;
    int r = toml_parse_file(path, &root, e);
    if (r >= 0)
        return err_set(e, -EINVAL, "parsed, but the document is invalid");
    if (r != -EINVAL || !well_formed_error(e->msg, path)) {
        char msg[ERR_MSG_MAX];
        snprintf(msg, sizeof(msg), "%s", err_msg(e));
        err_clear(e);
        return err_set(e, -EINVAL, "error not of the form FILE:LINE:COL: message: %s", msg);
    }
    return 0;
}

struct suite {
    const char *dir;
    char **only; /* sorted relative paths, or NULL for all */
    size_t n_only;
    FILE *out;
    bool print_ok;
    struct toml_suite_result *res;
};

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool listed(const struct suite *s, const char *rel)
{
    return !s->only || bsearch(&rel, s->only, s->n_only, sizeof(char *), compare_names);
}

static char *path_join(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    char *p = xmalloc(na + nb + 2);
    memcpy(p, a, na);
    p[na] = '/';
    memcpy(p + na + 1, b, nb + 1);
    return p;
}

static void run_case(struct suite *s, const char *rel)
{
    struct err e = ERR_INIT;
    if (!listed(s, rel)) {
        s->res->skipped++;
        return;
    }
    _cleanup_free_ char *path = path_join(s->dir, rel);
    bool valid = strncmp(rel, "valid/", 6) == 0;
    int r = valid ? run_valid(path, &e) : run_invalid(path, &e);
    if (r < 0) {
        fprintf(s->out, "FAIL %s: %s\n", rel, err_msg(&e));
        s->res->failed++;
    } else {
        if (s->print_ok)
            fprintf(s->out, "ok %s%s%s\n", rel, valid ? "" : ": ", valid ? "" : err_msg(&e));
        s->res->passed++;
    }
}

static bool is_toml_file(const char *name)
{
    size_t n = strlen(name);
    return n > 5 && strcmp(name + n - 5, ".toml") == 0;
}

/* Visits rel (a folder below s->dir) recursively, in name order. */
static int walk(struct suite *s, const char *rel)
{
    struct dirent **names = NULL;
    _cleanup_free_ char *dir = path_join(s->dir, rel);
    int n = scandir(dir, &names, NULL, alphasort);
    if (n < 0)
        return -errno;
    for (int i = 0; i < n; i++) {
        _cleanup_free_ char *sub = path_join(rel, names[i]->d_name);
        _cleanup_free_ char *path = path_join(s->dir, sub);
        struct stat st;
        if (names[i]->d_name[0] != '.' && stat(path, &st) == 0) {
            if (S_ISDIR(st.st_mode))
                walk(s, sub);
            else if (is_toml_file(sub))
                run_case(s, sub);
        }
        free(names[i]);
    }
    free(names);
    return 0;
}

static int read_list(const char *file, struct suite *s)
{
    _cleanup_fclose_ FILE *f = fopen(file, "re");
    if (!f)
        return -errno;
    char line[PATH_MAX];
    size_t cap = 0;
    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (!is_toml_file(line))
            continue;
        if (s->n_only == cap) {
            cap = cap ? 2 * cap : 256;
            s->only = xrealloc(s->only, cap * sizeof(char *));
        }
        s->only[s->n_only++] = xstrdup(line);
    }
    qsort(s->only, s->n_only, sizeof(char *), compare_names);
    return 0;
}

int toml_compare_suite(const char *dir, const char *list_file, FILE *out, bool print_ok,
                       struct toml_suite_result *res)
{
    struct suite s = {dir, NULL, 0, out, print_ok, res};
    int r = list_file ? read_list(list_file, &s) : 0;
    if (r >= 0)
        r = walk(&s, "valid");
    if (r >= 0)
        r = walk(&s, "invalid");
    for (size_t i = 0; i < s.n_only; i++)
        free(s.only[i]);
    free(s.only);
    return r;
}
