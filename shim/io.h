/* One process's stdio: containerd's FIFOs bridged to the agent's stream
 * RPCs (ReadStdout/ReadStderr, WriteStdin, CloseStdin), on the shim's loop.
 * Output may instead go to a log URI (shim/io_uri.h): a file appended to,
 * or a logging binary's pipes; such a binary is started by io_new, pumped
 * to once it is ready, and drained() waits for it to exit after EOF. A
 * stdout/stderr path that is a regular file is appended to as well.
 *
 * Output: per stream a bounded ring (IO_RING_SIZE); at most one agent read
 * outstanding, issued only when a whole chunk fits; the ring drains into
 * the FIFO as fast as the reader takes it (EPOLLOUT when it is full). A
 * stream without a FIFO is read and discarded so the process never blocks.
 * Input: FIFO reads pause while a WriteStdin is pending (a short write is
 * resent); FIFO EOF or io_close_stdin() -> CloseStdin once the data is
 * through. With a terminal there is no stderr stream. Nothing is truncated
 * or reordered while the reader reads. drained() runs (from the loop) when
 * every output stream reached end-of-stream and was written out.
 * Errors are negative errno with text in struct err. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

struct loop;
struct err;
struct agent_client;
struct io;

#define IO_RING_SIZE (256 * 1024)

typedef void (*io_drained_fn)(void *ud);

struct io_params {
    const char *container_id;
    /* A logging binary's CONTAINER_ID and CONTAINER_NAMESPACE; for an exec
     * runc's and Kata's shims give containerd's exec id. NULL: container_id. */
    const char *logger_id, *namespace_;
    const char *exec_id; /* "" for the init process */
    const char *stdin_path, *stdout_path, *stderr_path; /* "" or NULL: none */
    bool terminal;
};

/* Opens the FIFOs (no pumping yet). */
int io_new(struct loop *loop, const struct io_params *p, io_drained_fn drained, void *ud,
           struct io **ret_io, struct err *e);
/* Starts pumping through ac (borrowed; it must outlive io or io_free
 * must run first). */
void io_start(struct io *io, struct agent_client *ac);
/* CloseIO: forward what stdin holds, then CloseStdin. */
void io_close_stdin(struct io *io);
bool io_drained(const struct io *io);
/* Grows whenever output moves (drain watchdogs compare it). */
uint64_t io_progress(const struct io *io);
/* Cancels agent calls, closes the FIFOs. NULL-safe, returns NULL. */
struct io *io_free(struct io *io);
