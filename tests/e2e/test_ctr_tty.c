/* A terminal and stdin through `ctr run` into a real QEMU VM (TCG here):
 *   - `ctr run -t` under script(1), since ctr insists on a terminal: the
 *     container's process sees a pty (`tty`), the size ctr reads from its
 *     own terminal arrives through ResizePty (`stty size`), and the exit
 *     status still propagates;
 *   - `echo ... | ctr run ... cat`: piped stdin reaches the guest and its
 *     EOF ends cat (CloseIO), so the container exits 0.
 * Each boot ends with --rm, after which no QEMU, virtiofsd or shim process
 * of that id is left. Skips with a reason when QEMU, virtiofsd,
 * containerd, script, busybox or the guest assets are missing, or without
 * root. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/harness/harness.h"
#include "tests/support/busybox_image.h"
#include "tests/support/containerd_harness.h"
#include "tests/support/vm_ctr.h"

#define RUNTIME VMC_RUNTIME
#define IMG BUSYBOX_IMAGE_REF
#define SCRIPT_BIN "/usr/bin/script"
#define RUN_TIMEOUT_MS 120000

static struct vmc_containerd vm = VMC_CONTAINERD_INIT;
static struct ch_containerd *const ctd = &vm.c;
static struct vmc_paths paths;
static char kata_toml[PATH_MAX];

static void stop_all(void)
{
    vmc_containerd_stop(&vm, NULL, 0);
}

static int setup(void)
{
    int r = vmc_prereqs(&paths, "needs root (containerd, mounts, virtiofsd)", true);

    if (r)
        return r;
    if (access(SCRIPT_BIN, X_OK) < 0)
        return test_skip("%s not installed (apt-get install bsdutils)", SCRIPT_BIN);
    if (!vmc_guest_built(paths.guest))
        return test_skip("no guest assets in %s (make guest)", paths.guest);
    if (!kata_toml[0] && vmc_write_toml(kata_toml, sizeof(kata_toml), "kata-qemu.toml",
                                        &(struct vmc_toml){.guest_dir = paths.guest}) < 0)
        return 1;
    return vmc_containerd_up(&vm, stop_all);
}

#define SETUP() VMC_SETUP(setup())

static void show(const char *what, const struct ch_result *res)
{
    vmc_show(what, res, 400);
}

/* After --rm: no process of this id, no shim of this containerd. */
static int check_gone(const char *id)
{
    return vmc_check_gone(&vm, paths.shim, id,
                          VMC_GONE_SHIM | VMC_GONE_VIRTIOFSD | VMC_GONE_MOUNTS);
}

TEST(ctr_run_t_gives_the_container_a_sized_pty)
{
    char id[64], *cmd = NULL;
    struct ch_result res;

    SETUP();
    vmc_id(id, sizeof(id), "vm-tty");
    /* script's pty starts at 0x0; ctr reads the size set here and passes
     * it on (ResizePty), so the guest must report exactly 33 rows, 101
     * columns. The output starts with "^@": a NUL byte that script and
     * ctr put on the container's stdin, echoed by its pty (runc's
     * containers get it too). `tty` says /dev/pts/0, as with runc: the
     * pty comes from the container's own devpts. */
    if (asprintf(&cmd,
                 "stty rows 33 cols 101; exec %s -a %s run --rm -t --runtime %s "
                 "--runtime-config-path %s %s %s sh -c 'tty; stty size; exit 5'",
                 ctd->ctr_bin, ctd->sock, RUNTIME, kata_toml, IMG, id) < 0)
        abort();
    char *argv[] = {(char *)SCRIPT_BIN, (char *)"-qec", cmd, (char *)"/dev/null", NULL};
    ASSERT_OK(ch_run(argv, ctd->dir, NULL, NULL, 0, RUN_TIMEOUT_MS, &res));
    free(cmd);
    show("script -qec 'ctr run -t ... sh -c \"tty; stty size; exit 5\"'", &res);
    ASSERT_EQ(res.exit_code, 5);
    ASSERT_TRUE(strstr(res.output, "/dev/pts/0") != NULL);
    ASSERT_TRUE(strstr(res.output, "not a tty") == NULL);
    ASSERT_TRUE(strstr(res.output, "33 101") != NULL);
    ch_result_done(&res);
    return check_gone(id);
}

TEST(piped_stdin_reaches_the_vm_and_eof_ends_it)
{
    static const char input[] = "hello from a pipe\nsecond line\n";
    char id[64];
    struct ch_result res;

    SETUP();
    vmc_id(id, sizeof(id), "vm-stdin");
    ASSERT_OK(ch_ctr_input(ctd, RUN_TIMEOUT_MS, input, sizeof(input) - 1, &res, "run", "--rm",
                           "--runtime", RUNTIME, "--runtime-config-path", kata_toml, IMG, id,
                           "sh", "-c", "cat; echo done", NULL));
    show("printf ... | ctr run ... sh -c 'cat; echo done'", &res);
    ASSERT_EQ(res.exit_code, 0);
    ASSERT_STREQ(res.output, "hello from a pipe\nsecond line\ndone\n");
    ch_result_done(&res);
    ASSERT_EQ(check_gone(id), 0);
    stop_all();
    return 0;
}

/* `ctr task exec -t` into a running VM container: the exec'd process gets
 * a pty `tty` can name (it said "not a tty" while the pty came from the
 * guest's devpts, which the container's /dev/pts does not show), sized
 * like ctr's terminal. The same container shows the guest's loopback up
 * with 127.0.0.1 (the agent, as PID 1, brings it up). */
TEST(ctr_exec_t_names_its_pty_and_loopback_is_up)
{
    char id[64], *cmd = NULL;
    struct ch_result res;

    SETUP();
    vmc_id(id, sizeof(id), "vm-exec-tty");
    ASSERT_OK(ch_ctr(ctd, RUN_TIMEOUT_MS, &res, "run", "-d", "--runtime", RUNTIME,
                     "--runtime-config-path", kata_toml, IMG, id, "sleep", "600", NULL));
    show("ctr run -d sleep 600", &res);
    ASSERT_EQ(res.exit_code, 0);
    ch_result_done(&res);

    if (asprintf(&cmd,
                 "stty rows 21 cols 77; exec %s -a %s task exec -t --exec-id tty1 %s "
                 "sh -c 'tty; stty size; exit 6'",
                 ctd->ctr_bin, ctd->sock, id) < 0)
        abort();
    char *argv[] = {(char *)SCRIPT_BIN, (char *)"-qec", cmd, (char *)"/dev/null", NULL};
    ASSERT_OK(ch_run(argv, ctd->dir, NULL, NULL, 0, RUN_TIMEOUT_MS, &res));
    free(cmd);
    show("script -qec 'ctr task exec -t ... sh -c \"tty; stty size; exit 6\"'", &res);
    ASSERT_EQ(res.exit_code, 6);
    ASSERT_TRUE(strstr(res.output, "not a tty") == NULL);
    ASSERT_TRUE(strstr(res.output, "/dev/pts/") != NULL);
    ASSERT_TRUE(strstr(res.output, "21 77") != NULL);
    ch_result_done(&res);

    ASSERT_OK(ch_ctr(ctd, RUN_TIMEOUT_MS, &res, "task", "exec", "--exec-id", "lo1", id, "sh",
                     "-c", "ip addr show lo; ping -c1 -W5 127.0.0.1 >/dev/null && echo ping-ok",
                     NULL));
    show("ctr task exec ... ip addr show lo; ping -c1 127.0.0.1", &res);
    ASSERT_EQ(res.exit_code, 0);
    ASSERT_TRUE(strstr(res.output, "inet 127.0.0.1/8") != NULL);
    ASSERT_TRUE(strstr(res.output, ",UP") != NULL || strstr(res.output, "<UP") != NULL);
    ASSERT_TRUE(strstr(res.output, "ping-ok") != NULL);
    ch_result_done(&res);

    ASSERT_EQ(vmc_kill_task(&vm, id), 0);
    ASSERT_OK(ch_ctr(ctd, 30000, &res, "container", "rm", id, NULL));
    ASSERT_EQ(res.exit_code, 0);
    ch_result_done(&res);
    ASSERT_EQ(check_gone(id), 0);
    stop_all();
    return 0;
}
