/* Driver dispatch: struct hv_vm's common part and the ops table per kind
 * (hv-internal.h), in the manner of crun's cgroup-internal.h. */
#include "hypervisor/hv.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "hypervisor/hv-internal.h"
#include "lib/err.h"
#include "lib/fd.h"
#include "lib/spawn.h"
#include "lib/xalloc.h"

#ifdef HV_HAVE_CLH
#include "hypervisor/clh.h"
#endif

static const struct hv_ops *ops_for(enum hv_kind kind)
{
    switch (kind) {
    case HV_KIND_QEMU:
        return &hv_qemu_ops;
    case HV_KIND_MOCK:
        return &hv_mock_ops;
    case HV_KIND_CLH:
#ifdef HV_HAVE_CLH
        return &hv_clh_ops;
#else
        return NULL;
#endif
    }
    return NULL;
}

const char *hv_kind_name(enum hv_kind kind)
{
    switch (kind) {
    case HV_KIND_QEMU:
        return "qemu";
    case HV_KIND_CLH:
        return "clh";
    case HV_KIND_MOCK:
        return "mock";
    }
    return "unknown";
}

int hv_kind_from_name(const char *name, enum hv_kind *ret_kind)
{
    static const struct {
        const char *name;
        enum hv_kind kind;
    } names[] = {
        {"qemu", HV_KIND_QEMU},
        {"clh", HV_KIND_CLH},
        {"cloud-hypervisor", HV_KIND_CLH},
        {"mock", HV_KIND_MOCK},
    };
    if (!name)
        return -EINVAL;
    for (size_t i = 0; i < ELEMENTSOF(names); i++)
        if (strcmp(name, names[i].name) == 0) {
            *ret_kind = names[i].kind;
            return 0;
        }
    return -EINVAL;
}

/* The sandbox id becomes a folder name: refuse anything that could escape. */
static int check_id(const char *id, struct err *e)
{
    size_t n = id ? strlen(id) : 0;
    if (n == 0 || n > 128)
        return err_set(e, -EINVAL, "sandbox id: empty or longer than 128 bytes");
    if (id[0] == '.')
        return err_set(e, -EINVAL, "sandbox id \"%s\": starts with '.'", id);
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.'))
            return err_set(e, -EINVAL, "sandbox id \"%s\": only [A-Za-z0-9._-] allowed", id);
    }
    return 0;
}

static int mkdir_p(const char *path, mode_t mode)
{
    char buf[PATH_MAX];
    if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
        return -ENAMETOOLONG;
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, mode) < 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    if (mkdir(buf, mode) < 0 && errno != EEXIST)
        return -errno;
    return 0;
}

int hv_vm_new(const struct hv_config *cfg, const char *state_dir, const char *sandbox_id,
              struct hv_vm **ret_vm, struct err *e)
{
    const struct hv_ops *ops = ops_for(cfg->kind);
    if (!ops)
        return err_set(e, -ENOTSUP, "hypervisor %s: driver not built", hv_kind_name(cfg->kind));
    int r = check_id(sandbox_id, e);
    if (r < 0)
        return r;
    if (!state_dir || state_dir[0] != '/')
        return err_set(e, -EINVAL, "state folder \"%s\": not an absolute path",
                       state_dir ? state_dir : "");

    struct hv_vm *vm = xzalloc(sizeof(*vm));
    vm->ops = ops;
    vm->cfg = *cfg;
    vm->sandbox_id = xstrdup(sandbox_id);
    vm->pidfd = -1;
    if (asprintf(&vm->dir, "%s/%s", state_dir, sandbox_id) < 0)
        abort();
    r = mkdir_p(vm->dir, 0700);
    if (r < 0) {
        err_set(e, r, "state folder %s: %s", vm->dir, strerror(-r));
        goto fail;
    }
    r = ops->prepare(vm, e);
    if (r < 0)
        goto fail;
    *ret_vm = vm;
    return 0;
fail:
    hv_vm_free(vm);
    return r;
}

struct hv_vm *hv_vm_free(struct hv_vm *vm)
{
    if (!vm)
        return NULL;
    if (vm->ops)
        vm->ops->destroy(vm);
    hv_vm_clear_running(vm);
    if (vm->dir)
        hv_remove_dir(vm->dir);
    free(vm->dir);
    free(vm->sandbox_id);
    free(vm);
    return NULL;
}

int hv_vm_start(struct hv_vm *vm, uint64_t timeout_ns, struct err *e)
{
    if (vm->started)
        return err_set(e, -EBUSY, "VM %s: already started", vm->sandbox_id);
    int r = vm->ops->start(vm, timeout_ns, e);
    if (r >= 0)
        vm->started = true;
    return r;
}

int hv_vm_stop(struct hv_vm *vm, uint64_t timeout_ns, struct err *e)
{
    int r = vm->ops->stop(vm, timeout_ns, e);
    vm->started = false;
    return r;
}

int hv_vm_pause(struct hv_vm *vm, struct err *e)
{
    if (!vm->ops->pause)
        return err_set(e, -ENOTSUP, "%s: pause not supported", vm->ops->name);
    if (!vm->started)
        return err_set(e, -EBUSY, "VM %s: not running", vm->sandbox_id);
    return vm->ops->pause(vm, e);
}

int hv_vm_resume(struct hv_vm *vm, struct err *e)
{
    if (!vm->ops->resume)
        return err_set(e, -ENOTSUP, "%s: resume not supported", vm->ops->name);
    if (!vm->started)
        return err_set(e, -EBUSY, "VM %s: not running", vm->sandbox_id);
    return vm->ops->resume(vm, e);
}

int hv_vm_hotplug_add(struct hv_vm *vm, struct hv_device *dev, struct err *e)
{
    if (!vm->ops->hotplug_add)
        return err_set(e, -ENOTSUP, "%s: hotplug not supported", vm->ops->name);
    if (!vm->started)
        return err_set(e, -EBUSY, "VM %s: not running", vm->sandbox_id);
    if (!dev->id[0] || !memchr(dev->id, '\0', sizeof(dev->id)))
        return err_set(e, -EINVAL, "device id: empty or not terminated");
    return vm->ops->hotplug_add(vm, dev, e);
}

int hv_vm_hotplug_remove(struct hv_vm *vm, const char *device_id, uint64_t timeout_ns,
                         struct err *e)
{
    if (!vm->ops->hotplug_remove)
        return err_set(e, -ENOTSUP, "%s: hotplug not supported", vm->ops->name);
    if (!vm->started)
        return err_set(e, -EBUSY, "VM %s: not running", vm->sandbox_id);
    return vm->ops->hotplug_remove(vm, device_id, timeout_ns, e);
}

int hv_vm_agent_address(const struct hv_vm *vm, char *buf, size_t size)
{
    if (vm->ops->agent_address)
        return vm->ops->agent_address(vm, buf, size);
    if (!vm->agent_address[0])
        return -ENOTCONN;
    size_t n = strlen(vm->agent_address);
    if (n + 1 > size)
        return -ENOSPC;
    memcpy(buf, vm->agent_address, n + 1);
    return (int)n;
}

int hv_vm_pidfd(const struct hv_vm *vm)
{
    if (vm->ops->pidfd)
        return vm->ops->pidfd(vm);
    return __atomic_load_n(&vm->pidfd, __ATOMIC_ACQUIRE);
}

int hv_vm_pid(const struct hv_vm *vm)
{
    if (vm->ops->pid)
        return vm->ops->pid(vm);
    return __atomic_load_n(&vm->pid, __ATOMIC_ACQUIRE);
}

void hv_vm_caps(const struct hv_vm *vm, struct hv_caps *ret_caps)
{
    if (vm->ops->caps)
        vm->ops->caps(vm, ret_caps);
    else
        *ret_caps = vm->caps;
}

int hv_cleanup(enum hv_kind kind, const char *state_dir, const char *sandbox_id, struct err *e)
{
    const struct hv_ops *ops = ops_for(kind);
    if (!ops)
        return err_set(e, -ENOTSUP, "hypervisor %s: driver not built", hv_kind_name(kind));
    int r = check_id(sandbox_id, e);
    if (r < 0)
        return r;
    char dir[PATH_MAX];
    if (snprintf(dir, sizeof(dir), "%s/%s", state_dir, sandbox_id) >= (int)sizeof(dir))
        return err_set(e, -ENAMETOOLONG, "state folder %s/%s: name too long", state_dir,
                       sandbox_id);
    r = ops->cleanup(dir, e);
    if (r < 0)
        return r;
    r = hv_remove_dir(dir);
    if (r < 0 && r != -ENOENT)
        return err_set(e, r, "removing %s: %s", dir, strerror(-r));
    return 0;
}

/* ---- helpers for backends ---- */

void hv_vm_set_running(struct hv_vm *vm, int pidfd, pid_t pid)
{
    int old = __atomic_exchange_n(&vm->pidfd, pidfd, __ATOMIC_ACQ_REL);
    __atomic_store_n(&vm->pid, pid, __ATOMIC_RELEASE);
    fd_close(old);
}

void hv_vm_clear_running(struct hv_vm *vm)
{
    __atomic_store_n(&vm->pid, 0, __ATOMIC_RELEASE);
    int old = __atomic_exchange_n(&vm->pidfd, -1, __ATOMIC_ACQ_REL);
    fd_close(old);
}

int hv_vm_path(const struct hv_vm *vm, const char *name, char *buf, size_t size)
{
    int n = snprintf(buf, size, "%s/%s", vm->dir, name);
    if (n < 0 || (size_t)n >= size)
        return -ENAMETOOLONG;
    return n;
}

int hv_pidfile_write(const char *dir, const char *name, pid_t pid)
{
    char path[PATH_MAX], tmp[PATH_MAX];
    if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path) ||
        snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name) >= (int)sizeof(tmp))
        return -ENAMETOOLONG;
    _cleanup_close_ int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    char line[32];
    int n = snprintf(line, sizeof(line), "%d\n", (int)pid);
    ssize_t w = fd_write_full(fd, line, (size_t)n);
    if (w < 0) {
        unlink(tmp);
        return (int)w;
    }
    if (rename(tmp, path) < 0) {
        int r = -errno;
        unlink(tmp);
        return r;
    }
    return 0;
}

int hv_pidfile_read(const char *dir, const char *name, pid_t *ret_pid)
{
    char path[PATH_MAX];
    if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
        return -ENAMETOOLONG;
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    char line[32];
    ssize_t n = fd_read_full(fd, line, sizeof(line) - 1);
    if (n < 0)
        return (int)n;
    line[n] = '\0';
    char *end;
    errno = 0;
    long v = strtol(line, &end, 10);
    if (errno || end == line || (*end && *end != '\n') || v <= 1 || v > INT_MAX)
        return -EINVAL;
    *ret_pid = (pid_t)v;
    return 0;
}

static int exe_matches(pid_t pid, const char *exe_prefix)
{
    char link[64], target[PATH_MAX];
    snprintf(link, sizeof(link), "/proc/%d/exe", (int)pid);
    ssize_t n = readlink(link, target, sizeof(target) - 1);
    if (n < 0)
        return -errno;
    target[n] = '\0';
    const char *base = strrchr(target, '/');
    base = base ? base + 1 : target;
    return strncmp(base, exe_prefix, strlen(exe_prefix)) == 0;
}

int hv_kill_recorded(const char *dir, const char *pidfile, const char *exe_prefix,
                     uint64_t timeout_ns)
{
    pid_t pid;
    int r = hv_pidfile_read(dir, pidfile, &pid);
    if (r == -ENOENT)
        return 0;
    if (r < 0)
        return r;
    /* Open the pidfd first, then check the exe: the pidfd pins the process,
     * so the check cannot race with pid reuse. */
    _cleanup_close_ int pidfd = spawn_pidfd_open(pid);
    if (pidfd < 0)
        return pidfd == -ESRCH ? 0 : pidfd;
    r = exe_matches(pid, exe_prefix);
    if (r <= 0)
        return r == -ENOENT || r == 0 ? 0 : r;
    r = spawn_kill(pidfd, SIGKILL);
    if (r < 0)
        return r == -ESRCH ? 0 : r;
    /* Not our child: we cannot reap it, but its pidfd turns readable on exit. */
    int ms = (int)MIN(timeout_ns / 1000000u, (uint64_t)INT_MAX);
    r = fd_wait(pidfd, POLLIN, ms);
    return r < 0 ? r : 0;
}

int hv_remove_dir(const char *dir)
{
    _cleanup_closedir_ DIR *d = opendir(dir);
    if (!d)
        return -errno;
    struct dirent *de;
    int r = 0;
    while ((de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (unlinkat(dirfd(d), de->d_name, 0) < 0 && errno != ENOENT) {
            if (errno == EISDIR || errno == EPERM) {
                if (unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR) < 0 && errno != ENOENT)
                    r = -errno;
            } else {
                r = -errno;
            }
        }
    }
    if (rmdir(dir) < 0 && errno != ENOENT)
        return r ? r : -errno;
    return r;
}

int hv_check_file(const char *what, const char *path, bool executable, struct err *e)
{
    if (!path || !*path)
        return err_set(e, -EINVAL, "%s: not configured", what);
    struct stat st;
    if (stat(path, &st) < 0) {
        int r = -errno;
        return err_set(e, r, "%s %s: %s", what, path, strerror(-r));
    }
    if (!S_ISREG(st.st_mode))
        return err_set(e, -EINVAL, "%s %s: not a regular file", what, path);
    if (access(path, executable ? X_OK : R_OK) < 0) {
        int r = -errno;
        return err_set(e, r, "%s %s: %s", what, path, strerror(-r));
    }
    return 0;
}
