/* Fuzz target: the TOML parser. Any input either fails with a well-formed
 * "FILE:LINE:COL: message" or yields a tree that is walked completely:
 * every accessor is called, strings are touched to their last byte, and
 * every table key that a path can spell is looked up again through
 * toml_get(), which exercises the hash index of large tables. */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "config/toml.h"
#include "lib/err.h"
#include "tests/fuzz/fuzz.h"

static void walk(const struct toml_value *v, int depth);

/* A key toml_get() can spell without quotes. */
static bool bare_spellable(const char *key, size_t len)
{
    return len > 0 && strlen(key) == len && !strpbrk(key, ".\"'");
}

static void walk_table(const struct toml_value *t, int depth)
{
    for (size_t i = 0; i < toml_table_size(t); i++) {
        const char *key = toml_table_key_at(t, i);
        size_t len = toml_table_key_len_at(t, i);
        const struct toml_value *v = toml_table_value_at(t, i);
        assert(key && v && key[len] == '\0');
        if (bare_spellable(key, len))
            assert(toml_get(t, key) == v);
        walk(v, depth + 1);
    }
    assert(toml_table_key_at(t, toml_table_size(t)) == NULL);
}

static void walk_scalar(const struct toml_value *v)
{
    const char *s;
    int64_t i;
    double d;
    bool b;
    struct toml_datetime dt;
    if (toml_string(v, &s) == 0) {
        size_t len = toml_string_len(v);
        volatile char sum = 0;
        for (size_t k = 0; k <= len; k++)
            sum = (char)(sum + s[k]);
        assert(s[len] == '\0');
    } else if (toml_datetime(v, &dt) == 0) {
        assert(dt.nanosecond < 1000000000u && dt.second <= 60 && dt.month <= 12);
    } else {
        assert(toml_int(v, &i) == 0 || toml_float(v, &d) == 0 || toml_bool(v, &b) == 0);
    }
}

static void walk(const struct toml_value *v, int depth)
{
    /* The parser bounds nesting at 128 containers below the root. */
    assert(depth <= 129);
    assert(toml_line(v) >= 1 && toml_column(v) >= 1);
    assert(strcmp(toml_type_name(toml_type(v)), "unknown") != 0);
    switch (toml_type(v)) {
    case TOML_TABLE:
        walk_table(v, depth);
        break;
    case TOML_ARRAY:
        for (size_t i = 0; i < toml_array_size(v); i++)
            walk(toml_array_at(v, i), depth + 1);
        assert(toml_array_at(v, toml_array_size(v)) == NULL);
        break;
    default:
        walk_scalar(v);
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct toml_value *root = NULL;
    struct err e = ERR_INIT;
    int r = toml_parse((const char *)data, size, "fuzz", &root, &e);
    if (r < 0) {
        int line = 0, col = 0, used = 0;
        assert(r == -EINVAL && root == NULL);
        assert(sscanf(e.msg, "fuzz:%d:%d: %n", &line, &col, &used) == 2 && used > 0);
        assert(line >= 1 && col >= 1 && e.msg[used] != '\0');
        return 0;
    }
    walk(root, 0);
    toml_free(root);
    return 0;
}
