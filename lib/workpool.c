/* Bounded worker threads whose completions return to the loop. See workpool.h.
 *
 * One mutex guards the pool; workers sleep on one condition variable. A
 * finished job moves to the done list, and the first one to arrive there
 * posts a single "service" call to the loop (post_pending), which drains the
 * list, so a burst of completions costs one post. That call also joins
 * workers that exited after their idle period. */
#include "lib/workpool.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <time.h>

#include "lib/loop.h"
#include "lib/xalloc.h"

struct job {
    struct job *next;
    workpool_work_fn work;
    workpool_done_fn done;
    void *userdata;
};

struct job_list {
    struct job *head;
    struct job **tail;
};

enum worker_state { WORKER_FREE, WORKER_RUNNING, WORKER_EXITED };

struct worker {
    struct workpool *pool;
    pthread_t tid;
    enum worker_state state;
};

/* What the queued loop_post() points at. It lives apart from the pool so that
 * a post still queued when the pool is freed finds pool == NULL rather than
 * freed memory; that post then frees the link. Loop thread only. */
struct link {
    struct workpool *pool;
};

struct workpool {
    struct loop *loop;
    struct link *link;
    unsigned max_threads, max_queued;
    bool freeing; /* loop thread only */

    pthread_mutex_t lock; /* guards everything below */
    pthread_cond_t wake;  /* a job was queued, or the pool is closing */
    unsigned idle_ms;
    struct job_list queue; /* waiting for a thread */
    unsigned n_queued;
    struct job_list done; /* waiting for the loop thread */
    bool post_pending;    /* a service post is queued or running */
    bool closing;
    unsigned n_threads, n_idle, n_exited;
    struct worker *workers; /* max_threads slots */
};

static void list_init(struct job_list *l)
{
    l->head = NULL;
    l->tail = &l->head;
}

static void list_push(struct job_list *l, struct job *j)
{
    j->next = NULL;
    *l->tail = j;
    l->tail = &j->next;
}

static struct job *list_pop(struct job_list *l)
{
    struct job *j = l->head;
    if (j) {
        l->head = j->next;
        if (!l->head)
            l->tail = &l->head;
    }
    return j;
}

static void run_done(struct job *j)
{
    if (j->done)
        j->done(j->userdata);
    free(j);
}

/* ---- worker threads ---- */

static struct timespec deadline_in(unsigned ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

/* Lock held. The next job, or NULL when the thread should exit: the pool is
 * closing and the queue is drained, or no job came for idle_ms. */
static struct job *wait_for_job(struct workpool *p)
{
    unsigned idle_ms = p->idle_ms;
    struct timespec deadline = deadline_in(idle_ms);

    while (!p->queue.head) {
        if (p->closing)
            return NULL;
        p->n_idle++;
        int r = idle_ms ? pthread_cond_timedwait(&p->wake, &p->lock, &deadline)
                        : pthread_cond_wait(&p->wake, &p->lock);
        p->n_idle--;
        if (r == ETIMEDOUT && !p->queue.head)
            return NULL;
    }
    p->n_queued--;
    return list_pop(&p->queue);
}

static void service(void *userdata);

/* Lock held. Whether the caller must post a service call once unlocked. */
static bool want_post(struct workpool *p)
{
    if (p->post_pending)
        return false;
    p->post_pending = true;
    return true;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct workpool *p = w->pool;
    struct job *j;

    pthread_mutex_lock(&p->lock);
    while ((j = wait_for_job(p))) {
        pthread_mutex_unlock(&p->lock);
        j->work(j->userdata);
        pthread_mutex_lock(&p->lock);
        list_push(&p->done, j);
        if (want_post(p)) {
            pthread_mutex_unlock(&p->lock);
            loop_post(p->loop, service, p->link);
            pthread_mutex_lock(&p->lock);
        }
    }
    /* After this unlock the thread touches the pool only to post: free()
     * joins every thread before releasing anything. */
    w->state = WORKER_EXITED;
    p->n_threads--;
    p->n_exited++;
    /* A closing pool joins us itself; otherwise ask the loop to. */
    bool post = !p->closing && want_post(p);
    pthread_mutex_unlock(&p->lock);
    if (post)
        loop_post(p->loop, service, p->link);
    return NULL;
}

/* Lock held. Exited threads are past their last use of the lock. */
static void reap_exited(struct workpool *p)
{
    for (unsigned i = 0; p->n_exited > 0 && i < p->max_threads; i++) {
        struct worker *w = &p->workers[i];
        if (w->state == WORKER_EXITED) {
            pthread_join(w->tid, NULL);
            w->state = WORKER_FREE;
            p->n_exited--;
        }
    }
}

/* Lock held; called only while n_threads < max_threads. */
static int spawn_worker(struct workpool *p)
{
    struct worker *w = NULL;
    sigset_t all, old;

    reap_exited(p);
    for (unsigned i = 0; !w && i < p->max_threads; i++)
        if (p->workers[i].state == WORKER_FREE)
            w = &p->workers[i];
    assert(w);
    /* Signals belong to the loop's signalfd; a worker must never take one.
     * The mask is inherited, so block before creating, not in the thread. */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    w->state = WORKER_RUNNING;
    int r = pthread_create(&w->tid, NULL, worker_main, w);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (r != 0) {
        w->state = WORKER_FREE;
        return -r;
    }
    p->n_threads++;
    return 0;
}

/* ---- loop thread ---- */

/* Runs on the loop thread: drains the done list one job at a time, so that a
 * done() may submit, or free the pool, between two others. */
static void service(void *userdata)
{
    struct link *link = userdata;
    struct workpool *p = link->pool;

    while (p) {
        pthread_mutex_lock(&p->lock);
        reap_exited(p);
        struct job *j = list_pop(&p->done);
        if (!j)
            p->post_pending = false;
        pthread_mutex_unlock(&p->lock);
        if (!j)
            return;
        run_done(j);
        /* A done() may have freed the pool; it left the link to us. */
        p = link->pool;
    }
    free(link);
}

int workpool_new(struct loop *loop, unsigned max_threads, unsigned max_queued,
                 struct workpool **ret_pool)
{
    pthread_condattr_t attr;

    if (!loop || max_threads == 0 || max_queued == 0)
        return -EINVAL;
    struct workpool *p = xzalloc(sizeof(*p));
    p->loop = loop;
    p->max_threads = max_threads;
    p->max_queued = max_queued;
    p->idle_ms = WORKPOOL_IDLE_MS;
    p->workers = xnew(struct worker, max_threads);
    for (unsigned i = 0; i < max_threads; i++)
        p->workers[i].pool = p;
    p->link = xzalloc(sizeof(*p->link));
    p->link->pool = p;
    list_init(&p->queue);
    list_init(&p->done);
    pthread_mutex_init(&p->lock, NULL);
    /* Idle deadlines must not jump with the wall clock. */
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&p->wake, &attr);
    pthread_condattr_destroy(&attr);
    *ret_pool = p;
    return 0;
}

int workpool_submit(struct workpool *p, workpool_work_fn work, workpool_done_fn done,
                    void *userdata)
{
    int r = 0;

    if (!p || !work)
        return -EINVAL;
    pthread_mutex_lock(&p->lock);
    if (p->closing)
        r = -ECANCELED;
    else if (p->n_queued >= p->max_queued)
        r = -ENOBUFS;
    /* Start a thread unless an idle one will take this job. If none starts
     * but some thread exists, the job still runs, just later. */
    else if (p->n_queued >= p->n_idle && p->n_threads < p->max_threads) {
        r = spawn_worker(p);
        if (r < 0 && p->n_threads > 0)
            r = 0;
    }
    if (r == 0) {
        struct job *j = xnew(struct job, 1);
        j->work = work;
        j->done = done;
        j->userdata = userdata;
        list_push(&p->queue, j);
        p->n_queued++;
        pthread_cond_signal(&p->wake);
    }
    pthread_mutex_unlock(&p->lock);
    return r;
}

void workpool_set_idle_timeout(struct workpool *p, unsigned ms)
{
    pthread_mutex_lock(&p->lock);
    p->idle_ms = ms;
    pthread_mutex_unlock(&p->lock);
}

static void join_all(struct workpool *p)
{
    pthread_mutex_lock(&p->lock);
    p->closing = true;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);

    /* No thread starts once closing is set; each slot in use is joined once. */
    for (unsigned i = 0; i < p->max_threads; i++) {
        struct worker *w = &p->workers[i];
        pthread_mutex_lock(&p->lock);
        bool used = w->state != WORKER_FREE;
        pthread_mutex_unlock(&p->lock);
        if (used)
            pthread_join(w->tid, NULL);
    }
}

struct workpool *workpool_free(struct workpool *p)
{
    struct job *j;

    if (!p)
        return NULL;
    assert(!p->freeing);
    p->freeing = true;
    join_all(p);
    assert(!p->queue.head);

    /* Threads are gone: the lists are ours alone. */
    while ((j = list_pop(&p->done)))
        run_done(j);

    /* A queued (or running) service post still holds the link. */
    if (p->post_pending)
        p->link->pool = NULL;
    else
        free(p->link);
    pthread_cond_destroy(&p->wake);
    pthread_mutex_destroy(&p->lock);
    free(p->workers);
    free(p);
    return NULL;
}
