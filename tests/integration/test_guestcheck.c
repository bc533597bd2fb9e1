/* The guest file-system manifest (config/guestcheck.h) and who reads it:
 * guestcheck_fs() on manifests in a scratch folder (listed, not listed,
 * absent, through a symlinked kernel path), configuration loading (a 9p
 * configuration still loads: the missing 9p is a warning), and the built
 * `kata-runtime check`, which reports a [WARN] guest-shared-fs line with
 * the remedy. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config/cfg.h"
#include "config/guestcheck.h"
#include "lib/err.h"
#include "tests/harness/harness.h"

static int write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "we");
    if (!f)
        return -errno;
    fputs(text, f);
    return fclose(f) == 0 ? 0 : -EIO;
}

static void paths(char *kernel, char *manifest, size_t size, const char *name)
{
    snprintf(kernel, size, "%s/%s", test_tmpdir(), name);
    snprintf(manifest, size, "%s/%s" GUESTCHECK_SUFFIX, test_tmpdir(), name);
}

TEST(manifest_lists_or_not)
{
    char k[512], m[600], detail[GUESTCHECK_DETAIL];
    paths(k, m, sizeof(k), "cloud-vmlinuz");
    ASSERT_OK(write_file(k, "kernel"));
    ASSERT_OK(write_file(m, "# comment naming 9p\ntmpfs\next4\nvirtiofs\n"));
    ASSERT_EQ(guestcheck_fs(k, "virtiofs", detail, sizeof(detail)), GUESTCHECK_OK);
    ASSERT_EQ(guestcheck_fs(k, "9p", detail, sizeof(detail)), GUESTCHECK_MISSING);
    printf("#   %s\n", detail);
    ASSERT_TRUE(strstr(detail, "cannot mount 9p") != NULL);
    ASSERT_TRUE(strstr(detail, m) != NULL);
    /* A partial name is not a match. */
    ASSERT_EQ(guestcheck_fs(k, "ext", detail, sizeof(detail)), GUESTCHECK_MISSING);

    /* Installed as vmlinux.container -> vmlinuz.container: followed. */
    char link[600];
    snprintf(link, sizeof(link), "%s/vmlinux-link", test_tmpdir());
    ASSERT_OK(symlink(k, link) < 0 ? -errno : 0);
    ASSERT_EQ(guestcheck_fs(link, "ext4", detail, sizeof(detail)), GUESTCHECK_OK);

    /* No manifest (a guest built before manifests existed): unknown. */
    char k2[512], m2[600];
    paths(k2, m2, sizeof(k2), "old-vmlinuz");
    ASSERT_OK(write_file(k2, "kernel"));
    ASSERT_EQ(guestcheck_fs(k2, "9p", detail, sizeof(detail)), GUESTCHECK_UNKNOWN);
    ASSERT_TRUE(strstr(detail, "cannot tell") != NULL);
    ASSERT_EQ(guestcheck_fs("", "9p", detail, sizeof(detail)), GUESTCHECK_UNKNOWN);
    return 0;
}

static int load_9p_config(const char *kernel, const char *shared_fs, struct cfg **ret,
                          char *conf, size_t size)
{
    char text[2048];
    struct err e = ERR_INIT;
    snprintf(conf, size, "%s/9p-%s.toml", test_tmpdir(), shared_fs);
    snprintf(text, sizeof(text),
             "[hypervisor.qemu]\npath = \"/usr/bin/qemu-system-x86_64\"\n"
             "valid_hypervisor_paths = [\"/usr/bin/qemu-system-x86_64\"]\n"
             "kernel = \"%s\"\ninitrd = \"%s\"\nshared_fs = \"%s\"\n"
             "virtio_fs_daemon = \"/usr/lib/qemu/virtiofsd\"\n"
             "valid_virtio_fs_daemon_paths = [\"/usr/lib/qemu/virtiofsd\"]\n",
             kernel, kernel, shared_fs);
    int r = write_file(conf, text);
    if (r < 0)
        return r;
    r = cfg_load(conf, ret, &e);
    if (r < 0)
        printf("#   %s\n", e.msg);
    return r;
}

TEST(shared_fs_check_and_config_load)
{
    char k[512], m[600], conf[600], detail[GUESTCHECK_DETAIL];
    struct cfg *c = NULL;
    paths(k, m, sizeof(k), "cloud2-vmlinuz");
    ASSERT_OK(write_file(k, "kernel"));
    ASSERT_OK(write_file(m, "tmpfs\nvirtiofs\n"));
    /* Loads (with a warning on stderr): a warning, not an error. */
    ASSERT_OK(load_9p_config(k, "virtio-9p", &c, conf, sizeof(conf)));
    ASSERT_EQ(guestcheck_shared_fs(&c->hv, detail, sizeof(detail)), GUESTCHECK_MISSING);
    c = cfg_free(c);
    ASSERT_OK(load_9p_config(k, "virtio-fs", &c, conf, sizeof(conf)));
    ASSERT_EQ(guestcheck_shared_fs(&c->hv, detail, sizeof(detail)), GUESTCHECK_OK);
    c = cfg_free(c);
    ASSERT_OK(load_9p_config(k, "none", &c, conf, sizeof(conf)));
    ASSERT_EQ(guestcheck_shared_fs(&c->hv, detail, sizeof(detail)), GUESTCHECK_OK);
    c = cfg_free(c);
    ASSERT_OK(write_file(m, "tmpfs\nvirtiofs\n9p\n"));
    ASSERT_OK(load_9p_config(k, "virtio-9p", &c, conf, sizeof(conf)));
    ASSERT_EQ(guestcheck_shared_fs(&c->hv, detail, sizeof(detail)), GUESTCHECK_OK);
    c = cfg_free(c);
    return 0;
}

/* kata-runtime check on a 9p configuration whose guest lacks 9p. */
TEST(kata_runtime_check_warns)
{
    char k[512], m[600], conf[600], bin[600], cmd[2048], out[16384];
    const char *o = getenv("O");
    struct cfg *c = NULL;
    snprintf(bin, sizeof(bin), "%s/bin/kata-runtime", o && *o ? o : "build");
    if (access(bin, X_OK) < 0)
        return test_skip("%s not built", bin);
    paths(k, m, sizeof(k), "cloud3-vmlinuz");
    ASSERT_OK(write_file(k, "kernel"));
    ASSERT_OK(write_file(m, "tmpfs\nvirtiofs\n"));
    ASSERT_OK(load_9p_config(k, "virtio-9p", &c, conf, sizeof(conf)));
    c = cfg_free(c);
    snprintf(cmd, sizeof(cmd), "'%s' check --no-network-checks --config '%s' 2>&1", bin, conf);
    FILE *p = popen(cmd, "r");
    ASSERT_TRUE(p != NULL);
    size_t n = fread(out, 1, sizeof(out) - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    ASSERT_TRUE(WIFEXITED(st));
    printf("#   exit %d\n", WEXITSTATUS(st));
    const char *w = strstr(out, "[WARN] guest-shared-fs: shared_fs = \"virtio-9p\"");
    ASSERT_TRUE(w != NULL);
    ASSERT_TRUE(strstr(w, "cannot mount 9p") != NULL);
    ASSERT_TRUE(strstr(out, "make guest-generic") != NULL);
    /* The configuration loader said it too. */
    ASSERT_TRUE(strstr(out, "level=warning") != NULL);
    /* A warning, not a blocker: the verdict does not refuse VMs for it. */
    ASSERT_TRUE(WEXITSTATUS(st) != 1 || strstr(out, "Blocking:") != NULL);
    ASSERT_TRUE(!strstr(out, "Blocking:") || !strstr(strstr(out, "Blocking:"), "guest-shared-fs"));
    return 0;
}
