/* The shim's asynchronous client of the guest agent (grpc.AgentService and
 * grpc.Health over lib/ttrpc), on the shim's loop.
 *
 * agent_client_new() dials the agent's URI (hv_vm_agent_address()) on the
 * workpool, retrying until dial_timeout, then calls Health.Check on the
 * loop; ready() reports the outcome once. Every wrapper below sends one
 * call and reports through fn exactly once, later, from the loop, unless
 * it returns a negative errno (refused locally: no callback) or the caller
 * cancels the operation first (agent_op_cancel(): fn never runs). Replies
 * are validated (sizes, ids, ranges) before fn sees them: the guest is
 * untrusted, and a malformed reply is an -EPROTO failure.
 *
 * When the connection closes, or agent_client_disconnect() is called
 * because the VM died, every pending call fails with -ECONNRESET and
 * lost() runs once. Deadlines follow Kata: none for WaitProcess,
 * ReadStdout/ReadStderr and GetOOMEvent (long polls), create_container_timeout
 * for CreateContainer (agent_client_set_create_timeout()), 60 s otherwise.
 * Errors are negative errno values with text in struct agent_reply.msg. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct loop;
struct workpool;
struct agent_client;
struct agent_op;
struct agent_spec;
struct agent_json;

#define AGENT_READ_CHUNK (32 * 1024)

struct agent_reply {
    int code;                 /* 0 or a negative errno */
    const char *msg;          /* never NULL; "" on success */
    int exit_status;          /* WaitProcess */
    const uint8_t *data;      /* ReadStdout/ReadStderr: len 0 is end of stream */
    size_t len;
    uint32_t written;         /* WriteStdin */
    const void *stats;        /* StatsContainer: grpc.StatsContainerResponse (glue only) */
};

typedef void (*agent_reply_fn)(const struct agent_reply *reply, void *userdata);
typedef void (*agent_ready_fn)(struct agent_client *ac, int code, const char *msg,
                               void *userdata);
typedef void (*agent_lost_fn)(struct agent_client *ac, void *userdata);
typedef void (*agent_oom_fn)(const char *container_id, void *userdata);

int agent_client_new(struct loop *loop, struct workpool *pool, const char *uri,
                     uint64_t dial_timeout_ns, agent_ready_fn ready, agent_lost_fn lost,
                     void *userdata, struct agent_client **ret_client);
/* Pending calls fail with -ECANCELED (their callbacks run, lost() does
 * not). NULL-safe, returns NULL. */
struct agent_client *agent_client_free(struct agent_client *ac);
/* The VM is gone: close the connection, fail every pending call with
 * -ECONNRESET, run lost(). Idempotent. */
void agent_client_disconnect(struct agent_client *ac);
bool agent_client_connected(const struct agent_client *ac);

/* The callback of this operation will not run. */
void agent_op_cancel(struct agent_op *op);

/* For glue modules of other RPCs (shim/network_agent.c): sends req, a
 * protobuf-c message, to grpc.AgentService/method. The reply, of type
 * resp_type, is decoded but its content is not used: fn sees only the code
 * and message. */
struct ProtobufCMessage;
struct ProtobufCMessageDescriptor;
int agent_call_unused_reply(struct agent_client *ac, const char *method,
                            const struct ProtobufCMessage *req,
                            const struct ProtobufCMessageDescriptor *resp_type,
                            agent_reply_fn fn, void *ud, struct agent_op **ret_op);

/* Sandbox. share: the Storage CreateSandbox asks the agent to mount for
 * the shared folder (tag kataShared) at the guest's container folder;
 * msize_9p: the 9p message size ([hypervisor.qemu] msize_9p), 0 for Kata's
 * default; modules[0..n_modules): [agent.kata] kernel_modules items, each
 * "name param=value ..." as runtime_config_check_module() left it, sent as
 * KernelModule{name, parameters} for the agent to load first. */
enum agent_share { AGENT_SHARE_NONE, AGENT_SHARE_VIRTIO_FS, AGENT_SHARE_9P };
#define AGENT_MSIZE_9P_DEFAULT 8192
int agent_create_sandbox(struct agent_client *ac, const char *sandbox_id, const char *hostname,
                         char *const *dns, size_t n_dns, enum agent_share share, unsigned msize_9p,
                         const char *const *modules, size_t n_modules, agent_reply_fn fn,
                         void *ud, struct agent_op **ret_op);
int agent_destroy_sandbox(struct agent_client *ac, agent_reply_fn fn, void *ud,
                          struct agent_op **ret_op);
/* Starts the GetOOMEvent long-poll loop: fn for each OOM event, until the
 * connection is lost (1 s pause after a failed call). */
void agent_watch_oom(struct agent_client *ac, agent_oom_fn fn, void *ud);

/* CreateContainer's deadline ([runtime] create_container_timeout, as
 * Kata); 0 restores the 60 s every other call has. */
void agent_client_set_create_timeout(struct agent_client *ac, uint64_t timeout_ns);

/* Containers. spec is consumed (freed) in every case. */
int agent_create_container(struct agent_client *ac, const char *cid, struct agent_spec *spec,
                           agent_reply_fn fn, void *ud, struct agent_op **ret_op);
int agent_start_container(struct agent_client *ac, const char *cid, agent_reply_fn fn, void *ud,
                          struct agent_op **ret_op);
int agent_remove_container(struct agent_client *ac, const char *cid, agent_reply_fn fn,
                           void *ud, struct agent_op **ret_op);
int agent_pause_container(struct agent_client *ac, const char *cid, bool pause,
                          agent_reply_fn fn, void *ud, struct agent_op **ret_op);
/* resources: LinuxResources JSON (consumed). */
int agent_update_container(struct agent_client *ac, const char *cid, struct agent_json *res,
                           agent_reply_fn fn, void *ud, struct agent_op **ret_op);
int agent_stats_container(struct agent_client *ac, const char *cid, agent_reply_fn fn, void *ud,
                          struct agent_op **ret_op);

/* Processes. exec_id "" addresses the init process. process: OCI Process
 * JSON (consumed). */
int agent_exec_process(struct agent_client *ac, const char *cid, const char *exec_id,
                       struct agent_json *process, agent_reply_fn fn, void *ud,
                       struct agent_op **ret_op);
int agent_signal_process(struct agent_client *ac, const char *cid, const char *exec_id,
                         uint32_t signo, agent_reply_fn fn, void *ud, struct agent_op **ret_op);
int agent_wait_process(struct agent_client *ac, const char *cid, const char *exec_id,
                       agent_reply_fn fn, void *ud, struct agent_op **ret_op);
/* Long poll for at most AGENT_READ_CHUNK bytes. */
int agent_read_stream(struct agent_client *ac, const char *cid, const char *exec_id,
                      bool is_stderr, agent_reply_fn fn, void *ud, struct agent_op **ret_op);
int agent_write_stdin(struct agent_client *ac, const char *cid, const char *exec_id,
                      const uint8_t *data, size_t len, agent_reply_fn fn, void *ud,
                      struct agent_op **ret_op);
int agent_close_stdin(struct agent_client *ac, const char *cid, const char *exec_id,
                      agent_reply_fn fn, void *ud, struct agent_op **ret_op);
int agent_tty_resize(struct agent_client *ac, const char *cid, const char *exec_id,
                     uint32_t rows, uint32_t cols, agent_reply_fn fn, void *ud,
                     struct agent_op **ret_op);
