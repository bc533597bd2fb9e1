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
#include <poll.h>
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
#include "kata/health.pb-c.h"
#include "kata/types.pb-c.h"
#include "lib/compiler.h"
#include "lib/err.h"
#include "lib/fd.h"
#include "lib/loop.h"
#include "lib/transport.h"
#include "lib/ttrpc/ttrpc.h"
#include "tests/harness/harness.h"

#define QEMU_BIN "/usr/bin/qemu-system-x86_64"
#define SEC 1000000000ull
#define GUEST_MAC "02:00:00:cc:00:01"

static void vm_freep(struct hv_vm **vm)
{
    *vm = hv_vm_free(*vm);
}

static const char *out_dir(void)
{
    const char *o = getenv("O");
    return o && *o ? o : "build";
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for `marker` in the console log; gives up when QEMU exits. */
static int wait_console(const char *dir, int pidfd, const char *marker, int timeout_ms)
{
    char path[PATH_MAX + 16];
    snprintf(path, sizeof(path), "%s/console.log", dir);
    int64_t end = now_ms() + timeout_ms;
    while (now_ms() < end) {
        FILE *f = fopen(path, "re");
        char line[1024];
        bool found = false;
        while (f && !found && fgets(line, sizeof(line), f))
            found = strstr(line, marker) != NULL;
        if (f)
            fclose(f);
        if (found)
            return 0;
        /* A console log has no change notification worth the code here. */
        if (pidfd >= 0 && fd_wait(pidfd, POLLIN, 100) > 0)
            return -ECHILD;
    }
    return -ETIMEDOUT;
}

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

struct agent_conn {
    struct loop *loop;
    struct ttrpc_client *client;
};

static void conn_close(struct agent_conn *c)
{
    c->client = ttrpc_client_free(c->client);
    c->loop = loop_free(c->loop);
}

static int call(struct agent_conn *c, const char *method, const ProtobufCMessage *req,
                const ProtobufCMessageDescriptor *resp_type, ProtobufCMessage **ret,
                char *msg, size_t msg_size)
{
    struct err e = ERR_INIT;
    int code = 0;
    struct ttrpc_call_opts opts = {.timeout_ns = 60 * SEC};
    ProtobufCMessage *resp = NULL;
    int r = ttrpc_client_call_sync(c->client, "grpc.AgentService", method, req, resp_type, &opts,
                                   &resp, &code, &e);
    snprintf(msg, msg_size, "%s", r < 0 ? err_msg(&e) : "");
    if (ret)
        *ret = resp;
    else if (resp)
        protobuf_c_message_free_unpacked(resp, NULL);
    if (r < 0 && code == 0)
        code = TTRPC_UNAVAILABLE;
    return r < 0 ? code : 0;
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
static int update_interface(struct agent_conn *c, Types__Interface **ret, char *msg, size_t size)
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
    int64_t end = now_ms() + 60000;
    while (code == TTRPC_NOT_FOUND && now_ms() < end) {
        ProtobufCMessage *resp = NULL;
        code = call(c, "UpdateInterface", &req.base, &types__interface__descriptor, &resp, msg,
                    size);
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
    char kernel[PATH_MAX], initrd[PATH_MAX];
    if (access(QEMU_BIN, X_OK) < 0)
        return test_skip("%s not installed", QEMU_BIN);
    snprintf(kernel, sizeof(kernel), "%s/guest/vmlinuz.container", out_dir());
    snprintf(initrd, sizeof(initrd), "%s/guest/kata-containers-initrd.img", out_dir());
    if (access(kernel, R_OK) < 0 || access(initrd, R_OK) < 0)
        return test_skip("no guest image in %s/guest (make guest)", out_dir());
    if (geteuid() != 0 || unshare(CLONE_NEWNET) < 0)
        return test_skip("cannot unshare a network namespace (needs root)");
    if (access("/dev/net/tun", R_OK | W_OK) < 0)
        return test_skip("no /dev/net/tun");
    _cleanup_close_ int tap = tap_open("vmtap0");
    if (tap < 0)
        return test_skip("cannot create a tap: %s", strerror(-tap));

    struct hv_config cfg = {
        .kind = HV_KIND_QEMU,
        .path = QEMU_BIN,
        .kernel = kernel,
        .initrd = initrd,
        .machine_type = "q35",
        .accel = HV_ACCEL_AUTO,
        .vcpus = 1,
        .max_vcpus = 1,
        .memory_mib = 256,
        .pcie_root_ports = 2,
        .transport = HV_TRANSPORT_AUTO,
        .shared_fs = HV_SHARED_FS_NONE,
        .kernel_params = "agent.log=debug",
    };
    _cleanup_(vm_freep) struct hv_vm *vm = NULL;
    struct err e = ERR_INIT;
    int r = hv_vm_new(&cfg, test_tmpdir(), "net", &vm, &e);
    if (r < 0)
        printf("#   new: %s\n", err_msg(&e));
    ASSERT_OK(r);
    r = hv_vm_start(vm, 60 * SEC, &e);
    if (r < 0)
        printf("#   start: %s\n", err_msg(&e));
    ASSERT_OK(r);
    char dir[PATH_MAX], uri[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s/net", test_tmpdir());
    ASSERT_OK(hv_vm_agent_address(vm, uri, sizeof(uri)));
    r = wait_console(dir, hv_vm_pidfd(vm), "serving on ", 120000);
    if (r < 0)
        printf("#   the agent never served (%d): see %s/console.log\n", r, dir);
    ASSERT_EQ(r, 0);

    struct hv_device nic = {.kind = HV_DEVICE_NET_TAP, .id = "net0", .tap_fds = &tap,
                            .n_tap_fds = 1, .mac = GUEST_MAC};
    r = hv_vm_hotplug_add(vm, &nic, &e);
    if (r < 0)
        printf("#   hotplug: %s\n", err_msg(&e));
    ASSERT_OK(r);
    printf("#   tap hotplugged at PCI path %s\n", nic.guest_pci_path);

    struct agent_conn c = {0};
    int fd = transport_dial(uri, 10 * SEC, &e);
    if (fd < 0)
        printf("#   dial %s: %s\n", uri, err_msg(&e));
    ASSERT_OK(fd);
    ASSERT_OK(loop_new(&c.loop));
    ASSERT_OK(ttrpc_client_new(c.loop, fd, NULL, &c.client));
    char msg[ERR_MSG_MAX];

    Types__Interface *out = NULL;
    int64_t t0 = now_ms();
    int code = update_interface(&c, &out, msg, sizeof(msg));
    printf("#   UpdateInterface -> %s %s (%lld ms)\n", ttrpc_code_name(code), msg,
           (long long)(now_ms() - t0));
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
        code == 0 ? call(&c, "UpdateRoutes", &rreq.base, &grpc__routes__descriptor, NULL, msg,
                         sizeof(msg))
                  : -1;
    printf("#   UpdateRoutes -> %s %s\n", ttrpc_code_name(code_routes), msg);

    ProtobufCMessage *resp = NULL;
    Grpc__ListInterfacesRequest lireq = GRPC__LIST_INTERFACES_REQUEST__INIT;
    int code_li = call(&c, "ListInterfaces", &lireq.base, &grpc__interfaces__descriptor, &resp,
                       msg, sizeof(msg));
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
    int code_lr = call(&c, "ListRoutes", &lrreq.base, &grpc__routes__descriptor, &resp, msg,
                       sizeof(msg));
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
    conn_close(&c);

    r = hv_vm_hotplug_remove(vm, "net0", 20 * SEC, &e);
    if (r < 0)
        printf("#   unplug: %s\n", err_msg(&e));
    ASSERT_OK(hv_vm_stop(vm, 10 * SEC, &e));
    vm = hv_vm_free(vm);
    struct stat st;
    ASSERT_TRUE(stat(dir, &st) < 0); /* state folder removed */

    ASSERT_EQ(code, 0);
    ASSERT_TRUE(ok_iface);
    ASSERT_EQ(code_routes, 0);
    ASSERT_EQ(code_li, 0);
    ASSERT_TRUE(listed && has4 && has6);
    ASSERT_EQ(code_lr, 0);
    ASSERT_TRUE(r_def && r_net && r_prefix);
    return 0;
}
