/* Shim test support; see containerd_harness.h. */
#include "tests/support/containerd_harness.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/compiler.h"
#include "lib/xalloc.h"

#define OUTPUT_MAX (64u << 20)


static long now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xasprintf(const char *fmt, ...)
{
    va_list ap;
    char *s = NULL;

    va_start(ap, fmt);
    if (vasprintf(&s, fmt, ap) < 0)
        abort();
    va_end(ap);
    return s;
}

char *ch_find_in_path(const char *name)
{
    const char *path = getenv("PATH");
    _cleanup_free_ char *copy = xstrdup(path && *path ? path : "/usr/sbin:/usr/bin:/sbin:/bin");
    char *save = NULL;

    for (char *dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
        char *p = xasprintf("%s/%s", dir, name);
        if (p[0] == '/' && access(p, X_OK) == 0)
            return p;
        free(p);
    }
    return NULL;
}

char *ch_bin_dir(void)
{
    char self[PATH_MAX], *slash;
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

    if (n < 0)
        return NULL;
    self[n] = '\0';
    /* <O>/tests/<kind>/test_x -> <O>/bin */
    for (int i = 0; i < 3 && (slash = strrchr(self, '/')); i++)
        *slash = '\0';
    return xasprintf("%s/bin", self);
}

/* Builds the child's environment: ours plus extra entries (which win). */
static char **merged_env(char *const extra[])
{
    size_t n = 0, m = 0, k = 0;
    char **env;

    while (environ[n])
        n++;
    while (extra && extra[m])
        m++;
    env = xnew(char *, n + m + 1);
    for (size_t i = 0; i < n; i++) {
        bool overridden = false;
        for (size_t j = 0; j < m && !overridden; j++) {
            size_t kl = strcspn(extra[j], "=");
            overridden = strncmp(environ[i], extra[j], kl + 1) == 0;
        }
        if (!overridden)
            env[k++] = environ[i];
    }
    for (size_t j = 0; j < m; j++)
        env[k++] = extra[j];
    env[k] = NULL;
    return env;
}

static pid_t spawn_captured(char *const argv[], const char *cwd, char **env, int in_fd,
                            int out_fd)
{
    pid_t parent = getpid();
    pid_t pid;

    fflush(stdout);
    fflush(stderr);
    pid = fork();
    if (pid != 0)
        return pid;
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
        _exit(127);
    if (dup2(in_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(out_fd, 2) < 0)
        _exit(127);
    if (cwd && chdir(cwd) < 0)
        _exit(127);
    signal(SIGPIPE, SIG_DFL);
    execve(argv[0], argv, env);
    _exit(127);
}

/* Reads fd until EOF or the deadline. */
static int read_all(int fd, long deadline, struct ch_result *r)
{
    size_t cap = 4096;

    r->output = xmalloc(cap);
    r->len = 0;
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        long left = deadline - now_ms();
        ssize_t n;

        if (left <= 0)
            return -ETIMEDOUT;
        if (poll(&p, 1, (int)left) <= 0)
            continue;
        if (r->len + 4096 + 1 > cap) {
            if (cap >= OUTPUT_MAX)
                return -EFBIG;
            cap *= 2;
            r->output = xrealloc(r->output, cap);
        }
        n = read(fd, r->output + r->len, cap - r->len - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        r->len += (size_t)n;
    }
    r->output[r->len] = '\0';
    return 0;
}

int ch_run(char *const argv[], const char *cwd, char *const env[], const void *stdin_data,
           size_t stdin_len, int timeout_ms, struct ch_result *ret)
{
    _cleanup_free_ char **full_env = merged_env(env);
    int out[2] = {-1, -1}, in[2] = {-1, -1}, status = 0, r;
    long t0 = now_ms();
    pid_t pid;

    /* Whatever happens, *ret owns an output string (ch_result_done). */
    *ret = (struct ch_result){.exit_code = -1};
    if (pipe2(out, O_CLOEXEC) < 0 ||
        (stdin_data ? pipe2(in, O_CLOEXEC) < 0
                    : (in[0] = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0)) {
        r = -errno;
        goto out;
    }
    pid = spawn_captured(argv, cwd, full_env, in[0], out[1]);
    r = pid < 0 ? -errno : 0;
    out[1] = fd_close(out[1]);
    in[0] = fd_close(in[0]);
    if (pid < 0)
        goto out;
    if (stdin_data) {
        /* A child that exits without reading gets EPIPE here, not SIGPIPE:
         * the test programs ignore it (harness.c). */
        if (write(in[1], stdin_data, stdin_len) < 0)
            r = -errno;
        in[1] = fd_close(in[1]);
    }
    r = read_all(out[0], t0 + timeout_ms, ret);
    if (r == -ETIMEDOUT || r == -EFBIG)
        kill(pid, SIGKILL);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    ret->exit_code = WIFEXITED(status)     ? WEXITSTATUS(status)
                     : WIFSIGNALED(status) ? 128 + WTERMSIG(status)
                                           : -1;
out:
    fd_close(out[0]);
    fd_close(out[1]);
    fd_close(in[0]);
    fd_close(in[1]);
    ret->elapsed_ms = now_ms() - t0;
    if (!ret->output) {
        ret->output = xstrdup("");
        ret->len = 0;
    }
    return r;
}

void ch_result_done(struct ch_result *r)
{
    free(r->output);
    *r = (struct ch_result){.exit_code = -1};
}

void ch_print_file(const char *path, const char *prefix)
{
    _cleanup_fclose_ FILE *f = fopen(path, "re");
    _cleanup_free_ char *line = NULL;
    size_t cap = 0;

    while (f && getline(&line, &cap, f) >= 0)
        printf("#   %s%s", prefix, line);
}

bool ch_file_contains(const char *path, const char *needle)
{
    _cleanup_fclose_ FILE *f = fopen(path, "re");
    _cleanup_free_ char *line = NULL;
    size_t cap = 0;

    while (f && getline(&line, &cap, f) >= 0)
        if (strstr(line, needle))
            return true;
    return false;
}

/* Does /proc/<pid>/cmdline (NUL-separated) contain needle? */
static bool cmdline_has(const char *pid, const char *needle)
{
    char path[300], buf[8192];
    ssize_t n;
    int fd;

    snprintf(path, sizeof(path), "/proc/%s/cmdline", pid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return false;
    for (ssize_t i = 0; i < n; i++)
        if (buf[i] == '\0')
            buf[i] = ' ';
    buf[n] = '\0';
    return strstr(buf, needle) != NULL;
}

int ch_count_processes(const char *exe)
{
    return ch_count_processes_with(exe, NULL);
}

int ch_count_processes_with(const char *exe, const char *needle)
{
    _cleanup_closedir_ DIR *d = opendir("/proc");
    struct dirent *de;
    int n = 0;

    while (d && (de = readdir(d))) {
        char link[300], target[PATH_MAX];
        ssize_t len;
        if (de->d_name[0] < '1' || de->d_name[0] > '9')
            continue;
        snprintf(link, sizeof(link), "/proc/%s/exe", de->d_name);
        len = readlink(link, target, sizeof(target) - 1);
        if (len <= 0)
            continue;
        target[len] = '\0';
        if (strcmp(target, exe) == 0 && (!needle || cmdline_has(de->d_name, needle)))
            n++;
    }
    return n;
}

int ch_count_mounts(const char *needle)
{
    _cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
    _cleanup_free_ char *line = NULL;
    size_t cap = 0;
    int n = 0;

    while (f && getline(&line, &cap, f) >= 0)
        if (strstr(line, needle))
            n++;
    return n;
}

static int write_config(const struct ch_containerd *c)
{
    _cleanup_fclose_ FILE *f = fopen(c->config, "we");

    if (!f)
        return -errno;
    fprintf(f,
            "version = 2\n"
            "root = \"%1$s/root\"\n"
            "state = \"%1$s/state\"\n"
            "disabled_plugins = [%4$s"
            "\"io.containerd.snapshotter.v1.aufs\",\n"
            "  \"io.containerd.snapshotter.v1.btrfs\", \"io.containerd.snapshotter.v1.zfs\",\n"
            "  \"io.containerd.snapshotter.v1.devmapper\", "
            "\"io.containerd.tracing.processor.v1.otlp\",\n"
            "  \"io.containerd.internal.v1.tracing\"]\n"
            "[grpc]\n  address = \"%2$s\"\n"
            "[ttrpc]\n  address = \"%3$s\"\n"
            "[debug]\n  address = \"%1$s/debug.sock\"\n  level = \"debug\"\n"
            "[metrics]\n  address = \"\"\n"
            "[plugins.\"io.containerd.internal.v1.opt\"]\n  path = \"%1$s/opt\"\n",
            c->dir, c->sock, c->ttrpc_sock, c->cri_config ? "" : "\"io.containerd.grpc.v1.cri\", ");
    if (c->cri_config)
        fputs(c->cri_config, f);
    return fflush(f) == 0 ? 0 : -errno;
}

static int wait_booted(struct ch_containerd *c, long timeout_ms)
{
    long end = now_ms() + timeout_ms;

    while (now_ms() < end) {
        struct pollfd p = {.fd = c->pidfd, .events = POLLIN};
        if (ch_file_contains(c->log, "containerd successfully booted"))
            return 0;
        if (poll(&p, 1, 50) > 0)
            return -ECHILD;
    }
    return -ETIMEDOUT;
}

static int spawn_containerd(struct ch_containerd *c)
{
    _cleanup_close_ int log_fd = open(c->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    _cleanup_close_ int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    char *argv[] = {c->containerd_bin, (char *)"--config", c->config, NULL};
    char *extra[] = {c->path_env, NULL};
    _cleanup_free_ char **env = merged_env(extra);
    int r;

    if (log_fd < 0 || null_fd < 0)
        return -errno;
    c->pid = spawn_captured(argv, c->dir, env, null_fd, log_fd);
    if (c->pid < 0)
        return -errno;
    c->pidfd = pidfd_open(c->pid, 0);
    if (c->pidfd < 0)
        return -errno;
    r = wait_booted(c, 30000);
    if (r < 0) {
        printf("#   containerd did not boot (%s); its log:\n", strerror(-r));
        ch_print_file(c->log, "containerd: ");
    }
    return r;
}

/* Names and scratch folders; nothing runs yet. */
static int containerd_init(struct ch_containerd *c, const char *parent, const char *name)
{
    _cleanup_free_ char *bin = ch_bin_dir(), *opt = NULL;

    *c = (struct ch_containerd){.pid = 0, .pidfd = -1};
    c->containerd_bin = ch_find_in_path("containerd");
    c->ctr_bin = ch_find_in_path("ctr");
    if (!c->containerd_bin || !c->ctr_bin)
        return -ENOENT;
    c->dir = xasprintf("%s/%s", parent, name);
    c->sock = xasprintf("%s/containerd.sock", c->dir);
    c->ttrpc_sock = xasprintf("%s/containerd.sock.ttrpc", c->dir);
    c->log = xasprintf("%s/containerd.log", c->dir);
    c->config = xasprintf("%s/config.toml", c->dir);
    c->path_env = xasprintf("PATH=%s:%s", bin, getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
    opt = xasprintf("%s/opt", c->dir);
    if (mkdir(c->dir, 0700) < 0 || mkdir(opt, 0700) < 0)
        return -errno;
    return 0;
}

int ch_containerd_start(struct ch_containerd *c, const char *parent, const char *name)
{
    int r = containerd_init(c, parent, name);

    if (r >= 0)
        r = write_config(c);
    return r < 0 ? r : spawn_containerd(c);
}

/* The CRI tables: the snippet's own lines (minus `version`, with ConfigPath
 * pointing at the test's configuration), then what a test host needs. */
static int cri_config(const struct ch_cri_options *o, char **ret)
{
    _cleanup_fclose_ FILE *in = fopen(o->runtime_snippet, "re");
    _cleanup_free_ char *line = NULL, *buf = NULL;
    bool has_type = false, has_path = false;
    size_t cap = 0, len = 0;
    FILE *out;

    if (!in) {
        int r = -errno;
        printf("#   cannot read %s: %s\n", o->runtime_snippet, strerror(-r));
        return r;
    }
    out = open_memstream(&buf, &len);
    if (!out)
        return -errno;
    while (getline(&line, &cap, in) >= 0) {
        const char *p = line + strspn(line, " \t");
        if (strncmp(p, "version", 7) == 0)
            continue;
        if (strncmp(p, "ConfigPath", 10) == 0) {
            fprintf(out, "    ConfigPath = \"%s\"\n", o->kata_config);
            has_path = true;
            continue;
        }
        has_type |= strncmp(p, "runtime_type = \"io.containerd.kata.v2\"", 38) == 0;
        fputs(line, out);
    }
    fprintf(out,
            "\n[plugins.\"io.containerd.grpc.v1.cri\"]\n"
            "  sandbox_image = \"%s\"\n"
            "  netns_mounts_under_state_dir = true\n"
            "  disable_apparmor = true\n"
            "  enable_selinux = false\n"
            /* A node's usual default runtime: CRI refuses to load when
             * default_runtime_name (runc) names no configured runtime. */
            "[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc]\n"
            "  runtime_type = \"io.containerd.runc.v2\"\n"
            "[plugins.\"io.containerd.grpc.v1.cri\".cni]\n"
            "  bin_dir = \"%s\"\n"
            "  conf_dir = \"%s\"\n"
            "  max_conf_num = 1\n",
            o->sandbox_image, o->cni_bin_dir, o->cni_conf_dir);
    if (fclose(out) != 0)
        return -errno;
    if (!has_type || !has_path) {
        printf("#   %s: no %s line\n", o->runtime_snippet,
               has_type ? "ConfigPath" : "runtime_type = \"io.containerd.kata.v2\"");
        return -EINVAL;
    }
    *ret = TAKE_PTR(buf);
    return 0;
}

int ch_containerd_start_cri(struct ch_containerd *c, const char *parent, const char *name,
                            const struct ch_cri_options *o)
{
    int r = containerd_init(c, parent, name);

    if (r >= 0)
        r = cri_config(o, &c->cri_config);
    if (r >= 0)
        r = write_config(c);
    return r < 0 ? r : spawn_containerd(c);
}

int ch_containerd_start_with_busybox(struct ch_containerd *c, const char *parent,
                                     const char *name, const char *tar)
{
    struct ch_result res;
    int r = ch_containerd_start(c, parent, name);

    if (r < 0) {
        ch_containerd_free(c);
        return r;
    }
    r = ch_ctr(c, 60000, &res, "image", "import", tar, NULL);
    if (r < 0 || res.exit_code != 0) {
        printf("#   image import failed: %s\n", res.output);
        r = r < 0 ? r : -EIO;
    }
    ch_result_done(&res);
    if (r < 0)
        ch_containerd_free(c);
    return r;
}

int ch_containerd_stop(struct ch_containerd *c)
{
    struct pollfd p = {.fd = c->pidfd, .events = POLLIN};

    if (c->pid <= 0)
        return 0;
    pidfd_send_signal(c->pidfd, SIGTERM, NULL, 0);
    if (poll(&p, 1, 10000) <= 0)
        pidfd_send_signal(c->pidfd, SIGKILL, NULL, 0);
    while (waitpid(c->pid, NULL, 0) < 0 && errno == EINTR)
        ;
    c->pidfd = fd_close(c->pidfd);
    c->pid = 0;
    return 0;
}

int ch_containerd_restart(struct ch_containerd *c)
{
    ch_containerd_stop(c);
    /* The boot line of the new instance must be a new one. */
    if (truncate(c->log, 0) < 0)
        return -errno;
    return spawn_containerd(c);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

void ch_containerd_free(struct ch_containerd *c)
{
    ch_containerd_stop(c);
    if (c->dir)
        nftw(c->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
    free(c->dir);
    free(c->sock);
    free(c->ttrpc_sock);
    free(c->log);
    free(c->config);
    free(c->path_env);
    free(c->cri_config);
    free(c->containerd_bin);
    free(c->ctr_bin);
    *c = (struct ch_containerd){.pid = 0, .pidfd = -1};
}

static int ctr_va(struct ch_containerd *c, int timeout_ms, const void *in, size_t in_len,
                  struct ch_result *ret, va_list ap)
{
    char *argv[64];
    size_t n = 0;

    argv[n++] = c->ctr_bin;
    argv[n++] = (char *)"-a";
    argv[n++] = c->sock;
    for (char *a; n < ELEMENTSOF(argv) - 1 && (a = va_arg(ap, char *));)
        argv[n++] = a;
    argv[n] = NULL;
    return ch_run(argv, c->dir, NULL, in, in_len, timeout_ms, ret);
}

int ch_ctr(struct ch_containerd *c, int timeout_ms, struct ch_result *ret, ...)
{
    va_list ap;
    int r;

    va_start(ap, ret);
    r = ctr_va(c, timeout_ms, NULL, 0, ret, ap);
    va_end(ap);
    return r;
}

int ch_ctr_input(struct ch_containerd *c, int timeout_ms, const void *in, size_t in_len,
                 struct ch_result *ret, ...)
{
    va_list ap;
    int r;

    va_start(ap, ret);
    r = ctr_va(c, timeout_ms, in, in_len, ret, ap);
    va_end(ap);
    return r;
}
