/* lib/loop: timers, defers, io, signals, children and cross-thread posts. */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/loop.h"
#include "tests/harness/harness.h"

struct order {
    int seen[8];
    int n;
};


struct timer_ctx {
    struct order *order;
    int id;
};

static void timer_fired(struct loop_source *s, void *ud)
{
    (void)s;
    struct timer_ctx *t = ud;
    t->order->seen[t->order->n++] = t->id;
}

TEST(timers_fire_in_deadline_order)
{
    struct loop *l = NULL;
    ASSERT_OK(loop_new(&l));
    struct order o = {{0}, 0};
    struct timer_ctx ctx[4] = {{&o, 0}, {&o, 1}, {&o, 2}, {&o, 3}};
    const uint64_t ms = 1000000ull, now = loop_now();
    const uint64_t when[4] = {now + 40 * ms, now + 10 * ms, now + 30 * ms, now + 20 * ms};
    struct loop_source *s[4];
    for (int i = 0; i < 4; i++)
        ASSERT_OK(loop_add_timer(l, when[i], timer_fired, &ctx[i], &s[i]));
    /* Re-arming moves a timer; disarming removes it from the order. */
    ASSERT_OK(loop_timer_set(s[3], now + 50 * ms));
    ASSERT_OK(loop_timer_set(s[2], 0));
    while (o.n < 3)
        ASSERT_OK(loop_run_once(l, 1000));
    ASSERT_EQ(o.seen[0], 1);
    ASSERT_EQ(o.seen[1], 0);
    ASSERT_EQ(o.seen[2], 3);
    ASSERT_GE(loop_now() - now, 50 * ms);
    for (int i = 0; i < 4; i++)
        loop_source_free(s[i]);
    loop_run_once(l, 0);
    loop_free(l);

    return 0;
}

struct defer_ctx {
    int runs;
    struct loop_source *other;
};

static void defer_fired(struct loop_source *s, void *ud)
{
    (void)s;
    struct defer_ctx *d = ud;
    d->runs++;
    /* Freeing another pending defer from a callback must be safe. */
    d->other = loop_source_free(d->other);
}

TEST(defers_run_once_and_may_free_each_other)
{
    struct loop *l = NULL;
    ASSERT_OK(loop_new(&l));
    struct defer_ctx a = {0, NULL}, b = {0, NULL};
    struct loop_source *sa = NULL, *sb = NULL;
    ASSERT_OK(loop_add_defer(l, defer_fired, &a, &sa));
    ASSERT_OK(loop_add_defer(l, defer_fired, &b, &sb));
    /* Defers are pushed at the head: sb runs first and frees sa. */
    b.other = sa;
    ASSERT_OK(loop_run_once(l, 0));
    ASSERT_OK(loop_run_once(l, 0));
    ASSERT_EQ(b.runs, 1);
    ASSERT_EQ(a.runs, 0);
    loop_source_free(sb);
    loop_run_once(l, 0);
    loop_free(l);
    return 0;
}

struct io_ctx {
    int reads;
    struct loop_source *self;
};

static void io_ready(struct loop_source *s, int fd, uint32_t revents, void *ud)
{
    (void)s;
    struct io_ctx *c = ud;
    char buf[16];
    if (revents & EPOLLIN && read(fd, buf, sizeof(buf)) > 0)
        c->reads++;
    /* Freeing the source inside its own callback is allowed. */
    c->self = loop_source_free(c->self);
}

TEST(io_source_freed_inside_its_callback)
{
    struct loop *l = NULL;
    ASSERT_OK(loop_new(&l));
    int sv[2];
    ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv));
    struct io_ctx c = {0, NULL};
    ASSERT_OK(loop_add_io(l, sv[0], EPOLLIN, io_ready, &c, &c.self));
    ASSERT_EQ(write(sv[1], "x", 1), 1);
    ASSERT_OK(loop_run_once(l, 1000));
    ASSERT_EQ(c.reads, 1);
    ASSERT_TRUE(c.self == NULL);
    /* No longer watched: more data wakes nothing. */
    ASSERT_EQ(write(sv[1], "y", 1), 1);
    ASSERT_EQ(loop_run_once(l, 50), 0);
    ASSERT_EQ(c.reads, 1);
    close(sv[0]);
    close(sv[1]);
    loop_free(l);
    return 0;
}

struct post_ctx {
    struct loop *loop;
    int count;
    pthread_t loop_thread;
    int wrong_thread;
};

static void posted(void *ud)
{
    struct post_ctx *p = ud;
    if (!pthread_equal(pthread_self(), p->loop_thread))
        p->wrong_thread++;
    if (++p->count == 1000)
        loop_quit(p->loop, 42);
}

static void *poster(void *ud)
{
    struct post_ctx *p = ud;
    for (int i = 0; i < 500; i++)
        loop_post(p->loop, posted, p);
    return NULL;
}

TEST(posts_from_threads_run_on_the_loop_thread)
{
    struct post_ctx p = {NULL, 0, pthread_self(), 0};
    ASSERT_OK(loop_new(&p.loop));
    pthread_t t1, t2;
    ASSERT_EQ(pthread_create(&t1, NULL, poster, &p), 0);
    ASSERT_EQ(pthread_create(&t2, NULL, poster, &p), 0);
    ASSERT_EQ(loop_run(p.loop), 42);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    ASSERT_EQ(p.count, 1000);
    ASSERT_EQ(p.wrong_thread, 0);
    loop_free(p.loop);
    return 0;
}

struct child_ctx {
    int status;
    int code;
};

static void child_exited(struct loop_source *s, const siginfo_t *si, void *ud)
{
    (void)s;
    struct child_ctx *c = ud;
    c->code = si->si_code;
    c->status = si->si_status;
}

TEST(child_exit_is_reaped_through_pidfd)
{
    struct loop *l = NULL;
    ASSERT_OK(loop_new(&l));
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0)
        _exit(7);
    int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    ASSERT_GE(pidfd, 0);
    struct child_ctx c = {-1, 0};
    struct loop_source *s = NULL;
    ASSERT_OK(loop_add_child(l, pidfd, child_exited, &c, &s));
    for (int i = 0; i < 100 && c.status < 0; i++)
        ASSERT_OK(loop_run_once(l, 100));
    ASSERT_EQ(c.code, CLD_EXITED);
    ASSERT_EQ(c.status, 7);
    /* Reaped: the pid is gone. */
    ASSERT_EQ(waitpid(pid, NULL, WNOHANG), -1);
    loop_source_free(s);
    loop_run_once(l, 0);
    loop_free(l);
    return 0;
}

static void got_signal(struct loop_source *s, const struct signalfd_siginfo *si, void *ud)
{
    (void)s;
    *(int *)ud = (int)si->ssi_signo;
}

TEST(signal_delivered_through_signalfd)
{
    struct loop *l = NULL;
    ASSERT_OK(loop_new(&l));
    int signo = 0;
    struct loop_source *s = NULL;
    ASSERT_OK(loop_add_signal(l, SIGUSR1, got_signal, &signo, &s));
    ASSERT_EQ(kill(getpid(), SIGUSR1), 0);
    for (int i = 0; i < 50 && !signo; i++)
        ASSERT_OK(loop_run_once(l, 100));
    ASSERT_EQ(signo, SIGUSR1);
    loop_source_free(s);
    loop_run_once(l, 0);
    loop_free(l);
    return 0;
}
