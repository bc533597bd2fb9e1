/* The agent: one struct that owns everything (STYLE: no global state), on
 * one lib/loop.h loop. Blocking work goes to `pool`; long polls park their
 * requests on the domain objects and are answered from loop callbacks.
 * Children: every process the agent starts is tracked as a struct
 * agent_child; SIGCHLD reaps every child (the agent is a subreaper, so
 * processes re-parented from the init helpers come here too) and dispatches
 * known ones by the pid the kernel just reported, which cannot have been
 * reused since nobody else reaps them. Errors: negative errno values, with
 * messages in a struct err where a person needs one. */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "agent/list.h"

struct loop;
struct workpool;
struct ttrpc_server;
struct container;
struct err;
struct storage_set;
struct kmod;

struct agent_child {
    struct list_node node;
    pid_t pid;
    int pidfd;
    void (*exited)(struct agent_child *c, int status); /* exit code or 128+signal */
};

struct agent_oom_req {
    struct list_node node;
    void (*done)(struct agent_oom_req *req, const char *container_id);
};

#define AGENT_MAX_CONTAINERS 1024
#define AGENT_MAX_OOM_EVENTS 64

struct agent {
    struct loop *loop;
    struct workpool *pool;
    struct ttrpc_server *server;
    int self_fd;          /* sealed memfd copy of our binary, for the init helper */
    char *shared_dir;     /* CopyFile base */
    char *run_dir;        /* /run/kata-containers */
    char *sandbox_id, *hostname;
    bool sandbox_created;
    struct storage_set *storages; /* agent/storage.h */
    struct list_node containers;
    unsigned n_containers;
    struct list_node children;
    struct list_node oom_reqs;
    char *oom_events[AGENT_MAX_OOM_EVENTS];
    unsigned n_oom_events;
    uint64_t started_ns;
    uint32_t hotplug_timeout_ms; /* how long a blk storage waits for its device */
    uint32_t container_pipe_size; /* stdout/stderr pipe size; 0: the kernel's */
    char *modules_dir;           /* CreateSandbox's kernel_modules; NULL: none can load */
    atomic_bool stopping;        /* set by agent_free(): waits on the pool give up */
    struct kmod *kmod;           /* modules loading after serving, the RPC gate (agent/kmod.h) */
};

struct agent_options {
    const char *shared_dir; /* NULL: /run/kata-containers/shared/containers */
    const char *run_dir;    /* NULL: /run/kata-containers */
    uint32_t hotplug_timeout_ms; /* 0: AGENT_DEFAULT_HOTPLUG_TIMEOUT_MS */
    uint32_t container_pipe_size; /* agent.container_pipe_size; 0: the kernel's default */
    const char *modules_dir; /* where CreateSandbox's kernel_modules come from (agent/pid1.h
                              * layout); NULL: refuse them (not the guest's init) */
};

#define AGENT_DEFAULT_HOTPLUG_TIMEOUT_MS 3000

int agent_new(struct loop *loop, const struct agent_options *opts, struct agent **ret_agent,
              struct err *e);
struct agent *agent_free(struct agent *a);

/* Called on SIGCHLD: reaps every exited child. */
void agent_reap(struct agent *a);
void agent_child_track(struct agent *a, struct agent_child *c);
void agent_child_untrack(struct agent_child *c);

struct container *agent_container(struct agent *a, const char *id);

/* A container was OOM-killed: answer one parked GetOOMEvent or queue it. */
void agent_oom_event(struct agent *a, const char *container_id);
/* Parks req until an event comes (answered at once when one is queued). */
void agent_oom_wait(struct agent *a, struct agent_oom_req *req);
void agent_oom_cancel(struct agent_oom_req *req);

/* A sealed, read-only memfd holding a copy of /proc/self/exe. */
int agent_self_memfd(void);
