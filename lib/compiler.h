/* Compiler helpers shared by every binary: cleanup attributes, ownership
 * transfer and small annotations. Header only; no state. A cleanup variable
 * is initialised where it is declared (NULL or -1) and handed off only with
 * TAKE_PTR()/TAKE_FD(), so a function can return early without leaking. */
#pragma once

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <dirent.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _unused_ __attribute__((unused))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _noreturn_ __attribute__((noreturn))
#define _warn_unused_ __attribute__((warn_unused_result))
#define _likely_(x) __builtin_expect(!!(x), 1)
#define _unlikely_(x) __builtin_expect(!!(x), 0)

#define ELEMENTSOF(a) (sizeof(a) / sizeof((a)[0]))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#define container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

/* Return the value and leave NULL / -1 behind, so the cleanup does nothing. */
#define TAKE_PTR(p)                                                                                \
    ({                                                                                             \
        typeof(p) _taken = (p);                                                                    \
        (p) = NULL;                                                                                \
        _taken;                                                                                    \
    })
#define TAKE_FD(fd)                                                                                \
    ({                                                                                             \
        int _taken_fd = (fd);                                                                      \
        (fd) = -1;                                                                                 \
        _taken_fd;                                                                                 \
    })

/* Declares static inline fn_ptr(type *p) calling fn(*p) when *p is non-NULL. */
#define DEFINE_CLEANUP_FUNC(type, fn)                                                              \
    static inline void fn##p(type *p)                                                              \
    {                                                                                              \
        if (*p)                                                                                    \
            fn(*p);                                                                                \
    }

static inline void freep(void *p)
{
    free(*(void **)p);
}

/* Closes without touching errno, and tolerates -1. */
static inline int fd_close(int fd)
{
    if (fd >= 0) {
        int saved = errno;
        close(fd);
        errno = saved;
    }
    return -1;
}

static inline void closep(int *fd)
{
    *fd = fd_close(*fd);
}

static inline void fclosep(FILE **f)
{
    if (*f)
        fclose(*f);
    *f = NULL;
}

static inline void closedirp(DIR **d)
{
    if (*d)
        closedir(*d);
    *d = NULL;
}

#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_close_ _cleanup_(closep)
#define _cleanup_fclose_ _cleanup_(fclosep)
#define _cleanup_closedir_ _cleanup_(closedirp)
