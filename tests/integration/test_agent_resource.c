/* The resource RPCs of the stand-alone kata-agent on this host (issue 7
 * item 6): GetGuestDetails, GetMetrics (checked line by line against the
 * Prometheus text format), ReseedRandomDev, and the error paths of
 * MemHotplugByProbe, SetGuestDateTime and OnlineCPUMem that cannot change
 * the host; plus the log channel and the debug console on unix sockets
 * (KATA_AGENT_LOG_ADDR, KATA_AGENT_DEBUG_CONSOLE_ADDR). What would change
 * the host (onlining CPUs or memory, probing memory, setting the clock)
 * runs in tests/e2e/agent-vm/test_agent_vm_resource.c, in a QEMU guest. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "google/protobuf/empty.pb-c.h"
#include "kata/agent.pb-c.h"
#include "kata/health.pb-c.h"
#include "lib/ttrpc/ttrpc.h"
#include "tests/harness/harness.h"
#include "tests/support/agent_harness.h"

#define EMPTY &google__protobuf__empty__descriptor

static int start(struct agent_harness *h)
{
    int r = agent_harness_start(h);
    if (r == -ENOENT)
        return test_skip("%s", h->why);
    return r < 0 ? 1 : 0;
}

static bool has(char **v, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i], s) == 0)
            return true;
    return false;
}

TEST(guest_details)
{
    struct agent_harness h;
    int r = start(&h);
    if (r)
        return r;
    Grpc__GuestDetailsRequest req = GRPC__GUEST_DETAILS_REQUEST__INIT;
    req.mem_block_size = true;
    req.mem_hotplug_probe = true;
    ProtobufCMessage *m = NULL;
    ASSERT_EQ(agent_harness_call(&h, "GetGuestDetails", &req.base,
                                 &grpc__guest_details_response__descriptor, &m, NULL),
              0);
    Grpc__GuestDetailsResponse *gd = (Grpc__GuestDetailsResponse *)m;
    /* The host's own figures: the agent reads the same sysfs. */
    unsigned long long block = 0;
    FILE *f = fopen("/sys/devices/system/memory/block_size_bytes", "r");
    if (f) {
        if (fscanf(f, "%llx", &block) != 1)
            block = 0;
        fclose(f);
    }
    ASSERT_EQ(gd->mem_block_size_bytes, block);
    ASSERT_EQ(gd->support_mem_hotplug_probe, access("/sys/devices/system/memory/probe", W_OK) == 0);
    ASSERT_TRUE(gd->agent_details != NULL);
    Grpc__AgentDetails *d = gd->agent_details;
    ASSERT_TRUE(d->version && *d->version);
    ASSERT_TRUE(!d->init_daemon);
    ASSERT_TRUE(d->supports_seccomp);
    ASSERT_TRUE(has(d->storage_handlers, d->n_storage_handlers, "virtio-fs"));
    ASSERT_TRUE(has(d->storage_handlers, d->n_storage_handlers, "local"));
    ASSERT_TRUE(has(d->storage_handlers, d->n_storage_handlers, "ephemeral"));
    ASSERT_TRUE(has(d->storage_handlers, d->n_storage_handlers, "blk"));
    ASSERT_TRUE(has(d->device_handlers, d->n_device_handlers, "blk"));
    char version[64];
    snprintf(version, sizeof(version), "%s", d->version);

    /* Every storage driver announced is one the agent knows: a storage
     * with it may fail on its (empty) source, never as an unknown or
     * unimplemented driver. */
    for (size_t i = 0; i < d->n_storage_handlers; i++) {
        char mp[512];
        snprintf(mp, sizeof(mp), "%s/st-%s", test_tmpdir(), d->storage_handlers[i]);
        Grpc__Storage st = GRPC__STORAGE__INIT, *stp = &st;
        st.driver = d->storage_handlers[i];
        st.mount_point = mp;
        Grpc__CreateSandboxRequest cs = GRPC__CREATE_SANDBOX_REQUEST__INIT;
        cs.sandbox_id = (char *)"details";
        cs.storages = &stp;
        cs.n_storages = 1;
        const char *msg = NULL;
        int code = agent_harness_call(&h, "CreateSandbox", &cs.base, EMPTY, NULL, &msg);
        printf("#   storage driver %s: %s %s\n", st.driver, ttrpc_code_name(code),
               msg ? msg : "");
        ASSERT_NE(code, TTRPC_UNIMPLEMENTED);
        ASSERT_TRUE(!msg || !strstr(msg, "is unknown"));
        if (code == 0) {
            Google__Protobuf__Empty e = GOOGLE__PROTOBUF__EMPTY__INIT;
            ASSERT_EQ(agent_harness_call(&h, "DestroySandbox", &e.base, EMPTY, NULL, NULL), 0);
        }
    }
    protobuf_c_message_free_unpacked(m, NULL);
    ASSERT_EQ(agent_harness_count_mounts(test_tmpdir()), 0);

    /* Not asked for: not filled in. */
    Grpc__GuestDetailsRequest none = GRPC__GUEST_DETAILS_REQUEST__INIT;
    ASSERT_EQ(agent_harness_call(&h, "GetGuestDetails", &none.base,
                                 &grpc__guest_details_response__descriptor, &m, NULL),
              0);
    ASSERT_EQ(((Grpc__GuestDetailsResponse *)m)->mem_block_size_bytes, 0);
    protobuf_c_message_free_unpacked(m, NULL);

    /* One version for Health.Version and the details. */
    Grpc__CheckRequest check = GRPC__CHECK_REQUEST__INIT;
    ASSERT_EQ(agent_harness_call(&h, "Version", &check.base,
                                 &grpc__version_check_response__descriptor, &m, NULL),
              0);
    ASSERT_STREQ(((Grpc__VersionCheckResponse *)m)->agent_version, version);
    protobuf_c_message_free_unpacked(m, NULL);
    return agent_harness_stop(&h) != 0;
}

/* ---- Prometheus text format 0.0.4, strictly ---- */

static bool metric_name(const char **p)
{
    const char *s = *p;
    if (!(isalpha((unsigned char)*s) || *s == '_' || *s == ':'))
        return false;
    while (isalnum((unsigned char)*s) || *s == '_' || *s == ':')
        s++;
    *p = s;
    return true;
}

/* One sample line: name, optional {k="v",...}, a value, nothing else
 * (our agent sends no timestamps). Returns false on any deviation. */
static bool sample_line(const char *line, char *name, size_t size)
{
    const char *p = line;
    if (!metric_name(&p) || (size_t)(p - line) >= size)
        return false;
    memcpy(name, line, (size_t)(p - line));
    name[p - line] = '\0';
    if (*p == '{') {
        p++;
        while (*p != '}') {
            if (!metric_name(&p) || *p++ != '=' || *p++ != '"')
                return false;
            while (*p && *p != '"')
                p += *p == '\\' ? 2 : 1;
            if (*p++ != '"')
                return false;
            if (*p == ',')
                p++;
            else if (*p != '}')
                return false;
        }
        p++;
    }
    if (*p++ != ' ')
        return false;
    char *end;
    strtod(p, &end);
    return end != p && *end == '\0';
}

/* Checks every line; counts samples. Each sample's family has a TYPE line
 * before it, and no family is declared twice. */
static int check_exposition(char *text, int *ret_samples)
{
    char families[256][96];
    int nf = 0, samples = 0;
    for (char *save = NULL, *line = strtok_r(text, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        char name[96], type[32];
        if (strncmp(line, "# HELP ", 7) == 0)
            continue;
        if (strncmp(line, "# TYPE ", 7) == 0) {
            if (sscanf(line + 7, "%95s %31s", name, type) != 2)
                return printf("#   bad TYPE line: %s\n", line), -1;
            if (strcmp(type, "gauge") && strcmp(type, "counter") && strcmp(type, "untyped"))
                return printf("#   bad type: %s\n", line), -1;
            for (int i = 0; i < nf; i++)
                if (strcmp(families[i], name) == 0)
                    return printf("#   family twice: %s\n", line), -1;
            if (nf == 256)
                return -1;
            snprintf(families[nf++], sizeof(families[0]), "%s", name);
            continue;
        }
        if (!sample_line(line, name, sizeof(name)))
            return printf("#   bad sample line: %s\n", line), -1;
        bool known = false;
        for (int i = 0; i < nf; i++)
            known = known || strcmp(families[i], name) == 0;
        if (!known)
            return printf("#   sample without TYPE: %s\n", line), -1;
        samples++;
    }
    *ret_samples = samples;
    return 0;
}

static int count_host_cpus(void)
{
    char buf[256] = "";
    FILE *f = fopen("/sys/devices/system/cpu/online", "r");
    if (!f)
        return -1;
    if (!fgets(buf, sizeof(buf), f))
        buf[0] = '\0';
    fclose(f);
    int n = 0;
    for (char *p = buf; *p && *p != '\n';) {
        long a = strtol(p, &p, 10), b = a;
        if (*p == '-')
            b = strtol(p + 1, &p, 10);
        n += (int)(b - a + 1);
        if (*p == ',')
            p++;
    }
    return n;
}

TEST(metrics_are_prometheus_text)
{
    struct agent_harness h;
    int r = start(&h);
    if (r)
        return r;
    Google__Protobuf__Empty e = GOOGLE__PROTOBUF__EMPTY__INIT;
    ProtobufCMessage *m = NULL;
    ASSERT_EQ(agent_harness_call(&h, "GetMetrics", &e.base, &grpc__metrics__descriptor, &m, NULL),
              0);
    char *text = strdup(((Grpc__Metrics *)m)->metrics);
    protobuf_c_message_free_unpacked(m, NULL);
    ASSERT_TRUE(text != NULL);
    static const char *const want[] = {
        "\nkata_agent_process_resident_memory_bytes ",
        "\nkata_agent_process_open_fds ",
        "\nkata_agent_process_cpu_seconds_total ",
        "\nkata_agent_threads ",
        "\nkata_guest_meminfo{item=\"mem_total\"} ",
        "\nkata_guest_meminfo{item=\"mem_available\"} ",
        "\nkata_guest_meminfo{item=\"s_reclaimable\"} ",
        "\nkata_guest_load{item=\"load1\"} ",
        "\nkata_guest_tasks{item=\"max\"} ",
        "\nkata_guest_cpu_time{cpu=\"total\",item=\"user\"} ",
        "\nkata_guest_cpu_time{cpu=\"0\",item=\"idle\"} ",
        "\nkata_guest_time_seconds ",
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        if (!strstr(text, want[i])) {
            printf("#   missing:%s\n", want[i]);
            free(text);
            return 1;
        }
    char cpus[64];
    snprintf(cpus, sizeof(cpus), "\nkata_guest_cpus_online %d\n", count_host_cpus());
    ASSERT_TRUE(strstr(text, cpus) != NULL);
    int samples = 0;
    r = check_exposition(text, &samples);
    free(text);
    ASSERT_EQ(r, 0);
    ASSERT_GT(samples, 20);
    printf("#   %d samples\n", samples);
    return agent_harness_stop(&h) != 0;
}

TEST(reseed_random_dev)
{
    if (access("/dev/random", W_OK) < 0)
        return test_skip("/dev/random not writable (not root?)");
    struct agent_harness h;
    int r = start(&h);
    if (r)
        return r;
    uint8_t seed[64];
    for (size_t i = 0; i < sizeof(seed); i++)
        seed[i] = (uint8_t)(i * 37 + 11);
    Grpc__ReseedRandomDevRequest req = GRPC__RESEED_RANDOM_DEV_REQUEST__INIT;
    req.data.data = seed;
    req.data.len = sizeof(seed);
    ASSERT_EQ(agent_harness_call(&h, "ReseedRandomDev", &req.base, EMPTY, NULL, NULL), 0);

    const char *msg = NULL;
    req.data.len = 0;
    ASSERT_EQ(agent_harness_call(&h, "ReseedRandomDev", &req.base, EMPTY, NULL, &msg),
              TTRPC_INVALID_ARGUMENT);
    ASSERT_TRUE(strstr(msg, "data") != NULL);
    uint8_t *big = calloc(1, 65537);
    ASSERT_TRUE(big != NULL);
    req.data.data = big;
    req.data.len = 65537;
    r = agent_harness_call(&h, "ReseedRandomDev", &req.base, EMPTY, NULL, &msg);
    free(big);
    ASSERT_EQ(r, TTRPC_INVALID_ARGUMENT);
    ASSERT_TRUE(strstr(msg, "at most 65536") != NULL);
    return agent_harness_stop(&h) != 0;
}

TEST(bad_input_that_cannot_touch_the_host)
{
    struct agent_harness h;
    int r = start(&h);
    if (r)
        return r;
    const char *msg = NULL;
    Grpc__SetGuestDateTimeRequest t = GRPC__SET_GUEST_DATE_TIME_REQUEST__INIT;
    t.sec = 1700000000;
    t.usec = 1000000;
    ASSERT_EQ(agent_harness_call(&h, "SetGuestDateTime", &t.base, EMPTY, NULL, &msg),
              TTRPC_INVALID_ARGUMENT);
    ASSERT_TRUE(strstr(msg, "Usec") != NULL);
    t.sec = -5;
    t.usec = 0;
    ASSERT_EQ(agent_harness_call(&h, "SetGuestDateTime", &t.base, EMPTY, NULL, &msg),
              TTRPC_INVALID_ARGUMENT);
    ASSERT_TRUE(strstr(msg, "Sec") != NULL);

    /* Hosts rarely have the probe interface; never probe a real one. */
    if (access("/sys/devices/system/memory/probe", F_OK) < 0) {
        uint64_t addr = 0x100000000ull;
        Grpc__MemHotplugByProbeRequest p = GRPC__MEM_HOTPLUG_BY_PROBE_REQUEST__INIT;
        p.memhotplugprobeaddr = &addr;
        p.n_memhotplugprobeaddr = 1;
        ASSERT_EQ(agent_harness_call(&h, "MemHotplugByProbe", &p.base, EMPTY, NULL, &msg),
                  TTRPC_UNIMPLEMENTED);
        ASSERT_TRUE(strstr(msg, "memory probe interface") != NULL);
    } else {
        printf("#   this host has a memory probe file: MemHotplugByProbe not called\n");
    }

    /* OnlineCPUMem for CPUs only, on a host whose CPUs are all online:
     * nothing to do, and a count that cannot be met ends with a clear
     * error once agent.hotplug_timeout (3 s by default) ran out. */
    char buf[64] = "";
    FILE *f = fopen("/sys/devices/system/cpu/offline", "r");
    if (f) {
        if (!fgets(buf, sizeof(buf), f))
            buf[0] = '\0';
        fclose(f);
    }
    if (buf[0] == '\n' || buf[0] == '\0') {
        Grpc__OnlineCPUMemRequest o = GRPC__ONLINE_CPUMEM_REQUEST__INIT;
        o.wait = true;
        o.cpu_only = true;
        ASSERT_EQ(agent_harness_call(&h, "OnlineCPUMem", &o.base, EMPTY, NULL, NULL), 0);
        o.nb_cpus = 1;
        ASSERT_EQ(agent_harness_call(&h, "OnlineCPUMem", &o.base, EMPTY, NULL, &msg),
                  TTRPC_DEADLINE_EXCEEDED);
        ASSERT_TRUE(strstr(msg, "nb_cpus: 1 requested") != NULL);
        /* without wait the answer comes at once; the outcome is only logged */
        o.wait = false;
        ASSERT_EQ(agent_harness_call(&h, "OnlineCPUMem", &o.base, EMPTY, NULL, NULL), 0);
    } else {
        printf("#   this host has offline CPUs (%s): OnlineCPUMem not called\n", buf);
    }
    return agent_harness_stop(&h) != 0;
}

/* Connects to a unix socket path, retrying while the agent sets it up. */
static int dial(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Reads from fd until needle shows up (true) or 30 s pass. */
static bool read_until(int fd, const char *needle, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < 300 && !strstr(buf, needle); i++) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 100) <= 0)
            continue;
        ssize_t n = read(fd, buf + used, size - 1 - used);
        if (n <= 0)
            break;
        used += (size_t)n;
        buf[used] = '\0';
        if (used + 1 >= size)
            used = 0;
    }
    return strstr(buf, needle) != NULL;
}

TEST(debug_console_and_log_channel_on_unix_sockets)
{
    if (access("/bin/sh", X_OK) < 0)
        return test_skip("no /bin/sh for the debug console");
    char console[256], logsock[256], buf[8192];
    snprintf(console, sizeof(console), "%s/console.sock", test_tmpdir());
    snprintf(logsock, sizeof(logsock), "%s/log.sock", test_tmpdir());
    char uri[300];
    snprintf(uri, sizeof(uri), "unix://%s", console);
    setenv("KATA_AGENT_DEBUG_CONSOLE_ADDR", uri, 1);
    snprintf(uri, sizeof(uri), "unix://%s", logsock);
    setenv("KATA_AGENT_LOG_ADDR", uri, 1);
    setenv("KATA_AGENT_LOG_LEVEL", "info", 1);
    struct agent_harness h;
    int r = start(&h);
    unsetenv("KATA_AGENT_DEBUG_CONSOLE_ADDR");
    unsetenv("KATA_AGENT_LOG_ADDR");
    unsetenv("KATA_AGENT_LOG_LEVEL");
    if (r)
        return r;

    /* The log: the agent says so on the channel itself once we are there. */
    int lfd = dial(logsock);
    ASSERT_TRUE(lfd >= 0);
    ASSERT_TRUE(read_until(lfd, "log channel: a host connected", buf, sizeof(buf)));
    ASSERT_TRUE(strstr(buf, "source=agent") != NULL);

    /* The console: a shell on the connection. */
    int cfd = dial(console);
    ASSERT_TRUE(cfd >= 0);
    static const char cmd[] = "echo dc-$((40+2))\n";
    ASSERT_EQ(write(cfd, cmd, sizeof(cmd) - 1), (ssize_t)(sizeof(cmd) - 1));
    ASSERT_TRUE(read_until(cfd, "dc-42", buf, sizeof(buf)));
    /* the session is logged on the channel */
    ASSERT_TRUE(read_until(lfd, "debug console", buf, sizeof(buf)));
    static const char bye[] = "exit\n";
    ASSERT_EQ(write(cfd, bye, sizeof(bye) - 1), (ssize_t)(sizeof(bye) - 1));
    ASSERT_TRUE(read_until(lfd, "exited with 0", buf, sizeof(buf)));
    close(cfd);

    /* A second session left running: stopping the agent must end it. */
    cfd = dial(console);
    ASSERT_TRUE(cfd >= 0);
    static const char pid_cmd[] = "echo pid=$$.\n";
    ASSERT_EQ(write(cfd, pid_cmd, sizeof(pid_cmd) - 1), (ssize_t)(sizeof(pid_cmd) - 1));
    ASSERT_TRUE(read_until(cfd, "\npid=", buf, sizeof(buf)));
    if (!strstr(strstr(buf, "\npid="), ".\n"))
        ASSERT_TRUE(read_until(cfd, ".\n", buf + strlen(buf), sizeof(buf) - strlen(buf)));
    /* bash -i without a tty echoes the command line: the answer is the
     * line that starts with pid= and a digit. */
    const char *p = strstr(buf, "\npid=");
    ASSERT_TRUE(p != NULL);
    int shell = atoi(p + 5);
    ASSERT_GT(shell, 1);
    ASSERT_EQ(kill(shell, 0), 0);
    close(lfd);
    ASSERT_EQ(agent_harness_stop(&h), 0);
    ASSERT_EQ(kill(shell, 0), -1);
    ASSERT_EQ(errno, ESRCH);
    close(cfd);
    return 0;
}

/* The RPCs this agent does not implement answer UNIMPLEMENTED naming the
 * method (agent/README.md lists them), whatever the request holds. */
TEST(unimplemented_rpcs_say_so)
{
    static const char *const methods[] = {
        "UpdateEphemeralMounts", "RemoveStaleVirtiofsShareMounts",
        "GetDiagnosticData",     "GetIPTables",
        "SetIPTables",           "MemAgentMemcgSet",
        "MemAgentCompactSet",    "AddSwap",
        "AddSwapPath",           "GetVolumeStats",
        "ResizeVolume",          "SetPolicy",
    };
    struct agent_harness h;
    int r = start(&h);
    if (r)
        return r;
    Google__Protobuf__Empty e = GOOGLE__PROTOBUF__EMPTY__INIT;
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
        const char *msg = NULL;
        /* an empty message decodes as any request type's defaults */
        ASSERT_EQ(agent_harness_call(&h, methods[i], &e.base, EMPTY, NULL, &msg),
                  TTRPC_UNIMPLEMENTED);
        ASSERT_TRUE(msg && strstr(msg, methods[i]) != NULL);
    }
    return agent_harness_stop(&h) != 0;
}

/* Writes cmd to the pty master every half second until want shows up in
 * what comes back (30 s at most). A master reads EIO while no shell has
 * the other side open, between two shells. */
static bool tty_until(int master, const char *cmd, const char *want, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < 60 && !strstr(buf, want); i++) {
        /* EIO while no shell has the tty open: try again later */
        if (*cmd && write(master, cmd, strlen(cmd)) < 0 && errno != EIO)
            return false;
        for (int j = 0; j < 5 && !strstr(buf, want); j++) {
            struct pollfd p = {.fd = master, .events = POLLIN};
            if (poll(&p, 1, 100) <= 0)
                continue;
            ssize_t n = read(master, buf + used, size - 1 - used);
            if (n <= 0) {
                /* EIO at once while the tty has no shell: pace the retries */
                nanosleep(&(struct timespec){0, 100 * 1000 * 1000}, NULL);
                break;
            }
            used += (size_t)n;
            buf[used] = '\0';
            if (used + 1 >= size)
                used = 0;
        }
    }
    return strstr(buf, want) != NULL;
}

/* Console mode, on a pty standing in for the VM's console: a shell there,
 * started again after it exits, gone when the agent stops. */
TEST(debug_console_on_a_tty_comes_back)
{
    if (access("/bin/sh", X_OK) < 0)
        return test_skip("no /bin/sh for the debug console");
    int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    ASSERT_TRUE(master >= 0);
    ASSERT_EQ(grantpt(master), 0);
    ASSERT_EQ(unlockpt(master), 0);
    char uri[300], buf[8192];
    snprintf(uri, sizeof(uri), "serial://%s", ptsname(master));
    setenv("KATA_AGENT_DEBUG_CONSOLE_ADDR", uri, 1);
    struct agent_harness h;
    int r = start(&h);
    unsetenv("KATA_AGENT_DEBUG_CONSOLE_ADDR");
    if (r) {
        close(master);
        return r;
    }
    ASSERT_TRUE(tty_until(master, "echo tty-$((6*7))\n", "tty-42", buf, sizeof(buf)));
    static const char bye[] = "exit\n";
    ASSERT_EQ(write(master, bye, sizeof(bye) - 1), (ssize_t)(sizeof(bye) - 1));
    /* a new shell (DEBUG_CONSOLE_RESTART_MS later) answers, with a new pid */
    ASSERT_TRUE(tty_until(master, "echo again-$((1+1)) pid=$$.\n", "again-2 pid=", buf,
                          sizeof(buf)));
    /* the echoed command line has "pid=$$", the answer the number */
    const char *p = strstr(buf, "again-2 pid=");
    ASSERT_TRUE(p != NULL);
    int shell = atoi(p + strlen("again-2 pid="));
    ASSERT_GT(shell, 1);
    ASSERT_EQ(kill(shell, 0), 0);
    ASSERT_EQ(agent_harness_stop(&h), 0);
    ASSERT_EQ(kill(shell, 0), -1);
    ASSERT_EQ(errno, ESRCH);
    close(master);
    return 0;
}
