/* logfmt output, see log.h. */
#include "lib/log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

static atomic_int log_fd = 2;
static atomic_int log_level = LOG_INFO;
static const char *_Atomic log_source = "kata";

static const char *const level_names[] = {
    [LOG_ERROR] = "error", [LOG_WARN] = "warning", [LOG_INFO] = "info",
    [LOG_DEBUG] = "debug", [LOG_TRACE] = "trace",
};

void log_set_fd(int fd)
{
    log_fd = fd;
}

void log_set_level(enum log_level level)
{
    log_level = (int)level;
}

enum log_level log_get_level(void)
{
    return (enum log_level)log_level;
}

void log_set_source(const char *source)
{
    log_source = source;
}

int log_level_from_string(const char *s, enum log_level *ret_level)
{
    for (size_t i = 0; i < ELEMENTSOF(level_names); i++)
        if (strcmp(s, level_names[i]) == 0) {
            *ret_level = (enum log_level)i;
            return 0;
        }
    if (strcmp(s, "warn") == 0) {
        *ret_level = LOG_WARN;
        return 0;
    }
    return -EINVAL;
}

/* Appends a logfmt value, quoting and escaping only when needed. */
static size_t append_value(char *buf, size_t pos, size_t cap, const char *v)
{
    int quote = v[0] == '\0' || strpbrk(v, " =\"\\\n\t") != NULL;
    if (quote && pos < cap)
        buf[pos++] = '"';
    for (; *v && pos + 2 < cap; v++) {
        if (*v == '"' || *v == '\\') {
            buf[pos++] = '\\';
            buf[pos++] = *v;
        } else if (*v == '\n') {
            buf[pos++] = '\\';
            buf[pos++] = 'n';
        } else {
            buf[pos++] = *v;
        }
    }
    if (quote && pos < cap)
        buf[pos++] = '"';
    return pos;
}

void log_internal(enum log_level level, int err, const char *file, int line, const char *func,
                  const char *fmt, ...)
{
    if (!log_enabled(level))
        return;

    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (err) {
        size_t n = strlen(msg);
        snprintf(msg + n, sizeof(msg) - n, ": %s", strerror(err < 0 ? -err : err));
    }

    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);

    char buf[2048];
    size_t cap = sizeof(buf) - 1;
    int n = snprintf(buf, cap,
                     "time=%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ level=%s source=%s msg=",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                     tm.tm_sec, ts.tv_nsec, level_names[level], log_source);
    size_t pos = n > 0 ? MIN((size_t)n, cap) : 0;
    pos = append_value(buf, pos, cap, msg);
    if (log_get_level() >= LOG_DEBUG) {
        char where[256];
        snprintf(where, sizeof(where), "%s:%d", file, line);
        pos += (size_t)snprintf(buf + pos, cap - pos, " func=%s src=", func);
        pos = MIN(pos, cap);
        pos = append_value(buf, pos, cap, where);
    }
    buf[pos++] = '\n';
    /* One write per line keeps lines whole across threads; a log that cannot
     * be written is dropped rather than blocking or failing the caller. */
    ssize_t _unused_ w = write(log_fd, buf, pos);
}
