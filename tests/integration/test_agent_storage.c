/* Agent storages (agent/storage.h) over ttRPC against the stand-alone
 * kata-agent on the host: what can run outside a VM, i.e. the ephemeral
 * (tmpfs), local (directory with mode) and bind drivers, reference counting
 * across containers, DestroySandbox unmounting everything, and bad input
 * (unknown driver, drivers not implemented yet) answered with the driver's
 * name and nothing left mounted. virtio-fs is covered by
 * tests/e2e/test_ctr_qemu.c (a real guest). Needs root and busybox-static;
 * skips otherwise. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "google/protobuf/empty.pb-c.h"
#include "kata/agent.pb-c.h"
#include "lib/ttrpc/ttrpc.h"
#include "tests/harness/harness.h"
#include "tests/support/agent_harness.h"

#define EMPTY &google__protobuf__empty__descriptor

struct fixture {
    struct agent_harness h;
    char bundle[300];
    char eph[400], local[400], bind[400];
};

static int setup(struct fixture *f)
{
    char why[256] = "";
    int r = agent_harness_start(&f->h);
    if (r == -ENOENT)
        return test_skip("%s", f->h.why);
    if (r < 0)
        return r;
    snprintf(f->bundle, sizeof(f->bundle), "%s/bundle", f->h.dir);
    if (agent_harness_bundle(f->bundle, why, sizeof(why)) < 0) {
        agent_harness_stop(&f->h);
        return test_skip("%s", why);
    }
    snprintf(f->eph, sizeof(f->eph), "%s/sandbox/shm", f->h.dir);
    snprintf(f->local, sizeof(f->local), "%s/local/vol1", f->h.dir);
    snprintf(f->bind, sizeof(f->bind), "%s/bound", f->h.dir);
    return 0;
}

static int teardown(struct fixture *f)
{
    int rc = agent_harness_stop(&f->h);
    if (rc != 0)
        fprintf(stderr, "# the agent exited with %d\n", rc);
    return rc != 0;
}

static void storage(Grpc__Storage *st, const char *driver, const char *source, const char *fstype,
                    const char *mount_point, char **options, size_t n_options)
{
    grpc__storage__init(st);
    st->driver = (char *)driver;
    st->source = (char *)source;
    st->fstype = (char *)fstype;
    st->mount_point = (char *)mount_point;
    st->options = options;
    st->n_options = n_options;
}

static int create_sandbox(struct fixture *f, Grpc__Storage **sts, size_t n, const char **msg)
{
    Grpc__CreateSandboxRequest req = GRPC__CREATE_SANDBOX_REQUEST__INIT;
    req.sandbox_id = (char *)"sb1";
    req.storages = sts;
    req.n_storages = n;
    return agent_harness_call(&f->h, "CreateSandbox", &req.base, EMPTY, NULL, msg);
}

static int destroy_sandbox(struct fixture *f)
{
    Grpc__DestroySandboxRequest req = GRPC__DESTROY_SANDBOX_REQUEST__INIT;
    return agent_harness_call(&f->h, "DestroySandbox", &req.base, EMPTY, NULL, NULL);
}

static int create(struct fixture *f, const char *cid, Grpc__Storage **sts, size_t n,
                  const char **msg)
{
    struct agent_harness_spec s;
    const char *args[] = {"true", NULL};
    Grpc__CreateContainerRequest req = GRPC__CREATE_CONTAINER_REQUEST__INIT;

    agent_harness_spec_init(&s, f->bundle, args);
    req.container_id = (char *)cid;
    req.exec_id = (char *)cid;
    req.oci = &s.spec;
    req.storages = sts;
    req.n_storages = n;
    return agent_harness_call(&f->h, "CreateContainer", &req.base, EMPTY, NULL, msg);
}

static int remove_ctr(struct fixture *f, const char *cid)
{
    Grpc__RemoveContainerRequest req = GRPC__REMOVE_CONTAINER_REQUEST__INIT;
    req.container_id = (char *)cid;
    req.timeout = 10;
    return agent_harness_call(&f->h, "RemoveContainer", &req.base, EMPTY, NULL, NULL);
}

TEST(sandbox_storages_ephemeral_local_and_destroy)
{
    struct fixture f;
    int r = setup(&f);
    if (r)
        return r;
    char *eph_opts[] = {(char *)"nosuid", (char *)"nodev", (char *)"mode=1777",
                        (char *)"size=1048576"};
    char *local_opts[] = {(char *)"mode=0750", (char *)"fsgid=1234"};
    Grpc__Storage eph, local, *sts[] = {&eph, &local};
    struct stat st;
    const char *msg;

    storage(&eph, "ephemeral", "shm", "tmpfs", f.eph, eph_opts, 4);
    storage(&local, "local", "local", "local", f.local, local_opts, 2);
    ASSERT_EQ(create_sandbox(&f, sts, 2, &msg), 0);
    ASSERT_EQ(agent_harness_count_mounts(f.eph), 1);
    ASSERT_OK(stat(f.eph, &st) < 0 ? -errno : 0);
    ASSERT_EQ(st.st_mode & 07777, 01777);
    ASSERT_OK(stat(f.local, &st) < 0 ? -errno : 0);
    ASSERT_TRUE(S_ISDIR(st.st_mode));
    ASSERT_EQ(st.st_mode & 07777, 02750);
    ASSERT_EQ(st.st_gid, 1234);

    ASSERT_EQ(destroy_sandbox(&f), 0);
    ASSERT_EQ(agent_harness_count_mounts(f.eph), 0);
    ASSERT_TRUE(access(f.eph, F_OK) < 0);
    ASSERT_TRUE(access(f.local, F_OK) < 0);
    return teardown(&f);
}

TEST(container_storages_are_reference_counted)
{
    struct fixture f;
    int r = setup(&f);
    if (r)
        return r;
    char src[400];
    Grpc__Storage eph, bind, *both[] = {&eph, &bind}, *one[] = {&eph};
    const char *msg;

    snprintf(src, sizeof(src), "%s/bind-src", f.h.dir);
    ASSERT_OK(mkdir(src, 0755) < 0 ? -errno : 0);
    storage(&eph, "ephemeral", "tmpfs", "tmpfs", f.eph, NULL, 0);
    storage(&bind, "bind", src, "bind", f.bind, NULL, 0);
    ASSERT_EQ(create_sandbox(&f, NULL, 0, &msg), 0);
    ASSERT_EQ(create(&f, "c1", both, 2, &msg), 0);
    ASSERT_EQ(create(&f, "c2", one, 1, &msg), 0);
    ASSERT_EQ(agent_harness_count_mounts(f.eph), 1); /* shared, mounted once */
    ASSERT_EQ(agent_harness_count_mounts(f.bind), 1);
    /* A failed create drops only its own references. */
    ASSERT_EQ(create(&f, "c2", one, 1, &msg), TTRPC_ALREADY_EXISTS);
    ASSERT_EQ(agent_harness_count_mounts(f.eph), 1);

    ASSERT_EQ(remove_ctr(&f, "c1"), 0);
    ASSERT_EQ(agent_harness_count_mounts(f.eph), 1); /* c2 still uses it */
    ASSERT_EQ(agent_harness_count_mounts(f.bind), 0);
    ASSERT_EQ(remove_ctr(&f, "c2"), 0);
    ASSERT_EQ(agent_harness_count_mounts(f.eph), 0);
    ASSERT_TRUE(access(f.eph, F_OK) < 0);

    /* DestroySandbox takes whatever containers still hold. */
    ASSERT_EQ(create(&f, "c3", both, 2, &msg), 0);
    ASSERT_EQ(agent_harness_count_mounts(f.eph), 1);
    ASSERT_EQ(destroy_sandbox(&f), 0);
    ASSERT_EQ(agent_harness_count_mounts(f.eph), 0);
    ASSERT_EQ(agent_harness_count_mounts(f.bind), 0);
    return teardown(&f);
}

TEST(bad_storage_drivers)
{
    struct fixture f;
    int r = setup(&f);
    if (r)
        return r;
    Grpc__Storage eph, bad, *sts[] = {&eph, &bad};
    const char *msg = NULL;
    char mp[400];

    snprintf(mp, sizeof(mp), "%s/vol", f.h.dir);
    storage(&eph, "ephemeral", "tmpfs", "tmpfs", f.eph, NULL, 0);
    storage(&bad, "floppy", "a:", "fat", mp, NULL, 0);
    /* All or nothing: the good storage before the bad one is undone. */
    ASSERT_EQ(create_sandbox(&f, sts, 2, &msg), TTRPC_INVALID_ARGUMENT);
    printf("#   %s\n", msg);
    ASSERT_TRUE(strstr(msg, "\"floppy\"") != NULL);
    ASSERT_EQ(agent_harness_count_mounts(f.eph), 0);
    ASSERT_TRUE(access(f.eph, F_OK) < 0);

    storage(&bad, "blk", "00:02", "ext4", mp, NULL, 0);
    ASSERT_EQ(create_sandbox(&f, sts, 2, &msg), TTRPC_UNIMPLEMENTED);
    ASSERT_TRUE(strstr(msg, "\"blk\"") != NULL);
    storage(&bad, "9p", "kataShared", "9p", mp, NULL, 0);
    ASSERT_EQ(create_sandbox(&f, sts, 2, &msg), TTRPC_UNIMPLEMENTED);
    ASSERT_TRUE(strstr(msg, "\"9p\"") != NULL);
    storage(&bad, "ephemeral", "tmpfs", "tmpfs", "relative/path", NULL, 0);
    ASSERT_EQ(create_sandbox(&f, sts, 2, &msg), TTRPC_INVALID_ARGUMENT);
    ASSERT_EQ(agent_harness_count_mounts(f.h.dir), 0);

    /* In CreateContainer too; the sandbox still works afterwards. */
    ASSERT_EQ(create_sandbox(&f, NULL, 0, &msg), 0);
    storage(&bad, "floppy", "a:", "fat", mp, NULL, 0);
    ASSERT_EQ(create(&f, "c1", sts, 2, &msg), TTRPC_INVALID_ARGUMENT);
    ASSERT_TRUE(strstr(msg, "\"floppy\"") != NULL);
    ASSERT_EQ(agent_harness_count_mounts(f.h.dir), 0);
    ASSERT_EQ(create(&f, "c1", sts, 1, &msg), 0);
    ASSERT_EQ(agent_harness_count_mounts(f.eph), 1);
    ASSERT_EQ(remove_ctr(&f, "c1"), 0);
    ASSERT_EQ(agent_harness_count_mounts(f.h.dir), 0);
    return teardown(&f);
}
