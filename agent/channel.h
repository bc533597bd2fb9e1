/* The channel the agent serves ttRPC on.
 *
 * For unix:// and vsock:// addresses this is a listening socket handed to
 * the ttRPC server. For serial:// (a virtio-serial port, the channel on
 * hosts without vhost-vsock) there is nothing to accept: the port is one
 * long-lived file whose host side comes and goes. The host connecting shows
 * only as the port becoming writable (an EPOLLOUT edge), and its leaving as
 * EOF, which closes the server connection; the port itself stays open and
 * the next EPOLLOUT edge starts a fresh session on it, which begins with
 * lib/vport_sync.h's sync record so that bytes an earlier session left in
 * the port cannot be mistaken for requests. Limitation: the guest sees a
 * host leave only after reading everything that host sent, so a host that
 * reconnects before then is taken for the old session; hosts reconnect
 * rarely (a restarted shim, a new kata-agent-ctl run). Runs on the
 * agent's loop thread; errors are negative errno with a message in e. */
#pragma once

struct loop;
struct ttrpc_server;
struct err;
struct channel;

int channel_serve(struct loop *loop, struct ttrpc_server *server, const char *uri,
                  struct channel **ret_channel, struct err *e);
/* NULL-safe, returns NULL. */
struct channel *channel_free(struct channel *ch);
