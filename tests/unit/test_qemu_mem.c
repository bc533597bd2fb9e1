/* hypervisor/qemu_mem.c, the parsing half: which lines of a /proc/PID/maps
 * text are mappings of one file, matched by device and inode (never by the
 * path, which may hold spaces, carry " (deleted)" or be cut). The paging out
 * itself runs against the real kernel in tests/integration/test_qemu_mem. */
#include "hypervisor/qemu_mem.h"

#include <errno.h>
#include <sys/sysmacros.h>

#include "tests/harness/harness.h"

/* A QEMU's maps, shortened: the binary, the guest RAM memfd, the kernel
 * ELF in three segments (fe:01 inode 1234), anonymous memory, the initrd. */
static const char qemu_maps[] =
    "55d0a1000000-55d0a1200000 r--p 00000000 fe:01 777 /usr/bin/qemu-system-x86_64\n"
    "7f0000000000-7f0010000000 rw-s 00000000 00:01 4242 /memfd:memory-backend-memfd (deleted)\n"
    "7f4790000000-7f4791aa8000 r--p 00200000 fe:01 1234 /opt/kata/my kernels/vmlinux.container\n"
    "7f4791c00000-7f47922dd000 rw-p 01e00000 fe:01 1234 /opt/kata/my kernels/vmlinux.container\n"
    "7f47a8a00000-7f47a9a00000 rwxp 00000000 00:00 0 \n"
    "7f47aa000000-7f47aa039000 rw-p 02600000 fe:01 1234 /opt/kata/my kernels/vmlinux.container\n"
    "7f47ab000000-7f47ab0f8000 r--p 00000000 fe:01 1235 /opt/kata/initrd.img\n"
    "7ffd49690000-7ffd496b1000 rw-p 00000000 00:00 0                          [stack]\n";

TEST(kernel_segments_found_by_inode)
{
    struct qemu_mem_range r[8];
    int n = qemu_mem_file_ranges(qemu_maps, makedev(0xfe, 0x01), 1234, r, 8);
    ASSERT_EQ(n, 3);
    ASSERT_EQ(r[0].start, 0x7f4790000000u);
    ASSERT_EQ(r[0].len, 0x1aa8000u);
    ASSERT_EQ(r[1].start, 0x7f4791c00000u);
    ASSERT_EQ(r[1].len, 0x6dd000u);
    ASSERT_EQ(r[2].start, 0x7f47aa000000u);
    ASSERT_EQ(r[2].len, 0x39000u);
    return 0;
}

TEST(same_inode_other_device_is_not_the_file)
{
    struct qemu_mem_range r[8];
    ASSERT_EQ(qemu_mem_file_ranges(qemu_maps, makedev(0xfe, 0x02), 1234, r, 8), 0);
    ASSERT_EQ(qemu_mem_file_ranges(qemu_maps, makedev(0x08, 0x01), 1234, r, 8), 0);
    /* The memfd's device and inode match only the memfd. */
    ASSERT_EQ(qemu_mem_file_ranges(qemu_maps, makedev(0, 1), 4242, r, 8), 1);
    ASSERT_EQ(r[0].len, 0x10000000u);
    return 0;
}

TEST(more_mappings_than_room_are_counted)
{
    struct qemu_mem_range r[2];
    ASSERT_EQ(qemu_mem_file_ranges(qemu_maps, makedev(0xfe, 0x01), 1234, r, 2), 3);
    ASSERT_EQ(r[1].start, 0x7f4791c00000u);
    ASSERT_EQ(qemu_mem_file_ranges(qemu_maps, makedev(0xfe, 0x01), 1234, NULL, 0), 3);
    return 0;
}

TEST(long_path_and_missing_newline)
{
    char maps[1024];
    char path[600];
    memset(path, 'p', sizeof(path) - 1);
    path[0] = '/';
    path[sizeof(path) - 1] = '\0';
    snprintf(maps, sizeof(maps), "1000-3000 r--p 00000000 fe:01 99 %s\n4000-5000 r--p 0 fe:01 99",
             path);
    struct qemu_mem_range r[4];
    ASSERT_EQ(qemu_mem_file_ranges(maps, makedev(0xfe, 1), 99, r, 4), 2);
    ASSERT_EQ(r[0].len, 0x2000u);
    ASSERT_EQ(r[1].start, 0x4000u);
    ASSERT_EQ(qemu_mem_file_ranges("", makedev(0xfe, 1), 99, r, 4), 0);
    ASSERT_EQ(qemu_mem_file_ranges("\n\n", makedev(0xfe, 1), 99, r, 4), 0);
    return 0;
}

TEST(malformed_lines_are_refused)
{
    static const char *const bad[] = {
        "not a maps line\n",
        "1000-0800 r--p 00000000 fe:01 99 /x\n",  /* end before start */
        "1000-1000 r--p 00000000 fe:01 99 /x\n",  /* empty */
        "1000-2000 r--p 00000000 fe01 99 /x\n",   /* device without ':' */
        "1000-2000 r--p 00000000 fe:01\n",        /* no inode */
        "zz-2000 r--p 00000000 fe:01 99 /x\n",
    };
    struct qemu_mem_range r[2];
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int n = qemu_mem_file_ranges(bad[i], makedev(0xfe, 1), 99, r, 2);
        if (n != -EINVAL) {
            printf("# case %zu: %d\n", i, n);
            ASSERT_EQ(n, -EINVAL);
        }
    }
    return 0;
}

TEST(page_out_refuses_bad_arguments)
{
    ASSERT_EQ(qemu_mem_page_out_file(-1, 1, "/"), -EINVAL);
    ASSERT_EQ(qemu_mem_page_out_file(3, 0, "/"), -EINVAL);
    ASSERT_EQ(qemu_mem_page_out_file(3, 1, NULL), -EINVAL);
    return 0;
}
