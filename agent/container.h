/* Containers in the agent: create (through the init helper, parked until
 * StartContainer), start, exec, signal, pause/resume, update, stats, OOM
 * watch and removal. Loop thread only; `done` callbacks run exactly once,
 * never from inside the call that took them. Errors are negative errno with
 * a message in struct err: -ENOENT unknown id, -EEXIST duplicate id,
 * -EINVAL bad spec (the message names the field), -EBUSY wrong state. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct agent;
struct container;
struct process;
struct err;
struct oci_spec;
struct oci_resources;
struct cgroup_stats;

typedef void (*container_done_fn)(void *userdata, int r, const struct err *e);

#define CONTAINER_MAX_EXECS 1024

/* Takes spec and blob (heap) in every case. */
int container_create(struct agent *a, const char *id, const char *exec_id, struct oci_spec *spec,
                     void *blob, size_t blob_size, container_done_fn done, void *userdata,
                     struct err *e);
int container_start(struct container *c, container_done_fn done, void *userdata, struct err *e);
/* blob: the packed Spec for the exec helper (taken); process: its settings. */
int container_exec(struct container *c, const char *exec_id, void *blob, size_t blob_size,
                   bool tty, unsigned rows, unsigned cols, container_done_fn done,
                   void *userdata, struct err *e);
int container_signal(struct container *c, const char *exec_id, int signo, struct err *e);
/* timeout_s 0: no limit. */
int container_remove(struct container *c, unsigned timeout_s, container_done_fn done,
                     void *userdata, struct err *e);
int container_pause(struct container *c, bool pause, container_done_fn done, void *userdata,
                    struct err *e);
int container_update(struct container *c, const struct oci_resources *res, struct err *e);
int container_stats(struct container *c, struct cgroup_stats *ret, struct err *e);
/* Kills everything and frees at once (agent shutdown). */
void container_destroy_now(struct container *c);

/* The process for exec_id ("" or the init's exec id: the init), or NULL. */
struct process *container_process(struct container *c, const char *exec_id);
/* Drops an exec process once it exited, a WaitProcess saw it (Kata) and its
 * output was read to EOF (or nobody read it for a while). */
void container_reap_exec(struct container *c, struct process *p);
const char *container_id(const struct container *c);
struct list_node;
struct container *container_from_node(struct list_node *n);
const void *container_spec_blob(const struct container *c, size_t *ret_size);
