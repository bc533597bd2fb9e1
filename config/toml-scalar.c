/* TOML scalars other than strings: booleans, integers (decimal, hex, octal,
 * binary), floats (including inf and nan) and the four date/time kinds. */
#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "config/toml-internal.h"
#include "lib/xalloc.h"

/* Longest number literal quoted in an error message. */
#define NUMBER_QUOTE_MAX 40

/* Reads n decimal digits at offset off, or returns -1. */
static int read_digits(const struct toml_cursor *c, size_t off, size_t n)
{
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        char ch = toml_peek_at(c, off + i);
        if (!toml_is_digit(ch))
            return -1;
        v = v * 10 + (ch - '0');
    }
    return v;
}

static bool is_leap_year(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap_year(y) ? 29 : days[m - 1];
}

/* YYYY-MM-DD. */
static int lex_date(struct toml_cursor *c, struct toml_datetime *dt)
{
    int y = read_digits(c, 0, 4), m = read_digits(c, 5, 2), d = read_digits(c, 8, 2);
    if (y < 0 || m < 0 || d < 0 || toml_peek_at(c, 7) != '-')
        return toml_cursor_fail(c, "invalid date: expected YYYY-MM-DD");
    if (m < 1 || m > 12)
        return toml_cursor_fail(c, "invalid date: month %02d is not in 01-12", m);
    if (d < 1 || d > days_in_month(y, m))
        return toml_cursor_fail(c, "invalid date: %04d-%02d has no day %02d", y, m, d);
    dt->year = y;
    dt->month = m;
    dt->day = d;
    toml_advance(c, 10);
    return 0;
}

/* The fraction of a second after the dot: at least one digit; digits
 * beyond nanoseconds are dropped (truncated, not rounded). */
static int lex_fraction(struct toml_cursor *c, struct toml_datetime *dt)
{
    size_t n = 0;
    uint32_t ns = 0;
    while (toml_is_digit(toml_peek_at(c, 1 + n))) {
        if (n < 9)
            ns = ns * 10 + (uint32_t)(toml_peek_at(c, 1 + n) - '0');
        n++;
    }
    if (n == 0)
        return toml_cursor_fail(c, "invalid time: expected digits after '.'");
    for (size_t i = n; i < 9; i++)
        ns *= 10;
    dt->nanosecond = ns;
    toml_advance(c, 1 + n);
    return 0;
}

/* HH:MM:SS[.fraction]; TOML 1.0 requires the seconds. A leap second (60)
 * is accepted, as RFC 3339 allows. */
static int lex_time(struct toml_cursor *c, struct toml_datetime *dt)
{
    int h = read_digits(c, 0, 2), m = read_digits(c, 3, 2), s = read_digits(c, 6, 2);
    if (h < 0 || m < 0 || s < 0 || toml_peek_at(c, 2) != ':' || toml_peek_at(c, 5) != ':')
        return toml_cursor_fail(c, "invalid time: expected HH:MM:SS");
    if (h > 23 || m > 59 || s > 60)
        return toml_cursor_fail(c, "invalid time: %02d:%02d:%02d is out of range", h, m, s);
    dt->hour = h;
    dt->minute = m;
    dt->second = s;
    toml_advance(c, 8);
    return toml_peek(c) == '.' ? lex_fraction(c, dt) : 0;
}

/* Z, or +HH:MM / -HH:MM; none at all for a local date-time. */
static int lex_offset(struct toml_cursor *c, struct toml_datetime *dt)
{
    char ch = toml_peek(c);
    if (ch == 'Z' || ch == 'z') {
        dt->has_offset = true;
        toml_advance(c, 1);
        return 0;
    }
    if (ch != '+' && ch != '-')
        return 0;
    int h = read_digits(c, 1, 2), m = read_digits(c, 4, 2);
    if (h < 0 || m < 0 || toml_peek_at(c, 3) != ':')
        return toml_cursor_fail(c, "invalid offset: expected %cHH:MM", ch);
    if (h > 23 || m > 59)
        return toml_cursor_fail(c, "invalid offset: %c%02d:%02d is out of range", ch, h, m);
    dt->has_offset = true;
    dt->offset_minutes = (ch == '-' ? -1 : 1) * (h * 60 + m);
    toml_advance(c, 6);
    return 0;
}

/* A date, optionally followed by 'T', 't' or a space and a time. */
static int lex_datetime(struct toml_cursor *c, struct toml_datetime *dt, enum toml_type *ret_type)
{
    int r = lex_date(c, dt);
    if (r < 0)
        return r;
    char sep = toml_peek(c);
    if (!(sep == 'T' || sep == 't' || (sep == ' ' && toml_is_digit(toml_peek_at(c, 1))))) {
        *ret_type = TOML_DATE_LOCAL;
        return 0;
    }
    toml_advance(c, 1);
    r = lex_time(c, dt);
    if (r < 0)
        return r;
    r = lex_offset(c, dt);
    if (r < 0)
        return r;
    *ret_type = dt->has_offset ? TOML_DATETIME : TOML_DATETIME_LOCAL;
    return 0;
}

static bool is_number_char(char ch)
{
    return toml_is_digit(ch) || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
           ch == '_' || ch == '.' || ch == '+' || ch == '-';
}

/* What a number literal is made of, once its syntax has been checked. */
struct number {
    const char *text; /* the literal */
    size_t len;
    bool negative, is_float;
    unsigned radix;     /* 10, 16, 8 or 2 */
    const char *digits; /* after the sign and radix prefix */
};

static int digit_value(char ch, unsigned radix)
{
    int v = -1;
    if (toml_is_digit(ch))
        v = ch - '0';
    else if (ch >= 'a' && ch <= 'f')
        v = ch - 'a' + 10;
    else if (ch >= 'A' && ch <= 'F')
        v = ch - 'A' + 10;
    return v >= 0 && (unsigned)v < radix ? v : -1;
}

/* digit *( digit / "_" digit ): returns the end of the run, or NULL. */
static const char *digit_run(const char *p, const char *end, unsigned radix)
{
    if (p == end || digit_value(*p, radix) < 0)
        return NULL;
    p++;
    while (p < end) {
        if (*p == '_') {
            if (p + 1 == end || digit_value(p[1], radix) < 0)
                return NULL;
            p += 2;
        } else if (digit_value(*p, radix) >= 0) {
            p++;
        } else {
            break;
        }
    }
    return p;
}

static int number_fail(const struct toml_cursor *c, const struct number *n, const char *why)
{
    return toml_cursor_fail(c, "invalid number '%.*s'%s: %s", (int)MIN(n->len, NUMBER_QUOTE_MAX),
                            n->text, n->len > NUMBER_QUOTE_MAX ? "..." : "", why);
}

/* Checks the decimal forms: an integer, or a float with fraction and/or exponent. */
static int check_decimal(const struct toml_cursor *c, struct number *n)
{
    const char *end = n->text + n->len, *p = digit_run(n->digits, end, 10);
    if (!p)
        return number_fail(c, n, "expected digits, with '_' only between digits");
    if (n->digits[0] == '0' && p - n->digits > 1)
        return number_fail(c, n, "leading zeros are not allowed");
    if (p < end && *p == '.') {
        n->is_float = true;
        p = digit_run(p + 1, end, 10);
        if (!p)
            return number_fail(c, n, "expected digits after '.'");
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        n->is_float = true;
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            p++;
        p = digit_run(p, end, 10);
        if (!p)
            return number_fail(c, n, "expected digits in the exponent");
    }
    if (p != end)
        return number_fail(c, n, "unexpected characters");
    return 0;
}

static int check_number(const struct toml_cursor *c, struct number *n)
{
    const char *p = n->text, *end = n->text + n->len;
    bool sign = *p == '+' || *p == '-';
    n->negative = *p == '-';
    n->radix = 10;
    n->digits = p + sign;
    if (end - n->digits >= 2 && n->digits[0] == '0' && strchr("xob", n->digits[1])) {
        n->radix = n->digits[1] == 'x' ? 16 : n->digits[1] == 'o' ? 8 : 2;
        n->digits += 2;
        if (sign)
            return number_fail(c, n, "hexadecimal, octal and binary integers take no sign");
        if (digit_run(n->digits, end, n->radix) != end)
            return number_fail(c, n, "expected digits, with '_' only between digits");
        return 0;
    }
    return check_decimal(c, n);
}

static int make_integer(const struct toml_cursor *c, const struct number *n, int64_t *ret)
{
    /* The magnitude of INT64_MIN is one more than INT64_MAX. */
    uint64_t limit = (uint64_t)INT64_MAX + (n->negative ? 1u : 0u), v = 0;
    for (const char *p = n->digits; p < n->text + n->len; p++) {
        if (*p == '_')
            continue;
        uint64_t d = (uint64_t)digit_value(*p, n->radix);
        if (v > (limit - d) / n->radix)
            return number_fail(c, n, "integer out of range (64 bits)");
        v = v * n->radix + d;
    }
    if (!n->negative)
        *ret = (int64_t)v;
    else
        *ret = v == limit ? INT64_MIN : -(int64_t)v;
    return 0;
}

static int make_float(const struct toml_cursor *c, const struct number *n, double *ret)
{
    _cleanup_free_ char *copy = xmalloc(n->len + 1);
    size_t o = 0;
    for (size_t i = 0; i < n->len; i++)
        if (n->text[i] != '_')
            copy[o++] = n->text[i];
    copy[o] = '\0';
    /* Not strtod(): the caller's locale may use a decimal comma. */
    locale_t cloc = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
    errno = 0;
    double d = cloc ? strtod_l(copy, NULL, cloc) : strtod(copy, NULL);
    int saved = errno;
    if (cloc)
        freelocale(cloc);
    if (saved == ERANGE && isinf(d))
        return number_fail(c, n, "float out of range");
    *ret = d;
    return 0;
}

static struct toml_value *special_float(const struct toml_cursor *c, size_t len)
{
    const char *p = c->p;
    bool sign = *p == '+' || *p == '-';
    if (len != 3u + sign)
        return NULL;
    double d;
    if (memcmp(p + sign, "inf", 3) == 0)
        d = INFINITY;
    else if (memcmp(p + sign, "nan", 3) == 0)
        d = NAN;
    else
        return NULL;
    struct toml_value *v = toml_value_new(TOML_FLOAT, c->line, c->column);
    v->u.fp = *p == '-' ? -d : d;
    return v;
}

static int lex_number(struct toml_cursor *c, struct toml_value **ret_value)
{
    size_t len = 0;
    while (is_number_char(toml_peek_at(c, len)))
        len++;
    struct toml_value *v = special_float(c, len);
    if (!v) {
        struct number n = {c->p, len, false, false, 10, NULL};
        int r = check_number(c, &n);
        if (r < 0)
            return r;
        v = toml_value_new(n.is_float ? TOML_FLOAT : TOML_INTEGER, c->line, c->column);
        r = n.is_float ? make_float(c, &n, &v->u.fp) : make_integer(c, &n, &v->u.integer);
        if (r < 0) {
            toml_free(v);
            return r;
        }
    }
    toml_advance(c, len);
    *ret_value = v;
    return 0;
}

static int lex_date_or_time(struct toml_cursor *c, bool time_only, struct toml_value **ret_value)
{
    struct toml_datetime dt = {0};
    enum toml_type type = TOML_TIME_LOCAL;
    struct toml_pos at = toml_pos(c);
    int r = time_only ? lex_time(c, &dt) : lex_datetime(c, &dt, &type);
    if (r < 0)
        return r;
    struct toml_value *v = toml_value_new(type, at.line, at.column);
    v->u.dt = dt;
    *ret_value = v;
    return 0;
}

static bool at_word(const struct toml_cursor *c, const char *word)
{
    size_t n = strlen(word);
    return (size_t)(c->end - c->p) >= n && memcmp(c->p, word, n) == 0;
}

int toml_lex_scalar(struct toml_cursor *c, struct toml_value **ret_value)
{
    char ch = toml_peek(c);
    if (at_word(c, "true") || at_word(c, "false")) {
        struct toml_value *v = toml_value_new(TOML_BOOL, c->line, c->column);
        v->u.boolean = ch == 't';
        toml_advance(c, ch == 't' ? 4 : 5);
        *ret_value = v;
        return 0;
    }
    if (read_digits(c, 0, 4) >= 0 && toml_peek_at(c, 4) == '-')
        return lex_date_or_time(c, false, ret_value);
    if (read_digits(c, 0, 2) >= 0 && toml_peek_at(c, 2) == ':')
        return lex_date_or_time(c, true, ret_value);
    if (toml_is_digit(ch) || ch == '+' || ch == '-' || ch == 'i' || ch == 'n')
        return lex_number(c, ret_value);
    char what[16];
    return toml_cursor_fail(c, "expected a value, found %s", toml_describe(c, what));
}
