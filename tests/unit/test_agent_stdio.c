/* agent/stdio.c on a real pty and a real loop: with a terminal, a parked
 * read and a blocked stdin write share the one master, and both must keep
 * waiting (and then complete) through one watch, also after the master was
 * replaced by the container's own (stdio_replace_pty). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "agent/stdio.h"
#include "lib/compiler.h"
#include "lib/loop.h"
#include "tests/harness/harness.h"

#define BIG (256u * 1024)

struct rd {
    struct stdio_read r;
    int calls;
    char data[64];
    size_t n;
};

static void rd_done(struct stdio_read *req, int r, const void *data, size_t n)
{
    struct rd *x = (struct rd *)req;
    (void)r;
    x->calls++;
    x->n = n;
    memcpy(x->data, data, MIN(n, sizeof(x->data) - 1));
    x->data[MIN(n, sizeof(x->data) - 1)] = '\0';
}

struct wr {
    struct stdio_write w;
    int calls, r;
};

static void wr_done(struct stdio_write *req, int r, size_t written)
{
    struct wr *x = (struct wr *)req;
    (void)written;
    x->calls++;
    x->r = r;
}

static int count_fds(void)
{
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    for (struct dirent *de; d && (de = readdir(d));)
        n += de->d_name[0] != '.';
    if (d)
        closedir(d);
    return n;
}

/* A second pty, as the init helper opens in the container's devpts; the
 * slave raw, so that what the master writes reads back byte for byte. */
static int new_pty(int *ret_master, int *ret_slave)
{
    int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (m < 0 || grantpt(m) < 0 || unlockpt(m) < 0)
        return -1;
    int sl = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
    struct termios t;
    if (sl < 0 || tcgetattr(sl, &t) < 0)
        return -1;
    cfmakeraw(&t);
    if (tcsetattr(sl, TCSANOW, &t) < 0)
        return -1;
    *ret_master = m;
    *ret_slave = sl;
    return 0;
}

struct fixture {
    int fds_before;
    struct loop *l;
    struct stdio *s;
    int child[3];
    struct rd rd;
    struct wr wr;
    char *big;
};

/* Nobody reads the child's stdin and nothing is written to its output: a
 * read parks (unless !with_read) and a big write fills the pty or pipe,
 * then waits. */
static int park(struct fixture *f, bool tty, bool with_read)
{
    f->fds_before = count_fds();
    ASSERT_EQ(loop_new(&f->l), 0);
    ASSERT_EQ(stdio_new(f->l, tty, 24, 80, 0, &f->s), 0);
    stdio_child_fds(f->s, f->child);
    if (tty) {
        /* No echo: the output stays empty however much goes in. */
        struct termios t;
        ASSERT_EQ(tcgetattr(f->child[0], &t), 0);
        cfmakeraw(&t);
        ASSERT_EQ(tcsetattr(f->child[0], TCSANOW, &t), 0);
    }
    /* The test reads the child's side between loop turns. */
    ASSERT_EQ(fcntl(f->child[0], F_SETFL, O_NONBLOCK), 0);
    f->rd = (struct rd){.r.max = 32, .r.done = rd_done};
    if (with_read)
        ASSERT_EQ(stdio_read(f->s, false, &f->rd.r), 0);
    f->big = malloc(BIG);
    ASSERT_TRUE(f->big != NULL);
    memset(f->big, 'x', BIG);
    f->wr = (struct wr){.w.data = (const uint8_t *)f->big, .w.size = BIG, .w.done = wr_done};
    ASSERT_EQ(stdio_write(f->s, &f->wr.w), 0);
    for (int i = 0; i < 5; i++)
        loop_run_once(f->l, 0);
    ASSERT_EQ(f->wr.calls, 0);
    ASSERT_EQ(f->rd.calls, 0);
    ASSERT_GT(f->wr.w.written, 0u);
    ASSERT_LT(f->wr.w.written, (size_t)BIG);
    return 0;
}

/* Reads the child's side of stdin until the write is done and `want`
 * bytes came; the loop runs whenever there is nothing to read. */
static int drain(struct fixture *f, int fd, size_t want)
{
    size_t got = 0;
    char buf[8192];
    for (int i = 0; i < 100000 && (f->wr.calls == 0 || got < want); i++) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n > 0)
            got += (size_t)n;
        else
            loop_run_once(f->l, 100);
    }
    ASSERT_EQ(f->wr.calls, 1);
    ASSERT_EQ(f->wr.r, 0);
    ASSERT_EQ(f->wr.w.written, (size_t)BIG);
    ASSERT_EQ(got, want);
    return 0;
}

/* The child writes text to fd: the parked read gets it. */
static int read_back(struct fixture *f, int fd, const char *text)
{
    ASSERT_EQ(f->rd.calls, 0);
    ASSERT_EQ(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    for (int i = 0; i < 1000 && f->rd.calls == 0; i++)
        loop_run_once(f->l, 100);
    ASSERT_EQ(f->rd.calls, 1);
    ASSERT_STREQ(f->rd.data, text);
    return 0;
}

static int finish(struct fixture *f)
{
    stdio_free(f->s);
    loop_free(f->l);
    free(f->big);
    ASSERT_EQ(count_fds(), f->fds_before);
    return 0;
}

TEST(tty_parked_read_and_blocked_write_share_the_master)
{
    struct fixture f;
    ASSERT_EQ(park(&f, true, true), 0);

    /* The container's own console takes over; the old slave is closed
     * first, as the init helper's is. Both waits move to the new master. */
    int m2 = -1, sl2 = -1;
    ASSERT_EQ(new_pty(&m2, &sl2), 0);
    size_t rest = BIG - f.wr.w.written; /* what the old pty took stays there */
    stdio_child_done(f.s);
    ASSERT_EQ(stdio_replace_pty(f.s, m2), 0);
    struct winsize ws = {0};
    ASSERT_EQ(ioctl(sl2, TIOCGWINSZ, &ws), 0);
    ASSERT_EQ(ws.ws_row, 24);
    ASSERT_EQ(ws.ws_col, 80);
    ASSERT_EQ(drain(&f, sl2, rest), 0);
    ASSERT_EQ(read_back(&f, sl2, "hello"), 0);

    /* The slave closed: the next read is EOF. */
    close(sl2);
    struct rd eof = {.r.max = 32, .r.done = rd_done};
    ASSERT_EQ(stdio_read(f.s, false, &eof.r), 0);
    for (int i = 0; i < 1000 && eof.calls == 0; i++)
        loop_run_once(f.l, 100);
    ASSERT_EQ(eof.calls, 1);
    ASSERT_EQ(eof.n, 0u);
    return finish(&f);
}

/* Closing stdin while the pty's input queue is full: the ^D waits for
 * room instead of being lost (the process would read for ever). */
TEST(tty_eof_waits_for_room)
{
    struct fixture f;
    ASSERT_EQ(park(&f, true, false), 0);
    /* The kernel moves input on to the line discipline in the background,
     * making room again: top up until a new write gets nothing in. */
    size_t in_pty = f.wr.w.written;
    for (int i = 0; i < 100 && f.wr.w.written > 0; i++) {
        stdio_write_cancel(f.s, &f.wr.w);
        loop_run_once(f.l, 10);
        ASSERT_EQ(stdio_write(f.s, &f.wr.w), 0);
        in_pty += f.wr.w.written;
    }
    ASSERT_EQ(f.wr.w.written, 0u);
    stdio_write_cancel(f.s, &f.wr.w);
    ASSERT_EQ(stdio_close_stdin(f.s), 0);
    ASSERT_EQ(stdio_write(f.s, &f.wr.w), -EPIPE);

    /* Gives up after 50 loop turns in a row brought nothing. */
    size_t got = 0;
    char buf[8192], last = 0;
    for (int idle = 0; idle < 50 && got < in_pty + 1;) {
        ssize_t n = read(f.child[0], buf, sizeof(buf));
        if (n > 0) {
            got += (size_t)n;
            last = buf[n - 1];
            idle = 0;
        } else {
            loop_run_once(f.l, 100);
            idle++;
        }
    }
    ASSERT_EQ(got, in_pty + 1);
    ASSERT_EQ(last, 4);
    ASSERT_EQ(f.wr.calls, 0); /* cancelled: never answered */
    return finish(&f);
}

/* Pipes keep a watch per fd: a parked stdout read and a blocked stdin
 * write each complete on their own. */
TEST(pipes_parked_read_and_blocked_write)
{
    struct fixture f;
    ASSERT_EQ(park(&f, false, true), 0);
    ASSERT_EQ(drain(&f, f.child[0], BIG), 0);
    ASSERT_EQ(read_back(&f, f.child[1], "out"), 0);
    return finish(&f);
}
