/* Stdio bridging; see io.h. */
#include "shim/io.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/compiler.h"
#include "lib/err.h"
#include "lib/fd.h"
#include "lib/log.h"
#include "lib/loop.h"
#include "lib/xalloc.h"
#include "shim/agent_client.h"
#include "shim/io_uri.h"

#define STDIN_CHUNK (32 * 1024)

/* A byte ring of IO_RING_SIZE (a power of two); head and tail only grow. */
struct ring {
    uint8_t *buf;
    uint64_t head, tail; /* read at tail, write at head */
};

static size_t ring_used(const struct ring *r)
{
    return (size_t)(r->head - r->tail);
}

static size_t ring_free(const struct ring *r)
{
    return IO_RING_SIZE - ring_used(r);
}

static void ring_push(struct ring *r, const uint8_t *data, size_t len)
{
    if (len > ring_free(r))
        abort(); /* callers ask the agent for at most what fits */
    while (len > 0) {
        size_t off = (size_t)(r->head % IO_RING_SIZE);
        size_t n = MIN(len, IO_RING_SIZE - off);
        memcpy(r->buf + off, data, n);
        r->head += n;
        data += n;
        len -= n;
    }
}

/* The contiguous readable part. */
static size_t ring_peek(const struct ring *r, const uint8_t **ret)
{
    size_t off = (size_t)(r->tail % IO_RING_SIZE);

    *ret = r->buf + off;
    return MIN(ring_used(r), IO_RING_SIZE - off);
}

struct out_stream {
    struct io *io;
    bool is_stderr;
    bool active;          /* this stream exists (stderr not with a terminal) */
    int fd;               /* -1: none, or the reader went away: discard */
    struct loop_source *src; /* NULL for a regular file (always writable) */
    struct ring ring;
    struct agent_op *op;  /* the one outstanding read */
    bool eof;
};

struct io {
    struct loop *loop;
    struct agent_client *ac;
    char cid[256], exec_id[256];
    struct out_stream out[2];
    /* stdin */
    int in_fd;
    struct loop_source *in_src;
    uint8_t *in_buf;
    size_t in_len, in_off; /* bytes held, bytes already accepted by the agent */
    struct agent_op *in_op;
    bool in_eof, close_wanted, close_sent;
    uint64_t progress;
    struct io_logger *logger; /* binary:// */
    bool logger_eof_sent;
    bool started, drained_reported;
    io_drained_fn drained;
    void *ud;
};

static void out_pump(struct out_stream *s);
static void in_pump(struct io *io);

static bool streams_done(const struct io *io)
{
    for (int i = 0; i < 2; i++) {
        const struct out_stream *s = &io->out[i];
        if (s->active && (!s->eof || (s->fd >= 0 && ring_used(&s->ring) > 0)))
            return false;
    }
    return true;
}

/* A logging binary must also have taken everything: it exits after EOF. */
bool io_drained(const struct io *io)
{
    return streams_done(io) && (!io->logger || io_logger_exited(io->logger));
}

uint64_t io_progress(const struct io *io)
{
    return io->progress;
}

static void out_close_fd(struct out_stream *s);

/* Last statement of every path that may have finished the output. */
static void maybe_report(struct io *io)
{
    if (io->logger && !io->logger_eof_sent && io->started && streams_done(io)) {
        /* All written: EOF on its pipes lets the logging binary finish. */
        io->logger_eof_sent = true;
        for (int i = 0; i < 2; i++)
            out_close_fd(&io->out[i]);
    }
    if (!io->drained_reported && io->started && io_drained(io)) {
        io->drained_reported = true;
        io->drained(io->ud);
    }
}

static void out_close_fd(struct out_stream *s)
{
    s->src = loop_source_free(s->src);
    s->fd = fd_close(s->fd);
}

/* Writes what the ring holds; waits for EPOLLOUT when the FIFO is full. */
static void out_flush(struct out_stream *s)
{
    while (ring_used(&s->ring) > 0) {
        const uint8_t *p;
        size_t n = ring_peek(&s->ring, &p);
        if (s->fd < 0) {
            s->ring.tail += n; /* nobody reads: discard */
            continue;
        }
        ssize_t w = write(s->fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && errno == EAGAIN && s->src) {
            loop_io_set_events(s->src, EPOLLOUT);
            return;
        }
        if (w <= 0) {
            log_debug("%s: %s reader gone: %s", s->io->cid, s->is_stderr ? "stderr" : "stdout",
                      strerror(errno));
            out_close_fd(s);
            continue;
        }
        s->ring.tail += (size_t)w;
        s->io->progress += (size_t)w;
    }
    if (s->src)
        loop_io_set_events(s->src, 0);
}

static void out_writable(struct loop_source *src, int fd, uint32_t revents, void *ud)
{
    struct out_stream *s = ud;
    struct io *io = s->io;

    (void)src;
    (void)fd;
    if (revents & (EPOLLERR | EPOLLHUP))
        out_close_fd(s);
    out_flush(s);
    out_pump(s);
    maybe_report(io);
}

static void out_read_done(const struct agent_reply *r, void *ud)
{
    struct out_stream *s = ud;
    struct io *io = s->io;

    s->op = NULL;
    if (r->code < 0 || r->len == 0) {
        /* The agent keeps an exited process until its output was read to
         * EOF, so NOT_FOUND means it gave up on us: say so, output is lost. */
        if (r->code == -ENOENT)
            log_info("%s: read %s: %s; the rest of its output is lost", io->cid,
                     s->is_stderr ? "stderr" : "stdout", r->msg);
        else if (r->code < 0 && r->code != -ECONNRESET)
            log_debug("%s: read %s: %s", io->cid, s->is_stderr ? "stderr" : "stdout", r->msg);
        s->eof = true;
    } else {
        ring_push(&s->ring, r->data, r->len);
        io->progress += r->len;
        out_flush(s);
        out_pump(s);
    }
    maybe_report(io);
}

/* One agent read at a time, and only when a whole chunk fits. */
static void out_pump(struct out_stream *s)
{
    struct io *io = s->io;
    int r;

    if (!s->active || s->eof || s->op || !io->ac || ring_free(&s->ring) < AGENT_READ_CHUNK)
        return;
    if (io->logger && !io_logger_ready(io->logger))
        return; /* the process waits in the guest meanwhile; nothing is lost */
    r = agent_read_stream(io->ac, io->cid, io->exec_id, s->is_stderr, out_read_done, s, &s->op);
    if (r < 0) {
        log_debug("%s: cannot read %s: %s", io->cid, s->is_stderr ? "stderr" : "stdout",
                  strerror(-r));
        s->eof = true;
    }
}

/* ---- stdin ---- */

static void in_stop_reading(struct io *io)
{
    io->in_src = loop_source_free(io->in_src);
    io->in_fd = fd_close(io->in_fd);
}

static void close_done(const struct agent_reply *r, void *ud)
{
    struct io *io = ud;

    io->in_op = NULL;
    if (r->code < 0)
        log_debug("%s: CloseStdin: %s", io->cid, r->msg);
}

static void write_done(const struct agent_reply *r, void *ud)
{
    struct io *io = ud;

    io->in_op = NULL;
    if (r->code < 0) {
        log_debug("%s: WriteStdin: %s", io->cid, r->msg);
        io->in_len = io->in_off = 0;
        in_stop_reading(io);
        io->in_eof = true;
        io->close_sent = true; /* the process is gone or the agent refused */
        return;
    }
    io->in_off += r->written;
    if (io->in_off >= io->in_len)
        io->in_len = io->in_off = 0;
    in_pump(io);
}

static void in_readable(struct loop_source *src, int fd, uint32_t revents, void *ud)
{
    struct io *io = ud;
    ssize_t n;

    (void)src;
    (void)revents;
    if (io->in_op || io->in_len > 0)
        return; /* paused: a write is pending */
    n = read(fd, io->in_buf, STDIN_CHUNK);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
        if (io->close_wanted)
            io->in_eof = true;
    } else if (n <= 0) {
        io->in_eof = true;
    } else {
        io->in_len = (size_t)n;
        io->in_off = 0;
    }
    in_pump(io);
}

/* Sends held data, or CloseStdin after EOF; pauses FIFO reads meanwhile. */
static void in_pump(struct io *io)
{
    int r;

    if (io->in_op || !io->ac)
        return;
    if (io->in_len > io->in_off) {
        if (io->in_src)
            loop_io_set_events(io->in_src, 0);
        r = agent_write_stdin(io->ac, io->cid, io->exec_id, io->in_buf + io->in_off,
                              io->in_len - io->in_off, write_done, io, &io->in_op);
        if (r < 0) {
            io->in_len = io->in_off = 0;
            io->in_eof = true;
        } else {
            return;
        }
    }
    if (io->in_eof && !io->close_sent) {
        in_stop_reading(io);
        io->close_sent = true;
        r = agent_close_stdin(io->ac, io->cid, io->exec_id, close_done, io, &io->in_op);
        if (r < 0)
            log_debug("%s: CloseStdin: %s", io->cid, strerror(-r));
        return;
    }
    if (io->in_src)
        loop_io_set_events(io->in_src, EPOLLIN);
}

void io_close_stdin(struct io *io)
{
    if (!io || io->close_wanted)
        return;
    io->close_wanted = true;
    if (io->in_fd < 0)
        io->in_eof = true;
    else if (!io->in_op && io->in_len == 0)
        in_readable(io->in_src, io->in_fd, EPOLLIN, io); /* take what is there, then close */
    if (io->started)
        in_pump(io);
}

/* ---- life cycle ---- */

static int open_fifo(const char *path, int flags, struct err *e)
{
    int fd = open(path, flags | O_NONBLOCK | O_CLOEXEC);

    if (fd < 0)
        return err_set(e, -errno, "open %s: %s", path, strerror(errno));
    return fd;
}

static bool has(const char *s)
{
    return s && *s;
}

/* mkdir -p of the directory that holds file. */
static int make_parent_dirs(const char *file)
{
    char buf[PATH_MAX];
    char *slash;

    snprintf(buf, sizeof(buf), "%s", file);
    slash = strrchr(buf, '/');
    if (!slash || slash == buf)
        return 0;
    *slash = '\0';
    for (char *p = buf + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char c = *p;
        *p = '\0';
        if (mkdir(buf, 0755) < 0 && errno != EEXIST)
            return -errno;
        if (c == '\0')
            return 0;
        *p = c;
    }
}

/* Takes fd as s's output: a FIFO, pipe or socket is watched for room; a
 * regular file or a device (epoll refuses both) is written at once. */
static int attach_output(struct io *io, struct out_stream *s, int fd, const char *name,
                         struct err *e)
{
    struct stat st;
    int r;

    s->fd = fd;
    if (fstat(fd, &st) < 0)
        return err_set(e, -errno, "stat %s: %s", name, strerror(errno));
    if (!S_ISFIFO(st.st_mode) && !S_ISSOCK(st.st_mode))
        return 0;
    if ((r = loop_add_io(io->loop, fd, 0, out_writable, s, &s->src)) < 0)
        return err_set(e, r, "watch %s: %s", name, strerror(-r));
    return 0;
}

/* A path that names a regular file or a device rather than a FIFO (runc's
 * shim accepts those too) is appended to. */
static int open_output(struct io *io, struct out_stream *s, const char *path, struct err *e)
{
    struct stat st;
    int r;

    if (stat(path, &st) == 0 && (S_ISREG(st.st_mode) || S_ISCHR(st.st_mode))) {
        r = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
        if (r < 0)
            return err_set(e, -errno, "open %s: %s", path, strerror(errno));
        return attach_output(io, s, r, path, e);
    }
    /* Read-write: never blocks and never fails for want of a reader;
     * the reader sees EOF when we close. */
    if ((r = open_fifo(path, O_RDWR, e)) < 0)
        return r;
    return attach_output(io, s, r, path, e);
}

static void logger_changed(void *ud)
{
    struct io *io = ud;

    for (int i = 0; i < 2; i++)
        out_pump(&io->out[i]);
    maybe_report(io);
}

/* Both streams to one log URI, as containerd's runc shim does. */
static int open_log_uri(struct io *io, const struct io_params *p, const char *uri, struct err *e)
{
    struct io_uri u;
    int fds[2] = {-1, -1};
    int r;

    if ((r = io_uri_parse(uri, &u, e)) < 0)
        return r;
    if (u.kind == IO_URI_FILE) {
        if ((r = make_parent_dirs(u.path)) < 0) {
            err_set(e, r, "log URI %.120s: create its directory: %s", uri, strerror(-r));
            goto out;
        }
        /* Non-blocking: a FIFO there without a reader fails rather than
         * hanging the loop. */
        fds[0] = open(u.path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NONBLOCK, 0644);
        if (fds[0] < 0 || (fds[1] = fcntl(fds[0], F_DUPFD_CLOEXEC, 3)) < 0) {
            r = err_set(e, -errno, "log URI %.120s: %s", uri, strerror(errno));
            goto out;
        }
    } else if ((r = io_logger_start(io->loop, &u, p->logger_id ? p->logger_id : io->cid,
                                    p->namespace_, logger_changed, io, fds, &io->logger, e)) < 0) {
        goto out;
    }
    for (int i = 0; i < 2; i++) {
        struct out_stream *s = &io->out[i];
        if (!s->active)
            continue; /* (the logger's stderr sees EOF at once) */
        if ((r = attach_output(io, s, TAKE_FD(fds[i]), uri, e)) < 0)
            goto out;
    }
    r = 0;
out:
    fd_close(fds[0]);
    fd_close(fds[1]);
    io_uri_done(&u);
    return r;
}

int io_new(struct loop *loop, const struct io_params *p, io_drained_fn drained, void *ud,
           struct io **ret_io, struct err *e)
{
    struct io *io = xnew(struct io, 1);
    const char *paths[2] = {p->stdout_path, p->stderr_path};
    const char *uri = io_uri_of(p->stdout_path, p->terminal ? NULL : p->stderr_path);
    int r;

    io->loop = loop;
    io->drained = drained;
    io->ud = ud;
    io->in_fd = -1;
    snprintf(io->cid, sizeof(io->cid), "%s", p->container_id);
    snprintf(io->exec_id, sizeof(io->exec_id), "%s", p->exec_id ? p->exec_id : "");
    for (int i = 0; i < 2; i++) {
        struct out_stream *s = &io->out[i];
        s->io = io;
        s->is_stderr = i == 1;
        s->fd = -1;
        s->active = i == 0 || !p->terminal;
        if (!s->active)
            continue;
        s->ring.buf = xmalloc(IO_RING_SIZE);
        if (!uri && has(paths[i]) && (r = open_output(io, s, paths[i], e)) < 0)
            goto fail;
    }
    if (uri && (r = open_log_uri(io, p, uri, e)) < 0)
        goto fail;
    if (has(p->stdin_path)) {
        /* Read-only and non-blocking: epoll reports nothing until a writer
         * has come, so an early open sees no false EOF. */
        if ((r = open_fifo(p->stdin_path, O_RDONLY, e)) < 0)
            goto fail;
        io->in_fd = r;
        io->in_buf = xmalloc(STDIN_CHUNK);
        if ((r = loop_add_io(loop, io->in_fd, 0, in_readable, io, &io->in_src)) < 0) {
            err_set(e, r, "watch %s: %s", p->stdin_path, strerror(-r));
            goto fail;
        }
    } else {
        io->in_eof = true; /* no stdin: the process sees EOF at once */
    }
    *ret_io = io;
    return 0;
fail:
    io_free(io);
    return r;
}

void io_start(struct io *io, struct agent_client *ac)
{
    io->ac = ac;
    io->started = true;
    for (int i = 0; i < 2; i++)
        out_pump(&io->out[i]);
    in_pump(io);
    maybe_report(io);
}

struct io *io_free(struct io *io)
{
    if (!io)
        return NULL;
    for (int i = 0; i < 2; i++) {
        struct out_stream *s = &io->out[i];
        agent_op_cancel(s->op);
        out_close_fd(s);
        free(s->ring.buf);
    }
    /* After the pipes closed, so a logger sees EOF before any signal. */
    io->logger = io_logger_free(io->logger);
    agent_op_cancel(io->in_op);
    in_stop_reading(io);
    free(io->in_buf);
    free(io);
    return NULL;
}
