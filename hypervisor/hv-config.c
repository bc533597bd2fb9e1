/* struct cfg -> struct hv_config; see hv-config.h. */
#include "hypervisor/hv-config.h"

#include <errno.h>
#include <unistd.h>

#include "config/cfg.h"
#include "lib/err.h"

static const char *opt(const char *s)
{
    return s && s[0] ? s : NULL;
}

static unsigned host_cpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 && n < 4096 ? (unsigned)n : 1;
}

static int kind_of(enum cfg_hv_kind kind, enum hv_kind *ret)
{
    switch (kind) {
    case CFG_HV_QEMU:
        *ret = HV_KIND_QEMU;
        return 0;
    case CFG_HV_CLH:
        *ret = HV_KIND_CLH;
        return 0;
    case CFG_HV_MOCK:
        *ret = HV_KIND_MOCK;
        return 0;
    case _CFG_HV_MAX:
        break;
    }
    return -EINVAL;
}

static enum hv_shared_fs shared_fs_of(enum cfg_shared_fs fs)
{
    switch (fs) {
    case CFG_SHARED_FS_VIRTIO_FS:
    case CFG_SHARED_FS_VIRTIO_FS_NYDUS:
        return HV_SHARED_FS_VIRTIO_FS;
    case CFG_SHARED_FS_VIRTIO_9P:
        return HV_SHARED_FS_VIRTIO_9P;
    case CFG_SHARED_FS_NONE:
        break;
    }
    return HV_SHARED_FS_NONE;
}

static enum hv_transport transport_of(enum hv_kind kind, enum cfg_transport t)
{
    /* Cloud Hypervisor has one channel, its hybrid vsock (validation refuses
     * virtio-serial for it); the mock has none (a unix socket). */
    if (kind == HV_KIND_CLH)
        return HV_TRANSPORT_HYBRID_VSOCK;
    switch (t) {
    case CFG_TRANSPORT_VSOCK:
        return HV_TRANSPORT_VSOCK;
    case CFG_TRANSPORT_VIRTIO_SERIAL:
        return HV_TRANSPORT_VIRTIO_SERIAL;
    case CFG_TRANSPORT_AUTO:
        break;
    }
    return HV_TRANSPORT_AUTO;
}

int hv_config_from_cfg(const struct cfg *c, const char *shared_dir, struct hv_config *ret,
                       struct err *e)
{
    const struct cfg_hypervisor *h = &c->hv;
    struct hv_config hc = {0};
    if (kind_of(h->kind, &hc.kind) < 0)
        return err_set(e, -EINVAL, "%s: unknown hypervisor kind %d", c->file, (int)h->kind);

    hc.path = opt(h->path);
    hc.kernel = opt(h->kernel);
    hc.initrd = opt(h->initrd);
    hc.image = opt(h->image);
    hc.firmware = opt(h->firmware);
    hc.machine_type = cfg_enum_name(CFG_ENUM_MACHINE, (int)h->machine_type);
    hc.kernel_params = opt(h->kernel_params);
    hc.accel = h->accel == CFG_ACCEL_KVM   ? HV_ACCEL_KVM
               : h->accel == CFG_ACCEL_TCG ? HV_ACCEL_TCG
                                           : HV_ACCEL_AUTO;
    /* As upstream: a negative default_vcpus or a zero (or too large)
     * default_maxvcpus means the host's CPU count. */
    unsigned cpus = host_cpus();
    hc.vcpus = h->default_vcpus < 0 ? cpus : (unsigned)h->default_vcpus;
    hc.max_vcpus = h->default_maxvcpus <= 0 || (unsigned)h->default_maxvcpus > cpus
                       ? cpus
                       : (unsigned)h->default_maxvcpus;
    if (hc.max_vcpus < hc.vcpus)
        hc.max_vcpus = hc.vcpus;
    hc.memory_mib = h->default_memory > 0 ? (unsigned)h->default_memory : 0;
    hc.memory_slots = h->memory_slots > 0 ? (unsigned)h->memory_slots : 0;
    /* 0 keeps memory hotplug off (upstream reads it as "host RAM"). */
    hc.max_memory_mib = h->default_maxmemory > h->default_memory ? (unsigned)h->default_maxmemory
                                                                  : 0;
    hc.pcie_root_ports = h->pcie_root_port > 0 ? (unsigned)h->pcie_root_port : 0;
    hc.transport = transport_of(hc.kind, c->agent.transport);
    hc.shared_fs = hc.kind == HV_KIND_MOCK ? HV_SHARED_FS_NONE : shared_fs_of(h->shared_fs);
    hc.shared_dir = hc.shared_fs == HV_SHARED_FS_NONE ? NULL : shared_dir;
    hc.virtiofsd_path = opt(h->virtio_fs_daemon);
    hc.virtiofsd_cache = cfg_enum_name(CFG_ENUM_VIRTIO_FS_CACHE, (int)h->virtio_fs_cache);
    hc.virtiofsd_extra_args =
        h->virtio_fs_extra_args[0] ? (const char *const *)h->virtio_fs_extra_args : NULL;
    hc.msize_9p = h->msize_9p > 0 ? (unsigned)h->msize_9p : 0;
    hc.tcg_tb_size_mib = h->tcg_tb_size > 0 ? (unsigned)h->tcg_tb_size : 0;
    hc.entropy_source = opt(h->entropy_source);
    hc.mem_prealloc = h->enable_mem_prealloc || h->enable_hugepages;
    hc.hugepages = h->enable_hugepages;
    hc.free_page_reporting = h->reclaim_guest_freed_memory;
    hc.release_kernel_pages = h->release_kernel_file_pages;
    hc.debug = h->enable_debug || c->agent.enable_debug;
    hc.debug_console = c->agent.debug_console_enabled;
    hc.container_pipe_size =
        c->agent.container_pipe_size > 0 ? (unsigned)c->agent.container_pipe_size : 0;
    *ret = hc;
    return 0;
}
