/* TOML 1.0 parser: text in, a tree of values out.
 *
 * toml_parse() either returns the whole document or fails with the first
 * error, reported in `struct err` as "FILE:LINE:COL: message" (FILE is the
 * name given, or "<input>"; LINE and COL are 1-based, COL counts code points)
 * with code -EINVAL; a document over 64 MiB fails with -EFBIG. Allocation
 * failure aborts. The tree is immutable and owned by the caller
 * (toml_free()). Every value remembers the line and column where it was
 * defined (its first character; a table its key in the header or dotted
 * key), so callers can name the place of a bad value. Tables keep their
 * keys in document order. Lookups never allocate; NULL means "absent". No
 * global state, no logging; safe to use from any thread on distinct trees.
 * Nesting is limited to 128 levels; CRLF inside multi-line strings reads
 * as LF. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct err;
struct toml_value;

enum toml_type {
    TOML_STRING,
    TOML_INTEGER,
    TOML_FLOAT,
    TOML_BOOL,
    TOML_DATETIME,       /* offset date-time */
    TOML_DATETIME_LOCAL, /* local date-time */
    TOML_DATE_LOCAL,
    TOML_TIME_LOCAL,
    TOML_ARRAY,
    TOML_TABLE,
};

struct toml_datetime {
    int year, month, day;         /* 0 for a local time */
    int hour, minute, second;     /* 0 for a local date */
    uint32_t nanosecond;
    bool has_offset;
    int offset_minutes;           /* when has_offset; Z is 0 */
};

int toml_parse(const char *text, size_t len, const char *filename, struct toml_value **ret_root,
               struct err *e);
int toml_parse_file(const char *path, struct toml_value **ret_root, struct err *e);
struct toml_value *toml_free(struct toml_value *v);
static inline void toml_freep(struct toml_value **v)
{
    *v = toml_free(*v);
}
#define _cleanup_toml_free_ __attribute__((cleanup(toml_freep)))

enum toml_type toml_type(const struct toml_value *v);
const char *toml_type_name(enum toml_type t); /* "string", "integer", ... */
int toml_line(const struct toml_value *v);
int toml_column(const struct toml_value *v);

/* Dotted path below a table: "hypervisor.qemu.path"; a segment may be
 * quoted ("a.\"b.c\".d", with \" and \\ as the only escapes, or 'b.c'). No
 * whitespace around the dots. NULL when absent, when a step is not a table
 * or when the path is malformed. */
const struct toml_value *toml_get(const struct toml_value *table, const char *path);

size_t toml_table_size(const struct toml_value *table);
const char *toml_table_key_at(const struct toml_value *table, size_t i);
/* Length of the key: a quoted key may hold U+0000 ("\u0000"). */
size_t toml_table_key_len_at(const struct toml_value *table, size_t i);
const struct toml_value *toml_table_value_at(const struct toml_value *table, size_t i);
size_t toml_array_size(const struct toml_value *array);
const struct toml_value *toml_array_at(const struct toml_value *array, size_t i);

/* Typed reads: -EINVAL when v has another type, -ENOENT when v is NULL (so
 * toml_int(toml_get(t, "a.b"), &i) tells "absent" from "wrong type"); ret_
 * is untouched on failure. toml_datetime() accepts all four date/time types;
 * the fields a type lacks are 0. The string is borrowed from the tree and
 * NUL-terminated; TOML strings cannot hold NUL except through \u0000, which
 * toml_string_len() reports. */
int toml_string(const struct toml_value *v, const char **ret_string);
size_t toml_string_len(const struct toml_value *v);
int toml_int(const struct toml_value *v, int64_t *ret_int);
int toml_float(const struct toml_value *v, double *ret_float);
int toml_bool(const struct toml_value *v, bool *ret_bool);
int toml_datetime(const struct toml_value *v, struct toml_datetime *ret_datetime);
