/* Starting helper processes (QEMU, Cloud Hypervisor, virtiofsd, a mock
 * agent) and tracking them by pidfd, never by a pid that may be reused.
 *
 * The child gets exactly the fds in the map (every other fd is closed
 * before exec; unmapped 0/1/2 become /dev/null), its own session, default
 * signal dispositions and an empty signal mask, and PR_SET_PDEATHSIG so it
 * dies with us. Because the death signal follows the *thread* that forked,
 * forks happen on one spawner thread that lives as long as the process, so
 * a worker thread retiring cannot kill a VMM. spawn_start() blocks until
 * exec succeeded or failed (exec errors come back as the child's errno).
 * All functions return 0 or more on success and a negative errno; fds are
 * close-on-exec and owned by the caller. Safe from any thread. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct spawn_fd {
    int parent_fd; /* an fd of ours (may be close-on-exec) */
    int child_fd;  /* the number it gets in the child */
};

struct spawn_opts {
    const char *const *argv;  /* argv[0] is the path executed (no PATH lookup) */
    const char *const *envp;  /* NULL: our environment */
    const struct spawn_fd *fds;
    size_t n_fds;
    const char *cwd;          /* NULL: unchanged */
};

/* Starts the child; *ret_pidfd is its pidfd, *ret_pid its pid (for logs and
 * pid files only). */
int spawn_start(const struct spawn_opts *o, int *ret_pidfd, pid_t *ret_pid);

/* Waits up to timeout_ms (-1: no limit) for the child behind pidfd to exit
 * and reaps it; *ret_status (may be NULL) gets a wait(2)-style status.
 * -ETIMEDOUT when it still runs. Only for our own children. */
int spawn_wait(int pidfd, int timeout_ms, int *ret_status);
/* Sends sig through the pidfd. */
int spawn_kill(int pidfd, int sig);
/* pidfd_open(2); -ENOSYS on kernels before 5.3. */
int spawn_pidfd_open(pid_t pid);
/* SIGTERM, wait up to timeout_ms, then SIGKILL and reap. Returns the status. */
int spawn_terminate(int pidfd, int timeout_ms, int *ret_status);
