/* Error messages that must reach a person or containerd.
 *
 * A `struct err` lives on the caller's stack, zero-initialised, and is
 * filled at most once by the callee: err_set() records a negative errno code
 * and a message and returns the code, so raising an error is one `return`.
 * err_prefix() adds context on the way up. Nothing is allocated, so an
 * error can be neither leaked nor half-freed. Every function taking a
 * `struct err *` accepts NULL when the caller needs only the code. */
#pragma once

#include "lib/compiler.h"

#define ERR_MSG_MAX 256

struct err {
    int code;               /* negative errno, 0 when unset */
    char msg[ERR_MSG_MAX];
};

#define ERR_INIT {0, ""}

/* Records code (a negative errno; a positive one is negated) and the message,
 * and returns the negative code. */
int err_set(struct err *e, int code, const char *fmt, ...) _printf_(3, 4);

/* Prepends "<context>: " to an error already set; returns its code. */
int err_prefix(struct err *e, const char *fmt, ...) _printf_(2, 3);

/* Clears a slot for reuse. */
void err_clear(struct err *e);

static inline int err_is_set(const struct err *e)
{
    return e && e->code != 0;
}

/* The message, or strerror of the code when no message was given. */
const char *err_msg(const struct err *e);
