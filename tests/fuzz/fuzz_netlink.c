/* Fuzz target: the netlink attribute walkers and getters on arbitrary
 * bytes. The first input byte picks the family-header length; the rest is
 * the message body after a synthesised nlmsghdr whose length is exact, as
 * nl_dump guarantees for real replies. Every attribute handed back must lie
 * inside the message, and nested attributes are walked a few levels down. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "lib/netlink.h"
#include "tests/fuzz/fuzz.h"

#define MAXTYPE 40

static const uint8_t *lo, *hi;

static void check_attr(const struct nlattr *a)
{
    const uint8_t *p = (const uint8_t *)a;
    assert(p >= lo && p + sizeof(*a) <= hi);
    assert(a->nla_len >= sizeof(*a) && p + a->nla_len <= hi);
    assert(nl_attr_len(a) == a->nla_len - sizeof(*a));
    uint8_t u8;
    uint16_t u16;
    uint32_t u32;
    assert(nl_attr_u8(a, &u8) == (nl_attr_len(a) == 1));
    assert(nl_attr_u16(a, &u16) == (nl_attr_len(a) == 2));
    assert(nl_attr_u32(a, &u32) == (nl_attr_len(a) == 4));
    const char *s = nl_attr_str(a);
    if (s)
        assert(strlen(s) < nl_attr_len(a));
}

static void walk_nested(const struct nlattr *a, int depth)
{
    const struct nlattr *tb[MAXTYPE + 1];
    if (depth > 4 || nl_parse_nested(a, tb, MAXTYPE) < 0)
        return;
    for (unsigned i = 0; i <= MAXTYPE; i++) {
        if (!tb[i])
            continue;
        check_attr(tb[i]);
        walk_nested(tb[i], depth + 1);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 65536)
        return 0;
    size_t hdrlen = data[0] % 33u;
    size_t body = size - 1;
    size_t total = sizeof(struct nlmsghdr) + body;
    /* malloc'd so nlmsghdr alignment holds and ASan sees the exact end. */
    uint8_t *buf = malloc(total);
    if (!buf)
        return 0;
    struct nlmsghdr h = {.nlmsg_len = (uint32_t)total, .nlmsg_type = 16};
    memcpy(buf, &h, sizeof(h));
    if (body)
        memcpy(buf + sizeof(h), data + 1, body);
    lo = buf;
    hi = buf + total;

    const struct nlattr *tb[MAXTYPE + 1];
    if (nl_parse_attrs((const struct nlmsghdr *)(void *)buf, hdrlen, tb, MAXTYPE) == 0) {
        for (unsigned i = 0; i <= MAXTYPE; i++) {
            if (!tb[i])
                continue;
            check_attr(tb[i]);
            walk_nested(tb[i], 0);
        }
    }
    free(buf);
    return 0;
}
