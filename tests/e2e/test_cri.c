/* Kubernetes' view end to end: a private containerd 1.6 with its CRI plugin
 * (runtime "kata" from the shipped packaging/containerd/containerd-kata.toml,
 * CNI bridge + host-local from Debian's containernetworking-plugins) driven
 * by a real CRI client, Node's @grpc/grpc-js with the runtime.v1 subset in
 * tests/e2e/cri/api.proto, one RPC per run of tests/e2e/cri/cri_client.js.
 * The pod sandbox (an offline pause image built here) boots a real QEMU VM
 * through our shim; two busybox containers live in it, ExecSync runs in it,
 * and after StopPodSandbox/RemovePodSandbox nothing is left: no QEMU,
 * virtiofsd or shim process, no mount, no netns, no IP lease.
 * The cases share one containerd and one pod and run in order. Skips with a
 * reason when QEMU, virtiofsd, containerd, node and its modules, the CNI
 * plugins, busybox or the guest assets are missing, or without root. */
#include <errno.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/compiler.h"
#include "shim/address.h"
#include "tests/harness/harness.h"
#include "tests/support/busybox_image.h"
#include "tests/support/containerd_harness.h"
#include "tests/support/vm_ctr.h"

#define QEMU_BIN VMC_QEMU_BIN
#define VIRTIOFSD_BIN VMC_VIRTIOFSD_BIN
#define CNI_BIN_DIR "/usr/lib/cni"
#define SNIPPET "packaging/containerd/containerd-kata.toml"
#define CLIENT_JS "tests/e2e/cri/cri_client.js"
#define PAUSE_IMAGE_SH "tests/e2e/cri/pause_image.sh"
#define PAUSE_REF "localhost/kata-c/pause:test"
#define IMG BUSYBOX_IMAGE_REF
#define RPC_TIMEOUT_MS 150000
#define HOSTNAME "crie2e-pod"
#define DNS_SERVER "10.96.0.10"

static struct ch_containerd ctd = {.pidfd = -1};
static bool ready, broken;
static char shim_bin[PATH_MAX], kata_toml[PATH_MAX], node_bin[PATH_MAX], node_path[PATH_MAX + 16];
static char client_js[PATH_MAX], log_dir[PATH_MAX], ipam_dir[PATH_MAX];
static char bridge[16], subnet[32], sandbox_config[PATH_MAX + 1024];
static char pod_id[128], c1_id[128], c2_id[128], lease[PATH_MAX + 64];

static char *xsprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xsprintf(const char *fmt, ...)
{
    va_list ap;
    char *s = NULL;

    va_start(ap, fmt);
    if (vasprintf(&s, fmt, ap) < 0)
        abort();
    va_end(ap);
    return s;
}

/* One CRI RPC: 0 and the parsed reply, or -EIO after printing the gRPC
 * status (or whatever the client said). */
static int cri(const char *rpc, const char *request, json_object **ret)
{
    char *argv[] = {node_bin, client_js, ctd.sock, (char *)rpc, (char *)request, NULL};
    char *env[] = {node_path, NULL};
    struct ch_result res;
    json_object *reply;
    int r;

    *ret = NULL;
    r = ch_run(argv, NULL, env, NULL, 0, RPC_TIMEOUT_MS, &res);
    if (r < 0 || res.exit_code != 0) {
        printf("#   %s: exit %d (%s): %.600s\n", rpc, res.exit_code, strerror(-r), res.output);
        ch_result_done(&res);
        return -EIO;
    }
    reply = json_tokener_parse(res.output);
    if (!reply)
        printf("#   %s: reply is not JSON: %.600s\n", rpc, res.output);
    ch_result_done(&res);
    *ret = reply;
    return reply ? 0 : -EIO;
}

/* A value by dotted path ("status.network.ip"), or NULL. */
static json_object *jget(json_object *o, const char *path)
{
    char key[128];

    while (o && *path) {
        size_t n = strcspn(path, ".");
        if (n >= sizeof(key))
            return NULL;
        memcpy(key, path, n);
        key[n] = '\0';
        if (!json_object_object_get_ex(o, key, &o))
            return NULL;
        path += n + (path[n] == '.');
    }
    return o;
}

static const char *jstr(json_object *o, const char *path)
{
    json_object *v = jget(o, path);
    return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";
}

static long jint(json_object *o, const char *path)
{
    json_object *v = jget(o, path);
    return v ? (long)json_object_get_int64(v) : -1;
}

static void show_log(void)
{
    if (ctd.log)
        ch_print_file(ctd.log, "containerd: ");
}

static void teardown(void)
{
    char *ip_argv[] = {(char *)"/usr/sbin/ip", (char *)"link", (char *)"del", bridge, NULL};
    _cleanup_free_ char *pod = xsprintf("{\"pod_sandbox_id\":\"%s\"}", pod_id);
    struct ch_result res;
    json_object *o;

    if (!ready)
        return;
    /* Best effort after a failed case: the pod takes its containers along. */
    if (pod_id[0] && cri("RuntimeService.StopPodSandbox", pod, &o) == 0) {
        json_object_put(o);
        if (cri("RuntimeService.RemovePodSandbox", pod, &o) == 0)
            json_object_put(o);
    }
    ch_containerd_free(&ctd);
    if (bridge[0]) {
        ch_run(ip_argv, NULL, NULL, NULL, 0, 10000, &res);
        ch_result_done(&res);
    }
    ready = false;
}

static int read_text(const char *path, char *buf, size_t size)
{
    FILE *f = fopen(path, "re");
    size_t n;

    if (!f)
        return -errno;
    n = fread(buf, 1, size - 1, f);
    buf[n] = '\0';
    fclose(f);
    return n < size - 1 ? 0 : -EFBIG;
}

static int write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "we");

    if (!f)
        return -errno;
    fputs(text, f);
    return fclose(f) == 0 ? 0 : -errno;
}

/* The pod network: a bridge and a /24 of our own per run, leases in our
 * scratch dir, so parallel runs and the host's networks never meet. */
static int write_cni_conf(const char *conf_dir)
{
    int n = (int)(getpid() % 200) + 20;
    _cleanup_free_ char *path = xsprintf("%s/10-crie2e.conflist", conf_dir);
    _cleanup_free_ char *text = NULL;

    snprintf(bridge, sizeof(bridge), "kc%d", (int)getpid() % 1000000);
    snprintf(subnet, sizeof(subnet), "10.233.%d.", n);
    text = xsprintf("{\n"
                    "  \"cniVersion\": \"1.0.0\",\n"
                    "  \"name\": \"crie2e\",\n"
                    "  \"plugins\": [\n"
                    "    {\"type\": \"bridge\", \"bridge\": \"%s\", \"isGateway\": true,\n"
                    "     \"ipMasq\": false, \"hairpinMode\": false,\n"
                    "     \"ipam\": {\"type\": \"host-local\", \"dataDir\": \"%s\",\n"
                    "              \"ranges\": [[{\"subnet\": \"%s0/24\"}]]}},\n"
                    "    {\"type\": \"loopback\"}\n"
                    "  ]\n"
                    "}\n",
                    bridge, ipam_dir, subnet);
    if (mkdir(conf_dir, 0700) < 0)
        return -errno;
    return write_file(path, text);
}

static int write_kata_toml(const char *guest)
{
    struct vmc_toml t = {.guest_dir = guest};

    return vmc_write_toml(kata_toml, sizeof(kata_toml), "kata-qemu.toml", &t);
}

/* `ctr -n k8s.io image import`: where the CRI plugin looks for images. */
static int import_k8s(const char *tar)
{
    struct ch_result res;
    int r = ch_ctr(&ctd, 60000, &res, "-n", "k8s.io", "image", "import", tar, NULL);

    if (r >= 0 && res.exit_code != 0) {
        printf("#   import %s: %s\n", tar, res.output);
        r = -EIO;
    }
    ch_result_done(&res);
    return r;
}

static int build_pause_image(const char *bin, char **ret_tar)
{
    char *argv[] = {(char *)"/bin/sh", (char *)PAUSE_IMAGE_SH, (char *)bin, (char *)PAUSE_REF,
                    (char *)test_tmpdir(), NULL};
    struct ch_result res;
    int r = ch_run(argv, NULL, NULL, NULL, 0, 60000, &res);

    if (r >= 0 && res.exit_code != 0) {
        printf("#   pause_image.sh: %s\n", res.output);
        r = -EIO;
    }
    ch_result_done(&res);
    if (r >= 0)
        *ret_tar = xsprintf("%s/pause-oci.tar", test_tmpdir());
    return r;
}

/* CNI's bridge plugin needs to create a bridge (CAP_NET_ADMIN in the
 * host's network namespace); try one. */
static bool can_create_bridge(void)
{
    char name[16];
    char *add[] = {(char *)"/usr/sbin/ip", (char *)"link", (char *)"add", name,
                   (char *)"type", (char *)"bridge", NULL};
    char *del[] = {(char *)"/usr/sbin/ip", (char *)"link", (char *)"del", name, NULL};
    struct ch_result res;
    bool ok;

    snprintf(name, sizeof(name), "kcp%d", (int)getpid() % 1000000);
    ok = ch_run(add, NULL, NULL, NULL, 0, 10000, &res) >= 0 && res.exit_code == 0;
    ch_result_done(&res);
    if (ok) {
        ch_run(del, NULL, NULL, NULL, 0, 10000, &res);
        ch_result_done(&res);
    }
    return ok;
}

/* Which prerequisite is missing, or NULL. */
static const char *missing(const char *bin, const char *guest, const char *cri_dir)
{
    static char why[PATH_MAX + 64];
    _cleanup_free_ char *node = ch_find_in_path("node");

    if (geteuid() != 0)
        return "needs root (containerd, mounts, CNI, virtiofsd)";
    if (access(QEMU_BIN, X_OK) < 0)
        return QEMU_BIN " not installed (apt-get install qemu-system-x86)";
    if (access(VIRTIOFSD_BIN, X_OK) < 0)
        return VIRTIOFSD_BIN " not installed (apt-get install qemu-system-common)";
    if (access(CNI_BIN_DIR "/bridge", X_OK) < 0 || access(CNI_BIN_DIR "/host-local", X_OK) < 0)
        return "no CNI plugins in " CNI_BIN_DIR " (apt-get install containernetworking-plugins)";
    if (access("/usr/sbin/ip", X_OK) < 0)
        return "/usr/sbin/ip not installed (apt-get install iproute2)";
    if (!can_create_bridge())
        return "cannot create a network bridge here (CNI's bridge plugin needs CAP_NET_ADMIN)";
    if (!node)
        return "node is not installed (packaging/deps.sh test)";
    snprintf(node_bin, sizeof(node_bin), "%s", node);
    snprintf(why, sizeof(why), "%s/node_modules/.installed", cri_dir);
    if (access(why, F_OK) < 0) {
        snprintf(why, sizeof(why), "the CRI client's modules are not installed in %s/node_modules "
                                   "(npm ci failed or npm is missing; see the make output)",
                 cri_dir);
        return why;
    }
    snprintf(shim_bin, sizeof(shim_bin), "%s/containerd-shim-kata-v2", bin);
    if (access(shim_bin, X_OK) < 0)
        return "the shim is not built";
    snprintf(why, sizeof(why), "%s/vmlinuz.container", guest);
    if (access(why, R_OK) < 0) {
        snprintf(why, sizeof(why), "no guest assets in %s (make guest)", guest);
        return why;
    }
    return NULL;
}

static int start_containerd(const char *bb_tar, const char *pause_tar)
{
    _cleanup_free_ char *conf_dir = xsprintf("%s/cni-conf", test_tmpdir());
    struct ch_cri_options o = {
        .runtime_snippet = SNIPPET,
        .kata_config = kata_toml,
        .sandbox_image = PAUSE_REF,
        .cni_bin_dir = CNI_BIN_DIR,
        .cni_conf_dir = conf_dir,
    };
    int r;

    snprintf(ipam_dir, sizeof(ipam_dir), "%s/cni-ipam", test_tmpdir());
    snprintf(log_dir, sizeof(log_dir), "%s/pod-logs", test_tmpdir());
    if (write_cni_conf(conf_dir) < 0 || mkdir(log_dir, 0700) < 0)
        return -errno;
    r = ch_containerd_start_cri(&ctd, test_tmpdir(), "ctd", &o);
    if (r < 0) {
        ch_containerd_free(&ctd);
        return r;
    }
    ready = true;
    atexit(teardown);
    r = import_k8s(bb_tar);
    return r < 0 ? r : import_k8s(pause_tar);
}

static int setup(void)
{
    _cleanup_free_ char *bin = ch_bin_dir(), *bb_tar = NULL, *pause_tar = NULL;
    _cleanup_free_ char *guest = xsprintf("%s/../guest", bin);
    _cleanup_free_ char *cri_dir = xsprintf("%s/../tests/e2e/cri", bin);
    _cleanup_free_ char *pause_bin = xsprintf("%s/pause", cri_dir);
    const char *why;
    int r;

    if (ready)
        return 0;
    if (broken)
        return 1;
    if ((why = missing(bin, guest, cri_dir)))
        return test_skip("%s", why);
    if (!realpath(CLIENT_JS, client_js))
        return test_skip("%s not found: run from the source tree", CLIENT_JS);
    snprintf(node_path, sizeof(node_path), "NODE_PATH=%s/node_modules", cri_dir);
    r = busybox_image_build(test_tmpdir(), &bb_tar);
    if (r == -ENOENT)
        return test_skip("busybox is not installed");
    broken = true;
    if (r < 0 || build_pause_image(pause_bin, &pause_tar) < 0 || write_kata_toml(guest) < 0)
        return 1;
    r = start_containerd(bb_tar, pause_tar);
    if (r < 0) {
        printf("#   containerd with CRI: %s\n", strerror(-r));
        return 1;
    }
    broken = false;
    return 0;
}

#define SETUP()                                                                                    \
    do {                                                                                           \
        int _r = setup();                                                                          \
        if (_r != 0)                                                                               \
            return _r;                                                                             \
    } while (0)

static int count_qemu(void)
{
    return ch_count_processes_with(QEMU_BIN, pod_id);
}

static int count_shims(void)
{
    return ch_count_processes_with(shim_bin, ctd.sock);
}

/* Polls ContainerStatus until the state is `want` (bounded, no timing
 * assertion: a slow host only waits longer). */
static int wait_state(const char *id, const char *want, json_object **ret)
{
    _cleanup_free_ char *req = xsprintf("{\"container_id\":\"%s\"}", id);

    for (int i = 0; i < 240; i++) {
        json_object *o;
        int r = cri("RuntimeService.ContainerStatus", req, &o);
        if (r < 0)
            return r;
        if (strcmp(jstr(o, "status.state"), want) == 0) {
            *ret = o;
            return 0;
        }
        json_object_put(o);
        usleep(250000);
    }
    return -ETIMEDOUT;
}

static int exec_sync(const char *id, const char *shell_cmd, json_object **ret)
{
    _cleanup_free_ char *req = NULL;
    json_object *r = json_object_new_object(), *cmd = json_object_new_array();

    json_object_array_add(cmd, json_object_new_string("sh"));
    json_object_array_add(cmd, json_object_new_string("-c"));
    json_object_array_add(cmd, json_object_new_string(shell_cmd));
    json_object_object_add(r, "container_id", json_object_new_string(id));
    json_object_object_add(r, "cmd", cmd);
    json_object_object_add(r, "timeout", json_object_new_int(60));
    req = xsprintf("%s", json_object_to_json_string_ext(r, JSON_C_TO_STRING_PLAIN));
    json_object_put(r);
    return cri("RuntimeService.ExecSync", req, ret);
}

/* CreateContainer + StartContainer of busybox running `sh -c script`. */
static int run_container(const char *name, const char *script, char *ret_id, size_t size)
{
    json_object *req = json_object_new_object(), *cfg = json_object_new_object();
    json_object *cmd = json_object_new_array(), *meta = json_object_new_object();
    json_object *img = json_object_new_object(), *o = NULL;
    _cleanup_free_ char *text = NULL, *log = xsprintf("%s.log", name), *start = NULL;
    int r;

    json_object_object_add(meta, "name", json_object_new_string(name));
    json_object_object_add(img, "image", json_object_new_string(IMG));
    json_object_array_add(cmd, json_object_new_string("sh"));
    json_object_array_add(cmd, json_object_new_string("-c"));
    json_object_array_add(cmd, json_object_new_string(script));
    json_object_object_add(cfg, "metadata", meta);
    json_object_object_add(cfg, "image", img);
    json_object_object_add(cfg, "command", cmd);
    json_object_object_add(cfg, "log_path", json_object_new_string(log));
    json_object_object_add(req, "pod_sandbox_id", json_object_new_string(pod_id));
    json_object_object_add(req, "config", cfg);
    json_object_object_add(req, "sandbox_config", json_tokener_parse(sandbox_config));
    text = xsprintf("%s", json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN));
    json_object_put(req);
    r = cri("RuntimeService.CreateContainer", text, &o);
    if (r < 0)
        return r;
    snprintf(ret_id, size, "%s", jstr(o, "container_id"));
    json_object_put(o);
    if (!ret_id[0])
        return -EIO;
    start = xsprintf("{\"container_id\":\"%s\"}", ret_id);
    r = cri("RuntimeService.StartContainer", start, &o);
    json_object_put(o);
    return r;
}

TEST(cri_plugin_serves_version_and_images)
{
    json_object *o;

    SETUP();
    if (cri("RuntimeService.Version", "{\"version\":\"v1\"}", &o) < 0) {
        show_log();
        return 1;
    }
    printf("#   %s %s, CRI %s\n", jstr(o, "runtime_name"), jstr(o, "runtime_version"),
           jstr(o, "runtime_api_version"));
    ASSERT_STREQ(jstr(o, "runtime_name"), "containerd");
    json_object_put(o);
    ASSERT_OK(cri("ImageService.ImageStatus", "{\"image\":{\"image\":\"" IMG "\"}}", &o));
    ASSERT_TRUE(strlen(jstr(o, "image.id")) > 0);
    json_object_put(o);
    ASSERT_OK(cri("ImageService.ImageStatus", "{\"image\":{\"image\":\"" PAUSE_REF "\"}}", &o));
    ASSERT_TRUE(strlen(jstr(o, "image.id")) > 0);
    json_object_put(o);
    return 0;
}

/* The sandbox container starts the VM; CNI gives the pod its address. */
TEST(run_pod_sandbox_with_handler_kata_boots_a_vm)
{
    json_object *o;
    _cleanup_free_ char *req = NULL, *status = NULL;

    SETUP();
    snprintf(sandbox_config, sizeof(sandbox_config),
             "{\"metadata\":{\"name\":\"crie2e\",\"uid\":\"uid-%d\",\"namespace\":\"default\","
             "\"attempt\":0},\"hostname\":\"" HOSTNAME "\",\"log_directory\":\"%s\","
             "\"dns_config\":{\"servers\":[\"" DNS_SERVER "\"],"
             "\"searches\":[\"svc.cluster.local\"],"
             "\"options\":[\"ndots:5\"]},\"labels\":{\"test\":\"crie2e\"},"
             "\"annotations\":{\"crie2e\":\"yes\"},\"linux\":{}}",
             (int)getpid(), log_dir);
    req = xsprintf("{\"config\":%s,\"runtime_handler\":\"kata\"}", sandbox_config);
    if (cri("RuntimeService.RunPodSandbox", req, &o) < 0) {
        show_log();
        return 1;
    }
    snprintf(pod_id, sizeof(pod_id), "%s", jstr(o, "pod_sandbox_id"));
    json_object_put(o);
    ASSERT_TRUE(pod_id[0] != '\0');
    printf("#   pod %s\n", pod_id);
    ASSERT_EQ(count_qemu(), 1);
    ASSERT_EQ(count_shims(), 1);
    status = xsprintf("{\"pod_sandbox_id\":\"%s\"}", pod_id);
    ASSERT_OK(cri("RuntimeService.PodSandboxStatus", status, &o));
    printf("#   state %s, ip %s, handler %s\n", jstr(o, "status.state"),
           jstr(o, "status.network.ip"), jstr(o, "status.runtime_handler"));
    ASSERT_STREQ(jstr(o, "status.state"), "SANDBOX_READY");
    ASSERT_STREQ(jstr(o, "status.runtime_handler"), "kata");
    ASSERT_TRUE(strncmp(jstr(o, "status.network.ip"), subnet, strlen(subnet)) == 0);
    /* host-local's lease for it, which must be gone after the pod. */
    snprintf(lease, sizeof(lease), "%s/crie2e/%s", ipam_dir, jstr(o, "status.network.ip"));
    json_object_put(o);
    ASSERT_TRUE(access(lease, F_OK) == 0);
    return 0;
}

/* busybox in the pod: running, ExecSync with output and exit codes, and
 * the files and mounts CRI adds (/etc/hostname, /etc/hosts,
 * /etc/resolv.conf, /dev/shm) reach the container through the VM. */
TEST(container_runs_in_the_pod_and_exec_sync_works)
{
    char hosts[8192];
    json_object *o;

    SETUP();
    ASSERT_TRUE(pod_id[0] != '\0');
    if (run_container("c1", "trap 'exit 0' TERM; echo started; while :; do sleep 1; done", c1_id,
                      sizeof(c1_id)) < 0) {
        show_log();
        return 1;
    }
    ASSERT_OK(wait_state(c1_id, "CONTAINER_RUNNING", &o));
    ASSERT_TRUE(jint(o, "status.started_at") > 0);
    json_object_put(o);

    ASSERT_OK(exec_sync(c1_id, "echo hi", &o));
    ASSERT_STREQ(jstr(o, "stdout"), "hi\n");
    ASSERT_EQ(jint(o, "exit_code"), 0);
    json_object_put(o);
    ASSERT_OK(exec_sync(c1_id, "echo oops >&2; exit 7", &o));
    ASSERT_STREQ(jstr(o, "stderr"), "oops\n");
    ASSERT_EQ(jint(o, "exit_code"), 7);
    json_object_put(o);

    ASSERT_OK(exec_sync(c1_id, "cat /etc/hostname; hostname", &o));
    ASSERT_STREQ(jstr(o, "stdout"), HOSTNAME "\n" HOSTNAME "\n");
    json_object_put(o);
    ASSERT_OK(exec_sync(c1_id, "grep -c '^nameserver " DNS_SERVER "$' /etc/resolv.conf", &o));
    ASSERT_STREQ(jstr(o, "stdout"), "1\n");
    json_object_put(o);
    /* containerd 1.6 gives the pod a copy of the host's /etc/hosts. */
    ASSERT_OK(read_text("/etc/hosts", hosts, sizeof(hosts)));
    ASSERT_OK(exec_sync(c1_id, "cat /etc/hosts", &o));
    ASSERT_STREQ(jstr(o, "stdout"), hosts);
    json_object_put(o);
    ASSERT_OK(exec_sync(c1_id, "awk '$2 == \"/dev/shm\" {print $2}' /proc/mounts", &o));
    ASSERT_STREQ(jstr(o, "stdout"), "/dev/shm\n");
    json_object_put(o);
    /* Diagnostic only: whether the pod's CNI address reached the guest
     * (the shim's network work, checked by its own tests). */
    ASSERT_OK(exec_sync(c1_id, "ip -4 -o addr show | awk '{print $2, $4}' | tr '\\n' ' '", &o));
    printf("#   guest IPv4 addresses: %s\n", jstr(o, "stdout"));
    json_object_put(o);
    ASSERT_OK(exec_sync(c1_id, "echo data > /dev/shm/x && cat /dev/shm/x", &o));
    ASSERT_STREQ(jstr(o, "stdout"), "data\n");
    json_object_put(o);
    return 0;
}

/* A second container joins the same VM (one QEMU, one shim), sees the
 * pod's /dev/shm and shares c1's UTS namespace (the guest's, named by
 * CreateSandbox: a hostname change would reach the whole pod, as in Kata),
 * runs to its end, and its exit code and output reach CRI. */
TEST(second_container_shares_the_pod_vm)
{
    _cleanup_free_ char *log = NULL;
    json_object *o;

    SETUP();
    ASSERT_TRUE(c1_id[0] != '\0');
    /* /dev/shm is the pod's (CRI's sandbox shm), so c1's file is here. */
    if (run_container("c2",
                      "cat /dev/shm/x; echo two; echo \"uts $(readlink /proc/self/ns/uts) "
                      "$(hostname)\"; exit 3",
                      c2_id, sizeof(c2_id)) < 0) {
        show_log();
        return 1;
    }
    ASSERT_OK(wait_state(c2_id, "CONTAINER_EXITED", &o));
    ASSERT_EQ(jint(o, "status.exit_code"), 3);
    ASSERT_TRUE(jint(o, "status.finished_at") > 0);
    json_object_put(o);
    ASSERT_EQ(count_qemu(), 1);
    ASSERT_EQ(count_shims(), 1);
    /* CRI's log file: "<time> stdout F <line>". */
    log = xsprintf("%s/c2.log", log_dir);
    ASSERT_TRUE(ch_file_contains(log, " stdout F data"));
    ASSERT_TRUE(ch_file_contains(log, " stdout F two"));
    ASSERT_OK(exec_sync(c1_id, "echo \"uts $(readlink /proc/self/ns/uts) $(hostname)\"", &o));
    char uts_line[256];
    snprintf(uts_line, sizeof(uts_line), " stdout F %s", jstr(o, "stdout"));
    json_object_put(o);
    uts_line[strcspn(uts_line, "\n")] = '\0';
    printf("#   c1's UTS namespace and hostname:%s\n", uts_line + 10);
    ASSERT_TRUE(strstr(uts_line, " " HOSTNAME) != NULL);
    ASSERT_TRUE(ch_file_contains(log, uts_line));
    return 0;
}

static int check_nothing_left(void)
{
    _cleanup_free_ char *path = NULL;
    char uri[ADDRESS_MAX];

    for (int i = 0; i < 100 && (count_shims() > 0 || count_qemu() > 0 ||
                                ch_count_processes_with(VIRTIOFSD_BIN, pod_id) > 0);
         i++)
        usleep(100000);
    ASSERT_EQ(count_shims(), 0);
    ASSERT_EQ(count_qemu(), 0);
    ASSERT_EQ(ch_count_processes_with(VIRTIOFSD_BIN, pod_id), 0);
    /* Rootfs, shm, netns and shared-folder mounts are all under one of these. */
    ASSERT_EQ(ch_count_mounts(ctd.dir), 0);
    ASSERT_EQ(ch_count_mounts(pod_id), 0);
    path = xsprintf("/run/kata-containers/shared/sandboxes/%s", pod_id);
    ASSERT_TRUE(access(path, F_OK) < 0);
    free(path);
    path = xsprintf("/run/vc/vm/%s", pod_id);
    ASSERT_TRUE(access(path, F_OK) < 0);
    ASSERT_OK(address_for(ctd.sock, "k8s.io", pod_id, uri, sizeof(uri)));
    ASSERT_TRUE(access(address_socket_path(uri), F_OK) < 0);
    ASSERT_TRUE(lease[0] && access(lease, F_OK) < 0);
    return 0;
}

TEST(stop_and_remove_leave_nothing_behind)
{
    _cleanup_free_ char *c1 = NULL, *c2 = NULL, *pod = NULL;
    json_object *o;

    SETUP();
    ASSERT_TRUE(c1_id[0] != '\0' && c2_id[0] != '\0');
    c1 = xsprintf("{\"container_id\":\"%s\",\"timeout\":30}", c1_id);
    ASSERT_OK(cri("RuntimeService.StopContainer", c1, &o));
    json_object_put(o);
    ASSERT_OK(wait_state(c1_id, "CONTAINER_EXITED", &o));
    /* 0: the shell's TERM trap ran, so the signal reached it in the VM. */
    ASSERT_EQ(jint(o, "status.exit_code"), 0);
    json_object_put(o);
    ASSERT_EQ(count_qemu(), 1);
    c2 = xsprintf("{\"container_id\":\"%s\"}", c2_id);
    ASSERT_OK(cri("RuntimeService.RemoveContainer", c2, &o));
    json_object_put(o);
    free(c1);
    c1 = xsprintf("{\"container_id\":\"%s\"}", c1_id);
    ASSERT_OK(cri("RuntimeService.RemoveContainer", c1, &o));
    json_object_put(o);
    pod = xsprintf("{\"pod_sandbox_id\":\"%s\"}", pod_id);
    ASSERT_OK(cri("RuntimeService.StopPodSandbox", pod, &o));
    json_object_put(o);
    ASSERT_OK(cri("RuntimeService.RemovePodSandbox", pod, &o));
    json_object_put(o);
    ASSERT_OK(check_nothing_left());
    pod_id[0] = '\0';
    teardown();
    return 0;
}
