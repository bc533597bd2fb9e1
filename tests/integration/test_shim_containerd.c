/* containerd-shim-kata-v2 end to end under a real, private containerd 1.6
 * (own root, state and sockets; PATH starting with build/bin so that
 * `--runtime io.containerd.kata.v2` resolves to our binary), the offline
 * busybox image, the mock hypervisor driver and the real kata-agent. The
 * driver is chosen by a test configuration.toml ([hypervisor.mock] path =
 * build/bin/kata-agent) passed with --runtime-config-path, i.e. through
 * the Create options' ConfigPath. One containerd serves every test of
 * this file; the last test stops everything and checks that no shim,
 * mount or socket is left. Skips when containerd, ctr, busybox or
 * kata-agent is missing, or without root. */
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/compiler.h"
#include "shim/address.h"
#include "tests/harness/harness.h"
#include "tests/support/busybox_image.h"
#include "tests/support/containerd_harness.h"
#include "tests/support/vm_ctr.h"

#define IMG BUSYBOX_IMAGE_REF

/* The containerd of vm_ctr.h, shared by every test; its containers run on
 * the mock driver, configured in kata_toml. */
static struct vmc_containerd ctd = VMC_CONTAINERD_INIT;
static struct vmc_paths paths;
static char kata_toml[PATH_MAX];

/* Container ids carry the test's pid (vmc_id): /run/vc/vm/<id> and the
 * shared folder are host-global, and another run may be going on. */
static const char *const bases[] = {"c1",   "c-exit", "c-big", "d1", "pod1-c",
                                    "pod1", "pod2-c", "pod2",  "dead1", "r1"};
#define ID(var, base)                                                                              \
    char var[64];                                                                                  \
    vmc_id(var, sizeof(var), base)

/* A failed test must not leave tasks (and shims) behind. */
static void stop_all(void)
{
    vmc_containerd_stop_bases(&ctd, bases, ELEMENTSOF(bases));
}

/* Starts the shared containerd once; 0, TEST_SKIP or 1. */
static int setup(void)
{
    if (ctd.up)
        return 0;
    int r = vmc_mock_prereqs(&paths, kata_toml, sizeof(kata_toml));
    return r ? r : vmc_containerd_up(&ctd, stop_all);
}

#define CTR(res, ...) ASSERT_OK(ch_ctr(&ctd.c, 60000, (res), __VA_ARGS__, NULL))
#define RUN_ARGS "run", "--runtime", VMC_RUNTIME, "--runtime-config-path", kata_toml

TEST(ctr_run_echo_hi)
{
    _cleanup_(ch_result_done) struct ch_result res = {.exit_code = -1};

    VMC_SETUP(setup());
    ID(c1, "c1");
    CTR(&res, RUN_ARGS, "--rm", IMG, c1, "echo", "hi");
    vmc_show("ctr run echo hi", &res, 300);
    ASSERT_EQ(res.exit_code, 0);
    ASSERT_STREQ(res.output, "hi\n");
    ch_result_done(&res);
    return 0;
}

TEST(exit_code_propagates)
{
    _cleanup_(ch_result_done) struct ch_result res = {.exit_code = -1};

    VMC_SETUP(setup());
    ID(cexit, "c-exit");
    CTR(&res, RUN_ARGS, "--rm", IMG, cexit, "sh", "-c", "exit 3");
    vmc_show("exit 3", &res, 300);
    ASSERT_EQ(res.exit_code, 3);
    ch_result_done(&res);
    return 0;
}

TEST(ten_megabytes_of_output_intact)
{
    _cleanup_(ch_result_done) struct ch_result res = {.exit_code = -1};
    size_t expect = 0;
    char line[32];
    bool same = true;
    const char *p;

    VMC_SETUP(setup());
    ID(cbig, "c-big");
    CTR(&res, RUN_ARGS, "--rm", IMG, cbig, "seq", "1", "1500000");
    ASSERT_EQ(res.exit_code, 0);
    p = res.output;
    for (unsigned i = 1; i <= 1500000 && same; i++) {
        int n = snprintf(line, sizeof(line), "%u\n", i);
        same = expect + (size_t)n <= res.len && memcmp(p + expect, line, (size_t)n) == 0;
        expect += (size_t)n;
    }
    printf("#   %zu bytes received, %zu expected\n", res.len, expect);
    ASSERT_TRUE(same);
    ASSERT_EQ(res.len, expect);
    ch_result_done(&res);
    return 0;
}

/* Runs `ctr events` into a file in the background. */
static pid_t events_start(const char *file)
{
    char *argv[] = {ctd.c.ctr_bin, (char *)"-a", ctd.c.sock, (char *)"events", NULL};
    posix_spawn_file_actions_t fa;
    pid_t pid = -1;

    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, file, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    if (posix_spawn(&pid, ctd.c.ctr_bin, &fa, NULL, argv, environ) != 0)
        pid = -1;
    posix_spawn_file_actions_destroy(&fa);
    usleep(300000);
    return pid;
}

static void events_stop(pid_t pid)
{
    usleep(300000);
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
}

TEST(detached_task_exec_stdin_kill_and_events)
{
    _cleanup_(ch_result_done) struct ch_result res = {.exit_code = -1};
    char file[PATH_MAX];
    const char *topics[] = {"/tasks/create", "/tasks/start", "/tasks/exec-added",
                            "/tasks/exec-started", "/tasks/paused", "/tasks/resumed",
                            "/tasks/exit", "/tasks/delete"};
    pid_t ev;

    VMC_SETUP(setup());
    ID(d1, "d1");
    snprintf(file, sizeof(file), "%s/events.txt", test_tmpdir());
    ev = events_start(file);
    ASSERT_GT(ev, 0);
    CTR(&res, RUN_ARGS, "-d", IMG, d1, "sleep", "300");
    vmc_show("run -d", &res, 300);
    ASSERT_EQ(res.exit_code, 0);
    ch_result_done(&res);
    CTR(&res, "task", "exec", "--exec-id", "e1", d1, "sh", "-c", "echo from-exec; exit 5");
    vmc_show("task exec", &res, 300);
    ASSERT_EQ(res.exit_code, 5);
    ASSERT_STREQ(res.output, "from-exec\n");
    ch_result_done(&res);
    ASSERT_OK(ch_ctr_input(&ctd.c, 30000, "piped stdin\n", 12, &res, "task", "exec", "--exec-id",
                           "e2", d1, "cat", NULL));
    vmc_show("exec cat", &res, 300);
    ASSERT_EQ(res.exit_code, 0);
    ASSERT_STREQ(res.output, "piped stdin\n");
    ch_result_done(&res);
    CTR(&res, "task", "pause", d1);
    ASSERT_EQ(res.exit_code, 0);
    ch_result_done(&res);
    CTR(&res, "task", "ls");
    ASSERT_TRUE(strstr(res.output, "PAUSED") != NULL);
    ch_result_done(&res);
    CTR(&res, "task", "resume", d1);
    ASSERT_EQ(res.exit_code, 0);
    ch_result_done(&res);
    CTR(&res, "task", "metrics", d1);
    vmc_show("metrics", &res, 300);
    ASSERT_EQ(res.exit_code, 0);
    ch_result_done(&res);
    CTR(&res, "task", "ps", d1);
    ASSERT_EQ(res.exit_code, 0);
    ch_result_done(&res);
    CTR(&res, "task", "kill", d1);
    ASSERT_EQ(res.exit_code, 0);
    ch_result_done(&res);
    for (int i = 0; i < 100; i++) {
        CTR(&res, "task", "ls");
        bool stopped = strstr(res.output, "STOPPED") != NULL;
        ch_result_done(&res);
        if (stopped)
            break;
        usleep(50000);
    }
    CTR(&res, "task", "rm", d1);
    ASSERT_EQ(res.exit_code, 0);
    ch_result_done(&res);
    CTR(&res, "container", "rm", d1);
    ch_result_done(&res);
    events_stop(ev);
    for (size_t i = 0; i < ELEMENTSOF(topics); i++) {
        if (!ch_file_contains(file, topics[i])) {
            ch_print_file(file, "events: ");
            test_fail_at(__FILE__, __LINE__, "no %s event", topics[i]);
            return 1;
        }
    }
    return 0;
}

static int count_shims(void)
{
    return ch_count_processes_with(paths.shim, ctd.c.sock);
}

/* The shim daemons serving sandbox `id` (started as "-id <id> -address
 * <sock>"). Counted by id, not against a count taken before: the shim of
 * an earlier test may still be on its way out. */
static int count_shims_of(const char *id)
{
    char needle[PATH_MAX + 96];
    snprintf(needle, sizeof(needle), "-id %s -address %s", id, ctd.c.sock);
    return ch_count_processes_with(paths.shim, needle);
}

TEST(pod_containers_share_one_shim)
{
    _cleanup_(ch_result_done) struct ch_result res = {.exit_code = -1};

    VMC_SETUP(setup());
    ID(podc, "pod1-c");
    ID(pod1, "pod1");
    char podann[128];
    snprintf(podann, sizeof(podann), "io.kubernetes.cri.sandbox-id=%s", pod1);
    CTR(&res, RUN_ARGS, "-d", "--annotation", "io.kubernetes.cri.container-type=sandbox",
        "--annotation", podann, IMG, pod1, "sleep", "300");
    ASSERT_EQ(res.exit_code, 0);
    ch_result_done(&res);
    CTR(&res, RUN_ARGS, "-d", "--annotation", "io.kubernetes.cri.container-type=container",
        "--annotation", podann, IMG, podc, "sleep", "300");
    vmc_show("pod container", &res, 300);
    ASSERT_EQ(res.exit_code, 0);
    ch_result_done(&res);
    ASSERT_EQ(count_shims_of(pod1), 1);
    ASSERT_EQ(count_shims_of(podc), 0);
    CTR(&res, "task", "exec", "--exec-id", "x", podc, "echo", "in-pod");
    ASSERT_STREQ(res.output, "in-pod\n");
    ch_result_done(&res);
    /* Removing the pod container keeps the pod's shim and VM. */
    CTR(&res, "task", "kill", "-s", "KILL", podc);
    ch_result_done(&res);
    usleep(300000);
    CTR(&res, "task", "rm", podc);
    ASSERT_EQ(res.exit_code, 0);
    ch_result_done(&res);
    CTR(&res, "container", "rm", podc);
    ch_result_done(&res);
    ASSERT_EQ(count_shims_of(pod1), 1);
    CTR(&res, "task", "exec", "--exec-id", "y", pod1, "echo", "still-here");
    ASSERT_STREQ(res.output, "still-here\n");
    ch_result_done(&res);
    CTR(&res, "task", "kill", "-s", "KILL", pod1);
    ch_result_done(&res);
    usleep(300000);
    CTR(&res, "task", "rm", pod1);
    ASSERT_EQ(res.exit_code, 0);
    ch_result_done(&res);
    CTR(&res, "container", "rm", pod1);
    ch_result_done(&res);
    for (int i = 0; i < 100 && count_shims_of(pod1) > 0; i++)
        usleep(50000);
    ASSERT_EQ(count_shims_of(pod1), 0);
    return 0;
}

/* Does `ctr task ls` output show task id with this status? */
static bool task_line_says(const char *out, const char *id, const char *status)
{
    size_t n = strlen(id);

    for (const char *l = out; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        const char *end = strchr(l, '\n'), *st = strstr(l, status);
        if (strncmp(l, id, n) == 0 && l[n] == ' ' && st && (!end || st < end))
            return true;
    }
    return false;
}

/* `ctr task rm` until it succeeds (the exit is reported asynchronously). */
static int task_rm(const char *id)
{
    _cleanup_(ch_result_done) struct ch_result res = {.exit_code = -1};

    for (int i = 0; i < 50; i++) {
        ch_result_done(&res);
        CTR(&res, "task", "rm", id);
        if (res.exit_code == 0)
            return 0;
        usleep(100000);
    }
    vmc_show("task rm", &res, 300);
    return -1;
}

/* The sandbox container deleted while the pod's other container still
 * runs (out of CRI's order): the VM stops, the other task ends (255), and
 * its delete lets the shim go. */
TEST(pod_ends_when_its_sandbox_container_is_deleted)
{
    _cleanup_(ch_result_done) struct ch_result res = {.exit_code = -1};
    char podann[128];
    bool stopped = false;
    int before;

    VMC_SETUP(setup());
    ID(podc, "pod2-c");
    ID(pod, "pod2");
    snprintf(podann, sizeof(podann), "io.kubernetes.cri.sandbox-id=%s", pod);
    before = count_shims();
    CTR(&res, RUN_ARGS, "-d", "--annotation", "io.kubernetes.cri.container-type=sandbox",
        "--annotation", podann, IMG, pod, "sleep", "300");
    ASSERT_EQ(res.exit_code, 0);
    ch_result_done(&res);
    CTR(&res, RUN_ARGS, "-d", "--annotation", "io.kubernetes.cri.container-type=container",
        "--annotation", podann, IMG, podc, "sleep", "300");
    ASSERT_EQ(res.exit_code, 0);
    ch_result_done(&res);
    ASSERT_EQ(count_shims(), before + 1);
    CTR(&res, "task", "kill", "-s", "KILL", pod);
    ch_result_done(&res);
    ASSERT_OK(task_rm(pod));
    for (int i = 0; i < 100 && !stopped; i++) {
        ch_result_done(&res);
        CTR(&res, "task", "ls");
        stopped = task_line_says(res.output, podc, "STOPPED");
        if (!stopped)
            usleep(100000);
    }
    vmc_show("task ls after the sandbox container's delete", &res, 300);
    ASSERT_TRUE(stopped);
    ch_result_done(&res);
    ASSERT_EQ(count_shims(), before + 1); /* serving the pod container's delete */
    ASSERT_OK(task_rm(podc));
    CTR(&res, "container", "rm", podc, pod);
    ASSERT_EQ(res.exit_code, 0);
    for (int i = 0; i < 100 && count_shims() > before; i++)
        usleep(50000);
    ASSERT_EQ(count_shims(), before);
    return 0;
}

TEST(agent_death_ends_the_task)
{
    _cleanup_(ch_result_done) struct ch_result res = {.exit_code = -1};
    char pidfile[PATH_MAX], buf[32] = "";
    FILE *f;
    pid_t agent;

    VMC_SETUP(setup());
    ID(dead1, "dead1");
    CTR(&res, RUN_ARGS, "-d", IMG, dead1, "sleep", "300");
    ASSERT_EQ(res.exit_code, 0);
    ch_result_done(&res);
    snprintf(pidfile, sizeof(pidfile), "/run/vc/vm/%s/mock.pid", dead1);
    ASSERT_TRUE((f = fopen(pidfile, "r")) != NULL);
    ASSERT_TRUE(fgets(buf, sizeof(buf), f) != NULL);
    fclose(f);
    agent = (pid_t)atoi(buf);
    ASSERT_GT(agent, 1);
    ASSERT_OK(kill(agent, SIGKILL));
    /* Wait returns (TaskExit): the task shows STOPPED with status 255. */
    bool stopped = false;
    for (int i = 0; i < 100 && !stopped; i++) {
        CTR(&res, "task", "ls");
        stopped = strstr(res.output, "STOPPED") != NULL;
        ch_result_done(&res);
        if (!stopped)
            usleep(50000);
    }
    ASSERT_TRUE(stopped);
    CTR(&res, "task", "rm", dead1);
    vmc_show("task rm after agent death", &res, 300);
    ASSERT_EQ(res.exit_code, 0);
    ch_result_done(&res);
    CTR(&res, "container", "rm", dead1);
    ch_result_done(&res);
    return 0;
}

TEST(containerd_restart_keeps_the_shim_serving)
{
    _cleanup_(ch_result_done) struct ch_result res = {.exit_code = -1};

    VMC_SETUP(setup());
    ID(r1, "r1");
    CTR(&res, RUN_ARGS, "-d", IMG, r1, "sleep", "300");
    ASSERT_EQ(res.exit_code, 0);
    ch_result_done(&res);
    ASSERT_OK(ch_containerd_restart(&ctd.c));
    CTR(&res, "task", "ls");
    vmc_show("task ls after restart", &res, 300);
    ASSERT_TRUE(strstr(res.output, r1) && strstr(res.output, "RUNNING"));
    ch_result_done(&res);
    CTR(&res, "task", "exec", "--exec-id", "z", r1, "echo", "after-restart");
    ASSERT_STREQ(res.output, "after-restart\n");
    ch_result_done(&res);
    CTR(&res, "task", "kill", "-s", "KILL", r1);
    ch_result_done(&res);
    usleep(300000);
    CTR(&res, "task", "rm", r1);
    ASSERT_EQ(res.exit_code, 0);
    ch_result_done(&res);
    CTR(&res, "container", "rm", r1);
    ch_result_done(&res);
    return 0;
}

TEST(zz_nothing_is_left_behind)
{
    VMC_SETUP(setup());
    ID(c1, "c1");
    for (int i = 0; i < 100 && count_shims() > 0; i++)
        usleep(50000);
    ASSERT_EQ(count_shims(), 0);
    /* Only our sandboxes: other runs (the e2e QEMU tests, another
     * checkout) may have theirs up under the same host-global folder. */
    for (size_t i = 0; i < ELEMENTSOF(bases); i++) {
        char dir[PATH_MAX], sub[PATH_MAX + 1], top[PATH_MAX + 1];
        ID(id, bases[i]);
        snprintf(dir, sizeof(dir), "/run/kata-containers/shared/sandboxes/%s", id);
        snprintf(sub, sizeof(sub), "%s/", dir);
        snprintf(top, sizeof(top), "%s ", dir);
        if (ch_count_mounts(sub) + ch_count_mounts(top) != 0) {
            test_fail_at(__FILE__, __LINE__, "%s is still mounted", dir);
            return 1;
        }
    }
    ASSERT_EQ(ch_count_mounts(ctd.c.dir), 0);
    for (const char *id = c1; id; id = NULL) {
        char uri[ADDRESS_MAX];
        ASSERT_OK(address_for(ctd.c.sock, "default", id, uri, sizeof(uri)));
        ASSERT_TRUE(access(address_socket_path(uri), F_OK) < 0);
    }
    if (!ch_file_contains(ctd.c.log, "source=shim"))
        ch_print_file(ctd.c.log, "containerd: ");
    ASSERT_TRUE(ch_file_contains(ctd.c.log, "source=shim"));
    stop_all();
    return 0;
}
