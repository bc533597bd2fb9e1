/* Child processes for the interop tests: a peer binary (the Go ttrpc peer,
 * containerd, ctr) started with an explicit stdout, tracked by a pidfd, and
 * always stopped and reaped, also when a test fails half-way (declare the
 * struct child with _cleanup_child_). Header-only because only the interop
 * test programs use it. Functions return 0 or a negative errno.
 *
 * The child gets PR_SET_PDEATHSIG(SIGKILL), so a test binary that crashes
 * does not leave peers behind. Fork only from the thread that will outlive
 * the child: the death signal follows the forking thread. */
#pragma once

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/compiler.h"

struct child {
    pid_t pid; /* 0: none */
    int pidfd; /* -1: none */
    bool reaped;
    int status; /* waitpid status once reaped */
};

#define CHILD_INIT                                                                                 \
    {                                                                                              \
        0, -1, false, 0                                                                            \
    }

/* Starts argv[0] (a path) with stdin from /dev/null, stdout on out_fd and
 * stderr on err_fd (-1: inherit ours). */
static inline int child_spawn(char *const argv[], int out_fd, int err_fd, struct child *ret)
{
    pid_t parent = getpid();
    int pidfd;
    pid_t pid;

    /* Nothing buffered may be written twice by the child's copy of stdio. */
    fflush(stdout);
    fflush(stderr);
    pid = fork();
    if (pid < 0)
        return -errno;
    if (pid == 0) {
        int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
            _exit(127);
        if (null_fd < 0 || dup2(null_fd, 0) < 0)
            _exit(127);
        if (out_fd >= 0 && dup2(out_fd, 1) < 0)
            _exit(127);
        if (err_fd >= 0 && dup2(err_fd, 2) < 0)
            _exit(127);
        /* The test binary ignores SIGPIPE; a peer must not inherit that. */
        signal(SIGPIPE, SIG_DFL);
        execv(argv[0], argv);
        _exit(127);
    }
    pidfd = pidfd_open(pid, 0);
    if (pidfd < 0) {
        int r = -errno;
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        return r;
    }
    ret->pid = pid;
    ret->pidfd = pidfd;
    ret->reaped = false;
    ret->status = 0;
    return 0;
}

/* Waits up to timeout_ms (-1: no limit) for the child to exit and reaps it;
 * -ETIMEDOUT leaves it running. */
static inline int child_wait(struct child *c, int timeout_ms)
{
    struct pollfd p = {.fd = c->pidfd, .events = POLLIN};
    int r;

    if (c->pid <= 0)
        return -ECHILD;
    if (c->reaped)
        return 0;
    do
        r = poll(&p, 1, timeout_ms);
    while (r < 0 && errno == EINTR);
    if (r < 0)
        return -errno;
    if (r == 0)
        return -ETIMEDOUT;
    do
        r = (int)waitpid(c->pid, &c->status, 0);
    while (r < 0 && errno == EINTR);
    if (r < 0)
        return -errno;
    c->reaped = true;
    c->pidfd = fd_close(c->pidfd);
    return 0;
}

/* Exit code of a reaped child, or 128 + signal. */
static inline int child_exit_code(const struct child *c)
{
    if (WIFEXITED(c->status))
        return WEXITSTATUS(c->status);
    if (WIFSIGNALED(c->status))
        return 128 + WTERMSIG(c->status);
    return -1;
}

/* SIGTERM, up to grace_ms to exit, then SIGKILL; always reaps and resets.
 * pidfd_send_signal cannot hit a recycled pid. */
static inline void child_stop(struct child *c, int grace_ms)
{
    if (c->pid <= 0)
        return;
    if (!c->reaped) {
        if (pidfd_send_signal(c->pidfd, SIGTERM, NULL, 0) < 0 || child_wait(c, grace_ms) < 0) {
            pidfd_send_signal(c->pidfd, SIGKILL, NULL, 0);
            child_wait(c, -1);
        }
    }
    c->pidfd = fd_close(c->pidfd);
    c->pid = 0;
}

static inline void child_stopp(struct child *c)
{
    child_stop(c, 5000);
}
#define _cleanup_child_ _cleanup_(child_stopp)

/* Copies what the child writes to fd into our stdout as "#   <prefix>" lines
 * until EOF, or until timeout_ms in total have passed (-ETIMEDOUT). */
static inline int child_relay_output(int fd, const char *prefix, int timeout_ms)
{
    struct timespec t0, t1;
    char buf[4096], line[4096];
    size_t used = 0;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        long elapsed;
        ssize_t n;
        int r;

        clock_gettime(CLOCK_MONOTONIC, &t1);
        elapsed = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
        if (elapsed >= timeout_ms)
            return -ETIMEDOUT;
        r = poll(&p, 1, (int)(timeout_ms - elapsed));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -errno;
        if (r == 0)
            return -ETIMEDOUT;
        n = read(fd, buf, sizeof(buf));
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n < 0)
            return -errno;
        for (ssize_t i = 0; i < n; i++) {
            if (buf[i] == '\n' || used == sizeof(line) - 1) {
                line[used] = '\0';
                printf("#   %s%s\n", prefix, line);
                used = 0;
                if (buf[i] == '\n')
                    continue;
            }
            line[used++] = buf[i];
        }
        if (n == 0) {
            if (used) {
                line[used] = '\0';
                printf("#   %s%s\n", prefix, line);
            }
            return 0;
        }
    }
}
