/* Processes started through the init helper (see agent/process.h and
 * agent/init_proto.h for the conversation). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "agent/agent.h"
#include "agent/cgroups.h"
#include "agent/init_proto.h"
#include "agent/oci_spec.h"
#include "agent/process.h"
#include "agent/stdio.h"
#include "lib/err.h"
#include "lib/fd.h"
#include "lib/log.h"
#include "lib/loop.h"
#include "lib/xalloc.h"

#define SETUP_TIMEOUT_NS (60ULL * 1000 * 1000 * 1000)

enum phase { PH_SETUP, PH_CREATED, PH_STARTING, PH_RUNNING };

struct process {
    struct list_node node;
    struct agent *agent;
    char *exec_id;
    int mode;
    enum phase phase;
    struct agent_child helper, child;
    bool have_child, exited, waited;
    int status;
    int sync_fd;
    struct loop_source *sync_src, *timer;
    struct stdio *stdio;
    process_done_fn pending;
    void *pending_ud;
    struct err err;
    struct list_node waiters;
    void (*on_exit)(struct process *p, void *userdata);
    void *on_exit_ud;
    const struct oci_spec *spec;
    /* Inside child_exited(), whose callbacks (the set-up reply, on_exit)
     * may free the process while it still reads it: process_free() then
     * only marks it and child_exited() frees it on the way out. */
    unsigned busy;
    bool free_requested, freeing;
    /* An exited exec is kept until its reader saw EOF on every output
     * stream (or grew quiet for the grace): see process_release(). */
    bool out_eof, err_eof;
    uint64_t grace_ns;
    struct loop_source *release_src;
    void (*release)(struct process *p, void *userdata);
    void *release_ud;
};

static void finish_pending(struct process *p, int r)
{
    process_done_fn fn = p->pending;
    p->pending = NULL;
    p->timer = loop_source_free(p->timer);
    if (fn) {
        if (r < 0 && !err_is_set(&p->err))
            err_set(&p->err, r, "process set-up failed");
        fn(p->pending_ud, r < 0 ? p->err.code : 0, &p->err);
    }
}

static void close_sync(struct process *p)
{
    p->sync_src = loop_source_free(p->sync_src);
    p->sync_fd = fd_close(p->sync_fd);
}

static void fail(struct process *p, int r)
{
    close_sync(p);
    if (p->have_child && !p->exited)
        pidfd_send_signal(p->child.pidfd, SIGKILL, NULL, 0);
    if (p->helper.pidfd >= 0)
        pidfd_send_signal(p->helper.pidfd, SIGKILL, NULL, 0);
    finish_pending(p, r);
}

static int send_msg(struct process *p, uint32_t type)
{
    struct init_msg m = {.type = type};
    if (send(p->sync_fd, &m, sizeof(m), MSG_NOSIGNAL) != (ssize_t)sizeof(m))
        return -errno;
    return 0;
}

static void sync_readable(struct loop_source *s, int fd, uint32_t revents, void *userdata);

/* A short process can exit before the loop saw the EOF of its exec: read
 * what it left in the socket (an ERROR, or nothing: the exec happened). */
static void drain_sync(struct process *p)
{
    while (p->pending && p->sync_fd >= 0) {
        struct init_msg m;
        if (recv(p->sync_fd, &m, sizeof(m), MSG_DONTWAIT | MSG_PEEK) < 0)
            break;
        sync_readable(NULL, p->sync_fd, 0, p);
    }
    if (p->pending && p->phase == PH_STARTING) {
        close_sync(p);
        p->phase = PH_RUNNING;
        finish_pending(p, 0);
    }
}

static void child_exited(struct agent_child *c, int status)
{
    struct process *p = list_entry(c, struct process, child);
    c->pidfd = fd_close(c->pidfd);
    p->busy++;
    p->exited = true;
    p->status = status;
    drain_sync(p);
    if (p->stdio)
        stdio_process_exited(p->stdio);
    if (p->pending) {
        close_sync(p);
        if (!err_is_set(&p->err))
            err_set(&p->err, -ECHILD, "the process exited during set-up (status %d)", status);
        finish_pending(p, -ECHILD);
    }
    struct list_node *n;
    while ((n = list_pop(&p->waiters))) {
        struct process_wait *w = list_entry(n, struct process_wait, node);
        p->waited = true;
        w->done(w, status);
    }
    if (p->on_exit)
        p->on_exit(p, p->on_exit_ud);
    if (--p->busy == 0 && p->free_requested)
        process_free(p);
}

static void helper_exited(struct agent_child *c, int status)
{
    (void)status;
    c->pidfd = fd_close(c->pidfd);
}

static int write_id_map(pid_t pid, const char *file, const struct oci_idmap *m, size_t n)
{
    char path[64], buf[4096];
    size_t off = 0;
    for (size_t i = 0; i < n && off < sizeof(buf) - 40; i++)
        off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%u %u %u\n", m[i].container,
                                m[i].host, m[i].size);
    snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t w = write(fd, buf, off);
    int r = w < 0 ? -errno : 0;
    close(fd);
    return r;
}

static int on_userns(struct process *p, pid_t pid)
{
    int r;
    if (!p->spec)
        return -EINVAL;
    r = write_id_map(pid, "uid_map", p->spec->uid_map, p->spec->n_uid_map);
    if (r < 0)
        return err_set(&p->err, r, "oci.Linux.UIDMappings: cannot write uid_map");
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/setgroups", (int)pid);
    r = write_id_map(pid, "gid_map", p->spec->gid_map, p->spec->n_gid_map);
    if (r < 0)
        return err_set(&p->err, r, "oci.Linux.GIDMappings: cannot write gid_map");
    return send_msg(p, INIT_MSG_ACK);
}

static int on_pid(struct process *p, pid_t pid)
{
    if (p->have_child)
        return -EPROTO;
    int fd = pidfd_open(pid, 0);
    if (fd < 0)
        return -errno;
    p->child.pid = pid;
    p->child.pidfd = fd;
    p->child.exited = child_exited;
    p->have_child = true;
    if (pid == p->helper.pid) {
        /* No fork happened: the helper is the process. */
        agent_child_untrack(&p->helper);
        p->helper.pidfd = fd_close(p->helper.pidfd);
    }
    agent_child_track(p->agent, &p->child);
    return send_msg(p, INIT_MSG_ACK);
}

static void sync_readable(struct loop_source *s, int fd, uint32_t revents, void *userdata)
{
    struct process *p = userdata;
    struct init_msg m;
    (void)s, (void)revents;
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int))];
    } ctl;
    struct iovec iov = {.iov_base = &m, .iov_len = sizeof(m)};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
                        .msg_controllen = sizeof(ctl.buf)};
    ssize_t n = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    /* Only PTY carries an fd; one anywhere else (or a truncated one) is
     * closed and the message judged on its own. */
    _cleanup_close_ int passed = -1;
    struct cmsghdr *c = n > 0 ? CMSG_FIRSTHDR(&mh) : NULL;
    if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
        c->cmsg_len == CMSG_LEN(sizeof(int)))
        memcpy(&passed, CMSG_DATA(c), sizeof(int));
    if (n > 0 && (mh.msg_flags & MSG_CTRUNC))
        return fail(p, err_set(&p->err, -EPROTO, "truncated control data from the init helper"));
    if (n <= 0) {
        /* EOF: after START the exec closed the socket, which is success. */
        close_sync(p);
        if (p->phase == PH_STARTING) {
            p->phase = PH_RUNNING;
            finish_pending(p, 0);
        } else if (p->pending) {
            fail(p, err_set(&p->err, -EPROTO, "the init helper exited before set-up finished"));
        }
        return;
    }
    if (n != (ssize_t)sizeof(m))
        return fail(p, err_set(&p->err, -EPROTO, "short message from the init helper"));
    m.msg[sizeof(m.msg) - 1] = '\0';
    int r = 0;
    switch (m.type) {
    case INIT_MSG_PID:
        r = on_pid(p, m.pid);
        break;
    case INIT_MSG_USERNS:
        r = on_userns(p, m.pid);
        break;
    case INIT_MSG_READY:
        if (p->phase != PH_SETUP)
            break;
        p->phase = PH_CREATED;
        if (p->mode == INIT_MODE_EXEC) {
            p->phase = PH_STARTING;
            r = send_msg(p, INIT_MSG_START);
        } else {
            finish_pending(p, 0);
        }
        break;
    case INIT_MSG_PTY:
        if (p->phase != PH_SETUP || passed < 0)
            return fail(p, err_set(&p->err, -EPROTO, "the init helper sent a bad console"));
        r = stdio_replace_pty(p->stdio, passed);
        if (r < 0)
            return fail(p, err_set(&p->err, r, "cannot take the container's console"));
        passed = -1; /* stdio owns it */
        break;
    case INIT_MSG_ERROR:
        if (!err_is_set(&p->err))
            err_set(&p->err, m.code < 0 ? m.code : -EIO, "%s", m.msg);
        return fail(p, p->err.code);
    default:
        r = -EPROTO;
    }
    if (r < 0)
        fail(p, err_is_set(&p->err) ? p->err.code
                                    : err_set(&p->err, r, "talking to the init helper"));
}

static void setup_timeout(struct loop_source *s, void *userdata)
{
    struct process *p = userdata;
    (void)s;
    fail(p, err_set(&p->err, -ETIMEDOUT, "the init helper did not finish set-up in time"));
}

static int make_config(const struct process_spawn_opts *o)
{
    struct init_header h = {.magic = INIT_MAGIC, .mode = (uint32_t)o->mode};
    h.spec_size = (uint32_t)o->spec_size;
    h.join_flags = o->join_flags;
    h.pod_flags = o->pod_flags;
    h.tty = o->tty;
    if (o->cgroup)
        h.n_cgroups = (uint32_t)cgroup_procs_files(o->cgroup, h.cgroup_procs, INIT_MAX_CGROUPS);
    _cleanup_close_ int fd = memfd_create("kata-init-config", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0)
        return -errno;
    ssize_t r = fd_write_full(fd, &h, sizeof(h));
    if (r >= 0 && o->spec_size)
        r = fd_write_full(fd, o->spec_blob, o->spec_size);
    if (r < 0)
        return (int)r;
    if (fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) < 0 ||
        lseek(fd, 0, SEEK_SET) < 0)
        return -errno;
    return TAKE_FD(fd);
}

/* Starts `<sealed self> init` with the fd map of init_proto.h. Sources are
 * first moved to fds >= 10 so that no dup2 onto 0-5 clobbers another. */
static int spawn_helper(struct agent *a, const int src[6], pid_t *ret_pid)
{
    int high[6] = {-1, -1, -1, -1, -1, -1};
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    sigset_t none, all;
    char exe[64];
    int r = 0;

    posix_spawn_file_actions_init(&fa);
    for (int i = 0; i < 6; i++) {
        if (src[i] < 0)
            continue;
        high[i] = fcntl(src[i], F_DUPFD_CLOEXEC, 10);
        if (high[i] < 0) {
            r = -errno;
            goto out;
        }
        posix_spawn_file_actions_adddup2(&fa, high[i], i);
    }
    posix_spawnattr_init(&attr);
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
                                        POSIX_SPAWN_SETSID);
    snprintf(exe, sizeof(exe), "/proc/self/fd/%d", a->self_fd);
    char *argv[] = {(char *)"kata-agent", (char *)INIT_ARG, NULL};
    char marker[] = INIT_ENV_MARKER "=1";
    char level[32];
    snprintf(level, sizeof(level), "KATA_AGENT_LOG_LEVEL=%d", (int)log_get_level());
    char *envp[] = {marker, level, NULL};
    r = -posix_spawn(ret_pid, exe, &fa, &attr, argv, envp);
    posix_spawnattr_destroy(&attr);
out:
    posix_spawn_file_actions_destroy(&fa);
    for (int i = 0; i < 6; i++)
        fd_close(high[i]);
    return r;
}

int process_spawn(struct agent *a, const char *exec_id, const struct process_spawn_opts *o,
                  process_done_fn ready, void *userdata, struct process **ret, struct err *e)
{
    struct process *p = xnew(struct process, 1);
    int sv[2] = {-1, -1}, r;
    _cleanup_close_ int cfg = -1;
    pid_t pid;

    list_init(&p->node);
    list_init(&p->waiters);
    list_init(&p->helper.node);
    list_init(&p->child.node);
    p->agent = a;
    p->exec_id = xstrdup(exec_id);
    p->mode = o->mode;
    p->spec = o->spec;
    p->sync_fd = p->helper.pidfd = p->child.pidfd = -1;
    r = stdio_new(a->loop, o->tty, o->rows, o->cols, a->container_pipe_size, &p->stdio);
    if (r < 0) {
        err_set(e, r, "cannot create the process's %s", o->tty ? "pty" : "pipes");
        goto fail;
    }
    cfg = make_config(o);
    if (cfg < 0 || socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
        r = err_set(e, cfg < 0 ? cfg : -errno, "cannot prepare the init helper");
        goto fail;
    }
    int fds[6];
    stdio_child_fds(p->stdio, fds);
    fds[3] = sv[1];
    fds[4] = cfg;
    fds[5] = o->mode == INIT_MODE_EXEC ? o->join_pidfd : -1;
    r = spawn_helper(a, fds, &pid);
    sv[1] = fd_close(sv[1]);
    stdio_child_done(p->stdio);
    if (r < 0) {
        err_set(e, r, "cannot start the init helper");
        goto fail;
    }
    p->helper.pid = pid;
    p->helper.pidfd = pidfd_open(pid, 0);
    p->helper.exited = helper_exited;
    agent_child_track(a, &p->helper);
    p->sync_fd = TAKE_FD(sv[0]);
    fd_set_nonblock(p->sync_fd, true);
    p->pending = ready;
    p->pending_ud = userdata;
    if (loop_add_io(a->loop, p->sync_fd, EPOLLIN, sync_readable, p, &p->sync_src) < 0 ||
        loop_add_timer(a->loop, loop_now() + SETUP_TIMEOUT_NS, setup_timeout, p, &p->timer) < 0) {
        p->pending = NULL;
        r = err_set(e, -ENOMEM, "cannot watch the init helper");
        goto fail;
    }
    *ret = p;
    return 0;
fail:
    fd_close(sv[0]);
    fd_close(sv[1]);
    process_free(p);
    return r;
}

struct process *process_free(struct process *p)
{
    if (!p)
        return NULL;
    if (p->busy) {
        /* Its owner is gone: no more callbacks into it. */
        p->free_requested = true;
        p->pending = NULL;
        p->on_exit = NULL;
        return NULL;
    }
    /* stdio_free() below answers parked reads: no release from those. */
    p->freeing = true;
    p->release = NULL;
    p->release_src = loop_source_free(p->release_src);
    p->pending = NULL;
    close_sync(p);
    p->timer = loop_source_free(p->timer);
    if (p->helper.pidfd >= 0) {
        pidfd_send_signal(p->helper.pidfd, SIGKILL, NULL, 0);
        p->helper.pidfd = fd_close(p->helper.pidfd);
    }
    /* An untracked helper or child is reaped (and ignored) by the agent. */
    agent_child_untrack(&p->helper);
    if (p->have_child && !p->exited) {
        pidfd_send_signal(p->child.pidfd, SIGKILL, NULL, 0);
        agent_child_untrack(&p->child);
    }
    p->child.pidfd = fd_close(p->child.pidfd);
    struct list_node *n;
    while ((n = list_pop(&p->waiters))) {
        struct process_wait *w = list_entry(n, struct process_wait, node);
        w->done(w, p->exited ? p->status : 128 + SIGKILL);
    }
    stdio_free(p->stdio);
    list_unlink(&p->node);
    free(p->exec_id);
    free(p);
    return NULL;
}

int process_start(struct process *p, process_done_fn done, void *userdata)
{
    if (p->phase != PH_CREATED || p->exited)
        return -EBUSY;
    int r = send_msg(p, INIT_MSG_START);
    if (r < 0)
        return r;
    p->phase = PH_STARTING;
    p->pending = done;
    p->pending_ud = userdata;
    return 0;
}

int process_signal(struct process *p, int signo)
{
    if (!p->have_child || p->exited)
        return -ESRCH;
    return pidfd_send_signal(p->child.pidfd, signo, NULL, 0) < 0 ? -errno : 0;
}

void process_wait(struct process *p, struct process_wait *w)
{
    list_init(&w->node);
    if (p->exited) {
        p->waited = true;
        w->done(w, p->status);
        return;
    }
    list_append(&p->waiters, &w->node);
}

void process_wait_cancel(struct process_wait *w)
{
    list_unlink(&w->node);
}

void process_on_exit(struct process *p, void (*fn)(struct process *p, void *userdata),
                     void *userdata)
{
    p->on_exit = fn;
    p->on_exit_ud = userdata;
}

bool process_exited(const struct process *p)
{
    return p->exited;
}

bool process_started(const struct process *p)
{
    return p->phase >= PH_STARTING;
}

int process_status(const struct process *p)
{
    return p->status;
}

pid_t process_pid(const struct process *p)
{
    return p->have_child ? p->child.pid : 0;
}

int process_pidfd(const struct process *p)
{
    return p->child.pidfd;
}

const char *process_exec_id(const struct process *p)
{
    return p->exec_id;
}

struct stdio *process_stdio(struct process *p)
{
    return p->stdio;
}

bool process_waited(const struct process *p)
{
    return p->waited;
}

static bool output_done(const struct process *p)
{
    return p->out_eof && (p->err_eof || stdio_is_tty(p->stdio));
}

static void release_now(struct loop_source *s, void *userdata)
{
    struct process *p = userdata;
    (void)s;
    if (!output_done(p))
        log_warn("process %s: exited, and no read of its output came for %llu s; dropping "
                 "the rest",
                 p->exec_id, (unsigned long long)(p->grace_ns / 1000000000ULL));
    void (*fn)(struct process *, void *) = p->release;
    p->release = NULL;
    p->release_src = loop_source_free(p->release_src);
    if (fn)
        fn(p, p->release_ud);
}

/* The release runs from a timer, never inside a stdio callback: its fn
 * frees the process and with it the stdio. */
static void arm_release(struct process *p, uint64_t deadline_ns)
{
    if (p->release_src && loop_timer_set(p->release_src, deadline_ns) == 0)
        return;
    p->release_src = loop_source_free(p->release_src);
    if (loop_add_timer(p->agent->loop, deadline_ns, release_now, p, &p->release_src) < 0)
        log_warn("process %s: cannot arm its release; it stays until its container goes",
                 p->exec_id);
}

void process_release(struct process *p, uint64_t grace_ns,
                     void (*fn)(struct process *p, void *userdata), void *userdata)
{
    if (p->release || p->freeing)
        return;
    p->release = fn;
    p->release_ud = userdata;
    p->grace_ns = grace_ns;
    /* Deadline 1: the first timer run, i.e. as soon as the loop turns. */
    arm_release(p, output_done(p) ? 1 : loop_now() + grace_ns);
}

void process_output_read(struct process *p, bool err_stream, size_t n)
{
    if (p->freeing)
        return;
    if (n == 0) {
        if (err_stream && !stdio_is_tty(p->stdio))
            p->err_eof = true;
        else
            p->out_eof = true;
    }
    if (!p->release)
        return;
    /* A reader still at it gets a fresh grace. */
    arm_release(p, output_done(p) ? 1 : loop_now() + p->grace_ns);
}

struct list_node *process_node(struct process *p)
{
    return &p->node;
}

struct process *process_from_node(struct list_node *n)
{
    return list_entry(n, struct process, node);
}
