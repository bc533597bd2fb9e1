/* The serving shim daemon's top object. One `struct shim` per process, owned
 * by daemon.c and passed explicitly to every module (no globals, so a test
 * can run two in one process). Everything here lives on the shim's single
 * lib/loop.h thread; blocking work (hypervisor operations, mounts, dials)
 * goes to `pool` and comes back to the loop. */
#pragma once

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "lib/ttrpc/ttrpc.h"

struct loop;
struct workpool;
struct events;
struct sandbox;
struct container;

/* Host folders (Kata's names, DESIGN.md "Naming"). */
#define SHIM_VM_STATE_DIR "/run/vc/vm"
#define SHIM_SHARED_ROOT "/run/kata-containers/shared/sandboxes"
#define SHIM_VERSION "0.1.0"

struct shim {
    struct loop *loop;
    struct workpool *pool;
    struct ttrpc_server *server;
    struct events *events;
    struct sandbox *sandbox;  /* NULL until the first Create */
    struct container *pending; /* Creates still reading their bundle */
    /* Tests only: dial this agent address instead of starting a VM (the
     * in-process fake agent of tests/support/fake_agent.h). */
    const char *agent_uri_override;

    const char *namespace_;   /* from the command line; borrowed from argv */
    const char *id;           /* the id the daemon was started for */
    const char *grpc_address;
    const char *publish_binary;
    const char *ttrpc_address; /* TTRPC_ADDRESS, or <grpc address>.ttrpc */
    char bundle[PATH_MAX];    /* the daemon's working directory */
    char socket_path[PATH_MAX]; /* removed on exit; "" when unknown */

    bool exiting;
    int exit_code;
};

/* Asks the daemon to stop serving: replies in flight are flushed, then the
 * loop returns. Used by Shutdown and by SIGTERM. */
void shim_request_exit(struct shim *shim, int code);
/* Number of containers the daemon still serves (Shutdown refuses to exit
 * while this is non-zero). */
unsigned shim_container_count(const struct shim *shim);
/* The pid containerd shows for tasks: the VMM's (Kata's rule), 0 before
 * the VM runs. */
uint32_t shim_task_pid(const struct shim *shim);
