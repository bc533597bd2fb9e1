/* virtio-serial session sync, see vport_sync.h. */
#include "lib/vport_sync.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lib/err.h"
#include "lib/fd.h"

void vport_sync_scanner_init(struct vport_sync_scanner *s)
{
    memset(s, 0, sizeof(*s));
}

/* Keeps the longest suffix of buf that is a prefix of the magic, so a
 * record split across reads is still found. */
static void keep_magic_prefix(struct vport_sync_scanner *s)
{
    while (s->len > 0) {
        size_t n = s->len < VPORT_SYNC_MAGIC_LEN ? s->len : VPORT_SYNC_MAGIC_LEN;
        if (memcmp(s->buf, VPORT_SYNC_MAGIC, n) == 0)
            return;
        memmove(s->buf, s->buf + 1, s->len - 1);
        s->len--;
        s->discarded++;
    }
}

size_t vport_sync_scanner_feed(struct vport_sync_scanner *s, const uint8_t *data, size_t len,
                               bool *ret_found)
{
    size_t used = 0;
    *ret_found = false;
    while (used < len) {
        s->buf[s->len++] = data[used++];
        keep_magic_prefix(s);
        if (s->len == VPORT_SYNC_RECORD_LEN) {
            *ret_found = true;
            break;
        }
    }
    return used;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int ms_until(uint64_t deadline)
{
    if (deadline == UINT64_MAX)
        return -1;
    uint64_t now = now_ns();
    if (deadline <= now)
        return 0;
    uint64_t ms = (deadline - now + 999999) / 1000000;
    return ms > INT32_MAX ? INT32_MAX : (int)ms;
}

static int write_record(int fd, const uint8_t *rec, uint64_t deadline, struct err *e)
{
    size_t off = 0;
    while (off < VPORT_SYNC_RECORD_LEN) {
        /* MSG_NOSIGNAL: a peer already gone is an error here, not SIGPIPE. */
        ssize_t n = send(fd, rec + off, VPORT_SYNC_RECORD_LEN - off, MSG_NOSIGNAL);
        if (n < 0 && errno == ENOTSOCK)
            n = write(fd, rec + off, VPORT_SYNC_RECORD_LEN - off);
        if (n > 0) {
            off += (size_t)n;
            continue;
        }
        if (n < 0 && errno != EAGAIN && errno != EINTR)
            return err_set(e, -errno, "agent port: cannot send the sync record");
        int r = fd_wait(fd, POLLOUT, ms_until(deadline));
        if (r < 0)
            return err_set(e, r, "agent port: timed out sending the sync record");
    }
    return 0;
}

int vport_sync_host(int fd, uint64_t deadline_ns, size_t max_stale, struct err *e)
{
    uint8_t rec[VPORT_SYNC_RECORD_LEN];
    memcpy(rec, VPORT_SYNC_MAGIC, VPORT_SYNC_MAGIC_LEN);
    if (getrandom(rec + VPORT_SYNC_MAGIC_LEN, VPORT_SYNC_NONCE_LEN, 0) !=
        (ssize_t)VPORT_SYNC_NONCE_LEN)
        return err_set(e, -EIO, "agent port: no random bytes for the sync nonce");
    int r = write_record(fd, rec, deadline_ns, e);
    if (r < 0)
        return r;

    struct vport_sync_scanner s;
    vport_sync_scanner_init(&s);
    uint64_t stale = 0;
    for (;;) {
        /* One byte at a time: nothing after the echo may be consumed here,
         * it belongs to the ttRPC session. The echo is 32 bytes, once. */
        uint8_t c;
        ssize_t n = read(fd, &c, 1);
        if (n == 0)
            return err_set(e, -ECONNRESET, "agent port closed during the session sync");
        if (n < 0) {
            if (errno != EAGAIN && errno != EINTR)
                return err_set(e, -errno, "agent port: read failed during the session sync");
            r = fd_wait(fd, POLLIN, ms_until(deadline_ns));
            if (r < 0)
                return err_set(e, r, "agent port: no sync reply from the guest agent in time");
            continue;
        }
        bool found;
        vport_sync_scanner_feed(&s, &c, 1, &found);
        if (stale + s.discarded > max_stale)
            return err_set(e, -EPROTO, "agent port: over %zu stale bytes before the sync reply",
                           max_stale);
        if (!found)
            continue;
        if (memcmp(s.buf, rec, VPORT_SYNC_RECORD_LEN) == 0)
            return 0;
        /* An echo from an earlier session: keep looking. */
        stale += s.discarded + VPORT_SYNC_RECORD_LEN;
        vport_sync_scanner_init(&s);
        if (stale > max_stale)
            return err_set(e, -EPROTO, "agent port: over %zu stale bytes before the sync reply",
                           max_stale);
    }
}
