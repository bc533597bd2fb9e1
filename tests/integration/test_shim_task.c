/* The Task service driven through a real ttRPC client, in process, against
 * the fake agent of tests/support/fake_agent.h (no VM: the shim's
 * agent_uri_override test hook). Checks containerd's semantics (Create,
 * Start, State, Wait, Kill, Exec, Delete, unknown ids), concurrent Waits,
 * malformed agent replies, and an agent that never answers. Needs root
 * (the shim bind-mounts the rootfs into the shared folder). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "containerd/task/v2/shim.pb-c.h"
#include "google/protobuf/any.pb-c.h"
#include "google/protobuf/empty.pb-c.h"
#include "lib/compiler.h"
#include "lib/err.h"
#include "lib/loop.h"
#include "lib/ttrpc/ttrpc.h"
#include "lib/workpool.h"
#include "shim/container.h"
#include "shim/shim.h"
#include "shim/task_service.h"
#include "tests/harness/harness.h"
#include "tests/support/fake_agent.h"
#include "tests/support/shim_env.h"

#define SANDBOXES "/run/kata-containers/shared/sandboxes"

/* Sandbox ids carry our pid: /run/vc/vm/<id> and the shared folder are
 * host-global, and another run (sanitizer build, CI) may be going on. */
static const char *sid(int n)
{
    static char ids[10][32];

    if (!ids[n][0])
        snprintf(ids[n], sizeof(ids[n]), "ft%d-%d", n, (int)getpid());
    return ids[n];
}

#define ENV(v, ...)                                                                                \
    _cleanup_(shim_env_free) struct shim_env v;                                                    \
    do {                                                                                           \
        struct fake_agent_opts _o = {__VA_ARGS__};                                                 \
        int _r = shim_env_init(&v, &_o, 10);                                                       \
        if (_r)                                                                                    \
            return _r;                                                                             \
    } while (0)

static void make_bundle(const char *id, char *bundle, size_t size)
{
    shim_env_bundle(id,
                    "{\"ociVersion\":\"1.0.2\",\"process\":{\"args\":[\"sh\"],\"cwd\":\"/\"},"
                    "\"root\":{\"path\":\"rootfs\"},\"hooks\":{\"prestart\":[{\"path\":"
                    "\"/bin/true\"}]},\"linux\":{\"namespaces\":[{\"type\":\"pid\"},{\"type\":"
                    "\"network\",\"path\":\"/proc/self/ns/net\"}]}}",
                    bundle, size);
}

static int create(struct shim_env *v, const char *id, uint32_t *ret_pid)
{
    Containerd__Task__V2__CreateTaskRequest req = CONTAINERD__TASK__V2__CREATE_TASK_REQUEST__INIT;
    Containerd__Task__V2__CreateTaskResponse *resp = NULL;
    char bundle[512];
    int code;

    make_bundle(id, bundle, sizeof(bundle));
    req.id = (char *)id;
    req.bundle = bundle;
    code = shim_env_call(v, "Create", &req.base,
                         &containerd__task__v2__create_task_response__descriptor,
                         (ProtobufCMessage **)&resp);
    if (resp && ret_pid)
        *ret_pid = resp->pid;
    if (resp)
        protobuf_c_message_free_unpacked(&resp->base, NULL);
    return code;
}

static int exec_req(struct shim_env *v, const char *id, const char *exec_id)
{
    return shim_env_exec(v, id, exec_id, "{\"args\":[\"sleep\",\"9\"],\"cwd\":\"/\"}", false,
                         NULL);
}

static int state(struct shim_env *v, const char *id, const char *exec_id, int *ret_status,
                 uint32_t *ret_exit)
{
    Containerd__Task__V2__StateRequest q = SHIM_ENV_ID_REQ(
        Containerd__Task__V2__StateRequest, CONTAINERD__TASK__V2__STATE_REQUEST__INIT, id, exec_id);
    Containerd__Task__V2__StateResponse *r = NULL;
    int code = shim_env_call(v, "State", &q.base,
                             &containerd__task__v2__state_response__descriptor,
                             (ProtobufCMessage **)&r);

    if (r) {
        *ret_status = (int)r->status;
        *ret_exit = r->exit_status;
        protobuf_c_message_free_unpacked(&r->base, NULL);
    }
    return code;
}

static bool sandbox_dir_gone(const char *id)
{
    char path[512];

    snprintf(path, sizeof(path), "%s/%s", SANDBOXES, id);
    return access(path, F_OK) < 0;
}

TEST(create_start_wait_state_delete)
{
    ENV(v, .exit_at_start = 7, .output = "hello\n");
    uint32_t pid = 0, ex = 0;
    int st = -1;

    ASSERT_EQ(create(&v, sid(1), &pid), 0);
    ASSERT_GT(pid, 0);
    ASSERT_EQ(state(&v, sid(1), "", &st, &ex), 0);
    ASSERT_EQ(st, 1); /* CREATED */
    ASSERT_EQ(create(&v, sid(1), NULL), TTRPC_ALREADY_EXISTS);
    ASSERT_EQ(shim_env_start(&v, sid(1), ""), 0);
    ASSERT_EQ(shim_env_wait(&v, sid(1), "", &ex), 0);
    ASSERT_EQ(ex, 7);
    ASSERT_EQ(state(&v, sid(1), "", &st, &ex), 0);
    ASSERT_EQ(st, 3); /* STOPPED */
    ASSERT_EQ(ex, 7);
    ex = 0;
    ASSERT_EQ(shim_env_wait(&v, sid(1), "", &ex), 0); /* kept: answers at once */
    ASSERT_EQ(ex, 7);
    ASSERT_EQ(shim_env_kill(&v, sid(1), "", SIGKILL), 0); /* no-op after exit */
    ASSERT_EQ(shim_env_kill(&v, sid(1), "", SIGUSR1), TTRPC_NOT_FOUND);
    ASSERT_EQ(shim_env_delete(&v, sid(1), "", &ex), 0);
    ASSERT_EQ(ex, 7);
    ASSERT_EQ(shim_env_delete(&v, sid(1), "", NULL), TTRPC_NOT_FOUND);
    ASSERT_TRUE(shim_env_settle(&v));
    ASSERT_TRUE(sandbox_dir_gone(sid(1)));
    ASSERT_EQ(fake_agent_calls(v.fa, "DestroySandbox"), 1);
    ASSERT_EQ(fake_agent_calls(v.fa, "RemoveContainer"), 1);
    return 0;
}

TEST(unknown_ids_and_checkpoint)
{
    ENV(v, .exit_at_start = -1);
    Containerd__Task__V2__CheckpointTaskRequest cq = CONTAINERD__TASK__V2__CHECKPOINT_TASK_REQUEST__INIT;
    uint32_t ex;
    int st;

    ASSERT_EQ(state(&v, "nope", "", &st, &ex), TTRPC_NOT_FOUND);
    ASSERT_EQ(shim_env_wait(&v, "nope", "", &ex), TTRPC_NOT_FOUND);
    ASSERT_EQ(shim_env_kill(&v, "nope", "", 9), TTRPC_NOT_FOUND);
    ASSERT_EQ(shim_env_delete(&v, "nope", "", NULL), TTRPC_NOT_FOUND);
    ASSERT_EQ(shim_env_start(&v, "nope", ""), TTRPC_NOT_FOUND);
    cq.id = (char *)"nope";
    ASSERT_EQ(
        shim_env_call(&v, "Checkpoint", &cq.base, &google__protobuf__empty__descriptor, NULL),
        TTRPC_UNIMPLEMENTED);
    return 0;
}

struct waited {
    int done;
    uint32_t status[8];
};

static void wait_cb(const struct ttrpc_status *st, const ProtobufCMessage *resp, void *ud)
{
    struct waited *w = ud;

    if (st->code == TTRPC_OK)
        w->status[w->done] = ((const Containerd__Task__V2__WaitResponse *)resp)->exit_status;
    w->done++;
}

TEST(concurrent_waits_kill_and_exec)
{
    ENV(v, .exit_at_start = -1);
    Containerd__Task__V2__WaitRequest wq = SHIM_ENV_ID_REQ(
        Containerd__Task__V2__WaitRequest, CONTAINERD__TASK__V2__WAIT_REQUEST__INIT, sid(2), "");
    struct waited w = {0};
    uint32_t ex = 0;
    int st;

    ASSERT_EQ(create(&v, sid(2), NULL), 0);
    ASSERT_EQ(shim_env_start(&v, sid(2), ""), 0);
    for (int i = 0; i < 3; i++)
        ASSERT_OK(ttrpc_client_call(v.client, SHIM_ENV_TASK, "Wait", &wq.base,
                                    &containerd__task__v2__wait_response__descriptor, NULL, wait_cb, &w));
    /* An exec while the waits are pending. */
    ASSERT_EQ(exec_req(&v, sid(2), "e1"), 0);
    ASSERT_EQ(exec_req(&v, sid(2), "e1"), TTRPC_ALREADY_EXISTS);
    ASSERT_EQ(shim_env_start(&v, sid(2), "e1"), 0);
    ASSERT_EQ(state(&v, sid(2), "e1", &st, &ex), 0);
    ASSERT_EQ(st, 2); /* RUNNING */
    ASSERT_EQ(shim_env_kill(&v, sid(2), "e1", SIGTERM), 0);
    ASSERT_EQ(shim_env_wait(&v, sid(2), "e1", &ex), 0);
    ASSERT_EQ(ex, 128 + SIGTERM);
    ASSERT_EQ(shim_env_delete(&v, sid(2), "e1", &ex), 0);
    ASSERT_EQ(ex, 128 + SIGTERM);
    ASSERT_EQ(w.done, 0);
    ASSERT_EQ(shim_env_delete(&v, sid(2), "", NULL), TTRPC_FAILED_PRECONDITION); /* running */
    ASSERT_EQ(shim_env_kill(&v, sid(2), "", SIGKILL), 0);
    for (int i = 0; i < 200 && w.done < 3; i++)
        loop_run_once(v.shim.loop, 20);
    ASSERT_EQ(w.done, 3);
    for (int i = 0; i < 3; i++)
        ASSERT_EQ(w.status[i], 137);
    ASSERT_EQ(shim_env_delete(&v, sid(2), "", &ex), 0);
    ASSERT_EQ(ex, 137);
    ASSERT_TRUE(shim_env_settle(&v));
    return 0;
}

TEST(malformed_wait_status_is_rejected)
{
    ENV(v, .mode = FAKE_AGENT_BAD_WAIT, .exit_at_start = 0);
    uint32_t ex = 0;

    ASSERT_EQ(create(&v, sid(3), NULL), 0);
    ASSERT_EQ(shim_env_start(&v, sid(3), ""), 0);
    ASSERT_EQ(shim_env_wait(&v, sid(3), "", &ex), 0);
    ASSERT_EQ(ex, 255); /* 100000 from the guest is not an exit status */
    ASSERT_EQ(shim_env_delete(&v, sid(3), "", NULL), 0);
    ASSERT_TRUE(shim_env_settle(&v));
    return 0;
}

TEST(oversized_read_is_rejected)
{
    ENV(v, .mode = FAKE_AGENT_BAD_READ, .exit_at_start = 4);
    uint32_t ex = 0;

    ASSERT_EQ(create(&v, sid(4), NULL), 0);
    ASSERT_EQ(shim_env_start(&v, sid(4), ""), 0);
    ASSERT_EQ(shim_env_wait(&v, sid(4), "", &ex), 0);
    ASSERT_EQ(ex, 4);
    ASSERT_EQ(shim_env_delete(&v, sid(4), "", NULL), 0);
    ASSERT_TRUE(shim_env_settle(&v));
    return 0;
}

TEST(silent_agent_fails_create_within_dial_timeout)
{
    _cleanup_(shim_env_free) struct shim_env v;
    struct fake_agent_opts o = {.mode = FAKE_AGENT_SILENT, .exit_at_start = -1};
    uint64_t t0;
    int r = shim_env_init(&v, &o, 2);

    if (r)
        return r;
    t0 = loop_now();
    ASSERT_NE(create(&v, sid(5), NULL), 0);
    printf("#   Create failed after %llu ms\n", (unsigned long long)((loop_now() - t0) / 1000000));
    ASSERT_LT(loop_now() - t0, 3500000000ull);
    ASSERT_GE(loop_now() - t0, 1500000000ull);
    ASSERT_TRUE(shim_env_settle(&v));
    ASSERT_TRUE(sandbox_dir_gone(sid(5)));
    ASSERT_EQ(container_count(&v.shim), 0);
    return 0;
}

/* Create with the bundle's config.json holding `annotations` (a JSON
 * object body); returns the gRPC code and the error text in msg. */
static int create_annotated(struct shim_env *v, const char *id, const char *annotations, char *msg,
                            size_t size)
{
    Containerd__Task__V2__CreateTaskRequest req = CONTAINERD__TASK__V2__CREATE_TASK_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    struct err e = ERR_INIT;
    char bundle[512], json[1024];
    int code = 0;

    snprintf(json, sizeof(json),
             "{\"ociVersion\":\"1.0.2\",\"process\":{\"args\":[\"sh\"],\"cwd\":\"/\"},"
             "\"root\":{\"path\":\"rootfs\"},\"annotations\":{%s}}",
             annotations);
    if (shim_env_bundle(id, json, bundle, sizeof(bundle)) < 0)
        return -1;
    req.id = (char *)id;
    req.bundle = bundle;
    int r = ttrpc_client_call_sync(v->client, SHIM_ENV_TASK, "Create", &req.base,
                                   &containerd__task__v2__create_task_response__descriptor, NULL,
                                   &resp, &code, &e);
    if (resp)
        protobuf_c_message_free_unpacked(resp, NULL);
    snprintf(msg, size, "%s", err_msg(&e));
    printf("#   Create %s: %s\n", id, r < 0 ? msg : "ok");
    return r < 0 ? (code ? code : TTRPC_UNKNOWN) : 0;
}

/* config/cfg.h errors reach containerd as the Create error, with the file
 * and line; annotations pass only as enable_annotations allows. */
TEST(config_errors_and_annotations_reach_create)
{
    ENV(v, .exit_at_start = -1);
    char conf[512], msg[512], want[600];
    snprintf(conf, sizeof(conf), "%s/kata-bad.toml", test_tmpdir());
    FILE *f = fopen(conf, "w");
    ASSERT_TRUE(f != NULL);
    fputs("[hypervisor.mock]\npath = \"/bin/true\"\n\n[agent.kata]\ndial_timeout = \"x\"\n", f);
    fclose(f);
    char *good = strdup(getenv("KATA_CONF_FILE"));
    setenv("KATA_CONF_FILE", conf, 1);
    ASSERT_EQ(create_annotated(&v, "cfg1", "", msg, sizeof(msg)), TTRPC_INVALID_ARGUMENT);
    snprintf(want, sizeof(want), "%s:5: [agent.kata] dial_timeout", conf);
    ASSERT_TRUE(strstr(msg, want) != NULL);
    ASSERT_TRUE(shim_env_settle(&v));

    /* default_memory is not in the default enable_annotations */
    setenv("KATA_CONF_FILE", good, 1);
    free(good);
    ASSERT_EQ(create_annotated(&v, "cfg2",
                               "\"io.katacontainers.config.hypervisor.default_memory\":\"512\"",
                               msg, sizeof(msg)),
              TTRPC_PERMISSION_DENIED);
    ASSERT_TRUE(strstr(msg, "io.katacontainers.config.hypervisor.default_memory") != NULL);
    ASSERT_TRUE(shim_env_settle(&v));
    ASSERT_EQ(container_count(&v.shim), 0);
    return 0;
}

/* containerd's exec ids are checked (its identifier rule) and never reach
 * the agent: an exec named like its container must not address the
 * container's init process there, and a reused id is a new process. */
TEST(exec_ids_are_checked_and_mapped)
{
    ENV(v, .exit_at_start = -1);
    const char *c = sid(6);
    char longid[80];
    uint32_t ex = 0;
    int st = -1;

    memset(longid, 'a', 77);
    longid[77] = '\0';
    ASSERT_EQ(create(&v, c, NULL), 0);
    ASSERT_EQ(shim_env_start(&v, c, ""), 0);
    ASSERT_EQ(exec_req(&v, c, "bad id\n"), TTRPC_INVALID_ARGUMENT);
    ASSERT_EQ(exec_req(&v, c, "a..b"), TTRPC_INVALID_ARGUMENT);
    ASSERT_EQ(exec_req(&v, c, "-a"), TTRPC_INVALID_ARGUMENT);
    ASSERT_EQ(exec_req(&v, c, ""), TTRPC_INVALID_ARGUMENT);
    ASSERT_EQ(exec_req(&v, c, longid), TTRPC_INVALID_ARGUMENT);
    ASSERT_EQ(exec_req(&v, c, "x.y-z_1"), 0);
    longid[76] = '\0';
    ASSERT_EQ(exec_req(&v, c, longid), 0); /* 76 bytes: containerd's limit */
    ASSERT_EQ(exec_req(&v, c, longid), TTRPC_ALREADY_EXISTS);
    ASSERT_EQ(fake_agent_calls(v.fa, "ExecProcess"), 0); /* only Start sends it */

    /* Named like the container: signalling it leaves the init running. */
    ASSERT_EQ(exec_req(&v, c, c), 0);
    ASSERT_EQ(shim_env_start(&v, c, c), 0);
    ASSERT_EQ(shim_env_kill(&v, c, c, SIGTERM), 0);
    ASSERT_EQ(shim_env_wait(&v, c, c, &ex), 0);
    ASSERT_EQ(ex, 128 + SIGTERM);
    ASSERT_EQ(state(&v, c, "", &st, &ex), 0);
    ASSERT_EQ(st, 2); /* RUNNING */

    /* Deleted, then the same id again: a new process in the agent. */
    ASSERT_EQ(shim_env_delete(&v, c, c, &ex), 0);
    ASSERT_EQ(exec_req(&v, c, c), 0);
    ASSERT_EQ(shim_env_start(&v, c, c), 0);
    ASSERT_EQ(state(&v, c, c, &st, &ex), 0);
    ASSERT_EQ(st, 2); /* RUNNING, not the finished first one */
    ASSERT_EQ(shim_env_kill(&v, c, c, SIGKILL), 0);
    ASSERT_EQ(shim_env_wait(&v, c, c, &ex), 0);
    ASSERT_EQ(ex, 137);
    ASSERT_EQ(fake_agent_calls(v.fa, "ExecProcess"), 2);

    ASSERT_EQ(shim_env_kill(&v, c, "", SIGKILL), 0);
    ASSERT_EQ(shim_env_wait(&v, c, "", &ex), 0);
    ASSERT_EQ(ex, 137);
    ASSERT_EQ(shim_env_delete(&v, c, "", NULL), 0);
    ASSERT_TRUE(shim_env_settle(&v));
    return 0;
}

/* Kata's rule: guest pids are not visible on the host, so Pids lists one
 * process, the VMM (here the test process, standing in for it), the same
 * pid Create and Start answered. */
TEST(pids_lists_the_vmm)
{
    ENV(v, .exit_at_start = -1);
    Containerd__Task__V2__PidsRequest q = CONTAINERD__TASK__V2__PIDS_REQUEST__INIT;
    Containerd__Task__V2__PidsResponse *r = NULL;
    uint32_t pid = 0, ex = 0;

    ASSERT_EQ(create(&v, sid(7), &pid), 0);
    ASSERT_EQ(pid, (uint32_t)getpid());
    ASSERT_EQ(shim_env_start(&v, sid(7), ""), 0);
    q.id = (char *)sid(7);
    ASSERT_EQ(shim_env_call(&v, "Pids", &q.base, &containerd__task__v2__pids_response__descriptor,
                            (ProtobufCMessage **)&r),
              0);
    ASSERT_TRUE(r != NULL);
    ASSERT_EQ(r->n_processes, 1);
    ASSERT_EQ(r->processes[0]->pid, pid);
    protobuf_c_message_free_unpacked(&r->base, NULL);
    q.id = (char *)"nope";
    ASSERT_EQ(shim_env_call(&v, "Pids", &q.base, &containerd__task__v2__pids_response__descriptor,
                            NULL),
              TTRPC_NOT_FOUND);
    ASSERT_EQ(shim_env_kill(&v, sid(7), "", SIGKILL), 0);
    ASSERT_EQ(shim_env_wait(&v, sid(7), "", &ex), 0);
    ASSERT_EQ(shim_env_delete(&v, sid(7), "", NULL), 0);
    ASSERT_TRUE(shim_env_settle(&v));
    return 0;
}

/* A pod whose sandbox container is deleted before its other container:
 * the VM stops then (Kata stops it with the sandbox container), the other
 * container's process ends with 255 (Wait answers), and its Delete, which
 * no longer needs the agent, removes the sandbox's last traces. */
TEST(deleting_the_sandbox_container_stops_the_pod)
{
    ENV(v, .exit_at_start = -1);
    const char *pod = sid(8);
    char app[64], ann[512], msg[512];
    uint32_t ex = 0;
    int st = -1;

    snprintf(app, sizeof(app), "%s-app", pod);
    snprintf(ann, sizeof(ann),
             "\"io.kubernetes.cri.container-type\":\"sandbox\",\"io.kubernetes.cri.sandbox-id\":"
             "\"%s\"",
             pod);
    ASSERT_EQ(create_annotated(&v, pod, ann, msg, sizeof(msg)), 0);
    ASSERT_EQ(shim_env_start(&v, pod, ""), 0);
    snprintf(ann, sizeof(ann),
             "\"io.kubernetes.cri.container-type\":\"container\",\"io.kubernetes.cri.sandbox-id\":"
             "\"%s\"",
             pod);
    ASSERT_EQ(create_annotated(&v, app, ann, msg, sizeof(msg)), 0);
    ASSERT_EQ(shim_env_start(&v, app, ""), 0);
    ASSERT_EQ(container_count(&v.shim), 2);

    ASSERT_EQ(shim_env_kill(&v, pod, "", SIGKILL), 0);
    ASSERT_EQ(shim_env_wait(&v, pod, "", &ex), 0);
    ASSERT_EQ(ex, 137);
    ASSERT_EQ(state(&v, app, "", &st, &ex), 0);
    ASSERT_EQ(st, 2); /* the pod lives while its sandbox container exists */
    ASSERT_EQ(shim_env_delete(&v, pod, "", NULL), 0);
    ASSERT_EQ(shim_env_wait(&v, app, "", &ex), 0);
    ASSERT_EQ(ex, 255);
    ASSERT_EQ(state(&v, app, "", &st, &ex), 0);
    ASSERT_EQ(st, 3); /* STOPPED */
    ASSERT_TRUE(v.shim.sandbox != NULL); /* kept for the app's Delete */
    ASSERT_EQ(shim_env_delete(&v, app, "", &ex), 0);
    ASSERT_EQ(ex, 255);
    ASSERT_TRUE(shim_env_settle(&v));
    ASSERT_TRUE(sandbox_dir_gone(pod));
    ASSERT_EQ(container_count(&v.shim), 0);
    ASSERT_EQ(fake_agent_calls(v.fa, "RemoveContainer"), 1); /* only while the VM ran */
    return 0;
}
