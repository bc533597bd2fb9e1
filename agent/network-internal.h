/* Shared by agent/network.c (dumps, parsing, links and addresses),
 * agent/network-route.c (routes, neighbours) and agent/network-dns.c
 * (resolv.conf, hostname): the kernel state as dumped, in plain structs,
 * and the helpers that read it or parse request strings. Loop thread only,
 * like agent/network.h. Dumps free their vector on failure. */
#pragma once

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/compiler.h"
#include "lib/netlink.h"

struct err;

DEFINE_CLEANUP_FUNC(struct nl_sock *, nl_close)

struct link {
    int index;
    char name[IFNAMSIZ];
    uint8_t mac[32];
    size_t maclen;
    uint32_t mtu;
    uint32_t flags;
    char kind[32];
};

struct addr {
    int index;
    uint8_t family, prefix, scope;
    uint8_t local[16], address[16];
    bool has_local, has_address;
};

struct route {
    int oif;
    uint8_t family, dst_len, tos, protocol, scope, type;
    uint32_t table, flags, priority, mtu;
    bool has_dst, has_gw, has_src, has_priority;
    uint8_t dst[16], gw[16], src[16];
};

/* A growable array of one of the above. */
struct vec {
    void *v;
    size_t n, cap, size;
};


void *network_vec_push(struct vec *a);
/* 4 for AF_INET, 16 for AF_INET6. */
size_t network_addr_bytes(uint8_t family);

int network_dump_links(struct nl_sock *s, struct vec *links, struct err *e);
/* index 0: every link's addresses. */
int network_dump_addrs(struct nl_sock *s, int index, struct vec *out, struct err *e);
/* Main-table unicast routes with one output device. */
int network_dump_routes(struct nl_sock *s, struct vec *out, struct err *e);
/* The routes on one link that the kernel did not make itself. */
int network_dump_link_routes(struct nl_sock *s, int index, struct vec *out, struct err *e);
const struct link *network_link_by_name(const struct vec *links, const char *name);
const struct link *network_link_by_index(const struct vec *links, int index);

/* Request strings: false when s is not one. */
bool network_parse_mac(const char *s, uint8_t *out, size_t *ret_len);
bool network_parse_ip(const char *s, uint8_t *out, uint8_t *family);
bool network_parse_prefix(const char *s, unsigned max, uint8_t *out);
bool network_host_bits_zero(const uint8_t *ip, uint8_t family, uint8_t prefix);
void network_format_ip(uint8_t family, const uint8_t *ip, char *out, size_t size);

/* Removes the added routes (newest first), then adds the removed ones back,
 * gateway-less first; failures are logged. */
void network_routes_rollback(struct nl_sock *s, const struct route *added, size_t n_added,
                             const struct route *removed, size_t n_removed);
