/* kata-agent-ctl connect --vm (issue 5 item 7), end to end: the tool loads
 * a configuration, boots the VM through hypervisor/, talks to the real
 * agent in the guest (TCG here, KVM where it works), then stops the VM and
 * removes its state on success, on ^C, and never starts one for a bad
 * configuration. Two QEMU boots in all. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/harness/harness.h"
#include "tests/support/agent_ctl_run.h"

#define QEMU_BIN "/usr/bin/qemu-system-x86_64"
#define VIRTIOFSD "/usr/lib/qemu/virtiofsd"
#define RUN_TIMEOUT_MS 120000

static char ctl[PATH_MAX], marker[64];

/* Writes a [hypervisor.qemu] configuration for the built guest image;
 * 0, or a skip. kernel_params carries a marker that finds our QEMU. */
static int qemu_config(char *path, size_t size)
{
    char kernel_rel[PATH_MAX], initrd_rel[PATH_MAX], kernel[PATH_MAX], initrd[PATH_MAX];
    snprintf(ctl, sizeof(ctl), "%s/bin/kata-agent-ctl", actl_out_dir());
    snprintf(kernel_rel, sizeof(kernel_rel), "%s/guest/vmlinuz.container", actl_out_dir());
    snprintf(initrd_rel, sizeof(initrd_rel), "%s/guest/kata-containers-initrd.img", actl_out_dir());
    if (access(QEMU_BIN, X_OK) < 0)
        return test_skip("%s not installed", QEMU_BIN);
    if (!realpath(kernel_rel, kernel) || !realpath(initrd_rel, initrd))
        return test_skip("no guest image in %s/guest (make guest)", actl_out_dir());
    snprintf(marker, sizeof(marker), "agentctltest=%d", (int)getpid());
    bool vfs = access(VIRTIOFSD, X_OK) == 0;
    snprintf(path, size, "%s/qemu.toml", test_tmpdir());
    FILE *f = fopen(path, "w");
    if (!f)
        return 1;
    fprintf(f,
            "[hypervisor.qemu]\n"
            "path = \"%s\"\nvalid_hypervisor_paths = [\"%s\"]\n"
            "kernel = \"%s\"\ninitrd = \"%s\"\n"
            "kernel_params = \"%s\"\n"
            "default_memory = 256\n"
            "shared_fs = \"%s\"\n"
            "virtio_fs_daemon = \"%s\"\nvalid_virtio_fs_daemon_paths = [\"%s\"]\n"
            "\n[agent.kata]\ndial_timeout = 60\n",
            QEMU_BIN, QEMU_BIN, kernel, initrd, marker, vfs ? "virtio-fs" : "none", VIRTIOFSD,
            VIRTIOFSD);
    fclose(f);
    return 0;
}

/* After sigint_after shows up in the output, SIGINT (once). */
static void sigint_watch(pid_t pid, const char *out, void *userdata)
{
    const char **after = userdata;

    if (*after && strstr(out, *after)) {
        kill(pid, SIGINT);
        *after = NULL;
    }
}

/* Runs ctl with args (NULL-terminated) and its output in out (its tail if
 * it overflows); after sigint_after (text on stdout), sends SIGINT.
 * Returns the exit status (128+N for a signal) or -1. */
static int run_ctl(const char *const *args, const char *sigint_after, char *out, size_t size)
{
    return actl_run(ctl, args, RUN_TIMEOUT_MS, true, out, size, sigint_watch, &sigint_after);
}

/* The state folder the tool announced is gone (other runs may share the
 * parent folder, so it is checked by name). */
static bool state_folder_gone(const char *out)
{
    char path[PATH_MAX];

    if (!strstr(out, "state folder "))
        return true; /* never created (a bad configuration) */
    if (!actl_state_folder(out, path, sizeof(path)))
        return false;
    printf("#   state folder %s: %s\n", path, access(path, F_OK) < 0 ? "gone" : "LEFT BEHIND");
    return access(path, F_OK) < 0;
}

/* Entries in dir, or 0 when it does not exist; prefix "" counts all. */
static int count_entries(const char *dir, const char *prefix)
{
    DIR *d = opendir(dir);
    int n = 0;
    if (!d)
        return 0;
    for (struct dirent *de; (de = readdir(d));)
        if (de->d_name[0] != '.' && strncmp(de->d_name, prefix, strlen(prefix)) == 0)
            n++;
    closedir(d);
    return n;
}

/* Processes whose command line holds our marker (QEMU's -append). */
static int marked_processes(void)
{
    DIR *d = opendir("/proc");
    int n = 0;
    for (struct dirent *de; d && (de = readdir(d));) {
        char path[300], buf[8192];
        if (de->d_name[0] < '0' || de->d_name[0] > '9')
            continue;
        snprintf(path, sizeof(path), "/proc/%s/cmdline", de->d_name);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue;
        ssize_t len = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        for (ssize_t i = 0; i < len; i++)
            if (!buf[i])
                buf[i] = ' ';
        buf[len > 0 ? len : 0] = '\0';
        if (strstr(buf, marker))
            n++;
    }
    if (d)
        closedir(d);
    return n;
}

TEST(qemu_check_and_guest_details_then_nothing_left)
{
    char conf[PATH_MAX], out[65536];
    int r = qemu_config(conf, sizeof(conf));
    if (r)
        return r;
    const char *args[] = {"connect", "--vm", "qemu", "--config", conf,
                          "-c", "Check", "-c", "GetGuestDetails", NULL};
    long long t0 = actl_now_ms();
    ASSERT_EQ(run_ctl(args, NULL, out, sizeof(out)), 0);
    printf("#   connect --vm qemu: %lld ms\n", actl_now_ms() - t0);
    ASSERT_TRUE(strstr(out, "\"status\": \"SERVING\"") != NULL);
    ASSERT_TRUE(strstr(out, "\"agent_details\"") != NULL);
    ASSERT_TRUE(strstr(out, "state folder ") != NULL);
    ASSERT_TRUE(strstr(out, "\"version\": \"") != NULL);
    ASSERT_EQ(marked_processes(), 0);
    ASSERT_TRUE(state_folder_gone(out));
    ASSERT_EQ(count_entries(test_tmpdir(), "kata-agent-ctl-"), 0);
    return 0;
}

TEST(sigint_stops_the_vm_and_cleans_up)
{
    char conf[PATH_MAX], out[65536];
    int r = qemu_config(conf, sizeof(conf));
    if (r)
        return r;
    const char *args[] = {"connect", "--vm", "qemu", "--config", conf,
                          "-c", "Check", "-c", "sleep 120s", NULL};
    ASSERT_EQ(run_ctl(args, "SERVING", out, sizeof(out)), 128 + SIGINT);
    ASSERT_TRUE(strstr(out, "\"status\": \"SERVING\"") != NULL);
    ASSERT_EQ(marked_processes(), 0);
    ASSERT_TRUE(state_folder_gone(out));
    ASSERT_EQ(count_entries(test_tmpdir(), "kata-agent-ctl-"), 0);
    return 0;
}

TEST(mock_and_bad_config)
{
    char conf[PATH_MAX], agent_rel[PATH_MAX], agent[PATH_MAX], out[65536];
    snprintf(ctl, sizeof(ctl), "%s/bin/kata-agent-ctl", actl_out_dir());
    snprintf(agent_rel, sizeof(agent_rel), "%s/bin/kata-agent", actl_out_dir());
    if (access(ctl, X_OK) < 0 || !realpath(agent_rel, agent))
        return test_skip("%s or %s not built", ctl, agent_rel);

    snprintf(conf, sizeof(conf), "%s/mock.toml", test_tmpdir());
    FILE *f = fopen(conf, "w");
    ASSERT_TRUE(f != NULL);
    fprintf(f, "[hypervisor.mock]\npath = \"%s\"\n", agent);
    fclose(f);
    const char *mock[] = {"connect", "--vm", "mock", "--config", conf,
                          "-c", "Check", "-c", "GetGuestDetails", NULL};
    ASSERT_EQ(run_ctl(mock, NULL, out, sizeof(out)), 0);
    ASSERT_TRUE(strstr(out, "\"status\": \"SERVING\"") != NULL);
    ASSERT_TRUE(strstr(out, "\"version\": \"") != NULL);
    ASSERT_TRUE(strstr(out, "state folder ") != NULL);
    ASSERT_TRUE(state_folder_gone(out));

    /* the configuration is for another hypervisor */
    const char *other[] = {"connect", "--vm", "qemu", "--config", conf, "-c", "Check", NULL};
    ASSERT_EQ(run_ctl(other, NULL, out, sizeof(out)), 1);
    ASSERT_TRUE(strstr(out, "configures [hypervisor.mock], not --vm qemu") != NULL);

    /* a bad value: FILE:LINE and key, exit 1, nothing started */
    snprintf(conf, sizeof(conf), "%s/bad.toml", test_tmpdir());
    f = fopen(conf, "w");
    ASSERT_TRUE(f != NULL);
    fprintf(f, "[hypervisor.qemu]\npath = \"%s\"\ndefault_vcpus = \"two\"\n", QEMU_BIN);
    fclose(f);
    const char *bad[] = {"connect", "--vm", "qemu", "--config", conf, "-c", "Check", NULL};
    ASSERT_EQ(run_ctl(bad, NULL, out, sizeof(out)), 1);
    char want[PATH_MAX + 64];
    snprintf(want, sizeof(want), "%s:3: [hypervisor.qemu] default_vcpus", conf);
    ASSERT_TRUE(strstr(out, want) != NULL);

    /* an unknown hypervisor is a usage error */
    const char *unknown[] = {"connect", "--vm", "bochs", "-c", "Check", NULL};
    ASSERT_EQ(run_ctl(unknown, NULL, out, sizeof(out)), 2);

    ASSERT_TRUE(state_folder_gone(out));
    ASSERT_EQ(count_entries(test_tmpdir(), "kata-agent-ctl-"), 0);
    return 0;
}
