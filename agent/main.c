/* kata-agent: the guest agent. Stand-alone on any Linux host (run by root)
 * or, later, PID 1 in the VM (issue 7: see pid1_hook()).
 *
 *   kata-agent [--server-addr URI] [--log-level LEVEL]
 *   env KATA_AGENT_SERVER_ADDR, KATA_AGENT_LOG_LEVEL, KATA_AGENT_SHARED_DIR
 *   kernel cmdline agent.server_addr=, agent.log=
 * Precedence: option, environment, kernel command line, default
 * vsock://-1:1024. KATA_AGENT_SHARED_DIR moves the CopyFile base (default
 * /run/kata-containers/shared/containers), for tests.
 * `kata-agent init` with _KATA_AGENT_INIT set is the re-executed container
 * init helper (agent/container_init.h), never run by hand. */
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
#include "agent/container_init.h"
#include "agent/init_proto.h"
#include "agent/pid1.h"
#include "lib/err.h"
#include "lib/log.h"
#include "lib/loop.h"
#include "lib/transport.h"
#include "lib/ttrpc/ttrpc.h"

#define DEFAULT_ADDR "vsock://-1:1024"

static char arg_addr[512];
static char arg_log[32];

/* As the guest's /init: pseudo file systems, console and modules first,
 * since the kernel command line is only readable once /proc is mounted.
 * Failures are logged and the agent carries on: a host that can still reach
 * it learns more than from a powered-off VM. */
static void pid1_hook(void)
{
    if (getpid() != 1)
        return;
    struct err e = ERR_INIT;
    int r = pid1_setup(&e);
    if (r < 0)
        log_errno(LOG_WARN, r, "PID 1 setup incomplete: %s", err_msg(&e));
    else
        log_info("running as PID 1, %d modules loaded", r);
}

static void cmdline_value(const char *key, char *buf, size_t size)
{
    char line[4096];
    FILE *f = fopen("/proc/cmdline", "re");
    if (!f)
        return;
    size_t n = fread(line, 1, sizeof(line) - 1, f);
    fclose(f);
    line[n] = '\0';
    size_t klen = strlen(key);
    for (char *tok = strtok(line, " \n"); tok; tok = strtok(NULL, " \n"))
        if (strncmp(tok, key, klen) == 0 && tok[klen] == '=')
            snprintf(buf, size, "%s", tok + klen + 1);
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
    cmdline_value("agent.server_addr", arg_addr, sizeof(arg_addr));
    cmdline_value("agent.log", arg_log, sizeof(arg_log));
    if ((env = getenv("KATA_AGENT_SERVER_ADDR")) && *env)
        snprintf(arg_addr, sizeof(arg_addr), "%s", env);
    if ((env = getenv("KATA_AGENT_LOG_LEVEL")) && *env)
        snprintf(arg_log, sizeof(arg_log), "%s", env);
    int c;
    while ((c = getopt_long(argc, argv, "a:l:h", opts, NULL)) != -1) {
        switch (c) {
        case 'a':
            snprintf(arg_addr, sizeof(arg_addr), "%s", optarg);
            break;
        case 'l':
            snprintf(arg_log, sizeof(arg_log), "%s", optarg);
            break;
        case 'h':
            printf("usage: kata-agent [--server-addr URI] [--log-level LEVEL]\n");
            return 0;
        default:
            return -EINVAL;
        }
    }
    /* In a VM the channel depends on the devices the host gave us. */
    if (!*arg_addr && (getpid() != 1 || pid1_agent_address(arg_addr, sizeof(arg_addr)) < 0))
        snprintf(arg_addr, sizeof(arg_addr), DEFAULT_ADDR);
    return 1;
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
    struct err e = ERR_INIT;
    enum log_level level;
    int r;

    if (argc > 1 && strcmp(argv[1], INIT_ARG) == 0 && getenv(INIT_ENV_MARKER))
        return container_init_main();

    log_set_source("agent");
    pid1_hook();
    r = parse_args(argc, argv);
    if (r <= 0)
        return r < 0 ? 2 : 0;
    if (*arg_log && log_level_from_string(arg_log, &level) == 0)
        log_set_level(level);
    signal(SIGPIPE, SIG_IGN);
    /* Processes re-parented from the init helpers must come to us. */
    prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);

    if (loop_new(&loop) < 0)
        return 1;
    if (loop_add_signal(loop, SIGTERM, on_sigterm, loop, &sig[0]) < 0 ||
        loop_add_signal(loop, SIGINT, on_sigterm, loop, &sig[1]) < 0)
        return 1;
    struct agent_options opts = {.shared_dir = getenv("KATA_AGENT_SHARED_DIR")};
    if (agent_new(loop, &opts, &a, &e) < 0) {
        log_errno(LOG_ERROR, e.code, "%s", err_msg(&e));
        return 1;
    }
    if (loop_add_signal(loop, SIGCHLD, on_sigchld, a, &sig[2]) < 0 ||
        ttrpc_server_new(loop, NULL, &server) < 0 || agent_service_register(a, server) < 0)
        return 1;
    a->server = server;
    struct channel *ch = NULL;
    r = channel_serve(loop, server, arg_addr, &ch, &e);
    if (r < 0) {
        log_errno(LOG_ERROR, r, "cannot serve %s: %s", arg_addr, err_msg(&e));
        return 1;
    }
    log_info("serving on %s", arg_addr);
    r = loop_run(loop);
    log_info("shutting down");
    channel_free(ch);
    ttrpc_server_free(server);
    agent_free(a);
    for (size_t i = 0; i < 3; i++)
        loop_source_free(sig[i]);
    loop_free(loop);
    return r;
}
