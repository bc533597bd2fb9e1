/* The serving daemon: re-executed by `start` with the listening socket on
 * fd 3 and /dev/null stdio, working directory = the sandbox's bundle. It
 * logs in logfmt to the bundle's `log` FIFO, serves containerd.task.v2.Task
 * (and the same methods as containerd.task.v3.Task) on one lib/loop.h loop,
 * publishes events, and returns when Shutdown finds no container left or on
 * SIGTERM/SIGINT, removing its socket. */
#pragma once

struct shim_args;
struct err;

int daemon_run(const struct shim_args *args, struct err *e);
