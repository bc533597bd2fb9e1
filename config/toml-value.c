/* The TOML value tree: allocation, tables with a hash index, arrays, and the
 * public read-only accessors of config/toml.h. */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "config/toml-internal.h"
#include "lib/xalloc.h"

/* Tables up to this size are searched linearly; larger ones get an index. */
#define TOML_INDEX_MIN 16
/* A key in a toml_get() path that needs unescaping must fit this buffer. */
#define TOML_PATH_SEGMENT_MAX 256

/* Open addressing over entry numbers. The hash is keyed (SipHash-1-3 with a
 * random key per index) so that input crafted to collide cannot turn a big
 * table into a quadratic one. */
struct toml_index {
    uint64_t k0, k1;
    size_t mask;       /* number of slots - 1; a power of two minus one */
    uint32_t slots[];  /* entry number + 1, or 0 when free */
};

static uint64_t rotl64(uint64_t x, unsigned b)
{
    return (x << b) | (x >> (64u - b));
}

static void sip_round(uint64_t v[4])
{
    v[0] += v[1];
    v[1] = rotl64(v[1], 13) ^ v[0];
    v[0] = rotl64(v[0], 32);
    v[2] += v[3];
    v[3] = rotl64(v[3], 16) ^ v[2];
    v[0] += v[3];
    v[3] = rotl64(v[3], 21) ^ v[0];
    v[2] += v[1];
    v[1] = rotl64(v[1], 17) ^ v[2];
    v[2] = rotl64(v[2], 32);
}

static uint64_t sip_word(const unsigned char *p, size_t n)
{
    uint64_t w = 0;
    for (size_t i = 0; i < n; i++)
        w |= (uint64_t)p[i] << (8u * i);
    return w;
}

static uint64_t siphash13(const struct toml_index *ix, const char *key, size_t len)
{
    const unsigned char *p = (const unsigned char *)key;
    uint64_t v[4] = {0x736f6d6570736575ULL ^ ix->k0, 0x646f72616e646f6dULL ^ ix->k1,
                     0x6c7967656e657261ULL ^ ix->k0, 0x7465646279746573ULL ^ ix->k1};
    size_t full = len - len % 8u;
    for (size_t i = 0; i < full; i += 8) {
        uint64_t m = sip_word(p + i, 8);
        v[3] ^= m;
        sip_round(v);
        v[0] ^= m;
    }
    uint64_t last = ((uint64_t)len << 56) | sip_word(p + full, len % 8u);
    v[3] ^= last;
    sip_round(v);
    v[0] ^= last;
    v[2] ^= 0xff;
    sip_round(v);
    sip_round(v);
    sip_round(v);
    return v[0] ^ v[1] ^ v[2] ^ v[3];
}

static void index_seed(struct toml_index *ix)
{
    uint64_t k[2];
    if (getrandom(k, sizeof(k), GRND_NONBLOCK) != (ssize_t)sizeof(k)) {
        /* Early boot without entropy: a weaker but still varying key. */
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        k[0] = (uint64_t)(uintptr_t)ix ^ ((uint64_t)ts.tv_nsec << 20);
        k[1] = (uint64_t)ts.tv_sec * 0x9e3779b97f4a7c15ULL ^ (uint64_t)(uintptr_t)&k;
    }
    ix->k0 = k[0];
    ix->k1 = k[1];
}

static bool key_equal(const struct toml_entry *en, const char *key, size_t len)
{
    return en->key_len == len && memcmp(en->key, key, len) == 0;
}

static void index_put(struct toml_index *ix, const struct toml_entry *entries, size_t i)
{
    size_t slot = (size_t)siphash13(ix, entries[i].key, entries[i].key_len) & ix->mask;
    while (ix->slots[slot])
        slot = (slot + 1) & ix->mask;
    ix->slots[slot] = (uint32_t)(i + 1);
}

/* Builds or regrows the index so that at most half of its slots are used. */
static void index_grow(struct toml_table_data *t)
{
    size_t want = (size_t)2 * TOML_INDEX_MIN;
    while (want < 2 * (t->n + 1))
        want *= 2;
    if (t->index && t->index->mask + 1 >= want)
        return;
    assert(t->n < UINT32_MAX);
    struct toml_index *ix = xzalloc(sizeof(*ix) + want * sizeof(ix->slots[0]));
    ix->mask = want - 1;
    if (t->index) {
        ix->k0 = t->index->k0;
        ix->k1 = t->index->k1;
    } else {
        index_seed(ix);
    }
    free(t->index);
    t->index = ix;
    for (size_t i = 0; i < t->n; i++)
        index_put(ix, t->entries, i);
}

struct toml_value *toml_tab_find(const struct toml_value *table, const char *key, size_t key_len)
{
    const struct toml_table_data *t = &table->u.tab;
    if (!t->index) {
        for (size_t i = 0; i < t->n; i++)
            if (key_equal(&t->entries[i], key, key_len))
                return t->entries[i].value;
        return NULL;
    }
    const struct toml_index *ix = t->index;
    size_t slot = (size_t)siphash13(ix, key, key_len) & ix->mask;
    for (; ix->slots[slot]; slot = (slot + 1) & ix->mask) {
        const struct toml_entry *en = &t->entries[ix->slots[slot] - 1];
        if (key_equal(en, key, key_len))
            return en->value;
    }
    return NULL;
}

void toml_tab_add(struct toml_value *table, char *key, size_t key_len, struct toml_value *value)
{
    struct toml_table_data *t = &table->u.tab;
    assert(table->type == TOML_TABLE);
    if (t->n == t->cap) {
        t->cap = t->cap ? 2 * t->cap : 4;
        t->entries = xrealloc(t->entries, t->cap * sizeof(t->entries[0]));
    }
    t->entries[t->n] = (struct toml_entry){key, key_len, value};
    if (t->index || t->n + 1 >= TOML_INDEX_MIN) {
        index_grow(t);
        index_put(t->index, t->entries, t->n);
    }
    t->n++;
}

void toml_arr_push(struct toml_value *array, struct toml_value *item)
{
    struct toml_array_data *a = &array->u.arr;
    assert(array->type == TOML_ARRAY);
    if (a->n == a->cap) {
        a->cap = a->cap ? 2 * a->cap : 4;
        a->items = xrealloc(a->items, a->cap * sizeof(a->items[0]));
    }
    a->items[a->n++] = item;
}

struct toml_value *toml_value_new(enum toml_type type, int line, int column)
{
    struct toml_value *v = xnew(struct toml_value, 1);
    v->type = type;
    v->origin = TOML_ORIGIN_VALUE;
    v->line = line;
    v->column = column;
    return v;
}

struct toml_value *toml_free(struct toml_value *v)
{
    if (!v)
        return NULL;
    /* Recursion is bounded by TOML_MAX_DEPTH. */
    switch (v->type) {
    case TOML_STRING:
        free(v->u.str.ptr);
        break;
    case TOML_ARRAY:
        for (size_t i = 0; i < v->u.arr.n; i++)
            toml_free(v->u.arr.items[i]);
        free(v->u.arr.items);
        break;
    case TOML_TABLE:
        for (size_t i = 0; i < v->u.tab.n; i++) {
            free(v->u.tab.entries[i].key);
            toml_free(v->u.tab.entries[i].value);
        }
        free(v->u.tab.entries);
        free(v->u.tab.index);
        break;
    default:
        break;
    }
    free(v);
    return NULL;
}

void toml_buf_push(struct toml_buf *b, const void *bytes, size_t n)
{
    if (!b->data || b->cap - b->len <= n) {
        size_t cap = b->cap ? b->cap : 32;
        while (cap - b->len <= n)
            cap *= 2;
        b->data = xrealloc(b->data, cap);
        b->cap = cap;
    }
    memcpy(b->data + b->len, bytes, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void toml_buf_putc(struct toml_buf *b, char c)
{
    toml_buf_push(b, &c, 1);
}

char *toml_buf_steal(struct toml_buf *b, size_t *ret_len)
{
    if (!b->data)
        toml_buf_push(b, "", 0);
    char *s = b->data;
    *ret_len = b->len;
    *b = (struct toml_buf){NULL, 0, 0};
    return s;
}

void toml_buf_done(struct toml_buf *b)
{
    free(b->data);
    *b = (struct toml_buf){NULL, 0, 0};
}

enum toml_type toml_type(const struct toml_value *v)
{
    assert(v);
    return v->type;
}

const char *toml_type_name(enum toml_type t)
{
    static const char *const names[] = {
        [TOML_STRING] = "string",
        [TOML_INTEGER] = "integer",
        [TOML_FLOAT] = "float",
        [TOML_BOOL] = "bool",
        [TOML_DATETIME] = "datetime",
        [TOML_DATETIME_LOCAL] = "datetime-local",
        [TOML_DATE_LOCAL] = "date-local",
        [TOML_TIME_LOCAL] = "time-local",
        [TOML_ARRAY] = "array",
        [TOML_TABLE] = "table",
    };
    if ((size_t)t >= ELEMENTSOF(names) || !names[t])
        return "unknown";
    return names[t];
}

int toml_line(const struct toml_value *v)
{
    return v ? v->line : 0;
}

int toml_column(const struct toml_value *v)
{
    return v ? v->column : 0;
}

/* Reads one segment of a toml_get() path. A quoted segment without escapes
 * is returned in place; one with escapes is unescaped into buf. Returns the
 * rest of the path (after the dot), or NULL when the segment is malformed. */
static const char *path_segment(const char *p, char buf[TOML_PATH_SEGMENT_MAX],
                                const char **ret_seg, size_t *ret_len)
{
    if (*p != '"' && *p != '\'') {
        size_t n = strcspn(p, ".");
        *ret_seg = p;
        *ret_len = n;
        p += n;
    } else {
        char quote = *p++;
        size_t n = 0;
        const char *start = p;
        bool copied = false;
        for (; *p != quote; p++) {
            if (!*p)
                return NULL;
            if (quote == '"' && *p == '\\') {
                if (p[1] != '"' && p[1] != '\\')
                    return NULL;
                p++;
                copied = true;
            }
            if (n == TOML_PATH_SEGMENT_MAX)
                return NULL;
            buf[n++] = *p;
        }
        *ret_seg = copied ? buf : start;
        *ret_len = copied ? n : (size_t)(p - start);
        p++;
    }
    if (*p == '.')
        return p[1] ? p + 1 : NULL;
    return *p ? NULL : p;
}

const struct toml_value *toml_get(const struct toml_value *table, const char *path)
{
    char buf[TOML_PATH_SEGMENT_MAX];
    if (!table || !path || !*path)
        return NULL;
    const struct toml_value *v = table;
    while (*path) {
        const char *seg;
        size_t len;
        if (v->type != TOML_TABLE)
            return NULL;
        path = path_segment(path, buf, &seg, &len);
        if (!path)
            return NULL;
        v = toml_tab_find(v, seg, len);
        if (!v)
            return NULL;
    }
    return v;
}

size_t toml_table_size(const struct toml_value *table)
{
    return table && table->type == TOML_TABLE ? table->u.tab.n : 0;
}

static const struct toml_entry *entry_at(const struct toml_value *table, size_t i)
{
    if (!table || table->type != TOML_TABLE || i >= table->u.tab.n)
        return NULL;
    return &table->u.tab.entries[i];
}

const char *toml_table_key_at(const struct toml_value *table, size_t i)
{
    const struct toml_entry *en = entry_at(table, i);
    return en ? en->key : NULL;
}

size_t toml_table_key_len_at(const struct toml_value *table, size_t i)
{
    const struct toml_entry *en = entry_at(table, i);
    return en ? en->key_len : 0;
}

const struct toml_value *toml_table_value_at(const struct toml_value *table, size_t i)
{
    const struct toml_entry *en = entry_at(table, i);
    return en ? en->value : NULL;
}

size_t toml_array_size(const struct toml_value *array)
{
    return array && array->type == TOML_ARRAY ? array->u.arr.n : 0;
}

const struct toml_value *toml_array_at(const struct toml_value *array, size_t i)
{
    if (!array || array->type != TOML_ARRAY || i >= array->u.arr.n)
        return NULL;
    return array->u.arr.items[i];
}

static int check_type(const struct toml_value *v, enum toml_type t)
{
    if (!v)
        return -ENOENT;
    return v->type == t ? 0 : -EINVAL;
}

int toml_string(const struct toml_value *v, const char **ret_string)
{
    int r = check_type(v, TOML_STRING);
    if (r < 0)
        return r;
    *ret_string = v->u.str.ptr;
    return 0;
}

size_t toml_string_len(const struct toml_value *v)
{
    return v && v->type == TOML_STRING ? v->u.str.len : 0;
}

int toml_int(const struct toml_value *v, int64_t *ret_int)
{
    int r = check_type(v, TOML_INTEGER);
    if (r < 0)
        return r;
    *ret_int = v->u.integer;
    return 0;
}

int toml_float(const struct toml_value *v, double *ret_float)
{
    int r = check_type(v, TOML_FLOAT);
    if (r < 0)
        return r;
    *ret_float = v->u.fp;
    return 0;
}

int toml_bool(const struct toml_value *v, bool *ret_bool)
{
    int r = check_type(v, TOML_BOOL);
    if (r < 0)
        return r;
    *ret_bool = v->u.boolean;
    return 0;
}

int toml_datetime(const struct toml_value *v, struct toml_datetime *ret_datetime)
{
    if (!v)
        return -ENOENT;
    if (v->type != TOML_DATETIME && v->type != TOML_DATETIME_LOCAL &&
        v->type != TOML_DATE_LOCAL && v->type != TOML_TIME_LOCAL)
        return -EINVAL;
    *ret_datetime = v->u.dt;
    return 0;
}
