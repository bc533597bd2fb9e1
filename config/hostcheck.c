/* Host probes other than KVM (see hostcheck-kvm.c) and the automatic
 * accel/transport choices built on them. */
#include "config/hostcheck.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>

static bool has_flag(const char *flags, const char *flag)
{
    size_t n = strlen(flag);
    for (const char *p = flags; (p = strstr(p, flag)); p += n)
        if ((p == flags || p[-1] == ' ' || p[-1] == '\t') &&
            (p[n] == ' ' || p[n] == '\n' || p[n] == '\0'))
            return true;
    return false;
}

/* "key\t: value" -> value without the newline, or NULL. */
static const char *cpuinfo_value(char *line, const char *key)
{
    size_t n = strlen(key);
    if (strncmp(line, key, n) != 0 || (line[n] != ' ' && line[n] != '\t' && line[n] != ':'))
        return NULL;
    char *colon = strchr(line, ':');
    if (!colon)
        return NULL;
    colon += strspn(colon + 1, " \t") + 1;
    colon[strcspn(colon, "\n")] = '\0';
    return colon;
}

int hostcheck_cpu(const char *cpuinfo, struct hostcheck_cpu *ret)
{
    _cleanup_fclose_ FILE *f = fopen(cpuinfo ? cpuinfo : "/proc/cpuinfo", "re");
    if (!f)
        return -errno;
    memset(ret, 0, sizeof(*ret));
    _cleanup_free_ char *line = NULL;
    size_t cap = 0;
    bool seen_flags = false;
    while (getline(&line, &cap, f) > 0) {
        const char *v;
        if (strncmp(line, "processor", 9) == 0 && cpuinfo_value(line, "processor"))
            ret->cpus++;
        else if (!ret->vendor[0] && (v = cpuinfo_value(line, "vendor_id")))
            snprintf(ret->vendor, sizeof(ret->vendor), "%s", v);
        else if (!ret->model[0] && (v = cpuinfo_value(line, "model name")))
            snprintf(ret->model, sizeof(ret->model), "%s", v);
        else if (!seen_flags && (v = cpuinfo_value(line, "flags"))) {
            /* The first CPU speaks for all: they match on any host we run on. */
            seen_flags = true;
            ret->vmx = has_flag(v, "vmx");
            ret->svm = has_flag(v, "svm");
            ret->lm = has_flag(v, "lm");
            ret->sse4_1 = has_flag(v, "sse4_1");
            ret->hypervisor = has_flag(v, "hypervisor");
        }
    }
    return seen_flags ? 0 : -ENODATA;
}

int hostcheck_device(const char *path, char *detail, size_t len)
{
    int fd = open(path, O_RDWR | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        int r = -errno;
        snprintf(detail, len, "%s: %s", path, strerror(-r));
        return r;
    }
    close(fd);
    snprintf(detail, len, "%s opens read-write", path);
    return 0;
}

int hostcheck_file(const char *path, char *detail, size_t len)
{
    struct stat st;
    if (!path || !path[0]) {
        snprintf(detail, len, "not set");
        return -ENOENT;
    }
    if (stat(path, &st) < 0 || access(path, R_OK) < 0) {
        int r = -errno;
        snprintf(detail, len, "%s: %s", path, strerror(-r));
        return r;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(detail, len, "%s: not a regular file", path);
        return -EINVAL;
    }
    snprintf(detail, len, "%s (%lld bytes)", path, (long long)st.st_size);
    return 0;
}

/* Module names use '_', file names may use '-'. */
static bool same_module(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char x = a[i] == '-' ? '_' : a[i], y = b[i] == '-' ? '_' : b[i];
        if (x != y)
            return false;
    }
    return true;
}

/* Does a modules.builtin / modules.dep style file list name? */
static bool listed(const char *file, const char *name)
{
    _cleanup_fclose_ FILE *f = fopen(file, "re");
    if (!f)
        return false;
    _cleanup_free_ char *line = NULL;
    size_t cap = 0, n = strlen(name);
    while (getline(&line, &cap, f) > 0) {
        line[strcspn(line, ":\n")] = '\0';
        const char *base = strrchr(line, '/');
        base = base ? base + 1 : line;
        if (same_module(base, name, n) && strncmp(base + n, ".ko", 3) == 0)
            return true;
    }
    return false;
}

enum hostcheck_module hostcheck_module(const char *name)
{
    char path[512];
    struct utsname u;
    snprintf(path, sizeof(path), "/sys/module/%s", name);
    if (access(path, F_OK) == 0)
        return HOSTCHECK_MODULE_LOADED;
    if (uname(&u) < 0)
        return HOSTCHECK_MODULE_MISSING;
    snprintf(path, sizeof(path), "/lib/modules/%s/modules.builtin", u.release);
    if (listed(path, name))
        return HOSTCHECK_MODULE_BUILTIN;
    snprintf(path, sizeof(path), "/lib/modules/%s/modules.dep", u.release);
    if (listed(path, name))
        return HOSTCHECK_MODULE_AVAILABLE;
    return HOSTCHECK_MODULE_MISSING;
}

const char *hostcheck_module_name(enum hostcheck_module m)
{
    switch (m) {
    case HOSTCHECK_MODULE_LOADED:
        return "loaded";
    case HOSTCHECK_MODULE_BUILTIN:
        return "built in";
    case HOSTCHECK_MODULE_AVAILABLE:
        return "available, not loaded";
    case HOSTCHECK_MODULE_MISSING:
        break;
    }
    return "missing";
}

bool hostcheck_filesystem(const char *name)
{
    _cleanup_fclose_ FILE *f = fopen("/proc/filesystems", "re");
    if (!f)
        return false;
    _cleanup_free_ char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, f) > 0) {
        char *fs = strrchr(line, '\t');
        fs = fs ? fs + 1 : line;
        fs[strcspn(fs, "\n")] = '\0';
        if (strcmp(fs, name) == 0)
            return true;
    }
    return false;
}

int hostcheck_cgroup(char *detail, size_t len)
{
    struct statfs fs;
    if (statfs("/sys/fs/cgroup", &fs) < 0) {
        snprintf(detail, len, "/sys/fs/cgroup: %s", strerror(errno));
        return 0;
    }
    if (fs.f_type == CGROUP2_SUPER_MAGIC) {
        snprintf(detail, len, "cgroup v2 (unified) at /sys/fs/cgroup");
        return 2;
    }
    struct statfs unified;
    bool hybrid = statfs("/sys/fs/cgroup/unified", &unified) == 0 &&
                  unified.f_type == CGROUP2_SUPER_MAGIC;
    if (fs.f_type == TMPFS_MAGIC && access("/sys/fs/cgroup/memory", F_OK) == 0) {
        snprintf(detail, len, "cgroup v1%s", hybrid ? " (hybrid, v2 at /sys/fs/cgroup/unified)" : "");
        return 1;
    }
    snprintf(detail, len, "/sys/fs/cgroup holds no cgroup hierarchy");
    return 0;
}

int hostcheck_find_in_path(const char *name, char *ret, size_t len)
{
    const char *path = getenv("PATH");
    if (!path || !*path)
        path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    while (*path) {
        size_t n = strcspn(path, ":");
        char candidate[4096];
        snprintf(candidate, sizeof(candidate), "%.*s/%s", (int)n, n ? path : ".", name);
        if (access(candidate, X_OK) == 0) {
            snprintf(ret, len, "%s", candidate);
            return 0;
        }
        path += n + (path[n] == ':');
    }
    return -ENOENT;
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Runs `path --version` with stdin and stderr on /dev/null, reads its first
 * output line, and kills it at the deadline. */
int hostcheck_binary_version(const char *path, unsigned timeout_ms, char *ret, size_t len)
{
    if (access(path, X_OK) < 0)
        return -errno;
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return -errno;
    pid_t pid = fork();
    if (pid < 0) {
        int r = -errno;
        close(p[0]);
        close(p[1]);
        return r;
    }
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (null < 0 || dup2(null, 0) < 0 || dup2(p[1], 1) < 0 || dup2(null, 2) < 0)
            _exit(127);
        execl(path, path, "--version", (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    char buf[512];
    size_t used = 0;
    long long deadline = now_ms() + timeout_ms;
    bool timed_out = false;
    while (used + 1 < sizeof(buf) && !memchr(buf, '\n', used)) {
        long long left = deadline - now_ms();
        struct pollfd pfd = {.fd = p[0], .events = POLLIN};
        int r = left > 0 ? poll(&pfd, 1, (int)left) : 0;
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            timed_out = true;
            break;
        }
        ssize_t n = read(p[0], buf + used, sizeof(buf) - 1 - used);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        used += (size_t)n;
    }
    close(p[0]);
    kill(pid, SIGKILL); /* harmless if it already exited: not yet reaped */
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    buf[used] = '\0';
    buf[strcspn(buf, "\n")] = '\0';
    if (!buf[0])
        return timed_out ? -ETIMEDOUT : -ENODATA;
    snprintf(ret, len, "%s", buf);
    return 0;
}

const char *hostcheck_channel_name(enum hostcheck_channel c)
{
    switch (c) {
    case HOSTCHECK_CHANNEL_VSOCK:
        return "vsock";
    case HOSTCHECK_CHANNEL_HYBRID_VSOCK:
        return "hybrid-vsock";
    case HOSTCHECK_CHANNEL_VIRTIO_SERIAL:
        return "virtio-serial";
    case HOSTCHECK_CHANNEL_UNIX:
        return "unix";
    }
    return "?";
}

void hostcheck_kvm(struct hostcheck_kvm *ret)
{
    if (hostcheck_kvm_probe(NULL, 0, ret) < 0) {
        memset(ret, 0, sizeof(*ret));
        ret->state = HOSTCHECK_KVM_FAILED;
        snprintf(ret->detail, sizeof(ret->detail), "the KVM probe could not start");
    }
}

bool hostcheck_vhost_vsock(char *detail, size_t len)
{
    return hostcheck_device(HOSTCHECK_VHOST_VSOCK_DEV, detail, len) == 0;
}

int hostcheck_pick_accel(const struct cfg_hypervisor *hv, const struct hostcheck_kvm *kvm,
                         enum cfg_accel *ret, char *why, size_t len)
{
    return hostcheck_choose_accel(hv->kind, hv->accel, kvm, ret, why, len);
}

int hostcheck_choose_accel(enum cfg_hv_kind kind, enum cfg_accel accel,
                           const struct hostcheck_kvm *kvm, enum cfg_accel *ret, char *why,
                           size_t len)
{
    bool usable = kvm->state == HOSTCHECK_KVM_USABLE;
    if (kind == CFG_HV_MOCK) {
        snprintf(why, len, "no VM: the mock driver runs the agent on the host");
        *ret = accel;
        return 0;
    }
    switch (accel) {
    case CFG_ACCEL_TCG:
        snprintf(why, len, "accel = \"tcg\" in the configuration");
        *ret = CFG_ACCEL_TCG;
        return 0;
    case CFG_ACCEL_KVM:
        if (kvm->state == HOSTCHECK_KVM_ABSENT || kvm->state == HOSTCHECK_KVM_NO_ACCESS) {
            snprintf(why, len, "accel = \"kvm\" but %s", kvm->detail);
            return -ENODEV;
        }
        snprintf(why, len, "accel = \"kvm\" in the configuration%s",
                 usable ? "" : " (the KVM probe failed; VMs may hang)");
        *ret = CFG_ACCEL_KVM;
        return 0;
    case CFG_ACCEL_AUTO:
        break;
    }
    if (usable) {
        snprintf(why, len, "KVM can run a 64-bit guest");
        *ret = CFG_ACCEL_KVM;
        return 0;
    }
    if (kind == CFG_HV_CLH) {
        snprintf(why, len, "Cloud Hypervisor needs KVM, and KVM is unusable: %s", kvm->detail);
        return -ENODEV;
    }
    snprintf(why, len, "KVM cannot run a 64-bit guest (%s): VMs will use TCG (slow)",
             hostcheck_kvm_state_name(kvm->state));
    *ret = CFG_ACCEL_TCG;
    return 0;
}

int hostcheck_pick_channel(const struct cfg *c, bool vhost_vsock, enum hostcheck_channel *ret,
                           char *why, size_t len)
{
    return hostcheck_choose_channel(c->hv.kind, c->agent.transport, vhost_vsock, ret, why, len);
}

int hostcheck_choose_channel(enum cfg_hv_kind kind, enum cfg_transport transport, bool vhost_vsock,
                             enum hostcheck_channel *ret, char *why, size_t len)
{
    if (kind == CFG_HV_MOCK) {
        snprintf(why, len, "no VM: the mock driver's agent listens on a unix socket");
        *ret = HOSTCHECK_CHANNEL_UNIX;
        return 0;
    }
    if (kind == CFG_HV_CLH) {
        /* validation already refused virtio-serial for Cloud Hypervisor */
        snprintf(why, len, "Cloud Hypervisor uses its hybrid vsock (a unix socket)");
        *ret = HOSTCHECK_CHANNEL_HYBRID_VSOCK;
        return 0;
    }
    switch (transport) {
    case CFG_TRANSPORT_VIRTIO_SERIAL:
        snprintf(why, len, "transport = \"virtio-serial\" in the configuration");
        *ret = HOSTCHECK_CHANNEL_VIRTIO_SERIAL;
        return 0;
    case CFG_TRANSPORT_VSOCK:
        if (!vhost_vsock) {
            snprintf(why, len, "transport = \"vsock\" but /dev/vhost-vsock is unusable");
            return -ENODEV;
        }
        snprintf(why, len, "transport = \"vsock\" in the configuration");
        *ret = HOSTCHECK_CHANNEL_VSOCK;
        return 0;
    case CFG_TRANSPORT_AUTO:
        break;
    }
    if (vhost_vsock) {
        snprintf(why, len, "/dev/vhost-vsock works");
        *ret = HOSTCHECK_CHANNEL_VSOCK;
    } else {
        snprintf(why, len, "no usable /dev/vhost-vsock: agent channel will use virtio-serial");
        *ret = HOSTCHECK_CHANNEL_VIRTIO_SERIAL;
    }
    return 0;
}
