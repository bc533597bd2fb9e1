/* Destructors for the plain-C container configuration. */
#include <stdlib.h>

#include "agent/oci_spec.h"

size_t strv_length(char *const *v)
{
    size_t n = 0;
    while (v && v[n])
        n++;
    return n;
}

char **strv_free(char **v)
{
    for (size_t i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
    return NULL;
}

void oci_process_done(struct oci_process *p)
{
    free(p->gids);
    strv_free(p->args);
    strv_free(p->env);
    free(p->cwd);
    strv_free(p->caps.bounding);
    strv_free(p->caps.effective);
    strv_free(p->caps.inheritable);
    strv_free(p->caps.permitted);
    strv_free(p->caps.ambient);
    for (size_t i = 0; i < p->n_rlimits; i++)
        free(p->rlimits[i].type);
    free(p->rlimits);
    *p = (struct oci_process){0};
}

void oci_resources_done(struct oci_resources *r)
{
    free(r->cpus);
    free(r->mems);
    free(r->dev_rules);
    *r = (struct oci_resources){0};
}

static void seccomp_free(struct oci_seccomp *sc)
{
    if (!sc)
        return;
    free(sc->default_action);
    strv_free(sc->arches);
    strv_free(sc->flags);
    for (size_t i = 0; i < sc->n_syscalls; i++) {
        struct oci_syscall *c = &sc->syscalls[i];
        strv_free(c->names);
        free(c->action);
        for (size_t j = 0; j < c->n_args; j++)
            free(c->args[j].op);
        free(c->args);
    }
    free(sc->syscalls);
    free(sc);
}

struct oci_spec *oci_spec_free(struct oci_spec *s)
{
    if (!s)
        return NULL;
    oci_process_done(&s->process);
    free(s->root_path);
    free(s->hostname);
    for (size_t i = 0; i < s->n_mounts; i++) {
        free(s->mounts[i].destination);
        free(s->mounts[i].source);
        free(s->mounts[i].type);
        strv_free(s->mounts[i].options);
    }
    free(s->mounts);
    for (size_t i = 0; i < s->n_namespaces; i++)
        free(s->namespaces[i].path);
    free(s->namespaces);
    strv_free(s->sysctl_keys);
    strv_free(s->sysctl_values);
    for (size_t i = 0; i < s->n_devices; i++)
        free(s->devices[i].path);
    free(s->devices);
    free(s->uid_map);
    free(s->gid_map);
    seccomp_free(s->seccomp);
    free(s->rootfs_propagation);
    strv_free(s->masked_paths);
    strv_free(s->readonly_paths);
    free(s->cgroups_path);
    oci_resources_done(&s->resources);
    free(s);
    return NULL;
}

const struct oci_namespace *oci_spec_namespace(const struct oci_spec *s, int flag)
{
    for (size_t i = 0; i < s->n_namespaces; i++)
        if (s->namespaces[i].flag == flag)
            return &s->namespaces[i];
    return NULL;
}
