/* Allocation that cannot fail: out of memory aborts the process (STYLE.md,
 * Errors). Sizes a peer controls must be checked against a limit before they
 * reach these functions. */
#pragma once

#include <stddef.h>

void *xmalloc(size_t size);
void *xzalloc(size_t size);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t size);
void *xmemdup(const void *p, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

#define xnew(type, n) ((type *)xcalloc((n), sizeof(type)))
