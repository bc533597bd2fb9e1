/* The agent's network RPCs in a real QEMU guest (TCG here, KVM where it
 * works): the test moves into a private network namespace on the host,
 * makes a tap there, boots the real guest image through the hypervisor
 * driver, hotplugs the tap as a virtio-net NIC with a chosen MAC, then
 * configures it in the guest by that MAC (UpdateInterface), adds routes
 * (UpdateRoutes) and reads both back (ListInterfaces, ListRoutes). The tap
 * and the namespace go with the test process; the VM is stopped and its
 * state folder removed. One boot. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "hypervisor/hv.h"
#include "kata/agent.pb-c.h"
#include "kata/types.pb-c.h"
#include "lib/compiler.h"
#include "lib/err.h"
#include "lib/ttrpc/ttrpc.h"
#include "tests/harness/harness.h"
#include "tests/support/agent_ctl_run.h"
#include "tests/support/vm_agent.h"

#define GUEST_MAC "02:00:00:cc:00:01"

static int tap_open(const char *name)
{
    int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        int r = -errno;
        close(fd);
        return r;
    }
    return fd;
}

static bool has_route(const Grpc__Routes *rs, const char *dest, const char *gw, const char *dev)
{
    for (size_t i = 0; i < rs->n_routes; i++)
        if (strcmp(rs->routes[i]->dest, dest) == 0 && strcmp(rs->routes[i]->gateway, gw) == 0 &&
            strcmp(rs->routes[i]->device, dev) == 0)
            return true;
    return false;
}

/* UpdateInterface by MAC, retried while the guest still probes the NIC
 * ("Link not found", the answer Kata's runtime retries on too). */
static int update_interface(struct vma_vm *v, Types__Interface **ret, char *msg, size_t size)
{
    Types__IPAddress ip4 = TYPES__IPADDRESS__INIT, ip6 = TYPES__IPADDRESS__INIT;
    ip4.address = (char *)"10.20.0.2";
    ip4.mask = (char *)"24";
    ip6.family = TYPES__IPFAMILY__v6;
    ip6.address = (char *)"fd00:20::2";
    ip6.mask = (char *)"64";
    Types__IPAddress *ips[] = {&ip4, &ip6};
    Types__Interface iface = TYPES__INTERFACE__INIT;
    iface.device = iface.name = (char *)"eth1";
    iface.hwaddr = (char *)"02:00:00:CC:00:01";
    iface.mtu = 1400;
    iface.n_ipaddresses = 2;
    iface.ipaddresses = ips;
    Grpc__UpdateInterfaceRequest req = GRPC__UPDATE_INTERFACE_REQUEST__INIT;
    req.interface = &iface;
    int code = TTRPC_NOT_FOUND;
    long long end = actl_now_ms() + 60000;
    while (code == TTRPC_NOT_FOUND && actl_now_ms() < end) {
        ProtobufCMessage *resp = NULL;
        code = vma_call(v, "UpdateInterface", &req.base, &types__interface__descriptor, &resp,
                        msg, size);
        if (code == 0)
            *ret = (Types__Interface *)resp;
        else if (code == TTRPC_NOT_FOUND && strstr(msg, "Link not found"))
            nanosleep(&(struct timespec){0, 200 * 1000 * 1000}, NULL);
        else
            break;
    }
    return code;
}

TEST(hotplugged_tap_configured_in_guest)
{
    struct vma_guest guest;
    int r = vma_guest_find(&guest, "guest", false);
    if (r)
        return r;
    if (geteuid() != 0 || unshare(CLONE_NEWNET) < 0)
        return test_skip("cannot unshare a network namespace (needs root)");
    if (access("/dev/net/tun", R_OK | W_OK) < 0)
        return test_skip("no /dev/net/tun");
    _cleanup_close_ int tap = tap_open("vmtap0");
    if (tap < 0)
        return test_skip("cannot create a tap: %s", strerror(-tap));

    const struct vma_opts opts = {.name = "net", .guest = &guest,
                                  .shared_fs = HV_SHARED_FS_NONE, .pcie_root_ports = 2,
                                  .kernel_params = "agent.log=debug"};
    _cleanup_(vma_done) struct vma_vm v = {0};
    ASSERT_EQ(vma_boot(&v, &opts), 0);

    struct hv_device nic = {.kind = HV_DEVICE_NET_TAP, .id = "net0", .tap_fds = &tap,
                            .n_tap_fds = 1, .mac = GUEST_MAC};
    struct err e = ERR_INIT;
    r = hv_vm_hotplug_add(v.hv, &nic, &e);
    if (r < 0)
        printf("#   hotplug: %s\n", err_msg(&e));
    ASSERT_OK(r);
    printf("#   tap hotplugged at PCI path %s\n", nic.guest_pci_path);
    char msg[ERR_MSG_MAX];

    Types__Interface *out = NULL;
    long long t0 = actl_now_ms();
    int code = update_interface(&v, &out, msg, sizeof(msg));
    printf("#   UpdateInterface -> %s %s (%lld ms)\n", ttrpc_code_name(code), msg,
           actl_now_ms() - t0);
    int ok_iface = code == 0 && strcmp(out->name, "eth1") == 0 && out->mtu == 1400 &&
                   strcmp(out->hwaddr, GUEST_MAC) == 0;
    if (out)
        protobuf_c_message_free_unpacked(&out->base, NULL);

    Types__Route def = TYPES__ROUTE__INIT, net = TYPES__ROUTE__INIT;
    def.gateway = (char *)"10.20.0.1";
    def.device = (char *)"eth1";
    net.dest = (char *)"10.30.0.0/16";
    net.gateway = (char *)"10.20.0.254";
    net.device = (char *)"eth1";
    Types__Route *rp[] = {&def, &net};
    Grpc__Routes routes = GRPC__ROUTES__INIT;
    routes.n_routes = 2;
    routes.routes = rp;
    Grpc__UpdateRoutesRequest rreq = GRPC__UPDATE_ROUTES_REQUEST__INIT;
    rreq.routes = &routes;
    int code_routes =
        code == 0 ? vma_call(&v, "UpdateRoutes", &rreq.base, &grpc__routes__descriptor, NULL,
                             msg, sizeof(msg))
                  : -1;
    printf("#   UpdateRoutes -> %s %s\n", ttrpc_code_name(code_routes), msg);

    ProtobufCMessage *resp = NULL;
    Grpc__ListInterfacesRequest lireq = GRPC__LIST_INTERFACES_REQUEST__INIT;
    int code_li = vma_call(&v, "ListInterfaces", &lireq.base, &grpc__interfaces__descriptor,
                           &resp, msg, sizeof(msg));
    bool listed = false, has4 = false, has6 = false;
    if (code_li == 0) {
        Grpc__Interfaces *ifs = (Grpc__Interfaces *)resp;
        for (size_t i = 0; i < ifs->n_interfaces; i++) {
            const Types__Interface *it = ifs->interfaces[i];
            printf("#   guest link %s mtu %llu hw %s type %s\n", it->name,
                   (unsigned long long)it->mtu, it->hwaddr, it->type);
            if (strcmp(it->name, "eth1") != 0)
                continue;
            listed = it->mtu == 1400 && strcmp(it->hwaddr, GUEST_MAC) == 0;
            for (size_t k = 0; k < it->n_ipaddresses; k++) {
                has4 |= strcmp(it->ipaddresses[k]->address, "10.20.0.2") == 0 &&
                        strcmp(it->ipaddresses[k]->mask, "24") == 0;
                has6 |= strcmp(it->ipaddresses[k]->address, "fd00:20::2") == 0 &&
                        strcmp(it->ipaddresses[k]->mask, "64") == 0;
            }
        }
        protobuf_c_message_free_unpacked(resp, NULL);
    }
    Grpc__ListRoutesRequest lrreq = GRPC__LIST_ROUTES_REQUEST__INIT;
    int code_lr = vma_call(&v, "ListRoutes", &lrreq.base, &grpc__routes__descriptor, &resp,
                           msg, sizeof(msg));
    bool r_def = false, r_net = false, r_prefix = false;
    if (code_lr == 0) {
        Grpc__Routes *rs = (Grpc__Routes *)resp;
        for (size_t i = 0; i < rs->n_routes; i++)
            printf("#   guest route \"%s\" via \"%s\" dev %s scope %u\n", rs->routes[i]->dest,
                   rs->routes[i]->gateway, rs->routes[i]->device, rs->routes[i]->scope);
        r_def = has_route(rs, "", "10.20.0.1", "eth1");
        r_net = has_route(rs, "10.30.0.0/16", "10.20.0.254", "eth1");
        r_prefix = has_route(rs, "10.20.0.0/24", "", "eth1");
        protobuf_c_message_free_unpacked(resp, NULL);
    }
    r = hv_vm_hotplug_remove(v.hv, "net0", 20 * VMA_SEC, &e);
    if (r < 0)
        printf("#   unplug: %s\n", err_msg(&e));
    ASSERT_OK(vma_stop(&v));
    struct stat st;
    ASSERT_TRUE(stat(v.dir, &st) < 0); /* state folder removed */

    ASSERT_EQ(code, 0);
    ASSERT_TRUE(ok_iface);
    ASSERT_EQ(code_routes, 0);
    ASSERT_EQ(code_li, 0);
    ASSERT_TRUE(listed && has4 && has6);
    ASSERT_EQ(code_lr, 0);
    ASSERT_TRUE(r_def && r_net && r_prefix);
    return 0;
}
