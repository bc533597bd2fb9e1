/* Modules loaded after serving and the gate in front of AgentService; see
 * kmod.h.
 *
 * Why a worker thread and not a forked child or loading on demand: the
 * finit_module() calls block for ~80 ms under TCG and are kernel-global,
 * so any thread may make them; the worker pool already hands completion
 * back to the loop, and the agent's SIGCHLD reaper stays about containers.
 * Loading each module in the code path that needs it (overlay in the
 * rootfs mount, virtio_net in the network RPCs, ...) would spread
 * module knowledge over every RPC and still have to cover devices the host
 * plugs before its first RPC; holding every AgentService call behind one
 * load costs at most the load's remaining time, once per boot. */
#include "agent/kmod.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "agent/agent.h"
#include "agent/list.h"
#include "agent/pid1.h"
#include "lib/err.h"
#include "lib/log.h"
#include "lib/loop.h"
#include "lib/workpool.h"
#include "lib/xalloc.h"

/* The loader runs at the lowest CPU priority, so that with one vCPU the
 * agent gets the CPU back between modules to answer the host's first calls;
 * inside finit_module() the guest kernel (PREEMPT_VOLUNTARY) does not
 * preempt it, which costs the first answer 10-20 ms under TCG
 * (docs/performance.md). When an RPC waits for the load, the agent is idle
 * and the loader has the CPU anyway. */
#define KMOD_NICE 19

struct kmod_wait {
    struct list_node node;
    struct kmod *k;
    struct ttrpc_call *call;
    const ProtobufCMessage *msg;
    ttrpc_handler_fn fn;
};

struct kmod {
    struct agent *a;
    const ProtobufCServiceDescriptor *service;
    ttrpc_handler_fn *fns; /* the real handlers, by method index */
    bool loading;
    struct list_node waiting;
    /* The job: written by the worker while loading is set, read after. */
    void (*work)(void *userdata); /* kmod_start_work(): runs instead of the loads */
    void *work_arg;
    char **names;
    size_t n_names;
    int *results;
    int loaded;
    struct err e;
    uint64_t took_ns;
};

static struct kmod *kmod_get(struct agent *a)
{
    if (!a->kmod) {
        a->kmod = xnew(struct kmod, 1);
        a->kmod->a = a;
        list_init(&a->kmod->waiting);
    }
    return a->kmod;
}

static void free_names(struct kmod *k)
{
    for (size_t i = 0; i < k->n_names; i++)
        free(k->names[i]);
    free(k->names);
    free(k->results);
    k->names = NULL;
    k->results = NULL;
    k->n_names = 0;
}

static void wait_cancelled(struct ttrpc_call *call, void *userdata)
{
    struct kmod_wait *w = userdata;
    list_unlink(&w->node);
    ttrpc_call_fail(call, TTRPC_CANCELLED, "%s cancelled while kernel modules were loading",
                    ttrpc_call_method(call));
    free(w);
}

static void gate(struct ttrpc_call *call, const ProtobufCMessage *msg, void *userdata)
{
    struct agent *a = userdata;
    struct kmod *k = a->kmod;
    const ProtobufCMethodDescriptor *m =
        protobuf_c_service_descriptor_get_method_by_name(k->service, ttrpc_call_method(call));
    /* The server only routes this service's registered methods here. */
    assert(m);
    ttrpc_handler_fn fn = k->fns[m - k->service->methods];
    if (!k->loading) {
        fn(call, msg, a);
        return;
    }
    struct kmod_wait *w = xnew(struct kmod_wait, 1);
    *w = (struct kmod_wait){.k = k, .call = call, .msg = msg, .fn = fn};
    list_append(&k->waiting, &w->node);
    ttrpc_call_on_cancel(call, wait_cancelled, w);
    log_debug("%s waits for the kernel modules still loading", ttrpc_call_method(call));
}

void kmod_gate_handlers(struct agent *a, const ProtobufCServiceDescriptor *service,
                        ttrpc_handler_fn *handlers)
{
    struct kmod *k = kmod_get(a);
    assert(!k->service);
    k->service = service;
    k->fns = xnew(ttrpc_handler_fn, service->n_methods ? service->n_methods : 1);
    for (unsigned i = 0; i < service->n_methods; i++) {
        k->fns[i] = handlers[i];
        if (handlers[i])
            handlers[i] = gate;
    }
}

static void load_work(void *userdata)
{
    struct kmod *k = userdata;
    uint64_t t0 = loop_now();
    /* Linux keeps a nice value per thread: this changes the worker only. */
    pid_t tid = (pid_t)syscall(SYS_gettid);
    (void)setpriority(PRIO_PROCESS, (id_t)tid, KMOD_NICE);
    if (k->work) {
        k->work(k->work_arg);
    } else {
        k->loaded = pid1_load_remaining_modules(&k->e);
        for (size_t i = 0; i < k->n_names; i++)
            k->results[i] = pid1_load_module(k->names[i]);
    }
    /* Back to the pool's priority (root may raise it again). */
    (void)setpriority(PRIO_PROCESS, (id_t)tid, 0);
    k->took_ns = loop_now() - t0;
}

static void log_results(const struct kmod *k)
{
    if (k->loaded < 0)
        log_errno(LOG_WARN, k->loaded, "kernel modules: %s", err_msg(&k->e));
    else
        log_info("%d more kernel modules loaded in %llu ms after serving", k->loaded,
                 (unsigned long long)(k->took_ns / 1000000));
    for (size_t i = 0; i < k->n_names; i++) {
        if (k->results[i] < 0)
            log_errno(LOG_WARN, k->results[i], "agent.kernel_modules: cannot load %s from the "
                      "initrd", k->names[i]);
        else
            log_info("agent.kernel_modules: %s loaded", k->names[i]);
    }
}

static void load_done(void *userdata)
{
    struct kmod *k = userdata;
    if (!k->work)
        log_results(k);
    free_names(k);
    k->work = NULL;
    k->loading = false;
    struct list_node *n;
    while ((n = list_pop(&k->waiting))) {
        struct kmod_wait *w = list_entry(n, struct kmod_wait, node);
        ttrpc_call_on_cancel(w->call, NULL, NULL);
        if (atomic_load(&k->a->stopping))
            ttrpc_call_fail(w->call, TTRPC_UNAVAILABLE, "the agent is shutting down");
        else
            w->fn(w->call, w->msg, k->a);
        free(w);
    }
}

int kmod_start(struct agent *a, const char *const *names, size_t n)
{
    struct kmod *k = kmod_get(a);
    if (k->loading)
        return -EBUSY;
    k->names = xnew(char *, n ? n : 1);
    k->results = xnew(int, n ? n : 1);
    for (size_t i = 0; i < n; i++)
        k->names[i] = xstrdup(names[i]);
    k->n_names = n;
    k->loaded = 0;
    err_clear(&k->e);
    int r = workpool_submit(a->pool, load_work, load_done, k);
    if (r < 0) {
        free_names(k);
        return r;
    }
    k->loading = true;
    return 0;
}

int kmod_start_work(struct agent *a, void (*work)(void *userdata), void *userdata)
{
    struct kmod *k = kmod_get(a);
    if (k->loading)
        return -EBUSY;
    k->work = work;
    k->work_arg = userdata;
    int r = workpool_submit(a->pool, load_work, load_done, k);
    if (r < 0) {
        k->work = NULL;
        return r;
    }
    k->loading = true;
    return 0;
}

bool kmod_loading(const struct agent *a)
{
    return a->kmod && a->kmod->loading;
}

struct kmod *kmod_free(struct kmod *k)
{
    if (!k)
        return NULL;
    /* agent_free() frees the pool first, which ran load_done(): nothing is
     * loading or waiting any more. */
    assert(!k->loading && list_empty(&k->waiting));
    free_names(k);
    free(k->fns);
    free(k);
    return NULL;
}
