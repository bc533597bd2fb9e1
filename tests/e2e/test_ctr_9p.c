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
#include "shim/address.h"
#include "tests/harness/harness.h"
#include "tests/support/busybox_image.h"
#include "tests/support/containerd_harness.h"

#define RUNTIME "io.containerd.kata.v2"
#define IMG BUSYBOX_IMAGE_REF
#define QEMU_BIN "/usr/bin/qemu-system-x86_64"
#define VIRTIOFSD_BIN "/usr/lib/qemu/virtiofsd"
#define RUN_TIMEOUT_MS 180000
/* Not 8192 (Kata's default) nor the guest kernel's own default, so the
 * mount options show that the configured value reached the guest. */
#define MSIZE_9P 65536

static struct ch_containerd ctd = {.pidfd = -1};
static bool ready, broken;
static char bin_dir[PATH_MAX], shim_bin[PATH_MAX + 32];
static char cloud_dir[PATH_MAX + 16], generic_dir[PATH_MAX + 16];
static char toml_9p[PATH_MAX], toml_cloud_9p[PATH_MAX], toml_none[PATH_MAX];

static const char *const bases[] = {"9p-hi", "9p-root", "9p-bind", "9p-cloud", "9p-none"};
#define ID(var, base)                                                                              \
    char var[64];                                                                                  \
    snprintf(var, sizeof(var), "%s-%d", base, (int)getpid())

static void stop_all(void)
{
    struct ch_result res;

    if (!ready)
        return;
    for (size_t i = 0; i < ELEMENTSOF(bases); i++) {
        ID(id, bases[i]);
        if (ch_ctr(&ctd, 30000, &res, "task", "rm", "-f", id, NULL) >= 0)
            ch_result_done(&res);
        if (ch_ctr(&ctd, 30000, &res, "container", "rm", id, NULL) >= 0)
            ch_result_done(&res);
    }
    ch_containerd_free(&ctd);
    ready = false;
}

static bool guest_built(const char *dir)
{
    char kernel[PATH_MAX + 32], initrd[PATH_MAX + 32];

    snprintf(kernel, sizeof(kernel), "%s/vmlinuz.container", dir);
    snprintf(initrd, sizeof(initrd), "%s/kata-containers-initrd.img", dir);
    return access(kernel, R_OK) == 0 && access(initrd, R_OK) == 0;
}

static int write_toml(char *path, size_t size, const char *name, const char *guest_dir,
                      const char *shared_fs)
{
    FILE *f;

    snprintf(path, size, "%s/%s", test_tmpdir(), name);
    if (!(f = fopen(path, "w")))
        return -errno;
    fprintf(f,
            "[hypervisor.qemu]\n"
            "path = \"%s\"\n"
            "kernel = \"%s/vmlinuz.container\"\n"
            "initrd = \"%s/kata-containers-initrd.img\"\n"
            "machine_type = \"q35\"\n"
            "default_vcpus = 1\n"
            "default_memory = 384\n"
            "shared_fs = \"%s\"\n"
            "msize_9p = %d\n"
            "[agent.kata]\n"
            "dial_timeout = 30\n",
            QEMU_BIN, guest_dir, guest_dir, shared_fs, MSIZE_9P);
    return fclose(f) == 0 ? 0 : -errno;
}

/* Paths and configuration files; no containerd. */
static int setup_files(void)
{
    _cleanup_free_ char *bin = ch_bin_dir();

    if (toml_none[0])
        return 0;
    snprintf(bin_dir, sizeof(bin_dir), "%s", bin);
    snprintf(shim_bin, sizeof(shim_bin), "%s/containerd-shim-kata-v2", bin);
    snprintf(cloud_dir, sizeof(cloud_dir), "%s/../guest", bin);
    snprintf(generic_dir, sizeof(generic_dir), "%s/../guest-generic", bin);
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
    _cleanup_free_ char *tar = NULL;
    int r;

    if (setup_files() != 0)
        return 1;
    if (geteuid() != 0)
        return test_skip("needs root (containerd, mounts)");
    if (access(QEMU_BIN, X_OK) < 0)
        return test_skip("%s not installed (apt-get install qemu-system-x86)", QEMU_BIN);
    if (access(shim_bin, X_OK) < 0)
        return test_skip("%s is not built", shim_bin);
    if (guest_dir && !guest_built(guest_dir))
        return test_skip("no guest in %s (%s)", guest_dir,
                         guest_dir == generic_dir ? "make guest-generic" : "make guest");
    if (ready)
        return 0;
    if (broken)
        return 1;
    r = busybox_image_build(test_tmpdir(), &tar);
    if (r == -ENOENT)
        return test_skip("busybox is not installed");
    broken = true;
    if (r < 0)
        return 1;
    r = ch_containerd_start_with_busybox(&ctd, test_tmpdir(), "ctd", tar);
    if (r == -ENOENT) {
        broken = false;
        return test_skip("containerd or ctr is not installed");
    }
    if (r < 0)
        return 1;
    ready = true;
    atexit(stop_all);
    broken = false;
    return 0;
}

#define SETUP(guest)                                                                               \
    do {                                                                                           \
        int _r = setup(guest);                                                                     \
        if (_r != 0)                                                                               \
            return _r;                                                                             \
    } while (0)

static void show(const char *what, const struct ch_result *res)
{
    printf("#   %s: exit %d in %ld ms: %.600s\n", what, res->exit_code, res->elapsed_ms,
           res->output ? res->output : "");
}

/* Nothing of the sandbox id survives --rm. */
static int check_gone(const char *id)
{
    char path[PATH_MAX], uri[ADDRESS_MAX];

    for (int i = 0; i < 100 && (ch_count_processes_with(shim_bin, ctd.sock) > 0 ||
                                ch_count_processes_with(QEMU_BIN, id) > 0);
         i++)
        usleep(100000);
    ASSERT_EQ(ch_count_processes_with(shim_bin, ctd.sock), 0);
    ASSERT_EQ(ch_count_processes_with(QEMU_BIN, id), 0);
    /* 9p is served by QEMU itself: no virtiofsd was ever started. */
    ASSERT_EQ(ch_count_processes_with(VIRTIOFSD_BIN, id), 0);
    ASSERT_EQ(ch_count_mounts(id), 0);
    snprintf(path, sizeof(path), "/run/kata-containers/shared/sandboxes/%s", id);
    ASSERT_TRUE(access(path, F_OK) < 0);
    snprintf(path, sizeof(path), "/run/vc/vm/%s", id);
    ASSERT_TRUE(access(path, F_OK) < 0);
    ASSERT_OK(address_for(ctd.sock, "default", id, uri, sizeof(uri)));
    ASSERT_TRUE(access(address_socket_path(uri), F_OK) < 0);
    return 0;
}

static int kata_check(const char *toml, struct ch_result *res)
{
    char exe[PATH_MAX + 16];

    snprintf(exe, sizeof(exe), "%s/kata-runtime", bin_dir);
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
    if (!guest_built(cloud_dir))
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
    if (!guest_built(generic_dir))
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
    ASSERT_OK(ch_ctr(&ctd, RUN_TIMEOUT_MS, &res, "run", "--rm", "--runtime", RUNTIME,
                     "--runtime-config-path", toml_9p, IMG, id, "echo", "hi", NULL));
    show("ctr run echo hi (virtio-9p)", &res);
    if (res.exit_code != 0)
        ch_print_file(ctd.log, "containerd: ");
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
    ASSERT_OK(ch_ctr(&ctd, RUN_TIMEOUT_MS, &res, "run", "--rm", "--runtime", RUNTIME,
                     "--runtime-config-path", toml_9p, IMG, id, "grep", " / ", "/proc/mounts",
                     NULL));
    show("ctr run grep ' / ' /proc/mounts (virtio-9p)", &res);
    if (res.exit_code != 0)
        ch_print_file(ctd.log, "containerd: ");
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
    char dir[PATH_MAX], file[PATH_MAX + 8], mnt[PATH_MAX + 64];
    FILE *f;

    SETUP(generic_dir);
    ID(id, "9p-bind");
    snprintf(dir, sizeof(dir), "%s/vol", test_tmpdir());
    snprintf(file, sizeof(file), "%s/msg", dir);
    ASSERT_OK(mkdir(dir, 0755) < 0 && errno != EEXIST ? -errno : 0);
    ASSERT_TRUE((f = fopen(file, "w")) != NULL);
    fputs("from the host\n", f);
    fclose(f);
    snprintf(mnt, sizeof(mnt), "type=bind,src=%s,dst=/data,options=rbind:ro", dir);
    ASSERT_OK(ch_ctr(&ctd, RUN_TIMEOUT_MS, &res, "run", "--rm", "--runtime", RUNTIME,
                     "--runtime-config-path", toml_9p, "--mount", mnt, IMG, id, "sh", "-c",
                     "cat /data/msg; touch /data/x 2>/dev/null && echo writable; exit 3", NULL));
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
    ASSERT_OK(ch_ctr(&ctd, RUN_TIMEOUT_MS, &res, "run", "--rm", "--runtime", RUNTIME,
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
    ASSERT_OK(ch_ctr(&ctd, RUN_TIMEOUT_MS, &res, "run", "--rm", "--runtime", RUNTIME,
                     "--runtime-config-path", toml_none, IMG, id, "echo", "hi", NULL));
    show("ctr run echo hi (shared_fs = none)", &res);
    ASSERT_NE(res.exit_code, 0);
    ASSERT_TRUE(strstr(res.output, "[hypervisor.qemu] shared_fs = \"none\"") != NULL);
    ASSERT_TRUE(strstr(res.output, "hi\n") == NULL);
    ch_result_done(&res);
    ASSERT_OK(check_gone(id));
    stop_all();
    return 0;
}
