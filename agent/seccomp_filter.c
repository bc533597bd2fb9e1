/* OCI seccomp profiles -> libseccomp filters. */
#include <ctype.h>
#include <errno.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>

#include "agent/oci_spec.h"
#include "agent/seccomp_filter.h"
#include "lib/compiler.h"
#include "lib/err.h"

static int action_of(const char *name, bool has_errno, uint32_t errno_ret, uint32_t *ret)
{
    if (strcmp(name, "SCMP_ACT_KILL") == 0 || strcmp(name, "SCMP_ACT_KILL_THREAD") == 0)
        *ret = SCMP_ACT_KILL_THREAD;
    else if (strcmp(name, "SCMP_ACT_KILL_PROCESS") == 0)
        *ret = SCMP_ACT_KILL_PROCESS;
    else if (strcmp(name, "SCMP_ACT_TRAP") == 0)
        *ret = SCMP_ACT_TRAP;
    else if (strcmp(name, "SCMP_ACT_ERRNO") == 0)
        *ret = SCMP_ACT_ERRNO(has_errno ? errno_ret : EPERM);
    else if (strcmp(name, "SCMP_ACT_TRACE") == 0)
        *ret = SCMP_ACT_TRACE(has_errno ? errno_ret : EPERM);
    else if (strcmp(name, "SCMP_ACT_ALLOW") == 0)
        *ret = SCMP_ACT_ALLOW;
    else if (strcmp(name, "SCMP_ACT_LOG") == 0)
        *ret = SCMP_ACT_LOG;
    else
        return -EINVAL;
    return 0;
}

static int op_of(const char *name, enum scmp_compare *ret)
{
    static const struct {
        const char *name;
        enum scmp_compare op;
    } ops[] = {{"SCMP_CMP_NE", SCMP_CMP_NE}, {"SCMP_CMP_LT", SCMP_CMP_LT},
               {"SCMP_CMP_LE", SCMP_CMP_LE}, {"SCMP_CMP_EQ", SCMP_CMP_EQ},
               {"SCMP_CMP_GE", SCMP_CMP_GE}, {"SCMP_CMP_GT", SCMP_CMP_GT},
               {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ}};
    for (size_t i = 0; i < ELEMENTSOF(ops); i++)
        if (strcmp(name, ops[i].name) == 0) {
            *ret = ops[i].op;
            return 0;
        }
    return -EINVAL;
}

static int arch_of(const char *name, uint32_t *ret)
{
    char lower[32];
    if (strncmp(name, "SCMP_ARCH_", 10) == 0)
        name += 10;
    size_t i;
    for (i = 0; name[i] && i < sizeof(lower) - 1; i++)
        lower[i] = (char)tolower((unsigned char)name[i]);
    lower[i] = '\0';
    uint32_t a = seccomp_arch_resolve_name(lower);
    if (!a)
        return -EINVAL;
    *ret = a;
    return 0;
}

static int build(const struct oci_seccomp *sc, bool nnp, scmp_filter_ctx *ret, struct err *e)
{
    uint32_t def;
    if (action_of(sc->default_action, false, 0, &def) < 0)
        return err_set(e, -EINVAL, "oci.Linux.Seccomp.DefaultAction: unknown action \"%s\"",
                       sc->default_action);
    scmp_filter_ctx ctx = seccomp_init(def);
    if (!ctx)
        return err_set(e, -ENOMEM, "seccomp_init failed");
    seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, nnp ? 1 : 0);
    for (size_t i = 0; sc->arches && sc->arches[i]; i++) {
        uint32_t a;
        if (arch_of(sc->arches[i], &a) < 0) {
            seccomp_release(ctx);
            return err_set(e, -EINVAL, "oci.Linux.Seccomp.Architectures[%zu]: unknown \"%s\"", i,
                           sc->arches[i]);
        }
        int r = seccomp_arch_add(ctx, a);
        if (r < 0 && r != -EEXIST) {
            seccomp_release(ctx);
            return err_set(e, r, "oci.Linux.Seccomp.Architectures[%zu]: cannot add", i);
        }
    }
    for (size_t i = 0; i < sc->n_syscalls; i++) {
        const struct oci_syscall *c = &sc->syscalls[i];
        uint32_t act;
        struct scmp_arg_cmp cmp[6];
        if (action_of(c->action, c->has_errno, c->errno_ret, &act) < 0) {
            seccomp_release(ctx);
            return err_set(e, -EINVAL, "oci.Linux.Seccomp.Syscalls[%zu].Action: unknown \"%s\"", i,
                           c->action);
        }
        if (!c->names || !c->names[0]) {
            seccomp_release(ctx);
            return err_set(e, -EINVAL, "oci.Linux.Seccomp.Syscalls[%zu].Names: empty", i);
        }
        for (size_t j = 0; j < c->n_args; j++) {
            enum scmp_compare op;
            if (op_of(c->args[j].op, &op) < 0 || c->args[j].index > 5) {
                seccomp_release(ctx);
                return err_set(e, -EINVAL, "oci.Linux.Seccomp.Syscalls[%zu].Args[%zu]: bad op "
                                           "\"%s\" or index %u", i, j, c->args[j].op,
                               c->args[j].index);
            }
            cmp[j] = (struct scmp_arg_cmp){c->args[j].index, op, c->args[j].value,
                                           c->args[j].value2};
        }
        if (act == def)
            continue; /* libseccomp refuses rules that repeat the default */
        for (size_t k = 0; c->names[k]; k++) {
            int nr = seccomp_syscall_resolve_name(c->names[k]);
            if (nr == __NR_SCMP_ERROR)
                continue;
            int r = seccomp_rule_add_array(ctx, act, nr, (unsigned)c->n_args, cmp);
            if (r < 0) {
                seccomp_release(ctx);
                return err_set(e, r, "oci.Linux.Seccomp.Syscalls[%zu]: cannot add a rule for %s",
                               i, c->names[k]);
            }
        }
    }
    *ret = ctx;
    return 0;
}

int seccomp_filter_validate(const struct oci_seccomp *sc, struct err *e)
{
    scmp_filter_ctx ctx;
    int r = build(sc, false, &ctx, e);
    if (r == 0)
        seccomp_release(ctx);
    return r;
}

int seccomp_filter_load(const struct oci_seccomp *sc, bool no_new_privs, struct err *e)
{
    scmp_filter_ctx ctx;
    int r = build(sc, no_new_privs, &ctx, e);
    if (r < 0)
        return r;
    r = seccomp_load(ctx);
    seccomp_release(ctx);
    return r < 0 ? err_set(e, r, "cannot load the seccomp filter") : 0;
}
