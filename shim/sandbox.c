/* The sandbox; see sandbox.h. */
#include "shim/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hypervisor/hv.h"
#include "lib/compiler.h"
#include "lib/err.h"
#include "lib/log.h"
#include "lib/loop.h"
#include "lib/workpool.h"
#include "lib/xalloc.h"
#include "shim/agent_client.h"
#include "shim/agent_spec.h"
#include "shim/container-internal.h"
#include "shim/events.h"
#include "shim/network.h"
#include "shim/network_agent.h"
#include "shim/sandbox_net.h"
#include "shim/share.h"
#include "shim/shim.h"

#define SEC UINT64_C(1000000000)
#define VM_START_TIMEOUT_NS (60 * SEC)
#define VM_STOP_TIMEOUT_NS (5 * SEC)
#define EXIT_VM_GONE 255

static void sb_stop(struct sandbox *sb);

unsigned sandbox_container_count(const struct sandbox *sb)
{
    unsigned n = 0;

    for (const struct container *c = sb ? sb->containers : NULL; c; c = c->next)
        n++;
    return n;
}

int sandbox_vmm_pid(const struct sandbox *sb)
{
    if (!sb)
        return 0;
    if (sb->shim->agent_uri_override)
        return (int)getpid(); /* tests without a VM: the shim stands in */
    return sb->vmm_pid;
}

bool sandbox_guest_sees_host(const struct sandbox *sb)
{
    return sb->cfg.kind == HV_KIND_MOCK || sb->shim->agent_uri_override;
}

/* ---- failure and VM death ---- */

static void sb_fail(struct sandbox *sb, int code, const char *msg)
{
    struct container *c, *next;

    if (sb->state == SANDBOX_FAILED || sb->state == SANDBOX_STOPPING)
        return;
    sb->state = SANDBOX_FAILED;
    snprintf(sb->error, sizeof(sb->error), "%s", msg);
    log_error("sandbox %s: %s", sb->id, msg);
    for (c = sb->containers; c; c = next) {
        next = c->next;
        container_sandbox_failed(c, code, msg);
    }
    if (!sb->containers)
        sb_stop(sb);
}

/* Every process ends with 255 and TaskExit; Wait callers get answers. */
static void vm_died(struct loop_source *s, void *ud)
{
    struct sandbox *sb = ud;

    (void)s;
    sb->lost_defer = loop_source_free(sb->lost_defer);
    if (sb->vm_dead)
        return;
    sb->vm_dead = true;
    sb->vmm_watch = loop_source_free(sb->vmm_watch);
    if (sb->state == SANDBOX_STARTING) {
        sb_fail(sb, -ECONNRESET, "the sandbox VM stopped during start");
        return;
    }
    log_error("sandbox %s: the VM or its agent is gone", sb->id);
    agent_client_disconnect(sb->ac);
    for (struct container *c = sb->containers; c; c = c->next) {
        if (c->state == CTR_CREATING)
            continue;
        for (struct process *p = c->execs; p; p = p->next)
            process_force_exit(p, EXIT_VM_GONE);
        process_force_exit(c->init, EXIT_VM_GONE);
    }
}

static void schedule_vm_died(struct sandbox *sb)
{
    if (!sb->lost_defer && !sb->vm_dead)
        loop_add_defer(sb->shim->loop, vm_died, sb, &sb->lost_defer);
}

static void on_vmm_exit(struct loop_source *s, int fd, uint32_t revents, void *ud)
{
    (void)s;
    (void)fd;
    (void)revents;
    schedule_vm_died(ud);
}

static void on_agent_lost(struct agent_client *ac, void *ud)
{
    (void)ac;
    schedule_vm_died(ud);
}

static void on_oom(const char *cid, void *ud)
{
    struct sandbox *sb = ud;
    struct events_task ev = {.container_id = cid};

    log_warn("container %s: out of memory", cid);
    container_publish(sb->shim, EVENTS_TASK_OOM, &ev);
}

/* ---- start: VM, agent, CreateSandbox ---- */

static void create_sandbox_done(const struct agent_reply *r, void *ud)
{
    struct sandbox *sb = ud;
    struct container *c, *next;
    char msg[300];

    if (r->code < 0) {
        snprintf(msg, sizeof(msg), "CreateSandbox: %s", r->msg);
        sb_fail(sb, r->code, msg);
        return;
    }
    if (sb->state != SANDBOX_STARTING)
        return;
    sb->state = SANDBOX_READY;
    log_info("sandbox %s ready", sb->id);
    agent_watch_oom(sb->ac, on_oom, sb);
    for (c = sb->containers; c; c = next) {
        next = c->next;
        if (c->state == CTR_CREATING)
            container_sandbox_ready(c);
    }
}

/* The Storage that mounts the shared folder in the guest; none when the
 * "guest" is a local process that sees the host's folders. */
static enum agent_share guest_share(const struct sandbox *sb)
{
    if (sandbox_guest_sees_host(sb))
        return AGENT_SHARE_NONE;
    switch (sb->cfg.shared_fs) {
    case HV_SHARED_FS_VIRTIO_FS:
        return AGENT_SHARE_VIRTIO_FS;
    case HV_SHARED_FS_VIRTIO_9P:
        return AGENT_SHARE_9P;
    case HV_SHARED_FS_NONE:
        break;
    }
    return AGENT_SHARE_NONE;
}

static void send_create_sandbox(struct sandbox *sb)
{
    /* [agent.kata] kernel_modules, after the pod's annotations: Kata's agent
     * loads them before it answers. */
    const char *modules[RUNTIME_CONFIG_MODULES_MAX];
    for (size_t i = 0; i < sb->cfg.n_kernel_modules; i++)
        modules[i] = sb->cfg.kernel_modules[i];
    int r = agent_create_sandbox(sb->ac, sb->id, sb->hostname, sb->dns, sb->n_dns, guest_share(sb),
                                 sb->cfg.hv.msize_9p, modules, sb->cfg.n_kernel_modules,
                                 create_sandbox_done, sb, NULL);

    if (r < 0)
        sb_fail(sb, r, "CreateSandbox: the agent is not connected");
}

static void network_configured(int code, const char *msg, void *ud)
{
    struct sandbox *sb = ud;

    sb->net_op = NULL;
    if (code < 0)
        sb_fail(sb, code, msg);
    else
        send_create_sandbox(sb);
}

static void agent_ready(struct agent_client *ac, int code, const char *msg, void *ud)
{
    struct sandbox *sb = ud;

    if (code < 0) {
        sb_fail(sb, code, msg);
        return;
    }
    /* Kata's order: the pod's interfaces, routes and neighbours first. */
    if (sb->net && sb->net->n_eps > 0)
        network_agent_configure(sb->shim->loop, ac, sb->net, network_configured, sb,
                                &sb->net_op);
    else
        send_create_sandbox(sb);
}

struct sjob {
    struct sandbox *sb;
    struct hv_vm *vm;
    bool use_vm;
    char config_json[PATH_MAX];
    struct network *net;
    char uri[256];
    char hostname[65];
    char **dns;
    size_t n_dns;
    int pidfd, pid;
    int r;
    struct err e;
};

/* The first container's spec names the pod's hostname and DNS (a CRI
 * sandbox's spec; none under plain ctr run), which CreateSandbox gives the
 * guest. A spec that does not load is reported when its container is
 * created. */
static void read_identity(struct sjob *j)
{
    struct agent_spec *spec = NULL;
    struct err e = ERR_INIT;

    if (agent_spec_load(j->config_json, j->sb->id, "/", &spec, &e) < 0 ||
        agent_spec_hostname(spec, j->hostname, sizeof(j->hostname), &e) < 0) {
        log_warn("sandbox %s: no hostname for the guest: %s", j->sb->id, err_msg(&e));
        j->hostname[0] = '\0';
    }
    err_clear(&e);
    if (spec && agent_spec_dns(spec, &j->dns, &j->n_dns, &e) < 0)
        log_warn("sandbox %s: no DNS for the guest: %s", j->sb->id, err_msg(&e));
    agent_spec_free(spec);
}

static void start_work(void *ud)
{
    struct sjob *j = ud;
    struct sandbox *sb = j->sb;

    read_identity(j);
    if ((j->r = share_setup(sb->id, &j->e)) < 0 || !j->use_vm)
        return;
    if ((j->r = sandbox_net_prepare(sb->id, &sb->cfg, j->config_json, &sb->hv, &j->net,
                                    &j->e)) < 0)
        return;
    if ((j->r = hv_vm_new(&sb->hv, SHIM_VM_STATE_DIR, sb->id, &j->vm, &j->e)) < 0)
        return;
    if ((j->r = hv_vm_start(j->vm, VM_START_TIMEOUT_NS, &j->e)) < 0)
        return;
    if ((j->r = sandbox_net_hotplug(j->vm, j->net, &j->e)) < 0)
        return;
    if ((j->r = hv_vm_agent_address(j->vm, j->uri, sizeof(j->uri))) < 0) {
        err_set(&j->e, j->r, "no agent address");
        return;
    }
    j->pid = hv_vm_pid(j->vm);
    if (hv_vm_pidfd(j->vm) >= 0)
        j->pidfd = fcntl(hv_vm_pidfd(j->vm), F_DUPFD_CLOEXEC, 3);
}

static void start_done(void *ud)
{
    struct sjob *j = ud;
    struct sandbox *sb = j->sb;
    int r;

    sb->job_running = false;
    snprintf(sb->hostname, sizeof(sb->hostname), "%s", j->hostname);
    sb->dns = TAKE_PTR(j->dns);
    sb->n_dns = j->n_dns;
    sb->vm = j->vm;
    sb->vmm_pid = j->pid;
    sb->vmm_pidfd = j->pidfd;
    sb->net = j->net;
    if (sb->state == SANDBOX_STOPPING) { /* every container left meanwhile */
        sb->state = SANDBOX_FAILED;
        sb_stop(sb);
        free(j);
        return;
    }
    if (j->r < 0) {
        sb_fail(sb, j->r, err_msg(&j->e));
        free(j);
        return;
    }
    if (sb->vmm_pidfd >= 0 &&
        loop_add_io(sb->shim->loop, sb->vmm_pidfd, EPOLLIN, on_vmm_exit, sb, &sb->vmm_watch) < 0)
        log_warn("sandbox %s: cannot watch the VMM", sb->id);
    log_info("sandbox %s: %s VM up (pid %d), dialing the agent at %s", sb->id,
             hv_kind_name(sb->cfg.kind), sb->vmm_pid, j->uri);
    r = agent_client_new(sb->shim->loop, sb->shim->pool, j->uri, sb->cfg.dial_timeout_ns,
                         agent_ready, on_agent_lost, sb, &sb->ac);
    free(j);
    if (r < 0)
        sb_fail(sb, r, "cannot start dialing the agent");
}

static int sb_start(struct sandbox *sb, const char *config_json)
{
    struct sjob *j = xnew(struct sjob, 1);
    const char *override = sb->shim->agent_uri_override;
    int r;

    j->sb = sb;
    j->pidfd = -1;
    j->use_vm = !override;
    snprintf(j->config_json, sizeof(j->config_json), "%s", config_json);
    if (override)
        snprintf(j->uri, sizeof(j->uri), "%s", override);
    r = workpool_submit(sb->shim->pool, start_work, start_done, j);
    if (r < 0) {
        free(j);
        return r;
    }
    sb->job_running = true;
    return 0;
}

int sandbox_attach(struct shim *shim, struct container *c, const char *sandbox_id,
                   struct runtime_config *cfg, char *errbuf, size_t errsize)
{
    struct sandbox *sb = shim->sandbox;
    int r;

    if (sb) {
        free(cfg);
        if (strcmp(sb->id, sandbox_id) != 0) {
            snprintf(errbuf, errsize, "container %s belongs to sandbox %s, this shim serves %s",
                     c->id, sandbox_id, sb->id);
            return -EINVAL;
        }
        if (sb->state == SANDBOX_FAILED || sb->state == SANDBOX_STOPPING) {
            snprintf(errbuf, errsize, "sandbox %s is not available: %s", sb->id,
                     sb->error[0] ? sb->error : "stopping");
            return -EAGAIN;
        }
        c->sb = sb;
        c->next = sb->containers;
        sb->containers = c;
        if (sb->state == SANDBOX_READY)
            container_sandbox_ready(c);
        return 0;
    }
    /* Kata's shared_fs = "none" needs every rootfs on a block device, which
     * this shim does not hand to the guest: refuse before booting a VM. */
    if (cfg->shared_fs == HV_SHARED_FS_NONE && cfg->kind != HV_KIND_MOCK &&
        !shim->agent_uri_override) {
        snprintf(errbuf, errsize,
                 "[hypervisor.%s] shared_fs = \"none\" is not supported (rootfs on block "
                 "devices is not implemented); use \"virtio-fs\" or \"virtio-9p\" (%s)",
                 hv_kind_name(cfg->kind), cfg->file[0] ? cfg->file : "built-in defaults");
        free(cfg);
        return -ENOTSUP;
    }
    sb = xnew(struct sandbox, 1);
    sb->shim = shim;
    snprintf(sb->id, sizeof(sb->id), "%s", sandbox_id);
    sb->cfg = *cfg;
    free(cfg);
    sb->vmm_pidfd = -1;
    sb->state = SANDBOX_STARTING;
    share_path(sb->id, "shared", sb->shared_dir, sizeof(sb->shared_dir));
    runtime_config_to_hv(&sb->cfg, sb->shared_dir, &sb->hv);
    r = sb_start(sb, c->config_json);
    if (r < 0) {
        snprintf(errbuf, errsize, "sandbox %s: cannot queue the VM start: %s", sb->id,
                 strerror(-r));
        free(sb);
        return r;
    }
    log_info("sandbox %s: starting (%s, config %s)", sb->id, hv_kind_name(sb->cfg.kind),
             sb->cfg.file[0] ? sb->cfg.file : "built-in defaults");
    shim->sandbox = sb;
    c->sb = sb;
    c->next = sb->containers;
    sb->containers = c;
    return 0;
}

/* ---- teardown ---- */

struct tjob {
    struct sandbox *sb;
    struct hv_vm *vm;
    struct network *net;
    char id[256];
};

static void teardown_work(void *ud)
{
    struct tjob *j = ud;
    struct err e = ERR_INIT;

    if (j->vm && hv_vm_stop(j->vm, VM_STOP_TIMEOUT_NS, &e) < 0)
        log_warn("sandbox %s: stop VM: %s", j->id, err_msg(&e));
    hv_vm_free(j->vm);
    sandbox_net_teardown(j->id, j->net);
    err_clear(&e);
    if (share_teardown(j->id, &e) < 0)
        log_warn("sandbox %s: %s", j->id, err_msg(&e));
}

static void teardown_done(void *ud)
{
    struct tjob *j = ud;
    struct sandbox *sb = j->sb;

    log_info("sandbox %s stopped", j->id);
    if (sb->shim->sandbox == sb)
        sb->shim->sandbox = NULL;
    sandbox_free(sb);
    free(j);
}

/* Off any agent callback: the agent client is freed here. */
static void teardown(struct loop_source *s, void *ud)
{
    struct sandbox *sb = ud;
    struct tjob *j;

    (void)s;
    sb->teardown_defer = loop_source_free(sb->teardown_defer);
    if (sb->containers) /* a container arrived meanwhile: keep serving it */
        return;
    sb->vmm_watch = loop_source_free(sb->vmm_watch);
    sb->lost_defer = loop_source_free(sb->lost_defer);
    network_agent_cancel(TAKE_PTR(sb->net_op));
    sb->ac = agent_client_free(sb->ac);
    j = xnew(struct tjob, 1);
    j->sb = sb;
    j->vm = TAKE_PTR(sb->vm);
    j->net = TAKE_PTR(sb->net);
    snprintf(j->id, sizeof(j->id), "%s", sb->id);
    if (workpool_submit(sb->shim->pool, teardown_work, teardown_done, j) < 0) {
        sb->vm = TAKE_PTR(j->vm); /* exit path: sandbox_shutdown() finishes */
        sb->net = TAKE_PTR(j->net);
        free(j);
    }
}

static void destroy_done(const struct agent_reply *r, void *ud)
{
    struct sandbox *sb = ud;

    if (r->code < 0)
        log_debug("sandbox %s: DestroySandbox: %s", sb->id, r->msg);
    if (!sb->teardown_defer)
        loop_add_defer(sb->shim->loop, teardown, sb, &sb->teardown_defer);
}

static void sb_stop(struct sandbox *sb)
{
    struct agent_reply none = {.msg = ""};

    if (sb->state == SANDBOX_STOPPING && !sb->job_running && sb->teardown_defer)
        return;
    sb->state = SANDBOX_STOPPING;
    if (sb->job_running)
        return; /* start_done() comes back here */
    if (agent_client_connected(sb->ac) && !sb->vm_dead &&
        agent_destroy_sandbox(sb->ac, destroy_done, sb, NULL) >= 0)
        return;
    destroy_done(&none, sb);
}

void sandbox_detach(struct sandbox *sb, struct container *c)
{
    for (struct container **pp = &sb->containers; *pp; pp = &(*pp)->next)
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    c->sb = NULL;
    if (!sb->containers)
        sb_stop(sb);
}

void sandbox_shutdown(struct sandbox *sb)
{
    struct err e = ERR_INIT;

    if (!sb)
        return;
    network_agent_cancel(TAKE_PTR(sb->net_op));
    sb->ac = agent_client_free(sb->ac);
    for (struct container *c = sb->containers; c; c = c->next) {
        if (c->rootfs_mounted && share_umount_rootfs(sb->id, c->id, c->bundle, &e) < 0)
            log_warn("container %s: %s", c->id, err_msg(&e));
        c->rootfs_mounted = false;
        err_clear(&e);
    }
    if (sb->vm && hv_vm_stop(sb->vm, VM_STOP_TIMEOUT_NS, &e) < 0)
        log_warn("sandbox %s: stop VM: %s", sb->id, err_msg(&e));
    sb->vm = hv_vm_free(sb->vm);
    sandbox_net_teardown(sb->id, TAKE_PTR(sb->net));
    err_clear(&e);
    if (share_teardown(sb->id, &e) < 0)
        log_warn("sandbox %s: %s", sb->id, err_msg(&e));
}

struct sandbox *sandbox_free(struct sandbox *sb)
{
    if (!sb)
        return NULL;
    network_agent_cancel(TAKE_PTR(sb->net_op));
    sb->ac = agent_client_free(sb->ac);
    while (sb->containers) {
        struct container *c = sb->containers;
        sb->containers = c->next;
        container_destroy(c);
    }
    sb->vmm_watch = loop_source_free(sb->vmm_watch);
    if (sb->vmm_pidfd >= 0)
        close(sb->vmm_pidfd);
    sb->lost_defer = loop_source_free(sb->lost_defer);
    sb->teardown_defer = loop_source_free(sb->teardown_defer);
    hv_vm_free(sb->vm);
    network_free(sb->net);
    agent_spec_dns_free(sb->dns, sb->n_dns);
    free(sb);
    return NULL;
}
