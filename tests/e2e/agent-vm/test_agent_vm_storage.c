/* The agent as the guest's PID 1, storages and devices end to end (issue 7
 * items 3, 4, 7): the QEMU driver boots our kernel and initrd (TCG here, KVM
 * where it works), the container's busybox rootfs comes through the shared
 * folder, and a small ext4 image made on the host with mkfs.ext4 -d is
 * hotplugged as virtio-blk. The agent waits for its uevent, mounts it as a
 * blk storage that the container uses as a volume, and rewrites a blk
 * device entry so the container's /dev/xda is the guest's disk. Bad input:
 * a PCI path whose disk never comes (DEADLINE_EXCEEDED, nothing mounted), a
 * malformed one (INVALID_ARGUMENT). 9p: the rootfs through virtio-9p, which
 * needs the generic-flavour guest (make guest-generic); skipped with the
 * reason otherwise. Each test boots one VM. */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "google/protobuf/empty.pb-c.h"
#include "hypervisor/hv.h"
#include "kata/agent.pb-c.h"
#include "lib/compiler.h"
#include "lib/err.h"
#include "lib/loop.h"
#include "lib/ttrpc/ttrpc.h"
#include "tests/harness/harness.h"
#include "tests/support/agent_harness.h"
#include "tests/support/vm_agent.h"

#define EMPTY &google__protobuf__empty__descriptor
#define FILE_TEXT "hello from a hotplugged disk\n"

/* One vCPU, 512 MiB, two hotplug slots, the shared folder through fs. */
static int boot(struct vma_vm *v, const char *name, const struct vma_guest *g,
                enum hv_shared_fs fs, const char *kernel_params)
{
    const struct vma_opts o = {.name = name, .guest = g, .shared_fs = fs, .memory_mib = 512,
                               .pcie_root_ports = 2, .kernel_params = kernel_params};
    return vma_boot(v, &o);
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

static int create_sandbox(struct vma_vm *v, Grpc__Storage *shared, char *msg, size_t size)
{
    Grpc__CreateSandboxRequest req = GRPC__CREATE_SANDBOX_REQUEST__INIT;
    Grpc__Storage *sts[] = {shared};
    req.sandbox_id = (char *)"storage-e2e";
    req.hostname = (char *)"storage-e2e";
    req.storages = sts;
    req.n_storages = 1;
    return vma_call(v, "CreateSandbox", &req.base, NULL, NULL, msg, size);
}

/* The busybox bundle in the shared folder, under <share>/bb/rootfs, with the
 * extra applets these tests run. */
static int make_bundle(struct vma_vm *v)
{
    char dir[PATH_MAX + 8], why[256] = "", link[PATH_MAX + 64];
    snprintf(dir, sizeof(dir), "%s/bb", v->share);
    if (agent_harness_bundle(dir, why, sizeof(why)) < 0)
        return test_skip("%s", why);
    static const char *const extra[] = {"stat", "od", "dd", "grep", "wc"};
    for (size_t i = 0; i < sizeof(extra) / sizeof(extra[0]); i++) {
        snprintf(link, sizeof(link), "%s/rootfs/bin/%s", dir, extra[i]);
        if (symlink("busybox", link) < 0 && errno != EEXIST)
            return 1;
    }
    return 0;
}

/* Creates (and, with out, starts and reads stdout of) a container on the
 * busybox rootfs from the shared folder; volume (if set) is bound at /vol. */
struct ctr {
    const char *id;
    const char *const *args;
    Grpc__Storage **storages;
    size_t n_storages;
    Grpc__Device **devices;
    size_t n_devices;
    const char *volume;
    Grpc__LinuxDevice *spec_dev;   /* one linux.devices entry, or NULL */
    Grpc__LinuxDeviceCgroup *rule; /* one resources.devices rule, or NULL */
    Grpc__LinuxDeviceCgroup **rules; /* or several (rule unset) */
    size_t n_rules;
};

static int create(struct vma_vm *v, const struct ctr *c, char *msg, size_t size)
{
    struct agent_harness_spec s;
    char root[PATH_MAX];
    Grpc__CreateContainerRequest req = GRPC__CREATE_CONTAINER_REQUEST__INIT;
    Grpc__LinuxDevice *lds[1];
    Grpc__LinuxDeviceCgroup *rules[1];
    static char *bind_opts[] = {(char *)"rbind", (char *)"rw"};

    agent_harness_spec_init(&s, "/unused", c->args);
    snprintf(root, sizeof(root), VMA_GUEST_SHARED "/bb/rootfs");
    s.root.path = root;
    if (c->volume) {
        grpc__mount__init(&s.mounts[7]);
        s.mounts[7].destination = (char *)"/vol";
        s.mounts[7].source = (char *)c->volume;
        s.mounts[7].type = (char *)"bind";
        s.mounts[7].options = bind_opts;
        s.mounts[7].n_options = 2;
        s.mount_ptrs[7] = &s.mounts[7];
        s.spec.n_mounts = 8;
    }
    if (c->spec_dev) {
        lds[0] = c->spec_dev;
        s.linux_.devices = lds;
        s.linux_.n_devices = 1;
    }
    if (c->rule || c->n_rules) {
        rules[0] = c->rule;
        grpc__linux_resources__init(&s.res);
        s.res.devices = c->rule ? rules : c->rules;
        s.res.n_devices = c->rule ? 1 : c->n_rules;
        s.linux_.resources = &s.res;
    }
    req.container_id = (char *)c->id;
    req.exec_id = (char *)c->id;
    req.oci = &s.spec;
    req.storages = c->storages;
    req.n_storages = c->n_storages;
    req.devices = c->devices;
    req.n_devices = c->n_devices;
    return vma_call(v, "CreateContainer", &req.base, NULL, NULL, msg, size);
}

static int simple(struct vma_vm *v, const char *method, const char *cid)
{
    char msg[256];
    int code;
    if (strcmp(method, "StartContainer") == 0) {
        Grpc__StartContainerRequest req = GRPC__START_CONTAINER_REQUEST__INIT;
        req.container_id = (char *)cid;
        code = vma_call(v, method, &req.base, NULL, NULL, msg, sizeof(msg));
    } else {
        Grpc__RemoveContainerRequest req = GRPC__REMOVE_CONTAINER_REQUEST__INIT;
        req.container_id = (char *)cid;
        req.timeout = 20;
        code = vma_call(v, method, &req.base, NULL, NULL, msg, sizeof(msg));
    }
    if (code)
        printf("#   %s %s: %s\n", method, cid, msg);
    return code;
}

/* Starts cid and reads its stdout to EOF into out. */
static int run_output(struct vma_vm *v, const char *cid, char *out, size_t size)
{
    size_t off = 0;
    if (simple(v, "StartContainer", cid) != 0)
        return -1;
    for (;;) {
        Grpc__ReadStreamRequest req = GRPC__READ_STREAM_REQUEST__INIT;
        ProtobufCMessage *resp = NULL;
        req.container_id = (char *)cid;
        req.exec_id = (char *)cid;
        req.len = 4096;
        if (vma_call(v, "ReadStdout", &req.base, &grpc__read_stream_response__descriptor,
                     &resp, NULL, 0) != 0)
            break;
        Grpc__ReadStreamResponse *rr = (Grpc__ReadStreamResponse *)resp;
        size_t n = rr->data.len;
        if (n && off + n < size) {
            memcpy(out + off, rr->data.data, n);
            off += n;
        }
        protobuf_c_message_free_unpacked(resp, NULL);
        if (n == 0)
            break;
    }
    out[off] = '\0';
    printf("#   %s printed \"%s\"\n", cid, out);
    return 0;
}

static int prerequisites(struct vma_guest *g, const char *flavour, bool need_virtiofsd)
{
    int r = vma_guest_find(g, flavour, need_virtiofsd);
    if (r)
        return r;
    if (access("/bin/busybox", X_OK) < 0)
        return test_skip("busybox-static is not installed");
    return 0;
}

/* The hotplugged-disk tests: virtio-fs for the rootfs, mkfs.ext4 for the disk. */
static int disk_prerequisites(struct vma_guest *g)
{
    int r = prerequisites(g, "guest", true);
    if (r)
        return r;
    if (system("command -v mkfs.ext4 >/dev/null 2>&1") != 0)
        return test_skip("mkfs.ext4 not installed (e2fsprogs)");
    return 0;
}

/* An ext4 image holding hello.txt, made with mkfs.ext4 -d. */
static int make_disk(const char *img)
{
    char src[PATH_MAX], cmd[3 * PATH_MAX];
    snprintf(src, sizeof(src), "%s/disk-src", test_tmpdir());
    mkdir(src, 0755);
    snprintf(cmd, sizeof(cmd), "%s/hello.txt", src);
    FILE *f = fopen(cmd, "we");
    if (!f)
        return -errno;
    fputs(FILE_TEXT, f);
    fclose(f);
    snprintf(cmd, sizeof(cmd), "mkfs.ext4 -q -F -L e2edisk -d '%s' '%s' 16M >/dev/null 2>&1", src,
             img);
    return system(cmd) == 0 ? 0 : -EIO;
}

/* The end of a disk test: DestroySandbox unmounts the shared folder and
 * the sandbox's storages, then the disk is unplugged. TEST() convention. */
static int destroy_and_unplug(struct vma_vm *v, const char *dev_id)
{
    Grpc__DestroySandboxRequest req = GRPC__DESTROY_SANDBOX_REQUEST__INIT;
    struct err e = ERR_INIT;
    char msg[512];
    int r = vma_call(v, "DestroySandbox", &req.base, NULL, NULL, msg, sizeof(msg));
    if (r)
        printf("#   DestroySandbox: %s\n", msg);
    ASSERT_EQ(r, 0);
    r = hv_vm_hotplug_remove(v->hv, dev_id, 60 * VMA_SEC, &e);
    if (r < 0)
        printf("#   unplug %s: %s\n", dev_id, err_msg(&e));
    ASSERT_OK(r);
    return 0;
}

TEST(blk_storage_volume_device_and_bad_paths)
{
    char msg[512], out[1024];
    struct vma_guest guest;
    int r = disk_prerequisites(&guest);
    if (r)
        return r;
    char img[PATH_MAX];
    snprintf(img, sizeof(img), "%s/disk.img", test_tmpdir());
    ASSERT_OK(make_disk(img));

    _cleanup_(vma_done) struct vma_vm v = {0};
    if ((r = boot(&v, "blk", &guest, HV_SHARED_FS_VIRTIO_FS, NULL)))
        return r;
    if ((r = make_bundle(&v)))
        return r;
    Grpc__Storage shared;
    storage(&shared, "virtio-fs", "kataShared", "virtiofs", VMA_GUEST_SHARED, NULL, 0);
    r = create_sandbox(&v, &shared, msg, sizeof(msg));
    if (r)
        printf("#   CreateSandbox: %s\n", msg);
    ASSERT_EQ(r, 0);

    /* Hotplug the disk: the driver says where the guest finds it. */
    struct hv_device dev = {.kind = HV_DEVICE_BLOCK, .id = "vol0", .path = img};
    struct err e = ERR_INIT;
    r = hv_vm_hotplug_add(v.hv, &dev, &e);
    if (r < 0)
        printf("#   hotplug: %s\n", e.msg);
    ASSERT_OK(r);
    printf("#   disk hotplugged at PCI path %s\n", dev.guest_pci_path);
    ASSERT_TRUE(dev.guest_pci_path[0] != '\0');

    /* blk storage as a volume, and a blk device the container opens. */
    const char *mp = "/run/kata-containers/sandbox/storage/vol0";
    const char *args[] = {"sh", "-c",
                          "cat /vol/hello.txt; stat -c %t:%T /dev/xda; "
                          "dd if=/dev/xda bs=1024 skip=1 count=1 2>/dev/null | od -An -tx1 -j56 -N2",
                          NULL};
    Grpc__Storage blk, *sts[] = {&blk};
    Grpc__Device gdev, *devs[] = {&gdev};
    Grpc__LinuxDevice ld = GRPC__LINUX_DEVICE__INIT;
    Grpc__LinuxDeviceCgroup rule = GRPC__LINUX_DEVICE_CGROUP__INIT;
    storage(&blk, "blk", dev.guest_pci_path, "ext4", mp, NULL, 0);
    grpc__device__init(&gdev);
    gdev.type = (char *)"blk";
    gdev.id = dev.guest_pci_path;
    gdev.container_path = (char *)"/dev/xda";
    ld.path = (char *)"/dev/xda";
    ld.type = (char *)"b";
    ld.major = 8; /* the host's numbers, not the guest's */
    ld.minor = 99;
    ld.filemode = 0660;
    rule.allow = true;
    rule.type = (char *)"b";
    rule.major = 8;
    rule.minor = 99;
    rule.access = (char *)"rwm";
    struct ctr c1 = {.id = "c1", .args = args, .storages = sts, .n_storages = 1,
                     .devices = devs, .n_devices = 1, .volume = mp, .spec_dev = &ld,
                     .rule = &rule};
    r = create(&v, &c1, msg, sizeof(msg));
    if (r) {
        printf("#   CreateContainer: %s\n", msg);
        vma_console_show(&v, "level=(warn|error)|storage|PCI", 25);
    }
    ASSERT_EQ(r, 0);
    ASSERT_EQ(run_output(&v, "c1", out, sizeof(out)), 0);
    ASSERT_TRUE(strncmp(out, FILE_TEXT, strlen(FILE_TEXT)) == 0);
    const char *devno = out + strlen(FILE_TEXT);
    ASSERT_TRUE(strncmp(devno, "8:63", 4) != 0); /* rewritten to the guest's */
    ASSERT_TRUE(strstr(devno, "53 ef") != NULL); /* ext4's magic, read through /dev/xda */
    ASSERT_EQ(simple(&v, "RemoveContainer", "c1"), 0);

    /* Unmounted with its last user: the mount point takes another driver. */
    Grpc__Storage eph, *one[] = {&eph};
    storage(&eph, "ephemeral", "tmpfs", "tmpfs", mp, NULL, 0);
    const char *ls[] = {"ls", "/vol", NULL};
    struct ctr c2 = {.id = "c2", .args = ls, .storages = one, .n_storages = 1, .volume = mp};
    r = create(&v, &c2, msg, sizeof(msg));
    if (r)
        printf("#   CreateContainer c2: %s\n", msg);
    ASSERT_EQ(r, 0);
    ASSERT_EQ(run_output(&v, "c2", out, sizeof(out)), 0);
    ASSERT_TRUE(strstr(out, "hello.txt") == NULL);
    ASSERT_EQ(simple(&v, "RemoveContainer", "c2"), 0);

    /* A disk that never comes: DEADLINE_EXCEEDED naming the path; the
     * ephemeral storage listed before it is not left mounted. */
    const char *mp2 = "/run/kata-containers/sandbox/storage/vol1";
    Grpc__Storage blk2, *two[] = {&eph, &blk2};
    storage(&eph, "ephemeral", "tmpfs", "tmpfs", mp, NULL, 0);
    storage(&blk2, "blk", "1e/00", "ext4", mp2, NULL, 0);
    struct ctr c3 = {.id = "c3", .args = ls, .storages = two, .n_storages = 2};
    r = create(&v, &c3, msg, sizeof(msg));
    printf("#   missing disk: %s: %s\n", ttrpc_code_name(r), msg);
    ASSERT_EQ(r, TTRPC_DEADLINE_EXCEEDED);
    ASSERT_TRUE(strstr(msg, "PCI path 1e/00") != NULL);
    /* Nothing of c3 is held: the mount point takes another driver. */
    Grpc__Storage loc, *lone[] = {&loc};
    storage(&loc, "local", "local", "local", mp, NULL, 0);
    struct ctr c4 = {.id = "c4", .args = ls, .storages = lone, .n_storages = 1};
    r = create(&v, &c4, msg, sizeof(msg));
    if (r)
        printf("#   CreateContainer c4: %s\n", msg);
    ASSERT_EQ(r, 0);
    ASSERT_EQ(simple(&v, "RemoveContainer", "c4"), 0);

    /* Malformed PCI path. */
    storage(&blk2, "virtio-blk", "02/zz", "ext4", mp2, NULL, 0);
    struct ctr c5 = {.id = "c5", .args = ls, .storages = &two[1], .n_storages = 1};
    r = create(&v, &c5, msg, sizeof(msg));
    printf("#   bad PCI path: %s: %s\n", ttrpc_code_name(r), msg);
    ASSERT_EQ(r, TTRPC_INVALID_ARGUMENT);
    ASSERT_TRUE(strstr(msg, "storages[0].source") != NULL);

    return destroy_and_unplug(&v, "vol0");
}

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

/* CreateSandbox with a blk storage whose disk is hotplugged only after the
 * call was sent: the agent answers once the disk is there and mounted (it
 * used to fail at once with ENODEV). Before that, a malformed PCI path
 * fails the call naming the field and leaves no sandbox behind. In the same
 * guest, the device cgroup: a container whose rules deny all devices but
 * /dev/null writes to /dev/null and cannot open /dev/zero. */
TEST(sandbox_blk_storage_hotplugged_late_and_device_rules)
{
    char msg[512], out[1024];
    struct vma_guest guest;
    int r = disk_prerequisites(&guest);
    if (r)
        return r;
    char img[PATH_MAX], probe_img[PATH_MAX];
    snprintf(img, sizeof(img), "%s/late.img", test_tmpdir());
    snprintf(probe_img, sizeof(probe_img), "%s/probe.img", test_tmpdir());
    ASSERT_OK(make_disk(img));
    ASSERT_OK(make_disk(probe_img));

    _cleanup_(vma_done) struct vma_vm v = {0};
    /* TCG is slow to hotplug: give the agent's wait room (default 3 s). */
    if ((r = boot(&v, "sbblk", &guest, HV_SHARED_FS_VIRTIO_FS, "agent.hotplug_timeout=120")))
        return r;
    if ((r = make_bundle(&v)))
        return r;
    /* The PCI path the next disk gets: plug one and take it out again. */
    struct hv_device probe = {.kind = HV_DEVICE_BLOCK, .id = "probe0", .path = probe_img};
    struct err e = ERR_INIT;
    r = hv_vm_hotplug_add(v.hv, &probe, &e);
    if (r < 0)
        printf("#   hotplug: %s\n", e.msg);
    ASSERT_OK(r);
    r = hv_vm_hotplug_remove(v.hv, "probe0", 60 * VMA_SEC, &e);
    if (r < 0)
        printf("#   unplug: %s\n", e.msg);
    ASSERT_OK(r);
    printf("#   the next disk should come at PCI path %s\n", probe.guest_pci_path);

    const char *mp = "/run/kata-containers/sandbox/storage/late";
    Grpc__Storage shared, blk;
    Grpc__Storage *sts[] = {&shared, &blk};
    storage(&shared, "virtio-fs", "kataShared", "virtiofs", VMA_GUEST_SHARED, NULL, 0);
    Grpc__CreateSandboxRequest req = GRPC__CREATE_SANDBOX_REQUEST__INIT;
    req.sandbox_id = (char *)"late-blk";
    req.hostname = (char *)"late-blk";
    req.storages = sts;
    req.n_storages = 2;

    /* All or nothing: a malformed path fails before anything is mounted. */
    storage(&blk, "blk", "02/zz", "ext4", mp, NULL, 0);
    r = vma_call(&v, "CreateSandbox", &req.base, NULL, NULL, msg, sizeof(msg));
    printf("#   bad PCI path: %s: %s\n", ttrpc_code_name(r), msg);
    ASSERT_EQ(r, TTRPC_INVALID_ARGUMENT);
    ASSERT_TRUE(strstr(msg, "storages[1].source") != NULL);

    /* The real one, sent before its disk exists. */
    storage(&blk, "blk", probe.guest_pci_path, "ext4", mp, NULL, 0);
    struct pending p = {0};
    struct ttrpc_call_opts opts = {.timeout_ns = 300 * VMA_SEC};
    ASSERT_OK(ttrpc_client_call(v.client, "grpc.AgentService", "CreateSandbox", &req.base, EMPTY,
                                &opts, on_reply, &p));
    /* Let the request go out; the agent cannot answer it yet. */
    for (int i = 0; i < 10 && !p.done; i++)
        loop_run_once(v.loop, 100);
    if (p.done)
        printf("#   answered before the disk came: %s: %s\n", ttrpc_code_name(p.code), p.msg);
    ASSERT_TRUE(!p.done);
    struct hv_device dev = {.kind = HV_DEVICE_BLOCK, .id = "late0", .path = img};
    r = hv_vm_hotplug_add(v.hv, &dev, &e);
    if (r < 0)
        printf("#   hotplug: %s\n", e.msg);
    ASSERT_OK(r);
    printf("#   disk hotplugged at PCI path %s\n", dev.guest_pci_path);
    ASSERT_STREQ(dev.guest_pci_path, probe.guest_pci_path);
    while (!p.done && !ttrpc_client_is_closed(v.client))
        loop_run_once(v.loop, 1000);
    if (p.code)
        printf("#   CreateSandbox: %s: %s\n", ttrpc_code_name(p.code), p.msg);
    ASSERT_TRUE(p.done);
    ASSERT_EQ(p.code, TTRPC_OK);

    /* The sandbox's disk is mounted: a container reads the file on it. */
    const char *cat[] = {"cat", "/vol/hello.txt", NULL};
    struct ctr c1 = {.id = "l1", .args = cat, .volume = mp};
    r = create(&v, &c1, msg, sizeof(msg));
    if (r)
        printf("#   CreateContainer: %s\n", msg);
    ASSERT_EQ(r, 0);
    ASSERT_EQ(run_output(&v, "l1", out, sizeof(out)), 0);
    ASSERT_STREQ(out, FILE_TEXT);
    ASSERT_EQ(simple(&v, "RemoveContainer", "l1"), 0);

    /* Device rules in the guest's cgroups (v1 or v2, as the guest chose). */
    Grpc__LinuxDeviceCgroup deny = GRPC__LINUX_DEVICE_CGROUP__INIT, null = deny;
    deny.access = (char *)"rwm";
    null.allow = true;
    null.type = (char *)"c";
    null.major = 1;
    null.minor = 3;
    null.access = (char *)"rwm";
    Grpc__LinuxDeviceCgroup *rules[] = {&deny, &null};
    const char *probe_devs[] = {
        "sh", "-c",
        "echo hi >/dev/null && echo null-ok; "
        "if head -c 1 /dev/zero >/dev/null 2>&1; then echo zero-open; else echo zero-denied; fi",
        NULL};
    struct ctr c2 = {.id = "d1", .args = probe_devs, .rules = rules, .n_rules = 2};
    r = create(&v, &c2, msg, sizeof(msg));
    if (r)
        printf("#   CreateContainer: %s\n", msg);
    ASSERT_EQ(r, 0);
    ASSERT_EQ(run_output(&v, "d1", out, sizeof(out)), 0);
    vma_console_show(&v, "cgroup v[12]", 25);
    ASSERT_STREQ(out, "null-ok\nzero-denied\n");
    ASSERT_EQ(simple(&v, "RemoveContainer", "d1"), 0);

    return destroy_and_unplug(&v, "late0");
}

/* The rootfs through virtio-9p: needs a guest kernel with 9p, i.e. the
 * generic flavour (make guest-generic writes $(O)/guest-generic/). */
TEST(rootfs_through_virtio_9p)
{
    char msg[512], out[512], fs[PATH_MAX + 16];
    struct vma_guest guest;
    int r = prerequisites(&guest, "guest-generic", false);
    if (r)
        return r;
    snprintf(fs, sizeof(fs), "%s.filesystems", guest.kernel);
    FILE *f = fopen(fs, "re");
    bool has_9p = false;
    char line[64];
    while (f && fgets(line, sizeof(line), f))
        has_9p |= strcmp(line, "9p\n") == 0;
    if (f)
        fclose(f);
    if (!has_9p)
        return test_skip("%s does not list 9p", fs);
    _cleanup_(vma_done) struct vma_vm v = {0};
    if ((r = boot(&v, "ninep", &guest, HV_SHARED_FS_VIRTIO_9P, NULL)))
        return r;
    if ((r = make_bundle(&v)))
        return r;
    char *opts[] = {(char *)"trans=virtio", (char *)"version=9p2000.L", (char *)"cache=mmap",
                    (char *)"nodev", (char *)"msize=8192"};
    Grpc__Storage shared;
    storage(&shared, "9p", "kataShared", "9p", VMA_GUEST_SHARED, opts, 5);
    r = create_sandbox(&v, &shared, msg, sizeof(msg));
    if (r) {
        printf("#   CreateSandbox: %s\n", msg);
        vma_console_show(&v, "level=(warn|error)|9p", 25);
    }
    ASSERT_EQ(r, 0);
    /* The file-system type of the container's / as its mount table says. */
    const char *args[] = {"sh", "-c",
                          "while read dev mp fs rest; do [ \"$mp\" = / ] && echo \"$fs\"; done "
                          "</proc/self/mounts; cat /bin/busybox >/dev/null && echo read-ok",
                          NULL};
    struct ctr c = {.id = "p1", .args = args};
    r = create(&v, &c, msg, sizeof(msg));
    if (r)
        printf("#   CreateContainer: %s\n", msg);
    ASSERT_EQ(r, 0);
    ASSERT_EQ(run_output(&v, "p1", out, sizeof(out)), 0);
    ASSERT_STREQ(out, "9p\nread-ok\n");
    ASSERT_EQ(simple(&v, "RemoveContainer", "p1"), 0);
    return 0;
}

/* The host's connection to the agent goes away and comes back (a shim
 * restart): over the virtio-serial channel the new session starts with the
 * sync record, and the container started in the first session is still
 * there, running, and under the new session's control. */
TEST(container_keeps_running_across_a_host_reconnect)
{
    char msg[512];
    struct vma_guest guest;
    int r = prerequisites(&guest, "guest", true);
    if (r)
        return r;
    _cleanup_(vma_done) struct vma_vm v = {0};
    if ((r = boot(&v, "reconnect", &guest, HV_SHARED_FS_VIRTIO_FS, NULL)))
        return r;
    if ((r = make_bundle(&v)))
        return r;
    Grpc__Storage shared;
    storage(&shared, "virtio-fs", "kataShared", "virtiofs", VMA_GUEST_SHARED, NULL, 0);
    ASSERT_EQ(create_sandbox(&v, &shared, msg, sizeof(msg)), 0);
    static const char *const sleeper[] = {"sleep", "1000", NULL};
    struct ctr c = {.id = "long", .args = sleeper};
    ASSERT_EQ(create(&v, &c, msg, sizeof(msg)), 0);
    ASSERT_EQ(simple(&v, "StartContainer", "long"), 0);

    /* The host goes; the guest notices only after reading what it had
     * (agent/channel.h), so the TCG guest gets a moment before the return. */
    v.client = ttrpc_client_free(v.client);
    loop_run_once(v.loop, 0);
    const struct timespec gap = {2, 0};
    nanosleep(&gap, NULL);
    ASSERT_EQ(vma_dial(&v), 0);

    /* The new session sees the container of the old one and can end it. */
    Grpc__SignalProcessRequest sig = GRPC__SIGNAL_PROCESS_REQUEST__INIT;
    sig.container_id = (char *)"long";
    sig.exec_id = (char *)"long";
    sig.signal = 9;
    r = vma_call(&v, "SignalProcess", &sig.base, NULL, NULL, msg, sizeof(msg));
    if (r)
        printf("#   SignalProcess after the reconnect: %s\n", msg);
    ASSERT_EQ(r, 0);
    Grpc__WaitProcessRequest w = GRPC__WAIT_PROCESS_REQUEST__INIT;
    w.container_id = (char *)"long";
    w.exec_id = (char *)"long";
    ProtobufCMessage *resp = NULL;
    ASSERT_EQ(vma_call(&v, "WaitProcess", &w.base, &grpc__wait_process_response__descriptor,
                       &resp, msg, sizeof(msg)),
              0);
    int status = ((Grpc__WaitProcessResponse *)resp)->status;
    protobuf_c_message_free_unpacked(resp, NULL);
    printf("#   the first session's container, killed from the second: status %d\n", status);
    ASSERT_EQ(status, 137);
    ASSERT_EQ(simple(&v, "RemoveContainer", "long"), 0);
    return 0;
}
