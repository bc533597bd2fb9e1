/* The TOML cursor: a pre-pass that vets the whole text (UTF-8, control
 * characters, line endings), positions with line and column, whitespace and
 * comments, the four kinds of strings, and dotted keys. */
#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/toml-internal.h"
#include "lib/err.h"
#include "lib/xalloc.h"

static bool is_continuation(unsigned char b)
{
    return (b & 0xC0u) == 0x80u;
}

/* Length of the well-formed UTF-8 sequence at p (RFC 3629: no overlong
 * forms, no surrogates, nothing above U+10FFFF), or 0. */
static size_t utf8_length(const unsigned char *p, size_t avail)
{
    unsigned char b = p[0];
    size_t n;
    unsigned char lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
    if (b >= 0xC2 && b <= 0xDF)
        n = 2;
    else if (b >= 0xE0 && b <= 0xEF)
        n = 3;
    else if (b >= 0xF0 && b <= 0xF4)
        n = 4;
    else
        return 0;
    if (b == 0xE0)
        lo = 0xA0;
    else if (b == 0xED)
        hi = 0x9F;
    else if (b == 0xF0)
        lo = 0x90;
    else if (b == 0xF4)
        hi = 0x8F;
    if (avail < n || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (!is_continuation(p[i]))
            return 0;
    return n;
}

/* One code point or line ending at text[i]: its length, or 0 when it may not
 * appear anywhere in a TOML document. */
static size_t check_char(const unsigned char *text, size_t i, size_t len)
{
    unsigned char b = text[i];
    if (b >= 0x80)
        return utf8_length(text + i, len - i);
    if (b == '\r')
        return i + 1 < len && text[i + 1] == '\n' ? 2 : 0;
    if ((b < 0x20 && b != '\t' && b != '\n') || b == 0x7F)
        return 0;
    return 1;
}

static int text_error(const unsigned char *p, const char *file, int line, int column,
                      struct err *e)
{
    if (*p == '\r')
        return err_set(e, -EINVAL, "%s:%d:%d: carriage return not followed by a line feed", file,
                       line, column);
    if (*p < 0x80)
        return err_set(e, -EINVAL, "%s:%d:%d: control character U+%04X is not allowed", file,
                       line, column, *p);
    return err_set(e, -EINVAL, "%s:%d:%d: invalid UTF-8 (byte 0x%02X)", file, line, column, *p);
}

int toml_text_check(const char *text, size_t len, const char *file, size_t *ret_skip,
                    struct err *e)
{
    const unsigned char *t = (const unsigned char *)text;
    size_t skip = len >= 3 && memcmp(t, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
    int line = 1, column = 1;
    for (size_t i = skip; i < len;) {
        size_t n = check_char(t, i, len);
        if (n == 0)
            return text_error(t + i, file, line, column, e);
        if (t[i] == '\n' || t[i] == '\r') {
            line++;
            column = 1;
        } else {
            column++;
        }
        i += n;
    }
    *ret_skip = skip;
    return 0;
}

void toml_cursor_init(struct toml_cursor *c, const char *text, size_t len, const char *file,
                      struct err *e)
{
    *c = (struct toml_cursor){text, text + len, 1, 1, file, e};
}

static int fail_va(const struct toml_cursor *c, struct toml_pos at, const char *fmt, va_list ap)
    _printf_(3, 0);
static int fail_va(const struct toml_cursor *c, struct toml_pos at, const char *fmt, va_list ap)
{
    char msg[ERR_MSG_MAX];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    return err_set(c->e, -EINVAL, "%s:%d:%d: %s", c->file, at.line, at.column, msg);
}

int toml_cursor_fail(const struct toml_cursor *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = fail_va(c, toml_pos(c), fmt, ap);
    va_end(ap);
    return r;
}

int toml_cursor_fail_at(const struct toml_cursor *c, struct toml_pos at, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = fail_va(c, at, fmt, ap);
    va_end(ap);
    return r;
}

void toml_advance(struct toml_cursor *c, size_t n)
{
    assert(n <= (size_t)(c->end - c->p));
    for (const char *stop = c->p + n; c->p < stop; c->p++) {
        if (*c->p == '\n') {
            c->line++;
            c->column = 1;
        } else if (!is_continuation((unsigned char)*c->p)) {
            c->column++;
        }
    }
}

void toml_skip_ws(struct toml_cursor *c)
{
    while (toml_peek(c) == ' ' || toml_peek(c) == '\t')
        toml_advance(c, 1);
}

bool toml_at_newline(const struct toml_cursor *c)
{
    /* The pre-pass guarantees that every CR starts a CRLF. */
    return toml_peek(c) == '\n' || toml_peek(c) == '\r';
}

static void skip_newline(struct toml_cursor *c)
{
    toml_advance(c, toml_peek(c) == '\r' ? 2 : 1);
}

static void skip_comment(struct toml_cursor *c)
{
    if (toml_peek(c) != '#')
        return;
    while (!toml_at_end(c) && !toml_at_newline(c))
        toml_advance(c, 1);
}

int toml_end_line(struct toml_cursor *c, const char *after)
{
    char what[16];
    toml_skip_ws(c);
    skip_comment(c);
    if (toml_at_end(c))
        return 0;
    if (toml_at_newline(c)) {
        skip_newline(c);
        return 0;
    }
    return toml_cursor_fail(c, "expected a newline after %s, found %s", after,
                            toml_describe(c, what));
}

void toml_skip_blank(struct toml_cursor *c)
{
    for (;;) {
        toml_skip_ws(c);
        skip_comment(c);
        if (!toml_at_newline(c))
            return;
        skip_newline(c);
    }
}

const char *toml_describe(const struct toml_cursor *c, char buf[16])
{
    if (toml_at_end(c))
        return "end of input";
    if (toml_at_newline(c))
        return "a newline";
    size_t n = 1;
    while (n < 4 && c->p + n < c->end && is_continuation((unsigned char)c->p[n]))
        n++;
    snprintf(buf, 16, "'%.*s'", (int)n, c->p);
    return buf;
}

const char *toml_quote_key(const char *key, size_t len, char *buf, size_t size)
{
    /* Room for two quotes, an ellipsis and the NUL. */
    assert(size >= 8);
    size_t room = size - 6, n = len;
    if (n > room) {
        n = room;
        while (n > 0 && is_continuation((unsigned char)key[n]))
            n--;
    }
    size_t o = 0;
    buf[o++] = '"';
    for (size_t i = 0; i < n; i++) {
        unsigned char b = (unsigned char)key[i];
        buf[o++] = b < 0x20 || b == 0x7F ? '?' : key[i];
    }
    if (n < len) {
        memcpy(buf + o, "...", 3);
        o += 3;
    }
    buf[o++] = '"';
    buf[o] = '\0';
    return buf;
}

static void put_utf8(struct toml_buf *out, uint32_t cp)
{
    char b[4];
    size_t n;
    if (cp < 0x80) {
        b[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        b[0] = (char)(0xC0 | (cp >> 6));
        b[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        b[0] = (char)(0xE0 | (cp >> 12));
        b[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        b[0] = (char)(0xF0 | (cp >> 18));
        b[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        b[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    toml_buf_push(out, b, n);
}

static int hex_value(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* \uXXXX or \UXXXXXXXX, the cursor on the backslash. */
static int lex_unicode_escape(struct toml_cursor *c, struct toml_buf *out)
{
    struct toml_pos at = toml_pos(c);
    size_t digits = toml_peek_at(c, 1) == 'u' ? 4 : 8;
    uint32_t cp = 0;
    for (size_t i = 0; i < digits; i++) {
        int h = hex_value(toml_peek_at(c, 2 + i));
        if (h < 0)
            return toml_cursor_fail_at(c, at, "\\%c escape needs %zu hexadecimal digits",
                                       toml_peek_at(c, 1), digits);
        cp = cp << 4 | (uint32_t)h;
    }
    if ((cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
        return toml_cursor_fail_at(c, at, "escape \\%.*s is not a Unicode scalar value",
                                   (int)digits + 1, c->p + 1);
    put_utf8(out, cp);
    toml_advance(c, 2 + digits);
    return 0;
}

/* An escape sequence of a basic string, the cursor on the backslash. */
static int lex_escape(struct toml_cursor *c, struct toml_buf *out)
{
    static const char from[] = "btnfr\"\\";
    static const char to[] = "\b\t\n\f\r\"\\";
    char ch = toml_peek_at(c, 1);
    const char *hit = ch ? strchr(from, ch) : NULL;
    if (hit) {
        toml_buf_putc(out, to[hit - from]);
        toml_advance(c, 2);
        return 0;
    }
    if (ch == 'u' || ch == 'U')
        return lex_unicode_escape(c, out);
    struct toml_cursor after = *c;
    char what[16];
    toml_advance(&after, 1);
    return toml_cursor_fail(c, "invalid escape sequence: backslash followed by %s",
                            toml_describe(&after, what));
}

/* Copies the run of ordinary characters at the cursor: everything up to the
 * quote, a backslash (basic strings only) or a line ending. */
static void copy_run(struct toml_cursor *c, char quote, struct toml_buf *out)
{
    const char *s = c->p;
    while (s < c->end && *s != quote && *s != '\n' && *s != '\r' && !(quote == '"' && *s == '\\'))
        s++;
    size_t n = (size_t)(s - c->p);
    toml_buf_push(out, c->p, n);
    toml_advance(c, n);
}

static int lex_single_line(struct toml_cursor *c, char quote, struct toml_buf *out)
{
    struct toml_pos start = toml_pos(c);
    toml_advance(c, 1);
    for (;;) {
        copy_run(c, quote, out);
        char ch = toml_peek(c);
        if (toml_at_end(c) || toml_at_newline(c))
            return toml_cursor_fail_at(c, start, "unterminated string");
        if (ch == quote) {
            toml_advance(c, 1);
            return 0;
        }
        int r = lex_escape(c, out);
        if (r < 0)
            return r;
    }
}

/* A backslash at the end of a line (trailing whitespace allowed) swallows the
 * line ending and all whitespace and newlines that follow. */
static bool skip_line_ending_backslash(struct toml_cursor *c)
{
    size_t i = 1;
    while (toml_peek_at(c, i) == ' ' || toml_peek_at(c, i) == '\t')
        i++;
    if (toml_peek_at(c, i) != '\n' && toml_peek_at(c, i) != '\r')
        return false;
    toml_advance(c, i);
    while (toml_peek(c) == ' ' || toml_peek(c) == '\t' || toml_at_newline(c))
        toml_advance(c, toml_peek(c) == '\r' ? 2 : 1);
    return true;
}

/* At a run of quotes inside a multi-line string: up to two belong to the
 * content; three or more close it, with at most two extra ones kept. */
static int lex_quote_run(struct toml_cursor *c, char quote, struct toml_buf *out, bool *ret_closed)
{
    size_t n = 0;
    while (toml_peek_at(c, n) == quote)
        n++;
    *ret_closed = n >= 3;
    if (n > 5)
        return toml_cursor_fail(c, "too many quotes at the end of a multi-line string");
    size_t keep = n >= 3 ? n - 3 : n;
    for (size_t i = 0; i < keep; i++)
        toml_buf_putc(out, quote);
    toml_advance(c, n);
    return 0;
}

static int lex_multi_line(struct toml_cursor *c, char quote, struct toml_buf *out)
{
    struct toml_pos start = toml_pos(c);
    toml_advance(c, 3);
    /* A newline right after the opening delimiter is trimmed. */
    if (toml_at_newline(c))
        toml_advance(c, toml_peek(c) == '\r' ? 2 : 1);
    for (;;) {
        copy_run(c, quote, out);
        char ch = toml_peek(c);
        if (toml_at_end(c))
            return toml_cursor_fail_at(c, start, "unterminated multi-line string");
        if (toml_at_newline(c)) {
            /* CRLF is normalised to LF. */
            toml_buf_putc(out, '\n');
            toml_advance(c, ch == '\r' ? 2 : 1);
        } else if (ch == quote) {
            bool closed;
            int r = lex_quote_run(c, quote, out, &closed);
            if (r < 0 || closed)
                return r;
        } else if (!skip_line_ending_backslash(c)) {
            int r = lex_escape(c, out);
            if (r < 0)
                return r;
        }
    }
}

int toml_lex_string(struct toml_cursor *c, bool allow_multiline, struct toml_buf *out)
{
    char quote = toml_peek(c);
    assert(quote == '"' || quote == '\'');
    if (toml_peek_at(c, 1) != quote || toml_peek_at(c, 2) != quote)
        return lex_single_line(c, quote, out);
    if (!allow_multiline)
        return toml_cursor_fail(c, "a key cannot be a multi-line string");
    return lex_multi_line(c, quote, out);
}

static bool is_bare_key_char(char ch)
{
    return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || toml_is_digit(ch) ||
           ch == '_' || ch == '-';
}

static int lex_key_part(struct toml_cursor *c, struct toml_key_part *ret_part)
{
    struct toml_buf buf = {NULL, 0, 0};
    struct toml_pos at = toml_pos(c);
    char ch = toml_peek(c);
    if (ch == '"' || ch == '\'') {
        int r = toml_lex_string(c, false, &buf);
        if (r < 0) {
            toml_buf_done(&buf);
            return r;
        }
    } else {
        size_t n = 0;
        while (is_bare_key_char(toml_peek_at(c, n)))
            n++;
        if (n == 0) {
            char what[16];
            return toml_cursor_fail(c, "expected a key, found %s", toml_describe(c, what));
        }
        toml_buf_push(&buf, c->p, n);
        toml_advance(c, n);
    }
    ret_part->pos = at;
    ret_part->name = toml_buf_steal(&buf, &ret_part->len);
    return 0;
}

int toml_lex_key(struct toml_cursor *c, struct toml_key *ret_key)
{
    for (;;) {
        if (ret_key->n == TOML_MAX_DEPTH)
            return toml_cursor_fail(c, "key has more than %d dotted parts", TOML_MAX_DEPTH);
        if (ret_key->n == ret_key->cap) {
            ret_key->cap = ret_key->cap ? 2 * ret_key->cap : 4;
            ret_key->parts = xrealloc(ret_key->parts, ret_key->cap * sizeof(ret_key->parts[0]));
        }
        int r = lex_key_part(c, &ret_key->parts[ret_key->n]);
        if (r < 0)
            return r;
        ret_key->n++;
        toml_skip_ws(c);
        if (toml_peek(c) != '.')
            return 0;
        toml_advance(c, 1);
        toml_skip_ws(c);
    }
}

void toml_key_done(struct toml_key *k)
{
    for (size_t i = 0; i < k->n; i++)
        free(k->parts[i].name);
    free(k->parts);
    *k = (struct toml_key){NULL, 0, 0};
}
