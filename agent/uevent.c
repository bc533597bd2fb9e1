/* Kernel uevents; see agent/uevent.h. */
#include "agent/uevent.h"

#include <errno.h>
#include <linux/netlink.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/compiler.h"

/* Copies value (len bytes, no NUL inside) into dst; false when it does not fit. */
static bool copy_field(char *dst, size_t dst_size, const char *value, size_t len)
{
    if (len >= dst_size)
        return false;
    memcpy(dst, value, len);
    dst[len] = '\0';
    return true;
}

static bool parse_u64(const char *s, size_t len, uint64_t *ret)
{
    uint64_t v = 0;
    if (len == 0 || len > 20)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *ret = v;
    return true;
}

static bool set_field(struct uevent *u, const char *key, size_t klen, const char *val, size_t vlen)
{
#define FIELD(name, member)                                                                        \
    if (klen == sizeof(name) - 1 && memcmp(key, name, klen) == 0)                                  \
        return copy_field(u->member, sizeof(u->member), val, vlen);
    FIELD("ACTION", action)
    FIELD("DEVPATH", devpath)
    FIELD("SUBSYSTEM", subsystem)
    FIELD("DEVTYPE", devtype)
    FIELD("DEVNAME", devname)
#undef FIELD
    if (klen == 6 && memcmp(key, "SEQNUM", 6) == 0)
        return parse_u64(val, vlen, &u->seqnum);
    return true; /* MAJOR, MINOR, MODALIAS, ...: not needed */
}

int uevent_parse(const void *buf, size_t size, struct uevent *ret)
{
    const char *p = buf, *end = p + size;
    struct uevent u;

    memset(&u, 0, sizeof(u));
    if (!buf || size == 0 || size > UEVENT_BUF_SIZE)
        return -EINVAL;
    /* The header "action@devpath" is the first string. */
    const char *nul = memchr(p, '\0', size);
    size_t len = nul ? (size_t)(nul - p) : size;
    const char *at = memchr(p, '@', len);
    if (!at || at == p || at + 1 == p + len)
        return -EINVAL;
    if (!copy_field(u.action, sizeof(u.action), p, (size_t)(at - p)) ||
        !copy_field(u.devpath, sizeof(u.devpath), at + 1, len - (size_t)(at - p) - 1))
        return -EINVAL;
    p += len;
    while (p < end) {
        if (*p == '\0') { /* separators, and padding some senders add */
            p++;
            continue;
        }
        nul = memchr(p, '\0', (size_t)(end - p));
        len = nul ? (size_t)(nul - p) : (size_t)(end - p);
        const char *eq = memchr(p, '=', len);
        if (!eq || eq == p)
            return -EINVAL;
        if (!set_field(&u, p, (size_t)(eq - p), eq + 1, len - (size_t)(eq - p) - 1))
            return -EINVAL;
        p += len;
    }
    /* Whatever the fields said, the names must be usable as path pieces. */
    if (!u.action[0] || u.devpath[0] != '/' || strstr(u.devpath, "/../") ||
        strchr(u.devname, '\n') || strstr(u.devname, ".."))
        return -EINVAL;
    *ret = u;
    return 0;
}

int uevent_open(void)
{
    struct sockaddr_nl sa = {.nl_family = AF_NETLINK, .nl_groups = 1 /* kernel events */};
    int size = 1 << 20;
    _cleanup_close_ int fd =
        socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_KOBJECT_UEVENT);

    if (fd < 0)
        return -errno;
    /* SO_RCVBUFFORCE needs CAP_NET_ADMIN; the plain option is the fallback. */
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
        (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        return -errno;
    return TAKE_FD(fd);
}

int uevent_recv(int fd, struct uevent *ret)
{
    char buf[UEVENT_BUF_SIZE];
    struct sockaddr_nl sa;
    struct iovec iov = {buf, sizeof(buf)};
    struct msghdr mh = {.msg_name = &sa, .msg_namelen = sizeof(sa), .msg_iov = &iov,
                        .msg_iovlen = 1};
    ssize_t n;

    do
        n = recvmsg(fd, &mh, MSG_DONTWAIT);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return errno == EWOULDBLOCK ? -EAGAIN : -errno;
    if ((mh.msg_flags & MSG_TRUNC) || mh.msg_namelen != sizeof(sa) || sa.nl_pid != 0)
        return -EINVAL;
    return uevent_parse(buf, (size_t)n, ret);
}
