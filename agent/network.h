/* Guest networking for the agent's network RPCs: links, addresses, routes
 * and neighbours in the agent's current network namespace, through
 * rtnetlink (lib/netlink.h), plus CreateSandbox's resolv.conf and hostname.
 * Plain C types; agent/agent_service_network.c turns protobuf into these
 * and back. Implemented in agent/network.c (links, addresses),
 * agent/network-route.c (routes, neighbours) and agent/network-dns.c.
 *
 * Every call opens its own netlink socket and blocks for a few kernel
 * round trips (no waiting on anything but the kernel), so the loop thread
 * calls them directly, which also serialises them. Requests are validated
 * whole before anything changes; a kernel error part-way is rolled back
 * (best effort, logged). Errors: negative errno with a message naming the
 * request field at fault (-ENOENT unknown MAC or device, -EINVAL bad input).
 * Output arrays are heap-allocated: free with network_*_free(). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct err;

/* Bounds on what one request may carry (a peer sets the counts). */
#define NETWORK_MAX_ADDRS 64
#define NETWORK_MAX_ROUTES 1024
#define NETWORK_MAX_NEIGHBORS 1024

#define NETWORK_IP_MAX 46 /* INET6_ADDRSTRLEN */
#define NETWORK_CIDR_MAX (NETWORK_IP_MAX + 4)
#define NETWORK_NAME_MAX 16 /* IFNAMSIZ */
#define NETWORK_HWADDR_MAX 96 /* 32 bytes as "xx:" */

/* ---- requests: strings as they came in ---- */

struct network_addr_req {
    bool v6; /* the family the peer claims: checked against the address */
    const char *address;
    const char *mask; /* prefix length, decimal */
};

struct network_iface_req {
    const char *name;   /* "" or NULL: keep the current name */
    const char *hwaddr; /* finds the link, case-insensitive */
    uint64_t mtu;       /* 0: keep */
    uint32_t raw_flags; /* IFF_NOARP set or cleared; other bits ignored */
    const struct network_addr_req *addrs;
    size_t n_addrs;
};

struct network_route_req {
    bool v6;
    const char *dest;    /* CIDR, "" or "default" for the default route */
    const char *gateway; /* "" for none */
    const char *device;
    const char *source; /* preferred source, "" for none */
    uint32_t scope;     /* RT_SCOPE_*; 0 (universe) picks link scope for a gateway-less route */
    uint32_t flags;     /* RTNH_F_ONLINK is the only one honoured */
    uint32_t mtu;       /* 0: none */
};

struct network_neigh_req {
    bool v6;
    const char *address;
    const char *device;
    const char *lladdr;
    int32_t state; /* NUD_*; 0: NUD_PERMANENT */
    int32_t flags; /* NTF_* */
};

/* ---- results, from the kernel ---- */

struct network_ip {
    bool v6;
    char address[NETWORK_IP_MAX];
    unsigned prefix;
};

struct network_iface {
    int index;
    char name[NETWORK_NAME_MAX];
    char hwaddr[NETWORK_HWADDR_MAX]; /* lower case, "" when the link has none */
    char type[32];                   /* IFLA_INFO_KIND, or "device" */
    uint32_t mtu;
    uint32_t flags; /* IFF_* */
    struct network_ip *ips;
    size_t n_ips;
};

struct network_route {
    bool v6;
    char dest[NETWORK_CIDR_MAX]; /* "" for a default route */
    char gateway[NETWORK_IP_MAX];
    char device[NETWORK_NAME_MAX];
    char source[NETWORK_IP_MAX];
    uint32_t scope, flags, mtu;
};

/* Finds the link by MAC, renames it (taking it down first when needed),
 * sets the MTU, replaces its addresses (IPv6 link-local ones stay: the
 * kernel owns them) and brings it up. *ret gets the link as now configured. */
int network_update_interface(const struct network_iface_req *req, struct network_iface *ret,
                             struct err *e);

/* Brings the loopback link up with 127.0.0.1/8 (and the kernel's ::1).
 * The agent as the guest's init calls it at start: nobody else would, and
 * the host's network discovery leaves lo out by design. */
int network_setup_loopback(struct err *e);

/* Every link but loopback, with its addresses. */
int network_list_interfaces(struct network_iface **ret, size_t *ret_n, struct err *e);
void network_ifaces_free(struct network_iface *v, size_t n);
void network_iface_done(struct network_iface *i);

/* Replaces the routes of every device named in routes: removes their
 * existing main-table routes that the kernel did not generate, then adds
 * the new ones, gateway-less before gatewayed so gateways resolve. *ret
 * gets the main-table routes of those devices afterwards. */
int network_update_routes(const struct network_route_req *routes, size_t n,
                          struct network_route **ret, size_t *ret_n, struct err *e);

/* Main-table unicast routes, IPv4 then IPv6. */
int network_list_routes(struct network_route **ret, size_t *ret_n, struct err *e);

/* Adds or replaces neighbour entries; all are validated first. */
int network_add_neighbors(const struct network_neigh_req *v, size_t n, struct err *e);

/* ---- DNS and hostname (CreateSandbox) ---- */

#define NETWORK_MAX_DNS_LINES 64

/* Checks CreateSandbox's dns lines: single resolv.conf lines whose keyword
 * is nameserver, search, domain, options or sortlist (or comments). */
int network_check_dns(char *const *lines, size_t n, struct err *e);

/* Writes the lines to <run_dir>/sandbox/resolv.conf (n == 0 writes
 * nothing). When the agent is the guest's init it also binds that file over
 * /etc/resolv.conf, so containers that bind the guest's /etc/resolv.conf
 * see it; a stand-alone agent leaves the host's file alone unless
 * KATA_AGENT_PRIVATE_NAMESPACES lists "mnt" (a test that gave it a mount
 * namespace of its own). */
int network_setup_dns(const char *run_dir, char *const *lines, size_t n, struct err *e);

/* Sets the hostname when the agent is the guest's init, or a stand-alone
 * agent whose KATA_AGENT_PRIVATE_NAMESPACES lists "uts"; otherwise only
 * checks it and logs, so a stand-alone agent never renames the host. ""
 * does nothing. */
int network_set_hostname(const char *hostname, struct err *e);
