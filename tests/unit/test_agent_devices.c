/* PCI paths, uevent parsing and block-device matching (agent/devices.h,
 * agent/uevent.h): pure functions, plus the sysfs lookups against a fake
 * sysfs tree in a scratch folder, plus one real kernel uevent socket. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/devices.h"
#include "agent/oci_devices.h"
#include "agent/uevent.h"
#include "lib/err.h"
#include "lib/xalloc.h"
#include "tests/harness/harness.h"

static int parse(const char *s, struct devices_pci_path *p, struct err *e)
{
    err_clear(e);
    return devices_pci_path_parse(s, p, e);
}

TEST(pci_path_parse_good)
{
    struct devices_pci_path p;
    struct err e = ERR_INIT;
    ASSERT_EQ(parse("02", &p, &e), 0);
    ASSERT_EQ(p.n, 1);
    ASSERT_EQ(p.slot[0], 2);
    ASSERT_EQ(p.fn[0], 0);
    ASSERT_EQ(parse("1f/00", &p, &e), 0);
    ASSERT_EQ(p.n, 2);
    ASSERT_EQ(p.slot[0], 0x1f);
    ASSERT_EQ(p.slot[1], 0);
    ASSERT_EQ(parse("02.3/1/0A.7", &p, &e), 0);
    ASSERT_EQ(p.n, 3);
    ASSERT_EQ(p.fn[0], 3);
    ASSERT_EQ(p.slot[1], 1);
    ASSERT_EQ(p.slot[2], 0x0a);
    ASSERT_EQ(p.fn[2], 7);
    ASSERT_EQ(parse("01/02/03/04/05/06/07/08", &p, &e), 0);
    ASSERT_EQ(p.n, 8);
    return 0;
}

TEST(pci_path_parse_bad)
{
    static const char *const bad[] = {
        "",     "/",     "02/",   "/02",   "20",  "002", "0g",    "02.8", "02.",
        "02..1", "02//03", "02:03", " 02",  "02 ", "0x02", "01/02/03/04/05/06/07/08/09",
        "-1",   "ff",
    };
    struct devices_pci_path p;
    struct err e = ERR_INIT;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (parse(bad[i], &p, &e) != -EINVAL) {
            printf("# accepted \"%s\"\n", bad[i]);
            return 1;
        }
        /* The message names the path the caller sent. */
        ASSERT_TRUE(strstr(e.msg, "PCI path") != NULL);
    }
    ASSERT_EQ(parse("20/00", &p, &e), -EINVAL);
    ASSERT_TRUE(strstr(e.msg, "\"20/00\"") != NULL);
    return 0;
}

#define DEVPATH "/devices/pci0000:00/0000:00:02.0/0000:01:00.0/virtio3/block/vda"

static size_t datagram(char *buf, size_t size, const char *const *parts)
{
    size_t n = 0;
    for (; *parts; parts++) {
        size_t l = strlen(*parts) + 1;
        if (n + l > size)
            break;
        memcpy(buf + n, *parts, l);
        n += l;
    }
    return n;
}

TEST(uevent_parse_fields)
{
    const char *parts[] = {"add@" DEVPATH, "ACTION=add", "DEVPATH=" DEVPATH,
                           "SUBSYSTEM=block", "MAJOR=254", "MINOR=0", "DEVNAME=vda",
                           "DEVTYPE=disk", "SEQNUM=4242", NULL};
    char buf[1024];
    struct uevent u;
    size_t n = datagram(buf, sizeof(buf), parts);
    ASSERT_EQ(uevent_parse(buf, n, &u), 0);
    ASSERT_STREQ(u.action, "add");
    ASSERT_STREQ(u.devpath, DEVPATH);
    ASSERT_STREQ(u.subsystem, "block");
    ASSERT_STREQ(u.devname, "vda");
    ASSERT_STREQ(u.devtype, "disk");
    ASSERT_EQ(u.seqnum, 4242);
    /* Without a trailing NUL, too. */
    ASSERT_EQ(uevent_parse(buf, n - 1, &u), 0);
    ASSERT_EQ(u.seqnum, 4242);
    /* Only the header: action and devpath come from it. */
    ASSERT_EQ(uevent_parse("remove@/devices/x", 17, &u), 0);
    ASSERT_STREQ(u.action, "remove");
    ASSERT_STREQ(u.devpath, "/devices/x");
    return 0;
}

TEST(uevent_parse_rejects)
{
    char big[700], buf[2048];
    struct uevent u;
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    char longpath[720];
    snprintf(longpath, sizeof(longpath), "DEVPATH=/%s", big);
    const char *no_header[] = {"ACTION=add", "DEVPATH=/x", NULL};
    const char *no_eq[] = {"add@/x", "ACTION", NULL};
    const char *too_long[] = {"add@/x", longpath, NULL};
    const char *dotdot[] = {"add@/devices/../../etc", NULL};
    const char *bad_seq[] = {"add@/x", "SEQNUM=12a", NULL};
    const char *huge_seq[] = {"add@/x", "SEQNUM=99999999999999999999", NULL};
    const char *rel[] = {"add@/x", "DEVPATH=devices/x", NULL};
    const char *const *cases[] = {no_header, no_eq, too_long, dotdot, bad_seq, huge_seq, rel};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t n = datagram(buf, sizeof(buf), cases[i]);
        if (uevent_parse(buf, n, &u) != -EINVAL) {
            printf("# case %zu accepted\n", i);
            return 1;
        }
    }
    ASSERT_EQ(uevent_parse("", 0, &u), -EINVAL);
    ASSERT_EQ(uevent_parse("@/x", 3, &u), -EINVAL);
    ASSERT_EQ(uevent_parse("add@", 4, &u), -EINVAL);
    return 0;
}

TEST(blk_devpath_matching)
{
    struct devices_pci_path p;
    const char *name = NULL;
    ASSERT_EQ(devices_pci_path_parse("02/00", &p, NULL), 0);
    ASSERT_TRUE(devices_blk_devpath_match(&p, DEVPATH, &name));
    ASSERT_STREQ(name, "vda");
    /* Partitions, other slots, other depths and non-virtio paths do not. */
    ASSERT_TRUE(!devices_blk_devpath_match(&p, DEVPATH "/vda1", NULL));
    ASSERT_TRUE(!devices_blk_devpath_match(
        &p, "/devices/pci0000:00/0000:00:03.0/0000:01:00.0/virtio3/block/vda", NULL));
    ASSERT_TRUE(!devices_blk_devpath_match(
        &p, "/devices/pci0000:00/0000:00:02.0/0000:01:00.1/virtio3/block/vda", NULL));
    ASSERT_TRUE(!devices_blk_devpath_match(&p, "/devices/pci0000:00/0000:00:02.0/virtio3/block/vda",
                                           NULL));
    ASSERT_TRUE(!devices_blk_devpath_match(
        &p, "/devices/pci0000:00/0000:00:02.0/0000:01:00.0/virtio/block/vda", NULL));
    ASSERT_TRUE(!devices_blk_devpath_match(
        &p, "/devices/pci0000:00/0000:00:02.0/0000:01:00.0/virtio3/net/eth0", NULL));
    ASSERT_TRUE(!devices_blk_devpath_match(
        &p, "/devices/pci0000:00/0000:00:02.0/0000:01:00.0/virtio3/block/", NULL));
    ASSERT_TRUE(!devices_blk_devpath_match(&p, "/devices/pci0000:01/0000:01:02.0/0000:02:00.0/virtio3/block/vda", NULL));
    /* Bus numbers do not matter, the nesting does. */
    ASSERT_TRUE(devices_blk_devpath_match(
        &p, "/devices/pci0000:00/0000:00:02.0/0000:05:00.0/virtio12/block/vdc", &name));
    ASSERT_STREQ(name, "vdc");

    struct uevent u;
    memset(&u, 0, sizeof(u));
    strcpy(u.action, "add");
    strcpy(u.subsystem, "block");
    strcpy(u.devpath, DEVPATH);
    strcpy(u.devname, "vda");
    ASSERT_TRUE(devices_blk_uevent_match(&p, &u));
    strcpy(u.devname, "vdb"); /* DEVNAME must agree with DEVPATH */
    ASSERT_TRUE(!devices_blk_uevent_match(&p, &u));
    strcpy(u.devname, "vda");
    strcpy(u.action, "remove");
    ASSERT_TRUE(!devices_blk_uevent_match(&p, &u));
    strcpy(u.action, "add");
    strcpy(u.subsystem, "bdi");
    ASSERT_TRUE(!devices_blk_uevent_match(&p, &u));
    return 0;
}

static int mkdirs(const char *root, const char *rel)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", root, rel);
    for (char *q = path + strlen(root) + 1; *q; q++)
        if (*q == '/') {
            *q = '\0';
            if (mkdir(path, 0755) < 0 && errno != EEXIST)
                return -errno;
            *q = '/';
        }
    return mkdir(path, 0755) < 0 && errno != EEXIST ? -errno : 0;
}

static int write_file(const char *root, const char *rel, const char *text)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", root, rel);
    FILE *f = fopen(path, "we");
    if (!f)
        return -errno;
    fputs(text, f);
    return fclose(f) == 0 ? 0 : -EIO;
}

TEST(sysfs_lookup_in_fake_tree)
{
    char root[] = "/tmp/test-agent-devices-XXXXXX";
    ASSERT_TRUE(mkdtemp(root) != NULL);
    ASSERT_OK(mkdirs(root, "devices/pci0000:00/0000:00:02.0/pci_bus/0000:01"));
    ASSERT_OK(mkdirs(root, "devices/pci0000:00/0000:00:02.0/0000:01:00.0/virtio3/block/vdb"));
    ASSERT_OK(mkdirs(root, "devices/pci0000:00/0000:00:03.0/virtio1/net/eth0"));
    ASSERT_OK(mkdirs(root, "class/block/vdb"));
    ASSERT_OK(write_file(root, "class/block/vdb/dev", "254:16\n"));

    struct devices_pci_path p;
    char buf[1024], name[64];
    unsigned ma = 0, mi = 0;
    ASSERT_EQ(devices_pci_path_parse("02/00", &p, NULL), 0);
    ASSERT_EQ(devices_pci_sysfs_path(root, &p, buf, sizeof(buf)), 0);
    ASSERT_TRUE(strstr(buf, "/devices/pci0000:00/0000:00:02.0/0000:01:00.0") != NULL);
    ASSERT_EQ(devices_blk_find(root, &p, name, sizeof(name)), 0);
    ASSERT_STREQ(name, "vdb");
    ASSERT_EQ(devices_blk_devno(root, name, &ma, &mi), 0);
    ASSERT_EQ(ma, 254);
    ASSERT_EQ(mi, 16);
    /* A net device, an empty slot and a missing bridge are not disks. */
    ASSERT_EQ(devices_pci_path_parse("03", &p, NULL), 0);
    ASSERT_EQ(devices_blk_find(root, &p, name, sizeof(name)), -ENOENT);
    ASSERT_EQ(devices_pci_path_parse("04", &p, NULL), 0);
    ASSERT_EQ(devices_blk_find(root, &p, name, sizeof(name)), -ENOENT);
    ASSERT_EQ(devices_pci_path_parse("05/00", &p, NULL), 0);
    ASSERT_EQ(devices_pci_sysfs_path(root, &p, buf, sizeof(buf)), -ENOENT);
    ASSERT_EQ(devices_blk_devno(root, "vdz", &ma, &mi), -ENOENT);
    ASSERT_OK(write_file(root, "class/block/vdb/dev", "garbage"));
    ASSERT_EQ(devices_blk_devno(root, "vdb", &ma, &mi), -EIO);

    char cmd[1100];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
    ASSERT_EQ(system(cmd), 0);
    return 0;
}

/* The real socket: opening and binding it works as root in the initial
 * network namespace; nothing is queued right after. */
TEST(uevent_socket_opens)
{
    int fd = uevent_open();
    if (fd == -EPERM || fd == -EACCES || fd == -EPROTONOSUPPORT || fd == -EAFNOSUPPORT)
        return test_skip("no NETLINK_KOBJECT_UEVENT socket here: %s", strerror(-fd));
    ASSERT_OK(fd);
    struct uevent u;
    int r = uevent_recv(fd, &u);
    ASSERT_TRUE(r == -EAGAIN || r == 0);
    close(fd);
    return 0;
}

/* A decoded-looking Spec (heap, as protobuf-c's unpack makes it) with two
 * devices and three rules; freed with protobuf_c_message_free_unpacked(). */
static Grpc__Spec *spec_with_devices(bool with_resources)
{
    Grpc__Spec *s = xnew(Grpc__Spec, 1);
    grpc__spec__init(s);
    s->linux_ = xnew(Grpc__Linux, 1);
    grpc__linux__init(s->linux_);
    static const struct {
        const char *path, *type;
        int64_t major, minor;
    } devs[] = {{"/dev/xda", "b", 8, 16}, {"/dev/null", "c", 1, 3}};
    s->linux_->n_devices = 2;
    s->linux_->devices = xnew(Grpc__LinuxDevice *, 2);
    for (size_t i = 0; i < 2; i++) {
        Grpc__LinuxDevice *d = xnew(Grpc__LinuxDevice, 1);
        grpc__linux_device__init(d);
        d->path = xstrdup(devs[i].path);
        d->type = xstrdup(devs[i].type);
        d->major = devs[i].major;
        d->minor = devs[i].minor;
        s->linux_->devices[i] = d;
    }
    if (!with_resources)
        return s;
    s->linux_->resources = xnew(Grpc__LinuxResources, 1);
    grpc__linux_resources__init(s->linux_->resources);
    static const struct {
        const char *type;
        int64_t major, minor;
    } rules[] = {{"b", 8, 16}, {"c", 8, 16}, {"b", 8, 17}};
    s->linux_->resources->n_devices = 3;
    s->linux_->resources->devices = xnew(Grpc__LinuxDeviceCgroup *, 3);
    for (size_t i = 0; i < 3; i++) {
        Grpc__LinuxDeviceCgroup *r = xnew(Grpc__LinuxDeviceCgroup, 1);
        grpc__linux_device_cgroup__init(r);
        r->allow = true;
        r->type = xstrdup(rules[i].type);
        r->access = xstrdup("rw");
        r->major = rules[i].major;
        r->minor = rules[i].minor;
        s->linux_->resources->devices[i] = r;
    }
    return s;
}

TEST(spec_devices_rewritten_for_the_guest)
{
    struct err e = ERR_INIT;
    Grpc__Spec *s = spec_with_devices(true);
    struct oci_devices_update u = {0, "/dev/xda", 254, 32};
    ASSERT_EQ(oci_devices_rewrite(s, &u, 1, &e), 0);
    Grpc__Linux *lx = s->linux_;
    ASSERT_EQ(lx->devices[0]->major, 254);
    ASSERT_EQ(lx->devices[0]->minor, 32);
    ASSERT_EQ(lx->devices[1]->major, 1); /* untouched */
    Grpc__LinuxDeviceCgroup **r = lx->resources->devices;
    ASSERT_EQ(lx->resources->n_devices, 4);
    ASSERT_EQ(r[0]->major, 254); /* the block rule for 8:16 follows the device */
    ASSERT_EQ(r[0]->minor, 32);
    ASSERT_EQ(r[1]->major, 8); /* a char rule with the same numbers does not */
    ASSERT_EQ(r[2]->minor, 17);
    ASSERT_TRUE(r[3]->allow);
    ASSERT_STREQ(r[3]->type, "b");
    ASSERT_STREQ(r[3]->access, "rwm");
    ASSERT_EQ(r[3]->major, 254);
    ASSERT_EQ(r[3]->minor, 32);
    /* The grown message packs and frees like a decoded one. */
    size_t n = grpc__spec__get_packed_size(s);
    uint8_t *buf = xmalloc(n);
    grpc__spec__pack(s, buf);
    Grpc__Spec *back = grpc__spec__unpack(NULL, n, buf);
    ASSERT_TRUE(back != NULL);
    ASSERT_EQ(back->linux_->resources->n_devices, 4);
    protobuf_c_message_free_unpacked(&back->base, NULL);
    free(buf);
    protobuf_c_message_free_unpacked(&s->base, NULL);

    /* No resources yet: made, with the allow rule. */
    s = spec_with_devices(false);
    ASSERT_EQ(oci_devices_rewrite(s, &u, 1, &e), 0);
    ASSERT_TRUE(s->linux_->resources != NULL);
    ASSERT_EQ(s->linux_->resources->n_devices, 1);
    protobuf_c_message_free_unpacked(&s->base, NULL);
    return 0;
}

TEST(spec_devices_missing_entry)
{
    struct err e = ERR_INIT;
    Grpc__Spec *s = spec_with_devices(true);
    struct oci_devices_update u[] = {{0, "/dev/xda", 254, 0}, {3, "/dev/xdb", 254, 16}};
    ASSERT_EQ(oci_devices_rewrite(s, u, 2, &e), -EINVAL);
    ASSERT_TRUE(strstr(e.msg, "devices[3].container_path") != NULL);
    /* All or nothing: the first device was not touched either. */
    ASSERT_EQ(s->linux_->devices[0]->major, 8);
    ASSERT_EQ(s->linux_->resources->n_devices, 3);
    protobuf_c_message_free_unpacked(&s->base, NULL);
    Grpc__Spec bare = GRPC__SPEC__INIT;
    err_clear(&e);
    ASSERT_EQ(oci_devices_rewrite(&bare, u, 1, &e), -EINVAL);
    ASSERT_EQ(oci_devices_rewrite(&bare, u, 0, &e), 0);
    return 0;
}
