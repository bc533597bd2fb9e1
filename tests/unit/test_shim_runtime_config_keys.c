/* shim/runtime_config.c: [runtime] disable_guest_seccomp and
 * create_container_timeout, and [hypervisor.qemu] entropy_source,
 * enable_mem_prealloc and enable_hugepages, as the shim hands them on
 * (seccomp to agent_spec, the timeout to agent_client, the rest to struct
 * hv_config, whose argv is pinned in test_qemu_argv), from the file and
 * from pod annotations; an annotation setting a key this runtime does not
 * implement is logged as a warning, not silently taken. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lib/err.h"
#include "lib/log.h"
#include "shim/runtime_config.h"
#include "tests/harness/harness.h"

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

/* base_toml plus hv_toml in its section and runtime_toml under [runtime],
 * with annotations (members of a JSON object; NULL: no config.json). */
static int load(const char *hv_toml, const char *runtime_toml, const char *annotations,
                struct runtime_config *rc, struct err *e)
{
    char toml[256], json[256], text[4096];
    snprintf(toml, sizeof(toml), "%s/configuration.toml", test_tmpdir());
    snprintf(json, sizeof(json), "%s/config.json", test_tmpdir());
    snprintf(text, sizeof(text), "%s%s\n[runtime]\n%s\n", base_toml, hv_toml, runtime_toml);
    int r = write_text(toml, text);
    if (r < 0)
        return r;
    if (annotations) {
        snprintf(text, sizeof(text), "{\"ociVersion\": \"1.0.2\", \"annotations\": {%s}}",
                 annotations);
        if ((r = write_text(json, text)) < 0)
            return r;
    }
    r = runtime_config_load(toml, annotations ? json : NULL, rc, e);
    if (r < 0)
        printf("#   %s\n", err_msg(e));
    return r;
}

static struct runtime_config rc; /* large: off the stack */

TEST(defaults_drop_seccomp_and_wait_60s)
{
    struct err e = ERR_INIT;
    ASSERT_OK(load("", "", NULL, &rc, &e));
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
    ASSERT_OK(load("entropy_source = \"/dev/random\"\nenable_hugepages = true\n",
                   "disable_guest_seccomp = false\ncreate_container_timeout = 7\n", NULL, &rc,
                   &e));
    ASSERT_TRUE(rc.guest_seccomp);
    ASSERT_EQ(rc.create_container_timeout_ns, 7 * SEC);
    struct hv_config hv;
    runtime_config_to_hv(&rc, "/s", &hv);
    ASSERT_STREQ(hv.entropy_source, "/dev/random");
    ASSERT_TRUE(hv.hugepages);
    ASSERT_TRUE(hv.mem_prealloc); /* huge pages imply preallocation, as in Kata */
    ASSERT_OK(load("enable_mem_prealloc = true\n", "", NULL, &rc, &e));
    runtime_config_to_hv(&rc, "/s", &hv);
    ASSERT_TRUE(hv.mem_prealloc && !hv.hugepages);
    return 0;
}

TEST(annotations_reach_the_shim)
{
    struct err e = ERR_INIT;
    ASSERT_OK(load("", "",
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
    ASSERT_EQ(load("", "", "\"io.katacontainers.config.hypervisor.entropy_source\": \"/etc/x\"",
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
    int r = load("", "",
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
