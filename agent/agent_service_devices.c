/* Glue: devices and block storages of CreateContainer; see
 * agent/agent_service_devices.h. */
#include "agent/agent_service_devices.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent.h"
#include "agent/agent_service-internal.h"
#include "agent/devices.h"
#include "agent/oci_devices.h"
#include "agent/storage.h"
#include "lib/compiler.h"
#include "lib/xalloc.h"

#define MAX_DEVICES 256

/* Device types of the Kata agent that this agent does not handle yet. */
static const char *const other_types[] = {"mmioblk", "blk-ccw",    "scsi",    "nvdimm",
                                          "vfio-pci", "vfio-pci-gk", "vfio-ap", "vfio-ap-cold",
                                          "vfio"};

static bool is_blk_type(const char *t)
{
    return strcmp(t, "blk") == 0 || strcmp(t, "virtio-blk") == 0;
}

struct prepare {
    struct ttrpc_call *call;
    struct agent *agent;
    const Grpc__CreateContainerRequest *req;
    agent_service_ready_fn ready;
    size_t n, n_dev;  /* v[0..n_dev): req->devices[dev_idx[i]]; then storages */
    size_t *idx;      /* index into req->devices or req->storages */
    struct devices_blk *v;
    void *owned;      /* freed with p: prepare_storages()'s made-up request */
};

static void prepare_free(struct prepare *p)
{
    free(p->owned);
    free(p->idx);
    free(p->v);
    free(p);
}

static int check_devices(const Grpc__CreateContainerRequest *req, struct err *e)
{
    if (req->n_devices > MAX_DEVICES)
        return err_set(e, -E2BIG, "devices: more than %d", MAX_DEVICES);
    for (size_t i = 0; i < req->n_devices; i++) {
        const Grpc__Device *d = req->devices[i];
        const char *t = d->type ? d->type : "";
        if (!*t)
            return err_set(e, -EINVAL, "devices[%zu].type: missing", i);
        if (!d->container_path || d->container_path[0] != '/')
            return err_set(e, -EINVAL, "devices[%zu].container_path: \"%s\" is not absolute", i,
                           d->container_path ? d->container_path : "");
        for (size_t j = 0; j < i; j++)
            if (strcmp(req->devices[j]->container_path, d->container_path) == 0)
                return err_set(e, -EINVAL, "devices[%zu].container_path: %s is given twice", i,
                               d->container_path);
        if (is_blk_type(t)) {
            if (!d->id || !*d->id)
                return err_set(e, -EINVAL, "devices[%zu].id: missing (the PCI path of a %s device)",
                               i, t);
            continue;
        }
        for (size_t j = 0; j < ELEMENTSOF(other_types); j++)
            if (strcmp(t, other_types[j]) == 0)
                return err_set(e, -ENOSYS, "devices[%zu].type: \"%s\" devices are not supported",
                               i, t);
        return err_set(e, -EINVAL, "devices[%zu].type: \"%s\" is unknown", i, t);
    }
    return 0;
}

static int rewrite_spec(struct prepare *p, struct err *e)
{
    _cleanup_free_ struct oci_devices_update *u =
        xnew(struct oci_devices_update, p->n_dev ? p->n_dev : 1);
    for (size_t i = 0; i < p->n_dev; i++) {
        const Grpc__Device *d = p->req->devices[p->idx[i]];
        u[i] = (struct oci_devices_update){p->idx[i], d->container_path, p->v[i].major,
                                           p->v[i].minor};
    }
    return oci_devices_rewrite(p->req->oci, u, p->n_dev, e);
}

static void waited(void *userdata, int r, const struct err *werr)
{
    struct prepare *p = userdata;
    struct err e = ERR_INIT;

    if (ttrpc_call_cancelled(p->call)) {
        ttrpc_call_fail(p->call, TTRPC_CANCELLED, "%s cancelled", ttrpc_call_method(p->call));
        return prepare_free(p);
    }
    if (r < 0) {
        agent_service_fail(p->call, werr);
        return prepare_free(p);
    }
    if (rewrite_spec(p, &e) < 0) {
        agent_service_fail(p->call, &e);
        return prepare_free(p);
    }
    _cleanup_free_ const char **devs = NULL;
    if (p->n > p->n_dev) {
        devs = xnew(const char *, p->req->n_storages);
        for (size_t i = p->n_dev; i < p->n; i++)
            devs[p->idx[i]] = p->v[i].dev_path;
    }
    p->ready(p->call, p->agent, p->req, devs);
    prepare_free(p);
}

static void prepare(struct ttrpc_call *call, struct agent *a,
                    const Grpc__CreateContainerRequest *req, agent_service_ready_fn ready,
                    void *owned)
{
    struct err e = ERR_INIT;
    size_t n = 0;

    if (check_devices(req, &e) < 0) {
        free(owned);
        return agent_service_fail(call, &e);
    }
    for (size_t i = 0; i < req->n_devices; i++)
        n += is_blk_type(req->devices[i]->type);
    for (size_t i = 0; i < req->n_storages; i++)
        n += storage_driver_is_blk(req->storages[i]->driver);
    if (n == 0) {
        ready(call, a, req, NULL);
        return free(owned);
    }

    struct prepare *p = xnew(struct prepare, 1);
    p->owned = owned;
    p->call = call;
    p->agent = a;
    p->req = req;
    p->ready = ready;
    p->idx = xnew(size_t, n);
    p->v = xnew(struct devices_blk, n);
    for (size_t i = 0; i < req->n_devices; i++)
        if (is_blk_type(req->devices[i]->type)) {
            p->idx[p->n] = i;
            p->v[p->n++].pci_path = req->devices[i]->id;
        }
    p->n_dev = p->n;
    for (size_t i = 0; i < req->n_storages; i++)
        if (storage_driver_is_blk(req->storages[i]->driver)) {
            const Grpc__Storage *st = req->storages[i];
            if (!st->source || !*st->source) {
                prepare_free(p);
                return (void)ttrpc_call_fail(call, TTRPC_INVALID_ARGUMENT,
                                             "storages[%zu].source: missing (the PCI path of a "
                                             "%s storage)",
                                             i, st->driver);
            }
            p->idx[p->n] = i;
            p->v[p->n++].pci_path = st->source;
        }
    if (devices_wait_blk(a, p->v, p->n, waited, p, &e) < 0) {
        /* Name the field the bad PCI path came from. */
        size_t bad = 0;
        struct devices_pci_path tmp;
        while (bad < p->n && devices_pci_path_parse(p->v[bad].pci_path, &tmp, NULL) == 0)
            bad++;
        if (bad < p->n)
            err_prefix(&e, "%s[%zu].%s", bad < p->n_dev ? "devices" : "storages", p->idx[bad],
                       bad < p->n_dev ? "id" : "source");
        agent_service_fail(call, &e);
        prepare_free(p);
    }
}

void agent_service_devices_prepare(struct ttrpc_call *call, struct agent *a,
                                   const Grpc__CreateContainerRequest *req,
                                   agent_service_ready_fn ready)
{
    prepare(call, a, req, ready, NULL);
}

/* CreateSandbox's storages go through the same path as a CreateContainer
 * request that has nothing else. */
struct storages_req {
    Grpc__CreateContainerRequest req;
    agent_service_storages_ready_fn ready;
    void *userdata;
};

static void storages_ready(struct ttrpc_call *call, struct agent *a,
                           const Grpc__CreateContainerRequest *req,
                           const char *const *storage_devices)
{
    const struct storages_req *sr = (const struct storages_req *)req;
    sr->ready(call, a, sr->userdata, storage_devices);
}

void agent_service_devices_prepare_storages(struct ttrpc_call *call, struct agent *a,
                                            Grpc__Storage **storages, size_t n_storages,
                                            agent_service_storages_ready_fn ready, void *userdata)
{
    struct storages_req *sr = xnew(struct storages_req, 1);
    grpc__create_container_request__init(&sr->req);
    sr->req.storages = storages;
    sr->req.n_storages = n_storages;
    sr->ready = ready;
    sr->userdata = userdata;
    prepare(call, a, &sr->req, storages_ready, sr);
}
