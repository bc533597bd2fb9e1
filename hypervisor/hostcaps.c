/* Host probes; see hostcaps.h. */
#include "hypervisor/hostcaps.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <linux/vhost.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/compiler.h"
#include "lib/err.h"
#include "lib/spawn.h"

#define GUEST_MEM (2u << 20)
#define CODE_ADDR 0x10000u
#define MAGIC 0x1122334455667788ull

/* Exit codes of the probe child. */
enum { PROBE_OK = 0, PROBE_NO_DEVICE = 10, PROBE_SETUP = 11, PROBE_BAD_EXIT = 12, PROBE_CPUID = 13 };

static void seg64(struct kvm_segment *s, unsigned selector, unsigned type, bool code)
{
    memset(s, 0, sizeof(*s));
    s->limit = 0xffffffff;
    s->selector = (uint16_t)selector;
    s->type = (uint8_t)type;
    s->present = 1;
    s->s = 1;
    s->g = 1;
    s->l = code ? 1 : 0;
    s->db = code ? 0 : 1;
}

/* Runs in a forked child: checks CPUID, runs a real-mode stage, then builds
 * identity-mapped long mode and executes "movabs $MAGIC, %rax; hlt".
 * Returns an exit code. */
static int probe_child(void)
{
    int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (kvm < 0)
        return PROBE_NO_DEVICE;
    if (ioctl(kvm, KVM_GET_API_VERSION, 0) != KVM_API_VERSION)
        return PROBE_SETUP;
    int vm = ioctl(kvm, KVM_CREATE_VM, 0);
    if (vm < 0)
        return PROBE_SETUP;
    uint8_t *mem = mmap(NULL, GUEST_MEM, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                        -1, 0);
    if (mem == MAP_FAILED)
        return PROBE_SETUP;
    struct kvm_userspace_memory_region region = {
        .slot = 0, .guest_phys_addr = 0, .memory_size = GUEST_MEM,
        .userspace_addr = (uint64_t)(uintptr_t)mem};
    if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
        return PROBE_SETUP;
    int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
    int run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (vcpu < 0 || run_size <= 0)
        return PROBE_SETUP;
    struct kvm_run *run = mmap(NULL, (size_t)run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
    if (run == MAP_FAILED)
        return PROBE_SETUP;

    /* The host's CPUID, so the guest sees long mode. */
    /* Static: no malloc in a child forked from a threaded process. */
    static _Alignas(16) uint8_t cpuid_buf[sizeof(struct kvm_cpuid2) +
                                          256 * sizeof(struct kvm_cpuid_entry2)];
    struct kvm_cpuid2 *cpuid = (void *)cpuid_buf;
    cpuid->nent = 256;
    if (ioctl(kvm, KVM_GET_SUPPORTED_CPUID, cpuid) < 0 || ioctl(vcpu, KVM_SET_CPUID2, cpuid) < 0)
        return PROBE_SETUP;

    /* QEMU refuses or hangs on hosts whose KVM lacks the x86-64 baseline
     * (nested set-ups have shown CPUID without SSE3). */
    bool sse3 = false;
    for (uint32_t i = 0; i < cpuid->nent; i++)
        if (cpuid->entries[i].function == 1)
            sse3 = cpuid->entries[i].ecx & 1u;
    if (!sse3)
        return PROBE_CPUID;

    /* Stage 1, real mode as firmware starts: "mov $0x1234, %ax; hlt". Real
     * mode is where nested hosts without unrestricted guests hang. */
    static const uint8_t rcode[] = {0xb8, 0x34, 0x12, 0xf4};
    memcpy(mem + CODE_ADDR, rcode, sizeof(rcode));
    struct kvm_sregs rs;
    if (ioctl(vcpu, KVM_GET_SREGS, &rs) < 0)
        return PROBE_SETUP;
    rs.cs.base = CODE_ADDR;
    rs.cs.selector = (uint16_t)(CODE_ADDR >> 4);
    if (ioctl(vcpu, KVM_SET_SREGS, &rs) < 0)
        return PROBE_SETUP;
    struct kvm_regs rr = {.rip = 0, .rflags = 2};
    if (ioctl(vcpu, KVM_SET_REGS, &rr) < 0)
        return PROBE_SETUP;
    if (ioctl(vcpu, KVM_RUN, 0) < 0 || run->exit_reason != KVM_EXIT_HLT)
        return PROBE_BAD_EXIT;
    if (ioctl(vcpu, KVM_GET_REGS, &rr) < 0 || (rr.rax & 0xffff) != 0x1234)
        return PROBE_BAD_EXIT;

    /* Stage 2, long mode. */
    /* PML4 at 0x1000 -> PDPT at 0x2000 -> PD at 0x3000 -> one 2 MiB page. */
    const uint64_t pml4e = 0x2000 | 3, pdpte = 0x3000 | 3, pde = 0x0 | 0x83;
    memcpy(mem + 0x1000, &pml4e, sizeof(pml4e));
    memcpy(mem + 0x2000, &pdpte, sizeof(pdpte));
    memcpy(mem + 0x3000, &pde, sizeof(pde));
    static const uint8_t code[] = {0x48, 0xb8, 0x88, 0x77, 0x66, 0x55,
                                   0x44, 0x33, 0x22, 0x11, 0xf4};
    memcpy(mem + CODE_ADDR, code, sizeof(code));

    struct kvm_sregs sregs;
    if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0)
        return PROBE_SETUP;
    sregs.cr3 = 0x1000;
    sregs.cr4 = 1u << 5;          /* PAE */
    sregs.cr0 = 0x80050033u;      /* PG WP AM NE ET MP PE */
    sregs.efer = 0x500;           /* LME LMA */
    seg64(&sregs.cs, 8, 11, true);
    seg64(&sregs.ds, 16, 3, false);
    sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
    if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0)
        return PROBE_SETUP;
    struct kvm_regs regs = {.rip = CODE_ADDR, .rflags = 2, .rsp = 0x8000};
    if (ioctl(vcpu, KVM_SET_REGS, &regs) < 0)
        return PROBE_SETUP;
    if (ioctl(vcpu, KVM_RUN, 0) < 0)
        return PROBE_BAD_EXIT;
    if (run->exit_reason != KVM_EXIT_HLT)
        return PROBE_BAD_EXIT;
    if (ioctl(vcpu, KVM_GET_REGS, &regs) < 0 || regs.rax != MAGIC)
        return PROBE_BAD_EXIT;
    return PROBE_OK;
}

int hostcaps_kvm_usable(uint64_t timeout_ns, struct err *e)
{
    if (access("/dev/kvm", R_OK | W_OK) < 0)
        return err_set(e, -errno, "/dev/kvm: %s", strerror(errno));
    pid_t pid = fork();
    if (pid < 0)
        return err_set(e, -errno, "KVM probe: fork: %s", strerror(errno));
    if (pid == 0)
        _exit(probe_child());
    _cleanup_close_ int pidfd = spawn_pidfd_open(pid);
    if (pidfd < 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        return err_set(e, pidfd, "KVM probe: pidfd_open: %s", strerror(-pidfd));
    }
    int status = 0;
    int ms = (int)MIN(timeout_ns / 1000000u, 60000u);
    int r = spawn_wait(pidfd, ms, &status);
    if (r == -ETIMEDOUT) {
        spawn_kill(pidfd, SIGKILL);
        spawn_wait(pidfd, -1, NULL);
        return err_set(e, -ETIMEDOUT,
                       "/dev/kvm: a 64-bit test guest did not halt within %d ms (nested host?)", ms);
    }
    if (r < 0)
        return err_set(e, r, "KVM probe: %s", strerror(-r));
    if (WIFEXITED(status) && WEXITSTATUS(status) == PROBE_OK)
        return 0;
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return err_set(e, -ENODEV, "/dev/kvm: a 64-bit test guest failed (%s)",
                   code == PROBE_NO_DEVICE ? "cannot open"
                   : code == PROBE_SETUP   ? "VM setup refused"
                   : code == PROBE_BAD_EXIT ? "wrong exit or result"
                   : code == PROBE_CPUID    ? "CPUID lacks the x86-64 baseline (SSE3)"
                                            : "probe crashed");
}

int hostcaps_vhost_vsock_usable(struct err *e)
{
    int fd = open("/dev/vhost-vsock", O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return err_set(e, -errno, "/dev/vhost-vsock: %s", strerror(errno));
    close(fd);
    return 0;
}

int hostcaps_claim_vsock_cid(int *ret_fd, uint32_t *ret_cid, struct err *e)
{
    _cleanup_close_ int fd = open("/dev/vhost-vsock", O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return err_set(e, -errno, "/dev/vhost-vsock: %s", strerror(errno));
    uint32_t start;
    if (getrandom(&start, sizeof(start), 0) != sizeof(start))
        start = (uint32_t)getpid();
    for (uint32_t i = 0; i < 64; i++) {
        /* Valid guest CIDs: 3 .. 2^32-2 (0-2 are reserved, -1 is "any"). */
        uint64_t cid = 3 + ((uint64_t)start + i) % (UINT32_MAX - 4u);
        if (ioctl(fd, VHOST_VSOCK_SET_GUEST_CID, &cid) == 0) {
            *ret_cid = (uint32_t)cid;
            *ret_fd = TAKE_FD(fd);
            return 0;
        }
        if (errno != EADDRINUSE)
            return err_set(e, -errno, "VHOST_VSOCK_SET_GUEST_CID: %s", strerror(errno));
    }
    return err_set(e, -EADDRINUSE, "vhost-vsock: no free guest CID after 64 tries");
}
