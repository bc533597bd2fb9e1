/* `make install DESTDIR=<scratch> PREFIX=/usr` puts things where a Kata user
 * expects them: the shim, kata-runtime and kata-agent-ctl in /usr/bin (and
 * not the guest agent or test helpers), the configurations in
 * /usr/share/defaults/kata-containers with configuration.toml leading to
 * the QEMU one, the guest kernel and initrd in /usr/share/kata-containers
 * (when this build made them), and the installed kata-runtime, reading the
 * installed configuration, names exactly those installed assets. Also
 * checks that the shipped containerd snippet, RuntimeClass and Docker
 * daemon.json agree with each other and with the installed shim's name
 * (tests/e2e/test_cri runs containerd's CRI with that same snippet).
 * Runs make from the source tree (the tests' working directory) with
 * `-o all`, so it installs what is built and never rebuilds. */
#include <errno.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/toml.h"
#include "lib/compiler.h"
#include "lib/err.h"
#include "tests/harness/harness.h"
#include "tests/support/containerd_harness.h"

#define DEFAULTS "/usr/share/defaults/kata-containers"
#define SHARE "/usr/share/kata-containers"
#define SNIPPET "packaging/containerd/containerd-kata.toml"
#define CRI_RUNTIME "plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.kata"

static char root[PATH_MAX], out_dir[PATH_MAX];
static bool installed, guest_built;

static bool is_file_with_mode(const char *dir, const char *name, mode_t mode)
{
    char path[PATH_MAX * 2];
    struct stat st;

    snprintf(path, sizeof(path), "%s%s/%s", root, dir, name);
    if (stat(path, &st) < 0 || !S_ISREG(st.st_mode)) {
        printf("#   missing: %s\n", path);
        return false;
    }
    if ((st.st_mode & 07777) != mode) {
        printf("#   %s: mode %04o, want %04o\n", path, st.st_mode & 07777, mode);
        return false;
    }
    return true;
}

static bool exists_under_root(const char *dir, const char *name)
{
    char path[PATH_MAX * 2];

    snprintf(path, sizeof(path), "%s%s/%s", root, dir, name);
    return access(path, F_OK) == 0;
}

static off_t size_of(const char *path)
{
    struct stat st;
    return stat(path, &st) < 0 ? -1 : st.st_size;
}

/* Runs `make install` once for all cases; 0, or 77 with a reason. */
static int install(void)
{
    _cleanup_free_ char *bin = ch_bin_dir(), *make = ch_find_in_path("make");
    char o_arg[PATH_MAX + 8], destdir[PATH_MAX + 16], kernel[PATH_MAX + 32];
    char *argv[] = {make, (char *)"-s", (char *)"--no-print-directory", (char *)"-o",
                    (char *)"all", o_arg, (char *)"GUEST=0", destdir, (char *)"PREFIX=/usr",
                    (char *)"install", NULL};
    /* Run from `make test`, MAKEFLAGS would hand the outer command line
     * (and a jobserver this process does not hold) to the inner make. */
    char *env[] = {(char *)"MAKEFLAGS=", (char *)"MFLAGS=", (char *)"MAKELEVEL=", NULL};
    struct ch_result res;
    char *slash;

    if (installed)
        return 0;
    if (!make)
        return test_skip("make is not installed");
    if (access("Makefile", R_OK) < 0 || access(SNIPPET, R_OK) < 0)
        return test_skip("not run from the source tree (no ./Makefile)");
    snprintf(out_dir, sizeof(out_dir), "%s", bin);
    if (!(slash = strrchr(out_dir, '/')))
        return 1;
    *slash = '\0';
    snprintf(kernel, sizeof(kernel), "%s/guest/vmlinuz.container", out_dir);
    guest_built = access(kernel, R_OK) == 0;
    /* GUEST=1 only matters to `all`, which -o skips; install-guest copies
     * whatever guest files exist. */
    snprintf(o_arg, sizeof(o_arg), "O=%s", out_dir);
    snprintf(root, sizeof(root), "%s/root", test_tmpdir());
    snprintf(destdir, sizeof(destdir), "DESTDIR=%s", root);
    if (ch_run(argv, NULL, env, NULL, 0, 120000, &res) < 0 || res.exit_code != 0) {
        printf("#   make install: exit %d: %s\n", res.exit_code, res.output);
        ch_result_done(&res);
        return 1;
    }
    ch_result_done(&res);
    installed = true;
    return 0;
}

#define INSTALL()                                                                                  \
    do {                                                                                           \
        int _r = install();                                                                        \
        if (_r != 0)                                                                               \
            return _r;                                                                             \
    } while (0)

TEST(host_programs_land_in_prefix_bin)
{
    INSTALL();
    ASSERT_TRUE(is_file_with_mode("/usr/bin", "containerd-shim-kata-v2", 0755));
    ASSERT_TRUE(is_file_with_mode("/usr/bin", "kata-runtime", 0755));
    ASSERT_TRUE(is_file_with_mode("/usr/bin", "kata-agent-ctl", 0755));
    /* The agent runs in the guest (initrd); toml-decode is a test adapter. */
    ASSERT_TRUE(!exists_under_root("/usr/bin", "kata-agent"));
    ASSERT_TRUE(!exists_under_root("/usr/bin", "toml-decode"));
    return 0;
}

TEST(configurations_land_in_the_defaults_dir)
{
    char path[PATH_MAX * 2], target[PATH_MAX];
    struct stat st;
    ssize_t n;

    INSTALL();
    ASSERT_TRUE(is_file_with_mode(DEFAULTS, "configuration-qemu.toml", 0644));
    ASSERT_TRUE(is_file_with_mode(DEFAULTS, "configuration-clh.toml", 0644));
    /* configuration.toml is QEMU's, as upstream ships it. */
    snprintf(path, sizeof(path), "%s%s/configuration.toml", root, DEFAULTS);
    ASSERT_OK(lstat(path, &st) < 0 ? -errno : 0);
    ASSERT_TRUE(S_ISLNK(st.st_mode));
    n = readlink(path, target, sizeof(target) - 1);
    ASSERT_GT(n, 0);
    target[n] = '\0';
    ASSERT_STREQ(target, "configuration-qemu.toml");
    return 0;
}

TEST(guest_assets_land_in_the_share_dir)
{
    char built[PATH_MAX + 64], inst[PATH_MAX * 2];

    INSTALL();
    if (!guest_built)
        return test_skip("this build has no guest kernel (GUEST=0 or no kernel package)");
    ASSERT_TRUE(is_file_with_mode(SHARE, "vmlinuz.container", 0644));
    ASSERT_TRUE(is_file_with_mode(SHARE, "kata-containers-initrd.img", 0644));
    snprintf(built, sizeof(built), "%s/guest/vmlinuz.container", out_dir);
    snprintf(inst, sizeof(inst), "%s%s/vmlinuz.container", root, SHARE);
    ASSERT_EQ(size_of(inst), size_of(built));
    snprintf(built, sizeof(built), "%s/guest/kata-containers-initrd.img", out_dir);
    snprintf(inst, sizeof(inst), "%s%s/kata-containers-initrd.img", root, SHARE);
    ASSERT_EQ(size_of(inst), size_of(built));
    return 0;
}

/* The installed kata-runtime reads the installed configuration.toml (which
 * the shim would also pick) and reports where the guest assets are. */
TEST(installed_configuration_points_at_the_installed_assets)
{
    char runtime[PATH_MAX + 32], config[PATH_MAX * 2], path[PATH_MAX * 2];
    struct ch_result res;
    json_object *env = NULL;
    const char *kernel, *initrd;
    int rc = 1;

    INSTALL();
    snprintf(runtime, sizeof(runtime), "%s/usr/bin/kata-runtime", root);
    snprintf(config, sizeof(config), "%s%s/configuration.toml", root, DEFAULTS);
    char *argv[] = {runtime, (char *)"env", (char *)"--json", (char *)"--config", config, NULL};
    ASSERT_OK(ch_run(argv, NULL, NULL, NULL, 0, 60000, &res));
    if (res.exit_code != 0 || !(env = json_tokener_parse(res.output))) {
        printf("#   kata-runtime env: exit %d: %.600s\n", res.exit_code, res.output);
        goto out;
    }
    json_object *k = NULL, *i = NULL;
    if (!json_object_object_get_ex(env, "Kernel", &k) ||
        !json_object_object_get_ex(k, "Path", &k) ||
        !json_object_object_get_ex(env, "Initrd", &i) ||
        !json_object_object_get_ex(i, "Path", &i)) {
        printf("#   kata-runtime env: no Kernel.Path or Initrd.Path\n");
        goto out;
    }
    kernel = json_object_get_string(k);
    initrd = json_object_get_string(i);
    printf("#   kernel %s, initrd %s\n", kernel, initrd);
    if (strcmp(kernel, SHARE "/vmlinuz.container") != 0 ||
        strcmp(initrd, SHARE "/kata-containers-initrd.img") != 0)
        goto out;
    if (guest_built) {
        snprintf(path, sizeof(path), "%s%s", root, kernel);
        if (access(path, R_OK) < 0)
            goto out;
        snprintf(path, sizeof(path), "%s%s", root, initrd);
        if (access(path, R_OK) < 0)
            goto out;
    }
    rc = 0;
out:
    json_object_put(env);
    ch_result_done(&res);
    return rc;
}

static bool file_has_line(const char *path, const char *line)
{
    _cleanup_fclose_ FILE *f = fopen(path, "re");
    _cleanup_free_ char *buf = NULL;
    size_t cap = 0;

    while (f && getline(&buf, &cap, f) >= 0) {
        buf[strcspn(buf, "\n")] = '\0';
        if (strcmp(buf, line) == 0)
            return true;
    }
    return false;
}

/* containerd runs "io.containerd.kata.v2" as containerd-shim-kata-v2 (the
 * last two dotted parts), the name installed above; the RuntimeClass names
 * the CRI runtime table as its handler; Docker uses the same type. */
TEST(shipped_containerd_kubernetes_and_docker_files_agree)
{
    _cleanup_(toml_freep) struct toml_value *t = NULL;
    char path[PATH_MAX * 2];
    struct err e = ERR_INIT;
    const char *type = NULL, *config = NULL;
    json_object *daemon, *v;

    INSTALL();
    if (toml_parse_file(SNIPPET, &t, &e) < 0) {
        printf("#   %s\n", err_msg(&e));
        return 1;
    }
    ASSERT_OK(toml_string(toml_get(t, CRI_RUNTIME ".runtime_type"), &type));
    ASSERT_STREQ(type, "io.containerd.kata.v2");
    ASSERT_TRUE(exists_under_root("/usr/bin", "containerd-shim-kata-v2"));
    ASSERT_OK(toml_string(toml_get(t, CRI_RUNTIME ".options.ConfigPath"), &config));
    /* A file `make install` created: a ConfigPath that is missing fails
     * every pod (an explicit path never falls through to discovery). */
    snprintf(path, sizeof(path), "%s%s", root, config);
    ASSERT_TRUE(config[0] == '/' && access(path, R_OK) == 0);
    ASSERT_TRUE(file_has_line("packaging/containerd/runtimeclass-kata.yaml", "handler: kata"));
    daemon = json_object_from_file("packaging/containerd/daemon.json");
    ASSERT_TRUE(daemon != NULL);
    ASSERT_TRUE(json_object_object_get_ex(daemon, "runtimes", &v) &&
                json_object_object_get_ex(v, "kata", &v) &&
                json_object_object_get_ex(v, "runtimeType", &v));
    ASSERT_STREQ(json_object_get_string(v), "io.containerd.kata.v2");
    json_object_put(daemon);
    return 0;
}
