/* CreateSandbox's kernel_modules in a real QEMU guest (TCG here, KVM where
 * it works), the agent being the initrd's PID 1: a module the initrd lacks
 * fails CreateSandbox naming it and creates nothing; then virtio_balloon,
 * which the initrd carries "on-demand" (not loaded at boot), is loaded
 * with a parameter before the shared folder is mounted. The kernel's own
 * words show the parameter reached finit_module() (it ignores one the
 * module does not have, and says so on the console: loglevel=5 lets the
 * warning through), and a container on the busybox rootfs from the shared
 * folder reads /sys/module/virtio_balloon/initstate. One boot. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "hypervisor/hv.h"
#include "kata/agent.pb-c.h"
#include "lib/compiler.h"
#include "lib/ttrpc/ttrpc.h"
#include "tests/harness/harness.h"
#include "tests/support/agent_harness.h"
#include "tests/support/vm_agent.h"

#define ABSENT "katac_no_such_module"

/* CreateSandbox with the shared folder and one module (name, one
 * parameter or none). */
static int create_sandbox(struct vma_vm *v, const char *name, const char *param, char *msg,
                          size_t size)
{
    Grpc__CreateSandboxRequest req = GRPC__CREATE_SANDBOX_REQUEST__INIT;
    Grpc__Storage st = GRPC__STORAGE__INIT;
    Grpc__Storage *sts[] = {&st};
    Grpc__KernelModule mod = GRPC__KERNEL_MODULE__INIT;
    Grpc__KernelModule *mods[] = {&mod};
    char *params[] = {(char *)param};
    st.driver = (char *)"virtio-fs";
    st.source = (char *)"kataShared";
    st.fstype = (char *)"virtiofs";
    st.mount_point = (char *)VMA_GUEST_SHARED;
    mod.name = (char *)name;
    mod.parameters = params;
    mod.n_parameters = param ? 1 : 0;
    req.sandbox_id = (char *)"kmod-e2e";
    req.hostname = (char *)"kmod-e2e";
    req.storages = sts;
    req.n_storages = 1;
    req.kernel_modules = mods;
    req.n_kernel_modules = 1;
    return vma_call(v, "CreateSandbox", &req.base, NULL, NULL, msg, size);
}

/* Runs args in a container on <share>/bb/rootfs and reads its stdout. */
static int run(struct vma_vm *v, const char *cid, const char *const *args, char *out,
               size_t size)
{
    struct agent_harness_spec s;
    char root[PATH_MAX], msg[512];
    agent_harness_spec_init(&s, "/unused", args);
    snprintf(root, sizeof(root), VMA_GUEST_SHARED "/bb/rootfs");
    s.root.path = root;
    Grpc__CreateContainerRequest req = GRPC__CREATE_CONTAINER_REQUEST__INIT;
    req.container_id = req.exec_id = (char *)cid;
    req.oci = &s.spec;
    int code = vma_call(v, "CreateContainer", &req.base, NULL, NULL, msg, sizeof(msg));
    if (code == 0) {
        Grpc__StartContainerRequest st = GRPC__START_CONTAINER_REQUEST__INIT;
        st.container_id = (char *)cid;
        code = vma_call(v, "StartContainer", &st.base, NULL, NULL, msg, sizeof(msg));
    }
    if (code) {
        printf("#   %s: %s\n", cid, msg);
        return code;
    }
    size_t off = 0;
    for (;;) {
        Grpc__ReadStreamRequest rd = GRPC__READ_STREAM_REQUEST__INIT;
        ProtobufCMessage *resp = NULL;
        rd.container_id = rd.exec_id = (char *)cid;
        rd.len = 4096;
        if (vma_call(v, "ReadStdout", &rd.base, &grpc__read_stream_response__descriptor, &resp,
                     NULL, 0) != 0)
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

TEST(create_sandbox_loads_kernel_modules)
{
    struct vma_guest g;
    int r = vma_guest_find(&g, "guest", true);
    if (r)
        return r;
    if (access("/bin/busybox", X_OK) < 0)
        return test_skip("busybox-static is not installed");
    _cleanup_(vma_done) struct vma_vm v;
    const struct vma_opts o = {.name = "kmod", .guest = &g, .shared_fs = HV_SHARED_FS_VIRTIO_FS,
                               .memory_mib = 512, .kernel_params = "loglevel=5"};
    if ((r = vma_boot(&v, &o)) != 0)
        return r;
    char dir[PATH_MAX + 8], why[256] = "", msg[512], out[256];
    snprintf(dir, sizeof(dir), "%s/bb", v.share);
    if (agent_harness_bundle(dir, why, sizeof(why)) < 0)
        return test_skip("%s", why);
    /* Not loaded at boot: the initrd has it on demand only. */
    ASSERT_TRUE(!vma_console_has(&v, "katac_probe"));

    ASSERT_EQ(create_sandbox(&v, ABSENT, NULL, msg, sizeof(msg)), TTRPC_NOT_FOUND);
    printf("#   %s\n", msg);
    ASSERT_TRUE(strstr(msg, "kernel_modules: cannot load " ABSENT) != NULL);

    r = create_sandbox(&v, "virtio_balloon", "katac_probe=1", msg, sizeof(msg));
    if (r)
        printf("#   CreateSandbox: %s\n", msg);
    ASSERT_EQ(r, 0);
    /* The kernel's warning for a parameter the module does not know. */
    r = vma_console_wait(&v, "unknown parameter 'katac_probe' ignored", 30000);
    if (r < 0)
        vma_console_show(&v, "balloon|katac|kernel_modules", 20);
    ASSERT_OK(r);
    static const char *const cat[] = {"cat", "/sys/module/virtio_balloon/initstate", NULL};
    ASSERT_EQ(run(&v, "c1", cat, out, sizeof(out)), 0);
    ASSERT_STREQ(out, "live\n");
    ASSERT_OK(vma_stop(&v));
    return 0;
}
