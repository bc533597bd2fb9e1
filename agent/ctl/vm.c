/* kata-agent-ctl connect --vm: boot a VM from the Kata configuration with
 * the hypervisor drivers, run the session against its agent, stop it.
 *
 * The session runs in a child process while this one keeps SIGINT, SIGTERM
 * and SIGHUP blocked and waits for them or the child with sigwaitinfo(), so
 * that whatever happens to the commands (a hang, ^C, a dead VM) the VM is
 * stopped and its state folder removed by straight-line code, never from a
 * signal handler. The child only runs the single-threaded session code
 * (glibc keeps malloc and stdio usable after fork even though lib/spawn.c
 * has started its spawner thread). */
#include "agent/ctl/ctl.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config/cfg.h"
#include "hypervisor/hv-config.h"
#include "hypervisor/hv.h"
#include "lib/compiler.h"
#include "lib/err.h"
#include "lib/log.h"

#define CTL_VM_STATE_BASE "/run/kata-containers/agent-ctl"
#define CTL_VM_START_TIMEOUT_NS (30ull * 1000000000ull)
#define CTL_VM_STOP_TIMEOUT_NS (5ull * 1000000000ull)
#define SEC 1000000000ull

struct ctl_vm {
    struct cfg *cfg;
    char *file;
    char state[256];  /* "" until created */
    char shared[300]; /* "" until created */
    struct hv_vm *vm;
    char address[256];
};

static int make_state_dir(struct ctl_vm *v, struct err *e)
{
    /* /run/kata-containers/agent-ctl/<random>, or a temp folder when /run is
     * not ours to write (an unprivileged user). */
    if (mkdir("/run/kata-containers", 0711) < 0 && errno != EEXIST)
        log_debug("mkdir /run/kata-containers: %s", strerror(errno));
    if (mkdir(CTL_VM_STATE_BASE, 0700) < 0 && errno != EEXIST)
        log_debug("mkdir %s: %s", CTL_VM_STATE_BASE, strerror(errno));
    snprintf(v->state, sizeof(v->state), "%s/XXXXXX", CTL_VM_STATE_BASE);
    if (mkdtemp(v->state))
        return 0;
    const char *tmp = getenv("TMPDIR");
    snprintf(v->state, sizeof(v->state), "%s/kata-agent-ctl-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (mkdtemp(v->state))
        return 0;
    int r = -errno;
    v->state[0] = '\0';
    return err_set(e, r, "cannot create a state folder: %s", strerror(-r));
}

static int boot(struct ctl_vm *v, enum hv_kind kind, const struct ctl_opts *o, struct err *e)
{
    int r = cfg_find(o->config_path, NULL, &v->file, e);
    if (r < 0)
        return r;
    if ((r = cfg_load(v->file, &v->cfg, e)) < 0)
        return err_prefix(e, "invalid configuration");
    enum hv_kind configured;
    if (hv_kind_from_name(cfg_enum_name(CFG_ENUM_HV_KIND, (int)v->cfg->hv.kind), &configured) <
            0 ||
        configured != kind)
        return err_set(e, -EINVAL, "%s configures [hypervisor.%s], not --vm %s", v->file,
                       cfg_enum_name(CFG_ENUM_HV_KIND, (int)v->cfg->hv.kind), o->vm);
    if ((r = make_state_dir(v, e)) < 0)
        return r;
    log_debug("state folder %s", v->state);
    snprintf(v->shared, sizeof(v->shared), "%s/shared", v->state);
    if (mkdir(v->shared, 0700) < 0) {
        r = -errno;
        v->shared[0] = '\0';
        return err_set(e, r, "mkdir %s/shared: %s", v->state, strerror(-r));
    }
    struct hv_config hc;
    if ((r = hv_config_from_cfg(v->cfg, v->shared, &hc, e)) < 0 ||
        (r = hv_vm_new(&hc, v->state, "vm", &v->vm, e)) < 0)
        return err_prefix(e, "%s", v->file);
    if ((r = hv_vm_start(v->vm, CTL_VM_START_TIMEOUT_NS, e)) < 0)
        return err_prefix(e, "starting the %s VM", o->vm);
    if ((r = hv_vm_agent_address(v->vm, v->address, sizeof(v->address))) < 0)
        return err_set(e, r, "the VM has no agent address");
    log_debug("%s VM %d up (config %s), agent at %s", o->vm, hv_vm_pid(v->vm), v->file,
              v->address);
    return 0;
}

static void teardown(struct ctl_vm *v)
{
    struct err e = ERR_INIT;
    if (v->vm && hv_vm_stop(v->vm, CTL_VM_STOP_TIMEOUT_NS, &e) < 0)
        log_warn("stopping the VM: %s", err_msg(&e));
    v->vm = hv_vm_free(v->vm); /* removes state/vm */
    if (v->shared[0] && rmdir(v->shared) < 0)
        log_warn("rmdir %s: %s", v->shared, strerror(errno));
    if (v->state[0] && rmdir(v->state) < 0)
        log_warn("rmdir %s: %s", v->state, strerror(errno));
    v->cfg = cfg_free(v->cfg);
    free(v->file);
    v->file = NULL;
}

/* Runs the session in a child; returns its exit status, or 128+N when
 * signal N arrived first (the child is killed then). */
static int run_session(const struct ctl_vm *v, const struct ctl_opts *o, const sigset_t *wait_set,
                       const sigset_t *old_mask)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "ERROR: fork: %s\n", strerror(errno));
        return 1;
    }
    if (pid == 0) {
        sigprocmask(SIG_SETMASK, old_mask, NULL);
        struct ctl_opts co = *o;
        co.vm = NULL;
        co.config_path = NULL;
        co.server_address = v->address;
        co.dial_wait_ns = (uint64_t)v->cfg->agent.dial_timeout * SEC;
        int status = ctl_session_run(&co);
        fflush(NULL);
        _exit(status);
    }
    for (;;) {
        siginfo_t si;
        int sig = sigwaitinfo(wait_set, &si);
        if (sig < 0)
            continue; /* EINTR */
        int st = 0;
        if (sig == SIGCHLD) {
            /* Other children (the VMM, virtiofsd) are reaped by hypervisor/. */
            if (waitpid(pid, &st, WNOHANG) != pid)
                continue;
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        }
        log_info("signal %d: stopping the VM", sig);
        kill(pid, SIGKILL);
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
            ;
        return 128 + sig;
    }
}

int ctl_vm_run(const struct ctl_opts *o)
{
    enum hv_kind kind;
    if (hv_kind_from_name(o->vm, &kind) < 0) {
        fprintf(stderr, "ERROR: --vm %s: expected qemu, clh or mock\n", o->vm);
        return 2;
    }
    sigset_t wait_set, stop_set, old_mask, pending;
    sigemptyset(&stop_set);
    sigaddset(&stop_set, SIGINT);
    sigaddset(&stop_set, SIGTERM);
    sigaddset(&stop_set, SIGHUP);
    wait_set = stop_set;
    sigaddset(&wait_set, SIGCHLD);
    sigprocmask(SIG_BLOCK, &wait_set, &old_mask);

    struct ctl_vm v = {0};
    struct err e = ERR_INIT;
    int status;
    if (boot(&v, kind, o, &e) < 0) {
        fprintf(stderr, "ERROR: %s\n", err_msg(&e));
        status = 1;
    } else {
        status = 0;
        /* A signal during the boot: stop without running anything. */
        sigpending(&pending);
        for (int s = 1; s < NSIG && !status; s++)
            if (sigismember(&stop_set, s) && sigismember(&pending, s))
                status = 128 + s;
        if (!status)
            status = run_session(&v, o, &wait_set, &old_mask);
    }
    teardown(&v);
    /* Drop what is still pending (a ^C during the boot, SIGCHLD from the
     * VMM), then restore the mask: the caller's main() only returns. */
    struct timespec zero = {0, 0};
    while (sigtimedwait(&wait_set, NULL, &zero) > 0)
        ;
    sigprocmask(SIG_SETMASK, &old_mask, NULL);
    return status;
}
