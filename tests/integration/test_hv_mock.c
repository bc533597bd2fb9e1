/* The mock driver runs the real kata-agent binary as a local process on a
 * unix socket: start waits for the socket, pause/resume stop and continue
 * it, hotplug is refused, stop reaps it and removes the state. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hypervisor/hv.h"
#include "lib/err.h"
#include "lib/transport.h"
#include "tests/harness/harness.h"

#define SEC 1000000000ull

TEST(mock_lifecycle)
{
    char agent[PATH_MAX];
    const char *o = getenv("O");
    snprintf(agent, sizeof(agent), "%s/bin/kata-agent", o && *o ? o : "build");
    if (access(agent, X_OK) < 0)
        return test_skip("%s not built", agent);
    struct hv_config cfg = {.kind = HV_KIND_MOCK, .path = agent};
    struct hv_vm *vm = NULL;
    struct err e = ERR_INIT;
    ASSERT_OK(hv_vm_new(&cfg, test_tmpdir(), "mock1", &vm, &e));
    char addr[256];
    ASSERT_OK(hv_vm_agent_address(vm, addr, sizeof(addr)));
    ASSERT_TRUE(strncmp(addr, "unix:///", 8) == 0);
    int r = hv_vm_start(vm, 10 * SEC, &e);
    if (r < 0)
        printf("#   start: %s\n", e.msg);
    ASSERT_OK(r);
    ASSERT_GT(hv_vm_pid(vm), 1);
    int fd = transport_dial(addr, 2 * SEC, &e);
    ASSERT_TRUE(fd >= 0);
    close(fd);
    ASSERT_OK(hv_vm_pause(vm, &e));
    ASSERT_OK(hv_vm_resume(vm, &e));
    struct hv_device dev = {.kind = HV_DEVICE_BLOCK, .id = "d", .path = "/dev/null"};
    ASSERT_EQ(hv_vm_hotplug_add(vm, &dev, &e), -ENOTSUP);
    err_clear(&e);
    ASSERT_OK(hv_vm_stop(vm, 5 * SEC, &e));
    ASSERT_EQ(hv_vm_pidfd(vm), -1);
    hv_vm_free(vm);
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s/mock1", test_tmpdir());
    ASSERT_TRUE(access(dir, F_OK) < 0);
    return 0;
}

TEST(kind_names_and_bad_ids)
{
    enum hv_kind k;
    ASSERT_OK(hv_kind_from_name("qemu", &k));
    ASSERT_EQ(k, HV_KIND_QEMU);
    ASSERT_OK(hv_kind_from_name("cloud-hypervisor", &k));
    ASSERT_EQ(k, HV_KIND_CLH);
    ASSERT_EQ(hv_kind_from_name("firecracker", &k), -EINVAL);
    ASSERT_STREQ(hv_kind_name(HV_KIND_MOCK), "mock");
    struct hv_config cfg = {.kind = HV_KIND_MOCK, .path = "/bin/true"};
    struct hv_vm *vm = NULL;
    struct err e = ERR_INIT;
    ASSERT_EQ(hv_vm_new(&cfg, test_tmpdir(), "../escape", &vm, &e), -EINVAL);
    err_clear(&e);
    ASSERT_EQ(hv_vm_new(&cfg, "relative", "x", &vm, &e), -EINVAL);
    err_clear(&e);
    ASSERT_OK(hv_cleanup(HV_KIND_MOCK, test_tmpdir(), "never-existed", &e));
    return 0;
}
