/* agent.debug_console: a root shell for debugging the guest, as the Kata
 * agent offers one. Either on the console (hvc0, else ttyS0, else
 * /dev/console), restarted a second after it exits, or on a listening
 * socket (agent.debug_console_vport=N: vsock://-1:N; any transport URI for
 * tests), one shell per connection with the connection as its stdio, at
 * most DEBUG_CONSOLE_MAX_SESSIONS at once. Only when the image has a shell:
 * our initrd has none by default, and then debug_console_start() returns
 * -ENOENT with a message saying so. Shells are started through lib/spawn.h
 * and reaped by the agent's SIGCHLD handler (struct agent_child); freeing
 * the console kills them. Loop thread only; errors are negative errno with
 * a message in e. */
#pragma once

struct agent;
struct err;
struct debug_console;

#define DEBUG_CONSOLE_MAX_SESSIONS 4
#define DEBUG_CONSOLE_RESTART_MS 1000

/* The shell to offer (/bin/bash, else /bin/sh), or NULL when none exists. */
const char *debug_console_shell(void);

/* uri NULL: the console; "serial:///dev/X": the shell on that device,
 * restarted as on the console (tests use a pty); anything else: a
 * listening transport (lib/transport.h). */
int debug_console_start(struct agent *a, const char *uri, struct debug_console **ret_console,
                        struct err *e);
/* NULL-safe; returns NULL. */
struct debug_console *debug_console_free(struct debug_console *dc);
