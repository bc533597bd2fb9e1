/* config/cfg-dropin.c and the drop-in merge in config/cfg-load.c: config.d
 * files are merged over the base file in name order, later files win key by
 * key, only regular *.toml files count, and every error names the drop-in
 * and its line. Fixtures: tests/data/config/dropin{,-bad}/. */
#include "config/cfg.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/cfg-dropin.h"
#include "config/cfg-internal.h"
#include "lib/err.h"
#include "lib/log.h"
#include "tests/harness/harness.h"

static const char base_text[] = "[hypervisor.qemu]\n"
                                 "path = \"/opt/kata-test/bin/qemu-system-x86_64\"\n"
                                 "kernel = \"/opt/kata-test/vmlinuz\"\n"
                                 "initrd = \"/opt/kata-test/initrd.img\"\n"
                                 "valid_hypervisor_paths = [\"/opt/kata-test/bin/*\"]\n"
                                 "shared_fs = \"none\"\n";

static const char *data(const char *name)
{
    static char path[4][512];
    static int i;
    char *p = path[i++ % 4];
    snprintf(p, 512, "%s/%s", KATA_TEST_DATA, name);
    return p;
}

static int write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -errno;
    fputs(text, f);
    return fclose(f) == 0 ? 0 : -EIO;
}

/* <tmp>/<name>/configuration.toml holding base_text, with an empty
 * config.d beside it; the file's path goes to ret (512 bytes). */
static int make_base(const char *name, char *ret)
{
    char dir[256];
    snprintf(dir, sizeof(dir), "%s/%s", test_tmpdir(), name);
    if (mkdir(dir, 0755) < 0)
        return -errno;
    snprintf(ret, 512, "%s/configuration.toml", dir);
    return write_file(ret, base_text);
}

static int add_dropin(const char *base, const char *name, const char *text, char *ret)
{
    char dir[400];
    snprintf(dir, sizeof(dir), "%.*s/config.d", (int)(strrchr(base, '/') - base), base);
    if (mkdir(dir, 0755) < 0 && errno != EEXIST)
        return -errno;
    snprintf(ret, 512, "%s/%.64s", dir, name);
    return write_file(ret, text);
}

static bool ends_with(const char *s, const char *tail)
{
    size_t a = strlen(s), b = strlen(tail);
    return a >= b && strcmp(s + a - b, tail) == 0;
}

TEST(fixture_merges_in_name_order)
{
    struct err e = ERR_INIT;
    _cleanup_cfg_ struct cfg *c = NULL;
    int r = cfg_load(data("dropin/configuration.toml"), &c, &e);
    if (r < 0)
        printf("#   %s\n", err_msg(&e));
    ASSERT_OK(r);
    /* 10-resources.toml, then 20-debug.toml overriding one of its keys. */
    ASSERT_EQ(c->hv.default_vcpus, 2);
    ASSERT_EQ(c->hv.default_memory, 2048);
    /* Keys no drop-in names keep the base file's values. */
    ASSERT_STREQ(c->hv.kernel_params, "quiet");
    ASSERT_EQ(c->agent.dial_timeout, 10);
    ASSERT_TRUE(c->runtime.disable_new_netns);
    /* An array is replaced whole, not appended to. */
    ASSERT_EQ(cfg_strv_len(c->agent.kernel_modules), 1);
    ASSERT_STREQ(c->agent.kernel_modules[0], "c");
    ASSERT_TRUE(c->runtime.enable_debug);
    /* .hidden.toml, notes.txt and the directory ignored.toml are skipped. */
    ASSERT_EQ(cfg_strv_len(c->dropins), 2);
    ASSERT_TRUE(ends_with(c->dropins[0], "/dropin/config.d/10-resources.toml"));
    ASSERT_TRUE(ends_with(c->dropins[1], "/dropin/config.d/20-debug.toml"));
    ASSERT_TRUE(ends_with(c->file, "/dropin/configuration.toml"));
    /* cfg_dup() keeps the list. */
    _cleanup_cfg_ struct cfg *d = NULL;
    ASSERT_OK(cfg_dup(c, &d));
    ASSERT_EQ(cfg_strv_len(d->dropins), 2);
    ASSERT_STREQ(d->dropins[1], c->dropins[1]);
    return 0;
}

TEST(no_config_d_is_the_base_file)
{
    char base[512];
    ASSERT_OK(make_base("plain", base));
    struct err e = ERR_INIT;
    _cleanup_cfg_ struct cfg *a = NULL, *b = NULL;
    ASSERT_OK(cfg_load(base, &a, &e));
    ASSERT_OK(cfg_load_string(base_text, strlen(base_text), "x.toml", &b, &e));
    ASSERT_EQ(cfg_strv_len(a->dropins), 0);
    ASSERT_EQ(cfg_compare(a, b, NULL, 0), 0);
    /* A config.d that is a file, or an empty directory, changes nothing. */
    char dir[600];
    snprintf(dir, sizeof(dir), "%s/plain/config.d", test_tmpdir());
    ASSERT_OK(write_file(dir, "[runtime]\nenable_debug = true\n"));
    cfg_free(a);
    a = NULL;
    ASSERT_OK(cfg_load(base, &a, &e));
    ASSERT_EQ(cfg_compare(a, b, NULL, 0), 0);
    ASSERT_EQ(unlink(dir), 0);
    ASSERT_EQ(mkdir(dir, 0755), 0);
    cfg_free(a);
    a = NULL;
    ASSERT_OK(cfg_load(base, &a, &e));
    ASSERT_EQ(cfg_strv_len(a->dropins), 0);
    ASSERT_EQ(cfg_compare(a, b, NULL, 0), 0);
    return 0;
}

TEST(order_is_lexical_not_creation)
{
    char base[512], p[512];
    ASSERT_OK(make_base("order", base));
    /* Created in the reverse order of their names. */
    ASSERT_OK(add_dropin(base, "b.toml", "[hypervisor.qemu]\ndefault_memory = 3000\n", p));
    ASSERT_OK(add_dropin(base, "a.toml", "[hypervisor.qemu]\ndefault_memory = 1000\n", p));
    ASSERT_OK(add_dropin(base, "B.toml", "[hypervisor.qemu]\ndefault_memory = 500\n", p));
    struct err e = ERR_INIT;
    _cleanup_cfg_ struct cfg *c = NULL;
    ASSERT_OK(cfg_load(base, &c, &e));
    /* strcmp order: "B.toml" < "a.toml" < "b.toml". */
    ASSERT_EQ(c->hv.default_memory, 3000);
    ASSERT_EQ(cfg_strv_len(c->dropins), 3);
    ASSERT_TRUE(ends_with(c->dropins[0], "/B.toml"));
    ASSERT_TRUE(ends_with(c->dropins[2], "/b.toml"));
    return 0;
}

TEST(bad_type_names_the_dropin_and_line)
{
    struct err e = ERR_INIT;
    struct cfg *c = NULL;
    ASSERT_EQ(cfg_load(data("dropin-bad/configuration.toml"), &c, &e), -EINVAL);
    ASSERT_TRUE(c == NULL);
    char want[600];
    snprintf(want, sizeof(want),
             "%s:4: [hypervisor.qemu] default_memory: expected an integer, got string",
             data("dropin-bad/config.d/50-bad.toml"));
    printf("#   %s\n", err_msg(&e));
    ASSERT_STREQ(err_msg(&e), want);
    return 0;
}

TEST(syntax_error_names_the_dropin)
{
    char base[512], p[512];
    ASSERT_OK(make_base("syntax", base));
    ASSERT_OK(add_dropin(base, "10.toml", "# fine\n[runtime]\nenable_debug = tru\n", p));
    struct err e = ERR_INIT;
    struct cfg *c = NULL;
    ASSERT_EQ(cfg_load(base, &c, &e), -EINVAL);
    ASSERT_TRUE(c == NULL);
    char want[600];
    snprintf(want, sizeof(want), "%s:3:", p);
    printf("#   %s\n", err_msg(&e));
    ASSERT_TRUE(strncmp(err_msg(&e), want, strlen(want)) == 0);
    return 0;
}

TEST(cross_key_check_names_the_dropin)
{
    char base[512], p[512];
    ASSERT_OK(make_base("cross", base));
    /* The value is well-typed; only the check against the base file's
     * valid_hypervisor_paths, run after the last file, rejects it. */
    ASSERT_OK(add_dropin(base, "10.toml", "[hypervisor.qemu]\n\npath = \"/usr/bin/evil\"\n", p));
    struct err e = ERR_INIT;
    struct cfg *c = NULL;
    ASSERT_EQ(cfg_load(base, &c, &e), -EINVAL);
    char want[600];
    snprintf(want, sizeof(want), "%s:3: [hypervisor.qemu] path:", p);
    printf("#   %s\n", err_msg(&e));
    ASSERT_TRUE(strncmp(err_msg(&e), want, strlen(want)) == 0);
    return 0;
}

TEST(dropin_cannot_switch_hypervisor)
{
    char base[512], p[512];
    ASSERT_OK(make_base("switch", base));
    ASSERT_OK(add_dropin(base, "10.toml", "\n[hypervisor.clh]\ndefault_vcpus = 2\n", p));
    struct err e = ERR_INIT;
    struct cfg *c = NULL;
    ASSERT_EQ(cfg_load(base, &c, &e), -EINVAL);
    char want[600];
    snprintf(want, sizeof(want), "%s:2: [hypervisor.clh]:", p);
    printf("#   %s\n", err_msg(&e));
    ASSERT_TRUE(strncmp(err_msg(&e), want, strlen(want)) == 0);
    ASSERT_TRUE(strstr(err_msg(&e), "not switch hypervisors"));
    return 0;
}

TEST(unknown_key_in_dropin_warns_with_its_place)
{
    char base[512], p[512], logpath[600], buf[4096];
    ASSERT_OK(make_base("unknown", base));
    ASSERT_OK(add_dropin(base, "10.toml", "[runtime]\nenable_debug = true\nnot_a_key = 1\n", p));
    snprintf(logpath, sizeof(logpath), "%s/unknown/log", test_tmpdir());
    int fd = open(logpath, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    ASSERT_TRUE(fd >= 0);
    log_set_fd(fd);
    struct err e = ERR_INIT;
    _cleanup_cfg_ struct cfg *c = NULL;
    int r = cfg_load(base, &c, &e);
    log_set_fd(2);
    ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
    close(fd);
    buf[n > 0 ? n : 0] = '\0';
    ASSERT_OK(r);
    ASSERT_TRUE(c->runtime.enable_debug);
    char want[600];
    snprintf(want, sizeof(want), "%s:3: [runtime] unknown key", p);
    ASSERT_TRUE(strstr(buf, want));
    return 0;
}

TEST(too_many_dropins_is_an_error)
{
    char base[512], p[512];
    ASSERT_OK(make_base("many", base));
    for (int i = 0; i <= CFG_DROPIN_MAX; i++) {
        char name[32];
        snprintf(name, sizeof(name), "%03d.toml", i);
        ASSERT_OK(add_dropin(base, name, "", p));
    }
    struct err e = ERR_INIT;
    struct cfg *c = NULL;
    ASSERT_EQ(cfg_load(base, &c, &e), -E2BIG);
    ASSERT_TRUE(strstr(err_msg(&e), "/many/config.d: more than"));
    return 0;
}
