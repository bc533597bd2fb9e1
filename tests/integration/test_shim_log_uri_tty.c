/* Log URIs through the Task service in process, against the fake agent of
 * tests/support/fake_agent.h (as test_shim_task does), for what ctr cannot
 * send: a terminal process (ctr drops --log-uri with -t) writing to a
 * file:// and to a binary:// logger, init and exec, and the exact gRPC
 * code of a bad URI on Create and Exec. Needs root (rootfs bind mounts). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
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
#include "shim/shim.h"
#include "shim/task_service.h"
#include "tests/harness/harness.h"
#include "tests/support/fake_agent.h"

#define TASK "containerd.task.v2.Task"

static const char *sid(int n)
{
    static char ids[4][32];

    if (!ids[n][0])
        snprintf(ids[n], sizeof(ids[n]), "lt%d-%d", n, (int)getpid());
    return ids[n];
}

struct env {
    struct shim shim;
    struct fake_agent *fa;
    struct ttrpc_client *client;
    char sock[108], uri[128];
};

static void env_free(struct env *v)
{
    for (int i = 0; i < 200 && (v->shim.sandbox || v->shim.pending); i++)
        loop_run_once(v->shim.loop, 20);
    v->client = ttrpc_client_free(v->client);
    v->shim.pool = workpool_free(v->shim.pool);
    v->shim.server = ttrpc_server_free(v->shim.server);
    v->fa = fake_agent_free(v->fa);
    v->shim.loop = loop_free(v->shim.loop);
}

static int env_init(struct env *v, const struct fake_agent_opts *o)
{
    char conf[256];
    int sv[2];
    FILE *f;

    memset(v, 0, sizeof(*v));
    if (geteuid() != 0)
        return test_skip("needs root (rootfs bind mounts)");
    /* A logger that died must not take the test with it. */
    signal(SIGPIPE, SIG_IGN);
    snprintf(conf, sizeof(conf), "%s/kata-fake.toml", test_tmpdir());
    if (!(f = fopen(conf, "w")))
        return 1;
    fprintf(f, "[hypervisor.mock]\npath = \"/bin/true\"\n[agent.kata]\ndial_timeout = 10\n");
    fclose(f);
    setenv("KATA_CONF_FILE", conf, 1);
    snprintf(v->sock, sizeof(v->sock), "%s/fake-agent.sock", test_tmpdir());
    snprintf(v->uri, sizeof(v->uri), "unix://%s", v->sock);
    v->shim.namespace_ = "ns1";
    v->shim.id = "t";
    v->shim.agent_uri_override = v->uri;
    if (loop_new(&v->shim.loop) < 0 || workpool_new(v->shim.loop, 4, 64, &v->shim.pool) < 0 ||
        ttrpc_server_new(v->shim.loop, NULL, &v->shim.server) < 0 ||
        task_service_register(&v->shim) < 0 ||
        fake_agent_new(v->shim.loop, v->sock, o, &v->fa) < 0 ||
        socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) < 0 ||
        ttrpc_server_add_connection(v->shim.server, sv[0]) < 0 ||
        ttrpc_client_new(v->shim.loop, sv[1], NULL, &v->client) < 0)
        return 1;
    return 0;
}

#define ENV(v, ...)                                                                                \
    _cleanup_(env_free) struct env v;                                                              \
    do {                                                                                           \
        struct fake_agent_opts _o = {__VA_ARGS__};                                                 \
        int _r = env_init(&v, &_o);                                                                \
        if (_r)                                                                                    \
            return _r;                                                                             \
    } while (0)

static int call(struct env *v, const char *method, const ProtobufCMessage *req,
                const ProtobufCMessageDescriptor *resp_type, ProtobufCMessage **ret)
{
    struct err e = ERR_INIT;
    ProtobufCMessage *resp = NULL;
    int code = 0;
    int r = ttrpc_client_call_sync(v->client, TASK, method, req, resp_type, NULL, &resp, &code, &e);

    if (r < 0 && code == 0)
        code = TTRPC_UNKNOWN;
    if (r < 0)
        printf("#   %s: %s\n", method, err_msg(&e));
    if (ret)
        *ret = resp;
    else if (resp)
        protobuf_c_message_free_unpacked(resp, NULL);
    return r < 0 ? code : 0;
}

static int create(struct env *v, const char *id, const char *out, const char *errp,
                  bool terminal)
{
    Containerd__Task__V2__CreateTaskRequest req = CONTAINERD__TASK__V2__CREATE_TASK_REQUEST__INIT;
    char bundle[512], path[1024];
    FILE *f;

    snprintf(bundle, sizeof(bundle), "%s/bundle-%s", test_tmpdir(), id);
    mkdir(bundle, 0700);
    snprintf(path, sizeof(path), "%s/rootfs", bundle);
    mkdir(path, 0755);
    snprintf(path, sizeof(path), "%s/config.json", bundle);
    if (!(f = fopen(path, "w")))
        return -1;
    fputs("{\"ociVersion\":\"1.0.2\",\"process\":{\"terminal\":true,\"args\":[\"sh\"],"
          "\"cwd\":\"/\"},\"root\":{\"path\":\"rootfs\"},\"linux\":{\"namespaces\":"
          "[{\"type\":\"pid\"},{\"type\":\"network\",\"path\":\"/proc/self/ns/net\"}]}}",
          f);
    fclose(f);
    req.id = (char *)id;
    req.bundle = bundle;
    req.terminal = terminal;
    req.stdout = (char *)out;
    req.stderr = (char *)errp;
    return call(v, "Create", &req.base, &containerd__task__v2__create_task_response__descriptor,
                NULL);
}

static int exec_req(struct env *v, const char *id, const char *exec_id, const char *out,
                    bool terminal)
{
    Containerd__Task__V2__ExecProcessRequest xq = CONTAINERD__TASK__V2__EXEC_PROCESS_REQUEST__INIT;
    Google__Protobuf__Any spec = GOOGLE__PROTOBUF__ANY__INIT;
    static const char proc_json[] = "{\"terminal\":true,\"args\":[\"true\"],\"cwd\":\"/\"}";

    spec.type_url = (char *)"types.containerd.io/opencontainers/runtime-spec/1/Process";
    spec.value.data = (uint8_t *)proc_json;
    spec.value.len = sizeof(proc_json) - 1;
    xq.id = (char *)id;
    xq.exec_id = (char *)exec_id;
    xq.spec = &spec;
    xq.terminal = terminal;
    xq.stdout = (char *)out;
    return call(v, "Exec", &xq.base, &google__protobuf__empty__descriptor, NULL);
}

#define ID_REQ(Type, INIT, id_, exec_)                                                             \
    ({                                                                                             \
        Type _q = INIT;                                                                            \
        _q.id = (char *)(id_);                                                                     \
        _q.exec_id = (char *)(exec_);                                                              \
        _q;                                                                                        \
    })

static int start(struct env *v, const char *id, const char *exec_id)
{
    Containerd__Task__V2__StartRequest q = ID_REQ(Containerd__Task__V2__StartRequest,
                                                  CONTAINERD__TASK__V2__START_REQUEST__INIT, id,
                                                  exec_id);
    return call(v, "Start", &q.base, &containerd__task__v2__start_response__descriptor, NULL);
}

static int wait_sync(struct env *v, const char *id, const char *exec_id, uint32_t *ret_exit)
{
    Containerd__Task__V2__WaitRequest q = ID_REQ(Containerd__Task__V2__WaitRequest,
                                                 CONTAINERD__TASK__V2__WAIT_REQUEST__INIT, id,
                                                 exec_id);
    Containerd__Task__V2__WaitResponse *r = NULL;
    int code = call(v, "Wait", &q.base, &containerd__task__v2__wait_response__descriptor,
                    (ProtobufCMessage **)&r);

    if (r) {
        *ret_exit = r->exit_status;
        protobuf_c_message_free_unpacked(&r->base, NULL);
    }
    return code;
}

static int kill_task(struct env *v, const char *id, const char *exec_id, uint32_t sig)
{
    Containerd__Task__V2__KillRequest q = ID_REQ(Containerd__Task__V2__KillRequest,
                                                 CONTAINERD__TASK__V2__KILL_REQUEST__INIT, id,
                                                 exec_id);
    q.signal = sig;
    return call(v, "Kill", &q.base, &google__protobuf__empty__descriptor, NULL);
}

static int delete_task(struct env *v, const char *id, const char *exec_id)
{
    Containerd__Task__V2__DeleteRequest q = ID_REQ(Containerd__Task__V2__DeleteRequest,
                                                   CONTAINERD__TASK__V2__DELETE_REQUEST__INIT, id,
                                                   exec_id);
    return call(v, "Delete", &q.base, &containerd__task__v2__delete_response__descriptor, NULL);
}

static int settle(struct env *v)
{
    for (int i = 0; i < 200 && v->shim.sandbox; i++)
        loop_run_once(v->shim.loop, 20);
    return v->shim.sandbox == NULL;
}

static int count_fds(void)
{
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    struct dirent *de;

    while (d && (de = readdir(d)))
        n += de->d_name[0] != '.';
    if (d)
        closedir(d);
    return n;
}

static bool file_is(const char *path, const char *want)
{
    char buf[256] = "";
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);

    if (fd >= 0)
        close(fd);
    if (n < 0 || strcmp(buf, want) != 0) {
        printf("#   %s: '%s', want '%s'\n", path, n < 0 ? "(missing)" : buf, want);
        return false;
    }
    return true;
}

TEST(terminal_init_to_a_file)
{
    ENV(v, .exit_at_start = 7, .output = "hello\n");
    char log[PATH_MAX], uri[PATH_MAX + 16];
    uint32_t ex = 0;

    snprintf(log, sizeof(log), "%s/tty-file/new/log", test_tmpdir());
    snprintf(uri, sizeof(uri), "file://%s", log);
    /* A terminal has no stderr: containerd sends "" (anything is ignored). */
    ASSERT_EQ(create(&v, sid(0), uri, "", true), 0);
    ASSERT_EQ(start(&v, sid(0), ""), 0);
    ASSERT_EQ(wait_sync(&v, sid(0), "", &ex), 0);
    ASSERT_EQ(ex, 7);
    ASSERT_TRUE(file_is(log, "hello\n"));
    ASSERT_EQ(delete_task(&v, sid(0), ""), 0);
    ASSERT_TRUE(settle(&v));
    return 0;
}

/* A stdout path naming a regular file (not a FIFO) is appended to. */
TEST(plain_file_path_is_appended_to)
{
    ENV(v, .exit_at_start = 0, .output = "appended\n");
    char log[PATH_MAX];
    uint32_t ex = 1;
    int fd;

    snprintf(log, sizeof(log), "%s/plain.log", test_tmpdir());
    ASSERT_OK(fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    ASSERT_EQ(write(fd, "old\n", 4), 4);
    close(fd);
    /* (stderr to a device: written directly, as epoll refuses it) */
    ASSERT_EQ(create(&v, sid(3), log, "/dev/null", false), 0);
    ASSERT_EQ(start(&v, sid(3), ""), 0);
    ASSERT_EQ(wait_sync(&v, sid(3), "", &ex), 0);
    ASSERT_EQ(ex, 0);
    ASSERT_TRUE(file_is(log, "old\nappended\n"));
    ASSERT_EQ(delete_task(&v, sid(3), ""), 0);
    ASSERT_TRUE(settle(&v));
    return 0;
}

TEST(terminal_logger_gets_stdout_and_an_empty_stderr)
{
    ENV(v, .exit_at_start = -1, .output = "from-tty\n");
    int fds_before;
    char dir[PATH_MAX], script[PATH_MAX + 16], text[8 * PATH_MAX], uri[PATH_MAX + 64],
        path[PATH_MAX + 16];
    uint32_t ex = 0;
    int fd;

    snprintf(dir, sizeof(dir), "%s/tty-logger", test_tmpdir());
    ASSERT_OK(mkdir(dir, 0755));
    snprintf(script, sizeof(script), "%s/logger.sh", dir);
    snprintf(text, sizeof(text),
             "#!/bin/sh\n"
             "echo \"$@ $CONTAINER_ID $CONTAINER_NAMESPACE\" >> %1$s/args\n"
             "cat <&3 >> %1$s/out 4<&- 5>&- &\n"
             "cat <&4 >> %1$s/err 3<&- 5>&- &\n"
             "exec 3<&- 4<&- 5>&-\n"
             "wait\n"
             "echo done >> %1$s/done\n",
             dir);
    ASSERT_OK(fd = open(script, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755));
    ASSERT_EQ(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    snprintf(uri, sizeof(uri), "binary://%s?mode=tty", script);
    fds_before = count_fds();
    ASSERT_EQ(create(&v, sid(1), uri, "", true), 0);
    ASSERT_EQ(start(&v, sid(1), ""), 0);
    /* An exec with a terminal, to the same logger program. */
    ASSERT_EQ(exec_req(&v, sid(1), "x1", uri, true), 0);
    ASSERT_EQ(start(&v, sid(1), "x1"), 0);
    ASSERT_EQ(kill_task(&v, sid(1), "x1", SIGKILL), 0);
    ASSERT_EQ(wait_sync(&v, sid(1), "x1", &ex), 0);
    ASSERT_EQ(ex, 137);
    /* Its exit was reported only after its logger had finished. */
    snprintf(path, sizeof(path), "%s/done", dir);
    ASSERT_TRUE(file_is(path, "done\n"));
    ASSERT_EQ(kill_task(&v, sid(1), "", SIGTERM), 0);
    ASSERT_EQ(wait_sync(&v, sid(1), "", &ex), 0);
    ASSERT_EQ(ex, 128 + SIGTERM);
    ASSERT_TRUE(file_is(path, "done\ndone\n"));
    /* Both wrote the same line: the order does not matter. */
    snprintf(path, sizeof(path), "%s/out", dir);
    ASSERT_TRUE(file_is(path, "from-tty\nfrom-tty\n"));
    snprintf(path, sizeof(path), "%s/err", dir);
    ASSERT_TRUE(file_is(path, ""));
    snprintf(path, sizeof(path), "%s/args", dir);
    /* CONTAINER_ID is the exec's id for the exec, as runc's shim has it;
     * the two loggers started in either order. */
    snprintf(text, sizeof(text), "mode tty %s ns1\nmode tty x1 ns1\n", sid(1));
    if (!file_is(path, text)) {
        snprintf(text, sizeof(text), "mode tty x1 ns1\nmode tty %s ns1\n", sid(1));
        ASSERT_TRUE(file_is(path, text));
    }
    ASSERT_EQ(delete_task(&v, sid(1), "x1"), 0);
    ASSERT_EQ(delete_task(&v, sid(1), ""), 0);
    ASSERT_TRUE(settle(&v));
    /* The loggers' pipes and pidfds are gone with them (the fake agent
     * drops the shim's connection a turn or two later). */
    for (int i = 0; i < 50 && count_fds() != fds_before; i++)
        loop_run_once(v.shim.loop, 20);
    ASSERT_EQ(count_fds(), fds_before);
    return 0;
}

TEST(bad_uris_are_invalid_argument_on_create_and_exec)
{
    ENV(v, .exit_at_start = -1);
    char uri[PATH_MAX + 32];
    uint32_t ex = 0;

    ASSERT_EQ(create(&v, sid(2), "ftp:///x", "ftp:///x", false), TTRPC_INVALID_ARGUMENT);
    ASSERT_EQ(create(&v, sid(2), "file://rel/x", "file://rel/x", false), TTRPC_INVALID_ARGUMENT);
    snprintf(uri, sizeof(uri), "binary://%s/missing-logger", test_tmpdir());
    ASSERT_EQ(create(&v, sid(2), uri, uri, false), TTRPC_INVALID_ARGUMENT);
    /* Nothing was created by those. */
    ASSERT_TRUE(v.shim.sandbox == NULL);
    ASSERT_EQ(create(&v, sid(2), "", "", false), 0);
    ASSERT_EQ(start(&v, sid(2), ""), 0);
    ASSERT_EQ(exec_req(&v, sid(2), "x1", uri, false), TTRPC_INVALID_ARGUMENT);
    ASSERT_EQ(exec_req(&v, sid(2), "x1", "nope:/x", false), TTRPC_INVALID_ARGUMENT);
    ASSERT_EQ(exec_req(&v, sid(2), "x1", "", false), 0); /* the id was not taken */
    ASSERT_EQ(fake_agent_calls(v.fa, "CreateContainer"), 1);
    ASSERT_EQ(kill_task(&v, sid(2), "", SIGKILL), 0);
    ASSERT_EQ(wait_sync(&v, sid(2), "", &ex), 0);
    ASSERT_EQ(delete_task(&v, sid(2), ""), 0);
    ASSERT_TRUE(settle(&v));
    return 0;
}
