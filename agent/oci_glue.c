/* Glue between oci.proto and struct oci_spec (see agent/oci_glue.h). The
 * checks here are structural (required fields, known enum strings, absolute
 * paths); names that need a library to judge (capabilities, syscalls) are
 * checked in the domain by caps.c and seccomp.c. */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/oci_glue.h"
#include "agent/oci_spec.h"
#include "kata/oci.pb-c.h"
#include "lib/err.h"
#include "lib/xalloc.h"

#define MAX_ITEMS 4096 /* mounts, devices, rules...: a spec is not a database */

static char *dup_or_null(const char *s)
{
    return s && *s ? xstrdup(s) : NULL;
}

static char **strv_dup(char *const *v, size_t n)
{
    char **r = xnew(char *, n + 1);
    for (size_t i = 0; i < n; i++)
        r[i] = xstrdup(v[i] ? v[i] : "");
    return r;
}

static int ns_flag(const char *type)
{
    static const struct {
        const char *name;
        int flag;
    } table[] = {
        {"pid", CLONE_NEWPID},     {"network", CLONE_NEWNET}, {"mount", CLONE_NEWNS},
        {"ipc", CLONE_NEWIPC},     {"uts", CLONE_NEWUTS},     {"user", CLONE_NEWUSER},
        {"cgroup", CLONE_NEWCGROUP},
    };
    for (size_t i = 0; i < ELEMENTSOF(table); i++)
        if (strcmp(type, table[i].name) == 0)
            return table[i].flag;
    return 0;
}

void oci_glue_resources(const struct Grpc__LinuxResources *pb, struct oci_resources *r)
{
    *r = (struct oci_resources){0};
    if (!pb)
        return;
    if (pb->memory) {
        r->mem_limit = pb->memory->limit;
        r->mem_reservation = pb->memory->reservation;
        r->mem_swap = pb->memory->swap;
        r->mem_swappiness = pb->memory->swappiness;
        r->mem_swappiness_set = pb->memory->swappiness != 0;
    }
    if (pb->cpu) {
        r->cpu_shares = pb->cpu->shares;
        r->cpu_quota = pb->cpu->quota;
        r->cpu_period = pb->cpu->period;
        r->cpus = dup_or_null(pb->cpu->cpus);
        r->mems = dup_or_null(pb->cpu->mems);
    }
    if (pb->pids)
        r->pids_limit = pb->pids->limit;
    if (pb->blockio)
        r->blkio_weight = pb->blockio->weight;
    r->n_dev_rules = pb->n_devices;
    r->dev_rules = pb->n_devices ? xnew(struct oci_dev_rule, pb->n_devices) : NULL;
    for (size_t i = 0; i < pb->n_devices; i++) {
        const Grpc__LinuxDeviceCgroup *d = pb->devices[i];
        struct oci_dev_rule *o = &r->dev_rules[i];
        const char *t = d->type ? d->type : "", *acc = d->access ? d->access : "";
        o->allow = d->allow;
        o->type = (char)(!*t ? 'a' : t[1] ? '?' : t[0]);
        o->major = d->major < 0 ? -1 : d->major;
        o->minor = d->minor < 0 ? -1 : d->minor;
        snprintf(o->access, sizeof(o->access), "%s", !*acc ? "rwm" : strlen(acc) > 3 ? "?" : acc);
    }
}

static char **caps_dup(char *const *v, size_t n)
{
    return strv_dup(v, n);
}

int oci_glue_process(const struct Grpc__Process *pb, struct oci_process *p, struct err *e)
{
    *p = (struct oci_process){0};
    if (!pb)
        return err_set(e, -EINVAL, "oci.Process: missing");
    if (pb->n_args == 0 || !pb->args[0] || !*pb->args[0])
        return err_set(e, -EINVAL, "oci.Process.Args: must not be empty");
    if (pb->n_args > MAX_ITEMS || pb->n_env > MAX_ITEMS || pb->n_rlimits > 64)
        return err_set(e, -E2BIG, "oci.Process: too many Args, Env or Rlimits");
    if (pb->cwd && *pb->cwd && pb->cwd[0] != '/')
        return err_set(e, -EINVAL, "oci.Process.Cwd: \"%s\" is not an absolute path", pb->cwd);
    for (size_t i = 0; i < pb->n_env; i++)
        if (!pb->env[i] || !strchr(pb->env[i], '='))
            return err_set(e, -EINVAL, "oci.Process.Env[%zu]: not of the form KEY=VALUE", i);
    p->terminal = pb->terminal;
    if (pb->consolesize) {
        p->rows = pb->consolesize->height;
        p->cols = pb->consolesize->width;
    }
    if (pb->user) {
        if (pb->user->n_additionalgids > 64) {
            oci_process_done(p);
            return err_set(e, -E2BIG, "oci.Process.User.AdditionalGids: more than 64");
        }
        p->uid = pb->user->uid;
        p->gid = pb->user->gid;
        p->n_gids = pb->user->n_additionalgids;
        p->gids = xnew(uint32_t, p->n_gids + 1);
        if (p->n_gids)
            memcpy(p->gids, pb->user->additionalgids, sizeof(uint32_t) * p->n_gids);
    }
    p->args = strv_dup(pb->args, pb->n_args);
    p->env = strv_dup(pb->env, pb->n_env);
    p->cwd = xstrdup(pb->cwd && *pb->cwd ? pb->cwd : "/");
    if (pb->capabilities) {
        const Grpc__LinuxCapabilities *c = pb->capabilities;
        p->has_caps = true;
        p->caps.bounding = caps_dup(c->bounding, c->n_bounding);
        p->caps.effective = caps_dup(c->effective, c->n_effective);
        p->caps.inheritable = caps_dup(c->inheritable, c->n_inheritable);
        p->caps.permitted = caps_dup(c->permitted, c->n_permitted);
        p->caps.ambient = caps_dup(c->ambient, c->n_ambient);
    }
    p->n_rlimits = pb->n_rlimits;
    p->rlimits = xnew(struct oci_rlimit, pb->n_rlimits + 1);
    for (size_t i = 0; i < pb->n_rlimits; i++) {
        p->rlimits[i].type = xstrdup(pb->rlimits[i]->type ? pb->rlimits[i]->type : "");
        p->rlimits[i].hard = pb->rlimits[i]->hard;
        p->rlimits[i].soft = pb->rlimits[i]->soft;
    }
    p->no_new_privs = pb->nonewprivileges;
    p->oom_score_adj = pb->oomscoreadj;
    return 0;
}

static int glue_mounts(const Grpc__Spec *pb, struct oci_spec *s, struct err *e)
{
    if (pb->n_mounts > MAX_ITEMS)
        return err_set(e, -E2BIG, "oci.Mounts: more than %d", MAX_ITEMS);
    s->mounts = xnew(struct oci_mount, pb->n_mounts + 1);
    for (size_t i = 0; i < pb->n_mounts; i++) {
        const Grpc__Mount *m = pb->mounts[i];
        if (!m->destination || m->destination[0] != '/')
            return err_set(e, -EINVAL, "oci.Mounts[%zu].destination: \"%s\" is not an absolute path",
                           i, m->destination ? m->destination : "");
        if (strstr(m->destination, "/../") || strcmp(m->destination + strlen(m->destination) -
                                                          (strlen(m->destination) >= 3 ? 3 : 0),
                                                      "/..") == 0)
            return err_set(e, -EINVAL, "oci.Mounts[%zu].destination: \"%s\" contains \"..\"", i,
                           m->destination);
        if (!m->type || !*m->type)
            return err_set(e, -EINVAL, "oci.Mounts[%zu].type: missing", i);
        s->mounts[i].destination = xstrdup(m->destination);
        s->mounts[i].source = xstrdup(m->source ? m->source : "");
        s->mounts[i].type = xstrdup(m->type);
        s->mounts[i].options = strv_dup(m->options, m->n_options);
        s->n_mounts = i + 1;
    }
    return 0;
}

static int glue_seccomp(const Grpc__LinuxSeccomp *pb, struct oci_spec *s, struct err *e)
{
    if (!pb)
        return 0;
    if (pb->n_syscalls > MAX_ITEMS)
        return err_set(e, -E2BIG, "oci.Linux.Seccomp.Syscalls: more than %d", MAX_ITEMS);
    struct oci_seccomp *sc = s->seccomp = xnew(struct oci_seccomp, 1);
    sc->default_action = xstrdup(pb->defaultaction ? pb->defaultaction : "");
    sc->arches = strv_dup(pb->architectures, pb->n_architectures);
    sc->flags = strv_dup(pb->flags, pb->n_flags);
    sc->syscalls = xnew(struct oci_syscall, pb->n_syscalls + 1);
    for (size_t i = 0; i < pb->n_syscalls; i++) {
        const Grpc__LinuxSyscall *c = pb->syscalls[i];
        struct oci_syscall *d = &sc->syscalls[i];
        sc->n_syscalls = i + 1;
        d->names = strv_dup(c->names, c->n_names);
        d->action = xstrdup(c->action ? c->action : "");
        d->has_errno = c->errno_ret_case == GRPC__LINUX_SYSCALL__ERRNO_RET_ERRNORET;
        d->errno_ret = d->has_errno ? c->errnoret : 0;
        if (c->n_args > 6)
            return err_set(e, -EINVAL, "oci.Linux.Seccomp.Syscalls[%zu].Args: more than 6", i);
        d->args = xnew(struct oci_seccomp_arg, c->n_args + 1);
        for (size_t j = 0; j < c->n_args; j++) {
            d->args[j].index = (unsigned)c->args[j]->index;
            d->args[j].value = c->args[j]->value;
            d->args[j].value2 = c->args[j]->valuetwo;
            d->args[j].op = xstrdup(c->args[j]->op ? c->args[j]->op : "");
            d->n_args = j + 1;
        }
    }
    return 0;
}

static int glue_linux(const Grpc__Linux *pb, struct oci_spec *s, struct err *e)
{
    if (pb->n_namespaces > 16 || pb->n_devices > MAX_ITEMS || pb->n_sysctl > MAX_ITEMS ||
        pb->n_uidmappings > 340 || pb->n_gidmappings > 340)
        return err_set(e, -E2BIG, "oci.Linux: too many Namespaces, Devices, Sysctl or mappings");
    s->namespaces = xnew(struct oci_namespace, pb->n_namespaces + 1);
    for (size_t i = 0; i < pb->n_namespaces; i++) {
        const char *type = pb->namespaces[i]->type ? pb->namespaces[i]->type : "";
        int flag = ns_flag(type);
        if (!flag)
            return err_set(e, -EINVAL, "oci.Linux.Namespaces[%zu].Type: unknown namespace type \"%s\"",
                           i, type);
        if (oci_spec_namespace(s, flag))
            return err_set(e, -EINVAL, "oci.Linux.Namespaces[%zu].Type: \"%s\" given twice", i, type);
        s->namespaces[i].flag = flag;
        s->namespaces[i].path = dup_or_null(pb->namespaces[i]->path);
        s->n_namespaces = i + 1;
    }
    s->devices = xnew(struct oci_device, pb->n_devices + 1);
    for (size_t i = 0; i < pb->n_devices; i++) {
        const Grpc__LinuxDevice *d = pb->devices[i];
        if (!d->path || d->path[0] != '/')
            return err_set(e, -EINVAL, "oci.Linux.Devices[%zu].Path: not an absolute path", i);
        if (!d->type || strlen(d->type) != 1 || !strchr("cbup", d->type[0]))
            return err_set(e, -EINVAL, "oci.Linux.Devices[%zu].Type: \"%s\" is not c, b, u or p", i,
                           d->type ? d->type : "");
        s->devices[i] = (struct oci_device){xstrdup(d->path), d->type[0], d->major, d->minor,
                                            d->filemode, d->uid, d->gid};
        s->n_devices = i + 1;
    }
    s->sysctl_keys = xnew(char *, pb->n_sysctl + 1);
    s->sysctl_values = xnew(char *, pb->n_sysctl + 1);
    for (size_t i = 0; i < pb->n_sysctl; i++) {
        const char *k = pb->sysctl[i]->key ? pb->sysctl[i]->key : "";
        if (!*k || strstr(k, "..") || strchr(k, '/') == k)
            return err_set(e, -EINVAL, "oci.Linux.Sysctl: bad key \"%s\"", k);
        s->sysctl_keys[i] = xstrdup(k);
        s->sysctl_values[i] = xstrdup(pb->sysctl[i]->value ? pb->sysctl[i]->value : "");
    }
    s->n_uid_map = pb->n_uidmappings;
    s->uid_map = xnew(struct oci_idmap, s->n_uid_map + 1);
    for (size_t i = 0; i < s->n_uid_map; i++)
        s->uid_map[i] = (struct oci_idmap){pb->uidmappings[i]->hostid,
                                           pb->uidmappings[i]->containerid, pb->uidmappings[i]->size};
    s->n_gid_map = pb->n_gidmappings;
    s->gid_map = xnew(struct oci_idmap, s->n_gid_map + 1);
    for (size_t i = 0; i < s->n_gid_map; i++)
        s->gid_map[i] = (struct oci_idmap){pb->gidmappings[i]->hostid,
                                           pb->gidmappings[i]->containerid, pb->gidmappings[i]->size};
    s->rootfs_propagation = dup_or_null(pb->rootfspropagation);
    s->masked_paths = strv_dup(pb->maskedpaths, pb->n_maskedpaths);
    s->readonly_paths = strv_dup(pb->readonlypaths, pb->n_readonlypaths);
    s->cgroups_path = dup_or_null(pb->cgroupspath);
    if (pb->resources) {
        s->has_resources = true;
        oci_glue_resources(pb->resources, &s->resources);
    }
    return glue_seccomp(pb->seccomp, s, e);
}

int oci_glue_spec(const Grpc__Spec *pb, struct oci_spec **ret_spec, struct err *e)
{
    _cleanup_oci_spec_ struct oci_spec *s = NULL;
    int r;

    if (!pb)
        return err_set(e, -EINVAL, "oci: missing OCI spec");
    s = xnew(struct oci_spec, 1);
    r = oci_glue_process(pb->process, &s->process, e);
    if (r < 0)
        return r;
    if (!pb->root || !pb->root->path || !*pb->root->path)
        return err_set(e, -EINVAL, "oci.Root.Path: missing");
    s->root_path = xstrdup(pb->root->path);
    s->root_readonly = pb->root->readonly;
    s->hostname = dup_or_null(pb->hostname);
    if (s->hostname && strlen(s->hostname) > 64)
        return err_set(e, -EINVAL, "oci.Hostname: longer than 64 characters");
    r = glue_mounts(pb, s, e);
    if (r < 0)
        return r;
    if (pb->linux_) {
        r = glue_linux(pb->linux_, s, e);
        if (r < 0)
            return r;
    } else {
        s->namespaces = xnew(struct oci_namespace, 1);
        s->devices = xnew(struct oci_device, 1);
        s->sysctl_keys = xnew(char *, 1);
        s->sysctl_values = xnew(char *, 1);
        s->masked_paths = xnew(char *, 1);
        s->readonly_paths = xnew(char *, 1);
    }
    *ret_spec = TAKE_PTR(s);
    return 0;
}

int oci_glue_unpack(const void *blob, size_t size, struct oci_spec **ret_spec, struct err *e)
{
    Grpc__Spec *pb = grpc__spec__unpack(NULL, size, blob);
    if (!pb)
        return err_set(e, -EBADMSG, "oci: cannot decode the packed spec");
    int r = oci_glue_spec(pb, ret_spec, e);
    grpc__spec__free_unpacked(pb, NULL);
    return r;
}

int oci_glue_pack_exec(const void *spec_blob, size_t spec_size, const Grpc__Process *proc,
                       void **ret_blob, size_t *ret_size)
{
    Grpc__Spec *pb = grpc__spec__unpack(NULL, spec_size, spec_blob);
    if (!pb)
        return -EBADMSG;
    Grpc__Process *saved = pb->process;
    pb->process = (Grpc__Process *)proc;
    size_t n = grpc__spec__get_packed_size(pb);
    uint8_t *buf = xmalloc(n ? n : 1);
    grpc__spec__pack(pb, buf);
    pb->process = saved;
    grpc__spec__free_unpacked(pb, NULL);
    *ret_blob = buf;
    *ret_size = n;
    return 0;
}
