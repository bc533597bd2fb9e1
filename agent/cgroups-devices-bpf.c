/* cgroup v2 device rules: v2 has no devices controller file; the kernel
 * asks a BPF_PROG_TYPE_CGROUP_DEVICE program attached to the cgroup on
 * every open and mknod of a device node. The program is generated here from
 * the rules (see cg_dev_rules in agent/cgroups-internal.h) and loaded with
 * the raw bpf() syscall: no libbpf in a static agent.
 *
 * The program's context is struct bpf_cgroup_dev_ctx: a 32-bit access_type
 * at offset 0 (device type in the low 16 bits, BPF_DEVCG_DEV_*; the access
 * asked for in the high 16, BPF_DEVCG_ACC_*), then 32-bit major and minor.
 * It returns 1 to allow and 0 to deny. Later rules win over earlier ones,
 * so the program tests the rules from the last to the first and answers
 * with the first that matches; when none does, the default. */
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "agent/cgroups-internal.h"
#include "agent/oci_spec.h"
#include "lib/err.h"
#include "lib/log.h"
#include "lib/xalloc.h"

/* Registers: r1 the context; r2 access, r3 type, r4 major, r5 minor. */
enum { R0, R1, R2, R3, R4, R5, R6 };

static struct bpf_insn insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm)
{
    return (struct bpf_insn){
        .code = code, .dst_reg = dst & 0xf, .src_reg = src & 0xf, .off = off, .imm = imm};
}

#define LDX_W(dst, off) insn(BPF_LDX | BPF_MEM | BPF_W, dst, R1, off, 0)
#define MOV_REG(dst, src) insn(BPF_ALU64 | BPF_MOV | BPF_X, dst, src, 0, 0)
#define MOV_IMM(dst, imm) insn(BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm)
#define ALU_IMM(op, dst, imm) insn(BPF_ALU64 | (op) | BPF_K, dst, 0, 0, imm)
#define JMP_IMM(op, dst, imm, off) insn(BPF_JMP | (op) | BPF_K, dst, 0, off, imm)
#define EXIT() insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)

#define MAX_RULE_INSNS 8 /* three tests, up to three for access, verdict, exit */

static int32_t access_bits(const char *access)
{
    int32_t bits = 0;
    for (const char *p = access; *p; p++)
        bits |= *p == 'r'   ? BPF_DEVCG_ACC_READ
                : *p == 'w' ? BPF_DEVCG_ACC_WRITE
                : *p == 'm' ? BPF_DEVCG_ACC_MKNOD
                            : 0;
    return bits;
}

/* One rule's block: tests that jump past the block when they fail, then
 * the verdict. */
static size_t rule_block(const struct oci_dev_rule *d, struct bpf_insn *out)
{
    struct bpf_insn tests[6];
    size_t nt = 0, n = 0;
    int32_t acc = access_bits(d->access);
    const int32_t all = BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE | BPF_DEVCG_ACC_MKNOD;

    if (d->type != 'a')
        tests[nt++] =
            JMP_IMM(BPF_JNE, R3, d->type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR, 0);
    if (d->major >= 0)
        tests[nt++] = JMP_IMM(BPF_JNE, R4, (int32_t)d->major, 0);
    if (d->minor >= 0)
        tests[nt++] = JMP_IMM(BPF_JNE, R5, (int32_t)d->minor, 0);
    if (acc != all && d->allow) {
        /* An allow rule covers an access only when it grants all of it. */
        tests[nt++] = JMP_IMM(BPF_JSET, R2, all & ~acc, 0);
    } else if (acc != all) {
        /* A deny rule takes away any access it names. */
        tests[nt++] = MOV_REG(R6, R2);
        tests[nt++] = ALU_IMM(BPF_AND, R6, acc);
        tests[nt++] = JMP_IMM(BPF_JEQ, R6, 0, 0);
    }
    size_t len = nt + 2;
    for (size_t i = 0; i < nt; i++) {
        out[n] = tests[i];
        if (BPF_CLASS(out[n].code) == BPF_JMP)
            out[n].off = (int16_t)(len - n - 1);
        n++;
    }
    out[n++] = MOV_IMM(R0, d->allow ? 1 : 0);
    out[n++] = EXIT();
    return n;
}

int cg_devices_bpf_build(const struct cg_dev_rules *r, struct bpf_insn *insns, size_t max)
{
    size_t n = 0;
    if (max < 8 || (max - 8) / MAX_RULE_INSNS < r->n)
        return -E2BIG;
    insns[n++] = LDX_W(R2, 0);
    insns[n++] = MOV_REG(R3, R2);
    insns[n++] = ALU_IMM(BPF_AND, R3, 0xffff);
    insns[n++] = ALU_IMM(BPF_RSH, R2, 16);
    insns[n++] = LDX_W(R4, 4);
    insns[n++] = LDX_W(R5, 8);
    for (size_t i = r->n; i-- > 0;)
        n += rule_block(&r->v[i], insns + n);
    insns[n++] = MOV_IMM(R0, r->default_allow ? 1 : 0);
    insns[n++] = EXIT();
    return (int)n;
}

static int sys_bpf(int cmd, union bpf_attr *attr)
{
    long r = syscall(__NR_bpf, cmd, attr, sizeof(*attr));
    return r < 0 ? -errno : (int)r;
}

static int prog_load(const struct bpf_insn *insns, size_t n)
{
    static const char license[] = "Apache-2.0";
    union bpf_attr attr;
    memset(&attr, 0, sizeof(attr));
    attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
    attr.insns = (uint64_t)(uintptr_t)insns;
    attr.insn_cnt = (uint32_t)n;
    attr.license = (uint64_t)(uintptr_t)license;
    return sys_bpf(BPF_PROG_LOAD, &attr);
}

static int prog_attach(int cmd, int cgfd, int progfd)
{
    union bpf_attr attr;
    memset(&attr, 0, sizeof(attr));
    attr.target_fd = (uint32_t)cgfd;
    attr.attach_bpf_fd = (uint32_t)progfd;
    attr.attach_type = BPF_CGROUP_DEVICE;
    /* Others (systemd, a nested runtime) may attach programs too: all of
     * them must allow an access. */
    attr.attach_flags = cmd == BPF_PROG_ATTACH ? BPF_F_ALLOW_MULTI : 0;
    return sys_bpf(cmd, &attr);
}

static void detach_old(struct cgroup *cg, int cgfd)
{
    if (cg->dev_prog_fd < 0)
        return;
    int r = prog_attach(BPF_PROG_DETACH, cgfd, cg->dev_prog_fd);
    if (r < 0)
        log_errno(LOG_WARN, r, "cgroup %s: cannot detach the previous device program", cg->path);
    cg->dev_prog_fd = fd_close(cg->dev_prog_fd);
}

int cg_devices_bpf_apply(struct cgroup *cg, const struct cg_dev_rules *r, struct err *e)
{
    _cleanup_close_ int cgfd = open(cg->dirs[0], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (cgfd < 0)
        return err_set(e, -errno, "cgroup: cannot open %s", cg->dirs[0]);
    /* Rules that take nothing away need no program: a guest kernel without
     * CONFIG_CGROUP_BPF still runs containers whose only rules are the
     * allow rules added for hotplugged disks. */
    if (!cg_dev_rules_restrict(r)) {
        detach_old(cg, cgfd);
        return 0;
    }
    size_t max = 8 + r->n * MAX_RULE_INSNS;
    _cleanup_free_ struct bpf_insn *insns = xnew(struct bpf_insn, max);
    int n = cg_devices_bpf_build(r, insns, max);
    if (n < 0)
        return err_set(e, n, "oci.Linux.Resources.Devices: too many rules");
    _cleanup_close_ int prog = prog_load(insns, (size_t)n);
    if (prog < 0)
        return err_set(e, prog,
                       "oci.Linux.Resources.Devices: the kernel refused the device program "
                       "(%d instructions)",
                       n);
    int rr = prog_attach(BPF_PROG_ATTACH, cgfd, prog);
    if (rr < 0)
        return err_set(e, rr, "oci.Linux.Resources.Devices: cannot attach the device program to %s",
                       cg->dirs[0]);
    /* The new rules hold from here: only now drop the old ones. */
    detach_old(cg, cgfd);
    cg->dev_prog_fd = TAKE_FD(prog);
    return 0;
}

void cg_devices_bpf_release(struct cgroup *cg)
{
    /* The attachment lives as long as the cgroup; this is only our handle. */
    if (cg->dev_prog_fd >= 0)
        close(cg->dev_prog_fd);
    cg->dev_prog_fd = -1;
}
