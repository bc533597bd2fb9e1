/* shim/network.c against the real kernel: a private network namespace made
 * with `ip netns add`, a veth pair in it standing in for CNI's, then
 * discovery (addresses, routes, neighbours, MTU, MAC), the tcfilter taps
 * and tc rules (checked with `tc filter show`), the none and macvtap
 * models (macvtap teardown gives the pod's link back its MAC, addresses,
 * routes and up state), the crash record, the sandbox's preparation (shim/sandbox_net.h),
 * and teardown leaving nothing behind. `ip` and
 * `tc` only look and arrange; the code under test uses netlink. Root only. */
#include "shim/network.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/neighbour.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hypervisor/hv.h"
#include "lib/err.h"
#include "shim/netns.h"
#include "shim/runtime_config.h"
#include "shim/sandbox_net.h"
#include "tests/harness/harness.h"

static char ns_name[64], ns_path[128];

/* Runs a shell command; its output (up to size) lands in out when given. */
static int sh(char *out, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int sh(char *out, size_t size, const char *fmt, ...)
{
    char cmd[1024];
    va_list ap;
    FILE *p;
    size_t n = 0;

    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    p = popen(cmd, "r");
    if (!p)
        return -1;
    if (out) {
        n = fread(out, 1, size - 1, p);
        out[n] = '\0';
    } else {
        char buf[256];
        while (fread(buf, 1, sizeof(buf), p) > 0)
            ;
    }
    return pclose(p);
}

static void ns_del(void)
{
    if (ns_name[0])
        sh(NULL, 0, "ip netns del %s 2>/dev/null", ns_name);
    ns_name[0] = '\0';
}

/* A fresh namespace; with_veth: eth0 (10.77.0.2/24, MTU 1400, default
 * route via 10.77.0.1, a permanent neighbour) whose peer stays inside. */
static int ns_new(const char *tag, bool with_veth)
{
    ns_del();
    if (geteuid() != 0 || sh(NULL, 0, "command -v ip >/dev/null && command -v tc >/dev/null"))
        return -1;
    snprintf(ns_name, sizeof(ns_name), "podnet-%s-%d", tag, (int)getpid());
    snprintf(ns_path, sizeof(ns_path), "/var/run/netns/%s", ns_name);
    if (sh(NULL, 0, "ip netns add %s 2>&1", ns_name) != 0) {
        ns_name[0] = '\0';
        return -1;
    }
    if (with_veth &&
        sh(NULL, 0,
           "set -e; ip -n %1$s link add eth0 mtu 1400 type veth peer name peer0 mtu 1400;"
           "ip -n %1$s link set eth0 address 02:11:22:33:44:55;"
           "ip -n %1$s addr add 10.77.0.2/24 dev eth0;"
           "ip -n %1$s link set eth0 up; ip -n %1$s link set peer0 up;"
           "ip -n %1$s route add default via 10.77.0.1 dev eth0;"
           "ip -n %1$s route add 10.88.0.0/16 via 10.77.0.1 dev eth0 mtu 1300;"
           "ip -n %1$s neigh add 10.77.0.9 lladdr 02:00:00:00:00:09 dev eth0 nud permanent",
           ns_name) != 0)
        return -2;
    return 0;
}

#define NEED_NS(tag, veth)                                                                         \
    do {                                                                                           \
        int _r = ns_new(tag, veth);                                                                \
        if (_r == -1)                                                                              \
            return test_skip("needs root, ip and tc, and `ip netns add`");                         \
        ASSERT_EQ(_r, 0);                                                                          \
    } while (0)

/* Nothing of ours left: no tap, no ingress qdisc on eth0. */
static int nothing_left(void)
{
    char out[4096];

    sh(out, sizeof(out), "ip -n %s -o link show 2>&1", ns_name);
    if (strstr(out, "_kata"))
        return test_fail_at(__FILE__, __LINE__, "a tap is left: %s", out), 1;
    sh(out, sizeof(out), "tc -n %s qdisc show dev eth0 2>&1", ns_name);
    if (strstr(out, "ingress"))
        return test_fail_at(__FILE__, __LINE__, "an ingress qdisc is left: %s", out), 1;
    sh(out, sizeof(out), "tc -n %s filter show dev eth0 ingress 2>&1", ns_name);
    if (strstr(out, "mirred"))
        return test_fail_at(__FILE__, __LINE__, "a filter is left: %s", out), 1;
    return 0;
}

TEST(tcfilter_discovery_taps_rules_and_teardown)
{
    struct network *n = NULL;
    struct err e = ERR_INIT;
    char out[4096];
    bool found_default = false, found_net = false;

    NEED_NS("tc", true);
    ASSERT_OK(network_setup(ns_path, NETWORK_TCFILTER, &n, &e));
    ASSERT_EQ(n->n_eps, 1);
    const struct network_endpoint *ep = &n->eps[0];
    ASSERT_STREQ(ep->name, "eth0");
    ASSERT_STREQ(ep->kind, "veth");
    ASSERT_STREQ(ep->mac, "02:11:22:33:44:55");
    ASSERT_EQ(ep->mtu, 1400);
    ASSERT_EQ(ep->n_addrs, 1);
    ASSERT_STREQ(ep->addrs[0].ip, "10.77.0.2");
    ASSERT_EQ(ep->addrs[0].prefix, 24);
    ASSERT_EQ(ep->addrs[0].family, AF_INET);
    ASSERT_STREQ(ep->tap, "tap0_kata");
    ASSERT_GE(ep->tap_fd, 0);
    ASSERT_TRUE(ep->tc_added);
    /* The kernel's own route for 10.77.0.0/24 is not carried. */
    for (size_t i = 0; i < n->n_routes; i++) {
        const struct network_route *r = &n->routes[i];
        ASSERT_STREQ(r->device, "eth0");
        ASSERT_TRUE(strcmp(r->dest, "10.77.0.0/24") != 0);
        if (!r->dest[0] && strcmp(r->gateway, "10.77.0.1") == 0)
            found_default = true;
        if (strcmp(r->dest, "10.88.0.0/16") == 0 && r->mtu == 1300)
            found_net = true;
    }
    ASSERT_TRUE(found_default);
    ASSERT_TRUE(found_net);
    ASSERT_EQ(n->n_neighs, 1);
    ASSERT_STREQ(n->neighs[0].ip, "10.77.0.9");
    ASSERT_STREQ(n->neighs[0].lladdr, "02:00:00:00:00:09");
    ASSERT_TRUE(n->neighs[0].state & NUD_PERMANENT);

    sh(out, sizeof(out), "ip -n %s link show tap0_kata 2>&1", ns_name);
    ASSERT_TRUE(strstr(out, "mtu 1400") != NULL);
    ASSERT_TRUE(strstr(out, "UP") != NULL);
    sh(out, sizeof(out), "tc -n %s filter show dev eth0 ingress 2>&1", ns_name);
    printf("# eth0 ingress: %s", out);
    ASSERT_TRUE(strstr(out, "u32") != NULL);
    ASSERT_TRUE(strstr(out, "mirred") && strstr(out, "Redirect to device tap0_kata"));
    sh(out, sizeof(out), "tc -n %s filter show dev tap0_kata ingress 2>&1", ns_name);
    ASSERT_TRUE(strstr(out, "mirred") && strstr(out, "Redirect to device eth0"));

    /* A second setup of the same namespace finds ours taken and fails
     * cleanly, leaving the first one's rules alone. */
    struct network *n2 = NULL;
    struct err e2 = ERR_INIT;
    ASSERT_TRUE(network_setup(ns_path, NETWORK_TCFILTER, &n2, &e2) < 0);
    printf("# second setup: %s\n", err_msg(&e2));
    sh(out, sizeof(out), "tc -n %s filter show dev eth0 ingress 2>&1", ns_name);
    ASSERT_TRUE(strstr(out, "tap0_kata") != NULL);

    ASSERT_OK(network_teardown(n, &e));
    ASSERT_EQ(nothing_left(), 0);
    /* Teardown twice is harmless. */
    ASSERT_OK(network_teardown(n, &e));
    n = network_free(n);
    ns_del();
    return 0;
}

TEST(model_none_is_a_tap_only)
{
    struct network *n = NULL;
    struct err e = ERR_INIT;
    char out[4096];

    NEED_NS("none", true);
    ASSERT_OK(network_setup(ns_path, NETWORK_NONE, &n, &e));
    ASSERT_EQ(n->n_eps, 1);
    ASSERT_GE(n->eps[0].tap_fd, 0);
    sh(out, sizeof(out), "ip -n %s -o link show 2>&1", ns_name);
    ASSERT_TRUE(strstr(out, "tap0_kata") != NULL);
    sh(out, sizeof(out), "tc -n %s qdisc show dev eth0 2>&1", ns_name);
    ASSERT_TRUE(strstr(out, "ingress") == NULL);
    ASSERT_OK(network_teardown(n, &e));
    network_free(n);
    ASSERT_EQ(nothing_left(), 0);
    ns_del();
    return 0;
}

/* eth0's MAC, whether it is up, and its addresses and routes, as `ip`
 * shows them, in out (size bytes). */
static void eth0_state(char *out, size_t size)
{
    sh(out, size,
       "ip -n %1$s -o link show dev eth0; ip -n %1$s -o addr show dev eth0 scope global;"
       "ip -n %1$s route show dev eth0 2>&1",
       ns_name);
}

/* What ns_new() gave eth0 is all there, as before setup. */
static int eth0_as_cni_left_it(const char *why)
{
    char out[4096];

    eth0_state(out, sizeof(out));
    printf("# eth0 %s:\n%s", why, out);
    ASSERT_TRUE(strstr(out, "link/ether 02:11:22:33:44:55") != NULL);
    ASSERT_TRUE(strstr(out, ",UP,") != NULL || strstr(out, "<UP,") != NULL);
    ASSERT_TRUE(strstr(out, "state UP") != NULL);
    ASSERT_TRUE(strstr(out, "inet 10.77.0.2/24") != NULL);
    ASSERT_TRUE(strstr(out, "default via 10.77.0.1") != NULL);
    ASSERT_TRUE(strstr(out, "10.88.0.0/16 via 10.77.0.1") != NULL);
    ASSERT_TRUE(strstr(out, "mtu 1300") != NULL);
    return 0;
}

/* As Kata's macvtap endpoint: the macvtap takes eth0's MAC and addresses
 * while the VM runs, and teardown gives them back with the routes that
 * went with the addresses, leaving eth0 up as it was. */
TEST(model_macvtap)
{
    struct network *n = NULL;
    struct err e = ERR_INIT;
    char out[4096];

    NEED_NS("mvt", true);
    if (network_setup(ns_path, NETWORK_MACVTAP, &n, &e) < 0) {
        ns_del();
        if (e.code == -EOPNOTSUPP || strstr(err_msg(&e), "Unknown device type"))
            return test_skip("no macvtap in this kernel: %s", err_msg(&e));
        test_fail_at(__FILE__, __LINE__, "macvtap setup: %s", err_msg(&e));
        return 1;
    }
    ASSERT_EQ(n->n_eps, 1);
    ASSERT_GE(n->eps[0].tap_fd, 0);
    sh(out, sizeof(out), "ip -n %s -d link show tap0_kata 2>&1", ns_name);
    printf("# %s", out);
    ASSERT_TRUE(strstr(out, "macvtap") != NULL);
    ASSERT_TRUE(strstr(out, "02:11:22:33:44:55") != NULL);
    /* The guest owns the address and the MAC now. */
    eth0_state(out, sizeof(out));
    printf("# eth0 while the VM runs:\n%s", out);
    ASSERT_TRUE(strstr(out, "10.77.0.2") == NULL);
    ASSERT_TRUE(strstr(out, "02:11:22:33:44:55") == NULL);
    ASSERT_TRUE(strstr(out, "default via") == NULL);
    ASSERT_OK(network_teardown(n, &e));
    network_free(n);
    ASSERT_EQ(nothing_left(), 0);
    ASSERT_EQ(eth0_as_cni_left_it("after teardown"), 0);

    /* Again: a second sandbox on the same namespace finds the same. */
    ASSERT_OK(network_setup(ns_path, NETWORK_MACVTAP, &n, &e));
    ASSERT_STREQ(n->eps[0].mac, "02:11:22:33:44:55");
    ASSERT_EQ(n->eps[0].n_addrs, 1);
    ASSERT_OK(network_teardown(n, &e));
    network_free(n);
    ASSERT_EQ(eth0_as_cni_left_it("after a second round"), 0);
    ns_del();
    return 0;
}

/* The shim died while the VM ran: `delete` restores eth0 from the record. */
TEST(macvtap_crash_record_restores_the_link)
{
    struct network *n = NULL;
    struct err e = ERR_INIT;
    char rec[512], out[4096];

    NEED_NS("mvtrec", true);
    snprintf(rec, sizeof(rec), "%s/net-record-macvtap", test_tmpdir());
    if (network_setup(ns_path, NETWORK_MACVTAP, &n, &e) < 0) {
        ns_del();
        if (e.code == -EOPNOTSUPP || strstr(err_msg(&e), "Unknown device type"))
            return test_skip("no macvtap in this kernel: %s", err_msg(&e));
        test_fail_at(__FILE__, __LINE__, "macvtap setup: %s", err_msg(&e));
        return 1;
    }
    ASSERT_OK(network_save(n, rec, &e));
    network_free(n);
    sh(out, sizeof(out), "cat %s", rec);
    printf("# record:\n%s", out);
    ASSERT_TRUE(strstr(out, "moved eth0 02:11:22:33:44:55 1\n") != NULL);
    eth0_state(out, sizeof(out));
    ASSERT_TRUE(strstr(out, "02:11:22:33:44:55") == NULL);
    ASSERT_OK(network_cleanup_saved(rec, &e));
    ASSERT_TRUE(access(rec, F_OK) != 0);
    ASSERT_EQ(nothing_left(), 0);
    ASSERT_EQ(eth0_as_cni_left_it("after delete"), 0);

    /* A damaged record is refused, naming the file, and kept. */
    FILE *f = fopen(rec, "w");
    ASSERT_TRUE(f != NULL);
    fprintf(f, "model macvtap\nep eth0 tap0_kata 0\nmoved eth0 not-a-mac 1\nnetns %s\n",
            ns_path);
    fclose(f);
    ASSERT_EQ(network_cleanup_saved(rec, &e), -EINVAL);
    ASSERT_TRUE(strstr(err_msg(&e), rec) != NULL);
    unlink(rec);
    ns_del();
    return 0;
}

TEST(empty_namespace_has_nothing_to_carry)
{
    struct network *n = NULL;
    struct err e = ERR_INIT;

    NEED_NS("empty", false);
    ASSERT_OK(network_setup(ns_path, NETWORK_TCFILTER, &n, &e));
    ASSERT_EQ(n->n_eps, 0);
    ASSERT_OK(network_teardown(n, &e));
    network_free(n);
    ns_del();
    return 0;
}

TEST(interface_that_cannot_be_carried)
{
    struct network *n = NULL;
    struct err e = ERR_INIT;
    char out[4096];

    NEED_NS("bad", true);
    ASSERT_EQ(sh(NULL, 0,
                 "ip -n %1$s tuntap add dev tun7 mode tun && ip -n %1$s addr add 10.99.0.1/24 "
                 "dev tun7",
                 ns_name),
              0);
    ASSERT_EQ(network_setup(ns_path, NETWORK_TCFILTER, &n, &e), -EPROTONOSUPPORT);
    printf("# %s\n", err_msg(&e));
    ASSERT_TRUE(strstr(err_msg(&e), "tun7") != NULL);
    ASSERT_TRUE(strstr(err_msg(&e), "(tun)") != NULL);
    ASSERT_TRUE(n == NULL);
    /* Refused before anything was created. */
    sh(out, sizeof(out), "ip -n %s -o link show 2>&1", ns_name);
    ASSERT_TRUE(strstr(out, "_kata") == NULL);
    ASSERT_EQ(nothing_left(), 0);
    ns_del();
    return 0;
}

TEST(crash_record_cleans_up)
{
    struct network *n = NULL;
    struct err e = ERR_INIT;
    char rec[512];

    NEED_NS("rec", true);
    snprintf(rec, sizeof(rec), "%s/net-record", test_tmpdir());
    ASSERT_OK(network_setup(ns_path, NETWORK_TCFILTER, &n, &e));
    ASSERT_OK(network_save(n, rec, &e));
    /* The shim dies: its fds close (the tap would go with QEMU's) but the
     * veth's rules stay. Keep the tap alive the way QEMU would. */
    int keep = dup(n->eps[0].tap_fd);
    network_free(n);
    ASSERT_TRUE(access(rec, F_OK) == 0);
    ASSERT_OK(network_cleanup_saved(rec, &e));
    close(keep);
    ASSERT_TRUE(access(rec, F_OK) != 0);
    ASSERT_EQ(nothing_left(), 0);
    /* No record is fine. */
    ASSERT_OK(network_cleanup_saved(rec, &e));
    /* A namespace that is gone already is fine too. */
    ASSERT_OK(network_setup(ns_path, NETWORK_TCFILTER, &n, &e));
    ASSERT_OK(network_save(n, rec, &e));
    network_free(n);
    ns_del();
    ASSERT_OK(network_cleanup_saved(rec, &e));
    return 0;
}

static int noop(void *ud, struct err *e)
{
    (void)e;
    *(int *)ud = 42;
    return 0;
}

TEST(netns_run_errors_name_the_path)
{
    struct err e = ERR_INIT;
    int v = 0;

    ASSERT_EQ(netns_run("/nonexistent/netns", noop, &v, &e), -ENOENT);
    ASSERT_TRUE(strstr(err_msg(&e), "/nonexistent/netns") != NULL);
    ASSERT_EQ(v, 0);
    err_clear(&e);
    /* Not a network namespace. */
    ASSERT_EQ(netns_run("/proc/self/ns/uts", noop, &v, &e), -EINVAL);
    ASSERT_TRUE(strstr(err_msg(&e), "/proc/self/ns/uts") != NULL);
    ASSERT_OK(netns_run(NULL, noop, &v, NULL));
    ASSERT_EQ(v, 42);
    return 0;
}

TEST(netns_from_spec)
{
    struct err e = ERR_INIT;
    char path[512], got[256];
    FILE *f;

    snprintf(path, sizeof(path), "%s/config.json", test_tmpdir());
    f = fopen(path, "w");
    ASSERT_TRUE(f);
    fputs("{\"linux\":{\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"network\",\"path\":"
          "\"/var/run/netns/cni-1\"}]}}",
          f);
    fclose(f);
    ASSERT_OK(network_netns_from_spec(path, got, sizeof(got), &e));
    ASSERT_STREQ(got, "/var/run/netns/cni-1");

    f = fopen(path, "w");
    fputs("{\"linux\":{\"namespaces\":[{\"type\":\"network\"}]}}", f);
    fclose(f);
    ASSERT_OK(network_netns_from_spec(path, got, sizeof(got), &e));
    ASSERT_STREQ(got, "");

    f = fopen(path, "w");
    fputs("{\"linux\":{\"namespaces\":[{\"type\":\"network\",\"path\":\"relative\"}]}}", f);
    fclose(f);
    ASSERT_EQ(network_netns_from_spec(path, got, sizeof(got), &e), -EINVAL);
    ASSERT_TRUE(strstr(err_msg(&e), "network path") != NULL);
    err_clear(&e);

    f = fopen(path, "w");
    fputs("not json", f);
    fclose(f);
    ASSERT_EQ(network_netns_from_spec(path, got, sizeof(got), &e), -EINVAL);
    return 0;
}

/* The sandbox's use of it: the spec's namespace, the switches, the extra
 * root ports, the record `delete` reads, and that record's cleanup. */
TEST(sandbox_prepare_record_and_cleanup)
{
    struct runtime_config cfg;
    struct hv_config hv = {.kind = HV_KIND_QEMU, .pcie_root_ports = 2};
    struct network *n = NULL;
    struct err e = ERR_INIT;
    char spec[512], sid[64], rec[128];
    FILE *f;

    NEED_NS("sb", true);
    snprintf(sid, sizeof(sid), "podnet-sb-%d", (int)getpid());
    snprintf(rec, sizeof(rec), "%s/%s", NETWORK_STATE_DIR, sid);
    snprintf(spec, sizeof(spec), "%s/sb-config.json", test_tmpdir());
    ASSERT_TRUE((f = fopen(spec, "w")) != NULL);
    fprintf(f, "{\"linux\":{\"namespaces\":[{\"type\":\"network\",\"path\":\"%s\"}]}}", ns_path);
    fclose(f);
    memset(&cfg, 0, sizeof(cfg));
    cfg.net_model = NETWORK_TCFILTER;

    /* disable_new_netns, and the mock driver: nothing is touched. */
    cfg.disable_new_netns = true;
    ASSERT_OK(sandbox_net_prepare(sid, &cfg, spec, &hv, &n, &e));
    ASSERT_TRUE(n == NULL);
    cfg.disable_new_netns = false;
    hv.kind = HV_KIND_MOCK;
    ASSERT_OK(sandbox_net_prepare(sid, &cfg, spec, &hv, &n, &e));
    ASSERT_TRUE(n == NULL);
    hv.kind = HV_KIND_QEMU;
    ASSERT_EQ(nothing_left(), 0);

    ASSERT_OK(sandbox_net_prepare(sid, &cfg, spec, &hv, &n, &e));
    ASSERT_TRUE(n != NULL);
    ASSERT_EQ(n->n_eps, 1);
    ASSERT_EQ(hv.pcie_root_ports, 3);
    ASSERT_TRUE(access(rec, F_OK) == 0);
    /* A shim crash: the record drives `delete`'s cleanup. */
    network_free(n);
    sandbox_net_cleanup(sid);
    ASSERT_TRUE(access(rec, F_OK) != 0);
    ASSERT_EQ(nothing_left(), 0);

    /* The normal end. */
    ASSERT_OK(sandbox_net_prepare(sid, &cfg, spec, &hv, &n, &e));
    sandbox_net_teardown(sid, n);
    ASSERT_TRUE(access(rec, F_OK) != 0);
    ASSERT_EQ(nothing_left(), 0);
    ns_del();
    return 0;
}
