/* virtiofsd launcher; see virtiofsd.h. */
#include "hypervisor/virtiofsd.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hypervisor/hv-internal.h"
#include "lib/err.h"
#include "lib/fd.h"
#include "lib/spawn.h"
#include "lib/transport.h"
#include "lib/xalloc.h"

#define MAX_ARGS 48

struct virtiofsd {
    int pidfd;
    pid_t pid;
    char *socket_path;
    char *pidfile_dir;
    char *path, *log_path; /* for virtiofsd_check()'s message */
};

/* QEMU's C daemon lives in .../qemu/virtiofsd; the Rust one elsewhere. */
static bool is_c_flavour(const char *path)
{
    return strstr(path, "/qemu/") != NULL;
}

int virtiofsd_start(const struct virtiofsd_config *cfg, struct virtiofsd **ret, struct err *e)
{
    const char *path = cfg->path && *cfg->path ? cfg->path : VIRTIOFSD_DEFAULT_PATH;
    int r = hv_check_file("virtiofsd", path, true, e);
    if (r < 0)
        return r;
    struct stat st;
    if (!cfg->shared_dir || stat(cfg->shared_dir, &st) < 0 || !S_ISDIR(st.st_mode))
        return err_set(e, -ENOENT, "shared_dir %s: not a folder", cfg->shared_dir ? cfg->shared_dir : "(unset)");
    const char *cache = cfg->cache && *cfg->cache ? cfg->cache : "auto";
    bool c = is_c_flavour(path);
    if (strcmp(cache, "never") == 0 && c)
        cache = "none";
    else if (strcmp(cache, "none") == 0 && !c)
        cache = "never";
    if (strcmp(cache, "auto") && strcmp(cache, "always") && strcmp(cache, "none") &&
        strcmp(cache, "never"))
        return err_set(e, -EINVAL, "virtio_fs_cache \"%s\": auto, always or never", cache);

    char uri[PATH_MAX + 16];
    snprintf(uri, sizeof(uri), "unix://%s", cfg->socket_path);
    _cleanup_close_ int sock = transport_listen(uri, e);
    if (sock < 0)
        return err_prefix(e, "virtiofsd socket");
    /* virtiofsd accept()s once, blocking; a non-blocking fd makes it quit. */
    r = fd_set_nonblock(sock, false);
    if (r < 0)
        return err_set(e, r, "virtiofsd socket: %s", strerror(-r));
    _cleanup_close_ int logfd = -1;
    if (cfg->log_path) {
        logfd = open(cfg->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (logfd < 0)
            return err_set(e, -errno, "%s: %s", cfg->log_path, strerror(errno));
    }

    char src[PATH_MAX + 16], cache_opt[32];
    const char *argv[MAX_ARGS];
    size_t n = 0;
    argv[n++] = path;
    argv[n++] = "--fd=3";
    if (c) {
        snprintf(src, sizeof(src), "source=%s", cfg->shared_dir);
        snprintf(cache_opt, sizeof(cache_opt), "cache=%s", cache);
        argv[n++] = "-o";
        argv[n++] = src;
        argv[n++] = "-o";
        argv[n++] = cache_opt;
    } else {
        snprintf(src, sizeof(src), "--shared-dir=%s", cfg->shared_dir);
        snprintf(cache_opt, sizeof(cache_opt), "--cache=%s", cache);
        argv[n++] = src;
        argv[n++] = cache_opt;
    }
    for (const char *const *a = cfg->extra_args; a && *a; a++) {
        if (n + 1 >= MAX_ARGS)
            return err_set(e, -E2BIG, "virtio_fs_extra_args: more than %d", MAX_ARGS - 8);
        argv[n++] = *a;
    }
    argv[n] = NULL;

    struct spawn_fd fds[3] = {{sock, 3}};
    size_t nfds = 1;
    if (logfd >= 0) {
        fds[nfds++] = (struct spawn_fd){logfd, STDOUT_FILENO};
        fds[nfds++] = (struct spawn_fd){logfd, STDERR_FILENO};
    } else {
        fds[nfds++] = (struct spawn_fd){STDERR_FILENO, STDERR_FILENO};
    }
    struct spawn_opts o = {.argv = argv, .fds = fds, .n_fds = nfds};
    int pidfd = -1;
    pid_t pid = 0;
    r = spawn_start(&o, &pidfd, &pid);
    if (r < 0) {
        unlink(cfg->socket_path);
        return err_set(e, r, "starting %s: %s", path, strerror(-r));
    }
    struct virtiofsd *v = xzalloc(sizeof(*v));
    v->pidfd = pidfd;
    v->pid = pid;
    v->socket_path = xstrdup(cfg->socket_path);
    if (cfg->pidfile_dir) {
        v->pidfile_dir = xstrdup(cfg->pidfile_dir);
        hv_pidfile_write(cfg->pidfile_dir, VIRTIOFSD_PIDFILE, pid);
    }
    /* No wait here for an early failure (bad option, missing folder): the
     * socket is listening already, so the VMM starts at once, and a daemon
     * that quits makes the VMM fail; the driver then asks virtiofsd_check()
     * and reports this daemon, not an obscure chardev error. (Waiting 100 ms
     * here cost every VM start that much.) */
    v->path = xstrdup(path);
    v->log_path = cfg->log_path ? xstrdup(cfg->log_path) : NULL;
    *ret = v;
    return 0;
}

int virtiofsd_check(struct virtiofsd *v, int wait_ms, int *ret_status, struct err *e)
{
    if (!v || v->pidfd < 0)
        return 0;
    int status = 0;
    if (spawn_wait(v->pidfd, wait_ms, &status) < 0)
        return 0; /* still running (or not ours to reap) */
    v->pidfd = fd_close(v->pidfd);
    if (ret_status)
        *ret_status = status;
    return err_set(e, -ECHILD, "%s exited (status 0x%x)%s%s", v->path, status,
                   v->log_path ? "; see " : "", v->log_path ? v->log_path : "");
}

struct virtiofsd *virtiofsd_stop(struct virtiofsd *v, uint64_t timeout_ns)
{
    if (!v)
        return NULL;
    if (v->pidfd >= 0) {
        spawn_terminate(v->pidfd, (int)MIN(timeout_ns / 1000000u, (uint64_t)INT_MAX), NULL);
        close(v->pidfd);
    }
    unlink(v->socket_path);
    if (v->pidfile_dir) {
        char p[PATH_MAX];
        snprintf(p, sizeof(p), "%s/%s", v->pidfile_dir, VIRTIOFSD_PIDFILE);
        unlink(p);
    }
    free(v->socket_path);
    free(v->pidfile_dir);
    free(v->path);
    free(v->log_path);
    free(v);
    return NULL;
}

int virtiofsd_pidfd(const struct virtiofsd *v)
{
    return v ? v->pidfd : -1;
}

pid_t virtiofsd_pid(const struct virtiofsd *v)
{
    return v ? v->pid : 0;
}
