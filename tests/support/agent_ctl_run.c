/* kata-agent-ctl under a deadline, for the e2e tests of agent_ctl_run.h. */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/harness/harness.h"
#include "tests/support/agent_ctl_run.h"

#define MAX_ARGS 40

const char *actl_out_dir(void)
{
    const char *o = getenv("O");
    return o && *o ? o : "build";
}

long long actl_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int actl_run(const char *ctl, const char *const *args, int timeout_ms, bool keep_tail, char *out,
             size_t size, actl_watch_fn watch, void *userdata)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0) {
        close(p[0]);
        close(p[1]);
        return -1;
    }
    if (pid == 0) {
        dup2(p[1], STDOUT_FILENO);
        dup2(p[1], STDERR_FILENO);
        setenv("TMPDIR", test_tmpdir(), 1);
        /* debug: the tool names its state folder, which tests check */
        const char *argv[MAX_ARGS + 4] = {ctl, "-l", "debug"};
        for (size_t i = 0; args[i] && i < MAX_ARGS; i++)
            argv[i + 3] = args[i];
        execv(ctl, (char **)argv);
        _exit(127);
    }
    close(p[1]);
    size_t used = 0;
    long long deadline = actl_now_ms() + timeout_ms;
    out[0] = '\0';
    for (;;) {
        struct pollfd pfd = {.fd = p[0], .events = POLLIN};
        int left = (int)(deadline - actl_now_ms());
        if (left <= 0 || poll(&pfd, 1, left) <= 0) {
            kill(pid, SIGKILL);
            break;
        }
        ssize_t n = read(p[0], out + used, size - 1 - used);
        if (n <= 0)
            break;
        used += (size_t)n;
        out[used] = '\0';
        if (watch)
            watch(pid, out, userdata);
        if (used + 1 >= size) {
            if (!keep_tail)
                break;
            used = 0;
        }
    }
    out[used] = '\0';
    close(p[0]);
    int st = 0;
    if (waitpid(pid, &st, 0) < 0)
        return -1;
    printf("#   output:\n%s", out);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

bool actl_state_folder(const char *out, char *path, size_t size)
{
    const char *p = strstr(out, "state folder ");
    if (!p)
        return false;
    p += strlen("state folder ");
    size_t n = strcspn(p, "\"\n ");
    if (n == 0 || n >= size)
        return false;
    memcpy(path, p, n);
    path[n] = '\0';
    return true;
}
