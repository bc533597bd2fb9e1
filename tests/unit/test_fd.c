/* lib/fd.c: flag helpers, full reads/writes across short transfers and EOF,
 * fd_wait() timeouts, closed fds and EINTR. */
#include "lib/fd.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "lib/compiler.h"
#include "tests/harness/harness.h"

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int make_pipe(int p[2])
{
    return pipe2(p, O_CLOEXEC) < 0 ? -errno : 0;
}

TEST(set_nonblock_and_cloexec)
{
    int p[2];
    ASSERT_OK(make_pipe(p));
    ASSERT_EQ(fcntl(p[0], F_GETFL) & O_NONBLOCK, 0);
    ASSERT_EQ(fd_set_nonblock(p[0], true), 0);
    ASSERT_TRUE(fcntl(p[0], F_GETFL) & O_NONBLOCK);
    ASSERT_EQ(fd_set_nonblock(p[0], true), 0); /* already set */
    ASSERT_EQ(fd_set_nonblock(p[0], false), 0);
    ASSERT_EQ(fcntl(p[0], F_GETFL) & O_NONBLOCK, 0);

    ASSERT_TRUE(fcntl(p[1], F_GETFD) & FD_CLOEXEC);
    ASSERT_EQ(fd_set_cloexec(p[1], false), 0);
    ASSERT_EQ(fcntl(p[1], F_GETFD) & FD_CLOEXEC, 0);
    ASSERT_EQ(fd_set_cloexec(p[1], true), 0);
    ASSERT_TRUE(fcntl(p[1], F_GETFD) & FD_CLOEXEC);
    fd_close(p[0]);
    fd_close(p[1]);

    ASSERT_EQ(fd_set_nonblock(-1, true), -EBADF);
    ASSERT_EQ(fd_set_cloexec(-1, true), -EBADF);
    return 0;
}

TEST(read_full_stops_at_eof)
{
    int p[2];
    char buf[16];
    ASSERT_OK(make_pipe(p));
    ASSERT_EQ(fd_write_full(p[1], "abc", 3), 3);
    p[1] = fd_close(p[1]);
    ASSERT_EQ(fd_read_full(p[0], buf, sizeof(buf)), 3);
    ASSERT_MEMEQ(buf, "abc", 3);
    ASSERT_EQ(fd_read_full(p[0], buf, sizeof(buf)), 0);
    ASSERT_EQ(fd_read_full(p[0], buf, 0), 0);
    fd_close(p[0]);
    return 0;
}

struct writer {
    int fd;
    const unsigned char *data;
    size_t size;
    ssize_t result;
};

static void *writer_run(void *arg)
{
    struct writer *w = arg;
    w->result = fd_write_full(w->fd, w->data, w->size);
    return NULL;
}

/* More than a pipe holds: both sides must loop over short transfers. */
TEST(full_transfer_larger_than_pipe)
{
    enum { SIZE = 1 << 20 };
    _cleanup_free_ unsigned char *out = malloc(SIZE);
    _cleanup_free_ unsigned char *in = malloc(SIZE);
    int p[2];
    pthread_t tid;
    ASSERT_TRUE(out && in);
    for (size_t i = 0; i < SIZE; i++)
        out[i] = (unsigned char)(i * 7 + i / 251);
    ASSERT_OK(make_pipe(p));
    struct writer w = {.fd = p[1], .data = out, .size = SIZE};
    ASSERT_EQ(pthread_create(&tid, NULL, writer_run, &w), 0);
    ssize_t n = fd_read_full(p[0], in, SIZE);
    pthread_join(tid, NULL);
    fd_close(p[0]);
    fd_close(p[1]);
    ASSERT_EQ(w.result, SIZE);
    ASSERT_EQ(n, SIZE);
    ASSERT_MEMEQ(in, out, SIZE);
    return 0;
}

TEST(errors_are_negative_errno)
{
    int p[2];
    char c = 'x';
    ASSERT_OK(make_pipe(p));
    ASSERT_EQ(fd_set_nonblock(p[0], true), 0);
    ASSERT_EQ(fd_read_full(p[0], &c, 1), -EAGAIN);
    p[0] = fd_close(p[0]);
    /* The harness ignores SIGPIPE, so a write without reader is EPIPE. */
    ASSERT_EQ(fd_write_full(p[1], &c, 1), -EPIPE);
    fd_close(p[1]);
    ASSERT_EQ(fd_read_full(-1, &c, 1), -EBADF);
    ASSERT_EQ(fd_write_full(-1, &c, 1), -EBADF);
    return 0;
}

TEST(wait_ready_timeout_and_closed)
{
    int p[2];
    ASSERT_OK(make_pipe(p));
    int64_t t0 = mono_ms();
    ASSERT_EQ(fd_wait(p[0], POLLIN, 50), -ETIMEDOUT);
    ASSERT_GE(mono_ms() - t0, 45);
    ASSERT_EQ(fd_wait(p[0], POLLIN, 0), -ETIMEDOUT);
    ASSERT_EQ(fd_wait(p[1], POLLOUT, -1), POLLOUT);
    ASSERT_EQ(fd_write_full(p[1], "x", 1), 1);
    ASSERT_EQ(fd_wait(p[0], POLLIN, -1), POLLIN);
    p[1] = fd_close(p[1]);
    ASSERT_TRUE(fd_wait(p[0], POLLIN, 1000) & POLLIN);

    /* A number that is no longer an open fd gives POLLNVAL, reported as EBADF. */
    int spare = fcntl(p[0], F_DUPFD_CLOEXEC, 3);
    ASSERT_OK(spare);
    fd_close(spare);
    ASSERT_EQ(fd_wait(spare, POLLIN, 100), -EBADF);
    fd_close(p[0]);
    return 0;
}

static void on_alarm(int sig)
{
    (void)sig;
}

/* A signal in the middle of the wait must neither end it early nor restart
 * the full timeout. */
TEST(wait_survives_eintr)
{
    int p[2];
    struct sigaction sa = {.sa_handler = on_alarm}, old_sa;
    struct itimerval it = {.it_interval = {0, 20000}, .it_value = {0, 20000}}, off = {0};
    ASSERT_OK(make_pipe(p));
    sigemptyset(&sa.sa_mask);
    ASSERT_EQ(sigaction(SIGALRM, &sa, &old_sa), 0);
    ASSERT_EQ(setitimer(ITIMER_REAL, &it, NULL), 0);
    int64_t t0 = mono_ms();
    int r = fd_wait(p[0], POLLIN, 200);
    int64_t dt = mono_ms() - t0;
    setitimer(ITIMER_REAL, &off, NULL);
    sigaction(SIGALRM, &old_sa, NULL);
    fd_close(p[0]);
    fd_close(p[1]);
    ASSERT_EQ(r, -ETIMEDOUT);
    ASSERT_GE(dt, 190);
    ASSERT_LT(dt, 1000);
    return 0;
}
