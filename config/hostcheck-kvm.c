/* Can /dev/kvm run a 64-bit guest? Opening it and KVM_CREATE_VM are not
 * enough: on nested hosts both succeed while a Linux guest hangs. On our
 * build machines (a PVM-style kvm inside Firecracker) a guest does run, but
 * every guest instruction costs ~1.5 us, so a kernel never finishes booting.
 * The probe therefore boots a tiny guest that exercises what a Linux kernel
 * needs early, reporting each stage on I/O port 0xe9:
 *   L  32-bit protected mode -> long mode (PAE, EFER.LME, paging) and a
 *      64-bit-only instruction;
 *   H  execution and a stack through a kernel-style mapping at -2 GiB;
 *   P  a page fault on the direct-map range, fixed by the handler (the way
 *      Linux builds its early page tables);
 *   T  a LAPIC timer interrupt delivered by the in-kernel irqchip;
 *   K  a 2,000,000-iteration loop, which must finish within SPEED_BUDGET_MS
 *      of CPU time (native speed needs about a millisecond).
 * Then it writes 0 to port 0xf4, which ends QEMU when the image runs under
 * `qemu -kernel` with isa-debug-exit (the unit test checks the guest under
 * TCG that way). A '!' means the guest saw wrong results. The guest runs in a child
 * process that the parent kills at the deadline. */
#include "config/hostcheck.h"

#include <fcntl.h>
#include <linux/kvm.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#define GUEST_MEM 0x200000u  /* 2 MiB at guest-physical 0 */
#define GUEST_LOAD 0x100000u /* where the image goes, as multiboot loads it */
/* CPU time the child may spend on the loop (native: about 1 ms). CPU time,
 * not wall time, so a busy host that deschedules the probe is not judged
 * slow; the whole probe still ends at its wall-clock timeout. */
#define SPEED_BUDGET_MS 250
#define MAX_EXITS 100000

/* The guest. Label differences are assembly-time constants, so the blob
 * is position-independent data in .rodata; "X - kvm_guest + 0x100000" is
 * X's guest-physical address. Physical layout: image at 1 MiB, page tables
 * and the IDT at 0x180000-0x186fff, stack below 0x190000, scratch data at
 * 0x1a0000. */
extern const unsigned char kvm_guest[], kvm_guest_end[];
#define GPA(label) "(" label " - kvm_guest + 0x100000)"
__asm__(".pushsection .rodata.kata_kvm_probe_guest, \"a\"\n"
        ".balign 16\n"
        "kvm_guest:\n"
        ".set HI, 0xffffffff80000000\n"
        /* multiboot v1 header with load addresses (the "a.out kludge") */
        ".long 0x1badb002, 0x00010000, -(0x1badb002 + 0x00010000)\n"
        ".long " GPA("kvm_guest") ", " GPA("kvm_guest") ", 0, 0, " GPA("1f") "\n"
        ".code32\n"
        "1: cli\n"
        "   lgdt " GPA("2f + 8") "\n" /* the descriptor below the GDT */
        "   ljmp $0x18, $" GPA("3f") "\n"
        "   .balign 8\n"
        "2: .quad 0\n"
        "   .word 31\n .long " GPA("4f") "\n .word 0\n"
        "4: .quad 0, 0x00af9a000000ffff, 0x00cf92000000ffff, 0x00cf9a000000ffff\n"
        "3: mov $0x10, %eax\n"
        "   mov %eax, %ds\n mov %eax, %es\n mov %eax, %ss\n mov %eax, %fs\n mov %eax, %gs\n"
        "   mov $0x190000, %esp\n"
        "   mov $0x180000, %edi\n xor %eax, %eax\n mov $(7 * 1024), %ecx\n rep stosl\n"
        "   movl $0x181003, 0x180000\n"           /* PML4[0]   -> identity PDPT */
        "   movl $0x183003, 0x180000 + 511 * 8\n" /* PML4[511] -> -2 GiB PDPT */
        "   movl $0x184003, 0x180000 + 273 * 8\n" /* PML4[273] -> empty direct-map PDPT */
        "   movl $0x182003, 0x181000\n"           /* PDPT[0]   -> PD */
        "   movl $0x185003, 0x181000 + 3 * 8\n"   /* PDPT[3]   -> PD for the LAPIC */
        "   movl $0x000083, 0x182000\n"           /* PD[0]: 2 MiB page at 0 */
        "   movl $0x182003, 0x183000 + 510 * 8\n" /* -2 GiB -> same PD */
        "   movl $0xfee0009b, 0x185000 + 503 * 8\n" /* LAPIC page, uncached */
        "   mov $0x186000, %edi\n xor %ecx, %ecx\n" /* 256 interrupt gates */
        "5: mov $" GPA("other") ", %eax\n"             /* stray interrupts: ignored */
        "   cmp $32, %ecx\n jae 13f\n mov $" GPA("fail") ", %eax\n" /* exceptions */
        "13: cmp $14, %ecx\n jne 14f\n mov $" GPA("pf") ", %eax\n"
        "14: cmp $0x20, %ecx\n jne 6f\n mov $" GPA("irq") ", %eax\n"
        "6: mov %eax, %ebx\n and $0xffff, %ebx\n or $0x80000, %ebx\n mov %ebx, (%edi)\n"
        "   mov %eax, %ebx\n add $0x80000000, %ebx\n and $0xffff0000, %ebx\n"
        "   or $0x8e00, %ebx\n mov %ebx, 4(%edi)\n"
        "   movl $0xffffffff, 8(%edi)\n movl $0, 12(%edi)\n"
        "   add $16, %edi\n inc %ecx\n cmp $256, %ecx\n jne 5b\n"
        "   mov %cr4, %eax\n or $0x20, %eax\n mov %eax, %cr4\n"       /* PAE */
        "   mov $0x180000, %eax\n mov %eax, %cr3\n"
        "   mov $0xc0000080, %ecx\n rdmsr\n or $0x100, %eax\n wrmsr\n" /* EFER.LME */
        "   mov %cr0, %eax\n or $0x80000001, %eax\n mov %eax, %cr0\n"  /* PG */
        "   ljmp $0x08, $" GPA("7f") "\n"
        ".code64\n"
        "7: movabs $0x1122334455667788, %rax\n shr $32, %rax\n"
        "   cmp $0x11223344, %eax\n jne fail\n"
        "   mov $'L', %al\n out %al, $0xe9\n"
        "   movabs $(" GPA("8f") " + HI), %rax\n jmp *%rax\n"
        "8: movabs $(HI + 0x190000), %rsp\n"
        "   lidt idt_desc(%rip)\n"
        "   push $0x5a5a\n pop %rbx\n cmp $0x5a5a, %rbx\n jne fail\n"
        "   mov $'H', %al\n out %al, $0xe9\n"
        "   movabs $0xffff8880001a0000, %rdi\n movl $0x77aa, (%rdi)\n"
        "   mov $0x1a0000, %edi\n cmpl $0x77aa, (%rdi)\n jne fail\n"
        "   cmpb $1, pf_seen(%rip)\n jne fail\n"
        "   mov $'P', %al\n out %al, $0xe9\n"
        "   mov $0xfee00000, %edi\n"
        "   movl $0x1ff, 0xf0(%rdi)\n"    /* spurious vector register: APIC on */
        "   movl $0xb, 0x3e0(%rdi)\n"     /* divide by 1 */
        "   movl $0x20, 0x320(%rdi)\n"    /* one-shot, vector 0x20 */
        "   movl $0x10000, 0x380(%rdi)\n" /* initial count */
        "   sti\n"
        "9: hlt\n cmpb $0, timer_seen(%rip)\n je 9b\n"
        "   cli\n"
        "   mov $2000000, %ecx\n"
        "10: dec %ecx\n jnz 10b\n"
        "   mov $'K', %al\n out %al, $0xe9\n"
        "   xor %eax, %eax\n out %al, $0xf4\n" /* QEMU's isa-debug-exit, if present */
        "11: hlt\n jmp 11b\n"
        "fail: cli\n mov $'!', %al\n out %al, $0xe9\n"
        "12: hlt\n jmp 12b\n"
        "irq: push %rax\n push %rdi\n"
        "   movb $1, timer_seen(%rip)\n"
        "   mov $'T', %al\n out %al, $0xe9\n"
        "   mov $0xfee00000, %edi\n movl $0, 0xb0(%rdi)\n" /* EOI */
        "   pop %rdi\n pop %rax\n iretq\n"
        "other: iretq\n"
        "pf: push %rax\n push %rdi\n"
        "   mov %cr2, %rax\n movabs $0xffff8880001a0000, %rdi\n cmp %rdi, %rax\n jne fail\n"
        "   movl $0x182003, 0x184000\n" /* map the direct-map slot, then retry */
        "   incb pf_seen(%rip)\n"
        "   pop %rdi\n pop %rax\n add $8, %rsp\n iretq\n"
        "timer_seen: .byte 0\n"
        "pf_seen: .byte 0\n"
        ".balign 8\n"
        "idt_desc: .word 4095\n .quad HI + 0x186000\n"
        "kvm_guest_end:\n"
        ".popsection\n");

void hostcheck_kvm_guest(const void **ret_image, size_t *ret_size)
{
    *ret_image = kvm_guest;
    *ret_size = (size_t)(kvm_guest_end - kvm_guest);
}

const char *hostcheck_kvm_state_name(enum hostcheck_kvm_state s)
{
    switch (s) {
    case HOSTCHECK_KVM_USABLE:
        return "usable";
    case HOSTCHECK_KVM_ABSENT:
        return "absent";
    case HOSTCHECK_KVM_NO_ACCESS:
        return "no-access";
    case HOSTCHECK_KVM_FAILED:
        return "failed";
    case HOSTCHECK_KVM_TOO_SLOW:
        return "too-slow";
    }
    return "?";
}

/* --- the child: system calls only (it may be forked from a threaded
 * process), reporting stage letters, or '#' and a reason, on fd out. */

static void put(int out, const char *s)
{
    ssize_t n = write(out, s, strlen(s));
    (void)n;
}

static int put_fail(int out, const char *what, unsigned long long number, bool hex)
{
    char num[24];
    size_t i = sizeof(num);
    num[--i] = '\0';
    unsigned base = hex ? 16 : 10;
    do {
        num[--i] = "0123456789abcdef"[number % base];
        number /= base;
    } while (number && i > 2);
    if (hex) {
        num[--i] = 'x';
        num[--i] = '0';
    }
    put(out, "#");
    put(out, what);
    put(out, num + i);
    put(out, "\n");
    return -1;
}

static int xioctl(int fd, unsigned long req, void *arg)
{
    int r;
    do
        r = ioctl(fd, req, arg);
    while (r < 0 && errno == EINTR);
    return r;
}

static void set_flat_segments(struct kvm_sregs *s)
{
    struct kvm_segment code = {.base = 0, .limit = 0xffffffff, .selector = 0x18, .present = 1,
                               .type = 11, .dpl = 0, .db = 1, .s = 1, .l = 0, .g = 1};
    struct kvm_segment data = code;
    data.type = 3;
    data.selector = 0x10;
    s->cs = code;
    s->ds = s->es = s->fs = s->gs = s->ss = data;
    s->cr0 |= 1; /* protected mode, paging off: the multiboot entry state */
}

static int run_guest(int out, int vcpu, struct kvm_run *run)
{
    for (int i = 0; i < MAX_EXITS; i++) {
        if (ioctl(vcpu, KVM_RUN, 0) < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            return put_fail(out, "KVM_RUN failed, errno ", (unsigned)errno, false);
        }
        switch (run->exit_reason) {
        case KVM_EXIT_IO:
            if (run->io.direction == KVM_EXIT_IO_OUT && run->io.port == 0xe9) {
                char c[2] = {((char *)run)[run->io.data_offset], '\0'};
                put(out, c);
                if (c[0] == 'K' || c[0] == '!')
                    return 0;
            }
            break;
        case KVM_EXIT_SHUTDOWN:
            put(out, "#the guest triple-faulted (KVM_EXIT_SHUTDOWN)\n");
            return -1;
        case KVM_EXIT_FAIL_ENTRY:
            return put_fail(out, "KVM could not enter the guest, hardware reason ",
                            run->fail_entry.hardware_entry_failure_reason, true);
        case KVM_EXIT_INTERNAL_ERROR:
            return put_fail(out, "KVM internal error, suberror ", run->internal.suberror, false);
        case KVM_EXIT_MMIO:
            return put_fail(out, "unexpected MMIO exit at ", run->mmio.phys_addr, true);
        default:
            return put_fail(out, "unexpected exit reason ", run->exit_reason, false);
        }
    }
    put(out, "#too many exits\n");
    return -1;
}

static int child_probe(int out, const char *dev)
{
    enum { CPUID_ENTRIES = 256 };
    int kvm = open(dev, O_RDWR | O_CLOEXEC);
    if (kvm < 0)
        return put_fail(out, "open failed, errno ", (unsigned)errno, false);
    int version = ioctl(kvm, KVM_GET_API_VERSION, 0);
    if (version != KVM_API_VERSION)
        return put_fail(out, "unexpected KVM API version ", (unsigned)version, false);
    int vm = xioctl(kvm, KVM_CREATE_VM, 0);
    if (vm < 0)
        return put_fail(out, "KVM_CREATE_VM failed, errno ", (unsigned)errno, false);
    if (xioctl(vm, KVM_CREATE_IRQCHIP, 0) < 0)
        return put_fail(out, "KVM_CREATE_IRQCHIP failed, errno ", (unsigned)errno, false);
    void *mem = mmap(NULL, GUEST_MEM, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (mem == MAP_FAILED)
        return put_fail(out, "mmap failed, errno ", (unsigned)errno, false);
    struct kvm_userspace_memory_region region = {
        .slot = 0, .guest_phys_addr = 0, .memory_size = GUEST_MEM, .userspace_addr = (uintptr_t)mem};
    if (xioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
        return put_fail(out, "KVM_SET_USER_MEMORY_REGION failed, errno ", (unsigned)errno, false);
    size_t size = (size_t)(kvm_guest_end - kvm_guest);
    memcpy((char *)mem + GUEST_LOAD, kvm_guest, size);
    uint32_t entry;
    memcpy(&entry, kvm_guest + 28, sizeof(entry)); /* multiboot entry_addr */

    int vcpu = xioctl(vm, KVM_CREATE_VCPU, 0);
    if (vcpu < 0)
        return put_fail(out, "KVM_CREATE_VCPU failed, errno ", (unsigned)errno, false);
    int run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (run_size < (int)sizeof(struct kvm_run))
        return put_fail(out, "bad KVM_GET_VCPU_MMAP_SIZE ", (unsigned)run_size, false);
    struct kvm_run *run = mmap(NULL, (size_t)run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
    if (run == MAP_FAILED)
        return put_fail(out, "mmap of the vCPU failed, errno ", (unsigned)errno, false);
    /* mmap rather than malloc: this process may be a fork of a threaded one. */
    struct kvm_cpuid2 *cpuid =
        mmap(NULL, sizeof(*cpuid) + CPUID_ENTRIES * sizeof(struct kvm_cpuid_entry2),
             PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (cpuid == MAP_FAILED)
        return put_fail(out, "mmap failed, errno ", (unsigned)errno, false);
    cpuid->nent = CPUID_ENTRIES;
    if (xioctl(kvm, KVM_GET_SUPPORTED_CPUID, cpuid) < 0 || xioctl(vcpu, KVM_SET_CPUID2, cpuid) < 0)
        return put_fail(out, "setting the guest CPUID failed, errno ", (unsigned)errno, false);
    struct kvm_sregs sregs;
    if (xioctl(vcpu, KVM_GET_SREGS, &sregs) < 0)
        return put_fail(out, "KVM_GET_SREGS failed, errno ", (unsigned)errno, false);
    set_flat_segments(&sregs);
    if (xioctl(vcpu, KVM_SET_SREGS, &sregs) < 0)
        return put_fail(out, "KVM_SET_SREGS failed, errno ", (unsigned)errno, false);
    struct kvm_regs regs = {.rflags = 2, .rip = entry, .rax = 0x2badb002};
    if (xioctl(vcpu, KVM_SET_REGS, &regs) < 0)
        return put_fail(out, "KVM_SET_REGS failed, errno ", (unsigned)errno, false);
    return run_guest(out, vcpu, run);
}

/* --- the parent */

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *stage_name(char c)
{
    switch (c) {
    case 'L':
        return "long mode";
    case 'H':
        return "kernel-style mapping";
    case 'P':
        return "page-fault handling";
    case 'T':
        return "timer interrupt";
    case 'K':
        return "speed loop";
    }
    return "start";
}

struct probe_out {
    char stages[16];
    size_t n_stages;
    char reason[HOSTCHECK_DETAIL];
    size_t n_reason;
    bool in_reason;
    long long t_timer, t_done;     /* wall clock */
    long long cpu_timer, cpu_done; /* the child's CPU time */
    bool have_cpu_clock;
    clockid_t cpu_clock;
};

static long long child_cpu_ms(const struct probe_out *o)
{
    struct timespec ts;
    if (!o->have_cpu_clock || clock_gettime(o->cpu_clock, &ts) < 0)
        return -1;
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Loop time so far: CPU time when the kernel tells us, else wall time. */
static long long loop_ms(const struct probe_out *o, long long wall_end, long long cpu_end)
{
    if (o->cpu_timer >= 0 && cpu_end >= 0)
        return cpu_end - o->cpu_timer;
    return wall_end - o->t_timer;
}

static void consume(struct probe_out *o, const char *buf, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = buf[i];
        if (o->in_reason || c == '#') {
            o->in_reason = true;
            if (c != '#' && c != '\n' && o->n_reason + 1 < sizeof(o->reason))
                o->reason[o->n_reason++] = c;
            continue;
        }
        if (o->n_stages + 1 < sizeof(o->stages))
            o->stages[o->n_stages++] = c;
        if (c == 'T') {
            o->t_timer = now_ms();
            o->cpu_timer = child_cpu_ms(o);
        }
        if (c == 'K') {
            o->t_done = now_ms();
            o->cpu_done = child_cpu_ms(o);
        }
    }
}

/* Reads the child's report until EOF or the deadline; true on EOF. Once
 * the loop runs, the child is checked every SPEED_BUDGET_MS of wall time
 * and stopped as soon as it has burnt its CPU budget. */
static bool collect(int fd, long long start, unsigned timeout_ms, struct probe_out *o)
{
    long long next_check = 0;
    for (;;) {
        long long now = now_ms(), deadline = start + timeout_ms;
        if (o->t_timer && !o->t_done) {
            if (!next_check)
                next_check = o->t_timer + SPEED_BUDGET_MS;
            if (now >= next_check) {
                long long used = loop_ms(o, now, child_cpu_ms(o));
                if (used >= SPEED_BUDGET_MS)
                    return false;
                next_check = now + SPEED_BUDGET_MS - used;
            }
            deadline = MIN(deadline, next_check);
        }
        long long left = deadline - now;
        if (left <= 0) {
            if (deadline == start + (long long)timeout_ms)
                return false;
            continue;
        }
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int r = poll(&p, 1, (int)left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r == 0)
            continue; /* a check point or the deadline: decided above */
        if (r < 0)
            return false;
        char buf[128];
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return true;
        consume(o, buf, (size_t)n);
    }
}

static void verdict(const struct probe_out *o, bool eof, int status, unsigned timeout_ms,
                    struct hostcheck_kvm *ret)
{
    char last = o->n_stages ? o->stages[o->n_stages - 1] : 0;
    ret->state = HOSTCHECK_KVM_FAILED;
    if (last == 'K' && loop_ms(o, o->t_done, o->cpu_done) < SPEED_BUDGET_MS) {
        ret->state = HOSTCHECK_KVM_USABLE;
        snprintf(ret->detail, sizeof(ret->detail),
                 "a 64-bit test guest ran (long mode, page fault, timer interrupt, 2M-iteration "
                 "loop in %lld ms)",
                 loop_ms(o, o->t_done, o->cpu_done));
    } else if (last == 'K' || (last == 'T' && !eof)) {
        ret->state = HOSTCHECK_KVM_TOO_SLOW;
        snprintf(ret->detail, sizeof(ret->detail),
                 "a 64-bit guest runs, but far below native speed: a 2M-iteration loop did not "
                 "finish in %d ms of CPU time (nested or emulated virtualization)",
                 SPEED_BUDGET_MS);
    } else if (last == '!') {
        snprintf(ret->detail, sizeof(ret->detail),
                 "the test guest saw wrong CPU behaviour after the %s stage",
                 stage_name(o->n_stages > 1 ? o->stages[o->n_stages - 2] : 0));
    } else if (o->n_reason) {
        snprintf(ret->detail, sizeof(ret->detail), "%.*s (after the %s stage)",
                 (int)o->n_reason, o->reason, stage_name(last));
    } else if (!eof) {
        snprintf(ret->detail, sizeof(ret->detail),
                 "the 64-bit test guest hung after the %s stage (killed after %u ms)",
                 stage_name(last), timeout_ms);
    } else if (WIFSIGNALED(status)) {
        snprintf(ret->detail, sizeof(ret->detail), "the probe process died with signal %d",
                 WTERMSIG(status));
    } else {
        snprintf(ret->detail, sizeof(ret->detail), "the probe ended early after the %s stage",
                 stage_name(last));
    }
}

int hostcheck_kvm_probe(const char *dev, unsigned timeout_ms, struct hostcheck_kvm *ret)
{
    if (!dev)
        dev = "/dev/kvm";
    if (!timeout_ms)
        timeout_ms = HOSTCHECK_KVM_TIMEOUT_MS;
    memset(ret, 0, sizeof(*ret));
    long long start = now_ms();
    int fd = open(dev, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        int r = errno;
        ret->state = r == ENOENT || r == ENODEV || r == ENXIO ? HOSTCHECK_KVM_ABSENT
                                                                : HOSTCHECK_KVM_NO_ACCESS;
        snprintf(ret->detail, sizeof(ret->detail), "%s: %s", dev, strerror(r));
        return 0;
    }
    close(fd);

    int pipefd[2];
    if (pipe2(pipefd, O_CLOEXEC) < 0)
        return -errno;
    pid_t pid = fork();
    if (pid < 0) {
        int r = -errno;
        close(pipefd[0]);
        close(pipefd[1]);
        return r;
    }
    if (pid == 0) {
        close(pipefd[0]);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        alarm(timeout_ms / 1000 + 2); /* backstop if the parent is gone */
        _exit(child_probe(pipefd[1], dev) < 0 ? 1 : 0);
    }
    close(pipefd[1]);
    struct probe_out o = {.cpu_timer = -1, .cpu_done = -1};
    o.have_cpu_clock = clock_getcpuclockid(pid, &o.cpu_clock) == 0;
    bool eof = collect(pipefd[0], start, timeout_ms, &o);
    close(pipefd[0]);
    if (!eof)
        kill(pid, SIGKILL);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    memcpy(ret->stages, o.stages, o.n_stages);
    ret->elapsed_ms = (unsigned)(now_ms() - start);
    verdict(&o, eof, status, timeout_ms, ret);
    return 0;
}
