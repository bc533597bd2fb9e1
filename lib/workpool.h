/* A bounded pool of threads for work that must block (a mount, a blocking
 * library call), for programs built around one lib/loop.h loop. The pool is
 * created, used and freed on the loop thread. work() runs on a worker thread;
 * done() then runs on the loop thread (delivered with loop_post()), exactly
 * once per accepted job, even when the pool is freed first: workpool_free()
 * waits for queued and running work and runs the pending done()s itself.
 * Threads start on demand up to max_threads and exit after an idle period
 * (WORKPOOL_IDLE_MS); they run with every signal blocked. done() may submit
 * more work or free the pool. Errors are negative errno values. */
#pragma once

#include "lib/compiler.h"

struct loop;
struct workpool;

typedef void (*workpool_work_fn)(void *userdata); /* worker thread; may block */
typedef void (*workpool_done_fn)(void *userdata); /* loop thread, after work */

#define WORKPOOL_IDLE_MS 5000

/* max_threads and max_queued must be at least 1 (else -EINVAL). */
int workpool_new(struct loop *loop, unsigned max_threads, unsigned max_queued,
                 struct workpool **ret_pool);

/* Waits for all queued and running work, runs the done()s not yet run, in
 * completion order, and frees the pool. Submitting from those done()s fails
 * with -ECANCELED. Must not be called from a work(). NULL-safe; returns NULL. */
struct workpool *workpool_free(struct workpool *p);

/* Queues work(userdata), then done(userdata) on the loop thread (done may be
 * NULL). -ENOBUFS when max_queued jobs are already waiting for a thread;
 * -EAGAIN (or another -errno) when no thread exists and none can start. */
int workpool_submit(struct workpool *p, workpool_work_fn work, workpool_done_fn done,
                    void *userdata);

/* How long an idle thread waits for work before exiting; 0 keeps threads until
 * the pool is freed. Applies to waits that start afterwards. */
void workpool_set_idle_timeout(struct workpool *p, unsigned ms);

DEFINE_CLEANUP_FUNC(struct workpool *, workpool_free)
#define _cleanup_workpool_ _cleanup_(workpool_freep)
