/* Test support for the shim tests: running programs the way containerd runs
 * a shim (working directory, combined stdout+stderr read until EOF, exit
 * code), and a private containerd 1.6 (own root, state, sockets and opt
 * path under a scratch directory, unneeded plugins disabled, CRI only on
 * request; docs/facts containerd-recipes.md §2) whose PATH starts with build/bin, so
 * that `--runtime io.containerd.kata.v2` finds our shim. Everything started
 * here is tracked by pid(fd) and stopped by ch_stop()/ch_*_free(). Functions
 * return 0 or a negative errno. Test-only code: it may block. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct ch_result {
    int exit_code;     /* exit status, 128+signal, or -1 */
    char *output;      /* combined stdout+stderr, NUL-terminated; caller frees */
    size_t len;
    long elapsed_ms;   /* until EOF on the output pipe and exit */
};

/* Runs argv[0] (absolute path) in cwd (NULL: ours), with extra environment
 * entries env (NULL-terminated "K=V", may be NULL) and stdin_data (NULL:
 * /dev/null), capturing stdout+stderr on one pipe until EOF, as containerd
 * does for `start`. Kills the child after timeout_ms. */
int ch_run(char *const argv[], const char *cwd, char *const env[], const void *stdin_data,
           size_t stdin_len, int timeout_ms, struct ch_result *ret);
void ch_result_done(struct ch_result *r);

/* An absolute path to `name` from $PATH, or NULL (caller frees). */
char *ch_find_in_path(const char *name);
/* Absolute path of build/bin (from the test binary's location), caller frees. */
char *ch_bin_dir(void);

/* A private containerd. */
struct ch_containerd {
    char *dir, *sock, *ttrpc_sock, *log, *config, *path_env;
    char *cri_config;   /* TOML appended to config.toml; NULL: CRI disabled */
    char *containerd_bin, *ctr_bin;
    pid_t pid;
    int pidfd;
};

/* Starts containerd in <parent>/<name>, waits for "successfully booted". */
int ch_containerd_start(struct ch_containerd *c, const char *parent, const char *name);
/* containerd's CRI plugin, served on the same gRPC socket (c->sock). The
 * runtime table comes from a shipped snippet (runtime_snippet, e.g.
 * packaging/containerd/containerd-kata.toml) copied verbatim except for its
 * `version` line and its ConfigPath value, which becomes kata_config; so a
 * test exercises the file users install. Pod network namespaces are kept
 * under the state dir; CNI uses cni_bin_dir and cni_conf_dir. */
struct ch_cri_options {
    const char *runtime_snippet;
    const char *kata_config;
    const char *sandbox_image;  /* must be imported into namespace k8s.io */
    const char *cni_bin_dir;
    const char *cni_conf_dir;
};

/* ch_containerd_start with the CRI plugin enabled. -EINVAL (with a message
 * printed) when the snippet lacks runtime_type or ConfigPath. On failure
 * *c still needs ch_containerd_free. */
int ch_containerd_start_cri(struct ch_containerd *c, const char *parent, const char *name,
                            const struct ch_cri_options *o);

/* ch_containerd_start, then `ctr image import <tar>` (the offline busybox
 * image from busybox_image_build()). -ENOENT: containerd or ctr is not
 * installed. On any failure *c is already stopped and freed (the import's
 * output is printed); on success the caller owns it (ch_containerd_free). */
int ch_containerd_start_with_busybox(struct ch_containerd *c, const char *parent,
                                     const char *name, const char *tar);
/* SIGTERM (like a service restart) and waits; the scratch dir stays. */
int ch_containerd_stop(struct ch_containerd *c);
/* Starts it again on the same configuration (restart test). */
int ch_containerd_restart(struct ch_containerd *c);
/* Stops it if running and frees everything; removes the scratch dir. */
void ch_containerd_free(struct ch_containerd *c);

/* Runs `ctr -a <sock> args...` (NULL-terminated) with a timeout. */
int ch_ctr(struct ch_containerd *c, int timeout_ms, struct ch_result *ret, ...);
/* The same with in_len bytes of stdin. */
int ch_ctr_input(struct ch_containerd *c, int timeout_ms, const void *in, size_t in_len,
                 struct ch_result *ret, ...);

/* Prints a file as "#   prefix line" lines (for diagnostics). */
void ch_print_file(const char *path, const char *prefix);
/* Does some line of the file contain needle? */
bool ch_file_contains(const char *path, const char *needle);
/* Pids of processes whose /proc/<pid>/exe resolves to exe; returns count. */
int ch_count_processes(const char *exe);
/* The same, counting only processes whose command line contains needle
 * (e.g. the containerd address they serve), so concurrent runs do not mix. */
int ch_count_processes_with(const char *exe, const char *needle);
/* Number of lines of /proc/self/mountinfo that contain needle. */
int ch_count_mounts(const char *needle);
