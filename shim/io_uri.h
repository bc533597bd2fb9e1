/* containerd's log URIs for a process's stdout/stderr, instead of FIFO
 * paths (`ctr run --log-uri`, nerdctl's logging drivers):
 *   file:///abs/path               append both streams to that file
 *   binary:///abs/prog?k=v&env.K=V start prog with the streams on fds 3
 *                                  and 4; it closes fd 5 once ready
 * The logging binary gets argv {prog, k, v, ...} (query order, first value
 * of each key), an environment of CONTAINER_ID, CONTAINER_NAMESPACE and the
 * `env.` pairs, and ends when its pipes reach EOF or, failing that, by
 * SIGTERM then SIGKILL. A path without a scheme stays a FIFO (or plain
 * file) path. Stdin is always a FIFO. Errors: -EINVAL for a bad URI, with
 * text naming it; other negative errno for system failures. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct loop;
struct err;
struct io_logger;

enum io_uri_kind { IO_URI_FILE, IO_URI_BINARY };

#define IO_URI_MAX_ARGS 64

struct io_uri {
    enum io_uri_kind kind;
    char *path;  /* decoded, absolute */
    char **argv; /* binary: path, then the query's keys and values; NULL-ended */
    char **envp; /* binary: "K=V" from env.K=V pairs; NULL-ended */
};

/* Does s start with a URI scheme ("name:"), as opposed to a path? */
bool io_uri_has_scheme(const char *s);
/* Parses a log URI; on error *ret is left empty. */
int io_uri_parse(const char *s, struct io_uri *ret, struct err *e);
void io_uri_done(struct io_uri *u);

/* The stdio that Create/Exec name, checked before anything starts: stdin
 * a path; stdout a path or a log URI, which stderr then repeats (or is
 * empty); the logging binary an executable regular file. */
int io_uri_check_stdio(const char *stdin_path, const char *stdout_path, const char *stderr_path,
                       bool terminal, struct err *e);

/* The log URI that governs this process's output, or NULL when its
 * stdout and stderr are paths. */
const char *io_uri_of(const char *stdout_path, const char *stderr_path);

/* ---- the logging binary ---- */

/* Called on the loop when the logger is ready (closed fd 5) or exited. */
typedef void (*io_logger_fn)(void *ud);

/* Starts u (kind IO_URI_BINARY); ret_fds get the non-blocking write ends
 * of its stdout and stderr pipes (owned by the caller). */
int io_logger_start(struct loop *loop, const struct io_uri *u, const char *container_id,
                    const char *namespace_, io_logger_fn changed, void *ud, int ret_fds[2],
                    struct io_logger **ret, struct err *e);
bool io_logger_ready(const struct io_logger *l);
bool io_logger_exited(const struct io_logger *l);
/* A logger still running gets SIGTERM, a short grace, then SIGKILL, and is
 * reaped (the only wait here, and only for a logger that ignored EOF).
 * The caller closes the pipes first. NULL-safe, returns NULL. */
struct io_logger *io_logger_free(struct io_logger *l);
