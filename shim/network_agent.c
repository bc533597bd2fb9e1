/* The pod's network sent to the agent; see network_agent.h. */
#include "shim/network_agent.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "google/protobuf/empty.pb-c.h"
#include "kata/agent.pb-c.h"
#include "kata/types.pb-c.h"
#include "lib/compiler.h"
#include "lib/log.h"
#include "lib/loop.h"
#include "lib/xalloc.h"
#include "shim/agent_client.h"
#include "shim/network.h"

/* How long a hotplugged NIC may take to appear in the guest (TCG is slow). */
#define RETRY_PAUSE_NS (250 * 1000 * 1000ull)
#define RETRIES_MAX 120

struct network_agent {
    struct loop *loop;
    struct loop_source *timer;
    unsigned retries;
    struct agent_client *ac;
    const struct network *n;
    size_t step; /* 0..n_eps-1: interfaces, then routes, then neighbours */
    struct agent_op *op;
    network_agent_done_fn done;
    void *ud;
};

static Types__IPFamily family(int f)
{
    return f == AF_INET6 ? TYPES__IPFAMILY__v6 : TYPES__IPFAMILY__v4;
}

static int send_interface(struct network_agent *na, const struct network_endpoint *ep,
                          agent_reply_fn fn)
{
    Grpc__UpdateInterfaceRequest req = GRPC__UPDATE_INTERFACE_REQUEST__INIT;
    Types__Interface ifc = TYPES__INTERFACE__INIT;
    Types__IPAddress addrs[NETWORK_ADDRS_MAX], *ptrs[NETWORK_ADDRS_MAX];
    char masks[NETWORK_ADDRS_MAX][4];

    for (size_t i = 0; i < ep->n_addrs; i++) {
        addrs[i] = (Types__IPAddress)TYPES__IPADDRESS__INIT;
        addrs[i].family = family(ep->addrs[i].family);
        addrs[i].address = (char *)ep->addrs[i].ip;
        snprintf(masks[i], sizeof(masks[i]), "%u", ep->addrs[i].prefix & 0xff);
        addrs[i].mask = masks[i];
        ptrs[i] = &addrs[i];
    }
    ifc.device = (char *)ep->name;
    ifc.name = (char *)ep->name;
    ifc.ipaddresses = ptrs;
    ifc.n_ipaddresses = ep->n_addrs;
    ifc.mtu = ep->mtu;
    ifc.hwaddr = (char *)ep->mac;
    ifc.devicepath = (char *)ep->guest_pci_path;
    ifc.type = (char *)ep->kind;
    ifc.raw_flags = ep->raw_flags;
    req.interface = &ifc;
    return agent_call_unused_reply(na->ac, "UpdateInterface", &req.base,
                                   &types__interface__descriptor, fn, na, &na->op);
}

static int send_routes(struct network_agent *na, agent_reply_fn fn)
{
    const struct network *n = na->n;
    Grpc__UpdateRoutesRequest req = GRPC__UPDATE_ROUTES_REQUEST__INIT;
    Grpc__Routes routes = GRPC__ROUTES__INIT;
    _cleanup_free_ Types__Route *rs = xcalloc(n->n_routes + 1, sizeof(*rs));
    _cleanup_free_ Types__Route **ptrs = xcalloc(n->n_routes + 1, sizeof(*ptrs));

    for (size_t i = 0; i < n->n_routes; i++) {
        const struct network_route *r = &n->routes[i];
        rs[i] = (Types__Route)TYPES__ROUTE__INIT;
        rs[i].dest = (char *)r->dest;
        rs[i].gateway = (char *)r->gateway;
        rs[i].device = (char *)r->device;
        rs[i].source = (char *)r->source;
        rs[i].scope = r->scope;
        rs[i].family = family(r->family);
        rs[i].flags = r->flags;
        rs[i].mtu = r->mtu;
        ptrs[i] = &rs[i];
    }
    routes.routes = ptrs;
    routes.n_routes = n->n_routes;
    req.routes = &routes;
    return agent_call_unused_reply(na->ac, "UpdateRoutes", &req.base, &grpc__routes__descriptor,
                                   fn, na, &na->op);
}

static int send_neighbours(struct network_agent *na, agent_reply_fn fn)
{
    const struct network *n = na->n;
    Grpc__AddARPNeighborsRequest req = GRPC__ADD_ARPNEIGHBORS_REQUEST__INIT;
    Grpc__ARPNeighbors list = GRPC__ARPNEIGHBORS__INIT;
    _cleanup_free_ Types__ARPNeighbor *nb = xcalloc(n->n_neighs + 1, sizeof(*nb));
    _cleanup_free_ Types__IPAddress *ips = xcalloc(n->n_neighs + 1, sizeof(*ips));
    _cleanup_free_ Types__ARPNeighbor **ptrs = xcalloc(n->n_neighs + 1, sizeof(*ptrs));

    for (size_t i = 0; i < n->n_neighs; i++) {
        const struct network_neigh *g = &n->neighs[i];
        ips[i] = (Types__IPAddress)TYPES__IPADDRESS__INIT;
        ips[i].family = family(g->family);
        ips[i].address = (char *)g->ip;
        ips[i].mask = (char *)"";
        nb[i] = (Types__ARPNeighbor)TYPES__ARPNEIGHBOR__INIT;
        nb[i].toipaddress = &ips[i];
        nb[i].device = (char *)g->device;
        nb[i].lladdr = (char *)g->lladdr;
        nb[i].state = g->state;
        nb[i].flags = g->flags;
        ptrs[i] = &nb[i];
    }
    list.arpneighbors = ptrs;
    list.n_arpneighbors = n->n_neighs;
    req.neighbors = &list;
    return agent_call_unused_reply(na->ac, "AddARPNeighbors", &req.base,
                                   &google__protobuf__empty__descriptor, fn, na, &na->op);
}

static void finish(struct network_agent *na, int code, const char *msg)
{
    network_agent_done_fn done = na->done;
    void *ud = na->ud;

    loop_source_free(na->timer);
    free(na);
    done(code, msg, ud);
}

static void next(struct network_agent *na);

static void retry_fired(struct loop_source *s, void *ud)
{
    (void)s;
    next(ud);
}

static void step_done(const struct agent_reply *r, void *ud)
{
    struct network_agent *na = ud;
    char msg[400];

    na->op = NULL;
    if (r->code == -ENOENT && na->step < na->n->n_eps && na->retries < RETRIES_MAX) {
        na->retries++;
        if ((na->timer || loop_add_timer(na->loop, 0, retry_fired, na, &na->timer) >= 0) &&
            loop_timer_set(na->timer, loop_now() + RETRY_PAUSE_NS) >= 0)
            return;
    }
    if (r->code < 0) {
        if (na->step < na->n->n_eps)
            snprintf(msg, sizeof(msg), "UpdateInterface %s: %s", na->n->eps[na->step].name,
                     r->msg);
        else
            snprintf(msg, sizeof(msg), "%s: %s",
                     na->step == na->n->n_eps ? "UpdateRoutes" : "AddARPNeighbors", r->msg);
        finish(na, r->code, msg);
        return;
    }
    na->step++;
    na->retries = 0;
    next(na);
}

static void next(struct network_agent *na)
{
    const struct network *n = na->n;
    int r;

    if (na->step < n->n_eps)
        r = send_interface(na, &n->eps[na->step], step_done);
    else if (na->step == n->n_eps && n->n_routes > 0)
        r = send_routes(na, step_done);
    else if (na->step == n->n_eps) {
        na->step++;
        next(na);
        return;
    } else if (na->step == n->n_eps + 1 && n->n_neighs > 0)
        r = send_neighbours(na, step_done);
    else {
        finish(na, 0, "");
        return;
    }
    if (r < 0)
        finish(na, r, "the agent is not connected");
}

int network_agent_configure(struct loop *loop, struct agent_client *ac, const struct network *n,
                            network_agent_done_fn done, void *userdata,
                            struct network_agent **ret)
{
    struct network_agent *na = xzalloc(sizeof(*na));

    na->loop = loop;
    na->ac = ac;
    na->n = n;
    na->done = done;
    na->ud = userdata;
    *ret = na;
    log_debug("network: %zu interfaces, %zu routes, %zu neighbours to the agent", n->n_eps,
              n->n_routes, n->n_neighs);
    next(na);
    return 0;
}

void network_agent_cancel(struct network_agent *na)
{
    if (!na)
        return;
    agent_op_cancel(na->op);
    loop_source_free(na->timer);
    free(na);
}
