/* The pod's network carried into the VM; see network.h. */
#include "shim/network.h"

/* Before any <linux/...>: glibc's <net/if.h> and <linux/if.h> only agree
 * in that order. */
#include <net/if.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <linux/if_arp.h>
#include <linux/if_link.h>
#include <linux/if_tun.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "lib/compiler.h"
#include "lib/err.h"
#include "lib/log.h"
#include "lib/netlink.h"
#include "lib/xalloc.h"
#include "shim/netns.h"
#include "shim/tc.h"

/* Links looked at in one namespace; a pod has a handful. */
#define SCAN_LINKS_MAX 64
#define TAP_SUFFIX "_kata"

const char *network_model_name(enum network_model m)
{
    switch (m) {
    case NETWORK_TCFILTER:
        return "tcfilter";
    case NETWORK_MACVTAP:
        return "macvtap";
    case NETWORK_NONE:
        return "none";
    }
    return "?";
}

/* ---- the spec's namespace ---- */

int network_netns_from_spec(const char *config_json, char *ret, size_t size, struct err *e)
{
    struct json_object *root, *linux_, *nss, *v;
    int r = 0;

    ret[0] = '\0';
    root = json_object_from_file(config_json);
    if (!root)
        return err_set(e, -EINVAL, "%s: cannot parse", config_json);
    if (json_object_object_get_ex(root, "linux", &linux_) &&
        json_object_object_get_ex(linux_, "namespaces", &nss) &&
        json_object_is_type(nss, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(nss); i++) {
            struct json_object *ns = json_object_array_get_idx(nss, i);
            const char *path;
            if (!json_object_object_get_ex(ns, "type", &v) ||
                !json_object_is_type(v, json_type_string) ||
                strcmp(json_object_get_string(v), "network") != 0)
                continue;
            if (!json_object_object_get_ex(ns, "path", &v))
                break;
            path = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
            if (!path || (*path && *path != '/') || strlen(path) >= size)
                r = err_set(e, -EINVAL,
                            "%s: linux.namespaces: the network path must be an absolute path "
                            "shorter than %zu bytes",
                            config_json, size);
            else
                snprintf(ret, size, "%s", path);
            break;
        }
    }
    json_object_put(root);
    return r;
}

/* ---- discovery ---- */

struct scan_link {
    struct network_endpoint ep;
    unsigned flags;
    unsigned short type;  /* ARPHRD_* */
    bool has_addr;        /* one the guest can use (not IPv6 link-local) */
};

struct scan {
    struct network *n;
    struct scan_link links[SCAN_LINKS_MAX];
    size_t n_links;
    bool too_many;
    struct err *e;
};

static void fmt_mac(const uint8_t *mac, char *buf, size_t size)
{
    snprintf(buf, size, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3],
             mac[4], mac[5]);
}

static bool fmt_ip(int family, const struct nlattr *a, char *buf, size_t size)
{
    size_t want = family == AF_INET ? 4 : 16;

    if (!a || nl_attr_len(a) != want)
        return false;
    return inet_ntop(family, nl_attr_data(a), buf, (socklen_t)size) != NULL;
}

static struct scan_link *scan_find(struct scan *s, int ifindex)
{
    for (size_t i = 0; i < s->n_links; i++)
        if (s->links[i].ep.ifindex == ifindex)
            return &s->links[i];
    return NULL;
}

static struct network_endpoint *ep_find(struct network *n, int ifindex)
{
    for (size_t i = 0; i < n->n_eps; i++)
        if (n->eps[i].ifindex == ifindex)
            return &n->eps[i];
    return NULL;
}

static int on_link(const struct nlmsghdr *h, void *ud)
{
    struct scan *s = ud;
    const struct ifinfomsg *ifi = NLMSG_DATA(h);
    const struct nlattr *tb[IFLA_MAX + 1], *info[IFLA_INFO_MAX + 1];
    struct scan_link *l;
    const char *name, *kind;

    if (h->nlmsg_type != RTM_NEWLINK || h->nlmsg_len < NLMSG_LENGTH(sizeof(*ifi)) ||
        nl_parse_attrs(h, sizeof(*ifi), tb, IFLA_MAX) < 0)
        return 0;
    name = nl_attr_str(tb[IFLA_IFNAME]);
    if (!name || strlen(name) >= NETWORK_IFNAME_MAX || (ifi->ifi_flags & IFF_LOOPBACK))
        return 0;
    if (s->n_links == SCAN_LINKS_MAX) {
        s->too_many = true;
        return 0;
    }
    l = &s->links[s->n_links++];
    memset(l, 0, sizeof(*l));
    snprintf(l->ep.name, sizeof(l->ep.name), "%s", name);
    l->ep.ifindex = ifi->ifi_index;
    l->ep.tap_fd = -1;
    l->flags = ifi->ifi_flags;
    l->type = ifi->ifi_type;
    l->ep.raw_flags = ifi->ifi_flags & IFF_NOARP;
    l->ep.link_up = (ifi->ifi_flags & IFF_UP) != 0;
    nl_attr_u32(tb[IFLA_MTU], &l->ep.mtu);
    if (tb[IFLA_ADDRESS] && nl_attr_len(tb[IFLA_ADDRESS]) == 6)
        fmt_mac(nl_attr_data(tb[IFLA_ADDRESS]), l->ep.mac, sizeof(l->ep.mac));
    if (tb[IFLA_LINKINFO] && nl_parse_nested(tb[IFLA_LINKINFO], info, IFLA_INFO_MAX) == 0 &&
        (kind = nl_attr_str(info[IFLA_INFO_KIND])) != NULL)
        snprintf(l->ep.kind, sizeof(l->ep.kind), "%s", kind);
    return 0;
}

static int on_addr(const struct nlmsghdr *h, void *ud)
{
    struct scan *s = ud;
    const struct ifaddrmsg *ifa = NLMSG_DATA(h);
    const struct nlattr *tb[IFA_MAX + 1];
    struct scan_link *l;
    struct network_addr *a;

    if (h->nlmsg_type != RTM_NEWADDR || h->nlmsg_len < NLMSG_LENGTH(sizeof(*ifa)) ||
        nl_parse_attrs(h, sizeof(*ifa), tb, IFA_MAX) < 0)
        return 0;
    if ((ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6) ||
        !(l = scan_find(s, (int)ifa->ifa_index)))
        return 0;
    /* The guest kernel derives IPv6 link-local addresses itself (same MAC,
     * same address); only addresses of wider scope are carried. */
    if (ifa->ifa_scope >= RT_SCOPE_LINK)
        return 0;
    if (l->ep.n_addrs == NETWORK_ADDRS_MAX)
        return err_set(s->e, -E2BIG, "interface %s: more than %d addresses", l->ep.name,
                       NETWORK_ADDRS_MAX);
    a = &l->ep.addrs[l->ep.n_addrs];
    a->family = ifa->ifa_family;
    a->prefix = ifa->ifa_prefixlen;
    /* IPv4 point-to-point links put the peer in IFA_ADDRESS; ours in LOCAL. */
    if (!fmt_ip(a->family, tb[IFA_LOCAL], a->ip, sizeof(a->ip)) &&
        !fmt_ip(a->family, tb[IFA_ADDRESS], a->ip, sizeof(a->ip)))
        return 0;
    l->ep.n_addrs++;
    l->has_addr = true;
    return 0;
}

static bool route_is_default_gw(const struct network *n, int family, const char *ip)
{
    for (size_t i = 0; i < n->n_routes; i++)
        if (n->routes[i].family == family && !n->routes[i].dest[0] &&
            strcmp(n->routes[i].gateway, ip) == 0)
            return true;
    return false;
}

static int on_route(const struct nlmsghdr *h, void *ud)
{
    struct scan *s = ud;
    struct network *n = s->n;
    const struct rtmsg *rt = NLMSG_DATA(h);
    const struct nlattr *tb[RTA_MAX + 1], *mx[RTAX_MAX + 1];
    struct network_endpoint *ep;
    struct network_route *r;
    uint32_t table, oif;
    char ip[NETWORK_IP_MAX];

    if (h->nlmsg_type != RTM_NEWROUTE || h->nlmsg_len < NLMSG_LENGTH(sizeof(*rt)) ||
        nl_parse_attrs(h, sizeof(*rt), tb, RTA_MAX) < 0)
        return 0;
    table = rt->rtm_table;
    nl_attr_u32(tb[RTA_TABLE], &table);
    /* Kata drops the routes the kernel makes for an address: the guest's
     * kernel makes them again when the agent adds the address. */
    if (table != RT_TABLE_MAIN || rt->rtm_type != RTN_UNICAST ||
        rt->rtm_protocol == RTPROT_KERNEL ||
        (rt->rtm_family != AF_INET && rt->rtm_family != AF_INET6))
        return 0;
    if (!nl_attr_u32(tb[RTA_OIF], &oif) || !(ep = ep_find(n, (int)oif)))
        return 0;
    if (n->n_routes == NETWORK_ROUTES_MAX)
        return err_set(s->e, -E2BIG, "more than %d routes in the pod's namespace",
                       NETWORK_ROUTES_MAX);
    r = &n->routes[n->n_routes];
    memset(r, 0, sizeof(*r));
    r->family = rt->rtm_family;
    if (rt->rtm_dst_len > 0) {
        if (!fmt_ip(r->family, tb[RTA_DST], ip, sizeof(ip)))
            return 0;
        snprintf(r->dest, sizeof(r->dest), "%s/%u", ip, rt->rtm_dst_len);
    }
    if (tb[RTA_GATEWAY])
        fmt_ip(r->family, tb[RTA_GATEWAY], r->gateway, sizeof(r->gateway));
    if (tb[RTA_PREFSRC])
        fmt_ip(r->family, tb[RTA_PREFSRC], r->source, sizeof(r->source));
    memcpy(r->device, ep->name, sizeof(r->device));
    r->scope = rt->rtm_scope;
    r->flags = rt->rtm_flags;
    if (tb[RTA_METRICS] && nl_parse_nested(tb[RTA_METRICS], mx, RTAX_MAX) == 0)
        nl_attr_u32(mx[RTAX_MTU], &r->mtu);
    n->n_routes++;
    return 0;
}

static int on_neigh(const struct nlmsghdr *h, void *ud)
{
    struct scan *s = ud;
    struct network *n = s->n;
    const struct ndmsg *nd = NLMSG_DATA(h);
    const struct nlattr *tb[NDA_MAX + 1];
    struct network_endpoint *ep;
    struct network_neigh *nb;
    char ip[NETWORK_IP_MAX];

    if (h->nlmsg_type != RTM_NEWNEIGH || h->nlmsg_len < NLMSG_LENGTH(sizeof(*nd)) ||
        nl_parse_attrs(h, sizeof(*nd), tb, NDA_MAX) < 0)
        return 0;
    if ((nd->ndm_family != AF_INET && nd->ndm_family != AF_INET6) ||
        !(ep = ep_find(n, nd->ndm_ifindex)) || !tb[NDA_LLADDR] ||
        nl_attr_len(tb[NDA_LLADDR]) != 6 || !fmt_ip(nd->ndm_family, tb[NDA_DST], ip, sizeof(ip)))
        return 0;
    /* Static entries, and the gateway's when it is known to answer. */
    if (!(nd->ndm_state & NUD_PERMANENT) &&
        !((nd->ndm_state & NUD_REACHABLE) && route_is_default_gw(n, nd->ndm_family, ip)))
        return 0;
    if (n->n_neighs == NETWORK_NEIGHS_MAX)
        return err_set(s->e, -E2BIG, "more than %d neighbours in the pod's namespace",
                       NETWORK_NEIGHS_MAX);
    nb = &n->neighs[n->n_neighs++];
    nb->family = nd->ndm_family;
    snprintf(nb->ip, sizeof(nb->ip), "%s", ip);
    fmt_mac(nl_attr_data(tb[NDA_LLADDR]), nb->lladdr, sizeof(nb->lladdr));
    memcpy(nb->device, ep->name, sizeof(nb->device));
    nb->state = nd->ndm_state;
    nb->flags = nd->ndm_flags;
    return 0;
}

static int dump(struct nl_sock *sk, uint16_t type, size_t hdrlen, nl_dump_fn fn, struct scan *s,
                const char *what)
{
    struct nl_msg *m = nl_msg_new(type, 0);
    struct err le = ERR_INIT;
    int r;

    /* Every family header starts with its family byte; AF_UNSPEC is 0. */
    nl_msg_put_header(m, hdrlen);
    r = nl_dump(sk, m, fn, s, &le);
    nl_msg_free(m);
    if (r < 0 && !err_is_set(s->e))
        err_set(s->e, r, "listing %s in the pod's namespace: %s", what, err_msg(&le));
    return r;
}

static bool kind_carried(const char *kind)
{
    static const char *const ok[] = {"veth", "macvlan", "ipvlan"};

    for (size_t i = 0; i < ELEMENTSOF(ok); i++)
        if (strcmp(kind, ok[i]) == 0)
            return true;
    return false;
}

/* Links that become endpoints: every one with a usable address. */
static int pick_endpoints(struct scan *s, struct err *e)
{
    struct network *n = s->n;

    if (s->too_many)
        return err_set(e, -E2BIG, "more than %d links in the pod's namespace", SCAN_LINKS_MAX);
    for (size_t i = 0; i < s->n_links; i++) {
        struct scan_link *l = &s->links[i];
        size_t len = strlen(l->ep.name);
        if (!l->has_addr)
            continue;
        /* Ours from an earlier run are never pod interfaces. */
        if (len > strlen(TAP_SUFFIX) &&
            strcmp(l->ep.name + len - strlen(TAP_SUFFIX), TAP_SUFFIX) == 0)
            continue;
        if (!kind_carried(l->ep.kind) || l->type != ARPHRD_ETHER || !l->ep.mac[0])
            return err_set(e, -EPROTONOSUPPORT,
                           "interface %s (%s) cannot be carried into the VM: only veth, "
                           "macvlan and ipvlan Ethernet interfaces can",
                           l->ep.name, l->ep.kind[0] ? l->ep.kind : "no link kind");
        if (n->n_eps == NETWORK_ENDPOINTS_MAX)
            return err_set(e, -E2BIG, "more than %d interfaces to carry into the VM",
                           NETWORK_ENDPOINTS_MAX);
        n->eps[n->n_eps] = l->ep;
        snprintf(n->eps[n->n_eps].tap, sizeof(n->eps[0].tap), "tap%zu" TAP_SUFFIX, n->n_eps);
        n->n_eps++;
    }
    return 0;
}

static int scan(struct nl_sock *sk, struct network *n, struct err *e)
{
    _cleanup_free_ struct scan *s = xzalloc(sizeof(*s));
    int r;

    s->n = n;
    s->e = e;
    if ((r = dump(sk, RTM_GETLINK, sizeof(struct ifinfomsg), on_link, s, "links")) < 0 ||
        (r = dump(sk, RTM_GETADDR, sizeof(struct ifaddrmsg), on_addr, s, "addresses")) < 0 ||
        (r = pick_endpoints(s, e)) < 0)
        return r;
    if (n->n_eps == 0)
        return 0;
    if ((r = dump(sk, RTM_GETROUTE, sizeof(struct rtmsg), on_route, s, "routes")) < 0 ||
        (r = dump(sk, RTM_GETNEIGH, sizeof(struct ndmsg), on_neigh, s, "neighbours")) < 0)
        return r;
    return 0;
}

/* ---- links ---- */

static int link_set(struct nl_sock *sk, int ifindex, unsigned mtu, const uint8_t *mac,
                    struct err *e)
{
    struct nl_msg *m = nl_msg_new(RTM_NEWLINK, 0);
    struct ifinfomsg *ifi = nl_msg_put_header(m, sizeof(*ifi));
    int r;

    ifi->ifi_index = ifindex;
    if (!mac) { /* bring it up */
        ifi->ifi_flags = IFF_UP;
        ifi->ifi_change = IFF_UP;
    }
    if (mtu)
        nl_msg_put_u32(m, IFLA_MTU, mtu);
    if (mac)
        nl_msg_put_attr(m, IFLA_ADDRESS, mac, 6);
    r = nl_request(sk, m, e);
    nl_msg_free(m);
    return r;
}

static int link_del(struct nl_sock *sk, const char *name, struct err *e)
{
    struct nl_msg *m = nl_msg_new(RTM_DELLINK, 0);
    struct err le = ERR_INIT;
    int r;

    nl_msg_put_header(m, sizeof(struct ifinfomsg));
    nl_msg_put_str(m, IFLA_IFNAME, name);
    r = nl_request(sk, m, &le);
    nl_msg_free(m);
    if (r == -ENODEV || r == -ENOENT)
        return 0;
    return r < 0 ? err_set(e, r, "delete %s: %s", name, err_msg(&le)) : 0;
}

static bool parse_mac(const char *s, uint8_t mac[6])
{
    return sscanf(s, "%2hhx:%2hhx:%2hhx:%2hhx:%2hhx:%2hhx", &mac[0], &mac[1], &mac[2], &mac[3],
                  &mac[4], &mac[5]) == 6;
}

/* A tap in this thread's namespace: TUNSETIFF creates it in the namespace
 * /dev/net/tun was opened from. Not persistent, so it goes away with the
 * last fd (QEMU's) even if nobody tears it down. */
static int tap_create(struct network_endpoint *ep, struct err *e)
{
    struct ifreq ifr;
    int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);

    if (fd < 0)
        return err_set(e, -errno, "/dev/net/tun: %s", strerror(errno));
    memset(&ifr, 0, sizeof(ifr));
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ep->tap);
    /* One queue; QEMU's virtio-net expects the vnet header. */
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        int r = -errno;
        close(fd);
        return err_set(e, r, "tap %s for %s: TUNSETIFF: %s", ep->tap, ep->name, strerror(-r));
    }
    ep->tap_fd = fd;
    ep->tap_created = true;
    ep->tap_ifindex = (int)if_nametoindex(ep->tap);
    if (ep->tap_ifindex <= 0)
        return err_set(e, -ENODEV, "tap %s: no ifindex after creation", ep->tap);
    return 0;
}

static int attach_tc(struct nl_sock *sk, struct network_endpoint *ep, struct err *e)
{
    int r;

    if ((r = tc_ingress_add(sk, ep->ifindex, ep->name, e)) < 0)
        return r;
    ep->tc_added = true;
    if ((r = tc_ingress_add(sk, ep->tap_ifindex, ep->tap, e)) < 0 ||
        (r = tc_redirect_add(sk, ep->ifindex, ep->name, ep->tap_ifindex, ep->tap, e)) < 0 ||
        (r = tc_redirect_add(sk, ep->tap_ifindex, ep->tap, ep->ifindex, ep->name, e)) < 0)
        return r;
    return 0;
}

/* ---- macvtap ---- */

static int addr_del(struct nl_sock *sk, const struct network_endpoint *ep,
                    const struct network_addr *a, struct err *e)
{
    struct nl_msg *m = nl_msg_new(RTM_DELADDR, 0);
    struct ifaddrmsg *ifa = nl_msg_put_header(m, sizeof(*ifa));
    uint8_t bin[16];
    int r;

    ifa->ifa_family = (uint8_t)a->family;
    ifa->ifa_prefixlen = (uint8_t)a->prefix;
    ifa->ifa_index = (uint32_t)ep->ifindex;
    inet_pton(a->family, a->ip, bin);
    nl_msg_put_attr(m, IFA_LOCAL, bin, a->family == AF_INET ? 4 : 16);
    r = nl_request(sk, m, e);
    nl_msg_free(m);
    return r == -EADDRNOTAVAIL ? 0 : r;
}

static int macvtap_create(struct nl_sock *sk, struct network_endpoint *ep, struct err *e)
{
    struct nl_msg *m = nl_msg_new(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
    uint8_t mac[6];
    size_t info, data;
    int r;

    nl_msg_put_header(m, sizeof(struct ifinfomsg));
    nl_msg_put_str(m, IFLA_IFNAME, ep->tap);
    nl_msg_put_u32(m, IFLA_LINK, (uint32_t)ep->ifindex);
    if (ep->mtu)
        nl_msg_put_u32(m, IFLA_MTU, ep->mtu);
    if (parse_mac(ep->mac, mac))
        nl_msg_put_attr(m, IFLA_ADDRESS, mac, sizeof(mac));
    info = nl_msg_nest_start(m, IFLA_LINKINFO);
    nl_msg_put_str(m, IFLA_INFO_KIND, "macvtap");
    data = nl_msg_nest_start(m, IFLA_INFO_DATA);
    nl_msg_put_u32(m, IFLA_MACVLAN_MODE, MACVLAN_MODE_BRIDGE);
    nl_msg_nest_end(m, data);
    nl_msg_nest_end(m, info);
    r = nl_request(sk, m, e);
    nl_msg_free(m);
    if (r < 0)
        return err_prefix(e, "macvtap %s on %s", ep->tap, ep->name);
    ep->tap_created = true;
    ep->tap_ifindex = (int)if_nametoindex(ep->tap);
    if (ep->tap_ifindex <= 0)
        return err_set(e, -ENODEV, "macvtap %s: no ifindex after creation", ep->tap);
    return 0;
}

/* /dev/tap<ifindex> is made by udev, which this host may not run. Its
 * number is in the sysfs of the pod's namespace, so mount one in a private
 * mount namespace of this (short-lived) thread and make the node there. */
static int macvtap_open_private(const struct network_endpoint *ep, struct err *e)
{
    char path[PATH_MAX], buf[32];
    unsigned maj, min;
    FILE *f;
    int fd;

    if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        return err_set(e, -errno, "macvtap %s: private mount namespace: %s", ep->tap,
                       strerror(errno));
    if (mount("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NOEXEC | MS_NODEV, NULL) < 0 ||
        mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0700") < 0)
        return err_set(e, -errno, "macvtap %s: mounting sysfs and tmpfs: %s", ep->tap,
                       strerror(errno));
    snprintf(path, sizeof(path), "/sys/class/net/%s/macvtap/tap%d/dev", ep->tap,
             ep->tap_ifindex);
    f = fopen(path, "re");
    if (!f)
        return err_set(e, -errno, "macvtap %s: %s: %s", ep->tap, path, strerror(errno));
    if (!fgets(buf, sizeof(buf), f) || sscanf(buf, "%u:%u", &maj, &min) != 2) {
        fclose(f);
        return err_set(e, -EINVAL, "macvtap %s: %s: unexpected content", ep->tap, path);
    }
    fclose(f);
    snprintf(path, sizeof(path), "/tmp/tap%d", ep->tap_ifindex);
    if (mknod(path, S_IFCHR | 0600, makedev(maj, min)) < 0)
        return err_set(e, -errno, "macvtap %s: mknod: %s", ep->tap, strerror(errno));
    fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return err_set(e, -errno, "macvtap %s: open %s: %s", ep->tap, path, strerror(errno));
    return fd;
}

static int attach_macvtap(struct nl_sock *sk, struct network_endpoint *ep, bool *privmnt,
                          struct err *e)
{
    char dev[64];
    uint8_t rnd[6];
    int r, fd;

    if ((r = macvtap_create(sk, ep, e)) < 0)
        return r;
    /* The macvtap takes the pod link's MAC and addresses (the guest owns
     * them now); the link itself gets a random, locally administered MAC.
     * From here on teardown puts them back, also after a partial move. */
    if (getentropy(rnd, sizeof(rnd)) < 0)
        return err_set(e, -errno, "%s: getentropy: %s", ep->name, strerror(errno));
    rnd[0] = (uint8_t)((rnd[0] & 0xfe) | 0x02);
    ep->moved = true;
    if ((r = link_set(sk, ep->ifindex, 0, rnd, e)) < 0)
        return err_prefix(e, "%s: new MAC", ep->name);
    for (size_t i = 0; i < ep->n_addrs; i++)
        if ((r = addr_del(sk, ep, &ep->addrs[i], e)) < 0)
            return err_prefix(e, "%s: remove %s", ep->name, ep->addrs[i].ip);
    if ((r = link_set(sk, ep->tap_ifindex, 0, NULL, e)) < 0)
        return err_prefix(e, "%s: up", ep->tap);
    snprintf(dev, sizeof(dev), "/dev/tap%d", ep->tap_ifindex);
    fd = *privmnt ? -ENOENT : open(dev, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        *privmnt = true;
        fd = macvtap_open_private(ep, e);
        if (fd < 0)
            return fd;
    }
    ep->tap_fd = fd;
    return 0;
}

/* ---- putting back what macvtap moved ---- */

static int addr_add(struct nl_sock *sk, int ifindex, const struct network_addr *a, struct err *e)
{
    struct nl_msg *m = nl_msg_new(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
    struct ifaddrmsg *ifa = nl_msg_put_header(m, sizeof(*ifa));
    size_t len = a->family == AF_INET ? 4 : 16;
    uint8_t bin[16];
    int r;

    ifa->ifa_family = (uint8_t)a->family;
    ifa->ifa_prefixlen = (uint8_t)a->prefix;
    ifa->ifa_index = (uint32_t)ifindex;
    if (inet_pton(a->family, a->ip, bin) != 1) {
        nl_msg_free(m);
        return err_set(e, -EINVAL, "\"%s\" is not an address", a->ip);
    }
    nl_msg_put_attr(m, IFA_LOCAL, bin, len);
    nl_msg_put_attr(m, IFA_ADDRESS, bin, len);
    r = nl_request(sk, m, e);
    nl_msg_free(m);
    return r == -EEXIST ? 0 : r;
}

static bool put_ip(struct nl_msg *m, uint16_t type, int family, const char *ip)
{
    uint8_t bin[16];

    if (!ip[0])
        return true;
    if (inet_pton(family, ip, bin) != 1)
        return false;
    nl_msg_put_attr(m, type, bin, family == AF_INET ? 4 : 16);
    return true;
}

static int route_add(struct nl_sock *sk, const struct network_route *rt, int ifindex,
                     struct err *e)
{
    struct nl_msg *m = nl_msg_new(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL);
    struct rtmsg *rtm = nl_msg_put_header(m, sizeof(*rtm));
    char dst[NETWORK_IP_MAX + 4];
    unsigned plen = 0;
    char *slash;
    int r;

    rtm->rtm_family = (uint8_t)rt->family;
    rtm->rtm_table = RT_TABLE_MAIN;
    rtm->rtm_protocol = RTPROT_BOOT;
    rtm->rtm_scope = (uint8_t)rt->scope;
    rtm->rtm_type = RTN_UNICAST;
    rtm->rtm_flags = rt->flags & RTNH_F_ONLINK;
    snprintf(dst, sizeof(dst), "%s", rt->dest);
    if ((slash = strchr(dst, '/'))) {
        *slash = '\0';
        plen = (unsigned)atoi(slash + 1);
    }
    rtm->rtm_dst_len = (uint8_t)plen;
    if (!put_ip(m, RTA_DST, rt->family, dst) || !put_ip(m, RTA_GATEWAY, rt->family, rt->gateway) ||
        !put_ip(m, RTA_PREFSRC, rt->family, rt->source)) {
        nl_msg_free(m);
        return err_set(e, -EINVAL, "route to %s: a malformed address",
                       rt->dest[0] ? rt->dest : "default");
    }
    nl_msg_put_u32(m, RTA_OIF, (uint32_t)ifindex);
    if (rt->mtu) {
        size_t mx = nl_msg_nest_start(m, RTA_METRICS);
        nl_msg_put_u32(m, RTAX_MTU, rt->mtu);
        nl_msg_nest_end(m, mx);
    }
    r = nl_request(sk, m, e);
    nl_msg_free(m);
    return r == -EEXIST ? 0 : r;
}

/* MAC, up state and addresses of one link; the macvtap is gone already
 * (its MAC is the one going back). A link gone is nothing to restore. */
static void restore_link(struct nl_sock *sk, const struct network_endpoint *ep)
{
    struct err le = ERR_INIT;
    int idx = (int)if_nametoindex(ep->name);
    uint8_t mac[6];

    if (idx <= 0)
        return;
    if (parse_mac(ep->mac, mac) && link_set(sk, idx, 0, mac, &le) < 0)
        log_warn("network: %s: MAC %s not restored: %s", ep->name, ep->mac, err_msg(&le));
    err_clear(&le);
    if (ep->link_up && link_set(sk, idx, 0, NULL, &le) < 0)
        log_warn("network: %s: not brought back up: %s", ep->name, err_msg(&le));
    for (size_t i = 0; i < ep->n_addrs; i++) {
        err_clear(&le);
        if (addr_add(sk, idx, &ep->addrs[i], &le) < 0)
            log_warn("network: %s: address %s/%u not restored: %s", ep->name, ep->addrs[i].ip,
                     ep->addrs[i].prefix, err_msg(&le));
    }
}

/* Removing a link's last address took its routes along. Kernel routes
 * came back with the addresses; the recorded ones are added again, in two
 * rounds, since a gateway may be reachable only through a later route. */
static void restore_routes(struct nl_sock *sk, const struct network *n)
{
    bool done[NETWORK_ROUTES_MAX] = {false};

    for (int round = 0; round < 2; round++)
        for (size_t i = 0; i < n->n_routes; i++) {
            const struct network_route *rt = &n->routes[i];
            const struct network_endpoint *ep = NULL;
            struct err le = ERR_INIT;
            int idx;

            for (size_t k = 0; k < n->n_eps && !ep; k++)
                if (strcmp(n->eps[k].name, rt->device) == 0 && n->eps[k].moved)
                    ep = &n->eps[k];
            if (done[i] || !ep || (idx = (int)if_nametoindex(ep->name)) <= 0)
                continue;
            if (route_add(sk, rt, idx, &le) == 0)
                done[i] = true;
            else if (round == 1)
                log_warn("network: %s: route to %s not restored: %s", rt->device,
                         rt->dest[0] ? rt->dest : "default", err_msg(&le));
        }
}

/* ---- setup and teardown in the namespace ---- */

static void detach_all(struct nl_sock *sk, struct network *n)
{
    bool moved = false;

    for (size_t i = 0; i < n->n_eps; i++) {
        struct network_endpoint *ep = &n->eps[i];
        struct err le = ERR_INIT;
        int idx = (int)if_nametoindex(ep->name);

        if (ep->tc_added && idx > 0 && tc_ingress_del(sk, idx, ep->name, &le) < 0)
            log_warn("network: %s", err_msg(&le));
        err_clear(&le);
        /* The tap's own qdisc and filters go with it. */
        if (ep->tap_created && link_del(sk, ep->tap, &le) < 0)
            log_warn("network: %s", err_msg(&le));
        if (ep->moved) {
            restore_link(sk, ep);
            moved = true;
        }
    }
    if (moved)
        restore_routes(sk, n);
}

static int setup_in_ns(void *ud, struct err *e)
{
    struct network *n = ud;
    struct nl_sock *sk = NULL;
    bool privmnt = false;
    int r;

    if ((r = nl_open(NETLINK_ROUTE, &sk, e)) < 0)
        return r;
    if ((r = scan(sk, n, e)) < 0)
        goto out;
    for (size_t i = 0; i < n->n_eps && r >= 0; i++) {
        struct network_endpoint *ep = &n->eps[i];
        if (n->model == NETWORK_MACVTAP) {
            r = attach_macvtap(sk, ep, &privmnt, e);
            continue;
        }
        if ((r = tap_create(ep, e)) < 0 || (r = link_set(sk, ep->tap_ifindex, ep->mtu, NULL, e)) < 0)
            continue;
        if (n->model == NETWORK_TCFILTER)
            r = attach_tc(sk, ep, e);
    }
    if (r < 0) {
        network_close_taps(n);
        detach_all(sk, n);
    }
out:
    nl_close(sk);
    return r;
}

static int teardown_in_ns(void *ud, struct err *e)
{
    struct network *n = ud;
    struct nl_sock *sk = NULL;
    int r = nl_open(NETLINK_ROUTE, &sk, e);

    if (r < 0)
        return r;
    detach_all(sk, n);
    nl_close(sk);
    return 0;
}

int network_setup(const char *netns, enum network_model model, struct network **ret,
                  struct err *e)
{
    struct network *n = xzalloc(sizeof(*n));
    int r;

    if (netns && strlen(netns) >= sizeof(n->netns)) {
        free(n);
        return err_set(e, -ENAMETOOLONG, "network namespace path too long");
    }
    snprintf(n->netns, sizeof(n->netns), "%s", netns ? netns : "");
    n->model = model;
    r = netns_run(n->netns, setup_in_ns, n, e);
    if (r < 0) {
        network_free(n);
        return r;
    }
    for (size_t i = 0; i < n->n_eps; i++)
        log_info("network: %s (%s, %s, mtu %u, %zu addresses) -> %s (%s)", n->eps[i].name,
                 n->eps[i].kind, n->eps[i].mac, n->eps[i].mtu, n->eps[i].n_addrs, n->eps[i].tap,
                 network_model_name(model));
    *ret = n;
    return 0;
}

void network_close_taps(struct network *n)
{
    for (size_t i = 0; n && i < n->n_eps; i++)
        if (n->eps[i].tap_fd >= 0) {
            close(n->eps[i].tap_fd);
            n->eps[i].tap_fd = -1;
        }
}

int network_teardown(struct network *n, struct err *e)
{
    int r;

    if (!n || n->n_eps == 0)
        return 0;
    network_close_taps(n);
    r = netns_run(n->netns, teardown_in_ns, n, e);
    /* A namespace CNI already removed took everything in it along. */
    if (r == -ENOENT)
        return 0;
    return r;
}

struct network *network_free(struct network *n)
{
    if (!n)
        return NULL;
    network_close_taps(n);
    free(n);
    return NULL;
}

/* ---- the record for `delete` ---- */

static struct network_endpoint *ep_named(struct network *n, const char *name)
{
    for (size_t i = 0; i < n->n_eps; i++)
        if (strcmp(n->eps[i].name, name) == 0)
            return &n->eps[i];
    return NULL;
}

int network_save(const struct network *n, const char *path, struct err *e)
{
    char tmp[PATH_MAX];
    FILE *f;
    int r;

    if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
        return err_set(e, -ENAMETOOLONG, "%s: path too long", path);
    f = fopen(tmp, "we");
    if (!f)
        return err_set(e, -errno, "%s: %s", tmp, strerror(errno));
    fprintf(f, "model %s\n", network_model_name(n->model));
    for (size_t i = 0; i < n->n_eps; i++) {
        const struct network_endpoint *ep = &n->eps[i];
        fprintf(f, "ep %s %s %d\n", ep->name, ep->tap, ep->tc_added);
        if (!ep->moved)
            continue;
        /* What macvtap moved, for teardown to put back. */
        fprintf(f, "moved %s %s %d\n", ep->name, ep->mac, ep->link_up);
        for (size_t k = 0; k < ep->n_addrs; k++)
            fprintf(f, "addr %s %d %s %u\n", ep->name, ep->addrs[k].family, ep->addrs[k].ip,
                    ep->addrs[k].prefix);
    }
    for (size_t i = 0; i < n->n_routes; i++) {
        const struct network_route *rt = &n->routes[i];
        bool moved = false;
        for (size_t k = 0; k < n->n_eps; k++)
            moved |= n->eps[k].moved && strcmp(n->eps[k].name, rt->device) == 0;
        if (!moved)
            continue;
        fprintf(f, "route %d %s %s %s %s %u %u %u\n", rt->family, rt->dest[0] ? rt->dest : "-",
                rt->gateway[0] ? rt->gateway : "-", rt->source[0] ? rt->source : "-", rt->device,
                rt->scope, rt->flags, rt->mtu);
    }
    /* Last: a path may hold spaces. */
    fprintf(f, "netns %s\n", n->netns);
    r = fflush(f) == 0 && fsync(fileno(f)) == 0 ? 0 : -errno;
    if (fclose(f) != 0 && r == 0)
        r = -errno;
    if (r == 0 && rename(tmp, path) < 0)
        r = -errno;
    if (r < 0) {
        unlink(tmp);
        return err_set(e, r, "%s: %s", path, strerror(-r));
    }
    return 0;
}

static bool valid_ip(int family, const char *ip)
{
    uint8_t bin[16];
    return (family == AF_INET || family == AF_INET6) && inet_pton(family, ip, bin) == 1;
}

/* "moved", "addr" and "route" lines: what macvtap moved. */
static int load_moved(const char *line, struct network *n)
{
    char a[NETWORK_IFNAME_MAX + 1], mac[18], ip[NETWORK_IP_MAX];
    char dst[NETWORK_IP_MAX + 4], gw[NETWORK_IP_MAX], src[NETWORK_IP_MAX];
    struct network_endpoint *ep;
    unsigned prefix, scope, flags, mtu;
    int up, family;
    uint8_t bin[6];

    if (sscanf(line, "moved %16s %17s %d", a, mac, &up) == 3) {
        if (!(ep = ep_named(n, a)) || !parse_mac(mac, bin))
            return -EINVAL;
        snprintf(ep->mac, sizeof(ep->mac), "%s", mac);
        ep->link_up = up != 0;
        ep->moved = true;
        return 0;
    }
    if (sscanf(line, "addr %16s %d %45s %u", a, &family, ip, &prefix) == 4) {
        if (!(ep = ep_named(n, a)) || !ep->moved || ep->n_addrs == NETWORK_ADDRS_MAX ||
            !valid_ip(family, ip) || prefix > (family == AF_INET ? 32u : 128u))
            return -EINVAL;
        struct network_addr *ad = &ep->addrs[ep->n_addrs++];
        ad->family = family;
        snprintf(ad->ip, sizeof(ad->ip), "%s", ip);
        ad->prefix = prefix;
        return 0;
    }
    if (sscanf(line, "route %d %49s %45s %45s %16s %u %u %u", &family, dst, gw, src, a, &scope,
               &flags, &mtu) == 8) {
        if (n->n_routes == NETWORK_ROUTES_MAX || !(ep = ep_named(n, a)) ||
            (family != AF_INET && family != AF_INET6) ||
            (strcmp(gw, "-") != 0 && !valid_ip(family, gw)) ||
            (strcmp(src, "-") != 0 && !valid_ip(family, src)))
            return -EINVAL;
        struct network_route *rt = &n->routes[n->n_routes++];
        memset(rt, 0, sizeof(*rt));
        rt->family = family;
        snprintf(rt->dest, sizeof(rt->dest), "%s", strcmp(dst, "-") ? dst : "");
        snprintf(rt->gateway, sizeof(rt->gateway), "%s", strcmp(gw, "-") ? gw : "");
        snprintf(rt->source, sizeof(rt->source), "%s", strcmp(src, "-") ? src : "");
        memcpy(rt->device, ep->name, sizeof(rt->device));
        rt->scope = scope;
        rt->flags = flags;
        rt->mtu = mtu;
        return 0;
    }
    return -EINVAL;
}

static int load_saved(FILE *f, struct network *n)
{
    char line[4200], a[NETWORK_IFNAME_MAX + 1], b[NETWORK_IFNAME_MAX + 1];
    int tc;

    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\n")] = '\0';
        if (strncmp(line, "netns ", 6) == 0) {
            if (strlen(line + 6) >= sizeof(n->netns))
                return -EINVAL;
            memcpy(n->netns, line + 6, strlen(line + 6) + 1);
        } else if (strncmp(line, "model ", 6) == 0) {
            n->model = strcmp(line + 6, "macvtap") == 0 ? NETWORK_MACVTAP
                       : strcmp(line + 6, "none") == 0  ? NETWORK_NONE
                                                        : NETWORK_TCFILTER;
        } else if (sscanf(line, "ep %16s %16s %d", a, b, &tc) == 3 &&
                   strlen(a) < NETWORK_IFNAME_MAX && strlen(b) < NETWORK_IFNAME_MAX &&
                   n->n_eps < NETWORK_ENDPOINTS_MAX) {
            struct network_endpoint *ep = &n->eps[n->n_eps++];
            snprintf(ep->name, sizeof(ep->name), "%s", a);
            snprintf(ep->tap, sizeof(ep->tap), "%s", b);
            ep->tc_added = tc != 0;
            ep->tap_created = true;
            ep->tap_fd = -1;
        } else if (load_moved(line, n) < 0) {
            return -EINVAL;
        }
    }
    return 0;
}

int network_cleanup_saved(const char *path, struct err *e)
{
    _cleanup_free_ struct network *n = xzalloc(sizeof(*n));
    FILE *f = fopen(path, "re");
    int r;

    if (!f)
        return errno == ENOENT ? 0 : err_set(e, -errno, "%s: %s", path, strerror(errno));
    r = load_saved(f, n);
    fclose(f);
    if (r < 0)
        return err_set(e, r, "%s: not a network record", path);
    r = network_teardown(n, e);
    if (r >= 0)
        unlink(path);
    return r;
}
