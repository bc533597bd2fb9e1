/* shim/runtime_config.c: the keys the shim hands on, from the file and
 * from pod annotations. [agent.kata]: kernel_modules (after the pod's
 * annotations) become the checked, normalised items CreateSandbox sends;
 * debug_console_enabled and the container_pipe_size annotation reach
 * struct hv_config, whose drivers put them on the guest's command line
 * (golden argv in test_qemu_argv). [runtime] disable_guest_seccomp and
 * create_container_timeout go to agent_spec and agent_client;
 * [hypervisor.qemu] entropy_source, enable_mem_prealloc and
 * enable_hugepages to struct hv_config. An annotation setting a key this
 * runtime does not implement is logged as a warning, not silently taken. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lib/err.h"
#include "lib/log.h"
#include "shim/runtime_config.h"
#include "tests/harness/harness.h"

#define AGENT_ANN "io.katacontainers.config.agent."
#define SEC 1000000000ull

static const char *const base_toml = "[hypervisor.qemu]\n"
                                     "path = \"/opt/kata-test/bin/qemu-system-x86_64\"\n"
                                     "kernel = \"/opt/kata-test/vmlinuz\"\n"
                                     "initrd = \"/opt/kata-test/initrd.img\"\n"
                                     "valid_hypervisor_paths = [\"/opt/kata-test/bin/*\"]\n"
                                     "enable_annotations = [\"entropy_source\", "
                                     "\"enable_iommu\"]\n";

static int write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "we");
    if (!f)
        return -errno;
    fputs(text, f);
    return fclose(f) == 0 ? 0 : -EIO;
}

/* Loads base_toml plus hv_toml in its section, runtime_toml under
 * [runtime] and agent_toml under [agent.kata], with the annotations (a JSON
 * object's members, or NULL for no config.json). */
static int load_sections(const char *hv_toml, const char *runtime_toml, const char *agent_toml,
                         const char *annotations, struct runtime_config *rc, struct err *e)
{
    char toml[256], json[256], text[4096];
    snprintf(toml, sizeof(toml), "%s/configuration.toml", test_tmpdir());
    snprintf(json, sizeof(json), "%s/config.json", test_tmpdir());
    snprintf(text, sizeof(text), "%s%s\n[runtime]\n%s\n[agent.kata]\n%s\n", base_toml, hv_toml,
             runtime_toml, agent_toml);
    int r = write_text(toml, text);
    if (r < 0)
        return r;
    if (annotations) {
        snprintf(text, sizeof(text), "{\"ociVersion\": \"1.0.2\", \"annotations\": {%s}}",
                 annotations);
        if ((r = write_text(json, text)) < 0)
            return r;
    }
    return runtime_config_load(toml, annotations ? json : NULL, rc, e);
}

static int load(const char *agent_toml, const char *annotations, struct runtime_config *rc,
                struct err *e)
{
    return load_sections("", "", agent_toml, annotations, rc, e);
}

/* The [hypervisor] and [runtime] keys, printing the error on failure. */
static int load_hv(const char *hv_toml, const char *runtime_toml, const char *annotations,
                   struct runtime_config *rc, struct err *e)
{
    int r = load_sections(hv_toml, runtime_toml, "", annotations, rc, e);
    if (r < 0)
        printf("#   %s\n", err_msg(e));
    return r;
}

static struct runtime_config rc; /* ~40 KiB: off the stack */

TEST(kernel_modules_from_the_file_normalised)
{
    struct err e = ERR_INIT;
    int r = load("kernel_modules = [\"e1000e  InterruptThrottleRate=3000,3000\\tEEE=1 \", "
                 "\"\\ti915\", \"virtio-balloon\"]\n",
                 NULL, &rc, &e);
    if (r < 0)
        printf("#   %s\n", err_msg(&e));
    ASSERT_OK(r);
    ASSERT_EQ(rc.n_kernel_modules, 3);
    ASSERT_STREQ(rc.kernel_modules[0], "e1000e InterruptThrottleRate=3000,3000 EEE=1");
    ASSERT_STREQ(rc.kernel_modules[1], "i915");
    ASSERT_STREQ(rc.kernel_modules[2], "virtio-balloon");
    ASSERT_TRUE(!rc.hv.debug_console);
    ASSERT_EQ(rc.hv.container_pipe_size, 0);
    return 0;
}

TEST(no_kernel_modules)
{
    struct err e = ERR_INIT;
    ASSERT_OK(load("", NULL, &rc, &e));
    ASSERT_EQ(rc.n_kernel_modules, 0);
    return 0;
}

TEST(annotation_replaces_the_modules_and_sets_the_pipe_size)
{
    struct err e = ERR_INIT;
    int r = load("kernel_modules = [\"i915\"]\ndebug_console_enabled = true\n",
                 "\"" AGENT_ANN "kernel_modules\": \"virtio_balloon; vfio-pci ids=1af4:1041 ;\","
                 "\"" AGENT_ANN "container_pipe_size\": \"65536\"",
                 &rc, &e);
    if (r < 0)
        printf("#   %s\n", err_msg(&e));
    ASSERT_OK(r);
    ASSERT_EQ(rc.n_kernel_modules, 2);
    ASSERT_STREQ(rc.kernel_modules[0], "virtio_balloon");
    ASSERT_STREQ(rc.kernel_modules[1], "vfio-pci ids=1af4:1041");
    ASSERT_TRUE(rc.hv.debug_console);
    ASSERT_EQ(rc.hv.container_pipe_size, 65536);
    /* runtime_config_to_hv() keeps them */
    struct hv_config hv;
    runtime_config_to_hv(&rc, "/tmp", &hv);
    ASSERT_TRUE(hv.debug_console);
    ASSERT_EQ(hv.container_pipe_size, 65536);
    return 0;
}

static int expect_error(const char *agent_toml, const char *annotations, int code,
                        const char *needle1, const char *needle2)
{
    struct err e = ERR_INIT;
    int r = load(agent_toml, annotations, &rc, &e);
    if (r != code || !strstr(err_msg(&e), needle1) || (needle2 && !strstr(err_msg(&e), needle2))) {
        printf("#   got %d \"%s\", wanted %d naming \"%s\"%s%s\n", r, err_msg(&e), code, needle1,
               needle2 ? " and " : "", needle2 ? needle2 : "");
        return 1;
    }
    return 0;
}

TEST(bad_items_name_the_key)
{
    ASSERT_EQ(expect_error("kernel_modules = [\"\\t\"]", NULL, -EINVAL,
                           "[agent.kata] kernel_modules", "empty item"),
              0);
    ASSERT_EQ(expect_error("kernel_modules = [\"\"]", NULL, -EINVAL, "kernel_modules", NULL), 0);
    ASSERT_EQ(expect_error("kernel_modules = [\"../evil x=1\"]", NULL, -EINVAL,
                           "[agent.kata] kernel_modules", "\"../evil\" is not a module name"),
              0);
    ASSERT_EQ(expect_error("kernel_modules = [\"e1000e a=\\u0001\"]", NULL, -EINVAL,
                           "[agent.kata] kernel_modules", "control character"),
              0);
    ASSERT_EQ(expect_error("kernel_modules = [\"a23456789012345678901234567890123456789012345678901"
                           "23456\"]",
                           NULL, -EINVAL, "[agent.kata] kernel_modules", "at most 55"),
              0);
    /* the annotation's items go through the same check */
    ASSERT_EQ(expect_error("", "\"" AGENT_ANN "kernel_modules\": \"ok; bad/name\"", -EINVAL,
                           "[agent.kata] kernel_modules", "bad/name"),
              0);
    return 0;
}

TEST(too_many_modules)
{
    char toml[64 * 8 + 64] = "kernel_modules = [";
    for (int i = 0; i < 65; i++) {
        size_t n = strlen(toml);
        snprintf(toml + n, sizeof(toml) - n, "%s\"m%d\"", i ? "," : "", i);
    }
    strcat(toml, "]");
    ASSERT_EQ(expect_error(toml, NULL, -E2BIG, "[agent.kata] kernel_modules", "more than 64"), 0);
    return 0;
}

TEST(bad_pipe_size_names_the_annotation)
{
    ASSERT_EQ(expect_error("", "\"" AGENT_ANN "container_pipe_size\": \"-1\"", -EINVAL,
                           AGENT_ANN "container_pipe_size", NULL),
              0);
    ASSERT_EQ(expect_error("", "\"" AGENT_ANN "container_pipe_size\": \"big\"", -EINVAL,
                           AGENT_ANN "container_pipe_size", "not a decimal integer"),
              0);
    return 0;
}

TEST(check_module_fits)
{
    char buf[8];
    struct err e = ERR_INIT;
    ASSERT_OK(runtime_config_check_module(" loop  ", buf, sizeof(buf), &e));
    ASSERT_STREQ(buf, "loop");
    ASSERT_EQ(runtime_config_check_module("loop max=8", buf, sizeof(buf), &e), -ENAMETOOLONG);
    ASSERT_TRUE(strstr(err_msg(&e), "[agent.kata] kernel_modules") != NULL);
    return 0;
}

TEST(defaults_drop_seccomp_and_wait_60s)
{
    struct err e = ERR_INIT;
    ASSERT_OK(load_hv("", "", NULL, &rc, &e));
    ASSERT_TRUE(!rc.guest_seccomp);
    ASSERT_EQ(rc.create_container_timeout_ns, 60 * SEC);
    struct hv_config hv;
    runtime_config_to_hv(&rc, "/s", &hv);
    ASSERT_STREQ(hv.entropy_source, "/dev/urandom");
    ASSERT_TRUE(!hv.mem_prealloc && !hv.hugepages);
    return 0;
}

TEST(file_values_reach_the_shim)
{
    struct err e = ERR_INIT;
    ASSERT_OK(load_hv("entropy_source = \"/dev/random\"\nenable_hugepages = true\n",
                   "disable_guest_seccomp = false\ncreate_container_timeout = 7\n", NULL, &rc,
                   &e));
    ASSERT_TRUE(rc.guest_seccomp);
    ASSERT_EQ(rc.create_container_timeout_ns, 7 * SEC);
    struct hv_config hv;
    runtime_config_to_hv(&rc, "/s", &hv);
    ASSERT_STREQ(hv.entropy_source, "/dev/random");
    ASSERT_TRUE(hv.hugepages);
    ASSERT_TRUE(hv.mem_prealloc); /* huge pages imply preallocation, as in Kata */
    ASSERT_OK(load_hv("enable_mem_prealloc = true\n", "", NULL, &rc, &e));
    runtime_config_to_hv(&rc, "/s", &hv);
    ASSERT_TRUE(hv.mem_prealloc && !hv.hugepages);
    return 0;
}

TEST(annotations_reach_the_shim)
{
    struct err e = ERR_INIT;
    ASSERT_OK(load_hv("", "",
                   "\"io.katacontainers.config.runtime.disable_guest_seccomp\": \"false\", "
                   "\"io.katacontainers.config.runtime.create_container_timeout\": \"9\", "
                   "\"io.katacontainers.config.hypervisor.entropy_source\": \"/dev/random\"",
                   &rc, &e));
    ASSERT_TRUE(rc.guest_seccomp);
    ASSERT_EQ(rc.create_container_timeout_ns, 9 * SEC);
    struct hv_config hv;
    runtime_config_to_hv(&rc, "/s", &hv);
    ASSERT_STREQ(hv.entropy_source, "/dev/random");
    /* not in valid_entropy_sources: refused, naming the annotation */
    e = (struct err)ERR_INIT;
    ASSERT_EQ(load_hv("", "", "\"io.katacontainers.config.hypervisor.entropy_source\": \"/etc/x\"",
                   &rc, &e),
              -EPERM);
    ASSERT_TRUE(strstr(err_msg(&e), "entropy_source"));
    return 0;
}

TEST(annotation_of_an_unimplemented_key_warns)
{
    char path[256], log[4096];
    snprintf(path, sizeof(path), "%s/log", test_tmpdir());
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    ASSERT_OK(fd);
    log_set_fd(fd);
    struct err e = ERR_INIT;
    int r = load_hv("", "",
                 "\"io.katacontainers.config.hypervisor.enable_iommu\": \"true\", "
                 "\"io.katacontainers.config.runtime.sandbox_cgroup_only\": \"true\"",
                 &rc, &e);
    log_set_fd(2);
    ssize_t n = pread(fd, log, sizeof(log) - 1, 0);
    close(fd);
    log[n > 0 ? n : 0] = '\0';
    ASSERT_OK(r);
    ASSERT_TRUE(strstr(log, "config.json: annotations: [hypervisor.qemu] enable_iommu = true is "
                            "not implemented by this runtime and has no effect"));
    ASSERT_TRUE(strstr(log, "config.json: annotations: [runtime] sandbox_cgroup_only = true is "
                            "not implemented"));
    return 0;
}
