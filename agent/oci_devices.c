/* Glue: the spec's devices rewritten for the guest; see agent/oci_devices.h. */
#include "agent/oci_devices.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "lib/err.h"
#include "lib/log.h"
#include "lib/xalloc.h"

static void add_allow_rule(Grpc__LinuxResources *res, uint32_t major, uint32_t minor)
{
    Grpc__LinuxDeviceCgroup *rule = xnew(Grpc__LinuxDeviceCgroup, 1);
    grpc__linux_device_cgroup__init(rule);
    rule->allow = true;
    rule->type = xstrdup("b");
    rule->access = xstrdup("rwm");
    rule->major = major;
    rule->minor = minor;
    res->devices = xrealloc(res->devices, (res->n_devices + 1) * sizeof(*res->devices));
    res->devices[res->n_devices++] = rule;
}

int oci_devices_rewrite(Grpc__Spec *spec, const struct oci_devices_update *u, size_t n,
                        struct err *e)
{
    Grpc__Linux *lx = spec ? spec->linux_ : NULL;

    if (n && !lx)
        return err_set(e, -EINVAL, "oci.Linux: missing, but devices were given");
    /* Find every entry first: a failure must leave the spec as it was. */
    for (size_t i = 0; i < n; i++) {
        bool found = false;
        for (size_t k = 0; k < lx->n_devices && !found; k++)
            found = lx->devices[k]->path && strcmp(lx->devices[k]->path, u[i].container_path) == 0;
        if (!found)
            return err_set(e, -EINVAL,
                           "devices[%zu].container_path: %s is not among oci.Linux.Devices",
                           u[i].index, u[i].container_path);
    }
    if (n && !lx->resources) {
        lx->resources = xnew(Grpc__LinuxResources, 1);
        grpc__linux_resources__init(lx->resources);
    }
    for (size_t i = 0; i < n; i++) {
        Grpc__LinuxDevice *sd = NULL;
        for (size_t k = 0; k < lx->n_devices && !sd; k++)
            if (lx->devices[k]->path && strcmp(lx->devices[k]->path, u[i].container_path) == 0)
                sd = lx->devices[k];
        if (!sd)
            continue; /* cannot happen: checked above */
        int64_t host_major = sd->major, host_minor = sd->minor;
        const char *type = sd->type && *sd->type ? sd->type : "b";
        log_info("device %s: %lld:%lld in the spec becomes the guest's %u:%u", u[i].container_path,
                 (long long)host_major, (long long)host_minor, u[i].major, u[i].minor);
        sd->major = u[i].major;
        sd->minor = u[i].minor;
        /* Rules written for the host's numbers now mean the guest device. */
        Grpc__LinuxResources *res = lx->resources;
        for (size_t k = 0; k < res->n_devices; k++) {
            Grpc__LinuxDeviceCgroup *rule = res->devices[k];
            if (rule->major == host_major && rule->minor == host_minor && rule->type &&
                strcmp(rule->type, type) == 0) {
                rule->major = u[i].major;
                rule->minor = u[i].minor;
            }
        }
        add_allow_rule(res, u[i].major, u[i].minor);
    }
    return 0;
}
