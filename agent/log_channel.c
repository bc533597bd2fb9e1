/* The log channel, see log_channel.h. */
#include "agent/log_channel.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/compiler.h"
#include "lib/err.h"
#include "lib/log.h"
#include "lib/loop.h"
#include "lib/transport.h"
#include "lib/xalloc.h"

struct log_channel {
    struct loop *loop;
    int slot;    /* what lib/log.h writes to */
    int console; /* a copy of stderr, put back when the host leaves */
    int listen_fd;
    struct loop_source *listen_watch;
    int conn;
    struct loop_source *conn_watch;
};

static void host_gone(struct log_channel *lc)
{
    /* The slot first: from here on nobody writes to the connection. */
    if (dup3(lc->console, lc->slot, O_CLOEXEC) < 0)
        log_set_fd(2);
    lc->conn_watch = loop_source_free(lc->conn_watch);
    lc->conn = fd_close(lc->conn);
}

/* The host sends nothing; whatever it does send is dropped, and EOF or an
 * error means it left. */
static void on_conn(struct loop_source *src, int fd, uint32_t revents, void *userdata)
{
    (void)src, (void)revents;
    struct log_channel *lc = userdata;
    char buf[256];
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n > 0 || (n < 0 && (errno == EAGAIN || errno == EINTR)))
        return;
    host_gone(lc);
    log_info("log channel: the host left; logging to the console");
}

static void on_accept(struct loop_source *src, int fd, uint32_t revents, void *userdata)
{
    (void)src, (void)revents;
    struct log_channel *lc = userdata;
    int conn = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (conn < 0)
        return;
    if (lc->conn >= 0)
        host_gone(lc);
    if (loop_add_io(lc->loop, conn, EPOLLIN | EPOLLRDHUP, on_conn, lc, &lc->conn_watch) < 0) {
        close(conn);
        return;
    }
    lc->conn = conn;
    if (dup3(conn, lc->slot, O_CLOEXEC) < 0) {
        log_errno(LOG_WARN, -errno, "log channel: cannot switch the log to the host");
        host_gone(lc);
        return;
    }
    log_info("log channel: a host connected; logging there");
}

int log_channel_start(struct loop *loop, const char *uri, struct log_channel **ret_channel,
                      struct err *e)
{
    struct log_channel *lc = xzalloc(sizeof(*lc));
    lc->loop = loop;
    lc->conn = -1;
    lc->listen_fd = -1;
    lc->slot = fcntl(2, F_DUPFD_CLOEXEC, 3);
    lc->console = fcntl(2, F_DUPFD_CLOEXEC, 3);
    int r = lc->slot < 0 || lc->console < 0 ? err_set(e, -errno, "cannot copy stderr") : 0;
    if (r == 0) {
        r = transport_listen(uri, e);
        if (r >= 0) {
            lc->listen_fd = r;
            r = loop_add_io(loop, r, EPOLLIN, on_accept, lc, &lc->listen_watch);
            if (r < 0)
                err_set(e, r, "cannot watch %s", uri);
        }
    }
    if (r < 0) {
        log_channel_free(lc);
        return r;
    }
    log_set_fd(lc->slot);
    *ret_channel = lc;
    return 0;
}

struct log_channel *log_channel_free(struct log_channel *lc)
{
    if (!lc)
        return NULL;
    log_set_fd(2);
    loop_source_free(lc->conn_watch);
    fd_close(lc->conn);
    loop_source_free(lc->listen_watch);
    fd_close(lc->listen_fd);
    fd_close(lc->slot);
    fd_close(lc->console);
    free(lc);
    return NULL;
}
