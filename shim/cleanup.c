/* The `delete` action; see cleanup.h. */
#include "shim/cleanup.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "hypervisor/hv.h"
#include "lib/compiler.h"
#include "lib/err.h"
#include "lib/fd.h"
#include "shim/address.h"
#include "shim/args.h"
#include "shim/bundle.h"
#include "shim/sandbox_net.h"
#include "shim/share.h"
#include "shim/shim.h"
#include "shim/task_service.h"

/* Does a shim still accept connections on this address? */
static bool shim_alive(const char *uri)
{
    const char *path = address_socket_path(uri);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    _cleanup_close_ int fd = -1;

    if (!path || strlen(path) >= sizeof(sa.sun_path))
        return false;
    strcpy(sa.sun_path, path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    return fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
}

/* The shim that owned the sandbox is gone: its VM, shared folder and
 * socket are leftovers. */
static void cleanup_sandbox(const char *sid, const char *uri)
{
    static const enum hv_kind kinds[] = {HV_KIND_QEMU, HV_KIND_CLH, HV_KIND_MOCK};
    struct err e = ERR_INIT;

    for (size_t i = 0; i < ELEMENTSOF(kinds); i++) {
        if (hv_cleanup(kinds[i], SHIM_VM_STATE_DIR, sid, &e) < 0)
            fprintf(stderr, "cleanup %s VM of sandbox %s: %s\n", hv_kind_name(kinds[i]), sid,
                    err_msg(&e));
        err_clear(&e);
    }
    /* After the VMM is gone: its taps went with it; the tc rules did not. */
    sandbox_net_cleanup(sid);
    if (share_teardown(sid, &e) < 0)
        fprintf(stderr, "sandbox %s: %s\n", sid, err_msg(&e));
    if (address_socket_path(uri))
        unlink(address_socket_path(uri));
}

static int print_response(struct err *e)
{
    uint8_t buf[64];
    struct timespec now;
    int n;

    clock_gettime(CLOCK_REALTIME, &now);
    n = task_service_pack_delete_response(0, 128 + 9, &now, buf, sizeof(buf));
    if (n < 0)
        return err_set(e, n, "delete: encode DeleteResponse");
    if (fd_write_full(STDOUT_FILENO, buf, (size_t)n) < 0)
        return err_set(e, -EIO, "delete: write DeleteResponse");
    return 0;
}

int cleanup_run(const struct shim_args *a, struct err *e)
{
    char cwd[PATH_MAX], uri[ADDRESS_MAX];
    const char *bundle = a->bundle;
    struct bundle_info info = {.kind = BUNDLE_SINGLE};
    struct err ce = ERR_INIT;
    bool alive = false;

    if (!a->id || !*a->id || strchr(a->id, '/'))
        return err_set(e, -EINVAL, "delete: -id is required and must not contain '/'");
    if (!bundle && (bundle = getcwd(cwd, sizeof(cwd))) == NULL)
        return err_set(e, -errno, "delete: getcwd: %s", strerror(errno));
    /* An already-removed bundle is fine: there is nothing left to read. */
    if (bundle_classify(bundle, a->id, &info, &ce) < 0)
        snprintf(info.sandbox_id, sizeof(info.sandbox_id), "%s", a->id);
    err_clear(&ce);
    if (a->address && a->namespace_ &&
        address_for(a->address, a->namespace_, info.sandbox_id, uri, sizeof(uri)) >= 0)
        alive = shim_alive(uri);
    else
        uri[0] = '\0';

    if (share_umount_rootfs(info.sandbox_id, a->id, bundle, &ce) < 0)
        fprintf(stderr, "delete %s: %s\n", a->id, err_msg(&ce));
    if (!alive && uri[0])
        cleanup_sandbox(info.sandbox_id, uri);
    return print_response(e);
}
