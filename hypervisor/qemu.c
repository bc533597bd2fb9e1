/* The QEMU driver: resolves the host choices (accelerator, agent channel),
 * starts virtiofsd and QEMU through lib/spawn, and drives QEMU over QMP.
 * Sockets QEMU serves (QMP, the virtio-serial agent port) are created and
 * listened on by us and passed as fds, so they exist before QEMU runs and a
 * QEMU that dies during start-up turns into a reset connection at once,
 * never a wait for a socket that will not appear. */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "hypervisor/hv-internal.h"
#include "hypervisor/qemu_argv.h"
#include "hypervisor/qemu_mem.h"
#include "hypervisor/qmp.h"
#include "hypervisor/virtiofsd.h"
#include "lib/err.h"
#include "lib/fd.h"
#include "lib/log.h"
#include "lib/spawn.h"
#include "lib/transport.h"
#include "lib/xalloc.h"

#define QEMU_PIDFILE "qemu.pid"
#define QMP_TIMEOUT_NS (5ull * 1000000000ull)
#define QEMU_MAX_DEVICES 32
#define FD_QMP 3
#define FD_AGENT 4
#define FD_VHOST 5

struct qdev {
    char id[64];
    enum hv_device_kind kind;
    unsigned port;  /* root port number (q35), 0 when none */
    unsigned n_fds; /* net: fds handed over with getfd */
};

struct qemu {
    struct qemu_argv_choices ch;
    char qmp_path[PATH_MAX], agent_path[PATH_MAX], console_path[PATH_MAX];
    char vfs_path[PATH_MAX], log_path[PATH_MAX], vfs_log_path[PATH_MAX];
    int vhost_fd;
    struct qmp *qmp;
    struct virtiofsd *vfsd;
    bool q35, microvm;
    struct qdev devs[QEMU_MAX_DEVICES];
    size_t n_devs;
};

static struct qemu *Q(const struct hv_vm *vm)
{
    return vm->priv;
}

/* Copies src into dst (size > 0), truncating; true when it fit. */
static bool copy_str(char *dst, size_t size, const char *src)
{
    size_t n = strlen(src);
    bool fits = n < size;
    if (!fits)
        n = size - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
    return fits;
}

/* TCG runs the guest TSC at the host rate; telling the guest spares it a
 * PIT calibration that can fail under TCG (guest-boot.md §1.3). */
static unsigned host_tsc_khz(void)
{
    _cleanup_fclose_ FILE *f = fopen("/proc/cpuinfo", "re");
    char line[256];
    while (f && fgets(line, sizeof(line), f)) {
        double mhz;
        if (sscanf(line, "cpu MHz : %lf", &mhz) == 1 && mhz > 0 && mhz < 100000)
            return (unsigned)(mhz * 1000.0);
    }
    return 0;
}

/* Host choices come from config/hostcheck.h through hv-host.c, so that
 * `kata-runtime check` reports exactly what this driver does. */
static int resolve_choices(struct hv_vm *vm, struct err *e)
{
    struct qemu *q = Q(vm);
    int r = hv_host_choose_transport(&vm->cfg, &q->ch.transport, e);
    if (r < 0)
        return r;
    if (q->ch.transport != HV_TRANSPORT_VSOCK && q->ch.transport != HV_TRANSPORT_VIRTIO_SERIAL)
        return err_set(e, -EINVAL, "transport: hybrid vsock is for Cloud Hypervisor, not QEMU");
    return hv_host_choose_accel(&vm->cfg, &q->ch.accel, e);
}

static int qemu_prepare(struct hv_vm *vm, struct err *e)
{
    struct qemu *q = xzalloc(sizeof(*q));
    vm->priv = q;
    q->vhost_fd = -1;
    const struct hv_config *c = &vm->cfg;
    int r = hv_check_file("path", c->path, true, e);
    if (r < 0)
        return r;
    if ((r = hv_check_file("kernel", c->kernel, false, e)) < 0)
        return r;
    if (c->initrd && (r = hv_check_file("initrd", c->initrd, false, e)) < 0)
        return r;
    if (c->image && (r = hv_check_file("image", c->image, false, e)) < 0)
        return r;
    if (c->firmware && (r = hv_check_file("firmware", c->firmware, false, e)) < 0)
        return r;
    if (c->shared_fs != HV_SHARED_FS_NONE) {
        struct stat st;
        if (!c->shared_dir || stat(c->shared_dir, &st) < 0 || !S_ISDIR(st.st_mode))
            return err_set(e, -ENOENT, "shared_fs: shared folder %s does not exist",
                           c->shared_dir ? c->shared_dir : "(unset)");
    }
    if (c->shared_fs == HV_SHARED_FS_VIRTIO_FS &&
        (r = hv_check_file("virtio_fs_daemon", c->virtiofsd_path ? c->virtiofsd_path
                                                                 : VIRTIOFSD_DEFAULT_PATH,
                           true, e)) < 0)
        return r;
    if ((r = resolve_choices(vm, e)) < 0)
        return r;
    q->q35 = !c->machine_type || !*c->machine_type || strcmp(c->machine_type, "q35") == 0;
    q->microvm = c->machine_type && strcmp(c->machine_type, "microvm") == 0;

    if (hv_vm_path(vm, "qmp.sock", q->qmp_path, sizeof(q->qmp_path)) < 0 ||
        hv_vm_path(vm, "agent.sock", q->agent_path, sizeof(q->agent_path)) < 0 ||
        hv_vm_path(vm, "vhost-fs.sock", q->vfs_path, sizeof(q->vfs_path)) < 0 ||
        hv_vm_path(vm, "console.log", q->console_path, sizeof(q->console_path)) < 0 ||
        hv_vm_path(vm, "qemu.log", q->log_path, sizeof(q->log_path)) < 0 ||
        hv_vm_path(vm, "virtiofsd.log", q->vfs_log_path, sizeof(q->vfs_log_path)) < 0 ||
        strlen(q->qmp_path) >= sizeof(((struct sockaddr_un *)0)->sun_path) ||
        strlen(q->vfs_path) >= sizeof(((struct sockaddr_un *)0)->sun_path))
        return err_set(e, -ENAMETOOLONG, "state folder %s: too long for socket paths", vm->dir);
    q->ch.name = vm->sandbox_id;
    q->ch.qmp_fd = FD_QMP;
    q->ch.agent_fd = q->ch.transport == HV_TRANSPORT_VIRTIO_SERIAL ? FD_AGENT : -1;
    q->ch.vhost_fd = q->ch.transport == HV_TRANSPORT_VSOCK ? FD_VHOST : -1;
    q->ch.guest_cid = 3; /* placeholder for validation; claimed at start */
    q->ch.console_path = q->console_path;
    q->ch.virtiofs_path = q->vfs_path;
    q->ch.tsc_khz = q->ch.accel == HV_ACCEL_TCG ? host_tsc_khz() : 0;

    /* Build once now so configuration mistakes fail here, not at start. */
    char **argv = NULL;
    if ((r = qemu_argv_build(c, &q->ch, &argv, e)) < 0)
        return r;
    qemu_argv_free(argv);

    if (q->ch.transport == HV_TRANSPORT_VIRTIO_SERIAL &&
        (strlen(q->agent_path) >= sizeof(((struct sockaddr_un *)0)->sun_path) ||
         !copy_str(vm->agent_address, sizeof(vm->agent_address), "vserial://") ||
         !copy_str(vm->agent_address + 10, sizeof(vm->agent_address) - 10, q->agent_path)))
        return err_set(e, -ENAMETOOLONG, "agent socket %s: path too long", q->agent_path);
    vm->caps = (struct hv_caps){
        .block_hotplug = !q->microvm && (!q->q35 || c->pcie_root_ports > 0),
        .net_hotplug = !q->microvm && (!q->q35 || c->pcie_root_ports > 0),
        .pause = true,
        .vsock = q->ch.transport == HV_TRANSPORT_VSOCK,
        .kvm = q->ch.accel == HV_ACCEL_KVM,
    };
    return 0;
}

/* The last line QEMU wrote to its log, for error messages. */
static void last_log_line(const char *path, char *buf, size_t size)
{
    buf[0] = '\0';
    _cleanup_fclose_ FILE *f = fopen(path, "re");
    char line[512];
    while (f && fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\n")] = '\0';
        if (line[0])
            copy_str(buf, size, line);
    }
}

static void remove_runtime_files(struct hv_vm *vm)
{
    struct qemu *q = Q(vm);
    unlink(q->qmp_path);
    unlink(q->agent_path);
    unlink(q->vfs_path);
    char p[PATH_MAX];
    if (hv_vm_path(vm, QEMU_PIDFILE, p, sizeof(p)) >= 0)
        unlink(p);
}

static int qemu_stop(struct hv_vm *vm, uint64_t timeout_ns, struct err *e)
{
    struct qemu *q = Q(vm);
    if (!q)
        return 0;
    int pidfd = vm->pidfd;
    int r = 0;
    if (pidfd >= 0) {
        if (q->qmp)
            qmp_quit(q->qmp, MIN(timeout_ns, QMP_TIMEOUT_NS), NULL);
        int ms = (int)MIN(timeout_ns / 1000000u, (uint64_t)INT_MAX);
        r = spawn_wait(pidfd, ms, NULL);
        if (r == -ETIMEDOUT) {
            log_warn("QEMU %d did not quit within %d ms; killing it", vm->pid, ms);
            spawn_kill(pidfd, SIGKILL);
            r = spawn_wait(pidfd, -1, NULL);
        }
        if (r < 0 && r != -ECHILD)
            err_set(e, r, "reaping QEMU: %s", strerror(-r));
        else
            r = 0;
        hv_vm_clear_running(vm);
    }
    q->qmp = qmp_free(q->qmp);
    q->vfsd = virtiofsd_stop(q->vfsd, 1000000000ull);
    q->vhost_fd = fd_close(q->vhost_fd);
    q->n_devs = 0;
    remove_runtime_files(vm);
    return r;
}

static void qemu_destroy(struct hv_vm *vm)
{
    if (!vm->priv)
        return;
    qemu_stop(vm, 2000000000ull, NULL);
    free(vm->priv);
    vm->priv = NULL;
}

static int listen_unix(const char *path, struct err *e)
{
    char uri[PATH_MAX + 16];
    snprintf(uri, sizeof(uri), "unix://%s", path);
    return transport_listen(uri, e);
}

/* Spawns QEMU with the fd map; qmp/agent listening fds are ours to close. */
static int spawn_qemu(struct hv_vm *vm, int qmp_listen, int agent_listen, struct err *e)
{
    struct qemu *q = Q(vm);
    char **argv = NULL;
    int r = qemu_argv_build(&vm->cfg, &q->ch, &argv, e);
    if (r < 0)
        return r;
    _cleanup_close_ int logfd =
        open(q->log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (logfd < 0) {
        qemu_argv_free(argv);
        return err_set(e, -errno, "%s: %s", q->log_path, strerror(errno));
    }
    struct spawn_fd fds[5];
    size_t n = 0;
    fds[n++] = (struct spawn_fd){logfd, STDOUT_FILENO};
    fds[n++] = (struct spawn_fd){logfd, STDERR_FILENO};
    fds[n++] = (struct spawn_fd){qmp_listen, FD_QMP};
    if (agent_listen >= 0)
        fds[n++] = (struct spawn_fd){agent_listen, FD_AGENT};
    if (q->vhost_fd >= 0)
        fds[n++] = (struct spawn_fd){q->vhost_fd, FD_VHOST};
    struct spawn_opts o = {.argv = (const char *const *)argv, .fds = fds, .n_fds = n};
    int pidfd = -1;
    pid_t pid = 0;
    r = spawn_start(&o, &pidfd, &pid);
    qemu_argv_free(argv);
    if (r < 0)
        return err_set(e, r, "starting %s: %s", vm->cfg.path, strerror(-r));
    hv_vm_set_running(vm, pidfd, pid);
    hv_pidfile_write(vm->dir, QEMU_PIDFILE, pid);
    return 0;
}

/* QEMU died while we waited for it: say why, from its status and log. */
static int report_early_exit(struct hv_vm *vm, struct err *e)
{
    struct qemu *q = Q(vm);
    int status = 0;
    spawn_wait(vm->pidfd, 1000, &status);
    hv_vm_clear_running(vm);
    /* A virtiofsd that failed at once (bad option) is the cause, QEMU's
     * vhost-user error only its echo. One that exited cleanly merely saw
     * QEMU go. */
    struct err ve = ERR_INIT;
    int vstatus = 0;
    if (q->vfsd && virtiofsd_check(q->vfsd, 200, &vstatus, &ve) < 0 && vstatus != 0)
        return err_set(e, -ECHILD, "QEMU exited during start (status 0x%x): virtio-fs daemon %s",
                       status, ve.msg);
    char last[300];
    last_log_line(q->log_path, last, sizeof(last));
    return err_set(e, -ECHILD, "QEMU exited during start (status 0x%x): %s", status,
                   last[0] ? last : "no message");
}

/* QEMU copied the kernel into guest RAM at its initial reset, before its
 * main loop (so before QMP answered); the file mapping it keeps is only
 * for later resets, which -no-reboot pod VMs do not have and the driver
 * never asks for. Best effort: the VM is fine either way. The initrd is
 * left mapped: the guest's firmware reads it through fw_cfg after this
 * point, and it is ~1 MB. */
static void release_kernel_pages(struct hv_vm *vm)
{
    long r = qemu_mem_page_out_file(vm->pidfd, vm->pid, vm->cfg.kernel);
    if (r < 0)
        log_debug("QEMU %d: kernel file pages kept: %s", vm->pid, strerror((int)-r));
    else
        log_debug("QEMU %d: paged out %ld kB of kernel file mappings", vm->pid, r / 1024);
}

static int qemu_start(struct hv_vm *vm, uint64_t timeout_ns, struct err *e)
{
    struct qemu *q = Q(vm);
    _cleanup_close_ int qmp_listen = -1, agent_listen = -1;
    int r;
    if (!timeout_ns)
        timeout_ns = 30ull * 1000000000ull;
    if (q->ch.transport == HV_TRANSPORT_VSOCK) {
        uint32_t cid;
        if ((r = hv_host_claim_vsock_cid(&q->vhost_fd, &cid, e)) < 0)
            return r;
        q->ch.guest_cid = cid;
        snprintf(vm->agent_address, sizeof(vm->agent_address), "vsock://%u:%d", cid,
                 HV_AGENT_VSOCK_PORT);
    }
    if (vm->cfg.shared_fs == HV_SHARED_FS_VIRTIO_FS) {
        struct virtiofsd_config vc = {
            .path = vm->cfg.virtiofsd_path,
            .socket_path = q->vfs_path,
            .shared_dir = vm->cfg.shared_dir,
            .cache = vm->cfg.virtiofsd_cache,
            .extra_args = vm->cfg.virtiofsd_extra_args,
            .log_path = q->vfs_log_path,
            .pidfile_dir = vm->dir,
        };
        if ((r = virtiofsd_start(&vc, &q->vfsd, e)) < 0)
            goto fail;
    }
    qmp_listen = listen_unix(q->qmp_path, e);
    if (qmp_listen < 0) {
        r = err_prefix(e, "QMP socket");
        goto fail;
    }
    if (q->ch.transport == HV_TRANSPORT_VIRTIO_SERIAL) {
        agent_listen = listen_unix(q->agent_path, e);
        if (agent_listen < 0) {
            r = err_prefix(e, "agent socket");
            goto fail;
        }
    }
    if ((r = spawn_qemu(vm, qmp_listen, agent_listen, e)) < 0)
        goto fail;
    /* From now on only QEMU holds the listening sockets: when it dies, our
     * pending QMP connection is reset instead of hanging. */
    qmp_listen = fd_close(qmp_listen);
    agent_listen = fd_close(agent_listen);

    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    memcpy(sa.sun_path, q->qmp_path, strlen(q->qmp_path) + 1);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        r = -errno;
        fd_close(fd);
        if (fd_wait(vm->pidfd, POLLIN, 0) > 0 || r == -ECONNREFUSED) {
            r = report_early_exit(vm, e);
            goto fail;
        }
        err_set(e, r, "QMP connect %s: %s", q->qmp_path, strerror(-r));
        goto fail;
    }
    struct err qe = ERR_INIT;
    r = qmp_connect_fd(fd, MIN(timeout_ns, QMP_TIMEOUT_NS * 2), &q->qmp, &qe);
    if (r < 0) {
        if (fd_wait(vm->pidfd, POLLIN, 200) > 0) /* exited, not yet reaped */
            r = report_early_exit(vm, e);
        else
            err_set(e, r, "QEMU %d: %s", vm->pid, qe.msg);
        goto fail;
    }
    bool running = false;
    char status[32];
    if ((r = qmp_query_status(q->qmp, QMP_TIMEOUT_NS, status, sizeof(status), &running, e)) < 0)
        goto fail;
    if (!running) {
        r = err_set(e, -EIO, "QEMU started but the VM is %s", status);
        goto fail;
    }
    if (vm->cfg.release_kernel_pages)
        release_kernel_pages(vm);
    log_debug("QEMU %d running (%s, %s)", vm->pid, q->ch.accel == HV_ACCEL_KVM ? "kvm" : "tcg",
              q->ch.transport == HV_TRANSPORT_VSOCK ? "vsock" : "virtio-serial");
    return 0;
fail:
    qemu_stop(vm, 1000000000ull, NULL);
    return r;
}

static int need_qmp(struct hv_vm *vm, struct err *e)
{
    if (!Q(vm)->qmp || vm->pidfd < 0)
        return err_set(e, -ESRCH, "QEMU is not running");
    return 0;
}

static int qemu_pause(struct hv_vm *vm, struct err *e)
{
    int r = need_qmp(vm, e);
    return r < 0 ? r : qmp_stop(Q(vm)->qmp, QMP_TIMEOUT_NS, e);
}

static int qemu_resume(struct hv_vm *vm, struct err *e)
{
    int r = need_qmp(vm, e);
    return r < 0 ? r : qmp_cont(Q(vm)->qmp, QMP_TIMEOUT_NS, e);
}

static struct qdev *find_dev(struct qemu *q, const char *id)
{
    for (size_t i = 0; i < q->n_devs; i++)
        if (strcmp(q->devs[i].id, id) == 0)
            return &q->devs[i];
    return NULL;
}

static unsigned free_port(const struct hv_vm *vm)
{
    struct qemu *q = Q(vm);
    for (unsigned p = 1; p <= vm->cfg.pcie_root_ports; p++) {
        bool used = false;
        for (size_t i = 0; i < q->n_devs; i++)
            used |= q->devs[i].port == p;
        if (!used)
            return p;
    }
    return 0;
}

/* Finds the device with qdev_id `id` in a query-pci bus listing and writes
 * its PCI path ("bb/dd" style: slot of each bridge on the way, then its own). */
static bool pci_path_in(struct json_object *devices, const char *id, char *path, size_t size,
                        const char *prefix)
{
    size_t n = json_object_is_type(devices, json_type_array) ? json_object_array_length(devices) : 0;
    for (size_t i = 0; i < n; i++) {
        struct json_object *d = json_object_array_get_idx(devices, i), *v, *br, *bus, *sub;
        if (!json_object_is_type(d, json_type_object) || !json_object_object_get_ex(d, "slot", &v) ||
            !json_object_is_type(v, json_type_int))
            continue;
        int slot = json_object_get_int(v);
        char here[64];
        snprintf(here, sizeof(here), "%s%s%02x", prefix, *prefix ? "/" : "", slot & 0xff);
        if (json_object_object_get_ex(d, "qdev_id", &v) && json_object_is_type(v, json_type_string) &&
            strcmp(json_object_get_string(v), id) == 0) {
            return copy_str(path, size, here);
        }
        if (json_object_object_get_ex(d, "pci_bridge", &br) &&
            json_object_object_get_ex(br, "devices", &sub) &&
            pci_path_in(sub, id, path, size, here))
            return true;
        (void)bus;
    }
    return false;
}

static void fill_pci_path(struct qemu *q, struct hv_device *dev)
{
    struct json_object *ret = NULL;
    dev->guest_pci_path[0] = '\0';
    if (qmp_execute(q->qmp, "query-pci", NULL, -1, QMP_TIMEOUT_NS, &ret, NULL) < 0)
        return;
    size_t n = json_object_is_type(ret, json_type_array) ? json_object_array_length(ret) : 0;
    for (size_t i = 0; i < n; i++) {
        struct json_object *b = json_object_array_get_idx(ret, i), *devs;
        if (json_object_object_get_ex(b, "devices", &devs) &&
            pci_path_in(devs, dev->id, dev->guest_pci_path, sizeof(dev->guest_pci_path), ""))
            break;
    }
    json_object_put(ret);
}

static int add_block(struct hv_vm *vm, struct hv_device *dev, unsigned port, struct err *e)
{
    struct qemu *q = Q(vm);
    char node[80], bus[16];
    snprintf(node, sizeof(node), "drive-%s", dev->id);
    snprintf(bus, sizeof(bus), "rp%u", port);
    struct stat st;
    if (!dev->path || stat(dev->path, &st) < 0)
        return err_set(e, -ENOENT, "block device %s: %s", dev->path ? dev->path : "(unset)",
                       strerror(errno));
    int r = qmp_blockdev_add(q->qmp, node, dev->path, dev->readonly, S_ISBLK(st.st_mode),
                             QMP_TIMEOUT_NS, e);
    if (r < 0)
        return r;
    const char *props[] = {"drive", node, port ? "bus" : NULL, bus, NULL};
    r = qmp_device_add(q->qmp, "virtio-blk-pci", dev->id, props, QMP_TIMEOUT_NS, e);
    if (r < 0)
        qmp_blockdev_del(q->qmp, node, QMP_TIMEOUT_NS, NULL);
    return r;
}

static int add_net(struct hv_vm *vm, struct hv_device *dev, unsigned port, struct err *e)
{
    struct qemu *q = Q(vm);
    if (dev->n_tap_fds == 0 || dev->n_tap_fds > 8)
        return err_set(e, -EINVAL, "net %s: %zu tap fds (1 to 8)", dev->id, dev->n_tap_fds);
    char names[8][80];
    const char *name_ptrs[8];
    size_t sent = 0;
    int r = 0;
    for (; sent < dev->n_tap_fds; sent++) {
        snprintf(names[sent], sizeof(names[sent]), "fd-%s-%zu", dev->id, sent);
        name_ptrs[sent] = names[sent];
        if ((r = qmp_getfd(q->qmp, dev->tap_fds[sent], names[sent], QMP_TIMEOUT_NS, e)) < 0)
            goto undo_fds;
    }
    char netdev[80], bus[16], mtu[16];
    snprintf(netdev, sizeof(netdev), "netdev-%s", dev->id);
    if ((r = qmp_netdev_add_tap(q->qmp, netdev, name_ptrs, dev->n_tap_fds,
                                vm->caps.kvm && access("/dev/vhost-net", R_OK | W_OK) == 0,
                                QMP_TIMEOUT_NS, e)) < 0)
        goto undo_fds;
    snprintf(bus, sizeof(bus), "rp%u", port);
    snprintf(mtu, sizeof(mtu), "%u", dev->mtu);
    const char *props[10];
    size_t n = 0;
    props[n++] = "netdev";
    props[n++] = netdev;
    if (dev->mac[0]) {
        props[n++] = "mac";
        props[n++] = dev->mac;
    }
    if (port) {
        props[n++] = "bus";
        props[n++] = bus;
    }
    if (dev->mtu) {
        props[n++] = "host_mtu";
        props[n++] = mtu;
    }
    props[n] = NULL;
    if ((r = qmp_device_add(q->qmp, "virtio-net-pci", dev->id, props, QMP_TIMEOUT_NS, e)) < 0) {
        qmp_netdev_del(q->qmp, netdev, QMP_TIMEOUT_NS, NULL);
        return r; /* netdev_add consumed the fds */
    }
    return 0;
undo_fds:
    while (sent-- > 0)
        qmp_closefd(q->qmp, names[sent], QMP_TIMEOUT_NS, NULL);
    return r;
}

static int qemu_hotplug_add(struct hv_vm *vm, struct hv_device *dev, struct err *e)
{
    struct qemu *q = Q(vm);
    int r = need_qmp(vm, e);
    if (r < 0)
        return r;
    if (!vm->caps.block_hotplug)
        return err_set(e, -ENOTSUP, "machine %s: no hotplug (pcie_root_port = 0 or microvm)",
                       vm->cfg.machine_type ? vm->cfg.machine_type : "q35");
    if (find_dev(q, dev->id))
        return err_set(e, -EEXIST, "device %s: already attached", dev->id);
    if (q->n_devs == QEMU_MAX_DEVICES)
        return err_set(e, -ENOSPC, "device %s: %d devices attached already", dev->id,
                       QEMU_MAX_DEVICES);
    unsigned port = 0;
    if (q->q35 && !(port = free_port(vm)))
        return err_set(e, -ENOSPC, "device %s: all %u pcie root ports in use", dev->id,
                       vm->cfg.pcie_root_ports);
    if (dev->kind == HV_DEVICE_BLOCK)
        r = add_block(vm, dev, port, e);
    else if (dev->kind == HV_DEVICE_NET_TAP)
        r = add_net(vm, dev, port, e);
    else
        r = err_set(e, -EINVAL, "device %s: unknown kind", dev->id);
    if (r < 0)
        return r;
    struct qdev *d = &q->devs[q->n_devs++];
    snprintf(d->id, sizeof(d->id), "%s", dev->id);
    d->kind = dev->kind;
    d->port = port;
    fill_pci_path(q, dev);
    return 0;
}

static int qemu_hotplug_remove(struct hv_vm *vm, const char *device_id, uint64_t timeout_ns,
                               struct err *e)
{
    struct qemu *q = Q(vm);
    int r = need_qmp(vm, e);
    if (r < 0)
        return r;
    struct qdev *d = find_dev(q, device_id);
    if (!d)
        return err_set(e, -ENOENT, "device %s: not attached", device_id);
    /* The guest must eject it (ACPI): DEVICE_DELETED may take a while. */
    if ((r = qmp_device_del(q->qmp, device_id, timeout_ns ? timeout_ns : 10000000000ull, e)) < 0)
        return r;
    char name[80];
    if (d->kind == HV_DEVICE_BLOCK) {
        snprintf(name, sizeof(name), "drive-%s", device_id);
        r = qmp_blockdev_del(q->qmp, name, QMP_TIMEOUT_NS, e);
    } else {
        snprintf(name, sizeof(name), "netdev-%s", device_id);
        r = qmp_netdev_del(q->qmp, name, QMP_TIMEOUT_NS, e);
    }
    *d = q->devs[--q->n_devs];
    return r;
}

static int qemu_cleanup(const char *dir, struct err *e)
{
    int r = hv_kill_recorded(dir, QEMU_PIDFILE, "qemu-system", 5000000000ull);
    if (r < 0)
        return err_set(e, r, "killing QEMU recorded in %s: %s", dir, strerror(-r));
    r = hv_kill_recorded(dir, VIRTIOFSD_PIDFILE, "virtiofsd", 2000000000ull);
    if (r < 0)
        return err_set(e, r, "killing virtiofsd recorded in %s: %s", dir, strerror(-r));
    return 0;
}

const struct hv_ops hv_qemu_ops = {
    .name = "qemu",
    .prepare = qemu_prepare,
    .destroy = qemu_destroy,
    .start = qemu_start,
    .stop = qemu_stop,
    .pause = qemu_pause,
    .resume = qemu_resume,
    .hotplug_add = qemu_hotplug_add,
    .hotplug_remove = qemu_hotplug_remove,
    .cleanup = qemu_cleanup,
};
