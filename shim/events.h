/* Task events to containerd (docs/facts containerd-shim-v2.md §8):
 * Events.Forward on TTRPC_ADDRESS, in publication order, one at a time, from
 * a bounded queue. A failed send is retried with back-off (1 s x attempt,
 * up to EVENTS_MAX_ATTEMPTS) on a fresh connection; after that the event
 * goes out through the publish binary (`containerd publish`). Runs on the
 * shim's loop; dials and the publish binary run on the shim's workpool.
 * The caller passes plain values; this glue file owns the protobuf. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

struct shim;
struct events;

#define EVENTS_QUEUE_MAX 1024
#define EVENTS_MAX_ATTEMPTS 5

enum events_kind {
    EVENTS_TASK_CREATE,
    EVENTS_TASK_START,
    EVENTS_TASK_EXIT,
    EVENTS_TASK_DELETE,
    EVENTS_TASK_EXEC_ADDED,
    EVENTS_TASK_EXEC_STARTED,
    EVENTS_TASK_PAUSED,
    EVENTS_TASK_RESUMED,
    EVENTS_TASK_OOM,
};

/* The fields an event kind uses; the others are ignored. */
struct events_task {
    const char *container_id;
    const char *exec_id;  /* "" or NULL for the init process */
    const char *bundle;   /* create */
    const char *stdin_path, *stdout_path, *stderr_path; /* create */
    bool terminal;        /* create */
    uint32_t pid;
    uint32_t exit_status; /* exit, delete */
    struct timespec at;   /* exit, delete: exited_at */
};

int events_new(struct shim *shim, struct events **ret);
/* Drops what is still queued. NULL-safe, returns NULL. */
struct events *events_free(struct events *ev);

/* Queues one event (timestamped now). -ENOBUFS when EVENTS_QUEUE_MAX are
 * queued; -EINVAL for an unknown kind. */
int events_publish(struct events *ev, enum events_kind kind, const struct events_task *t);

/* Runs the loop until the queue is empty or timeout_ns passed (exit path,
 * after loop_run() returned). */
void events_flush(struct events *ev, uint64_t timeout_ns);
/* Events queued and not yet delivered. */
unsigned events_pending(const struct events *ev);

/* Topic string of a kind ("/tasks/exit"), NULL when unknown. */
const char *events_topic(enum events_kind kind);
