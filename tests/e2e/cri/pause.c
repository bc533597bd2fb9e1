/* The pod sandbox's own container for tests/e2e/test_cri: a static program
 * that does nothing until SIGTERM or SIGINT, like the Kubernetes pause
 * image. It runs as PID 1 of its PID namespace, where signals without a
 * handler are ignored, so it installs handlers; it also reaps any child
 * reparented to it. Built without the project's libraries (it goes into an
 * OCI image layer on its own). */
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_stop(int sig)
{
    (void)sig;
    stop = 1;
}

static void on_child(int sig)
{
    (void)sig;
    while (waitpid(-1, NULL, WNOHANG) > 0)
        ;
}

int main(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop;
    if (sigaction(SIGTERM, &sa, NULL) < 0 || sigaction(SIGINT, &sa, NULL) < 0)
        return 1;
    sa.sa_handler = on_child;
    sa.sa_flags = SA_NOCLDSTOP;
    if (sigaction(SIGCHLD, &sa, NULL) < 0)
        return 1;
    while (!stop)
        pause();
    return 0;
}
