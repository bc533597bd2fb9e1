/* A process's stdio as the agent sees it: the write end of stdin and the
 * read ends of stdout/stderr (pipes), or one pty master. Reads are on
 * demand: a ReadStdout long poll parks a struct stdio_read until the fd is
 * readable and then reads at most req->max bytes, so the kernel pipe (or
 * pty) buffer is the only, bounded, buffer. Zero bytes means EOF. With a
 * tty, stdout and stderr are the same stream (the master). WriteStdin
 * writes everything it was given, parking on EPOLLOUT when the pipe (or
 * pty) is full; at most one write per stdin is in flight (-EBUSY beyond).
 * A pty master has one loop watch, for parked reads and a parked write.
 * Completion callbacks run exactly once: later from the loop, or at once
 * when the answer is known. Loop thread only. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/list.h"

struct loop;
struct stdio;

struct stdio_read {
    struct list_node node;
    size_t max;
    void (*done)(struct stdio_read *req, int r, const void *data, size_t n);
};

struct stdio_write {
    const uint8_t *data; /* borrowed until done */
    size_t size, written;
    void (*done)(struct stdio_write *req, int r, size_t written);
};

#define STDIO_MAX_PENDING_READS 4

/* Creates pipes or a pty (rows/cols: initial size, 0 = leave). A non-zero
 * pipe_size is given to the stdout and stderr pipes with F_SETPIPE_SZ
 * (agent.container_pipe_size; the kernel rounds it up to a power of two
 * pages), as the Kata agent sizes them; stdin keeps the default. A size
 * the kernel refuses is logged and the default kept: output still flows. */
int stdio_new(struct loop *loop, bool tty, unsigned rows, unsigned cols, uint32_t pipe_size,
              struct stdio **ret);
struct stdio *stdio_free(struct stdio *s);
/* The fds the child gets as 0, 1, 2 (valid until stdio_child_done()). */
void stdio_child_fds(const struct stdio *s, int ret_fds[3]);
/* Closes the agent's copies of the child's ends, once the child has them. */
void stdio_child_done(struct stdio *s);
bool stdio_is_tty(const struct stdio *s);

/* Parks or answers req. -EBUSY when too many reads are parked. */
int stdio_read(struct stdio *s, bool err_stream, struct stdio_read *req);
void stdio_read_cancel(struct stdio_read *req);
/* -EPIPE once stdin was closed, -EBUSY while another write is pending. */
int stdio_write(struct stdio *s, struct stdio_write *req);
void stdio_write_cancel(struct stdio *s, struct stdio_write *req);
/* After the pending write, if any. A pipe's write end is closed; a pty
 * gets ^D, which waits for room in its input queue like a write. */
int stdio_close_stdin(struct stdio *s);
int stdio_resize(struct stdio *s, unsigned rows, unsigned cols);
/* Takes master, a pty from the container's own devpts instance (which the
 * init helper opened there so that ttyname() works inside), in place of the
 * one stdio_new() made: the window size moves over and watches follow.
 * -ENOTTY without a tty, -EBUSY once the stream ended; on error the caller
 * still owns master. */
int stdio_replace_pty(struct stdio *s, int master);
/* The process has exited: with a tty, parked reads that see no data for
 * 500 ms get EOF (a background process may hold the slave open). */
void stdio_process_exited(struct stdio *s);
