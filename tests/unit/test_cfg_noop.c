/* Keys this runtime accepts but does not implement (config/cfg-schema.c's
 * noop marks): a value other than the default is reported once, with the
 * file and line that set it (base file or drop-in), in the log and in
 * cfg->unimplemented; the default, written or not, says nothing; the
 * generated default files say nothing; overrides (annotations) are
 * reported by cfg_warn_unimplemented(). */
#include "config/cfg.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/cfg-internal.h"
#include "lib/err.h"
#include "lib/log.h"
#include "tests/harness/harness.h"

static const char qemu_head[] = "[hypervisor.qemu]\n"
                                "path = \"/usr/bin/qemu-system-x86_64\"\n"
                                "kernel = \"/k\"\n"
                                "initrd = \"/i\"\n";

/* Opens a fresh log file and sends log lines there. */
static int log_begin(void)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/log", test_tmpdir());
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd >= 0)
        log_set_fd(fd);
    return fd >= 0 ? fd : -errno;
}

static void log_end(int fd, char *buf, size_t len)
{
    log_set_fd(2);
    ssize_t n = pread(fd, buf, len - 1, 0);
    close(fd);
    buf[n > 0 ? n : 0] = '\0';
}

static int load_logged(const char *text, struct cfg **ret, char *log, size_t len)
{
    struct err e = ERR_INIT;
    int fd = log_begin();
    if (fd < 0)
        return fd;
    int r = cfg_load_string(text, strlen(text), "t.toml", ret, &e);
    log_end(fd, log, len);
    if (r < 0)
        printf("#   load failed: %s\n", err_msg(&e));
    return r;
}

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

TEST(set_key_warns_with_file_and_line)
{
    char text[1024], log[4096];
    snprintf(text, sizeof(text), "%s%s", qemu_head,
             "enable_iommu = true\n"
             "[runtime]\n"
             "enable_pprof = true\n"
             "sandbox_bind_mounts = [\"/a\", \"/b\"]\n");
    _cleanup_cfg_ struct cfg *c = NULL;
    ASSERT_OK(load_logged(text, &c, log, sizeof(log)));
    ASSERT_EQ(cfg_strv_len(c->unimplemented), 3);
    ASSERT_STREQ(c->unimplemented[0], "t.toml:5: [hypervisor.qemu] enable_iommu = true is not "
                                      "implemented by this runtime and has no effect");
    /* in schema order */
    ASSERT_STREQ(c->unimplemented[1], "t.toml:8: [runtime] sandbox_bind_mounts = [\"/a\", ...] "
                                      "is not implemented by this runtime and has no effect");
    ASSERT_STREQ(c->unimplemented[2], "t.toml:7: [runtime] enable_pprof = true is not "
                                      "implemented by this runtime and has no effect");
    /* logged once each, as warnings */
    ASSERT_EQ(count(log, "level=warning"), 3);
    ASSERT_EQ(count(log, "t.toml:5: [hypervisor.qemu] enable_iommu = true is not implemented"),
              1);
    ASSERT_EQ(count(log, "t.toml:7: [runtime] enable_pprof = true"), 1);
    /* the value is still loaded: only the effect is missing */
    ASSERT_TRUE(c->hv.enable_iommu);
    /* a copy keeps the list; the place-less form names the file */
    _cleanup_cfg_ struct cfg *d = NULL;
    ASSERT_OK(cfg_dup(c, &d));
    ASSERT_EQ(cfg_strv_len(d->unimplemented), 3);
    char **msgs = NULL;
    ASSERT_EQ(cfg_unimplemented(c, &msgs), 3);
    ASSERT_STREQ(msgs[0], "t.toml: [hypervisor.qemu] enable_iommu = true is not implemented by "
                          "this runtime and has no effect");
    cfg_unimplemented_free(msgs);
    return 0;
}

TEST(default_values_are_quiet)
{
    char text[2048], log[4096];
    /* written out, equal to the defaults */
    snprintf(text, sizeof(text), "%s%s", qemu_head,
             "enable_iommu = false\n"
             "block_device_driver = \"virtio-scsi\"\n"
             "cpu_features = \"pmu=off\"\n"
             "[factory]\n"
             "enable_template = false\n"
             "[runtime]\n"
             "enable_pprof = false\n"
             "experimental = []\n"
             "dan_conf = \"/run/kata-containers/dans\"\n");
    _cleanup_cfg_ struct cfg *c = NULL;
    ASSERT_OK(load_logged(text, &c, log, sizeof(log)));
    ASSERT_EQ(cfg_strv_len(c->unimplemented), 0);
    ASSERT_STREQ(log, "");
    /* implemented keys never warn, whatever their value */
    snprintf(text, sizeof(text), "%s%s", qemu_head,
             "enable_mem_prealloc = true\n"
             "enable_hugepages = true\n"
             "entropy_source = \"/dev/random\"\n"
             "default_memory = 512\n"
             "[runtime]\n"
             "disable_guest_seccomp = false\n"
             "create_container_timeout = 5\n");
    _cleanup_cfg_ struct cfg *d = NULL;
    ASSERT_OK(load_logged(text, &d, log, sizeof(log)));
    ASSERT_EQ(cfg_strv_len(d->unimplemented), 0);
    ASSERT_STREQ(log, "");
    return 0;
}

/* What `make` writes to packaging/config must load without a warning. */
TEST(generated_defaults_are_quiet)
{
    static const enum cfg_hv_kind kinds[] = {CFG_HV_QEMU, CFG_HV_CLH};
    for (size_t i = 0; i < ELEMENTSOF(kinds); i++) {
        _cleanup_cfg_ struct cfg *def = NULL, *c = NULL;
        ASSERT_OK(cfg_defaults(kinds[i], &def));
        char path[256], log[4096];
        snprintf(path, sizeof(path), "%s/gen-%zu.toml", test_tmpdir(), i);
        FILE *f = fopen(path, "w");
        ASSERT_TRUE(f);
        ASSERT_OK(cfg_write_toml(def, f));
        ASSERT_EQ(fclose(f), 0);
        struct err e = ERR_INIT;
        int fd = log_begin();
        ASSERT_OK(fd);
        int r = cfg_load(path, &c, &e);
        log_end(fd, log, sizeof(log));
        ASSERT_OK(r);
        ASSERT_EQ(cfg_strv_len(c->unimplemented), 0);
        ASSERT_STREQ(log, "");
        /* the file says which keys have no effect */
        char text[200000];
        f = fopen(path, "r");
        ASSERT_TRUE(f);
        size_t n = fread(text, 1, sizeof(text) - 1, f);
        fclose(f);
        text[n] = '\0';
        ASSERT_TRUE(strstr(text, "# Not implemented by this runtime: accepted, no effect"));
    }
    return 0;
}

/* The key is placed in the drop-in that set it. */
TEST(dropin_is_named)
{
    char dir[512], path[512], dpath[600];
    snprintf(dir, sizeof(dir), "%s/config.d", test_tmpdir());
    ASSERT_EQ(mkdir(dir, 0755), 0);
    snprintf(path, sizeof(path), "%s/configuration.toml", test_tmpdir());
    snprintf(dpath, sizeof(dpath), "%s/10-x.toml", dir);
    FILE *f = fopen(path, "w");
    ASSERT_TRUE(f);
    fputs(qemu_head, f);
    ASSERT_EQ(fclose(f), 0);
    f = fopen(dpath, "w");
    ASSERT_TRUE(f);
    fputs("# a drop-in\n[runtime]\nsandbox_cgroup_only = true\n", f);
    ASSERT_EQ(fclose(f), 0);
    _cleanup_cfg_ struct cfg *c = NULL;
    struct err e = ERR_INIT;
    char log[4096], want[1024];
    int fd = log_begin();
    ASSERT_OK(fd);
    int r = cfg_load(path, &c, &e);
    log_end(fd, log, sizeof(log));
    ASSERT_OK(r);
    ASSERT_EQ(cfg_strv_len(c->unimplemented), 1);
    snprintf(want, sizeof(want),
             "%s:3: [runtime] sandbox_cgroup_only = true is not implemented by this runtime "
             "and has no effect",
             dpath);
    ASSERT_STREQ(c->unimplemented[0], want);
    ASSERT_TRUE(strstr(log, "10-x.toml:3: [runtime] sandbox_cgroup_only"));
    return 0;
}

/* enable_hugepages and enable_mem_prealloc act on QEMU only. */
TEST(per_hypervisor_marks)
{
    static const char clh[] = "[hypervisor.clh]\n"
                              "path = \"/usr/bin/cloud-hypervisor\"\n"
                              "kernel = \"/k\"\n"
                              "initrd = \"/i\"\n"
                              "enable_hugepages = true\n";
    char log[4096], text[1024];
    _cleanup_cfg_ struct cfg *c = NULL, *q = NULL;
    ASSERT_OK(load_logged(clh, &c, log, sizeof(log)));
    ASSERT_EQ(cfg_strv_len(c->unimplemented), 1);
    ASSERT_TRUE(strstr(c->unimplemented[0], "t.toml:5: [hypervisor.clh] enable_hugepages = true"));
    snprintf(text, sizeof(text), "%senable_hugepages = true\n", qemu_head);
    ASSERT_OK(load_logged(text, &q, log, sizeof(log)));
    ASSERT_EQ(cfg_strv_len(q->unimplemented), 0);
    return 0;
}

/* Every marked key, changed from its default, is reported, by name. */
TEST(every_marked_key_is_reported)
{
    size_t marked = 0;
    for (size_t i = 0; i < cfg_schema_size; i++) {
        const struct cfg_key *k = &cfg_schema[i];
        if (!cfg_key_noop(k, CFG_HV_QEMU))
            continue;
        marked++;
        _cleanup_cfg_ struct cfg *c = NULL;
        ASSERT_OK(cfg_defaults(CFG_HV_QEMU, &c));
        char msg[256] = "";
        switch (k->type) {
        case CFG_T_BOOL:
            ASSERT_OK(cfg_set_bool(c, k, !*(const bool *)cfg_field_const(c, k)));
            break;
        case CFG_T_INT: {
            int v = *(const int *)cfg_field_const(c, k);
            ASSERT_OK(cfg_set_int(c, k, v > k->min ? k->min : k->min + 1, msg, sizeof(msg)));
            break;
        }
        case CFG_T_ENUM: {
            int v = *(const int *)cfg_field_const(c, k);
            const char *other = cfg_enum_name(k->enum_kind, v == 0 ? 1 : 0);
            ASSERT_OK(cfg_set_string(c, k, other, strlen(other), msg, sizeof(msg)));
            break;
        }
        case CFG_T_STRING:
        case CFG_T_PATH:
            ASSERT_OK(cfg_set_string(c, k, "/x", 2, msg, sizeof(msg)));
            break;
        case CFG_T_STRV: {
            char **v = calloc(2, sizeof(*v));
            ASSERT_TRUE(v);
            v[0] = strdup("x");
            ASSERT_OK(cfg_set_strv(c, k, v, msg, sizeof(msg)));
            break;
        }
        }
        char **msgs = NULL;
        ASSERT_EQ(cfg_unimplemented(c, &msgs), 1);
        char want[128];
        snprintf(want, sizeof(want), "] %s = ", k->name);
        bool named = strstr(msgs[0], want) != NULL;
        if (!named)
            printf("#   %s: %s\n", k->name, msgs[0]);
        cfg_unimplemented_free(msgs);
        ASSERT_TRUE(named);
    }
    /* the brief's examples, at least */
    ASSERT_GE(marked, 40);
    return 0;
}

/* Overrides on top of a loaded file (pod annotations) are reported too. */
TEST(overrides_are_reported)
{
    _cleanup_cfg_ struct cfg *base = NULL, *c = NULL;
    ASSERT_OK(cfg_defaults(CFG_HV_QEMU, &base));
    ASSERT_OK(cfg_dup(base, &c));
    c->hv.enable_iommu = true;
    c->hv.default_vcpus = 3; /* implemented: not reported */
    char log[4096];
    int fd = log_begin();
    ASSERT_OK(fd);
    int n = cfg_warn_unimplemented(base, c, "pod annotations");
    log_end(fd, log, sizeof(log));
    ASSERT_EQ(n, 1);
    ASSERT_TRUE(strstr(log, "pod annotations: [hypervisor.qemu] enable_iommu = true is not "
                            "implemented by this runtime and has no effect"));
    ASSERT_EQ(cfg_warn_unimplemented(base, base, "pod annotations"), 0);
    return 0;
}
