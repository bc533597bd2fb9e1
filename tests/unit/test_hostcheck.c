/* config/hostcheck*.c: the KVM probe (bounded in time, its guest checked
 * against QEMU's TCG as a reference CPU), CPU flags, binaries, and the
 * automatic accel and agent channel choices. */
#include "config/hostcheck.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/harness/harness.h"

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int write_file(const char *path, const char *text, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0)
        return -errno;
    ssize_t n = write(fd, text, strlen(text));
    close(fd);
    return n == (ssize_t)strlen(text) ? 0 : -EIO;
}

TEST(kvm_probe_is_bounded_and_consistent)
{
    struct hostcheck_kvm k;
    long long t0 = now_ms();
    ASSERT_OK(hostcheck_kvm_probe(NULL, 0, &k));
    long long took = now_ms() - t0;
    printf("#   /dev/kvm: %s [%s] in %lld ms: %s\n", hostcheck_kvm_state_name(k.state), k.stages,
           took, k.detail);
    ASSERT_LT(took, HOSTCHECK_KVM_TIMEOUT_MS + 1000);
    ASSERT_TRUE(k.detail[0]);
    struct hostcheck_cpu cpu;
    /* Without vmx/svm no KVM can run guests at native speed. */
    if (hostcheck_cpu(NULL, &cpu) == 0 && !cpu.vmx && !cpu.svm)
        ASSERT_NE(k.state, HOSTCHECK_KVM_USABLE);
    if (access("/dev/kvm", F_OK) < 0)
        ASSERT_EQ(k.state, HOSTCHECK_KVM_ABSENT);
    if (k.state == HOSTCHECK_KVM_USABLE)
        ASSERT_STREQ(k.stages, "LHPTK");
    return 0;
}

TEST(kvm_probe_on_other_devices)
{
    struct hostcheck_kvm k;
    ASSERT_OK(hostcheck_kvm_probe("/nonexistent/kvm", 0, &k));
    ASSERT_EQ(k.state, HOSTCHECK_KVM_ABSENT);
    ASSERT_STREQ(k.detail, "/nonexistent/kvm: No such file or directory");
    /* a device that is not KVM: the ioctls fail, quickly */
    long long t0 = now_ms();
    ASSERT_OK(hostcheck_kvm_probe("/dev/null", 500, &k));
    ASSERT_LT(now_ms() - t0, 1500);
    ASSERT_EQ(k.state, HOSTCHECK_KVM_FAILED);
    ASSERT_TRUE(strstr(k.detail, "unexpected KVM API version"));
    return 0;
}

/* The probe's guest under QEMU's TCG, an independent x86 implementation:
 * every stage must pass, so a failure under KVM means KVM, not the guest. */
TEST(kvm_probe_guest_passes_under_tcg)
{
    char qemu[512];
    if (hostcheck_find_in_path("qemu-system-x86_64", qemu, sizeof(qemu)) < 0)
        return test_skip("qemu-system-x86_64 not installed");
    const void *image;
    size_t size;
    hostcheck_kvm_guest(&image, &size);
    ASSERT_GT(size, 256);
    char img[256], out[256], chardev[300];
    snprintf(img, sizeof(img), "%s/guest.img", test_tmpdir());
    snprintf(out, sizeof(out), "%s/guest.out", test_tmpdir());
    snprintf(chardev, sizeof(chardev), "file,id=dbg,path=%s", out);
    FILE *f = fopen(img, "w");
    ASSERT_TRUE(f);
    ASSERT_EQ(fwrite(image, 1, size, f), size);
    fclose(f);
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        alarm(20);
        int null = open("/dev/null", O_RDWR);
        dup2(null, 0);
        dup2(null, 1);
        dup2(null, 2);
        execlp(qemu, qemu, "-accel", "tcg", "-M", "pc", "-m", "16", "-nodefaults",
               "-no-user-config", "-display", "none", "-no-reboot", "-kernel", img, "-chardev",
               chardev, "-device", "isa-debugcon,iobase=0xe9,chardev=dbg", "-device",
               "isa-debug-exit,iobase=0xf4,iosize=1", (char *)NULL);
        _exit(127);
    }
    int status;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    /* isa-debug-exit: the guest's 0 becomes exit status 1 */
    ASSERT_TRUE(WIFEXITED(status));
    ASSERT_EQ(WEXITSTATUS(status), 1);
    char got[64] = "";
    f = fopen(out, "r");
    ASSERT_TRUE(f);
    size_t n = fread(got, 1, sizeof(got) - 1, f);
    fclose(f);
    got[n] = '\0';
    ASSERT_STREQ(got, "LHPTK");
    return 0;
}

TEST(cpu_flags)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/cpuinfo", test_tmpdir());
    ASSERT_OK(write_file(path,
                         "processor\t: 0\n"
                         "vendor_id\t: GenuineIntel\n"
                         "model name\t: Test CPU @ 2.00GHz\n"
                         "flags\t\t: fpu vme lm vmx sse4_1 hypervisor\n"
                         "\n"
                         "processor\t: 1\n"
                         "vendor_id\t: GenuineIntel\n"
                         "flags\t\t: fpu vme lm vmx sse4_1 hypervisor\n",
                         0644));
    struct hostcheck_cpu cpu;
    ASSERT_OK(hostcheck_cpu(path, &cpu));
    ASSERT_EQ(cpu.cpus, 2);
    ASSERT_STREQ(cpu.vendor, "GenuineIntel");
    ASSERT_STREQ(cpu.model, "Test CPU @ 2.00GHz");
    ASSERT_TRUE(cpu.vmx && !cpu.svm && cpu.lm && cpu.sse4_1 && cpu.hypervisor);
    ASSERT_OK(write_file(path, "processor : 0\nflags : fpu svmx lmx svm\n", 0644));
    ASSERT_OK(hostcheck_cpu(path, &cpu));
    ASSERT_TRUE(!cpu.vmx && cpu.svm && !cpu.lm); /* whole words only */
    ASSERT_OK(write_file(path, "processor : 0\n", 0644));
    ASSERT_EQ(hostcheck_cpu(path, &cpu), -ENODATA);
    ASSERT_EQ(hostcheck_cpu("/nonexistent", &cpu), -ENOENT);
    return 0;
}

TEST(binary_version_and_timeout)
{
    char fast[256], slow[256], version[128];
    snprintf(fast, sizeof(fast), "%s/fast-vmm", test_tmpdir());
    snprintf(slow, sizeof(slow), "%s/slow-vmm", test_tmpdir());
    ASSERT_OK(write_file(fast, "#!/bin/sh\necho \"Fake VMM version 1.2.3\"\necho second\n", 0755));
    ASSERT_OK(write_file(slow, "#!/bin/sh\nexec sleep 30\n", 0755));
    ASSERT_OK(hostcheck_binary_version(fast, 2000, version, sizeof(version)));
    ASSERT_STREQ(version, "Fake VMM version 1.2.3");
    long long t0 = now_ms();
    ASSERT_EQ(hostcheck_binary_version(slow, 300, version, sizeof(version)), -ETIMEDOUT);
    ASSERT_LT(now_ms() - t0, 2000);
    ASSERT_EQ(hostcheck_binary_version("/nonexistent/vmm", 300, version, sizeof(version)), -ENOENT);
    return 0;
}

TEST(files_devices_filesystems)
{
    char detail[HOSTCHECK_DETAIL], path[256];
    snprintf(path, sizeof(path), "%s/kernel", test_tmpdir());
    ASSERT_OK(write_file(path, "1234", 0644));
    ASSERT_OK(hostcheck_file(path, detail, sizeof(detail)));
    ASSERT_TRUE(strstr(detail, "(4 bytes)"));
    ASSERT_EQ(hostcheck_file("/nonexistent/k", detail, sizeof(detail)), -ENOENT);
    ASSERT_EQ(hostcheck_file(test_tmpdir(), detail, sizeof(detail)), -EINVAL);
    ASSERT_EQ(hostcheck_file("", detail, sizeof(detail)), -ENOENT);
    ASSERT_OK(hostcheck_device("/dev/null", detail, sizeof(detail)));
    ASSERT_EQ(hostcheck_device("/nonexistent/dev", detail, sizeof(detail)), -ENOENT);
    ASSERT_TRUE(hostcheck_filesystem("proc"));
    ASSERT_TRUE(!hostcheck_filesystem("no-such-fs"));
    ASSERT_EQ(hostcheck_module("no_such_module_xyz"), HOSTCHECK_MODULE_MISSING);
    ASSERT_GE(hostcheck_cgroup(detail, sizeof(detail)), 0);
    char found[512];
    ASSERT_OK(hostcheck_find_in_path("sh", found, sizeof(found)));
    ASSERT_EQ(hostcheck_find_in_path("no-such-binary-xyz", found, sizeof(found)), -ENOENT);
    return 0;
}

TEST(accel_choice)
{
    _cleanup_cfg_ struct cfg *q = NULL, *h = NULL;
    ASSERT_OK(cfg_defaults(CFG_HV_QEMU, &q));
    ASSERT_OK(cfg_defaults(CFG_HV_CLH, &h));
    struct hostcheck_kvm good = {.state = HOSTCHECK_KVM_USABLE};
    struct hostcheck_kvm slow = {.state = HOSTCHECK_KVM_TOO_SLOW};
    struct hostcheck_kvm none = {.state = HOSTCHECK_KVM_ABSENT};
    enum cfg_accel a = CFG_ACCEL_AUTO;
    char why[HOSTCHECK_DETAIL];
    ASSERT_OK(hostcheck_pick_accel(&q->hv, &good, &a, why, sizeof(why)));
    ASSERT_EQ(a, CFG_ACCEL_KVM);
    ASSERT_OK(hostcheck_pick_accel(&q->hv, &slow, &a, why, sizeof(why)));
    ASSERT_EQ(a, CFG_ACCEL_TCG);
    ASSERT_STREQ(why, "KVM cannot run a 64-bit guest (too-slow): VMs will use TCG (slow)");
    ASSERT_EQ(hostcheck_pick_accel(&h->hv, &slow, &a, why, sizeof(why)), -ENODEV);
    ASSERT_OK(hostcheck_pick_accel(&h->hv, &good, &a, why, sizeof(why)));
    ASSERT_EQ(a, CFG_ACCEL_KVM);
    q->hv.accel = CFG_ACCEL_KVM;
    ASSERT_EQ(hostcheck_pick_accel(&q->hv, &none, &a, why, sizeof(why)), -ENODEV);
    ASSERT_OK(hostcheck_pick_accel(&q->hv, &slow, &a, why, sizeof(why)));
    ASSERT_EQ(a, CFG_ACCEL_KVM); /* forced: the user's choice stands */
    q->hv.accel = CFG_ACCEL_TCG;
    ASSERT_OK(hostcheck_pick_accel(&q->hv, &good, &a, why, sizeof(why)));
    ASSERT_EQ(a, CFG_ACCEL_TCG);
    return 0;
}

TEST(channel_choice)
{
    _cleanup_cfg_ struct cfg *q = NULL, *h = NULL;
    ASSERT_OK(cfg_defaults(CFG_HV_QEMU, &q));
    ASSERT_OK(cfg_defaults(CFG_HV_CLH, &h));
    enum hostcheck_channel ch = HOSTCHECK_CHANNEL_VSOCK;
    char why[HOSTCHECK_DETAIL];
    ASSERT_OK(hostcheck_pick_channel(q, true, &ch, why, sizeof(why)));
    ASSERT_EQ(ch, HOSTCHECK_CHANNEL_VSOCK);
    ASSERT_OK(hostcheck_pick_channel(q, false, &ch, why, sizeof(why)));
    ASSERT_EQ(ch, HOSTCHECK_CHANNEL_VIRTIO_SERIAL);
    ASSERT_STREQ(why, "no usable /dev/vhost-vsock: agent channel will use virtio-serial");
    ASSERT_OK(hostcheck_pick_channel(h, false, &ch, why, sizeof(why)));
    ASSERT_EQ(ch, HOSTCHECK_CHANNEL_HYBRID_VSOCK);
    q->agent.transport = CFG_TRANSPORT_VSOCK;
    ASSERT_EQ(hostcheck_pick_channel(q, false, &ch, why, sizeof(why)), -ENODEV);
    q->agent.transport = CFG_TRANSPORT_VIRTIO_SERIAL;
    ASSERT_OK(hostcheck_pick_channel(q, true, &ch, why, sizeof(why)));
    ASSERT_EQ(ch, HOSTCHECK_CHANNEL_VIRTIO_SERIAL);
    ASSERT_STREQ(hostcheck_channel_name(HOSTCHECK_CHANNEL_HYBRID_VSOCK), "hybrid-vsock");
    return 0;
}
