/* Routes and neighbours (see agent/network.h): UpdateRoutes replaces the
 * named devices' routes, putting the removed ones back if the kernel
 * refuses a new one part-way; AddARPNeighbors adds or replaces entries. */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
/* Before the linux/ headers, which then skip their own copy of these. */
#include <net/if.h>
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

/* ---- routes ---- */

static void fill_route(const struct route *rt, const struct vec *links, struct network_route *out)
{
    memset(out, 0, sizeof(*out));
    out->v6 = rt->family == AF_INET6;
    if (rt->dst_len || rt->has_dst) {
        char ip[NETWORK_IP_MAX];
        static const uint8_t zero[16];
        network_format_ip(rt->family, rt->has_dst ? rt->dst : zero, ip, sizeof(ip));
        snprintf(out->dest, sizeof(out->dest), "%s/%u", ip, rt->dst_len);
    }
    if (rt->has_gw)
        network_format_ip(rt->family, rt->gw, out->gateway, sizeof(out->gateway));
    if (rt->has_src)
        network_format_ip(rt->family, rt->src, out->source, sizeof(out->source));
    const struct link *l = network_link_by_index(links, rt->oif);
    if (l)
        snprintf(out->device, sizeof(out->device), "%s", l->name);
    out->scope = rt->scope;
    out->flags = rt->flags;
    out->mtu = rt->mtu;
}

static int route_change(struct nl_sock *s, const struct route *rt, bool add, struct err *e)
{
    struct nl_msg *m = nl_msg_new(add ? RTM_NEWROUTE : RTM_DELROUTE,
                                  add ? NLM_F_CREATE | NLM_F_REPLACE : 0);
    struct rtmsg *h = nl_msg_put_header(m, sizeof(*h));
    h->rtm_family = rt->family;
    h->rtm_dst_len = rt->dst_len;
    h->rtm_tos = rt->tos;
    h->rtm_table = RT_TABLE_MAIN;
    h->rtm_protocol = rt->protocol;
    /* Deleting by scope "nowhere" matches an IPv4 route of any scope. */
    h->rtm_scope = add ? rt->scope : RT_SCOPE_NOWHERE;
    h->rtm_type = RTN_UNICAST;
    h->rtm_flags = add ? rt->flags & RTNH_F_ONLINK : 0;
    size_t len = network_addr_bytes(rt->family);
    if (rt->has_dst)
        nl_msg_put_attr(m, RTA_DST, rt->dst, len);
    if (rt->has_gw)
        nl_msg_put_attr(m, RTA_GATEWAY, rt->gw, len);
    if (add && rt->has_src)
        nl_msg_put_attr(m, RTA_PREFSRC, rt->src, len);
    if (rt->has_priority)
        nl_msg_put_u32(m, RTA_PRIORITY, rt->priority);
    nl_msg_put_u32(m, RTA_OIF, (uint32_t)rt->oif);
    if (add && rt->mtu) {
        size_t nest = nl_msg_nest_start(m, RTA_METRICS);
        nl_msg_put_u32(m, RTAX_MTU, rt->mtu);
        nl_msg_nest_end(m, nest);
    }
    int r = nl_request(s, m, e);
    nl_msg_free(m);
    return r;
}

/* Parses one request route against the link list. */
static int route_parse(const struct network_route_req *q, size_t i, const struct vec *links,
                       struct route *rt, struct err *e)
{
    memset(rt, 0, sizeof(*rt));
    uint8_t fam = 0;
    const struct link *l = q->device && *q->device ? network_link_by_name(links, q->device) : NULL;
    if (!l)
        return err_set(e, -ENOENT, "routes[%zu].device: no link named \"%s\"", i,
                       q->device ? q->device : "");
    rt->oif = l->index;
    const char *dest = q->dest ? q->dest : "";
    if (*dest && strcmp(dest, "default") != 0) {
        char buf[NETWORK_CIDR_MAX];
        if (strlen(dest) >= sizeof(buf))
            return err_set(e, -EINVAL, "routes[%zu].dest: \"%s\" is not a CIDR", i, dest);
        snprintf(buf, sizeof(buf), "%s", dest);
        char *slash = strchr(buf, '/');
        if (slash)
            *slash = '\0';
        if (!network_parse_ip(buf, rt->dst, &fam))
            return err_set(e, -EINVAL, "routes[%zu].dest: \"%s\" is not a CIDR", i, dest);
        unsigned max = fam == AF_INET6 ? 128 : 32;
        if (!slash)
            rt->dst_len = (uint8_t)max;
        else if (!network_parse_prefix(slash + 1, max, &rt->dst_len))
            return err_set(e, -EINVAL, "routes[%zu].dest: bad prefix length in \"%s\"", i, dest);
        if (!network_host_bits_zero(rt->dst, fam, rt->dst_len))
            return err_set(e, -EINVAL, "routes[%zu].dest: \"%s\" has host bits set", i, dest);
        rt->has_dst = rt->dst_len > 0;
    }
    uint8_t f2;
    if (q->gateway && *q->gateway) {
        if (!network_parse_ip(q->gateway, rt->gw, &f2) || (fam && f2 != fam))
            return err_set(e, -EINVAL, "routes[%zu].gateway: \"%s\" is not an IP address%s", i,
                           q->gateway, fam ? " of the destination's family" : "");
        fam = f2;
        rt->has_gw = true;
    }
    if (q->source && *q->source) {
        if (!network_parse_ip(q->source, rt->src, &f2) || (fam && f2 != fam))
            return err_set(e, -EINVAL, "routes[%zu].source: \"%s\" is not an IP address%s", i,
                           q->source, fam ? " of the destination's family" : "");
        fam = f2;
        rt->has_src = true;
    }
    rt->family = fam ? fam : (q->v6 ? AF_INET6 : AF_INET);
    if (q->scope > 255)
        return err_set(e, -EINVAL, "routes[%zu].scope: %u is out of range", i, q->scope);
    rt->scope = (uint8_t)q->scope;
    if (!rt->has_gw && rt->scope == RT_SCOPE_UNIVERSE && rt->family == AF_INET)
        rt->scope = RT_SCOPE_LINK;
    rt->protocol = RTPROT_BOOT;
    rt->type = RTN_UNICAST;
    rt->table = RT_TABLE_MAIN;
    rt->flags = q->flags & RTNH_F_ONLINK;
    rt->mtu = q->mtu;
    return 0;
}

/* Gateway-less link-scope routes first, then other gateway-less ones, then
 * routes via gateways, default routes last. */
static int route_rank(const struct route *rt)
{
    if (!rt->has_gw)
        return rt->scope == RT_SCOPE_LINK ? 0 : 1;
    return rt->dst_len ? 2 : 3;
}

void network_routes_rollback(struct nl_sock *s, const struct route *added, size_t n_added,
                            const struct route *removed, size_t n_removed)
{
    struct err e = ERR_INIT;
    for (size_t i = n_added; i-- > 0;) {
        err_clear(&e);
        if (route_change(s, &added[i], false, &e) < 0 && e.code != -ESRCH)
            log_warn("rollback: cannot remove a route: %s", err_msg(&e));
    }
    /* Gateway-less routes first again, so the gatewayed ones resolve. */
    for (int rank = 0; rank <= 3; rank++)
        for (size_t i = 0; i < n_removed; i++) {
            if (route_rank(&removed[i]) != rank)
                continue;
            err_clear(&e);
            if (route_change(s, &removed[i], true, &e) < 0)
                log_warn("rollback: cannot restore a route: %s", err_msg(&e));
        }
}

/* Puts name, MTU, up state, addresses and routes back as the snapshot had
 * them. Taking a link down flushes its IPv4 routes and IPv6 addresses, so
 * those come back last. */
static bool oif_named(const struct route *want, size_t n, int oif)
{
    for (size_t i = 0; i < n; i++)
        if (want[i].oif == oif)
            return true;
    return false;
}

int network_update_routes(const struct network_route_req *routes, size_t n,
                          struct network_route **ret, size_t *ret_n, struct err *e)
{
    if (n > NETWORK_MAX_ROUTES)
        return err_set(e, -E2BIG, "routes: more than %d", NETWORK_MAX_ROUTES);
    _cleanup_(nl_closep) struct nl_sock *s = NULL;
    int r = nl_open(NETLINK_ROUTE, &s, e);
    if (r < 0)
        return r;
    struct vec links, cur = {0}, removed = {.size = sizeof(struct route)};
    if ((r = network_dump_links(s, &links, e)) < 0)
        return r;
    _cleanup_free_ struct route *want = xnew(struct route, n ? n : 1);
    _cleanup_free_ struct route *added = xnew(struct route, n ? n : 1);
    size_t n_added = 0;
    for (size_t i = 0; i < n && r >= 0; i++)
        r = route_parse(&routes[i], i, &links, &want[i], e);
    if (r >= 0)
        r = network_dump_routes(s, &cur, e);
    if (r < 0)
        goto out;

    /* Remove what is there on the named devices, except the kernel's own
     * routes (prefix routes of addresses, IPv6 link-local). */
    const struct route *c = cur.v;
    for (size_t i = 0; i < cur.n && r >= 0; i++) {
        if (c[i].protocol == RTPROT_KERNEL || !oif_named(want, n, c[i].oif))
            continue;
        r = route_change(s, &c[i], false, e);
        if (r >= 0)
            *(struct route *)network_vec_push(&removed) = c[i];
        else
            err_prefix(e, "routes: cannot remove an existing route");
    }
    for (int rank = 0; rank <= 3 && r >= 0; rank++)
        for (size_t i = 0; i < n && r >= 0; i++) {
            if (route_rank(&want[i]) != rank)
                continue;
            r = route_change(s, &want[i], true, e);
            /* A gateway not on any link is the request's fault. */
            if (r == -ENETUNREACH || r == -EHOSTUNREACH) {
                r = -EINVAL;
                if (e)
                    e->code = r;
            }
            if (r >= 0)
                added[n_added++] = want[i];
            else
                err_prefix(e, "routes[%zu]: %s via %s dev %s", i,
                           routes[i].dest && *routes[i].dest ? routes[i].dest : "default",
                           routes[i].gateway && *routes[i].gateway ? routes[i].gateway : "-",
                           routes[i].device);
        }
    if (r < 0) {
        network_routes_rollback(s, added, n_added, removed.v, removed.n);
        goto out;
    }

    free(cur.v);
    if ((r = network_dump_routes(s, &cur, e)) < 0)
        goto out;
    struct network_route *v = xnew(struct network_route, cur.n ? cur.n : 1);
    size_t k = 0;
    c = cur.v;
    for (size_t i = 0; i < cur.n; i++)
        if (oif_named(want, n, c[i].oif))
            fill_route(&c[i], &links, &v[k++]);
    *ret = v;
    *ret_n = k;
out:
    free(links.v);
    free(cur.v);
    free(removed.v);
    return r;
}

int network_list_routes(struct network_route **ret, size_t *ret_n, struct err *e)
{
    _cleanup_(nl_closep) struct nl_sock *s = NULL;
    int r = nl_open(NETLINK_ROUTE, &s, e);
    if (r < 0)
        return r;
    struct vec links, cur = {0};
    if ((r = network_dump_links(s, &links, e)) < 0)
        return r;
    if ((r = network_dump_routes(s, &cur, e)) < 0) {
        free(links.v);
        return r;
    }
    struct network_route *v = xnew(struct network_route, cur.n ? cur.n : 1);
    const struct route *c = cur.v;
    size_t k = 0;
    /* IPv4 first, then IPv6, each in the kernel's order. */
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < cur.n; i++)
            if ((c[i].family == AF_INET6) == (pass == 1))
                fill_route(&c[i], &links, &v[k++]);
    free(links.v);
    free(cur.v);
    *ret = v;
    *ret_n = k;
    return 0;
}

/* ---- neighbours ---- */

struct neigh {
    int index;
    uint8_t family;
    uint8_t ip[16];
    uint8_t lladdr[32];
    size_t lllen;
    uint16_t state;
    uint8_t flags;
};

static int neigh_parse(const struct network_neigh_req *q, size_t i, const struct vec *links,
                       struct neigh *nb, struct err *e)
{
    memset(nb, 0, sizeof(*nb));
    const struct link *l = q->device && *q->device ? network_link_by_name(links, q->device) : NULL;
    if (!l)
        return err_set(e, -ENOENT, "neighbors[%zu].device: no link named \"%s\"", i,
                       q->device ? q->device : "");
    nb->index = l->index;
    if (!network_parse_ip(q->address, nb->ip, &nb->family))
        return err_set(e, -EINVAL, "neighbors[%zu].toIPAddress: \"%s\" is not an IP address", i,
                       q->address ? q->address : "");
    if (!network_parse_mac(q->lladdr, nb->lladdr, &nb->lllen))
        return err_set(e, -EINVAL, "neighbors[%zu].lladdr: \"%s\" is not a MAC address", i,
                       q->lladdr ? q->lladdr : "");
    if (q->state < 0 || q->state > UINT16_MAX)
        return err_set(e, -EINVAL, "neighbors[%zu].state: %d is out of range", i, q->state);
    if (q->flags < 0 || q->flags > UINT8_MAX)
        return err_set(e, -EINVAL, "neighbors[%zu].flags: %d is out of range", i, q->flags);
    nb->state = q->state ? (uint16_t)q->state : NUD_PERMANENT;
    nb->flags = (uint8_t)q->flags;
    return 0;
}

int network_add_neighbors(const struct network_neigh_req *v, size_t n, struct err *e)
{
    if (n > NETWORK_MAX_NEIGHBORS)
        return err_set(e, -E2BIG, "neighbors: more than %d", NETWORK_MAX_NEIGHBORS);
    _cleanup_(nl_closep) struct nl_sock *s = NULL;
    int r = nl_open(NETLINK_ROUTE, &s, e);
    if (r < 0)
        return r;
    struct vec links;
    if ((r = network_dump_links(s, &links, e)) < 0)
        return r;
    _cleanup_free_ struct neigh *nb = xnew(struct neigh, n ? n : 1);
    for (size_t i = 0; i < n && r >= 0; i++)
        r = neigh_parse(&v[i], i, &links, &nb[i], e);
    free(links.v);
    for (size_t i = 0; i < n && r >= 0; i++) {
        struct nl_msg *m = nl_msg_new(RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_REPLACE);
        struct ndmsg *nd = nl_msg_put_header(m, sizeof(*nd));
        nd->ndm_family = nb[i].family;
        nd->ndm_ifindex = nb[i].index;
        nd->ndm_state = nb[i].state;
        nd->ndm_flags = nb[i].flags;
        nl_msg_put_attr(m, NDA_DST, nb[i].ip, network_addr_bytes(nb[i].family));
        nl_msg_put_attr(m, NDA_LLADDR, nb[i].lladdr, nb[i].lllen);
        r = nl_request(s, m, e);
        nl_msg_free(m);
        if (r < 0)
            err_prefix(e, "neighbors[%zu]: %s", i, v[i].address);
    }
    return r;
}

