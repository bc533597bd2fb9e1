/* config/cfg*.c: schema defaults, loading, every validation error with its
 * FILE:LINE, unknown keys as warnings, the generated files, discovery. */
#include "config/cfg.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/err.h"
#include "lib/log.h"
#include "tests/harness/harness.h"

static int load(const char *text, struct cfg **ret, struct err *e)
{
    return cfg_load_string(text, strlen(text), "t.toml", ret, e);
}

static size_t strv_len(char *const *v)
{
    size_t n = 0;
    while (v[n])
        n++;
    return n;
}

TEST(defaults_qemu)
{
    _cleanup_cfg_ struct cfg *c = NULL;
    ASSERT_OK(cfg_defaults(CFG_HV_QEMU, &c));
    ASSERT_EQ(c->hv.kind, CFG_HV_QEMU);
    ASSERT_STREQ(c->hv.path, "/usr/bin/qemu-system-x86_64");
    ASSERT_STREQ(c->hv.kernel, "/usr/share/kata-containers/vmlinuz.container");
    ASSERT_STREQ(c->hv.initrd, "/usr/share/kata-containers/kata-containers-initrd.img");
    ASSERT_STREQ(c->hv.image, "");
    ASSERT_EQ(c->hv.machine_type, CFG_MACHINE_Q35);
    ASSERT_EQ(c->hv.accel, CFG_ACCEL_AUTO);
    ASSERT_EQ(c->hv.tcg_tb_size, 16);
    ASSERT_TRUE(!c->hv.reclaim_guest_freed_memory);
    ASSERT_TRUE(c->hv.release_kernel_file_pages);
    ASSERT_STREQ(c->hv.kernel_params, "cgroup_no_v1=all systemd.unified_cgroup_hierarchy=1");
    ASSERT_STREQ(c->hv.cpu_features, "pmu=off");
    ASSERT_EQ(c->hv.default_vcpus, 1);
    ASSERT_EQ(c->hv.default_maxvcpus, 0);
    ASSERT_EQ(c->hv.default_memory, 2048);
    ASSERT_EQ(c->hv.memory_slots, 10);
    ASSERT_EQ(c->hv.default_bridges, 1);
    ASSERT_TRUE(c->hv.disable_block_device_use);
    ASSERT_EQ(c->hv.shared_fs, CFG_SHARED_FS_VIRTIO_FS);
    ASSERT_STREQ(c->hv.virtio_fs_daemon, "/usr/lib/qemu/virtiofsd");
    ASSERT_EQ(c->hv.virtio_fs_cache, CFG_VIRTIO_FS_CACHE_AUTO);
    ASSERT_EQ(c->hv.virtio_fs_queue_size, 1024);
    ASSERT_EQ(c->hv.msize_9p, 8192);
    ASSERT_EQ(c->hv.block_device_driver, CFG_BLOCK_VIRTIO_SCSI);
    ASSERT_EQ(c->hv.block_device_aio, CFG_AIO_IO_URING);
    ASSERT_TRUE(!c->hv.disable_image_nvdimm);
    ASSERT_EQ(c->hv.hot_plug_vfio, CFG_VFIO_NO_PORT);
    ASSERT_STREQ(c->hv.entropy_source, "/dev/urandom");
    ASSERT_TRUE(c->hv.disable_guest_selinux);
    ASSERT_EQ(strv_len(c->hv.enable_annotations), 3);
    ASSERT_STREQ(c->hv.enable_annotations[0], "enable_iommu");
    ASSERT_STREQ(c->hv.enable_annotations[1], "kernel_params");
    ASSERT_EQ(strv_len(c->hv.valid_hypervisor_paths), 1);
    ASSERT_STREQ(c->hv.valid_hypervisor_paths[0], "/usr/bin/qemu-system-x86_64");
    ASSERT_EQ(strv_len(c->agent.kernel_modules), 0);
    ASSERT_EQ(c->agent.dial_timeout, 45);
    ASSERT_EQ(c->agent.transport, CFG_TRANSPORT_AUTO);
    ASSERT_EQ(c->runtime.internetworking_model, CFG_NET_TCFILTER);
    ASSERT_TRUE(c->runtime.disable_guest_seccomp);
    ASSERT_TRUE(!c->runtime.disable_new_netns);
    ASSERT_TRUE(!c->runtime.sandbox_cgroup_only);
    ASSERT_TRUE(!c->runtime.static_sandbox_resource_mgmt);
    ASSERT_EQ(c->runtime.create_container_timeout, 60);
    ASSERT_STREQ(c->factory.template_path, "/run/vc/vm/template");
    ASSERT_STREQ(c->file, "");
    struct err e = ERR_INIT;
    ASSERT_OK(cfg_validate(c, &e));
    return 0;
}

TEST(defaults_clh)
{
    _cleanup_cfg_ struct cfg *c = NULL;
    ASSERT_OK(cfg_defaults(CFG_HV_CLH, &c));
    ASSERT_STREQ(c->hv.path, "/usr/bin/cloud-hypervisor");
    ASSERT_EQ(c->hv.block_device_driver, CFG_BLOCK_VIRTIO_BLK);
    ASSERT_TRUE(c->hv.disable_image_nvdimm);
    ASSERT_STREQ(c->hv.valid_hypervisor_paths[0], "/usr/bin/cloud-hypervisor");
    ASSERT_EQ(c->hv.default_memory, 2048);
    struct err e = ERR_INIT;
    ASSERT_OK(cfg_validate(c, &e));
    ASSERT_EQ(cfg_defaults((enum cfg_hv_kind)7, &c), -EINVAL);
    return 0;
}

TEST(mock_hypervisor)
{
    _cleanup_cfg_ struct cfg *c = NULL;
    struct err e = ERR_INIT;
    ASSERT_OK(load("[hypervisor.mock]\npath = \"/build/bin/kata-agent\"\n", &c, &e));
    ASSERT_EQ(c->hv.kind, CFG_HV_MOCK);
    ASSERT_STREQ(c->hv.path, "/build/bin/kata-agent");
    ASSERT_STREQ(c->hv.kernel, "");
    ASSERT_EQ(c->hv.shared_fs, CFG_SHARED_FS_NONE);
    ASSERT_EQ(c->hv.valid_hypervisor_paths[0], NULL);
    struct cfg *d = NULL;
    ASSERT_EQ(load("[hypervisor.mock]\n", &d, &e), -EINVAL);
    ASSERT_STREQ(err_msg(&e), "t.toml: [hypervisor.mock] path: must be set");
    return 0;
}

TEST(minimal_file_is_defaults)
{
    _cleanup_cfg_ struct cfg *c = NULL, *d = NULL;
    struct err e = ERR_INIT;
    ASSERT_OK(load("[hypervisor.qemu]\n", &c, &e));
    ASSERT_OK(cfg_defaults(CFG_HV_QEMU, &d));
    char key[96] = "";
    ASSERT_EQ(cfg_compare(c, d, key, sizeof(key)), 0);
    ASSERT_STREQ(c->file, "t.toml");
    return 0;
}

TEST(values_are_loaded)
{
    static const char text[] =
        "[hypervisor.clh]\n"
        "path = \"/opt/clh/cloud-hypervisor\"\n"
        "valid_hypervisor_paths = [\"/opt/clh/*\"]\n"
        "image = \"/opt/img/rootfs.img\"\n"
        "initrd = \"\"\n"
        "default_vcpus = 4\n"
        "default_maxvcpus = 8\n"
        "default_memory = 4096\n"
        "shared_fs = \"none\"\n"
        "virtio_fs_extra_args = [\"-o\", \"xattr\"]\n"
        "enable_iommu = true\n"
        "hot_plug_vfio = \"root-port\"\n"
        "[agent.kata]\n"
        "kernel_modules = [\"e1000e InterruptThrottleRate=3000\", \"i915\"]\n"
        "dial_timeout = 5\n"
        "enable_debug = true\n"
        "[runtime]\n"
        "internetworking_model = \"none\"\n"
        "disable_new_netns = true\n"
        "static_sandbox_resource_mgmt = true\n"
        "experimental = [\"a\", \"b\"]\n"
        "[factory]\n"
        "vm_cache_number = 3\n";
    _cleanup_cfg_ struct cfg *c = NULL;
    struct err e = ERR_INIT;
    ASSERT_OK(load(text, &c, &e));
    ASSERT_EQ(c->hv.kind, CFG_HV_CLH);
    ASSERT_STREQ(c->hv.path, "/opt/clh/cloud-hypervisor");
    ASSERT_STREQ(c->hv.image, "/opt/img/rootfs.img");
    ASSERT_EQ(c->hv.default_vcpus, 4);
    ASSERT_EQ(c->hv.default_maxvcpus, 8);
    ASSERT_EQ(c->hv.default_memory, 4096);
    ASSERT_EQ(c->hv.shared_fs, CFG_SHARED_FS_NONE);
    ASSERT_EQ(strv_len(c->hv.virtio_fs_extra_args), 2);
    ASSERT_STREQ(c->hv.virtio_fs_extra_args[1], "xattr");
    ASSERT_TRUE(c->hv.enable_iommu);
    ASSERT_EQ(c->hv.hot_plug_vfio, CFG_VFIO_ROOT_PORT);
    ASSERT_EQ(c->hv.block_device_driver, CFG_BLOCK_VIRTIO_BLK); /* CLH default */
    ASSERT_EQ(strv_len(c->agent.kernel_modules), 2);
    ASSERT_STREQ(c->agent.kernel_modules[0], "e1000e InterruptThrottleRate=3000");
    ASSERT_EQ(c->agent.dial_timeout, 5);
    ASSERT_TRUE(c->agent.enable_debug);
    ASSERT_TRUE(!c->runtime.enable_debug); /* same key name, other section */
    ASSERT_EQ(c->runtime.internetworking_model, CFG_NET_NONE);
    ASSERT_TRUE(c->runtime.disable_new_netns);
    ASSERT_TRUE(c->runtime.static_sandbox_resource_mgmt);
    ASSERT_EQ(strv_len(c->runtime.experimental), 2);
    ASSERT_EQ(c->factory.vm_cache_number, 3);
    return 0;
}

/* Every rejected document, the code, and the exact start of the message. */
static const struct bad_case {
    const char *text;
    const char *msg;
} bad_cases[] = {
    /* types */
    {"[hypervisor.qemu]\nenable_debug = \"yes\"\n",
     "t.toml:2: [hypervisor.qemu] enable_debug: expected a boolean, got string"},
    {"[hypervisor.qemu]\n\ndefault_memory = \"2048\"\n",
     "t.toml:3: [hypervisor.qemu] default_memory: expected an integer, got string"},
    {"[hypervisor.qemu]\ndefault_vcpus = 1.5\n",
     "t.toml:2: [hypervisor.qemu] default_vcpus: expected an integer, got float"},
    {"[hypervisor.qemu]\nkernel = 7\n",
     "t.toml:2: [hypervisor.qemu] kernel: expected a string, got integer"},
    {"[hypervisor.qemu]\nenable_annotations = \"kernel_params\"\n",
     "t.toml:2: [hypervisor.qemu] enable_annotations: expected an array of strings, got string"},
    {"[hypervisor.qemu]\nvalid_hypervisor_paths = [\"/a\", 2]\n",
     "t.toml:2: [hypervisor.qemu] valid_hypervisor_paths: expected an array of strings, got "
     "integer"},
    {"[hypervisor.qemu]\n[agent.kata]\ndial_timeout = true\n",
     "t.toml:3: [agent.kata] dial_timeout: expected an integer, got boolean"},
    {"[hypervisor.qemu]\n[runtime]\nsandbox_cgroup_only = 1\n",
     "t.toml:3: [runtime] sandbox_cgroup_only: expected a boolean, got integer"},
    {"[hypervisor.qemu]\n[factory]\ntemplate_path = false\n",
     "t.toml:3: [factory] template_path: expected a string, got boolean"},
    {"[hypervisor.qemu]\nrootless = \"x\"\n", /* compat keys are type-checked too */
     "t.toml:2: [hypervisor.qemu] rootless: expected a boolean, got string"},
    /* values */
    {"[hypervisor.qemu]\ndefault_vcpus = 0\n",
     "t.toml:2: [hypervisor.qemu] default_vcpus: must be at least 1, got 0"},
    {"[hypervisor.qemu]\ndefault_vcpus = 1000\n",
     "t.toml:2: [hypervisor.qemu] default_vcpus: must be at most 288, got 1000"},
    {"[hypervisor.qemu]\ndefault_memory = 32\n",
     "t.toml:2: [hypervisor.qemu] default_memory: must be at least 64, got 32"},
    {"[hypervisor.qemu]\ndefault_bridges = 9\n",
     "t.toml:2: [hypervisor.qemu] default_bridges: must be at most 5, got 9"},
    {"[hypervisor.qemu]\ntcg_tb_size = 0\n",
     "t.toml:2: [hypervisor.qemu] tcg_tb_size: must be at least 1, got 0"},
    {"[hypervisor.qemu]\nshared_fs = \"nfs\"\n",
     "t.toml:2: [hypervisor.qemu] shared_fs: unknown value \"nfs\" (expected \"virtio-fs\", "
     "\"virtio-fs-nydus\", \"virtio-9p\", \"none\")"},
    {"[hypervisor.qemu]\nmachine_type = \"virt\"\n",
     "t.toml:2: [hypervisor.qemu] machine_type: unknown value \"virt\""},
    {"[hypervisor.qemu]\naccel = \"hvf\"\n",
     "t.toml:2: [hypervisor.qemu] accel: unknown value \"hvf\""},
    {"[hypervisor.qemu]\n[agent.kata]\ntransport = \"tcp\"\n",
     "t.toml:3: [agent.kata] transport: unknown value \"tcp\" (expected \"auto\", \"vsock\", "
     "\"virtio-serial\")"},
    {"[hypervisor.qemu]\n[runtime]\ninternetworking_model = \"bridged\"\n",
     "t.toml:3: [runtime] internetworking_model: unknown value \"bridged\""},
    {"[hypervisor.qemu]\nkernel = \"vmlinuz\"\n",
     "t.toml:2: [hypervisor.qemu] kernel: \"vmlinuz\" is not an absolute path"},
    {"[hypervisor.qemu]\nkernel_params = \"a\\u0000b\"\n",
     "t.toml:2: [hypervisor.qemu] kernel_params: must not contain a NUL character"},
    /* paths against the allow-lists */
    {"[hypervisor.qemu]\npath = \"/opt/evil/qemu\"\n",
     "t.toml:2: [hypervisor.qemu] path: \"/opt/evil/qemu\" does not match any pattern of "
     "valid_hypervisor_paths"},
    {"[hypervisor.qemu]\nvirtio_fs_daemon = \"/tmp/virtiofsd\"\n",
     "t.toml:2: [hypervisor.qemu] virtio_fs_daemon: \"/tmp/virtiofsd\" does not match any "
     "pattern of valid_virtio_fs_daemon_paths"},
    {"[hypervisor.qemu]\nentropy_source = \"/dev/zero\"\n",
     "t.toml:2: [hypervisor.qemu] entropy_source: \"/dev/zero\" does not match any pattern of "
     "valid_entropy_sources"},
    /* rules across keys */
    {"[hypervisor.qemu]\nimage = \"/x.img\"\n",
     "t.toml:2: [hypervisor.qemu] image: set either image or initrd, not both"},
    {"[hypervisor.qemu]\ninitrd = \"\"\n", "t.toml:2: [hypervisor.qemu] initrd: set initrd or image"},
    {"[hypervisor.qemu]\nkernel = \"\"\n", "t.toml:2: [hypervisor.qemu] kernel: must be set"},
    {"[hypervisor.qemu]\ndefault_vcpus = 4\ndefault_maxvcpus = 2\n",
     "t.toml:3: [hypervisor.qemu] default_maxvcpus: 2 is below default_vcpus (4)"},
    {"[hypervisor.qemu]\ndefault_maxmemory = 1024\n",
     "t.toml:2: [hypervisor.qemu] default_maxmemory: 1024 MiB is below default_memory (2048 MiB)"},
    {"[hypervisor.qemu]\nenable_annotations = [\"(\"]\n",
     "t.toml:2: [hypervisor.qemu] enable_annotations: \"(\" is not a valid regular expression"},
    {"[hypervisor.qemu]\n[runtime]\ndisable_new_netns = true\n",
     "t.toml:3: [runtime] disable_new_netns: needs internetworking_model = \"none\" (it is "
     "\"tcfilter\")"},
    {"[hypervisor.qemu]\n[agent.kata]\nkernel_modules = [\"\"]\n",
     "t.toml:3: [agent.kata] kernel_modules: \"\": each item starts with a module name"},
    {"[hypervisor.clh]\nshared_fs = \"virtio-9p\"\n",
     "t.toml:2: [hypervisor.clh] shared_fs: Cloud Hypervisor has no virtio-9p"},
    {"[hypervisor.clh]\naccel = \"tcg\"\n", "t.toml:2: [hypervisor.clh] accel: Cloud Hypervisor needs KVM"},
    {"[hypervisor.clh]\nblock_device_driver = \"virtio-scsi\"\n",
     "t.toml:2: [hypervisor.clh] block_device_driver: Cloud Hypervisor supports only"},
    {"[hypervisor.clh]\n[agent.kata]\ntransport = \"virtio-serial\"\n",
     "t.toml:3: [agent.kata] transport: Cloud Hypervisor has no virtio-serial port"},
    {"[hypervisor.qemu]\nimage = \"/x.img\"\ninitrd = \"\"\n[factory]\nenable_template = true\n",
     "t.toml:5: [factory] enable_template: VM templates need initrd, not image"},
    /* the hypervisor section itself */
    {"[runtime]\n", "t.toml: no [hypervisor.qemu] or [hypervisor.clh] section"},
    {"hypervisor = 1\n", "t.toml: no [hypervisor.qemu] or [hypervisor.clh] section"},
    {"[hypervisor.firecracker]\n",
     "t.toml:1: [hypervisor.firecracker]: hypervisor not supported"},
    {"[hypervisor.qemu]\n[hypervisor.clh]\n",
     "t.toml:2: [hypervisor.clh]: a second hypervisor section (the first is at line 1)"},
    /* TOML errors keep the parser's FILE:LINE:COL */
    {"[hypervisor.qemu]\npath = \n", "t.toml:2:"},
    {"[hypervisor.qemu]\npath = \"/a\"\npath = \"/b\"\n", "t.toml:3:"},
};

TEST(every_error_names_file_line_section_key)
{
    for (size_t i = 0; i < ELEMENTSOF(bad_cases); i++) {
        struct cfg *c = NULL;
        struct err e = ERR_INIT;
        int r = load(bad_cases[i].text, &c, &e);
        if (r != -EINVAL || c || strncmp(err_msg(&e), bad_cases[i].msg,
                                         strlen(bad_cases[i].msg)) != 0) {
            printf("#   case %zu: r=%d\n#     got:  %s\n#     want: %s...\n", i, r, err_msg(&e),
                   bad_cases[i].msg);
            cfg_free(c);
            return 1;
        }
    }
    return 0;
}

/* Runs fn with log lines captured into buf. */
static int capture_log(const char *text, char *buf, size_t len, struct cfg **ret)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/log", test_tmpdir());
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    log_set_fd(fd);
    struct err e = ERR_INIT;
    int r = load(text, ret, &e);
    log_set_fd(2);
    ssize_t n = pread(fd, buf, len - 1, 0);
    close(fd);
    buf[n > 0 ? n : 0] = '\0';
    if (r < 0)
        printf("#   load failed: %s\n", err_msg(&e));
    return r;
}

TEST(unknown_keys_and_sections_warn_with_line)
{
    static const char text[] = "title = \"x\"\n"
                               "[hypervisor.qemu]\n"
                               "foo = 1\n"
                               "[hypervisor.qemu.nested]\n"
                               "[agent.kata]\n"
                               "bar = true\n"
                               "[agent.other]\n"
                               "[weird]\n"
                               "x = 1\n"
                               "[runtime]\n"
                               "enable_debug = true\n";
    char log[4096];
    _cleanup_cfg_ struct cfg *c = NULL;
    ASSERT_OK(capture_log(text, log, sizeof(log), &c));
    ASSERT_TRUE(c->runtime.enable_debug);
    ASSERT_TRUE(strstr(log, "t.toml:1: unknown top-level key \\\"title\\\", ignored"));
    ASSERT_TRUE(strstr(log, "t.toml:3: [hypervisor.qemu] unknown key \\\"foo\\\", ignored"));
    ASSERT_TRUE(strstr(log, "unknown section [hypervisor.qemu.nested], ignored"));
    ASSERT_TRUE(strstr(log, "t.toml:6: [agent.kata] unknown key \\\"bar\\\", ignored"));
    ASSERT_TRUE(strstr(log, "unknown section [agent.other], ignored"));
    ASSERT_TRUE(strstr(log, "t.toml:8: unknown section [weird], ignored"));
    ASSERT_TRUE(strstr(log, "level=warning"));
    return 0;
}

TEST(upstream_keys_load_quietly)
{
    static const char text[] = "[hypervisor.qemu]\n"
                               "confidential_guest = false\n"
                               "rootless = false\n"
                               "pflashes = []\n"
                               "valid_file_mem_backends = [\"\"]\n"
                               "vhost_user_reconnect_timeout_sec = 0\n"
                               "disable_selinux = false\n"
                               "[runtime]\n"
                               "jaeger_endpoint = \"\"\n"
                               "enable_pprof = false\n";
    char log[4096];
    _cleanup_cfg_ struct cfg *c = NULL, *d = NULL;
    ASSERT_OK(capture_log(text, log, sizeof(log), &c));
    ASSERT_STREQ(log, "");
    ASSERT_OK(cfg_defaults(CFG_HV_QEMU, &d));
    ASSERT_EQ(cfg_compare(c, d, NULL, 0), 0);
    return 0;
}

TEST(path_globs)
{
    struct err e = ERR_INIT;
    _cleanup_cfg_ struct cfg *c = NULL, *c2 = NULL;
    ASSERT_OK(load("[hypervisor.qemu]\n"
                   "path = \"/opt/qemu-8.2/bin/qemu-system-x86_64\"\n"
                   "valid_hypervisor_paths = [\"/usr/bin/*\", \"/opt/qemu-*/bin/qemu-system-*\"]\n",
                   &c, &e));
    /* an empty list puts no limit on the file's own path */
    ASSERT_OK(load("[hypervisor.qemu]\npath = \"/anywhere/qemu\"\nvalid_hypervisor_paths = []\n",
                   &c2, &e));
    ASSERT_STREQ(c2->hv.path, "/anywhere/qemu");
    /* the daemon is checked only when virtio-fs uses it */
    _cleanup_cfg_ struct cfg *c3 = NULL;
    ASSERT_OK(load("[hypervisor.qemu]\nshared_fs = \"virtio-9p\"\nvirtio_fs_daemon = \"/tmp/x\"\n",
                   &c3, &e));
    return 0;
}

TEST(dup_compare_free)
{
    _cleanup_cfg_ struct cfg *a = NULL, *b = NULL;
    ASSERT_OK(cfg_defaults(CFG_HV_QEMU, &a));
    ASSERT_OK(cfg_dup(a, &b));
    ASSERT_EQ(cfg_compare(a, b, NULL, 0), 0);
    ASSERT_TRUE(a->hv.path != b->hv.path); /* deep copy */
    free(b->agent.kernel_modules);
    b->agent.kernel_modules = calloc(2, sizeof(char *));
    b->agent.kernel_modules[0] = strdup("loop");
    char key[96];
    ASSERT_EQ(cfg_compare(a, b, key, sizeof(key)), 1);
    ASSERT_STREQ(key, "[agent.kata] kernel_modules");
    b->agent.kernel_modules[0][0] = 'L';
    ASSERT_EQ(cfg_compare(a, b, key, sizeof(key)), 1);
    _cleanup_cfg_ struct cfg *clh = NULL;
    ASSERT_OK(cfg_defaults(CFG_HV_CLH, &clh));
    ASSERT_EQ(cfg_compare(a, clh, key, sizeof(key)), 1);
    ASSERT_TRUE(cfg_free(NULL) == NULL);
    return 0;
}

static int roundtrip(struct cfg *c)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    ASSERT_TRUE(f);
    ASSERT_OK(cfg_write_toml(c, f));
    fclose(f);
    _cleanup_cfg_ struct cfg *back = NULL;
    struct err e = ERR_INIT;
    int r = cfg_load_string(text, len, "generated.toml", &back, &e);
    free(text);
    if (r < 0) {
        printf("#   %s\n", err_msg(&e));
        return 1;
    }
    char key[96] = "";
    if (cfg_compare(c, back, key, sizeof(key)) != 0) {
        printf("#   differs at %s\n", key);
        return 1;
    }
    return 0;
}

TEST(generated_files_load_back_to_the_same_values)
{
    _cleanup_cfg_ struct cfg *q = NULL, *h = NULL;
    ASSERT_OK(cfg_defaults(CFG_HV_QEMU, &q));
    ASSERT_OK(cfg_defaults(CFG_HV_CLH, &h));
    ASSERT_EQ(roundtrip(q), 0);
    ASSERT_EQ(roundtrip(h), 0);
    /* strings that need escapes survive too */
    free(q->hv.kernel_params);
    q->hv.kernel_params = strdup("a=\"b\" c=\\d\te\nf \x01");
    q->hv.default_vcpus = 7;
    q->hv.accel = CFG_ACCEL_TCG;
    q->runtime.enable_debug = true;
    ASSERT_EQ(roundtrip(q), 0);
    return 0;
}

TEST(enum_names)
{
    int v;
    ASSERT_STREQ(cfg_enum_name(CFG_ENUM_SHARED_FS, CFG_SHARED_FS_VIRTIO_9P), "virtio-9p");
    ASSERT_STREQ(cfg_enum_name(CFG_ENUM_TRANSPORT, CFG_TRANSPORT_VIRTIO_SERIAL), "virtio-serial");
    ASSERT_STREQ(cfg_enum_name(CFG_ENUM_ACCEL, 99), "?");
    ASSERT_STREQ(cfg_enum_name(_CFG_ENUM_MAX, 0), "?");
    ASSERT_OK(cfg_enum_value(CFG_ENUM_MACHINE, "microvm", &v));
    ASSERT_EQ(v, CFG_MACHINE_MICROVM);
    ASSERT_EQ(cfg_enum_value(CFG_ENUM_MACHINE, "Q35", &v), -EINVAL);
    return 0;
}

TEST(load_file_errors)
{
    struct err e = ERR_INIT;
    struct cfg *c = NULL;
    ASSERT_EQ(cfg_load("/nonexistent/kata.toml", &c, &e), -ENOENT);
    ASSERT_TRUE(strstr(err_msg(&e), "/nonexistent/kata.toml"));
    ASSERT_TRUE(c == NULL);
    char path[256];
    snprintf(path, sizeof(path), "%s/file.toml", test_tmpdir());
    FILE *f = fopen(path, "w");
    ASSERT_TRUE(f);
    fputs("# comment\n[hypervisor.qemu]\ndefault_vcpus = -1\n", f);
    fclose(f);
    err_clear(&e);
    ASSERT_EQ(cfg_load(path, &c, &e), -EINVAL);
    char want[320];
    snprintf(want, sizeof(want), "%s:3: [hypervisor.qemu] default_vcpus: must be at least 1", path);
    ASSERT_TRUE(strncmp(err_msg(&e), want, strlen(want)) == 0);
    return 0;
}

/* Discovery ------------------------------------------------------------- */

static void touch(const char *path)
{
    FILE *f = fopen(path, "w");
    if (f)
        fclose(f);
}

TEST(discovery_order)
{
    char etc[256], defaults[256], env[256], explicit[256];
    snprintf(etc, sizeof(etc), "%s/etc.toml", test_tmpdir());
    snprintf(defaults, sizeof(defaults), "%s/defaults.toml", test_tmpdir());
    snprintf(env, sizeof(env), "%s/env.toml", test_tmpdir());
    snprintf(explicit, sizeof(explicit), "%s/explicit.toml", test_tmpdir());
    struct cfg_search s = {etc, defaults};
    char *found = NULL;
    struct err e = ERR_INIT;
    unsetenv("KATA_CONF_FILE");

    /* nothing exists: the message lists what was tried */
    ASSERT_EQ(cfg_find(NULL, &s, &found, &e), -ENOENT);
    ASSERT_TRUE(strstr(err_msg(&e), etc) && strstr(err_msg(&e), defaults));
    ASSERT_TRUE(strstr(err_msg(&e), "KATA_CONF_FILE"));
    ASSERT_TRUE(found == NULL);

    touch(defaults);
    err_clear(&e);
    ASSERT_OK(cfg_find(NULL, &s, &found, &e));
    ASSERT_STREQ(found, defaults);
    free(found);

    touch(etc); /* /etc wins over the shipped defaults */
    ASSERT_OK(cfg_find("", &s, &found, &e));
    ASSERT_STREQ(found, etc);
    free(found);

    touch(env);
    setenv("KATA_CONF_FILE", env, 1);
    ASSERT_OK(cfg_find(NULL, &s, &found, &e));
    ASSERT_STREQ(found, env);
    free(found);

    touch(explicit); /* ConfigPath / --config wins over everything */
    ASSERT_OK(cfg_find(explicit, &s, &found, &e));
    ASSERT_STREQ(found, explicit);
    free(found);

    /* an explicit file that is missing is an error, never a fall-through */
    unlink(explicit);
    ASSERT_EQ(cfg_find(explicit, &s, &found, &e), -ENOENT);
    ASSERT_TRUE(strstr(err_msg(&e), explicit) && strstr(err_msg(&e), "given explicitly"));
    unlink(env);
    err_clear(&e);
    ASSERT_EQ(cfg_find(NULL, &s, &found, &e), -ENOENT);
    ASSERT_TRUE(strstr(err_msg(&e), "KATA_CONF_FILE"));
    unsetenv("KATA_CONF_FILE");

    /* a file that exists but cannot be read stops the search (as root,
     * access() ignores modes, so use a folder in its place) */
    unlink(etc);
    ASSERT_OK(mkdir(etc, 0700) == 0 ? 0 : -errno);
    err_clear(&e);
    ASSERT_OK(cfg_find(NULL, &s, &found, &e));
    ASSERT_STREQ(found, etc); /* found; loading it then fails with the path */
    struct cfg *c = NULL;
    ASSERT_TRUE(cfg_load(found, &c, &e) < 0);
    free(found);
    rmdir(etc);
    return 0;
}

TEST(discovery_system_paths)
{
    /* NULL search means the real system paths; only the message is checked */
    char *found = NULL;
    struct err e = ERR_INIT;
    unsetenv("KATA_CONF_FILE");
    int r = cfg_find(NULL, NULL, &found, &e);
    if (r == 0) {
        ASSERT_TRUE(strcmp(found, CFG_ETC_PATH) == 0 || strcmp(found, CFG_DEFAULTS_PATH) == 0);
        free(found);
        return 0;
    }
    ASSERT_EQ(r, -ENOENT);
    ASSERT_TRUE(strstr(err_msg(&e), CFG_ETC_PATH) && strstr(err_msg(&e), CFG_DEFAULTS_PATH));
    return 0;
}
