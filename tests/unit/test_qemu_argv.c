/* hypervisor/qemu_argv.c against golden files: tests/unit/golden/qemu/<name>.argv
 * holds one argument per line. Run with QEMU_ARGV_UPDATE=1 to rewrite them
 * (then review the diff). */
#include "hypervisor/qemu_argv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/err.h"
#include "tests/harness/harness.h"

#define GOLDEN_DIR "tests/unit/golden/qemu"

static struct hv_config base_config(void)
{
    return (struct hv_config){
        .kind = HV_KIND_QEMU,
        .path = "/usr/bin/qemu-system-x86_64",
        .kernel = "/usr/share/kata-containers/vmlinuz.container",
        .initrd = "/usr/share/kata-containers/kata-containers-initrd.img",
        .machine_type = "q35",
        .accel = HV_ACCEL_AUTO,
        .vcpus = 1,
        .max_vcpus = 4,
        .memory_mib = 256,
        .memory_slots = 10,
        .max_memory_mib = 4096,
        .pcie_root_ports = 2,
        .transport = HV_TRANSPORT_AUTO,
        .shared_fs = HV_SHARED_FS_VIRTIO_FS,
        .shared_dir = "/run/kata-containers/shared/sandboxes/sb1/shared",
    };
}

static struct qemu_argv_choices base_choices(void)
{
    return (struct qemu_argv_choices){
        .accel = HV_ACCEL_TCG,
        .transport = HV_TRANSPORT_VIRTIO_SERIAL,
        .vhost_fd = -1,
        .name = "sb1",
        .qmp_fd = 3,
        .agent_fd = 4,
        .console_path = "/run/vc/vm/sb1/console.log",
        .virtiofs_path = "/run/vc/vm/sb1/vhost-fs.sock",
        .tsc_khz = 2596148,
    };
}

static char *join_lines(char **argv)
{
    size_t n = 1;
    for (char **p = argv; *p; p++)
        n += strlen(*p) + 1;
    char *s = malloc(n), *o = s;
    for (char **p = argv; *p; p++)
        o += sprintf(o, "%s\n", *p);
    *o = '\0';
    return s;
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return NULL;
    char *buf = calloc(1, 65536);
    size_t n = fread(buf, 1, 65535, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static int check_golden(const char *name, const struct hv_config *cfg,
                        const struct qemu_argv_choices *ch)
{
    struct err e = ERR_INIT;
    char **argv = NULL;
    int r = qemu_argv_build(cfg, ch, &argv, &e);
    if (r < 0)
        printf("#   error: %s\n", err_msg(&e));
    ASSERT_OK(r);
    char *got = join_lines(argv);
    qemu_argv_free(argv);
    char path[256];
    snprintf(path, sizeof(path), GOLDEN_DIR "/%s.argv", name);
    if (getenv("QEMU_ARGV_UPDATE")) {
        FILE *f = fopen(path, "we");
        ASSERT_TRUE(f != NULL);
        fputs(got, f);
        fclose(f);
    }
    char *want = read_file(path);
    if (!want)
        printf("#   missing golden file %s (QEMU_ARGV_UPDATE=1 writes it)\n", path);
    ASSERT_TRUE(want != NULL);
    if (strcmp(got, want) != 0) {
        printf("#   %s differs; got:\n%s", path, got);
        free(got);
        free(want);
        return 1;
    }
    free(got);
    free(want);
    return 0;
}

TEST(q35_tcg_serial_virtiofs)
{
    struct hv_config cfg = base_config();
    struct qemu_argv_choices ch = base_choices();
    return check_golden("q35-tcg-serial-virtiofs", &cfg, &ch);
}

TEST(q35_kvm_vsock_virtiofs)
{
    /* The production path: KVM and vhost-vsock with the fd we claimed the CID on. */
    struct hv_config cfg = base_config();
    cfg.vcpus = 2;
    cfg.tcg_tb_size_mib = 8; /* a TCG knob: no trace in a KVM command line */
    /* The agent parameters Kata adds for debug_console_enabled and the
     * container_pipe_size annotation, before the user's kernel_params. */
    cfg.debug_console = true;
    cfg.container_pipe_size = 262144;
    struct qemu_argv_choices ch = base_choices();
    ch.accel = HV_ACCEL_KVM;
    ch.transport = HV_TRANSPORT_VSOCK;
    ch.guest_cid = 1234567;
    ch.vhost_fd = 5;
    ch.agent_fd = -1;
    return check_golden("q35-kvm-vsock-virtiofs", &cfg, &ch);
}

TEST(q35_kvm_vsock_qemu_opens_device)
{
    struct hv_config cfg = base_config();
    cfg.shared_fs = HV_SHARED_FS_NONE;
    cfg.max_memory_mib = 0;
    cfg.pcie_root_ports = 0;
    struct qemu_argv_choices ch = base_choices();
    ch.accel = HV_ACCEL_KVM;
    ch.transport = HV_TRANSPORT_VSOCK;
    ch.guest_cid = 3;
    ch.agent_fd = -1;
    return check_golden("q35-kvm-vsock-nofs", &cfg, &ch);
}

TEST(pc_tcg_serial_9p_debug)
{
    struct hv_config cfg = base_config();
    cfg.machine_type = "pc";
    cfg.shared_fs = HV_SHARED_FS_VIRTIO_9P;
    cfg.debug = true;
    cfg.kernel_params = "agent.hotplug_timeout=5 systemd.unified_cgroup_hierarchy=1";
    cfg.cpu_model = "max,pmu=off";
    cfg.tcg_tb_size_mib = 64;
    cfg.free_page_reporting = true;
    struct qemu_argv_choices ch = base_choices();
    return check_golden("pc-tcg-serial-9p-debug", &cfg, &ch);
}

TEST(microvm_tcg_serial)
{
    struct hv_config cfg = base_config();
    cfg.machine_type = "microvm";
    cfg.max_memory_mib = 0;
    cfg.shared_fs = HV_SHARED_FS_VIRTIO_FS;
    cfg.free_page_reporting = true; /* virtio-mmio flavour of the balloon */
    struct qemu_argv_choices ch = base_choices();
    return check_golden("microvm-tcg-serial-virtiofs", &cfg, &ch);
}

TEST(paths_with_commas_and_firmware_image)
{
    struct hv_config cfg = base_config();
    cfg.initrd = NULL;
    cfg.image = "/var/lib/images/a,b.img";
    cfg.firmware = "/usr/share/qemu/bios.bin";
    cfg.shared_fs = HV_SHARED_FS_VIRTIO_9P;
    cfg.shared_dir = "/tmp/x,y";
    struct qemu_argv_choices ch = base_choices();
    ch.qmp_fd = -1;
    ch.qmp_path = "/run/vc/vm/a,b/qmp.sock";
    ch.agent_fd = -1;
    ch.agent_path = "/run/vc/vm/a,b/agent.sock";
    ch.console_path = NULL;
    ch.tsc_khz = 0;
    return check_golden("q35-image-commas", &cfg, &ch);
}

/* enable_mem_prealloc without a shared filesystem: anonymous RAM given a
 * backend only to preallocate it; entropy_source names the rng file. */
TEST(prealloc_ram_and_entropy_source)
{
    struct hv_config cfg = base_config();
    cfg.shared_fs = HV_SHARED_FS_NONE;
    cfg.max_memory_mib = 0;
    cfg.mem_prealloc = true;
    cfg.entropy_source = "/dev/random";
    struct qemu_argv_choices ch = base_choices();
    return check_golden("q35-tcg-prealloc-random", &cfg, &ch);
}

/* enable_hugepages with virtio-fs: the shared memfd comes from hugetlb and
 * is preallocated; a comma in entropy_source is escaped. */
TEST(hugepages_virtiofs)
{
    struct hv_config cfg = base_config();
    cfg.hugepages = true;
    cfg.entropy_source = "/dev/hw,rng";
    struct qemu_argv_choices ch = base_choices();
    return check_golden("q35-tcg-hugepages-virtiofs", &cfg, &ch);
}

/* The same without a shared filesystem: hugetlb memfd, not shared. */
TEST(hugepages_no_shared_fs)
{
    struct hv_config cfg = base_config();
    cfg.shared_fs = HV_SHARED_FS_NONE;
    cfg.hugepages = true;
    struct qemu_argv_choices ch = base_choices();
    struct err e = ERR_INIT;
    char **argv = NULL;
    ASSERT_OK(qemu_argv_build(&cfg, &ch, &argv, &e));
    bool found = false;
    for (char **p = argv; *p; p++)
        if (strcmp(*p, "memory-backend-memfd,id=mem0,size=256M,hugetlb=on,prealloc=on") == 0)
            found = p[1] && strcmp(p[1], "-numa") == 0 && p[2] &&
                    strcmp(p[2], "node,memdev=mem0") == 0;
    qemu_argv_free(argv);
    ASSERT_TRUE(found);
    return 0;
}

static int expect_error(const struct hv_config *cfg, const struct qemu_argv_choices *ch,
                        const char *needle)
{
    struct err e = ERR_INIT;
    char **argv = NULL;
    int r = qemu_argv_build(cfg, ch, &argv, &e);
    ASSERT_EQ(r, -EINVAL);
    ASSERT_TRUE(argv == NULL);
    if (!strstr(e.msg, needle)) {
        printf("#   message \"%s\" lacks \"%s\"\n", e.msg, needle);
        return 1;
    }
    return 0;
}

TEST(config_errors_name_the_key)
{
    struct qemu_argv_choices ch = base_choices();
    struct hv_config cfg = base_config();
    cfg.machine_type = "virt";
    ASSERT_EQ(expect_error(&cfg, &ch, "machine_type \"virt\""), 0);
    cfg = base_config();
    cfg.kernel = NULL;
    ASSERT_EQ(expect_error(&cfg, &ch, "kernel"), 0);
    cfg = base_config();
    cfg.max_vcpus = 1;
    cfg.vcpus = 2;
    ASSERT_EQ(expect_error(&cfg, &ch, "default_maxvcpus"), 0);
    cfg = base_config();
    cfg.memory_mib = 32;
    ASSERT_EQ(expect_error(&cfg, &ch, "default_memory"), 0);
    cfg = base_config();
    cfg.machine_type = "microvm";
    ASSERT_EQ(expect_error(&cfg, &ch, "microvm has no memory hotplug"), 0);
    cfg = base_config();
    cfg.pcie_root_ports = 100;
    ASSERT_EQ(expect_error(&cfg, &ch, "pcie_root_port"), 0);
    cfg = base_config();
    cfg.tcg_tb_size_mib = 5000;
    ASSERT_EQ(expect_error(&cfg, &ch, "tcg_tb_size 5000"), 0);
    cfg = base_config();
    struct qemu_argv_choices bad = ch;
    bad.transport = HV_TRANSPORT_VSOCK;
    bad.guest_cid = 2;
    ASSERT_EQ(expect_error(&cfg, &bad, "CID"), 0);
    bad = ch;
    bad.accel = HV_ACCEL_AUTO;
    ASSERT_EQ(expect_error(&cfg, &bad, "accel"), 0);
    bad = ch;
    bad.transport = HV_TRANSPORT_HYBRID_VSOCK;
    ASSERT_EQ(expect_error(&cfg, &bad, "transport"), 0);
    bad = ch;
    bad.virtiofs_path = NULL;
    ASSERT_EQ(expect_error(&cfg, &bad, "virtiofsd"), 0);
    return 0;
}

TEST(kernel_params_user_last)
{
    struct hv_config cfg = base_config();
    cfg.kernel_params = "quiet=0 agent.log=trace";
    struct qemu_argv_choices ch = base_choices();
    struct err e = ERR_INIT;
    char *p = NULL;
    ASSERT_OK(qemu_argv_kernel_params(&cfg, &ch, &p, &e));
    ASSERT_STREQ(p, "console=ttyS0 quiet panic=1 cryptomgr.notests no_timer_check "
                    "tsc_early_khz=2596148 quiet=0 agent.log=trace");
    free(p);
    ch.accel = HV_ACCEL_KVM; /* no TSC hint with KVM */
    cfg.kernel_params = NULL;
    ASSERT_OK(qemu_argv_kernel_params(&cfg, &ch, &p, &e));
    ASSERT_STREQ(p, "console=ttyS0 quiet panic=1 cryptomgr.notests no_timer_check");
    free(p);
    return 0;
}
