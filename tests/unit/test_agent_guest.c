/* agent/guest.c on a fake sysfs tree: which CPUs and memory blocks
 * OnlineCPUMem touches (nb_cpus, cpu_only, entries without an online
 * file), the count check that fails with a message once the timeout ran
 * out, the online-CPU count of GetMetrics, the block size and probe
 * support of GetGuestDetails, and MemHotplugByProbe's writes and errors. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/guest.h"
#include "lib/err.h"
#include "tests/harness/harness.h"

static char root[512];

static void put(const char *rel, const char *text)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", root, rel);
    for (char *p = path + strlen(root) + 1; (p = strchr(p, '/')); p++) {
        *p = '\0';
        mkdir(path, 0755);
        *p = '/';
    }
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static char *get(const char *rel)
{
    static char buf[256];
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", root, rel);
    buf[0] = '\0';
    FILE *f = fopen(path, "r");
    if (f) {
        if (!fgets(buf, sizeof(buf), f))
            buf[0] = '\0';
        fclose(f);
    }
    return buf;
}

/* cpu0 (no online file), cpu1 online, cpu2 and cpu3 offline; memory0
 * online, memory1 offline; plus lookalikes that must be left alone. */
static void fake_tree(const char *name)
{
    snprintf(root, sizeof(root), "%s/%s", test_tmpdir(), name);
    mkdir(root, 0755);
    put("devices/system/cpu/cpu0/topology/x", "");
    put("devices/system/cpu/cpu1/online", "1\n");
    put("devices/system/cpu/cpu2/online", "0\n");
    put("devices/system/cpu/cpu3/online", "0\n");
    put("devices/system/cpu/cpufreq/online", "0\n");
    put("devices/system/cpu/online", "0-1\n");
    put("devices/system/memory/memory0/online", "1\n");
    put("devices/system/memory/memory1/online", "0\n");
    put("devices/system/memory/block_size_bytes", "8000000\n");
}

TEST(online_cpus_only)
{
    fake_tree("cpus");
    struct guest_online_req req = {.nb_cpus = 2, .cpu_only = true, .timeout_ms = 0};
    struct err e = ERR_INIT;
    ASSERT_EQ(guest_online(root, &req, &e), 2);
    ASSERT_STREQ(get("devices/system/cpu/cpu2/online"), "1\n");
    ASSERT_STREQ(get("devices/system/cpu/cpu3/online"), "1\n");
    ASSERT_STREQ(get("devices/system/cpu/cpufreq/online"), "0\n");
    ASSERT_STREQ(get("devices/system/memory/memory1/online"), "0\n");
    /* nothing left to do: a second call onlines nothing and succeeds */
    req.nb_cpus = 0;
    ASSERT_EQ(guest_online(root, &req, &e), 0);
    return 0;
}

TEST(online_cpus_and_memory)
{
    fake_tree("all");
    struct guest_online_req req = {.nb_cpus = 0, .cpu_only = false, .timeout_ms = 0};
    struct err e = ERR_INIT;
    ASSERT_EQ(guest_online(root, &req, &e), 2);
    ASSERT_STREQ(get("devices/system/memory/memory1/online"), "1\n");
    ASSERT_STREQ(get("devices/system/memory/memory0/online"), "1\n");
    return 0;
}

TEST(online_count_not_met)
{
    fake_tree("short");
    struct guest_online_req req = {.nb_cpus = 3, .cpu_only = true, .timeout_ms = 120};
    struct err e = ERR_INIT;
    ASSERT_EQ(guest_online(root, &req, &e), -ETIMEDOUT);
    ASSERT_TRUE(strstr(e.msg, "nb_cpus: 3 requested, only 2") != NULL);
    ASSERT_TRUE(strstr(e.msg, "120 ms") != NULL);
    /* the two that existed did come online */
    ASSERT_STREQ(get("devices/system/cpu/cpu3/online"), "1\n");

    /* no cpu folder at all */
    struct err e2 = ERR_INIT;
    ASSERT_EQ(guest_online("/nonexistent-sysfs", &req, &e2), -ENOENT);
    ASSERT_TRUE(strstr(e2.msg, "/nonexistent-sysfs/devices/system/cpu") != NULL);
    return 0;
}

TEST(cpus_online_count)
{
    fake_tree("count");
    ASSERT_EQ(guest_cpus_online(root), 2);
    put("devices/system/cpu/online", "0-3,5,7-8\n");
    ASSERT_EQ(guest_cpus_online(root), 7);
    put("devices/system/cpu/online", "0\n");
    ASSERT_EQ(guest_cpus_online(root), 1);
    put("devices/system/cpu/online", "3-1\n");
    ASSERT_EQ(guest_cpus_online(root), -EINVAL);
    put("devices/system/cpu/online", "x\n");
    ASSERT_EQ(guest_cpus_online(root), -EINVAL);
    ASSERT_EQ(guest_cpus_online("/nonexistent-sysfs"), -ENOENT);
    return 0;
}

TEST(memory_block_size_and_probe)
{
    fake_tree("probe");
    ASSERT_EQ(guest_mem_block_size(root), 0x8000000);
    ASSERT_EQ(guest_mem_block_size("/nonexistent-sysfs"), 0);
    ASSERT_TRUE(!guest_mem_probe_supported(root));
    uint64_t addrs[2] = {0x100000000ull, 0x108000000ull};
    struct err e = ERR_INIT;
    ASSERT_EQ(guest_mem_probe(root, addrs, 2, &e), -ENOTSUP);
    ASSERT_TRUE(strstr(e.msg, "no memory probe interface") != NULL);

    put("devices/system/memory/probe", "");
    ASSERT_TRUE(guest_mem_probe_supported(root));
    struct err e2 = ERR_INIT;
    ASSERT_EQ(guest_mem_probe(root, addrs, 2, &e2), 0);
    /* each address written in turn (a regular file keeps the last one) */
    ASSERT_STREQ(get("devices/system/memory/probe"), "0x108000000");

    struct err e3 = ERR_INIT;
    ASSERT_EQ(guest_mem_probe(root, addrs, GUEST_PROBE_MAX + 1, &e3), -EINVAL);
    ASSERT_TRUE(strstr(e3.msg, "memHotplugProbeAddr") != NULL);
    return 0;
}

TEST(reseed_and_time_arguments)
{
    struct err e = ERR_INIT;
    ASSERT_EQ(guest_reseed("", 0, &e), -EINVAL);
    ASSERT_TRUE(strstr(e.msg, "data: empty") != NULL);
    struct err e2 = ERR_INIT;
    ASSERT_EQ(guest_reseed("x", GUEST_RESEED_MAX + 1, &e2), -EINVAL);
    struct err e3 = ERR_INIT;
    ASSERT_EQ(guest_set_time(0, -1, &e3), -EINVAL);
    ASSERT_TRUE(strstr(e3.msg, "Usec") != NULL);
    struct err e4 = ERR_INIT;
    ASSERT_EQ(guest_set_time(-1, 0, &e4), -EINVAL);
    ASSERT_TRUE(strstr(e4.msg, "Sec") != NULL);
    return 0;
}
