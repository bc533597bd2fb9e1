/* struct err: fixed-size error slots, see err.h. */
#include "lib/err.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int err_set(struct err *e, int code, const char *fmt, ...)
{
    if (code > 0)
        code = -code;
    if (code == 0)
        code = -EIO;
    if (!e)
        return code;
#ifndef NDEBUG
    /* Overwriting an error loses the first one: a programming error. */
    assert(e->code == 0);
#endif
    e->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
    va_end(ap);
    return code;
}

int err_prefix(struct err *e, const char *fmt, ...)
{
    if (!e)
        return -EIO;
    char prefix[ERR_MSG_MAX];
    char old[ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    snprintf(old, sizeof(old), "%s", err_msg(e));
    /* Truncation is acceptable: the start of the message carries the most. */
    size_t n = strnlen(prefix, sizeof(e->msg) - 1);
    memcpy(e->msg, prefix, n);
    size_t pos = n;
    for (const char *p = ": "; *p && pos < sizeof(e->msg) - 1; p++)
        e->msg[pos++] = *p;
    for (const char *p = old; *p && pos < sizeof(e->msg) - 1; p++)
        e->msg[pos++] = *p;
    e->msg[pos] = '\0';
    return e->code ? e->code : -EIO;
}

void err_clear(struct err *e)
{
    if (e) {
        e->code = 0;
        e->msg[0] = '\0';
    }
}

const char *err_msg(const struct err *e)
{
    if (!e || e->code == 0)
        return "no error";
    if (e->msg[0])
        return e->msg;
    return strerror(-e->code);
}
