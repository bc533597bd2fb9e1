/* The channel the agent serves ttRPC on.
 *
 * For unix:// and vsock:// addresses this is a listening socket handed to
 * the ttRPC server. For serial:// (a virtio-serial port, the channel on
 * hosts without vhost-vsock) there is nothing to accept: the port is one
 * long-lived file whose host side comes and goes. The host connecting shows
 * only as the port becoming writable (an EPOLLOUT edge), and its leaving as
 * EOF, which closes the server connection; the port itself stays open and
 * the next EPOLLOUT edge starts a fresh ttRPC session on it. Runs on the
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
