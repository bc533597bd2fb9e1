/* config/annotations.c: which io.katacontainers.config.* annotations are
 * allowed, how values are parsed, and that refusals name the annotation. */
#include "config/annotations.h"

#include "config/cfg.h"
#include "lib/err.h"
#include "tests/harness/harness.h"

#define HV ANNOTATIONS_HYPERVISOR

static struct cfg *base_cfg(const char *extra)
{
    char text[1024];
    snprintf(text, sizeof(text), "[hypervisor.qemu]\n%s", extra);
    struct cfg *c = NULL;
    struct err e = ERR_INIT;
    if (cfg_load_string(text, strlen(text), "base.toml", &c, &e) < 0)
        printf("#   base config: %s\n", err_msg(&e));
    return c;
}

/* Applies one annotation; returns the code, the result in *ret. */
static int apply1(const struct cfg *base, const char *key, const char *value, struct cfg **ret,
                  struct err *e)
{
    struct annotation a = {key, value};
    return annotations_apply(base, &a, 1, ret, e);
}

TEST(defaults_allow_kernel_params_and_iommu)
{
    _cleanup_cfg_ struct cfg *base = base_cfg(""), *c = NULL;
    ASSERT_TRUE(base);
    struct annotation a[] = {
        {HV "kernel_params", "console=ttyS0 quiet"},
        {HV "enable_iommu", "true"},
        {"io.kubernetes.cri.container-type", "sandbox"}, /* not ours: ignored */
        {"io.katacontainers.pkg.oci.bundle_path", "/x"},
    };
    struct err e = ERR_INIT;
    ASSERT_OK(annotations_apply(base, a, ELEMENTSOF(a), &c, &e));
    /* kernel_params adds to the configured parameters, as upstream */
    ASSERT_STREQ(c->hv.kernel_params,
                 "cgroup_no_v1=all systemd.unified_cgroup_hierarchy=1 console=ttyS0 quiet");
    ASSERT_TRUE(c->hv.enable_iommu);
    /* the base is untouched */
    ASSERT_STREQ(base->hv.kernel_params, "cgroup_no_v1=all systemd.unified_cgroup_hierarchy=1");
    ASSERT_TRUE(!base->hv.enable_iommu);
    return 0;
}

TEST(defaults_refuse_everything_else)
{
    static const char *const refused[] = {"default_vcpus", "default_memory", "path", "kernel",
                                          "initrd", "machine_type", "shared_fs", "no_such_key"};
    _cleanup_cfg_ struct cfg *base = base_cfg("");
    for (size_t i = 0; i < ELEMENTSOF(refused); i++) {
        char key[128], want[256];
        snprintf(key, sizeof(key), HV "%s", refused[i]);
        struct cfg *c = NULL;
        struct err e = ERR_INIT;
        ASSERT_EQ(apply1(base, key, "1", &c, &e), -EPERM);
        ASSERT_TRUE(c == NULL);
        snprintf(want, sizeof(want), "annotation %s is not enabled (see enable_annotations in "
                                     "[hypervisor.qemu] of base.toml)", key);
        ASSERT_STREQ(err_msg(&e), want);
    }
    return 0;
}

TEST(bool_values_follow_go_parsebool)
{
    _cleanup_cfg_ struct cfg *base = base_cfg("");
    static const char *const yes[] = {"1", "t", "T", "TRUE", "true", "True"};
    static const char *const no[] = {"0", "f", "F", "FALSE", "false", "False"};
    for (size_t i = 0; i < ELEMENTSOF(yes); i++) {
        _cleanup_cfg_ struct cfg *c1 = NULL, *c2 = NULL;
        struct err e = ERR_INIT;
        ASSERT_OK(apply1(base, HV "enable_iommu", yes[i], &c1, &e));
        ASSERT_TRUE(c1->hv.enable_iommu);
        ASSERT_OK(apply1(c1, HV "enable_iommu", no[i], &c2, &e));
        ASSERT_TRUE(!c2->hv.enable_iommu);
    }
    struct cfg *c = NULL;
    struct err e = ERR_INIT;
    ASSERT_EQ(apply1(base, HV "enable_iommu", "yes", &c, &e), -EINVAL);
    ASSERT_STREQ(err_msg(&e), "annotation " HV "enable_iommu: \"yes\" is not a boolean");
    return 0;
}

TEST(enabled_by_regex)
{
    _cleanup_cfg_ struct cfg *base = base_cfg("enable_annotations = [\"default_.*\", \"kernel\"]\n");
    _cleanup_cfg_ struct cfg *c = NULL;
    struct err e = ERR_INIT;
    struct annotation a[] = {
        {HV "default_vcpus", "4"},
        {HV "default_max_vcpus", "8"}, /* upstream's name for default_maxvcpus */
        {HV "default_memory", "512"},
        {HV "kernel", "/opt/k/vmlinuz"},
    };
    ASSERT_OK(annotations_apply(base, a, ELEMENTSOF(a), &c, &e));
    ASSERT_EQ(c->hv.default_vcpus, 4);
    ASSERT_EQ(c->hv.default_maxvcpus, 8);
    ASSERT_EQ(c->hv.default_memory, 512);
    ASSERT_STREQ(c->hv.kernel, "/opt/k/vmlinuz");
    /* a regex must match the whole name: "kernel" does not enable kernel_params */
    struct cfg *d = NULL;
    ASSERT_EQ(apply1(base, HV "kernel_params", "x", &d, &e), -EPERM);
    ASSERT_TRUE(annotations_enabled(base->hv.enable_annotations, "default_bridges"));
    ASSERT_TRUE(!annotations_enabled(base->hv.enable_annotations, "xdefault_vcpus"));
    return 0;
}

TEST(malformed_values_name_the_annotation)
{
    _cleanup_cfg_ struct cfg *base = base_cfg("enable_annotations = [\".*\"]\n");
    static const struct {
        const char *key, *value, *msg;
    } cases[] = {
        {HV "default_vcpus", "0", "annotation " HV "default_vcpus: must be at least 1, got 0"},
        {HV "default_vcpus", "two", "annotation " HV "default_vcpus: \"two\" is not a decimal "
                                    "integer"},
        {HV "default_vcpus", "4 ", "annotation " HV "default_vcpus: \"4 \" is not a decimal "
                                   "integer"},
        {HV "default_memory", "99999999999999999999", "annotation " HV "default_memory: "},
        {HV "shared_fs", "nfs", "annotation " HV "shared_fs: unknown value \"nfs\""},
        {HV "kernel", "vmlinuz", "annotation " HV "kernel: \"vmlinuz\" is not an absolute path"},
        {HV "virtio_fs_extra_args", "[--a]", "annotation " HV "virtio_fs_extra_args: expected a "
                                             "JSON array of strings"},
        {HV "virtio_fs_extra_args", "[1]", "annotation " HV "virtio_fs_extra_args: expected a "
                                           "JSON array of strings"},
        {HV "image", "/x.img", "after applying annotations: base.toml: [hypervisor.qemu] image: "
                               "set either image or initrd, not both"},
        {HV "enable_iommu", NULL, "annotation " HV "enable_iommu: no value"},
    };
    for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
        struct cfg *c = NULL;
        struct err e = ERR_INIT;
        int r = apply1(base, cases[i].key, cases[i].value, &c, &e);
        if (r != -EINVAL || c || strncmp(err_msg(&e), cases[i].msg, strlen(cases[i].msg)) != 0) {
            printf("#   case %zu: r=%d got \"%s\"\n#   want \"%s...\"\n", i, r, err_msg(&e),
                   cases[i].msg);
            cfg_free(c);
            return 1;
        }
    }
    return 0;
}

TEST(path_annotations_need_the_valid_lists)
{
    _cleanup_cfg_ struct cfg *base = base_cfg(
        "enable_annotations = [\"path\", \"virtio_fs_daemon\", \"entropy_source\"]\n"
        "valid_hypervisor_paths = [\"/usr/bin/qemu-system-*\", \"/opt/qemu/*\"]\n");
    _cleanup_cfg_ struct cfg *c = NULL;
    struct err e = ERR_INIT;
    ASSERT_OK(apply1(base, HV "path", "/opt/qemu/qemu-system-x86_64", &c, &e));
    ASSERT_STREQ(c->hv.path, "/opt/qemu/qemu-system-x86_64");

    struct cfg *d = NULL;
    ASSERT_EQ(apply1(base, HV "path", "/tmp/evil", &d, &e), -EPERM);
    ASSERT_STREQ(err_msg(&e),
                 "annotation " HV "path: \"/tmp/evil\" does not match valid_hypervisor_paths");
    err_clear(&e);
    ASSERT_OK(apply1(base, HV "virtio_fs_daemon", "/usr/libexec/virtiofsd", &d, &e));
    d = cfg_free(d);
    ASSERT_EQ(apply1(base, HV "virtio_fs_daemon", "/bin/sh", &d, &e), -EPERM);
    err_clear(&e);
    ASSERT_OK(apply1(base, HV "entropy_source", "/dev/random", &d, &e));
    d = cfg_free(d);
    ASSERT_EQ(apply1(base, HV "entropy_source", "/dev/zero", &d, &e), -EPERM);

    /* an empty list refuses every path annotation, as upstream */
    _cleanup_cfg_ struct cfg *empty =
        base_cfg("enable_annotations = [\"path\"]\nvalid_hypervisor_paths = []\n");
    err_clear(&e);
    ASSERT_EQ(apply1(empty, HV "path", "/usr/bin/qemu-system-x86_64", &d, &e), -EPERM);
    ASSERT_TRUE(strstr(err_msg(&e), "(empty: path annotations refused)"));
    return 0;
}

TEST(list_values)
{
    _cleanup_cfg_ struct cfg *base = base_cfg("enable_annotations = [\"virtio_fs_extra_args\"]\n");
    _cleanup_cfg_ struct cfg *c = NULL;
    struct err e = ERR_INIT;
    struct annotation a[] = {
        {HV "virtio_fs_extra_args", "[\"--thread-pool-size=4\", \"-o\", \"a\\\"b\"]"},
        {ANNOTATIONS_AGENT "kernel_modules", "e1000e InterruptThrottleRate=3000; i915 ;;"},
        {ANNOTATIONS_RUNTIME "experimental", "a, b c"},
    };
    ASSERT_OK(annotations_apply(base, a, ELEMENTSOF(a), &c, &e));
    ASSERT_STREQ(c->hv.virtio_fs_extra_args[0], "--thread-pool-size=4");
    ASSERT_STREQ(c->hv.virtio_fs_extra_args[2], "a\"b");
    ASSERT_TRUE(c->hv.virtio_fs_extra_args[3] == NULL);
    ASSERT_STREQ(c->agent.kernel_modules[0], "e1000e InterruptThrottleRate=3000");
    ASSERT_STREQ(c->agent.kernel_modules[1], "i915");
    ASSERT_TRUE(c->agent.kernel_modules[2] == NULL);
    ASSERT_STREQ(c->runtime.experimental[2], "c");
    return 0;
}

TEST(runtime_and_agent_are_not_gated)
{
    _cleanup_cfg_ struct cfg *base = base_cfg("enable_annotations = []\n");
    _cleanup_cfg_ struct cfg *c = NULL;
    struct err e = ERR_INIT;
    struct annotation a[] = {
        {ANNOTATIONS_RUNTIME "internetworking_model", "none"},
        {ANNOTATIONS_RUNTIME "disable_new_netns", "true"},
        {ANNOTATIONS_RUNTIME "sandbox_cgroup_only", "1"},
        {ANNOTATIONS_RUNTIME "create_container_timeout", "300"},
        {ANNOTATIONS_AGENT "enable_tracing", "true"},
        {ANNOTATIONS_AGENT "container_pipe_size", "262144"},
    };
    ASSERT_OK(annotations_apply(base, a, ELEMENTSOF(a), &c, &e));
    ASSERT_EQ(c->runtime.internetworking_model, CFG_NET_NONE);
    ASSERT_TRUE(c->runtime.disable_new_netns);
    ASSERT_TRUE(c->runtime.sandbox_cgroup_only);
    ASSERT_EQ(c->runtime.create_container_timeout, 300);
    ASSERT_TRUE(c->agent.enable_tracing);
    ASSERT_EQ(c->agent.container_pipe_size, 262144);
    /* the cross-key rules run again on the result */
    struct cfg *d = NULL;
    ASSERT_EQ(apply1(base, ANNOTATIONS_RUNTIME "disable_new_netns", "true", &d, &e), -EINVAL);
    ASSERT_TRUE(strstr(err_msg(&e), "after applying annotations") &&
                strstr(err_msg(&e), "disable_new_netns"));
    return 0;
}

TEST(enabled_but_unknown_is_ignored)
{
    _cleanup_cfg_ struct cfg *base = base_cfg("enable_annotations = [\".*\"]\n");
    _cleanup_cfg_ struct cfg *c = NULL;
    struct err e = ERR_INIT;
    ASSERT_OK(apply1(base, HV "rx_rate_limiter_max_rate", "1000", &c, &e));
    ASSERT_EQ(cfg_compare(base, c, NULL, 0), 0);
    return 0;
}

/* agent.container_pipe_size=N on the guest's command line: a byte count the
 * agent accepts (0 to 2^30), anything else refused naming the annotation. */
TEST(container_pipe_size_is_a_byte_count)
{
    _cleanup_cfg_ struct cfg *base = base_cfg("enable_annotations = []\n");
    struct err e = ERR_INIT;
    static const char *const bad[] = {"-1", "abc", "", "1073741825", "12k", " 5"};
    for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
        struct cfg *c = NULL;
        err_clear(&e);
        ASSERT_EQ(apply1(base, ANNOTATIONS_AGENT "container_pipe_size", bad[i], &c, &e), -EINVAL);
        ASSERT_TRUE(c == NULL);
        if (!strstr(err_msg(&e), "io.katacontainers.config.agent.container_pipe_size")) {
            printf("#   \"%s\": message \"%s\" does not name the annotation\n", bad[i],
                   err_msg(&e));
            return 1;
        }
    }
    _cleanup_cfg_ struct cfg *zero = NULL;
    err_clear(&e);
    ASSERT_OK(apply1(base, ANNOTATIONS_AGENT "container_pipe_size", "0", &zero, &e));
    ASSERT_EQ(zero->agent.container_pipe_size, 0);
    _cleanup_cfg_ struct cfg *max = NULL;
    ASSERT_OK(apply1(base, ANNOTATIONS_AGENT "container_pipe_size", "1073741824", &max, &e));
    ASSERT_EQ(max->agent.container_pipe_size, 1073741824);
    return 0;
}
