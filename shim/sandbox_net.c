/* Pod networking for the sandbox; see sandbox_net.h. */
#include "shim/sandbox_net.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hypervisor/hv.h"
#include "lib/compiler.h"
#include "lib/err.h"
#include "lib/log.h"
#include "shim/network.h"
#include "shim/runtime_config.h"

#define ROOT_PORTS_MAX 16 /* the schema's bound for pcie_root_port */

static void record_path(const char *sandbox_id, char *buf, size_t size)
{
    snprintf(buf, size, "%s/%s", NETWORK_STATE_DIR, sandbox_id);
}

int sandbox_net_prepare(const char *sandbox_id, const struct runtime_config *cfg,
                        const char *config_json, struct hv_config *hv, struct network **ret,
                        struct err *e)
{
    char netns[sizeof(((struct network *)0)->netns)], rec[PATH_MAX];
    struct network *n = NULL;
    int r;

    *ret = NULL;
    /* Kata's rule: the VM then stays in the host's namespace, unplugged.
     * The mock driver's "guest" is a host process: nothing to plug. */
    if (cfg->disable_new_netns || hv->kind == HV_KIND_MOCK)
        return 0;
    if ((r = network_netns_from_spec(config_json, netns, sizeof(netns), e)) < 0)
        return r;
    if (!netns[0]) /* a fresh namespace: nothing in it yet */
        return 0;
    if ((r = network_setup(netns, cfg->net_model, &n, e)) < 0)
        return err_prefix(e, "pod network (%s)", netns);
    if (n->n_eps == 0) {
        log_info("pod network %s: no interface to carry", netns);
        network_free(n);
        return 0;
    }
    record_path(sandbox_id, rec, sizeof(rec));
    if ((mkdir("/run/vc", 0711) < 0 && errno != EEXIST) ||
        (mkdir(NETWORK_STATE_DIR, 0700) < 0 && errno != EEXIST))
        r = err_set(e, -errno, "%s: %s", NETWORK_STATE_DIR, strerror(errno));
    else
        r = network_save(n, rec, e);
    if (r < 0) {
        sandbox_net_teardown(sandbox_id, n);
        return r;
    }
    /* q35 hotplugs PCI devices only onto root ports. */
    if (hv->kind == HV_KIND_QEMU)
        hv->pcie_root_ports = MIN(hv->pcie_root_ports + (unsigned)n->n_eps, ROOT_PORTS_MAX);
    *ret = n;
    return 0;
}

int sandbox_net_hotplug(struct hv_vm *vm, struct network *n, struct err *e)
{
    int r = 0;

    for (size_t i = 0; n && i < n->n_eps && r >= 0; i++) {
        struct network_endpoint *ep = &n->eps[i];
        struct hv_device d = {.kind = HV_DEVICE_NET_TAP, .tap_fds = &ep->tap_fd,
                              .n_tap_fds = 1, .mtu = ep->mtu};
        snprintf(d.id, sizeof(d.id), "net%zu", i);
        snprintf(d.mac, sizeof(d.mac), "%s", ep->mac);
        r = hv_vm_hotplug_add(vm, &d, e);
        if (r < 0) {
            err_prefix(e, "interface %s (tap %s)", ep->name, ep->tap);
            break;
        }
        snprintf(ep->guest_pci_path, sizeof(ep->guest_pci_path), "%s", d.guest_pci_path);
        log_info("network: %s plugged into the VM as %s (PCI %s)", ep->name, d.id,
                 d.guest_pci_path[0] ? d.guest_pci_path : "unknown");
    }
    /* QEMU holds its own copies now: the taps go away when it exits. */
    network_close_taps(n);
    return r;
}

void sandbox_net_teardown(const char *sandbox_id, struct network *n)
{
    char rec[PATH_MAX];
    struct err e = ERR_INIT;

    if (!n)
        return;
    if (network_teardown(n, &e) < 0)
        log_warn("sandbox %s: network teardown: %s", sandbox_id, err_msg(&e));
    record_path(sandbox_id, rec, sizeof(rec));
    unlink(rec);
    network_free(n);
}

void sandbox_net_cleanup(const char *sandbox_id)
{
    char rec[PATH_MAX];
    struct err e = ERR_INIT;

    record_path(sandbox_id, rec, sizeof(rec));
    if (network_cleanup_saved(rec, &e) < 0)
        fprintf(stderr, "sandbox %s: network cleanup: %s\n", sandbox_id, err_msg(&e));
}
