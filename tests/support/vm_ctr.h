/* Test support for the end-to-end tests that run `ctr` against a private
 * containerd whose containers boot in real QEMU VMs through our shim
 * (tests/e2e/test_ctr_*.c, test_cri.c): the kata configuration.toml they
 * write, the prerequisites they skip on, the containerd with busybox they
 * share across cases (tests/integration/test_shim_log_uri.c uses it with
 * the mock driver), and the checks that a sandbox left nothing behind.
 * Built on containerd_harness.h; test-only code that may block. Functions
 * returning int follow the TEST() convention where they say so (0, 1 after
 * a failure already reported, or a test_skip() value), else 0 or -errno. */
#pragma once

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "tests/support/containerd_harness.h"

#define VMC_RUNTIME "io.containerd.kata.v2"
#define VMC_QEMU_BIN "/usr/bin/qemu-system-x86_64"
#define VMC_VIRTIOFSD_BIN "/usr/lib/qemu/virtiofsd"

/* Where the build put what a VM test needs (from the test binary's path). */
struct vmc_paths {
    char bin[PATH_MAX];         /* build/bin */
    char shim[PATH_MAX + 32];   /* <bin>/containerd-shim-kata-v2 */
    char guest[PATH_MAX + 16];  /* <bin>/../guest (make guest) */
};
int vmc_paths_init(struct vmc_paths *p);
/* Root, then vmc_paths_init and vmc_missing (TEST() convention: skips
 * naming root_why or what is missing). */
int vmc_prereqs(struct vmc_paths *p, const char *root_why, bool need_virtiofsd);
/* For containers on the mock driver (the real kata-agent as a host
 * process): root, vmc_paths_init, a built shim and agent, and
 * <test_tmpdir()>/kata-mock.toml naming the agent (path to toml[size]).
 * TEST() convention. */
int vmc_mock_prereqs(struct vmc_paths *p, char *toml, size_t size);
/* Are <dir>/vmlinuz.container and <dir>/kata-containers-initrd.img there? */
bool vmc_guest_built(const char *dir);
/* Why QEMU, virtiofsd (when need_virtiofsd) or the built shim cannot be
 * used, with the package to install; NULL when all are there. */
const char *vmc_missing(const struct vmc_paths *p, bool need_virtiofsd);

/* A configuration.toml for the QEMU driver: q35, 1 vCPU, 384 MiB. */
struct vmc_toml {
    const char *guest_dir;  /* kernel and initrd (vmc_guest_built) */
    const char *shared_fs;  /* NULL: "virtio-fs" through VMC_VIRTIOFSD_BIN */
    int msize_9p;           /* 0: not written */
    int dial_timeout;       /* [agent.kata], seconds; 0: 30 */
    const char *extra;      /* appended verbatim (e.g. a [runtime] table) */
};
/* Writes it to <test_tmpdir()>/<name>; the path goes to path[size]. */
int vmc_write_toml(char *path, size_t size, const char *name, const struct vmc_toml *t);

/* The private containerd with the offline busybox image imported, shared
 * by the cases of one program. */
struct vmc_containerd {
    struct ch_containerd c;
    bool up;         /* running: c may be used */
    bool failed;     /* setting it up failed: later cases fail at once */
    bool at_exit;    /* the program's stop function is registered */
};
#define VMC_CONTAINERD_INIT {.c = {.pidfd = -1}}

/* Starts it in <test_tmpdir()>/ctd unless it is up (TEST() convention:
 * skips when busybox, containerd or ctr is missing). stop runs at exit
 * (registered once): it should call vmc_containerd_stop. */
int vmc_containerd_up(struct vmc_containerd *v, void (*stop)(void));
/* Best effort `task rm -f` and `container rm` of each id (what a failed
 * case may have left), then stops containerd; no-op when it is not up. */
void vmc_containerd_stop(struct vmc_containerd *v, const char *const ids[], size_t n_ids);
/* The same, for the ids vmc_id() makes of bases (at most 32). */
void vmc_containerd_stop_bases(struct vmc_containerd *v, const char *const bases[],
                               size_t n_bases);

/* In a TEST(): runs a setup function of the TEST() convention and returns
 * its result unless it is 0. */
#define VMC_SETUP(call)                                                                            \
    do {                                                                                           \
        int _r = (call);                                                                           \
        if (_r != 0)                                                                               \
            return _r;                                                                             \
    } while (0)

/* A host folder for a read-only bind mount: <test_tmpdir()>/vol/msg holds
 * text; mnt gets the `ctr run --mount` value that shows it at /data. */
int vmc_ro_volume(char *mnt, size_t size, const char *text);
/* The container side: prints /data/msg, "writable" if /data is, exits 3. */
#define VMC_RO_VOLUME_SCRIPT "cat /data/msg; touch /data/x 2>/dev/null && echo writable; exit 3"

/* "<base>-<our pid>": container ids that concurrent runs do not share. */
void vmc_id(char *buf, size_t size, const char *base);
/* Prints "#   what: exit N in M ms: <output, at most max bytes>". */
void vmc_show(const char *what, const struct ch_result *res, int max);

/* What vmc_check_gone checks once the sandbox id is gone. */
enum {
    VMC_GONE_SHIM = 1 << 0,       /* no shim serving this containerd */
    VMC_GONE_VIRTIOFSD = 1 << 1,  /* no virtiofsd of id */
    VMC_GONE_MOUNTS = 1 << 2,     /* no mount naming id */
    VMC_GONE_STATE = 1 << 3,      /* no shared folder, VM folder or shim socket */
    VMC_GONE_ALL = 0xf,
};
/* No QEMU of id is left (waiting up to 10 s for the processes checked),
 * nor what flags name. TEST() convention. */
int vmc_check_gone(const struct vmc_containerd *v, const char *shim_bin, const char *id,
                   unsigned flags);

/* A detached container's end: `task kill -s KILL`, then `task rm` until
 * the task has exited (up to 20 s). TEST() convention; the container stays. */
int vmc_kill_task(struct vmc_containerd *v, const char *id);
