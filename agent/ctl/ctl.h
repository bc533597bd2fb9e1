/* kata-agent-ctl internals: the parsed command line (cli.c), a connected
 * session that runs command lines (session.c), the agent API commands
 * (api.c) and small text helpers (text.c).
 *
 * The tool is single-threaded and blocking by design: one loop, one ttRPC
 * client, each API call made with ttrpc_client_call_sync(). Functions that
 * can fail return a negative errno and fill the caller's struct err; only
 * main() decides the exit status (0 ok, 1 a command failed, 2 usage). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct err;
struct loop;
struct ttrpc_client;
struct Grpc__Spec;

enum ctl_subcommand {
    CTL_CMD_HELP,
    CTL_CMD_VERSION,
    CTL_CMD_CONNECT,
    CTL_CMD_EXAMPLES,
    CTL_CMD_GENERATE_CID,
    CTL_CMD_GENERATE_SID,
};

#define CTL_DEFAULT_HYBRID_VSOCK_PORT 1024

struct ctl_opts {
    enum ctl_subcommand subcommand;
    const char *server_address;
    const char *bundle_dir;
    /* connect --vm HYPERVISOR [--config FILE]: boot a test VM from the
     * Kata configuration and talk to its agent (vm.c). */
    const char *vm;
    const char *config_path;
    /* Keep dialing any transport until this long (a booting VM's agent);
     * 0: retry vsock and hybrid vsock only, as upstream. */
    uint64_t dial_wait_ns;
    bool hybrid_vsock;
    uint32_t hybrid_vsock_port;
    bool no_auto_values;
    bool ignore_errors;
    bool interactive;
    uint64_t timeout_ns; /* per call; 0 = none */
    char **cmds;         /* -c values (borrowed from argv), n_cmds of them */
    size_t n_cmds;
};

/* cli.c: fills *ret from argv; prints its own usage errors and returns
 * -EINVAL for them. */
int ctl_cli_parse(int argc, char **argv, struct ctl_opts *ret);
void ctl_cli_opts_done(struct ctl_opts *o);
void ctl_cli_usage(FILE *f);
void ctl_cli_examples(FILE *f);

/* One connection to an agent and what the commands remember. */
struct ctl_session {
    const struct ctl_opts *opts;
    struct loop *loop;
    struct ttrpc_client *client;
    char *sandbox_id;               /* auto values: last sandbox id used */
    char *container_id;             /* ... last container id used */
    char *exec_id;                  /* ... last process created (init or exec) */
    struct Grpc__Spec *bundle_spec; /* the bundle's config.json, read on first use */
    long repeat;                    /* a lone "repeat N": runs of the next command */
    bool quit;
};

/* session.c: connects, runs opts->cmds (or stdin lines with -i); returns the
 * exit status. */
int ctl_session_run(const struct ctl_opts *opts);

/* vm.c: connect --vm. Loads the configuration (Kata's discovery, or
 * opts->config_path), boots the VM with hypervisor/ in a fresh state folder
 * under /run/kata-containers/agent-ctl/ (a temp folder when /run is not
 * writable), runs the session against its agent in a child process, then
 * stops the VM and removes the folder on every path, SIGINT, SIGTERM and
 * SIGHUP included. Returns the exit status (1 for a bad configuration or a
 * VM that does not start, 2 for a bad --vm, 128+N after signal N). */
int ctl_vm_run(const struct ctl_opts *opts);

/* api.c: the agent API commands (every grpc.AgentService and grpc.Health
 * method). */
void ctl_api_list(FILE *f);
/* Builds the request from args, fills auto values, calls and prints the
 * reply as JSON on stdout. */
int ctl_api_run(struct ctl_session *s, const char *name, char *const *args, size_t n_args,
                struct err *e);

/* text.c */
/* Splits a command line into a NULL-terminated word vector: blanks
 * separate, '...' and "..." quote, backslash escapes; an argument starting
 * with json:// takes the rest of the line as is, and key={...} or key=[...]
 * takes a balanced JSON value as is. */
int ctl_text_split(const char *line, char ***ret_words, size_t *ret_n, struct err *e);
char **ctl_text_free_words(char **words);
/* Durations as upstream takes them: "0", "99ns", "30us", "2ms", "5s", "7m",
 * "1h", "1m30s"; a bare number counts in units of bare_unit_ns. */
int ctl_text_duration(const char *text, uint64_t bare_unit_ns, uint64_t *ret_ns);
/* "9", "KILL", "SIGKILL", "usr1". */
int ctl_text_signal(const char *text, uint32_t *ret_signo);
/* 64 random hex characters, as upstream's generated sandbox/container ids. */
#define CTL_ID_LEN 64
int ctl_text_random_id(char buf[CTL_ID_LEN + 1]);
