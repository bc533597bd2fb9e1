/* rtnetlink client: see netlink.h for the contract.
 *
 * The kernel is the only peer, but its replies are still walked with every
 * length checked: a parser bug here would be a memory-safety bug in the
 * static agent, and the attribute walkers are also fed untrusted bytes by
 * the fuzz target. */
#include "lib/netlink.h"

#include <assert.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "lib/compiler.h"
#include "lib/err.h"
#include "lib/log.h"
#include "lib/xalloc.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

/* The uapi macros are int-typed, which -Wsign-conversion rejects in size
 * arithmetic; these are the same values as size_t. */
#define HDRLEN sizeof(struct nlmsghdr)  /* == NLMSG_HDRLEN */
#define ATTR_HDRLEN sizeof(struct nlattr) /* == NLA_HDRLEN */
#define ATTR_TYPE_MASK 0x3fffu            /* == NLA_TYPE_MASK */
#define ALIGN4(n) (((size_t)(n) + 3u) & ~(size_t)3u)

/* A dump datagram is at most a few pages (the kernel sizes dump skbs to
 * min(PAGE_SIZE, 8 KiB) or the receive buffer it is given), but an error
 * ack may echo a whole request. The buffer starts here and grows to what
 * MSG_PEEK|MSG_TRUNC reports, up to NL_RECV_MAX. */
#define NL_RECV_INITIAL (32u * 1024u)
#define NL_RECV_MAX (4u * 1024u * 1024u)

struct nl_sock {
    int fd;
    uint32_t portid; /* ours, from getsockname(): replies must carry it */
    uint32_t seq;
    uint8_t *buf;
    size_t cap;
};

struct nl_msg {
    uint8_t *buf; /* starts with the nlmsghdr; malloc alignment suffices */
    size_t len;   /* bytes used, always NLMSG_ALIGNed */
    size_t cap;
    bool has_header;
};

/* ---- socket ---- */

int nl_open(int protocol, struct nl_sock **ret, struct err *e)
{
    _cleanup_close_ int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol);
    if (fd < 0)
        return err_set(e, -errno, "netlink socket (protocol %d): %s", protocol, strerror(errno));

    int one = 1;
    /* Both are best effort: without EXT_ACK errors carry only an errno,
     * without CAP_ACK an error ack echoes the request, which the receive
     * buffer copes with. */
    (void)setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
    (void)setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));

    struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        return err_set(e, -errno, "netlink bind: %s", strerror(errno));
    socklen_t salen = sizeof(sa);
    if (getsockname(fd, (struct sockaddr *)&sa, &salen) < 0)
        return err_set(e, -errno, "netlink getsockname: %s", strerror(errno));
    if (salen != sizeof(sa) || sa.nl_family != AF_NETLINK)
        return err_set(e, -EINVAL, "netlink getsockname: unexpected address");

    struct nl_sock *s = xzalloc(sizeof(*s));
    s->fd = TAKE_FD(fd);
    s->portid = sa.nl_pid;
    /* Start from something that differs per socket so a reply meant for an
     * earlier socket with a recycled port id is not taken for ours. */
    s->seq = (uint32_t)getpid() ^ (uint32_t)(uintptr_t)s;
    s->cap = NL_RECV_INITIAL;
    s->buf = xmalloc(s->cap);
    *ret = s;
    return 0;
}

void nl_close(struct nl_sock *s)
{
    if (!s)
        return;
    fd_close(s->fd);
    free(s->buf);
    free(s);
}

/* ---- building ---- */

struct nl_msg *nl_msg_new(uint16_t type, uint16_t flags)
{
    struct nl_msg *m = xzalloc(sizeof(*m));
    m->cap = 1024;
    m->buf = xzalloc(m->cap);
    m->len = HDRLEN;
    struct nlmsghdr *h = (struct nlmsghdr *)(void *)m->buf;
    h->nlmsg_type = type;
    h->nlmsg_flags = (uint16_t)(flags | NLM_F_REQUEST);
    h->nlmsg_len = (uint32_t)m->len;
    return m;
}

void nl_msg_free(struct nl_msg *m)
{
    if (!m)
        return;
    free(m->buf);
    free(m);
}

/* Appends len zeroed bytes padded to the netlink alignment; returns the
 * offset where they start. Messages stay far below 4 GiB: the kernel takes
 * nothing near it, so crossing it is a caller bug. */
static size_t msg_grow(struct nl_msg *m, size_t len)
{
    size_t padded = ALIGN4(len);
    assert(padded >= len && padded <= UINT32_MAX - m->len);
    if (m->len + padded > m->cap) {
        size_t ncap = m->cap;
        while (ncap < m->len + padded)
            ncap *= 2;
        m->buf = xrealloc(m->buf, ncap);
        m->cap = ncap;
    }
    size_t off = m->len;
    memset(m->buf + off, 0, padded);
    m->len += padded;
    ((struct nlmsghdr *)(void *)m->buf)->nlmsg_len = (uint32_t)m->len;
    return off;
}

void *nl_msg_put_header(struct nl_msg *m, size_t len)
{
    assert(!m->has_header && m->len == HDRLEN);
    m->has_header = true;
    return m->buf + msg_grow(m, len);
}

void *nl_msg_put_raw(struct nl_msg *m, size_t len)
{
    return m->buf + msg_grow(m, len);
}

void nl_msg_put_attr(struct nl_msg *m, uint16_t type, const void *data, size_t len)
{
    assert(len <= UINT16_MAX - ATTR_HDRLEN);
    size_t off = msg_grow(m, ATTR_HDRLEN + len);
    struct nlattr *a = (struct nlattr *)(void *)(m->buf + off);
    a->nla_type = type;
    a->nla_len = (uint16_t)(ATTR_HDRLEN + len);
    if (len)
        memcpy(m->buf + off + ATTR_HDRLEN, data, len);
}

void nl_msg_put_u8(struct nl_msg *m, uint16_t type, uint8_t v)
{
    nl_msg_put_attr(m, type, &v, sizeof(v));
}

void nl_msg_put_u16(struct nl_msg *m, uint16_t type, uint16_t v)
{
    nl_msg_put_attr(m, type, &v, sizeof(v));
}

void nl_msg_put_u32(struct nl_msg *m, uint16_t type, uint32_t v)
{
    nl_msg_put_attr(m, type, &v, sizeof(v));
}

void nl_msg_put_str(struct nl_msg *m, uint16_t type, const char *s)
{
    nl_msg_put_attr(m, type, s, strlen(s) + 1);
}

size_t nl_msg_nest_start(struct nl_msg *m, uint16_t type)
{
    size_t off = msg_grow(m, ATTR_HDRLEN);
    struct nlattr *a = (struct nlattr *)(void *)(m->buf + off);
    a->nla_type = (uint16_t)(type | NLA_F_NESTED);
    a->nla_len = ATTR_HDRLEN;
    return off;
}

void nl_msg_nest_end(struct nl_msg *m, size_t nest)
{
    assert(nest >= HDRLEN && nest + ATTR_HDRLEN <= m->len);
    size_t len = m->len - nest;
    /* A nest longer than an attribute can say is a caller bug. */
    assert(len <= UINT16_MAX);
    ((struct nlattr *)(void *)(m->buf + nest))->nla_len = (uint16_t)len;
}

const struct nlmsghdr *nl_msg_hdr(const struct nl_msg *m)
{
    return (const struct nlmsghdr *)(const void *)m->buf;
}

/* ---- talking to the kernel ---- */

static int send_msg(struct nl_sock *s, struct nl_msg *m, uint32_t *ret_seq, struct err *e)
{
    struct nlmsghdr *h = (struct nlmsghdr *)(void *)m->buf;
    h->nlmsg_seq = ++s->seq;
    h->nlmsg_pid = 0;
    struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
    for (;;) {
        ssize_t n = sendto(s->fd, m->buf, m->len, 0, (struct sockaddr *)&kernel, sizeof(kernel));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return err_set(e, -errno, "netlink send: %s", strerror(errno));
        if ((size_t)n != m->len)
            return err_set(e, -EIO, "netlink send: short write");
        break;
    }
    *ret_seq = h->nlmsg_seq;
    return 0;
}

/* Receives one datagram from the kernel into s->buf; returns its length. */
static int recv_datagram(struct nl_sock *s, size_t *ret_len, struct err *e)
{
    for (;;) {
        struct sockaddr_nl from;
        struct iovec iov = {.iov_base = s->buf, .iov_len = s->cap};
        struct msghdr mh = {.msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = &iov,
                            .msg_iovlen = 1};
        ssize_t n = recvmsg(s->fd, &mh, MSG_PEEK | MSG_TRUNC);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return err_set(e, -errno, "netlink receive: %s", strerror(errno));
        if ((size_t)n > s->cap) {
            if ((size_t)n > NL_RECV_MAX)
                return err_set(e, -EMSGSIZE, "netlink receive: %zd-byte datagram", n);
            s->buf = xrealloc(s->buf, (size_t)n);
            s->cap = (size_t)n;
        }
        iov.iov_base = s->buf;
        iov.iov_len = s->cap;
        mh.msg_namelen = sizeof(from);
        mh.msg_flags = 0;
        n = recvmsg(s->fd, &mh, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return err_set(e, -errno, "netlink receive: %s", strerror(errno));
        if (mh.msg_flags & MSG_TRUNC)
            return err_set(e, -EMSGSIZE, "netlink receive: datagram truncated");
        /* Only the kernel (port 0) answers requests; anything else that
         * reached an unbound-multicast socket is dropped. */
        if (mh.msg_namelen != sizeof(from) || from.nl_family != AF_NETLINK || from.nl_pid != 0)
            continue;
        *ret_len = (size_t)n;
        return 0;
    }
}

/* Extended ack TLVs follow the nlmsgerr and, unless the ack was capped, the
 * echoed request. Copies NLMSGERR_ATTR_MSG into msg when present. */
static void ext_ack_msg(const struct nlmsghdr *h, char *msg, size_t msgsize)
{
    msg[0] = '\0';
    if (!(h->nlmsg_flags & NLM_F_ACK_TLVS))
        return;
    const struct nlmsgerr *err = NLMSG_DATA(h);
    size_t off = HDRLEN + sizeof(*err);
    if (!(h->nlmsg_flags & NLM_F_CAPPED)) {
        if (err->msg.nlmsg_len < HDRLEN)
            return;
        off += ALIGN4(err->msg.nlmsg_len - HDRLEN);
    }
    off = ALIGN4(off);
    if (off > h->nlmsg_len)
        return;
    /* Parse the TLVs as attributes after a family header of off - HDRLEN. */
    const struct nlattr *tb[NLMSGERR_ATTR_MAX + 1];
    if (nl_parse_attrs(h, off - HDRLEN, tb, NLMSGERR_ATTR_MAX) < 0)
        return;
    const char *s = nl_attr_str(tb[NLMSGERR_ATTR_MSG]);
    if (s)
        snprintf(msg, msgsize, "%s", s);
}

/* The negative errno an NLMSG_ERROR carries (0 for an ack), with the
 * extended-ack text in e; -EBADMSG when it is too short to hold one. */
static int error_msg(const struct nlmsghdr *h, struct err *e)
{
    if (h->nlmsg_len < HDRLEN + sizeof(struct nlmsgerr))
        return err_set(e, -EBADMSG, "netlink: truncated error message");
    const struct nlmsgerr *ne = NLMSG_DATA(h);
    if (ne->error == 0)
        return 0;
    int code = ne->error < 0 ? ne->error : -ne->error;
    if (code < -4095)
        code = -EIO;
    char ext[200];
    ext_ack_msg(h, ext, sizeof(ext));
    if (ext[0])
        return err_set(e, code, "%s (%s)", ext, strerror(-code));
    return err_set(e, code, "%s", strerror(-code));
}

/* How a reply walk ends: still waiting, done, or failed. */
enum { WALK_MORE = 1, WALK_DONE = 0 };

struct exchange {
    uint32_t seq;
    bool dump;
    nl_dump_fn fn;
    void *userdata;
    int cb_rc;        /* first negative callback result, then fn is not called */
    bool interrupted; /* NLM_F_DUMP_INTR seen: the dump may be inconsistent */
};

/* Walks one datagram. Returns WALK_MORE, WALK_DONE, or a negative errno
 * (kernel error or malformed datagram). */
static int walk_datagram(struct nl_sock *s, struct exchange *x, size_t len, struct err *e)
{
    const uint8_t *p = s->buf;
    size_t left = len;
    while (left > 0) {
        if (left < HDRLEN)
            return err_set(e, -EBADMSG, "netlink: %zu trailing bytes", left);
        const struct nlmsghdr *h = (const struct nlmsghdr *)(const void *)p;
        if (h->nlmsg_len < HDRLEN || h->nlmsg_len > left)
            return err_set(e, -EBADMSG, "netlink: message length %u out of bounds",
                           h->nlmsg_len);
        size_t step = ALIGN4(h->nlmsg_len);
        if (step > left)
            step = left;
        p += step;
        left -= step;

        /* Replies to an earlier request (one abandoned after an error, say)
         * or to another socket are not ours: skip them. */
        if (h->nlmsg_seq != x->seq || h->nlmsg_pid != s->portid) {
            log_trace("netlink: skipping reply seq %u pid %u (want %u %u)", h->nlmsg_seq,
                      h->nlmsg_pid, x->seq, s->portid);
            continue;
        }
        if (h->nlmsg_flags & NLM_F_DUMP_INTR)
            x->interrupted = true;

        switch (h->nlmsg_type) {
        case NLMSG_NOOP:
            continue;
        case NLMSG_OVERRUN:
            return err_set(e, -EOVERFLOW, "netlink: overrun");
        case NLMSG_ERROR: {
            int r = error_msg(h, e);
            if (r < 0)
                return r;
            if (!x->dump)
                return WALK_DONE;
            continue; /* an ack inside a dump is unexpected; keep reading */
        }
        case NLMSG_DONE:
            if (x->dump && h->nlmsg_len >= HDRLEN + sizeof(int)) {
                int derr;
                memcpy(&derr, NLMSG_DATA(h), sizeof(derr));
                if (derr < 0)
                    return err_set(e, derr < -4095 ? -EIO : derr, "netlink dump failed: %s",
                                   strerror(derr < -4095 ? EIO : -derr));
            }
            return WALK_DONE;
        default:
            break;
        }
        if (x->fn && x->cb_rc >= 0) {
            int r = x->fn(h, x->userdata);
            if (r < 0)
                x->cb_rc = r;
        }
        /* A non-dump reply that is not multi-part ends with its ack
         * (requested) or, for a plain GET without ack, with itself. */
    }
    return WALK_MORE;
}

static int exchange(struct nl_sock *s, struct nl_msg *m, struct exchange *x, struct err *e)
{
    int r = send_msg(s, m, &x->seq, e);
    if (r < 0)
        return r;
    for (;;) {
        size_t len = 0;
        r = recv_datagram(s, &len, e);
        if (r < 0)
            return r;
        r = walk_datagram(s, x, len, e);
        if (r < 0)
            return r;
        if (r == WALK_DONE)
            break;
    }
    if (x->cb_rc < 0)
        return x->cb_rc;
    if (x->interrupted)
        return err_set(e, -EAGAIN, "netlink dump interrupted by a concurrent change; retry");
    return 0;
}

int nl_request(struct nl_sock *s, struct nl_msg *m, struct err *e)
{
    return nl_request_reply(s, m, NULL, NULL, e);
}

int nl_request_reply(struct nl_sock *s, struct nl_msg *m, nl_dump_fn fn, void *userdata,
                     struct err *e)
{
    struct nlmsghdr *h = (struct nlmsghdr *)(void *)m->buf;
    /* NLM_F_DUMP's bits are NLM_F_EXCL and NLM_F_REPLACE for a NEW
     * request, so they are the caller's to set, never ours to clear. */
    h->nlmsg_flags = (uint16_t)(h->nlmsg_flags | NLM_F_ACK);
    struct exchange x = {.dump = false, .fn = fn, .userdata = userdata};
    return exchange(s, m, &x, e);
}

int nl_dump(struct nl_sock *s, struct nl_msg *m, nl_dump_fn fn, void *userdata, struct err *e)
{
    struct nlmsghdr *h = (struct nlmsghdr *)(void *)m->buf;
    /* No ack: a dump ends with NLMSG_DONE (or an error). */
    h->nlmsg_flags = (uint16_t)((h->nlmsg_flags | NLM_F_DUMP) & ~NLM_F_ACK);
    struct exchange x = {.dump = true, .fn = fn, .userdata = userdata};
    return exchange(s, m, &x, e);
}

/* ---- reading replies ---- */

static int parse_stream(const uint8_t *p, size_t left, const struct nlattr **tb, unsigned max)
{
    for (unsigned i = 0; i <= max; i++)
        tb[i] = NULL;
    while (left > 0) {
        if (left < ATTR_HDRLEN)
            return -EBADMSG;
        const struct nlattr *a = (const struct nlattr *)(const void *)p;
        if (a->nla_len < ATTR_HDRLEN || a->nla_len > left)
            return -EBADMSG;
        unsigned type = a->nla_type & ATTR_TYPE_MASK;
        if (type <= max)
            tb[type] = a;
        size_t step = ALIGN4((size_t)a->nla_len);
        /* The last attribute's padding may be missing. */
        if (step > left)
            step = left;
        p += step;
        left -= step;
    }
    return 0;
}

int nl_parse_attrs(const struct nlmsghdr *h, size_t hdrlen, const struct nlattr **tb,
                   unsigned max)
{
    if (h->nlmsg_len < HDRLEN || hdrlen > h->nlmsg_len - HDRLEN)
        return -EBADMSG;
    size_t start = HDRLEN + ALIGN4(hdrlen);
    if (start > h->nlmsg_len)
        start = h->nlmsg_len; /* header exactly fills an unpadded message */
    return parse_stream((const uint8_t *)h + start, h->nlmsg_len - start, tb, max);
}

int nl_parse_nested(const struct nlattr *nest, const struct nlattr **tb, unsigned max)
{
    if (!nest || nest->nla_len < ATTR_HDRLEN) {
        for (unsigned i = 0; i <= max; i++)
            tb[i] = NULL;
        return -EBADMSG;
    }
    return parse_stream((const uint8_t *)nest + ATTR_HDRLEN, nest->nla_len - ATTR_HDRLEN, tb,
                        max);
}

const void *nl_attr_data(const struct nlattr *a)
{
    return (const uint8_t *)a + ATTR_HDRLEN;
}

size_t nl_attr_len(const struct nlattr *a)
{
    return a->nla_len >= ATTR_HDRLEN ? a->nla_len - ATTR_HDRLEN : 0;
}

static bool attr_fixed(const struct nlattr *a, void *v, size_t size)
{
    if (!a || nl_attr_len(a) != size)
        return false;
    memcpy(v, nl_attr_data(a), size);
    return true;
}

bool nl_attr_u8(const struct nlattr *a, uint8_t *v)
{
    return attr_fixed(a, v, sizeof(*v));
}

bool nl_attr_u16(const struct nlattr *a, uint16_t *v)
{
    return attr_fixed(a, v, sizeof(*v));
}

bool nl_attr_u32(const struct nlattr *a, uint32_t *v)
{
    return attr_fixed(a, v, sizeof(*v));
}

const char *nl_attr_str(const struct nlattr *a)
{
    if (!a)
        return NULL;
    size_t len = nl_attr_len(a);
    const char *s = nl_attr_data(a);
    if (len == 0 || !memchr(s, '\0', len))
        return NULL;
    return s;
}
