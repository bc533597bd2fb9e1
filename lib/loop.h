/* The event loop: one thread, one epoll. This is the project's concurrency
 * model (DESIGN.md decision 3): every binary runs its protocol work on a
 * loop; callbacks never block. Work that must block (a mount, a wait on a
 * child) goes to a bounded lib/workpool.h pool whose completions come back
 * to the loop through loop_post(). Long polls keep their request handle and
 * answer later (see lib/ttrpc/ttrpc.h).
 *
 * Sources are owned by the caller and freed with loop_source_free(), which
 * is safe from inside the source's own callback (the source is marked dead
 * and released after dispatch). Except for loop_post() and loop_quit(), no
 * function here may be called from another thread. Errors are negative
 * errno values. */
#pragma once

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>

struct loop;
struct loop_source;

typedef void (*loop_io_fn)(struct loop_source *s, int fd, uint32_t revents, void *userdata);
typedef void (*loop_time_fn)(struct loop_source *s, void *userdata);
typedef void (*loop_signal_fn)(struct loop_source *s, const struct signalfd_siginfo *si,
                               void *userdata);
typedef void (*loop_child_fn)(struct loop_source *s, const siginfo_t *si, void *userdata);
typedef void (*loop_post_fn)(void *userdata);

int loop_new(struct loop **ret_loop);
/* Frees the loop; every source must have been freed first. NULL-safe. */
struct loop *loop_free(struct loop *l);

/* Dispatches until loop_quit(); returns the code given to loop_quit(). */
int loop_run(struct loop *l);
/* One iteration: waits at most timeout_ms (-1 = until an event or timer). */
int loop_run_once(struct loop *l, int timeout_ms);
/* Thread-safe: makes loop_run() return `code` after the current iteration. */
void loop_quit(struct loop *l, int code);

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t loop_now(void);

/* Watches fd (non-blocking, owned by the caller) for EPOLLIN/EPOLLOUT/... */
int loop_add_io(struct loop *l, int fd, uint32_t events, loop_io_fn fn, void *userdata,
                struct loop_source **ret_source);
int loop_io_set_events(struct loop_source *s, uint32_t events);

/* A one-shot timer at an absolute CLOCK_MONOTONIC deadline (ns); re-arm it
 * with loop_timer_set(). A deadline of 0 disarms it. Timers live in a heap
 * and cost no file descriptor, so one per request is cheap. */
int loop_add_timer(struct loop *l, uint64_t deadline_ns, loop_time_fn fn, void *userdata,
                   struct loop_source **ret_source);
int loop_timer_set(struct loop_source *s, uint64_t deadline_ns);

/* Blocks signo for the whole process (call before starting threads) and
 * delivers it through a signalfd. */
int loop_add_signal(struct loop *l, int signo, loop_signal_fn fn, void *userdata,
                    struct loop_source **ret_source);

/* Calls fn once when the process behind pidfd exits, with the reaped status.
 * The source owns pidfd from then on. */
int loop_add_child(struct loop *l, int pidfd, loop_child_fn fn, void *userdata,
                   struct loop_source **ret_source);

/* Runs fn once, at the start of the next iteration (before waiting for
 * events). The caller still frees the source, from the callback if it likes. */
int loop_add_defer(struct loop *l, loop_time_fn fn, void *userdata,
                   struct loop_source **ret_source);

/* Thread-safe: runs fn(userdata) on the loop thread soon. Never fails:
 * posts are queued in memory and signalled through an eventfd. */
void loop_post(struct loop *l, loop_post_fn fn, void *userdata);

/* Stops and releases a source; NULL-safe, returns NULL. */
struct loop_source *loop_source_free(struct loop_source *s);
void loop_source_set_userdata(struct loop_source *s, void *userdata);
