/* The schema: every key of the Kata configuration this runtime reads, with
 * its type, default and the comment the generated files carry. Key names
 * and defaults follow upstream's configuration-{qemu,clh}.toml except where
 * a comment says otherwise (paths of this project's guest assets and of
 * Debian's virtiofsd). */
#include "config/cfg-internal.h"

#include <string.h>

static const char *const hv_kind_names[] = {"qemu", "clh", "mock", NULL};
static const char *const accel_names[] = {"auto", "kvm", "tcg", NULL};
static const char *const machine_names[] = {"q35", "pc", "microvm", NULL};
static const char *const rootfs_names[] = {"ext4", "xfs", "erofs", NULL};
static const char *const shared_fs_names[] = {"virtio-fs", "virtio-fs-nydus", "virtio-9p", "none",
                                              NULL};
static const char *const cache_names[] = {"never", "metadata", "auto", "always", NULL};
static const char *const block_names[] = {"virtio-scsi", "virtio-blk", "nvdimm", NULL};
static const char *const aio_names[] = {"threads", "native", "io_uring", NULL};
static const char *const vfio_port_names[] = {"no-port", "bridge-port", "root-port", "switch-port",
                                              NULL};
static const char *const transport_names[] = {"auto", "vsock", "virtio-serial", NULL};
static const char *const netmodel_names[] = {"tcfilter", "macvtap", "none", NULL};
static const char *const vfio_mode_names[] = {"guest-kernel", "vfio", NULL};
static const char *const emptydir_names[] = {"shared-fs", "block-encrypted", "block-plain", NULL};

static const char *const *const enum_names[_CFG_ENUM_MAX] = {
    [CFG_ENUM_HV_KIND] = hv_kind_names,
    [CFG_ENUM_ACCEL] = accel_names,
    [CFG_ENUM_MACHINE] = machine_names,
    [CFG_ENUM_ROOTFS] = rootfs_names,
    [CFG_ENUM_SHARED_FS] = shared_fs_names,
    [CFG_ENUM_VIRTIO_FS_CACHE] = cache_names,
    [CFG_ENUM_BLOCK_DRIVER] = block_names,
    [CFG_ENUM_BLOCK_AIO] = aio_names,
    [CFG_ENUM_VFIO_PORT] = vfio_port_names,
    [CFG_ENUM_TRANSPORT] = transport_names,
    [CFG_ENUM_NETMODEL] = netmodel_names,
    [CFG_ENUM_VFIO_MODE] = vfio_mode_names,
    [CFG_ENUM_EMPTYDIR_MODE] = emptydir_names,
};

const char *cfg_enum_name(enum cfg_enum_kind kind, int value)
{
    if ((unsigned)kind >= _CFG_ENUM_MAX || value < 0)
        return "?";
    const char *const *names = enum_names[kind];
    for (int i = 0; names[i]; i++)
        if (i == value)
            return names[i];
    return "?";
}

int cfg_enum_value(enum cfg_enum_kind kind, const char *name, int *ret_value)
{
    if ((unsigned)kind >= _CFG_ENUM_MAX || !name)
        return -EINVAL;
    const char *const *names = enum_names[kind];
    for (int i = 0; names[i]; i++)
        if (strcmp(names[i], name) == 0) {
            *ret_value = i;
            return 0;
        }
    return -EINVAL;
}

#define HV(f) offsetof(struct cfg, hv.f)
#define AG(f) offsetof(struct cfg, agent.f)
#define RT(f) offsetof(struct cfg, runtime.f)
#define FA(f) offsetof(struct cfg, factory.f)

#define KEY_BOOL(sec, nm, off, dflt, shw, text, ...)                                               \
    {.section = (sec), .name = (nm), .type = CFG_T_BOOL, .offset = (off), .show = (shw),           \
     .def.b = (dflt), .doc = (text), __VA_ARGS__}
#define KEY_INT(sec, nm, off, dflt, lo, hi, shw, text, ...)                                        \
    {.section = (sec), .name = (nm), .type = CFG_T_INT, .offset = (off), .show = (shw),            \
     .min = (lo), .max = (hi), .def.i = (dflt), .doc = (text), __VA_ARGS__}
#define KEY_STR(sec, nm, off, dflt, shw, text, ...)                                                \
    {.section = (sec), .name = (nm), .type = CFG_T_STRING, .offset = (off), .show = (shw),         \
     .def.s = (dflt), .doc = (text), __VA_ARGS__}
#define KEY_PATH(sec, nm, off, dflt, shw, text, ...)                                               \
    {.section = (sec), .name = (nm), .type = CFG_T_PATH, .offset = (off), .show = (shw),           \
     .def.s = (dflt), .doc = (text), __VA_ARGS__}
#define KEY_ENUM(sec, nm, off, kind, dflt, shw, text, ...)                                         \
    {.section = (sec), .name = (nm), .type = CFG_T_ENUM, .offset = (off), .show = (shw),           \
     .enum_kind = (kind), .def.i = (dflt), .doc = (text), __VA_ARGS__}
#define KEY_STRV(sec, nm, off, dflt, shw, text, ...)                                               \
    {.section = (sec), .name = (nm), .type = CFG_T_STRV, .offset = (off), .show = (shw),           \
     .def.v = (dflt), .doc = (text), __VA_ARGS__}
/* Upstream keys we accept and ignore, so an existing file loads quietly. */
#define KEY_COMPAT(sec, nm, t)                                                                     \
    {.section = (sec), .name = (nm), .type = (t), .offset = CFG_NO_FIELD, .min = INT64_MIN,        \
     .max = INT64_MAX}

#define S_HV CFG_SEC_HYPERVISOR
#define S_AG CFG_SEC_AGENT
#define S_RT CFG_SEC_RUNTIME
#define S_FA CFG_SEC_FACTORY
#define ALL CFG_SHOW_ALL
#define QEMU CFG_SHOW_QEMU
/* Keys accepted for upstream files but not acted on (for these
 * hypervisors): setting one to a non-default value logs a warning. */
#define NOOP_ALL .noop = CFG_SHOW_ALL | (1u << CFG_HV_MOCK)
#define NOOP_CLH .noop = CFG_SHOW_CLH

#define GUEST_DIR "/usr/share/kata-containers"
#define QEMU_PATH "/usr/bin/qemu-system-x86_64"
#define CLH_PATH "/usr/bin/cloud-hypervisor"
/* Debian 12 ships QEMU's C virtiofsd here; upstream's Rust one lives in /usr/libexec. */
#define VIRTIOFSD_PATH "/usr/lib/qemu/virtiofsd"

static const char *const def_annotations[] = {"enable_iommu", "kernel_params",
                                              "kernel_verity_params", NULL};
static const char *const def_qemu_paths[] = {QEMU_PATH, NULL};
static const char *const def_clh_paths[] = {CLH_PATH, NULL};
static const char *const def_virtiofsd_paths[] = {VIRTIOFSD_PATH, "/usr/libexec/virtiofsd", NULL};
static const char *const def_entropy_sources[] = {"/dev/urandom", "/dev/random", "", NULL};
/* The C virtiofsd spells announce-submounts as an -o option. */
static const char *const def_virtiofs_args[] = {"--thread-pool-size=1", "-o", "announce_submounts",
                                                NULL};

const struct cfg_key cfg_schema[] = {
    /* [hypervisor.*]: what to boot and with which devices. */
    KEY_PATH(S_HV, "path", HV(path), QEMU_PATH, ALL,
             "The hypervisor (VMM) binary. It must match one of valid_hypervisor_paths\n"
             "when that list is not empty.",
             .has_clh_def = true, .clh_def.s = CLH_PATH),
    KEY_PATH(S_HV, "kernel", HV(kernel), GUEST_DIR "/vmlinuz.container", ALL,
             "Guest kernel booted by the hypervisor."),
    KEY_PATH(S_HV, "initrd", HV(initrd), GUEST_DIR "/kata-containers-initrd.img", ALL,
             "Guest initramfs holding the agent as /init. Set either initrd or image,\n"
             "not both. This project ships an initrd."),
    KEY_PATH(S_HV, "image", HV(image), "", ALL,
             "Guest root filesystem image (a disk image), the alternative to initrd."),
    KEY_ENUM(S_HV, "machine_type", HV(machine_type), CFG_ENUM_MACHINE, CFG_MACHINE_Q35, QEMU,
             "QEMU machine: \"q35\" (PCIe, hotplug), \"pc\" or \"microvm\" (fastest boot,\n"
             "no hotplug)."),
    KEY_ENUM(S_HV, "rootfs_type", HV(rootfs_type), CFG_ENUM_ROOTFS, CFG_ROOTFS_EXT4, ALL,
             "Filesystem of the guest image when image is used: \"ext4\", \"xfs\" or \"erofs\".",
             NOOP_ALL),
    KEY_ENUM(S_HV, "accel", HV(accel), CFG_ENUM_ACCEL, CFG_ACCEL_AUTO, ALL,
             "How guest code runs (not an upstream key). \"auto\" first proves that KVM can\n"
             "run a 64-bit guest at native speed and falls back to \"tcg\" (emulation, slow)\n"
             "otherwise; \"kvm\" and \"tcg\" force one. Cloud Hypervisor needs KVM."),
    KEY_INT(S_HV, "tcg_tb_size", HV(tcg_tb_size), 16, 1, 4096, QEMU,
            "MiB of host memory for QEMU's cache of translated guest code when the\n"
            "guest runs under TCG (not an upstream key; unused with KVM). Each VM\n"
            "fills all of it. Against 32, 16 saves ~19 MB per VM for ~0.3 s more\n"
            "CPU per boot; 8 saves 9 MB more for ~0.9 s; below that boot slows down\n"
            "sharply (docs/performance.md, \"Memory per VM\")."),
    KEY_STR(S_HV, "kernel_params", HV(kernel_params),
            "cgroup_no_v1=all systemd.unified_cgroup_hierarchy=1", ALL,
            "Extra guest kernel command line, appended after the runtime's own\n"
            "parameters, so a value given here wins over the built-in one."),
    KEY_PATH(S_HV, "firmware", HV(firmware), "", ALL,
             "Firmware image; empty means the hypervisor's default."),
    KEY_PATH(S_HV, "firmware_volume", HV(firmware_volume), "", QEMU,
             "Firmware variables volume (UEFI split firmware); usually empty.", NOOP_ALL),
    KEY_STR(S_HV, "machine_accelerators", HV(machine_accelerators), "", QEMU,
            "Comma-separated extra options for QEMU's -machine.", NOOP_ALL),
    KEY_STR(S_HV, "cpu_features", HV(cpu_features), "pmu=off", QEMU,
            "Comma-separated CPU features appended to the guest CPU model.", NOOP_ALL),
    KEY_INT(S_HV, "default_vcpus", HV(default_vcpus), 1, 1, 288, ALL,
            "vCPUs the VM boots with (1 to 288). Containers with CPU limits add more\n"
            "through hotplug unless static_sandbox_resource_mgmt is set."),
    KEY_INT(S_HV, "default_maxvcpus", HV(default_maxvcpus), 0, 0, 288, ALL,
            "Upper bound for vCPU hotplug; 0 means the number of host CPUs. Larger\n"
            "values cost guest memory even when unused."),
    KEY_INT(S_HV, "default_memory", HV(default_memory), 2048, 64, 4194304, ALL,
            "Guest RAM at boot, in MiB (at least 64)."),
    KEY_INT(S_HV, "memory_slots", HV(memory_slots), 10, 0, 256, ALL,
            "How many times memory can be hot-added to a VM."),
    KEY_INT(S_HV, "default_maxmemory", HV(default_maxmemory), 0, 0, 4194304, ALL,
            "Upper bound for memory hotplug in MiB; 0 means the host's RAM."),
    KEY_INT(S_HV, "memory_offset", HV(memory_offset), 0, 0, 4194304, QEMU,
            "MiB added to the maximum memory to leave room for NVDIMM devices.", NOOP_ALL),
    KEY_INT(S_HV, "default_bridges", HV(default_bridges), 1, 0, 5, QEMU,
            "PCI bridges created for hotplug (0 to 5, 30 devices each).", NOOP_ALL),
    KEY_BOOL(S_HV, "reclaim_guest_freed_memory", HV(reclaim_guest_freed_memory), false, QEMU,
             "Give the guest a virtio-balloon device with free page reporting, so that\n"
             "memory the guest frees (in 2 MiB blocks) goes back to the host. The\n"
             "driver asks the agent to load virtio_balloon from the initrd with\n"
             "agent.kernel_modules=virtio_balloon; an agent.kernel_modules given in\n"
             "kernel_params replaces that list, so name virtio_balloon there too."),
    KEY_BOOL(S_HV, "release_kernel_file_pages", HV(release_kernel_file_pages), true, QEMU,
             "Once the VM runs, page out QEMU's mapping of the kernel file (not an\n"
             "upstream key). QEMU keeps it only to reload the kernel on a VM reset,\n"
             "which pod VMs never do; for a VM alone on the host it is ~50 MB of its\n"
             "PSS. Pages another VM still maps are left. Costs a read of the kernel\n"
             "file at the next VM start when no VM maps it any more (docs/performance.md,\n"
             "\"Memory per VM\"). Needs Linux 5.10 (process_madvise); skipped if absent."),
    KEY_BOOL(S_HV, "enable_virtio_mem", HV(enable_virtio_mem), false, QEMU,
             "Resize guest memory with virtio-mem instead of DIMM hotplug.", NOOP_ALL),
    KEY_BOOL(S_HV, "disable_block_device_use", HV(disable_block_device_use), true, ALL,
             "Never hand a block-device-backed container rootfs to the VM as a disk;\n"
             "share it as files instead.", NOOP_ALL),
    KEY_ENUM(S_HV, "shared_fs", HV(shared_fs), CFG_ENUM_SHARED_FS, CFG_SHARED_FS_VIRTIO_FS, ALL,
             "How container files reach the guest: \"virtio-fs\" (needs virtiofsd),\n"
             "\"virtio-fs-nydus\", \"virtio-9p\" (QEMU only; the guest kernel needs 9p) or\n"
             "\"none\" (files are copied)."),
    KEY_PATH(S_HV, "virtio_fs_daemon", HV(virtio_fs_daemon), VIRTIOFSD_PATH, ALL,
             "The virtiofsd binary; it must match valid_virtio_fs_daemon_paths when\n"
             "that list is not empty."),
    KEY_STRV(S_HV, "virtio_fs_extra_args", HV(virtio_fs_extra_args), def_virtiofs_args, ALL,
             "Extra arguments for virtiofsd, one list item per argument."),
    KEY_ENUM(S_HV, "virtio_fs_cache", HV(virtio_fs_cache), CFG_ENUM_VIRTIO_FS_CACHE,
             CFG_VIRTIO_FS_CACHE_AUTO, ALL,
             "Guest caching of shared files: \"never\" (always ask the host),\n"
             "\"metadata\", \"auto\" (attributes expire, data kept while a file is open)\n"
             "or \"always\"."),
    KEY_INT(S_HV, "virtio_fs_cache_size", HV(virtio_fs_cache_size), 0, 0, 1048576, ALL,
            "DAX window in MiB for virtio-fs; 0 turns DAX off.", NOOP_ALL),
    KEY_INT(S_HV, "virtio_fs_queue_size", HV(virtio_fs_queue_size), 1024, 1, 1024, ALL,
            "Entries in each virtio-fs request queue.", NOOP_ALL),
    KEY_INT(S_HV, "msize_9p", HV(msize_9p), 8192, 4096, 1048576, QEMU,
            "Largest 9p message in bytes, when shared_fs is virtio-9p."),
    KEY_ENUM(S_HV, "block_device_driver", HV(block_device_driver), CFG_ENUM_BLOCK_DRIVER,
             CFG_BLOCK_VIRTIO_SCSI, ALL,
             "Bus for disks given to the guest: \"virtio-scsi\", \"virtio-blk\" or\n"
             "\"nvdimm\". Cloud Hypervisor supports only virtio-blk.",
             .has_clh_def = true, .clh_def.i = CFG_BLOCK_VIRTIO_BLK, NOOP_ALL),
    KEY_ENUM(S_HV, "block_device_aio", HV(block_device_aio), CFG_ENUM_BLOCK_AIO, CFG_AIO_IO_URING,
             QEMU, "Host I/O method for disks: \"threads\", \"native\" or \"io_uring\".", NOOP_ALL),
    KEY_BOOL(S_HV, "block_device_cache_set", HV(block_device_cache_set), false, ALL,
             "Pass the two cache options below to the hypervisor at all.", NOOP_ALL),
    KEY_BOOL(S_HV, "block_device_cache_direct", HV(block_device_cache_direct), false, ALL,
             "Open disks with O_DIRECT, bypassing the host page cache.", NOOP_ALL),
    KEY_BOOL(S_HV, "block_device_cache_noflush", HV(block_device_cache_noflush), false, QEMU,
             "Ignore flush requests from the guest (fast, unsafe on host crash).", NOOP_ALL),
    KEY_BOOL(S_HV, "enable_iothreads", HV(enable_iothreads), false, QEMU,
             "Serve virtio-scsi from a separate I/O thread.", NOOP_ALL),
    KEY_INT(S_HV, "indep_iothreads", HV(indep_iothreads), 0, 0, 64, QEMU,
            "Independent I/O threads created at boot for later disks.", NOOP_ALL),
    KEY_BOOL(S_HV, "enable_mem_prealloc", HV(enable_mem_prealloc), false, QEMU,
             "Allocate all guest RAM when the VM starts (prealloc=on on its memory\n"
             "backend): steadier latency, fewer VMs per host, slower boot.",
             NOOP_CLH),
    KEY_BOOL(S_HV, "enable_hugepages", HV(enable_hugepages), false, ALL,
             "Back guest RAM with huge pages (a hugetlb memfd of the host's default\n"
             "huge page size; implies preallocation). The host must have that many\n"
             "free huge pages (vm.nr_hugepages), or QEMU fails to start.",
             NOOP_CLH),
    KEY_BOOL(S_HV, "enable_iommu", HV(enable_iommu), false, ALL,
             "Give the guest a virtual IOMMU (adds intel_iommu=on iommu=pt).", NOOP_ALL),
    KEY_BOOL(S_HV, "enable_iommu_platform", HV(enable_iommu_platform), false, QEMU,
             "Set iommu_platform=on on virtio devices.", NOOP_ALL),
    KEY_BOOL(S_HV, "disable_image_nvdimm", HV(disable_image_nvdimm), false, ALL,
             "Attach the guest image as virtio-blk rather than as an NVDIMM.",
             .has_clh_def = true, .clh_def.b = true, NOOP_ALL),
    KEY_ENUM(S_HV, "hot_plug_vfio", HV(hot_plug_vfio), CFG_ENUM_VFIO_PORT, CFG_VFIO_NO_PORT, ALL,
             "Where hot-plugged VFIO devices go: \"no-port\" (disabled),\n"
             "\"bridge-port\", \"root-port\" or \"switch-port\".", NOOP_ALL),
    KEY_ENUM(S_HV, "cold_plug_vfio", HV(cold_plug_vfio), CFG_ENUM_VFIO_PORT, CFG_VFIO_NO_PORT,
             QEMU, "Same choice for VFIO devices attached before boot.", NOOP_ALL),
    KEY_INT(S_HV, "pcie_root_port", HV(pcie_root_port), 0, 0, 16, QEMU,
            "PCIe root ports created at boot for hotplug (0 to 16)."),
    KEY_BOOL(S_HV, "disable_vhost_net", HV(disable_vhost_net), false, QEMU,
             "Do not use the in-kernel vhost-net backend for guest networking.", NOOP_ALL),
    KEY_PATH(S_HV, "entropy_source", HV(entropy_source), "/dev/urandom", ALL,
             "Host file feeding the guest's virtio-rng device; it must match\n"
             "valid_entropy_sources. Empty leaves QEMU's default (/dev/urandom)."),
    KEY_BOOL(S_HV, "enable_debug", HV(enable_debug), false, ALL,
             "Verbose hypervisor and guest kernel output."),
    KEY_PATH(S_HV, "guest_hook_path", HV(guest_hook_path), "", ALL,
             "Folder inside the guest holding OCI hooks (prestart/, poststart/,\n"
             "poststop/) that the agent runs; empty means none.", NOOP_ALL),
    KEY_BOOL(S_HV, "disable_guest_selinux", HV(disable_guest_selinux), true, ALL,
             "Boot the guest with selinux=0.", NOOP_ALL),
    KEY_BOOL(S_HV, "use_legacy_serial", HV(use_legacy_serial), false, QEMU,
             "Use a legacy serial port (ttyS0) for the guest console.", NOOP_ALL),
    KEY_STRV(S_HV, "enable_annotations", HV(enable_annotations), def_annotations, ALL,
             "Pod annotations io.katacontainers.config.hypervisor.<name> that may\n"
             "override this section. Each item is a regular expression that must match\n"
             "the whole <name>; any other hypervisor annotation fails pod creation."),
    KEY_STRV(S_HV, "valid_hypervisor_paths", HV(valid_hypervisor_paths), def_qemu_paths, ALL,
             "Glob patterns (fnmatch) that path must match, from this file or from\n"
             "an annotation. An annotation is refused when the list is empty.",
             .has_clh_def = true, .clh_def.v = def_clh_paths),
    KEY_STRV(S_HV, "valid_virtio_fs_daemon_paths", HV(valid_virtio_fs_daemon_paths),
             def_virtiofsd_paths, ALL, "The same allow-list for virtio_fs_daemon."),
    KEY_STRV(S_HV, "valid_entropy_sources", HV(valid_entropy_sources), def_entropy_sources, QEMU,
             "The same allow-list for entropy_source."),
    KEY_COMPAT(S_HV, "confidential_guest", CFG_T_BOOL),
    KEY_COMPAT(S_HV, "sev_snp_guest", CFG_T_BOOL),
    KEY_COMPAT(S_HV, "rootless", CFG_T_BOOL),
    KEY_COMPAT(S_HV, "seccompsandbox", CFG_T_STRING),
    KEY_COMPAT(S_HV, "enable_vhost_user_store", CFG_T_BOOL),
    KEY_COMPAT(S_HV, "vhost_user_store_path", CFG_T_STRING),
    KEY_COMPAT(S_HV, "valid_vhost_user_store_paths", CFG_T_STRV),
    KEY_COMPAT(S_HV, "vhost_user_reconnect_timeout_sec", CFG_T_INT),
    KEY_COMPAT(S_HV, "file_mem_backend", CFG_T_STRING),
    KEY_COMPAT(S_HV, "valid_file_mem_backends", CFG_T_STRV),
    KEY_COMPAT(S_HV, "pflashes", CFG_T_STRV),
    KEY_COMPAT(S_HV, "extra_monitor_socket", CFG_T_STRING),
    KEY_COMPAT(S_HV, "disable_nesting_checks", CFG_T_BOOL),
    KEY_COMPAT(S_HV, "rx_rate_limiter_max_rate", CFG_T_INT),
    KEY_COMPAT(S_HV, "tx_rate_limiter_max_rate", CFG_T_INT),
    KEY_COMPAT(S_HV, "guest_memory_dump_path", CFG_T_STRING),
    KEY_COMPAT(S_HV, "guest_memory_dump_paging", CFG_T_BOOL),
    KEY_COMPAT(S_HV, "enable_guest_swap", CFG_T_BOOL),
    KEY_COMPAT(S_HV, "disable_selinux", CFG_T_BOOL),
    KEY_COMPAT(S_HV, "virtio_fs_inode_file_handles", CFG_T_STRING),
    KEY_COMPAT(S_HV, "reclaim_guest_freed_memory", CFG_T_BOOL),
    KEY_COMPAT(S_HV, "disable_seccomp", CFG_T_BOOL),
    KEY_COMPAT(S_HV, "hypervisor_loglevel", CFG_T_INT),
    KEY_COMPAT(S_HV, "kernel_verity_params", CFG_T_STRING),
    KEY_COMPAT(S_HV, "net_rate_limiter_bw_max_rate", CFG_T_INT),
    KEY_COMPAT(S_HV, "net_rate_limiter_bw_one_time_burst", CFG_T_INT),
    KEY_COMPAT(S_HV, "net_rate_limiter_ops_max_rate", CFG_T_INT),
    KEY_COMPAT(S_HV, "net_rate_limiter_ops_one_time_burst", CFG_T_INT),
    KEY_COMPAT(S_HV, "disk_rate_limiter_bw_max_rate", CFG_T_INT),
    KEY_COMPAT(S_HV, "disk_rate_limiter_bw_one_time_burst", CFG_T_INT),
    KEY_COMPAT(S_HV, "disk_rate_limiter_ops_max_rate", CFG_T_INT),
    KEY_COMPAT(S_HV, "disk_rate_limiter_ops_one_time_burst", CFG_T_INT),

    /* [factory]: VM templating and caching (QEMU). */
    KEY_BOOL(S_FA, "enable_template", FA(enable_template), false, QEMU,
             "Create VMs by cloning a template VM (needs initrd, not image).", NOOP_ALL),
    KEY_PATH(S_FA, "template_path", FA(template_path), "/run/vc/vm/template", QEMU,
             "Where the template VM is kept.", NOOP_ALL),
    KEY_INT(S_FA, "vm_cache_number", FA(vm_cache_number), 0, 0, 1024, QEMU,
            "VMs kept booted in advance by the VM cache; 0 turns the cache off.", NOOP_ALL),
    KEY_PATH(S_FA, "vm_cache_endpoint", FA(vm_cache_endpoint),
             "/var/run/kata-containers/cache.sock", QEMU, "Unix socket of the VM cache.", NOOP_ALL),

    /* [agent.kata]: the guest agent. */
    KEY_BOOL(S_AG, "enable_debug", AG(enable_debug), false, ALL,
             "Make the agent log at debug level (agent.log=debug)."),
    KEY_BOOL(S_AG, "enable_tracing", AG(enable_tracing), false, ALL, "Agent trace spans.",
             NOOP_ALL),
    KEY_STRV(S_AG, "kernel_modules", AG(kernel_modules), NULL, ALL,
             "Guest kernel modules the agent loads before the first container,\n"
             "each item \"name param=value ...\"."),
    KEY_BOOL(S_AG, "debug_console_enabled", AG(debug_console_enabled), false, ALL,
             "Offer a debug shell in the guest on vsock port 1026."),
    KEY_INT(S_AG, "container_pipe_size", AG(container_pipe_size), 0, 0, 1073741824, ALL,
            "Size in bytes of the stdout and stderr pipes of container processes\n"
            "(agent.container_pipe_size); 0 keeps the guest kernel's default. Upstream\n"
            "sets it with the annotation io.katacontainers.config.agent.container_pipe_size."),
    KEY_INT(S_AG, "dial_timeout", AG(dial_timeout), 45, 1, 3600, ALL,
            "Seconds to keep trying to reach the agent after boot."),
    KEY_INT(S_AG, "cdh_api_timeout", AG(cdh_api_timeout), 50, 1, 3600, ALL,
            "Seconds allowed for confidential data hub calls.", NOOP_ALL),
    KEY_ENUM(S_AG, "transport", AG(transport), CFG_ENUM_TRANSPORT, CFG_TRANSPORT_AUTO, ALL,
             "Agent channel (not an upstream key): \"vsock\", \"virtio-serial\" (a port\n"
             "named agent.channel.0) or \"auto\": vsock where /dev/vhost-vsock works,\n"
             "virtio-serial otherwise. Cloud Hypervisor always uses its hybrid vsock."),

    /* [runtime]: the shim. */
    KEY_BOOL(S_RT, "enable_debug", RT(enable_debug), false, ALL, "Shim debug logging.", NOOP_ALL),
    KEY_BOOL(S_RT, "enable_tracing", RT(enable_tracing), false, ALL, "Shim trace spans.", NOOP_ALL),
    KEY_ENUM(S_RT, "internetworking_model", RT(internetworking_model), CFG_ENUM_NETMODEL,
             CFG_NET_TCFILTER, ALL,
             "How the pod's network interface is joined to the VM: \"tcfilter\" (tc\n"
             "redirect to a tap), \"macvtap\" or \"none\" (a tap only)."),
    KEY_BOOL(S_RT, "disable_guest_seccomp", RT(disable_guest_seccomp), true, ALL,
             "Do not apply the container's seccomp profile inside the guest; false\n"
             "sends it to the agent, which installs it before the container starts."),
    KEY_BOOL(S_RT, "disable_new_netns", RT(disable_new_netns), false, ALL,
             "Keep the shim and hypervisor in the host network namespace; only valid\n"
             "with internetworking_model = \"none\"."),
    KEY_BOOL(S_RT, "sandbox_cgroup_only", RT(sandbox_cgroup_only), false, ALL,
             "Put every process of a pod (shim, hypervisor, virtiofsd) in the pod's\n"
             "cgroup instead of a separate overhead cgroup.", NOOP_ALL),
    KEY_BOOL(S_RT, "static_sandbox_resource_mgmt", RT(static_sandbox_resource_mgmt), false, ALL,
             "Size the VM once at boot from the pod's resources; no CPU or memory\n"
             "hotplug later.", NOOP_ALL),
    KEY_BOOL(S_RT, "enable_vcpus_pinning", RT(enable_vcpus_pinning), false, ALL,
             "Pin each vCPU thread to one host CPU of the pod's cpuset.", NOOP_ALL),
    KEY_STRV(S_RT, "sandbox_bind_mounts", RT(sandbox_bind_mounts), NULL, ALL,
             "Host paths shared read-only with every guest (not with containers).", NOOP_ALL),
    KEY_ENUM(S_RT, "vfio_mode", RT(vfio_mode), CFG_ENUM_VFIO_MODE, CFG_VFIO_MODE_GUEST_KERNEL, ALL,
             "How VFIO devices appear in containers: \"guest-kernel\" (the guest driver\n"
             "owns them) or \"vfio\" (as /dev/vfio nodes, like runc).", NOOP_ALL),
    KEY_BOOL(S_RT, "disable_guest_empty_dir", RT(disable_guest_empty_dir), true, ALL,
             "Create Kubernetes emptyDir volumes on the host and share them, instead\n"
             "of inside the guest.", NOOP_ALL),
    KEY_ENUM(S_RT, "emptydir_mode", RT(emptydir_mode), CFG_ENUM_EMPTYDIR_MODE,
             CFG_EMPTYDIR_SHARED_FS, ALL,
             "Backing of emptyDir volumes: \"shared-fs\", \"block-encrypted\" or\n"
             "\"block-plain\".", NOOP_ALL),
    KEY_STRV(S_RT, "experimental", RT(experimental), NULL, ALL, "Experimental features to enable.",
             NOOP_ALL),
    KEY_BOOL(S_RT, "enable_pprof", RT(enable_pprof), false, ALL,
             "Upstream's Go profiler switch; accepted, no effect in this runtime.", NOOP_ALL),
    KEY_INT(S_RT, "create_container_timeout", RT(create_container_timeout), 60, 1, 86400, ALL,
            "Seconds the agent gets to answer CreateContainer."),
    KEY_PATH(S_RT, "dan_conf", RT(dan_conf), "/run/kata-containers/dans", ALL,
             "Folder of directly attachable network descriptions.", NOOP_ALL),
    KEY_COMPAT(S_RT, "guest_selinux_label", CFG_T_STRING),
    KEY_COMPAT(S_RT, "jaeger_endpoint", CFG_T_STRING),
    KEY_COMPAT(S_RT, "jaeger_user", CFG_T_STRING),
    KEY_COMPAT(S_RT, "jaeger_password", CFG_T_STRING),
    KEY_COMPAT(S_RT, "experimental_force_guest_pull", CFG_T_BOOL),
};

const size_t cfg_schema_size = ELEMENTSOF(cfg_schema);

const char *cfg_section_name(enum cfg_section s, enum cfg_hv_kind kind)
{
    switch (s) {
    case CFG_SEC_HYPERVISOR:
        return kind == CFG_HV_CLH    ? "hypervisor.clh"
               : kind == CFG_HV_MOCK ? "hypervisor.mock"
                                     : "hypervisor.qemu";
    case CFG_SEC_AGENT:
        return "agent.kata";
    case CFG_SEC_RUNTIME:
        return "runtime";
    case CFG_SEC_FACTORY:
        return "factory";
    }
    return "?";
}

const struct cfg_key *cfg_schema_find(enum cfg_section s, const char *name)
{
    for (size_t i = 0; i < cfg_schema_size; i++)
        if (cfg_schema[i].section == s && strcmp(cfg_schema[i].name, name) == 0)
            return &cfg_schema[i];
    return NULL;
}

size_t cfg_schema_index(const struct cfg_key *k)
{
    return (size_t)(k - cfg_schema);
}

const union cfg_default *cfg_key_default(const struct cfg_key *k, enum cfg_hv_kind kind)
{
    return kind == CFG_HV_CLH && k->has_clh_def ? &k->clh_def : &k->def;
}
