/* CreateSandbox's kernel_modules with the stand-alone kata-agent. As the
 * guest's init the agent loads them from the initrd's /lib/modules; run on
 * a host it must not touch that host's kernel, so it refuses them unless
 * KATA_AGENT_MODULES_DIR names a folder laid out like the initrd's. Here
 * that folder holds only a load-order line and a file that is no module,
 * which the kernel refuses without loading anything: enough to see a
 * module that is absent, one that fails to load, and one built into the
 * kernel, each named in CreateSandbox's answer, and that a failed
 * CreateSandbox leaves no sandbox behind. A real load in a real guest is
 * tests/e2e/test_vm_kernel_modules.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "google/protobuf/empty.pb-c.h"
#include "kata/agent.pb-c.h"
#include "lib/ttrpc/ttrpc.h"
#include "tests/harness/harness.h"
#include "tests/support/agent_harness.h"

#define EMPTY &google__protobuf__empty__descriptor
/* Names no kernel has: the test must never load a real module on the host. */
#define ABSENT "katac_test_absent"
#define GARBAGE "katac_test_garbage"

static int write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "we");
    if (!f)
        return -errno;
    fputs(text, f);
    return fclose(f) == 0 ? 0 : -EIO;
}

/* Starts an agent; with_dir: with KATA_AGENT_MODULES_DIR on a folder whose
 * load-order lists GARBAGE.ko, a file of text. */
static int setup(struct agent_harness *h, bool with_dir)
{
    char dir[300], path[400];
    if (with_dir) {
        snprintf(dir, sizeof(dir), "%s/modules-%d", test_tmpdir(), (int)getpid());
        if (mkdir(dir, 0755) < 0 && errno != EEXIST)
            return -errno;
        snprintf(path, sizeof(path), "%s/load-order", dir);
        int r = write_text(path, "# NAME.ko WHEN [DEP.ko ...]\n" GARBAGE ".ko on-demand\n");
        snprintf(path, sizeof(path), "%s/" GARBAGE ".ko", dir);
        if (r < 0 || (r = write_text(path, "not an ELF file\n")) < 0)
            return r;
        setenv("KATA_AGENT_MODULES_DIR", dir, 1);
    } else {
        unsetenv("KATA_AGENT_MODULES_DIR");
    }
    int r = agent_harness_start(h);
    unsetenv("KATA_AGENT_MODULES_DIR");
    if (r == -ENOENT)
        return test_skip("%s", h->why);
    return r < 0 ? r : 0;
}

/* CreateSandbox with the modules (NULL-terminated names, each with the
 * parameters in params[i] or none); the gRPC code, the message in msg. */
static int create_sandbox(struct agent_harness *h, const char *const *names,
                          char **const *params, const char **msg)
{
    Grpc__CreateSandboxRequest cs = GRPC__CREATE_SANDBOX_REQUEST__INIT;
    Grpc__KernelModule mods[4], *ptrs[4];
    size_t n = 0;
    for (; names && names[n] && n < 4; n++) {
        grpc__kernel_module__init(&mods[n]);
        mods[n].name = (char *)names[n];
        for (char **p = params ? params[n] : NULL; p && *p; p++)
            mods[n].n_parameters++;
        mods[n].parameters = params ? params[n] : NULL;
        ptrs[n] = &mods[n];
    }
    cs.sandbox_id = (char *)"sb1";
    cs.hostname = (char *)"sb";
    cs.kernel_modules = ptrs;
    cs.n_kernel_modules = n;
    *msg = "";
    int code = agent_harness_call(h, "CreateSandbox", &cs.base, EMPTY, NULL, msg);
    if (!*msg)
        *msg = "";
    return code;
}

static int has(const char *msg, const char *needle)
{
    if (strstr(msg, needle))
        return 1;
    printf("#   \"%s\" lacks \"%s\"\n", msg, needle);
    return 0;
}

/* No module asked for: nothing to load, wherever the agent runs. */
TEST(no_modules_works)
{
    struct agent_harness h;
    const char *msg;
    int r = setup(&h, false);
    if (r)
        return r;
    ASSERT_EQ(create_sandbox(&h, NULL, NULL, &msg), 0);
    Google__Protobuf__Empty e = GOOGLE__PROTOBUF__EMPTY__INIT;
    ASSERT_EQ(agent_harness_call(&h, "DestroySandbox", &e.base, EMPTY, NULL, NULL), 0);
    ASSERT_EQ(agent_harness_stop(&h), 0);
    return 0;
}

/* Not the guest's init and no folder given: refused, naming the module,
 * and the sandbox can still be created without it. */
TEST(refused_outside_a_guest)
{
    struct agent_harness h;
    const char *msg;
    int r = setup(&h, false);
    if (r)
        return r;
    static const char *const names[] = {"virtio_balloon", NULL};
    ASSERT_EQ(create_sandbox(&h, names, NULL, &msg), TTRPC_UNIMPLEMENTED);
    ASSERT_TRUE(has(msg, "kernel_modules: cannot load virtio_balloon"));
    ASSERT_TRUE(has(msg, "not the guest's init"));
    ASSERT_EQ(create_sandbox(&h, NULL, NULL, &msg), 0);
    ASSERT_EQ(agent_harness_stop(&h), 0);
    return 0;
}

TEST(absent_module_fails_naming_it)
{
    struct agent_harness h;
    const char *msg;
    int r = setup(&h, true);
    if (r)
        return r;
    static const char *const names[] = {ABSENT, NULL};
    ASSERT_EQ(create_sandbox(&h, names, NULL, &msg), TTRPC_NOT_FOUND);
    ASSERT_TRUE(has(msg, "kernel_modules: cannot load " ABSENT ": not in "));
    /* nothing was created: a second try without it succeeds */
    ASSERT_EQ(create_sandbox(&h, NULL, NULL, &msg), 0);
    ASSERT_EQ(agent_harness_stop(&h), 0);
    return 0;
}

/* In the folder (found under its other spelling, '-' for '_') but the
 * kernel refuses it: the answer names it with its parameters. */
TEST(module_the_kernel_refuses_fails_naming_it)
{
    struct agent_harness h;
    const char *msg;
    if (geteuid() != 0)
        return test_skip("finit_module() needs root");
    int r = setup(&h, true);
    if (r)
        return r;
    static const char *const names[] = {"katac-test-garbage", NULL};
    static char *p0[] = {(char *)"debug=1", (char *)"mode=fast", NULL};
    static char **const params[] = {p0, NULL};
    int code = create_sandbox(&h, names, params, &msg);
    ASSERT_TRUE(code != 0);
    ASSERT_TRUE(has(msg, "kernel_modules: cannot load katac-test-garbage debug=1 mode=fast: "));
    ASSERT_EQ(create_sandbox(&h, NULL, NULL, &msg), 0);
    ASSERT_EQ(agent_harness_stop(&h), 0);
    return 0;
}

/* A module built into the kernel needs no file: modprobe succeeds on it,
 * and so does CreateSandbox. printk has a /sys/module entry on every
 * kernel that has sysfs (its parameters). */
TEST(built_in_module_is_fine)
{
    struct agent_harness h;
    const char *msg;
    if (access("/sys/module/printk", F_OK) < 0)
        return test_skip("no /sys/module/printk on this host");
    int r = setup(&h, true);
    if (r)
        return r;
    static const char *const names[] = {"printk", NULL};
    ASSERT_EQ(create_sandbox(&h, names, NULL, &msg), 0);
    ASSERT_EQ(agent_harness_stop(&h), 0);
    return 0;
}

TEST(bad_requests_name_the_field)
{
    struct agent_harness h;
    const char *msg;
    int r = setup(&h, true);
    if (r)
        return r;
    static const char *const slash[] = {"../evil", NULL};
    ASSERT_EQ(create_sandbox(&h, slash, NULL, &msg), TTRPC_INVALID_ARGUMENT);
    ASSERT_TRUE(has(msg, "kernel_modules[0]: \"../evil\" is not a module name"));
    static const char *const empty[] = {"virtio_balloon", "", NULL};
    ASSERT_EQ(create_sandbox(&h, empty, NULL, &msg), TTRPC_INVALID_ARGUMENT);
    ASSERT_TRUE(has(msg, "kernel_modules[1]"));
    static const char *const ok[] = {GARBAGE, NULL};
    static char *p0[] = {(char *)"a=\n", NULL};
    static char **const params[] = {p0, NULL};
    ASSERT_EQ(create_sandbox(&h, ok, params, &msg), TTRPC_INVALID_ARGUMENT);
    ASSERT_TRUE(has(msg, GARBAGE ": parameter 0 has a control character"));
    ASSERT_EQ(agent_harness_stop(&h), 0);
    return 0;
}
