/* Small file-descriptor helpers over raw syscalls. Every function returns 0
 * or more on success and a negative errno on failure (never -1 + errno), and
 * retries EINTR itself. Nothing here owns or closes the fds it is given;
 * fd_close()/closep() live in lib/compiler.h. No state, safe from any thread.
 * fd_read_full()/fd_write_full() are for blocking fds: on a non-blocking fd
 * EAGAIN is returned as -EAGAIN and bytes already moved are not reported. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Sets or clears O_NONBLOCK / FD_CLOEXEC; no syscall when already as asked. */
int fd_set_nonblock(int fd, bool nonblock);
int fd_set_cloexec(int fd, bool cloexec);

/* Reads until `size` bytes or EOF; returns the count (short only at EOF). */
ssize_t fd_read_full(int fd, void *buf, size_t size);
/* Writes all `size` bytes; returns `size`. A zero-byte write is -EIO. */
ssize_t fd_write_full(int fd, const void *buf, size_t size);

/* poll()s one fd for `events` (POLLIN, POLLOUT, ...) for at most timeout_ms
 * (-1: no limit). Returns the revents (> 0), -ETIMEDOUT, -EBADF for a
 * closed fd (POLLNVAL) or another -errno. EINTR waits for the time left. */
int fd_wait(int fd, short events, int timeout_ms);
