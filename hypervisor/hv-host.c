/* What the host gives a VM: the accelerator and agent channel choices
 * (delegated to config/hostcheck.h, which `kata-runtime check` reports
 * from) and the vhost-vsock guest CID. See hv-internal.h. */
#include <errno.h>
#include <fcntl.h>
#include <linux/vhost.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <unistd.h>

#include "config/hostcheck.h"
#include "hypervisor/hv-internal.h"
#include "lib/compiler.h"
#include "lib/err.h"
#include "lib/log.h"

static enum cfg_hv_kind cfg_kind(enum hv_kind kind)
{
    switch (kind) {
    case HV_KIND_QEMU:
        return CFG_HV_QEMU;
    case HV_KIND_CLH:
        return CFG_HV_CLH;
    case HV_KIND_MOCK:
        break;
    }
    return CFG_HV_MOCK;
}

int hv_host_choose_accel(const struct hv_config *cfg, enum hv_accel *ret_accel, struct err *e)
{
    enum cfg_accel want = cfg->accel == HV_ACCEL_KVM   ? CFG_ACCEL_KVM
                          : cfg->accel == HV_ACCEL_TCG ? CFG_ACCEL_TCG
                                                       : CFG_ACCEL_AUTO;
    struct hostcheck_kvm kvm = {.state = HOSTCHECK_KVM_FAILED};
    if (want != CFG_ACCEL_TCG && cfg->kind != HV_KIND_MOCK)
        hv_host_kvm(HV_KVM_CACHE_PATH, &kvm);
    enum cfg_accel got = CFG_ACCEL_TCG;
    char why[HOSTCHECK_DETAIL];
    int r = hostcheck_choose_accel(cfg_kind(cfg->kind), want, &kvm, &got, why, sizeof(why));
    if (r < 0)
        return err_set(e, r, "accel: %s", why);
    if (want == CFG_ACCEL_AUTO && got == CFG_ACCEL_TCG)
        log_warn("accel auto: %s", why);
    *ret_accel = got == CFG_ACCEL_KVM ? HV_ACCEL_KVM : HV_ACCEL_TCG;
    return 0;
}

int hv_host_choose_transport(const struct hv_config *cfg, enum hv_transport *ret_transport,
                             struct err *e)
{
    enum cfg_transport want;
    switch (cfg->transport) {
    case HV_TRANSPORT_AUTO:
        want = CFG_TRANSPORT_AUTO;
        break;
    case HV_TRANSPORT_VSOCK:
        want = CFG_TRANSPORT_VSOCK;
        break;
    case HV_TRANSPORT_VIRTIO_SERIAL:
        want = CFG_TRANSPORT_VIRTIO_SERIAL;
        break;
    case HV_TRANSPORT_HYBRID_VSOCK:
    default:
        if (cfg->kind != HV_KIND_CLH)
            return err_set(e, -EINVAL, "transport: hybrid vsock is for Cloud Hypervisor only");
        want = CFG_TRANSPORT_AUTO;
        break;
    }
    char detail[HOSTCHECK_DETAIL], why[HOSTCHECK_DETAIL];
    bool vhost_vsock = want != CFG_TRANSPORT_VIRTIO_SERIAL && cfg->kind == HV_KIND_QEMU &&
                       hostcheck_vhost_vsock(detail, sizeof(detail));
    enum hostcheck_channel ch = HOSTCHECK_CHANNEL_VIRTIO_SERIAL;
    int r = hostcheck_choose_channel(cfg_kind(cfg->kind), want, vhost_vsock, &ch, why, sizeof(why));
    if (r < 0)
        return err_set(e, r, "transport: %s", why);
    if (want == CFG_TRANSPORT_AUTO && ch == HOSTCHECK_CHANNEL_VIRTIO_SERIAL)
        log_info("transport auto: %s (port %s)", why, HV_AGENT_SERIAL_NAME);
    switch (ch) {
    case HOSTCHECK_CHANNEL_VSOCK:
        *ret_transport = HV_TRANSPORT_VSOCK;
        return 0;
    case HOSTCHECK_CHANNEL_HYBRID_VSOCK:
        *ret_transport = HV_TRANSPORT_HYBRID_VSOCK;
        return 0;
    case HOSTCHECK_CHANNEL_VIRTIO_SERIAL:
        *ret_transport = HV_TRANSPORT_VIRTIO_SERIAL;
        return 0;
    case HOSTCHECK_CHANNEL_UNIX:
        break;
    }
    *ret_transport = HV_TRANSPORT_AUTO; /* the mock's unix socket: no VM channel */
    return 0;
}

int hv_host_claim_vsock_cid(int *ret_fd, uint32_t *ret_cid, struct err *e)
{
    _cleanup_close_ int fd = open(HOSTCHECK_VHOST_VSOCK_DEV, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return err_set(e, -errno, "%s: %s", HOSTCHECK_VHOST_VSOCK_DEV, strerror(errno));
    uint32_t start;
    if (getrandom(&start, sizeof(start), 0) != sizeof(start))
        start = (uint32_t)getpid();
    for (uint32_t i = 0; i < 64; i++) {
        /* Valid guest CIDs: 3 .. 2^32-2 (0-2 are reserved, -1 is "any"). */
        uint64_t cid = 3 + ((uint64_t)start + i) % (UINT32_MAX - 4u);
        if (ioctl(fd, VHOST_VSOCK_SET_GUEST_CID, &cid) == 0) {
            *ret_cid = (uint32_t)cid;
            *ret_fd = TAKE_FD(fd);
            return 0;
        }
        if (errno != EADDRINUSE)
            return err_set(e, -errno, "VHOST_VSOCK_SET_GUEST_CID: %s", strerror(errno));
    }
    return err_set(e, -EADDRINUSE, "vhost-vsock: no free guest CID after 64 tries");
}
