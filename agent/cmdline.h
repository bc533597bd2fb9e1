/* The agent's settings from the kernel command line: Kata's agent.*
 * parameters (names and units as upstream's agent config, kata.md §2) plus
 * the two keys that pick the cgroup hierarchy.
 *
 * cmdline_parse() is pure (no I/O) and never fails on content: the host
 * writes the command line, and a VM whose agent refuses to start over a
 * typo helps nobody. An unknown agent.* key or a malformed value is logged
 * at warning level (lib/log.h), counted in n_warnings, and the default
 * kept; a known key we do not act on (guest components, CDH, tracing...)
 * is logged at info level and counted in n_ignored. Values of ignored keys
 * are never logged (proxies may carry credentials). No state; any thread. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/log.h"

#define CMDLINE_MAX_MODULES 32
#define CMDLINE_MODULE_NAME_MAX 64
#define CMDLINE_ADDR_MAX 512
/* Longer hotplug timeouts are a typo, not a wish: capped at an hour. */
#define CMDLINE_MAX_HOTPLUG_TIMEOUT_S 3600

struct agent_cmdline {
    bool log_level_set;
    enum log_level log_level;           /* agent.log */
    bool debug_console;                 /* agent.debug_console */
    uint32_t debug_console_vport;       /* agent.debug_console_vport; 0: the console */
    uint32_t log_vport;                 /* agent.log_vport; 0: the console */
    char server_addr[CMDLINE_ADDR_MAX]; /* agent.server_addr; "" when unset */
    uint32_t container_pipe_size;       /* agent.container_pipe_size; 0: kernel default */
    uint32_t hotplug_timeout_ms;        /* agent.hotplug_timeout (seconds); 0: unset */
    /* agent.kernel_modules=a,b (commas, or spaces inside quotes). */
    char kernel_modules[CMDLINE_MAX_MODULES][CMDLINE_MODULE_NAME_MAX];
    size_t n_kernel_modules;
    /* systemd.unified_cgroup_hierarchy=1|true|yes|on, or cgroup_no_v1=all. */
    bool cgroup_unified;
    unsigned n_warnings; /* unknown agent.* keys and malformed values */
    unsigned n_ignored;  /* upstream keys this agent does not act on */
};

/* Parses a whole command line (the text of /proc/cmdline). Tokens split on
 * blanks outside double quotes, as the kernel splits them; a value's
 * surrounding quotes are dropped. Later duplicates win, as in the kernel. */
void cmdline_parse(const char *text, struct agent_cmdline *ret);

/* Reads path (normally /proc/cmdline) and parses it; a missing or
 * unreadable file gives the defaults and a negative errno. */
int cmdline_read(const char *path, struct agent_cmdline *ret);
