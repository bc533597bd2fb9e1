/* Bulk container output through a real QEMU guest (TCG here, KVM where it
 * works) over the agent channel this host gets (virtio-serial without
 * vhost-vsock): a container prints about 1 MiB on stdout and, in every
 * other run, as much on stderr at the same time; both streams are read
 * through the agent API the way the shim reads them, a ReadStdout and a
 * ReadStderr always outstanding with 32 KiB chunks. Every byte must arrive,
 * in order, on both streams. Several containers run in one VM, one after
 * the other (BULK_RUNS, default 3). A second test does the same through ctr
 * run and our shim (CTR_RUNS, default 1).
 *
 * A stall (no byte for STALL_MS while reads wait) fails the test, names
 * what was outstanding and whether a new request still gets an answer (a
 * lost wake-up on the channel does, and unsticks it: the bug of
 * agent/channel.c that this test found), and shows the guest console. */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hypervisor/hv.h"
#include "kata/agent.pb-c.h"
#include "kata/health.pb-c.h"
#include "lib/compiler.h"
#include "lib/err.h"
#include "lib/loop.h"
#include "lib/ttrpc/ttrpc.h"
#include "tests/harness/harness.h"
#include "tests/support/agent_ctl_run.h"
#include "tests/support/agent_harness.h"
#include "tests/support/busybox_image.h"
#include "tests/support/containerd_harness.h"
#include "tests/support/vm_agent.h"

#define SEQ_COUNT 170000 /* `seq 1 170000` prints 1,058,895 bytes */
#define READ_CHUNK (32 * 1024)
#define STALL_MS 40000    /* TCG is slow, but not this slow */
#define RUN_LIMIT_MS 240000
#define DEFAULT_RUNS 3

static int64_t now_ms(void)
{
    return actl_now_ms();
}

/* One output stream read as the shim does: one call outstanding at a time,
 * the next sent from the reply of the previous. */
struct reader {
    struct vma_vm *vm;
    const char *cid;
    bool is_stderr;
    char *data;
    size_t len, cap;
    bool pending, eof;
    int failed; /* a gRPC code, or -1 for a local refusal */
    int64_t last_progress;
};

static void reader_send(struct reader *rd);

static void reader_reply(const struct ttrpc_status *status, const ProtobufCMessage *response,
                         void *userdata)
{
    struct reader *rd = userdata;
    rd->pending = false;
    if (status->code != TTRPC_OK) {
        rd->failed = status->code;
        return;
    }
    const Grpc__ReadStreamResponse *r = (const Grpc__ReadStreamResponse *)response;
    if (r->data.len == 0) {
        rd->eof = true;
        return;
    }
    if (rd->len + r->data.len > rd->cap) {
        rd->failed = -1;
        return;
    }
    memcpy(rd->data + rd->len, r->data.data, r->data.len);
    rd->len += r->data.len;
    rd->last_progress = now_ms();
    reader_send(rd);
}

static void reader_send(struct reader *rd)
{
    Grpc__ReadStreamRequest req = GRPC__READ_STREAM_REQUEST__INIT;
    req.container_id = (char *)rd->cid;
    req.exec_id = (char *)rd->cid;
    req.len = READ_CHUNK;
    int r = ttrpc_client_call(rd->vm->client, "grpc.AgentService",
                              rd->is_stderr ? "ReadStderr" : "ReadStdout", &req.base,
                              &grpc__read_stream_response__descriptor, NULL, reader_reply, rd);
    if (r < 0)
        rd->failed = -1;
    else
        rd->pending = true;
}

static void wait_reply(const struct ttrpc_status *status, const ProtobufCMessage *response,
                       void *userdata)
{
    (void)response;
    *(int *)userdata = status->code == TTRPC_OK ? 1 : -1;
}

static bool reader_done(const struct reader *rd)
{
    return rd->eof || rd->failed;
}

/* What `seq 1 n` prints. */
static char *seq_text(unsigned n, size_t *ret_len)
{
    size_t cap = (size_t)n * 8 + 1, len = 0;
    char *s = malloc(cap);
    if (!s)
        return NULL;
    for (unsigned i = 1; i <= n; i++)
        len += (size_t)snprintf(s + len, cap - len, "%u\n", i);
    *ret_len = len;
    return s;
}

/* After a stall: does the agent still answer a new request? Tells a stuck
 * channel from a stuck read. */
static void probe_agent(struct vma_vm *v)
{
    int done = 0;
    Grpc__CheckRequest req = GRPC__CHECK_REQUEST__INIT;
    struct ttrpc_call_opts opts = {.timeout_ns = 10 * VMA_SEC};
    if (ttrpc_client_call(v->client, "grpc.Health", "Check", &req.base,
                          &grpc__health_check_response__descriptor, &opts, wait_reply,
                          &done) < 0)
        return;
    int64_t end = now_ms() + 12000;
    while (!done && now_ms() < end)
        loop_run_once(v->loop, 500);
    printf("#   a Health.Check after the stall: %s\n",
           done > 0 ? "answered" : done < 0 ? "failed" : "no answer");
}

/* Creates, starts and reads container cid to EOF on both streams. 0, or 1
 * with the reason printed. */
static int run_one(struct vma_vm *v, const char *cid, bool with_stderr, const char *expect,
                   size_t expect_len)
{
    char msg[512], script[160];
    /* stdout and stderr written at the same time, by two processes; or,
     * as `ctr run ... seq` does, stdout only with stderr's read parked */
    if (with_stderr)
        snprintf(script, sizeof(script), "seq 1 %u >&2 & seq 1 %u; wait", SEQ_COUNT, SEQ_COUNT);
    else
        snprintf(script, sizeof(script), "seq 1 %u", SEQ_COUNT);
    const char *args[] = {"sh", "-c", script, NULL};
    struct agent_harness_spec s;
    char root[PATH_MAX];
    agent_harness_spec_init(&s, "/unused", args);
    snprintf(root, sizeof(root), VMA_GUEST_SHARED "/bb/rootfs");
    s.root.path = root;
    Grpc__CreateContainerRequest creq = GRPC__CREATE_CONTAINER_REQUEST__INIT;
    creq.container_id = (char *)cid;
    creq.exec_id = (char *)cid;
    creq.oci = &s.spec;
    int code = vma_call(v, "CreateContainer", &creq.base, NULL, NULL, msg, sizeof(msg));
    if (code) {
        printf("#   CreateContainer %s: %s\n", cid, msg);
        return 1;
    }
    struct reader rd[2];
    for (int i = 0; i < 2; i++) {
        rd[i] = (struct reader){.vm = v, .cid = cid, .is_stderr = i == 1,
                                .cap = expect_len + READ_CHUNK, .last_progress = now_ms()};
        rd[i].data = malloc(rd[i].cap);
        if (!rd[i].data)
            return 1;
    }
    /* The reads are parked before the process starts, as the shim's are. */
    reader_send(&rd[0]);
    reader_send(&rd[1]);
    Grpc__StartContainerRequest sreq = GRPC__START_CONTAINER_REQUEST__INIT;
    sreq.container_id = (char *)cid;
    code = vma_call(v, "StartContainer", &sreq.base, NULL, NULL, msg, sizeof(msg));
    int64_t t0 = now_ms();
    int result = 0, waited = 0;
    if (code) {
        printf("#   StartContainer %s: %s\n", cid, msg);
        result = 1;
    } else {
        /* The shim's WaitProcess is parked while the output flows. */
        Grpc__WaitProcessRequest wreq = GRPC__WAIT_PROCESS_REQUEST__INIT;
        wreq.container_id = (char *)cid;
        wreq.exec_id = (char *)cid;
        if (ttrpc_client_call(v->client, "grpc.AgentService", "WaitProcess", &wreq.base,
                              &grpc__wait_process_response__descriptor, NULL, wait_reply,
                              &waited) < 0)
            result = 1;
    }
    while (!result && !(reader_done(&rd[0]) && reader_done(&rd[1]) && waited)) {
        loop_run_once(v->loop, 500);
        int64_t last = rd[0].last_progress > rd[1].last_progress ? rd[0].last_progress
                                                                  : rd[1].last_progress;
        if (now_ms() - last > STALL_MS || now_ms() - t0 > RUN_LIMIT_MS) {
            printf("#   %s STALLED: stdout %zu/%zu bytes, stderr %zu/%zu bytes, reads "
                   "outstanding %d/%d, nothing new for %lld ms\n",
                   cid, rd[0].len, expect_len, rd[1].len, expect_len, rd[0].pending,
                   rd[1].pending, (long long)(now_ms() - last));
            probe_agent(v);
            vma_console_show(v, NULL, 40);
            result = 1;
        }
    }
    if (!result) {
        printf("#   %s: stdout %zu bytes, stderr %zu bytes in %lld ms\n", cid, rd[0].len,
               rd[1].len, (long long)(now_ms() - t0));
        for (int i = 0; i < 2; i++) {
            if (rd[i].failed) {
                printf("#   %s %s failed with %d\n", cid, i ? "ReadStderr" : "ReadStdout",
                       rd[i].failed);
                result = 1;
            } else if (!with_stderr && i == 1) {
                if (rd[i].len != 0) {
                    printf("#   %s: unexpected stderr (%zu bytes)\n", cid, rd[i].len);
                    result = 1;
                }
            } else if (rd[i].len != expect_len || memcmp(rd[i].data, expect, expect_len) != 0) {
                printf("#   %s %s: wrong content (%zu bytes)\n", cid, i ? "stderr" : "stdout",
                       rd[i].len);
                result = 1;
            }
        }
    }
    /* Parked reads end when the container goes. */
    Grpc__RemoveContainerRequest rreq = GRPC__REMOVE_CONTAINER_REQUEST__INIT;
    rreq.container_id = (char *)cid;
    rreq.timeout = 20;
    if (!result && (code = vma_call(v, "RemoveContainer", &rreq.base, NULL, NULL, msg, sizeof(msg)))) {
        printf("#   RemoveContainer %s: %s\n", cid, msg);
        result = 1;
    }
    for (int i = 0; i < 2; i++)
        free(rd[i].data);
    return result;
}

TEST(megabyte_of_stdout_and_stderr_through_the_vm)
{
    struct vma_guest g;
    int r = vma_guest_find(&g, "guest", true);
    if (r)
        return r;
    if (access("/bin/busybox", X_OK) < 0)
        return test_skip("busybox-static is not installed");
    char msg[512];

    const char *env_runs = getenv("BULK_RUNS");
    int runs = env_runs && atoi(env_runs) > 0 ? atoi(env_runs) : DEFAULT_RUNS;
    size_t expect_len;
    _cleanup_free_ char *expect = seq_text(SEQ_COUNT, &expect_len);
    ASSERT_TRUE(expect != NULL);

    _cleanup_(vma_done) struct vma_vm v = {0};
    struct vma_opts o = {.name = "bulk", .guest = &g, .shared_fs = HV_SHARED_FS_VIRTIO_FS,
                         .memory_mib = 512, .kernel_params = getenv("BULK_KERNEL_PARAMS")};
    r = vma_boot(&v, &o);
    if (r)
        return r;
    char bundle[PATH_MAX + 8], why[256] = "";
    snprintf(bundle, sizeof(bundle), "%s/bb", v.share);
    if (agent_harness_bundle(bundle, why, sizeof(why)) < 0)
        return test_skip("%s", why);
    Grpc__CreateSandboxRequest sb = GRPC__CREATE_SANDBOX_REQUEST__INIT;
    Grpc__Storage shared = GRPC__STORAGE__INIT, *sts[] = {&shared};
    shared.driver = (char *)"virtio-fs";
    shared.source = (char *)"kataShared";
    shared.fstype = (char *)"virtiofs";
    shared.mount_point = (char *)VMA_GUEST_SHARED;
    sb.sandbox_id = (char *)"bulk-e2e";
    sb.hostname = (char *)"bulk-e2e";
    sb.storages = sts;
    sb.n_storages = 1;
    r = vma_call(&v, "CreateSandbox", &sb.base, NULL, NULL, msg, sizeof(msg));
    if (r)
        printf("#   CreateSandbox: %s\n", msg);
    ASSERT_EQ(r, 0);

    int failed = 0;
    for (int n = 0; n < runs && !failed; n++) {
        char cid[32];
        snprintf(cid, sizeof(cid), "bulk%d", n);
        failed = run_one(&v, cid, n % 2 == 0, expect, expect_len);
    }
    ASSERT_EQ(vma_stop(&v), 0);
    ASSERT_EQ(failed, 0);
    return 0;
}

/* The path that found the stall: ctr run through our shim, the output
 * going through containerd's FIFOs to ctr. CTR_RUNS (default 1) runs. */
TEST(ctr_run_megabyte_of_output)
{
    char toml[PATH_MAX], shim[PATH_MAX];
    if (geteuid() != 0)
        return test_skip("needs root (containerd, mounts, virtiofsd)");
    struct vma_guest g;
    int r = vma_guest_find(&g, "guest", true);
    if (r)
        return r;
    snprintf(shim, sizeof(shim), "%s/bin/containerd-shim-kata-v2", actl_out_dir());
    if (access(shim, X_OK) < 0)
        return test_skip("%s is not built", shim);
    _cleanup_free_ char *tar = NULL;
    r = busybox_image_build(test_tmpdir(), &tar);
    if (r == -ENOENT)
        return test_skip("busybox is not installed");
    ASSERT_OK(r);
    snprintf(toml, sizeof(toml), "%s/kata-qemu.toml", test_tmpdir());
    FILE *f = fopen(toml, "w");
    ASSERT_TRUE(f != NULL);
    fprintf(f,
            "[hypervisor.qemu]\npath = \"%s\"\nkernel = \"%s\"\ninitrd = \"%s\"\n"
            "machine_type = \"q35\"\ndefault_vcpus = 1\ndefault_memory = 384\n"
            "shared_fs = \"virtio-fs\"\nvirtio_fs_daemon = \"%s\"\n"
            "virtio_fs_cache = \"auto\"\n[agent.kata]\ndial_timeout = 30\n",
            VMA_QEMU_BIN, g.kernel, g.initrd, VMA_VIRTIOFSD_BIN);
    fclose(f);
    struct ch_containerd ctd = {.pidfd = -1};
    r = ch_containerd_start_with_busybox(&ctd, test_tmpdir(), "ctd", tar);
    if (r == -ENOENT)
        return test_skip("containerd or ctr is not installed");
    ASSERT_OK(r);
    const char *env_runs = getenv("CTR_RUNS");
    int runs = env_runs && atoi(env_runs) > 0 ? atoi(env_runs) : 1;
    size_t expect_len;
    _cleanup_free_ char *expect = seq_text(SEQ_COUNT, &expect_len);
    int failed = 0;
    for (int n = 0; n < runs && !failed; n++) {
        char id[64];
        struct ch_result res;
        snprintf(id, sizeof(id), "bulk-%d-%d", (int)getpid(), n);
        r = ch_ctr(&ctd, 120000, &res, "run", "--rm", "--runtime", "io.containerd.kata.v2",
                   "--runtime-config-path", toml, BUSYBOX_IMAGE_REF, id, "seq", "1", "170000",
                   NULL);
        bool same = r >= 0 && res.len == expect_len &&
                    memcmp(res.output, expect, expect_len) == 0;
        if (r < 0)
            printf("#   %s: ctr run did not finish in 120 s (%d), %zu of %zu bytes\n", id, r,
                   res.len, expect_len);
        else
            printf("#   %s: exit %d, %zu of %zu bytes in %ld ms%s\n", id, res.exit_code,
                   res.len, expect_len, res.elapsed_ms, same ? "" : " (WRONG)");
        int exit_code = res.exit_code;
        ch_result_done(&res); /* owned even when ch_ctr failed */
        if (r < 0 || exit_code != 0 || !same) {
            /* a hung run leaves its task, shim and VM: remove them */
            failed = 1;
            if (ch_ctr(&ctd, 30000, &res, "task", "rm", "-f", id, NULL) >= 0)
                ch_result_done(&res);
            if (ch_ctr(&ctd, 30000, &res, "container", "rm", id, NULL) >= 0)
                ch_result_done(&res);
        }
    }
    ch_containerd_free(&ctd);
    ASSERT_EQ(failed, 0);
    return 0;
}
