/* Cloud Hypervisor driver: hv_ops for HV_KIND_CLH.
 *
 * Start follows Kata's clh.go: virtiofsd first (we create and listen on its
 * vhost-user socket and hand the fd over), then `cloud-hypervisor
 * --api-socket path=<dir>/clh-api.sock`, wait for vmm.ping, vm.create with
 * the whole VmConfig, vm.info ("Created"), vm.boot, vm.info ("Running").
 * The agent is reached through hybrid vsock on <dir>/clh.sock, port 1024.
 * Stop is vm.shutdown, vmm.shutdown, a wait on the pidfd, then SIGKILL; the
 * VMM is always reaped. Every blocking wait is on the VMM's pidfd or inside
 * libcurl with a timeout, so a VMM that dies during boot is reported at
 * once with the tail of its log. The easy (blocking) libcurl interface is
 * fine here: hv.h operations run on worker threads, never on a loop. */
#include "hypervisor/clh.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hypervisor/clh_api.h"
#include "hypervisor/hv-internal.h"
#include "lib/err.h"
#include "lib/fd.h"
#include "lib/log.h"
#include "lib/spawn.h"
#include "lib/xalloc.h"

#define CLH_API_SOCK "clh-api.sock"
#define CLH_VSOCK_SOCK "clh.sock"
#define CLH_FS_SOCK "virtiofsd.sock"
#define CLH_PIDFILE "clh.pid"
#define CLH_EXEFILE "clh.exe"
#define VFSD_PIDFILE "virtiofsd.pid"
#define CLH_GUEST_CID 3 /* what Kata gives every CLH guest */
#define CLH_CALL_MS 5000u
#define CLH_PING_MAX_MS 1000u

struct clh {
    char api_sock[108], vsock_sock[108],
        fs_sock[108];
    char console_log[PATH_MAX], vmm_log[PATH_MAX];
    char *cmdline;
    struct clh_api *api;
    int vfsd_pidfd;
    bool booted, paused;
};

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static unsigned ms_left(uint64_t deadline)
{
    uint64_t now = now_ns();
    if (now >= deadline)
        return 0;
    return (unsigned)MIN((deadline - now + 999999u) / 1000000u, (uint64_t)INT_MAX);
}

/* ---- prepare ---- */

static int sock_path(struct hv_vm *vm, const char *name, char *buf, size_t size, struct err *e)
{
    struct sockaddr_un sa;
    int n = hv_vm_path(vm, name, buf, MIN(size, sizeof(sa.sun_path)));
    if (n < 0)
        return err_set(e, -ENAMETOOLONG, "socket %s/%s: path over %zu bytes", vm->dir, name,
                       sizeof(sa.sun_path) - 1);
    return 0;
}

static void append(char **s, const char *add)
{
    char *old = *s;
    if (asprintf(s, "%s%s%s", old ? old : "", old && *old ? " " : "", add) < 0)
        abort();
    free(old);
}

/* Kata's CLH command line (kata.md §5), with the console on the serial port
 * that we log to a file; without an image the initrd is the root. */
static char *build_cmdline(const struct hv_config *cfg)
{
    char *s = NULL;
    if (cfg->image)
        append(&s, "root=/dev/vda1 rootflags=data=ordered,errors=remount-ro ro rootfstype=ext4");
    append(&s, "console=ttyS0,115200n8 panic=1 no_timer_check noreplace-smp");
    append(&s, cfg->debug ? "agent.log=debug" : "quiet");
    if (cfg->debug_console) {
        char console[64];
        snprintf(console, sizeof(console), "agent.debug_console agent.debug_console_vport=%d",
                 HV_DEBUG_CONSOLE_VPORT);
        append(&s, console);
    }
    if (cfg->container_pipe_size) {
        char pipe[48];
        snprintf(pipe, sizeof(pipe), "agent.container_pipe_size=%u", cfg->container_pipe_size);
        append(&s, pipe);
    }
    if (cfg->kernel_params && *cfg->kernel_params)
        append(&s, cfg->kernel_params);
    return s;
}

static int check_config(const struct hv_config *cfg, struct err *e)
{
    int r;
    if (!cfg->path)
        return err_set(e, -EINVAL, "hypervisor path: not set");
    if ((r = hv_check_file("hypervisor path", cfg->path, true, e)) < 0)
        return r;
    if (!cfg->kernel && !cfg->firmware)
        return err_set(e, -EINVAL, "kernel: not set");
    if (cfg->kernel && (r = hv_check_file("kernel", cfg->kernel, false, e)) < 0)
        return r;
    if (cfg->firmware && (r = hv_check_file("firmware", cfg->firmware, false, e)) < 0)
        return r;
    if (cfg->initrd && (r = hv_check_file("initrd", cfg->initrd, false, e)) < 0)
        return r;
    if (cfg->image && (r = hv_check_file("image", cfg->image, false, e)) < 0)
        return r;
    if (cfg->transport != HV_TRANSPORT_AUTO && cfg->transport != HV_TRANSPORT_HYBRID_VSOCK)
        return err_set(e, -EINVAL, "Cloud Hypervisor reaches the agent only over hybrid vsock");
    if (cfg->shared_fs == HV_SHARED_FS_VIRTIO_9P)
        return err_set(e, -EINVAL, "shared_fs virtio-9p: Cloud Hypervisor has no 9p device");
    if (cfg->shared_fs == HV_SHARED_FS_VIRTIO_FS) {
        if (!cfg->shared_dir)
            return err_set(e, -EINVAL, "shared_fs virtio-fs: no shared folder");
        if (!cfg->virtiofsd_path)
            return err_set(e, -EINVAL, "virtio_fs_daemon: not set");
        if ((r = hv_check_file("virtio_fs_daemon", cfg->virtiofsd_path, true, e)) < 0)
            return r;
    }
    if (cfg->max_vcpus && cfg->vcpus > cfg->max_vcpus)
        return err_set(e, -EINVAL, "default_vcpus %u over default_maxvcpus %u", cfg->vcpus,
                       cfg->max_vcpus);
    return 0;
}

static int clh_prepare(struct hv_vm *vm, struct err *e)
{
    const struct hv_config *cfg = &vm->cfg;
    int r = check_config(cfg, e);
    if (r < 0)
        return r;
    struct clh *c = xnew(struct clh, 1);
    c->vfsd_pidfd = -1;
    vm->priv = c;
    if ((r = sock_path(vm, CLH_API_SOCK, c->api_sock, sizeof(c->api_sock), e)) < 0 ||
        (r = sock_path(vm, CLH_VSOCK_SOCK, c->vsock_sock, sizeof(c->vsock_sock), e)) < 0 ||
        (r = sock_path(vm, CLH_FS_SOCK, c->fs_sock, sizeof(c->fs_sock), e)) < 0)
        return r;
    if (hv_vm_path(vm, "console.log", c->console_log, sizeof(c->console_log)) < 0 ||
        hv_vm_path(vm, "vmm.log", c->vmm_log, sizeof(c->vmm_log)) < 0)
        return err_set(e, -ENAMETOOLONG, "state folder %s: path too long", vm->dir);
    c->cmdline = build_cmdline(cfg);
    if ((r = clh_api_new(c->api_sock, &c->api, e)) < 0)
        return r;
    snprintf(vm->agent_address, sizeof(vm->agent_address), "hvsock://%s:%d", c->vsock_sock,
             HV_AGENT_VSOCK_PORT);
    /* CLH needs KVM and always hotplugs on PCI; the guest side of hybrid
     * vsock is an ordinary virtio-vsock device. */
    vm->caps = (struct hv_caps){
        .block_hotplug = true, .net_hotplug = true, .pause = true, .vsock = true, .kvm = true};
    return 0;
}

/* ---- processes ---- */

/* The last line of the VMM's log, for error messages. */
static void log_tail(const char *path, char *buf, size_t size)
{
    char chunk[512];
    buf[0] = '\0';
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    off_t end = lseek(fd, 0, SEEK_END);
    off_t from = end > (off_t)sizeof(chunk) - 1 ? end - (off_t)sizeof(chunk) + 1 : 0;
    ssize_t n = pread(fd, chunk, sizeof(chunk) - 1, from);
    if (n <= 0)
        return;
    while (n > 0 && (chunk[n - 1] == '\n' || chunk[n - 1] == '\r'))
        n--;
    chunk[n] = '\0';
    char *line = strrchr(chunk, '\n');
    line = line ? line + 1 : chunk;
    for (char *p = line; *p; p++)
        if ((unsigned char)*p < 0x20 || (unsigned char)*p == 0x7f)
            *p = '?';
    size_t len = MIN(strlen(line), size - 1);
    memcpy(buf, line, len);
    buf[len] = '\0';
}

static void describe_status(int status, char *buf, size_t size)
{
    if (WIFEXITED(status))
        snprintf(buf, size, "exited with status %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(buf, size, "was killed by signal %d", WTERMSIG(status));
    else
        snprintf(buf, size, "ended (status 0x%x)", (unsigned)status);
}

/* If the VMM has exited (or does within wait_ms), reaps it and returns the
 * error for "during what". */
static int vmm_exited(struct hv_vm *vm, const char *what, int wait_ms, struct err *e)
{
    struct clh *c = vm->priv;
    int status;
    if (vm->pidfd < 0 || spawn_wait(vm->pidfd, wait_ms, &status) < 0)
        return 0;
    hv_vm_clear_running(vm);
    char how[64], tail[160];
    describe_status(status, how, sizeof(how));
    log_tail(c->vmm_log, tail, sizeof(tail));
    return err_set(e, -ECHILD, "cloud-hypervisor %s during %s%s%s", how, what,
                   tail[0] ? ": " : "", tail);
}

static int check_vmm_alive(struct hv_vm *vm, const char *what, struct err *e)
{
    return vmm_exited(vm, what, 0, e);
}

static void stop_virtiofsd(struct clh *c, const char *dir)
{
    if (c->vfsd_pidfd < 0)
        return;
    spawn_terminate(c->vfsd_pidfd, 1000, NULL);
    c->vfsd_pidfd = fd_close(c->vfsd_pidfd);
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/" VFSD_PIDFILE, dir);
    unlink(path);
}

static int listen_unix(const char *path, struct err *e)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return err_set(e, -errno, "socket: %s", strerror(errno));
    unlink(path);
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 8) < 0)
        return err_set(e, -errno, "listening on %s: %s", path, strerror(errno));
    return TAKE_FD(fd);
}

/* virtiofsd on a socket we listen on (Kata's --fd=3 scheme). "-o source=,
 * cache=" is understood by QEMU's C virtiofsd (Debian 12) and by the Rust
 * one's compatibility options. */
static int start_virtiofsd(struct hv_vm *vm, struct err *e)
{
    struct clh *c = vm->priv;
    const struct hv_config *cfg = &vm->cfg;
    _cleanup_close_ int lfd = listen_unix(c->fs_sock, e);
    if (lfd < 0)
        return (err_prefix(e, "virtiofsd"), lfd);
    _cleanup_free_ char *src = NULL, *cache = NULL;
    if (asprintf(&src, "source=%s", cfg->shared_dir) < 0 ||
        asprintf(&cache, "cache=%s", cfg->virtiofsd_cache ? cfg->virtiofsd_cache : "auto") < 0)
        abort();
    const char *argv[64] = {cfg->virtiofsd_path, "--fd=3", "-o", src, "-o", cache};
    size_t n = 6;
    for (const char *const *a = cfg->virtiofsd_extra_args; a && *a; a++) {
        if (n + 1 >= ELEMENTSOF(argv))
            return err_set(e, -E2BIG, "virtio_fs_extra_args: too many");
        argv[n++] = *a;
    }
    argv[n] = NULL;
    struct spawn_fd fds[] = {{lfd, 3}};
    struct spawn_opts o = {.argv = argv, .fds = fds, .n_fds = ELEMENTSOF(fds)};
    pid_t pid;
    int r = spawn_start(&o, &c->vfsd_pidfd, &pid);
    if (r < 0)
        return err_set(e, r, "virtiofsd %s: %s", cfg->virtiofsd_path, strerror(-r));
    hv_pidfile_write(vm->dir, VFSD_PIDFILE, pid);
    log_debug("virtiofsd pid %d serves %s on %s", (int)pid, cfg->shared_dir, c->fs_sock);
    return 0;
}

static int spawn_vmm(struct hv_vm *vm, struct err *e)
{
    struct clh *c = vm->priv;
    const struct hv_config *cfg = &vm->cfg;
    _cleanup_free_ char *api_arg = NULL;
    if (asprintf(&api_arg, "path=%s", c->api_sock) < 0)
        abort();
    const char *argv[] = {cfg->path, "--api-socket", api_arg, cfg->debug ? "-vv" : NULL, NULL};
    _cleanup_close_ int log_fd =
        open(c->vmm_log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0600);
    if (log_fd < 0)
        return err_set(e, -errno, "VMM log %s: %s", c->vmm_log, strerror(errno));
    struct spawn_fd fds[] = {{log_fd, 1}, {log_fd, 2}};
    struct spawn_opts o = {.argv = argv, .fds = fds, .n_fds = ELEMENTSOF(fds)};
    int pidfd;
    pid_t pid;
    unlink(c->api_sock);
    int r = spawn_start(&o, &pidfd, &pid);
    if (r < 0)
        return err_set(e, r, "hypervisor path %s: %s", cfg->path, strerror(-r));
    hv_vm_set_running(vm, pidfd, pid);
    hv_pidfile_write(vm->dir, CLH_PIDFILE, pid);
    /* hv_cleanup() only kills a pid whose executable has this name. */
    char exe_file[PATH_MAX], real[PATH_MAX];
    if (hv_vm_path(vm, CLH_EXEFILE, exe_file, sizeof(exe_file)) >= 0 && realpath(cfg->path, real)) {
        FILE *f = fopen(exe_file, "we");
        if (f) {
            const char *base = strrchr(real, '/');
            fprintf(f, "%s\n", base ? base + 1 : real);
            fclose(f);
        }
    }
    log_debug("cloud-hypervisor pid %d, API socket %s", (int)pid, c->api_sock);
    return 0;
}

/* vmm.ping until it answers. Until the socket exists, connects fail; the
 * pause between tries is a wait on the pidfd, so a VMM that dies ends the
 * wait at once. Any answer that is not a valid pong is fatal. */
static int wait_ping(struct hv_vm *vm, uint64_t deadline, struct err *e)
{
    struct clh *c = vm->priv;
    unsigned pause_ms = 5;
    char version[128];
    for (;;) {
        struct err tmp = ERR_INIT;
        unsigned left = ms_left(deadline);
        if (left == 0)
            return err_set(e, -ETIMEDOUT, "cloud-hypervisor: API socket %s not answering",
                           c->api_sock);
        clh_api_set_timeout(c->api, MIN(left, CLH_PING_MAX_MS));
        int r = clh_api_ping(c->api, version, sizeof(version), &tmp);
        if (r >= 0) {
            log_debug("cloud-hypervisor %s answers on %s", version, c->api_sock);
            return 0;
        }
        if (r != -ECONNREFUSED && r != -ENOENT && r != -ECONNRESET) {
            int dead = check_vmm_alive(vm, "start", e);
            if (dead < 0)
                return dead;
            return err_set(e, r, "cloud-hypervisor: %s", err_msg(&tmp));
        }
        int w = vm->pidfd >= 0 ? fd_wait(vm->pidfd, POLLIN, (int)MIN(pause_ms, ms_left(deadline)))
                               : -ETIMEDOUT;
        if (w > 0 && (r = check_vmm_alive(vm, "start", e)) < 0)
            return r;
        pause_ms = MIN(pause_ms * 2, 100u);
    }
}

static void fill_vm_config(const struct hv_vm *vm, struct clh_vm_config *vc)
{
    const struct hv_config *cfg = &vm->cfg;
    const struct clh *c = vm->priv;
    unsigned vcpus = cfg->vcpus ? cfg->vcpus : 1;
    unsigned mem = cfg->memory_mib ? cfg->memory_mib : 2048;
    bool fs = cfg->shared_fs == HV_SHARED_FS_VIRTIO_FS;
    *vc = (struct clh_vm_config){
        .boot_vcpus = vcpus,
        .max_vcpus = MAX(cfg->max_vcpus, vcpus),
        .memory_bytes = (uint64_t)mem << 20,
        .memory_hotplug_bytes =
            cfg->max_memory_mib > mem ? (uint64_t)(cfg->max_memory_mib - mem) << 20 : 0,
        .memory_shared = fs, /* vhost-user needs the guest RAM shared */
        .kernel = cfg->kernel,
        .firmware = cfg->firmware,
        .initramfs = cfg->initrd,
        .cmdline = c->cmdline,
        .image = cfg->image,
        .vsock_cid = CLH_GUEST_CID,
        .vsock_socket = c->vsock_sock,
        .fs_tag = fs ? HV_SHARED_TAG : NULL,
        .fs_socket = fs ? c->fs_sock : NULL,
        .fs_num_queues = 1,
        .fs_queue_size = 1024,
        .serial_file = c->console_log,
        .rng_src = cfg->entropy_source ? cfg->entropy_source : "/dev/urandom",
    };
}

static int expect_state(struct hv_vm *vm, enum clh_vm_state want, const char *when,
                        struct err *e)
{
    struct clh *c = vm->priv;
    enum clh_vm_state s;
    int r = clh_api_vm_info(c->api, &s, e);
    if (r < 0)
        return r;
    if (s != want)
        return err_set(e, -EPROTO, "cloud-hypervisor: VM is %s after %s, expected %s",
                       clh_vm_state_name(s), when, clh_vm_state_name(want));
    return 0;
}

/* One API step of start; the VMM's death explains a failure best. */
static int step(struct hv_vm *vm, int r, const char *what, struct err *e)
{
    if (r >= 0)
        return r;
    /* A VMM that drops the API connection is usually on its way out: give
     * its exit a moment (a wait on the pidfd) so the report names it. */
    int grace = r == -ECONNRESET || r == -ECONNREFUSED || r == -EPIPE ? 1000 : 0;
    struct err dead = ERR_INIT;
    if (vmm_exited(vm, what, grace, &dead) < 0) {
        err_clear(e);
        return err_set(e, dead.code, "%s", dead.msg);
    }
    return r;
}

static void remove_runtime_files(struct hv_vm *vm)
{
    struct clh *c = vm->priv;
    char p[PATH_MAX];
    unlink(c->api_sock);
    unlink(c->vsock_sock);
    unlink(c->fs_sock);
    if (hv_vm_path(vm, CLH_PIDFILE, p, sizeof(p)) >= 0)
        unlink(p);
    if (hv_vm_path(vm, CLH_EXEFILE, p, sizeof(p)) >= 0)
        unlink(p);
}

/* Kills and reaps whatever runs; no API calls. */
static void kill_all(struct hv_vm *vm)
{
    struct clh *c = vm->priv;
    if (vm->pidfd >= 0) {
        spawn_kill(vm->pidfd, SIGKILL);
        spawn_wait(vm->pidfd, -1, NULL);
        hv_vm_clear_running(vm);
    }
    stop_virtiofsd(c, vm->dir);
    remove_runtime_files(vm);
    c->booted = c->paused = false;
}

static int clh_start(struct hv_vm *vm, uint64_t timeout_ns, struct err *e)
{
    struct clh *c = vm->priv;
    uint64_t deadline = now_ns() + (timeout_ns ? timeout_ns : 30000000000u);
    struct clh_vm_config vc;
    int r;

    if (vm->pidfd >= 0)
        return err_set(e, -EBUSY, "cloud-hypervisor already runs");
    if (vm->cfg.shared_fs == HV_SHARED_FS_VIRTIO_FS && (r = start_virtiofsd(vm, e)) < 0)
        goto fail;
    if ((r = spawn_vmm(vm, e)) < 0 || (r = wait_ping(vm, deadline, e)) < 0)
        goto fail;
    fill_vm_config(vm, &vc);
    clh_api_set_timeout(c->api, MAX(ms_left(deadline), 1u));
    if ((r = step(vm, clh_api_vm_create(c->api, &vc, e), "vm.create", e)) < 0 ||
        (r = step(vm, expect_state(vm, CLH_STATE_CREATED, "vm.create", e), "vm.info", e)) < 0)
        goto fail;
    clh_api_set_timeout(c->api, MAX(ms_left(deadline), 1u));
    if ((r = step(vm, clh_api_action(c->api, CLH_VM_BOOT, e), "vm.boot", e)) < 0)
        goto fail;
    c->booted = true;
    clh_api_set_timeout(c->api, MAX(ms_left(deadline), 1u));
    if ((r = step(vm, expect_state(vm, CLH_STATE_RUNNING, "vm.boot", e), "vm.info", e)) < 0)
        goto fail;
    clh_api_set_timeout(c->api, CLH_CALL_MS);
    return 0;
fail:
    kill_all(vm);
    return r;
}

static int clh_stop(struct hv_vm *vm, uint64_t timeout_ns, struct err *e)
{
    struct clh *c = vm->priv;
    uint64_t deadline = now_ns() + timeout_ns;
    int status = 0;
    (void)e; /* stopping always succeeds: whatever does not go, is killed */

    if (!c)
        return 0;
    if (vm->pidfd >= 0) {
        struct err ignored = ERR_INIT;
        clh_api_set_timeout(c->api, MAX(MIN(ms_left(deadline), CLH_CALL_MS), 1u));
        if (c->booted && clh_api_action(c->api, CLH_VM_SHUTDOWN, &ignored) < 0)
            log_debug("cloud-hypervisor vm.shutdown: %s", err_msg(&ignored));
        err_clear(&ignored);
        clh_api_set_timeout(c->api, MAX(MIN(ms_left(deadline), CLH_CALL_MS), 1u));
        if (clh_api_action(c->api, CLH_VMM_SHUTDOWN, &ignored) < 0)
            log_debug("cloud-hypervisor vmm.shutdown: %s", err_msg(&ignored));
        int r = spawn_wait(vm->pidfd, (int)ms_left(deadline), &status);
        if (r == -ETIMEDOUT) {
            log_warn("cloud-hypervisor pid %d did not exit in time, killing it", (int)vm->pid);
            spawn_kill(vm->pidfd, SIGKILL);
            spawn_wait(vm->pidfd, -1, &status);
        }
        hv_vm_clear_running(vm);
    }
    stop_virtiofsd(c, vm->dir);
    remove_runtime_files(vm);
    c->booted = c->paused = false;
    return 0;
}

static int need_running(struct hv_vm *vm, const char *what, struct err *e)
{
    struct clh *c = vm->priv;
    if (vm->pidfd < 0 || !c->booted)
        return err_set(e, -EBUSY, "%s: the VM is not running", what);
    return check_vmm_alive(vm, what, e);
}

static int clh_pause(struct hv_vm *vm, struct err *e)
{
    struct clh *c = vm->priv;
    int r = need_running(vm, "pause", e);
    if (r < 0 || (r = clh_api_action(c->api, CLH_VM_PAUSE, e)) < 0)
        return r;
    c->paused = true;
    return 0;
}

static int clh_resume(struct hv_vm *vm, struct err *e)
{
    struct clh *c = vm->priv;
    int r = need_running(vm, "resume", e);
    if (r < 0 || (r = clh_api_action(c->api, CLH_VM_RESUME, e)) < 0)
        return r;
    c->paused = false;
    return 0;
}

static int clh_hotplug_add(struct hv_vm *vm, struct hv_device *dev, struct err *e)
{
    struct clh *c = vm->priv;
    struct clh_pci_info info;
    char path[sizeof(dev->guest_pci_path)];
    int r = need_running(vm, "hotplug", e);
    if (r < 0)
        return r;
    if (!dev->id[0] || strnlen(dev->id, sizeof(dev->id)) == sizeof(dev->id))
        return err_set(e, -EINVAL, "hotplug: bad device id");
    clh_api_set_timeout(c->api, CLH_CALL_MS);
    if (dev->kind == HV_DEVICE_BLOCK) {
        if (!dev->path)
            return err_set(e, -EINVAL, "hotplug %s: no path", dev->id);
        struct clh_disk d = {.id = dev->id, .path = dev->path, .readonly = dev->readonly};
        r = clh_api_vm_add_disk(c->api, &d, &info, e);
    } else if (dev->kind == HV_DEVICE_NET_TAP) {
        if (!dev->tap_fds || dev->n_tap_fds == 0)
            return err_set(e, -EINVAL, "hotplug %s: no tap fds", dev->id);
        struct clh_net n = {.id = dev->id,
                            .mac = dev->mac[0] ? dev->mac : NULL,
                            .mtu = dev->mtu,
                            .num_queues = (unsigned)(2 * dev->n_tap_fds)};
        r = clh_api_vm_add_net(c->api, &n, dev->tap_fds, dev->n_tap_fds, &info, e);
    } else {
        return err_set(e, -ENOTSUP, "hotplug %s: unknown device kind", dev->id);
    }
    if (r < 0)
        return r;
    if (info.cold)
        return err_set(e, -EPROTO, "hotplug %s: cloud-hypervisor gave no PCI address (cold plug)",
                       dev->id);
    if ((r = clh_api_bdf_to_pci_path(info.bdf, path, sizeof(path), e)) < 0)
        return (err_prefix(e, "hotplug %s", dev->id), r);
    memcpy(dev->guest_pci_path, path, sizeof(path));
    return 0;
}

static int clh_hotplug_remove(struct hv_vm *vm, const char *device_id, uint64_t timeout_ns,
                              struct err *e)
{
    struct clh *c = vm->priv;
    int r = need_running(vm, "hot-unplug", e);
    if (r < 0)
        return r;
    clh_api_set_timeout(c->api, (unsigned)MAX(MIN(timeout_ns / 1000000u, (uint64_t)INT_MAX), 1u));
    r = clh_api_vm_remove_device(c->api, device_id, e);
    clh_api_set_timeout(c->api, CLH_CALL_MS);
    return r;
}

static void clh_destroy(struct hv_vm *vm)
{
    struct clh *c = vm->priv;
    if (!c)
        return;
    if (vm->pidfd >= 0 || c->vfsd_pidfd >= 0)
        clh_stop(vm, 1000000000u, NULL);
    clh_api_free(c->api);
    free(c->cmdline);
    free(c);
    vm->priv = NULL;
}

static int clh_cleanup(const char *dir, struct err *e)
{
    char exe[NAME_MAX + 2] = "cloud-hypervisor", path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/" CLH_EXEFILE, dir);
    FILE *f = fopen(path, "re");
    if (f) {
        if (fgets(exe, sizeof(exe), f))
            exe[strcspn(exe, "\n")] = '\0';
        fclose(f);
    }
    int r = hv_kill_recorded(dir, CLH_PIDFILE, exe[0] ? exe : "cloud-hypervisor", 2000000000u);
    if (r < 0)
        return err_set(e, r, "killing the cloud-hypervisor recorded in %s: %s", dir,
                       strerror(-r));
    r = hv_kill_recorded(dir, VFSD_PIDFILE, "virtiofsd", 2000000000u);
    if (r < 0)
        return err_set(e, r, "killing the virtiofsd recorded in %s: %s", dir, strerror(-r));
    return 0;
}

const struct hv_ops hv_clh_ops = {
    .name = "clh",
    .prepare = clh_prepare,
    .destroy = clh_destroy,
    .start = clh_start,
    .stop = clh_stop,
    .pause = clh_pause,
    .resume = clh_resume,
    .hotplug_add = clh_hotplug_add,
    .hotplug_remove = clh_hotplug_remove,
    .cleanup = clh_cleanup,
};
