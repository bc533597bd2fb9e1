/* `kata-runtime check`: one line per check, then a verdict with the
 * fallbacks the runtime will use on this host and the remedies. Devices are
 * the truth (a module may be built in without showing up anywhere);
 * module states only explain what is missing. */
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#include "config/guestcheck.h"
#include "shim/kata-runtime/kata-runtime.h"

#define MAX_NOTES 16
#define NOTE_LEN 640
#define BINARY_TIMEOUT_MS 2000

enum level { OK, WARN, FAIL };

struct report {
    const struct check_options *o;
    int warns, fails;
    char fallbacks[MAX_NOTES][NOTE_LEN];
    size_t n_fallbacks;
    char blockers[MAX_NOTES][NOTE_LEN];
    size_t n_blockers;
    char remedies[MAX_NOTES][NOTE_LEN];
    size_t n_remedies;
};

_printf_(4, 5) static void line(struct report *r, enum level lv, const char *name,
                                const char *fmt, ...)
{
    static const char *const tags[] = {"[OK]", "[WARN]", "[FAIL]"};
    char detail[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    printf("%s %s: %s\n", tags[lv], name, detail);
    if (lv == WARN)
        r->warns++;
    if (lv == FAIL) {
        r->fails++;
        if (r->n_blockers < MAX_NOTES)
            snprintf(r->blockers[r->n_blockers++], NOTE_LEN, "%s: %s", name, detail);
    }
}

_printf_(3, 4) static void note(char (*list)[NOTE_LEN], size_t *n, const char *fmt, ...)
{
    if (*n >= MAX_NOTES)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(list[*n], NOTE_LEN, fmt, ap);
    va_end(ap);
    for (size_t i = 0; i < *n; i++)
        if (strcmp(list[i], list[*n]) == 0)
            return; /* no duplicates */
    (*n)++;
}

#define fallback(r, ...) note((r)->fallbacks, &(r)->n_fallbacks, __VA_ARGS__)
#define remedy(r, ...) note((r)->remedies, &(r)->n_remedies, __VA_ARGS__)

/* " (module vhost_vsock: missing)" in verbose mode. */
static const char *module_note(const struct report *r, const char *name, char *buf, size_t len)
{
    if (!r->o->verbose)
        return "";
    snprintf(buf, len, " (module %s: %s)", name, hostcheck_module_name(hostcheck_module(name)));
    return buf;
}

static void check_cpu(struct report *r, const struct host_facts *h)
{
    const struct hostcheck_cpu *cpu = &h->cpu;
    if (!h->cpu_known) {
        line(r, WARN, "cpu", "cannot read the CPU flags from /proc/cpuinfo");
        return;
    }
    if (r->o->verbose)
        line(r, OK, "cpu", "%s, %d CPUs", cpu->model[0] ? cpu->model : cpu->vendor, cpu->cpus);
    if (cpu->lm)
        line(r, OK, "cpu-64bit", "lm flag present");
    else
        line(r, FAIL, "cpu-64bit", "no lm flag: not a 64-bit x86 CPU");
    if (cpu->vmx || cpu->svm)
        line(r, OK, "cpu-virtualization", "%s", cpu->vmx ? "vmx (Intel VT-x)" : "svm (AMD-V)");
    else {
        line(r, WARN, "cpu-virtualization", "no vmx or svm flag in /proc/cpuinfo%s",
             cpu->hypervisor ? " (this host is a VM whose hypervisor does not expose nested "
                               "virtualization)"
                             : "");
        remedy(r, "cpu-virtualization: enable VT-x/AMD-V in the firmware, or nested "
                  "virtualization on the parent hypervisor");
    }
    if (!cpu->sse4_1)
        line(r, WARN, "cpu-sse4_1", "no sse4_1 flag (guest kernels may need it)");
}

static void kvm_remedy(struct report *r, const struct host_facts *h)
{
    switch (h->kvm.state) {
    case HOSTCHECK_KVM_ABSENT:
        remedy(r, "kvm: load kvm_intel or kvm_amd (modprobe), after enabling hardware "
                  "virtualization");
        break;
    case HOSTCHECK_KVM_NO_ACCESS:
        remedy(r, "kvm: run as root, or give this user read-write access to /dev/kvm");
        break;
    default:
        remedy(r, "kvm: use a host with hardware virtualization (bare metal, or a VM with "
                  "nested VT-x/AMD-V); until then QEMU emulates with TCG");
        break;
    }
}

static void check_kvm(struct report *r, const struct cfg *c, const struct host_facts *h)
{
    const char *vendor_mod = h->cpu.svm ? "kvm_amd" : "kvm_intel";
    char mod[128] = "";
    if (r->o->verbose)
        snprintf(mod, sizeof(mod), " (modules: kvm %s, %s %s)",
                 hostcheck_module_name(hostcheck_module("kvm")), vendor_mod,
                 hostcheck_module_name(hostcheck_module(vendor_mod)));
    if (c->hv.kind == CFG_HV_MOCK) {
        line(r, OK, "kvm", "not used: the mock driver runs no VM (probe: %s)", h->kvm.detail);
        return;
    }
    if (h->kvm.state == HOSTCHECK_KVM_USABLE) {
        line(r, OK, "kvm", "%s%s", h->kvm.detail, mod);
        return;
    }
    if (h->accel_r < 0) {
        line(r, FAIL, "kvm", "%s%s", h->accel_why, mod);
        kvm_remedy(r, h);
        return;
    }
    if (c->hv.accel == CFG_ACCEL_TCG) {
        line(r, OK, "kvm", "not used (accel = \"tcg\"); probe: %s", h->kvm.detail);
        return;
    }
    line(r, WARN, "kvm", "%s%s", h->kvm.detail, mod);
    if (h->accel == CFG_ACCEL_TCG)
        fallback(r, "KVM cannot run a 64-bit guest: VMs will use TCG (slow)");
    else
        fallback(r, "accel = \"kvm\" is forced although KVM failed the probe: VMs may hang");
    kvm_remedy(r, h);
}

static void check_vsock(struct report *r, const struct cfg *c, const struct host_facts *h)
{
    char buf[96];
    if (c->hv.kind == CFG_HV_CLH || c->hv.kind == CFG_HV_MOCK) {
        line(r, OK, "vhost-vsock", "not needed: %s",
             c->hv.kind == CFG_HV_CLH ? "Cloud Hypervisor uses its hybrid vsock"
                                      : "the mock driver's agent listens on a unix socket");
        return;
    }
    if (h->vhost_vsock) {
        line(r, OK, "vhost-vsock", "%s", h->vhost_vsock_detail);
        return;
    }
    const char *mod = module_note(r, "vhost_vsock", buf, sizeof(buf));
    if (h->channel_r < 0) {
        line(r, FAIL, "vhost-vsock", "%s%s (and transport = \"vsock\" is forced)",
             h->vhost_vsock_detail, mod);
        remedy(r, "vhost-vsock: modprobe vhost_vsock, or set transport = \"auto\" in [agent.kata]");
        return;
    }
    if (h->channel == HOSTCHECK_CHANNEL_VIRTIO_SERIAL && c->agent.transport != CFG_TRANSPORT_AUTO) {
        line(r, OK, "vhost-vsock", "not used (transport = \"virtio-serial\"); %s",
             h->vhost_vsock_detail);
        return;
    }
    line(r, WARN, "vhost-vsock", "%s%s", h->vhost_vsock_detail, mod);
    fallback(r, "no /dev/vhost-vsock: agent channel will use virtio-serial");
    remedy(r, "vhost-vsock: modprobe vhost_vsock (on a VM the parent must offer vsock too)");
}

static void check_network(struct report *r, const struct cfg *c, const struct host_facts *h)
{
    char detail[HOSTCHECK_DETAIL], buf[96];
    if (c->hv.disable_vhost_net)
        line(r, OK, "vhost-net", "not used (disable_vhost_net = true)");
    else if (h->vhost_net)
        line(r, OK, "vhost-net", "%s", h->vhost_net_detail);
    else {
        line(r, WARN, "vhost-net", "%s%s: guest networking uses the slower userspace backend",
             h->vhost_net_detail, module_note(r, "vhost_net", buf, sizeof(buf)));
        remedy(r, "vhost-net: modprobe vhost_net");
    }
    if (hostcheck_device("/dev/net/tun", detail, sizeof(detail)) == 0)
        line(r, OK, "tun", "%s", detail);
    else {
        line(r, WARN, "tun", "%s%s: pods cannot get network interfaces", detail,
             module_note(r, "tun", buf, sizeof(buf)));
        remedy(r, "tun: modprobe tun");
    }
}

static void check_host_kernel(struct report *r)
{
    char detail[HOSTCHECK_DETAIL];
    if (hostcheck_filesystem("overlay"))
        line(r, OK, "overlayfs", "overlay listed in /proc/filesystems");
    else {
        line(r, WARN, "overlayfs", "overlay not in /proc/filesystems: containerd's overlayfs "
                                   "snapshots cannot be mounted");
        remedy(r, "overlayfs: modprobe overlay");
    }
    if (hostcheck_cgroup(detail, sizeof(detail)) > 0)
        line(r, OK, "cgroups", "%s", detail);
    else {
        line(r, WARN, "cgroups", "%s: pod resource accounting is unavailable", detail);
        remedy(r, "cgroups: mount cgroup2 on /sys/fs/cgroup");
    }
}

static void check_binary(struct report *r, const char *name, const char *key, const char *path,
                         const char *install_hint)
{
    char version[160];
    if (access(path, X_OK) < 0) {
        line(r, FAIL, name, "%s (%s): %s", path, key, strerror(errno));
        remedy(r, "%s: %s, or set %s in %s", name, install_hint, key, "the configuration");
        return;
    }
    int v = hostcheck_binary_version(path, BINARY_TIMEOUT_MS, version, sizeof(version));
    if (v < 0)
        line(r, WARN, name, "%s: `--version` failed (%s)", path, strerror(-v));
    else
        line(r, OK, name, "%s (%s)", path, version);
}

static void check_file(struct report *r, const char *name, const char *path)
{
    char detail[HOSTCHECK_DETAIL];
    if (hostcheck_file(path, detail, sizeof(detail)) == 0)
        line(r, OK, name, "%s", detail);
    else {
        line(r, FAIL, name, "%s", detail);
        remedy(r, "%s: build and install the guest assets (make && make install), or fix %s in "
                  "the configuration", name, name);
    }
}

/* The shared folder's file system must be one the guest kernel can mount:
 * Debian's cloud kernel has no 9p. Told by the guest build's manifest. */
static void check_guest_fs(struct report *r, const struct cfg_hypervisor *hv)
{
    char detail[GUESTCHECK_DETAIL];
    bool ninep = hv->shared_fs == CFG_SHARED_FS_VIRTIO_9P;
    switch (guestcheck_shared_fs(hv, detail, sizeof(detail))) {
    case GUESTCHECK_OK:
        if (hv->kind != CFG_HV_MOCK && hv->shared_fs != CFG_SHARED_FS_NONE)
            line(r, OK, "guest-shared-fs", "%s", detail);
        break;
    case GUESTCHECK_UNKNOWN:
        /* Only 9p is in doubt: every guest we build has virtio-fs. */
        if (ninep)
            line(r, WARN, "guest-shared-fs", "shared_fs = \"virtio-9p\": %s", detail);
        break;
    case GUESTCHECK_MISSING:
        line(r, WARN, "guest-shared-fs",
             "shared_fs = \"%s\", but %s: VMs boot, pods fail to start",
             cfg_enum_name(CFG_ENUM_SHARED_FS, (int)hv->shared_fs), detail);
        if (ninep)
            remedy(r, "guest-shared-fs: build the guest with the generic kernel flavour (make "
                      "guest-generic; kernel and initrd from build/guest-generic/) or set "
                      "shared_fs = \"virtio-fs\"");
        break;
    }
}

static void check_assets(struct report *r, const struct cfg *c)
{
    const struct cfg_hypervisor *hv = &c->hv;
    if (hv->kind == CFG_HV_MOCK) {
        if (access(hv->path, X_OK) == 0)
            line(r, OK, "hypervisor", "mock driver: runs %s on the host", hv->path);
        else
            line(r, FAIL, "hypervisor", "mock driver: %s (path): %s", hv->path, strerror(errno));
        return;
    }
    check_binary(r, "hypervisor", "path", hv->path,
                 hv->kind == CFG_HV_QEMU ? "install QEMU (apt-get install qemu-system-x86)"
                                         : "install Cloud Hypervisor");
    if (hv->shared_fs == CFG_SHARED_FS_VIRTIO_FS || hv->shared_fs == CFG_SHARED_FS_VIRTIO_FS_NYDUS)
        check_binary(r, "virtiofsd", "virtio_fs_daemon", hv->virtio_fs_daemon,
                     "install virtiofsd (Debian: qemu-system-common)");
    check_file(r, "kernel", hv->kernel);
    if (hv->initrd[0])
        check_file(r, "initrd", hv->initrd);
    if (hv->image[0])
        check_file(r, "image", hv->image);
    if (hv->firmware[0])
        check_file(r, "firmware", hv->firmware);
    check_guest_fs(r, hv);
}

/* Keys the file sets that this runtime accepts but does not act on: the
 * same messages cfg_load() logged, as warnings a reader of the report sees. */
static void check_config_keys(struct report *r, const struct cfg *c)
{
    for (char *const *m = c->unimplemented; m && *m; m++)
        line(r, WARN, "config-key", "%s", *m);
}

static void check_shim(struct report *r)
{
    char path[4096];
    if (hostcheck_find_in_path("containerd-shim-kata-v2", path, sizeof(path)) == 0)
        line(r, OK, "shim", "%s", path);
    else {
        line(r, WARN, "shim", "containerd-shim-kata-v2 is not on PATH: containerd cannot start "
                              "io.containerd.kata.v2 tasks");
        remedy(r, "shim: make install (puts containerd-shim-kata-v2 in PREFIX/bin)");
    }
}

static void print_list(const char *title, char (*list)[NOTE_LEN], size_t n)
{
    if (!n)
        return;
    printf("%s\n", title);
    for (size_t i = 0; i < n; i++)
        printf("  - %s\n", list[i]);
}

static int verdict(struct report *r, const struct host_facts *h)
{
    if (r->fails) {
        printf("Verdict: this host cannot run Kata VMs with this configuration.\n");
        print_list("Blocking:", r->blockers, r->n_blockers);
        print_list("Fallbacks, once that is fixed:", r->fallbacks, r->n_fallbacks);
    } else if (r->n_fallbacks) {
        printf("Verdict: this host can run Kata VMs, with fallbacks.\n");
        print_list("Fallbacks:", r->fallbacks, r->n_fallbacks);
    } else {
        printf("Verdict: this host can run Kata VMs (accel %s, agent channel %s).\n",
               cfg_enum_name(CFG_ENUM_ACCEL, (int)h->accel), hostcheck_channel_name(h->channel));
    }
    print_list("Remedies:", r->remedies, r->n_remedies);
    if (r->fails)
        return EXIT_CANNOT_RUN;
    if (r->o->strict && r->warns) {
        printf("Strict mode: %d warning%s count as failure.\n", r->warns, r->warns == 1 ? "" : "s");
        return EXIT_STRICT_WARNINGS;
    }
    return EXIT_CAN_RUN;
}

int check_run(const struct conf *rc, const struct check_options *o)
{
    struct report r = {.o = o};
    struct host_facts h;
    const struct cfg *c = rc->cfg;
    host_facts_collect(c, &h);
    line(&r, OK, "config", "%s (%s, from %s)", rc->path,
         cfg_enum_name(CFG_ENUM_HV_KIND, (int)c->hv.kind), rc->source);
    check_config_keys(&r, c);
    check_cpu(&r, &h);
    check_kvm(&r, c, &h);
    check_vsock(&r, c, &h);
    if (!o->no_network_checks)
        check_network(&r, c, &h);
    check_host_kernel(&r);
    check_assets(&r, c);
    check_shim(&r);
    return verdict(&r, &h);
}
