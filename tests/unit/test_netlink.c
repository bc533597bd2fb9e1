/* lib/netlink.c without a kernel: message building (header, scalar, string
 * and nested attributes, growth past the first buffer) read back through
 * the parsers, and the parsers and getters on malformed and truncated
 * input. The kernel side is tests/integration/test_netlink_kernel.c. */
#include "lib/netlink.h"

#include <errno.h>
#include <linux/rtnetlink.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <string.h>

#include "tests/harness/harness.h"

/* Byte arrays below are 4-byte aligned, as netlink buffers are. */
#define NLA(p) ((const struct nlattr *)(const void *)(p))

/* A hand-built message: nlmsghdr, 4-byte family header, then raw bytes. */
struct raw {
    union {
        struct nlmsghdr h;
        uint8_t bytes[256];
    } u;
};

static const struct nlmsghdr *raw_msg(struct raw *r, const void *attrs, size_t len)
{
    memset(r, 0, sizeof(*r));
    uint32_t fam = 0x01020304;
    memcpy(r->u.bytes + NLMSG_HDRLEN, &fam, sizeof(fam));
    if (len)
        memcpy(r->u.bytes + NLMSG_HDRLEN + 4, attrs, len);
    r->u.h.nlmsg_len = (uint32_t)(NLMSG_HDRLEN + 4 + len);
    return &r->u.h;
}

TEST(build_and_parse_back)
{
    struct nl_msg *m = nl_msg_new(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
    struct ifinfomsg *ifi = nl_msg_put_header(m, sizeof(*ifi));
    ifi->ifi_family = AF_UNSPEC;
    ifi->ifi_index = 7;
    nl_msg_put_str(m, IFLA_IFNAME, "eth0");
    nl_msg_put_u32(m, IFLA_MTU, 1400);
    nl_msg_put_u8(m, IFLA_OPERSTATE, 6);
    nl_msg_put_u16(m, IFLA_GROUP, 0xbeef); /* any u16 will do for the layout */
    size_t outer = nl_msg_nest_start(m, IFLA_LINKINFO);
    nl_msg_put_str(m, IFLA_INFO_KIND, "veth");
    size_t inner = nl_msg_nest_start(m, IFLA_INFO_DATA);
    nl_msg_put_u32(m, 1, 42);
    nl_msg_nest_end(m, inner);
    nl_msg_nest_end(m, outer);

    const struct nlmsghdr *h = nl_msg_hdr(m);
    ASSERT_EQ(h->nlmsg_type, RTM_NEWLINK);
    ASSERT_EQ(h->nlmsg_flags, NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL);
    ASSERT_EQ(h->nlmsg_len % 4, 0);
    /* hdr 16 + ifinfomsg 16 + "eth0\0" 12 + mtu 8 + u8 8 + u16 8 + linkinfo
     * (4 + kind 12 + data (4 + 8)) */
    ASSERT_EQ(h->nlmsg_len, 16 + 16 + 12 + 8 + 8 + 8 + 4 + 12 + 4 + 8);

    const struct ifinfomsg *back = NLMSG_DATA(h);
    ASSERT_EQ(back->ifi_index, 7);

    const struct nlattr *tb[IFLA_MAX + 1];
    ASSERT_EQ(nl_parse_attrs(h, sizeof(struct ifinfomsg), tb, IFLA_MAX), 0);
    ASSERT_STREQ(nl_attr_str(tb[IFLA_IFNAME]), "eth0");
    ASSERT_EQ(nl_attr_len(tb[IFLA_IFNAME]), 5);
    uint32_t mtu = 0;
    ASSERT_TRUE(nl_attr_u32(tb[IFLA_MTU], &mtu));
    ASSERT_EQ(mtu, 1400);
    uint8_t op = 0;
    ASSERT_TRUE(nl_attr_u8(tb[IFLA_OPERSTATE], &op));
    ASSERT_EQ(op, 6);
    uint16_t grp = 0;
    ASSERT_TRUE(nl_attr_u16(tb[IFLA_GROUP], &grp));
    ASSERT_EQ(grp, 0xbeef);
    ASSERT_TRUE(tb[IFLA_ADDRESS] == NULL);
    ASSERT_TRUE(tb[IFLA_LINKINFO] != NULL);
    ASSERT_TRUE(tb[IFLA_LINKINFO]->nla_type & NLA_F_NESTED);

    const struct nlattr *li[IFLA_INFO_MAX + 1];
    ASSERT_EQ(nl_parse_nested(tb[IFLA_LINKINFO], li, IFLA_INFO_MAX), 0);
    ASSERT_STREQ(nl_attr_str(li[IFLA_INFO_KIND]), "veth");
    const struct nlattr *data[4];
    ASSERT_EQ(nl_parse_nested(li[IFLA_INFO_DATA], data, 3), 0);
    uint32_t v = 0;
    ASSERT_TRUE(nl_attr_u32(data[1], &v));
    ASSERT_EQ(v, 42);
    nl_msg_free(m);
    nl_msg_free(NULL);
    return 0;
}

TEST(grows_past_first_buffer)
{
    struct nl_msg *m = nl_msg_new(RTM_NEWADDR, 0);
    struct ifaddrmsg *ifa = nl_msg_put_header(m, sizeof(*ifa));
    ifa->ifa_family = AF_INET;
    char big[3000];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    for (uint16_t i = 1; i <= 50; i++)
        nl_msg_put_u32(m, i, i * 3u);
    nl_msg_put_str(m, 60, big);
    nl_msg_put_attr(m, 61, NULL, 0);
    uint8_t odd[3] = {1, 2, 3};
    nl_msg_put_attr(m, 62, odd, sizeof(odd));

    const struct nlmsghdr *h = nl_msg_hdr(m);
    ASSERT_GT(h->nlmsg_len, 3000);
    ASSERT_EQ(h->nlmsg_len % 4, 0);
    const struct nlattr *tb[63];
    ASSERT_EQ(nl_parse_attrs(h, sizeof(struct ifaddrmsg), tb, 62), 0);
    for (uint16_t i = 1; i <= 50; i++) {
        uint32_t v = 0;
        ASSERT_TRUE(nl_attr_u32(tb[i], &v));
        ASSERT_EQ(v, i * 3u);
    }
    ASSERT_EQ(strlen(nl_attr_str(tb[60])), sizeof(big) - 1);
    ASSERT_TRUE(tb[61] != NULL);
    ASSERT_EQ(nl_attr_len(tb[61]), 0);
    ASSERT_EQ(nl_attr_len(tb[62]), 3);
    ASSERT_MEMEQ(nl_attr_data(tb[62]), odd, 3);
    nl_msg_free(m);
    return 0;
}

TEST(put_raw_inside_nest)
{
    struct nl_msg *m = nl_msg_new(RTM_NEWLINK, 0);
    nl_msg_put_header(m, sizeof(struct ifinfomsg));
    size_t nest = nl_msg_nest_start(m, 1);
    struct ifinfomsg *peer = nl_msg_put_raw(m, sizeof(*peer));
    peer->ifi_index = 9;
    nl_msg_put_str(m, IFLA_IFNAME, "peer0");
    nl_msg_nest_end(m, nest);

    const struct nlmsghdr *h = nl_msg_hdr(m);
    const struct nlattr *tb[2];
    ASSERT_EQ(nl_parse_attrs(h, sizeof(struct ifinfomsg), tb, 1), 0);
    ASSERT_EQ(nl_attr_len(tb[1]), sizeof(struct ifinfomsg) + 12);
    const struct ifinfomsg *back = nl_attr_data(tb[1]);
    ASSERT_EQ(back->ifi_index, 9);
    nl_msg_free(m);
    return 0;
}

TEST(parse_last_duplicate_wins_and_high_types_ignored)
{
    _Alignas(4) uint8_t a[] = {8, 0, 1, 0, 1, 0, 0, 0,  /* type 1 = 1 */
                   8, 0, 1, 0, 2, 0, 0, 0,  /* type 1 = 2 */
                   8, 0, 9, 0, 3, 0, 0, 0,  /* type 9, above max */
                   8, 0, 2, 0x80, 4, 0, 0, 0}; /* type 2 with NLA_F_NESTED */
    struct raw r;
    const struct nlmsghdr *h = raw_msg(&r, a, sizeof(a));
    const struct nlattr *tb[4];
    ASSERT_EQ(nl_parse_attrs(h, 4, tb, 3), 0);
    uint32_t v = 0;
    ASSERT_TRUE(nl_attr_u32(tb[1], &v));
    ASSERT_EQ(v, 2);
    ASSERT_TRUE(nl_attr_u32(tb[2], &v));
    ASSERT_EQ(v, 4);
    ASSERT_TRUE(tb[0] == NULL && tb[3] == NULL);
    return 0;
}

TEST(parse_unpadded_last_attribute)
{
    /* A 5-byte attribute whose padding the message omits. */
    _Alignas(4) uint8_t a[] = {5, 0, 3, 0, 'z'};
    struct raw r;
    const struct nlmsghdr *h = raw_msg(&r, a, sizeof(a));
    const struct nlattr *tb[4];
    ASSERT_EQ(nl_parse_attrs(h, 4, tb, 3), 0);
    uint8_t c = 0;
    ASSERT_TRUE(nl_attr_u8(tb[3], &c));
    ASSERT_EQ(c, 'z');
    ASSERT_TRUE(nl_attr_str(tb[3]) == NULL); /* no NUL */
    return 0;
}

TEST(parse_rejects_malformed)
{
    const struct nlattr *tb[4];
    struct raw r;
    /* attribute length below its own header */
    _Alignas(4) uint8_t short_len[] = {2, 0, 1, 0};
    ASSERT_EQ(nl_parse_attrs(raw_msg(&r, short_len, sizeof(short_len)), 4, tb, 3), -EBADMSG);
    /* attribute overrunning the message */
    _Alignas(4) uint8_t overrun[] = {12, 0, 1, 0, 1, 2, 3, 4};
    ASSERT_EQ(nl_parse_attrs(raw_msg(&r, overrun, sizeof(overrun)), 4, tb, 3), -EBADMSG);
    /* good attribute, then two stray bytes */
    _Alignas(4) uint8_t trailing[] = {8, 0, 1, 0, 1, 0, 0, 0, 0xff, 0xff};
    ASSERT_EQ(nl_parse_attrs(raw_msg(&r, trailing, sizeof(trailing)), 4, tb, 3), -EBADMSG);
    /* zero length would loop forever if accepted */
    _Alignas(4) uint8_t zero[] = {0, 0, 1, 0, 0, 0, 0, 0};
    ASSERT_EQ(nl_parse_attrs(raw_msg(&r, zero, sizeof(zero)), 4, tb, 3), -EBADMSG);
    /* family header longer than the message */
    ASSERT_EQ(nl_parse_attrs(raw_msg(&r, NULL, 0), 16, tb, 3), -EBADMSG);
    /* nlmsg_len below the netlink header */
    raw_msg(&r, NULL, 0);
    r.u.h.nlmsg_len = 8;
    ASSERT_EQ(nl_parse_attrs(&r.u.h, 0, tb, 3), -EBADMSG);
    /* a header that exactly fills the message has no attributes */
    ASSERT_EQ(nl_parse_attrs(raw_msg(&r, NULL, 0), 4, tb, 3), 0);
    ASSERT_TRUE(tb[0] == NULL && tb[1] == NULL && tb[2] == NULL && tb[3] == NULL);
    /* a header of 3 bytes, unpadded message */
    raw_msg(&r, NULL, 0);
    r.u.h.nlmsg_len = NLMSG_HDRLEN + 3;
    ASSERT_EQ(nl_parse_attrs(&r.u.h, 3, tb, 3), 0);
    return 0;
}

TEST(parse_nested_rejects_malformed)
{
    const struct nlattr *tb[4];
    /* nest of 12 bytes whose inner attribute claims 12 */
    _Alignas(4) uint8_t bad[] = {12, 0, 1, 0x80, 12, 0, 1, 0, 0, 0, 0, 0};
    ASSERT_EQ(nl_parse_nested(NLA(bad), tb, 3), -EBADMSG);
    _Alignas(4) uint8_t good[] = {12, 0, 1, 0x80, 8, 0, 2, 0, 7, 0, 0, 0};
    ASSERT_EQ(nl_parse_nested(NLA(good), tb, 3), 0);
    uint32_t v = 0;
    ASSERT_TRUE(nl_attr_u32(tb[2], &v));
    ASSERT_EQ(v, 7);
    _Alignas(4) uint8_t tiny[] = {2, 0, 1, 0};
    ASSERT_EQ(nl_parse_nested(NLA(tiny), tb, 3), -EBADMSG);
    ASSERT_TRUE(tb[2] == NULL);
    ASSERT_EQ(nl_parse_nested(NULL, tb, 3), -EBADMSG);
    /* an empty nest is fine */
    _Alignas(4) uint8_t empty[] = {4, 0, 1, 0x80};
    ASSERT_EQ(nl_parse_nested(NLA(empty), tb, 3), 0);
    return 0;
}

TEST(getters_check_length)
{
    _Alignas(4) uint8_t six[] = {10, 0, 1, 0, 1, 2, 3, 4, 5, 6, 0, 0};
    const struct nlattr *a = NLA(six);
    uint8_t u8 = 0x55;
    uint16_t u16 = 0x5555;
    uint32_t u32 = 0x55555555;
    ASSERT_TRUE(!nl_attr_u8(a, &u8));
    ASSERT_TRUE(!nl_attr_u16(a, &u16));
    ASSERT_TRUE(!nl_attr_u32(a, &u32));
    ASSERT_EQ(u8, 0x55);
    ASSERT_EQ(u16, 0x5555);
    ASSERT_EQ(u32, 0x55555555u);
    ASSERT_TRUE(!nl_attr_u32(NULL, &u32));
    ASSERT_TRUE(nl_attr_str(NULL) == NULL);
    ASSERT_TRUE(nl_attr_str(a) == NULL); /* no NUL in 1..6 */

    _Alignas(4) uint8_t two[] = {6, 0, 1, 0, 0x34, 0x12, 0, 0};
    ASSERT_TRUE(nl_attr_u16(NLA(two), &u16));
    ASSERT_EQ(u16, 0x1234);
    ASSERT_TRUE(!nl_attr_u8(NLA(two), &u8));

    _Alignas(4) uint8_t empty[] = {4, 0, 1, 0};
    ASSERT_TRUE(nl_attr_str(NLA(empty)) == NULL);
    ASSERT_EQ(nl_attr_len(NLA(empty)), 0);
    _Alignas(4) uint8_t bogus[] = {2, 0, 1, 0};
    ASSERT_EQ(nl_attr_len(NLA(bogus)), 0);
    _Alignas(4) uint8_t str[] = {7, 0, 1, 0, 'h', 'i', 0, 0};
    ASSERT_STREQ(nl_attr_str(NLA(str)), "hi");
    return 0;
}
