/* kata-runtime: `check`, `env`, `--version`, and the hidden
 * `generate-config` that writes the shipped configuration files. */
#include <getopt.h>
#include <string.h>

#include "lib/err.h"
#include "lib/log.h"
#include "shim/kata-runtime/kata-runtime.h"

static const char *arg_config;

static void usage(FILE *f)
{
    fputs("Usage: kata-runtime [--config FILE] COMMAND [OPTIONS]\n"
          "\n"
          "Commands:\n"
          "  check [--verbose] [--no-network-checks] [--strict]\n"
          "        Can this host run Kata VMs, and how? One line per check\n"
          "        ([OK], [WARN] or [FAIL]), then a verdict naming the fallbacks the\n"
          "        runtime will use here (TCG, virtio-serial) and the remedies.\n"
          "        --no-network-checks skips the host networking checks (vhost-net,\n"
          "        tun); this tool never contacts the network.\n"
          "        Exit status: 0  VMs can run (possibly with fallbacks),\n"
          "                     1  VMs cannot run, or the configuration is invalid,\n"
          "                     2  with --strict: VMs can run, but something is\n"
          "                        only a fallback or missing (a [WARN] line),\n"
          "                     64 bad command line.\n"
          "  env [--json]\n"
          "        The configuration in use, the hypervisor, guest kernel and image,\n"
          "        the agent channel and host facts, as TOML-like text or JSON.\n"
          "  version\n"
          "        Same as --version.\n"
          "\n"
          "Options:\n"
          "  --config FILE   configuration file (also accepted after the command);\n"
          "                  otherwise $KATA_CONF_FILE, " CFG_ETC_PATH ",\n"
          "                  " CFG_DEFAULTS_PATH "\n"
          "  -v, --version   print the version\n"
          "  -h, --help      this text\n",
          f);
}

static int print_version(void)
{
    printf("kata-runtime  : %s\n"
           "   commit     : %s\n"
           "   config     : Kata Containers configuration keys (hypervisor qemu, clh)\n",
           KATA_RUNTIME_VERSION, KATA_RUNTIME_COMMIT);
    return 0;
}

static int cmd_generate_config(int argc, char **argv)
{
    int kind;
    if (argc != 2 || cfg_enum_value(CFG_ENUM_HV_KIND, argv[1], &kind) < 0) {
        fprintf(stderr, "usage: kata-runtime generate-config qemu|clh\n");
        return EXIT_USAGE;
    }
    _cleanup_cfg_ struct cfg *c = NULL;
    if (cfg_defaults((enum cfg_hv_kind)kind, &c) < 0 || cfg_write_toml(c, stdout) < 0 ||
        fflush(stdout) != 0) {
        fprintf(stderr, "kata-runtime: writing the configuration failed\n");
        return 1;
    }
    return 0;
}

/* Options after the command name. */
static int parse_command_options(int argc, char **argv, bool is_check, struct check_options *co,
                                 bool *json)
{
    enum { OPT_CONFIG = 256 };
    static const struct option check_opts[] = {
        {"verbose", no_argument, NULL, 'v'},
        {"strict", no_argument, NULL, 's'},
        {"no-network-checks", no_argument, NULL, 'n'},
        {"config", required_argument, NULL, OPT_CONFIG},
        {"help", no_argument, NULL, 'h'},
        {},
    };
    static const struct option env_opts[] = {
        {"json", no_argument, NULL, 'j'},
        {"config", required_argument, NULL, OPT_CONFIG},
        {"help", no_argument, NULL, 'h'},
        {},
    };
    optind = 0; /* glibc: 0 re-initialises getopt for the second pass */
    int c;
    while ((c = getopt_long(argc, argv, is_check ? "vsnh" : "h", is_check ? check_opts : env_opts,
                            NULL)) != -1) {
        switch (c) {
        case 'v':
            co->verbose = true;
            break;
        case 's':
            co->strict = true;
            break;
        case 'n':
            co->no_network_checks = true;
            break;
        case 'j':
            *json = true;
            break;
        case OPT_CONFIG:
            arg_config = optarg;
            break;
        case 'h':
            usage(stdout);
            return 1;
        default:
            return -EINVAL;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "kata-runtime: unexpected argument \"%s\"\n", argv[optind]);
        return -EINVAL;
    }
    return 0;
}

static int run_command(const char *cmd, int argc, char **argv)
{
    bool is_check = strcmp(cmd, "check") == 0 || strcmp(cmd, "kata-check") == 0;
    bool is_env = strcmp(cmd, "env") == 0 || strcmp(cmd, "kata-env") == 0;
    if (strcmp(cmd, "version") == 0)
        return print_version();
    if (strcmp(cmd, "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(cmd, "generate-config") == 0)
        return cmd_generate_config(argc, argv);
    if (!is_check && !is_env) {
        fprintf(stderr, "kata-runtime: unknown command \"%s\" (try --help)\n", cmd);
        return EXIT_USAGE;
    }
    struct check_options co = {0};
    bool json = false;
    int r = parse_command_options(argc, argv, is_check, &co, &json);
    if (r != 0)
        return r > 0 ? 0 : EXIT_USAGE;
    struct conf rc = {0};
    if (conf_load(arg_config, &rc) < 0)
        return EXIT_CANNOT_RUN;
    r = is_check ? check_run(&rc, &co) : env_run(&rc, json);
    conf_done(&rc);
    return r;
}

int main(int argc, char **argv)
{
    enum { OPT_CONFIG = 256 };
    static const struct option opts[] = {
        {"config", required_argument, NULL, OPT_CONFIG},
        {"kata-config", required_argument, NULL, OPT_CONFIG},
        {"version", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {},
    };
    log_set_source("kata-runtime");
    int c;
    while ((c = getopt_long(argc, argv, "+vh", opts, NULL)) != -1) {
        switch (c) {
        case OPT_CONFIG:
            arg_config = optarg;
            break;
        case 'v':
            return print_version();
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return EXIT_USAGE;
    }
    return run_command(argv[optind], argc - optind, argv + optind);
}
