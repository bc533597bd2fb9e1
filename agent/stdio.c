/* Process stdio: pipes or a pty, read on demand (see agent/stdio.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "agent/stdio.h"
#include "lib/compiler.h"
#include "lib/fd.h"
#include "lib/log.h"
#include "lib/loop.h"
#include "lib/xalloc.h"

#define TTY_DRAIN_NS (500ULL * 1000 * 1000)
#define READ_MAX (1U << 20)

struct stream {
    struct stdio *owner;
    int fd;
    /* The watch on fd; with a tty (out only), the master's one watch, for
     * stdin writes too: epoll takes an fd once. */
    struct loop_source *src;
    struct list_node reads;
    unsigned n_reads;
    bool want_read; /* reads are parked and fd had no data */
    bool eof;
    /* tty: the grace after the exit is over; data still in the pty is
     * read out, and a read that would block is EOF. */
    bool drained;
};

struct stdio {
    struct loop *loop;
    bool tty;
    int child[3];
    int stdin_fd; /* pipe write end, or the master (tty) */
    bool stdin_closed;
    struct loop_source *stdin_src; /* pipes only */
    struct stdio_write *pending_write;
    bool write_blocked; /* pending_write waits for room */
    bool close_after_write;
    struct stdio_write eot; /* tty: the ^D that closes stdin */
    struct stream out, err; /* tty: only out is used */
    bool exited;
    struct loop_source *drain_timer;
};

static void stream_init(struct stdio *owner, struct stream *st, int fd)
{
    st->owner = owner;
    st->fd = fd;
    list_init(&st->reads);
}

static void set_pipe_size(int fd, uint32_t size, const char *which)
{
    if (size && fcntl(fd, F_SETPIPE_SZ, (int)size) < 0)
        log_errno(LOG_WARN, -errno, "agent.container_pipe_size=%u: %s pipe keeps its size", size,
                  which);
}

int stdio_new(struct loop *loop, bool tty, unsigned rows, unsigned cols, uint32_t pipe_size,
              struct stdio **ret)
{
    struct stdio *s = xnew(struct stdio, 1);
    s->loop = loop;
    s->tty = tty;
    s->child[0] = s->child[1] = s->child[2] = -1;
    s->stdin_fd = -1;
    stream_init(s, &s->out, -1);
    stream_init(s, &s->err, -1);
    if (tty) {
        int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
        if (m < 0)
            goto fail;
        s->out.fd = m;
        if (grantpt(m) < 0 || unlockpt(m) < 0)
            goto fail;
        int slave = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (slave < 0)
            goto fail;
        s->child[0] = slave;
        s->child[1] = fcntl(slave, F_DUPFD_CLOEXEC, 3);
        s->child[2] = fcntl(slave, F_DUPFD_CLOEXEC, 3);
        if (s->child[1] < 0 || s->child[2] < 0)
            goto fail;
        s->stdin_fd = m;
        if (rows && cols)
            stdio_resize(s, rows, cols);
    } else {
        int in[2], out[2], err[2];
        if (pipe2(in, O_CLOEXEC) < 0)
            goto fail;
        s->child[0] = in[0];
        s->stdin_fd = in[1];
        if (pipe2(out, O_CLOEXEC) < 0)
            goto fail;
        s->child[1] = out[1];
        s->out.fd = out[0];
        if (pipe2(err, O_CLOEXEC) < 0)
            goto fail;
        s->child[2] = err[1];
        s->err.fd = err[0];
        set_pipe_size(s->out.fd, pipe_size, "stdout");
        set_pipe_size(s->err.fd, pipe_size, "stderr");
        fcntl(s->stdin_fd, F_SETFL, O_NONBLOCK);
        fcntl(s->out.fd, F_SETFL, O_NONBLOCK);
        fcntl(s->err.fd, F_SETFL, O_NONBLOCK);
    }
    *ret = s;
    return 0;
fail:;
    int r = -errno;
    stdio_free(s);
    return r;
}

static void stream_done(struct stream *st, bool close_fd)
{
    struct list_node *n;
    while ((n = list_pop(&st->reads))) {
        struct stdio_read *req = list_entry(n, struct stdio_read, node);
        req->done(req, 0, NULL, 0);
    }
    st->n_reads = 0;
    st->src = loop_source_free(st->src);
    if (close_fd)
        st->fd = fd_close(st->fd);
}

struct stdio *stdio_free(struct stdio *s)
{
    if (!s)
        return NULL;
    stdio_child_done(s);
    if (s->pending_write) {
        struct stdio_write *w = TAKE_PTR(s->pending_write);
        w->done(w, -EPIPE, w->written);
    }
    s->stdin_src = loop_source_free(s->stdin_src);
    s->drain_timer = loop_source_free(s->drain_timer);
    stream_done(&s->out, true);
    stream_done(&s->err, true);
    if (!s->tty)
        fd_close(s->stdin_fd);
    free(s);
    return NULL;
}

void stdio_child_fds(const struct stdio *s, int ret_fds[3])
{
    memcpy(ret_fds, s->child, sizeof(s->child));
}

void stdio_child_done(struct stdio *s)
{
    for (int i = 0; i < 3; i++)
        s->child[i] = fd_close(s->child[i]);
}

bool stdio_is_tty(const struct stdio *s)
{
    return s->tty;
}

/* Answers parked reads while data (or EOF) is there; returns true when
 * reads are still parked and the fd must be watched. */
static bool stream_pump(struct stream *st)
{
    while (!list_empty(&st->reads)) {
        struct stdio_read *req = list_entry(st->reads.next, struct stdio_read, node);
        size_t max = MIN(MAX(req->max, (size_t)1), (size_t)READ_MAX);
        _cleanup_free_ uint8_t *buf = NULL;
        ssize_t n = 0;
        if (!st->eof) {
            buf = xmalloc(max);
            do
                n = read(st->fd, buf, max);
            while (n < 0 && errno == EINTR);
            if (n < 0 && errno == EAGAIN && !st->drained)
                return true;
            /* EIO: the pty slave is gone, which is EOF for a tty (as
             * is EAGAIN once drained). */
            if (n <= 0) {
                st->eof = true;
                n = 0;
            }
        }
        list_unlink(&req->node);
        st->n_reads--;
        req->done(req, 0, buf, (size_t)n);
    }
    return false;
}

static void stream_update(struct stream *st);
static void write_pump(struct stdio *s);

/* Makes *src watch fd for exactly `events`. None frees the watch rather
 * than keeping an empty one: epoll reports EPOLLHUP regardless, and a pty
 * master whose slave is closed would wake the loop for nothing. */
static int watch_set(struct stdio *s, struct loop_source **src, int fd, uint32_t events,
                     loop_io_fn fn, void *userdata)
{
    if (!events) {
        *src = loop_source_free(*src);
        return 0;
    }
    if (*src)
        return loop_io_set_events(*src, events);
    return loop_add_io(s->loop, fd, events, fn, userdata, src);
}

static void master_ready(struct loop_source *src, int fd, uint32_t revents, void *userdata)
{
    struct stdio *s = userdata;
    bool hup = revents & (EPOLLHUP | EPOLLERR);
    (void)src, (void)fd;
    /* Each side retries its syscall, which tells it what the event
     * meant; neither callback can free s (see process.c, arm_release). */
    if (s->write_blocked && (hup || (revents & EPOLLOUT)))
        write_pump(s);
    if (s->out.want_read && (hup || (revents & EPOLLIN)))
        stream_update(&s->out);
}

/* With a tty, one watch on the master asks for what the parked reads and
 * the blocked write need together. */
static int watch_master(struct stdio *s)
{
    uint32_t events = (s->out.want_read ? EPOLLIN : 0) | (s->write_blocked ? EPOLLOUT : 0);
    return watch_set(s, &s->out.src, s->out.fd, events, master_ready, s);
}

static void stream_readable(struct loop_source *src, int fd, uint32_t revents, void *userdata)
{
    (void)src, (void)fd, (void)revents;
    stream_update(userdata);
}

static int watch_stream(struct stream *st)
{
    if (st->owner->tty)
        return watch_master(st->owner);
    return watch_set(st->owner, &st->src, st->fd, st->want_read ? EPOLLIN : 0, stream_readable,
                     st);
}

static void stream_update(struct stream *st)
{
    st->want_read = stream_pump(st);
    if (watch_stream(st) < 0 && st->want_read) {
        /* Nothing will say when data comes: end the stream rather than
         * leave the reads parked for ever. */
        st->eof = true;
        st->want_read = stream_pump(st);
        watch_stream(st);
    }
}

static void drain_expired(struct loop_source *src, void *userdata)
{
    struct stdio *s = userdata;
    (void)src;
    /* Not eof: a reader slower than the grace must still get what the
     * process wrote before it exited. */
    s->out.drained = true;
    stream_update(&s->out);
}

int stdio_read(struct stdio *s, bool err_stream, struct stdio_read *req)
{
    struct stream *st = (s->tty || !err_stream) ? &s->out : &s->err;
    list_init(&req->node);
    if (st->n_reads >= STDIO_MAX_PENDING_READS)
        return -EBUSY;
    list_append(&st->reads, &req->node);
    st->n_reads++;
    stream_update(st);
    return 0;
}

void stdio_read_cancel(struct stdio_read *req)
{
    /* The owning stream only counts parked reads; a stale count just makes
     * the bound a little tighter until the stream is freed. */
    list_unlink(&req->node);
}

static void stdin_writable(struct loop_source *src, int fd, uint32_t revents, void *userdata)
{
    (void)src, (void)fd, (void)revents;
    write_pump(userdata);
}

static int watch_stdin(struct stdio *s)
{
    if (s->tty)
        return watch_master(s);
    return watch_set(s, &s->stdin_src, s->stdin_fd, s->write_blocked ? EPOLLOUT : 0,
                     stdin_writable, s);
}

static void write_finish(struct stdio *s, int r)
{
    struct stdio_write *w = TAKE_PTR(s->pending_write);
    s->write_blocked = false;
    watch_stdin(s); /* only drops EPOLLOUT: cannot fail */
    if (w)
        w->done(w, r, w->written);
    if (s->close_after_write)
        stdio_close_stdin(s);
}

static void write_pump(struct stdio *s)
{
    struct stdio_write *w = s->pending_write;
    while (w && w->written < w->size) {
        ssize_t n = write(s->stdin_fd, w->data + w->written, w->size - w->written);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN) {
            s->write_blocked = true;
            int r = watch_stdin(s);
            if (r < 0)
                write_finish(s, r); /* nothing would say when room comes */
            return;
        }
        if (n <= 0) {
            write_finish(s, -EPIPE);
            return;
        }
        w->written += (size_t)n;
    }
    write_finish(s, 0);
}

int stdio_write(struct stdio *s, struct stdio_write *req)
{
    if (s->stdin_closed)
        return -EPIPE;
    if (s->pending_write)
        return -EBUSY;
    req->written = 0;
    s->pending_write = req;
    write_pump(s);
    return 0;
}

void stdio_write_cancel(struct stdio *s, struct stdio_write *req)
{
    if (s->pending_write == req) {
        s->pending_write = NULL;
        s->write_blocked = false;
        watch_stdin(s);
    }
}

static void eot_done(struct stdio_write *w, int r, size_t written)
{
    /* Nobody waits for it; a pty whose slave is gone needs no EOF. */
    (void)w, (void)r, (void)written;
}

int stdio_close_stdin(struct stdio *s)
{
    if (s->pending_write) {
        s->close_after_write = true;
        return 0;
    }
    if (s->stdin_closed)
        return 0;
    s->stdin_closed = true;
    if (s->tty) {
        /* A pty has no half-close: send the EOF character (^D), as
         * Kata does. It waits for room like any write: the input queue
         * may be full, and a lost ^D leaves the process reading for
         * ever. */
        static const uint8_t eot = 4;
        s->eot = (struct stdio_write){.data = &eot, .size = 1, .done = eot_done};
        s->pending_write = &s->eot;
        write_pump(s);
    } else {
        s->stdin_fd = fd_close(s->stdin_fd);
    }
    return 0;
}

int stdio_resize(struct stdio *s, unsigned rows, unsigned cols)
{
    if (!s->tty)
        return -ENOTTY;
    struct winsize ws = {.ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols};
    return ioctl(s->out.fd, TIOCSWINSZ, &ws) < 0 ? -errno : 0;
}

int stdio_replace_pty(struct stdio *s, int master)
{
    if (!s->tty)
        return -ENOTTY;
    if (s->exited || s->out.eof || s->stdin_closed)
        return -EBUSY;
    struct winsize ws;
    if (ioctl(s->out.fd, TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col &&
        ioctl(master, TIOCSWINSZ, &ws) < 0)
        return -errno;
    int r = fd_set_cloexec(master, true);
    if (r < 0 || (r = fd_set_nonblock(master, true)) < 0)
        return r;
    /* The old master may be watched for a parked read or write: the
     * pumps rewatch the new one. The old pty's slave is closed by now, so
     * nothing in it is lost. */
    s->out.src = loop_source_free(s->out.src);
    fd_close(s->out.fd);
    s->out.fd = s->stdin_fd = master;
    if (s->out.want_read)
        stream_update(&s->out);
    if (s->write_blocked)
        write_pump(s);
    return 0;
}

void stdio_process_exited(struct stdio *s)
{
    s->exited = true;
    if (s->tty && !s->drain_timer)
        loop_add_timer(s->loop, loop_now() + TTY_DRAIN_NS, drain_expired, s, &s->drain_timer);
}
