/* Wire vectors for the .proto files in protos/. Every expected byte string was
 * produced by encoding the same value with upstream's own .proto files (Kata
 * 4.1, containerd 1.6.20, cgroups 1.1, ttrpc) through protoc's text-format
 * encoder, so a match here means our definitions put the same field numbers
 * and wire types on the wire as upstream's. */
#include "tests/harness/harness.h"

#include <stdint.h>
#include <stdlib.h>

#include "containerd/cgroups/v1/metrics.pb-c.h"
#include "containerd/cgroups/v2/metrics.pb-c.h"
#include "containerd/events/task.pb-c.h"
#include "containerd/runtimeoptions/v1/api.pb-c.h"
#include "containerd/services/events/ttrpc/v1/events.pb-c.h"
#include "containerd/task/v2/shim.pb-c.h"
#include "google/protobuf/any.pb-c.h"
#include "google/protobuf/empty.pb-c.h"
#include "google/rpc/status.pb-c.h"
#include "kata/agent.pb-c.h"
#include "kata/health.pb-c.h"
#include "ttrpc/request.pb-c.h"

/* Go's zero time.Time as a Timestamp: what containerd sends for "not exited". */
#define GO_ZERO_TIME_SECONDS (-62135596800LL)

static size_t hex_decode(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = 0;

    for (; hex[0] && hex[1] && n < cap; hex += 2) {
        unsigned int byte;
        if (sscanf(hex, "%2x", &byte) != 1)
            break;
        out[n++] = (uint8_t)byte;
    }
    return n;
}

/* Packs msg and compares with the expected hex. */
static int expect_packed(const ProtobufCMessage *msg, const char *hex)
{
    uint8_t want[512], got[512];
    size_t want_len = hex_decode(hex, want, sizeof(want));
    size_t len = protobuf_c_message_get_packed_size(msg);

    ASSERT_EQ(len, want_len);
    ASSERT_LE(len, sizeof(got));
    ASSERT_EQ(protobuf_c_message_pack(msg, got), len);
    ASSERT_MEMEQ(got, want, len);
    return 0;
}

/* Unpacks the hex as desc; the caller frees with protobuf_c_message_free_unpacked. */
static ProtobufCMessage *unpack_hex(const ProtobufCMessageDescriptor *desc, const char *hex)
{
    uint8_t buf[512];
    size_t len = hex_decode(hex, buf, sizeof(buf));

    return protobuf_c_message_unpack(desc, NULL, len, buf);
}

TEST(service_names_and_rpc_counts)
{
    ASSERT_STREQ(grpc__agent_service__descriptor.name, "grpc.AgentService");
    ASSERT_EQ(grpc__agent_service__descriptor.n_methods, 42);
    ASSERT_STREQ(grpc__health__descriptor.name, "grpc.Health");
    ASSERT_EQ(grpc__health__descriptor.n_methods, 2);
    ASSERT_STREQ(containerd__task__v2__task__descriptor.name, "containerd.task.v2.Task");
    ASSERT_EQ(containerd__task__v2__task__descriptor.n_methods, 17);
    ASSERT_STREQ(containerd__services__events__ttrpc__v1__events__descriptor.name,
                 "containerd.services.events.ttrpc.v1.Events");
    ASSERT_EQ(containerd__services__events__ttrpc__v1__events__descriptor.n_methods, 1);

    /* ttRPC method strings are the bare RPC names. */
    const ProtobufCMethodDescriptor *m =
        protobuf_c_service_descriptor_get_method_by_name(&grpc__agent_service__descriptor,
                                                         "WaitProcess");
    ASSERT_TRUE(m != NULL);
    ASSERT_TRUE(m->input == &grpc__wait_process_request__descriptor);
    ASSERT_TRUE(m->output == &grpc__wait_process_response__descriptor);
    m = protobuf_c_service_descriptor_get_method_by_name(&containerd__task__v2__task__descriptor,
                                                         "Shutdown");
    ASSERT_TRUE(m != NULL);
    ASSERT_TRUE(m->output == &google__protobuf__empty__descriptor);
    return 0;
}

TEST(any_type_names)
{
    /* Any.type_url values containerd and Kata put on the wire. */
    ASSERT_STREQ(io__containerd__cgroups__v1__metrics__descriptor.name,
                 "io.containerd.cgroups.v1.Metrics");
    ASSERT_STREQ(io__containerd__cgroups__v2__metrics__descriptor.name,
                 "io.containerd.cgroups.v2.Metrics");
    ASSERT_STREQ(runtimeoptions__v1__options__descriptor.name, "runtimeoptions.v1.Options");
    ASSERT_STREQ(containerd__events__task_exit__descriptor.name, "containerd.events.TaskExit");
    return 0;
}

TEST(delete_response_go_zero_time)
{
    Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    Containerd__Task__V2__DeleteResponse resp = CONTAINERD__TASK__V2__DELETE_RESPONSE__INIT;

    ts.seconds = GO_ZERO_TIME_SECONDS;
    resp.exited_at = &ts;
    return expect_packed(&resp.base, "1a0b088092b8c398feffffff01");
}

TEST(create_task_request)
{
    char id[] = "p3", bundle[] = "/b", overlay[] = "overlay", opt[] = "index=off",
         out[] = "/fifo/out";
    char *options[] = {opt};
    Containerd__Types__Mount mount = CONTAINERD__TYPES__MOUNT__INIT;
    Containerd__Types__Mount *rootfs[] = {&mount};
    Containerd__Task__V2__CreateTaskRequest req = CONTAINERD__TASK__V2__CREATE_TASK_REQUEST__INIT;

    mount.type = overlay;
    mount.source = overlay;
    mount.n_options = 1;
    mount.options = options;
    req.id = id;
    req.bundle = bundle;
    req.n_rootfs = 1;
    req.rootfs = rootfs;
    req.terminal = 1;
    req.stdout = out;
    return expect_packed(&req.base, "0a02703312022f621a1d0a076f7665726c617912076f7665726c6179"
                                    "2209696e6465783d6f6666200132092f6669666f2f6f7574");
}

TEST(runtime_options_in_any)
{
    char path[] = "/etc/kata/configuration.toml", url[] = "runtimeoptions.v1.Options";
    Runtimeoptions__V1__Options opts = RUNTIMEOPTIONS__V1__OPTIONS__INIT;
    Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
    uint8_t inner[64];

    opts.config_path = path;
    ASSERT_EQ(runtimeoptions__v1__options__get_packed_size(&opts), 30);
    any.type_url = url;
    any.value.len = runtimeoptions__v1__options__pack(&opts, inner);
    any.value.data = inner;
    ASSERT_EQ(google__protobuf__any__get_packed_size(&any), 59);
    return expect_packed(&any.base, "0a1972756e74696d656f7074696f6e732e76312e4f7074696f6e73121e"
                                    "121c2f6574632f6b6174612f636f6e66696775726174696f6e2e746f6d6c");
}

TEST(task_exit_event)
{
    char c1[] = "c1";
    Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    Containerd__Events__TaskExit ev = CONTAINERD__EVENTS__TASK_EXIT__INIT;

    ts.seconds = 1700000000;
    ts.nanos = 5;
    ev.container_id = c1;
    ev.id = c1;
    ev.pid = 42;
    ev.exit_status = 137;
    ev.exited_at = &ts;
    return expect_packed(&ev.base, "0a02633112026331182a2089012a080880e2cfaa061005");
}

TEST(state_response_enum)
{
    char c1[] = "c1", e[] = "e";
    Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    Containerd__Task__V2__StateResponse st = CONTAINERD__TASK__V2__STATE_RESPONSE__INIT;

    ts.seconds = 1;
    st.id = c1;
    st.pid = 9;
    st.status = CONTAINERD__V1__TYPES__STATUS__STOPPED;
    st.exit_status = 1;
    st.exited_at = &ts;
    st.exec_id = e;
    return expect_packed(&st.base, "0a026331180920034801520208015a0165");
}

TEST(cgroups_metrics)
{
    Io__Containerd__Cgroups__V2__PidsStat pids = IO__CONTAINERD__CGROUPS__V2__PIDS_STAT__INIT;
    Io__Containerd__Cgroups__V2__MemoryStat mem = IO__CONTAINERD__CGROUPS__V2__MEMORY_STAT__INIT;
    Io__Containerd__Cgroups__V2__Metrics m2 = IO__CONTAINERD__CGROUPS__V2__METRICS__INIT;

    pids.current = 3;
    mem.usage = 4096;
    m2.pids = &pids;
    m2.memory = &mem;
    if (expect_packed(&m2.base, "0a020803220480028020"))
        return 1;

    uint64_t per_cpu[] = {4, 6};
    Io__Containerd__Cgroups__V1__CPUUsage usage = IO__CONTAINERD__CGROUPS__V1__CPUUSAGE__INIT;
    Io__Containerd__Cgroups__V1__CPUStat cpu = IO__CONTAINERD__CGROUPS__V1__CPUSTAT__INIT;
    Io__Containerd__Cgroups__V1__MemoryEntry tcp = IO__CONTAINERD__CGROUPS__V1__MEMORY_ENTRY__INIT;
    Io__Containerd__Cgroups__V1__MemoryStat mem1 = IO__CONTAINERD__CGROUPS__V1__MEMORY_STAT__INIT;
    Io__Containerd__Cgroups__V1__Metrics m1 = IO__CONTAINERD__CGROUPS__V1__METRICS__INIT;

    usage.total = 10;
    usage.n_per_cpu = 2;
    usage.per_cpu = per_cpu; /* packed, as proto3 requires */
    cpu.usage = &usage;
    tcp.limit = 1;
    mem1.kernel_tcp = &tcp;
    m1.cpu = &cpu;
    m1.memory = &mem1;
    return expect_packed(&m1.base, "1a080a06080a220204062205a202020801");
}

TEST(ttrpc_request_and_status)
{
    char svc[] = "grpc.AgentService", method[] = "WaitProcess", k[] = "k", v[] = "v";
    uint8_t payload[] = {0x0a, 0x02, 'c', '1'};
    Ttrpc__KeyValue kv = TTRPC__KEY_VALUE__INIT;
    Ttrpc__KeyValue *md[] = {&kv};
    Ttrpc__Request req = TTRPC__REQUEST__INIT;

    kv.key = k;
    kv.value = v;
    req.service = svc;
    req.method = method;
    req.payload.data = payload;
    req.payload.len = sizeof(payload);
    req.timeout_nano = 5000000000LL;
    req.n_metadata = 1;
    req.metadata = md;
    if (expect_packed(&req.base, "0a11677270632e4167656e7453657276696365120b5761697450726f636573731a"
                                 "040a0263312080e497d0122a060a016b120176"))
        return 1;

    Ttrpc__Response *resp =
        (Ttrpc__Response *)unpack_hex(&ttrpc__response__descriptor, "0a0d080512096e6f7420666f756e64");
    ASSERT_TRUE(resp != NULL);
    ASSERT_TRUE(resp->status != NULL);
    ASSERT_EQ(resp->status->code, 5);
    ASSERT_STREQ(resp->status->message, "not found");
    ASSERT_EQ(resp->payload.len, 0);
    ttrpc__response__free_unpacked(resp, NULL);
    return 0;
}

TEST(agent_optional_fields_keep_presence)
{
    /* Upstream declares these proto3 "optional": an explicit zero is sent. */
    Grpc__MemAgentMemcgConfig cfg = GRPC__MEM_AGENT_MEMCG_CONFIG__INIT;

    cfg._disabled_case = GRPC__MEM_AGENT_MEMCG_CONFIG___DISABLED_DISABLED;
    cfg.disabled = 0;
    cfg._swappiness_max_case = GRPC__MEM_AGENT_MEMCG_CONFIG___SWAPPINESS_MAX_SWAPPINESS_MAX;
    cfg.swappiness_max = 0;
    cfg._period_secs_case = GRPC__MEM_AGENT_MEMCG_CONFIG___PERIOD_SECS_PERIOD_SECS;
    cfg.period_secs = 60;
    if (expect_packed(&cfg.base, "08001800203c"))
        return 1;

    Grpc__MemAgentMemcgConfig *back = (Grpc__MemAgentMemcgConfig *)unpack_hex(
        &grpc__mem_agent_memcg_config__descriptor, "08001800203c");
    ASSERT_TRUE(back != NULL);
    ASSERT_EQ(back->_disabled_case, GRPC__MEM_AGENT_MEMCG_CONFIG___DISABLED_DISABLED);
    ASSERT_EQ(back->_swap_case, GRPC__MEM_AGENT_MEMCG_CONFIG___SWAP__NOT_SET);
    ASSERT_EQ(back->period_secs, 60);
    grpc__mem_agent_memcg_config__free_unpacked(back, NULL);
    return 0;
}

TEST(oci_spec_maps_and_oneof)
{
    char ver[] = "1.0.2", a[] = "a", b[] = "b", cg[] = "/k";
    Grpc__Spec__AnnotationsEntry ann = GRPC__SPEC__ANNOTATIONS_ENTRY__INIT;
    Grpc__Spec__AnnotationsEntry *anns[] = {&ann};
    Grpc__Linux lx = GRPC__LINUX__INIT;
    Grpc__Spec spec = GRPC__SPEC__INIT;

    ann.key = a;
    ann.value = b;
    lx.cgroupspath = cg;
    spec.version = ver;
    spec.n_annotations = 1;
    spec.annotations = anns;
    spec.linux_ = &lx; /* field 8, upstream name "Linux" */
    if (expect_packed(&spec.base, "0a05312e302e323a060a016112016242042a022f6b"))
        return 1;

    char name[] = "ptrace", action[] = "SCMP_ACT_ERRNO";
    char *names[] = {name};
    Grpc__LinuxSyscall sc = GRPC__LINUX_SYSCALL__INIT;

    sc.n_names = 1;
    sc.names = names;
    sc.action = action;
    sc.errno_ret_case = GRPC__LINUX_SYSCALL__ERRNO_RET_ERRNORET;
    sc.errnoret = 0; /* an explicit errno 0 must still be sent */
    return expect_packed(&sc.base, "0a06707472616365120e53434d505f4143545f4552524e4f1800");
}

TEST(agent_messages)
{
    uint32_t pci[] = {1, 2};
    Grpc__AddSwapRequest swap = GRPC__ADD_SWAP_REQUEST__INIT;

    swap.n_pcipath = 2;
    swap.pcipath = pci;
    if (expect_packed(&swap.base, "0a020102"))
        return 1;

    uint8_t seed[] = {'x', 'y', 'z'};
    Grpc__ReseedRandomDevRequest reseed = GRPC__RESEED_RANDOM_DEV_REQUEST__INIT;

    reseed.data.data = seed;
    reseed.data.len = sizeof(seed);
    if (expect_packed(&reseed.base, "120378797a")) /* field 2: there is no field 1 */
        return 1;

    char path[] = "/run/f";
    uint8_t data[] = {'a', 'b', 'c'};
    Grpc__CopyFileRequest cp = GRPC__COPY_FILE_REQUEST__INIT;

    cp.path = path;
    cp.file_size = 3;
    cp.file_mode = 0644;
    cp.uid = -1; /* int32: ten-byte varint */
    cp.data.data = data;
    cp.data.len = sizeof(data);
    if (expect_packed(&cp.base, "0a062f72756e2f66100318a40328ffffffffffffffffff014203616263"))
        return 1;

    Grpc__HealthCheckResponse health = GRPC__HEALTH_CHECK_RESPONSE__INIT;

    health.status = GRPC__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING;
    return expect_packed(&health.base, "0801");
}

TEST(agent_stats_maps_and_network_types)
{
    Grpc__StatsContainerResponse *st = (Grpc__StatsContainerResponse *)unpack_hex(
        &grpc__stats_container_response__descriptor,
        "0a16120932070a0372737310072a090a03324d4212020801");
    ASSERT_TRUE(st != NULL);
    ASSERT_TRUE(st->cgroup_stats != NULL && st->cgroup_stats->memory_stats != NULL);
    ASSERT_EQ(st->cgroup_stats->memory_stats->n_stats, 1);
    ASSERT_STREQ(st->cgroup_stats->memory_stats->stats[0]->key, "rss");
    ASSERT_EQ(st->cgroup_stats->memory_stats->stats[0]->value, 7);
    ASSERT_EQ(st->cgroup_stats->n_hugetlb_stats, 1);
    ASSERT_STREQ(st->cgroup_stats->hugetlb_stats[0]->key, "2MB");
    ASSERT_EQ(st->cgroup_stats->hugetlb_stats[0]->value->usage, 1);
    grpc__stats_container_response__free_unpacked(st, NULL);

    Grpc__UpdateInterfaceRequest *up = (Grpc__UpdateInterfaceRequest *)unpack_hex(
        &grpc__update_interface_request__descriptor,
        "0a171204657468301a0c080112033a3a311a0331323820dc0b");
    ASSERT_TRUE(up != NULL && up->interface != NULL);
    ASSERT_STREQ(up->interface->name, "eth0");
    ASSERT_EQ(up->interface->mtu, 1500);
    ASSERT_EQ(up->interface->n_ipaddresses, 1);
    ASSERT_EQ(up->interface->ipaddresses[0]->family, TYPES__IPFAMILY__v6);
    ASSERT_STREQ(up->interface->ipaddresses[0]->mask, "128");
    grpc__update_interface_request__free_unpacked(up, NULL);
    return 0;
}
