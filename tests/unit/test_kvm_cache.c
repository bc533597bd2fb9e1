/* The KVM probe's verdict is remembered per host boot (hv-kvm-cache.c):
 * a matching entry is used without probing, an entry from another boot or
 * device, a stale bad verdict or a garbled file is ignored and rewritten. */
#include "config/hostcheck.h"
#include "hypervisor/hv-internal.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tests/harness/harness.h"

static char dir[] = "/tmp/kvm-cache-XXXXXX";
static char path[256];

static int setup(void)
{
    if (!path[0]) {
        if (!mkdtemp(dir))
            return -1;
        snprintf(path, sizeof(path), "%s/sub/kvm-probe", dir);
    }
    unlink(path);
    return 0;
}

static int boot_id(char *buf, size_t size)
{
    FILE *f = fopen("/proc/sys/kernel/random/boot_id", "r");
    if (!f)
        return -1;
    int ok = fgets(buf, (int)size, f) != NULL;
    fclose(f);
    buf[strcspn(buf, "\n")] = '\0';
    return ok ? 0 : -1;
}

static void write_entry(const char *id, unsigned long long rdev, long long age_s, unsigned state,
                        const char *detail)
{
    FILE *f = fopen(path, "w");
    fprintf(f, "v1 %s %llu %lld %u LHPTK 42 %s\n", id, rdev, (long long)time(NULL) - age_s, state,
            detail);
    fclose(f);
}

static unsigned long long kvm_rdev(void)
{
    struct stat st;
    return stat("/dev/kvm", &st) == 0 && S_ISCHR(st.st_mode) ? (unsigned long long)st.st_rdev : 0;
}

TEST(first_probe_is_remembered_then_reused)
{
    char id[64];
    if (!kvm_rdev() || boot_id(id, sizeof(id)) < 0)
        return test_skip("no /dev/kvm or boot id here: nothing is cached");
    ASSERT_EQ(setup(), 0);
    struct hostcheck_kvm a, b;
    hv_host_kvm(path, &a);
    if (a.state == HOSTCHECK_KVM_NO_ACCESS || a.state == HOSTCHECK_KVM_ABSENT) {
        ASSERT_TRUE(access(path, F_OK) != 0);
        return 0;
    }
    ASSERT_EQ(access(path, F_OK), 0); /* the missing parent folder was made */
    hv_host_kvm(path, &b);
    ASSERT_EQ((int)a.state, (int)b.state);
    ASSERT_TRUE(strstr(b.detail, "remembered") != NULL);
    return 0;
}

TEST(a_matching_entry_is_used_without_probing)
{
    char id[64];
    if (!kvm_rdev() || boot_id(id, sizeof(id)) < 0)
        return test_skip("no /dev/kvm or boot id here: nothing is cached");
    ASSERT_EQ(setup(), 0);
    write_entry(id, kvm_rdev(), 0, HOSTCHECK_KVM_USABLE, "planted by the test");
    struct hostcheck_kvm k;
    hv_host_kvm(path, &k);
    ASSERT_EQ((int)k.state, (int)HOSTCHECK_KVM_USABLE);
    ASSERT_TRUE(strstr(k.detail, "planted by the test") != NULL);
    ASSERT_STREQ(k.stages, "LHPTK");
    ASSERT_EQ(k.elapsed_ms, 42u);
    return 0;
}

TEST(other_boot_other_device_stale_or_garbled_entries_are_ignored)
{
    char id[64];
    if (!kvm_rdev() || boot_id(id, sizeof(id)) < 0)
        return test_skip("no /dev/kvm or boot id here: nothing is cached");
    struct hostcheck_kvm k;

    ASSERT_EQ(setup(), 0);
    write_entry("00000000-0000-0000-0000-000000000000", kvm_rdev(), 0, HOSTCHECK_KVM_USABLE,
                "planted");
    hv_host_kvm(path, &k);
    ASSERT_TRUE(strstr(k.detail, "planted") == NULL);

    ASSERT_EQ(setup(), 0);
    write_entry(id, kvm_rdev() + 1, 0, HOSTCHECK_KVM_USABLE, "planted");
    hv_host_kvm(path, &k);
    ASSERT_TRUE(strstr(k.detail, "planted") == NULL);

    /* A bad verdict older than ten minutes is probed again... */
    ASSERT_EQ(setup(), 0);
    write_entry(id, kvm_rdev(), 3600, HOSTCHECK_KVM_TOO_SLOW, "planted");
    hv_host_kvm(path, &k);
    ASSERT_TRUE(strstr(k.detail, "planted") == NULL);
    /* ...a good one holds for the whole boot. */
    ASSERT_EQ(setup(), 0);
    write_entry(id, kvm_rdev(), 3600 * 24, HOSTCHECK_KVM_USABLE, "planted");
    hv_host_kvm(path, &k);
    ASSERT_TRUE(strstr(k.detail, "planted") != NULL);

    ASSERT_EQ(setup(), 0);
    FILE *f = fopen(path, "w");
    fputs("v1 garbage\n", f);
    fclose(f);
    hv_host_kvm(path, &k);
    ASSERT_TRUE(strstr(k.detail, "remembered") == NULL);

    ASSERT_EQ(setup(), 0);
    write_entry(id, kvm_rdev(), 0, 99, "planted"); /* unknown state */
    hv_host_kvm(path, &k);
    ASSERT_TRUE(strstr(k.detail, "planted") == NULL);

    unlink(path);
    char sub[300];
    snprintf(sub, sizeof(sub), "%s/sub", dir);
    rmdir(sub);
    rmdir(dir);
    return 0;
}
