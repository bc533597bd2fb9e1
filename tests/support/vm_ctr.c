/* ctr runs in real QEMU VMs: the parts every such e2e test repeated. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/compiler.h"
#include "shim/address.h"
#include "tests/harness/harness.h"
#include "tests/support/busybox_image.h"
#include "tests/support/vm_ctr.h"

int vmc_paths_init(struct vmc_paths *p)
{
    _cleanup_free_ char *bin = ch_bin_dir();

    if (!bin)
        return -ENOMEM;
    snprintf(p->bin, sizeof(p->bin), "%s", bin);
    snprintf(p->shim, sizeof(p->shim), "%s/containerd-shim-kata-v2", bin);
    snprintf(p->guest, sizeof(p->guest), "%s/../guest", bin);
    return 0;
}

int vmc_prereqs(struct vmc_paths *p, const char *root_why, bool need_virtiofsd)
{
    const char *why;

    if (geteuid() != 0)
        return test_skip("%s", root_why);
    if (vmc_paths_init(p) < 0)
        return 1;
    if ((why = vmc_missing(p, need_virtiofsd)))
        return test_skip("%s", why);
    return 0;
}

int vmc_mock_prereqs(struct vmc_paths *p, char *toml, size_t size)
{
    char agent[PATH_MAX + 16];
    FILE *f;

    if (geteuid() != 0)
        return test_skip("needs root (containerd, mounts)");
    if (vmc_paths_init(p) < 0)
        return 1;
    snprintf(agent, sizeof(agent), "%s/kata-agent", p->bin);
    if (access(p->shim, X_OK) < 0 || access(agent, X_OK) < 0)
        return test_skip("%s or %s is not built", p->shim, agent);
    snprintf(toml, size, "%s/kata-mock.toml", test_tmpdir());
    if (!(f = fopen(toml, "we")))
        return 1;
    fprintf(f, "[hypervisor.mock]\npath = \"%s\"\n[agent.kata]\ndial_timeout = 10\n", agent);
    return fclose(f) == 0 ? 0 : 1;
}

bool vmc_guest_built(const char *dir)
{
    char kernel[PATH_MAX + 32], initrd[PATH_MAX + 32];

    snprintf(kernel, sizeof(kernel), "%s/vmlinuz.container", dir);
    snprintf(initrd, sizeof(initrd), "%s/kata-containers-initrd.img", dir);
    return access(kernel, R_OK) == 0 && access(initrd, R_OK) == 0;
}

const char *vmc_missing(const struct vmc_paths *p, bool need_virtiofsd)
{
    static char why[sizeof(p->shim) + 32];

    if (access(VMC_QEMU_BIN, X_OK) < 0)
        return VMC_QEMU_BIN " not installed (apt-get install qemu-system-x86)";
    if (need_virtiofsd && access(VMC_VIRTIOFSD_BIN, X_OK) < 0)
        return VMC_VIRTIOFSD_BIN " not installed (apt-get install qemu-system-common)";
    if (access(p->shim, X_OK) < 0) {
        snprintf(why, sizeof(why), "%s is not built", p->shim);
        return why;
    }
    return NULL;
}

int vmc_write_toml(char *path, size_t size, const char *name, const struct vmc_toml *t)
{
    const char *fs = t->shared_fs ? t->shared_fs : "virtio-fs";
    FILE *f;

    snprintf(path, size, "%s/%s", test_tmpdir(), name);
    if (!(f = fopen(path, "we")))
        return -errno;
    fprintf(f,
            "[hypervisor.qemu]\n"
            "path = \"%s\"\n"
            "kernel = \"%s/vmlinuz.container\"\n"
            "initrd = \"%s/kata-containers-initrd.img\"\n"
            "machine_type = \"q35\"\n"
            "default_vcpus = 1\n"
            "default_memory = 384\n"
            "shared_fs = \"%s\"\n",
            VMC_QEMU_BIN, t->guest_dir, t->guest_dir, fs);
    if (strcmp(fs, "virtio-fs") == 0)
        fprintf(f, "virtio_fs_daemon = \"%s\"\nvirtio_fs_cache = \"auto\"\n", VMC_VIRTIOFSD_BIN);
    if (t->msize_9p)
        fprintf(f, "msize_9p = %d\n", t->msize_9p);
    fprintf(f, "[agent.kata]\ndial_timeout = %d\n", t->dial_timeout ? t->dial_timeout : 30);
    if (t->extra)
        fputs(t->extra, f);
    return fclose(f) == 0 ? 0 : -errno;
}

int vmc_containerd_up(struct vmc_containerd *v, void (*stop)(void))
{
    _cleanup_free_ char *tar = NULL;
    int r;

    if (v->up)
        return 0;
    if (v->failed)
        return 1;
    r = busybox_image_build(test_tmpdir(), &tar);
    if (r == -ENOENT)
        return test_skip("busybox is not installed");
    if (r >= 0)
        r = ch_containerd_start_with_busybox(&v->c, test_tmpdir(), "ctd", tar);
    if (r == -ENOENT)
        return test_skip("containerd or ctr is not installed");
    if (r < 0) {
        printf("#   busybox image or containerd: %s\n", strerror(-r));
        v->failed = true;
        return 1;
    }
    v->up = true;
    if (!v->at_exit && stop) {
        atexit(stop);
        v->at_exit = true;
    }
    return 0;
}

void vmc_containerd_stop(struct vmc_containerd *v, const char *const ids[], size_t n_ids)
{
    struct ch_result res;

    if (!v->up)
        return;
    for (size_t i = 0; i < n_ids; i++) {
        if (ch_ctr(&v->c, 60000, &res, "task", "rm", "-f", ids[i], NULL) >= 0)
            ch_result_done(&res);
        if (ch_ctr(&v->c, 30000, &res, "container", "rm", ids[i], NULL) >= 0)
            ch_result_done(&res);
    }
    ch_containerd_free(&v->c);
    v->up = false;
}

void vmc_containerd_stop_bases(struct vmc_containerd *v, const char *const bases[],
                               size_t n_bases)
{
    char ids[32][64];
    const char *ptrs[32];
    size_t n = MIN(n_bases, ELEMENTSOF(ids));

    for (size_t i = 0; i < n; i++) {
        vmc_id(ids[i], sizeof(ids[i]), bases[i]);
        ptrs[i] = ids[i];
    }
    vmc_containerd_stop(v, ptrs, n);
}

int vmc_ro_volume(char *mnt, size_t size, const char *text)
{
    char dir[PATH_MAX], file[PATH_MAX + 8];
    FILE *f;

    snprintf(dir, sizeof(dir), "%s/vol", test_tmpdir());
    snprintf(file, sizeof(file), "%s/msg", dir);
    if (mkdir(dir, 0755) < 0 && errno != EEXIST)
        return -errno;
    if (!(f = fopen(file, "we")))
        return -errno;
    fputs(text, f);
    if (fclose(f) != 0)
        return -errno;
    snprintf(mnt, size, "type=bind,src=%s,dst=/data,options=rbind:ro", dir);
    return 0;
}

void vmc_id(char *buf, size_t size, const char *base)
{
    snprintf(buf, size, "%s-%d", base, (int)getpid());
}

void vmc_show(const char *what, const struct ch_result *res, int max)
{
    printf("#   %s: exit %d in %ld ms: %.*s\n", what, res->exit_code, res->elapsed_ms, max,
           res->output ? res->output : "");
}

static int count_left(const struct vmc_containerd *v, const char *shim_bin, const char *id,
                      unsigned flags)
{
    int n = ch_count_processes_with(VMC_QEMU_BIN, id);

    if (flags & VMC_GONE_SHIM)
        n += ch_count_processes_with(shim_bin, v->c.sock);
    if (flags & VMC_GONE_VIRTIOFSD)
        n += ch_count_processes_with(VMC_VIRTIOFSD_BIN, id);
    return n;
}

int vmc_check_gone(const struct vmc_containerd *v, const char *shim_bin, const char *id,
                   unsigned flags)
{
    char path[PATH_MAX], uri[ADDRESS_MAX];

    for (int i = 0; i < 100 && count_left(v, shim_bin, id, flags) > 0; i++)
        usleep(100000);
    if (flags & VMC_GONE_SHIM)
        ASSERT_EQ(ch_count_processes_with(shim_bin, v->c.sock), 0);
    ASSERT_EQ(ch_count_processes_with(VMC_QEMU_BIN, id), 0);
    if (flags & VMC_GONE_VIRTIOFSD)
        ASSERT_EQ(ch_count_processes_with(VMC_VIRTIOFSD_BIN, id), 0);
    /* Only this id: other runs may share the host's shared folders. */
    if (flags & VMC_GONE_MOUNTS)
        ASSERT_EQ(ch_count_mounts(id), 0);
    if (flags & VMC_GONE_STATE) {
        snprintf(path, sizeof(path), "/run/kata-containers/shared/sandboxes/%s", id);
        ASSERT_TRUE(access(path, F_OK) < 0);
        snprintf(path, sizeof(path), "/run/vc/vm/%s", id);
        ASSERT_TRUE(access(path, F_OK) < 0);
        ASSERT_OK(address_for(v->c.sock, "default", id, uri, sizeof(uri)));
        ASSERT_TRUE(access(address_socket_path(uri), F_OK) < 0);
    }
    return 0;
}

int vmc_kill_task(struct vmc_containerd *v, const char *id)
{
    struct ch_result res;

    ASSERT_OK(ch_ctr(&v->c, 60000, &res, "task", "kill", "-s", "KILL", id, NULL));
    ASSERT_EQ(res.exit_code, 0);
    ch_result_done(&res);
    /* The task is stopped once the KILL reached the guest and the exit
     * came back; until then `task rm` refuses. */
    res.exit_code = -1;
    for (int i = 0; i < 100 && res.exit_code != 0; i++) {
        usleep(200000);
        ASSERT_OK(ch_ctr(&v->c, 60000, &res, "task", "rm", id, NULL));
        if (res.exit_code != 0)
            ch_result_done(&res);
    }
    vmc_show("ctr task rm", &res, 400);
    ASSERT_EQ(res.exit_code, 0);
    ch_result_done(&res);
    return 0;
}
