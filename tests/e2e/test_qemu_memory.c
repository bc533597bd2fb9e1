/* End to end, real QEMU and the real guest: with release_kernel_pages the
 * driver pages out QEMU's mapping of the kernel file once QEMU runs
 * (hypervisor/qemu_mem.h), and the guest boots on regardless, up to
 * kata-agent answering Health.Check; without it QEMU keeps the whole kernel
 * resident. Pages another process maps too (another VM of the same kernel)
 * stay, so only the pages QEMU alone maps (Private_*) are judged. Skips
 * with a reason when QEMU, the guest or process_madvise is missing. */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "hypervisor/hv.h"
#include "kata/health.pb-c.h"
#include "lib/compiler.h"
#include "lib/err.h"
#include "lib/loop.h"
#include "lib/transport.h"
#include "lib/ttrpc/ttrpc.h"
#include "tests/harness/harness.h"

#define QEMU_BIN "/usr/bin/qemu-system-x86_64"
#define SEC 1000000000ull

static char kernel[PATH_MAX], initrd[PATH_MAX];

static void vm_freep(struct hv_vm **vm)
{
    *vm = hv_vm_free(*vm);
}

static int prerequisites(void)
{
    const char *o = getenv("O");
    if (!o || !*o)
        o = "build";
    if (access(QEMU_BIN, X_OK) < 0)
        return test_skip("%s not installed (apt-get install qemu-system-x86)", QEMU_BIN);
    snprintf(kernel, sizeof(kernel), "%s/guest/vmlinuz.container", o);
    snprintf(initrd, sizeof(initrd), "%s/guest/kata-containers-initrd.img", o);
    if (access(kernel, R_OK) < 0 || access(initrd, R_OK) < 0)
        return test_skip("no guest kernel or initrd under %s/guest (make guest)", o);
    if (geteuid() != 0)
        return test_skip("process_madvise on QEMU needs CAP_SYS_NICE (run as root)");
    return 0;
}

/* kB of the kernel file's mappings in process pid: all resident pages and
 * those only this process maps (smaps Rss, Private_Clean + Private_Dirty). */
static int kernel_rss(int pid, long *ret_rss, long *ret_private)
{
    struct stat st;
    if (stat(kernel, &st) < 0)
        return -errno;
    char path[64], line[PATH_MAX + 128];
    snprintf(path, sizeof(path), "/proc/%d/smaps", pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return -errno;
    long rss = 0, priv = 0, v;
    bool in = false;
    while (fgets(line, sizeof(line), f)) {
        unsigned long lo, hi, ino;
        unsigned maj, mn;
        if (sscanf(line, "%lx-%lx %*s %*s %x:%x %lu", &lo, &hi, &maj, &mn, &ino) == 5)
            in = ino == st.st_ino && maj == major(st.st_dev) && mn == minor(st.st_dev);
        else if (in && sscanf(line, "Rss: %ld kB", &v) == 1)
            rss += v;
        else if (in && (sscanf(line, "Private_Clean: %ld kB", &v) == 1 ||
                        sscanf(line, "Private_Dirty: %ld kB", &v) == 1))
            priv += v;
    }
    fclose(f);
    *ret_rss = rss;
    *ret_private = priv;
    return 0;
}

/* Health.Check over the agent channel; the virtio-serial dial itself waits
 * for the agent's session sync, so this also waits for the boot. */
static int agent_serving(struct hv_vm *vm)
{
    char uri[PATH_MAX];
    struct err e = ERR_INIT;
    if (hv_vm_agent_address(vm, uri, sizeof(uri)) < 0)
        return -EINVAL;
    int fd = transport_dial(uri, 120 * SEC, &e);
    if (fd < 0) {
        printf("#   dial %s: %s\n", uri, e.msg);
        return fd;
    }
    struct loop *loop = NULL;
    struct ttrpc_client *c = NULL;
    if (loop_new(&loop) < 0 || ttrpc_client_new(loop, fd, NULL, &c) < 0) {
        loop_free(loop);
        return -ENOMEM;
    }
    Grpc__CheckRequest req = GRPC__CHECK_REQUEST__INIT;
    struct ttrpc_call_opts opts = {.timeout_ns = 60 * SEC};
    ProtobufCMessage *resp = NULL;
    int r = ttrpc_client_call_sync(c, "grpc.Health", "Check", &req.base,
                                   &grpc__health_check_response__descriptor, &opts, &resp, NULL, &e);
    if (r == 0) {
        Grpc__HealthCheckResponse *h = (Grpc__HealthCheckResponse *)resp;
        if (h->status != GRPC__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING)
            r = -EIO;
        protobuf_c_message_free_unpacked(resp, NULL);
    } else {
        printf("#   Check: %s\n", e.msg);
    }
    ttrpc_client_free(c);
    loop_run_once(loop, 0);
    loop_free(loop);
    return r;
}

/* Boots one VM; reports the kernel mapping's kB right after start and
 * whether the agent then answered. */
static int boot(const char *id, bool release, long *ret_rss, long *ret_private, int *ret_agent)
{
    struct hv_config cfg = {
        .kind = HV_KIND_QEMU, .path = QEMU_BIN, .kernel = kernel, .initrd = initrd,
        .machine_type = "q35", .accel = HV_ACCEL_AUTO, .vcpus = 1, .max_vcpus = 1,
        .memory_mib = 256, .pcie_root_ports = 1, .transport = HV_TRANSPORT_AUTO,
        .shared_fs = HV_SHARED_FS_NONE, .kernel_params = "cgroup_no_v1=all",
        .release_kernel_pages = release};
    _cleanup_(vm_freep) struct hv_vm *vm = NULL;
    struct err e = ERR_INIT;
    int r = hv_vm_new(&cfg, test_tmpdir(), id, &vm, &e);
    if (r == 0)
        r = hv_vm_start(vm, 60 * SEC, &e);
    if (r < 0) {
        printf("#   %s: %s\n", id, e.msg);
        return r;
    }
    r = kernel_rss(hv_vm_pid(vm), ret_rss, ret_private);
    *ret_agent = agent_serving(vm);
    hv_vm_stop(vm, 5 * SEC, NULL);
    return r;
}

TEST(kernel_pages_released_and_guest_boots)
{
    int r = prerequisites();
    if (r)
        return r;
    struct utsname u;
    unsigned a = 0, b = 0;
    if (uname(&u) == 0 && sscanf(u.release, "%u.%u", &a, &b) == 2 && (a < 5 || (a == 5 && b < 10)))
        return test_skip("kernel %s has no process_madvise (5.10)", u.release);
    long rss = 0, priv = 0;
    int agent = -1;
    ASSERT_OK(boot("rel", true, &rss, &priv, &agent));
    printf("#   released: kernel mapping RSS %ld kB, QEMU-only %ld kB; agent %d\n", rss, priv,
           agent);
    ASSERT_EQ(agent, 0);
    /* Everything QEMU alone mapped is gone (a few pages may fault back in
     * if QEMU touches the ELF again; it does not after the reset). */
    ASSERT_LT(priv, 1024);

    long rss_kept = 0, priv_kept = 0;
    ASSERT_OK(boot("keep", false, &rss_kept, &priv_kept, &agent));
    printf("#   kept: kernel mapping RSS %ld kB, QEMU-only %ld kB; agent %d\n", rss_kept,
           priv_kept, agent);
    ASSERT_EQ(agent, 0);
    struct stat st;
    ASSERT_OK(stat(kernel, &st));
    /* QEMU read the whole ELF to copy its segments into guest RAM. */
    ASSERT_GT(rss_kept, st.st_size / 1024 / 2);
    return 0;
}
