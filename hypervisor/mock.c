/* The mock driver: no VM, the kata-agent binary (cfg->path) runs as a
 * local child listening on unix://<state>/agent.sock (Kata's
 * agent.server_addr idea), so shim tests need neither QEMU nor a kernel.
 * pause/resume stop and continue the process; hotplug is -ENOTSUP. */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hypervisor/hv-internal.h"
#include "lib/err.h"
#include "lib/fd.h"
#include "lib/spawn.h"

#define MOCK_PIDFILE "mock.pid"
#define MOCK_SOCKET "agent.sock"

static int mock_prepare(struct hv_vm *vm, struct err *e)
{
    int r = hv_check_file("path (kata-agent for the mock driver)", vm->cfg.path, true, e);
    if (r < 0)
        return r;
    char sock[PATH_MAX];
    r = hv_vm_path(vm, MOCK_SOCKET, sock, sizeof(sock));
    if (r < 0 || strlen(sock) >= 108)
        return err_set(e, -ENAMETOOLONG, "agent socket %s/%s: path too long", vm->dir,
                       MOCK_SOCKET);
    snprintf(vm->agent_address, sizeof(vm->agent_address), "unix://%s", sock);
    vm->caps = (struct hv_caps){.pause = true};
    return 0;
}

static int mock_stop(struct hv_vm *vm, uint64_t timeout_ns, struct err *e)
{
    int pidfd = vm->pidfd;
    if (pidfd >= 0) {
        spawn_kill(pidfd, SIGCONT); /* a paused agent cannot act on SIGTERM */
        int ms = (int)MIN(timeout_ns / 1000000u, (uint64_t)INT_MAX);
        int r = spawn_terminate(pidfd, ms, NULL);
        if (r < 0 && r != -ECHILD)
            return err_set(e, r, "mock agent: %s", strerror(-r));
        hv_vm_clear_running(vm);
    }
    char path[PATH_MAX];
    if (hv_vm_path(vm, MOCK_SOCKET, path, sizeof(path)) >= 0)
        unlink(path);
    if (hv_vm_path(vm, MOCK_PIDFILE, path, sizeof(path)) >= 0)
        unlink(path);
    return 0;
}

static void mock_destroy(struct hv_vm *vm)
{
    mock_stop(vm, 2000000000ull, NULL);
}

static int mock_start(struct hv_vm *vm, uint64_t timeout_ns, struct err *e)
{
    char env_addr[HV_AGENT_ADDRESS_MAX + 32];
    snprintf(env_addr, sizeof(env_addr), "KATA_AGENT_SERVER_ADDR=%s", vm->agent_address);
    /* Our environment plus the address (replacing any inherited one). */
    size_t n = 0;
    while (environ[n])
        n++;
    const char **envp = calloc(n + 2, sizeof(*envp));
    if (!envp)
        abort();
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], "KATA_AGENT_SERVER_ADDR=", 23) != 0)
            envp[k++] = environ[i];
    envp[k++] = env_addr;
    const char *argv[] = {vm->cfg.path, NULL};
    /* The agent's log goes to our stderr: the test or shim log shows it. */
    struct spawn_fd fds[] = {{STDERR_FILENO, STDERR_FILENO}};
    struct spawn_opts o = {.argv = argv, .envp = envp, .fds = fds, .n_fds = 1};
    int pidfd = -1;
    pid_t pid = 0;
    int r = spawn_start(&o, &pidfd, &pid);
    free(envp);
    if (r < 0)
        return err_set(e, r, "starting %s: %s", vm->cfg.path, strerror(-r));
    hv_vm_set_running(vm, pidfd, pid);
    hv_pidfile_write(vm->dir, MOCK_PIDFILE, pid);

    /* "Returns once the VMM runs": for the mock, once the agent listens. */
    char sock[PATH_MAX];
    hv_vm_path(vm, MOCK_SOCKET, sock, sizeof(sock));
    uint64_t waited = 0, budget = timeout_ns ? timeout_ns : 10000000000ull;
    while (access(sock, F_OK) < 0) {
        int st;
        if (spawn_wait(pidfd, 0, &st) == 0) {
            hv_vm_clear_running(vm);
            return err_set(e, -ECHILD, "mock agent %s exited during start (status %d)",
                           vm->cfg.path, st);
        }
        if (waited >= budget) {
            mock_stop(vm, 1000000000ull, NULL);
            return err_set(e, -ETIMEDOUT, "mock agent %s: no socket %s after %llu ms",
                           vm->cfg.path, sock, (unsigned long long)(budget / 1000000));
        }
        /* The socket appears once; a 10 ms poll of one stat() is cheap and
         * bounded by the start timeout (inotify would need the same loop). */
        fd_wait(pidfd, POLLIN, 10);
        waited += 10000000ull;
    }
    return 0;
}

static int mock_signal(struct hv_vm *vm, int sig, const char *what, struct err *e)
{
    if (vm->pidfd < 0)
        return err_set(e, -ESRCH, "mock agent: not running");
    int r = spawn_kill(vm->pidfd, sig);
    if (r < 0)
        return err_set(e, r, "mock agent %s: %s", what, strerror(-r));
    return 0;
}

static int mock_pause(struct hv_vm *vm, struct err *e)
{
    return mock_signal(vm, SIGSTOP, "pause", e);
}

static int mock_resume(struct hv_vm *vm, struct err *e)
{
    return mock_signal(vm, SIGCONT, "resume", e);
}

static int mock_cleanup(const char *dir, struct err *e)
{
    (void)e;
    /* The agent binary is kata-agent (or a test double named kata-agent*). */
    int r = hv_kill_recorded(dir, MOCK_PIDFILE, "kata-agent", 2000000000ull);
    return r < 0 && r != -ENOENT ? r : 0;
}

const struct hv_ops hv_mock_ops = {
    .name = "mock",
    .prepare = mock_prepare,
    .destroy = mock_destroy,
    .start = mock_start,
    .stop = mock_stop,
    .pause = mock_pause,
    .resume = mock_resume,
    .cleanup = mock_cleanup,
};
