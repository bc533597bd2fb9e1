/* [agent.kata] kernel_modules from the configuration file to the agent,
 * under a real, private containerd 1.6 with the mock hypervisor driver
 * (the real kata-agent as a host process): the shim sends them in
 * CreateSandbox, and the agent, not being a guest's init, refuses to load
 * anything into the host's kernel, so `ctr run` fails naming the module;
 * an item that is no module name fails before any agent starts, naming the
 * key. Nothing is left behind either way. The load itself, in a guest:
 * tests/e2e/agent-vm/test_agent_vm_kmod.c. Skips like
 * test_shim_containerd. */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lib/compiler.h"
#include "tests/harness/harness.h"
#include "tests/support/busybox_image.h"
#include "tests/support/containerd_harness.h"
#include "tests/support/vm_ctr.h"

#define IMG BUSYBOX_IMAGE_REF

static struct vmc_containerd ctd = VMC_CONTAINERD_INIT;
static struct vmc_paths paths;
static const char *const bases[] = {"kmod", "kbad"};

static void stop_all(void)
{
    vmc_containerd_stop_bases(&ctd, bases, ELEMENTSOF(bases));
}

static int setup(void)
{
    char agent[PATH_MAX + 16];

    if (ctd.up)
        return 0;
    if (geteuid() != 0)
        return test_skip("needs root (containerd, mounts)");
    if (vmc_paths_init(&paths) < 0)
        return 1;
    snprintf(agent, sizeof(agent), "%s/kata-agent", paths.bin);
    if (access(paths.shim, X_OK) < 0 || access(agent, X_OK) < 0)
        return test_skip("%s or %s is not built", paths.shim, agent);
    return vmc_containerd_up(&ctd, stop_all);
}

/* A mock-driver configuration with the given kernel_modules array. */
static int write_toml(char *path, size_t size, const char *name, const char *modules)
{
    snprintf(path, size, "%s/%s", test_tmpdir(), name);
    FILE *f = fopen(path, "we");
    if (!f)
        return -1;
    fprintf(f,
            "[hypervisor.mock]\npath = \"%s/kata-agent\"\n"
            "[agent.kata]\ndial_timeout = 10\nkernel_modules = %s\n",
            paths.bin, modules);
    return fclose(f) == 0 ? 0 : -1;
}

/* `ctr run --rm` must fail with both texts in its output. */
static int expect_failure(const char *toml, const char *base, const char *what1,
                          const char *what2)
{
    _cleanup_(ch_result_done) struct ch_result res = {.exit_code = -1};
    char id[64];

    vmc_id(id, sizeof(id), base);
    ASSERT_OK(ch_ctr(&ctd.c, 90000, &res, "run", "--runtime", VMC_RUNTIME,
                     "--runtime-config-path", toml, "--rm", IMG, id, "echo", "hi", NULL));
    vmc_show(base, &res, 600);
    ASSERT_NE(res.exit_code, 0);
    ASSERT_TRUE(strstr(res.output, what1) != NULL);
    ASSERT_TRUE(strstr(res.output, what2) != NULL);
    ch_result_done(&res);
    ch_ctr(&ctd.c, 20000, &res, "task", "rm", "-f", id, NULL);
    ch_result_done(&res);
    ch_ctr(&ctd.c, 20000, &res, "container", "rm", id, NULL);
    ch_result_done(&res);
    return vmc_check_gone(&ctd, paths.shim, id, VMC_GONE_ALL);
}

TEST(host_agent_refuses_the_module_naming_it)
{
    char toml[PATH_MAX];

    VMC_SETUP(setup());
    ASSERT_OK(write_toml(toml, sizeof(toml), "kmod.toml", "[\"virtio_balloon\"]"));
    ASSERT_EQ(expect_failure(toml, "kmod", "kernel_modules: cannot load virtio_balloon",
                             "not the guest's init"),
              0);
    return 0;
}

TEST(bad_item_fails_naming_the_key)
{
    char toml[PATH_MAX];

    VMC_SETUP(setup());
    ASSERT_OK(write_toml(toml, sizeof(toml), "kbad.toml", "[\"ok\", \"bad/name x=1\"]"));
    ASSERT_EQ(expect_failure(toml, "kbad", "[agent.kata] kernel_modules",
                             "\"bad/name\" is not a module name"),
              0);
    return 0;
}

TEST(zz_nothing_is_left_behind)
{
    VMC_SETUP(setup());
    for (int i = 0; i < 100 && ch_count_processes_with(paths.shim, ctd.c.sock) > 0; i++)
        usleep(50000);
    ASSERT_EQ(ch_count_processes_with(paths.shim, ctd.c.sock), 0);
    ASSERT_EQ(ch_count_mounts(ctd.c.dir), 0);
    stop_all();
    return 0;
}
