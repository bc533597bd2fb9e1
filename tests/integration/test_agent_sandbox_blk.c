/* CreateSandbox with block storages against the stand-alone kata-agent on
 * the host: the call waits for the disk on the agent's worker pool (other
 * calls are answered meanwhile), a disk that never comes fails it with
 * DEADLINE_EXCEEDED naming the PCI path and leaves nothing behind (no
 * mount, no sandbox: a later CreateSandbox succeeds), and bad input is
 * refused naming the field. A disk that appears during the call is covered
 * in a real guest by tests/e2e/agent-vm/test_agent_vm_storage.c. Needs root
 * and busybox-static; skips otherwise. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "google/protobuf/empty.pb-c.h"
#include "kata/agent.pb-c.h"
#include "kata/health.pb-c.h"
#include "lib/loop.h"
#include "lib/ttrpc/ttrpc.h"
#include "tests/harness/harness.h"
#include "tests/support/agent_harness.h"

#define EMPTY &google__protobuf__empty__descriptor
/* No PC has a device in the last function of the last slot of bus 0. */
#define ABSENT_PCI_PATH "1f.7"
#define ABSENT_SYSFS "/sys/devices/pci0000:00/0000:00:1f.7"

struct pending {
    bool done;
    int code;
    char msg[512];
};

static void on_reply(const struct ttrpc_status *st, const ProtobufCMessage *resp, void *userdata)
{
    struct pending *p = userdata;
    (void)resp;
    p->done = true;
    p->code = st->code;
    snprintf(p->msg, sizeof(p->msg), "%s", st->message);
}

static void storage(Grpc__Storage *st, const char *driver, const char *source,
                    const char *mount_point)
{
    grpc__storage__init(st);
    st->driver = (char *)driver;
    st->source = (char *)source;
    st->fstype = (char *)(strcmp(driver, "ephemeral") == 0 ? "tmpfs" : "ext4");
    st->mount_point = (char *)mount_point;
}

static int create_sandbox(struct agent_harness *h, Grpc__Storage **sts, size_t n, const char **msg)
{
    Grpc__CreateSandboxRequest req = GRPC__CREATE_SANDBOX_REQUEST__INIT;
    req.sandbox_id = (char *)"sbblk";
    req.storages = sts;
    req.n_storages = n;
    return agent_harness_call(h, "CreateSandbox", &req.base, EMPTY, NULL, msg);
}

TEST(create_sandbox_waits_for_blk_and_is_all_or_nothing)
{
    struct agent_harness h;
    int r = agent_harness_start(&h);
    if (r == -ENOENT)
        return test_skip("%s", h.why);
    ASSERT_OK(r);
    if (access(ABSENT_SYSFS, F_OK) == 0) {
        agent_harness_stop(&h);
        return test_skip("this host has a device at PCI 00:1f.7");
    }
    char eph[400], mp[400];
    snprintf(eph, sizeof(eph), "%s/sandbox/shm", h.dir);
    snprintf(mp, sizeof(mp), "%s/sandbox/blk", h.dir);
    Grpc__Storage st_eph, st_blk, *both[] = {&st_eph, &st_blk};
    storage(&st_eph, "ephemeral", "tmpfs", eph);
    storage(&st_blk, "blk", ABSENT_PCI_PATH, mp);

    /* The disk never comes: the call waits, the agent keeps answering. */
    Grpc__CreateSandboxRequest req = GRPC__CREATE_SANDBOX_REQUEST__INIT;
    req.sandbox_id = (char *)"sbblk";
    req.storages = both;
    req.n_storages = 2;
    struct ttrpc_call_opts opts = {.timeout_ns = 60ULL * 1000 * 1000 * 1000};
    struct pending p = {0};
    ASSERT_OK(ttrpc_client_call(h.client, "grpc.AgentService", "CreateSandbox", &req.base, EMPTY,
                                &opts, on_reply, &p));
    Grpc__CheckRequest check = GRPC__CHECK_REQUEST__INIT;
    ASSERT_EQ(agent_harness_call(&h, "Check", &check.base, &grpc__health_check_response__descriptor,
                                 NULL, NULL),
              0);
    ASSERT_TRUE(!p.done);
    while (!p.done)
        ASSERT_OK(loop_run_once(h.loop, 1000));
    printf("#   %s: %s\n", ttrpc_code_name(p.code), p.msg);
    ASSERT_EQ(p.code, TTRPC_DEADLINE_EXCEEDED);
    ASSERT_TRUE(strstr(p.msg, "PCI path " ABSENT_PCI_PATH) != NULL);
    /* Nothing was mounted, and there is no sandbox. */
    ASSERT_EQ(agent_harness_count_mounts(h.dir), 0);
    ASSERT_TRUE(access(eph, F_OK) < 0);
    ASSERT_TRUE(access(mp, F_OK) < 0);

    /* Bad input, answered at once. */
    const char *msg = NULL;
    storage(&st_blk, "virtio-blk", "02/zz", mp);
    ASSERT_EQ(create_sandbox(&h, both, 2, &msg), TTRPC_INVALID_ARGUMENT);
    printf("#   %s\n", msg);
    ASSERT_TRUE(strstr(msg, "storages[1].source") != NULL);
    storage(&st_blk, "blk", "", mp);
    ASSERT_EQ(create_sandbox(&h, both, 2, &msg), TTRPC_INVALID_ARGUMENT);
    ASSERT_TRUE(strstr(msg, "storages[1].source: missing") != NULL);
    ASSERT_EQ(agent_harness_count_mounts(h.dir), 0);

    /* Still no sandbox: this one is created. */
    ASSERT_EQ(create_sandbox(&h, both, 1, &msg), 0);
    ASSERT_EQ(agent_harness_count_mounts(h.dir), 1);
    /* A second sandbox is refused before any wait for its disk. */
    storage(&st_blk, "blk", ABSENT_PCI_PATH, mp);
    ASSERT_EQ(create_sandbox(&h, &both[1], 1, &msg), TTRPC_ALREADY_EXISTS);
    ASSERT_TRUE(strstr(msg, "sandbox_id") != NULL);

    Grpc__DestroySandboxRequest dreq = GRPC__DESTROY_SANDBOX_REQUEST__INIT;
    ASSERT_EQ(agent_harness_call(&h, "DestroySandbox", &dreq.base, EMPTY, NULL, NULL), 0);
    ASSERT_EQ(agent_harness_count_mounts(h.dir), 0);
    ASSERT_EQ(agent_harness_stop(&h), 0);
    return 0;
}
