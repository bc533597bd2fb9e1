/* Glue: the network RPCs of grpc.AgentService (UpdateInterface,
 * UpdateRoutes, ListInterfaces, ListRoutes, AddARPNeighbors). Decodes the
 * request into agent/network.h types, calls the domain on the loop thread
 * (a few kernel round trips, nothing slower), and encodes the reply. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent_service-internal.h"
#include "agent/network.h"
#include "google/protobuf/empty.pb-c.h"
#include "kata/types.pb-c.h"
#include "lib/compiler.h"
#include "lib/xalloc.h"

static const char *str(const char *s)
{
    return s ? s : "";
}

/* ---- encoding ---- */

/* One interface's protobuf view; the strings point into the domain struct. */
struct iface_pb {
    Types__Interface msg;
    Types__IPAddress *ips;
    Types__IPAddress **ip_ptrs;
    char (*masks)[4];
};

static void iface_encode(struct network_iface *i, struct iface_pb *pb)
{
    pb->msg = (Types__Interface)TYPES__INTERFACE__INIT;
    pb->msg.device = i->name;
    pb->msg.name = i->name;
    pb->msg.mtu = i->mtu;
    pb->msg.hwaddr = i->hwaddr;
    pb->msg.type = i->type;
    pb->msg.raw_flags = i->flags;
    size_t n = i->n_ips;
    pb->ips = xnew(Types__IPAddress, n ? n : 1);
    pb->ip_ptrs = xnew(Types__IPAddress *, n ? n : 1);
    pb->masks = xcalloc(n ? n : 1, sizeof(*pb->masks));
    for (size_t k = 0; k < n; k++) {
        pb->ips[k] = (Types__IPAddress)TYPES__IPADDRESS__INIT;
        pb->ips[k].family = i->ips[k].v6 ? TYPES__IPFAMILY__v6 : TYPES__IPFAMILY__v4;
        pb->ips[k].address = i->ips[k].address;
        snprintf(pb->masks[k], sizeof(pb->masks[k]), "%u", i->ips[k].prefix % 1000u);
        pb->ips[k].mask = pb->masks[k];
        pb->ip_ptrs[k] = &pb->ips[k];
    }
    pb->msg.n_ipaddresses = n;
    pb->msg.ipaddresses = pb->ip_ptrs;
}

static void iface_pb_done(struct iface_pb *pb)
{
    free(pb->ips);
    free(pb->ip_ptrs);
    free(pb->masks);
}

static void reply_routes(struct ttrpc_call *call, struct network_route *v, size_t n)
{
    Grpc__Routes out = GRPC__ROUTES__INIT;
    Types__Route *msgs = xnew(Types__Route, n ? n : 1);
    Types__Route **ptrs = xnew(Types__Route *, n ? n : 1);
    for (size_t i = 0; i < n; i++) {
        msgs[i] = (Types__Route)TYPES__ROUTE__INIT;
        msgs[i].dest = v[i].dest;
        msgs[i].gateway = v[i].gateway;
        msgs[i].device = v[i].device;
        msgs[i].source = v[i].source;
        msgs[i].scope = v[i].scope;
        msgs[i].family = v[i].v6 ? TYPES__IPFAMILY__v6 : TYPES__IPFAMILY__v4;
        msgs[i].flags = v[i].flags;
        msgs[i].mtu = v[i].mtu;
        ptrs[i] = &msgs[i];
    }
    out.n_routes = n;
    out.routes = ptrs;
    ttrpc_call_reply(call, &out.base);
    free(msgs);
    free(ptrs);
}

/* ---- handlers ---- */

static void update_interface(struct ttrpc_call *call, const ProtobufCMessage *msg, void *userdata)
{
    const Grpc__UpdateInterfaceRequest *req = (const Grpc__UpdateInterfaceRequest *)msg;
    struct err e = ERR_INIT;
    (void)userdata;
    POLICY(call);
    const Types__Interface *in = req->interface;
    if (!in)
        return ttrpc_call_fail(call, TTRPC_INVALID_ARGUMENT, "interface: missing");
    if (in->n_ipaddresses > NETWORK_MAX_ADDRS)
        return ttrpc_call_fail(call, TTRPC_INVALID_ARGUMENT, "interface.IPAddresses: more than %d",
                               NETWORK_MAX_ADDRS);
    struct network_addr_req addrs[NETWORK_MAX_ADDRS];
    for (size_t i = 0; i < in->n_ipaddresses; i++) {
        const Types__IPAddress *a = in->ipaddresses[i];
        addrs[i] = (struct network_addr_req){.v6 = a->family == TYPES__IPFAMILY__v6,
                                             .address = str(a->address),
                                             .mask = str(a->mask)};
    }
    struct network_iface_req r = {.name = str(in->name),
                                  .hwaddr = str(in->hwaddr),
                                  .mtu = in->mtu,
                                  .raw_flags = in->raw_flags,
                                  .addrs = addrs,
                                  .n_addrs = in->n_ipaddresses};
    struct network_iface out;
    if (network_update_interface(&r, &out, &e) < 0)
        return agent_service_fail(call, &e);
    struct iface_pb pb;
    iface_encode(&out, &pb);
    ttrpc_call_reply(call, &pb.msg.base);
    iface_pb_done(&pb);
    network_iface_done(&out);
}

static void list_interfaces(struct ttrpc_call *call, const ProtobufCMessage *msg, void *userdata)
{
    struct err e = ERR_INIT;
    (void)msg, (void)userdata;
    POLICY(call);
    struct network_iface *v = NULL;
    size_t n = 0;
    if (network_list_interfaces(&v, &n, &e) < 0)
        return agent_service_fail(call, &e);
    struct iface_pb *pbs = xnew(struct iface_pb, n ? n : 1);
    Types__Interface **ptrs = xnew(Types__Interface *, n ? n : 1);
    for (size_t i = 0; i < n; i++) {
        iface_encode(&v[i], &pbs[i]);
        ptrs[i] = &pbs[i].msg;
    }
    Grpc__Interfaces out = GRPC__INTERFACES__INIT;
    out.n_interfaces = n;
    out.interfaces = ptrs;
    ttrpc_call_reply(call, &out.base);
    for (size_t i = 0; i < n; i++)
        iface_pb_done(&pbs[i]);
    free(pbs);
    free(ptrs);
    network_ifaces_free(v, n);
}

static void update_routes(struct ttrpc_call *call, const ProtobufCMessage *msg, void *userdata)
{
    const Grpc__UpdateRoutesRequest *req = (const Grpc__UpdateRoutesRequest *)msg;
    struct err e = ERR_INIT;
    (void)userdata;
    POLICY(call);
    size_t n = req->routes ? req->routes->n_routes : 0;
    if (n > NETWORK_MAX_ROUTES)
        return ttrpc_call_fail(call, TTRPC_INVALID_ARGUMENT, "routes: more than %d",
                               NETWORK_MAX_ROUTES);
    _cleanup_free_ struct network_route_req *v = xnew(struct network_route_req, n ? n : 1);
    for (size_t i = 0; i < n; i++) {
        const Types__Route *rt = req->routes->routes[i];
        v[i] = (struct network_route_req){.v6 = rt->family == TYPES__IPFAMILY__v6,
                                          .dest = str(rt->dest),
                                          .gateway = str(rt->gateway),
                                          .device = str(rt->device),
                                          .source = str(rt->source),
                                          .scope = rt->scope,
                                          .flags = rt->flags,
                                          .mtu = rt->mtu};
    }
    struct network_route *out = NULL;
    size_t n_out = 0;
    if (network_update_routes(v, n, &out, &n_out, &e) < 0)
        return agent_service_fail(call, &e);
    reply_routes(call, out, n_out);
    free(out);
}

static void list_routes(struct ttrpc_call *call, const ProtobufCMessage *msg, void *userdata)
{
    struct err e = ERR_INIT;
    (void)msg, (void)userdata;
    POLICY(call);
    struct network_route *out = NULL;
    size_t n = 0;
    if (network_list_routes(&out, &n, &e) < 0)
        return agent_service_fail(call, &e);
    reply_routes(call, out, n);
    free(out);
}

static void add_arp_neighbors(struct ttrpc_call *call, const ProtobufCMessage *msg, void *userdata)
{
    const Grpc__AddARPNeighborsRequest *req = (const Grpc__AddARPNeighborsRequest *)msg;
    struct err e = ERR_INIT;
    (void)userdata;
    POLICY(call);
    size_t n = req->neighbors ? req->neighbors->n_arpneighbors : 0;
    if (n > NETWORK_MAX_NEIGHBORS)
        return ttrpc_call_fail(call, TTRPC_INVALID_ARGUMENT, "neighbors: more than %d",
                               NETWORK_MAX_NEIGHBORS);
    _cleanup_free_ struct network_neigh_req *v = xnew(struct network_neigh_req, n ? n : 1);
    for (size_t i = 0; i < n; i++) {
        const Types__ARPNeighbor *nb = req->neighbors->arpneighbors[i];
        const Types__IPAddress *ip = nb->toipaddress;
        v[i] = (struct network_neigh_req){.v6 = ip && ip->family == TYPES__IPFAMILY__v6,
                                          .address = ip ? str(ip->address) : "",
                                          .device = str(nb->device),
                                          .lladdr = str(nb->lladdr),
                                          .state = nb->state,
                                          .flags = nb->flags};
    }
    if (network_add_neighbors(v, n, &e) < 0)
        return agent_service_fail(call, &e);
    agent_service_reply_empty(call);
}

const struct agent_handler agent_service_network_handlers[] = {
    {"UpdateInterface", update_interface},
    {"UpdateRoutes", update_routes},
    {"ListInterfaces", list_interfaces},
    {"ListRoutes", list_routes},
    {"AddARPNeighbors", add_arp_neighbors},
    {NULL, NULL},
};
