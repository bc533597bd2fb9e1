/* Agent benchmark helper, run by tests/bench/agent. Starts the stand-alone
 * agent (tests/support/agent_harness), builds a busybox bundle in BUNDLE
 * (argv[1]) and prints BENCH lines: idle RSS, binary size, the mean
 * create+start+wait+remove time of `true` over N runs, and 1,000
 * exec+wait cycles in one container with RSS and fd counts before/after. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "google/protobuf/empty.pb-c.h"
#include "lib/loop.h"
#include "tests/support/agent_harness.h"

#define EMPTY &google__protobuf__empty__descriptor

const char *test_tmpdir(void);
const char *test_tmpdir(void)
{
    static char dir[64];
    if (!*dir) {
        snprintf(dir, sizeof(dir), "/tmp/agent-bench-XXXXXX");
        if (!mkdtemp(dir))
            abort();
    }
    return dir;
}

static long rss_kb(pid_t pid)
{
    char path[64], line[256];
    long kb = -1;
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "re");
    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, "VmRSS: %ld", &kb) == 1)
            break;
    if (f)
        fclose(f);
    return kb;
}

static int call(struct agent_harness *h, const char *m, const ProtobufCMessage *req,
                const ProtobufCMessageDescriptor *d, ProtobufCMessage **resp)
{
    const char *msg;
    int code = agent_harness_call(h, m, req, d, resp, &msg);
    if (code)
        fprintf(stderr, "%s: %s\n", m, msg);
    return code;
}

static int run_once(struct agent_harness *h, const char *bundle, const char *cid,
                    const char *const *args)
{
    struct agent_harness_spec s;
    agent_harness_spec_init(&s, bundle, args);
    Grpc__CreateContainerRequest cr = GRPC__CREATE_CONTAINER_REQUEST__INIT;
    cr.container_id = cr.exec_id = (char *)cid;
    cr.oci = &s.spec;
    Grpc__StartContainerRequest sr = GRPC__START_CONTAINER_REQUEST__INIT;
    sr.container_id = (char *)cid;
    Grpc__WaitProcessRequest wr = GRPC__WAIT_PROCESS_REQUEST__INIT;
    wr.container_id = wr.exec_id = (char *)cid;
    if (call(h, "CreateContainer", &cr.base, EMPTY, NULL) ||
        call(h, "StartContainer", &sr.base, EMPTY, NULL) ||
        call(h, "WaitProcess", &wr.base, &grpc__wait_process_response__descriptor, NULL))
        return -1;
    return 0;
}

static int remove_ctr(struct agent_harness *h, const char *cid)
{
    Grpc__RemoveContainerRequest rr = GRPC__REMOVE_CONTAINER_REQUEST__INIT;
    rr.container_id = (char *)cid;
    return call(h, "RemoveContainer", &rr.base, EMPTY, NULL);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    struct agent_harness h;
    char why[256];
    int runs = argc > 2 ? atoi(argv[2]) : 20, execs = argc > 3 ? atoi(argv[3]) : 1000;
    if (argc < 2) {
        fprintf(stderr, "usage: agent_bench BUNDLE [RUNS] [EXECS]\n");
        return 2;
    }
    if (agent_harness_start(&h) < 0) {
        fprintf(stderr, "skip: %s\n", h.why);
        return 77;
    }
    if (agent_harness_bundle(argv[1], why, sizeof(why)) < 0) {
        fprintf(stderr, "skip: %s\n", why);
        agent_harness_stop(&h);
        return 77;
    }
    usleep(200000);
    printf("BENCH agent_idle_rss_kb %ld kB\n", rss_kb(h.pid));

    const char *t[] = {"true", NULL};
    double t0 = now();
    for (int i = 0; i < runs; i++) {
        char cid[32];
        snprintf(cid, sizeof(cid), "run%d", i);
        if (run_once(&h, argv[1], cid, t) < 0 || remove_ctr(&h, cid))
            return 1;
    }
    printf("BENCH agent_run_true_ms %.2f ms\n", (now() - t0) * 1000 / runs);

    struct agent_harness_spec s;
    const char *sl[] = {"sleep", "100000", NULL};
    agent_harness_spec_init(&s, argv[1], sl);
    Grpc__CreateContainerRequest cr = GRPC__CREATE_CONTAINER_REQUEST__INIT;
    cr.container_id = cr.exec_id = (char *)"execs";
    cr.oci = &s.spec;
    Grpc__StartContainerRequest sr = GRPC__START_CONTAINER_REQUEST__INIT;
    sr.container_id = (char *)"execs";
    if (call(&h, "CreateContainer", &cr.base, EMPTY, NULL) ||
        call(&h, "StartContainer", &sr.base, EMPTY, NULL))
        return 1;
    long rss0 = 0, fds0 = 0;
    t0 = now();
    for (int i = 0; i < execs; i++) {
        char eid[32];
        snprintf(eid, sizeof(eid), "e%d", i);
        Grpc__ExecProcessRequest er = GRPC__EXEC_PROCESS_REQUEST__INIT;
        er.container_id = (char *)"execs";
        er.exec_id = eid;
        struct agent_harness_spec ps;
        agent_harness_spec_init(&ps, argv[1], t);
        er.process = &ps.process;
        Grpc__WaitProcessRequest wr = GRPC__WAIT_PROCESS_REQUEST__INIT;
        wr.container_id = (char *)"execs";
        wr.exec_id = eid;
        if (call(&h, "ExecProcess", &er.base, EMPTY, NULL) ||
            call(&h, "WaitProcess", &wr.base, &grpc__wait_process_response__descriptor, NULL))
            return 1;
        if (i == 9) { /* after warm-up: pool threads, allocator arenas */
            rss0 = rss_kb(h.pid);
            fds0 = agent_harness_count_fds(h.pid);
        }
    }
    double per = (now() - t0) * 1000 / execs;
    long rss1 = rss_kb(h.pid), fds1 = agent_harness_count_fds(h.pid);
    printf("BENCH agent_exec_wait_ms %.2f ms\n", per);
    printf("BENCH agent_exec_rss_before_kb %ld kB\n", rss0);
    printf("BENCH agent_exec_rss_after_kb %ld kB\n", rss1);
    printf("BENCH agent_exec_fds_before %ld fds\n", fds0);
    printf("BENCH agent_exec_fds_after %ld fds\n", fds1);
    remove_ctr(&h, "execs");
    return agent_harness_stop(&h) == 0 ? 0 : 1;
}
