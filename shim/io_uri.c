/* Log URIs and the logging binary; see io_uri.h. */
#include "shim/io_uri.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/compiler.h"
#include "lib/err.h"
#include "lib/fd.h"
#include "lib/hex.h"
#include "lib/log.h"
#include "lib/loop.h"
#include "lib/spawn.h"
#include "lib/xalloc.h"

/* After the pipes closed, how long a logger that is still running gets
 * between SIGTERM and SIGKILL. */
#define LOGGER_TERM_MS 500
/* A logger that neither closes fd 5 nor exits within this long is taken
 * as ready (with a warning) rather than holding the output forever; the
 * process then waits on a full pipe, as for any slow reader. */
#define LOGGER_READY_NS (UINT64_C(10) * 1000000000)

/* Messages name the URI but stay within ERR_MSG_MAX. */
#define URI_FMT "%.120s"

static bool is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

bool io_uri_has_scheme(const char *s)
{
    if (!s || !is_alpha(s[0]))
        return false;
    for (s++; *s; s++) {
        if (*s == ':')
            return true;
        if (!is_alpha(*s) && !(*s >= '0' && *s <= '9') && *s != '+' && *s != '-' && *s != '.')
            return false;
    }
    return false;
}

/* Percent-decodes s[0..n) (and '+' as a space in a query); NULL when an
 * escape is malformed or decodes to NUL, which no path or argument holds. */
static char *decode(const char *s, size_t n, bool query)
{
    char *out = xmalloc(n + 1), *o = out;

    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%') {
            int hi = i + 2 < n ? hex_digit(s[i + 1]) : -1;
            int lo = i + 2 < n ? hex_digit(s[i + 2]) : -1;
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
                free(out);
                return NULL;
            }
            *o++ = (char)(hi * 16 + lo);
            i += 2;
        } else if (query && s[i] == '+') {
            *o++ = ' ';
        } else {
            *o++ = s[i];
        }
    }
    *o = '\0';
    return out;
}

void io_uri_done(struct io_uri *u)
{
    if (!u)
        return;
    free(u->path);
    for (char **p = u->argv; p && *p; p++)
        free(*p);
    free(u->argv);
    for (char **p = u->envp; p && *p; p++)
        free(*p);
    free(u->envp);
    *u = (struct io_uri){0};
}

static bool seen_key(char *const *argv, size_t n, const char *key)
{
    for (size_t i = 1; i + 1 < n; i += 2)
        if (strcmp(argv[i], key) == 0)
            return true;
    return false;
}

/* The query of a binary URI: k=v pairs become arguments, env.K=V pairs
 * environment entries; a repeated key keeps its first value. */
static int parse_query(const char *uri, const char *q, size_t qlen, struct io_uri *u,
                       struct err *e)
{
    size_t n_args = 1, n_env = 0;
    const char *end = q + qlen;

    u->argv = xnew(char *, 2 * IO_URI_MAX_ARGS + 2);
    u->envp = xnew(char *, IO_URI_MAX_ARGS + 1);
    u->argv[0] = xstrdup(u->path);
    while (q < end) {
        const char *amp = memchr(q, '&', (size_t)(end - q));
        const char *seg_end = amp ? amp : end;
        const char *eq = memchr(q, '=', (size_t)(seg_end - q));
        _cleanup_free_ char *key = NULL, *val = NULL;

        if (memchr(q, ';', (size_t)(seg_end - q)))
            return err_set(e, -EINVAL,
                           "log URI " URI_FMT ": ';' in the query; separate pairs with '&'", uri);
        if (seg_end > q) {
            key = decode(q, (size_t)((eq ? eq : seg_end) - q), true);
            val = eq ? decode(eq + 1, (size_t)(seg_end - eq - 1), true) : xstrdup("");
            if (!key || !val)
                return err_set(e, -EINVAL, "log URI " URI_FMT ": bad %%-escape in the query", uri);
        }
        q = amp ? amp + 1 : end;
        if (!key || !*key)
            continue;
        if (strncmp(key, "env.", 4) == 0) {
            const char *name = key + 4;
            if (!*name || strchr(name, '='))
                return err_set(e, -EINVAL, "log URI " URI_FMT ": bad environment name '%.40s'", uri,
                               name);
            /* The container's identity is ours to set. */
            if (strcmp(name, "CONTAINER_ID") == 0 || strcmp(name, "CONTAINER_NAMESPACE") == 0)
                continue;
            if (n_env >= IO_URI_MAX_ARGS)
                return err_set(e, -EINVAL, "log URI " URI_FMT ": more than %d query pairs", uri,
                               IO_URI_MAX_ARGS);
            size_t len = strlen(name) + strlen(val) + 2;
            u->envp[n_env] = xmalloc(len);
            snprintf(u->envp[n_env++], len, "%s=%s", name, val);
            continue;
        }
        if (seen_key(u->argv, n_args, key))
            continue;
        if (n_args >= 2 * IO_URI_MAX_ARGS)
            return err_set(e, -EINVAL, "log URI " URI_FMT ": more than %d query pairs", uri,
                           IO_URI_MAX_ARGS);
        u->argv[n_args++] = TAKE_PTR(key);
        u->argv[n_args++] = TAKE_PTR(val);
    }
    return 0;
}

int io_uri_parse(const char *s, struct io_uri *ret, struct err *e)
{
    struct io_uri u = {0};
    const char *colon, *rest, *path, *path_end, *q = NULL, *q_end;
    size_t slen;
    int r;

    *ret = (struct io_uri){0};
    if (!io_uri_has_scheme(s))
        return err_set(e, -EINVAL, "log URI " URI_FMT ": no scheme (want file:// or binary://)",
                       s ? s : "");
    slen = strlen(s);
    colon = strchr(s, ':');
    if ((size_t)(colon - s) == 4 && strncasecmp(s, "file", 4) == 0)
        u.kind = IO_URI_FILE;
    else if ((size_t)(colon - s) == 6 && strncasecmp(s, "binary", 6) == 0)
        u.kind = IO_URI_BINARY;
    else
        return err_set(e, -EINVAL,
                       "log URI " URI_FMT ": unknown scheme '%.*s' (want file or binary)", s,
                       (int)MIN((size_t)(colon - s), (size_t)32), s);
    rest = colon + 1;
    q_end = strchr(rest, '#'); /* a fragment means nothing here */
    if (!q_end)
        q_end = s + slen;
    if (strncmp(rest, "//", 2) == 0) {
        const char *host = rest + 2;
        size_t hlen = strcspn(host, "/?#");
        if (hlen > 0)
            return err_set(e, -EINVAL,
                           "log URI " URI_FMT ": host part '%.*s' (want %s:///absolute/path; a "
                           "relative path is not allowed)",
                           s, (int)MIN(hlen, (size_t)40), host,
                           u.kind == IO_URI_FILE ? "file" : "binary");
        path = host;
    } else {
        path = rest;
    }
    path_end = path + strcspn(path, "?#");
    if (*path_end == '?')
        q = path_end + 1;
    u.path = decode(path, (size_t)(path_end - path), false);
    if (!u.path)
        return err_set(e, -EINVAL, "log URI " URI_FMT ": bad %%-escape in the path", s);
    if (u.path[0] != '/') {
        io_uri_done(&u);
        return err_set(e, -EINVAL, "log URI " URI_FMT ": the path must be absolute", s);
    }
    if (strlen(u.path) >= PATH_MAX) {
        io_uri_done(&u);
        return err_set(e, -EINVAL, "log URI " URI_FMT ": the path is too long", s);
    }
    if (u.kind == IO_URI_BINARY) {
        r = parse_query(s, q ? q : q_end, q ? (size_t)(q_end - q) : 0, &u, e);
        if (r < 0) {
            io_uri_done(&u);
            return r;
        }
    }
    *ret = u;
    return 0;
}

const char *io_uri_of(const char *stdout_path, const char *stderr_path)
{
    if (io_uri_has_scheme(stdout_path))
        return stdout_path;
    if (io_uri_has_scheme(stderr_path))
        return stderr_path;
    return NULL;
}

int io_uri_check_stdio(const char *stdin_path, const char *stdout_path, const char *stderr_path,
                       bool terminal, struct err *e)
{
    struct io_uri u;
    struct stat st;
    const char *uri;
    int r;

    if (io_uri_has_scheme(stdin_path))
        return err_set(e, -EINVAL, "stdin " URI_FMT ": only stdout and stderr take a log URI",
                       stdin_path);
    uri = io_uri_of(stdout_path, terminal ? NULL : stderr_path);
    if (!uri)
        return 0;
    if (uri != stdout_path)
        return err_set(e, -EINVAL, "stderr log URI " URI_FMT " needs the same URI as stdout", uri);
    if (!terminal && stderr_path && *stderr_path && strcmp(stderr_path, stdout_path) != 0)
        return err_set(e, -EINVAL, "stdout log URI " URI_FMT " and stderr %.100s differ",
                       stdout_path, stderr_path);
    if ((r = io_uri_parse(uri, &u, e)) < 0)
        return r;
    if (u.kind == IO_URI_BINARY) {
        if (stat(u.path, &st) < 0)
            r = err_set(e, -EINVAL, "log URI " URI_FMT ": %s", uri, strerror(errno));
        else if (!S_ISREG(st.st_mode))
            r = err_set(e, -EINVAL, "log URI " URI_FMT ": not a regular file", uri);
        else if (access(u.path, X_OK) < 0)
            r = err_set(e, -EINVAL, "log URI " URI_FMT ": not executable: %s", uri,
                        strerror(errno));
    }
    io_uri_done(&u);
    return r;
}

/* ---- the logging binary ---- */

struct io_logger {
    char cid[128]; /* for logs */
    int pidfd; /* ours; the child source holds a duplicate */
    pid_t pid;
    struct loop_source *child_src, *ready_src, *ready_timer;
    int ready_fd;
    bool ready, exited;
    io_logger_fn changed;
    void *ud;
};

static void stop_waiting_ready(struct io_logger *l)
{
    l->ready = true;
    l->ready_src = loop_source_free(l->ready_src);
    l->ready_fd = fd_close(l->ready_fd);
    l->ready_timer = loop_source_free(l->ready_timer);
}

static void logger_ready(struct loop_source *s, int fd, uint32_t revents, void *ud)
{
    struct io_logger *l = ud;
    char b;

    (void)s;
    (void)revents;
    /* EOF, a byte or an error: containerd takes any of them as ready. */
    if (read(fd, &b, 1) < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    stop_waiting_ready(l);
    l->changed(l->ud);
}

static void logger_ready_timeout(struct loop_source *s, void *ud)
{
    struct io_logger *l = ud;

    (void)s;
    log_warn("%s: logging binary (pid %d) did not close fd 5 in %us; writing to it anyway",
             l->cid, (int)l->pid, (unsigned)(LOGGER_READY_NS / 1000000000));
    stop_waiting_ready(l);
    l->changed(l->ud);
}

static void logger_exited(struct loop_source *s, const siginfo_t *si, void *ud)
{
    struct io_logger *l = ud;

    (void)s;
    if (si->si_code != CLD_EXITED || si->si_status != 0)
        log_warn("%s: logging binary (pid %d) ended: %s %d", l->cid, (int)l->pid,
                 si->si_code == CLD_EXITED ? "status" : "signal", si->si_status);
    l->exited = true;
    stop_waiting_ready(l); /* its end of fd 5 is closed too */
    l->changed(l->ud);
}

static char *env_pair(const char *name, const char *value)
{
    size_t len = strlen(name) + strlen(value) + 2;
    char *s = xmalloc(len);

    snprintf(s, len, "%s=%s", name, value);
    return s;
}

int io_logger_start(struct loop *loop, const struct io_uri *u, const char *container_id,
                    const char *namespace_, io_logger_fn changed, void *ud, int ret_fds[2],
                    struct io_logger **ret, struct err *e)
{
    int out[2] = {-1, -1}, errp[2] = {-1, -1}, ready[2] = {-1, -1}, child_pidfd = -1;
    struct io_logger *l = xnew(struct io_logger, 1);
    size_t n_env = 0;
    char **envp;
    int r;

    l->pidfd = l->ready_fd = -1;
    l->changed = changed;
    l->ud = ud;
    snprintf(l->cid, sizeof(l->cid), "%s", container_id);
    for (char **p = u->envp; p && *p; p++)
        n_env++;
    envp = xnew(char *, n_env + 3);
    envp[0] = env_pair("CONTAINER_ID", container_id);
    envp[1] = env_pair("CONTAINER_NAMESPACE", namespace_ ? namespace_ : "");
    for (size_t i = 0; i < n_env; i++)
        envp[2 + i] = u->envp[i];
    if (pipe2(out, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0 || pipe2(ready, O_CLOEXEC) < 0) {
        r = err_set(e, -errno, "logging binary %.120s: pipe: %s", u->path, strerror(errno));
        goto out;
    }
    const struct spawn_fd fds[] = {{out[0], 3}, {errp[0], 4}, {ready[1], 5}};
    struct spawn_opts o = {
        .argv = (const char *const *)u->argv,
        .envp = (const char *const *)envp,
        .fds = fds,
        .n_fds = ELEMENTSOF(fds),
        .cwd = NULL, /* the shim's: the bundle, as under runc's shim */
    };
    if ((r = spawn_start(&o, &l->pidfd, &l->pid)) < 0) {
        err_set(e, r, "logging binary %.120s: %s", u->path, strerror(-r));
        goto out;
    }
    log_info("%s: logging binary %s started (pid %d)", container_id, u->path, (int)l->pid);
    /* Our copies of its ends go now, so its exit reads as EOF on fd 5 and
     * as EPIPE on our writes. */
    out[0] = fd_close(out[0]);
    errp[0] = fd_close(errp[0]);
    ready[1] = fd_close(ready[1]);
    l->ready_fd = TAKE_FD(ready[0]);
    if ((r = fd_set_nonblock(l->ready_fd, true)) < 0 || (r = fd_set_nonblock(out[1], true)) < 0 ||
        (r = fd_set_nonblock(errp[1], true)) < 0) {
        err_set(e, r, "logging binary %.120s: non-blocking pipes: %s", u->path, strerror(-r));
        goto out;
    }
    if ((child_pidfd = fcntl(l->pidfd, F_DUPFD_CLOEXEC, 3)) < 0) {
        r = err_set(e, -errno, "logging binary %.120s: dup: %s", u->path, strerror(errno));
        goto out;
    }
    if ((r = loop_add_child(loop, child_pidfd, logger_exited, l, &l->child_src)) < 0) {
        child_pidfd = fd_close(child_pidfd);
        err_set(e, r, "logging binary %.120s: watch: %s", u->path, strerror(-r));
        goto out;
    }
    if ((r = loop_add_io(loop, l->ready_fd, EPOLLIN, logger_ready, l, &l->ready_src)) < 0 ||
        (r = loop_add_timer(loop, loop_now() + LOGGER_READY_NS, logger_ready_timeout, l,
                            &l->ready_timer)) < 0) {
        err_set(e, r, "logging binary %.120s: watch: %s", u->path, strerror(-r));
        goto out;
    }
    ret_fds[0] = TAKE_FD(out[1]);
    ret_fds[1] = TAKE_FD(errp[1]);
    *ret = TAKE_PTR(l);
    r = 0;
out:
    free(envp[0]);
    free(envp[1]);
    free(envp);
    fd_close(out[0]);
    fd_close(out[1]);
    fd_close(errp[0]);
    fd_close(errp[1]);
    fd_close(ready[0]);
    fd_close(ready[1]);
    io_logger_free(l);
    return r;
}

bool io_logger_ready(const struct io_logger *l)
{
    return l->ready;
}

bool io_logger_exited(const struct io_logger *l)
{
    return l->exited;
}

struct io_logger *io_logger_free(struct io_logger *l)
{
    int status, r;

    if (!l)
        return NULL;
    l->child_src = loop_source_free(l->child_src);
    l->ready_src = loop_source_free(l->ready_src);
    l->ready_timer = loop_source_free(l->ready_timer);
    l->ready_fd = fd_close(l->ready_fd);
    if (l->pidfd >= 0 && !l->exited) {
        /* Its whole process group (spawn gave it a session of its own), so
         * what a script started goes too; the leader is not reaped yet, so
         * the group id is still its. */
        kill(-l->pid, SIGTERM);
        spawn_kill(l->pidfd, SIGTERM);
        r = spawn_wait(l->pidfd, LOGGER_TERM_MS, &status);
        if (r == -ETIMEDOUT) {
            log_warn("%s: logging binary (pid %d) ignored SIGTERM; killing it", l->cid,
                     (int)l->pid);
            kill(-l->pid, SIGKILL);
            spawn_kill(l->pidfd, SIGKILL);
            r = spawn_wait(l->pidfd, -1, &status);
        }
        if (r < 0)
            log_warn("%s: logging binary (pid %d): %s", l->cid, (int)l->pid, strerror(-r));
        else
            log_info("%s: logging binary (pid %d) stopped, status %d", l->cid, (int)l->pid,
                     status);
    }
    l->pidfd = fd_close(l->pidfd);
    free(l);
    return NULL;
}
