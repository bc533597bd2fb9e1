/* An in-process shim for Task-service tests without a VM: the shim's Task
 * service on its own loop, its guest agent replaced by the fake agent of
 * fake_agent.h (through the shim's agent_uri_override hook), and a real
 * ttRPC client connected to it over a socketpair. The configuration is
 * [hypervisor.mock], written to the test's scratch dir and named by
 * KATA_CONF_FILE. Below it, the Task calls the tests share, synchronous,
 * each returning the gRPC code (0: OK) and printing why a call failed.
 * Test-only code. */
#pragma once

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stdint.h>

#include "shim/shim.h"
#include "tests/support/fake_agent.h"

struct ttrpc_client;

struct shim_env {
    struct shim shim;
    struct fake_agent *fa;
    struct ttrpc_client *client;  /* talks to the shim's Task service */
    char sock[108], uri[128];     /* the fake agent's socket */
};

/* Sets it all up with the fake agent's options o and the agent dial timeout
 * (seconds). Follows the TEST() convention: 0, a test_skip() value without
 * root (the shim bind-mounts the rootfs into the shared folder), or 1. *v
 * is zeroed first, so shim_env_free may follow any return. */
int shim_env_init(struct shim_env *v, const struct fake_agent_opts *o, int dial_timeout_s);
/* Lets the shim's teardown work finish, then frees in dependency order. */
void shim_env_free(struct shim_env *v);

#define SHIM_ENV_TASK "containerd.task.v2.Task"

/* A bundle for Create: <test_tmpdir()>/bundle-<id> (path to bundle[size])
 * with an empty rootfs/ and config_json as config.json. 0 or -errno. */
int shim_env_bundle(const char *id, const char *config_json, char *bundle, size_t size);

/* A Task request of Type with its id and exec_id set. */
#define SHIM_ENV_ID_REQ(Type, INIT, id_, exec_)                                                    \
    ({                                                                                             \
        Type _q = INIT;                                                                            \
        _q.id = (char *)(id_);                                                                     \
        _q.exec_id = (char *)(exec_);                                                              \
        _q;                                                                                        \
    })

/* Any Task method. On OK and when ret is given, *ret is the response (the
 * caller frees it with protobuf_c_message_free_unpacked); else freed. */
int shim_env_call(struct shim_env *v, const char *method, const ProtobufCMessage *req,
                  const ProtobufCMessageDescriptor *resp_type, ProtobufCMessage **ret);
/* Exec with proc_json as the OCI Process; stdout_uri may be NULL. */
int shim_env_exec(struct shim_env *v, const char *id, const char *exec_id, const char *proc_json,
                  bool terminal, const char *stdout_uri);
int shim_env_start(struct shim_env *v, const char *id, const char *exec_id);
/* *ret_exit: the exit status, on OK. */
int shim_env_wait(struct shim_env *v, const char *id, const char *exec_id, uint32_t *ret_exit);
int shim_env_kill(struct shim_env *v, const char *id, const char *exec_id, uint32_t sig);
/* ret_exit may be NULL. */
int shim_env_delete(struct shim_env *v, const char *id, const char *exec_id, uint32_t *ret_exit);
/* Runs the shim's loop until its sandbox is gone (a few seconds at most);
 * true when it is. */
bool shim_env_settle(struct shim_env *v);
