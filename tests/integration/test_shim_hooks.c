/* Host OCI hooks (shim/hooks.c) through the Task service, in process, with
 * [hypervisor.mock] and the fake agent of tests/support/fake_agent.h (as
 * test_shim_task.c drives the shim): a prestart hook gets the state JSON,
 * args and env; createRuntime follows prestart; poststart runs after Start
 * and poststop at Delete; a failing prestart hook fails Create naming the
 * hook and leaves nothing behind; a Create that fails once the create hooks
 * ran runs the poststop hooks; a hook past its timeout is killed with
 * what it started; prestart runs in the pod's network namespace (made
 * with `ip netns add`). Real processes (/bin/sh) are the hooks. Needs root (the
 * shim bind-mounts the rootfs into the shared folder). */
#include <errno.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "containerd/task/v2/shim.pb-c.h"
#include "containerd/types/mount.pb-c.h"
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

#define TASK "containerd.task.v2.Task"
#define SANDBOXES "/run/kata-containers/shared/sandboxes"

/* Ids carry our pid: the shared folder is host-global. */
static const char *sid(int n)
{
    static char ids[12][32];

    if (!ids[n][0])
        snprintf(ids[n], sizeof(ids[n]), "hk%d-%d", n, (int)getpid());
    return ids[n];
}

/* The in-process shim, once /bin/sh can run the hooks. */
static int env_init(struct shim_env *v, int exit_at_start)
{
    struct fake_agent_opts o = {.exit_at_start = exit_at_start};
    int r = shim_env_init(v, &o, 10);

    if (r)
        return r;
    if (access("/bin/sh", X_OK) < 0)
        return test_skip("no /bin/sh to run as a hook");
    return 0;
}

#define ENV(v, exit_at_start)                                                                      \
    _cleanup_(shim_env_free) struct shim_env v;                                                    \
    do {                                                                                           \
        int _r = env_init(&v, exit_at_start);                                                      \
        if (_r)                                                                                    \
            return _r;                                                                             \
    } while (0)

/* One synchronous Task call; returns the gRPC code, the message in msg. */
static int call(struct shim_env *v, const char *method, const ProtobufCMessage *req,
                const ProtobufCMessageDescriptor *resp_type, char *msg, size_t size)
{
    struct err e = ERR_INIT;
    ProtobufCMessage *resp = NULL;
    int code = 0;
    int r = ttrpc_client_call_sync(v->client, TASK, method, req, resp_type, NULL, &resp, &code, &e);

    if (resp)
        protobuf_c_message_free_unpacked(resp, NULL);
    if (msg)
        snprintf(msg, size, "%s", r < 0 ? err_msg(&e) : "");
    if (r < 0)
        printf("#   %s: %s\n", method, err_msg(&e));
    return r < 0 ? (code ? code : TTRPC_UNKNOWN) : 0;
}

/* The network namespace path the next bundle names ("" for none). */
static char bundle_netns[128];

/* A bundle whose config.json has `hooks` (a JSON object body) and one
 * annotation; the bundle path goes to bundle (512 bytes). */
static void make_bundle(const char *id, const char *hooks, char *bundle)
{
    char path[1024];

    snprintf(bundle, 512, "%s/bundle-%s", test_tmpdir(), id);
    mkdir(bundle, 0700);
    snprintf(path, sizeof(path), "%s/rootfs", bundle);
    mkdir(path, 0755);
    snprintf(path, sizeof(path), "%s/config.json", bundle);
    FILE *f = fopen(path, "w");
    if (!f)
        return;
    fprintf(f,
            "{\"ociVersion\":\"1.0.2-dev\",\"process\":{\"args\":[\"sh\"],\"cwd\":\"/\"},"
            "\"root\":{\"path\":\"rootfs\"},\"annotations\":{\"org.example/hook\":\"yes\"},"
            "\"hooks\":{%s},\"linux\":{\"namespaces\":[{\"type\":\"network\",\"path\":\"%s\"}]}}",
            hooks, bundle_netns);
    fclose(f);
}

static int create(struct shim_env *v, const char *id, const char *hooks, char *msg, size_t size)
{
    Containerd__Task__V2__CreateTaskRequest req = CONTAINERD__TASK__V2__CREATE_TASK_REQUEST__INIT;
    char bundle[512];

    make_bundle(id, hooks, bundle);
    req.id = (char *)id;
    req.bundle = bundle;
    return call(v, "Create", &req.base, &containerd__task__v2__create_task_response__descriptor,
                msg, size);
}

static int start(struct shim_env *v, const char *id)
{
    Containerd__Task__V2__StartRequest q = CONTAINERD__TASK__V2__START_REQUEST__INIT;
    q.id = (char *)id;
    q.exec_id = (char *)"";
    return call(v, "Start", &q.base, &containerd__task__v2__start_response__descriptor, NULL, 0);
}

static int wait_exit(struct shim_env *v, const char *id)
{
    Containerd__Task__V2__WaitRequest q = CONTAINERD__TASK__V2__WAIT_REQUEST__INIT;
    q.id = (char *)id;
    q.exec_id = (char *)"";
    return call(v, "Wait", &q.base, &containerd__task__v2__wait_response__descriptor, NULL, 0);
}

static int delete_task(struct shim_env *v, const char *id)
{
    Containerd__Task__V2__DeleteRequest q = CONTAINERD__TASK__V2__DELETE_REQUEST__INIT;
    q.id = (char *)id;
    q.exec_id = (char *)"";
    return call(v, "Delete", &q.base, &containerd__task__v2__delete_response__descriptor, NULL, 0);
}

static bool settle(struct shim_env *v)
{
    for (int i = 0; i < 200 && (v->shim.sandbox || v->shim.pending); i++)
        loop_run_once(v->shim.loop, 20);
    return v->shim.sandbox == NULL && v->shim.pending == NULL;
}

static bool sandbox_dir_gone(const char *id)
{
    char path[512];

    snprintf(path, sizeof(path), "%s/%s", SANDBOXES, id);
    return access(path, F_OK) < 0;
}

static const char *tmp(const char *name)
{
    static char paths[8][256];
    static int i;
    char *p = paths[i++ % 8];
    snprintf(p, 256, "%s/%s", test_tmpdir(), name);
    return p;
}

static const char *jstr(json_object *o, const char *key)
{
    json_object *v = NULL;
    return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
               ? json_object_get_string(v)
               : NULL;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char *buf = calloc(1, 4096);
    size_t n = fread(buf, 1, 4095, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* Runs the loop until path exists (poststart runs after Start answered). */
static bool wait_file(struct shim_env *v, const char *path)
{
    for (int i = 0; i < 500 && access(path, F_OK) < 0; i++)
        loop_run_once(v->shim.loop, 20);
    return access(path, F_OK) == 0;
}

TEST(prestart_gets_state_args_and_env)
{
    ENV(v, -1);
    char hooks[2048], msg[512], bundle[512];
    const char *state = tmp("prestart-state.json");
    const char *envf = tmp("prestart-env.txt");
    const char *order = tmp("order.txt");
    snprintf(hooks, sizeof(hooks),
             "\"prestart\":[{\"path\":\"/bin/sh\",\"args\":[\"my-hook\",\"-c\","
             "\"cat > %s; { tr '\\\\0' ' ' < /proc/$$/cmdline; echo; "
             "tr '\\\\0' '\\\\n' < /proc/$$/environ; } > %s; "
             "echo prestart >> %s\",\"first\"],\"env\":[\"FOO=bar baz\"],\"timeout\":30}],"
             "\"createRuntime\":[{\"path\":\"/bin/sh\",\"args\":[\"sh\",\"-c\","
             "\"echo createRuntime >> %s\"]}],"
             "\"createContainer\":[{\"path\":\"/bin/sh\",\"args\":[\"sh\",\"-c\","
             "\"echo createContainer >> %s\"]}]",
             state, envf, order, order, order);
    ASSERT_EQ(create(&v, sid(1), hooks, msg, sizeof(msg)), 0);

    _cleanup_free_ char *text = slurp(state);
    ASSERT_TRUE(text != NULL);
    printf("#   state: %s\n", text);
    json_object *o = json_tokener_parse(text);
    ASSERT_TRUE(o != NULL);
    make_bundle(sid(1), "", bundle); /* the same path again */
    int ok = jstr(o, "ociVersion") && strcmp(jstr(o, "ociVersion"), "1.0.2-dev") == 0 &&
             jstr(o, "id") && strcmp(jstr(o, "id"), sid(1)) == 0 && jstr(o, "status") &&
             strcmp(jstr(o, "status"), "creating") == 0 && jstr(o, "bundle") &&
             strcmp(jstr(o, "bundle"), bundle) == 0;
    json_object *pid = NULL, *ann = NULL;
    ok = ok && json_object_object_get_ex(o, "pid", &pid) &&
         json_object_get_int(pid) == (int)getpid(); /* the shim is this process */
    ok = ok && json_object_object_get_ex(o, "annotations", &ann) && jstr(ann, "org.example/hook") &&
         strcmp(jstr(ann, "org.example/hook"), "yes") == 0;
    json_object_put(o);
    ASSERT_TRUE(ok);

    /* argv[0] is args[0], env is exactly the hook's (no PATH inherited). */
    _cleanup_free_ char *env = slurp(envf);
    ASSERT_TRUE(env != NULL);
    printf("#   argv and environ: %s", env);
    ASSERT_TRUE(strncmp(env, "my-hook -c ", 11) == 0);
    ASSERT_TRUE(strstr(env, " first \nFOO=bar baz\n") != NULL);
    ASSERT_TRUE(strstr(env, "PATH=") == NULL);
    /* createContainer belongs to the guest: not run on the host. */
    _cleanup_free_ char *ran = slurp(order);
    ASSERT_TRUE(ran != NULL);
    ASSERT_STREQ(ran, "prestart\ncreateRuntime\n");
    ASSERT_EQ(delete_task(&v, sid(1)), 0);
    ASSERT_TRUE(settle(&v));
    return 0;
}

TEST(poststart_after_start_poststop_at_delete)
{
    ENV(v, 0);
    char hooks[1024];
    const char *post = tmp("poststart.json");
    const char *stop = tmp("poststop.json");
    snprintf(hooks, sizeof(hooks),
             "\"poststart\":[{\"path\":\"/bin/sh\",\"args\":[\"sh\",\"-c\",\"cat > %s\"]}],"
             "\"poststop\":[{\"path\":\"/bin/sh\",\"args\":[\"sh\",\"-c\",\"cat > %s\"]},"
             "{\"path\":\"/bin/false\"}]",
             post, stop);
    ASSERT_EQ(create(&v, sid(2), hooks, NULL, 0), 0);
    ASSERT_TRUE(access(post, F_OK) < 0);
    ASSERT_EQ(start(&v, sid(2)), 0);
    ASSERT_TRUE(wait_file(&v, post));
    ASSERT_EQ(wait_exit(&v, sid(2)), 0);
    ASSERT_TRUE(access(stop, F_OK) < 0);
    /* The second poststop hook fails: only logged, Delete succeeds. */
    ASSERT_EQ(delete_task(&v, sid(2)), 0);
    _cleanup_free_ char *a = slurp(post);
    _cleanup_free_ char *b = slurp(stop);
    ASSERT_TRUE(a && strstr(a, "\"status\":\"running\""));
    ASSERT_TRUE(b && strstr(b, "\"status\":\"stopped\""));
    ASSERT_TRUE(settle(&v));
    ASSERT_TRUE(sandbox_dir_gone(sid(2)));
    return 0;
}

TEST(failing_prestart_fails_create_and_leaves_nothing)
{
    ENV(v, -1);
    char hooks[1024], msg[512];
    const char *later = tmp("never.txt");
    snprintf(hooks, sizeof(hooks),
             "\"prestart\":[{\"path\":\"/bin/sh\",\"args\":[\"sh\",\"-c\","
             "\"echo starting; echo no GPU here >&2; exit 3\"]}],"
             "\"createRuntime\":[{\"path\":\"/bin/sh\",\"args\":[\"sh\",\"-c\",\"touch %s\"]}]",
             later);
    int code = create(&v, sid(3), hooks, msg, sizeof(msg));
    ASSERT_NE(code, 0);
    ASSERT_TRUE(strstr(msg, "prestart hook #0 /bin/sh: exit status 3: no GPU here") != NULL);
    ASSERT_TRUE(access(later, F_OK) < 0);
    ASSERT_TRUE(settle(&v));
    ASSERT_EQ(container_count(&v.shim), 0);
    ASSERT_TRUE(sandbox_dir_gone(sid(3)));
    ASSERT_EQ(fake_agent_calls(v.fa, "CreateSandbox"), 0);
    ASSERT_EQ(fake_agent_calls(v.fa, "CreateContainer"), 0);
    /* The id is free again. */
    ASSERT_EQ(create(&v, sid(3), "", NULL, 0), 0);
    ASSERT_EQ(delete_task(&v, sid(3)), 0);
    ASSERT_TRUE(settle(&v));
    ASSERT_TRUE(sandbox_dir_gone(sid(3)));
    return 0;
}

/* Create with one rootfs mount that cannot succeed: it fails after the
 * create hooks ran and the sandbox started, when the rootfs is mounted. */
static int create_bad_rootfs(struct shim_env *v, const char *id, const char *hooks, char *msg,
                             size_t size)
{
    Containerd__Task__V2__CreateTaskRequest req = CONTAINERD__TASK__V2__CREATE_TASK_REQUEST__INIT;
    Containerd__Types__Mount m = CONTAINERD__TYPES__MOUNT__INIT;
    Containerd__Types__Mount *mounts[] = {&m};
    char bundle[512];

    make_bundle(id, hooks, bundle);
    m.type = (char *)"no-such-fs-type";
    m.source = (char *)"none";
    req.id = (char *)id;
    req.bundle = bundle;
    req.rootfs = mounts;
    req.n_rootfs = 1;
    return call(v, "Create", &req.base, &containerd__task__v2__create_task_response__descriptor,
                msg, size);
}

/* As runc destroys a container whose create failed: once prestart or
 * createRuntime hooks ran, a failed Create runs the poststop hooks (a
 * failing one is only logged, and does not change Create's error). A
 * Create that fails before the hooks stage runs none. */
TEST(failed_create_runs_poststop_once_hooks_ran)
{
    ENV(v, -1);
    char hooks[1024], msg[512];

    /* A failing prestart hook. */
    const char *stop1 = tmp("poststop-after-prestart.json");
    snprintf(hooks, sizeof(hooks),
             "\"prestart\":[{\"path\":\"/bin/sh\",\"args\":[\"sh\",\"-c\",\"exit 4\"]}],"
             "\"poststop\":[{\"path\":\"/bin/false\"},"
             "{\"path\":\"/bin/sh\",\"args\":[\"sh\",\"-c\",\"cat > %s\"]}]",
             stop1);
    ASSERT_NE(create(&v, sid(7), hooks, msg, sizeof(msg)), 0);
    ASSERT_TRUE(strstr(msg, "prestart hook #0 /bin/sh: exit status 4") != NULL);
    ASSERT_TRUE(settle(&v));
    /* The first poststop hook failed: logged, and the stage stops there. */
    ASSERT_TRUE(access(stop1, F_OK) < 0);
    snprintf(hooks, sizeof(hooks),
             "\"createRuntime\":[{\"path\":\"/bin/sh\",\"args\":[\"sh\",\"-c\",\"exit 5\"]}],"
             "\"poststop\":[{\"path\":\"/bin/sh\",\"args\":[\"sh\",\"-c\",\"cat > %s\"]},"
             "{\"path\":\"/bin/false\"}]",
             stop1);
    ASSERT_NE(create(&v, sid(7), hooks, msg, sizeof(msg)), 0);
    ASSERT_TRUE(strstr(msg, "createRuntime hook #0 /bin/sh: exit status 5") != NULL);
    ASSERT_TRUE(settle(&v));
    _cleanup_free_ char *st1 = slurp(stop1);
    ASSERT_TRUE(st1 != NULL);
    printf("#   poststop after createRuntime failed: %s\n", st1);
    ASSERT_TRUE(strstr(st1, "\"status\":\"stopped\"") != NULL);
    ASSERT_TRUE(strstr(st1, sid(7)) != NULL);
    ASSERT_EQ(container_count(&v.shim), 0);
    ASSERT_TRUE(sandbox_dir_gone(sid(7)));

    /* Hooks succeeded, the sandbox started, then the rootfs mount failed. */
    const char *pre = tmp("prestart-ran.txt");
    const char *stop2 = tmp("poststop-after-mount.json");
    snprintf(hooks, sizeof(hooks),
             "\"prestart\":[{\"path\":\"/bin/sh\",\"args\":[\"sh\",\"-c\",\"touch %s\"]}],"
             "\"poststop\":[{\"path\":\"/bin/sh\",\"args\":[\"sh\",\"-c\",\"cat > %s\"]}]",
             pre, stop2);
    ASSERT_NE(create_bad_rootfs(&v, sid(8), hooks, msg, sizeof(msg)), 0);
    printf("#   Create: %s\n", msg);
    ASSERT_TRUE(strstr(msg, "no-such-fs-type") != NULL);
    ASSERT_TRUE(settle(&v));
    ASSERT_EQ(access(pre, F_OK), 0);
    _cleanup_free_ char *st2 = slurp(stop2);
    ASSERT_TRUE(st2 != NULL);
    ASSERT_TRUE(strstr(st2, "\"status\":\"stopped\"") != NULL);
    ASSERT_EQ(container_count(&v.shim), 0);
    ASSERT_TRUE(sandbox_dir_gone(sid(8)));

    /* Refused before the hooks stage: no poststop. */
    const char *stop3 = tmp("poststop-never.json");
    snprintf(hooks, sizeof(hooks),
             "\"prestart\":[{\"path\":\"bin/true\"}],"
             "\"poststop\":[{\"path\":\"/bin/sh\",\"args\":[\"sh\",\"-c\",\"cat > %s\"]}]",
             stop3);
    ASSERT_EQ(create(&v, sid(9), hooks, msg, sizeof(msg)), TTRPC_INVALID_ARGUMENT);
    ASSERT_TRUE(settle(&v));
    ASSERT_TRUE(access(stop3, F_OK) < 0);
    ASSERT_EQ(container_count(&v.shim), 0);
    return 0;
}

/* Gone or a zombie waiting for its reaper: either way it no longer runs. */
static bool not_running(pid_t pid)
{
    char path[64], buf[256];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return true;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')');
    return p && (p[2] == 'Z' || p[2] == 'X');
}

TEST(hook_past_its_timeout_is_killed_with_its_children)
{
    ENV(v, -1);
    char hooks[1024], msg[512];
    const char *pidfile = tmp("sleeper.pid");
    snprintf(hooks, sizeof(hooks),
             "\"createRuntime\":[{\"path\":\"/bin/sh\",\"args\":[\"sh\",\"-c\","
             "\"sleep 600 & echo $! > %s; wait\"],\"timeout\":1}]",
             pidfile);
    int code = create(&v, sid(4), hooks, msg, sizeof(msg));
    ASSERT_EQ(code, TTRPC_DEADLINE_EXCEEDED);
    ASSERT_TRUE(strstr(msg, "createRuntime hook #0 /bin/sh: timed out after 1s and was killed"));
    _cleanup_free_ char *pidtext = slurp(pidfile);
    ASSERT_TRUE(pidtext != NULL);
    pid_t sleeper = (pid_t)atoi(pidtext);
    ASSERT_GT(sleeper, 1);
    /* SIGKILL went to the whole group; delivery is asynchronous. */
    for (int i = 0; i < 500 && !not_running(sleeper); i++)
        usleep(10000);
    ASSERT_TRUE(not_running(sleeper));
    ASSERT_TRUE(settle(&v));
    ASSERT_EQ(container_count(&v.shim), 0);
    return 0;
}

TEST(bad_hooks_are_named)
{
    ENV(v, -1);
    char msg[512];
    ASSERT_EQ(create(&v, sid(5), "\"prestart\":[{\"path\":\"bin/true\"}]", msg, sizeof(msg)),
              TTRPC_INVALID_ARGUMENT);
    ASSERT_TRUE(strstr(msg, "hooks.prestart[0].path: must be an absolute path") != NULL);
    ASSERT_TRUE(settle(&v));
    ASSERT_NE(create(&v, sid(5), "\"prestart\":[{\"path\":\"/nonexistent/hook\"}]", msg,
                     sizeof(msg)),
              0);
    ASSERT_TRUE(strstr(msg, "prestart hook #0 /nonexistent/hook: cannot run: No such file") !=
                NULL);
    ASSERT_TRUE(settle(&v));
    ASSERT_EQ(create(&v, sid(5), "\"prestart\":[{\"path\":\"/bin/true\",\"timeout\":-1}]", msg,
                     sizeof(msg)),
              TTRPC_INVALID_ARGUMENT);
    ASSERT_TRUE(strstr(msg, "hooks.prestart[0].timeout: must be positive") != NULL);
    ASSERT_TRUE(settle(&v));
    ASSERT_EQ(container_count(&v.shim), 0);
    return 0;
}

static int sh(const char *cmd)
{
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}

/* Prestart runs inside the pod's network namespace, as upstream enters it. */
TEST(prestart_runs_in_the_pod_netns)
{
    ENV(v, -1);
    char name[64], cmd[256], hooks[1024], want[64];
    const char *seen = tmp("netns.txt");
    struct stat st;
    snprintf(name, sizeof(name), "hk-%d", (int)getpid());
    snprintf(cmd, sizeof(cmd), "ip netns add %s 2>&1", name);
    if (sh(cmd) != 0)
        return test_skip("`ip netns add` does not work here");
    snprintf(bundle_netns, sizeof(bundle_netns), "/var/run/netns/%s", name);
    int r = stat(bundle_netns, &st);
    snprintf(hooks, sizeof(hooks),
             "\"prestart\":[{\"path\":\"/bin/sh\",\"args\":[\"sh\",\"-c\","
             "\"readlink /proc/$$/ns/net > %s\"]}]",
             seen);
    int code = r == 0 ? create(&v, sid(6), hooks, NULL, 0) : -1;
    if (code == 0) {
        delete_task(&v, sid(6));
        settle(&v);
    }
    bundle_netns[0] = '\0';
    snprintf(cmd, sizeof(cmd), "ip netns del %s", name);
    sh(cmd);
    ASSERT_EQ(r, 0);
    ASSERT_EQ(code, 0);
    _cleanup_free_ char *got = slurp(seen);
    snprintf(want, sizeof(want), "net:[%llu]\n", (unsigned long long)st.st_ino);
    ASSERT_TRUE(got != NULL);
    printf("#   hook saw %s", got);
    ASSERT_STREQ(got, want);
    return 0;
}
