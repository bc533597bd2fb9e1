/* Serving the agent's channel, see channel.h. */
#include "agent/channel.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "lib/err.h"
#include "lib/log.h"
#include "lib/loop.h"
#include "lib/transport.h"
#include "lib/vport_sync.h"
#include "lib/ttrpc/ttrpc.h"
#include "lib/xalloc.h"

struct channel {
    struct loop *loop;
    struct ttrpc_server *server;
    int port_fd; /* serial only: the port, open for the agent's lifetime */
    struct loop_source *port_watch;
    int sync_fd; /* a session being synchronised, not yet served */
    struct loop_source *sync_watch;
    struct vport_sync_scanner scanner;
};

/* The port file is watched by at most one epoll registration at a time:
 * the port fd while no session exists (to see the host connect), then the
 * session's fd. Polling a virtio port moves a buffer the host just filled
 * (or just consumed) into the driver's hands, and the interrupt that
 * follows finds nothing new and wakes no one. A poll made through a second
 * registration would therefore swallow the readiness the session's
 * registration waits for, and the session would stall until the host's
 * next message. */
static void port_watch_arm(struct channel *ch);

/* A session begins with the sync record of lib/vport_sync.h: bytes an
 * earlier host session left in the port are read and dropped until the
 * record, which is echoed back; from then on the fd carries ttRPC. */
static void session_sync_end(struct channel *ch, bool ok)
{
    ch->sync_watch = loop_source_free(ch->sync_watch);
    int fd = TAKE_FD(ch->sync_fd);
    if (!ok) {
        fd_close(fd);
        port_watch_arm(ch);
        return;
    }
    int r = ttrpc_server_add_connection(ch->server, fd);
    if (r < 0) {
        log_errno(LOG_ERROR, r, "cannot serve the agent port");
        port_watch_arm(ch);
    } else {
        log_debug("host session started on the agent port (%llu stale bytes dropped)",
                  (unsigned long long)ch->scanner.discarded);
    }
}

static void on_sync_data(struct loop_source *s, int fd, uint32_t revents, void *userdata)
{
    (void)s;
    (void)revents;
    struct channel *ch = userdata;
    uint8_t buf[256];
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        /* The host left before the sync: wait for its next connection. */
        session_sync_end(ch, false);
        return;
    }
    bool found;
    size_t used = vport_sync_scanner_feed(&ch->scanner, buf, (size_t)n, &found);
    if (!found)
        return;
    if (used < (size_t)n)
        log_warn("agent port: %zd bytes after the sync record dropped", n - (ssize_t)used);
    /* 32 bytes into a port the host just opened: the write does not block
     * in practice, and a short one means the session is unusable anyway. */
    if (write(fd, ch->scanner.buf, VPORT_SYNC_RECORD_LEN) != VPORT_SYNC_RECORD_LEN) {
        log_errno(LOG_WARN, -errno, "agent port: cannot answer the session sync");
        session_sync_end(ch, false);
        return;
    }
    session_sync_end(ch, true);
}

/* The host side of the port connected. A session works on a duplicate of
 * the port fd, so that closing it at the host's EOF leaves the port open
 * for the next one. */
static void on_port_event(struct loop_source *s, int fd, uint32_t revents, void *userdata)
{
    (void)s;
    struct channel *ch = userdata;
    if (!(revents & EPOLLOUT) || ch->sync_fd >= 0 ||
        ttrpc_server_connection_count(ch->server) > 0)
        return;
    ch->sync_fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    if (ch->sync_fd < 0) {
        log_errno(LOG_ERROR, -errno, "cannot start a session on the agent port");
        return;
    }
    ch->port_watch = loop_source_free(ch->port_watch);
    vport_sync_scanner_init(&ch->scanner);
    int r = loop_add_io(ch->loop, ch->sync_fd, EPOLLIN, on_sync_data, ch, &ch->sync_watch);
    if (r < 0) {
        log_errno(LOG_ERROR, r, "cannot watch the agent port");
        ch->sync_fd = fd_close(ch->sync_fd);
        port_watch_arm(ch);
    }
}

/* Edge-triggered: while no host is connected the port reports
 * EPOLLIN|EPOLLHUP continuously and a level-triggered watch would spin.
 * Adding the watch polls the port at once, so a host that connected
 * while it was off is seen now. */
static void port_watch_arm(struct channel *ch)
{
    if (ch->port_watch || ch->port_fd < 0)
        return;
    int r = loop_add_io(ch->loop, ch->port_fd, EPOLLOUT | EPOLLET, on_port_event, ch,
                        &ch->port_watch);
    if (r < 0)
        log_errno(LOG_ERROR, r, "cannot watch the agent port: no further host session");
}

/* The serial channel is the only source of connections on this server, so
 * no connection left means the session is over. */
static void on_connection_closed(struct ttrpc_server *server, void *userdata)
{
    struct channel *ch = userdata;
    if (ttrpc_server_connection_count(server) == 0 && ch->sync_fd < 0)
        port_watch_arm(ch);
}

static int serve_serial(struct channel *ch, const char *uri, struct err *e)
{
    int fd = transport_dial(uri, 0, e);
    if (fd < 0)
        return fd;
    ch->port_fd = fd;
    int r = loop_add_io(ch->loop, fd, EPOLLOUT | EPOLLET, on_port_event, ch, &ch->port_watch);
    if (r < 0)
        return err_set(e, r, "cannot watch %s", uri);
    ttrpc_server_on_connection_closed(ch->server, on_connection_closed, ch);
    return 0;
}

int channel_serve(struct loop *loop, struct ttrpc_server *server, const char *uri,
                  struct channel **ret_channel, struct err *e)
{
    struct channel *ch = xzalloc(sizeof(*ch));
    ch->loop = loop;
    ch->server = server;
    ch->port_fd = -1;
    ch->sync_fd = -1;
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
    if (ch->port_fd >= 0)
        ttrpc_server_on_connection_closed(ch->server, NULL, NULL);
    loop_source_free(ch->sync_watch);
    fd_close(ch->sync_fd);
    loop_source_free(ch->port_watch);
    fd_close(ch->port_fd);
    free(ch);
    return NULL;
}
