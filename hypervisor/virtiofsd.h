/* virtiofsd launcher: one daemon per VM, started before the VMM (QEMU's
 * vhost-user-fs chardev connects at start-up, and the daemon exits when the
 * VMM disconnects; guest-boot.md §3.2).
 *
 * We create and listen on the vhost-user socket ourselves and hand the fd
 * over (--fd=3, as Kata does), so the socket exists before QEMU starts and
 * no one polls for it. Both flavours are driven: QEMU's C virtiofsd
 * (Debian 12: /usr/lib/qemu/virtiofsd, "-o source= -o cache=") and the Rust
 * one ("--shared-dir --cache"), told apart by where the binary lives (QEMU
 * installs the C one under .../qemu/). Blocking; worker thread. Errors are
 * negative errno with a message naming the binary or folder. */
#pragma once

#include <stdint.h>
#include <sys/types.h>

struct err;
struct virtiofsd;

struct virtiofsd_config {
    const char *path;          /* binary; NULL: /usr/lib/qemu/virtiofsd */
    const char *socket_path;   /* vhost-user socket to create */
    const char *shared_dir;
    const char *cache;         /* "auto" (default), "always", "never"/"none" */
    const char *const *extra_args;
    const char *log_path;      /* its stderr; NULL: ours */
    const char *pidfile_dir;   /* writes virtiofsd.pid there when set */
};

#define VIRTIOFSD_DEFAULT_PATH "/usr/lib/qemu/virtiofsd"
#define VIRTIOFSD_PIDFILE "virtiofsd.pid"

int virtiofsd_start(const struct virtiofsd_config *cfg, struct virtiofsd **ret, struct err *e);
/* Terminates (SIGTERM, then SIGKILL after timeout_ns), reaps, removes the
 * socket. NULL-safe; returns NULL. */
struct virtiofsd *virtiofsd_stop(struct virtiofsd *v, uint64_t timeout_ns);
/* 0 while the daemon runs; once it has exited (waiting up to wait_ms for
 * that), reaps it, stores its wait status in *ret_status (may be NULL) and
 * returns -ECHILD naming it, its status and its log. Start does not wait
 * for early failures: call this when the VMM fails. The daemon also exits,
 * with status 0, when the VMM hangs up, so only a failure status means it
 * was the cause. */
int virtiofsd_check(struct virtiofsd *v, int wait_ms, int *ret_status, struct err *e);
int virtiofsd_pidfd(const struct virtiofsd *v);
pid_t virtiofsd_pid(const struct virtiofsd *v);
