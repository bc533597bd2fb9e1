/* fake-cloud-hypervisor: started by the CLH driver exactly like the real
 * binary. Accepts the options of cloud-hypervisor's command line the driver
 * may use (--api-socket path=P | fd=N | P, -v..., --log-file F,
 * --seccomp true|false|log, --version) and refuses any other, as clap does
 * (exit 2). The environment steers the test:
 *   FAKE_CLH_VSOCK=PORT=PATH[,...]  where guest vsock ports lead
 *   FAKE_CLH_FAULT=ENDPOINT:MODE    fault injection (see fake_clh.h)
 *   FAKE_CLH_RECORD=FILE            argv and every request, one JSON line each
 *   FAKE_CLH_EXIT_AT_START=N        exit with status N before listening */
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/support/fake_clh/fake_clh.h"

static void record_argv(const char *path, int argc, char **argv)
{
    FILE *f = path ? fopen(path, "ae") : NULL;
    if (!f)
        return;
    json_object *o = json_object_new_object(), *a = json_object_new_array();
    for (int i = 0; i < argc; i++)
        json_object_array_add(a, json_object_new_string(argv[i]));
    json_object_object_add(o, "argv", a);
    fprintf(f, "%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
    json_object_put(o);
    fclose(f);
}

/* CLH's OptionParser: "path=P", "fd=N" or a bare path. */
static int parse_api_socket(const char *v, struct fake_clh_opts *o)
{
    if (strncmp(v, "fd=", 3) == 0) {
        char *end;
        long fd = strtol(v + 3, &end, 10);
        if (*end || fd < 0 || fd > 1023)
            return -1;
        o->api_fd = (int)fd;
    } else {
        o->api_socket = strncmp(v, "path=", 5) == 0 ? v + 5 : v;
    }
    return *v ? 0 : -1;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"api-socket", required_argument, NULL, 'a'},
        {"log-file", required_argument, NULL, 'l'},
        {"seccomp", required_argument, NULL, 's'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    struct fake_clh_opts o = {.api_fd = -1};
    const char *record = getenv("FAKE_CLH_RECORD");
    int c;

    record_argv(record, argc, argv);
    opterr = 0;
    while ((c = getopt_long(argc, argv, "vV", longopts, NULL)) != -1) {
        switch (c) {
        case 'a':
            if (parse_api_socket(optarg, &o) < 0) {
                fprintf(stderr, "Error parsing --api-socket: %s\n", optarg);
                return 1;
            }
            break;
        case 'l':
            if (!freopen(optarg, "a", stderr))
                return 1;
            break;
        case 's':
            if (strcmp(optarg, "true") && strcmp(optarg, "false") && strcmp(optarg, "log")) {
                fprintf(stderr, "error: invalid value '%s' for '--seccomp'\n", optarg);
                return 2;
            }
            break;
        case 'v':
            break;
        case 'V':
            printf("cloud-hypervisor v51.1.0-fake\n");
            return 0;
        default:
            fprintf(stderr, "error: unexpected argument '%s' found\n", argv[optind - 1]);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "error: unexpected argument '%s' found\n", argv[optind]);
        return 2;
    }
    const char *exit_at_start = getenv("FAKE_CLH_EXIT_AT_START");
    if (exit_at_start) {
        fprintf(stderr, "fake-cloud-hypervisor: exiting at start as asked\n");
        return atoi(exit_at_start);
    }
    if (!o.api_socket && o.api_fd < 0) {
        fprintf(stderr, "fake-cloud-hypervisor: no --api-socket, nothing to serve\n");
        return 1;
    }
    o.vsock_targets = getenv("FAKE_CLH_VSOCK");
    o.fault = getenv("FAKE_CLH_FAULT");
    o.record_path = record;
    return fake_clh_run(&o);
}
