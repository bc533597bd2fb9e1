/* The init helper: namespaces, cgroup, mounts, then the process (see
 * agent/container_init.h and agent/init_proto.h). Errors travel to the
 * agent as INIT_MSG_ERROR; nothing is logged here, because stdio already
 * belongs to the container. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/container_init.h"
#include "agent/init_proto.h"
#include "agent/mounts.h"
#include "agent/oci_glue.h"
#include "agent/oci_spec.h"
#include "agent/process_setup.h"
#include "lib/compiler.h"
#include "lib/err.h"
#include "lib/fd.h"
#include "lib/xalloc.h"

static void send_msg(uint32_t type, int code, pid_t pid, const char *msg)
{
    struct init_msg m = {.type = type, .code = code, .pid = pid};
    if (msg)
        snprintf(m.msg, sizeof(m.msg), "%s", msg);
    ssize_t _unused_ n = send(INIT_FD_SOCK, &m, sizeof(m), MSG_NOSIGNAL);
}

/* INIT_MSG_PTY with the master attached. */
static int send_pty(int master)
{
    struct init_msg m = {.type = INIT_MSG_PTY};
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int))];
    } ctl;
    memset(&ctl, 0, sizeof(ctl));
    struct iovec iov = {.iov_base = &m, .iov_len = sizeof(m)};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
                        .msg_controllen = sizeof(ctl.buf)};
    struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &master, sizeof(int));
    return sendmsg(INIT_FD_SOCK, &mh, MSG_NOSIGNAL) == (ssize_t)sizeof(m) ? 0 : -errno;
}

static _noreturn_ void die(const struct err *e)
{
    send_msg(INIT_MSG_ERROR, e->code ? e->code : -EIO, 0, err_msg(e));
    _exit(127);
}

static uint32_t wait_msg(void)
{
    struct init_msg m;
    ssize_t n;
    do
        n = recv(INIT_FD_SOCK, &m, sizeof(m), 0);
    while (n < 0 && errno == EINTR);
    if (n != (ssize_t)sizeof(m))
        _exit(1); /* the agent is gone */
    return m.type;
}

static void read_config(struct init_header *h, struct oci_spec **ret, struct err *e)
{
    if (fd_read_full(INIT_FD_CONFIG, h, sizeof(*h)) != (ssize_t)sizeof(*h) ||
        h->magic != INIT_MAGIC || h->spec_size > INIT_MAX_SPEC) {
        err_set(e, -EPROTO, "init: bad configuration header");
        die(e);
    }
    _cleanup_free_ void *blob = xmalloc(h->spec_size ? h->spec_size : 1);
    if (fd_read_full(INIT_FD_CONFIG, blob, h->spec_size) != (ssize_t)h->spec_size) {
        err_set(e, -EPROTO, "init: short configuration");
        die(e);
    }
    close(INIT_FD_CONFIG);
    if (oci_glue_unpack(blob, h->spec_size, ret, e) < 0)
        die(e);
}

static void join_cgroups(const struct init_header *h, struct err *e)
{
    for (uint32_t i = 0; i < h->n_cgroups && i < INIT_MAX_CGROUPS; i++) {
        if (h->cgroup_procs[i][255] != '\0')
            _exit(1);
        int fd = open(h->cgroup_procs[i], O_WRONLY | O_CLOEXEC);
        if (fd < 0 || write(fd, "0", 1) != 1) {
            err_set(e, -errno, "cannot join the cgroup (%s)", h->cgroup_procs[i]);
            die(e);
        }
        close(fd);
    }
}

/* Create mode: join the namespaces given by path, create the others,
 * except the pod's (pod_flags), which are ours already. */
static bool create_namespaces(const struct oci_spec *s, uint32_t pod_flags, struct err *e)
{
    static const int order[] = {CLONE_NEWUSER, CLONE_NEWIPC, CLONE_NEWUTS, CLONE_NEWNET,
                                CLONE_NEWPID,  CLONE_NEWNS,  CLONE_NEWCGROUP};
    int unshare_flags = 0;
    bool pid_ns = false;
    for (size_t i = 0; i < ELEMENTSOF(order); i++) {
        const struct oci_namespace *ns = oci_spec_namespace(s, order[i]);
        if (order[i] == CLONE_NEWPID)
            pid_ns = true; /* always a pid namespace, as the Kata agent */
        if (!ns)
            continue;
        if (pod_flags & (uint32_t)order[i])
            continue;
        if (ns->path) {
            int fd = open(ns->path, O_RDONLY | O_CLOEXEC);
            if (fd < 0 || setns(fd, order[i]) < 0) {
                err_set(e, -errno, "oci.Linux.Namespaces: cannot join \"%s\"", ns->path);
                die(e);
            }
            close(fd);
            if (order[i] == CLONE_NEWPID)
                unshare_flags &= ~CLONE_NEWPID;
        } else if (order[i] == CLONE_NEWUSER) {
            if (unshare(CLONE_NEWUSER) < 0) {
                err_set(e, -errno, "cannot create a user namespace");
                die(e);
            }
            send_msg(INIT_MSG_USERNS, 0, getpid(), NULL);
            if (wait_msg() != INIT_MSG_ACK || setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0) {
                err_set(e, -EPERM, "cannot become root in the new user namespace");
                die(e);
            }
        } else if (order[i] != CLONE_NEWCGROUP) {
            unshare_flags |= order[i];
        }
    }
    if (!oci_spec_namespace(s, CLONE_NEWPID))
        unshare_flags |= CLONE_NEWPID;
    if (unshare(unshare_flags) < 0) {
        err_set(e, -errno, "cannot create the namespaces");
        die(e);
    }
    return pid_ns;
}

/* Reports the process's pid and, when we forked into a pid namespace,
 * holds the child until the agent has its pidfd. Returns in the process. */
static void fork_and_report(bool fork_needed, struct err *e)
{
    if (!fork_needed) {
        send_msg(INIT_MSG_PID, 0, getpid(), NULL);
        if (wait_msg() != INIT_MSG_ACK)
            _exit(1);
        return;
    }
    int go[2];
    if (pipe2(go, O_CLOEXEC) < 0) {
        err_set(e, -errno, "pipe");
        die(e);
    }
    pid_t pid = fork();
    if (pid < 0) {
        err_set(e, -errno, "cannot fork into the pid namespace");
        die(e);
    }
    if (pid == 0) {
        char c;
        close(go[1]);
        if (read(go[0], &c, 1) != 1)
            _exit(1);
        close(go[0]);
        return;
    }
    close(go[0]);
    send_msg(INIT_MSG_PID, 0, pid, NULL);
    if (wait_msg() == INIT_MSG_ACK && write(go[1], "g", 1) == 1)
        _exit(0);
    kill(pid, SIGKILL);
    _exit(1);
}

static void write_sysctls(const struct oci_spec *s, struct err *e)
{
    for (size_t i = 0; s->sysctl_keys[i]; i++) {
        char path[512];
        snprintf(path, sizeof(path), "/proc/sys/%s", s->sysctl_keys[i]);
        for (char *p = path + 10; *p; p++)
            if (*p == '.')
                *p = '/';
        int fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0 || write(fd, s->sysctl_values[i], strlen(s->sysctl_values[i])) < 0) {
            err_set(e, -errno, "oci.Linux.Sysctl: cannot set %s", s->sysctl_keys[i]);
            die(e);
        }
        close(fd);
    }
}

/* The agent's pty lives in the guest's devpts, which the container's own
 * /dev/pts (a new instance) does not show: ttyname() fails ("not a tty",
 * which broke `exec -t`). As runc does, the terminal is allocated from the
 * container's instance instead, once we see the container's /dev (after
 * pivot_root, or after joining its mount namespace), and its master goes to
 * the agent. The init's console is also bound over /dev/console. Without a
 * devpts of its own the container keeps the agent's pty. */
static void take_container_console(bool init, struct err *e)
{
    int m = open("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (m < 0)
        return;
    int unlock = 0, slave = -1;
    if (ioctl(m, TIOCSPTLCK, &unlock) < 0 ||
        (slave = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0) {
        err_set(e, -errno, "cannot open a pty in the container's /dev/pts");
        die(e);
    }
    if (init) {
        /* On top of any earlier bind of the agent's pty; best effort, as
         * the name only matters to programs that open /dev/console. */
        char src[64];
        snprintf(src, sizeof(src), "/proc/self/fd/%d", slave);
        int fd = open("/dev/console", O_WRONLY | O_CREAT | O_NOCTTY | O_CLOEXEC, 0600);
        if (fd >= 0) {
            close(fd);
            umount2("/dev/console", MNT_DETACH);
            int _unused_ r = mount(src, "/dev/console", NULL, MS_BIND, NULL);
        }
    }
    if (send_pty(m) < 0)
        _exit(1); /* the agent is gone */
    close(m);
    for (int fd = 0; fd < 3; fd++)
        if (dup2(slave, fd) < 0) {
            err_set(e, -errno, "cannot move the container's pty to fd %d", fd);
            die(e);
        }
    close(slave);
}

int container_init_main(void)
{
    struct err e = ERR_INIT;
    struct init_header h;
    struct oci_spec *s = NULL;
    bool fork_needed;

    /* dup2() cleared close-on-exec: the exec must close the socket, which
     * is how the agent learns that it succeeded. */
    fd_set_cloexec(INIT_FD_SOCK, true);
    read_config(&h, &s, &e);
    join_cgroups(&h, &e);
    if (h.mode == INIT_MODE_EXEC) {
        if (h.join_flags && setns(INIT_FD_PIDFD, (int)h.join_flags) < 0) {
            err_set(&e, -errno, "cannot join the container's namespaces");
            die(&e);
        }
        close(INIT_FD_PIDFD);
        fork_needed = (h.join_flags & CLONE_NEWPID) != 0;
    } else {
        fork_needed = create_namespaces(s, h.pod_flags, &e);
    }
    fork_and_report(fork_needed, &e);

    /* From here on we are the container's process. */
    setsid();
    if (h.mode == INIT_MODE_CREATE) {
        if (mounts_setup(s, &e) < 0)
            die(&e);
        const struct oci_namespace *uts = oci_spec_namespace(s, CLONE_NEWUTS);
        if (s->hostname && uts && !(h.pod_flags & CLONE_NEWUTS) &&
            sethostname(s->hostname, strlen(s->hostname)) < 0) {
            err_set(&e, -errno, "oci.Hostname: cannot set \"%s\"", s->hostname);
            die(&e);
        }
        write_sysctls(s, &e);
    }
    if (h.tty) {
        take_container_console(h.mode == INIT_MODE_CREATE, &e);
        if (ioctl(0, TIOCSCTTY, 0) < 0) {
            err_set(&e, -errno, "cannot make the pty the controlling terminal");
            die(&e);
        }
    }
    send_msg(INIT_MSG_READY, 0, 0, NULL);
    if (wait_msg() != INIT_MSG_START)
        _exit(1);
    process_setup_exec(&s->process, s->seccomp, &e);
    die(&e);
}
