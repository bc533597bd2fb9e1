/* Test support for the stand-alone agent: starts build/bin/kata-agent on a
 * unix socket in a scratch directory, connects a ttRPC client, builds a
 * busybox OCI bundle (from the busybox-static package) and an oci.proto
 * Spec in runc's default shape. Usable by the kata-agent-ctl tests too.
 * Functions return 0 or a negative errno; a missing prerequisite is
 * -ENOENT with the reason in `why`. One harness per test; not thread-safe. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "kata/agent.pb-c.h"
#include "kata/oci.pb-c.h"

struct loop;
struct ttrpc_client;

struct agent_harness {
    char dir[256];    /* scratch dir: sock, bundle, shared */
    char sock[320];
    char shared[320]; /* KATA_AGENT_SHARED_DIR */
    pid_t pid;
    int pidfd;
    struct loop *loop;
    struct ttrpc_client *client;
    char why[256];
};

int agent_harness_start(struct agent_harness *h);
/* SIGTERMs the agent; returns its exit code (0: clean, e.g. no LSan report),
 * or -1 when it had to be killed. */
int agent_harness_stop(struct agent_harness *h);

/* Unary call to grpc.AgentService (or grpc.Health when method is
 * "Check"/"Version"); *ret_code gets the gRPC code, *ret_msg (optional,
 * static buffer) the message. Response freed by the caller with
 * protobuf_c_message_free_unpacked(), NULL on error. */
int agent_harness_call(struct agent_harness *h, const char *method, const ProtobufCMessage *req,
                       const ProtobufCMessageDescriptor *resp_type, ProtobufCMessage **ret_resp,
                       const char **ret_msg);

/* agent_harness_start, then a busybox bundle in <h->dir>/bundle, whose path
 * goes to bundle. -ENOENT with the reason in h->why (agent stopped) when
 * the agent or busybox is missing: the caller skips. */
int agent_harness_start_with_bundle(struct agent_harness *h, char *bundle, size_t size);
/* A call whose request is a container id alone (StartContainer's shape:
 * Start, Remove, Pause, Resume...). Returns the gRPC code; a failure is
 * printed as a test comment and its message goes to *ret_msg if given. */
int agent_harness_call_cid(struct agent_harness *h, const char *method, const char *cid,
                           const char **ret_msg);

/* Reads a process's stdout (or stderr) to EOF with ReadStdout/ReadStderr
 * calls into buf, NUL-terminated; what does not fit in size-1 bytes is
 * dropped. Returns the length, or minus the gRPC code of a failed call. */
int agent_harness_read_all(struct agent_harness *h, const char *cid, const char *eid,
                           bool err_stream, char *buf, size_t size);
/* WaitProcess: the exit status, or -1000 - the gRPC code of a failed call. */
int agent_harness_wait(struct agent_harness *h, const char *cid, const char *eid);

/* Creates <dir>/rootfs with busybox and its applet links. */
int agent_harness_bundle(const char *dir, char *why, size_t why_size);

/* A Spec in runc's default shape, all storage inside the struct. */
#define AH_MAX_ARGS 16
struct agent_harness_spec {
    Grpc__Spec spec;
    Grpc__Process process;
    Grpc__User user;
    Grpc__Root root;
    Grpc__Linux linux_;
    Grpc__LinuxCapabilities caps;
    Grpc__LinuxResources res;
    Grpc__LinuxMemory mem;
    Grpc__LinuxSeccomp seccomp;
    Grpc__LinuxSyscall syscall;
    Grpc__LinuxSyscall *syscalls[1];
    char *seccomp_names[2];
    Grpc__POSIXRlimit rlimit;
    Grpc__POSIXRlimit *rlimits[1];
    Grpc__Box box;
    Grpc__Mount mounts[8];
    Grpc__Mount *mount_ptrs[8];
    Grpc__LinuxNamespace ns[6];
    Grpc__LinuxNamespace *ns_ptrs[6];
    char *args[AH_MAX_ARGS + 1];
    char *env[2];
    char *cap_list[16];
    char rootfs[320];
    char cgroup[128];
};

/* args: NULL-terminated. The cgroup path is unique per call. */
void agent_harness_spec_init(struct agent_harness_spec *s, const char *bundle_dir,
                             const char *const *args);
/* Adds a seccomp profile: default allow, `syscall` -> SCMP_ACT_ERRNO(EPERM). */
void agent_harness_spec_deny(struct agent_harness_spec *s, const char *syscall);

/* Counts: mounts in /proc/self/mountinfo whose mount point contains
 * `needle`, open fds of pid. */
int agent_harness_count_mounts(const char *needle);
/* Cgroup directories this test process's specs made (kata-agent-test-<pid>-*)
 * that still exist in any hierarchy under /sys/fs/cgroup. */
int agent_harness_count_cgroups(void);
int agent_harness_count_fds(pid_t pid);
