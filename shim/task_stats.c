/* Stats conversion; see task_stats.h. */
#include "shim/task_stats.h"

#include <stdlib.h>
#include <string.h>
#include <sys/vfs.h>

#include "containerd/cgroups/v1/metrics.pb-c.h"
#include "containerd/cgroups/v2/metrics.pb-c.h"
#include "kata/agent.pb-c.h"
#include "lib/compiler.h"
#include "lib/xalloc.h"

#define CGROUP2_MAGIC 0x63677270

bool task_stats_host_is_v2(void)
{
    struct statfs st;

    return statfs("/sys/fs/cgroup", &st) == 0 && st.f_type == CGROUP2_MAGIC;
}

/* memory.stat keys map onto same-named uint64 fields of the Metrics. */
static void copy_memory_map(const Grpc__MemoryStats *m, ProtobufCMessage *dst)
{
    for (size_t i = 0; i < m->n_stats; i++) {
        const ProtobufCFieldDescriptor *f =
            protobuf_c_message_descriptor_get_field_by_name(dst->descriptor, m->stats[i]->key);
        if (f && f->type == PROTOBUF_C_TYPE_UINT64 && f->label != PROTOBUF_C_LABEL_REPEATED)
            *(uint64_t *)(void *)((char *)dst + f->offset) = m->stats[i]->value;
    }
}

static uint8_t *pack(const ProtobufCMessage *m, size_t *ret_len)
{
    uint8_t *buf = xmalloc(protobuf_c_message_get_packed_size(m) + 1);

    *ret_len = protobuf_c_message_pack(m, buf);
    return buf;
}

static uint8_t *pack_v2(const Grpc__StatsContainerResponse *s, size_t *ret_len)
{
    Io__Containerd__Cgroups__V2__Metrics m = IO__CONTAINERD__CGROUPS__V2__METRICS__INIT;
    Io__Containerd__Cgroups__V2__PidsStat pids = IO__CONTAINERD__CGROUPS__V2__PIDS_STAT__INIT;
    Io__Containerd__Cgroups__V2__CPUStat cpu = IO__CONTAINERD__CGROUPS__V2__CPUSTAT__INIT;
    Io__Containerd__Cgroups__V2__MemoryStat mem = IO__CONTAINERD__CGROUPS__V2__MEMORY_STAT__INIT;
    const Grpc__CgroupStats *c = s->cgroup_stats;

    if (c && c->pids_stats) {
        pids.current = c->pids_stats->current;
        pids.limit = c->pids_stats->limit;
        m.pids = &pids;
    }
    if (c && c->cpu_stats) {
        const Grpc__CpuUsage *u = c->cpu_stats->cpu_usage;
        const Grpc__ThrottlingData *t = c->cpu_stats->throttling_data;
        if (u) {
            cpu.usage_usec = u->total_usage / 1000;
            cpu.user_usec = u->usage_in_usermode / 1000;
            cpu.system_usec = u->usage_in_kernelmode / 1000;
        }
        if (t) {
            cpu.nr_periods = t->periods;
            cpu.nr_throttled = t->throttled_periods;
            cpu.throttled_usec = t->throttled_time / 1000;
        }
        m.cpu = &cpu;
    }
    if (c && c->memory_stats) {
        const Grpc__MemoryStats *ms = c->memory_stats;
        copy_memory_map(ms, &mem.base);
        if (ms->usage) {
            mem.usage = ms->usage->usage;
            mem.usage_limit = ms->usage->limit;
        }
        if (ms->swap_usage) {
            mem.swap_usage = ms->swap_usage->usage;
            mem.swap_limit = ms->swap_usage->limit;
        }
        m.memory = &mem;
    }
    return pack(&m.base, ret_len);
}

static void memory_entry(Io__Containerd__Cgroups__V1__MemoryEntry *e, const Grpc__MemoryData *d)
{
    io__containerd__cgroups__v1__memory_entry__init(e);
    if (!d)
        return;
    e->usage = d->usage;
    e->max = d->max_usage;
    e->failcnt = d->failcnt;
    e->limit = d->limit;
}

static uint8_t *pack_v1(const Grpc__StatsContainerResponse *s, size_t *ret_len)
{
    Io__Containerd__Cgroups__V1__Metrics m = IO__CONTAINERD__CGROUPS__V1__METRICS__INIT;
    Io__Containerd__Cgroups__V1__PidsStat pids = IO__CONTAINERD__CGROUPS__V1__PIDS_STAT__INIT;
    Io__Containerd__Cgroups__V1__CPUStat cpu = IO__CONTAINERD__CGROUPS__V1__CPUSTAT__INIT;
    Io__Containerd__Cgroups__V1__CPUUsage usage = IO__CONTAINERD__CGROUPS__V1__CPUUSAGE__INIT;
    Io__Containerd__Cgroups__V1__Throttle thr = IO__CONTAINERD__CGROUPS__V1__THROTTLE__INIT;
    Io__Containerd__Cgroups__V1__MemoryStat mem = IO__CONTAINERD__CGROUPS__V1__MEMORY_STAT__INIT;
    Io__Containerd__Cgroups__V1__MemoryEntry mu, ms, mk;
    const Grpc__CgroupStats *c = s->cgroup_stats;
    Io__Containerd__Cgroups__V1__HugetlbStat *huge = NULL, **huge_p = NULL;
    Io__Containerd__Cgroups__V1__NetworkStat *net = NULL, **net_p = NULL;
    uint8_t *out;

    if (c && c->pids_stats) {
        pids.current = c->pids_stats->current;
        pids.limit = c->pids_stats->limit;
        m.pids = &pids;
    }
    if (c && c->cpu_stats) {
        const Grpc__CpuUsage *u = c->cpu_stats->cpu_usage;
        const Grpc__ThrottlingData *t = c->cpu_stats->throttling_data;
        if (u) {
            usage.total = u->total_usage;
            usage.kernel = u->usage_in_kernelmode;
            usage.user = u->usage_in_usermode;
            usage.n_per_cpu = u->n_percpu_usage;
            usage.per_cpu = u->percpu_usage;
            cpu.usage = &usage;
        }
        if (t) {
            thr.periods = t->periods;
            thr.throttled_periods = t->throttled_periods;
            thr.throttled_time = t->throttled_time;
            cpu.throttling = &thr;
        }
        m.cpu = &cpu;
    }
    if (c && c->memory_stats) {
        const Grpc__MemoryStats *g = c->memory_stats;
        copy_memory_map(g, &mem.base);
        mem.cache = g->cache;
        memory_entry(&mu, g->usage);
        memory_entry(&ms, g->swap_usage);
        memory_entry(&mk, g->kernel_usage);
        mem.usage = &mu;
        mem.swap = &ms;
        mem.kernel = &mk;
        m.memory = &mem;
    }
    if (c && c->n_hugetlb_stats) {
        huge = xnew(Io__Containerd__Cgroups__V1__HugetlbStat, c->n_hugetlb_stats);
        huge_p = xnew(Io__Containerd__Cgroups__V1__HugetlbStat *, c->n_hugetlb_stats);
        for (size_t i = 0; i < c->n_hugetlb_stats; i++) {
            const Grpc__CgroupStats__HugetlbStatsEntry *h = c->hugetlb_stats[i];
            io__containerd__cgroups__v1__hugetlb_stat__init(&huge[i]);
            huge[i].pagesize = h->key;
            if (h->value) {
                huge[i].usage = h->value->usage;
                huge[i].max = h->value->max_usage;
                huge[i].failcnt = h->value->failcnt;
            }
            huge_p[i] = &huge[i];
        }
        m.hugetlb = huge_p;
        m.n_hugetlb = c->n_hugetlb_stats;
    }
    if (s->n_network_stats) {
        net = xnew(Io__Containerd__Cgroups__V1__NetworkStat, s->n_network_stats);
        net_p = xnew(Io__Containerd__Cgroups__V1__NetworkStat *, s->n_network_stats);
        for (size_t i = 0; i < s->n_network_stats; i++) {
            const Grpc__NetworkStats *n = s->network_stats[i];
            io__containerd__cgroups__v1__network_stat__init(&net[i]);
            net[i].name = n->name;
            net[i].rx_bytes = n->rx_bytes;
            net[i].rx_packets = n->rx_packets;
            net[i].rx_errors = n->rx_errors;
            net[i].rx_dropped = n->rx_dropped;
            net[i].tx_bytes = n->tx_bytes;
            net[i].tx_packets = n->tx_packets;
            net[i].tx_errors = n->tx_errors;
            net[i].tx_dropped = n->tx_dropped;
            net_p[i] = &net[i];
        }
        m.network = net_p;
        m.n_network = s->n_network_stats;
    }
    out = pack(&m.base, ret_len);
    free(huge);
    free(huge_p);
    free(net);
    free(net_p);
    return out;
}

uint8_t *task_stats_pack(const void *agent_response, bool v2, size_t *ret_len,
                         const char **ret_type_url)
{
    const Grpc__StatsContainerResponse *s = agent_response;

    if (v2) {
        *ret_type_url = "io.containerd.cgroups.v2.Metrics";
        return pack_v2(s, ret_len);
    }
    *ret_type_url = "io.containerd.cgroups.v1.Metrics";
    return pack_v1(s, ret_len);
}
