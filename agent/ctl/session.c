/* kata-agent-ctl connect: dial the agent, then run each command line (from
 * -c, or stdin with -i): built-ins (echo, help, list, repeat, sleep, quit)
 * or an agent API call. A failure is printed on stderr as "ERROR: <cmd>:
 * <message>" and stops the run unless --ignore-errors. */
#include "agent/ctl/ctl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/compiler.h"
#include "lib/err.h"
#include "lib/log.h"
#include "lib/loop.h"
#include "lib/oci_spec_json.h"
#include "lib/transport.h"
#include "lib/ttrpc/ttrpc.h"
#include "lib/xalloc.h"

/* Upstream retries vsock and hybrid vsock connects 300 times, 10 ms apart:
 * a VM's agent may not listen yet. A unix socket answers at once. */
#define DIAL_ATTEMPTS 300
#define DIAL_PAUSE_NS 10000000ULL
#define DIAL_TIMEOUT_NS 10000000000ULL

static void sleep_ns(uint64_t ns)
{
    struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000ULL),
                          .tv_nsec = (long)(ns % 1000000000ULL)};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

static int dial(const struct ctl_opts *o, struct err *e)
{
    _cleanup_free_ char *uri = NULL;
    struct transport_addr a;

    if (o->hybrid_vsock) {
        /* unix:///path --hybrid-vsock is our hvsock:///path:PORT. */
        if (strncmp(o->server_address, "unix:///", 8) != 0)
            return err_set(e, -EINVAL, "--hybrid-vsock needs a unix:///path server address");
        uri = xmalloc(strlen(o->server_address) + 32);
        sprintf(uri, "hvsock://%s:%u", o->server_address + 7, o->hybrid_vsock_port);
    } else {
        uri = xstrdup(o->server_address);
    }
    int r = transport_parse(uri, &a, e);
    if (r < 0)
        return r;
    bool retry = a.kind == TRANSPORT_VSOCK || a.kind == TRANSPORT_HVSOCK || o->dial_wait_ns;
    uint64_t timeout = o->timeout_ns ? o->timeout_ns : DIAL_TIMEOUT_NS;
    /* A booting VM (connect --vm): its agent needs seconds under TCG. */
    if (o->dial_wait_ns && timeout < o->dial_wait_ns)
        timeout = o->dial_wait_ns;
    uint64_t deadline = loop_now() + (o->dial_wait_ns ? o->dial_wait_ns : UINT64_MAX / 2);
    for (int i = 0;; i++) {
        struct err de = ERR_INIT;
        r = transport_dial(uri, timeout, &de);
        if (r >= 0)
            return r;
        bool out_of_tries = o->dial_wait_ns ? loop_now() >= deadline : i + 1 >= DIAL_ATTEMPTS;
        if (!retry || out_of_tries || r == -EINVAL)
            return err_set(e, r, "%s", err_msg(&de));
        log_debug("dial %s: %s; retrying", uri, err_msg(&de));
        sleep_ns(DIAL_PAUSE_NS);
    }
}

static void print_list(void)
{
    printf("Built-in commands:\n\n"
           "  echo (Display the arguments)\n"
           "  help (Alias for 'list')\n"
           "  list (List all available commands)\n"
           "  quit (Exit this program)\n"
           "  repeat (Repeat the next command 'n' times [-1 for forever]; "
           "or 'repeat N CMD ...')\n"
           "  sleep (Pause for a duration: 500ms, 2s, 1m30s; a bare number is milliseconds)\n"
           "\n");
    ctl_api_list(stdout);
    fflush(stdout);
}

static int run_command(struct ctl_session *s, const char *name, char *const *args, size_t n,
                       struct err *e)
{
    if (!strcmp(name, "echo")) {
        for (size_t i = 0; i < n; i++)
            printf("%s%s", i ? " " : "", args[i]);
        printf("\n");
        fflush(stdout);
        return 0;
    }
    if (!strcmp(name, "help") || !strcmp(name, "list")) {
        print_list();
        return 0;
    }
    if (!strcmp(name, "quit")) {
        s->quit = true;
        return 0;
    }
    if (!strcmp(name, "sleep")) {
        uint64_t ns;
        if (n != 1 || ctl_text_duration(args[0], 1000000, &ns) < 0)
            return err_set(e, -EINVAL, "usage: sleep DURATION (500ms, 2s, ...; bare = ms)");
        sleep_ns(ns);
        return 0;
    }
    return ctl_api_run(s, name, args, n, e);
}

/* Runs one command line, repeated as asked; prints each failure. Returns
 * the number of failures (stopping at the first unless --ignore-errors). */
static unsigned run_line(struct ctl_session *s, const char *line)
{
    char **words = NULL;
    size_t n = 0;
    struct err e = ERR_INIT;

    if (ctl_text_split(line, &words, &n, &e) < 0) {
        fprintf(stderr, "ERROR: %s\n", err_msg(&e));
        return 1;
    }
    const char *name = n ? words[0] : NULL;
    char *const *args = words + (n ? 1 : 0);
    size_t n_args = n ? n - 1 : 0;
    long times = 1;
    unsigned failures = 0;

    if (name && !strcmp(name, "repeat")) {
        char *end = NULL;
        times = n_args ? strtol(args[0], &end, 10) : 0;
        if (!n_args || *end || times < -1 || times == 0) {
            fprintf(stderr, "ERROR: repeat: usage: repeat N [CMD ...] (N > 0, or -1 forever)\n");
            ctl_text_free_words(words);
            return 1;
        }
        if (n_args == 1) {
            s->repeat = times;
            name = NULL;
        } else {
            name = args[1];
            args += 2;
            n_args -= 2;
        }
    } else if (name && s->repeat) {
        times = s->repeat;
        s->repeat = 0;
    }
    for (long i = 0; name && (times < 0 || i < times) && !s->quit; i++) {
        log_debug("run command %s (%ld of %ld)", name, i + 1, times);
        err_clear(&e);
        if (run_command(s, name, args, n_args, &e) < 0) {
            fprintf(stderr, "ERROR: %s: %s\n", name, err_msg(&e));
            failures++;
            if (!s->opts->ignore_errors)
                break;
        }
    }
    ctl_text_free_words(words);
    return failures;
}

static unsigned run_stdin(struct ctl_session *s)
{
    bool tty = isatty(STDIN_FILENO);
    _cleanup_free_ char *line = NULL;
    size_t cap = 0;
    unsigned failures = 0;

    if (tty)
        print_list();
    while (!s->quit) {
        if (tty) {
            printf("Enter command: ");
            fflush(stdout);
        }
        ssize_t len = getline(&line, &cap, stdin);
        if (len < 0)
            break;
        const char *p = line + strspn(line, " \t");
        if (*p == '#' || *p == '\n' || *p == '\0')
            continue;
        failures += run_line(s, p);
        if (failures && !s->opts->ignore_errors)
            break;
    }
    return failures;
}

int ctl_session_run(const struct ctl_opts *o)
{
    struct ctl_session s = {.opts = o};
    struct err e = ERR_INIT;
    unsigned failures = 0;

    if (o->vm)
        return ctl_vm_run(o);
    /* Like upstream, "-c list" alone needs no agent. */
    if (!o->interactive && o->n_cmds == 1 &&
        (!strcmp(o->cmds[0], "list") || !strcmp(o->cmds[0], "help"))) {
        print_list();
        return 0;
    }
    int fd = dial(o, &e);
    if (fd < 0) {
        fprintf(stderr, "ERROR: cannot connect to the agent at %s: %s\n", o->server_address,
                err_msg(&e));
        return 1;
    }
    int r = loop_new(&s.loop);
    if (r >= 0)
        r = ttrpc_client_new(s.loop, fd, NULL, &s.client);
    else
        fd_close(fd);
    if (r < 0) {
        fprintf(stderr, "ERROR: cannot set up the ttRPC client: %s\n", strerror(-r));
        loop_free(s.loop);
        return 1;
    }
    if (o->interactive) {
        failures = run_stdin(&s);
    } else {
        for (size_t i = 0; i < o->n_cmds && !s.quit; i++) {
            failures += run_line(&s, o->cmds[i]);
            if (failures && !o->ignore_errors)
                break;
        }
    }
    ttrpc_client_free(s.client);
    loop_run_once(s.loop, 0); /* release the client's sources */
    loop_free(s.loop);
    free(s.sandbox_id);
    free(s.container_id);
    free(s.exec_id);
    oci_spec_json_free(s.bundle_spec);
    return failures && !o->ignore_errors ? 1 : 0;
}
