/* The pod's network, carried into the VM (Kata's network scan and its
 * tcfilter, macvtap and none models; see ../shared/docs/facts/kata.md §8).
 *
 * network_setup() enters the pod's network namespace (shim/netns.h), finds
 * the interfaces CNI put there (every link but loopback that has an
 * address), records their addresses, routes, neighbours, MTU and MAC, and
 * creates per interface i a tap `tap<i>_kata` joined to it: with tc
 * redirects (tcfilter), as a macvtap on top of it (macvtap), or not at all
 * (none). The result holds one open queue fd per interface for the
 * hypervisor (hv_vm_hotplug_add) and the plain data the agent needs
 * (UpdateInterface, UpdateRoutes, AddARPNeighbors). network_teardown()
 * removes what setup created and, with macvtap, gives the pod's link back
 * its MAC and addresses, as Kata does, and its routes and up state (a CNI
 * DEL or a later runtime then finds the interface as CNI left it);
 * network_save() / network_cleanup_saved() let `delete` do the same after
 * the shim died.
 *
 * Blocking (netlink, a helper thread per call): run on a worker. Errors are
 * negative errno with a message naming the interface or file at fault.
 * The namespace itself belongs to CNI and is never removed. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct err;

enum network_model { NETWORK_TCFILTER, NETWORK_MACVTAP, NETWORK_NONE };

#define NETWORK_ENDPOINTS_MAX 8
#define NETWORK_ADDRS_MAX 16
#define NETWORK_ROUTES_MAX 64
#define NETWORK_NEIGHS_MAX 64
#define NETWORK_IP_MAX 46 /* INET6_ADDRSTRLEN */
#define NETWORK_IFNAME_MAX 16 /* IFNAMSIZ: kept here so this header needs no <net/if.h> */
/* Where `delete` finds what a sandbox's shim created: <dir>/<sandbox id>. */
#define NETWORK_STATE_DIR "/run/vc/net"

struct network_addr {
    int family;                 /* AF_INET or AF_INET6 */
    char ip[NETWORK_IP_MAX];
    unsigned prefix;
};

struct network_endpoint {
    char name[NETWORK_IFNAME_MAX];     /* the pod's link (eth0), also the guest's name */
    char kind[32];              /* "veth", "macvlan", "ipvlan" */
    int ifindex;
    char mac[18];               /* the link's MAC: the guest NIC gets it */
    unsigned mtu;
    unsigned raw_flags;         /* IFF_NOARP when the link has it */
    struct network_addr addrs[NETWORK_ADDRS_MAX];
    size_t n_addrs;
    char tap[NETWORK_IFNAME_MAX];      /* tap<i>_kata */
    int tap_ifindex;
    int tap_fd;                 /* -1 once handed over and closed */
    bool tap_created;           /* the tap (or macvtap) link is ours */
    bool tc_added;              /* ingress qdisc on the pod's link is ours */
    bool link_up;               /* the pod's link was up when found */
    /* macvtap: the link's MAC and addresses went to the guest (the link got
     * a random MAC); teardown puts MAC, addresses, routes and up back. */
    bool moved;
    char guest_pci_path[32];    /* set by the caller after hotplug, may be "" */
};

struct network_route {
    int family;
    char dest[NETWORK_IP_MAX + 4]; /* "10.1.0.0/16"; "" for a default route */
    char gateway[NETWORK_IP_MAX];
    char source[NETWORK_IP_MAX];
    char device[NETWORK_IFNAME_MAX];
    unsigned scope;
    unsigned flags;
    unsigned mtu;
};

struct network_neigh {
    int family;
    char ip[NETWORK_IP_MAX];
    char lladdr[18];
    char device[NETWORK_IFNAME_MAX];
    int state;                  /* NUD_* */
    int flags;
};

struct network {
    char netns[4096];           /* "" : the shim's own namespace */
    enum network_model model;
    struct network_endpoint eps[NETWORK_ENDPOINTS_MAX];
    size_t n_eps;
    struct network_route routes[NETWORK_ROUTES_MAX];
    size_t n_routes;
    struct network_neigh neighs[NETWORK_NEIGHS_MAX];
    size_t n_neighs;
};

/* The network namespace path of an OCI config.json (linux.namespaces entry
 * of type "network"); ret "" when the spec asks for no path (a fresh,
 * empty namespace: nothing to carry). */
int network_netns_from_spec(const char *config_json, char *ret, size_t size, struct err *e);

/* Discovers and attaches; on failure nothing is left behind. A namespace
 * with no interface to carry is success with n_eps == 0. */
int network_setup(const char *netns, enum network_model model, struct network **ret,
                  struct err *e);
/* Closes the tap fds (after the hypervisor took its copies). */
void network_close_taps(struct network *n);
/* Removes taps, macvtaps and tc rules setup created, and restores what
 * macvtap moved; a namespace or link already gone is success, and a
 * restore the kernel refuses is logged. */
int network_teardown(struct network *n, struct err *e);
struct network *network_free(struct network *n);

/* What teardown needs, as a small text file; the file is replaced
 * atomically. */
int network_save(const struct network *n, const char *path, struct err *e);
/* Reads such a file, tears down what it names and removes it. No file is
 * success. */
int network_cleanup_saved(const char *path, struct err *e);

const char *network_model_name(enum network_model m);
