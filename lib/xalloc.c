/* Allocation helpers that abort on exhaustion. */
#include "lib/xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void oom(size_t size) __attribute__((noreturn));
static void oom(size_t size)
{
    /* No logging machinery here: it may need memory itself. */
    fprintf(stderr, "out of memory allocating %zu bytes\n", size);
    abort();
}

void *xmalloc(size_t size)
{
    void *p = malloc(size ? size : 1);
    if (!p)
        oom(size);
    return p;
}

void *xzalloc(size_t size)
{
    return xcalloc(1, size);
}

void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        oom(n * size);
    return p;
}

void *xrealloc(void *p, size_t size)
{
    void *q = realloc(p, size ? size : 1);
    if (!q)
        oom(size);
    return q;
}

void *xmemdup(const void *p, size_t size)
{
    void *q = xmalloc(size);
    if (size)
        memcpy(q, p, size);
    return q;
}

char *xstrdup(const char *s)
{
    return xmemdup(s, strlen(s) + 1);
}

char *xstrndup(const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *q = xmalloc(len + 1);
    memcpy(q, s, len);
    q[len] = '\0';
    return q;
}
