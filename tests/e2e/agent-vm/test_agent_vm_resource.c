/* The agent as PID 1 in a real QEMU guest (TCG here, KVM where it works),
 * driven by kata-agent-ctl connect --vm qemu: kernel parameters (an
 * unknown agent.foo=1 is only logged; agent.hotplug_timeout=7 is obeyed;
 * agent.debug_console and agent.log_vport explain why they cannot be had
 * in an image without a shell and a VM without vsock),
 * PID-1 duties seen from the guest console, and the resource RPCs that
 * only a VM may exercise: OnlineCPUMem onlines the CPU that maxcpus=1 left
 * offline (2 vCPUs; GetMetrics' kata_guest_cpus_online goes from 1 to 2),
 * SetGuestDateTime moves the guest clock (kata_guest_time_seconds),
 * ReseedRandomDev, MemHotplugByProbe on a kernel without the probe
 * interface, GetGuestDetails. A second boot asks for the unified cgroup
 * hierarchy and debug logs; a third, through hypervisor/ directly, gives the
 * agent an address it cannot serve: as PID 1 it must power the VM off. */
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hypervisor/hv.h"
#include "lib/compiler.h"
#include "lib/fd.h"
#include "tests/harness/harness.h"
#include "tests/support/agent_ctl_run.h"
#include "tests/support/vm_agent.h"

#define RUN_TIMEOUT_MS 300000
#define CONSOLE_MARK "console-now"

/* A [hypervisor.qemu] configuration for the built guest image with two
 * vCPUs, one of them left offline by maxcpus=1. */
static int write_config(char *path, size_t size, char *ctl, size_t ctl_size, const char *params)
{
    struct vma_guest g;
    int r = vma_guest_find(&g, "guest", false);
    if (r)
        return r;
    snprintf(ctl, ctl_size, "%s/bin/kata-agent-ctl", actl_out_dir());
    if (access(ctl, X_OK) < 0)
        return test_skip("%s not built", ctl);
    bool vfs = access(VMA_VIRTIOFSD_BIN, X_OK) == 0;
    snprintf(path, size, "%s/qemu.toml", test_tmpdir());
    FILE *f = fopen(path, "w");
    if (!f)
        return 1;
    fprintf(f,
            "[hypervisor.qemu]\n"
            "path = \"%s\"\nvalid_hypervisor_paths = [\"%s\"]\n"
            "kernel = \"%s\"\ninitrd = \"%s\"\n"
            "kernel_params = \"%s agentvmres=%d\"\n"
            "default_vcpus = 2\ndefault_maxvcpus = 2\n"
            "default_memory = 256\n"
            "shared_fs = \"%s\"\n"
            "virtio_fs_daemon = \"%s\"\nvalid_virtio_fs_daemon_paths = [\"%s\"]\n"
            "\n[agent.kata]\ndial_timeout = 120\n",
            VMA_QEMU_BIN, VMA_QEMU_BIN, g.kernel, g.initrd, params, (int)getpid(),
            vfs ? "virtio-fs" : "none", VMA_VIRTIOFSD_BIN, VMA_VIRTIOFSD_BIN);
    fclose(f);
    return 0;
}

struct console_copy {
    char *buf;
    size_t size;
    bool copied;
};

/* When CONSOLE_MARK shows up, copies the guest console log (QEMU's
 * console.log in the state folder's vm/, where hypervisor/ keeps the VM's
 * files) while the VM still runs. */
static void console_watch(pid_t pid, const char *out, void *userdata)
{
    struct console_copy *c = userdata;
    char dir[PATH_MAX], file[PATH_MAX + 16];

    (void)pid;
    if (c->copied || !strstr(out, CONSOLE_MARK) || !actl_state_folder(out, dir, sizeof(dir)))
        return;
    snprintf(file, sizeof(file), "%s/vm/console.log", dir);
    int fd = open(file, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        ssize_t n = read(fd, c->buf, c->size - 1);
        c->buf[n > 0 ? n : 0] = '\0';
        close(fd);
    }
    c->copied = true;
}

/* Runs ctl with args; its output in out (reading stops when it is full).
 * When CONSOLE_MARK shows up, the guest console log is copied into
 * console. Returns the exit status, or -1. */
static int run_ctl(const char *ctl, const char *const *args, char *out, size_t size, char *console,
                   size_t console_size)
{
    struct console_copy c = {.buf = console, .size = console_size};

    console[0] = '\0';
    int rc = actl_run(ctl, args, RUN_TIMEOUT_MS, false, out, size, console_watch, &c);
    printf("#   guest console:\n%s", console);
    return rc;
}

/* Position of needle in hay after from, or -1. */
static long find(const char *hay, const char *needle, long from)
{
    if (from < 0)
        return -1;
    const char *p = strstr(hay + from, needle);
    return p ? (long)(p - hay) : -1;
}

TEST(pid1_cmdline_and_resource_rpcs)
{
    char conf[PATH_MAX], ctl[PATH_MAX];
    int r = write_config(conf, sizeof(conf), ctl, sizeof(ctl),
                         "maxcpus=1 agent.foo=1 agent.hotplug_timeout=7 agent.cdh_api_timeout=50 "
                         "agent.debug_console agent.debug_console_vport=1026 agent.log_vport=1025");
    if (r)
        return r;
    static char out[1 << 20], console[1 << 18];
    const char *args[] = {
        "connect", "--vm", "qemu", "--config", conf, "--ignore-errors", "-c", "Check", "-c",
        "GetGuestDetails", "-c", "echo metrics-before", "-c", "GetMetrics", "-c",
        "OnlineCPUMem json://{\"wait\": true, \"nb_cpus\": 1, \"cpu_only\": true}", "-c",
        "echo metrics-after", "-c", "GetMetrics",
        /* memory too (nothing offline: quick), and an impossible count,
         * which must fail after agent.hotplug_timeout=7 */
        "-c", "OnlineCPUMem json://{\"wait\": true}", "-c",
        "OnlineCPUMem json://{\"wait\": true, \"nb_cpus\": 6, \"cpu_only\": true}", "-c",
        "ReseedRandomDev data=hex:00112233445566778899aabbccddeeff", "-c",
        "MemHotplugByProbe json://{\"memHotplugProbeAddr\": [4294967296]}", "-c",
        "SetGuestDateTime Sec=2000000000 Usec=0", "-c", "echo metrics-time", "-c", "GetMetrics",
        "-c", "echo " CONSOLE_MARK, "-c", "sleep 2s", NULL};
    long long t0 = actl_now_ms();
    int rc = run_ctl(ctl, args, out, sizeof(out), console, sizeof(console));
    printf("#   run: %lld ms, exit %d\n", actl_now_ms() - t0, rc);
    ASSERT_EQ(rc, 0);

    /* agent.foo=1 did not stop the agent: it serves, as PID 1. */
    ASSERT_TRUE(strstr(out, "\"status\": \"SERVING\"") != NULL);
    ASSERT_TRUE(strstr(out, "\"init_daemon\": true") != NULL);
    ASSERT_TRUE(strstr(out, "\"virtio-fs\"") != NULL);
    ASSERT_TRUE(strstr(out, "\"support_mem_hotplug_probe\": false") != NULL);
    ASSERT_TRUE(strstr(out, "\"mem_block_size_bytes\": 0") == NULL);

    /* CPU 1 was offline, and OnlineCPUMem brought it up. */
    long before = find(out, "metrics-before", 0);
    long after = find(out, "metrics-after", 0);
    ASSERT_TRUE(before >= 0 && after > before);
    long one = find(out, "kata_guest_cpus_online 1\\n", before);
    ASSERT_TRUE(one > before && one < after);
    ASSERT_TRUE(find(out, "kata_guest_cpus_online 2\\n", after) > after);

    /* agent.hotplug_timeout=7 (seconds) is what the impossible count waited. */
    ASSERT_TRUE(strstr(out, "nb_cpus: 6 requested") != NULL);
    ASSERT_TRUE(strstr(out, "within 7000 ms") != NULL);
    ASSERT_TRUE(strstr(out, "ERROR: ReseedRandomDev") == NULL);
    ASSERT_TRUE(strstr(out, "ERROR: SetGuestDateTime") == NULL);
    ASSERT_TRUE(strstr(out, "ERROR: OnlineCPUMem: Unimplemented") == NULL);
    /* the Debian cloud kernel has no memory probe interface */
    ASSERT_TRUE(strstr(out, "ERROR: MemHotplugByProbe") != NULL);
    ASSERT_TRUE(strstr(out, "memory probe interface") != NULL);

    /* SetGuestDateTime: the guest clock now reads 2033 (2000000000 + a
     * few seconds). */
    long when = find(out, "metrics-time", 0);
    ASSERT_TRUE(when > after);
    ASSERT_TRUE(find(out, "kata_guest_time_seconds 20000", when) > when);

    /* What PID 1 logged on the console: the unknown parameter, the ignored
     * one, the hotplug timeout not refused, and the cgroup choice. */
    ASSERT_TRUE(strstr(console, "unknown kernel parameter agent.foo ignored") != NULL);
    ASSERT_TRUE(strstr(console, "agent.cdh_api_timeout ignored") != NULL);
    ASSERT_TRUE(strstr(console, "kernel parameter agent.hotplug_timeout") == NULL);
    ASSERT_TRUE(strstr(console, "running as PID 1") != NULL);
    ASSERT_TRUE(strstr(console, "cgroup v") != NULL);
    /* Our initrd has no shell (and were one added, this VM has no vsock):
     * both extras say why they are not there, and the agent serves. */
    ASSERT_TRUE(strstr(console, "no debug console can be offered") != NULL ||
                strstr(console, "debug_console_vport=1026: this VM has no virtio-vsock") != NULL);
    ASSERT_TRUE(strstr(console, "agent.log_vport=1025: this VM has no virtio-vsock device") !=
                NULL);
    return 0;
}

/* With the unified hierarchy asked for, cgroup2 is mounted without trying
 * v1 first; agent.log=debug reaches the console; agent.kernel_modules and
 * agent.container_pipe_size are acted on or explained. */
TEST(unified_cgroups_and_debug_log)
{
    char conf[PATH_MAX], ctl[PATH_MAX];
    int r = write_config(conf, sizeof(conf), ctl, sizeof(ctl),
                         "systemd.unified_cgroup_hierarchy=1 agent.log=debug "
                         "agent.kernel_modules=virtio_rng,nosuchmod agent.container_pipe_size=65536");
    if (r)
        return r;
    static char out[1 << 20], console[1 << 18];
    /* agent.kernel_modules load after the agent serves; an AgentService
     * call (GetGuestDetails) is answered only once they are in (agent/kmod.h). */
    const char *args[] = {"connect", "--vm",  "qemu", "--config", conf, "-c", "Check", "-c",
                          "GetGuestDetails", "-c", "echo " CONSOLE_MARK, "-c", "sleep 2s", NULL};
    ASSERT_EQ(run_ctl(ctl, args, out, sizeof(out), console, sizeof(console)), 0);
    ASSERT_TRUE(strstr(out, "\"status\": \"SERVING\"") != NULL);
    ASSERT_TRUE(strstr(console, "cgroup v2 mounted on /sys/fs/cgroup") != NULL);
    ASSERT_TRUE(strstr(console, "lacks the memory controller") == NULL);
    ASSERT_TRUE(strstr(console, "level=debug") != NULL);
    ASSERT_TRUE(strstr(console, "unknown kernel parameter") == NULL);
    /* agent.kernel_modules: one the initrd has (loaded at boot already:
     * fine), one it lacks (said so, not fatal) */
    ASSERT_TRUE(strstr(console, "agent.kernel_modules: virtio_rng loaded") != NULL);
    ASSERT_TRUE(strstr(console, "cannot load nosuchmod from the initrd") != NULL);
    ASSERT_TRUE(strstr(console, "agent.container_pipe_size=65536: applied") != NULL);
    return 0;
}

/* A fatal error (here: an agent.server_addr it cannot listen on) is logged
 * and the VM powered off: QEMU exits on its own, and the kernel never
 * panics over a dead init. */
TEST(fatal_error_powers_the_vm_off)
{
    struct vma_guest guest;
    int r = vma_guest_find(&guest, "guest", false);
    if (r)
        return r;
    const struct vma_opts opts = {.name = "fatal", .guest = &guest,
                                  .shared_fs = HV_SHARED_FS_NONE,
                                  .kernel_params =
                                      "agent.server_addr=unix:///nonexistent/dir/agent.sock"};
    _cleanup_(vma_done) struct vma_vm v = {0};
    ASSERT_EQ(vma_launch(&v, &opts), 0);
    /* QEMU's exit is the power-off; a guest left running fails the test. */
    r = fd_wait(hv_vm_pidfd(v.hv), POLLIN, RUN_TIMEOUT_MS);
    static char console[1 << 18];
    vma_console_read(&v, console, sizeof(console));
    printf("#   guest console:\n%s", console);
    ASSERT_GT(r, 0);
    ASSERT_TRUE(strstr(console, "cannot serve the agent API") != NULL);
    ASSERT_TRUE(strstr(console, "powering the VM off") != NULL);
    ASSERT_TRUE(strstr(console, "Kernel panic") == NULL);
    return 0;
}
