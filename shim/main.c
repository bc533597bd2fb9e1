/* containerd-shim-kata-v2: `start`, `delete`, `-v`, and (with no action
 * word, as re-executed by `start` with the listening socket on fd 3) the
 * serving daemon. See docs/facts containerd-shim-v2.md §3-4. */
#include <signal.h>
#include <stdio.h>

#include "lib/err.h"
#include "shim/args.h"
#include "shim/cleanup.h"
#include "shim/daemon.h"
#include "shim/shim.h"
#include "shim/start.h"

int main(int argc, char *argv[])
{
    struct shim_args args;
    struct err e = ERR_INIT;
    int r;

    signal(SIGPIPE, SIG_IGN);
    r = args_parse(argc, (const char *const *)argv, &args, &e);
    if (r < 0) {
        fprintf(stderr, "containerd-shim-kata-v2: %s\n", err_msg(&e));
        return 1;
    }
    switch (args.action) {
    case SHIM_ACTION_VERSION:
        printf("containerd-shim-kata-v2:\n  Version: %s\n  Protocol: ttrpc, task v2\n",
               SHIM_VERSION);
        return 0;
    case SHIM_ACTION_START:
        r = start_run(&args, &e);
        break;
    case SHIM_ACTION_DELETE:
        r = cleanup_run(&args, &e);
        break;
    case SHIM_ACTION_SERVE:
        r = daemon_run(&args, &e);
        break;
    }
    if (r < 0) {
        /* start: containerd shows this text in the task's error. */
        fprintf(stderr, "containerd-shim-kata-v2: %s\n", err_msg(&e));
        return 1;
    }
    return r;
}
