/* kata-agent-ctl: the low-level test tool that calls any Kata agent API with
 * any parameters (upstream src/tools/agent-ctl). Exit status: 0 success, 1 a
 * command (or the connection) failed, 2 a usage error. */
#include <signal.h>
#include <stdio.h>

#include "agent/ctl/ctl.h"
#include "lib/log.h"

#ifndef KATA_AGENT_CTL_VERSION
#define KATA_AGENT_CTL_VERSION "0.1.0"
#endif

static int print_random_id(void)
{
    char id[CTL_ID_LEN + 1];
    if (ctl_text_random_id(id) < 0) {
        fprintf(stderr, "ERROR: cannot read random bytes\n");
        return 1;
    }
    printf("%s\n", id);
    return 0;
}

int main(int argc, char **argv)
{
    struct ctl_opts opts;
    int status = 0;

    log_set_source("agent-ctl");
    /* A reader of our stdout that goes away must not kill us mid-call. */
    signal(SIGPIPE, SIG_IGN);
    if (ctl_cli_parse(argc, argv, &opts) < 0)
        return 2;
    switch (opts.subcommand) {
    case CTL_CMD_HELP:
        ctl_cli_usage(stdout);
        break;
    case CTL_CMD_VERSION:
        printf("kata-agent-ctl %s\n", KATA_AGENT_CTL_VERSION);
        break;
    case CTL_CMD_EXAMPLES:
        ctl_cli_examples(stdout);
        break;
    case CTL_CMD_GENERATE_CID:
    case CTL_CMD_GENERATE_SID:
        status = print_random_id();
        break;
    case CTL_CMD_CONNECT:
        status = ctl_session_run(&opts);
        break;
    }
    ctl_cli_opts_done(&opts);
    return status;
}
