/* A small rtnetlink client: message building, request/ack and dumps.
 *
 * Shared by the guest agent (interfaces, routes, neighbours) and the shim
 * (taps, tc qdiscs and filters in the pod's network namespace). Debian's
 * libmnl would do, but it ships no static archive and the agent is linked
 * statically, so this is the small subset both sides need.
 *
 * Everything here is blocking and meant for the worker pool or a
 * short-lived netns helper thread. Replies from the kernel are validated
 * before use: every attribute walk checks lengths against the message. */
#pragma once

#include <linux/netlink.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct err;

/* ---- socket ---- */

struct nl_sock;

/* Opens a NETLINK_ROUTE (or other protocol) socket in the caller's current
 * network namespace, close-on-exec, with extended acks asked for. */
int nl_open(int protocol, struct nl_sock **ret, struct err *e);
void nl_close(struct nl_sock *s);

/* ---- building a request ---- */

struct nl_msg;

/* A new message with its nlmsghdr filled (type, flags | NLM_F_REQUEST). */
struct nl_msg *nl_msg_new(uint16_t type, uint16_t flags);
void nl_msg_free(struct nl_msg *m);

/* Appends the zeroed family header (struct ifinfomsg, rtmsg, tcmsg ...) and
 * returns it for the caller to fill. Call once, before any attribute. The
 * pointer is valid until the next append (the buffer may move): fill it
 * first. */
void *nl_msg_put_header(struct nl_msg *m, size_t len);
/* Appends len zeroed bytes, padded to NLMSG_ALIGNTO, where an attribute
 * payload holds a struct (VETH_INFO_PEER carries an ifinfomsg, for one).
 * Same pointer lifetime as nl_msg_put_header. */
void *nl_msg_put_raw(struct nl_msg *m, size_t len);

void nl_msg_put_attr(struct nl_msg *m, uint16_t type, const void *data, size_t len);
void nl_msg_put_u8(struct nl_msg *m, uint16_t type, uint8_t v);
void nl_msg_put_u16(struct nl_msg *m, uint16_t type, uint16_t v);
void nl_msg_put_u32(struct nl_msg *m, uint16_t type, uint32_t v);
void nl_msg_put_str(struct nl_msg *m, uint16_t type, const char *s); /* with its NUL */

/* Nested attributes: start returns an offset to hand back to end, which
 * fixes up the nest's length. Nests may nest. */
size_t nl_msg_nest_start(struct nl_msg *m, uint16_t type);
void nl_msg_nest_end(struct nl_msg *m, size_t nest);

const struct nlmsghdr *nl_msg_hdr(const struct nl_msg *m);

/* ---- talking to the kernel ---- */

/* Sends m with NLM_F_ACK and waits for the ack. A kernel error returns its
 * negative errno with the extended-ack text in e when the kernel gave one. */
int nl_request(struct nl_sock *s, struct nl_msg *m, struct err *e);

/* Called once per reply message of a dump; a negative return stops the
 * dump (the rest is drained) and is returned by nl_dump. */
typedef int (*nl_dump_fn)(const struct nlmsghdr *h, void *userdata);

/* nl_request for a GET of one object (RTM_GETLINK by name or index, say):
 * fn sees every reply message that precedes the ack. */
int nl_request_reply(struct nl_sock *s, struct nl_msg *m, nl_dump_fn fn, void *userdata,
                     struct err *e);

/* Sends m with NLM_F_DUMP and calls fn for every reply until NLMSG_DONE.
 * A dump the kernel flags as interrupted by a concurrent change
 * (NLM_F_DUMP_INTR) still runs to its end, then returns -EAGAIN. */
int nl_dump(struct nl_sock *s, struct nl_msg *m, nl_dump_fn fn, void *userdata,
            struct err *e);

/* ---- reading replies ---- */

/* Indexes the attributes that follow a family header of hdrlen bytes in h:
 * tb[type] points at the last attribute of that type (type <= max), others
 * are NULL; tb has max + 1 entries. h->nlmsg_len must not exceed the bytes
 * behind h (nl_dump's callbacks get checked messages). Returns -EBADMSG
 * when the header or an attribute overruns the message. */
int nl_parse_attrs(const struct nlmsghdr *h, size_t hdrlen, const struct nlattr **tb,
                   unsigned max);
/* The same inside a nested attribute. */
int nl_parse_nested(const struct nlattr *nest, const struct nlattr **tb, unsigned max);

const void *nl_attr_data(const struct nlattr *a);
size_t nl_attr_len(const struct nlattr *a);
/* Typed getters return false (and leave *v alone) when a is NULL or has the
 * wrong length, so a short attribute from a buggy peer is never read past. */
bool nl_attr_u8(const struct nlattr *a, uint8_t *v);
bool nl_attr_u16(const struct nlattr *a, uint16_t *v);
bool nl_attr_u32(const struct nlattr *a, uint32_t *v);
/* A NUL-terminated string attribute, or NULL when a is NULL or unterminated. */
const char *nl_attr_str(const struct nlattr *a);
