/* Containers over virtio-9p: a private containerd 1.6 runs
 * `ctr run --rm --runtime io.containerd.kata.v2` with a configuration.toml
 * selecting the real QEMU driver, shared_fs = "virtio-9p" (no virtiofsd;
 * QEMU's own 9p server shares the folder, tag kataShared) and the guest
 * built on Debian's generic kernel (make guest-generic), whose initrd has
 * the 9p modules. The container prints "hi", its root is a 9p mount with
 * the configured msize_9p, a read-only host bind mount reaches it through
 * the same share, and after --rm nothing is left (no QEMU,
 * virtiofsd or shim process, no mount, no shim socket, no VM folder).
 * Also: `kata-runtime check` warns when the configured guest (the cloud
 * flavour) cannot mount 9p and passes with the generic one, the cloud
 * guest fails CreateSandbox with a message naming 9p, and
 * shared_fs = "none" is refused at Create, before any VM, naming the key.
 * Skips with a reason when QEMU, containerd, busybox, root or a guest build
 * is missing. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/compiler.h"
#include "tests/harness/harness.h"
#include "tests/support/busybox_image.h"
#include "tests/support/containerd_harness.h"
#include "tests/support/vm_ctr.h"

#define RUNTIME VMC_RUNTIME
#define IMG BUSYBOX_IMAGE_REF
#define RUN_TIMEOUT_MS 180000
/* Not 8192 (Kata's default) nor the guest kernel's own default, so the
 * mount options show that the configured value reached the guest. */
#define MSIZE_9P 65536

static struct vmc_containerd vm = VMC_CONTAINERD_INIT;
static struct ch_containerd *const ctd = &vm.c;
static struct vmc_paths paths;
static char cloud_dir[PATH_MAX + 16], generic_dir[PATH_MAX + 32];
static char toml_9p[PATH_MAX], toml_cloud_9p[PATH_MAX], toml_none[PATH_MAX];

static const char *const bases[] = {"9p-hi", "9p-root", "9p-bind", "9p-cloud", "9p-none"};
#define ID(var, base)                                                                              \
    char var[64];                                                                                  \
    vmc_id(var, sizeof(var), base)

static void stop_all(void)
{
    char ids[ELEMENTSOF(bases)][64];
    const char *names[ELEMENTSOF(bases)];

    for (size_t i = 0; i < ELEMENTSOF(bases); i++) {
        vmc_id(ids[i], sizeof(ids[i]), bases[i]);
        names[i] = ids[i];
    }
    vmc_containerd_stop(&vm, names, ELEMENTSOF(bases));
}

static int write_toml(char *path, size_t size, const char *name, const char *guest_dir,
                      const char *shared_fs)
{
    struct vmc_toml t = {.guest_dir = guest_dir, .shared_fs = shared_fs, .msize_9p = MSIZE_9P};

    return vmc_write_toml(path, size, name, &t);
}

/* Paths and configuration files; no containerd. */
static int setup_files(void)
{
    if (toml_none[0])
        return 0;
    if (vmc_paths_init(&paths) < 0)
        return 1;
    snprintf(cloud_dir, sizeof(cloud_dir), "%s", paths.guest);
    snprintf(generic_dir, sizeof(generic_dir), "%s/../guest-generic", paths.bin);
    if (write_toml(toml_9p, sizeof(toml_9p), "kata-9p.toml", generic_dir, "virtio-9p") < 0 ||
        write_toml(toml_cloud_9p, sizeof(toml_cloud_9p), "kata-cloud-9p.toml", cloud_dir,
                   "virtio-9p") < 0 ||
        write_toml(toml_none, sizeof(toml_none), "kata-none.toml", cloud_dir, "none") < 0)
        return 1;
    return 0;
}

/* guest_dir: the guest the test boots (NULL: none). */
static int setup(const char *guest_dir)
{
    int r;

    if (setup_files() != 0)
        return 1;
    /* 9p is QEMU's own server: no virtiofsd needed. */
    if ((r = vmc_prereqs(&paths, "needs root (containerd, mounts)", false)))
        return r;
    if (guest_dir && !vmc_guest_built(guest_dir))
        return test_skip("no guest in %s (%s)", guest_dir,
                         guest_dir == generic_dir ? "make guest-generic" : "make guest");
    return vmc_containerd_up(&vm, stop_all);
}

#define SETUP(guest) VMC_SETUP(setup(guest))

static void show(const char *what, const struct ch_result *res)
{
    vmc_show(what, res, 600);
}

/* Nothing of the sandbox id survives --rm. 9p is served by QEMU itself:
 * no virtiofsd may have been started either. */
static int check_gone(const char *id)
{
    return vmc_check_gone(&vm, paths.shim, id, VMC_GONE_ALL);
}

static int kata_check(const char *toml, struct ch_result *res)
{
    char exe[PATH_MAX + 16];

    snprintf(exe, sizeof(exe), "%s/kata-runtime", paths.bin);
    if (access(exe, X_OK) < 0)
        return -ENOENT;
    char *argv[] = {exe, (char *)"check", (char *)"--config", (char *)toml, NULL};
    return ch_run(argv, NULL, NULL, NULL, 0, 60000, res);
}

/* The warning needs only the guest build's file-system manifest. */
TEST(check_warns_when_the_guest_has_no_9p)
{
    struct ch_result res;
    int r;

    ASSERT_EQ(setup_files(), 0);
    if (!vmc_guest_built(cloud_dir))
        return test_skip("no guest in %s (make guest)", cloud_dir);
    r = kata_check(toml_cloud_9p, &res);
    if (r == -ENOENT)
        return test_skip("kata-runtime is not built");
    ASSERT_OK(r);
    show("kata-runtime check (cloud guest, virtio-9p)", &res);
    ASSERT_TRUE(strstr(res.output, "[WARN] guest-shared-fs: shared_fs = \"virtio-9p\"") != NULL);
    ASSERT_TRUE(strstr(res.output, "cannot mount 9p") != NULL);
    ASSERT_TRUE(strstr(res.output, "make guest-generic") != NULL);
    ASSERT_TRUE(strstr(res.output, "[OK] guest-shared-fs") == NULL);
    ch_result_done(&res);
    return 0;
}

TEST(check_passes_with_the_generic_guest)
{
    struct ch_result res;
    int r;

    ASSERT_EQ(setup_files(), 0);
    if (!vmc_guest_built(generic_dir))
        return test_skip("no guest in %s (make guest-generic)", generic_dir);
    r = kata_check(toml_9p, &res);
    if (r == -ENOENT)
        return test_skip("kata-runtime is not built");
    ASSERT_OK(r);
    ASSERT_TRUE(strstr(res.output, "[OK] guest-shared-fs: the guest can mount 9p") != NULL);
    ASSERT_TRUE(strstr(res.output, "[WARN] guest-shared-fs") == NULL);
    ch_result_done(&res);
    return 0;
}

TEST(ctr_run_echo_hi_over_9p)
{
    struct ch_result res;

    SETUP(generic_dir);
    ID(id, "9p-hi");
    ASSERT_OK(ch_ctr(ctd, RUN_TIMEOUT_MS, &res, "run", "--rm", "--runtime", RUNTIME,
                     "--runtime-config-path", toml_9p, IMG, id, "echo", "hi", NULL));
    show("ctr run echo hi (virtio-9p)", &res);
    if (res.exit_code != 0)
        ch_print_file(ctd->log, "containerd: ");
    ASSERT_EQ(res.exit_code, 0);
    ASSERT_STREQ(res.output, "hi\n");
    ch_result_done(&res);
    return check_gone(id);
}

/* The container's / is the 9p share (the agent binds the container's
 * folder of the kataShared mount), with Kata's options and our msize. */
TEST(container_root_is_9p_with_the_configured_msize)
{
    struct ch_result res;
    char msize[32];

    SETUP(generic_dir);
    ID(id, "9p-root");
    ASSERT_OK(ch_ctr(ctd, RUN_TIMEOUT_MS, &res, "run", "--rm", "--runtime", RUNTIME,
                     "--runtime-config-path", toml_9p, IMG, id, "grep", " / ", "/proc/mounts",
                     NULL));
    show("ctr run grep ' / ' /proc/mounts (virtio-9p)", &res);
    if (res.exit_code != 0)
        ch_print_file(ctd->log, "containerd: ");
    ASSERT_EQ(res.exit_code, 0);
    ASSERT_TRUE(strncmp(res.output, "kataShared / 9p ", 16) == 0);
    snprintf(msize, sizeof(msize), "msize=%d", MSIZE_9P);
    ASSERT_TRUE(strstr(res.output, msize) != NULL);
    ASSERT_TRUE(strstr(res.output, "trans=virtio") != NULL);
    ASSERT_TRUE(strstr(res.output, ",nodev,") != NULL);
    /* Older kernels print cache=mmap, newer ones its flags (0x5 is mmap). */
    ASSERT_TRUE(strstr(res.output, "cache=mmap") != NULL ||
                strstr(res.output, "cache=0x5") != NULL);
    ch_result_done(&res);
    return check_gone(id);
}

/* A read-only host bind mount crosses the same 9p share. */
TEST(bind_mount_over_9p)
{
    struct ch_result res;
    char mnt[PATH_MAX + 64];

    SETUP(generic_dir);
    ID(id, "9p-bind");
    ASSERT_OK(vmc_ro_volume(mnt, sizeof(mnt), "from the host\n"));
    ASSERT_OK(ch_ctr(ctd, RUN_TIMEOUT_MS, &res, "run", "--rm", "--runtime", RUNTIME,
                     "--runtime-config-path", toml_9p, "--mount", mnt, IMG, id, "sh", "-c",
                     VMC_RO_VOLUME_SCRIPT, NULL));
    show("ctr run --mount ... (virtio-9p)", &res);
    ASSERT_EQ(res.exit_code, 3);
    ASSERT_STREQ(res.output, "from the host\n");
    ch_result_done(&res);
    return check_gone(id);
}

/* The check above warns for this configuration; a pod started anyway
 * fails in CreateSandbox with the agent's reason, and leaves nothing. */
TEST(cloud_guest_fails_9p_with_a_clear_error)
{
    struct ch_result res;

    SETUP(cloud_dir);
    ID(id, "9p-cloud");
    ASSERT_OK(ch_ctr(ctd, RUN_TIMEOUT_MS, &res, "run", "--rm", "--runtime", RUNTIME,
                     "--runtime-config-path", toml_cloud_9p, IMG, id, "echo", "hi", NULL));
    show("ctr run echo hi (cloud guest, virtio-9p)", &res);
    ASSERT_NE(res.exit_code, 0);
    ASSERT_TRUE(strstr(res.output, "CreateSandbox") != NULL);
    ASSERT_TRUE(strstr(res.output, "no 9p file system") != NULL);
    ch_result_done(&res);
    return check_gone(id);
}

TEST(shared_fs_none_is_refused_at_create)
{
    struct ch_result res;

    SETUP(NULL); /* refused before any VM: no guest needed */
    ID(id, "9p-none");
    ASSERT_OK(ch_ctr(ctd, RUN_TIMEOUT_MS, &res, "run", "--rm", "--runtime", RUNTIME,
                     "--runtime-config-path", toml_none, IMG, id, "echo", "hi", NULL));
    show("ctr run echo hi (shared_fs = none)", &res);
    ASSERT_NE(res.exit_code, 0);
    ASSERT_TRUE(strstr(res.output, "[hypervisor.qemu] shared_fs = \"none\"") != NULL);
    ASSERT_TRUE(strstr(res.output, "hi\n") == NULL);
    ch_result_done(&res);
    ASSERT_EQ(check_gone(id), 0);
    stop_all();
    return 0;
}
