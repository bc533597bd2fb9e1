/* kata-agent-ctl command line, as upstream's (src/tools/agent-ctl):
 *   kata-agent-ctl [-l LEVEL] connect --server-address URI [options] -c CMD ...
 *   kata-agent-ctl examples | generate-cid | generate-sid | --help | --version */
#include "agent/ctl/ctl.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "lib/compiler.h"
#include "lib/log.h"
#include "lib/xalloc.h"

enum {
    OPT_BUNDLE_DIR = 0x100,
    OPT_SERVER_ADDRESS,
    OPT_HYBRID_VSOCK,
    OPT_HYBRID_VSOCK_PORT,
    OPT_IGNORE_ERRORS,
    OPT_TIMEOUT,
    OPT_VM,
    OPT_CONFIG,
};

static const struct option global_options[] = {
    {"log-level", required_argument, NULL, 'l'},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {0},
};

static const struct option connect_options[] = {
    {"log-level", required_argument, NULL, 'l'},
    {"help", no_argument, NULL, 'h'},
    {"bundle-dir", required_argument, NULL, OPT_BUNDLE_DIR},
    {"cmd", required_argument, NULL, 'c'},
    {"hybrid-vsock", no_argument, NULL, OPT_HYBRID_VSOCK},
    {"hybrid-vsock-port", required_argument, NULL, OPT_HYBRID_VSOCK_PORT},
    {"ignore-errors", no_argument, NULL, OPT_IGNORE_ERRORS},
    {"interactive", no_argument, NULL, 'i'},
    {"no-auto-values", no_argument, NULL, 'n'},
    {"server-address", required_argument, NULL, OPT_SERVER_ADDRESS},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"vm", required_argument, NULL, OPT_VM},
    {"config", required_argument, NULL, OPT_CONFIG},
    {0},
};

void ctl_cli_usage(FILE *f)
{
    fprintf(f,
            "Usage: kata-agent-ctl [-l LEVEL] COMMAND [OPTIONS]\n"
            "\n"
            "Low-level test tool that allows basic interaction with the Kata Containers\n"
            "agent using agent API calls.\n"
            "\n"
            "Commands:\n"
            "  connect         Connect to an agent and run API commands\n"
            "  examples        Show usage examples\n"
            "  generate-cid    Print a random container ID\n"
            "  generate-sid    Print a random sandbox ID\n"
            "\n"
            "Options:\n"
            "  -l, --log-level LEVEL   trace, debug, info (default), warn, error, critical\n"
            "  -h, --help              Show this help\n"
            "  -V, --version           Show the version\n"
            "\n"
            "connect options:\n"
            "      --server-address URI    vsock://CID:PORT, unix:///path or unix://@abstract\n"
            "      --bundle-dir DIR        OCI bundle whose config.json CreateContainer sends\n"
            "  -c, --cmd CMD               API or built-in command with optional arguments\n"
            "                              (repeatable): 'Name', 'Name key=value k2=\"a b\"',\n"
            "                              'Name json://{...}', 'Name file:///path.json'\n"
            "      --hybrid-vsock          Treat a unix:// server address as hybrid vsock\n"
            "      --hybrid-vsock-port N   Agent port behind the hybrid vsock [default: 1024]\n"
            "  -i, --interactive           Read commands from standard input\n"
            "  -n, --no-auto-values        Do not generate ids, specs and other values\n"
            "      --ignore-errors         Do not stop at the first failed command\n"
            "      --timeout T             Per-call timeout: 0 (none), 99ns, 30us, 2ms, 5s, 7m\n"
            "      --vm HYPERVISOR         Boot a test VM (qemu, clh or mock) from the\n"
            "                              configuration, run the commands against its\n"
            "                              agent, then stop it\n"
            "      --config FILE           Configuration for --vm [default: $KATA_CONF_FILE,\n"
            "                              then /etc/kata-containers/configuration.toml,\n"
            "                              then the one in /usr/share/defaults/kata-containers]\n"
            "\n"
            "Run 'kata-agent-ctl connect --server-address URI -c list' for the commands.\n"
            "\n"
            "WARNING:\n"
            "    This tool is for *advanced* users familiar with the low-level agent API calls.\n"
            "    It is designed to be run on test and development systems **only**: since the\n"
            "    tool can make arbitrary API calls, it can easily confuse other parts of the\n"
            "    system or even kill a running container or sandbox.\n");
}

void ctl_cli_examples(FILE *f)
{
    static const char vsock[] = "vsock://3:1024";
    fprintf(
        f,
        "EXAMPLES:\n\n"
        "- Check if the agent is running:\n\n"
        "  $ kata-agent-ctl connect --server-address \"%s\" --cmd Check\n\n"
        "- Connect to the agent using a Hybrid VSOCK hypervisor (here Cloud Hypervisor):\n\n"
        "  $ kata-agent-ctl connect --server-address \"unix:///run/vc/vm/foo/clh.sock\" "
        "--hybrid-vsock --cmd Check\n\n"
        "- Connect to a stand-alone agent on a local or abstract socket:\n\n"
        "  $ kata-agent-ctl connect --server-address \"unix:///tmp/local.socket\" --cmd Check\n"
        "  $ kata-agent-ctl connect --server-address \"unix://@/foo/bar/abstract.socket\" "
        "--cmd Check\n\n"
        "- Query the agent environment:\n\n"
        "  $ kata-agent-ctl connect --server-address \"%s\" --cmd GetGuestDetails\n\n"
        "- List all available (built-in and Kata Agent API) commands:\n\n"
        "  $ kata-agent-ctl connect --server-address \"%s\" --cmd list\n\n"
        "- Generate a random container ID or sandbox ID:\n\n"
        "  $ kata-agent-ctl generate-cid\n"
        "  $ kata-agent-ctl generate-sid\n\n"
        "- Attempt to create 7 sandboxes, ignoring any errors:\n\n"
        "  $ kata-agent-ctl connect --server-address \"%s\" --ignore-errors "
        "--cmd 'repeat 7' --cmd CreateSandbox\n\n"
        "- Query guest details forever:\n\n"
        "  $ kata-agent-ctl connect --server-address \"%s\" --cmd 'repeat -1 GetGuestDetails'\n\n"
        "- Query guest details, giving the whole request in JSON:\n\n"
        "  $ kata-agent-ctl connect --server-address \"%s\" -c 'GetGuestDetails "
        "json://{\"mem_block_size\": true, \"mem_hotplug_probe\": true}'\n\n"
        "- The same request, partly, from a file:\n\n"
        "  $ echo '{\"mem_block_size\": true}' > /tmp/api.json\n"
        "  $ kata-agent-ctl connect --server-address \"%s\" -c 'GetGuestDetails "
        "file:///tmp/api.json'\n\n"
        "- Send a 'SIGUSR1' signal to a container process:\n\n"
        "  $ kata-agent-ctl connect --server-address \"%s\" --cmd 'SignalProcess signal=usr1 "
        "cid=$container_id exec_id=$exec_id'\n\n"
        "- Create a sandbox with a single container, run it, wait for it, and destroy "
        "everything:\n\n"
        "  $ kata-agent-ctl connect --server-address \"%s\" --bundle-dir \"$bundle_dir\" \\\n"
        "      -c CreateSandbox -c CreateContainer -c StartContainer -c WaitProcess \\\n"
        "      -c RemoveContainer -c DestroySandbox\n\n"
        "- Create a container using a custom configuration file:\n\n"
        "  $ kata-agent-ctl connect --server-address \"%s\" "
        "--cmd 'CreateContainer spec=file:///tmp/config.json'\n\n"
        "- Set single fields (dotted paths, [N] list elements, [key] map entries):\n\n"
        "  $ kata-agent-ctl connect --server-address \"%s\" --bundle-dir \"$bundle_dir\" "
        "--cmd 'CreateContainer OCI.Process.Terminal=false OCI.Annotations[a.b]=c'\n",
        vsock, vsock, vsock, vsock, vsock, vsock, vsock, vsock, vsock, vsock, vsock);
}

static int usage_error(const char *fmt, ...) _printf_(1, 2);

static int usage_error(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "kata-agent-ctl: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'kata-agent-ctl --help'.\n");
    return -EINVAL;
}

static int set_log_level(const char *name)
{
    enum log_level level;
    if (!strcmp(name, "critical"))
        name = "error";
    else if (!strcmp(name, "warning"))
        name = "warn";
    if (log_level_from_string(name, &level) < 0)
        return usage_error("unknown log level \"%s\"", name);
    log_set_level(level);
    return 0;
}

static int parse_connect_opt(int c, struct ctl_opts *o)
{
    char *end = NULL;
    unsigned long port;

    switch (c) {
    case 'l':
        return set_log_level(optarg);
    case 'h':
        o->subcommand = CTL_CMD_HELP;
        return 0;
    case 'c':
        o->cmds[o->n_cmds++] = optarg;
        return 0;
    case 'i':
        o->interactive = true;
        return 0;
    case 'n':
        o->no_auto_values = true;
        return 0;
    case OPT_BUNDLE_DIR:
        o->bundle_dir = optarg;
        return 0;
    case OPT_SERVER_ADDRESS:
        o->server_address = optarg;
        return 0;
    case OPT_HYBRID_VSOCK:
        o->hybrid_vsock = true;
        return 0;
    case OPT_HYBRID_VSOCK_PORT:
        errno = 0;
        port = strtoul(optarg, &end, 10);
        if (errno || *end || !*optarg || port > UINT32_MAX)
            return usage_error("bad --hybrid-vsock-port \"%s\"", optarg);
        o->hybrid_vsock_port = (uint32_t)port;
        return 0;
    case OPT_IGNORE_ERRORS:
        o->ignore_errors = true;
        return 0;
    case OPT_TIMEOUT:
        if (ctl_text_duration(optarg, 1, &o->timeout_ns) < 0)
            return usage_error("bad --timeout \"%s\" (0, 99ns, 30us, 2ms, 5s, 7m)", optarg);
        return 0;
    case OPT_VM:
        o->vm = optarg;
        return 0;
    case OPT_CONFIG:
        o->config_path = optarg;
        return 0;
    default:
        return usage_error("connect: bad option");
    }
}

static int parse_connect(int argc, char **argv, struct ctl_opts *o)
{
    int c;
    optind = 0; /* a fresh scan (glibc and musl) */
    while ((c = getopt_long(argc, argv, "+c:hil:n", connect_options, NULL)) != -1) {
        if (c == '?' || c == ':')
            return usage_error("connect: bad or incomplete option \"%s\"", argv[optind - 1]);
        int r = parse_connect_opt(c, o);
        if (r < 0)
            return r;
    }
    if (o->subcommand == CTL_CMD_HELP)
        return 0;
    if (optind < argc)
        return usage_error("connect: unexpected argument \"%s\"", argv[optind]);
    if (!o->server_address && !o->vm)
        return usage_error("connect: --server-address is required (or --vm)");
    if (o->server_address && o->vm)
        return usage_error("connect: --server-address and --vm exclude each other");
    if (o->config_path && !o->vm)
        return usage_error("connect: --config goes with --vm");
    if (!o->interactive && o->n_cmds == 0)
        return usage_error("connect: give at least one --cmd, or --interactive");
    return 0;
}

int ctl_cli_parse(int argc, char **argv, struct ctl_opts *ret)
{
    struct ctl_opts o = {.subcommand = CTL_CMD_HELP,
                         .hybrid_vsock_port = CTL_DEFAULT_HYBRID_VSOCK_PORT};
    int c, r;

    opterr = 0;
    while ((c = getopt_long(argc, argv, "+hl:V", global_options, NULL)) != -1) {
        if (c == 'h') {
            *ret = o;
            return 0;
        }
        if (c == 'V') {
            o.subcommand = CTL_CMD_VERSION;
            *ret = o;
            return 0;
        }
        if (c != 'l')
            return usage_error("bad or incomplete option \"%s\"", argv[optind - 1]);
        if ((r = set_log_level(optarg)) < 0)
            return r;
    }
    if (optind >= argc)
        return usage_error("a command is required (connect, examples, ...)");
    const char *sub = argv[optind];
    if (!strcmp(sub, "connect")) {
        o.subcommand = CTL_CMD_CONNECT;
        o.cmds = xnew(char *, (size_t)argc);
        r = parse_connect(argc - optind, argv + optind, &o);
        if (r < 0) {
            free(o.cmds);
            return r;
        }
    } else if (!strcmp(sub, "examples")) {
        o.subcommand = CTL_CMD_EXAMPLES;
    } else if (!strcmp(sub, "generate-cid")) {
        o.subcommand = CTL_CMD_GENERATE_CID;
    } else if (!strcmp(sub, "generate-sid")) {
        o.subcommand = CTL_CMD_GENERATE_SID;
    } else if (strcmp(sub, "help") != 0) {
        return usage_error("unknown command \"%s\"", sub);
    }
    *ret = o;
    return 0;
}

void ctl_cli_opts_done(struct ctl_opts *o)
{
    free(o->cmds);
    o->cmds = NULL;
}
