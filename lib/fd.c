/* Syscall helpers: -errno results and EINTR retries. See fd.h. */
#include "lib/fd.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

static int set_flag(int fd, int get_cmd, int set_cmd, int flag, bool on)
{
    int flags = fcntl(fd, get_cmd);
    if (flags < 0)
        return -errno;
    int nflags = on ? flags | flag : flags & ~flag;
    if (nflags == flags)
        return 0;
    if (fcntl(fd, set_cmd, nflags) < 0)
        return -errno;
    return 0;
}

int fd_set_nonblock(int fd, bool nonblock)
{
    return set_flag(fd, F_GETFL, F_SETFL, O_NONBLOCK, nonblock);
}

int fd_set_cloexec(int fd, bool cloexec)
{
    return set_flag(fd, F_GETFD, F_SETFD, FD_CLOEXEC, cloexec);
}

ssize_t fd_read_full(int fd, void *buf, size_t size)
{
    size_t done = 0;
    while (done < size) {
        ssize_t n = read(fd, (char *)buf + done, size - done);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (n == 0)
            break;
        done += (size_t)n;
    }
    return (ssize_t)done;
}

ssize_t fd_write_full(int fd, const void *buf, size_t size)
{
    size_t done = 0;
    while (done < size) {
        ssize_t n = write(fd, (const char *)buf + done, size - done);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        /* write() returning 0 for a non-empty buffer would loop forever. */
        if (n == 0)
            return -EIO;
        done += (size_t)n;
    }
    return (ssize_t)done;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int fd_wait(int fd, short events, int timeout_ms)
{
    struct pollfd pfd = {.fd = fd, .events = events};
    int64_t deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
    int left = timeout_ms;

    for (;;) {
        int n = poll(&pfd, 1, left);
        if (n > 0)
            return (pfd.revents & POLLNVAL) ? -EBADF : pfd.revents;
        if (n == 0)
            return -ETIMEDOUT;
        if (errno != EINTR)
            return -errno;
        if (deadline >= 0) {
            int64_t rest = deadline - now_ms();
            left = rest <= 0 ? 0 : (int)(rest > INT_MAX ? INT_MAX : rest);
        }
    }
}
