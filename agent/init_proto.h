/* What the agent and its re-executed init helper say to each other
 * (DESIGN decision 4). The agent runs `/proc/self/fd/<sealed memfd> init`
 * with the environment marker below and these fds:
 *   0-2  the process's stdio (pipes or the pty slave)
 *   3    INIT_FD_SOCK: SOCK_SEQPACKET to the agent, struct init_msg each way
 *   4    INIT_FD_CONFIG: sealed memfd, struct init_header + the packed Spec
 *   5    INIT_FD_PIDFD: exec mode only, pidfd of the container's init
 * Conversation: helper -> PID (pid of the process, in the agent's pid
 * namespace; a helper that forked into a new pid namespace waits for ACK
 * before it lets the child go and exits, so the child is reparented to the
 * agent as a zombie at worst, never lost) [-> USERNS, agent writes the id
 * maps, <- ACK] [-> PTY with a terminal and the container's own devpts]
 * -> READY (set-up done) <- START -> exec: the socket is
 * close-on-exec, so EOF means the exec succeeded; ERROR otherwise. Plain C,
 * no protobuf: this header is domain code. */
#pragma once

#include <stdint.h>

#define INIT_ARG "init"
#define INIT_ENV_MARKER "_KATA_AGENT_INIT"
#define INIT_FD_SOCK 3
#define INIT_FD_CONFIG 4
#define INIT_FD_PIDFD 5

#define INIT_MAGIC 0x4b41494eU /* "KAIN" */
#define INIT_MAX_CGROUPS 16
#define INIT_MAX_SPEC (4U << 20)

enum init_mode { INIT_MODE_CREATE = 1, INIT_MODE_EXEC = 2 };

struct init_header {
    uint32_t magic;
    uint32_t mode;       /* enum init_mode */
    uint32_t spec_size;  /* bytes of packed Spec after the header */
    uint32_t join_flags; /* exec: CLONE_NEW* to join through INIT_FD_PIDFD */
    uint32_t tty;        /* stdio is a pty slave: make it the controlling tty */
    uint32_t n_cgroups;
    /* create: CLONE_NEW* kinds the spec lists that are the pod's, which in
     * the guest is the agent's own: stay in ours, neither create nor join */
    uint32_t pod_flags;
    char cgroup_procs[INIT_MAX_CGROUPS][256]; /* cgroup.procs files to join */
};

enum init_msg_type {
    INIT_MSG_PID = 1, /* helper: pid = the process */
    INIT_MSG_USERNS,  /* helper: pid = the process to map; waits for ACK */
    INIT_MSG_READY,   /* process: set-up done, waiting for START */
    INIT_MSG_ERROR,   /* helper or process: code = -errno, msg = what failed */
    INIT_MSG_ACK,     /* agent */
    INIT_MSG_START,   /* agent */
    INIT_MSG_PTY,     /* process: the master of a pty from the container's
                       * devpts is attached (SCM_RIGHTS); no reply */
};

struct init_msg {
    uint32_t type;
    int32_t code;
    int32_t pid;
    char msg[256];
};
