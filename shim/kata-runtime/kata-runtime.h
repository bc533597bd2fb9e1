/* kata-runtime: the pieces shared by its subcommands.
 *
 * main.c parses the command line, conf.c finds and loads the configuration,
 * check.c and env.c each print a report and return
 * the process exit status; host.c gathers the host facts both report.
 * Single-threaded; errors go to stderr once, from the subcommand. */
#pragma once

#include <stdbool.h>
#include <sys/utsname.h>

#include "config/cfg.h"
#include "config/hostcheck.h"

#ifndef KATA_RUNTIME_VERSION
#define KATA_RUNTIME_VERSION "0.0.0"
#endif
#ifndef KATA_RUNTIME_COMMIT
#define KATA_RUNTIME_COMMIT "unknown"
#endif

/* Exit statuses of `check` (documented in --help). */
#define EXIT_CAN_RUN 0
#define EXIT_CANNOT_RUN 1
#define EXIT_STRICT_WARNINGS 2
#define EXIT_USAGE 64

struct conf {
    struct cfg *cfg;
    char *path;         /* file loaded */
    const char *source; /* "--config", "KATA_CONF_FILE", "search" */
};

/* Finds and loads the configuration; on failure prints the message (with
 * file and line) to stderr and returns a negative errno. */
int conf_load(const char *explicit_path, struct conf *ret);
void conf_done(struct conf *rc);

struct host_facts {
    struct utsname uts;
    char distro_name[64];
    char distro_version[32];
    long long mem_total_kib;
    struct hostcheck_cpu cpu;
    bool cpu_known;
    struct hostcheck_kvm kvm;
    bool vhost_vsock;
    char vhost_vsock_detail[HOSTCHECK_DETAIL];
    bool vhost_net;
    char vhost_net_detail[HOSTCHECK_DETAIL];
    /* choices the runtime makes for this configuration on this host */
    int accel_r;        /* 0, or -ENODEV when the configuration cannot work */
    enum cfg_accel accel;
    char accel_why[HOSTCHECK_DETAIL];
    int channel_r;
    enum hostcheck_channel channel;
    char channel_why[HOSTCHECK_DETAIL];
};

void host_facts_collect(const struct cfg *c, struct host_facts *ret);

struct check_options {
    bool verbose;
    bool strict;
    bool no_network_checks;
};
int check_run(const struct conf *rc, const struct check_options *o);
int env_run(const struct conf *rc, bool json);
