/* The stand-alone kata-agent's network RPCs over ttRPC, against the real
 * kernel: the test process moves into a private network namespace
 * (unshare(CLONE_NEWNET), needs root) before it starts the agent, so the
 * agent configures a veth pair the test made there. Kernel state is read
 * back through lib/netlink, independently of the agent's replies. Bad input
 * must give the right gRPC code and leave the kernel state as it was. */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <unistd.h>

#include "google/protobuf/empty.pb-c.h"
#include "kata/agent.pb-c.h"
#include "kata/types.pb-c.h"
#include "lib/err.h"
#include "lib/netlink.h"
#include "lib/ttrpc/ttrpc.h"
#include "tests/harness/harness.h"
#include "tests/support/agent_harness.h"

#define EMPTY &google__protobuf__empty__descriptor
#define MAC_A "02:00:00:aa:00:01"
#define MAC_B "02:00:00:aa:00:02"

static int netns_state; /* 0 untried, 1 inside, -1 unavailable */

/* ---- kernel side, through lib/netlink ---- */

static int veth_create(const char *a, const char *b)
{
    struct err e = ERR_INIT;
    struct nl_sock *s = NULL;
    int r = nl_open(NETLINK_ROUTE, &s, &e);
    if (r < 0)
        return r;
    uint8_t mac_a[6] = {2, 0, 0, 0xaa, 0, 1}, mac_b[6] = {2, 0, 0, 0xaa, 0, 2};
    struct nl_msg *m = nl_msg_new(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
    nl_msg_put_header(m, sizeof(struct ifinfomsg));
    nl_msg_put_str(m, IFLA_IFNAME, a);
    nl_msg_put_attr(m, IFLA_ADDRESS, mac_a, 6);
    size_t li = nl_msg_nest_start(m, IFLA_LINKINFO);
    nl_msg_put_str(m, IFLA_INFO_KIND, "veth");
    size_t data = nl_msg_nest_start(m, IFLA_INFO_DATA);
    size_t peer = nl_msg_nest_start(m, VETH_INFO_PEER);
    nl_msg_put_raw(m, sizeof(struct ifinfomsg));
    nl_msg_put_str(m, IFLA_IFNAME, b);
    nl_msg_put_attr(m, IFLA_ADDRESS, mac_b, 6);
    nl_msg_nest_end(m, peer);
    nl_msg_nest_end(m, data);
    nl_msg_nest_end(m, li);
    r = nl_request(s, m, &e);
    nl_msg_free(m);
    /* The far end up, so ours gets a carrier once it is up too. */
    if (r >= 0) {
        m = nl_msg_new(RTM_NEWLINK, 0);
        struct ifinfomsg *ifi = nl_msg_put_header(m, sizeof(*ifi));
        ifi->ifi_change = IFF_UP;
        ifi->ifi_flags = IFF_UP;
        nl_msg_put_str(m, IFLA_IFNAME, b);
        r = nl_request(s, m, &e);
        nl_msg_free(m);
    }
    if (r < 0)
        fprintf(stderr, "# veth: %s\n", err_msg(&e));
    nl_close(s);
    return r;
}

static void link_delete(const char *name)
{
    struct nl_sock *s = NULL;
    if (nl_open(NETLINK_ROUTE, &s, NULL) < 0)
        return;
    struct nl_msg *m = nl_msg_new(RTM_DELLINK, 0);
    nl_msg_put_header(m, sizeof(struct ifinfomsg));
    nl_msg_put_str(m, IFLA_IFNAME, name);
    nl_request(s, m, NULL);
    nl_msg_free(m);
    nl_close(s);
}

/* A text picture of links, addresses, main-table routes and permanent
 * neighbours, to compare before and after. */
struct snap {
    char buf[16384];
    size_t len;
};

static void snap_add(struct snap *sn, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void snap_add(struct snap *sn, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (sn->len < sizeof(sn->buf)) {
        int n = vsnprintf(sn->buf + sn->len, sizeof(sn->buf) - sn->len, fmt, ap);
        if (n > 0)
            sn->len += (size_t)n;
    }
    va_end(ap);
}

static void snap_ip(struct snap *sn, int family, const struct nlattr *a)
{
    char ip[64] = "-";
    if (a && nl_attr_len(a) == (family == AF_INET6 ? 16u : 4u))
        inet_ntop(family, nl_attr_data(a), ip, sizeof(ip));
    snap_add(sn, " %s", ip);
}

static int snap_cb(const struct nlmsghdr *h, void *userdata)
{
    struct snap *sn = userdata;
    const struct nlattr *tb[64];
    if (h->nlmsg_type == RTM_NEWLINK) {
        const struct ifinfomsg *ifi = NLMSG_DATA(h);
        if (nl_parse_attrs(h, sizeof(*ifi), tb, IFLA_IFNAME) < 0)
            return -EBADMSG;
        const struct nlattr *tm[IFLA_MTU + 1];
        nl_parse_attrs(h, sizeof(*ifi), tm, IFLA_MTU);
        uint32_t mtu = 0;
        nl_attr_u32(tm[IFLA_MTU], &mtu);
        snap_add(sn, "link %d %s mtu %u %s\n", ifi->ifi_index, nl_attr_str(tb[IFLA_IFNAME]), mtu,
                 ifi->ifi_flags & IFF_UP ? "up" : "down");
    } else if (h->nlmsg_type == RTM_NEWADDR) {
        const struct ifaddrmsg *ifa = NLMSG_DATA(h);
        if (nl_parse_attrs(h, sizeof(*ifa), tb, IFA_LOCAL) < 0)
            return -EBADMSG;
        snap_add(sn, "addr %u/%u", ifa->ifa_index, ifa->ifa_prefixlen);
        snap_ip(sn, ifa->ifa_family, tb[IFA_ADDRESS]);
        snap_add(sn, "\n");
    } else if (h->nlmsg_type == RTM_NEWROUTE) {
        const struct rtmsg *rt = NLMSG_DATA(h);
        if (nl_parse_attrs(h, sizeof(*rt), tb, RTA_TABLE) < 0)
            return -EBADMSG;
        if (rt->rtm_table != RT_TABLE_MAIN)
            return 0;
        uint32_t oif = 0;
        nl_attr_u32(tb[RTA_OIF], &oif);
        snap_add(sn, "route %u/%u proto %u scope %u", oif, rt->rtm_dst_len, rt->rtm_protocol,
                 rt->rtm_scope);
        snap_ip(sn, rt->rtm_family, tb[RTA_DST]);
        snap_ip(sn, rt->rtm_family, tb[RTA_GATEWAY]);
        snap_add(sn, "\n");
    } else if (h->nlmsg_type == RTM_NEWNEIGH) {
        const struct ndmsg *nd = NLMSG_DATA(h);
        if (!(nd->ndm_state & NUD_PERMANENT))
            return 0;
        if (nl_parse_attrs(h, sizeof(*nd), tb, NDA_LLADDR) < 0)
            return -EBADMSG;
        snap_add(sn, "neigh %d", nd->ndm_ifindex);
        snap_ip(sn, nd->ndm_family, tb[NDA_DST]);
        const uint8_t *ll = tb[NDA_LLADDR] ? nl_attr_data(tb[NDA_LLADDR]) : NULL;
        if (ll && nl_attr_len(tb[NDA_LLADDR]) == 6)
            snap_add(sn, " %02x:%02x:%02x:%02x:%02x:%02x", ll[0], ll[1], ll[2], ll[3], ll[4],
                     ll[5]);
        snap_add(sn, "\n");
    }
    return 0;
}

static int cmp_lines(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorts the lines: a link that went down and up again gets its kernel
 * routes back in another order, which is not a change. */
static void snap_sort(struct snap *sn)
{
    char *lines[512];
    size_t n = 0;
    char copy[sizeof(sn->buf)];
    memcpy(copy, sn->buf, sizeof(copy));
    for (char *save = NULL, *l = strtok_r(copy, "\n", &save); l && n < 512;
         l = strtok_r(NULL, "\n", &save))
        lines[n++] = l;
    qsort(lines, n, sizeof(lines[0]), cmp_lines);
    sn->len = 0;
    sn->buf[0] = '\0';
    for (size_t i = 0; i < n; i++)
        snap_add(sn, "%s\n", lines[i]);
}

static int snapshot(struct snap *sn)
{
    static const struct {
        uint16_t type;
        size_t hdr;
    } dumps[] = {{RTM_GETLINK, sizeof(struct ifinfomsg)},
                 {RTM_GETADDR, sizeof(struct ifaddrmsg)},
                 {RTM_GETROUTE, sizeof(struct rtmsg)},
                 {RTM_GETNEIGH, sizeof(struct ndmsg)}};
    sn->len = 0;
    sn->buf[0] = '\0';
    struct nl_sock *s = NULL;
    int r = nl_open(NETLINK_ROUTE, &s, NULL);
    for (size_t i = 0; r >= 0 && i < sizeof(dumps) / sizeof(dumps[0]); i++) {
        struct nl_msg *m = nl_msg_new(dumps[i].type, 0);
        nl_msg_put_header(m, dumps[i].hdr);
        r = nl_dump(s, m, snap_cb, sn, NULL);
        nl_msg_free(m);
    }
    nl_close(s);
    if (r >= 0)
        snap_sort(sn);
    return r;
}

/* ---- fixture ---- */

struct fixture {
    struct agent_harness h;
    int fds_before;
};

static int setup(struct fixture *f)
{
    if (netns_state == 0) {
        netns_state = geteuid() == 0 && unshare(CLONE_NEWNET) == 0 ? 1 : -1;
        /* No IPv6 link-local addresses on the veths: the kernel adds them
         * on its own once the carrier is seen (a deferred work item, late
         * under load), which a before/after snapshot would take for a
         * change. */
        FILE *gen = netns_state > 0 ? fopen("/proc/sys/net/ipv6/conf/default/addr_gen_mode", "we")
                                    : NULL;
        if (gen) {
            fputs("1\n", gen);
            fclose(gen);
        }
    }
    if (netns_state < 0)
        return test_skip("cannot unshare a network namespace (needs root)");
    link_delete("na0");
    link_delete("eth7");
    link_delete("eth8");
    if (veth_create("na0", "nb0") < 0)
        return test_skip("cannot create a veth pair here");
    int r = agent_harness_start(&f->h);
    if (r == -ENOENT)
        return test_skip("%s", f->h.why);
    if (r < 0)
        return 1;
    f->fds_before = agent_harness_count_fds(f->h.pid);
    return 0;
}

static int teardown(struct fixture *f)
{
    /* Every RPC opens and closes its own netlink socket. */
    int fds = agent_harness_count_fds(f->h.pid);
    if (fds != f->fds_before)
        fprintf(stderr, "# agent fds: %d before, %d after\n", f->fds_before, fds);
    int rc = agent_harness_stop(&f->h);
    if (fds != f->fds_before)
        rc = rc ? rc : 1;
    if (rc != 0)
        fprintf(stderr, "# the agent exited with %d\n", rc);
    link_delete("na0");
    link_delete("eth7");
    link_delete("eth8");
    return rc != 0;
}

#define SETUP(f)                                                                                   \
    do {                                                                                           \
        int _s = setup(f);                                                                         \
        if (_s)                                                                                    \
            return _s;                                                                             \
    } while (0)

/* ---- requests ---- */

struct iface_req {
    Grpc__UpdateInterfaceRequest req;
    Types__Interface iface;
    Types__IPAddress ips[4];
    Types__IPAddress *ip_ptrs[4];
};

static void iface_req_init(struct iface_req *q, const char *mac, const char *name, uint64_t mtu)
{
    q->req = (Grpc__UpdateInterfaceRequest)GRPC__UPDATE_INTERFACE_REQUEST__INIT;
    q->iface = (Types__Interface)TYPES__INTERFACE__INIT;
    q->iface.hwaddr = (char *)mac;
    q->iface.name = (char *)name;
    q->iface.device = (char *)name;
    q->iface.mtu = mtu;
    q->iface.ipaddresses = q->ip_ptrs;
    q->req.interface = &q->iface;
}

static void iface_req_ip(struct iface_req *q, bool v6, const char *addr, const char *mask)
{
    size_t i = q->iface.n_ipaddresses++;
    q->ips[i] = (Types__IPAddress)TYPES__IPADDRESS__INIT;
    q->ips[i].family = v6 ? TYPES__IPFAMILY__v6 : TYPES__IPFAMILY__v4;
    q->ips[i].address = (char *)addr;
    q->ips[i].mask = (char *)mask;
    q->ip_ptrs[i] = &q->ips[i];
}

static int update_iface(struct fixture *f, struct iface_req *q, Types__Interface **ret,
                        const char **msg)
{
    ProtobufCMessage *resp = NULL;
    int code = agent_harness_call(&f->h, "UpdateInterface", &q->req.base,
                                  &types__interface__descriptor, &resp, msg);
    if (ret)
        *ret = (Types__Interface *)resp;
    else if (resp)
        protobuf_c_message_free_unpacked(resp, NULL);
    return code;
}

/* The standard configuration: na0 -> eth7, MTU 1400, two addresses. */
static int configure_eth7(struct fixture *f)
{
    struct iface_req q;
    iface_req_init(&q, "02:00:00:AA:00:01", "eth7", 1400);
    iface_req_ip(&q, false, "10.1.2.3", "24");
    iface_req_ip(&q, true, "fd00:1::3", "64");
    const char *msg = NULL;
    int code = update_iface(f, &q, NULL, &msg);
    if (code != 0)
        fprintf(stderr, "# UpdateInterface: %d %s\n", code, msg);
    return code;
}

static bool iface_has_ip(const Types__Interface *i, const char *addr, const char *mask,
                         Types__IPFamily fam)
{
    for (size_t k = 0; k < i->n_ipaddresses; k++)
        if (strcmp(i->ipaddresses[k]->address, addr) == 0 &&
            strcmp(i->ipaddresses[k]->mask, mask) == 0 && i->ipaddresses[k]->family == fam)
            return true;
    return false;
}

struct routes_req {
    Grpc__UpdateRoutesRequest req;
    Grpc__Routes routes;
    Types__Route r[8];
    Types__Route *ptrs[8];
};

static void routes_init(struct routes_req *q)
{
    q->req = (Grpc__UpdateRoutesRequest)GRPC__UPDATE_ROUTES_REQUEST__INIT;
    q->routes = (Grpc__Routes)GRPC__ROUTES__INIT;
    q->routes.routes = q->ptrs;
    q->req.routes = &q->routes;
}

static void routes_add(struct routes_req *q, bool v6, const char *dest, const char *gw,
                       const char *dev, uint32_t scope)
{
    size_t i = q->routes.n_routes++;
    q->r[i] = (Types__Route)TYPES__ROUTE__INIT;
    q->r[i].family = v6 ? TYPES__IPFAMILY__v6 : TYPES__IPFAMILY__v4;
    q->r[i].dest = (char *)dest;
    q->r[i].gateway = (char *)gw;
    q->r[i].device = (char *)dev;
    q->r[i].scope = scope;
    q->ptrs[i] = &q->r[i];
}

static bool has_route(const Grpc__Routes *rs, const char *dest, const char *gw, const char *dev)
{
    for (size_t i = 0; i < rs->n_routes; i++)
        if (strcmp(rs->routes[i]->dest, dest) == 0 && strcmp(rs->routes[i]->gateway, gw) == 0 &&
            strcmp(rs->routes[i]->device, dev) == 0)
            return true;
    return false;
}

static Grpc__Routes *list_routes(struct fixture *f)
{
    Grpc__ListRoutesRequest req = GRPC__LIST_ROUTES_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    if (agent_harness_call(&f->h, "ListRoutes", &req.base, &grpc__routes__descriptor, &resp,
                           NULL) != 0)
        return NULL;
    return (Grpc__Routes *)resp;
}

/* ---- tests ---- */

TEST(update_interface_rename_mtu_addresses)
{
    struct fixture f;
    SETUP(&f);
    struct iface_req q;
    iface_req_init(&q, "02:00:00:AA:00:01", "eth7", 1400); /* upper case MAC */
    iface_req_ip(&q, false, "10.1.2.3", "24");
    iface_req_ip(&q, true, "fd00:1::3", "64");
    q.iface.raw_flags = IFF_NOARP;
    Types__Interface *out = NULL;
    const char *msg = NULL;
    int code = update_iface(&f, &q, &out, &msg);
    if (code)
        fprintf(stderr, "# %s\n", msg);
    ASSERT_EQ(code, 0);
    ASSERT_STREQ(out->name, "eth7");
    ASSERT_EQ(out->mtu, 1400);
    ASSERT_STREQ(out->hwaddr, MAC_A);
    ASSERT_STREQ(out->type, "veth");
    ASSERT_TRUE(iface_has_ip(out, "10.1.2.3", "24", TYPES__IPFAMILY__v4));
    ASSERT_TRUE(iface_has_ip(out, "fd00:1::3", "64", TYPES__IPFAMILY__v6));
    ASSERT_TRUE(out->raw_flags & IFF_NOARP);
    ASSERT_TRUE(out->raw_flags & IFF_UP);
    protobuf_c_message_free_unpacked(&out->base, NULL);

    /* The kernel agrees. */
    ASSERT_EQ(if_nametoindex("na0"), 0);
    ASSERT_GT(if_nametoindex("eth7"), 0);
    struct snap sn;
    ASSERT_OK(snapshot(&sn));
    char want[128];
    snprintf(want, sizeof(want), "link %u eth7 mtu 1400 up", if_nametoindex("eth7"));
    ASSERT_TRUE(strstr(sn.buf, want) != NULL);
    snprintf(want, sizeof(want), "addr %u/24 10.1.2.3", if_nametoindex("eth7"));
    ASSERT_TRUE(strstr(sn.buf, want) != NULL);
    snprintf(want, sizeof(want), "addr %u/64 fd00:1::3", if_nametoindex("eth7"));
    ASSERT_TRUE(strstr(sn.buf, want) != NULL);

    /* ListInterfaces shows it (and not lo). */
    Grpc__ListInterfacesRequest lreq = GRPC__LIST_INTERFACES_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    ASSERT_EQ(agent_harness_call(&f.h, "ListInterfaces", &lreq.base,
                                 &grpc__interfaces__descriptor, &resp, NULL),
              0);
    Grpc__Interfaces *ifs = (Grpc__Interfaces *)resp;
    const Types__Interface *eth7 = NULL;
    for (size_t i = 0; i < ifs->n_interfaces; i++) {
        ASSERT_TRUE(strcmp(ifs->interfaces[i]->name, "lo") != 0);
        if (strcmp(ifs->interfaces[i]->name, "eth7") == 0)
            eth7 = ifs->interfaces[i];
    }
    ASSERT_TRUE(eth7 != NULL);
    ASSERT_STREQ(eth7->device, "eth7");
    ASSERT_EQ(eth7->mtu, 1400);
    ASSERT_STREQ(eth7->hwaddr, MAC_A);
    ASSERT_STREQ(eth7->type, "veth");
    ASSERT_TRUE(iface_has_ip(eth7, "10.1.2.3", "24", TYPES__IPFAMILY__v4));
    ASSERT_TRUE(iface_has_ip(eth7, "fd00:1::3", "64", TYPES__IPFAMILY__v6));
    protobuf_c_message_free_unpacked(resp, NULL);

    /* A second update replaces the address list and renames again. */
    iface_req_init(&q, MAC_A, "eth8", 0);
    iface_req_ip(&q, false, "10.1.3.4", "16");
    ASSERT_EQ(update_iface(&f, &q, &out, &msg), 0);
    ASSERT_STREQ(out->name, "eth8");
    ASSERT_EQ(out->mtu, 1400); /* 0 kept it */
    ASSERT_TRUE(iface_has_ip(out, "10.1.3.4", "16", TYPES__IPFAMILY__v4));
    ASSERT_TRUE(!iface_has_ip(out, "10.1.2.3", "24", TYPES__IPFAMILY__v4));
    ASSERT_TRUE(!iface_has_ip(out, "fd00:1::3", "64", TYPES__IPFAMILY__v6));
    ASSERT_TRUE(!(out->raw_flags & IFF_NOARP));
    protobuf_c_message_free_unpacked(&out->base, NULL);
    return teardown(&f);
}

TEST(update_routes_gateway_and_default)
{
    struct fixture f;
    SETUP(&f);
    ASSERT_EQ(configure_eth7(&f), 0);
    struct routes_req q;
    routes_init(&q);
    /* Gatewayed routes first on purpose: the agent must reorder. */
    routes_add(&q, false, "", "10.1.2.1", "eth7", 0); /* default */
    routes_add(&q, false, "192.168.50.0/24", "10.9.0.1", "eth7", 0);
    routes_add(&q, false, "10.9.0.0/16", "", "eth7", 253);
    routes_add(&q, true, "default", "fd00:1::1", "eth7", 0);
    ProtobufCMessage *resp = NULL;
    const char *msg = NULL;
    int code = agent_harness_call(&f.h, "UpdateRoutes", &q.req.base, &grpc__routes__descriptor,
                                  &resp, &msg);
    if (code)
        fprintf(stderr, "# %s\n", msg);
    ASSERT_EQ(code, 0);
    Grpc__Routes *rs = (Grpc__Routes *)resp;
    ASSERT_TRUE(has_route(rs, "", "10.1.2.1", "eth7"));
    ASSERT_TRUE(has_route(rs, "192.168.50.0/24", "10.9.0.1", "eth7"));
    ASSERT_TRUE(has_route(rs, "10.9.0.0/16", "", "eth7"));
    ASSERT_TRUE(has_route(rs, "", "fd00:1::1", "eth7"));
    protobuf_c_message_free_unpacked(resp, NULL);

    rs = list_routes(&f);
    ASSERT_TRUE(rs != NULL);
    ASSERT_TRUE(has_route(rs, "", "10.1.2.1", "eth7"));
    ASSERT_TRUE(has_route(rs, "192.168.50.0/24", "10.9.0.1", "eth7"));
    ASSERT_TRUE(has_route(rs, "10.9.0.0/16", "", "eth7"));
    ASSERT_TRUE(has_route(rs, "10.1.2.0/24", "", "eth7")); /* the kernel's prefix route */
    ASSERT_TRUE(has_route(rs, "", "fd00:1::1", "eth7"));
    for (size_t i = 0; i < rs->n_routes; i++) {
        const Types__Route *r = rs->routes[i];
        if (strcmp(r->dest, "10.9.0.0/16") == 0)
            ASSERT_EQ(r->scope, 253);
        if (strcmp(r->gateway, "fd00:1::1") == 0)
            ASSERT_EQ(r->family, TYPES__IPFAMILY__v6);
    }
    protobuf_c_message_free_unpacked(&rs->base, NULL);

    /* The kernel agrees: a default route via 10.1.2.1. */
    struct snap sn;
    ASSERT_OK(snapshot(&sn));
    char want[128];
    snprintf(want, sizeof(want), "route %u/0 proto 3 scope 0 - 10.1.2.1", if_nametoindex("eth7"));
    ASSERT_TRUE(strstr(sn.buf, want) != NULL);

    /* A second UpdateRoutes replaces the device's routes. */
    routes_init(&q);
    routes_add(&q, false, "172.16.0.0/12", "10.1.2.254", "eth7", 0);
    ASSERT_EQ(agent_harness_call(&f.h, "UpdateRoutes", &q.req.base, &grpc__routes__descriptor,
                                 &resp, NULL),
              0);
    rs = (Grpc__Routes *)resp;
    ASSERT_TRUE(has_route(rs, "172.16.0.0/12", "10.1.2.254", "eth7"));
    ASSERT_TRUE(!has_route(rs, "", "10.1.2.1", "eth7"));
    ASSERT_TRUE(!has_route(rs, "10.9.0.0/16", "", "eth7"));
    ASSERT_TRUE(has_route(rs, "10.1.2.0/24", "", "eth7")); /* kernel routes stay */
    protobuf_c_message_free_unpacked(resp, NULL);
    return teardown(&f);
}

static int add_neighbor(struct fixture *f, const char *ip, bool v6, const char *mac,
                        const char *dev, const char **msg)
{
    Types__IPAddress addr = TYPES__IPADDRESS__INIT;
    addr.family = v6 ? TYPES__IPFAMILY__v6 : TYPES__IPFAMILY__v4;
    addr.address = (char *)ip;
    Types__ARPNeighbor nb = TYPES__ARPNEIGHBOR__INIT;
    nb.toipaddress = &addr;
    nb.device = (char *)dev;
    nb.lladdr = (char *)mac;
    nb.state = NUD_PERMANENT;
    Types__ARPNeighbor *ptr = &nb;
    Grpc__ARPNeighbors list = GRPC__ARPNEIGHBORS__INIT;
    list.n_arpneighbors = 1;
    list.arpneighbors = &ptr;
    Grpc__AddARPNeighborsRequest req = GRPC__ADD_ARPNEIGHBORS_REQUEST__INIT;
    req.neighbors = &list;
    return agent_harness_call(&f->h, "AddARPNeighbors", &req.base, EMPTY, NULL, msg);
}

TEST(add_arp_neighbors)
{
    struct fixture f;
    SETUP(&f);
    ASSERT_EQ(configure_eth7(&f), 0);
    const char *msg = NULL;
    ASSERT_EQ(add_neighbor(&f, "10.1.2.50", false, "02:00:00:BB:00:50", "eth7", &msg), 0);
    ASSERT_EQ(add_neighbor(&f, "fd00:1::50", true, "02:00:00:bb:00:51", "eth7", &msg), 0);
    /* Replacing an entry is fine. */
    ASSERT_EQ(add_neighbor(&f, "10.1.2.50", false, "02:00:00:bb:00:52", "eth7", &msg), 0);
    struct snap sn;
    ASSERT_OK(snapshot(&sn));
    char want[128];
    unsigned idx = if_nametoindex("eth7");
    snprintf(want, sizeof(want), "neigh %u 10.1.2.50 02:00:00:bb:00:52", idx);
    ASSERT_TRUE(strstr(sn.buf, want) != NULL);
    snprintf(want, sizeof(want), "neigh %u fd00:1::50 02:00:00:bb:00:51", idx);
    ASSERT_TRUE(strstr(sn.buf, want) != NULL);
    return teardown(&f);
}

TEST(bad_input_changes_nothing)
{
    struct fixture f;
    SETUP(&f);
    ASSERT_EQ(configure_eth7(&f), 0);
    struct routes_req rq;
    routes_init(&rq);
    routes_add(&rq, false, "", "10.1.2.1", "eth7", 0);
    ASSERT_EQ(agent_harness_call(&f.h, "UpdateRoutes", &rq.req.base, &grpc__routes__descriptor,
                                 NULL, NULL),
              0);
    struct snap before, after;
    ASSERT_OK(snapshot(&before));
    const char *msg = NULL;
    struct iface_req q;

    /* Unknown MAC: NOT_FOUND naming the MAC. */
    iface_req_init(&q, "02:00:00:ee:ee:ee", "eth9", 1300);
    iface_req_ip(&q, false, "10.5.5.5", "24");
    ASSERT_EQ(update_iface(&f, &q, NULL, &msg), TTRPC_NOT_FOUND);
    fprintf(stderr, "# %s\n", msg);
    ASSERT_TRUE(strstr(msg, "02:00:00:ee:ee:ee") != NULL);
    ASSERT_TRUE(strstr(msg, "Link not found") != NULL);

    /* A bad prefix length after a good address: nothing applied. */
    iface_req_init(&q, MAC_A, "eth9", 1300);
    iface_req_ip(&q, false, "10.5.5.5", "24");
    iface_req_ip(&q, false, "10.6.6.6", "33");
    ASSERT_EQ(update_iface(&f, &q, NULL, &msg), TTRPC_INVALID_ARGUMENT);
    fprintf(stderr, "# %s\n", msg);
    ASSERT_TRUE(strstr(msg, "IPAddresses[1].mask") != NULL);

    iface_req_init(&q, MAC_A, "eth9", 1300);
    iface_req_ip(&q, true, "fd00::1", "129");
    ASSERT_EQ(update_iface(&f, &q, NULL, &msg), TTRPC_INVALID_ARGUMENT);
    ASSERT_TRUE(strstr(msg, "mask") != NULL);

    iface_req_init(&q, MAC_A, "eth9", 1300);
    iface_req_ip(&q, false, "10.1.2.300", "24");
    ASSERT_EQ(update_iface(&f, &q, NULL, &msg), TTRPC_INVALID_ARGUMENT);
    ASSERT_TRUE(strstr(msg, "IPAddresses[0].address") != NULL);

    iface_req_init(&q, MAC_A, "eth9", 1300);
    iface_req_ip(&q, false, "fd00::1", "64"); /* v4 claimed, v6 given */
    ASSERT_EQ(update_iface(&f, &q, NULL, &msg), TTRPC_INVALID_ARGUMENT);
    ASSERT_TRUE(strstr(msg, "family") != NULL);

    iface_req_init(&q, "not-a-mac", "eth9", 1300);
    ASSERT_EQ(update_iface(&f, &q, NULL, &msg), TTRPC_INVALID_ARGUMENT);
    ASSERT_TRUE(strstr(msg, "hwAddr") != NULL);

    iface_req_init(&q, MAC_A, "a/b", 1300);
    ASSERT_EQ(update_iface(&f, &q, NULL, &msg), TTRPC_INVALID_ARGUMENT);
    ASSERT_TRUE(strstr(msg, "interface.name") != NULL);

    /* Renaming onto the veth's other end: refused before anything changes. */
    iface_req_init(&q, MAC_A, "nb0", 1300);
    ASSERT_EQ(update_iface(&f, &q, NULL, &msg), TTRPC_ALREADY_EXISTS);

    /* A kernel refusal part-way (MTU above the veth maximum, after the
     * rename): everything is rolled back. */
    iface_req_init(&q, MAC_A, "eth9", 70000);
    iface_req_ip(&q, false, "10.5.5.5", "24");
    ASSERT_EQ(update_iface(&f, &q, NULL, &msg), TTRPC_INVALID_ARGUMENT);
    fprintf(stderr, "# %s\n", msg);
    ASSERT_TRUE(strstr(msg, "interface.mtu") != NULL);

    /* Routes: unknown device, bad CIDR, host bits, bad gateway. */
    struct routes_req r2;
    routes_init(&r2);
    routes_add(&r2, false, "10.7.0.0/16", "", "eth7", 0);
    routes_add(&r2, false, "10.8.0.0/16", "", "nosuchdev", 0);
    ASSERT_EQ(agent_harness_call(&f.h, "UpdateRoutes", &r2.req.base, &grpc__routes__descriptor,
                                 NULL, &msg),
              TTRPC_NOT_FOUND);
    fprintf(stderr, "# %s\n", msg);
    ASSERT_TRUE(strstr(msg, "routes[1].device") != NULL && strstr(msg, "nosuchdev") != NULL);
    routes_init(&r2);
    routes_add(&r2, false, "10.7.0.0/33", "", "eth7", 0);
    ASSERT_EQ(agent_harness_call(&f.h, "UpdateRoutes", &r2.req.base, &grpc__routes__descriptor,
                                 NULL, &msg),
              TTRPC_INVALID_ARGUMENT);
    ASSERT_TRUE(strstr(msg, "routes[0].dest") != NULL);
    routes_init(&r2);
    routes_add(&r2, false, "10.7.0.1/16", "", "eth7", 0);
    ASSERT_EQ(agent_harness_call(&f.h, "UpdateRoutes", &r2.req.base, &grpc__routes__descriptor,
                                 NULL, &msg),
              TTRPC_INVALID_ARGUMENT);
    routes_init(&r2);
    routes_add(&r2, false, "10.7.0.0/16", "fd00::1", "eth7", 0);
    ASSERT_EQ(agent_harness_call(&f.h, "UpdateRoutes", &r2.req.base, &grpc__routes__descriptor,
                                 NULL, &msg),
              TTRPC_INVALID_ARGUMENT);
    ASSERT_TRUE(strstr(msg, "routes[0].gateway") != NULL);

    /* A kernel refusal part-way (a gateway that is not on any link): the
     * routes removed first come back. */
    routes_init(&r2);
    routes_add(&r2, false, "10.7.0.0/16", "", "eth7", 0);
    routes_add(&r2, false, "", "172.31.9.9", "eth7", 0);
    int code = agent_harness_call(&f.h, "UpdateRoutes", &r2.req.base, &grpc__routes__descriptor,
                                  NULL, &msg);
    fprintf(stderr, "# %d %s\n", code, msg);
    ASSERT_EQ(code, TTRPC_INVALID_ARGUMENT);
    ASSERT_TRUE(strstr(msg, "routes[1]") != NULL);

    /* Neighbours: bad lladdr, unknown device. */
    ASSERT_EQ(add_neighbor(&f, "10.1.2.60", false, "zz:00", "eth7", &msg), TTRPC_INVALID_ARGUMENT);
    ASSERT_TRUE(strstr(msg, "lladdr") != NULL);
    ASSERT_EQ(add_neighbor(&f, "10.1.2.60", false, "02:00:00:00:00:01", "nosuchdev", &msg),
              TTRPC_NOT_FOUND);
    ASSERT_EQ(add_neighbor(&f, "10.1.2", false, "02:00:00:00:00:01", "eth7", &msg),
              TTRPC_INVALID_ARGUMENT);

    ASSERT_OK(snapshot(&after));
    if (strcmp(before.buf, after.buf) != 0)
        fprintf(stderr, "# before:\n%s# after:\n%s", before.buf, after.buf);
    ASSERT_STREQ(after.buf, before.buf);
    return teardown(&f);
}

static int create_sandbox(struct fixture *f, const char *hostname, const char *const *dns,
                          size_t n, const char **msg)
{
    Grpc__CreateSandboxRequest req = GRPC__CREATE_SANDBOX_REQUEST__INIT;
    req.hostname = (char *)hostname;
    req.sandbox_id = (char *)"netsbx-id";
    req.dns = (char **)dns;
    req.n_dns = n;
    return agent_harness_call(&f->h, "CreateSandbox", &req.base, EMPTY, NULL, msg);
}

static int read_text(const char *path, char *buf, size_t size)
{
    FILE *fp = fopen(path, "re");
    if (!fp)
        return -errno;
    size_t n = fread(buf, 1, size - 1, fp);
    buf[n] = '\0';
    fclose(fp);
    return 0;
}

/* Runs last: it moves the test process into private mount and UTS
 * namespaces (with a tmpfs on /run), so the agent it starts may write its
 * run dir, bind /etc/resolv.conf and set the hostname without touching the
 * host, and the test sees exactly what the agent did. */
TEST(create_sandbox_dns_and_hostname)
{
    if (geteuid() != 0)
        return test_skip("needs root");
    if (unshare(CLONE_NEWNS | CLONE_NEWUTS) < 0)
        return test_skip("cannot unshare mount and UTS namespaces: %s", strerror(errno));
    ASSERT_OK(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL));
    ASSERT_OK(mount("tmpfs", "/run", "tmpfs", 0, "mode=0755"));
    setenv("KATA_AGENT_PRIVATE_NAMESPACES", "mnt,uts", 1); /* for the agent child */
    struct fixture f;
    SETUP(&f);
    const char *msg = NULL;

    static const char *const injected[] = {"nameserver 10.1.2.1\nnameserver 6.6.6.6"};
    ASSERT_EQ(create_sandbox(&f, "netsbx", injected, 1, &msg), TTRPC_INVALID_ARGUMENT);
    ASSERT_TRUE(strstr(msg, "dns[0]") != NULL);
    static const char *const bogus[] = {"nameserver 10.1.2.1", "rm -rf /"};
    ASSERT_EQ(create_sandbox(&f, "netsbx", bogus, 2, &msg), TTRPC_INVALID_ARGUMENT);
    ASSERT_TRUE(strstr(msg, "dns[1]") != NULL);
    static const char *const badns[] = {"nameserver 10.1.2"};
    ASSERT_EQ(create_sandbox(&f, "netsbx", badns, 1, &msg), TTRPC_INVALID_ARGUMENT);
    static const char *const good[] = {"nameserver 10.1.2.1", "nameserver fd00:1::1",
                                       "search example.test", "options ndots:2"};
    ASSERT_EQ(create_sandbox(&f, "bad host/name", good, 4, &msg), TTRPC_INVALID_ARGUMENT);
    ASSERT_TRUE(strstr(msg, "hostname") != NULL);
    char host[128] = "";
    ASSERT_OK(gethostname(host, sizeof(host)));
    ASSERT_TRUE(strcmp(host, "netsbx") != 0);

    int code = create_sandbox(&f, "netsbx", good, 4, &msg);
    if (code)
        fprintf(stderr, "# %s\n", msg);
    ASSERT_EQ(code, 0);
    static const char want[] =
        "nameserver 10.1.2.1\nnameserver fd00:1::1\nsearch example.test\noptions ndots:2\n";
    char buf[512];
    ASSERT_OK(read_text("/run/kata-containers/sandbox/resolv.conf", buf, sizeof(buf)));
    ASSERT_STREQ(buf, want);
    /* The agent sits in a mount namespace of its own (ours), so it binds
     * the file over /etc/resolv.conf as it would in a guest. */
    ASSERT_OK(read_text("/etc/resolv.conf", buf, sizeof(buf)));
    ASSERT_STREQ(buf, want);
    ASSERT_OK(gethostname(host, sizeof(host)));
    ASSERT_STREQ(host, "netsbx");

    Grpc__DestroySandboxRequest dreq = GRPC__DESTROY_SANDBOX_REQUEST__INIT;
    ASSERT_EQ(agent_harness_call(&f.h, "DestroySandbox", &dreq.base, EMPTY, NULL, NULL), 0);
    return teardown(&f);
}
