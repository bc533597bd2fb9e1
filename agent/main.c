/* kata-agent: the guest agent. Stand-alone on any Linux host (run by root)
 * or PID 1 in the VM, the initrd's /init (agent/pid1.h).
 *
 *   kata-agent [--server-addr URI] [--log-level LEVEL]
 *   env KATA_AGENT_SERVER_ADDR, KATA_AGENT_LOG_LEVEL, KATA_AGENT_SHARED_DIR,
 *       KATA_AGENT_LOG_ADDR, KATA_AGENT_DEBUG_CONSOLE_ADDR, KATA_AGENT_CMDLINE,
 *       KATA_AGENT_MODULES_DIR
 *   kernel command line: every agent.* parameter (agent/cmdline.h)
 * Precedence: option, environment, kernel command line, default
 * vsock://-1:1024 (as PID 1: vsock when the VM has it, else the
 * virtio-serial port agent.channel.0). KATA_AGENT_SHARED_DIR moves the
 * CopyFile base (default /run/kata-containers/shared/containers);
 * KATA_AGENT_LOG_ADDR and KATA_AGENT_DEBUG_CONSOLE_ADDR put the log channel
 * and the debug console on any listening address instead of
 * vsock://-1:<agent.log_vport> and vsock://-1:<agent.debug_console_vport>
 * (KATA_AGENT_DEBUG_CONSOLE_ADDR=serial:///dev/X runs the console shell on
 * that tty instead of the VM console): for tests. So is KATA_AGENT_CMDLINE,
 * a file read instead of /proc/cmdline (ignored as PID 1), and
 * KATA_AGENT_MODULES_DIR, the folder CreateSandbox's kernel_modules load
 * from when not PID 1 (unset: they are refused; see modules_dir()).
 * As PID 1 the agent never exits: a fatal error is logged and the VM
 * powered off. `kata-agent init` with _KATA_AGENT_INIT set is the
 * re-executed container init helper (agent/container_init.h), never run by
 * hand. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "agent/agent.h"
#include "agent/agent_service.h"
#include "agent/channel.h"
#include "agent/cmdline.h"
#include "agent/container_init.h"
#include "agent/debug_console.h"
#include "agent/init_proto.h"
#include "agent/kmod.h"
#include "agent/log_channel.h"
#include "agent/network.h"
#include "agent/pid1.h"
#include "lib/err.h"
#include "lib/log.h"
#include "lib/loop.h"
#include "lib/transport.h"
#include "lib/ttrpc/ttrpc.h"

#define DEFAULT_ADDR "vsock://-1:1024"

static char arg_addr[512];
static char arg_log[32];
static struct agent_cmdline arg_cmdline;
static bool arg_init; /* PID 1 */

/* What a fatal error does: as PID 1 the VM goes off (the kernel would
 * panic if init exited, and the host learns nothing from a hung guest). */
static int fatal(int r, const char *what, const char *detail)
{
    if (detail)
        log_error("%s: %s", what, detail); /* the detail names the error already */
    else
        log_errno(LOG_ERROR, r, "%s", what);
    if (arg_init) {
        log_error("powering the VM off");
        pid1_poweroff();
    }
    return 1;
}

/* As the guest's /init: pseudo file systems, console and the modules the
 * agent channel needs first (the others load after serving), since the
 * kernel command line is only readable once /proc is mounted. Failures are
 * logged and the agent carries on: a host that can still reach it learns
 * more than from a powered-off VM. */
static void pid1_early(void)
{
    struct err e = ERR_INIT;
    int r = pid1_setup(&e);
    if (r < 0)
        log_errno(LOG_WARN, r, "PID 1 setup incomplete: %s", err_msg(&e));
    else
        log_info("running as PID 1, %d modules loaded for the agent channel", r);
    /* Nobody else brings the guest's loopback up. */
    err_clear(&e);
    if ((r = network_setup_loopback(&e)) < 0)
        log_errno(LOG_WARN, r, "loopback not configured: %s", err_msg(&e));
}

/* The PID-1 duties that depend on the command line. */
static void pid1_late(const struct agent_cmdline *c)
{
    struct err e = ERR_INIT;
    bool fell_back = false;
    int r = pid1_mount_cgroups(c->cgroup_unified, &fell_back, &e);
    if (r < 0)
        log_errno(LOG_WARN, r, "cgroups not mounted: %s", err_msg(&e));
    else if (fell_back)
        log_warn("cgroup v1 (the default without systemd.unified_cgroup_hierarchy=1 or "
                 "cgroup_no_v1=all) lacks the memory controller in this kernel: using cgroup v2");
    else
        log_info("cgroup v%d mounted on /sys/fs/cgroup", r);
}

/* As PID 1, once serving: the initrd's modules the channel did not need and
 * agent.kernel_modules load on the worker pool while AgentService calls
 * wait for them (agent/kmod.h), so the host's first Health.Check is not
 * held up by ~80 ms of finit_module() under TCG. */
static void pid1_load_modules_later(struct agent *a, const struct agent_cmdline *c)
{
    const char *names[CMDLINE_MAX_MODULES];
    for (size_t i = 0; i < c->n_kernel_modules; i++)
        names[i] = c->kernel_modules[i];
    int r = kmod_start(a, names, c->n_kernel_modules);
    if (r == 0)
        return;
    /* No worker for it: load them here, before the loop runs. */
    log_errno(LOG_WARN, r, "cannot load kernel modules in the background; loading them now");
    struct err e = ERR_INIT;
    if ((r = pid1_load_remaining_modules(&e)) < 0)
        log_errno(LOG_WARN, r, "kernel modules: %s", err_msg(&e));
    for (size_t i = 0; i < c->n_kernel_modules; i++) {
        r = pid1_load_module(c->kernel_modules[i]);
        if (r < 0)
            log_errno(LOG_WARN, r, "agent.kernel_modules: cannot load %s from the initrd",
                      c->kernel_modules[i]);
        else
            log_info("agent.kernel_modules: %s loaded", c->kernel_modules[i]);
    }
}

/* Where CreateSandbox's kernel_modules are loaded from: the initrd's
 * folder as PID 1. A stand-alone agent runs on a host whose kernel is not
 * the sandbox's to change, so it refuses them, unless a test names a
 * folder laid out the same way in KATA_AGENT_MODULES_DIR. What that folder
 * holds still goes to the host's kernel: tests put there only files the
 * kernel refuses. */
static const char *modules_dir(void)
{
    if (arg_init)
        return PID1_MODULES_DIR;
    const char *env = getenv("KATA_AGENT_MODULES_DIR");
    return env && *env ? env : NULL;
}

static int parse_args(int argc, char **argv)
{
    static const struct option opts[] = {
        {"server-addr", required_argument, NULL, 'a'},
        {"log-level", required_argument, NULL, 'l'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *env;
    snprintf(arg_addr, sizeof(arg_addr), "%s", arg_cmdline.server_addr);
    if ((env = getenv("KATA_AGENT_SERVER_ADDR")) && *env)
        snprintf(arg_addr, sizeof(arg_addr), "%s", env);
    if ((env = getenv("KATA_AGENT_LOG_LEVEL")) && *env)
        snprintf(arg_log, sizeof(arg_log), "%s", env);
    int c;
    /* The kernel hands init the command line words it does not know: as
     * PID 1 nothing in argv may stop the agent. */
    if (arg_init)
        opterr = 0;
    while ((c = getopt_long(argc, argv, "a:l:h", opts, NULL)) != -1) {
        switch (c) {
        case 'a':
            snprintf(arg_addr, sizeof(arg_addr), "%s", optarg);
            break;
        case 'l':
            snprintf(arg_log, sizeof(arg_log), "%s", optarg);
            break;
        case 'h':
            if (arg_init)
                break;
            printf("usage: kata-agent [--server-addr URI] [--log-level LEVEL]\n");
            return 0;
        default:
            if (!arg_init)
                return -EINVAL;
        }
    }
    /* In a VM the channel depends on the devices the host gave us. */
    if (!*arg_addr && (!arg_init || pid1_agent_address(arg_addr, sizeof(arg_addr)) < 0))
        snprintf(arg_addr, sizeof(arg_addr), DEFAULT_ADDR);
    return 1;
}

static void apply_log_level(void)
{
    enum log_level level;
    if (arg_cmdline.log_level_set)
        log_set_level(arg_cmdline.log_level);
    if (*arg_log) {
        if (log_level_from_string(arg_log, &level) == 0)
            log_set_level(level);
        else
            log_warn("log level \"%s\" is unknown; keeping %d", arg_log, (int)log_get_level());
    }
}

/* The log channel and the debug console: optional, so failures are
 * logged and the agent goes on. */
static void start_extras(struct agent *a, struct log_channel **ret_log,
                         struct debug_console **ret_console)
{
    char uri[128];
    struct err e = ERR_INIT;
    const char *env = getenv("KATA_AGENT_LOG_ADDR");
    if ((env && *env) || arg_cmdline.log_vport) {
        if (env && *env)
            snprintf(uri, sizeof(uri), "%s", env);
        else
            snprintf(uri, sizeof(uri), "vsock://-1:%u", arg_cmdline.log_vport);
        int r = 0;
        if (!(env && *env) && arg_init && !pid1_vsock_present())
            log_warn("agent.log_vport=%u: this VM has no virtio-vsock device; logging to the "
                     "console",
                     arg_cmdline.log_vport);
        else
            r = log_channel_start(a->loop, uri, ret_log, &e);
        if (r < 0)
            log_errno(LOG_WARN, r, "log channel %s unavailable, logging to the console: %s", uri,
                      err_msg(&e));
        else if (*ret_log)
            log_info("log channel: waiting for the host on %s", uri);
    }
    err_clear(&e);
    env = getenv("KATA_AGENT_DEBUG_CONSOLE_ADDR");
    if ((env && *env) || arg_cmdline.debug_console) {
        const char *where = NULL;
        if (env && *env)
            where = env;
        else if (arg_cmdline.debug_console_vport) {
            snprintf(uri, sizeof(uri), "vsock://-1:%u", arg_cmdline.debug_console_vport);
            where = uri;
        }
        if (where == uri && arg_init && !pid1_vsock_present() && debug_console_shell())
            log_warn("agent.debug_console_vport=%u: this VM has no virtio-vsock device; no "
                     "debug console",
                     arg_cmdline.debug_console_vport);
        else if (debug_console_start(a, where, ret_console, &e) < 0)
            log_errno(LOG_WARN, e.code, "%s", err_msg(&e));
    }
}

static void on_sigchld(struct loop_source *s, const struct signalfd_siginfo *si, void *userdata)
{
    (void)s, (void)si;
    agent_reap(userdata);
}

static void on_sigterm(struct loop_source *s, const struct signalfd_siginfo *si, void *userdata)
{
    (void)s, (void)si;
    loop_quit(userdata, 0);
}

int main(int argc, char **argv)
{
    struct loop *loop = NULL;
    struct ttrpc_server *server = NULL;
    struct agent *a = NULL;
    struct loop_source *sig[3] = {NULL, NULL, NULL};
    struct channel *ch = NULL;
    struct log_channel *logch = NULL;
    struct debug_console *console = NULL;
    struct err e = ERR_INIT;
    int r;

    if (argc > 1 && strcmp(argv[1], INIT_ARG) == 0 && getenv(INIT_ENV_MARKER))
        return container_init_main();

    log_set_source("agent");
    arg_init = getpid() == 1;
    if (arg_init)
        pid1_early();
    /* Tests hand a stand-alone agent its kernel parameters in a file; the
     * guest's init only ever reads its own command line. */
    const char *cmdline = arg_init ? NULL : getenv("KATA_AGENT_CMDLINE");
    cmdline_read(cmdline && *cmdline ? cmdline : "/proc/cmdline", &arg_cmdline);
    r = parse_args(argc, argv);
    if (r <= 0)
        return r < 0 ? 2 : 0;
    apply_log_level();
    if (arg_init)
        pid1_late(&arg_cmdline);
    signal(SIGPIPE, SIG_IGN);
    /* Processes re-parented from the init helpers must come to us. */
    prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);

    if (loop_new(&loop) < 0)
        return fatal(-ENOMEM, "cannot create the event loop", NULL);
    if (loop_add_signal(loop, SIGTERM, on_sigterm, loop, &sig[0]) < 0 ||
        loop_add_signal(loop, SIGINT, on_sigterm, loop, &sig[1]) < 0)
        return fatal(-EIO, "cannot watch signals", NULL);
    struct agent_options opts = {.shared_dir = getenv("KATA_AGENT_SHARED_DIR"),
                                 .hotplug_timeout_ms = arg_cmdline.hotplug_timeout_ms,
                                 .container_pipe_size = arg_cmdline.container_pipe_size,
                                 .modules_dir = modules_dir()};
    if (agent_new(loop, &opts, &a, &e) < 0)
        return fatal(e.code, "cannot start the agent", err_msg(&e));
    if (arg_cmdline.container_pipe_size)
        log_info("agent.container_pipe_size=%u: applied to container stdout and stderr pipes",
                 arg_cmdline.container_pipe_size);
    if (loop_add_signal(loop, SIGCHLD, on_sigchld, a, &sig[2]) < 0 ||
        ttrpc_server_new(loop, NULL, &server) < 0 || agent_service_register(a, server) < 0)
        return fatal(-EIO, "cannot set up the agent service", NULL);
    a->server = server;
    start_extras(a, &logch, &console);
    r = channel_serve(loop, server, arg_addr, &ch, &e);
    if (r < 0)
        return fatal(r, "cannot serve the agent API", err_msg(&e));
    log_info("serving on %s", arg_addr);
    if (arg_init)
        pid1_load_modules_later(a, &arg_cmdline);
    r = loop_run(loop);
    log_info("shutting down");
    channel_free(ch);
    debug_console_free(console);
    ttrpc_server_free(server);
    agent_free(a);
    log_channel_free(logch);
    for (size_t i = 0; i < 3; i++)
        loop_source_free(sig[i]);
    loop_free(loop);
    if (arg_init)
        pid1_poweroff();
    return r;
}
