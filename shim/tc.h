/* The traffic-control messages of the tcfilter model, over lib/netlink.h.
 *
 * Joining a pod's veth to the VM's tap needs three things per device: an
 * ingress qdisc, and on it a u32 filter that matches every frame and
 * redirects it out of the other device (mirred egress redirect): what
 * `tc qdisc add dev X ingress` and `tc filter add dev X parent ffff:
 * protocol all u32 match u8 0 0 action mirred egress redirect dev Y` do.
 * Deleting the ingress qdisc deletes its filters with it.
 *
 * The socket decides the namespace (open it inside the pod's netns).
 * Blocking; errors are negative errno with a message naming the device. */
#pragma once

struct nl_sock;
struct err;

int tc_ingress_add(struct nl_sock *s, int ifindex, const char *name, struct err *e);
/* Removes the ingress qdisc and every filter on it; one that is already
 * gone (or a device that is gone) is success. */
int tc_ingress_del(struct nl_sock *s, int ifindex, const char *name, struct err *e);
/* Every frame arriving on from is sent out of to. */
int tc_redirect_add(struct nl_sock *s, int from_ifindex, const char *from_name, int to_ifindex,
                    const char *to_name, struct err *e);
