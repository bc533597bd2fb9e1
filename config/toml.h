/* TOML 1.0 parser: text in, a tree of values out.
 *
 * toml_parse() either returns the whole document or fails with the first
 * error, reported in `struct err` as "FILE:LINE:COL: message" (FILE is the
 * name given, or "<input>"). The tree is immutable and owned by the caller
 * (toml_free()). Every value remembers the line and column where it was
 * defined, so callers can name the place of a bad value. Tables keep their
 * keys in document order. Lookups never allocate; NULL means "absent". No
 * global state, no logging; safe to use from any thread on distinct trees. */
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

enum toml_type toml_type(const struct toml_value *v);
const char *toml_type_name(enum toml_type t); /* "string", "integer", ... */
int toml_line(const struct toml_value *v);
int toml_column(const struct toml_value *v);

/* Dotted path below a table: "hypervisor.qemu.path"; a segment may be
 * quoted ("a.\"b.c\".d"). NULL when absent or when a step is not a table. */
const struct toml_value *toml_get(const struct toml_value *table, const char *path);

size_t toml_table_size(const struct toml_value *table);
const char *toml_table_key_at(const struct toml_value *table, size_t i);
const struct toml_value *toml_table_value_at(const struct toml_value *table, size_t i);
size_t toml_array_size(const struct toml_value *array);
const struct toml_value *toml_array_at(const struct toml_value *array, size_t i);

/* Typed reads: -EINVAL when v has another type (ret_ untouched). The string
 * is borrowed from the tree and NUL-terminated; TOML strings cannot hold NUL
 * except through \u0000, which toml_string_len() reports. */
int toml_string(const struct toml_value *v, const char **ret_string);
size_t toml_string_len(const struct toml_value *v);
int toml_int(const struct toml_value *v, int64_t *ret_int);
int toml_float(const struct toml_value *v, double *ret_float);
int toml_bool(const struct toml_value *v, bool *ret_bool);
int toml_datetime(const struct toml_value *v, struct toml_datetime *ret_datetime);
