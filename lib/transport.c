/* ttRPC peer addresses: URI parsing, dial and listen. See transport.h.
 * Built with -Wconversion -Wsign-conversion: the URI comes from config files
 * and annotations, and the hybrid vsock reply comes from the VMM. */
#include "lib/transport.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/vm_sockets.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "lib/compiler.h"
#include "lib/err.h"
#include "lib/fd.h"
#include "lib/vport_sync.h"

#define QUOTE_MAX 72        /* a URI or a peer's bytes, escaped, inside a message */
#define HVSOCK_REPLY_MAX 32 /* "OK 4294967295\n" is 14 bytes */
#define LISTEN_BACKLOG SOMAXCONN
#define NSEC_PER_SEC 1000000000ull
#define NO_DEADLINE UINT64_MAX

/* ---- printable quoting ---- */

/* Copies s[0..len) into out as printable ASCII (\n, \", \\, \xNN), ending in
 * "..." when it does not fit, so bytes from a config file or a VMM can
 * neither break a log line nor overflow the message. size must be >= 4. */
static void escape(const char *s, size_t len, char *out, size_t size)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        char rep[5];
        if (c == '\n')
            snprintf(rep, sizeof(rep), "\\n");
        else if (c == '"' || c == '\\')
            snprintf(rep, sizeof(rep), "\\%c", c);
        else if (c < 0x20 || c >= 0x7f)
            snprintf(rep, sizeof(rep), "\\x%02x", c);
        else
            snprintf(rep, sizeof(rep), "%c", c);
        size_t n = strlen(rep);
        /* Keep room for "..." plus NUL; the previous step left o + 4 <= size. */
        if (o + n + 4 > size) {
            memcpy(out + o, "...", 4);
            return;
        }
        memcpy(out + o, rep, n);
        o += n;
    }
    out[o] = '\0';
}

static void quote_uri(const char *uri, char out[QUOTE_MAX])
{
    escape(uri, strlen(uri), out, QUOTE_MAX);
}

/* "<uri>: <what>: <strerror>", with errno read before anything can change it. */
static int fail(struct err *e, int r, const char *q, const char *what)
{
    return err_set(e, r, "%s: %s: %s", q, what, strerror(-r));
}

static int fail_errno(struct err *e, const char *q, const char *what)
{
    return fail(e, -errno, q, what);
}

/* ---- parsing ---- */

/* Decimal uint32 without sign, spaces or base prefix: 0, -EINVAL, -ERANGE. */
static int parse_u32(const char *s, size_t len, uint32_t *ret)
{
    uint64_t v = 0;
    if (len == 0)
        return -EINVAL;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -EINVAL;
        v = v * 10 + (uint64_t)(s[i] - '0');
        if (v > UINT32_MAX)
            return -ERANGE;
    }
    *ret = (uint32_t)v;
    return 0;
}

static int parse_number(const char *q, const char *what, const char *s, size_t len, uint32_t *ret,
                        struct err *e)
{
    char part[24];
    if (len == 0)
        return err_set(e, -EINVAL, "address \"%s\": missing %s", q, what);
    escape(s, len, part, sizeof(part));
    int r = parse_u32(s, len, ret);
    if (r == -ERANGE)
        return err_set(e, -EINVAL, "address \"%s\": %s %s is out of range (0..%" PRIu32 ")", q,
                       what, part, UINT32_MAX);
    if (r < 0)
        return err_set(e, -EINVAL, "address \"%s\": %s \"%s\" is not a decimal number", q, what,
                       part);
    return 0;
}

/* Checks a socket path or abstract name and copies it NUL-terminated. */
static int parse_path(const char *q, const char *p, size_t len, bool absolute, char *out,
                      struct err *e)
{
    if (len == 0)
        return err_set(e, -EINVAL, "address \"%s\": missing %s", q,
                       absolute ? "path" : "abstract socket name");
    if (absolute && p[0] != '/')
        return err_set(e, -EINVAL, "address \"%s\": path must be absolute", q);
    if (len >= TRANSPORT_PATH_MAX)
        return err_set(e, -ENAMETOOLONG, "address \"%s\": %s is %zu bytes, the limit is %d", q,
                       absolute ? "path" : "abstract socket name", len, TRANSPORT_PATH_MAX - 1);
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
            return err_set(e, -EINVAL, "address \"%s\": control character in path", q);
    memcpy(out, p, len);
    out[len] = '\0';
    return 0;
}

static int parse_unix(const char *q, const char *rest, struct transport_addr *a, struct err *e)
{
    a->kind = TRANSPORT_UNIX;
    a->abstract = rest[0] == '@';
    if (a->abstract)
        return parse_path(q, rest + 1, strlen(rest + 1), false, a->path, e);
    return parse_path(q, rest, strlen(rest), true, a->path, e);
}

static int parse_vsock(const char *q, const char *rest, struct transport_addr *a, struct err *e)
{
    const char *colon = strchr(rest, ':');
    a->kind = TRANSPORT_VSOCK;
    if (!colon)
        return err_set(e, -EINVAL, "address \"%s\": missing \":PORT\" after the CID", q);
    size_t cid_len = (size_t)(colon - rest);
    int r;
    if (cid_len == 2 && memcmp(rest, "-1", 2) == 0)
        a->cid = VMADDR_CID_ANY;
    else if ((r = parse_number(q, "CID", rest, cid_len, &a->cid, e)) < 0)
        return r;
    return parse_number(q, "port", colon + 1, strlen(colon + 1), &a->port, e);
}

static int parse_hvsock(const char *q, const char *rest, struct transport_addr *a, struct err *e)
{
    /* The path may itself contain ':', so the port follows the last one. */
    const char *colon = strrchr(rest, ':');
    a->kind = TRANSPORT_HVSOCK;
    if (!colon)
        return err_set(e, -EINVAL, "address \"%s\": missing \":PORT\" after the path", q);
    int r = parse_path(q, rest, (size_t)(colon - rest), true, a->path, e);
    if (r < 0)
        return r;
    return parse_number(q, "port", colon + 1, strlen(colon + 1), &a->port, e);
}

static int parse_serial(const char *q, const char *rest, struct transport_addr *a, struct err *e)
{
    a->kind = TRANSPORT_SERIAL;
    return parse_path(q, rest, strlen(rest), true, a->path, e);
}

static int parse_vserial(const char *q, const char *rest, struct transport_addr *a,
                         struct err *e)
{
    a->kind = TRANSPORT_VSERIAL;
    return parse_path(q, rest, strlen(rest), true, a->path, e);
}

static const char *skip_prefix(const char *s, const char *prefix)
{
    size_t n = strlen(prefix);
    return strncmp(s, prefix, n) == 0 ? s + n : NULL;
}

int transport_parse(const char *uri, struct transport_addr *ret_addr, struct err *e)
{
    struct transport_addr a = {0};
    char q[QUOTE_MAX];
    const char *rest;
    int r;

    if (!uri)
        return err_set(e, -EINVAL, "no transport address given");
    quote_uri(uri, q);
    if ((rest = skip_prefix(uri, "unix://")))
        r = parse_unix(q, rest, &a, e);
    else if ((rest = skip_prefix(uri, "vsock://")))
        r = parse_vsock(q, rest, &a, e);
    else if ((rest = skip_prefix(uri, "hvsock://")))
        r = parse_hvsock(q, rest, &a, e);
    else if ((rest = skip_prefix(uri, "serial://")))
        r = parse_serial(q, rest, &a, e);
    else if ((rest = skip_prefix(uri, "vserial://")))
        r = parse_vserial(q, rest, &a, e);
    else
        return err_set(e, -EINVAL,
                       "address \"%s\": unknown scheme, expected unix://, vsock://, hvsock://, "
                       "serial:// or vserial://",
                       q);
    if (r < 0)
        return r;
    *ret_addr = a;
    return 0;
}

int transport_format(const struct transport_addr *a, char *buf, size_t size)
{
    int plen = (int)strnlen(a->path, sizeof(a->path));
    int n;

    switch (a->kind) {
    case TRANSPORT_UNIX:
        n = snprintf(buf, size, "unix://%s%.*s", a->abstract ? "@" : "", plen, a->path);
        break;
    case TRANSPORT_VSOCK:
        if (a->cid == VMADDR_CID_ANY)
            n = snprintf(buf, size, "vsock://-1:%" PRIu32, a->port);
        else
            n = snprintf(buf, size, "vsock://%" PRIu32 ":%" PRIu32, a->cid, a->port);
        break;
    case TRANSPORT_HVSOCK:
        n = snprintf(buf, size, "hvsock://%.*s:%" PRIu32, plen, a->path, a->port);
        break;
    case TRANSPORT_SERIAL:
        n = snprintf(buf, size, "serial://%.*s", plen, a->path);
        break;
    case TRANSPORT_VSERIAL:
        n = snprintf(buf, size, "vserial://%.*s", plen, a->path);
        break;
    default:
        return -EINVAL;
    }
    if (n < 0)
        return -EINVAL;
    if ((size_t)n >= size)
        return -ENOSPC;
    return n;
}

/* ---- deadlines ---- */

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

static uint64_t deadline_after(uint64_t timeout_ns)
{
    uint64_t now = now_ns();
    if (timeout_ns == 0 || timeout_ns >= NO_DEADLINE - now)
        return NO_DEADLINE;
    return now + timeout_ns;
}

/* Nanoseconds left, 0 once the deadline has passed. */
static uint64_t ns_left(uint64_t deadline)
{
    uint64_t now = now_ns();
    return deadline > now ? deadline - now : 0;
}

/* Milliseconds for poll(): -1 without a deadline, rounded up otherwise so
 * that a wait never ends just before the deadline and spins. */
static int ms_left(uint64_t deadline)
{
    if (deadline == NO_DEADLINE)
        return -1;
    uint64_t ms = (ns_left(deadline) + 999999) / 1000000;
    return ms > INT32_MAX ? INT32_MAX : (int)ms;
}

static struct timeval timeval_left(uint64_t deadline)
{
    uint64_t left = ns_left(deadline);
    struct timeval tv = {
        .tv_sec = (time_t)(left / NSEC_PER_SEC),
        .tv_usec = (suseconds_t)(left % NSEC_PER_SEC / 1000),
    };
    return tv;
}

/* ---- unix sockets ---- */

static socklen_t unix_sockaddr(const char *path, bool abstract, struct sockaddr_un *sa)
{
    size_t len = strnlen(path, sizeof(sa->sun_path) - 1);
    memset(sa, 0, sizeof(*sa));
    sa->sun_family = AF_UNIX;
    /* An abstract name starts with a NUL and is exactly `len` bytes long. */
    memcpy(sa->sun_path + (abstract ? 1 : 0), path, len);
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + 1);
}

/* A non-blocking AF_UNIX connect cannot be waited for: it fails with EAGAIN
 * while the listener's backlog is full, and poll() on the unconnected socket
 * reports POLLHUP at once. So connect in blocking mode, bounded by
 * SO_SNDTIMEO (which unix connect honours), and switch to non-blocking after. */
static int unix_connect(const char *q, const char *path, bool abstract, uint64_t deadline,
                        struct err *e)
{
    struct sockaddr_un sa;
    socklen_t len = unix_sockaddr(path, abstract, &sa);
    struct timeval none = {0, 0};
    _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return fail_errno(e, q, "socket");
    for (;;) {
        struct timeval tv = timeval_left(deadline);
        if (deadline != NO_DEADLINE && tv.tv_sec == 0 && tv.tv_usec == 0)
            return err_set(e, -ETIMEDOUT, "%s: connect timed out", q);
        if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, deadline == NO_DEADLINE ? &none : &tv,
                       sizeof(tv)) < 0)
            return fail_errno(e, q, "SO_SNDTIMEO");
        if (connect(fd, (const struct sockaddr *)&sa, len) == 0)
            break;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN)
            return err_set(e, -ETIMEDOUT, "%s: connect timed out (listener backlog full)", q);
        return fail_errno(e, q, "connect");
    }
    if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &none, sizeof(none)) < 0)
        return fail_errno(e, q, "SO_SNDTIMEO");
    int r = fd_set_nonblock(fd, true);
    if (r < 0)
        return fail(e, r, q, "O_NONBLOCK");
    return TAKE_FD(fd);
}

/* bind() fails on any existing path. A socket file left by a process that
 * died must go, but only if it is a socket and nobody accepts on it. The
 * probe reaches a live listener as one empty connection. Two processes
 * starting on one path at once can still race (one may unlink the other's
 * new socket); as for every daemon that cleans up this way, that is a
 * configuration error this check does not try to settle. */
static int remove_stale(const char *q, const char *path, struct err *e)
{
    struct stat st;
    if (lstat(path, &st) < 0)
        return errno == ENOENT ? 0 : fail_errno(e, q, "stat");
    if (!S_ISSOCK(st.st_mode))
        return err_set(e, -EADDRINUSE, "%s: path exists and is not a socket", q);

    _cleanup_close_ int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (probe < 0)
        return fail_errno(e, q, "socket");
    struct sockaddr_un sa;
    socklen_t len = unix_sockaddr(path, false, &sa);
    /* Success, or EAGAIN from a full backlog, both mean a live listener. */
    if (connect(probe, (const struct sockaddr *)&sa, len) == 0 || errno == EAGAIN)
        return err_set(e, -EADDRINUSE, "%s: address in use by a live listener", q);
    if (errno != ECONNREFUSED)
        return fail_errno(e, q, "probing existing socket");
    if (unlink(path) < 0 && errno != ENOENT)
        return fail_errno(e, q, "removing stale socket");
    return 0;
}

static int unix_listen(const char *q, const char *path, bool abstract, struct err *e)
{
    struct sockaddr_un sa;
    socklen_t len = unix_sockaddr(path, abstract, &sa);
    _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return fail_errno(e, q, "socket");
    if (bind(fd, (const struct sockaddr *)&sa, len) < 0) {
        /* Abstract names vanish with their last owner: in use means live. */
        if (errno != EADDRINUSE || abstract)
            return fail_errno(e, q, "bind");
        int r = remove_stale(q, path, e);
        if (r < 0)
            return r;
        if (bind(fd, (const struct sockaddr *)&sa, len) < 0)
            return fail_errno(e, q, "bind");
    }
    if (listen(fd, LISTEN_BACKLOG) < 0)
        return fail_errno(e, q, "listen");
    return TAKE_FD(fd);
}

/* ---- vsock ---- */

static int vsock_connect(const char *q, uint32_t cid, uint32_t port, uint64_t deadline,
                         struct err *e)
{
    struct sockaddr_vm sa = {.svm_family = AF_VSOCK, .svm_cid = cid, .svm_port = port};
    _cleanup_close_ int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return fail_errno(e, q, "socket(AF_VSOCK)");
    /* The kernel abandons a vsock connect after its own timeout (2 s by
     * default) whatever our deadline; stretch it to ours. Best effort: an
     * old kernel keeps its default and we report its ETIMEDOUT. */
    if (deadline != NO_DEADLINE) {
        struct timeval tv = timeval_left(deadline);
        (void)setsockopt(fd, AF_VSOCK, SO_VM_SOCKETS_CONNECT_TIMEOUT, &tv, sizeof(tv));
    }
    if (connect(fd, (const struct sockaddr *)&sa, sizeof(sa)) < 0) {
        /* After EINTR the connect goes on in the background, as EINPROGRESS. */
        if (errno != EINPROGRESS && errno != EINTR)
            return fail_errno(e, q, "connect");
        int r = fd_wait(fd, POLLOUT, ms_left(deadline));
        if (r == -ETIMEDOUT)
            return err_set(e, r, "%s: connect timed out", q);
        if (r < 0)
            return fail(e, r, q, "poll");
        int soerr = 0;
        socklen_t sl = sizeof(soerr);
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
            return fail_errno(e, q, "SO_ERROR");
        if (soerr != 0)
            return fail(e, -soerr, q, "connect");
    }
    return TAKE_FD(fd);
}

static int vsock_listen(const char *q, uint32_t cid, uint32_t port, struct err *e)
{
    struct sockaddr_vm sa = {.svm_family = AF_VSOCK, .svm_cid = cid, .svm_port = port};
    _cleanup_close_ int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return fail_errno(e, q, "socket(AF_VSOCK)");
    if (bind(fd, (const struct sockaddr *)&sa, sizeof(sa)) < 0)
        return fail_errno(e, q, "bind");
    if (listen(fd, LISTEN_BACKLOG) < 0)
        return fail_errno(e, q, "listen");
    return TAKE_FD(fd);
}

/* ---- hybrid vsock ---- */

static int send_all(const char *q, int fd, const char *buf, size_t len, uint64_t deadline,
                    struct err *e)
{
    while (len > 0) {
        ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
        if (n > 0) {
            buf += n;
            len -= (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        /* A VMM that hangs up at once (no guest listener) is not an I/O
         * error: report it as the refusal it is, like read_reply() does. */
        if (n < 0 && (errno == EPIPE || errno == ECONNRESET))
            return err_set(e, -ECONNREFUSED, "%s: closed before CONNECT was sent", q);
        if (n < 0 && errno != EAGAIN)
            return fail_errno(e, q, "sending CONNECT");
        int r = fd_wait(fd, POLLOUT, ms_left(deadline));
        if (r == -ETIMEDOUT)
            return err_set(e, r, "%s: timed out sending CONNECT", q);
        if (r < 0)
            return fail(e, r, q, "poll");
    }
    return 0;
}

/* Reads one line of at most HVSOCK_REPLY_MAX bytes a byte at a time:
 * whatever follows the newline already belongs to the agent's stream.
 * Returns the line length including '\n'. */
static int read_reply(const char *q, int fd, char *line, uint64_t deadline, struct err *e)
{
    size_t len = 0;
    char shown[QUOTE_MAX];

    while (len == 0 || line[len - 1] != '\n') {
        if (len == HVSOCK_REPLY_MAX) {
            escape(line, len, shown, sizeof(shown));
            return err_set(e, -EPROTO, "%s: reply to CONNECT too long: \"%s\"", q, shown);
        }
        ssize_t n = read(fd, line + len, 1);
        if (n > 0) {
            len++;
            continue;
        }
        /* The VMM hangs up when no guest listens on the port; ECONNRESET if
         * it did so before reading CONNECT. */
        if (len == 0 && (n == 0 || errno == ECONNRESET))
            return err_set(e, -ECONNREFUSED,
                           "%s: closed without a reply to CONNECT (nothing listening on "
                           "the port?)",
                           q);
        if (n == 0) {
            escape(line, len, shown, sizeof(shown));
            return err_set(e, -EPROTO, "%s: closed after partial reply \"%s\"", q, shown);
        }
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN)
            return fail_errno(e, q, "reading reply");
        int r = fd_wait(fd, POLLIN, ms_left(deadline));
        if (r == -ETIMEDOUT)
            return err_set(e, r, "%s: timed out waiting for the reply to CONNECT", q);
        if (r < 0)
            return fail(e, r, q, "poll");
    }
    return (int)len;
}

/* Firecracker and Cloud Hypervisor expose guest vsock ports through one unix
 * socket: the host writes "CONNECT <port>\n" and the VMM answers
 * "OK <host side port>\n" once the guest accepted. */
static int hvsock_handshake(const char *q, int fd, uint32_t port, uint64_t deadline, struct err *e)
{
    char req[32];
    char line[HVSOCK_REPLY_MAX];
    int n = snprintf(req, sizeof(req), "CONNECT %" PRIu32 "\n", port);
    int r = send_all(q, fd, req, (size_t)n, deadline, e);
    if (r < 0)
        return r;
    r = read_reply(q, fd, line, deadline, e);
    if (r < 0)
        return r;

    size_t len = (size_t)r;
    uint32_t host_port;
    if (len < 5 || memcmp(line, "OK ", 3) != 0 || parse_u32(line + 3, len - 4, &host_port) < 0) {
        char shown[QUOTE_MAX];
        escape(line, len, shown, sizeof(shown));
        return err_set(e, -EPROTO, "%s: unexpected reply to CONNECT: \"%s\"", q, shown);
    }
    return 0;
}

static int hvsock_dial(const char *q, const struct transport_addr *a, uint64_t deadline,
                       struct err *e)
{
    _cleanup_close_ int fd = unix_connect(q, a->path, false, deadline, e);
    if (fd < 0)
        return fd;
    int r = hvsock_handshake(q, fd, a->port, deadline, e);
    if (r < 0)
        return r;
    return TAKE_FD(fd);
}

/* The VMM forwards a guest connection to port P to the socket "PATH_P". */
static int hvsock_listen(const char *q, const struct transport_addr *a, struct err *e)
{
    char path[TRANSPORT_PATH_MAX + 16];
    int n = snprintf(path, sizeof(path), "%s_%" PRIu32, a->path, a->port);
    if (n < 0 || (size_t)n >= TRANSPORT_PATH_MAX)
        return err_set(e, -ENAMETOOLONG, "%s: socket path \"%s_%" PRIu32 "\" is over %d bytes", q,
                       a->path, a->port, TRANSPORT_PATH_MAX - 1);
    return unix_listen(q, path, false, e);
}

/* ---- serial ---- */

static int serial_open(const char *q, const char *path, struct err *e)
{
    /* O_NOCTTY: a console-like port must not become our controlling tty. */
    struct stat st;
    _cleanup_close_ int fd = open(path, O_RDWR | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0)
        return fail_errno(e, q, "open");
    if (fstat(fd, &st) < 0)
        return fail_errno(e, q, "stat");
    if (!S_ISCHR(st.st_mode))
        return err_set(e, -ENODEV, "%s: not a character device", q);
    return TAKE_FD(fd);
}

/* The host end of a virtio-serial port: QEMU's chardev socket, then the
 * session sync, because the port may still hold bytes of an earlier
 * session (lib/vport_sync.h). Stale bytes beyond a few ttRPC messages'
 * worth mean something else is wrong. */
static int vserial_dial(const char *q, const char *path, uint64_t deadline, struct err *e)
{
    _cleanup_close_ int fd = unix_connect(q, path, false, deadline, e);
    if (fd < 0)
        return fd;
    int r = vport_sync_host(fd, deadline == NO_DEADLINE ? UINT64_MAX : deadline,
                            (size_t)16 << 20, e);
    if (r < 0)
        return err_prefix(e, "%s", q);
    return TAKE_FD(fd);
}

/* ---- entry points ---- */

int transport_dial(const char *uri, uint64_t timeout_ns, struct err *e)
{
    struct transport_addr a;
    char q[QUOTE_MAX];
    int r = transport_parse(uri, &a, e);
    if (r < 0)
        return r;
    quote_uri(uri, q);
    uint64_t deadline = deadline_after(timeout_ns);

    switch (a.kind) {
    case TRANSPORT_UNIX:
        return unix_connect(q, a.path, a.abstract, deadline, e);
    case TRANSPORT_VSOCK:
        return vsock_connect(q, a.cid, a.port, deadline, e);
    case TRANSPORT_HVSOCK:
        return hvsock_dial(q, &a, deadline, e);
    case TRANSPORT_SERIAL:
        return serial_open(q, a.path, e);
    case TRANSPORT_VSERIAL:
        return vserial_dial(q, a.path, deadline, e);
    }
    return err_set(e, -EINVAL, "%s: unknown transport kind", q);
}

int transport_listen(const char *uri, struct err *e)
{
    struct transport_addr a;
    char q[QUOTE_MAX];
    int r = transport_parse(uri, &a, e);
    if (r < 0)
        return r;
    quote_uri(uri, q);

    switch (a.kind) {
    case TRANSPORT_UNIX:
        return unix_listen(q, a.path, a.abstract, e);
    case TRANSPORT_VSOCK:
        return vsock_listen(q, a.cid, a.port, e);
    case TRANSPORT_HVSOCK:
        return hvsock_listen(q, &a, e);
    case TRANSPORT_SERIAL:
    case TRANSPORT_VSERIAL:
        return err_set(e, -EOPNOTSUPP, "%s: cannot listen on a serial port; dial it", q);
    }
    return err_set(e, -EINVAL, "%s: unknown transport kind", q);
}
