/* lib/vport_sync: the virtio-serial session sync, both halves. */
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/err.h"
#include "lib/vport_sync.h"
#include "tests/harness/harness.h"

static void make_record(uint8_t *rec, uint8_t nonce_byte)
{
    memcpy(rec, VPORT_SYNC_MAGIC, VPORT_SYNC_MAGIC_LEN);
    memset(rec + VPORT_SYNC_MAGIC_LEN, nonce_byte, VPORT_SYNC_NONCE_LEN);
}

TEST(scanner_finds_a_record_after_stale_bytes_fed_in_pieces)
{
    uint8_t stream[128];
    /* Stale bytes that include a false start of the magic. */
    const char stale[] = "xx\0kata-vp garbage\0\0";
    size_t n = sizeof(stale) - 1;
    memcpy(stream, stale, n);
    make_record(stream + n, 0x5a);
    n += VPORT_SYNC_RECORD_LEN;
    struct vport_sync_scanner s;
    vport_sync_scanner_init(&s);
    bool found = false;
    size_t off = 0;
    while (off < n && !found) {
        size_t chunk = n - off < 5 ? n - off : 5;
        off += vport_sync_scanner_feed(&s, stream + off, chunk, &found);
    }
    ASSERT_TRUE(found);
    ASSERT_EQ(off, n);
    ASSERT_MEMEQ(s.buf, stream + sizeof(stale) - 1, VPORT_SYNC_RECORD_LEN);
    ASSERT_EQ(s.discarded, sizeof(stale) - 1);
    return 0;
}

/* A guest stand-in: sends an old session's echo and some garbage first,
 * then answers the sync like the agent does. */
static void *fake_guest(void *arg)
{
    int fd = *(int *)arg;
    uint8_t old[VPORT_SYNC_RECORD_LEN];
    make_record(old, 0x11);
    ssize_t _unused_ w = write(fd, old, sizeof(old));
    w = write(fd, "leftover reply bytes", 20);
    struct vport_sync_scanner s;
    vport_sync_scanner_init(&s);
    bool found = false;
    while (!found) {
        uint8_t c;
        if (read(fd, &c, 1) != 1)
            return NULL;
        vport_sync_scanner_feed(&s, &c, 1, &found);
    }
    w = write(fd, s.buf, VPORT_SYNC_RECORD_LEN);
    w = write(fd, "session", 7);
    return NULL;
}

TEST(host_sync_skips_stale_replies_and_keeps_session_bytes)
{
    int sv[2];
    ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
    pthread_t t;
    ASSERT_EQ(pthread_create(&t, NULL, fake_guest, &sv[1]), 0);
    /* The host's stale request bytes precede its record in the real port;
     * here the guest side simply ignores everything before the magic. */
    struct err e = ERR_INIT;
    ASSERT_OK(vport_sync_host(sv[0], UINT64_MAX, 4096, &e));
    char buf[8] = "";
    ASSERT_EQ(read(sv[0], buf, 7), 7);
    ASSERT_STREQ(buf, "session");
    pthread_join(t, NULL);
    close(sv[0]);
    close(sv[1]);
    return 0;
}

TEST(host_sync_times_out_and_bounds_garbage)
{
    int sv[2];
    ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv));
    struct err e = ERR_INIT;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t soon = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec + 100000000ull;
    ASSERT_EQ(vport_sync_host(sv[0], soon, 4096, &e), -ETIMEDOUT);
    ASSERT_TRUE(strstr(e.msg, "no sync reply") != NULL);
    char junk[64];
    memset(junk, 'j', sizeof(junk));
    ASSERT_EQ(write(sv[1], junk, sizeof(junk)), (ssize_t)sizeof(junk));
    err_clear(&e);
    ASSERT_EQ(vport_sync_host(sv[0], UINT64_MAX, 16, &e), -EPROTO);
    close(sv[1]);
    err_clear(&e);
    /* The peer is gone: the record cannot even be sent. */
    ASSERT_EQ(vport_sync_host(sv[0], UINT64_MAX, 4096, &e), -EPIPE);
    close(sv[0]);
    return 0;
}
