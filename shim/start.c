/* The `start` action; see start.h. */
#include "shim/start.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/compiler.h"
#include "lib/err.h"
#include "lib/fd.h"
#include "lib/transport.h"
#include "shim/address.h"
#include "shim/args.h"
#include "shim/bundle.h"


static int check_args(const struct shim_args *a, struct err *e)
{
    if (!a->namespace_ || !*a->namespace_)
        return err_set(e, -EINVAL, "start: -namespace is required");
    if (!a->id || !*a->id || strchr(a->id, '/'))
        return err_set(e, -EINVAL, "start: -id is required and must not contain '/'");
    if (!a->address || !*a->address)
        return err_set(e, -EINVAL, "start: -address is required");
    return 0;
}

/* The child's OOM score is the parent's + 1, as containerd's shim library
 * sets it, so the kernel picks the shim before containerd. */
static void adjust_oom_score(pid_t pid)
{
    char path[64], buf[32] = "";
    _cleanup_close_ int in = open("/proc/self/oom_score_adj", O_RDONLY | O_CLOEXEC);
    _cleanup_close_ int out = -1;
    ssize_t n;
    long v;

    if (in < 0 || (n = read(in, buf, sizeof(buf) - 1)) <= 0)
        return;
    buf[n] = '\0';
    v = strtol(buf, NULL, 10) + 1;
    if (v > 1000)
        v = 1000;
    snprintf(path, sizeof(path), "/proc/%d/oom_score_adj", (int)pid);
    out = open(path, O_WRONLY | O_CLOEXEC);
    if (out >= 0) {
        n = snprintf(buf, sizeof(buf), "%ld", v);
        if (write(out, buf, (size_t)n) < 0)
            return; /* best effort: not permitted when unprivileged */
    }
}

/* Re-executes this binary without an action word: the daemon, with the
 * listener on fd 3, /dev/null on 0-2 and its own process group. */
static int spawn_daemon(const struct shim_args *a, int listen_fd, pid_t *ret_pid, struct err *e)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    const char *argv[16];
    size_t i = 0;
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    _cleanup_close_ int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    int r;

    if (n < 0)
        return err_set(e, -errno, "start: cannot find own binary: %s", strerror(errno));
    if (null_fd < 0)
        return err_set(e, -errno, "start: open /dev/null: %s", strerror(errno));
    self[n] = '\0';
    argv[i++] = self;
    argv[i++] = "-namespace", argv[i++] = a->namespace_;
    argv[i++] = "-id", argv[i++] = a->id;
    argv[i++] = "-address", argv[i++] = a->address;
    if (a->publish_binary)
        argv[i++] = "-publish-binary", argv[i++] = a->publish_binary;
    if (a->debug)
        argv[i++] = "-debug";
    argv[i] = NULL;

    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&attr);
    posix_spawn_file_actions_adddup2(&fa, null_fd, 0);
    posix_spawn_file_actions_adddup2(&fa, null_fd, 1);
    posix_spawn_file_actions_adddup2(&fa, null_fd, 2);
    posix_spawn_file_actions_adddup2(&fa, listen_fd, 3);
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
    r = posix_spawn(ret_pid, self, &fa, &attr, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    if (r != 0)
        return err_set(e, -r, "start: spawn %s: %s", self, strerror(r));
    adjust_oom_score(*ret_pid);
    return 0;
}

static void write_pid_file(pid_t pid)
{
    _cleanup_close_ int fd = open("shim.pid", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    char buf[32];
    int n = snprintf(buf, sizeof(buf), "%d", (int)pid);

    if (fd >= 0 && fd_write_full(fd, buf, (size_t)n) < 0)
        return; /* informational only */
}

/* Listens on the socket for this group and starts the daemon, or finds a
 * live shim already serving the group (runc-v2's rule for EADDRINUSE). */
static int listen_and_spawn(const struct shim_args *a, const char *uri, struct err *e)
{
    struct err le = ERR_INIT;
    _cleanup_close_ int fd = -1;
    pid_t pid;
    int r;

    if ((mkdir("/run/containerd", 0711) < 0 && errno != EEXIST) ||
        (mkdir(ADDRESS_SOCKET_DIR, 0711) < 0 && errno != EEXIST))
        return err_set(e, -errno, "start: mkdir %s: %s", ADDRESS_SOCKET_DIR, strerror(errno));
    fd = transport_listen(uri, &le);
    if (fd == -EADDRINUSE)
        return 0;
    if (fd < 0)
        return err_set(e, fd, "start: listen %s: %s", uri, err_msg(&le));
    if (chmod(address_socket_path(uri), 0600) < 0) {
        r = -errno;
        unlink(address_socket_path(uri));
        return err_set(e, r, "start: chmod socket: %s", strerror(-r));
    }
    r = spawn_daemon(a, fd, &pid, e);
    if (r < 0) {
        unlink(address_socket_path(uri));
        return r;
    }
    write_pid_file(pid);
    return 0;
}

int start_run(const struct shim_args *a, struct err *e)
{
    struct bundle_info info;
    char uri[ADDRESS_MAX];
    int r = check_args(a, e);

    if (r < 0)
        return r;
    /* Stdin may hold runtime options (1.6-2.2) or BootstrapParams (2.3+):
     * Create brings the options again, so it is not read here. */
    r = bundle_classify(".", a->id, &info, e);
    if (r < 0)
        return err_prefix(e, "start");
    r = address_for(a->address, a->namespace_, info.sandbox_id, uri, sizeof(uri));
    if (r < 0)
        return err_set(e, r, "start: socket address too long");
    /* A pod container joins its sandbox's shim: nothing is started. */
    if (info.kind != BUNDLE_CONTAINER) {
        r = listen_and_spawn(a, uri, e);
        if (r < 0)
            return r;
    }
    r = address_write_file(".", uri);
    if (r < 0)
        return err_set(e, r, "start: write address file: %s", strerror(-r));
    printf("%s", uri);
    return fflush(stdout) == 0 ? 0 : err_set(e, -EIO, "start: write address to stdout");
}
