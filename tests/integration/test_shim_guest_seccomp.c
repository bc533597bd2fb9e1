/* [runtime] disable_guest_seccomp end to end: a private containerd, our
 * shim, the mock driver and the real kata-agent (vm_ctr.h), and `ctr run
 * --seccomp` (containerd's default profile in the OCI spec). With Kata's
 * shipped default (true) the shim leaves the profile out of CreateContainer
 * and the container runs unfiltered (Seccomp: 0 in /proc/self/status);
 * with false the agent gets it and installs it (Seccomp: 2, filter mode).
 * A container without a profile is unfiltered either way. Skips when
 * containerd, ctr, busybox or kata-agent is missing, or without root. */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "lib/compiler.h"
#include "tests/harness/harness.h"
#include "tests/support/busybox_image.h"
#include "tests/support/containerd_harness.h"
#include "tests/support/vm_ctr.h"

#define IMG BUSYBOX_IMAGE_REF
#define SHOW_SECCOMP "grep '^Seccomp:' /proc/self/status"

static struct vmc_containerd ctd = VMC_CONTAINERD_INIT;
static struct vmc_paths paths;
static char default_toml[PATH_MAX], seccomp_toml[PATH_MAX + 16];

static const char *const bases[] = {"sc-default", "sc-on", "sc-none"};

static void stop_all(void)
{
    vmc_containerd_stop_bases(&ctd, bases, ELEMENTSOF(bases));
}

/* The mock configuration as vm_ctr.h writes it, and a copy with
 * disable_guest_seccomp = false. */
static int setup(void)
{
    if (ctd.up)
        return 0;
    int r = vmc_mock_prereqs(&paths, default_toml, sizeof(default_toml));
    if (r)
        return r;
    snprintf(seccomp_toml, sizeof(seccomp_toml), "%s/kata-seccomp.toml", test_tmpdir());
    FILE *in = fopen(default_toml, "re"), *out = fopen(seccomp_toml, "we");
    if (!in || !out) {
        if (in)
            fclose(in);
        if (out)
            fclose(out);
        return 1;
    }
    char buf[4096];
    size_t n = fread(buf, 1, sizeof(buf), in);
    fwrite(buf, 1, n, out);
    fclose(in);
    fputs("\n[runtime]\ndisable_guest_seccomp = false\n", out);
    if (fclose(out) != 0)
        return 1;
    return vmc_containerd_up(&ctd, stop_all);
}

/* Runs SHOW_SECCOMP in a fresh container; its output goes to res. */
static int run(const char *toml, const char *base, bool with_profile, struct ch_result *res)
{
    char id[64];
    vmc_id(id, sizeof(id), base);
    int r = with_profile ? ch_ctr(&ctd.c, 60000, res, "run", "--runtime", VMC_RUNTIME,
                                  "--runtime-config-path", toml, "--seccomp", "--rm", IMG, id,
                                  "sh", "-c", SHOW_SECCOMP, NULL)
                         : ch_ctr(&ctd.c, 60000, res, "run", "--runtime", VMC_RUNTIME,
                                  "--runtime-config-path", toml, "--rm", IMG, id, "sh", "-c",
                                  SHOW_SECCOMP, NULL);
    vmc_show(base, res, 300);
    return r;
}

TEST(default_config_drops_the_profile)
{
    _cleanup_(ch_result_done) struct ch_result res = {.exit_code = -1};
    VMC_SETUP(setup());
    ASSERT_OK(run(default_toml, "sc-default", true, &res));
    ASSERT_EQ(res.exit_code, 0);
    ASSERT_TRUE(strstr(res.output, "Seccomp:\t0"));
    return 0;
}

TEST(false_applies_the_profile_in_the_guest)
{
    _cleanup_(ch_result_done) struct ch_result res = {.exit_code = -1};
    VMC_SETUP(setup());
    ASSERT_OK(run(seccomp_toml, "sc-on", true, &res));
    ASSERT_EQ(res.exit_code, 0);
    ASSERT_TRUE(strstr(res.output, "Seccomp:\t2"));
    return 0;
}

TEST(no_profile_no_filter)
{
    _cleanup_(ch_result_done) struct ch_result res = {.exit_code = -1};
    VMC_SETUP(setup());
    ASSERT_OK(run(seccomp_toml, "sc-none", false, &res));
    ASSERT_EQ(res.exit_code, 0);
    ASSERT_TRUE(strstr(res.output, "Seccomp:\t0"));
    return 0;
}

TEST(zz_nothing_is_left_behind)
{
    VMC_SETUP(setup());
    for (size_t i = 0; i < ELEMENTSOF(bases); i++) {
        char id[64];
        vmc_id(id, sizeof(id), bases[i]);
        ASSERT_EQ(vmc_check_gone(&ctd, paths.shim, id, VMC_GONE_ALL), 0);
    }
    return 0;
}
