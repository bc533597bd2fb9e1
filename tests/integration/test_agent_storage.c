/* Agent storages (agent/storage.h) over ttRPC against the stand-alone
 * kata-agent on the host: what can run outside a VM, i.e. the ephemeral
 * (tmpfs), local (directory with mode) and bind drivers, reference counting
 * across containers, DestroySandbox unmounting everything, and bad input
 * (unknown driver, drivers not implemented yet, bad PCI paths, bad devices,
 * a disk that never appears) answered with the field at fault and nothing
 * left mounted. blk storages and devices also run against the host's own
 * virtio root disk when it sits on the PCI root bus (found in sysfs, as a
 * disk hotplugged before the call would be). virtio-fs is covered by
 * tests/e2e/test_ctr_qemu.c (a real guest). Needs root and busybox-static;
 * skips otherwise. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "google/protobuf/empty.pb-c.h"
#include "kata/agent.pb-c.h"
#include "kata/health.pb-c.h"
#include "lib/loop.h"
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
    int r = agent_harness_start_with_bundle(&f->h, f->bundle, sizeof(f->bundle));
    if (r == -ENOENT)
        return test_skip("%s", f->h.why);
    if (r < 0)
        return r;
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
    ASSERT_EQ(agent_harness_count_cgroups(), 0); /* c3's went with the sandbox */
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
    ASSERT_EQ(create_sandbox(&f, sts, 2, &msg), TTRPC_INVALID_ARGUMENT);
    printf("#   %s\n", msg);
    ASSERT_TRUE(strstr(msg, "PCI path \"00:02\"") != NULL);
    storage(&bad, "watchable-bind", "/x", "bind", mp, NULL, 0);
    ASSERT_EQ(create_sandbox(&f, sts, 2, &msg), TTRPC_UNIMPLEMENTED);
    ASSERT_TRUE(strstr(msg, "\"watchable-bind\"") != NULL);
    /* No virtio 9p channel on the host: the mount fails, naming 9p. */
    storage(&bad, "9p", "kataShared", "9p", mp, NULL, 0);
    ASSERT_NE(create_sandbox(&f, sts, 2, &msg), 0);
    printf("#   %s\n", msg);
    ASSERT_TRUE(strstr(msg, "9p") != NULL);
    ASSERT_EQ(agent_harness_count_mounts(f.h.dir), 0);
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

/* ---- block storages and devices (PCI paths) ---- */

static void device(Grpc__Device *d, const char *type, const char *id, const char *container_path)
{
    grpc__device__init(d);
    d->type = (char *)type;
    d->id = (char *)id;
    d->container_path = (char *)container_path;
}

static int create_dev(struct fixture *f, const char *cid, Grpc__Storage **sts, size_t n,
                      Grpc__Device **devs, size_t n_devs, const char **msg)
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
    req.devices = devs;
    req.n_devices = n_devs;
    return agent_harness_call(&f->h, "CreateContainer", &req.base, EMPTY, NULL, msg);
}

TEST(blk_and_device_bad_inputs)
{
    struct fixture f;
    int r = setup(&f);
    if (r)
        return r;
    Grpc__Storage eph, blk, *sts[] = {&eph, &blk};
    Grpc__Device dev, *devs[] = {&dev};
    const char *msg = NULL;
    char mp[400];

    snprintf(mp, sizeof(mp), "%s/blkvol", f.h.dir);
    ASSERT_EQ(create_sandbox(&f, NULL, 0, &msg), 0);
    storage(&eph, "ephemeral", "tmpfs", "tmpfs", f.eph, NULL, 0);

    /* A malformed PCI path: the field and the path are named. */
    storage(&blk, "blk", "zz/01", "ext4", mp, NULL, 0);
    ASSERT_EQ(create_dev(&f, "c1", sts, 2, NULL, 0, &msg), TTRPC_INVALID_ARGUMENT);
    printf("#   %s\n", msg);
    ASSERT_TRUE(strstr(msg, "storages[1].source") != NULL);
    ASSERT_TRUE(strstr(msg, "\"zz/01\"") != NULL);
    storage(&blk, "virtio-blk", "", "ext4", mp, NULL, 0);
    ASSERT_EQ(create_dev(&f, "c1", sts, 2, NULL, 0, &msg), TTRPC_INVALID_ARGUMENT);
    ASSERT_TRUE(strstr(msg, "storages[1].source") != NULL);

    /* Devices: bad PCI path, missing fields, unknown and unsupported types. */
    device(&dev, "blk", "02/20", "/dev/xda");
    ASSERT_EQ(create_dev(&f, "c1", NULL, 0, devs, 1, &msg), TTRPC_INVALID_ARGUMENT);
    printf("#   %s\n", msg);
    ASSERT_TRUE(strstr(msg, "devices[0].id") != NULL);
    device(&dev, "blk", "", "/dev/xda");
    ASSERT_EQ(create_dev(&f, "c1", NULL, 0, devs, 1, &msg), TTRPC_INVALID_ARGUMENT);
    ASSERT_TRUE(strstr(msg, "devices[0].id") != NULL);
    device(&dev, "blk", "02", "");
    ASSERT_EQ(create_dev(&f, "c1", NULL, 0, devs, 1, &msg), TTRPC_INVALID_ARGUMENT);
    ASSERT_TRUE(strstr(msg, "devices[0].container_path") != NULL);
    device(&dev, "floppy", "02", "/dev/fd0");
    ASSERT_EQ(create_dev(&f, "c1", NULL, 0, devs, 1, &msg), TTRPC_INVALID_ARGUMENT);
    ASSERT_TRUE(strstr(msg, "\"floppy\"") != NULL);
    device(&dev, "vfio-pci", "02", "/dev/vfio/1");
    ASSERT_EQ(create_dev(&f, "c1", NULL, 0, devs, 1, &msg), TTRPC_UNIMPLEMENTED);
    ASSERT_TRUE(strstr(msg, "\"vfio-pci\"") != NULL);

    ASSERT_EQ(agent_harness_count_mounts(f.h.dir), 0);
    ASSERT_TRUE(access(mp, F_OK) < 0);
    /* The sandbox still works. */
    ASSERT_EQ(create_dev(&f, "c1", sts, 1, NULL, 0, &msg), 0);
    ASSERT_EQ(remove_ctr(&f, "c1"), 0);
    ASSERT_EQ(agent_harness_count_mounts(f.h.dir), 0);
    return teardown(&f);
}

struct pending {
    bool done;
    int code;
    char msg[256];
};

static void on_reply(const struct ttrpc_status *st, const ProtobufCMessage *resp, void *userdata)
{
    struct pending *p = userdata;
    (void)resp;
    p->done = true;
    p->code = st->code;
    snprintf(p->msg, sizeof(p->msg), "%s", st->message ? st->message : "");
}

/* A disk that never comes: DEADLINE_EXCEEDED naming the PCI path after the
 * agent's hotplug timeout, nothing mounted, and the agent keeps answering
 * other calls while it waits (the wait runs on its worker pool). Slot 1f.7
 * of the root bus holds nothing on the hosts and guests we run on. */
TEST(blk_missing_device_times_out)
{
    struct fixture f;
    int r = setup(&f);
    if (r)
        return r;
    if (access("/sys/devices/pci0000:00/0000:00:1f.7", F_OK) == 0) {
        teardown(&f);
        return test_skip("this host has a device at PCI 00:1f.7");
    }
    Grpc__Storage eph, blk, *sts[] = {&eph, &blk};
    const char *msg = NULL;
    char mp[400];
    struct agent_harness_spec s;
    const char *args[] = {"true", NULL};
    Grpc__CreateContainerRequest req = GRPC__CREATE_CONTAINER_REQUEST__INIT;
    struct ttrpc_call_opts opts = {.timeout_ns = 60ULL * 1000 * 1000 * 1000};
    struct pending p = {0};

    snprintf(mp, sizeof(mp), "%s/blkvol", f.h.dir);
    ASSERT_EQ(create_sandbox(&f, NULL, 0, &msg), 0);
    storage(&eph, "ephemeral", "tmpfs", "tmpfs", f.eph, NULL, 0);
    storage(&blk, "blk", "1f.7", "ext4", mp, NULL, 0);
    agent_harness_spec_init(&s, f.bundle, args);
    req.container_id = (char *)"c1";
    req.exec_id = (char *)"c1";
    req.oci = &s.spec;
    req.storages = sts;
    req.n_storages = 2;
    ASSERT_OK(ttrpc_client_call(f.h.client, "grpc.AgentService", "CreateContainer", &req.base,
                                EMPTY, &opts, on_reply, &p));
    /* Runs the client loop: the agent answers while CreateContainer waits. */
    Grpc__CheckRequest check = GRPC__CHECK_REQUEST__INIT;
    ASSERT_EQ(agent_harness_call(&f.h, "Check", &check.base,
                                 &grpc__health_check_response__descriptor, NULL, NULL),
              0);
    ASSERT_TRUE(!p.done);
    while (!p.done)
        ASSERT_OK(loop_run_once(f.h.loop, 1000));
    printf("#   %s\n", p.msg);
    ASSERT_EQ(p.code, TTRPC_DEADLINE_EXCEEDED);
    ASSERT_TRUE(strstr(p.msg, "PCI path 1f.7") != NULL);
    ASSERT_EQ(agent_harness_count_mounts(f.h.dir), 0);
    ASSERT_TRUE(access(mp, F_OK) < 0);
    ASSERT_TRUE(access(f.eph, F_OK) < 0);
    return teardown(&f);
}

/* The PCI path of a virtio disk on the host's root bus, with its name and
 * the file system it is mounted with ("02", "vda", "ext4"). */
static bool host_pci_disk(char *path, size_t psize, char *name, size_t nsize, char *fstype,
                          size_t fsize, bool *readonly)
{
    DIR *d = opendir("/sys/class/block");
    struct dirent *de;
    bool found = false;
    while (!found && d && (de = readdir(d))) {
        char link[300], target[PATH_MAX];
        unsigned dom, bus, slot, fn, vio;
        char blkname[64] = "";
        snprintf(link, sizeof(link), "/sys/class/block/%s", de->d_name);
        if (!realpath(link, target))
            continue;
        if (sscanf(target, "/sys/devices/pci0000:00/%4x:%2x:%2x.%1x/virtio%u/block/%63s", &dom,
                   &bus, &slot, &fn, &vio, blkname) != 6 || strchr(blkname, '/') ||
            strcmp(blkname, de->d_name) != 0)
            continue;
        FILE *m = fopen("/proc/mounts", "re");
        char line[1024], dev[300], mpt[512], fs[64], opts[512];
        snprintf(link, sizeof(link), "/dev/%s", blkname);
        while (m && fgets(line, sizeof(line), m))
            /* Only file systems without subvolumes: the whole device then
             * shows the same tree as / does. */
            if (sscanf(line, "%299s %511s %63s %511s", dev, mpt, fs, opts) == 4 &&
                strcmp(dev, link) == 0 && strcmp(mpt, "/") == 0 &&
                (strcmp(fs, "ext4") == 0 || strcmp(fs, "xfs") == 0)) {
                snprintf(path, psize, "%02x.%x", slot, fn);
                snprintf(name, nsize, "%s", blkname);
                snprintf(fstype, fsize, "%s", fs);
                *readonly = strncmp(opts, "ro,", 3) == 0 || strcmp(opts, "ro") == 0;
                found = true;
                break;
            }
        if (m)
            fclose(m);
    }
    if (d)
        closedir(d);
    return found;
}

/* The host's own root disk (already present, so found in sysfs rather than
 * by a uevent) as a blk storage used as a container volume and as a blk
 * device: the container sees the volume's files and a device node carrying
 * the guest's major:minor instead of the spec's. */
/* Starts cid, reads its stdout to EOF and checks it is "<devno>\n" and the
 * first bytes of the host's /etc/os-release (seen through the volume). */
static int storage_start_and_read(struct fixture *f, const char *cid, const char *mp,
                                  const char *devno)
{
    Grpc__StartContainerRequest sreq = GRPC__START_CONTAINER_REQUEST__INIT;
    const char *msg = NULL;
    char out[512] = "", want[128], head[6] = "";
    size_t off = 0;
    (void)mp;
    sreq.container_id = (char *)cid;
    if (agent_harness_call(&f->h, "StartContainer", &sreq.base, EMPTY, NULL, &msg) != 0) {
        printf("#   start: %s\n", msg);
        return -1;
    }
    for (;;) {
        Grpc__ReadStreamRequest req = GRPC__READ_STREAM_REQUEST__INIT;
        ProtobufCMessage *resp = NULL;
        req.container_id = (char *)cid;
        req.exec_id = (char *)cid;
        req.len = 4096;
        if (agent_harness_call(&f->h, "ReadStdout", &req.base,
                               &grpc__read_stream_response__descriptor, &resp, NULL) != 0)
            break;
        Grpc__ReadStreamResponse *rr = (Grpc__ReadStreamResponse *)resp;
        size_t n = rr->data.len;
        if (n && off + n < sizeof(out)) {
            memcpy(out + off, rr->data.data, n);
            off += n;
        }
        protobuf_c_message_free_unpacked(resp, NULL);
        if (n == 0)
            break;
    }
    out[off] = '\0';
    FILE *os = fopen("/etc/os-release", "re");
    if (os) {
        size_t n = fread(head, 1, 5, os);
        head[n] = '\0';
        fclose(os);
    }
    snprintf(want, sizeof(want), "%s\n%s", devno, head);
    printf("#   container printed \"%s\"\n", out);
    return strcmp(out, want) == 0 ? 0 : -1;
}

TEST(blk_present_disk_as_volume_and_device)
{
    struct fixture f;
    int r = setup(&f);
    if (r)
        return r;
    char pci[32], name[64], fstype[64], devno[32] = "", mp[400];
    bool ro = false;
    if (!host_pci_disk(pci, sizeof(pci), name, sizeof(name), fstype, sizeof(fstype), &ro)) {
        teardown(&f);
        return test_skip("the host's root file system is not ext4 or xfs on a virtio PCI disk");
    }
    char sysdev[128];
    snprintf(sysdev, sizeof(sysdev), "/sys/class/block/%s/dev", name);
    FILE *df = fopen(sysdev, "re");
    unsigned ma = 0, mi = 0;
    ASSERT_TRUE(df && fscanf(df, "%u:%u", &ma, &mi) == 2);
    fclose(df);
    snprintf(devno, sizeof(devno), "%x:%x", ma, mi);
    snprintf(mp, sizeof(mp), "%s/blkvol", f.h.dir);
    printf("#   host disk %s at PCI path %s (%s, %s)\n", name, pci, devno, fstype);

    const char *msg = NULL;
    const char *args[] = {"sh", "-c", "stat -c %t:%T /dev/xda; head -c 5 /vol/etc/os-release",
                          NULL};
    struct agent_harness_spec s;
    Grpc__Storage blk, *sts[] = {&blk};
    Grpc__Device dev, *devs[] = {&dev};
    Grpc__LinuxDevice ld = GRPC__LINUX_DEVICE__INIT, *lds[] = {&ld};
    Grpc__LinuxDeviceCgroup rule = GRPC__LINUX_DEVICE_CGROUP__INIT, *rules[] = {&rule};
    Grpc__CreateContainerRequest req = GRPC__CREATE_CONTAINER_REQUEST__INIT;

    ASSERT_EQ(create_sandbox(&f, NULL, 0, &msg), 0);
    /* A second mount of a mounted file system must keep its read-only state. */
    static char *ro_opts[] = {(char *)"ro"};
    storage(&blk, "blk", pci, fstype, mp, ro ? ro_opts : NULL, ro ? 1 : 0);
    device(&dev, "blk", pci, "/dev/xda");
    agent_harness_spec_init(&s, f.bundle, args);
    /* The host's numbers, as the runtime sends them: 8:99 is not the disk. */
    ld.path = (char *)"/dev/xda";
    ld.type = (char *)"b";
    ld.major = 8;
    ld.minor = 99;
    ld.filemode = 0660;
    s.linux_.devices = lds;
    s.linux_.n_devices = 1;
    rule.allow = true;
    rule.type = (char *)"b";
    rule.major = 8;
    rule.minor = 99;
    rule.access = (char *)"rw";
    grpc__linux_resources__init(&s.res);
    s.res.devices = rules;
    s.res.n_devices = 1;
    s.linux_.resources = &s.res;
    grpc__mount__init(&s.mounts[7]);
    s.mounts[7].destination = (char *)"/vol";
    s.mounts[7].source = mp;
    s.mounts[7].type = (char *)"bind";
    static char *bind_opts[] = {(char *)"rbind", (char *)"ro"};
    s.mounts[7].options = bind_opts;
    s.mounts[7].n_options = 2;
    s.mount_ptrs[7] = &s.mounts[7];
    s.spec.n_mounts = 8;
    req.container_id = (char *)"c1";
    req.exec_id = (char *)"c1";
    req.oci = &s.spec;
    req.storages = sts;
    req.n_storages = 1;
    req.devices = devs;
    req.n_devices = 1;
    int code = agent_harness_call(&f.h, "CreateContainer", &req.base, EMPTY, NULL, &msg);
    if (code != 0)
        printf("#   %s\n", msg);
    ASSERT_EQ(code, 0);
    ASSERT_EQ(agent_harness_count_mounts(mp), 1);
    ASSERT_EQ(storage_start_and_read(&f, "c1", mp, devno), 0);
    ASSERT_EQ(remove_ctr(&f, "c1"), 0);
    ASSERT_EQ(agent_harness_count_mounts(mp), 0);
    ASSERT_TRUE(access(mp, F_OK) < 0);
    return teardown(&f);
}
