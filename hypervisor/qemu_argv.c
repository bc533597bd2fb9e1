/* QEMU command line builder; see qemu_argv.h. Measured choices behind the
 * defaults are in docs/facts/guest-boot.md: -nodefaults -no-user-config
 * (no VGA, no e1000 option ROM), a PVH ELF kernel, cryptomgr.notests,
 * tsc_early_khz under TCG, ACPI PCI hotplug on pcie-root-ports (q35). */
#include "hypervisor/qemu_argv.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hypervisor/hv-internal.h"
#include "lib/err.h"
#include "lib/xalloc.h"

#define QEMU_MAX_VCPUS 288u
#define QEMU_MIN_MEMORY_MIB 64u
#define QEMU_MAX_ROOT_PORTS 16u
/* TCG's translation cache: QEMU 7.2 reserves up to 1 GiB and a booted guest
 * fills whatever it is given, so it is per-VM host memory. 16 MiB saves
 * ~19 MB against 32 for ~0.3 s more CPU per boot (docs/performance.md,
 * "Memory per VM"). */
#define QEMU_TCG_TB_SIZE_DEFAULT 16u
#define QEMU_TCG_TB_SIZE_MAX 4096u

enum machine { MACHINE_Q35, MACHINE_PC, MACHINE_MICROVM };

struct argv {
    char **v;
    size_t n, cap;
};

static void argv_push(struct argv *a, char *s)
{
    if (a->n + 2 > a->cap) {
        a->cap = a->cap ? a->cap * 2 : 64;
        a->v = xrealloc(a->v, a->cap * sizeof(*a->v));
    }
    a->v[a->n++] = s;
    a->v[a->n] = NULL;
}

static void argv_add(struct argv *a, const char *s)
{
    argv_push(a, xstrdup(s));
}

static void argv_addf(struct argv *a, const char *fmt, ...) _printf_(2, 3);
static void argv_addf(struct argv *a, const char *fmt, ...)
{
    va_list ap;
    char *s;
    va_start(ap, fmt);
    int r = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (r < 0)
        abort(); /* out of memory, as xmalloc */
    argv_push(a, s);
}

/* QEMU's option syntax: a ',' inside a value is written ',,'. The result is
 * valid until the next call with the same buffer slot. */
static const char *opt_escape(const char *s, char buf[static 1024])
{
    size_t o = 0;
    for (; *s && o < 1021; s++) {
        buf[o++] = *s;
        if (*s == ',')
            buf[o++] = ',';
    }
    buf[o] = '\0';
    return buf;
}

char **qemu_argv_free(char **argv)
{
    if (argv) {
        for (char **p = argv; *p; p++)
            free(*p);
        free(argv);
    }
    return NULL;
}

static int parse_machine(const char *name, enum machine *ret, struct err *e)
{
    if (!name || !*name || strcmp(name, "q35") == 0)
        *ret = MACHINE_Q35;
    else if (strcmp(name, "pc") == 0)
        *ret = MACHINE_PC;
    else if (strcmp(name, "microvm") == 0)
        *ret = MACHINE_MICROVM;
    else
        return err_set(e, -EINVAL, "machine_type \"%s\": unknown (q35, pc or microvm)", name);
    return 0;
}

static int check_config(const struct hv_config *cfg, const struct qemu_argv_choices *ch,
                        enum machine m, struct err *e)
{
    if (!cfg->path || !*cfg->path)
        return err_set(e, -EINVAL, "path: no QEMU binary configured");
    if (!cfg->kernel || !*cfg->kernel)
        return err_set(e, -EINVAL, "kernel: no guest kernel configured");
    if (cfg->vcpus > QEMU_MAX_VCPUS)
        return err_set(e, -EINVAL, "default_vcpus %u: above %u", cfg->vcpus, QEMU_MAX_VCPUS);
    if (cfg->max_vcpus && cfg->max_vcpus < cfg->vcpus)
        return err_set(e, -EINVAL, "default_maxvcpus %u: below default_vcpus %u",
                       cfg->max_vcpus, cfg->vcpus);
    if (cfg->max_vcpus > QEMU_MAX_VCPUS)
        return err_set(e, -EINVAL, "default_maxvcpus %u: above %u", cfg->max_vcpus,
                       QEMU_MAX_VCPUS);
    if (cfg->memory_mib && cfg->memory_mib < QEMU_MIN_MEMORY_MIB)
        return err_set(e, -EINVAL, "default_memory %u MiB: below %u MiB", cfg->memory_mib,
                       QEMU_MIN_MEMORY_MIB);
    if (cfg->max_memory_mib && cfg->memory_mib && cfg->max_memory_mib < cfg->memory_mib)
        return err_set(e, -EINVAL, "default_maxmemory %u MiB: below default_memory %u MiB",
                       cfg->max_memory_mib, cfg->memory_mib);
    if (m == MACHINE_MICROVM && cfg->max_memory_mib > cfg->memory_mib)
        return err_set(e, -EINVAL, "default_maxmemory: microvm has no memory hotplug");
    if (cfg->pcie_root_ports > QEMU_MAX_ROOT_PORTS)
        return err_set(e, -EINVAL, "pcie_root_port %u: above %u", cfg->pcie_root_ports,
                       QEMU_MAX_ROOT_PORTS);
    if (cfg->tcg_tb_size_mib > QEMU_TCG_TB_SIZE_MAX)
        return err_set(e, -EINVAL, "tcg_tb_size %u MiB: above %u", cfg->tcg_tb_size_mib,
                       QEMU_TCG_TB_SIZE_MAX);
    if (ch->accel != HV_ACCEL_KVM && ch->accel != HV_ACCEL_TCG)
        return err_set(e, -EINVAL, "accel: not resolved to kvm or tcg");
    if (ch->transport == HV_TRANSPORT_VSOCK) {
        if (ch->guest_cid < 3)
            return err_set(e, -EINVAL, "vsock guest CID %u: must be 3 or more", ch->guest_cid);
    } else if (ch->transport == HV_TRANSPORT_VIRTIO_SERIAL) {
        if (ch->agent_fd < 0 && (!ch->agent_path || !*ch->agent_path))
            return err_set(e, -EINVAL, "virtio-serial: no agent socket");
    } else {
        return err_set(e, -EINVAL, "transport: QEMU offers vsock or virtio-serial");
    }
    if (ch->qmp_fd < 0 && (!ch->qmp_path || !*ch->qmp_path))
        return err_set(e, -EINVAL, "no QMP socket");
    if (cfg->shared_fs == HV_SHARED_FS_VIRTIO_FS && (!ch->virtiofs_path || !*ch->virtiofs_path))
        return err_set(e, -EINVAL, "shared_fs virtio-fs: no virtiofsd socket");
    if (cfg->shared_fs == HV_SHARED_FS_VIRTIO_9P && (!cfg->shared_dir || !*cfg->shared_dir))
        return err_set(e, -EINVAL, "shared_fs virtio-9p: no shared directory");
    return 0;
}

int qemu_argv_kernel_params(const struct hv_config *cfg, const struct qemu_argv_choices *ch,
                            char **ret_params, struct err *e)
{
    enum machine m;
    int r = parse_machine(cfg->machine_type, &m, e);
    if (r < 0)
        return r;
    /* panic=1 with -no-reboot: a guest panic ends QEMU instead of hanging. */
    char tsc[32] = "";
    if (ch->accel == HV_ACCEL_TCG && ch->tsc_khz)
        snprintf(tsc, sizeof(tsc), " tsc_early_khz=%u", ch->tsc_khz);
    /* What Kata's runtime appends for [agent.kata] debug_console_enabled and
     * the container_pipe_size annotation (kata.md §2). */
    char console[64] = "", pipe[48] = "";
    if (cfg->debug_console)
        snprintf(console, sizeof(console), " agent.debug_console agent.debug_console_vport=%d",
                 HV_DEBUG_CONSOLE_VPORT);
    if (cfg->container_pipe_size)
        snprintf(pipe, sizeof(pipe), " agent.container_pipe_size=%u", cfg->container_pipe_size);
    char *s;
    /* The initrd carries virtio_balloon without loading it at boot
     * (packaging/guest/modules.list): only VMs given the device pay for it. */
    if (asprintf(&s, "console=ttyS0%s panic=1 cryptomgr.notests no_timer_check%s%s%s%s%s%s%s%s",
                 cfg->debug ? "" : " quiet", tsc,
                 cfg->image && !cfg->initrd ? " root=/dev/vda1 rootfstype=ext4 ro" : "",
                 cfg->debug ? " agent.log=debug" : "",
                 cfg->free_page_reporting ? " agent.kernel_modules=virtio_balloon" : "", console,
                 pipe, cfg->kernel_params && *cfg->kernel_params ? " " : "",
                 cfg->kernel_params ? cfg->kernel_params : "") < 0)
        abort();
    *ret_params = s;
    return 0;
}

/* Guest RAM gets an explicit backend only when something needs one:
 * vhost-user-fs needs it shared with virtiofsd (a memfd, share=on);
 * enable_hugepages takes it from the host's huge page pool (a hugetlb
 * memfd: the same pages Kata gets from a file on /dev/hugepages, without
 * depending on a hugetlbfs mount) and, as in Kata, preallocates it;
 * enable_mem_prealloc faults all of it in before the guest starts. */
static void add_memory_backend(struct argv *a, const struct hv_config *cfg, unsigned mem)
{
    bool shared = cfg->shared_fs == HV_SHARED_FS_VIRTIO_FS;
    bool prealloc = cfg->mem_prealloc || cfg->hugepages;
    if (!shared && !prealloc)
        return;
    argv_add(a, "-object");
    if (shared || cfg->hugepages)
        argv_addf(a, "memory-backend-memfd,id=mem0,size=%uM%s%s%s", mem, shared ? ",share=on" : "",
                  cfg->hugepages ? ",hugetlb=on" : "", prealloc ? ",prealloc=on" : "");
    else
        argv_addf(a, "memory-backend-ram,id=mem0,size=%uM,prealloc=on", mem);
    argv_add(a, "-numa");
    argv_add(a, "node,memdev=mem0");
}

static void add_machine(struct argv *a, const struct hv_config *cfg,
                        const struct qemu_argv_choices *ch, enum machine m)
{
    static const char *const names[] = {"q35", "pc", "microvm"};
    char buf[1024];
    argv_add(a, "-name");
    argv_addf(a, "sandbox-%s", opt_escape(ch->name ? ch->name : "vm", buf));
    argv_add(a, "-machine");
    argv_addf(a, "%s", names[m]);
    argv_add(a, "-accel");
    if (ch->accel == HV_ACCEL_KVM)
        argv_add(a, "kvm");
    else
        argv_addf(a, "tcg,tb-size=%u",
                  cfg->tcg_tb_size_mib ? cfg->tcg_tb_size_mib : QEMU_TCG_TB_SIZE_DEFAULT);
    argv_add(a, "-cpu");
    argv_add(a, cfg->cpu_model && *cfg->cpu_model ? cfg->cpu_model
                : ch->accel == HV_ACCEL_KVM   ? "host"
                                              : "max");
    unsigned vcpus = cfg->vcpus ? cfg->vcpus : 1;
    unsigned maxv = cfg->max_vcpus ? cfg->max_vcpus : vcpus;
    argv_add(a, "-smp");
    argv_addf(a, "%u,cores=1,threads=1,sockets=%u,maxcpus=%u", vcpus, maxv, maxv);
    unsigned mem = cfg->memory_mib ? cfg->memory_mib : 2048;
    argv_add(a, "-m");
    if (cfg->max_memory_mib > mem && m != MACHINE_MICROVM)
        argv_addf(a, "%uM,slots=%u,maxmem=%uM", mem, cfg->memory_slots ? cfg->memory_slots : 1,
                  cfg->max_memory_mib);
    else
        argv_addf(a, "%uM", mem);
    add_memory_backend(a, cfg, mem);
}

static void add_common(struct argv *a, const struct qemu_argv_choices *ch)
{
    char buf[1024];
    argv_add(a, "-nodefaults");
    argv_add(a, "-no-user-config");
    argv_add(a, "-display");
    argv_add(a, "none");
    argv_add(a, "-no-reboot");
    argv_add(a, "-chardev");
    if (ch->qmp_fd >= 0)
        argv_addf(a, "socket,id=qmp0,fd=%d,server=on,wait=off", ch->qmp_fd);
    else
        argv_addf(a, "socket,id=qmp0,path=%s,server=on,wait=off", opt_escape(ch->qmp_path, buf));
    argv_add(a, "-mon");
    argv_add(a, "chardev=qmp0,mode=control");
    if (ch->console_path) {
        argv_add(a, "-chardev");
        argv_addf(a, "file,id=console0,path=%s", opt_escape(ch->console_path, buf));
        argv_add(a, "-serial");
        argv_add(a, "chardev:console0");
    }
}

static void add_devices(struct argv *a, const struct hv_config *cfg,
                        const struct qemu_argv_choices *ch, enum machine m)
{
    char buf[1024];
    /* Device names differ between PCI machines and microvm's virtio-mmio. */
    const char *bus = m == MACHINE_MICROVM ? "device" : "pci";
    if (m == MACHINE_Q35) {
        for (unsigned i = 1; i <= cfg->pcie_root_ports; i++) {
            argv_add(a, "-device");
            argv_addf(a, "pcie-root-port,id=rp%u,bus=pcie.0,chassis=%u,slot=%u", i, i, i);
        }
    }
    /* entropy_source; unset is /dev/urandom, Kata's default and QEMU's. */
    argv_add(a, "-object");
    argv_addf(a, "rng-random,id=rng0,filename=%s",
              opt_escape(cfg->entropy_source && *cfg->entropy_source ? cfg->entropy_source
                                                                     : "/dev/urandom",
                         buf));
    argv_add(a, "-device");
    argv_addf(a, "virtio-rng-%s,rng=rng0", bus);
    /* Free page reporting: the guest hands back pages it freed (2 MiB
     * blocks), QEMU punches them out of the memfd. No inflation target is
     * ever set, so the balloon itself stays empty. */
    if (cfg->free_page_reporting) {
        argv_add(a, "-device");
        argv_addf(a, "virtio-balloon-%s,id=balloon0,free-page-reporting=on", bus);
    }
    if (ch->transport == HV_TRANSPORT_VSOCK) {
        argv_add(a, "-device");
        if (ch->vhost_fd >= 0)
            argv_addf(a, "vhost-vsock-%s,id=vsock0,guest-cid=%u,vhostfd=%d", bus, ch->guest_cid,
                      ch->vhost_fd);
        else
            argv_addf(a, "vhost-vsock-%s,id=vsock0,guest-cid=%u", bus, ch->guest_cid);
    } else {
        argv_add(a, "-device");
        argv_addf(a, "virtio-serial-%s,id=vser0", bus);
        argv_add(a, "-chardev");
        if (ch->agent_fd >= 0)
            argv_addf(a, "socket,id=agent0,fd=%d,server=on,wait=off", ch->agent_fd);
        else
            argv_addf(a, "socket,id=agent0,path=%s,server=on,wait=off",
                      opt_escape(ch->agent_path, buf));
        argv_add(a, "-device");
        argv_add(a, "virtserialport,bus=vser0.0,chardev=agent0,name=" HV_AGENT_SERIAL_NAME);
    }
    if (cfg->shared_fs == HV_SHARED_FS_VIRTIO_FS) {
        argv_add(a, "-chardev");
        argv_addf(a, "socket,id=vfs0,path=%s", opt_escape(ch->virtiofs_path, buf));
        argv_add(a, "-device");
        argv_addf(a, "vhost-user-fs-%s,chardev=vfs0,tag=" HV_SHARED_TAG ",queue-size=1024", bus);
    } else if (cfg->shared_fs == HV_SHARED_FS_VIRTIO_9P) {
        argv_add(a, "-fsdev");
        argv_addf(a, "local,id=fs9p0,path=%s,security_model=none,multidevs=remap",
                  opt_escape(cfg->shared_dir, buf));
        argv_add(a, "-device");
        argv_addf(a, "virtio-9p-%s,fsdev=fs9p0,mount_tag=" HV_SHARED_TAG, bus);
    }
    if (cfg->image && *cfg->image) {
        argv_add(a, "-blockdev");
        argv_addf(a, "driver=raw,node-name=image0,read-only=on,file.driver=file,file.filename=%s",
                  opt_escape(cfg->image, buf));
        argv_add(a, "-device");
        argv_addf(a, "virtio-blk-%s,drive=image0,id=image0-dev", bus);
    }
}

int qemu_argv_build(const struct hv_config *cfg, const struct qemu_argv_choices *ch,
                    char ***ret_argv, struct err *e)
{
    enum machine m;
    int r = parse_machine(cfg->machine_type, &m, e);
    if (r < 0)
        return r;
    r = check_config(cfg, ch, m, e);
    if (r < 0)
        return r;

    struct argv a = {0};
    argv_add(&a, cfg->path);
    add_machine(&a, cfg, ch, m);
    add_common(&a, ch);
    add_devices(&a, cfg, ch, m);
    if (cfg->firmware && *cfg->firmware) {
        argv_add(&a, "-bios");
        argv_add(&a, cfg->firmware);
    }
    argv_add(&a, "-kernel");
    argv_add(&a, cfg->kernel);
    if (cfg->initrd && *cfg->initrd) {
        argv_add(&a, "-initrd");
        argv_add(&a, cfg->initrd);
    }
    char *params = NULL;
    r = qemu_argv_kernel_params(cfg, ch, &params, e);
    if (r < 0) {
        qemu_argv_free(a.v);
        return r;
    }
    argv_add(&a, "-append");
    argv_push(&a, params);
    *ret_argv = a.v;
    return 0;
}
