/* The shim's domain objects, shared by sandbox.c, container.c and
 * process.c (not for the glue): one sandbox per shim, its containers, and
 * each container's processes (the init process and execs). Everything
 * lives on the shim's loop; blocking work goes to the shim's workpool.
 * Plain C types only. */
#pragma once

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "shim/container.h"
#include "shim/runtime_config.h"
#include "shim/share.h"

struct shim;
struct hv_vm;
struct agent_client;
struct agent_op;
struct agent_json;
struct io;
struct loop_source;
struct network;
struct network_agent;

enum sandbox_state { SANDBOX_STARTING, SANDBOX_READY, SANDBOX_FAILED, SANDBOX_STOPPING };

struct sandbox {
    struct shim *shim;
    char id[256];
    enum sandbox_state state;
    char error[256];            /* why it failed */
    struct runtime_config cfg;
    struct hv_config hv;        /* strings borrowed from cfg and shared_dir */
    char shared_dir[PATH_MAX];
    struct hv_vm *vm;
    struct agent_client *ac;
    struct loop_source *vmm_watch; /* a dup of the VMM pidfd, readable at exit */
    int vmm_pidfd;
    int vmm_pid;
    bool vm_dead;
    bool job_running;           /* one hypervisor operation at a time */
    struct container *containers;
    struct loop_source *lost_defer;     /* VM death handling, off any callback */
    struct loop_source *teardown_defer;
    struct network *net;                /* the pod's interfaces (shim/network.h) */
    struct network_agent *net_op;       /* sending them to the agent */
    char hostname[65];                  /* the first container's spec hostname: CreateSandbox */
    char **dns;                         /* its /etc/resolv.conf lines: CreateSandbox */
    size_t n_dns;
};

enum process_state { PROC_CREATED, PROC_STARTING, PROC_RUNNING, PROC_STOPPED };

struct waiter {
    struct waiter *next;
    process_wait_fn fn;
    void *ud;
};

struct process {
    struct container *c;
    struct process *next;        /* the container's exec list */
    char exec_id[256];           /* containerd's; "" for the init process */
    /* The exec's name in the agent: a random UUID (as Kata's runtime picks),
     * never containerd's id, which could equal the container id (the
     * agent's name for the init process) or another exec's old name; ""
     * for the init process. */
    char agent_exec_id[40];
    char stdin_path[PATH_MAX], stdout_path[PATH_MAX], stderr_path[PATH_MAX];
    bool terminal;
    enum process_state state;
    struct agent_json *exec_spec; /* execs, until ExecProcess */
    struct io *io;
    struct agent_op *wait_op;
    bool exit_known;             /* WaitProcess answered (or the VM died) */
    int exit_status;
    struct timespec exited_at;
    struct waiter *waiters;
    struct loop_source *check;   /* deferred exit check */
    struct loop_source *drain_timer;
    uint64_t drain_progress;
};

enum container_state { CTR_CREATING, CTR_READY, CTR_DELETING };

struct container {
    struct sandbox *sb;
    struct container *next;
    char id[256];
    char bundle[PATH_MAX];
    char config_json[PATH_MAX];
    enum container_state state;
    bool paused;
    bool rootfs_mounted;
    struct share_mount *rootfs;  /* owned copies */
    size_t n_rootfs;
    struct process *init;
    struct process *execs;
    container_created_fn created_fn;
    void *created_ud;
    struct runtime_config *pending_cfg; /* until the sandbox exists */
    struct hooks *hooks;                /* host OCI hooks (shim/hooks.h), or NULL */
};

struct events_task;
/* container.c: publishes through shim->events (none in some tests). */
void container_publish(struct shim *shim, int kind, const struct events_task *t);

/* sandbox.c */
int sandbox_attach(struct shim *shim, struct container *c, const char *sandbox_id,
                   struct runtime_config *cfg, char *errbuf, size_t errsize);
void sandbox_detach(struct sandbox *sb, struct container *c);
bool sandbox_guest_sees_host(const struct sandbox *sb);
/* container.c: frees without callbacks (exit path). */
void container_destroy(struct container *c);
/* container.c: called by the sandbox once it is ready or has failed. */
void container_sandbox_ready(struct container *c);
void container_sandbox_failed(struct container *c, int code, const char *msg);
/* process.c */
struct process *process_new(struct container *c, const char *exec_id, const char *stdin_path,
                            const char *stdout_path, const char *stderr_path, bool terminal);
void process_free(struct process *p);
/* The agent answered CreateContainer/StartContainer/ExecProcess. */
void process_started(struct process *p);
/* The VM died or the process can never run: exit with this status now. */
void process_force_exit(struct process *p, int status);
uint32_t process_pid(const struct process *p);
