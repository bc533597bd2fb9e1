/* lib/netlink.c against the real kernel, in a private network namespace the
 * test process moves into (unshare(CLONE_NEWNET); needs root): veth pairs
 * created and looked up, extended-ack errors, a dump big enough to span
 * several datagrams, and a dump stopped by its callback leaving the socket
 * usable. The namespace dies with the process, so nothing outlives it. */
#include "lib/netlink.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <sched.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/err.h"
#include "tests/harness/harness.h"

static int netns_state; /* 0 untried, 1 inside, -1 unavailable */

static int enter_netns(void)
{
    if (netns_state == 0)
        netns_state = (geteuid() == 0 && unshare(CLONE_NEWNET) == 0) ? 1 : -1;
    return netns_state;
}

#define NEED_NETNS()                                                                               \
    do {                                                                                           \
        if (enter_netns() < 0)                                                                     \
            return test_skip("cannot unshare a network namespace (needs root)");                   \
    } while (0)

static int add_veth(struct nl_sock *s, const char *a, const char *b, struct err *e)
{
    struct nl_msg *m = nl_msg_new(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
    nl_msg_put_header(m, sizeof(struct ifinfomsg));
    nl_msg_put_str(m, IFLA_IFNAME, a);
    size_t li = nl_msg_nest_start(m, IFLA_LINKINFO);
    nl_msg_put_str(m, IFLA_INFO_KIND, "veth");
    size_t data = nl_msg_nest_start(m, IFLA_INFO_DATA);
    size_t peer = nl_msg_nest_start(m, VETH_INFO_PEER);
    nl_msg_put_raw(m, sizeof(struct ifinfomsg));
    nl_msg_put_str(m, IFLA_IFNAME, b);
    nl_msg_nest_end(m, peer);
    nl_msg_nest_end(m, data);
    nl_msg_nest_end(m, li);
    int r = nl_request(s, m, e);
    nl_msg_free(m);
    return r;
}

static int del_link(struct nl_sock *s, const char *name, struct err *e)
{
    struct nl_msg *m = nl_msg_new(RTM_DELLINK, 0);
    nl_msg_put_header(m, sizeof(struct ifinfomsg));
    nl_msg_put_str(m, IFLA_IFNAME, name);
    int r = nl_request(s, m, e);
    nl_msg_free(m);
    return r;
}

struct links {
    int count;
    int lo, va, vb;
    unsigned mtu_va;
};

static int on_link(const struct nlmsghdr *h, void *userdata)
{
    struct links *l = userdata;
    if (h->nlmsg_type != RTM_NEWLINK)
        return -EPROTO;
    const struct nlattr *tb[IFLA_MAX + 1];
    int r = nl_parse_attrs(h, sizeof(struct ifinfomsg), tb, IFLA_MAX);
    if (r < 0)
        return r;
    const char *name = nl_attr_str(tb[IFLA_IFNAME]);
    if (!name)
        return -EPROTO;
    l->count++;
    if (strcmp(name, "lo") == 0)
        l->lo++;
    if (strcmp(name, "nlt-a") == 0) {
        l->va++;
        uint32_t mtu = 0;
        if (nl_attr_u32(tb[IFLA_MTU], &mtu))
            l->mtu_va = mtu;
    }
    if (strcmp(name, "nlt-b") == 0)
        l->vb++;
    return 0;
}

static int dump_links(struct nl_sock *s, struct links *l, struct err *e)
{
    memset(l, 0, sizeof(*l));
    struct nl_msg *m = nl_msg_new(RTM_GETLINK, 0);
    nl_msg_put_header(m, sizeof(struct ifinfomsg));
    int r = nl_dump(s, m, on_link, l, e);
    nl_msg_free(m);
    return r;
}

TEST(open_and_dump_links)
{
    NEED_NETNS();
    struct err e = ERR_INIT;
    struct nl_sock *s = NULL;
    ASSERT_EQ(nl_open(NETLINK_ROUTE, &s, &e), 0);
    struct links l;
    ASSERT_EQ(dump_links(s, &l, &e), 0);
    ASSERT_EQ(l.lo, 1);
    ASSERT_EQ(l.count, 1); /* a fresh namespace has only lo */
    nl_close(s);
    nl_close(NULL);
    return 0;
}

TEST(veth_create_get_mtu_delete)
{
    NEED_NETNS();
    struct err e = ERR_INIT;
    struct nl_sock *s = NULL;
    ASSERT_EQ(nl_open(NETLINK_ROUTE, &s, &e), 0);
    int r = add_veth(s, "nlt-a", "nlt-b", &e);
    if (r < 0)
        fprintf(stderr, "# add veth: %s\n", err_msg(&e));
    ASSERT_EQ(r, 0);

    struct links l;
    ASSERT_EQ(dump_links(s, &l, &e), 0);
    ASSERT_EQ(l.va, 1);
    ASSERT_EQ(l.vb, 1);

    /* Set the MTU by index, then GET the single link by name. */
    unsigned idx = if_nametoindex("nlt-a");
    ASSERT_GT(idx, 0);
    struct nl_msg *m = nl_msg_new(RTM_NEWLINK, 0);
    struct ifinfomsg *ifi = nl_msg_put_header(m, sizeof(*ifi));
    ifi->ifi_index = (int)idx;
    nl_msg_put_u32(m, IFLA_MTU, 1300);
    ASSERT_EQ(nl_request(s, m, &e), 0);
    nl_msg_free(m);

    memset(&l, 0, sizeof(l));
    m = nl_msg_new(RTM_GETLINK, 0);
    nl_msg_put_header(m, sizeof(struct ifinfomsg));
    nl_msg_put_str(m, IFLA_IFNAME, "nlt-a");
    ASSERT_EQ(nl_request_reply(s, m, on_link, &l, &e), 0);
    nl_msg_free(m);
    ASSERT_EQ(l.count, 1);
    ASSERT_EQ(l.va, 1);
    ASSERT_EQ(l.mtu_va, 1300);

    /* Creating it again with NLM_F_EXCL: EEXIST from the kernel. */
    err_clear(&e);
    m = nl_msg_new(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
    nl_msg_put_header(m, sizeof(struct ifinfomsg));
    nl_msg_put_str(m, IFLA_IFNAME, "nlt-a");
    ASSERT_EQ(nl_request(s, m, &e), -EEXIST);
    nl_msg_free(m);
    ASSERT_EQ(e.code, -EEXIST);

    /* NLM_F_EXCL on a veth that exists is EEXIST too, not a change. */
    err_clear(&e);
    ASSERT_EQ(add_veth(s, "nlt-a", "nlt-c", &e), -EEXIST);

    /* Deleting one end removes both. */
    ASSERT_EQ(del_link(s, "nlt-a", &e), 0);
    ASSERT_EQ(dump_links(s, &l, &e), 0);
    ASSERT_EQ(l.va + l.vb, 0);
    err_clear(&e);
    ASSERT_EQ(del_link(s, "nlt-a", &e), -ENODEV);
    nl_close(s);
    return 0;
}

TEST(extended_ack_text)
{
    NEED_NETNS();
    struct err e = ERR_INIT;
    struct nl_sock *s = NULL;
    ASSERT_EQ(nl_open(NETLINK_ROUTE, &s, &e), 0);
    /* An IPv4 address with a prefix length of 33: rejected, and recent
     * kernels explain why in an extended ack. */
    struct nl_msg *m = nl_msg_new(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
    struct ifaddrmsg *ifa = nl_msg_put_header(m, sizeof(*ifa));
    ifa->ifa_family = AF_INET;
    ifa->ifa_prefixlen = 33;
    ifa->ifa_index = if_nametoindex("lo");
    struct in_addr a;
    inet_pton(AF_INET, "10.9.9.9", &a);
    nl_msg_put_attr(m, IFA_LOCAL, &a, sizeof(a));
    nl_msg_put_attr(m, IFA_ADDRESS, &a, sizeof(a));
    int r = nl_request(s, m, &e);
    nl_msg_free(m);
    ASSERT_EQ(r, -EINVAL);
    ASSERT_EQ(e.code, -EINVAL);
    fprintf(stderr, "# kernel said: %s\n", err_msg(&e));
    ASSERT_TRUE(strstr(err_msg(&e), "prefix") != NULL || strstr(err_msg(&e), "Invalid") != NULL);

    /* The socket stays usable after an error. */
    struct links l;
    ASSERT_EQ(dump_links(s, &l, &e), 0);
    ASSERT_GE(l.lo, 1);
    nl_close(s);
    return 0;
}

static int add_addr(struct nl_sock *s, unsigned idx, uint32_t host_order, struct err *e)
{
    struct nl_msg *m = nl_msg_new(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
    struct ifaddrmsg *ifa = nl_msg_put_header(m, sizeof(*ifa));
    ifa->ifa_family = AF_INET;
    ifa->ifa_prefixlen = 32;
    ifa->ifa_index = idx;
    uint32_t a = htonl(host_order);
    nl_msg_put_attr(m, IFA_LOCAL, &a, sizeof(a));
    nl_msg_put_attr(m, IFA_ADDRESS, &a, sizeof(a));
    int r = nl_request(s, m, e);
    nl_msg_free(m);
    return r;
}

struct addrs {
    int count;
    int stop_after; /* 0: never */
    int seen;
};

static int on_addr(const struct nlmsghdr *h, void *userdata)
{
    struct addrs *a = userdata;
    a->seen++;
    if (a->stop_after && a->seen >= a->stop_after)
        return -ECANCELED;
    const struct nlattr *tb[IFA_MAX + 1];
    if (h->nlmsg_type != RTM_NEWADDR || nl_parse_attrs(h, sizeof(struct ifaddrmsg), tb, IFA_MAX))
        return -EPROTO;
    const struct ifaddrmsg *ifa = NLMSG_DATA(h);
    if (ifa->ifa_family == AF_INET && nl_attr_len(tb[IFA_LOCAL]) == 4)
        a->count++;
    return 0;
}

static int dump_v4(struct nl_sock *s, struct addrs *a, struct err *e)
{
    struct nl_msg *m = nl_msg_new(RTM_GETADDR, 0);
    struct ifaddrmsg *ifa = nl_msg_put_header(m, sizeof(*ifa));
    ifa->ifa_family = AF_INET;
    int r = nl_dump(s, m, on_addr, a, e);
    nl_msg_free(m);
    return r;
}

TEST(multipart_dump_and_early_stop)
{
    NEED_NETNS();
    struct err e = ERR_INIT;
    struct nl_sock *s = NULL;
    ASSERT_EQ(nl_open(NETLINK_ROUTE, &s, &e), 0);
    ASSERT_EQ(add_veth(s, "nlt-m", "nlt-n", &e), 0);
    unsigned idx = if_nametoindex("nlt-m");
    ASSERT_GT(idx, 0);
    /* ~90 bytes per address: 800 of them need several dump datagrams. */
    enum { N = 800 };
    for (uint32_t i = 0; i < N; i++)
        ASSERT_EQ(add_addr(s, idx, 0x0a400000u + i + 1, &e), 0);

    struct addrs a = {0};
    ASSERT_EQ(dump_v4(s, &a, &e), 0);
    ASSERT_EQ(a.count, N); /* lo is down in a fresh netns: no 127.0.0.1 */

    struct addrs stop = {.stop_after = 3};
    ASSERT_EQ(dump_v4(s, &stop, &e), -ECANCELED);
    ASSERT_EQ(stop.seen, 3); /* not called again after the stop */

    /* The rest of the stopped dump was drained: the next one is whole. */
    struct addrs again = {0};
    ASSERT_EQ(dump_v4(s, &again, &e), 0);
    ASSERT_EQ(again.count, N);

    ASSERT_EQ(del_link(s, "nlt-m", &e), 0);
    nl_close(s);
    return 0;
}

TEST(two_sockets_independent)
{
    NEED_NETNS();
    /* Two sockets in one process get distinct port ids and never see each
     * other's replies. */
    struct err e = ERR_INIT;
    struct nl_sock *s1 = NULL, *s2 = NULL;
    ASSERT_EQ(nl_open(NETLINK_ROUTE, &s1, &e), 0);
    ASSERT_EQ(nl_open(NETLINK_ROUTE, &s2, &e), 0);
    struct links l1, l2;
    ASSERT_EQ(dump_links(s1, &l1, &e), 0);
    ASSERT_EQ(dump_links(s2, &l2, &e), 0);
    ASSERT_EQ(l1.count, l2.count);
    nl_close(s1);
    nl_close(s2);
    return 0;
}
