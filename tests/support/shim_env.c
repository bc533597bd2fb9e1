/* The in-process shim of shim_env.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "containerd/task/v2/shim.pb-c.h"
#include "google/protobuf/any.pb-c.h"
#include "google/protobuf/empty.pb-c.h"
#include "lib/err.h"
#include "lib/loop.h"
#include "lib/ttrpc/ttrpc.h"
#include "lib/workpool.h"
#include "shim/task_service.h"
#include "tests/harness/harness.h"
#include "tests/support/shim_env.h"

void shim_env_free(struct shim_env *v)
{
    /* Teardown (sandbox stop, pending calls) runs on the loop. */
    for (int i = 0; i < 200 && (v->shim.sandbox || v->shim.pending); i++)
        loop_run_once(v->shim.loop, 20);
    v->client = ttrpc_client_free(v->client);
    v->shim.pool = workpool_free(v->shim.pool);
    v->shim.server = ttrpc_server_free(v->shim.server);
    v->fa = fake_agent_free(v->fa);
    v->shim.loop = loop_free(v->shim.loop);
}

int shim_env_init(struct shim_env *v, const struct fake_agent_opts *o, int dial_timeout_s)
{
    char conf[256];
    int sv[2];
    FILE *f;

    memset(v, 0, sizeof(*v));
    if (geteuid() != 0)
        return test_skip("needs root (rootfs bind mounts)");
    snprintf(conf, sizeof(conf), "%s/kata-mock.toml", test_tmpdir());
    if (!(f = fopen(conf, "we")))
        return 1;
    fprintf(f, "[hypervisor.mock]\npath = \"/bin/true\"\n[agent.kata]\ndial_timeout = %d\n",
            dial_timeout_s);
    if (fclose(f) != 0)
        return 1;
    setenv("KATA_CONF_FILE", conf, 1);
    snprintf(v->sock, sizeof(v->sock), "%s/fake-agent.sock", test_tmpdir());
    snprintf(v->uri, sizeof(v->uri), "unix://%s", v->sock);
    v->shim.namespace_ = "default";
    v->shim.id = "t";
    v->shim.agent_uri_override = v->uri;
    if (loop_new(&v->shim.loop) < 0 || workpool_new(v->shim.loop, 4, 64, &v->shim.pool) < 0 ||
        ttrpc_server_new(v->shim.loop, NULL, &v->shim.server) < 0 ||
        task_service_register(&v->shim) < 0 ||
        fake_agent_new(v->shim.loop, v->sock, o, &v->fa) < 0 ||
        socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) < 0)
        return 1;
    /* Both calls own their fd, even when they fail. */
    if (ttrpc_server_add_connection(v->shim.server, sv[0]) < 0) {
        close(sv[1]);
        return 1;
    }
    if (ttrpc_client_new(v->shim.loop, sv[1], NULL, &v->client) < 0)
        return 1;
    return 0;
}

int shim_env_bundle(const char *id, const char *config_json, char *bundle, size_t size)
{
    char path[1024];
    FILE *f;

    snprintf(bundle, size, "%s/bundle-%s", test_tmpdir(), id);
    if (mkdir(bundle, 0700) < 0 && errno != EEXIST)
        return -errno;
    snprintf(path, sizeof(path), "%s/rootfs", bundle);
    if (mkdir(path, 0755) < 0 && errno != EEXIST)
        return -errno;
    snprintf(path, sizeof(path), "%s/config.json", bundle);
    if (!(f = fopen(path, "we")))
        return -errno;
    fputs(config_json, f);
    return fclose(f) == 0 ? 0 : -errno;
}

int shim_env_call(struct shim_env *v, const char *method, const ProtobufCMessage *req,
                  const ProtobufCMessageDescriptor *resp_type, ProtobufCMessage **ret)
{
    struct err e = ERR_INIT;
    ProtobufCMessage *resp = NULL;
    int code = 0;
    int r = ttrpc_client_call_sync(v->client, SHIM_ENV_TASK, method, req, resp_type, NULL, &resp,
                                   &code, &e);

    if (r < 0 && code == 0)
        code = TTRPC_UNKNOWN; /* failed on our side: no code from the shim */
    if (r < 0)
        printf("#   %s: %s\n", method, err_msg(&e));
    if (ret)
        *ret = resp;
    else if (resp)
        protobuf_c_message_free_unpacked(resp, NULL);
    return r < 0 ? code : 0;
}

int shim_env_exec(struct shim_env *v, const char *id, const char *exec_id, const char *proc_json,
                  bool terminal, const char *stdout_uri)
{
    Containerd__Task__V2__ExecProcessRequest q = SHIM_ENV_ID_REQ(
        Containerd__Task__V2__ExecProcessRequest,
        CONTAINERD__TASK__V2__EXEC_PROCESS_REQUEST__INIT, id, exec_id);
    Google__Protobuf__Any spec = GOOGLE__PROTOBUF__ANY__INIT;

    spec.type_url = (char *)"types.containerd.io/opencontainers/runtime-spec/1/Process";
    spec.value.data = (uint8_t *)proc_json;
    spec.value.len = strlen(proc_json);
    q.spec = &spec;
    q.terminal = terminal;
    if (stdout_uri)
        q.stdout = (char *)stdout_uri;
    return shim_env_call(v, "Exec", &q.base, &google__protobuf__empty__descriptor, NULL);
}

int shim_env_start(struct shim_env *v, const char *id, const char *exec_id)
{
    Containerd__Task__V2__StartRequest q = SHIM_ENV_ID_REQ(
        Containerd__Task__V2__StartRequest, CONTAINERD__TASK__V2__START_REQUEST__INIT, id, exec_id);
    return shim_env_call(v, "Start", &q.base, &containerd__task__v2__start_response__descriptor,
                         NULL);
}

int shim_env_wait(struct shim_env *v, const char *id, const char *exec_id, uint32_t *ret_exit)
{
    Containerd__Task__V2__WaitRequest q = SHIM_ENV_ID_REQ(
        Containerd__Task__V2__WaitRequest, CONTAINERD__TASK__V2__WAIT_REQUEST__INIT, id, exec_id);
    Containerd__Task__V2__WaitResponse *r = NULL;
    int code = shim_env_call(v, "Wait", &q.base, &containerd__task__v2__wait_response__descriptor,
                             (ProtobufCMessage **)&r);

    if (r) {
        *ret_exit = r->exit_status;
        protobuf_c_message_free_unpacked(&r->base, NULL);
    }
    return code;
}

int shim_env_kill(struct shim_env *v, const char *id, const char *exec_id, uint32_t sig)
{
    Containerd__Task__V2__KillRequest q = SHIM_ENV_ID_REQ(
        Containerd__Task__V2__KillRequest, CONTAINERD__TASK__V2__KILL_REQUEST__INIT, id, exec_id);
    q.signal = sig;
    return shim_env_call(v, "Kill", &q.base, &google__protobuf__empty__descriptor, NULL);
}

int shim_env_delete(struct shim_env *v, const char *id, const char *exec_id, uint32_t *ret_exit)
{
    Containerd__Task__V2__DeleteRequest q =
        SHIM_ENV_ID_REQ(Containerd__Task__V2__DeleteRequest,
                        CONTAINERD__TASK__V2__DELETE_REQUEST__INIT, id, exec_id);
    Containerd__Task__V2__DeleteResponse *r = NULL;
    int code = shim_env_call(v, "Delete", &q.base,
                             &containerd__task__v2__delete_response__descriptor,
                             (ProtobufCMessage **)&r);

    if (r) {
        if (ret_exit)
            *ret_exit = r->exit_status;
        protobuf_c_message_free_unpacked(&r->base, NULL);
    }
    return code;
}

bool shim_env_settle(struct shim_env *v)
{
    for (int i = 0; i < 200 && v->shim.sandbox; i++)
        loop_run_once(v->shim.loop, 20);
    return v->shim.sandbox == NULL;
}
