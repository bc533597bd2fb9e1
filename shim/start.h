/* The `start` action: hand containerd the address of the shim that serves
 * this container, starting a daemon only for a new sandbox. Prints only
 * `unix:///...` on stdout (containerd reads the combined output verbatim)
 * and returns once the daemon's socket listens; the daemon runs detached
 * with /dev/null stdio so containerd sees EOF at once. Errors: negative
 * errno with the message in *e (containerd shows it in the task error). */
#pragma once

struct shim_args;
struct err;

int start_run(const struct shim_args *args, struct err *e);
