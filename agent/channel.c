/* Serving the agent's channel, see channel.h. */
#include "agent/channel.h"

#include <fcntl.h>
#include <string.h>
#include <sys/epoll.h>

#include "lib/err.h"
#include "lib/log.h"
#include "lib/loop.h"
#include "lib/transport.h"
#include "lib/ttrpc/ttrpc.h"
#include "lib/xalloc.h"

struct channel {
    struct loop *loop;
    struct ttrpc_server *server;
    int port_fd; /* serial only: the port, open for the agent's lifetime */
    struct loop_source *port_watch;
};

/* The host side of the port connected (or the port became writable again
 * while a session runs, which needs nothing). A session is a server
 * connection on a duplicate of the port fd, so that closing it at the host's
 * EOF leaves the port open for the next one. The serial channel is the only
 * source of connections on this server, so "no connection" means "no
 * session". */
static void on_port_event(struct loop_source *s, int fd, uint32_t revents, void *userdata)
{
    (void)s;
    struct channel *ch = userdata;
    if (!(revents & EPOLLOUT) || ttrpc_server_connection_count(ch->server) > 0)
        return;
    int session_fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    if (session_fd < 0) {
        log_errno(LOG_ERROR, -errno, "cannot start a session on the agent port");
        return;
    }
    /* Bytes the previous host session left queued in the port are not
     * discarded yet: a reconnecting host must resynchronise (issue 7). */
    int r = ttrpc_server_add_connection(ch->server, session_fd);
    if (r < 0)
        log_errno(LOG_ERROR, r, "cannot serve the agent port");
    else
        log_debug("host connected to the agent port");
}

static int serve_serial(struct channel *ch, const char *uri, struct err *e)
{
    int fd = transport_dial(uri, 0, e);
    if (fd < 0)
        return fd;
    ch->port_fd = fd;
    /* Edge-triggered: while no host is connected the port reports
     * EPOLLIN|EPOLLHUP continuously and a level-triggered watch would spin. */
    int r = loop_add_io(ch->loop, fd, EPOLLOUT | EPOLLET, on_port_event, ch, &ch->port_watch);
    if (r < 0)
        return err_set(e, r, "cannot watch %s", uri);
    return 0;
}

int channel_serve(struct loop *loop, struct ttrpc_server *server, const char *uri,
                  struct channel **ret_channel, struct err *e)
{
    struct channel *ch = xzalloc(sizeof(*ch));
    ch->loop = loop;
    ch->server = server;
    ch->port_fd = -1;
    int r;
    if (strncmp(uri, "serial://", 9) == 0) {
        r = serve_serial(ch, uri, e);
    } else {
        r = transport_listen(uri, e);
        if (r >= 0)
            r = ttrpc_server_listen_fd(server, r);
    }
    if (r < 0) {
        channel_free(ch);
        return r;
    }
    *ret_channel = ch;
    return 0;
}

struct channel *channel_free(struct channel *ch)
{
    if (!ch)
        return NULL;
    loop_source_free(ch->port_watch);
    fd_close(ch->port_fd);
    free(ch);
    return NULL;
}
