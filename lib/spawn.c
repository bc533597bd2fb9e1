/* Child process start-up; see spawn.h.
 *
 * Global state: one spawner thread and its request slot. PR_SET_PDEATHSIG
 * fires when the thread that forked exits, not the process; a VMM forked by
 * a lib/workpool.h worker would be killed when that worker retires after
 * its idle period. So every fork happens on this one thread, started on
 * first use and never stopped. */
#include "lib/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/compiler.h"
#include "lib/fd.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

int spawn_pidfd_open(pid_t pid)
{
#ifdef SYS_pidfd_open
    int fd = (int)syscall(SYS_pidfd_open, pid, 0);
    return fd < 0 ? -errno : fd;
#else
    (void)pid;
    return -ENOSYS;
#endif
}

int spawn_kill(int pidfd, int sig)
{
#ifdef SYS_pidfd_send_signal
    if (syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) < 0)
        return -errno;
    return 0;
#else
    (void)pidfd;
    (void)sig;
    return -ENOSYS;
#endif
}

static int sys_close_range(unsigned first, unsigned last, unsigned flags)
{
#ifdef SYS_close_range
    return (int)syscall(SYS_close_range, first, last, flags);
#else
    (void)first;
    (void)last;
    (void)flags;
    errno = ENOSYS;
    return -1;
#endif
}

/* Runs in the child between fork and exec: async-signal-safe calls only.
 * Never returns; reports an errno through errfd. */
_noreturn_ static void child(const struct spawn_opts *o, int errfd, pid_t parent)
{
    int r = 0;
    sigset_t all;
    sigemptyset(&all);
    for (int s = 1; s < NSIG; s++)
        signal(s, SIG_DFL); /* fails harmlessly for SIGKILL/SIGSTOP and RT holes */
    sigprocmask(SIG_SETMASK, &all, NULL);

    if (setsid() < 0)
        goto fail;
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
        goto fail;
    if (getppid() != parent) /* the parent died before the prctl */
        _exit(127);

    /* Move every source fd above every target first, so that mapping one
     * fd cannot clobber the source of another. */
    int top = 2;
    for (size_t i = 0; i < o->n_fds; i++)
        top = MAX(top, MAX(o->fds[i].child_fd, o->fds[i].parent_fd));
    int moved[64];
    if (o->n_fds > ELEMENTSOF(moved)) {
        errno = E2BIG;
        goto fail;
    }
    for (size_t i = 0; i < o->n_fds; i++) {
        moved[i] = fcntl(o->fds[i].parent_fd, F_DUPFD_CLOEXEC, top + 1);
        if (moved[i] < 0)
            goto fail;
    }
    if (errfd <= top) {
        int n = fcntl(errfd, F_DUPFD_CLOEXEC, top + 1 + (int)o->n_fds);
        if (n < 0)
            goto fail;
        errfd = n;
    }
    bool mapped[3] = {false, false, false};
    for (size_t i = 0; i < o->n_fds; i++) {
        if (dup2(moved[i], o->fds[i].child_fd) < 0) /* dup2 clears FD_CLOEXEC */
            goto fail;
        if (o->fds[i].child_fd < 3)
            mapped[o->fds[i].child_fd] = true;
    }
    for (int fd = 0; fd < 3; fd++) {
        if (mapped[fd])
            continue;
        int n = open("/dev/null", O_RDWR);
        if (n < 0)
            goto fail;
        if (n != fd) {
            if (dup2(n, fd) < 0)
                goto fail;
            close(n);
        }
    }
    /* Everything above the map: close-on-exec (errfd included, it must stay
     * open until exec). Fallback for kernels before 5.11: close one by one. */
    if (sys_close_range((unsigned)top + 1, UINT_MAX, CLOSE_RANGE_CLOEXEC) < 0) {
        struct rlimit rl;
        int max = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 65536 ? (int)rl.rlim_cur
                                                                               : 65536;
        for (int fd = top + 1; fd < max; fd++)
            if (fd != errfd)
                close(fd);
    }
    /* Map entries whose child number was not a source stay open; close
     * fds between 3 and top that are not targets. */
    for (int fd = 3; fd <= top; fd++) {
        bool target = false;
        for (size_t i = 0; i < o->n_fds; i++)
            target |= o->fds[i].child_fd == fd;
        if (!target)
            close(fd);
    }
    if (o->cwd && chdir(o->cwd) < 0)
        goto fail;
    char *const *envp = o->envp ? (char *const *)o->envp : environ;
    execve(o->argv[0], (char *const *)o->argv, envp);
fail:
    r = errno ? errno : EIO;
    (void)!write(errfd, &r, sizeof(r));
    _exit(127);
}

struct request {
    const struct spawn_opts *o;
    int pidfd;
    pid_t pid;
    int result;
    bool pending, done;
};

static pthread_mutex_t spawner_lock = PTHREAD_MUTEX_INITIALIZER;  /* one request at a time */
static pthread_mutex_t slot_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t slot_cond = PTHREAD_COND_INITIALIZER;
static struct request *slot;
static bool spawner_running;

static int do_spawn(const struct spawn_opts *o, int *ret_pidfd, pid_t *ret_pid)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return -errno;
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        int r = -errno;
        close(p[0]);
        close(p[1]);
        return r;
    }
    if (pid == 0)
        child(o, p[1], parent);
    close(p[1]);
    /* Our unreaped child cannot be replaced by another process, so opening
     * its pidfd by pid is race-free. */
    int pidfd = spawn_pidfd_open(pid);
    int child_errno = 0;
    ssize_t n = fd_read_full(p[0], &child_errno, sizeof(child_errno));
    close(p[0]);
    if (n == (ssize_t)sizeof(child_errno) || pidfd < 0) {
        if (pidfd >= 0)
            close(pidfd);
        else
            kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        return n == (ssize_t)sizeof(child_errno) ? -child_errno : pidfd;
    }
    *ret_pidfd = pidfd;
    *ret_pid = pid;
    return 0;
}

static void *spawner_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&slot_lock);
    for (;;) {
        while (!slot || !slot->pending)
            pthread_cond_wait(&slot_cond, &slot_lock);
        struct request *rq = slot;
        rq->pending = false;
        pthread_mutex_unlock(&slot_lock);
        rq->result = do_spawn(rq->o, &rq->pidfd, &rq->pid);
        pthread_mutex_lock(&slot_lock);
        rq->done = true;
        pthread_cond_broadcast(&slot_cond);
    }
    return NULL;
}

static int spawner_ensure(void)
{
    if (spawner_running)
        return 0;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old); /* the thread inherits "all blocked" */
    pthread_t t;
    int r = pthread_create(&t, &attr, spawner_main, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
    if (r != 0)
        return -r;
    spawner_running = true;
    return 0;
}

int spawn_start(const struct spawn_opts *o, int *ret_pidfd, pid_t *ret_pid)
{
    if (!o || !o->argv || !o->argv[0])
        return -EINVAL;
    for (size_t i = 0; i < o->n_fds; i++)
        if (o->fds[i].parent_fd < 0 || o->fds[i].child_fd < 0)
            return -EBADF;
    pthread_mutex_lock(&spawner_lock);
    int r = spawner_ensure();
    if (r < 0) {
        pthread_mutex_unlock(&spawner_lock);
        return r;
    }
    struct request rq = {.o = o, .pidfd = -1, .pending = true};
    pthread_mutex_lock(&slot_lock);
    slot = &rq;
    pthread_cond_broadcast(&slot_cond);
    while (!rq.done)
        pthread_cond_wait(&slot_cond, &slot_lock);
    slot = NULL;
    pthread_mutex_unlock(&slot_lock);
    pthread_mutex_unlock(&spawner_lock);
    if (rq.result < 0)
        return rq.result;
    *ret_pidfd = rq.pidfd;
    *ret_pid = rq.pid;
    return 0;
}

int spawn_wait(int pidfd, int timeout_ms, int *ret_status)
{
    if (timeout_ms != 0) {
        int r = fd_wait(pidfd, POLLIN, timeout_ms);
        if (r < 0)
            return r;
    }
    siginfo_t si;
    memset(&si, 0, sizeof(si));
    int options = WEXITED | (timeout_ms == 0 ? WNOHANG : 0);
    for (;;) {
        if (waitid((idtype_t)P_PIDFD, (id_t)pidfd, &si, options) == 0)
            break;
        if (errno != EINTR)
            return -errno;
    }
    if (si.si_pid == 0)
        return -ETIMEDOUT; /* WNOHANG and still running */
    int status;
    if (si.si_code == CLD_EXITED)
        status = (si.si_status & 0xff) << 8;
    else
        status = si.si_status & 0x7f; /* killed or dumped */
    if (ret_status)
        *ret_status = status;
    return 0;
}

int spawn_terminate(int pidfd, int timeout_ms, int *ret_status)
{
    int r = spawn_kill(pidfd, SIGTERM);
    if (r < 0 && r != -ESRCH)
        return r;
    r = spawn_wait(pidfd, timeout_ms, ret_status);
    if (r != -ETIMEDOUT)
        return r;
    r = spawn_kill(pidfd, SIGKILL);
    if (r < 0 && r != -ESRCH)
        return r;
    return spawn_wait(pidfd, -1, ret_status);
}
