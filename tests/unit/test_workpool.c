/* lib/workpool.c on a real lib/loop.c loop: completions on the loop thread,
 * no head-of-line blocking, the queue bound, free() with work in flight,
 * done() callbacks that submit or free, idle threads exiting. */
#include "lib/workpool.h"

#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <time.h>
#include <unistd.h>

#include "lib/loop.h"
#include "tests/harness/harness.h"

#define MSEC UINT64_C(1000000)

struct ctx {
    pthread_t loop_tid;
    struct workpool *pool;
    unsigned done;         /* loop thread only */
    unsigned wrong_thread; /* done() seen off the loop thread */
    unsigned not_worked;   /* done() before its work() */
    atomic_uint worked;
    atomic_uint signals_open; /* work() found a signal unblocked */
    int free_in_done_at;      /* done() number that frees the pool, or -1 */
    int submit_result;        /* last workpool_submit() from a done() */
};

struct item {
    struct ctx *c;
    unsigned sleep_ms;
    bool worked; /* written by work(), read by done(): ordered by the pool */
    uint64_t done_at;
};

static void ctx_init(struct ctx *c)
{
    memset(c, 0, sizeof(*c));
    c->loop_tid = pthread_self();
    c->free_in_done_at = -1;
    c->submit_result = 1;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0)
        ;
}

static void work(void *userdata)
{
    struct item *it = userdata;
    sigset_t mask;
    pthread_sigmask(SIG_BLOCK, NULL, &mask);
    if (!sigismember(&mask, SIGTERM) || !sigismember(&mask, SIGCHLD) || !sigismember(&mask, SIGINT))
        atomic_fetch_add(&it->c->signals_open, 1);
    if (it->sleep_ms)
        sleep_ms(it->sleep_ms);
    it->worked = true;
    atomic_fetch_add(&it->c->worked, 1);
}

static void done(void *userdata)
{
    struct item *it = userdata;
    struct ctx *c = it->c;
    if (!pthread_equal(pthread_self(), c->loop_tid))
        c->wrong_thread++;
    if (!it->worked)
        c->not_worked++;
    it->done_at = loop_now();
    c->done++;
    if ((int)c->done == c->free_in_done_at)
        c->pool = workpool_free(c->pool);
}

/* Dispatches until *count reaches want or timeout_ms passes. */
static void run_until(struct loop *l, const unsigned *count, unsigned want, unsigned timeout_ms)
{
    uint64_t end = loop_now() + timeout_ms * MSEC;
    while (*count < want && loop_now() < end)
        loop_run_once(l, 20);
}

static unsigned count_threads(void)
{
    unsigned n = 0;
    DIR *d = opendir("/proc/self/task");
    if (!d)
        return 0;
    for (struct dirent *de; (de = readdir(d));)
        if (de->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

TEST(new_rejects_bad_arguments)
{
    struct loop *l = NULL;
    struct workpool *p = (struct workpool *)&l;
    ASSERT_OK(loop_new(&l));
    ASSERT_EQ(workpool_new(l, 0, 4, &p), -EINVAL);
    ASSERT_EQ(workpool_new(l, 4, 0, &p), -EINVAL);
    ASSERT_EQ(workpool_new(NULL, 4, 4, &p), -EINVAL);
    ASSERT_TRUE(p == (struct workpool *)&l); /* untouched */
    ASSERT_OK(workpool_new(l, 1, 1, &p));
    ASSERT_EQ(workpool_submit(p, NULL, done, NULL), -EINVAL);
    ASSERT_TRUE(workpool_free(p) == NULL);
    ASSERT_TRUE(workpool_free(NULL) == NULL);
    loop_free(l);
    return 0;
}

TEST(many_jobs_done_on_loop_thread)
{
    enum { N = 200 };
    static struct item items[N];
    struct ctx c;
    struct loop *l = NULL;
    ctx_init(&c);
    ASSERT_OK(loop_new(&l));
    ASSERT_OK(workpool_new(l, 4, N, &c.pool));
    for (unsigned i = 0; i < N; i++) {
        items[i] = (struct item){.c = &c};
        ASSERT_OK(workpool_submit(c.pool, work, done, &items[i]));
    }
    run_until(l, &c.done, N, 5000);
    ASSERT_EQ(c.done, N);
    ASSERT_EQ(atomic_load(&c.worked), N);
    ASSERT_EQ(c.wrong_thread, 0);
    ASSERT_EQ(c.not_worked, 0);
    ASSERT_EQ(atomic_load(&c.signals_open), 0);
    c.pool = workpool_free(c.pool);
    loop_free(l);
    return 0;
}

/* Holds a worker until the test opens it. */
struct gate {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool started, open;
};

static void gate_work(void *userdata)
{
    struct gate *g = userdata;
    pthread_mutex_lock(&g->lock);
    g->started = true;
    pthread_cond_broadcast(&g->cond);
    while (!g->open)
        pthread_cond_wait(&g->cond, &g->lock);
    pthread_mutex_unlock(&g->lock);
}

static void gate_done(void *userdata)
{
    (void)userdata;
}

/* The blocking job holds its thread until the quick one is done, which
 * can only happen on a second thread: no clock needed. */
TEST(blocking_job_does_not_delay_quick_one)
{
    struct gate g = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, false};
    struct ctx c;
    struct loop *l = NULL;
    ctx_init(&c);
    struct item quick = {.c = &c};
    ASSERT_OK(loop_new(&l));
    ASSERT_OK(workpool_new(l, 2, 8, &c.pool));
    ASSERT_OK(workpool_submit(c.pool, gate_work, gate_done, &g));
    ASSERT_OK(workpool_submit(c.pool, work, done, &quick));
    run_until(l, &c.done, 1, 10000);
    ASSERT_EQ(c.done, 1);
    ASSERT_TRUE(quick.done_at != 0);
    pthread_mutex_lock(&g.lock);
    g.open = true;
    pthread_cond_broadcast(&g.cond);
    pthread_mutex_unlock(&g.lock);
    c.pool = workpool_free(c.pool);
    loop_free(l);
    return 0;
}

TEST(queue_bound_gives_enobufs)
{
    struct gate g = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, false};
    struct ctx c;
    struct loop *l = NULL;
    struct item a, b;
    ctx_init(&c);
    a = b = (struct item){.c = &c};
    ASSERT_OK(loop_new(&l));
    ASSERT_OK(workpool_new(l, 1, 2, &c.pool));
    ASSERT_OK(workpool_submit(c.pool, gate_work, gate_done, &g));
    /* Once the only thread holds the gate job, two more may wait. */
    pthread_mutex_lock(&g.lock);
    while (!g.started)
        pthread_cond_wait(&g.cond, &g.lock);
    pthread_mutex_unlock(&g.lock);
    ASSERT_OK(workpool_submit(c.pool, work, done, &a));
    ASSERT_OK(workpool_submit(c.pool, work, done, &b));
    ASSERT_EQ(workpool_submit(c.pool, work, done, &a), -ENOBUFS);

    pthread_mutex_lock(&g.lock);
    g.open = true;
    pthread_cond_broadcast(&g.cond);
    pthread_mutex_unlock(&g.lock);
    run_until(l, &c.done, 2, 2000);
    ASSERT_EQ(c.done, 2);
    /* Room again once the queue drained. */
    ASSERT_OK(workpool_submit(c.pool, work, done, &a));
    run_until(l, &c.done, 3, 2000);
    ASSERT_EQ(c.done, 3);
    c.pool = workpool_free(c.pool);
    loop_free(l);
    return 0;
}

static void done_submits(void *userdata)
{
    struct item *it = userdata;
    done(userdata);
    it->c->submit_result = workpool_submit(it->c->pool, work, done, it);
}

TEST(free_waits_for_running_and_queued_work)
{
    enum { N = 6 };
    struct item items[N];
    struct ctx c;
    struct loop *l = NULL;
    ctx_init(&c);
    ASSERT_OK(loop_new(&l));
    ASSERT_OK(workpool_new(l, 2, N, &c.pool));
    for (unsigned i = 0; i < N; i++) {
        items[i] = (struct item){.c = &c, .sleep_ms = 50};
        ASSERT_OK(workpool_submit(c.pool, work, done_submits, &items[i]));
    }
    uint64_t t0 = loop_now();
    c.pool = workpool_free(c.pool);
    /* Three rounds of two 50 ms jobs; every done() ran inside free(). */
    ASSERT_GE(loop_now() - t0, 140 * MSEC);
    ASSERT_EQ(c.done, N);
    ASSERT_EQ(c.not_worked, 0);
    ASSERT_EQ(c.wrong_thread, 0);
    ASSERT_EQ(c.submit_result, -ECANCELED);
    /* A service post may still be queued; it must find the pool gone. */
    loop_run_once(l, 0);
    loop_free(l);
    return 0;
}

TEST(done_may_free_the_pool)
{
    enum { N = 8 };
    struct item items[N];
    struct ctx c;
    struct loop *l = NULL;
    ctx_init(&c);
    c.free_in_done_at = 1;
    ASSERT_OK(loop_new(&l));
    ASSERT_OK(workpool_new(l, 2, N, &c.pool));
    for (unsigned i = 0; i < N; i++) {
        items[i] = (struct item){.c = &c, .sleep_ms = i ? 20 : 0};
        ASSERT_OK(workpool_submit(c.pool, work, done, &items[i]));
    }
    run_until(l, &c.done, 1, 2000);
    ASSERT_TRUE(c.pool == NULL);
    ASSERT_EQ(c.done, N); /* the others ran inside free(), once each */
    for (int i = 0; i < 5; i++)
        loop_run_once(l, 10);
    ASSERT_EQ(c.done, N);
    loop_free(l);
    return 0;
}

static void done_chains(void *userdata)
{
    struct item *it = userdata;
    done(userdata);
    if (it->c->done < 10) {
        it->worked = false;
        it->c->submit_result = workpool_submit(it->c->pool, work, done_chains, it);
    }
}

TEST(done_may_submit_more)
{
    struct ctx c;
    struct loop *l = NULL;
    ctx_init(&c);
    struct item it = {.c = &c};
    ASSERT_OK(loop_new(&l));
    ASSERT_OK(workpool_new(l, 1, 1, &c.pool));
    ASSERT_OK(workpool_submit(c.pool, work, done_chains, &it));
    run_until(l, &c.done, 10, 2000);
    ASSERT_EQ(c.done, 10);
    ASSERT_EQ(c.submit_result, 0);
    ASSERT_EQ(c.not_worked, 0);
    c.pool = workpool_free(c.pool);
    loop_free(l);
    return 0;
}

TEST(idle_threads_exit_and_restart)
{
    struct ctx c;
    struct loop *l = NULL;
    ctx_init(&c);
    struct item a = {.c = &c}, b = {.c = &c};
    ASSERT_OK(loop_new(&l));
    ASSERT_OK(workpool_new(l, 2, 4, &c.pool));
    workpool_set_idle_timeout(c.pool, 50);
    ASSERT_OK(workpool_submit(c.pool, work, done, &a));
    run_until(l, &c.done, 1, 2000);
    /* Counted relative to now: sanitizers start helper threads of their own. */
    unsigned busy = count_threads();
    ASSERT_GE(busy, 2);
    /* The idle thread exits and the loop joins it. */
    uint64_t end = loop_now() + 2000 * MSEC;
    while (count_threads() >= busy && loop_now() < end)
        loop_run_once(l, 20);
    ASSERT_EQ(count_threads(), busy - 1);
    ASSERT_OK(workpool_submit(c.pool, work, done, &b));
    run_until(l, &c.done, 2, 2000);
    ASSERT_EQ(c.done, 2);
    c.pool = workpool_free(c.pool);
    ASSERT_EQ(count_threads(), busy - 1);
    loop_free(l);
    return 0;
}
