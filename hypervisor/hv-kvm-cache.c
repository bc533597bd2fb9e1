/* The KVM probe's verdict, remembered between VM starts (hv-internal.h).
 *
 * The probe boots a tiny guest and costs about half a second where KVM is
 * slow or broken, which every pod start would pay again. Whether this
 * host's /dev/kvm can run a 64-bit guest does not change while the host
 * is up, so the verdict is kept in a small file on /run, keyed by the
 * kernel's boot id and the device node's numbers. A good verdict holds for
 * the boot; a bad one only for HV_KVM_CACHE_NEGATIVE_S, because a probe
 * on a very busy host can time out and that must not pin TCG for good.
 * `kata-runtime check` never reads this file: it always probes afresh.
 *
 * File format, one line: "v1 <boot_id> <rdev> <written_at_s> <state>
 * <stages|-> <elapsed_ms> <detail...>". Anything unexpected in it means
 * "probe again"; the file is rewritten atomically with rename(). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config/hostcheck.h"
#include "hypervisor/hv-internal.h"
#include "lib/compiler.h"
#include "lib/fd.h"
#include "lib/log.h"

#define HV_KVM_CACHE_NEGATIVE_S 600
#define CACHE_LINE_MAX 512

static bool read_boot_id(char *buf, size_t size)
{
    _cleanup_close_ int fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t n = fd_read_full(fd, buf, size - 1);
    if (n <= 0)
        return false;
    buf[n] = '\0';
    buf[strcspn(buf, "\n")] = '\0';
    /* A boot id is a UUID: anything else would break the line format. */
    return strlen(buf) == 36 && strspn(buf, "0123456789abcdef-") == 36;
}

static uint64_t now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec;
}

static bool cache_read(const char *path, const char *boot_id, uint64_t rdev,
                       struct hostcheck_kvm *ret)
{
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return false;
    char line[CACHE_LINE_MAX];
    ssize_t n = fd_read_full(fd, line, sizeof(line) - 1);
    if (n <= 0)
        return false;
    line[n] = '\0';
    line[strcspn(line, "\n")] = '\0';

    char id[40], stages[sizeof(ret->stages)];
    uint64_t dev = 0, written = 0;
    unsigned state = 0, elapsed = 0;
    int detail_at = 0;
    if (sscanf(line, "v1 %39s %" SCNu64 " %" SCNu64 " %u %15s %u %n", id, &dev, &written,
               &state, stages, &elapsed, &detail_at) != 6 || detail_at == 0)
        return false;
    if (strcmp(id, boot_id) != 0 || dev != rdev || state > HOSTCHECK_KVM_TOO_SLOW)
        return false;
    uint64_t now = now_s();
    if (state != HOSTCHECK_KVM_USABLE && (written > now || now - written > HV_KVM_CACHE_NEGATIVE_S))
        return false;

    memset(ret, 0, sizeof(*ret));
    ret->state = (enum hostcheck_kvm_state)state;
    if (strcmp(stages, "-") != 0)
        snprintf(ret->stages, sizeof(ret->stages), "%s", stages);
    ret->elapsed_ms = elapsed;
    snprintf(ret->detail, sizeof(ret->detail), "%s (remembered from an earlier probe)",
             line + detail_at);
    return true;
}

static void cache_write(const char *path, const char *boot_id, uint64_t rdev,
                        const struct hostcheck_kvm *kvm)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof(tmp), "%s.%d", path, (int)getpid()) >= (int)sizeof(tmp))
        return;
    char detail[HOSTCHECK_DETAIL];
    snprintf(detail, sizeof(detail), "%s", kvm->detail);
    detail[strcspn(detail, "\n")] = '\0';
    char line[CACHE_LINE_MAX];
    int len = snprintf(line, sizeof(line), "v1 %s %" PRIu64 " %" PRIu64 " %u %s %u %s\n",
                       boot_id, rdev, now_s(), (unsigned)kvm->state,
                       kvm->stages[0] ? kvm->stages : "-", kvm->elapsed_ms, detail);
    if (len < 0 || (size_t)len >= sizeof(line))
        return;
    /* The shim's state lives under the same /run folder; make it if this
     * is the first VM since boot. */
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        (void)mkdir(dir, 0711);
    }
    _cleanup_close_ int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0)
        return; /* no /run/kata-containers yet, read-only /run: just probe next time */
    if (fd_write_full(fd, line, (size_t)len) != (ssize_t)len || rename(tmp, path) < 0) {
        unlink(tmp);
        return;
    }
}

void hv_host_kvm(const char *cache_path, struct hostcheck_kvm *ret)
{
    struct stat st;
    char boot_id[64];
    /* Without the device there is nothing slow to remember: the probe
     * fails at open() at once. Without a boot id there is no safe key. */
    if (!cache_path || stat("/dev/kvm", &st) < 0 || !S_ISCHR(st.st_mode) ||
        !read_boot_id(boot_id, sizeof(boot_id))) {
        hostcheck_kvm(ret);
        return;
    }
    uint64_t rdev = (uint64_t)st.st_rdev;
    if (cache_read(cache_path, boot_id, rdev, ret))
        return;
    hostcheck_kvm(ret);
    /* Only verdicts of a guest that actually ran (or hung) are worth
     * keeping; a refused open() may be fixed by the admin any moment. */
    if (ret->state == HOSTCHECK_KVM_USABLE || ret->state == HOSTCHECK_KVM_TOO_SLOW ||
        ret->state == HOSTCHECK_KVM_FAILED)
        cache_write(cache_path, boot_id, rdev, ret);
    else
        log_debug("kvm probe: %s, not remembered", hostcheck_kvm_state_name(ret->state));
}
