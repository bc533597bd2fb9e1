/* Hotplugged block devices by PCI path; see agent/devices.h. */
#include "agent/devices.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent/agent.h"
#include "agent/uevent.h"
#include "lib/compiler.h"
#include "lib/err.h"
#include "lib/hex.h"
#include "lib/log.h"
#include "lib/workpool.h"
#include "lib/xalloc.h"

#define PCI_ROOT_BUS "/devices/pci0000:00"
#define SLOT_MAX 0x1f
#define FN_MAX 7

int devices_pci_path_parse(const char *s, struct devices_pci_path *ret, struct err *e)
{
    struct devices_pci_path p = {0};
    const char *q = s;

    if (!s || !*s)
        return err_set(e, -EINVAL, "PCI path \"\": empty");
    if (strlen(s) > DEVICES_PCI_MAX_DEPTH * 5)
        return err_set(e, -EINVAL, "PCI path \"%.40s...\": too long", s);
    for (;;) {
        unsigned slot = 0, fn = 0, digits = 0;
        int v;
        while ((v = hex_digit(*q)) >= 0 && digits < 3) {
            slot = slot * 16 + (unsigned)v;
            q++, digits++;
        }
        if (digits == 0 || digits > 2 || slot > SLOT_MAX)
            return err_set(e, -EINVAL,
                           "PCI path \"%s\": piece %u is not a slot 00-1f (format SS[.F]/SS[.F]...)",
                           s, p.n + 1);
        if (*q == '.') {
            q++;
            if ((v = hex_digit(*q)) < 0 || v > FN_MAX)
                return err_set(e, -EINVAL, "PCI path \"%s\": piece %u has a bad function (0-7)", s,
                               p.n + 1);
            fn = (unsigned)v;
            q++;
        }
        if (p.n == DEVICES_PCI_MAX_DEPTH)
            return err_set(e, -EINVAL, "PCI path \"%s\": deeper than %d", s,
                           DEVICES_PCI_MAX_DEPTH);
        p.slot[p.n] = (uint8_t)slot;
        p.fn[p.n] = (uint8_t)fn;
        p.n++;
        if (*q == '\0')
            break;
        if (*q != '/')
            return err_set(e, -EINVAL, "PCI path \"%s\": unexpected '%c' after piece %u", s, *q,
                           p.n);
        q++;
    }
    *ret = p;
    return 0;
}

/* "DDDD:BB:SS.F" (12 characters) naming slot.fn on any bus. */
static bool bdf_match(const char *s, size_t len, uint8_t slot, uint8_t fn)
{
    static const char shape[] = "xxxx:xx:xx.x";
    if (len != sizeof(shape) - 1)
        return false;
    for (size_t i = 0; i < len; i++)
        if (shape[i] == 'x' ? hex_digit(s[i]) < 0 : s[i] != shape[i])
            return false;
    return hex_digit(s[8]) * 16 + hex_digit(s[9]) == slot && hex_digit(s[11]) == fn;
}

int devices_pci_sysfs_path(const char *sysfs_root, const struct devices_pci_path *p, char *buf,
                           size_t size)
{
    size_t len = (size_t)snprintf(buf, size, "%s" PCI_ROOT_BUS, sysfs_root);
    if (len >= size)
        return -ENAMETOOLONG;
    for (unsigned i = 0; i < p->n; i++) {
        _cleanup_closedir_ DIR *d = opendir(buf);
        struct dirent *de;
        bool found = false;
        if (!d)
            return -ENOENT;
        while (!found && (de = readdir(d)))
            if (bdf_match(de->d_name, strlen(de->d_name), p->slot[i], p->fn[i])) {
                int n = snprintf(buf + len, size - len, "/%s", de->d_name);
                if (n < 0 || (size_t)n >= size - len)
                    return -ENAMETOOLONG;
                len += (size_t)n;
                found = true;
            }
        if (!found)
            return -ENOENT;
    }
    return 0;
}

/* Skips "/virtio<N>" at *s; false when it is not there. */
static bool skip_virtio(const char **s)
{
    const char *q = *s;
    if (strncmp(q, "/virtio", 7) != 0)
        return false;
    q += 7;
    if (*q < '0' || *q > '9')
        return false;
    while (*q >= '0' && *q <= '9')
        q++;
    *s = q;
    return true;
}

bool devices_blk_devpath_match(const struct devices_pci_path *p, const char *devpath,
                               const char **ret_name)
{
    const char *q = devpath;
    if (!q || strncmp(q, PCI_ROOT_BUS, strlen(PCI_ROOT_BUS)) != 0)
        return false;
    q += strlen(PCI_ROOT_BUS);
    for (unsigned i = 0; i < p->n; i++) {
        if (*q != '/')
            return false;
        q++;
        const char *slash = strchr(q, '/');
        size_t len = slash ? (size_t)(slash - q) : strlen(q);
        if (!bdf_match(q, len, p->slot[i], p->fn[i]))
            return false;
        q += len;
    }
    if (!skip_virtio(&q) || strncmp(q, "/block/", 7) != 0)
        return false;
    q += 7;
    if (!*q || strchr(q, '/')) /* a partition is one level deeper */
        return false;
    if (ret_name)
        *ret_name = q;
    return true;
}

bool devices_blk_uevent_match(const struct devices_pci_path *p, const struct uevent *u)
{
    const char *name;
    return strcmp(u->action, "add") == 0 && strcmp(u->subsystem, "block") == 0 &&
           u->devname[0] && devices_blk_devpath_match(p, u->devpath, &name) &&
           strcmp(name, u->devname) == 0;
}

int devices_blk_find(const char *sysfs_root, const struct devices_pci_path *p, char *name,
                     size_t size)
{
    char path[PATH_MAX];
    int r = devices_pci_sysfs_path(sysfs_root, p, path, sizeof(path));
    if (r < 0)
        return r;
    _cleanup_closedir_ DIR *d = opendir(path);
    struct dirent *de;
    if (!d)
        return -ENOENT;
    size_t len = strlen(path);
    while ((de = readdir(d))) {
        char piece[300]; /* skip_virtio wants the slash */
        snprintf(piece, sizeof(piece), "/%s", de->d_name);
        const char *q = piece;
        if (!skip_virtio(&q) || *q)
            continue;
        char blk[PATH_MAX];
        if (snprintf(blk, sizeof(blk), "%.*s%s/block", (int)len, path, piece) >= (int)sizeof(blk))
            return -ENAMETOOLONG;
        _cleanup_closedir_ DIR *b = opendir(blk);
        struct dirent *be;
        while (b && (be = readdir(b))) {
            if (be->d_name[0] == '.')
                continue;
            if (strlen(be->d_name) >= size)
                return -ENAMETOOLONG;
            /* sysfs shows the disk before devtmpfs has its node: the
             * uevent comes after both, so wait for that instead. */
            char node[PATH_MAX];
            snprintf(node, sizeof(node), "/dev/%s", be->d_name);
            if (strcmp(sysfs_root, "/sys") == 0 && access(node, F_OK) < 0)
                return -ENOENT;
            snprintf(name, size, "%s", be->d_name);
            return 0;
        }
    }
    return -ENOENT;
}

int devices_blk_devno(const char *sysfs_root, const char *name, unsigned *ret_major,
                      unsigned *ret_minor)
{
    char path[PATH_MAX], buf[32] = "";
    unsigned ma, mi;
    char nl;
    if (strchr(name, '/') || snprintf(path, sizeof(path), "%s/class/block/%s/dev", sysfs_root,
                                      name) >= (int)sizeof(path))
        return -EINVAL;
    FILE *f = fopen(path, "re");
    if (!f)
        return -errno;
    bool ok = fgets(buf, sizeof(buf), f) != NULL;
    fclose(f);
    if (!ok || sscanf(buf, "%u:%u%c", &ma, &mi, &nl) != 3 || nl != '\n')
        return -EIO;
    *ret_major = ma;
    *ret_minor = mi;
    return 0;
}

/* ---- waiting, on the worker pool ---- */

struct wait_job {
    struct devices_blk *v;
    struct devices_pci_path *paths;
    size_t n;
    uint32_t timeout_ms;
    devices_done_fn done;
    void *userdata;
    int r;
    struct err e;
};

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static size_t scan(struct wait_job *j)
{
    size_t missing = 0;
    for (size_t i = 0; i < j->n; i++)
        if (!j->v[i].name[0] &&
            devices_blk_find("/sys", &j->paths[i], j->v[i].name, sizeof(j->v[i].name)) < 0)
            missing++;
    return missing;
}

static size_t take(struct wait_job *j, const struct uevent *u)
{
    size_t missing = 0;
    for (size_t i = 0; i < j->n; i++) {
        if (!j->v[i].name[0] && devices_blk_uevent_match(&j->paths[i], u))
            snprintf(j->v[i].name, sizeof(j->v[i].name), "%s", u->devname);
        missing += !j->v[i].name[0];
    }
    return missing;
}

static int wait_all(struct wait_job *j)
{
    /* Subscribe first, then look: nothing can slip between the two. */
    _cleanup_close_ int fd = uevent_open();
    if (fd < 0)
        return err_set(&j->e, fd, "cannot listen for kernel uevents: %s", strerror(-fd));
    uint64_t deadline = now_ms() + j->timeout_ms;
    size_t missing = scan(j);
    while (missing) {
        uint64_t now = now_ms();
        if (now >= deadline) {
            size_t i = 0;
            while (i + 1 < j->n && j->v[i].name[0])
                i++;
            return err_set(&j->e, -ETIMEDOUT,
                           "block device at PCI path %s did not appear within %u ms",
                           j->v[i].pci_path, j->timeout_ms);
        }
        uint64_t left = deadline - now;
        struct pollfd pfd = {fd, POLLIN, 0};
        if (poll(&pfd, 1, left > INT_MAX ? INT_MAX : (int)left) < 0 && errno != EINTR)
            return err_set(&j->e, -errno, "waiting for uevents: %s", strerror(errno));
        for (;;) {
            struct uevent u;
            int r = uevent_recv(fd, &u);
            if (r == -EAGAIN)
                break;
            if (r == -ENOBUFS) { /* events were dropped: look again */
                missing = scan(j);
                continue;
            }
            if (r == -EINVAL)
                continue;
            if (r < 0)
                return err_set(&j->e, r, "reading uevents: %s", strerror(-r));
            missing = take(j, &u);
        }
    }
    for (size_t i = 0; i < j->n; i++) {
        struct devices_blk *b = &j->v[i];
        int r = devices_blk_devno("/sys", b->name, &b->major, &b->minor);
        if (r < 0)
            return err_set(&j->e, r, "block device %s (PCI path %s): no major:minor: %s", b->name,
                           b->pci_path, strerror(-r));
        snprintf(b->dev_path, sizeof(b->dev_path), "/dev/%s", b->name);
    }
    return 0;
}

static void wait_work(void *userdata)
{
    struct wait_job *j = userdata;
    j->r = wait_all(j);
}

static void wait_done(void *userdata)
{
    struct wait_job *j = userdata;
    for (size_t i = 0; j->r >= 0 && i < j->n; i++)
        log_info("PCI path %s is %s (%u:%u)", j->v[i].pci_path, j->v[i].dev_path, j->v[i].major,
                 j->v[i].minor);
    j->done(j->userdata, j->r, &j->e);
    free(j->paths);
    free(j);
}

int devices_wait_blk(struct agent *a, struct devices_blk *v, size_t n, devices_done_fn done,
                     void *userdata, struct err *e)
{
    struct wait_job *j = xnew(struct wait_job, 1);
    j->paths = xnew(struct devices_pci_path, n ? n : 1);
    for (size_t i = 0; i < n; i++) {
        int r = devices_pci_path_parse(v[i].pci_path, &j->paths[i], e);
        if (r < 0) {
            free(j->paths);
            free(j);
            return r;
        }
        v[i].name[0] = v[i].dev_path[0] = '\0';
    }
    j->v = v;
    j->n = n;
    j->timeout_ms = a->hotplug_timeout_ms ? a->hotplug_timeout_ms
                                          : AGENT_DEFAULT_HOTPLUG_TIMEOUT_MS;
    j->done = done;
    j->userdata = userdata;
    int r = workpool_submit(a->pool, wait_work, wait_done, j);
    if (r < 0) {
        free(j->paths);
        free(j);
        return err_set(e, r, "cannot wait for block devices: %s",
                       r == -ENOBUFS ? "too much work queued" : strerror(-r));
    }
    return 0;
}
