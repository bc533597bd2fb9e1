/* containerd-shim-kata-v2's containerd contract without containerd: flag
 * parsing, the socket-address formula, pod classification, and the built
 * binary's `start` (prints only the address, returns at once, the daemon
 * serves ttRPC), pod grouping, Shutdown, and `delete` (DeleteResponse with
 * exit status 137). docs/facts containerd-shim-v2.md §3-7. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "containerd/task/v2/shim.pb-c.h"
#include "google/protobuf/empty.pb-c.h"
#include "lib/compiler.h"
#include "lib/err.h"
#include "lib/loop.h"
#include "lib/transport.h"
#include "lib/ttrpc/ttrpc.h"
#include "lib/xalloc.h"
#include "shim/address.h"
#include "shim/args.h"
#include "shim/bundle.h"
#include "tests/harness/harness.h"
#include "tests/support/containerd_harness.h"

#define TASK "containerd.task.v2.Task"
#define MS UINT64_C(1000000)

TEST(args_containerd_start_line)
{
    const char *argv[] = {"shim", "-namespace", "default", "-address", "/run/c.sock",
                    "-publish-binary", "/usr/bin/containerd", "-id", "c1", "-debug", "start"};
    struct shim_args a;
    struct err e = ERR_INIT;

    ASSERT_OK(args_parse(ELEMENTSOF(argv), argv, &a, &e));
    ASSERT_EQ(a.action, SHIM_ACTION_START);
    ASSERT_STREQ(a.namespace_, "default");
    ASSERT_STREQ(a.address, "/run/c.sock");
    ASSERT_STREQ(a.publish_binary, "/usr/bin/containerd");
    ASSERT_STREQ(a.id, "c1");
    ASSERT_TRUE(a.debug);
    return 0;
}

TEST(args_go_forms_and_unknown_flags)
{
    const char *argv[] = {"shim", "--namespace=k8s.io", "-id=x", "-bundle", "/b", "-debug=false",
                    "-newflag=1", "--other", "value", "-socket", "s", "-boolflag", "delete"};
    struct shim_args a;
    struct err e = ERR_INIT;

    ASSERT_OK(args_parse(ELEMENTSOF(argv), argv, &a, &e));
    ASSERT_EQ(a.action, SHIM_ACTION_DELETE);
    ASSERT_STREQ(a.namespace_, "k8s.io");
    ASSERT_STREQ(a.id, "x");
    ASSERT_STREQ(a.bundle, "/b");
    ASSERT_TRUE(!a.debug);
    return 0;
}

TEST(args_daemon_version_and_errors)
{
    const char *daemon[] = {"shim", "-namespace", "n", "-id", "i", "-address", "/a"};
    const char *version[] = {"shim", "-v"};
    const char *missing[] = {"shim", "-id"};
    const char *bad[] = {"shim", "-id", "x", "frobnicate"};
    struct shim_args a;
    struct err e = ERR_INIT;

    ASSERT_OK(args_parse(ELEMENTSOF(daemon), daemon, &a, &e));
    ASSERT_EQ(a.action, SHIM_ACTION_SERVE);
    ASSERT_OK(args_parse(ELEMENTSOF(version), version, &a, &e));
    ASSERT_EQ(a.action, SHIM_ACTION_VERSION);
    ASSERT_EQ(args_parse(ELEMENTSOF(missing), missing, &a, &e), -EINVAL);
    ASSERT_TRUE(strstr(e.msg, "-id") != NULL);
    err_clear(&e);
    ASSERT_EQ(args_parse(ELEMENTSOF(bad), bad, &a, &e), -EINVAL);
    return 0;
}

TEST(address_formula_matches_sha256)
{
    char uri[ADDRESS_MAX], joined[256];

    /* echo -n /run/containerd/containerd.sock/default/mycontainer | sha256sum */
    ASSERT_OK(address_for("/run/containerd/containerd.sock", "default", "mycontainer", uri,
                          sizeof(uri)));
    ASSERT_STREQ(uri, "unix:///run/containerd/s/"
                      "3272bea47699920557fd8e0ecc9b0fbad8bbcd98de96f30b484690cc72ca67be");
    /* filepath.Join cleans the path first. */
    ASSERT_OK(address_join("/run//containerd/./containerd.sock/", "default", "mycontainer",
                           joined, sizeof(joined)));
    ASSERT_STREQ(joined, "/run/containerd/containerd.sock/default/mycontainer");
    ASSERT_STREQ(address_socket_path(uri), uri + 7);
    ASSERT_TRUE(address_socket_path("/no/prefix") == NULL);
    return 0;
}

TEST(address_file_is_atomic_without_newline)
{
    char buf[256], path[PATH_MAX];
    struct stat st;

    ASSERT_OK(address_write_file(test_tmpdir(), "unix:///run/containerd/s/abc"));
    snprintf(path, sizeof(path), "%s/address", test_tmpdir());
    ASSERT_OK(stat(path, &st));
    ASSERT_EQ(st.st_size, (long)strlen("unix:///run/containerd/s/abc"));
    ASSERT_OK(address_read_file(test_tmpdir(), buf, sizeof(buf)));
    ASSERT_STREQ(buf, "unix:///run/containerd/s/abc");
    snprintf(path, sizeof(path), "%s/.address", test_tmpdir());
    ASSERT_TRUE(access(path, F_OK) < 0);
    return 0;
}

static int classify(const char *json, struct bundle_info *info)
{
    struct err e = ERR_INIT;
    return bundle_classify_json(json, strlen(json), "c1", info, &e);
}

TEST(bundle_classification)
{
    struct bundle_info i;

    ASSERT_OK(classify("{\"ociVersion\":\"1.0.2\"}", &i));
    ASSERT_EQ(i.kind, BUNDLE_SINGLE);
    ASSERT_STREQ(i.sandbox_id, "c1");
    ASSERT_OK(classify("{\"annotations\":{\"io.kubernetes.cri.container-type\":\"sandbox\","
                       "\"io.kubernetes.cri.sandbox-id\":\"c1\"}}", &i));
    ASSERT_EQ(i.kind, BUNDLE_SANDBOX);
    ASSERT_OK(classify("{\"annotations\":{\"io.kubernetes.cri.container-type\":\"container\","
                       "\"io.kubernetes.cri.sandbox-id\":\"pod1\"}}", &i));
    ASSERT_EQ(i.kind, BUNDLE_CONTAINER);
    ASSERT_STREQ(i.sandbox_id, "pod1");
    ASSERT_OK(classify("{\"annotations\":{\"io.kubernetes.cri-o.ContainerType\":\"container\","
                       "\"io.kubernetes.cri-o.SandboxID\":\"pod2\"}}", &i));
    ASSERT_EQ(i.kind, BUNDLE_CONTAINER);
    ASSERT_STREQ(i.sandbox_id, "pod2");
    ASSERT_EQ(classify("{\"annotations\":{\"io.kubernetes.cri.container-type\":\"container\"}}",
                       &i), -EINVAL);
    ASSERT_EQ(classify("{\"annotations\":{\"io.kubernetes.cri.container-type\":\"container\","
                       "\"io.kubernetes.cri.sandbox-id\":\"../x\"}}", &i), -EINVAL);
    ASSERT_EQ(classify("not json", &i), -EINVAL);
    return 0;
}

/* ---- the built binary ---- */

struct fake {
    char shim[PATH_MAX];
    char grpc[PATH_MAX]; /* a fake containerd address: only hashed */
    char bundle[PATH_MAX];
};

/* A failed test must not leave its daemon behind: SIGTERM the pid that
 * `start` recorded in the bundle (the daemon exits on SIGTERM). */
static void fake_stop(struct fake *f)
{
    char path[PATH_MAX + 16], buf[32] = "";
    int fd, pid;
    ssize_t n;

    snprintf(path, sizeof(path), "%s/shim.pid", f->bundle);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    pid = n > 0 ? atoi(buf) : 0;
    if (pid > 0 && ch_count_processes_with(f->shim, f->grpc) > 0)
        kill(pid, SIGTERM);
}
#define _cleanup_fake_ _cleanup_(fake_stop)

static int fake_bundle(struct fake *f, const char *id, const char *annotations)
{
    _cleanup_free_ char *bin = ch_bin_dir();
    char path[PATH_MAX + 32];
    FILE *cfg;

    snprintf(f->shim, sizeof(f->shim), "%s/containerd-shim-kata-v2", bin);
    snprintf(f->grpc, sizeof(f->grpc), "%s/containerd.sock", test_tmpdir());
    snprintf(f->bundle, sizeof(f->bundle), "%s/%s", test_tmpdir(), id);
    if (mkdir(f->bundle, 0700) < 0)
        return -errno;
    snprintf(path, sizeof(path), "%s/config.json", f->bundle);
    cfg = fopen(path, "we");
    if (!cfg)
        return -errno;
    fprintf(cfg, "{\"ociVersion\":\"1.0.2\",\"annotations\":{%s}}", annotations);
    fclose(cfg);
    snprintf(path, sizeof(path), "%s/rootfs", f->bundle);
    mkdir(path, 0700);
    return 0;
}

static int run_shim(struct fake *f, const char *id, const char *action, struct ch_result *res)
{
    const char *argv[] = {f->shim, "-namespace", "shimtest", "-address", f->grpc,
                          "-publish-binary", "/bin/false", "-id", id, "-bundle", f->bundle,
                          action, NULL};
    const char *env[] = {"TTRPC_ADDRESS=/nonexistent/ttrpc.sock", NULL};

    /* containerd passes -bundle only to delete. */
    if (strcmp(action, "start") == 0) {
        argv[9] = action;
        argv[10] = NULL;
    }
    return ch_run((char *const *)argv, f->bundle, (char *const *)env, NULL, 0, 10000, res);
}

static int task_call(const char *uri, const char *method, const ProtobufCMessage *req,
                     const ProtobufCMessageDescriptor *resp_type, ProtobufCMessage **ret,
                     int *code)
{
    struct loop *loop = NULL;
    struct ttrpc_client *c = NULL;
    struct err e = ERR_INIT;
    struct ttrpc_call_opts opts = {.timeout_ns = 5000 * MS};
    int fd, r;

    r = loop_new(&loop);
    if (r < 0)
        return r;
    fd = transport_dial(uri, 5000 * MS, &e);
    if (fd < 0) {
        loop_free(loop);
        return fd;
    }
    r = ttrpc_client_new(loop, fd, NULL, &c);
    if (r >= 0)
        r = ttrpc_client_call_sync(c, TASK, method, req, resp_type, &opts, ret, code, &e);
    ttrpc_client_free(c);
    loop_free(loop);
    return r;
}

/* Waits for the socket file to disappear (the daemon removes it on exit). */
static bool wait_gone(const char *path, int timeout_ms)
{
    for (int i = 0; i < timeout_ms / 20; i++) {
        if (access(path, F_OK) < 0)
            return true;
        usleep(20000);
    }
    return false;
}

TEST(start_connect_shutdown_delete)
{
    _cleanup_fake_ struct fake f = {.shim = ""};
    _cleanup_(ch_result_done) struct ch_result res = {.exit_code = -1};
    char uri[ADDRESS_MAX], file[256];
    Containerd__Task__V2__ConnectRequest creq = CONTAINERD__TASK__V2__CONNECT_REQUEST__INIT;
    Containerd__Task__V2__ShutdownRequest sreq = CONTAINERD__TASK__V2__SHUTDOWN_REQUEST__INIT;
    Containerd__Task__V2__StateRequest streq = CONTAINERD__TASK__V2__STATE_REQUEST__INIT;
    Containerd__Task__V2__DeleteResponse *del;
    ProtobufCMessage *resp = NULL;
    int code = 0;

    ASSERT_OK(fake_bundle(&f, "single1", ""));
    if (access(f.shim, X_OK) < 0)
        return test_skip("%s is not built", f.shim);
    ASSERT_OK(run_shim(&f, "single1", "start", &res));
    printf("#   start printed \"%s\" in %ld ms\n", res.output, res.elapsed_ms);
    ASSERT_EQ(res.exit_code, 0);
    /* containerd waits for EOF: the daemon must not hold the pipe. */
    ASSERT_LT(res.elapsed_ms, 3000);
    ASSERT_OK(address_for(f.grpc, "shimtest", "single1", uri, sizeof(uri)));
    ASSERT_STREQ(res.output, uri);
    ch_result_done(&res);
    ASSERT_OK(address_read_file(f.bundle, file, sizeof(file)));
    ASSERT_STREQ(file, uri);
    ASSERT_EQ(ch_count_processes_with(f.shim, f.grpc), 1);

    creq.id = (char *)"single1";
    ASSERT_OK(task_call(uri, "Connect", &creq.base,
                        &containerd__task__v2__connect_response__descriptor, &resp, &code));
    ASSERT_GT(((Containerd__Task__V2__ConnectResponse *)resp)->shim_pid, 0);
    protobuf_c_message_free_unpacked(resp, NULL);
    resp = NULL;
    streq.id = (char *)"nosuch";
    ASSERT_EQ(task_call(uri, "State", &streq.base,
                        &containerd__task__v2__state_response__descriptor, &resp, &code),
              -ENOENT);
    ASSERT_EQ(code, TTRPC_NOT_FOUND);
    sreq.id = (char *)"single1";
    ASSERT_OK(task_call(uri, "Shutdown", &sreq.base, &google__protobuf__empty__descriptor, &resp,
                        &code));
    protobuf_c_message_free_unpacked(resp, NULL);
    ASSERT_TRUE(wait_gone(address_socket_path(uri), 5000));

    ASSERT_OK(run_shim(&f, "single1", "delete", &res));
    ASSERT_EQ(res.exit_code, 0);
    del = containerd__task__v2__delete_response__unpack(NULL, res.len, (uint8_t *)res.output);
    ASSERT_TRUE(del != NULL);
    ASSERT_EQ(del->exit_status, 137);
    ASSERT_TRUE(del->exited_at && del->exited_at->seconds > time(NULL) - 60);
    containerd__task__v2__delete_response__free_unpacked(del, NULL);
    ch_result_done(&res);
    /* Idempotent, also without a bundle. */
    ASSERT_OK(run_shim(&f, "single1", "delete", &res));
    ASSERT_EQ(res.exit_code, 0);
    ch_result_done(&res);
    ASSERT_EQ(ch_count_processes_with(f.shim, f.grpc), 0);
    return 0;
}

TEST(pod_container_joins_sandbox_shim)
{
    _cleanup_fake_ struct fake sb = {.shim = ""}, ct = {.shim = ""};
    _cleanup_(ch_result_done) struct ch_result res = {.exit_code = -1};
    char uri[ADDRESS_MAX];
    Containerd__Task__V2__ShutdownRequest sreq = CONTAINERD__TASK__V2__SHUTDOWN_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    int code = 0;

    ASSERT_OK(fake_bundle(&sb, "pod-sb", "\"io.kubernetes.cri.container-type\":\"sandbox\","
                                         "\"io.kubernetes.cri.sandbox-id\":\"pod-sb\""));
    ASSERT_OK(fake_bundle(&ct, "pod-c1", "\"io.kubernetes.cri.container-type\":\"container\","
                                         "\"io.kubernetes.cri.sandbox-id\":\"pod-sb\""));
    if (access(sb.shim, X_OK) < 0)
        return test_skip("%s is not built", sb.shim);
    ASSERT_OK(run_shim(&sb, "pod-sb", "start", &res));
    ASSERT_EQ(res.exit_code, 0);
    ASSERT_OK(address_for(sb.grpc, "shimtest", "pod-sb", uri, sizeof(uri)));
    ASSERT_STREQ(res.output, uri);
    ch_result_done(&res);
    ASSERT_OK(run_shim(&ct, "pod-c1", "start", &res));
    ASSERT_EQ(res.exit_code, 0);
    ASSERT_STREQ(res.output, uri);
    ch_result_done(&res);
    ASSERT_EQ(ch_count_processes_with(sb.shim, sb.grpc), 1);
    /* delete of the pod container leaves the sandbox's shim alone. */
    ASSERT_OK(run_shim(&ct, "pod-c1", "delete", &res));
    ASSERT_EQ(res.exit_code, 0);
    ch_result_done(&res);
    ASSERT_EQ(ch_count_processes_with(sb.shim, sb.grpc), 1);
    ASSERT_TRUE(access(address_socket_path(uri), F_OK) == 0);

    sreq.id = (char *)"pod-sb";
    ASSERT_OK(task_call(uri, "Shutdown", &sreq.base, &google__protobuf__empty__descriptor, &resp,
                        &code));
    protobuf_c_message_free_unpacked(resp, NULL);
    ASSERT_TRUE(wait_gone(address_socket_path(uri), 5000));
    ASSERT_OK(run_shim(&sb, "pod-sb", "delete", &res));
    ch_result_done(&res);
    return 0;
}

TEST(killed_shim_is_cleaned_by_delete)
{
    struct fake f;
    _cleanup_(ch_result_done) struct ch_result res = {.exit_code = -1};
    char uri[ADDRESS_MAX], pidfile[PATH_MAX + 16], buf[32] = "";
    int fd;
    ssize_t n;

    ASSERT_OK(fake_bundle(&f, "killed1", ""));
    if (access(f.shim, X_OK) < 0)
        return test_skip("%s is not built", f.shim);
    ASSERT_OK(run_shim(&f, "killed1", "start", &res));
    ASSERT_EQ(res.exit_code, 0);
    ch_result_done(&res);
    ASSERT_OK(address_for(f.grpc, "shimtest", "killed1", uri, sizeof(uri)));
    snprintf(pidfile, sizeof(pidfile), "%s/shim.pid", f.bundle);
    fd = open(pidfile, O_RDONLY | O_CLOEXEC);
    ASSERT_OK(fd);
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    ASSERT_GT(n, 0);
    ASSERT_OK(kill(atoi(buf), SIGKILL));
    for (int i = 0; i < 100 && ch_count_processes_with(f.shim, f.grpc) > 0; i++)
        usleep(20000);
    /* The socket file is left behind by the dead shim; delete removes it. */
    ASSERT_TRUE(access(address_socket_path(uri), F_OK) == 0);
    ASSERT_OK(run_shim(&f, "killed1", "delete", &res));
    ASSERT_EQ(res.exit_code, 0);
    ch_result_done(&res);
    ASSERT_TRUE(access(address_socket_path(uri), F_OK) < 0);
    return 0;
}
