/* The TOML document grammar: key/value lines, [table] and [[array]] headers,
 * arrays and inline tables, and the rules deciding which tables a header or
 * a dotted key may define or extend (see enum toml_origin):
 *
 * - a [header] may name a table that exists only implicitly (as the parent
 *   of an earlier header) but no table defined by a header, a dotted key or
 *   an inline table, and no other value;
 * - a dotted key may create tables and extend tables created by dotted keys
 *   or implicitly, but not tables defined by a header (those belong to their
 *   own section) nor inline tables or arrays;
 * - [[header]] appends to an array it created, never to a static array;
 * - inline tables and static arrays are complete once closed. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/toml-internal.h"
#include "lib/err.h"
#include "lib/xalloc.h"

struct parser {
    struct toml_cursor c;
    struct toml_value *root;
    struct toml_value *current; /* the table key/value lines go to */
};

static int parse_value(struct parser *p, int depth, struct toml_value **ret_value);

/* Quotes a key for a message; the buffer lives until the end of the statement. */
#define QUOTE(part) toml_quote_key((part)->name, (part)->len, (char[64]){0}, 64)

static const char *describe_value(const struct toml_value *v)
{
    static const char *const scalars[] = {
        [TOML_STRING] = "a string",
        [TOML_INTEGER] = "an integer",
        [TOML_FLOAT] = "a float",
        [TOML_BOOL] = "a boolean",
        [TOML_DATETIME] = "a date-time",
        [TOML_DATETIME_LOCAL] = "a local date-time",
        [TOML_DATE_LOCAL] = "a local date",
        [TOML_TIME_LOCAL] = "a local time",
    };
    if (v->type == TOML_TABLE && v->origin == TOML_ORIGIN_INLINE)
        return "an inline table";
    if (v->type == TOML_TABLE && v->origin == TOML_ORIGIN_DOTTED)
        return "a table by dotted keys";
    if (v->type == TOML_TABLE)
        return "a table";
    if (v->type == TOML_ARRAY)
        return v->origin == TOML_ORIGIN_AOT ? "an array of tables" : "an array";
    return (size_t)v->type < ELEMENTSOF(scalars) ? scalars[v->type] : "a value";
}

static int fail_defined(struct parser *p, const struct toml_key_part *part,
                        const struct toml_value *v, const char *what)
{
    return toml_cursor_fail_at(&p->c, part->pos, "%s %s: already defined as %s at line %d", what,
                               QUOTE(part), describe_value(v), v->line);
}

static int new_container(struct parser *p, enum toml_type type, enum toml_origin origin,
                         struct toml_pos at, int depth, struct toml_value **ret)
{
    if (depth > TOML_MAX_DEPTH)
        return toml_cursor_fail_at(&p->c, at, "tables and arrays nested deeper than %d levels",
                                   TOML_MAX_DEPTH);
    struct toml_value *v = toml_value_new(type, at.line, at.column);
    v->origin = origin;
    v->depth = depth;
    *ret = v;
    return 0;
}

/* Adds a new container under the key part; the table takes the name. */
static int add_container(struct parser *p, struct toml_value *table, struct toml_key_part *part,
                         enum toml_type type, enum toml_origin origin, struct toml_value **ret)
{
    int r = new_container(p, type, origin, part->pos, table->depth + 1, ret);
    if (r < 0)
        return r;
    toml_tab_add(table, TAKE_PTR(part->name), part->len, *ret);
    return 0;
}

/* One step of a dotted key on a key/value line: into or creating a table. */
static int dotted_step(struct parser *p, struct toml_value *table, struct toml_key_part *part,
                       struct toml_value **ret)
{
    struct toml_value *v = toml_tab_find(table, part->name, part->len);
    if (!v)
        return add_container(p, table, part, TOML_TABLE, TOML_ORIGIN_DOTTED, ret);
    if (v->type != TOML_TABLE || v->origin == TOML_ORIGIN_INLINE)
        return fail_defined(p, part, v, "cannot add keys to");
    if (v->origin == TOML_ORIGIN_HEADER)
        return toml_cursor_fail_at(&p->c, part->pos,
                                   "cannot add keys to table %s with a dotted key: it was "
                                   "defined by a [header] at line %d",
                                   QUOTE(part), v->line);
    /* An implicit table becomes one defined by dotted keys: no header may
     * define it any more. */
    v->origin = TOML_ORIGIN_DOTTED;
    *ret = v;
    return 0;
}

/* key = value, into table. */
static int parse_keyval(struct parser *p, struct toml_value *table)
{
    struct toml_key key = {NULL, 0, 0};
    _cleanup_toml_free_ struct toml_value *value = NULL;
    char what[16];
    int r = toml_lex_key(&p->c, &key);
    for (size_t i = 0; r >= 0 && i + 1 < key.n; i++)
        r = dotted_step(p, table, &key.parts[i], &table);
    if (r < 0)
        goto out;
    struct toml_key_part *last = &key.parts[key.n - 1];
    struct toml_value *old = toml_tab_find(table, last->name, last->len);
    if (old) {
        r = fail_defined(p, last, old, "duplicate key");
        goto out;
    }
    if (toml_peek(&p->c) != '=') {
        r = toml_cursor_fail(&p->c, "expected '=' after a key, found %s",
                             toml_describe(&p->c, what));
        goto out;
    }
    toml_advance(&p->c, 1);
    toml_skip_ws(&p->c);
    r = parse_value(p, table->depth + 1, &value);
    if (r >= 0)
        toml_tab_add(table, TAKE_PTR(last->name), last->len, TAKE_PTR(value));
out:
    toml_key_done(&key);
    return r;
}

static int parse_array(struct parser *p, int depth, struct toml_value **ret_value)
{
    _cleanup_toml_free_ struct toml_value *array = NULL;
    char what[16];
    int r = new_container(p, TOML_ARRAY, TOML_ORIGIN_VALUE, toml_pos(&p->c), depth, &array);
    if (r < 0)
        return r;
    toml_advance(&p->c, 1);
    for (;;) {
        toml_skip_blank(&p->c);
        if (toml_peek(&p->c) == ']')
            break;
        struct toml_value *item = NULL;
        r = parse_value(p, depth + 1, &item);
        if (r < 0)
            return r;
        toml_arr_push(array, item);
        toml_skip_blank(&p->c);
        if (toml_peek(&p->c) == ',') {
            toml_advance(&p->c, 1);
        } else if (toml_peek(&p->c) != ']') {
            return toml_cursor_fail(&p->c, "expected ',' or ']' in an array, found %s",
                                    toml_describe(&p->c, what));
        }
    }
    toml_advance(&p->c, 1);
    *ret_value = TAKE_PTR(array);
    return 0;
}

/* Inline tables sit on one line in TOML 1.0 and take no trailing comma. */
static int parse_inline_table(struct parser *p, int depth, struct toml_value **ret_value)
{
    _cleanup_toml_free_ struct toml_value *table = NULL;
    char what[16];
    int r = new_container(p, TOML_TABLE, TOML_ORIGIN_INLINE, toml_pos(&p->c), depth, &table);
    if (r < 0)
        return r;
    toml_advance(&p->c, 1);
    toml_skip_ws(&p->c);
    while (toml_peek(&p->c) != '}') {
        if (toml_at_newline(&p->c))
            return toml_cursor_fail(&p->c, "newline inside an inline table");
        r = parse_keyval(p, table);
        if (r < 0)
            return r;
        toml_skip_ws(&p->c);
        if (toml_peek(&p->c) == '}')
            break;
        if (toml_at_newline(&p->c))
            return toml_cursor_fail(&p->c, "newline inside an inline table");
        if (toml_peek(&p->c) != ',')
            return toml_cursor_fail(&p->c, "expected ',' or '}' in an inline table, found %s",
                                    toml_describe(&p->c, what));
        toml_advance(&p->c, 1);
        toml_skip_ws(&p->c);
        if (toml_peek(&p->c) == '}')
            return toml_cursor_fail(&p->c, "trailing comma in an inline table");
    }
    toml_advance(&p->c, 1);
    *ret_value = TAKE_PTR(table);
    return 0;
}

static int parse_string_value(struct parser *p, struct toml_value **ret_value)
{
    struct toml_buf buf = {NULL, 0, 0};
    struct toml_pos at = toml_pos(&p->c);
    int r = toml_lex_string(&p->c, true, &buf);
    if (r < 0) {
        toml_buf_done(&buf);
        return r;
    }
    struct toml_value *v = toml_value_new(TOML_STRING, at.line, at.column);
    v->u.str.ptr = toml_buf_steal(&buf, &v->u.str.len);
    *ret_value = v;
    return 0;
}

/* depth: the depth the value has if it is a container. */
static int parse_value(struct parser *p, int depth, struct toml_value **ret_value)
{
    switch (toml_peek(&p->c)) {
    case '"':
    case '\'':
        return parse_string_value(p, ret_value);
    case '[':
        return parse_array(p, depth, ret_value);
    case '{':
        return parse_inline_table(p, depth, ret_value);
    default:
        return toml_lex_scalar(&p->c, ret_value);
    }
}

/* A step of a header's key before the last: into a table (creating it
 * implicitly) or into the last table of an array of tables. */
static int header_step(struct parser *p, struct toml_value *table, struct toml_key_part *part,
                       struct toml_value **ret)
{
    struct toml_value *v = toml_tab_find(table, part->name, part->len);
    if (!v)
        return add_container(p, table, part, TOML_TABLE, TOML_ORIGIN_IMPLICIT, ret);
    if (v->type == TOML_TABLE && v->origin != TOML_ORIGIN_INLINE) {
        *ret = v;
        return 0;
    }
    if (v->type == TOML_ARRAY && v->origin == TOML_ORIGIN_AOT) {
        *ret = v->u.arr.items[v->u.arr.n - 1];
        return 0;
    }
    return fail_defined(p, part, v, "cannot define tables under");
}

/* The last key of [header]. */
static int define_table(struct parser *p, struct toml_value *table, struct toml_key_part *part,
                        struct toml_value **ret)
{
    struct toml_value *v = toml_tab_find(table, part->name, part->len);
    if (!v)
        return add_container(p, table, part, TOML_TABLE, TOML_ORIGIN_HEADER, ret);
    if (v->type != TOML_TABLE || v->origin != TOML_ORIGIN_IMPLICIT)
        return fail_defined(p, part, v, "cannot define table");
    v->origin = TOML_ORIGIN_HEADER;
    v->line = part->pos.line;
    v->column = part->pos.column;
    *ret = v;
    return 0;
}

/* The last key of [[header]]: a new table at the end of the array. */
static int define_array_table(struct parser *p, struct toml_value *table,
                              struct toml_key_part *part, struct toml_value **ret)
{
    struct toml_value *array = toml_tab_find(table, part->name, part->len);
    int r = 0;
    if (!array)
        r = add_container(p, table, part, TOML_ARRAY, TOML_ORIGIN_AOT, &array);
    else if (array->type != TOML_ARRAY || array->origin != TOML_ORIGIN_AOT)
        r = fail_defined(p, part, array, "cannot append a table to");
    if (r < 0)
        return r;
    r = new_container(p, TOML_TABLE, TOML_ORIGIN_HEADER, part->pos, array->depth + 1, ret);
    if (r < 0)
        return r;
    toml_arr_push(array, *ret);
    return 0;
}

/* [key] or [[key]], then the end of the line. */
static int parse_header(struct parser *p)
{
    struct toml_key key = {NULL, 0, 0};
    bool array = toml_peek_at(&p->c, 1) == '[';
    toml_advance(&p->c, array ? 2 : 1);
    toml_skip_ws(&p->c);
    int r = toml_lex_key(&p->c, &key);
    if (r >= 0 && (toml_peek(&p->c) != ']' || (array && toml_peek_at(&p->c, 1) != ']'))) {
        char what[16];
        r = toml_cursor_fail(&p->c, "expected '%s' to close the header, found %s",
                             array ? "]]" : "]", toml_describe(&p->c, what));
    }
    if (r >= 0) {
        toml_advance(&p->c, array ? 2 : 1);
        r = toml_end_line(&p->c, "a table header");
    }
    struct toml_value *table = p->root;
    for (size_t i = 0; r >= 0 && i + 1 < key.n; i++)
        r = header_step(p, table, &key.parts[i], &table);
    if (r >= 0) {
        struct toml_key_part *last = &key.parts[key.n - 1];
        r = array ? define_array_table(p, table, last, &p->current)
                  : define_table(p, table, last, &p->current);
    }
    toml_key_done(&key);
    return r;
}

static int parse_document(struct parser *p)
{
    while (!toml_at_end(&p->c)) {
        int r;
        toml_skip_ws(&p->c);
        char ch = toml_peek(&p->c);
        if (ch == '[') {
            r = parse_header(p);
        } else if (ch == '#' || toml_at_newline(&p->c) || toml_at_end(&p->c)) {
            r = toml_end_line(&p->c, "a comment");
        } else {
            r = parse_keyval(p, p->current);
            if (r >= 0)
                r = toml_end_line(&p->c, "a value");
        }
        if (r < 0)
            return r;
    }
    return 0;
}

int toml_parse(const char *text, size_t len, const char *filename, struct toml_value **ret_root,
               struct err *e)
{
    const char *file = filename ? filename : "<input>";
    if (len > TOML_MAX_SIZE)
        return err_set(e, -EFBIG, "%s: document larger than %zu MiB", file, TOML_MAX_SIZE >> 20);
    if (!text)
        text = "";
    size_t skip = 0;
    int r = toml_text_check(text, len, file, &skip, e);
    if (r < 0)
        return r;
    struct parser p = {.root = toml_value_new(TOML_TABLE, 1, 1)};
    p.root->origin = TOML_ORIGIN_HEADER;
    p.current = p.root;
    toml_cursor_init(&p.c, text + skip, len - skip, file, e);
    r = parse_document(&p);
    if (r < 0) {
        toml_free(p.root);
        return r;
    }
    *ret_root = p.root;
    return 0;
}

/* Reads at most TOML_MAX_SIZE + 1 bytes, so an oversized file is detected
 * without reading all of it (and pipes work too). */
static int read_all(int fd, char **ret_data, size_t *ret_len)
{
    _cleanup_free_ char *data = NULL;
    size_t len = 0, cap = 0;
    while (len <= TOML_MAX_SIZE) {
        if (len == cap) {
            cap = MIN(cap ? 2 * cap : 16384, TOML_MAX_SIZE + 1);
            data = xrealloc(data, cap + 1);
        }
        ssize_t n = read(fd, data + len, cap - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            break;
        len += (size_t)n;
    }
    data[len] = '\0';
    *ret_data = TAKE_PTR(data);
    *ret_len = len;
    return 0;
}

int toml_parse_file(const char *path, struct toml_value **ret_root, struct err *e)
{
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return err_set(e, -errno, "%s: %s", path, strerror(errno));
    _cleanup_free_ char *data = NULL;
    size_t len = 0;
    int r = read_all(fd, &data, &len);
    if (r < 0)
        return err_set(e, r, "%s: %s", path, strerror(-r));
    return toml_parse(data, len, path, ret_root, e);
}
