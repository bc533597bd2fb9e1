/* One process of a container (its init or an exec), started through the
 * re-executed init helper (agent/init_proto.h). Runs on the agent's loop;
 * every callback runs exactly once. A process is created by
 * process_spawn(): `ready` runs when the helper finished set-up (create
 * mode: the process then waits for process_start(); exec mode: it is started
 * at once and `ready` runs once the exec succeeded) or when set-up failed.
 * Exits are reported by the agent's reaper; waiters get the exit status
 * (128+signal for a signal). Errors: negative errno + struct err. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "agent/list.h"

struct agent;
struct cgroup;
struct err;
struct stdio;
struct oci_spec;
struct process;

typedef void (*process_done_fn)(void *userdata, int r, const struct err *e);

struct process_wait {
    struct list_node node;
    void (*done)(struct process_wait *w, int status);
};

struct process_spawn_opts {
    int mode;                /* INIT_MODE_CREATE or INIT_MODE_EXEC */
    const void *spec_blob;   /* packed Spec for the helper */
    size_t spec_size;
    const struct oci_spec *spec; /* id maps for a new user namespace */
    const struct cgroup *cgroup;
    int join_pidfd;          /* exec: the container init's pidfd */
    uint32_t join_flags;     /* exec: CLONE_NEW* to join */
    uint32_t pod_flags;      /* create: CLONE_NEW* to share with the agent */
    bool tty;
    unsigned rows, cols;
};

int process_spawn(struct agent *a, const char *exec_id, const struct process_spawn_opts *o,
                  process_done_fn ready, void *userdata, struct process **ret, struct err *e);
/* Kills (if running) and frees; waiters are answered, parked reads get EOF.
 * NULL-safe, returns NULL. */
struct process *process_free(struct process *p);

/* Lets a created process exec; done runs once the exec happened (or failed). */
int process_start(struct process *p, process_done_fn done, void *userdata);
int process_signal(struct process *p, int signo);
void process_wait(struct process *p, struct process_wait *w);
void process_wait_cancel(struct process_wait *w);
/* Called (once) when the process exits. */
void process_on_exit(struct process *p, void (*fn)(struct process *p, void *userdata),
                     void *userdata);

bool process_exited(const struct process *p);
bool process_started(const struct process *p);
int process_status(const struct process *p);
pid_t process_pid(const struct process *p);
int process_pidfd(const struct process *p);
const char *process_exec_id(const struct process *p);
struct stdio *process_stdio(struct process *p);
bool process_waited(const struct process *p);
/* The owner is done with an exited process once its output was read: fn
 * runs later from the loop when stdout and stderr (with a tty, the one
 * stream) have been read to EOF, or when no read came for grace_ns (a
 * reader that never comes, or a grandchild that keeps the pipe open).
 * fn may free the process. Once only; process_free() cancels it. */
void process_release(struct process *p, uint64_t grace_ns,
                     void (*fn)(struct process *p, void *userdata), void *userdata);
/* A read of stdout (or stderr) answered n bytes; 0 is EOF. */
void process_output_read(struct process *p, bool err_stream, size_t n);

/* Intrusive link for the owning container's list. */
struct list_node *process_node(struct process *p);
struct process *process_from_node(struct list_node *n);
