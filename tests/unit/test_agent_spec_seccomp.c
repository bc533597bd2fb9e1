/* shim/agent_spec.c and [runtime] disable_guest_seccomp: by default (true,
 * as Kata ships it) the container's seccomp profile is not sent to the
 * agent; with false, agent_spec_guest_seccomp() keeps it, field for field,
 * in the spec CreateContainer carries; a spec without a profile stays
 * without one; and the profile is freed either way (ASan builds check). */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "lib/err.h"
#include "shim/agent_spec-internal.h"
#include "shim/agent_spec.h"
#include "tests/harness/harness.h"

static const char with_seccomp[] =
    "{\"ociVersion\":\"1.0.2\",\"process\":{\"args\":[\"sh\"],\"cwd\":\"/\"},"
    "\"root\":{\"path\":\"rootfs\"},"
    "\"linux\":{\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ERRNO\","
    "\"architectures\":[\"SCMP_ARCH_X86_64\"],"
    "\"syscalls\":[{\"names\":[\"read\",\"write\",\"exit_group\"],"
    "\"action\":\"SCMP_ACT_ALLOW\"},"
    "{\"names\":[\"personality\"],\"action\":\"SCMP_ACT_ALLOW\","
    "\"args\":[{\"index\":0,\"value\":8,\"op\":\"SCMP_CMP_EQ\"}]}]}}}";

static const char without_seccomp[] =
    "{\"ociVersion\":\"1.0.2\",\"process\":{\"args\":[\"sh\"],\"cwd\":\"/\"},"
    "\"root\":{\"path\":\"rootfs\"},\"linux\":{}}";

static int parse(const char *json, struct agent_spec **ret)
{
    struct err e = ERR_INIT;
    int r = agent_spec_parse(json, strlen(json), "c1", "/r", ret, &e);
    if (r < 0)
        printf("#   %s\n", err_msg(&e));
    return r;
}

TEST(default_drops_the_profile)
{
    struct agent_spec *s = NULL;
    ASSERT_OK(parse(with_seccomp, &s));
    ASSERT_TRUE(s->spec->linux_ != NULL);
    ASSERT_TRUE(s->spec->linux_->seccomp == NULL);
    ASSERT_TRUE(!agent_spec_has_seccomp(s));
    /* disable_guest_seccomp = true: nothing comes back */
    agent_spec_guest_seccomp(s, false);
    ASSERT_TRUE(!agent_spec_has_seccomp(s));
    agent_spec_free(s);
    return 0;
}

TEST(false_keeps_the_profile)
{
    struct agent_spec *s = NULL;
    ASSERT_OK(parse(with_seccomp, &s));
    agent_spec_guest_seccomp(s, true);
    ASSERT_TRUE(agent_spec_has_seccomp(s));
    const Grpc__LinuxSeccomp *sc = s->spec->linux_->seccomp;
    ASSERT_STREQ(sc->defaultaction, "SCMP_ACT_ERRNO");
    ASSERT_EQ(sc->n_architectures, 1);
    ASSERT_STREQ(sc->architectures[0], "SCMP_ARCH_X86_64");
    ASSERT_EQ(sc->n_syscalls, 2);
    ASSERT_EQ(sc->syscalls[0]->n_names, 3);
    ASSERT_STREQ(sc->syscalls[0]->names[2], "exit_group");
    ASSERT_STREQ(sc->syscalls[1]->action, "SCMP_ACT_ALLOW");
    ASSERT_EQ(sc->syscalls[1]->n_args, 1);
    ASSERT_EQ(sc->syscalls[1]->args[0]->value, 8);
    ASSERT_STREQ(sc->syscalls[1]->args[0]->op, "SCMP_CMP_EQ");
    /* a second call changes nothing */
    agent_spec_guest_seccomp(s, true);
    ASSERT_TRUE(s->spec->linux_->seccomp == sc);
    /* the rest of the rewrite still happened */
    ASSERT_STREQ(s->spec->root->path, "/r");
    agent_spec_free(s);
    return 0;
}

TEST(no_profile_stays_without_one)
{
    struct agent_spec *s = NULL;
    ASSERT_OK(parse(without_seccomp, &s));
    agent_spec_guest_seccomp(s, true);
    ASSERT_TRUE(!agent_spec_has_seccomp(s));
    agent_spec_free(s);
    return 0;
}
