/* Containers and their processes, as the Task service sees them. Domain
 * code: plain C types; completions come back through callbacks on the
 * shim's loop, never from inside the call that started them. A function
 * returning a negative errno refused the request (no callback runs), with
 * the reason in *e. Pids are the VMM's (Kata's rule: guest pids are not
 * visible on the host). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct shim;
struct err;
struct container;
struct process;
struct share_mount;
struct agent_json;
struct agent_reply;

typedef void (*container_created_fn)(void *ud, int code, const char *msg, uint32_t pid);
typedef void (*container_done_fn)(void *ud, int code, const char *msg);
typedef void (*process_wait_fn)(void *ud, uint32_t exit_status, const struct timespec *at);

struct container_params {
    const char *id;
    const char *bundle;
    const struct share_mount *rootfs;
    size_t n_rootfs;
    bool terminal;
    const char *stdin_path, *stdout_path, *stderr_path;
    const char *config_path; /* ConfigPath of the runtime options, or NULL */
};

enum process_status { PROCESS_CREATED, PROCESS_RUNNING, PROCESS_STOPPED, PROCESS_PAUSED };

struct process_info {
    enum process_status status;
    uint32_t pid;
    uint32_t exit_status;
    struct timespec exited_at; /* zero until it exited */
    const char *bundle, *exec_id;
    const char *stdin_path, *stdout_path, *stderr_path;
    bool terminal;
};

int container_create(struct shim *shim, const struct container_params *p,
                     container_created_fn fn, void *ud, struct err *e);
struct container *container_find(struct shim *shim, const char *id);
/* exec_id "" (or NULL) is the init process; NULL when unknown. */
struct process *container_process(struct container *c, const char *exec_id);
/* Containers of this shim, including those being created. */
unsigned container_count(const struct shim *shim);

/* Start the init process or an exec. */
int process_start(struct process *p, container_created_fn fn, void *ud, struct err *e);
/* Answers at once (fn runs before returning 1) when the process has
 * exited, else queues the waiter and returns 0. */
int process_wait(struct process *p, process_wait_fn fn, void *ud);
void process_info(const struct process *p, struct process_info *ret);
int process_kill(struct process *p, uint32_t signo, bool all, container_done_fn fn, void *ud,
                 struct err *e);
int process_resize(struct process *p, uint32_t width, uint32_t height, container_done_fn fn,
                   void *ud, struct err *e);
int process_close_stdin(struct process *p, struct err *e);

/* Registers an exec (started by process_start). spec is consumed. */
int container_exec(struct container *c, const char *exec_id, bool terminal,
                   const char *stdin_path, const char *stdout_path, const char *stderr_path,
                   struct agent_json *spec, struct err *e);
/* Deletes a stopped exec: fills *ret and frees it. */
int container_delete_exec(struct container *c, const char *exec_id, struct process_info *ret,
                          struct err *e);

typedef void (*container_deleted_fn)(void *ud, int code, const char *msg,
                                     const struct process_info *info);
/* Deletes the container once its init process is stopped (or never ran).
 * Deleting a pod's sandbox container while others remain stops the VM:
 * their processes end with 255, and their own Deletes clean the host. */
int container_delete(struct container *c, container_deleted_fn fn, void *ud, struct err *e);
int container_pause(struct container *c, bool pause, container_done_fn fn, void *ud,
                    struct err *e);
/* resources is consumed. */
int container_update(struct container *c, struct agent_json *resources, container_done_fn fn,
                     void *ud, struct err *e);
/* fn gets the agent's reply (reply->stats for the glue to convert). */
int container_stats(struct container *c, void (*fn)(const struct agent_reply *r, void *ud),
                    void *ud, struct err *e);
