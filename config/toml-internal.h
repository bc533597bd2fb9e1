/* Internals shared by the TOML parser's files; not for use outside config/toml*.c.
 *
 * toml-value.c owns the tree (allocation, the table index, the public
 * accessors), toml-lex.c the cursor over the text (positions, whitespace,
 * comments, strings, keys), toml-scalar.c numbers, booleans and dates, and
 * toml.c the document grammar and the rules for defining tables. Errors are
 * raised through toml_cursor_fail(), which formats "FILE:LINE:COL: message"
 * with code -EINVAL; allocation aborts (lib/xalloc.h). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/toml.h"
#include "lib/compiler.h"

struct err;

/* Containers nested deeper than this (arrays, inline tables, tables reached
 * through headers or dotted keys) are refused, so hostile input cannot
 * exhaust the stack of the parser or of a recursive walk over the tree. */
#define TOML_MAX_DEPTH 128
/* Documents larger than this are refused before parsing. */
#define TOML_MAX_SIZE ((size_t)64 << 20)

/* How a table or array came to exist; decides what may extend it later. */
enum toml_origin {
    TOML_ORIGIN_VALUE,    /* scalars, and static arrays: nothing may extend them */
    TOML_ORIGIN_IMPLICIT, /* a parent named by a [header] or [[header]] */
    TOML_ORIGIN_HEADER,   /* defined by its own [header] or as a [[header]] element */
    TOML_ORIGIN_DOTTED,   /* created by a dotted key */
    TOML_ORIGIN_INLINE,   /* { ... }: nothing may extend it once closed */
    TOML_ORIGIN_AOT,      /* the array behind [[header]] */
};

struct toml_entry {
    char *key; /* NUL-terminated; may hold NUL bytes from \u0000 */
    size_t key_len;
    struct toml_value *value;
};

struct toml_index; /* hash index of a large table, toml-value.c */

struct toml_table_data {
    struct toml_entry *entries; /* in document order */
    size_t n, cap;
    struct toml_index *index; /* NULL while the table is small */
};

struct toml_array_data {
    struct toml_value **items;
    size_t n, cap;
};

struct toml_value {
    enum toml_type type;
    enum toml_origin origin;
    int depth;   /* containers only: 0 for the root */
    int line, column;
    union {
        struct {
            char *ptr; /* NUL-terminated */
            size_t len;
        } str;
        int64_t integer;
        double fp;
        bool boolean;
        struct toml_datetime dt;
        struct toml_array_data arr;
        struct toml_table_data tab;
    } u;
};

/* toml-value.c: the tree. */
struct toml_value *toml_value_new(enum toml_type type, int line, int column);
/* Takes ownership of key (xmalloc'd, NUL-terminated); the key must be absent. */
void toml_tab_add(struct toml_value *table, char *key, size_t key_len, struct toml_value *value);
struct toml_value *toml_tab_find(const struct toml_value *table, const char *key, size_t key_len);
void toml_arr_push(struct toml_value *array, struct toml_value *item);

/* A growable byte buffer for decoded strings and keys. */
struct toml_buf {
    char *data;
    size_t len, cap;
};
void toml_buf_push(struct toml_buf *b, const void *bytes, size_t n);
void toml_buf_putc(struct toml_buf *b, char c);
/* Returns the NUL-terminated contents and leaves b empty. */
char *toml_buf_steal(struct toml_buf *b, size_t *ret_len);
void toml_buf_done(struct toml_buf *b);

/* toml-lex.c: the cursor. The text has passed toml_text_check(), so it is
 * valid UTF-8 without control characters other than tab, LF and CRLF, and
 * holds no NUL byte: peeking past the end reads '\0'. */
struct toml_cursor {
    const char *p, *end;
    int line, column; /* of *p, 1-based; columns count code points */
    const char *file;
    struct err *e;
};

/* A position saved for an error reported later. */
struct toml_pos {
    int line, column;
};

int toml_text_check(const char *text, size_t len, const char *file, size_t *ret_skip,
                    struct err *e);
void toml_cursor_init(struct toml_cursor *c, const char *text, size_t len, const char *file,
                      struct err *e);
int toml_cursor_fail(const struct toml_cursor *c, const char *fmt, ...) _printf_(2, 3);
int toml_cursor_fail_at(const struct toml_cursor *c, struct toml_pos at, const char *fmt, ...)
    _printf_(3, 4);

static inline char toml_peek(const struct toml_cursor *c)
{
    return c->p < c->end ? *c->p : '\0';
}
static inline char toml_peek_at(const struct toml_cursor *c, size_t off)
{
    return (size_t)(c->end - c->p) > off ? c->p[off] : '\0';
}
static inline bool toml_at_end(const struct toml_cursor *c)
{
    return c->p >= c->end;
}
static inline struct toml_pos toml_pos(const struct toml_cursor *c)
{
    return (struct toml_pos){c->line, c->column};
}
static inline bool toml_is_digit(char ch)
{
    return ch >= '0' && ch <= '9';
}

void toml_advance(struct toml_cursor *c, size_t n);
void toml_skip_ws(struct toml_cursor *c);
bool toml_at_newline(const struct toml_cursor *c);
/* Skips a comment, if any, then requires a newline or the end. */
int toml_end_line(struct toml_cursor *c, const char *after);
/* Skips whitespace, comments and newlines (inside arrays). */
void toml_skip_blank(struct toml_cursor *c);
/* Describes the character at the cursor for messages: "'x'", "newline", "end of input". */
const char *toml_describe(const struct toml_cursor *c, char buf[16]);
/* Writes key quoted and shortened for a message. */
const char *toml_quote_key(const char *key, size_t len, char *buf, size_t size);

/* A string of any of the four kinds; multi-line ones only when allowed. */
int toml_lex_string(struct toml_cursor *c, bool allow_multiline, struct toml_buf *out);

struct toml_key_part {
    char *name;
    size_t len;
    struct toml_pos pos;
};
struct toml_key {
    struct toml_key_part *parts;
    size_t n, cap;
};
/* A dotted key; stops before the whitespace that follows it. */
int toml_lex_key(struct toml_cursor *c, struct toml_key *ret_key);
void toml_key_done(struct toml_key *k);

/* toml-scalar.c: booleans, numbers and dates at the cursor. */
int toml_lex_scalar(struct toml_cursor *c, struct toml_value **ret_value);
