/* The product's main job end to end: a private containerd 1.6 runs
 * `ctr run --rm --runtime io.containerd.kata.v2` with a test
 * configuration.toml selecting the REAL QEMU driver (TCG here), our guest
 * kernel and initrd (kata-agent as PID 1), and the rootfs shared through
 * virtiofsd (tag kataShared). Four boots: echo hi, an exit status with a
 * read-only host bind mount, a detached container (exec, ps, delete), and
 * `uname -r`, which must print the guest kernel's release, not the host's.
 * After --rm nothing may be left: no QEMU, virtiofsd or shim process, no
 * mount under the shared folders, no shim socket, no VM state folder.
 * Skips with a reason when QEMU, virtiofsd, containerd, busybox or the
 * guest assets are missing, or without root. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "lib/compiler.h"
#include "tests/harness/harness.h"
#include "tests/support/busybox_image.h"
#include "tests/support/containerd_harness.h"
#include "tests/support/vm_ctr.h"

#define RUNTIME VMC_RUNTIME
#define IMG BUSYBOX_IMAGE_REF
#define QEMU_BIN VMC_QEMU_BIN
#define RUN_TIMEOUT_MS 120000

static struct vmc_containerd vm = VMC_CONTAINERD_INIT;
static struct ch_containerd *const ctd = &vm.c;
static struct vmc_paths paths;
static char kata_toml[PATH_MAX], guest_release[512];

static const char *const bases[] = {"vm-hi", "vm-exit", "vm-life", "vm-uname"};
#define ID(var, base)                                                                              \
    char var[64];                                                                                  \
    vmc_id(var, sizeof(var), base)

static void stop_all(void)
{
    char ids[ELEMENTSOF(bases)][64];
    const char *names[ELEMENTSOF(bases)];

    for (size_t i = 0; i < ELEMENTSOF(bases); i++) {
        vmc_id(ids[i], sizeof(ids[i]), bases[i]);
        names[i] = ids[i];
    }
    vmc_containerd_stop(&vm, names, ELEMENTSOF(bases));
}

/* KVER=... from the guest build's kernel.env: the release uname -r prints. */
static int read_guest_release(const char *guest_dir)
{
    char path[PATH_MAX + 48], line[512];
    FILE *f;

    snprintf(path, sizeof(path), "%s/kernel.env", guest_dir);
    if (!(f = fopen(path, "re")))
        return -errno;
    while (fgets(line, sizeof(line), f))
        if (strncmp(line, "KVER=", 5) == 0) {
            line[strcspn(line, "\n")] = '\0';
            snprintf(guest_release, sizeof(guest_release), "%s", line + 5);
        }
    fclose(f);
    return guest_release[0] ? 0 : -ENOENT;
}

static int setup(void)
{
    int r = vmc_prereqs(&paths, "needs root (containerd, mounts, virtiofsd)", true);

    if (r)
        return r;
    if (!vmc_guest_built(paths.guest) || read_guest_release(paths.guest) < 0)
        return test_skip("no guest assets in %s (make guest)", paths.guest);
    if (!kata_toml[0] && vmc_write_toml(kata_toml, sizeof(kata_toml), "kata-qemu.toml",
                                        &(struct vmc_toml){.guest_dir = paths.guest}) < 0)
        return 1;
    return vmc_containerd_up(&vm, stop_all);
}

#define SETUP() VMC_SETUP(setup())

#define RUN_ARGS "run", "--rm", "--runtime", RUNTIME, "--runtime-config-path", kata_toml

static void show(const char *what, const struct ch_result *res)
{
    vmc_show(what, res, 400);
    if (res->exit_code != 0 && res->exit_code != 3)
        ch_print_file(ctd->log, "containerd: ");
}

/* Nothing of the sandbox id survives --rm. */
static int check_gone(const char *id)
{
    return vmc_check_gone(&vm, paths.shim, id, VMC_GONE_ALL);
}

TEST(ctr_run_echo_hi_in_a_vm)
{
    struct ch_result res;

    SETUP();
    ID(id, "vm-hi");
    ASSERT_OK(ch_ctr(ctd, RUN_TIMEOUT_MS, &res, RUN_ARGS, IMG, id, "echo", "hi", NULL));
    show("ctr run echo hi", &res);
    ASSERT_EQ(res.exit_code, 0);
    ASSERT_STREQ(res.output, "hi\n");
    ch_result_done(&res);
    return check_gone(id);
}

/* Also a host bind mount (read-only), shared through virtio-fs. */
TEST(exit_status_and_bind_mount_in_the_vm)
{
    struct ch_result res;
    char mnt[PATH_MAX + 64];

    SETUP();
    ID(id, "vm-exit");
    ASSERT_OK(vmc_ro_volume(mnt, sizeof(mnt), "from the host\n"));
    ASSERT_OK(ch_ctr(ctd, RUN_TIMEOUT_MS, &res, "run", "--rm", "--runtime", RUNTIME,
                     "--runtime-config-path", kata_toml, "--mount", mnt, IMG, id, "sh", "-c",
                     VMC_RO_VOLUME_SCRIPT, NULL));
    show("ctr run --mount ... sh -c 'cat /data/msg; exit 3'", &res);
    ASSERT_EQ(res.exit_code, 3);
    ASSERT_STREQ(res.output, "from the host\n");
    ch_result_done(&res);
    return check_gone(id);
}

/* A detached container: an exec named like the container (containerd
 * allows it; the shim gives the agent its own exec id, as Kata does),
 * `ctr task ps` listing the VMM (Kata's rule: guest pids are not visible),
 * then kill, `ctr task rm` and `ctr container rm`: the VM stops with the
 * last container and nothing is left. */
TEST(detached_exec_ps_and_delete_stop_the_vm)
{
    struct ch_result res;
    char path[PATH_MAX], qpid[32] = "";
    FILE *f;

    SETUP();
    ID(id, "vm-life");
    ASSERT_OK(ch_ctr(ctd, RUN_TIMEOUT_MS, &res, "run", "-d", "--runtime", RUNTIME,
                     "--runtime-config-path", kata_toml, IMG, id, "sleep", "600", NULL));
    show("ctr run -d sleep 600", &res);
    ASSERT_EQ(res.exit_code, 0);
    ch_result_done(&res);
    snprintf(path, sizeof(path), "/run/vc/vm/%s/qemu.pid", id);
    ASSERT_TRUE((f = fopen(path, "re")) != NULL);
    ASSERT_TRUE(fgets(qpid, sizeof(qpid), f) != NULL);
    fclose(f);
    qpid[strcspn(qpid, "\n")] = '\0';

    ASSERT_OK(ch_ctr(ctd, RUN_TIMEOUT_MS, &res, "task", "exec", "--exec-id", id, id, "echo",
                     "same-name", NULL));
    show("ctr task exec --exec-id <container id>", &res);
    ASSERT_EQ(res.exit_code, 0);
    ASSERT_STREQ(res.output, "same-name\n");
    ch_result_done(&res);

    ASSERT_OK(ch_ctr(ctd, 30000, &res, "task", "ps", id, NULL));
    show("ctr task ps", &res);
    printf("#   QEMU pid %s\n", qpid);
    ASSERT_EQ(res.exit_code, 0);
    ASSERT_TRUE(qpid[0] && strstr(res.output, qpid) != NULL);
    ch_result_done(&res);

    ASSERT_EQ(vmc_kill_task(&vm, id), 0);
    /* The VM goes with the task, before `container rm`. */
    for (int i = 0; i < 100 && ch_count_processes_with(QEMU_BIN, id) > 0; i++)
        usleep(100000);
    ASSERT_EQ(ch_count_processes_with(QEMU_BIN, id), 0);
    ASSERT_OK(ch_ctr(ctd, 30000, &res, "container", "rm", id, NULL));
    ASSERT_EQ(res.exit_code, 0);
    ch_result_done(&res);
    return check_gone(id);
}

TEST(uname_shows_the_guest_kernel)
{
    struct ch_result res;
    struct utsname host;
    char expect[sizeof(guest_release) + 2];

    SETUP();
    ID(id, "vm-uname");
    ASSERT_OK(uname(&host) < 0 ? -errno : 0);
    ASSERT_OK(ch_ctr(ctd, RUN_TIMEOUT_MS, &res, RUN_ARGS, IMG, id, "uname", "-r", NULL));
    show("ctr run uname -r", &res);
    printf("#   host kernel %s, guest kernel %s\n", host.release, guest_release);
    ASSERT_EQ(res.exit_code, 0);
    snprintf(expect, sizeof(expect), "%s\n", guest_release);
    ASSERT_STREQ(res.output, expect);
    ASSERT_TRUE(strcmp(guest_release, host.release) != 0);
    ch_result_done(&res);
    ASSERT_EQ(check_gone(id), 0);
    stop_all();
    return 0;
}

/* Log URIs in a real VM: `ctr run --log-uri binary:///...` starts a logger
 * script (fds 3 and 4 copied to files, ready by closing fd 5) that gets
 * 100 KB of stdout and a stderr line from the guest, and has finished when
 * ctr returns. (The megabyte runs under the mock driver: through QEMU a
 * large output stalls now and then, FIFOs or not.) (Set up again if an
 * earlier test stopped containerd.) */
TEST(log_uri_binary_logger_in_the_vm)
{
    struct ch_result res;
    char dir[PATH_MAX], script[PATH_MAX + 16], text[3 * PATH_MAX + 256], uri[PATH_MAX + 64],
        path[PATH_MAX + 16];
    size_t expect = 0;
    long size = -1;
    FILE *f;

    SETUP();
    ID(id, "vm-loguri");
    snprintf(dir, sizeof(dir), "%s/vm-logger", test_tmpdir());
    ASSERT_OK(mkdir(dir, 0755) < 0 && errno != EEXIST ? -errno : 0);
    snprintf(script, sizeof(script), "%s/logger.sh", dir);
    snprintf(text, sizeof(text),
             "#!/bin/sh\n"
             "cat <&3 > %1$s/out 4<&- 5>&- &\n"
             "cat <&4 > %1$s/err 3<&- 5>&- &\n"
             "exec 3<&- 4<&- 5>&-\n"
             "wait\n"
             "echo \"$1 $2 $CONTAINER_ID\" > %1$s/done\n",
             dir);
    ASSERT_TRUE((f = fopen(script, "w")) != NULL);
    fputs(text, f);
    fclose(f);
    ASSERT_OK(chmod(script, 0755) < 0 ? -errno : 0);
    snprintf(uri, sizeof(uri), "binary://%s?tag=vm", script);
    ASSERT_OK(ch_ctr(ctd, RUN_TIMEOUT_MS, &res, RUN_ARGS, "--log-uri", uri, IMG, id, "sh", "-c",
                     "seq 1 20000; echo vm-stderr >&2", NULL));
    show("ctr run --log-uri binary://... seq 1 20000", &res);
    ASSERT_EQ(res.exit_code, 0);
    ASSERT_EQ(res.len, 0);
    ch_result_done(&res);
    for (unsigned i = 1; i <= 20000; i++)
        expect += (size_t)snprintf(text, sizeof(text), "%u\n", i);
    snprintf(path, sizeof(path), "%s/out", dir);
    if ((f = fopen(path, "re"))) {
        fseek(f, 0, SEEK_END);
        size = ftell(f);
        fclose(f);
    }
    printf("#   logger got %ld bytes of stdout, %zu expected\n", size, expect);
    ASSERT_EQ(size, (long)expect);
    snprintf(path, sizeof(path), "%s/err", dir);
    ASSERT_TRUE(ch_file_contains(path, "vm-stderr"));
    snprintf(path, sizeof(path), "%s/done", dir);
    snprintf(text, sizeof(text), "tag vm %s", id);
    ASSERT_TRUE(ch_file_contains(path, text));
    ASSERT_EQ(ch_count_processes_with("/usr/bin/dash", script), 0);
    ASSERT_EQ(check_gone(id), 0);
    stop_all();
    return 0;
}
