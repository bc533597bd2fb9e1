/* A real QEMU guest and its agent, for the e2e tests of vm_agent.h. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "google/protobuf/empty.pb-c.h"
#include "lib/compiler.h"
#include "lib/err.h"
#include "lib/fd.h"
#include "lib/loop.h"
#include "lib/transport.h"
#include "lib/ttrpc/ttrpc.h"
#include "lib/xalloc.h"
#include "tests/harness/harness.h"
#include "tests/support/agent_ctl_run.h"
#include "tests/support/containerd_harness.h"
#include "tests/support/vm_agent.h"

#define CALL_TIMEOUT_NS (120 * VMA_SEC)
#define DIAL_TIMEOUT_NS (20 * VMA_SEC)
#define START_TIMEOUT_NS (60 * VMA_SEC)
#define STOP_TIMEOUT_NS (10 * VMA_SEC)
/* TCG boots the guest in tens of seconds on a loaded host; KVM in one. */
#define SERVE_TIMEOUT_MS 120000

int vma_guest_find(struct vma_guest *g, const char *flavour, bool need_virtiofsd)
{
    char k[PATH_MAX], i[PATH_MAX];

    if (access(VMA_QEMU_BIN, X_OK) < 0)
        return test_skip("%s not installed (apt-get install qemu-system-x86)", VMA_QEMU_BIN);
    if (need_virtiofsd && access(VMA_VIRTIOFSD_BIN, X_OK) < 0)
        return test_skip("%s not installed (apt-get install qemu-system-common)",
                         VMA_VIRTIOFSD_BIN);
    snprintf(k, sizeof(k), "%s/%s/vmlinuz.container", actl_out_dir(), flavour);
    snprintf(i, sizeof(i), "%s/%s/kata-containers-initrd.img", actl_out_dir(), flavour);
    if (!realpath(k, g->kernel) || !realpath(i, g->initrd))
        return test_skip("no guest image in %s/%s (make %s)", actl_out_dir(), flavour, flavour);
    return 0;
}

int vma_launch(struct vma_vm *v, const struct vma_opts *o)
{
    struct err e = ERR_INIT;
    bool fs = o->shared_fs == HV_SHARED_FS_VIRTIO_FS;
    bool ninep = o->shared_fs == HV_SHARED_FS_VIRTIO_9P;

    memset(v, 0, sizeof(*v));
    snprintf(v->dir, sizeof(v->dir), "%s/%s", test_tmpdir(), o->name);
    if (fs || ninep) {
        snprintf(v->share, sizeof(v->share), "%s/share-%s", test_tmpdir(), o->name);
        if (mkdir(v->share, 0755) < 0 && errno != EEXIST) {
            printf("#   mkdir %s: %s\n", v->share, strerror(errno));
            return 1;
        }
    }
    /* Strings are borrowed by the driver for the VM's lifetime: o->guest
     * and the parameters outlive v in the tests. */
    struct hv_config cfg = {
        .kind = HV_KIND_QEMU,
        .path = o->qemu ? o->qemu : VMA_QEMU_BIN,
        .kernel = o->guest->kernel,
        .initrd = o->guest->initrd,
        .machine_type = "q35",
        .accel = HV_ACCEL_AUTO,
        .vcpus = 1,
        .max_vcpus = 1,
        .memory_mib = o->memory_mib ? o->memory_mib : 256,
        .pcie_root_ports = o->pcie_root_ports,
        .transport = HV_TRANSPORT_AUTO,
        .shared_fs = o->shared_fs,
        .shared_dir = v->share[0] ? v->share : NULL,
        .virtiofsd_path = fs ? VMA_VIRTIOFSD_BIN : NULL,
        .virtiofsd_cache = fs ? "auto" : NULL,
        .msize_9p = ninep ? 8192 : 0,
        .kernel_params = o->kernel_params,
        .entropy_source = o->entropy_source,
        .mem_prealloc = o->mem_prealloc,
        .hugepages = o->hugepages,
    };
    if (hv_vm_new(&cfg, test_tmpdir(), o->name, &v->hv, &e) < 0) {
        printf("#   %s: hv_vm_new: %s\n", o->name, err_msg(&e));
        return 1;
    }
    if (hv_vm_start(v->hv, START_TIMEOUT_NS, &e) < 0) {
        printf("#   %s: start: %s\n", o->name, err_msg(&e));
        vma_stop(v);
        return 1;
    }
    return 0;
}

int vma_boot(struct vma_vm *v, const struct vma_opts *o)
{
    long long t0 = actl_now_ms();
    int r = vma_launch(v, o);

    if (r)
        return r;
    r = vma_console_wait(v, "serving on ", SERVE_TIMEOUT_MS);
    if (r < 0) {
        printf("#   %s: the agent never served (%s); console:\n", o->name,
               r == -ECHILD ? "QEMU exited" : "timed out");
        vma_console_show(v, NULL, 25);
        vma_stop(v);
        return 1;
    }
    printf("#   %s: agent serving %lld ms after launch\n", o->name, actl_now_ms() - t0);
    return vma_dial(v);
}

int vma_dial(struct vma_vm *v)
{
    struct err e = ERR_INIT;
    char uri[PATH_MAX];
    int fd, r;

    v->client = ttrpc_client_free(v->client);
    if ((r = hv_vm_agent_address(v->hv, uri, sizeof(uri))) < 0) {
        printf("#   agent address: %s\n", strerror(-r));
        return 1;
    }
    fd = transport_dial(uri, DIAL_TIMEOUT_NS, &e);
    if (fd < 0) {
        printf("#   dial %s: %s\n", uri, err_msg(&e));
        return 1;
    }
    if (!v->loop && (r = loop_new(&v->loop)) < 0) {
        close(fd);
        printf("#   loop_new: %s\n", strerror(-r));
        return 1;
    }
    /* The client owns fd from here, even when it fails. */
    if ((r = ttrpc_client_new(v->loop, fd, NULL, &v->client)) < 0) {
        printf("#   ttrpc client on %s: %s\n", uri, strerror(-r));
        return 1;
    }
    printf("#   agent channel %s\n", uri);
    return 0;
}

int vma_stop(struct vma_vm *v)
{
    struct err e = ERR_INIT;
    int r = 0;

    v->client = ttrpc_client_free(v->client);
    if (v->loop) {
        /* Lets the client's closed connection be released. */
        loop_run_once(v->loop, 0);
        v->loop = loop_free(v->loop);
    }
    if (v->hv) {
        r = hv_vm_stop(v->hv, STOP_TIMEOUT_NS, &e);
        if (r < 0)
            printf("#   stop %s: %s\n", v->dir, err_msg(&e));
        v->hv = hv_vm_free(v->hv);
    }
    return r;
}

void vma_done(struct vma_vm *v)
{
    (void)vma_stop(v);
}

int vma_call(struct vma_vm *v, const char *method, const ProtobufCMessage *req,
             const ProtobufCMessageDescriptor *resp_type, ProtobufCMessage **ret_resp, char *msg,
             size_t msg_size)
{
    struct err e = ERR_INIT;
    struct ttrpc_call_opts opts = {.timeout_ns = CALL_TIMEOUT_NS};
    ProtobufCMessage *resp = NULL;
    const char *svc = strcmp(method, "Check") == 0 ? "grpc.Health" : "grpc.AgentService";
    int code = 0;
    int r = ttrpc_client_call_sync(v->client, svc, method, req,
                                   resp_type ? resp_type : &google__protobuf__empty__descriptor,
                                   &opts, &resp, &code, &e);

    if (msg)
        snprintf(msg, msg_size, "%s", r < 0 ? err_msg(&e) : "");
    if (ret_resp)
        *ret_resp = resp;
    else if (resp)
        protobuf_c_message_free_unpacked(resp, NULL);
    return r < 0 && code == 0 ? TTRPC_UNAVAILABLE : code;
}

static FILE *console_open(const struct vma_vm *v)
{
    char path[PATH_MAX + 16];

    snprintf(path, sizeof(path), "%s/console.log", v->dir);
    return fopen(path, "re");
}

bool vma_console_has(const struct vma_vm *v, const char *text)
{
    char path[PATH_MAX + 16];

    snprintf(path, sizeof(path), "%s/console.log", v->dir);
    return ch_file_contains(path, text);
}

int vma_console_wait(const struct vma_vm *v, const char *text, int timeout_ms)
{
    long long end = actl_now_ms() + timeout_ms;

    while (actl_now_ms() < end) {
        if (vma_console_has(v, text))
            return 0;
        /* The log has no change notification worth the code: QEMU's exit
         * (its pidfd) is the only event waited on, 100 ms at a time. */
        if (fd_wait(hv_vm_pidfd(v->hv), POLLIN, 100) > 0)
            return -ECHILD;
    }
    return -ETIMEDOUT;
}

size_t vma_console_read(const struct vma_vm *v, char *buf, size_t size)
{
    _cleanup_fclose_ FILE *f = console_open(v);
    size_t n = 0, k;

    if (!size)
        return 0;
    while (f && n < size - 1 && (k = fread(buf + n, 1, size - 1 - n, f)) > 0)
        n += k;
    buf[n] = '\0';
    return n;
}

void vma_console_show(const struct vma_vm *v, const char *grep, unsigned max_lines)
{
    _cleanup_fclose_ FILE *f = console_open(v);
    _cleanup_free_ char *line = NULL;
    _cleanup_free_ char **ring = NULL;
    size_t cap = 0, seen = 0;
    regex_t re;
    ssize_t n;

    if (!f || !max_lines)
        return;
    if (grep && regcomp(&re, grep, REG_EXTENDED | REG_NOSUB) != 0) {
        printf("#   bad console pattern %s\n", grep);
        return;
    }
    ring = xnew(char *, max_lines);
    while ((n = getline(&line, &cap, f)) >= 0) {
        if (n > 0 && line[n - 1] == '\n')
            line[n - 1] = '\0';
        if (grep && regexec(&re, line, 0, NULL, 0) != 0)
            continue;
        free(ring[seen % max_lines]);
        ring[seen % max_lines] = xstrdup(line);
        seen++;
    }
    for (size_t i = seen > max_lines ? seen - max_lines : 0; i < seen; i++) {
        printf("#   %s\n", ring[i % max_lines]);
        free(ring[i % max_lines]);
    }
    if (grep)
        regfree(&re);
}
