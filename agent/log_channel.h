/* agent.log_vport: the agent's log on a socket the host connects to (Kata
 * listens on vsock port 1025 and the host dials it), instead of the
 * console.
 *
 * log_channel_start() points lib/log.h at a private fd slot that holds a
 * copy of the console (stderr) until a host connects; a connection is then
 * dup2()ed over the slot, so threads logging at that moment write whole
 * lines to one or the other and never to a closed fd. When the host goes
 * away the console comes back. One host at a time: a newer connection
 * replaces the older one. The socket is non-blocking: a host that stops
 * reading loses lines rather than stalling the agent. Loop thread only;
 * errors are negative errno with a message in e. */
#pragma once

struct loop;
struct err;
struct log_channel;

/* uri: "vsock://-1:1025" in the guest; any listening transport in tests. */
int log_channel_start(struct loop *loop, const char *uri, struct log_channel **ret_channel,
                      struct err *e);
/* Puts the log back on stderr. NULL-safe; returns NULL. */
struct log_channel *log_channel_free(struct log_channel *lc);
