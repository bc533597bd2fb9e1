/* tc ingress qdiscs and mirred redirect filters; see tc.h. */
#include "shim/tc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <linux/tc_act/tc_mirred.h>
#include <string.h>

#include "lib/err.h"
#include "lib/netlink.h"

#define INGRESS_HANDLE TC_H_MAKE(TC_H_INGRESS, 0) /* "ffff:" */

static struct tcmsg *put_tcmsg(struct nl_msg *m, int ifindex)
{
    struct tcmsg *t = nl_msg_put_header(m, sizeof(*t));

    t->tcm_family = AF_UNSPEC;
    t->tcm_ifindex = ifindex;
    return t;
}

static int ingress_msg(uint16_t type, uint16_t flags, struct nl_sock *s, int ifindex,
                       struct err *e)
{
    struct nl_msg *m = nl_msg_new(type, flags);
    struct tcmsg *t = put_tcmsg(m, ifindex);
    int r;

    t->tcm_parent = TC_H_INGRESS;
    t->tcm_handle = INGRESS_HANDLE;
    nl_msg_put_str(m, TCA_KIND, "ingress");
    if (type == RTM_NEWQDISC)
        nl_msg_nest_end(m, nl_msg_nest_start(m, TCA_OPTIONS));
    r = nl_request(s, m, e);
    nl_msg_free(m);
    return r;
}

int tc_ingress_add(struct nl_sock *s, int ifindex, const char *name, struct err *e)
{
    int r = ingress_msg(RTM_NEWQDISC, NLM_F_CREATE | NLM_F_EXCL, s, ifindex, e);

    if (r == -EEXIST)
        return err_prefix(e, "%s: an ingress qdisc is already there (another network plugin?)",
                          name);
    return r < 0 ? err_prefix(e, "%s: add ingress qdisc", name) : 0;
}

int tc_ingress_del(struct nl_sock *s, int ifindex, const char *name, struct err *e)
{
    struct err le = ERR_INIT;
    int r = ingress_msg(RTM_DELQDISC, 0, s, ifindex, &le);

    /* No qdisc: EINVAL or ENOENT depending on the kernel; no device: ENODEV. */
    if (r == -ENOENT || r == -EINVAL || r == -ENODEV)
        return 0;
    if (r < 0)
        return err_set(e, r, "%s: delete ingress qdisc: %s", name, err_msg(&le));
    return 0;
}

int tc_redirect_add(struct nl_sock *s, int from_ifindex, const char *from_name, int to_ifindex,
                    const char *to_name, struct err *e)
{
    struct nl_msg *m = nl_msg_new(RTM_NEWTFILTER, NLM_F_CREATE | NLM_F_EXCL);
    struct tcmsg *t = put_tcmsg(m, from_ifindex);
    /* A selector with one key of mask 0 at offset 0 (zeroed): it matches
     * every frame ("match u8 0 0"). The key array is the selector's
     * flexible tail. */
    uint8_t sel_buf[sizeof(struct tc_u32_sel) + sizeof(struct tc_u32_key)];
    struct tc_u32_sel sel;
    struct tc_mirred mirred;
    size_t opts, acts, act, act_opts;
    int r;

    t->tcm_parent = INGRESS_HANDLE;
    /* Priority 1, protocol ETH_P_ALL in network order ("protocol all"). */
    t->tcm_info = TC_H_MAKE(1u << 16, htons(ETH_P_ALL));
    nl_msg_put_str(m, TCA_KIND, "u32");
    opts = nl_msg_nest_start(m, TCA_OPTIONS);
    memset(&sel, 0, sizeof(sel));
    memset(sel_buf, 0, sizeof(sel_buf));
    sel.nkeys = 1;
    sel.flags = TC_U32_TERMINAL; /* an action follows: stop at this filter */
    memcpy(sel_buf, &sel, sizeof(sel));
    nl_msg_put_attr(m, TCA_U32_SEL, sel_buf, sizeof(sel_buf));
    acts = nl_msg_nest_start(m, TCA_U32_ACT);
    act = nl_msg_nest_start(m, 1); /* the first action of the list */
    nl_msg_put_str(m, TCA_ACT_KIND, "mirred");
    act_opts = nl_msg_nest_start(m, TCA_ACT_OPTIONS);
    memset(&mirred, 0, sizeof(mirred));
    mirred.action = TC_ACT_STOLEN;
    mirred.eaction = TCA_EGRESS_REDIR;
    mirred.ifindex = (__u32)to_ifindex;
    nl_msg_put_attr(m, TCA_MIRRED_PARMS, &mirred, sizeof(mirred));
    nl_msg_nest_end(m, act_opts);
    nl_msg_nest_end(m, act);
    nl_msg_nest_end(m, acts);
    nl_msg_nest_end(m, opts);
    r = nl_request(s, m, e);
    nl_msg_free(m);
    if (r < 0)
        return err_prefix(e, "%s: add u32 filter redirecting to %s", from_name, to_name);
    return 0;
}
