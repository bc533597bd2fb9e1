/* The one logging funnel. Lines are logfmt (time=, level=, source=, msg=,
 * plus optional sandbox= and container=), the format Kata's log parser reads.
 * Settings are process-global and set once from main(); log calls are safe
 * from any thread (each line is a single write(2)). errno is never read
 * implicitly: pass it to log_errno(). lib/ and protocol code log at debug or
 * trace only; the layer that decides what to do logs errors, once. */
#pragma once

#include "lib/compiler.h"

enum log_level { LOG_ERROR = 0, LOG_WARN, LOG_INFO, LOG_DEBUG, LOG_TRACE };

/* Where lines go (default: stderr) and which levels are kept (default: info). */
void log_set_fd(int fd);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* "shim", "agent", ...; stored by pointer, so pass a string literal. */
void log_set_source(const char *source);
/* Parses "error".."trace"; returns -EINVAL for anything else. */
int log_level_from_string(const char *s, enum log_level *ret_level);

static inline int log_enabled(enum log_level level)
{
    return level <= log_get_level();
}

void log_internal(enum log_level level, int err, const char *file, int line, const char *func,
                  const char *fmt, ...) _printf_(6, 7);

#define log_at(level, ...) log_internal((level), 0, __FILE__, __LINE__, __func__, __VA_ARGS__)
#define log_errno(level, err, ...)                                                                 \
    log_internal((level), (err), __FILE__, __LINE__, __func__, __VA_ARGS__)
#define log_error(...) log_at(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_at(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_at(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_at(LOG_DEBUG, __VA_ARGS__)
#define log_trace(...) log_at(LOG_TRACE, __VA_ARGS__)
