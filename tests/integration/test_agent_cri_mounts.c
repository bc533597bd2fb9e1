/* What CRI's containers need from the agent's mount code, with the
 * stand-alone kata-agent on this host (no VM): a single-file bind carrying
 * the options CRI gives /etc/hostname, /etc/hosts and /etc/resolv.conf
 * ("rbind", "rprivate", "rw"; the propagation change used to hit the file
 * under the new bind and fail with EINVAL), a read-only directory bind with
 * "rprivate", and a terminal whose pty `tty` can name (allocated from the
 * container's own devpts, as runc does, so it is /dev/pts/0). Needs root
 * and busybox-static; skips otherwise. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "google/protobuf/empty.pb-c.h"
#include "kata/agent.pb-c.h"
#include "tests/harness/harness.h"
#include "tests/support/agent_harness.h"

#define EMPTY &google__protobuf__empty__descriptor

static int write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "we");

    if (!f)
        return -errno;
    fputs(text, f);
    return fclose(f) == 0 ? 0 : -errno;
}

static int run(struct agent_harness *h, const char *bundle)
{
    static char *file_opts[] = {(char *)"rbind", (char *)"rprivate", (char *)"rw"};
    const char *args[] = {"sh", "-c",
                          "cat /etc/hostname; ls /data; touch /data/x 2>/dev/null || echo ro; "
                          "tty",
                          NULL};
    char hostname[400], data[400], out[4096];
    struct agent_harness_spec s;
    Grpc__CreateContainerRequest req = GRPC__CREATE_CONTAINER_REQUEST__INIT;
    const char *msg = NULL;
    int code;

    snprintf(hostname, sizeof(hostname), "%s/hostname", h->dir);
    snprintf(data, sizeof(data), "%s/data", h->dir);
    ASSERT_OK(write_file(hostname, "cri-pod\n"));
    ASSERT_OK(mkdir(data, 0755) < 0 ? -errno : 0);
    snprintf(out, sizeof(out), "%s/seen", data);
    ASSERT_OK(write_file(out, ""));

    agent_harness_spec_init(&s, bundle, args);
    s.process.terminal = true;
    /* The harness fills 7 of its 8 mounts; the file bind is the 8th, the
     * directory bind replaces /dev/mqueue. */
    grpc__mount__init(&s.mounts[7]);
    s.mounts[7].destination = (char *)"/etc/hostname";
    s.mounts[7].source = hostname;
    s.mounts[7].type = (char *)"bind";
    s.mounts[7].options = file_opts;
    s.mounts[7].n_options = 3;
    s.mount_ptrs[7] = &s.mounts[7];
    s.spec.n_mounts = 8;
    static char *dir_opts[] = {(char *)"rbind", (char *)"rprivate", (char *)"ro"};
    s.mounts[4].destination = (char *)"/data";
    s.mounts[4].source = data;
    s.mounts[4].type = (char *)"bind";
    s.mounts[4].options = dir_opts;
    s.mounts[4].n_options = 3;

    req.container_id = (char *)"cri1";
    req.exec_id = (char *)"cri1";
    req.oci = &s.spec;
    code = agent_harness_call(h, "CreateContainer", &req.base, EMPTY, NULL, &msg);
    if (code != 0)
        printf("#   CreateContainer: %d %s\n", code, msg ? msg : "");
    ASSERT_EQ(code, 0);
    ASSERT_EQ(agent_harness_call_cid(h, "StartContainer", "cri1", NULL), 0);
    ASSERT_GE(agent_harness_read_all(h, "cri1", "cri1", false, out, sizeof(out)), 0);
    ASSERT_EQ(agent_harness_wait(h, "cri1", "cri1"), 0);
    printf("#   output: %s", out);
    /* A pty turns \n into \r\n. */
    ASSERT_STREQ(out, "cri-pod\r\nseen\r\nro\r\n/dev/pts/0\r\n");
    ASSERT_EQ(agent_harness_call_cid(h, "RemoveContainer", "cri1", NULL), 0);
    ASSERT_EQ(agent_harness_count_mounts(h->dir), 0);
    return 0;
}

TEST(cri_binds_with_rprivate_and_a_named_terminal)
{
    struct agent_harness h;
    char bundle[300], why[256] = "";
    int r = agent_harness_start(&h);

    if (r == -ENOENT)
        return test_skip("%s", h.why);
    if (r < 0)
        return 1;
    snprintf(bundle, sizeof(bundle), "%s/bundle", h.dir);
    if (agent_harness_bundle(bundle, why, sizeof(why)) < 0) {
        agent_harness_stop(&h);
        return test_skip("%s", why);
    }
    r = run(&h, bundle);
    if (agent_harness_stop(&h) != 0)
        r = 1;
    return r;
}
