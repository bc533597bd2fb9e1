/* Host facts shared by `check` and `env`, and the choices the runtime will
 * make from them for a given configuration. */
#include <string.h>

#include "shim/kata-runtime/kata-runtime.h"

/* NAME="Debian GNU/Linux" -> Debian GNU/Linux */
static void os_release_value(const char *line, const char *key, char *out, size_t len)
{
    size_t n = strlen(key);
    if (strncmp(line, key, n) != 0 || line[n] != '=')
        return;
    const char *v = line + n + 1;
    size_t vlen = strcspn(v, "\n");
    if (vlen >= 2 && (v[0] == '"' || v[0] == '\'') && v[vlen - 1] == v[0]) {
        v++;
        vlen -= 2;
    }
    snprintf(out, len, "%.*s", (int)vlen, v);
}

static void read_distro(struct host_facts *h)
{
    _cleanup_fclose_ FILE *f = fopen("/etc/os-release", "re");
    if (!f)
        f = fopen("/usr/lib/os-release", "re");
    if (!f)
        return;
    char line[256];
    while (fgets(line, sizeof(line), f)) {
        os_release_value(line, "NAME", h->distro_name, sizeof(h->distro_name));
        os_release_value(line, "VERSION_ID", h->distro_version, sizeof(h->distro_version));
    }
}

static long long read_mem_total(void)
{
    _cleanup_fclose_ FILE *f = fopen("/proc/meminfo", "re");
    char line[128];
    long long kib = 0;
    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, "MemTotal: %lld kB", &kib) == 1)
            break;
    return kib;
}

void host_facts_collect(const struct cfg *c, struct host_facts *h)
{
    memset(h, 0, sizeof(*h));
    if (uname(&h->uts) < 0)
        memset(&h->uts, 0, sizeof(h->uts));
    read_distro(h);
    h->mem_total_kib = read_mem_total();
    h->cpu_known = hostcheck_cpu(NULL, &h->cpu) == 0;
    hostcheck_kvm(&h->kvm);
    h->vhost_vsock = hostcheck_vhost_vsock(h->vhost_vsock_detail, sizeof(h->vhost_vsock_detail));
    h->vhost_net =
        hostcheck_device("/dev/vhost-net", h->vhost_net_detail, sizeof(h->vhost_net_detail)) == 0;
    h->accel_r = hostcheck_pick_accel(&c->hv, &h->kvm, &h->accel, h->accel_why,
                                      sizeof(h->accel_why));
    h->channel_r = hostcheck_pick_channel(c, h->vhost_vsock, &h->channel, h->channel_why,
                                          sizeof(h->channel_why));
}
