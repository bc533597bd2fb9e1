/* shim/agent_spec.c: the OCI spec rewritten for the guest (Kata's
 * constrainGRPCSpec): root path, namespaces, cgroupsPath, and host bind
 * mounts shared with the guest or dropped (agent_spec_share_binds). */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lib/err.h"
#include "shim/agent_spec-internal.h"
#include "shim/agent_spec.h"
#include "tests/harness/harness.h"

static const char spec_json[] =
    "{\"ociVersion\":\"1.0.2\",\"process\":{\"args\":[\"sh\"],\"cwd\":\"/\"},"
    "\"root\":{\"path\":\"rootfs\"},"
    "\"mounts\":["
    "{\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\"},"
    "{\"destination\":\"/etc/hosts\",\"type\":\"bind\",\"source\":\"/var/lib/x/hosts\","
    "\"options\":[\"rbind\",\"ro\"]},"
    "{\"destination\":\"/gone\",\"type\":\"none\",\"source\":\"/run/x.sock\","
    "\"options\":[\"bind\"]},"
    "{\"destination\":\"/dev/kmsg\",\"type\":\"bind\",\"source\":\"/dev/kmsg\","
    "\"options\":[\"bind\"]}],"
    "\"linux\":{\"cgroupsPath\":\"system.slice:cri:abc\","
    "\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"network\",\"path\":\"/var/run/netns/x\"},"
    "{\"type\":\"ipc\",\"path\":\"/proc/1/ns/ipc\"},{\"type\":\"mount\"}]}}";

struct seen {
    int calls;
    bool ro_hosts;
};

static int fake_share(const char *source, const char *destination, bool readonly, char *guest,
                      size_t size, void *ud)
{
    struct seen *s = ud;
    s->calls++;
    if (strcmp(source, "/run/x.sock") == 0)
        return 0; /* a socket: dropped */
    if (strcmp(destination, "/etc/hosts") == 0)
        s->ro_hosts = readonly;
    snprintf(guest, size, "/run/kata-containers/shared/containers/c1-0123456789abcdef-hosts");
    return 1;
}

TEST(spec_rewritten_for_the_guest)
{
    struct agent_spec *s = NULL;
    struct err e = ERR_INIT;
    struct seen seen = {0};

    ASSERT_OK(agent_spec_parse(spec_json, sizeof(spec_json) - 1, "c1",
                               "/run/kata-containers/shared/containers/c1/rootfs", &s, &e));
    Grpc__Spec *spec = s->spec;
    ASSERT_STREQ(spec->root->path, "/run/kata-containers/shared/containers/c1/rootfs");
    ASSERT_STREQ(spec->linux_->cgroupspath, "/kata/c1");
    ASSERT_EQ(spec->linux_->n_namespaces, 3); /* network gone */
    for (size_t i = 0; i < spec->linux_->n_namespaces; i++) {
        ASSERT_TRUE(strcmp(spec->linux_->namespaces[i]->type, "network") != 0);
        ASSERT_STREQ(spec->linux_->namespaces[i]->path, "");
    }

    ASSERT_EQ(agent_spec_share_binds(s, fake_share, &seen), 1);
    ASSERT_EQ(seen.calls, 2); /* /dev/kmsg is not shared */
    ASSERT_TRUE(seen.ro_hosts);
    ASSERT_EQ(spec->n_mounts, 3);
    ASSERT_STREQ(spec->mounts[0]->destination, "/proc");
    ASSERT_STREQ(spec->mounts[1]->source,
                 "/run/kata-containers/shared/containers/c1-0123456789abcdef-hosts");
    ASSERT_STREQ(spec->mounts[2]->source, "/dev/kmsg");
    agent_spec_free(s);
    return 0;
}

static int failing_share(const char *source, const char *destination, bool readonly, char *guest,
                         size_t size, void *ud)
{
    (void)source, (void)destination, (void)readonly, (void)guest, (void)size, (void)ud;
    return -EIO;
}

TEST(share_failure_keeps_the_spec_whole)
{
    struct agent_spec *s = NULL;
    struct err e = ERR_INIT;

    ASSERT_OK(agent_spec_parse(spec_json, sizeof(spec_json) - 1, "c1", "/r", &s, &e));
    ASSERT_EQ(agent_spec_share_binds(s, failing_share, NULL), -EIO);
    ASSERT_EQ(s->spec->n_mounts, 4);
    agent_spec_free(s);
    return 0;
}

/* CRI: a container joining the pod's UTS namespace (a host path the guest
 * cannot follow) loses its UTS namespace, so it shares the guest's, whose
 * hostname CreateSandbox set from the sandbox container's spec; the
 * sandbox container, with a UTS namespace of its own, keeps it and its
 * hostname. HOSTNAME= in the environment changes nothing. */
struct uts_view {
    char hostname[128];   /* the spec's, after the rewrite */
    char sandbox[128];    /* agent_spec_hostname() */
    bool has_uts;
    char uts_path[64];
};

static int uts_of(const char *uts, const char *hostname, const char *env, struct uts_view *v)
{
    char json[1024];
    struct agent_spec *s = NULL;
    struct err e = ERR_INIT;
    int r;

    snprintf(json, sizeof(json),
             "{\"ociVersion\":\"1.0.2\",%s\"process\":{\"args\":[\"sh\"],\"cwd\":\"/\","
             "\"env\":[\"PATH=/bin\"%s]},\"root\":{\"path\":\"rootfs\"},"
             "\"linux\":{\"namespaces\":[{\"type\":\"uts\"%s},{\"type\":\"mount\"}]}}",
             hostname, env, uts);
    r = agent_spec_parse(json, strlen(json), "c1", "/r", &s, &e);
    if (r < 0)
        return r;
    memset(v, 0, sizeof(*v));
    snprintf(v->hostname, sizeof(v->hostname), "%s", s->spec->hostname ? s->spec->hostname : "");
    r = agent_spec_hostname(s, v->sandbox, sizeof(v->sandbox), &e);
    for (size_t i = 0; i < s->spec->linux_->n_namespaces; i++) {
        const Grpc__LinuxNamespace *ns = s->spec->linux_->namespaces[i];
        if (strcmp(ns->type, "uts") == 0) {
            v->has_uts = true;
            snprintf(v->uts_path, sizeof(v->uts_path), "%s", ns->path ? ns->path : "");
        }
    }
    agent_spec_free(s);
    return r;
}

TEST(pod_containers_share_the_guest_uts_namespace)
{
    struct uts_view v;

    /* A pod container: joins the pod's UTS namespace by a host path. */
    ASSERT_OK(uts_of(",\"path\":\"/proc/42/ns/uts\"", "\"hostname\":\"pod-a\",",
                     ",\"HOSTNAME=pod-a\"", &v));
    ASSERT_TRUE(!v.has_uts);
    ASSERT_STREQ(v.sandbox, "pod-a");
    /* No hostname and HOSTNAME= only: nothing is made up from it. */
    ASSERT_OK(uts_of(",\"path\":\"/proc/42/ns/uts\"", "", ",\"HOSTNAME=pod-a\"", &v));
    ASSERT_TRUE(!v.has_uts);
    ASSERT_STREQ(v.hostname, "");
    ASSERT_STREQ(v.sandbox, "");
    /* The sandbox container (or plain ctr run): a UTS namespace of its own. */
    ASSERT_OK(uts_of("", "\"hostname\":\"pod-a\",", ",\"HOSTNAME=other\"", &v));
    ASSERT_TRUE(v.has_uts);
    ASSERT_STREQ(v.uts_path, "");
    ASSERT_STREQ(v.hostname, "pod-a");
    ASSERT_STREQ(v.sandbox, "pod-a");
    /* Longer than a hostname may be: an error naming the field. */
    ASSERT_EQ(uts_of("", "\"hostname\":\"0123456789012345678901234567890123456789"
                         "0123456789012345678901234\",",
                     "", &v),
              -EINVAL);
    return 0;
}

/* CreateSandbox's DNS is the pod's resolv.conf mount, as Kata's runtime
 * reads it: directives kept, comments, junk and unusable nameservers
 * dropped so one odd line cannot fail the pod. */
TEST(pod_dns_comes_from_the_resolv_conf_mount)
{
    char path[256], json[1024];
    snprintf(path, sizeof(path), "/tmp/agent-spec-dns-%d", (int)getpid());
    FILE *f = fopen(path, "w");
    ASSERT_TRUE(f != NULL);
    fputs("# written by CRI\n\nnameserver 10.96.0.10\nnameserver fe80::1%eth0\n"
          "nameserver not-an-ip\nsearch default.svc.cluster.local svc.cluster.local\n"
          "options ndots:5\nbogus line\ndomain example.org", f);
    fclose(f);
    snprintf(json, sizeof(json),
             "{\"ociVersion\":\"1.0.2\",\"process\":{\"args\":[\"sh\"],\"cwd\":\"/\"},"
             "\"root\":{\"path\":\"rootfs\"},\"mounts\":[{\"destination\":\"/etc/resolv.conf\","
             "\"type\":\"bind\",\"source\":\"%s\",\"options\":[\"rbind\",\"ro\"]}]}",
             path);
    struct agent_spec *s = NULL;
    struct err e = ERR_INIT;
    ASSERT_OK(agent_spec_parse(json, strlen(json), "c1", "/r", &s, &e));
    char **lines = NULL;
    size_t n = 9;
    ASSERT_OK(agent_spec_dns(s, &lines, &n, &e));
    ASSERT_EQ(n, 4);
    ASSERT_STREQ(lines[0], "nameserver 10.96.0.10");
    ASSERT_STREQ(lines[1], "search default.svc.cluster.local svc.cluster.local");
    ASSERT_STREQ(lines[2], "options ndots:5");
    ASSERT_STREQ(lines[3], "domain example.org"); /* last line without a newline */
    agent_spec_dns_free(lines, n);
    /* The file has gone: an error naming the mount, and no lines. */
    unlink(path);
    ASSERT_EQ(agent_spec_dns(s, &lines, &n, &e), -ENOENT);
    ASSERT_TRUE(strstr(err_msg(&e), "/etc/resolv.conf") != NULL);
    ASSERT_EQ(n, 0);
    agent_spec_free(s);
    /* No resolv.conf mount (plain ctr run): nothing to send. */
    static const char plain[] = "{\"ociVersion\":\"1.0.2\",\"process\":{\"args\":[\"sh\"],"
                                "\"cwd\":\"/\"},\"root\":{\"path\":\"rootfs\"}}";
    ASSERT_OK(agent_spec_parse(plain, sizeof(plain) - 1, "c1", "/r", &s, &e));
    ASSERT_OK(agent_spec_dns(s, &lines, &n, &e));
    ASSERT_EQ(n, 0);
    agent_spec_dns_free(lines, n);
    agent_spec_free(s);
    return 0;
}
