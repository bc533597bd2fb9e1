/* toml-decode: the decoder side of toml-test's protocol. Reads TOML on
 * stdin; on success writes the document on stdout as toml-test's tagged JSON
 * (every scalar is {"type": ..., "value": "<string>"}, tables are objects,
 * arrays are arrays) and exits 0; on a parse error writes the message on
 * stderr and exits 1.
 *
 * The JSON is written by hand rather than through json-c because json-c
 * object keys are C strings, and a TOML key may hold U+0000. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/toml.h"
#include "lib/err.h"
#include "lib/xalloc.h"

static void put_string(FILE *out, const char *s, size_t len)
{
    fputc('"', out);
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        const char *esc = NULL;
        switch (ch) {
        case '"': esc = "\\\""; break;
        case '\\': esc = "\\\\"; break;
        case '\b': esc = "\\b"; break;
        case '\f': esc = "\\f"; break;
        case '\n': esc = "\\n"; break;
        case '\r': esc = "\\r"; break;
        case '\t': esc = "\\t"; break;
        default: break;
        }
        if (esc)
            fputs(esc, out);
        else if (ch < 0x20)
            fprintf(out, "\\u%04x", ch);
        else
            fputc(ch, out);
    }
    fputc('"', out);
}

/* The shortest representation that reads back as the same double. */
static void format_float(double d, char *buf, size_t size)
{
    if (isnan(d)) {
        snprintf(buf, size, "nan");
        return;
    }
    if (isinf(d)) {
        snprintf(buf, size, d < 0 ? "-inf" : "inf");
        return;
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, size, "%.*g", prec, d);
        if (strtod(buf, NULL) == d)
            return;
    }
}

/* RFC 3339, with the fraction only as long as needed. */
static void format_datetime(enum toml_type t, const struct toml_datetime *dt, char *buf,
                            size_t size)
{
    size_t n = 0;
    if (t != TOML_TIME_LOCAL)
        n += (size_t)snprintf(buf + n, size - n, "%04d-%02d-%02d", dt->year, dt->month, dt->day);
    if (t == TOML_DATETIME || t == TOML_DATETIME_LOCAL)
        buf[n++] = 'T';
    if (t != TOML_DATE_LOCAL) {
        n += (size_t)snprintf(buf + n, size - n, "%02d:%02d:%02d", dt->hour, dt->minute,
                              dt->second);
        if (dt->nanosecond) {
            uint32_t ns = dt->nanosecond;
            int digits = 9;
            for (; ns % 10 == 0; ns /= 10)
                digits--;
            n += (size_t)snprintf(buf + n, size - n, ".%0*" PRIu32, digits, ns);
        }
    }
    if (t == TOML_DATETIME && dt->offset_minutes == 0)
        snprintf(buf + n, size - n, "Z");
    else if (t == TOML_DATETIME)
        snprintf(buf + n, size - n, "%c%02d:%02d", dt->offset_minutes < 0 ? '-' : '+',
                 abs(dt->offset_minutes) / 60, abs(dt->offset_minutes) % 60);
    else
        buf[n] = '\0';
}

static void put_scalar(FILE *out, const struct toml_value *v)
{
    char buf[64] = "";
    const char *s = buf;
    enum toml_type t = toml_type(v);
    int64_t i = 0;
    double d = 0;
    bool b = false;
    struct toml_datetime dt = {0};
    switch (t) {
    case TOML_STRING:
        (void)toml_string(v, &s);
        break;
    case TOML_INTEGER:
        (void)toml_int(v, &i);
        snprintf(buf, sizeof(buf), "%" PRId64, i);
        break;
    case TOML_FLOAT:
        (void)toml_float(v, &d);
        format_float(d, buf, sizeof(buf));
        break;
    case TOML_BOOL:
        (void)toml_bool(v, &b);
        s = b ? "true" : "false";
        break;
    default:
        (void)toml_datetime(v, &dt);
        format_datetime(t, &dt, buf, sizeof(buf));
        break;
    }
    fprintf(out, "{\"type\": \"%s\", \"value\": ", toml_type_name(t));
    put_string(out, s, t == TOML_STRING ? toml_string_len(v) : strlen(s));
    fputc('}', out);
}

static void put_value(FILE *out, const struct toml_value *v, int indent)
{
    enum toml_type t = toml_type(v);
    bool table = t == TOML_TABLE;
    size_t n = table ? toml_table_size(v) : toml_array_size(v);
    if (t != TOML_TABLE && t != TOML_ARRAY) {
        put_scalar(out, v);
        return;
    }
    fputc(table ? '{' : '[', out);
    for (size_t i = 0; i < n; i++) {
        fprintf(out, "%s\n%*s", i ? "," : "", indent + 2, "");
        if (table) {
            put_string(out, toml_table_key_at(v, i), toml_table_key_len_at(v, i));
            fputs(": ", out);
        }
        put_value(out, table ? toml_table_value_at(v, i) : toml_array_at(v, i), indent + 2);
    }
    if (n)
        fprintf(out, "\n%*s", indent, "");
    fputc(table ? '}' : ']', out);
}

static char *read_stdin(size_t *ret_len)
{
    size_t len = 0, cap = 65536, n;
    char *data = xmalloc(cap);
    while ((n = fread(data + len, 1, cap - len, stdin)) > 0) {
        len += n;
        if (len == cap)
            data = xrealloc(data, cap *= 2);
    }
    if (ferror(stdin)) {
        free(data);
        return NULL;
    }
    *ret_len = len;
    return data;
}

int main(void)
{
    size_t len = 0;
    char *text = read_stdin(&len);
    if (!text) {
        fprintf(stderr, "toml-decode: cannot read standard input\n");
        return 1;
    }
    struct toml_value *root = NULL;
    struct err e = ERR_INIT;
    int r = toml_parse(text, len, "<stdin>", &root, &e);
    free(text);
    if (r < 0) {
        fprintf(stderr, "%s\n", err_msg(&e));
        return 1;
    }
    put_value(stdout, root, 0);
    fputc('\n', stdout);
    toml_free(root);
    return fflush(stdout) == 0 && !ferror(stdout) ? 0 : 1;
}
