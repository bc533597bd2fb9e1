/* The device rules of agent/cgroups-internal.h without a kernel: checking
 * and ordering (cg_dev_rules_build), the v1 file syntax, and the cgroup v2
 * BPF device program, run here by a small interpreter of the instructions
 * it uses (the kernel side runs in tests/integration/
 * test_agent_cgroups_devices.c). */
#include <errno.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/cgroups-internal.h"
#include "agent/oci_spec.h"
#include "lib/err.h"
#include "tests/harness/harness.h"

#define ALL_ACC (BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE | BPF_DEVCG_ACC_MKNOD)

static const struct oci_dev_rule deny_all = {false, 'a', -1, -1, "rwm"};
static const struct oci_dev_rule allow_null = {true, 'c', 1, 3, "rwm"};

/* Runs prog on a bpf_cgroup_dev_ctx; -1 on an instruction it does not
 * know or a jump out of the program. */
static int run(const struct bpf_insn *prog, int n, int type, int access, uint32_t major,
               uint32_t minor)
{
    uint32_t ctx[3] = {(uint32_t)type | ((uint32_t)access << 16), major, minor};
    uint64_t reg[11] = {0};
    for (int pc = 0; pc >= 0 && pc < n; pc++) {
        const struct bpf_insn *i = &prog[pc];
        uint64_t imm = (uint64_t)(int64_t)i->imm;
        switch (i->code) {
        case BPF_LDX | BPF_MEM | BPF_W:
            if (i->src_reg != 1 || i->off < 0 || i->off > 8 || i->off % 4)
                return -1;
            reg[i->dst_reg] = ctx[i->off / 4];
            break;
        case BPF_ALU64 | BPF_MOV | BPF_X:
            reg[i->dst_reg] = reg[i->src_reg];
            break;
        case BPF_ALU64 | BPF_MOV | BPF_K:
            reg[i->dst_reg] = imm;
            break;
        case BPF_ALU64 | BPF_AND | BPF_K:
            reg[i->dst_reg] &= imm;
            break;
        case BPF_ALU64 | BPF_RSH | BPF_K:
            reg[i->dst_reg] >>= i->imm;
            break;
        case BPF_JMP | BPF_JNE | BPF_K:
            pc += reg[i->dst_reg] != imm ? i->off : 0;
            break;
        case BPF_JMP | BPF_JEQ | BPF_K:
            pc += reg[i->dst_reg] == imm ? i->off : 0;
            break;
        case BPF_JMP | BPF_JSET | BPF_K:
            pc += (reg[i->dst_reg] & imm) ? i->off : 0;
            break;
        case BPF_JMP | BPF_EXIT:
            return (int)reg[0];
        default:
            return -1;
        }
    }
    return -1;
}

struct prog {
    struct bpf_insn insns[512];
    int n;
};

static int build(const struct oci_dev_rule *v, size_t n, struct cg_dev_rules *r, struct prog *p)
{
    struct err e = ERR_INIT;
    int rc = cg_dev_rules_build(v, n, r, &e);
    if (rc < 0)
        return rc;
    p->n = cg_devices_bpf_build(r, p->insns, ELEMENTSOF(p->insns));
    return p->n < 0 ? p->n : 0;
}

TEST(no_rules_allow_everything)
{
    struct cg_dev_rules r;
    struct prog p;
    ASSERT_EQ(build(NULL, 0, &r, &p), 0);
    ASSERT_TRUE(!r.reset);
    ASSERT_TRUE(r.default_allow);
    ASSERT_EQ(r.n, 0);
    ASSERT_TRUE(!cg_dev_rules_restrict(&r));
    ASSERT_EQ(run(p.insns, p.n, BPF_DEVCG_DEV_CHAR, BPF_DEVCG_ACC_READ, 1, 5), 1);
    ASSERT_EQ(run(p.insns, p.n, BPF_DEVCG_DEV_BLOCK, ALL_ACC, 8, 0), 1);
    cg_dev_rules_done(&r);
    return 0;
}

TEST(deny_all_but_null_keeps_mknod_and_terminals)
{
    struct oci_dev_rule v[] = {deny_all, allow_null};
    struct cg_dev_rules r;
    struct prog p;
    ASSERT_EQ(build(v, 2, &r, &p), 0);
    ASSERT_TRUE(r.reset);
    ASSERT_TRUE(!r.default_allow);
    ASSERT_EQ(r.n, 7); /* /dev/null, then the six always allowed */
    ASSERT_TRUE(cg_dev_rules_restrict(&r));
    ASSERT_EQ(r.v[0].minor, 3);
    char line[64];
    cg_dev_rule_format(&r.v[1], line, sizeof(line));
    ASSERT_STREQ(line, "c *:* m");
    cg_dev_rule_format(&r.v[6], line, sizeof(line));
    ASSERT_STREQ(line, "c 136:* rwm");
    cg_dev_rule_format(&r.v[0], line, sizeof(line));
    ASSERT_STREQ(line, "c 1:3 rwm");

    const int rw = BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE;
    ASSERT_EQ(run(p.insns, p.n, BPF_DEVCG_DEV_CHAR, rw, 1, 3), 1);  /* null */
    ASSERT_EQ(run(p.insns, p.n, BPF_DEVCG_DEV_CHAR, rw, 1, 5), 0);  /* zero */
    ASSERT_EQ(run(p.insns, p.n, BPF_DEVCG_DEV_BLOCK, rw, 1, 3), 0); /* b 1:3 */
    ASSERT_EQ(run(p.insns, p.n, BPF_DEVCG_DEV_CHAR, BPF_DEVCG_ACC_MKNOD, 1, 5), 1);
    ASSERT_EQ(run(p.insns, p.n, BPF_DEVCG_DEV_BLOCK, BPF_DEVCG_ACC_MKNOD, 8, 0), 1);
    ASSERT_EQ(run(p.insns, p.n, BPF_DEVCG_DEV_CHAR, rw, 136, 7), 1); /* /dev/pts/7 */
    ASSERT_EQ(run(p.insns, p.n, BPF_DEVCG_DEV_CHAR, rw, 5, 2), 1);   /* ptmx */
    ASSERT_EQ(run(p.insns, p.n, BPF_DEVCG_DEV_CHAR, rw, 4, 1), 0);   /* tty1 */
    cg_dev_rules_done(&r);
    return 0;
}

TEST(last_type_a_rule_resets_and_later_rules_win)
{
    struct oci_dev_rule v[] = {
        allow_null, /* forgotten: deny-all follows */
        deny_all,
        {true, 'c', 1, -1, "rw"}, /* every 1:* for read and write */
        {false, 'c', 1, 9, "w"},  /* but urandom not for writing */
    };
    struct cg_dev_rules r;
    struct prog p;
    ASSERT_EQ(build(v, 4, &r, &p), 0);
    ASSERT_EQ(r.n, 2 + 6);
    const int R = BPF_DEVCG_ACC_READ, W = BPF_DEVCG_ACC_WRITE;
    ASSERT_EQ(run(p.insns, p.n, BPF_DEVCG_DEV_CHAR, R | W, 1, 3), 1);
    ASSERT_EQ(run(p.insns, p.n, BPF_DEVCG_DEV_CHAR, R, 1, 9), 1);
    ASSERT_EQ(run(p.insns, p.n, BPF_DEVCG_DEV_CHAR, W, 1, 9), 0);
    ASSERT_EQ(run(p.insns, p.n, BPF_DEVCG_DEV_CHAR, R | W, 1, 9), 0);
    /* An allow rule must grant all of the access asked for. */
    ASSERT_EQ(run(p.insns, p.n, BPF_DEVCG_DEV_CHAR, R | BPF_DEVCG_ACC_MKNOD, 10, 200), 0);
    cg_dev_rules_done(&r);

    /* Allow-all last: nothing else is kept, nothing is added. */
    struct oci_dev_rule w[] = {deny_all, allow_null, {true, 'a', -1, -1, "rwm"}};
    ASSERT_EQ(build(w, 3, &r, &p), 0);
    ASSERT_TRUE(r.reset && r.default_allow);
    ASSERT_EQ(r.n, 0);
    ASSERT_TRUE(!cg_dev_rules_restrict(&r));
    ASSERT_EQ(run(p.insns, p.n, BPF_DEVCG_DEV_CHAR, R, 1, 5), 1);
    cg_dev_rules_done(&r);

    /* No type a rule: the inherited default (allow) and a deny. */
    struct oci_dev_rule x[] = {{false, 'c', 1, 5, "rw"}};
    ASSERT_EQ(build(x, 1, &r, &p), 0);
    ASSERT_TRUE(!r.reset && r.default_allow);
    ASSERT_EQ(r.n, 1);
    ASSERT_TRUE(cg_dev_rules_restrict(&r));
    ASSERT_EQ(run(p.insns, p.n, BPF_DEVCG_DEV_CHAR, R, 1, 5), 0);
    ASSERT_EQ(run(p.insns, p.n, BPF_DEVCG_DEV_CHAR, BPF_DEVCG_ACC_MKNOD, 1, 5), 1);
    ASSERT_EQ(run(p.insns, p.n, BPF_DEVCG_DEV_CHAR, R, 1, 3), 1);
    cg_dev_rules_done(&r);
    return 0;
}

static int build_err(const struct oci_dev_rule *v, size_t n, const char *want)
{
    struct cg_dev_rules r;
    struct err e = ERR_INIT;
    int rc = cg_dev_rules_build(v, n, &r, &e);
    if (rc >= 0) {
        cg_dev_rules_done(&r);
        printf("#   accepted, expected \"%s\"\n", want);
        return -1;
    }
    printf("#   %s\n", e.msg);
    return strstr(e.msg, want) ? rc : -1;
}

TEST(bad_rules_name_the_field)
{
    struct oci_dev_rule v[] = {deny_all, {true, '?', 1, 3, "rw"}};
    ASSERT_EQ(build_err(v, 2, "oci.Linux.Resources.Devices[1].Type"), -EINVAL);
    v[1].type = 'u';
    ASSERT_EQ(build_err(v, 2, "Devices[1].Type"), -EINVAL);
    v[1].type = 'c';
    snprintf(v[1].access, sizeof(v[1].access), "rx");
    ASSERT_EQ(build_err(v, 2, "Devices[1].Access"), -EINVAL);
    snprintf(v[1].access, sizeof(v[1].access), "?");
    ASSERT_EQ(build_err(v, 2, "Devices[1].Access"), -EINVAL);
    snprintf(v[1].access, sizeof(v[1].access), "rw");
    v[1].major = 4096;
    ASSERT_EQ(build_err(v, 2, "Devices[1]: 4096:3 is out of range"), -EINVAL);
    v[1].major = 1;
    v[1].minor = 1 << 20;
    ASSERT_EQ(build_err(v, 2, "out of range"), -EINVAL);

    struct oci_dev_rule *many = calloc(CG_MAX_DEV_RULES + 1, sizeof(*many));
    ASSERT_TRUE(many != NULL);
    for (size_t i = 0; i <= CG_MAX_DEV_RULES; i++)
        many[i] = allow_null;
    int rc = build_err(many, CG_MAX_DEV_RULES + 1, "more than");
    free(many);
    ASSERT_EQ(rc, -E2BIG);
    return 0;
}

TEST(program_fits_its_buffer_or_says_so)
{
    struct oci_dev_rule v[] = {deny_all, allow_null};
    struct cg_dev_rules r;
    struct err e = ERR_INIT;
    struct bpf_insn small[10];
    ASSERT_EQ(cg_dev_rules_build(v, 2, &r, &e), 0);
    ASSERT_EQ(cg_devices_bpf_build(&r, small, ELEMENTSOF(small)), -E2BIG);
    cg_dev_rules_done(&r);
    return 0;
}

TEST(allow_rules_alone_restrict_nothing)
{
    /* What a hotplugged disk adds to a spec without rules (oci_devices.c). */
    struct oci_dev_rule v[] = {{true, 'b', 254, 16, "rwm"}};
    struct cg_dev_rules r;
    struct err e = ERR_INIT;
    ASSERT_EQ(cg_dev_rules_build(v, 1, &r, &e), 0);
    ASSERT_TRUE(!r.reset && r.default_allow);
    ASSERT_TRUE(!cg_dev_rules_restrict(&r));
    cg_dev_rules_done(&r);
    return 0;
}
