/* Pod networking end to end: a private containerd 1.6 runs busybox
 * containers in QEMU VMs (TCG here) with `ctr run --with-ns
 * network:/var/run/netns/X`, where X is a namespace this test makes with
 * `ip netns add` and wires with Debian's containernetworking-plugins run by
 * hand (CNI_COMMAND=ADD: bridge + host-local into a private data dir, and
 * loopback), as `ctr run --cni` would but without touching /etc/cni or
 * /opt/cni. Checked: the container in the VM has the pod's IP on eth0 and
 * pings its gateway; the host pings the pod; two pods on the bridge reach
 * each other; after the containers are gone no tap, qdisc or filter is
 * left in the namespaces. Bad cases: a namespace with no interface runs a
 * container without network; an interface that cannot be carried fails the
 * run with a message naming it, leaving no VM behind.
 * Skips with a reason when QEMU, virtiofsd, containerd, busybox, the CNI
 * plugins or the guest assets are missing, or without root. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/compiler.h"
#include "tests/harness/harness.h"
#include "tests/support/busybox_image.h"
#include "tests/support/containerd_harness.h"
#include "tests/support/vm_ctr.h"

#define RUNTIME VMC_RUNTIME
#define IMG BUSYBOX_IMAGE_REF
#define CNI_DIR "/usr/lib/cni"
#define RUN_TIMEOUT_MS 180000

static struct vmc_containerd vm = VMC_CONTAINERD_INIT;
static struct ch_containerd *const ctd = &vm.c;
static struct vmc_paths paths;
static char kata_toml[PATH_MAX], macvtap_toml[PATH_MAX], cni_conf[PATH_MAX], bridge[16], subnet[32], gateway[32];

struct pod {
    char ns[64], nspath[128], ip[32];
    bool added;
};

#define MAX_PODS 6
static struct pod pods[MAX_PODS];
static char ids[8][64];
static size_t n_ids;

static int sh(char *out, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int sh(char *out, size_t size, const char *fmt, ...)
{
    char cmd[2048], buf[256];
    va_list ap;
    FILE *p;
    size_t n = 0, got;

    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    if (!(p = popen(cmd, "r")))
        return -1;
    while ((got = fread(buf, 1, sizeof(buf), p)) > 0)
        if (out && n + 1 < size) {
            size_t take = MIN(got, size - 1 - n);
            memcpy(out + n, buf, take);
            n += take;
        }
    if (out)
        out[n] = '\0';
    return pclose(p);
}

/* Runs the bridge (or loopback) plugin for one pod. */
static int cni(const char *plugin, const char *command, struct pod *p, const char *ifname,
               char *out, size_t size)
{
    if (strcmp(plugin, "loopback") == 0)
        return sh(out, size,
                  "echo '{\"cniVersion\":\"1.0.0\",\"name\":\"lo\",\"type\":\"loopback\"}' | "
                  "CNI_COMMAND=%s CNI_CONTAINERID=%s CNI_NETNS=%s CNI_IFNAME=lo CNI_PATH=%s "
                  "%s/loopback 2>&1",
                  command, p->ns, p->nspath, CNI_DIR, CNI_DIR);
    return sh(out, size,
              "CNI_COMMAND=%s CNI_CONTAINERID=%s CNI_NETNS=%s CNI_IFNAME=%s CNI_PATH=%s "
              "%s/%s < %s 2>&1",
              command, p->ns, p->nspath, ifname, CNI_DIR, CNI_DIR, plugin, cni_conf);
}

/* A pod namespace with CNI's eth0 in it; its IP in p->ip. */
static int pod_add(struct pod *p, const char *tag)
{
    char out[4096], *a, *slash;

    snprintf(p->ns, sizeof(p->ns), "kcni-%s-%d", tag, (int)getpid());
    snprintf(p->nspath, sizeof(p->nspath), "/var/run/netns/%s", p->ns);
    if (sh(NULL, 0, "ip netns add %s", p->ns) != 0)
        return -1;
    p->added = true;
    if (cni("loopback", "ADD", p, "lo", out, sizeof(out)) != 0 ||
        cni("bridge", "ADD", p, "eth0", out, sizeof(out)) != 0) {
        printf("#   CNI ADD failed: %s\n", out);
        return -1;
    }
    /* "address": "10.x.y.z/24" */
    if (!(a = strstr(out, "\"address\": \"")) && !(a = strstr(out, "\"address\":\"")))
        return -1;
    a = strchr(a + 10, '"') + 1;
    snprintf(p->ip, sizeof(p->ip), "%.*s", (int)strcspn(a, "\""), a);
    if ((slash = strchr(p->ip, '/')))
        *slash = '\0';
    printf("#   pod %s: %s\n", p->ns, p->ip);
    return 0;
}

static void pod_del(struct pod *p)
{
    char out[1024];

    if (!p->added)
        return;
    cni("bridge", "DEL", p, "eth0", out, sizeof(out));
    sh(NULL, 0, "ip netns del %s 2>/dev/null", p->ns);
    p->added = false;
}

/* No tap, no qdisc other than the default, no filter in the namespace. */
static int pod_clean(const struct pod *p)
{
    char out[4096];

    sh(out, sizeof(out), "ip -n %s -o link show 2>&1", p->ns);
    if (strstr(out, "_kata")) {
        test_fail_at(__FILE__, __LINE__, "a tap is left in %s: %s", p->ns, out);
        return 1;
    }
    sh(out, sizeof(out), "tc -n %s qdisc show 2>&1; tc -n %s filter show dev eth0 ingress 2>&1",
       p->ns, p->ns);
    if (strstr(out, "ingress") || strstr(out, "mirred")) {
        test_fail_at(__FILE__, __LINE__, "tc rules are left in %s: %s", p->ns, out);
        return 1;
    }
    return 0;
}

static void stop_all(void)
{
    const char *names[ELEMENTSOF(ids)];

    for (size_t i = 0; i < n_ids; i++)
        names[i] = ids[i];
    vmc_containerd_stop(&vm, names, n_ids);
    for (size_t i = 0; i < MAX_PODS; i++)
        pod_del(&pods[i]);
    if (bridge[0])
        sh(NULL, 0, "ip link del %s 2>/dev/null", bridge);
}

static const char *new_id(const char *base)
{
    snprintf(ids[n_ids], sizeof(ids[0]), "%s-%d", base, (int)getpid());
    return ids[n_ids++];
}

static int setup(void)
{
    const char *need[] = {CNI_DIR "/bridge", CNI_DIR "/host-local", CNI_DIR "/loopback"};
    int r = vmc_prereqs(&paths, "needs root (containerd, network namespaces, mounts)", true);
    FILE *f;

    if (r)
        return r;
    if (vm.up)
        return 0;
    if (vm.failed)
        return 1;
    for (size_t i = 0; i < ELEMENTSOF(need); i++)
        if (access(need[i], X_OK) < 0)
            return test_skip("%s missing (apt-get install containernetworking-plugins)", need[i]);
    if (sh(NULL, 0, "command -v ip >/dev/null && command -v tc >/dev/null && command -v "
                    "busybox >/dev/null") != 0)
        return test_skip("ip, tc or busybox missing");
    if (!vmc_guest_built(paths.guest))
        return test_skip("no guest assets in %s (make guest)", paths.guest);
    /* A longer dial timeout than the other VM tests: here one VM boots
     * while another runs (pods A and B), on two cores under TCG. */
    struct vmc_toml t = {.guest_dir = paths.guest,
                         .dial_timeout = 60,
                         .extra = "[runtime]\ninternetworking_model = \"tcfilter\"\n"};
    if (vmc_write_toml(kata_toml, sizeof(kata_toml), "kata-qemu.toml", &t) < 0)
        return 1;
    t.extra = "[runtime]\ninternetworking_model = \"macvtap\"\n";
    if (vmc_write_toml(macvtap_toml, sizeof(macvtap_toml), "kata-macvtap.toml", &t) < 0)
        return 1;
    /* A subnet and bridge of our own for this run. */
    snprintf(bridge, sizeof(bridge), "kc%d", (int)getpid() % 100000);
    snprintf(subnet, sizeof(subnet), "10.213.%d.0/24", (int)getpid() % 250);
    snprintf(gateway, sizeof(gateway), "10.213.%d.1", (int)getpid() % 250);
    snprintf(cni_conf, sizeof(cni_conf), "%s/cni.json", test_tmpdir());
    if (!(f = fopen(cni_conf, "w")))
        return 1;
    fprintf(f,
            "{\"cniVersion\":\"1.0.0\",\"name\":\"kcni-%d\",\"type\":\"bridge\",\"bridge\":\"%s\","
            "\"isGateway\":true,\"ipMasq\":false,\"ipam\":{\"type\":\"host-local\",\"subnet\":"
            "\"%s\",\"routes\":[{\"dst\":\"0.0.0.0/0\"}],\"dataDir\":\"%s/ipam\"}}\n",
            (int)getpid(), bridge, subnet, test_tmpdir());
    fclose(f);
    return vmc_containerd_up(&vm, stop_all);
}

#define SETUP() VMC_SETUP(setup())

static void show(const char *what, const struct ch_result *res)
{
    char out[8192];

    vmc_show(what, res, 1500);
    /* The shim's view of the pod network, from containerd's log. */
    sh(out, sizeof(out), "grep -o 'msg=\"[^\"]*network[^\"]*\"' %s | tail -n 4", ctd->log);
    printf("#   shim: %s", out);
    fflush(stdout);
}

/* `ctr run --rm` in pod p's namespace (NULL: the container's own). */
static int run_in(const struct pod *p, const char *nspath, const char *id, const char *script,
                  struct ch_result *res)
{
    char ns[200];

    snprintf(ns, sizeof(ns), "network:%s", p ? p->nspath : nspath);
    return ch_ctr(ctd, RUN_TIMEOUT_MS, res, "run", "--rm", "--runtime", RUNTIME,
                  "--runtime-config-path", kata_toml, "--with-ns", ns, IMG, id, "sh", "-c",
                  script, NULL);
}

static int vm_gone(const char *id)
{
    return vmc_check_gone(&vm, paths.shim, id, 0);
}

TEST(pod_ip_in_the_vm_and_gateway_ping)
{
    struct ch_result res;
    struct pod *p = &pods[0];
    char script[512], want[64];

    SETUP();
    ASSERT_OK(pod_add(p, "a"));
    const char *id = new_id("cni-ip");
    snprintf(script, sizeof(script),
             "ip -4 addr show eth0; ip route; ping -c 2 -W 10 %s >/tmp/p 2>&1 && echo PING-OK "
             "|| cat /tmp/p",
             gateway);
    ASSERT_OK(run_in(p, NULL, id, script, &res));
    show("ctr run --with-ns network:... ip addr; ping gateway", &res);
    ASSERT_EQ(res.exit_code, 0);
    snprintf(want, sizeof(want), "inet %s/24", p->ip);
    ASSERT_TRUE(strstr(res.output, want) != NULL);
    ASSERT_TRUE(strstr(res.output, "default via") != NULL);
    ASSERT_TRUE(strstr(res.output, "PING-OK") != NULL);
    ch_result_done(&res);
    ASSERT_EQ(vm_gone(id), 0);
    ASSERT_EQ(pod_clean(p), 0);
    return 0;
}

/* internetworking_model = "macvtap": the pod's address moves to the VM. */
TEST(macvtap_model_reaches_the_gateway)
{
    struct ch_result res;
    struct pod *p = &pods[4];
    char script[512], want[64], ns[200], out[2048];

    SETUP();
    ASSERT_OK(pod_add(p, "mvt"));
    const char *id = new_id("cni-mvt");
    snprintf(script, sizeof(script),
             "ip -4 addr show eth0; ping -c 2 -W 10 %s >/tmp/p 2>&1 && echo PING-OK || cat /tmp/p",
             gateway);
    snprintf(ns, sizeof(ns), "network:%s", p->nspath);
    ASSERT_OK(ch_ctr(ctd, RUN_TIMEOUT_MS, &res, "run", "--rm", "--runtime", RUNTIME,
                     "--runtime-config-path", macvtap_toml, "--with-ns", ns, IMG, id, "sh", "-c",
                     script, NULL));
    show("ctr run (macvtap) ip addr; ping gateway", &res);
    ASSERT_EQ(res.exit_code, 0);
    snprintf(want, sizeof(want), "inet %s/24", p->ip);
    ASSERT_TRUE(strstr(res.output, want) != NULL);
    ASSERT_TRUE(strstr(res.output, "PING-OK") != NULL);
    ch_result_done(&res);
    ASSERT_EQ(vm_gone(id), 0);
    sh(out, sizeof(out), "ip -n %s -o link show", p->ns);
    ASSERT_TRUE(strstr(out, "_kata") == NULL);
    return 0;
}

TEST(host_pings_pod_and_pods_reach_each_other)
{
    struct ch_result res;
    struct pod *a = &pods[1], *b = &pods[2];
    char script[512], out[2048], ns[200];

    SETUP();
    ASSERT_OK(pod_add(a, "srv"));
    ASSERT_OK(pod_add(b, "cli"));
    const char *ida = new_id("cni-srv"), *idb = new_id("cni-cli");
    snprintf(ns, sizeof(ns), "network:%s", a->nspath);
    ASSERT_OK(ch_ctr(ctd, RUN_TIMEOUT_MS, &res, "run", "-d", "--runtime", RUNTIME,
                     "--runtime-config-path", kata_toml, "--with-ns", ns, IMG, ida, "sleep",
                     "600", NULL));
    show("ctr run -d sleep (pod A)", &res);
    ASSERT_EQ(res.exit_code, 0);
    ch_result_done(&res);
    /* The pod answers once the agent configured its interface; allow for
     * a TCG boot. */
    int rc = 1;
    for (int i = 0; i < 60 && rc != 0; i++) {
        rc = sh(out, sizeof(out), "busybox ping -c 1 -W 2 %s 2>&1", a->ip);
        if (rc != 0)
            sleep(1);
    }
    printf("#   host -> pod A: %s", out);
    ASSERT_EQ(rc, 0);
    snprintf(script, sizeof(script),
             "ping -c 2 -W 10 %s >/tmp/p 2>&1 && echo REACHED || cat /tmp/p", a->ip);
    ASSERT_OK(run_in(b, NULL, idb, script, &res));
    show("ctr run (pod B) ping pod A", &res);
    ASSERT_EQ(res.exit_code, 0);
    ASSERT_TRUE(strstr(res.output, "REACHED") != NULL);
    ch_result_done(&res);
    ASSERT_EQ(vm_gone(idb), 0);
    ASSERT_EQ(pod_clean(b), 0);

    ASSERT_EQ(vmc_kill_task(&vm, ida), 0);
    ASSERT_OK(ch_ctr(ctd, 30000, &res, "container", "rm", ida, NULL));
    ch_result_done(&res);
    ASSERT_EQ(vm_gone(ida), 0);
    ASSERT_EQ(pod_clean(a), 0);
    return 0;
}

/* The shim is killed: containerd's `delete` of the shim binary must take
 * the VM and the tc rules on the pod's veth away (the tap goes with QEMU). */
TEST(shim_crash_then_delete_cleans_the_namespace)
{
    struct ch_result res;
    struct pod *p = &pods[5];
    char ns[200], out[256];

    SETUP();
    ASSERT_OK(pod_add(p, "crash"));
    const char *id = new_id("cni-crash");
    snprintf(ns, sizeof(ns), "network:%s", p->nspath);
    ASSERT_OK(ch_ctr(ctd, RUN_TIMEOUT_MS, &res, "run", "-d", "--runtime", RUNTIME,
                     "--runtime-config-path", kata_toml, "--with-ns", ns, IMG, id, "sleep", "600",
                     NULL));
    show("ctr run -d sleep", &res);
    ASSERT_EQ(res.exit_code, 0);
    ch_result_done(&res);
    sh(out, sizeof(out), "tc -n %s qdisc show dev eth0", p->ns);
    ASSERT_TRUE(strstr(out, "ingress") != NULL);
    /* [m]: the pattern must not match the shell running pkill. */
    ASSERT_EQ(sh(out, sizeof(out), "pkill -KILL -f 'containerd-shi[m]-kata-v2.* -id %s( |$)'",
                 id),
              0);
    /* containerd notices, runs `delete` and drops the task. */
    bool gone = false;
    for (int i = 0; i < 150 && !gone; i++) {
        usleep(200000);
        ASSERT_OK(ch_ctr(ctd, 60000, &res, "task", "rm", "-f", id, NULL));
        gone = res.exit_code == 0 || strstr(res.output, "not found");
        if (gone)
            show("ctr task rm -f after the shim was killed", &res);
        ch_result_done(&res);
    }
    ASSERT_TRUE(gone);
    ASSERT_OK(ch_ctr(ctd, 30000, &res, "container", "rm", id, NULL));
    show("ctr container rm", &res);
    ASSERT_EQ(res.exit_code, 0);
    ch_result_done(&res);
    ASSERT_EQ(vm_gone(id), 0);
    for (int i = 0; i < 50; i++) { /* the tap goes when QEMU's fds close */
        sh(out, sizeof(out), "ip -n %s -o link show | grep -c _kata", p->ns);
        if (atoi(out) == 0)
            break;
        usleep(100000);
    }
    ASSERT_EQ(pod_clean(p), 0);
    pod_del(p);
    return 0;
}

TEST(namespace_without_interfaces_runs_without_network)
{
    struct ch_result res;
    struct pod *p = &pods[3];

    SETUP();
    snprintf(p->ns, sizeof(p->ns), "kcni-empty-%d", (int)getpid());
    snprintf(p->nspath, sizeof(p->nspath), "/var/run/netns/%s", p->ns);
    ASSERT_EQ(sh(NULL, 0, "ip netns add %s", p->ns), 0);
    p->added = true;
    const char *id = new_id("cni-empty");
    ASSERT_OK(run_in(p, NULL, id, "ls /sys/class/net; echo hi", &res));
    show("ctr run in an empty namespace", &res);
    ASSERT_EQ(res.exit_code, 0);
    ASSERT_TRUE(strstr(res.output, "hi\n") != NULL);
    ASSERT_TRUE(strstr(res.output, "eth0") == NULL);
    ch_result_done(&res);
    ASSERT_EQ(vm_gone(id), 0);
    ASSERT_EQ(pod_clean(p), 0);
    pod_del(p);
    return 0;
}

TEST(interface_that_cannot_be_carried_fails_clearly)
{
    struct ch_result res;
    struct pod p = {0};

    SETUP();
    snprintf(p.ns, sizeof(p.ns), "kcni-tun-%d", (int)getpid());
    snprintf(p.nspath, sizeof(p.nspath), "/var/run/netns/%s", p.ns);
    ASSERT_EQ(sh(NULL, 0,
                 "ip netns add %1$s && ip -n %1$s tuntap add dev tun7 mode tun && "
                 "ip -n %1$s addr add 10.214.0.1/24 dev tun7",
                 p.ns),
              0);
    const char *id = new_id("cni-tun");
    int r = run_in(&p, NULL, id, "echo should-not-run", &res);
    sh(NULL, 0, "ip netns del %s", p.ns);
    ASSERT_OK(r);
    show("ctr run with a tun interface", &res);
    ASSERT_NE(res.exit_code, 0);
    ASSERT_TRUE(strstr(res.output, "tun7") != NULL);
    ASSERT_TRUE(strstr(res.output, "cannot be carried") != NULL);
    ASSERT_TRUE(strstr(res.output, "should-not-run") == NULL);
    ch_result_done(&res);
    ASSERT_EQ(vm_gone(id), 0);
    stop_all();
    return 0;
}
