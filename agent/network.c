/* Guest networking over rtnetlink (see agent/network.h): the kernel dumps
 * and request parsing shared with agent/network-route.c, and the links and
 * addresses (UpdateInterface, ListInterfaces).
 *
 * Each operation snapshots what it is about to change (link name, MTU, up
 * state, addresses, routes) from kernel dumps, applies the request, and on
 * a kernel error puts the snapshot back. Validation of the whole request
 * happens before the first change, so bad input never needs a rollback. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
/* Before the linux/ headers, which then skip their own copy of these. */
#include <net/if.h>
#include <linux/if_addr.h>
#include <linux/if_arp.h>
#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "agent/network-internal.h"
#include "agent/network.h"
#include "lib/compiler.h"
#include "lib/err.h"
#include "lib/log.h"
#include "lib/netlink.h"
#include "lib/xalloc.h"


void *network_vec_push(struct vec *a)
{
    if (a->n == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 8;
        a->v = xrealloc(a->v, a->cap * a->size);
    }
    void *p = (char *)a->v + a->n++ * a->size;
    memset(p, 0, a->size);
    return p;
}

size_t network_addr_bytes(uint8_t family)
{
    return family == AF_INET6 ? 16 : 4;
}

/* Copies an address attribute of exactly the family's size. */
static bool attr_addr(const struct nlattr *a, uint8_t family, uint8_t *out)
{
    if (!a || nl_attr_len(a) != network_addr_bytes(family))
        return false;
    memcpy(out, nl_attr_data(a), network_addr_bytes(family));
    return true;
}

static int on_link(const struct nlmsghdr *h, void *userdata)
{
    struct vec *links = userdata;
    if (h->nlmsg_type != RTM_NEWLINK || h->nlmsg_len < NLMSG_LENGTH(sizeof(struct ifinfomsg)))
        return 0;
    const struct ifinfomsg *ifi = NLMSG_DATA(h);
    const struct nlattr *tb[IFLA_MAX + 1];
    if (nl_parse_attrs(h, sizeof(*ifi), tb, IFLA_MAX) < 0)
        return -EBADMSG;
    const char *name = nl_attr_str(tb[IFLA_IFNAME]);
    if (!name || strlen(name) >= IFNAMSIZ)
        return 0;
    struct link *l = network_vec_push(links);
    l->index = ifi->ifi_index;
    l->flags = ifi->ifi_flags;
    snprintf(l->name, sizeof(l->name), "%s", name);
    nl_attr_u32(tb[IFLA_MTU], &l->mtu);
    if (tb[IFLA_ADDRESS] && nl_attr_len(tb[IFLA_ADDRESS]) <= sizeof(l->mac)) {
        l->maclen = nl_attr_len(tb[IFLA_ADDRESS]);
        memcpy(l->mac, nl_attr_data(tb[IFLA_ADDRESS]), l->maclen);
    }
    const struct nlattr *li[IFLA_INFO_MAX + 1];
    if (tb[IFLA_LINKINFO] && nl_parse_nested(tb[IFLA_LINKINFO], li, IFLA_INFO_MAX) == 0) {
        const char *kind = nl_attr_str(li[IFLA_INFO_KIND]);
        if (kind)
            snprintf(l->kind, sizeof(l->kind), "%s", kind);
    }
    return 0;
}

/* Runs a dump into out (emptied first). A dump that raced a change
 * (NLM_F_DUMP_INTR) is retried from scratch; on failure out is freed. */
static int dump_all(struct nl_sock *s, uint16_t type, size_t hdrlen, nl_dump_fn fn,
                    void *userdata, struct vec *out, const char *what, struct err *e)
{
    int r = -EAGAIN;
    struct err tmp = ERR_INIT;
    for (int tries = 0; tries < 3 && r == -EAGAIN; tries++) {
        out->n = 0;
        err_clear(&tmp);
        struct nl_msg *m = nl_msg_new(type, 0);
        nl_msg_put_header(m, hdrlen);
        r = nl_dump(s, m, fn, userdata, &tmp);
        nl_msg_free(m);
    }
    if (r < 0) {
        free(out->v);
        out->v = NULL;
        out->n = out->cap = 0;
        return err_set(e, r, "listing %s: %s", what, err_msg(&tmp));
    }
    return 0;
}

int network_dump_links(struct nl_sock *s, struct vec *links, struct err *e)
{
    *links = (struct vec){.size = sizeof(struct link)};
    return dump_all(s, RTM_GETLINK, sizeof(struct ifinfomsg), on_link, links, links, "links", e);
}

const struct link *network_link_by_name(const struct vec *links, const char *name)
{
    const struct link *v = links->v;
    for (size_t i = 0; i < links->n; i++)
        if (strcmp(v[i].name, name) == 0)
            return &v[i];
    return NULL;
}

const struct link *network_link_by_index(const struct vec *links, int index)
{
    const struct link *v = links->v;
    for (size_t i = 0; i < links->n; i++)
        if (v[i].index == index)
            return &v[i];
    return NULL;
}

struct addr_dump {
    struct vec *out;
    int index; /* 0: all */
};

static int on_addr(const struct nlmsghdr *h, void *userdata)
{
    struct addr_dump *d = userdata;
    if (h->nlmsg_type != RTM_NEWADDR || h->nlmsg_len < NLMSG_LENGTH(sizeof(struct ifaddrmsg)))
        return 0;
    const struct ifaddrmsg *ifa = NLMSG_DATA(h);
    if ((ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6) ||
        (d->index && (int)ifa->ifa_index != d->index))
        return 0;
    const struct nlattr *tb[IFA_MAX + 1];
    if (nl_parse_attrs(h, sizeof(*ifa), tb, IFA_MAX) < 0)
        return -EBADMSG;
    struct addr a = {.index = (int)ifa->ifa_index,
                     .family = ifa->ifa_family,
                     .prefix = ifa->ifa_prefixlen,
                     .scope = ifa->ifa_scope};
    a.has_local = attr_addr(tb[IFA_LOCAL], a.family, a.local);
    a.has_address = attr_addr(tb[IFA_ADDRESS], a.family, a.address);
    if (!a.has_local && !a.has_address)
        return 0;
    *(struct addr *)network_vec_push(d->out) = a;
    return 0;
}

int network_dump_addrs(struct nl_sock *s, int index, struct vec *out, struct err *e)
{
    *out = (struct vec){.size = sizeof(struct addr)};
    struct addr_dump d = {out, index};
    return dump_all(s, RTM_GETADDR, sizeof(struct ifaddrmsg), on_addr, &d, out, "addresses", e);
}

/* The address an interface is configured with: IFA_LOCAL for IPv4 (where
 * IFA_ADDRESS is the peer on point-to-point links), IFA_ADDRESS for IPv6. */
static const uint8_t *addr_ip(const struct addr *a)
{
    return a->has_local ? a->local : a->address;
}

static bool addr_same(const struct addr *a, const struct addr *b)
{
    return a->family == b->family && a->prefix == b->prefix &&
           memcmp(addr_ip(a), addr_ip(b), network_addr_bytes(a->family)) == 0;
}

static bool addr_link_local6(const struct addr *a)
{
    const uint8_t *ip = addr_ip(a);
    return a->family == AF_INET6 && ip[0] == 0xfe && (ip[1] & 0xc0) == 0x80;
}

static int on_route(const struct nlmsghdr *h, void *userdata)
{
    struct vec *out = userdata;
    if (h->nlmsg_type != RTM_NEWROUTE || h->nlmsg_len < NLMSG_LENGTH(sizeof(struct rtmsg)))
        return 0;
    const struct rtmsg *rt = NLMSG_DATA(h);
    if (rt->rtm_family != AF_INET && rt->rtm_family != AF_INET6)
        return 0;
    const struct nlattr *tb[RTA_MAX + 1];
    if (nl_parse_attrs(h, sizeof(*rt), tb, RTA_MAX) < 0)
        return -EBADMSG;
    struct route r = {.family = rt->rtm_family,
                      .dst_len = rt->rtm_dst_len,
                      .tos = rt->rtm_tos,
                      .protocol = rt->rtm_protocol,
                      .scope = rt->rtm_scope,
                      .type = rt->rtm_type,
                      .table = rt->rtm_table,
                      .flags = rt->rtm_flags};
    nl_attr_u32(tb[RTA_TABLE], &r.table);
    if (r.table != RT_TABLE_MAIN || r.type != RTN_UNICAST)
        return 0;
    uint32_t oif = 0;
    if (!nl_attr_u32(tb[RTA_OIF], &oif) || oif == 0 || oif > INT_MAX)
        return 0; /* multipath and blackhole routes are not the agent's */
    r.oif = (int)oif;
    r.has_dst = attr_addr(tb[RTA_DST], r.family, r.dst);
    r.has_gw = attr_addr(tb[RTA_GATEWAY], r.family, r.gw);
    r.has_src = attr_addr(tb[RTA_PREFSRC], r.family, r.src);
    r.has_priority = nl_attr_u32(tb[RTA_PRIORITY], &r.priority);
    const struct nlattr *mx[RTAX_MAX + 1];
    if (tb[RTA_METRICS] && nl_parse_nested(tb[RTA_METRICS], mx, RTAX_MAX) == 0)
        nl_attr_u32(mx[RTAX_MTU], &r.mtu);
    *(struct route *)network_vec_push(out) = r;
    return 0;
}

int network_dump_routes(struct nl_sock *s, struct vec *out, struct err *e)
{
    *out = (struct vec){.size = sizeof(struct route)};
    return dump_all(s, RTM_GETROUTE, sizeof(struct rtmsg), on_route, out, out, "routes", e);
}

/* The routes on one link that the kernel did not make itself. */
int network_dump_link_routes(struct nl_sock *s, int index, struct vec *out, struct err *e)
{
    struct vec all;
    int r = network_dump_routes(s, &all, e);
    *out = (struct vec){.size = sizeof(struct route)};
    const struct route *v = all.v;
    for (size_t i = 0; r >= 0 && i < all.n; i++)
        if (v[i].oif == index && v[i].protocol != RTPROT_KERNEL)
            *(struct route *)network_vec_push(out) = v[i];
    free(all.v);
    return r;
}

/* ---- parsing request strings ---- */

/* "aa:BB:cc..." (':' or '-' separated hex pairs), 1 to 32 bytes. */
bool network_parse_mac(const char *s, uint8_t *out, size_t *ret_len)
{
    size_t n = 0;
    if (!s || !*s)
        return false;
    for (;;) {
        if (n == 32 || !isxdigit((unsigned char)s[0]) || !isxdigit((unsigned char)s[1]))
            return false;
        char hex[3] = {s[0], s[1], '\0'};
        out[n++] = (uint8_t)strtoul(hex, NULL, 16);
        s += 2;
        if (*s == '\0')
            break;
        if (*s != ':' && *s != '-')
            return false;
        s++;
    }
    *ret_len = n;
    return true;
}

static void format_mac(const uint8_t *mac, size_t len, char *out, size_t size)
{
    size_t o = 0;
    out[0] = '\0';
    for (size_t i = 0; i < len && o + 4 <= size; i++)
        o += (size_t)snprintf(out + o, size - o, "%s%02x", i ? ":" : "", mac[i]);
}

/* An IPv4 or IPv6 address; sets *family. */
bool network_parse_ip(const char *s, uint8_t *out, uint8_t *family)
{
    if (!s || !*s)
        return false;
    if (inet_pton(AF_INET, s, out) == 1) {
        *family = AF_INET;
        return true;
    }
    if (inet_pton(AF_INET6, s, out) == 1) {
        *family = AF_INET6;
        return true;
    }
    return false;
}

/* A decimal prefix length, at most max. */
bool network_parse_prefix(const char *s, unsigned max, uint8_t *out)
{
    if (!s || !*s || strlen(s) > 3)
        return false;
    unsigned v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return false;
        v = v * 10 + (unsigned)(*p - '0');
    }
    if (v > max)
        return false;
    *out = (uint8_t)v;
    return true;
}

bool network_host_bits_zero(const uint8_t *ip, uint8_t family, uint8_t prefix)
{
    for (unsigned bit = prefix; bit < network_addr_bytes(family) * 8; bit++)
        if (ip[bit / 8] & (0x80u >> (bit % 8)))
            return false;
    return true;
}

void network_format_ip(uint8_t family, const uint8_t *ip, char *out, size_t size)
{
    if (!inet_ntop(family, ip, out, (socklen_t)size))
        snprintf(out, size, "?");
}

static bool valid_ifname(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n >= IFNAMSIZ || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
        return false;
    for (const char *p = s; *p; p++)
        if (*p == '/' || *p == ':' || isspace((unsigned char)*p) || !isprint((unsigned char)*p))
            return false;
    return true;
}

/* ---- changing links and addresses ---- */

/* Renames (name), sets the MTU (non-zero mtu) and the IFF_* flags in
 * change to their value in flags, in one request. */
static int link_set(struct nl_sock *s, int index, const char *name, uint32_t mtu, unsigned change,
                    unsigned flags, struct err *e)
{
    struct nl_msg *m = nl_msg_new(RTM_NEWLINK, 0);
    struct ifinfomsg *ifi = nl_msg_put_header(m, sizeof(*ifi));
    ifi->ifi_family = AF_UNSPEC;
    ifi->ifi_index = index;
    ifi->ifi_change = change;
    ifi->ifi_flags = flags & change;
    if (name)
        nl_msg_put_str(m, IFLA_IFNAME, name);
    if (mtu)
        nl_msg_put_u32(m, IFLA_MTU, mtu);
    int r = nl_request(s, m, e);
    nl_msg_free(m);
    return r;
}

static int addr_change(struct nl_sock *s, const struct addr *a, bool add, struct err *e)
{
    struct nl_msg *m = nl_msg_new(add ? RTM_NEWADDR : RTM_DELADDR,
                                  add ? NLM_F_CREATE | NLM_F_REPLACE : 0);
    struct ifaddrmsg *ifa = nl_msg_put_header(m, sizeof(*ifa));
    ifa->ifa_family = a->family;
    ifa->ifa_prefixlen = a->prefix;
    ifa->ifa_scope = a->scope;
    ifa->ifa_index = (uint32_t)a->index;
    size_t len = network_addr_bytes(a->family);
    if (a->family == AF_INET)
        nl_msg_put_attr(m, IFA_LOCAL, addr_ip(a), len);
    nl_msg_put_attr(m, IFA_ADDRESS,
                    a->family == AF_INET && a->has_address ? a->address : addr_ip(a), len);
    int r = nl_request(s, m, e);
    nl_msg_free(m);
    return r;
}

/* Makes the link's addresses (IPv6 link-local ones aside) exactly `want`. */
static int sync_addrs(struct nl_sock *s, int index, const struct addr *want, size_t n,
                      struct err *e)
{
    struct vec cur;
    int r = network_dump_addrs(s, index, &cur, e);
    if (r < 0)
        return r;
    const struct addr *c = cur.v;
    for (size_t i = 0; i < cur.n && r >= 0; i++) {
        if (addr_link_local6(&c[i]))
            continue;
        bool keep = false;
        for (size_t k = 0; k < n && !keep; k++)
            keep = addr_same(&c[i], &want[k]);
        if (!keep) {
            r = addr_change(s, &c[i], false, e);
            if (r == -EADDRNOTAVAIL) /* went with an earlier one (a secondary) */
                r = 0;
        }
    }
    for (size_t k = 0; k < n && r >= 0; k++) {
        bool have = false;
        for (size_t i = 0; i < cur.n && !have; i++)
            have = addr_same(&c[i], &want[k]);
        if (!have) {
            r = addr_change(s, &want[k], true, e);
            if (r < 0) {
                char ip[NETWORK_IP_MAX];
                network_format_ip(want[k].family, addr_ip(&want[k]), ip, sizeof(ip));
                err_prefix(e, "adding %s/%u", ip, want[k].prefix);
            }
        }
    }
    free(cur.v);
    return r;
}

static void fill_iface(const struct link *l, const struct vec *addrs, struct network_iface *out)
{
    memset(out, 0, sizeof(*out));
    out->index = l->index;
    snprintf(out->name, sizeof(out->name), "%s", l->name);
    format_mac(l->mac, l->maclen, out->hwaddr, sizeof(out->hwaddr));
    snprintf(out->type, sizeof(out->type), "%s", l->kind[0] ? l->kind : "device");
    out->mtu = l->mtu;
    out->flags = l->flags;
    const struct addr *a = addrs->v;
    for (size_t i = 0; i < addrs->n; i++) {
        if (a[i].index != l->index)
            continue;
        out->ips = xrealloc(out->ips, (out->n_ips + 1) * sizeof(*out->ips));
        struct network_ip *ip = &out->ips[out->n_ips++];
        ip->v6 = a[i].family == AF_INET6;
        ip->prefix = a[i].prefix;
        network_format_ip(a[i].family, addr_ip(&a[i]), ip->address, sizeof(ip->address));
    }
}

void network_iface_done(struct network_iface *i)
{
    if (!i)
        return;
    free(i->ips);
    i->ips = NULL;
    i->n_ips = 0;
}

void network_ifaces_free(struct network_iface *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        network_iface_done(&v[i]);
    free(v);
}

static int describe_link(struct nl_sock *s, int index, struct network_iface *ret, struct err *e)
{
    struct vec links, addrs = {0};
    int r = network_dump_links(s, &links, e);
    if (r >= 0)
        r = network_dump_addrs(s, index, &addrs, e);
    const struct link *l = r >= 0 ? network_link_by_index(&links, index) : NULL;
    if (r >= 0 && !l)
        r = err_set(e, -ENOENT, "the link vanished while being configured");
    if (r >= 0)
        fill_iface(l, &addrs, ret);
    free(links.v);
    free(addrs.v);
    return r;
}

/* Checks the whole request; fills the parsed addresses and the MTU. */
static int iface_validate(const struct network_iface_req *req, uint8_t *mac, size_t *maclen,
                          struct addr *addrs, struct err *e)
{
    if (!network_parse_mac(req->hwaddr, mac, maclen))
        return err_set(e, -EINVAL, "interface.hwAddr: \"%s\" is not a MAC address",
                       req->hwaddr ? req->hwaddr : "");
    if (req->name && *req->name && !valid_ifname(req->name))
        return err_set(e, -EINVAL, "interface.name: \"%s\" is not a valid interface name",
                       req->name);
    if (req->mtu > INT32_MAX)
        return err_set(e, -EINVAL, "interface.mtu: %llu is out of range",
                       (unsigned long long)req->mtu);
    if (req->n_addrs > NETWORK_MAX_ADDRS)
        return err_set(e, -E2BIG, "interface.IPAddresses: more than %d", NETWORK_MAX_ADDRS);
    for (size_t i = 0; i < req->n_addrs; i++) {
        const struct network_addr_req *q = &req->addrs[i];
        struct addr *a = &addrs[i];
        memset(a, 0, sizeof(*a));
        if (!network_parse_ip(q->address, a->local, &a->family))
            return err_set(e, -EINVAL,
                           "interface.IPAddresses[%zu].address: \"%s\" is not an IP address", i,
                           q->address ? q->address : "");
        if ((a->family == AF_INET6) != q->v6)
            return err_set(e, -EINVAL, "interface.IPAddresses[%zu].family: %s does not match %s", i,
                           q->v6 ? "v6" : "v4", q->address);
        unsigned max = a->family == AF_INET6 ? 128 : 32;
        if (!network_parse_prefix(q->mask, max, &a->prefix))
            return err_set(e, -EINVAL,
                           "interface.IPAddresses[%zu].mask: \"%s\" is not a prefix length (0-%u)",
                           i, q->mask ? q->mask : "", max);
        a->has_local = true;
        memcpy(a->address, a->local, sizeof(a->address));
        a->has_address = true;
    }
    return 0;
}

static void iface_rollback(struct nl_sock *s, const struct link *orig, bool renamed,
                           const struct vec *addrs, const struct vec *routes)
{
    struct err e = ERR_INIT;
    if (renamed) {
        if (link_set(s, orig->index, NULL, 0, IFF_UP, 0, &e) < 0)
            log_warn("rollback: cannot take %s down: %s", orig->name, err_msg(&e));
        err_clear(&e);
    }
    if (link_set(s, orig->index, renamed ? orig->name : NULL, orig->mtu, 0, 0, &e) < 0)
        log_warn("rollback: cannot restore name/MTU of %s: %s", orig->name, err_msg(&e));
    err_clear(&e);
    if (link_set(s, orig->index, NULL, 0, IFF_UP | IFF_NOARP, orig->flags, &e) < 0)
        log_warn("rollback: cannot restore the state of %s: %s", orig->name, err_msg(&e));
    err_clear(&e);
    if (sync_addrs(s, orig->index, addrs->v, addrs->n, &e) < 0)
        log_warn("rollback: cannot restore the addresses of %s: %s", orig->name, err_msg(&e));
    if (orig->flags & IFF_UP)
        network_routes_rollback(s, NULL, 0, routes->v, routes->n);
}

int network_update_interface(const struct network_iface_req *req, struct network_iface *ret,
                             struct err *e)
{
    uint8_t mac[32];
    size_t maclen = 0;
    _cleanup_free_ struct addr *want = xnew(struct addr, req->n_addrs ? req->n_addrs : 1);
    int r = iface_validate(req, mac, &maclen, want, e);
    if (r < 0)
        return r;

    _cleanup_(nl_closep) struct nl_sock *s = NULL;
    if ((r = nl_open(NETLINK_ROUTE, &s, e)) < 0)
        return r;
    struct vec links, snap = {0};
    if ((r = network_dump_links(s, &links, e)) < 0)
        return r;
    struct link orig = {0};
    bool found = false;
    const struct link *lv = links.v;
    for (size_t i = 0; i < links.n && !found; i++)
        if (lv[i].maclen == maclen && memcmp(lv[i].mac, mac, maclen) == 0)
            orig = lv[i], found = true;
    const char *name = req->name && *req->name ? req->name : NULL;
    const struct link *clash = name ? network_link_by_name(&links, name) : NULL;
    int clash_index = clash ? clash->index : 0;
    free(links.v);
    /* "Link not found" is what Kata's runtime retries on while a hotplugged
     * NIC is still being probed. */
    if (!found)
        return err_set(e, -ENOENT, "interface.hwAddr: Link not found for MAC %s", req->hwaddr);
    if (clash_index && clash_index != orig.index)
        return err_set(e, -EEXIST, "interface.name: another link is already named %s", name);
    for (size_t i = 0; i < req->n_addrs; i++)
        want[i].index = orig.index;
    struct vec snap_routes = {0};
    if ((r = network_dump_addrs(s, orig.index, &snap, e)) < 0)
        return r;
    if ((r = network_dump_link_routes(s, orig.index, &snap_routes, e)) < 0) {
        free(snap.v);
        return r;
    }

    bool rename = name && strcmp(name, orig.name) != 0;
    uint32_t mtu = req->mtu && req->mtu != orig.mtu ? (uint32_t)req->mtu : 0;
    /* The kernel renames only links that are down. */
    if (rename && (orig.flags & IFF_UP) &&
        (r = link_set(s, orig.index, NULL, 0, IFF_UP, 0, e)) < 0)
        err_prefix(e, "interface: cannot take %s down", orig.name);
    if (r >= 0 && rename && (r = link_set(s, orig.index, name, 0, 0, 0, e)) < 0)
        err_prefix(e, "interface.name: cannot rename %s to %s", orig.name, name);
    if (r >= 0 && mtu && (r = link_set(s, orig.index, NULL, mtu, 0, 0, e)) < 0)
        err_prefix(e, "interface.mtu: cannot set %u", mtu);
    /* Up before the addresses: taking a link down flushes its IPv6 ones. */
    /* raw_flags carries IFF_NOARP the way Kata's runtime sends it. */
    unsigned change = IFF_UP | IFF_NOARP, flags = IFF_UP | (req->raw_flags & IFF_NOARP);
    if (r >= 0 && (r = link_set(s, orig.index, NULL, 0, change, flags, e)) < 0)
        err_prefix(e, "interface: cannot bring %s up", name ? name : orig.name);
    if (r >= 0 && (r = sync_addrs(s, orig.index, want, req->n_addrs, e)) < 0)
        err_prefix(e, "interface.IPAddresses");
    if (r < 0)
        iface_rollback(s, &orig, rename, &snap, &snap_routes);
    free(snap.v);
    free(snap_routes.v);
    return r < 0 ? r : describe_link(s, orig.index, ret, e);
}

int network_list_interfaces(struct network_iface **ret, size_t *ret_n, struct err *e)
{
    _cleanup_(nl_closep) struct nl_sock *s = NULL;
    int r = nl_open(NETLINK_ROUTE, &s, e);
    if (r < 0)
        return r;
    struct vec links, addrs = {0};
    if ((r = network_dump_links(s, &links, e)) < 0)
        return r;
    if ((r = network_dump_addrs(s, 0, &addrs, e)) < 0) {
        free(links.v);
        return r;
    }
    struct network_iface *v = xnew(struct network_iface, links.n ? links.n : 1);
    size_t n = 0;
    const struct link *l = links.v;
    for (size_t i = 0; i < links.n; i++)
        if (!(l[i].flags & IFF_LOOPBACK))
            fill_iface(&l[i], &addrs, &v[n++]);
    free(links.v);
    free(addrs.v);
    *ret = v;
    *ret_n = n;
    return 0;
}

int network_setup_loopback(struct err *e)
{
    unsigned index = if_nametoindex("lo");
    if (index == 0)
        return err_set(e, -errno, "lo: no such link");
    _cleanup_(nl_closep) struct nl_sock *s = NULL;
    int r = nl_open(NETLINK_ROUTE, &s, e);
    if (r < 0)
        return r;
    /* Bringing lo up makes the kernel add 127.0.0.1/8 and ::1 itself; the
     * IPv4 address is asked for as well (a replace, so no clash) in case
     * someone removed it, since services bind to it by number. */
    if ((r = link_set(s, (int)index, NULL, 0, IFF_UP, IFF_UP, e)) < 0)
        return err_prefix(e, "lo: cannot bring it up");
    struct addr a = {.index = (int)index, .family = AF_INET, .prefix = 8, .scope = RT_SCOPE_HOST,
                     .has_local = true};
    const uint8_t localhost[4] = {127, 0, 0, 1};
    memcpy(a.local, localhost, sizeof(localhost));
    memcpy(a.address, localhost, sizeof(localhost));
    if ((r = addr_change(s, &a, true, e)) < 0)
        return err_prefix(e, "lo: cannot add 127.0.0.1/8");
    return 0;
}
