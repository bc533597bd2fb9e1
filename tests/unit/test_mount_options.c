/* lib/mount_options: flags, propagation and data from fstab-style options. */
#include <errno.h>
#include <stdint.h>
#include <sys/mount.h>

#include "lib/mount_options.h"
#include "tests/harness/harness.h"

TEST(flags_propagation_and_data)
{
    const char *opts[] = {"rbind", "ro", "nosuid", "rslave", "size=64m", "mode=755", NULL};
    struct mount_options m;
    char data[64];
    ASSERT_OK(mount_options_parse(opts, SIZE_MAX, &m, data, sizeof(data)));
    ASSERT_EQ(m.flags, MS_BIND | MS_REC | MS_RDONLY | MS_NOSUID);
    ASSERT_EQ(m.propagation, MS_SLAVE | MS_REC);
    ASSERT_STREQ(data, "size=64m,mode=755");
    return 0;
}

TEST(later_options_win_and_clearing_is_recorded)
{
    const char *opts[] = {"ro", "rw", "noexec", "", NULL, "defaults"};
    struct mount_options m;
    char data[8];
    ASSERT_OK(mount_options_parse(opts, 6, &m, data, sizeof(data)));
    ASSERT_EQ(m.flags, MS_NOEXEC);
    ASSERT_EQ(m.cleared, MS_RDONLY);
    ASSERT_EQ(m.propagation, 0);
    ASSERT_STREQ(data, "");
    return 0;
}

TEST(data_that_does_not_fit_is_refused)
{
    const char *opts[] = {"uid=1000", "gid=1000", NULL};
    struct mount_options m = {0, 0, 0};
    char data[12];
    ASSERT_EQ(mount_options_parse(opts, SIZE_MAX, &m, data, sizeof(data)), -E2BIG);
    char exact[18];
    ASSERT_OK(mount_options_parse(opts, SIZE_MAX, &m, exact, sizeof(exact)));
    ASSERT_STREQ(exact, "uid=1000,gid=1000");
    return 0;
}
