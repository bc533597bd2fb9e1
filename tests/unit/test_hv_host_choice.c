/* The QEMU driver's accel/transport "auto" choices are config/hostcheck's:
 * on this host, whatever it can do, hv_vm_new() picks exactly what
 * `kata-runtime check` reports (hostcheck_pick_accel/_channel over the
 * same configuration). Only prepares VMs; nothing is started. */
#include "config/cfg.h"
#include "config/hostcheck.h"
#include "hypervisor/hv-config.h"
#include "hypervisor/hv.h"

#include <stdlib.h>
#include <unistd.h>

#include "lib/err.h"
#include "tests/harness/harness.h"

/* What kata-runtime check says for [hypervisor.qemu] with these values. */
static int check_says(enum cfg_accel accel, enum cfg_transport transport,
                      enum cfg_accel *ret_accel, int *ret_accel_r, enum hostcheck_channel *ret_ch,
                      int *ret_ch_r)
{
    struct cfg *c = NULL;
    int r = cfg_defaults(CFG_HV_QEMU, &c);
    if (r < 0)
        return r;
    c->hv.accel = accel;
    c->agent.transport = transport;
    struct hostcheck_kvm kvm;
    hostcheck_kvm(&kvm);
    char why[HOSTCHECK_DETAIL];
    bool vv = hostcheck_vhost_vsock(why, sizeof(why));
    *ret_accel_r = hostcheck_pick_accel(&c->hv, &kvm, ret_accel, why, sizeof(why));
    printf("#   check: accel %s (%s)\n", cfg_enum_name(CFG_ENUM_ACCEL, (int)*ret_accel), why);
    *ret_ch_r = hostcheck_pick_channel(c, vv, ret_ch, why, sizeof(why));
    printf("#   check: channel %s (%s)\n",
           *ret_ch_r < 0 ? "none" : hostcheck_channel_name(*ret_ch), why);
    cfg_free(c);
    return 0;
}

/* What the driver does with the same values: 0 and its caps, or its error. */
static int driver_does(enum hv_accel accel, enum hv_transport transport, struct hv_caps *ret_caps,
                       struct err *e)
{
    char dir[] = "/tmp/hv-choice-XXXXXX";
    if (!mkdtemp(dir))
        return -errno;
    struct hv_config hc = {
        .kind = HV_KIND_QEMU,
        .path = "/bin/true", /* prepare never runs it */
        .kernel = "/etc/hostname",
        .accel = accel,
        .transport = transport,
        .shared_fs = HV_SHARED_FS_NONE,
        .vcpus = 1,
        .memory_mib = 256,
    };
    struct hv_vm *vm = NULL;
    int r = hv_vm_new(&hc, dir, "choice", &vm, e);
    if (r >= 0)
        hv_vm_caps(vm, ret_caps);
    hv_vm_free(vm);
    rmdir(dir);
    return r;
}

TEST(auto_choices_equal_kata_runtime_check)
{
    enum cfg_accel accel;
    enum hostcheck_channel ch;
    int accel_r, ch_r;
    ASSERT_OK(check_says(CFG_ACCEL_AUTO, CFG_TRANSPORT_AUTO, &accel, &accel_r, &ch, &ch_r));
    ASSERT_EQ(accel_r, 0);
    ASSERT_EQ(ch_r, 0);
    struct hv_caps caps;
    struct err e = ERR_INIT;
    int r = driver_does(HV_ACCEL_AUTO, HV_TRANSPORT_AUTO, &caps, &e);
    if (r < 0)
        printf("#   driver: %s\n", err_msg(&e));
    ASSERT_OK(r);
    printf("#   driver: accel %s, channel %s\n", caps.kvm ? "kvm" : "tcg",
           caps.vsock ? "vsock" : "virtio-serial");
    ASSERT_EQ(caps.kvm, accel == CFG_ACCEL_KVM);
    ASSERT_EQ(caps.vsock, ch == HOSTCHECK_CHANNEL_VSOCK);
    return 0;
}

TEST(forced_choices_agree_too)
{
    enum cfg_accel accel;
    enum hostcheck_channel ch;
    int accel_r, ch_r;
    struct hv_caps caps;
    struct err e = ERR_INIT;

    /* vsock forced: both refuse where /dev/vhost-vsock is unusable. */
    ASSERT_OK(check_says(CFG_ACCEL_TCG, CFG_TRANSPORT_VSOCK, &accel, &accel_r, &ch, &ch_r));
    int r = driver_does(HV_ACCEL_TCG, HV_TRANSPORT_VSOCK, &caps, &e);
    printf("#   driver: %d %s\n", r, err_msg(&e));
    ASSERT_EQ(r < 0, ch_r < 0);
    if (r < 0)
        ASSERT_TRUE(strstr(err_msg(&e), "vhost-vsock") != NULL);
    else
        ASSERT_TRUE(caps.vsock && !caps.kvm);
    err_clear(&e);

    /* kvm forced: both refuse only when /dev/kvm is absent or closed. */
    ASSERT_OK(check_says(CFG_ACCEL_KVM, CFG_TRANSPORT_VIRTIO_SERIAL, &accel, &accel_r, &ch,
                         &ch_r));
    r = driver_does(HV_ACCEL_KVM, HV_TRANSPORT_VIRTIO_SERIAL, &caps, &e);
    printf("#   driver: %d %s\n", r, err_msg(&e));
    ASSERT_EQ(r < 0, accel_r < 0);
    if (r >= 0)
        ASSERT_TRUE(caps.kvm && !caps.vsock);
    return 0;
}

/* hypervisor/hv-config.c: the one cfg -> hv_config mapping (shim and
 * kata-agent-ctl). */
TEST(hv_config_from_cfg_maps_the_keys)
{
    static const char text[] = "[hypervisor.qemu]\n"
                               "path = \"/usr/bin/qemu-system-x86_64\"\n"
                               "kernel = \"/k\"\ninitrd = \"/i\"\n"
                               "machine_type = \"pc\"\naccel = \"tcg\"\n"
                               "kernel_params = \"quiet\"\n"
                               "default_vcpus = 1\ndefault_memory = 512\n"
                               "shared_fs = \"virtio-9p\"\nmsize_9p = 65536\n"
                               "tcg_tb_size = 8\nreclaim_guest_freed_memory = true\n"
                               "release_kernel_file_pages = false\n"
                               "[agent.kata]\ntransport = \"virtio-serial\"\nenable_debug = true\n";
    struct cfg *c = NULL;
    struct err e = ERR_INIT;
    ASSERT_OK(cfg_load_string(text, sizeof(text) - 1, "t.toml", &c, &e));
    struct hv_config hc;
    ASSERT_OK(hv_config_from_cfg(c, "/shared", &hc, &e));
    ASSERT_EQ(hc.kind, HV_KIND_QEMU);
    ASSERT_STREQ(hc.path, "/usr/bin/qemu-system-x86_64");
    ASSERT_STREQ(hc.kernel, "/k");
    ASSERT_STREQ(hc.initrd, "/i");
    ASSERT_TRUE(hc.image == NULL);
    ASSERT_STREQ(hc.machine_type, "pc");
    ASSERT_STREQ(hc.kernel_params, "quiet");
    ASSERT_EQ(hc.accel, HV_ACCEL_TCG);
    ASSERT_EQ(hc.vcpus, 1);
    ASSERT_GE(hc.max_vcpus, 1);
    ASSERT_EQ(hc.memory_mib, 512);
    ASSERT_EQ(hc.transport, HV_TRANSPORT_VIRTIO_SERIAL);
    ASSERT_EQ(hc.shared_fs, HV_SHARED_FS_VIRTIO_9P);
    ASSERT_STREQ(hc.shared_dir, "/shared");
    ASSERT_EQ(hc.msize_9p, 65536);
    ASSERT_EQ(hc.tcg_tb_size_mib, 8);
    ASSERT_TRUE(hc.free_page_reporting);
    ASSERT_TRUE(!hc.release_kernel_pages);
    ASSERT_TRUE(hc.debug);
    cfg_free(c);

    /* the mock: no VM, no shared folder */
    static const char mock[] = "[hypervisor.mock]\npath = \"/bin/agent\"\n";
    ASSERT_OK(cfg_load_string(mock, sizeof(mock) - 1, "m.toml", &c, &e));
    ASSERT_OK(hv_config_from_cfg(c, "/shared", &hc, &e));
    ASSERT_EQ(hc.kind, HV_KIND_MOCK);
    ASSERT_STREQ(hc.path, "/bin/agent");
    ASSERT_EQ(hc.shared_fs, HV_SHARED_FS_NONE);
    ASSERT_TRUE(hc.shared_dir == NULL);
    cfg_free(c);
    return 0;
}
