/* The debug console, see debug_console.h. */
#include "agent/debug_console.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent/agent.h"
#include "lib/compiler.h"
#include "lib/err.h"
#include "lib/fd.h"
#include "lib/log.h"
#include "lib/loop.h"
#include "lib/spawn.h"
#include "lib/transport.h"
#include "lib/xalloc.h"

/* Where the console shell goes: the virtio console when the host gave one,
 * else the first serial port, else whatever the kernel calls the console. */
static const char *const console_devices[] = {"/dev/hvc0", "/dev/ttyS0", "/dev/console"};
static const char *const shells[] = {"/bin/bash", "/bin/sh"};

struct session {
    struct agent_child child; /* first: see session_exited(); pid 0: slot free */
    struct debug_console *dc;
};

struct debug_console {
    struct agent *agent;
    const char *shell;
    int listen_fd; /* socket mode */
    struct loop_source *listen_watch;
    struct loop_source *restart; /* console mode: the timer that restarts the shell */
    char *device;                /* console mode: a given device, else console_devices[] */
    struct session sessions[DEBUG_CONSOLE_MAX_SESSIONS];
};

const char *debug_console_shell(void)
{
    for (size_t i = 0; i < ELEMENTSOF(shells); i++)
        if (access(shells[i], X_OK) == 0)
            return shells[i];
    return NULL;
}

static void session_exited(struct agent_child *c, int status);

/* Starts the shell on fd (its stdin, stdout and stderr). */
static int session_start(struct debug_console *dc, struct session *s, int fd)
{
    const char *argv[] = {dc->shell, "-i", NULL};
    const struct spawn_fd fds[] = {{fd, 0}, {fd, 1}, {fd, 2}};
    struct spawn_opts o = {.argv = argv, .fds = fds, .n_fds = 3, .cwd = "/"};
    int pidfd = -1;
    pid_t pid = 0;
    int r = spawn_start(&o, &pidfd, &pid);
    if (r < 0)
        return r;
    s->dc = dc;
    s->child.pid = pid;
    s->child.pidfd = pidfd;
    s->child.exited = session_exited;
    agent_child_track(dc->agent, &s->child);
    return 0;
}

static int console_start(struct debug_console *dc)
{
    for (size_t i = 0; i < ELEMENTSOF(console_devices); i++) {
        const char *dev = dc->device ? dc->device : console_devices[i];
        _cleanup_close_ int fd = open(dev, O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (fd < 0 && dc->device)
            return -errno;
        if (fd < 0)
            continue;
        int r = session_start(dc, &dc->sessions[0], fd);
        if (r < 0)
            return r;
        log_info("debug console: %s on %s", dc->shell, dev);
        return 0;
    }
    return -ENODEV;
}

static void on_restart(struct loop_source *src, void *userdata)
{
    (void)src;
    struct debug_console *dc = userdata;
    int r = console_start(dc);
    if (r < 0)
        log_errno(LOG_WARN, r, "debug console: cannot restart the shell");
}

static void session_exited(struct agent_child *c, int status)
{
    /* child is the first member (clang's -Wcast-align rejects container_of). */
    struct session *s = (struct session *)(void *)c;
    struct debug_console *dc = s->dc;
    log_info("debug console: shell %d exited with %d", (int)c->pid, status);
    fd_close(c->pidfd);
    c->pidfd = -1;
    c->pid = 0;
    /* A shell that exits at once must not be restarted in a tight loop. */
    if (dc->listen_fd < 0 && dc->restart)
        loop_timer_set(dc->restart, loop_now() + DEBUG_CONSOLE_RESTART_MS * 1000000ull);
}

static void on_accept(struct loop_source *src, int fd, uint32_t revents, void *userdata)
{
    (void)src, (void)revents;
    struct debug_console *dc = userdata;
    _cleanup_close_ int conn = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
    if (conn < 0)
        return;
    for (size_t i = 0; i < ELEMENTSOF(dc->sessions); i++) {
        if (dc->sessions[i].child.pid)
            continue;
        int r = session_start(dc, &dc->sessions[i], conn);
        if (r < 0)
            log_errno(LOG_WARN, r, "debug console: cannot start %s", dc->shell);
        else
            log_info("debug console: %s started for a connection", dc->shell);
        return; /* the shell has its copy; ours closes */
    }
    static const char busy[] = "debug console: too many sessions\n";
    if (write(conn, busy, sizeof(busy) - 1) < 0)
        log_debug("debug console: a refused connection left early");
}

int debug_console_start(struct agent *a, const char *uri, struct debug_console **ret_console,
                        struct err *e)
{
    const char *shell = debug_console_shell();
    if (!shell)
        return err_set(e, -ENOENT,
                       "agent.debug_console: the image has no shell (/bin/bash or /bin/sh), so "
                       "no debug console can be offered");
    struct debug_console *dc = xzalloc(sizeof(*dc));
    dc->agent = a;
    dc->shell = shell;
    dc->listen_fd = -1;
    int r;
    if (uri && strncmp(uri, "serial://", 9) == 0)
        dc->device = xstrdup(uri + 9);
    if (uri && !dc->device) {
        r = transport_listen(uri, e);
        if (r >= 0) {
            dc->listen_fd = r;
            r = loop_add_io(a->loop, dc->listen_fd, EPOLLIN, on_accept, dc, &dc->listen_watch);
            if (r < 0)
                err_set(e, r, "cannot watch %s", uri);
            else
                log_info("debug console: %s on %s", shell, uri);
        }
    } else {
        r = loop_add_timer(a->loop, 0, on_restart, dc, &dc->restart);
        if (r < 0)
            err_set(e, r, "cannot create the restart timer");
        else if ((r = console_start(dc)) < 0 && dc->device)
            err_set(e, r, "cannot run %s on %s: %s", shell, dc->device, strerror(-r));
        else if (r < 0)
            err_set(e, r, "no console device (%s, %s or %s) to run %s on", console_devices[0],
                    console_devices[1], console_devices[2], shell);
    }
    if (r < 0) {
        debug_console_free(dc);
        return r;
    }
    *ret_console = dc;
    return 0;
}

struct debug_console *debug_console_free(struct debug_console *dc)
{
    if (!dc)
        return NULL;
    loop_source_free(dc->listen_watch);
    fd_close(dc->listen_fd);
    loop_source_free(dc->restart);
    free(dc->device);
    for (size_t i = 0; i < ELEMENTSOF(dc->sessions); i++) {
        struct agent_child *c = &dc->sessions[i].child;
        if (!c->pid)
            continue;
        agent_child_untrack(c);
        spawn_kill(c->pidfd, SIGKILL);
        spawn_wait(c->pidfd, -1, NULL);
        fd_close(c->pidfd);
    }
    free(dc);
    return NULL;
}
