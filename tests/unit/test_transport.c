/* lib/transport.c: URI parsing, unix listen/dial, stale sockets, the hybrid
 * vsock handshake against a fake VMM thread, vsock and serial devices. */
#include "lib/transport.h"

#include <fcntl.h>
#include <linux/vm_sockets.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "lib/compiler.h"
#include "lib/err.h"
#include "lib/fd.h"
#include "tests/harness/harness.h"

#define SEC UINT64_C(1000000000)
#define MSEC UINT64_C(1000000)

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * SEC + (uint64_t)ts.tv_nsec;
}

static void tmp_uri(char *buf, size_t size, const char *scheme, const char *name)
{
    snprintf(buf, size, "%s://%s/%s", scheme, test_tmpdir(), name);
}

/* Non-blocking and close-on-exec, as every fd handed out must be. */
static int check_fd_flags(int fd)
{
    ASSERT_TRUE(fcntl(fd, F_GETFL) & O_NONBLOCK);
    ASSERT_TRUE(fcntl(fd, F_GETFD) & FD_CLOEXEC);
    return 0;
}

/* ---- parsing ---- */

struct good_case {
    const char *uri;
    enum transport_kind kind;
    const char *path;
    bool abstract;
    uint32_t cid, port;
    const char *formatted; /* NULL: same as uri */
};

static const struct good_case good[] = {
    {"unix:///run/kata/agent.sock", TRANSPORT_UNIX, "/run/kata/agent.sock", false, 0, 0, NULL},
    {"unix://@kata-agent", TRANSPORT_UNIX, "kata-agent", true, 0, 0, NULL},
    {"unix://@/odd/abstract", TRANSPORT_UNIX, "/odd/abstract", true, 0, 0, NULL},
    {"vsock://3:1024", TRANSPORT_VSOCK, "", false, 3, 1024, NULL},
    {"vsock://-1:1024", TRANSPORT_VSOCK, "", false, VMADDR_CID_ANY, 1024, NULL},
    {"vsock://0:0", TRANSPORT_VSOCK, "", false, 0, 0, NULL},
    {"vsock://007:08", TRANSPORT_VSOCK, "", false, 7, 8, "vsock://7:8"},
    {"vsock://4294967294:4294967295", TRANSPORT_VSOCK, "", false, 4294967294u, 4294967295u, NULL},
    {"vsock://4294967295:1", TRANSPORT_VSOCK, "", false, VMADDR_CID_ANY, 1, "vsock://-1:1"},
    {"hvsock:///run/vc/firecracker/x/root/kata.hvsock:1024", TRANSPORT_HVSOCK,
     "/run/vc/firecracker/x/root/kata.hvsock", false, 0, 1024, NULL},
    {"hvsock:///a:b/c:1", TRANSPORT_HVSOCK, "/a:b/c", false, 0, 1, NULL},
    {"serial:///dev/vport0p1", TRANSPORT_SERIAL, "/dev/vport0p1", false, 0, 0, NULL},
};

static int check_good(const struct good_case *c)
{
    struct transport_addr a;
    struct err e = ERR_INIT;
    char buf[256];
    ASSERT_EQ(transport_parse(c->uri, &a, &e), 0);
    ASSERT_EQ(a.kind, c->kind);
    ASSERT_STREQ(a.path, c->path);
    ASSERT_EQ(a.abstract, c->abstract);
    ASSERT_EQ(a.cid, c->cid);
    ASSERT_EQ(a.port, c->port);
    int n = transport_format(&a, buf, sizeof(buf));
    ASSERT_STREQ(buf, c->formatted ? c->formatted : c->uri);
    ASSERT_EQ(n, strlen(buf));
    return 0;
}

TEST(parse_good)
{
    for (size_t i = 0; i < ELEMENTSOF(good); i++)
        if (check_good(&good[i])) {
            printf("#   in case %s\n", good[i].uri);
            return 1;
        }
    return 0;
}

TEST(parse_longest_path)
{
    char uri[200], path[120];
    struct transport_addr a;
    memset(path, 'a', sizeof(path));
    path[0] = '/';
    path[107] = '\0';
    snprintf(uri, sizeof(uri), "unix://%s", path);
    ASSERT_EQ(transport_parse(uri, &a, NULL), 0);
    ASSERT_EQ(strlen(a.path), 107);
    snprintf(uri, sizeof(uri), "unix://@%s", path + 1);
    ASSERT_EQ(transport_parse(uri, &a, NULL), 0);
    ASSERT_EQ(strlen(a.path), 106);
    return 0;
}

struct bad_case {
    const char *uri;
    int code;
    const char *needle; /* must appear in the message */
};

static const struct bad_case bad[] = {
    {"", EINVAL, "unknown scheme"},
    {"tcp://1.2.3.4:5", EINVAL, "unknown scheme"},
    {"unix:/tmp/x", EINVAL, "unknown scheme"},
    {"UNIX:///tmp/x", EINVAL, "unknown scheme"},
    {"unix://", EINVAL, "missing path"},
    {"unix://tmp/x", EINVAL, "path must be absolute"},
    {"unix://@", EINVAL, "missing abstract socket name"},
    {"unix:///tmp/a\nb", EINVAL, "control character"},
    {"unix:///tmp/a\x7f", EINVAL, "control character"},
    {"vsock://", EINVAL, "missing \":PORT\""},
    {"vsock://3", EINVAL, "missing \":PORT\""},
    {"vsock://:1024", EINVAL, "missing CID"},
    {"vsock://3:", EINVAL, "missing port"},
    {"vsock://x:1024", EINVAL, "CID \"x\" is not a decimal number"},
    {"vsock://-2:1", EINVAL, "CID \"-2\" is not a decimal number"},
    {"vsock://0x3:1", EINVAL, "CID \"0x3\" is not a decimal number"},
    {"vsock://3:+1", EINVAL, "port \"+1\" is not a decimal number"},
    {"vsock://3: 1", EINVAL, "port \" 1\" is not a decimal number"},
    {"vsock://3:-1", EINVAL, "port \"-1\" is not a decimal number"},
    {"vsock://3:1024/", EINVAL, "port \"1024/\" is not a decimal number"},
    {"vsock://3:1:2", EINVAL, "port \"1:2\" is not a decimal number"},
    {"vsock://4294967296:1", EINVAL, "CID 4294967296 is out of range"},
    {"vsock://3:99999999999999999999", EINVAL, "port 99999999999999999999 is out of range"},
    {"vsock://3:1\x01", EINVAL, "port \"1\\x01\" is not"},
    {"hvsock:///run/x", EINVAL, "missing \":PORT\" after the path"},
    {"hvsock://:1024", EINVAL, "missing path"},
    {"hvsock://rel:1", EINVAL, "path must be absolute"},
    {"hvsock:///x:", EINVAL, "missing port"},
    {"hvsock:///x:-1", EINVAL, "port \"-1\" is not a decimal number"},
    {"serial://", EINVAL, "missing path"},
    {"serial://dev/ttyS0", EINVAL, "path must be absolute"},
};

static int check_bad(const char *uri, int code, const char *needle)
{
    struct transport_addr a, before;
    struct err e = ERR_INIT;
    memset(&a, 0xa5, sizeof(a));
    memcpy(&before, &a, sizeof(a));
    ASSERT_EQ(transport_parse(uri, &a, &e), -code);
    ASSERT_EQ(e.code, -code);
    if (!strstr(e.msg, needle)) {
        test_fail_at(__FILE__, __LINE__, "message \"%s\" lacks \"%s\"", e.msg, needle);
        return 1;
    }
    ASSERT_TRUE(memcmp(&a, &before, sizeof(a)) == 0); /* ret_addr untouched */
    return 0;
}

TEST(parse_bad)
{
    for (size_t i = 0; i < ELEMENTSOF(bad); i++)
        if (check_bad(bad[i].uri, bad[i].code, bad[i].needle)) {
            printf("#   in case %zu\n", i);
            return 1;
        }
    return 0;
}

TEST(parse_bad_lengths)
{
    char uri[300], name[200];
    struct err e = ERR_INIT;
    memset(name, 'a', sizeof(name));
    name[107] = '\0';
    snprintf(uri, sizeof(uri), "unix:///%s", name); /* "/" + 107 bytes */
    if (check_bad(uri, ENAMETOOLONG, "path is 108 bytes, the limit is 107"))
        return 1;
    snprintf(uri, sizeof(uri), "unix://@a%s", name);
    if (check_bad(uri, ENAMETOOLONG, "abstract socket name is 108 bytes"))
        return 1;
    snprintf(uri, sizeof(uri), "hvsock:///%s:1024", name);
    if (check_bad(uri, ENAMETOOLONG, "limit is 107"))
        return 1;
    /* A long URI is quoted truncated, never overflowing the message. */
    name[150] = '\0';
    snprintf(uri, sizeof(uri), "bogus://%s", name);
    ASSERT_EQ(transport_parse(uri, NULL, &e), -EINVAL);
    ASSERT_TRUE(strstr(e.msg, "...") != NULL);
    ASSERT_TRUE(strstr(e.msg, "unknown scheme") != NULL);
    err_clear(&e);
    ASSERT_EQ(transport_parse(NULL, NULL, &e), -EINVAL);
    ASSERT_TRUE(strstr(e.msg, "no transport address") != NULL);
    return 0;
}

TEST(format_small_buffer)
{
    struct transport_addr a;
    char buf[32];
    ASSERT_EQ(transport_parse("vsock://3:1024", &a, NULL), 0);
    ASSERT_EQ(transport_format(&a, buf, 8), -ENOSPC);
    ASSERT_EQ(transport_format(&a, buf, 15), 14);
    ASSERT_EQ(transport_format(&a, buf, 14), -ENOSPC);
    a.kind = (enum transport_kind)42;
    ASSERT_EQ(transport_format(&a, buf, sizeof(buf)), -EINVAL);
    return 0;
}

/* ---- unix ---- */

/* Accepts one connection on lfd and checks bytes flow both ways. */
static int roundtrip(int lfd, int cfd)
{
    _cleanup_close_ int sfd = -1;
    char buf[8] = "";
    ASSERT_OK(check_fd_flags(lfd));
    ASSERT_OK(check_fd_flags(cfd));
    ASSERT_GT(fd_wait(lfd, POLLIN, 2000), 0);
    sfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    ASSERT_OK(sfd);
    ASSERT_EQ(fd_write_full(cfd, "ping", 4), 4);
    ASSERT_EQ(fd_read_full(sfd, buf, 4), 4);
    ASSERT_MEMEQ(buf, "ping", 4);
    ASSERT_EQ(fd_write_full(sfd, "pong", 4), 4);
    ASSERT_GT(fd_wait(cfd, POLLIN, 2000), 0);
    ASSERT_EQ(read(cfd, buf, sizeof(buf)), 4);
    ASSERT_MEMEQ(buf, "pong", 4);
    return 0;
}

TEST(unix_roundtrip_filesystem)
{
    char uri[256];
    struct err e = ERR_INIT;
    tmp_uri(uri, sizeof(uri), "unix", "rt.sock");
    _cleanup_close_ int lfd = transport_listen(uri, &e);
    ASSERT_OK(lfd);
    _cleanup_close_ int cfd = transport_dial(uri, 2 * SEC, &e);
    ASSERT_OK(cfd);
    return roundtrip(lfd, cfd);
}

TEST(unix_roundtrip_abstract)
{
    char uri[128];
    struct err e = ERR_INIT;
    snprintf(uri, sizeof(uri), "unix://@kata-test-transport-%d", (int)getpid());
    _cleanup_close_ int lfd = transport_listen(uri, &e);
    ASSERT_OK(lfd);
    /* An abstract name in use is always live: no stale replacement. */
    ASSERT_EQ(transport_listen(uri, NULL), -EADDRINUSE);
    _cleanup_close_ int cfd = transport_dial(uri, 0, &e);
    ASSERT_OK(cfd);
    return roundtrip(lfd, cfd);
}

TEST(unix_dial_errors)
{
    char uri[256];
    struct err e = ERR_INIT;
    tmp_uri(uri, sizeof(uri), "unix", "nobody.sock");
    ASSERT_EQ(transport_dial(uri, SEC, &e), -ENOENT);
    ASSERT_TRUE(strstr(e.msg, "nobody.sock: connect: ") != NULL);
    err_clear(&e);
    snprintf(uri, sizeof(uri), "unix://@kata-test-nobody-%d", (int)getpid());
    ASSERT_EQ(transport_dial(uri, SEC, &e), -ECONNREFUSED);
    err_clear(&e);
    ASSERT_EQ(transport_dial("unix://relative", SEC, &e), -EINVAL);
    return 0;
}

TEST(unix_stale_socket_replaced)
{
    char uri[256], path[200];
    struct err e = ERR_INIT;
    tmp_uri(uri, sizeof(uri), "unix", "stale.sock");
    snprintf(path, sizeof(path), "%s/stale.sock", test_tmpdir());

    /* A bound-then-closed socket leaves its file behind, as a crash does. */
    int lfd = transport_listen(uri, &e);
    ASSERT_OK(lfd);
    fd_close(lfd);
    struct stat st;
    ASSERT_EQ(stat(path, &st), 0);
    ASSERT_TRUE(S_ISSOCK(st.st_mode));

    _cleanup_close_ int lfd2 = transport_listen(uri, &e);
    ASSERT_OK(lfd2);
    _cleanup_close_ int cfd = transport_dial(uri, SEC, &e);
    ASSERT_OK(cfd);
    return roundtrip(lfd2, cfd);
}

TEST(unix_live_socket_in_use)
{
    char uri[256];
    struct err e = ERR_INIT;
    tmp_uri(uri, sizeof(uri), "unix", "live.sock");
    _cleanup_close_ int lfd = transport_listen(uri, NULL);
    ASSERT_OK(lfd);
    ASSERT_EQ(transport_listen(uri, &e), -EADDRINUSE);
    ASSERT_TRUE(strstr(e.msg, "live listener") != NULL);
    /* The liveness probe reaches the live listener as an empty connection. */
    ASSERT_GT(fd_wait(lfd, POLLIN, 2000), 0);
    _cleanup_close_ int probe = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    char c;
    ASSERT_OK(probe);
    ASSERT_EQ(read(probe, &c, 1), 0);
    /* The live listener still works. */
    _cleanup_close_ int cfd = transport_dial(uri, SEC, NULL);
    ASSERT_OK(cfd);
    return roundtrip(lfd, cfd);
}

TEST(unix_listen_refuses_non_socket)
{
    char uri[256], path[200];
    struct err e = ERR_INIT;
    snprintf(path, sizeof(path), "%s/plain-file", test_tmpdir());
    tmp_uri(uri, sizeof(uri), "unix", "plain-file");
    _cleanup_close_ int f = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    ASSERT_OK(f);
    ASSERT_EQ(transport_listen(uri, &e), -EADDRINUSE);
    ASSERT_TRUE(strstr(e.msg, "not a socket") != NULL);
    struct stat st;
    ASSERT_EQ(stat(path, &st), 0); /* not removed */
    ASSERT_TRUE(S_ISREG(st.st_mode));
    return 0;
}

/* A listener whose backlog is full: unix connect waits, and dial must give
 * up at its deadline rather than hang or fail at once. */
TEST(unix_dial_timeout_backlog_full)
{
    char path[200], uri[256];
    struct err e = ERR_INIT;
    snprintf(path, sizeof(path), "%s/full.sock", test_tmpdir());
    snprintf(uri, sizeof(uri), "unix://%s", path);
    _cleanup_close_ int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_OK(lfd);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    ASSERT_LT(strlen(path), sizeof(sa.sun_path));
    memcpy(sa.sun_path, path, strlen(path) + 1);
    ASSERT_EQ(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    ASSERT_EQ(listen(lfd, 0), 0);

    int held[4] = {-1, -1, -1, -1};
    int r = 0;
    size_t n = 0;
    /* With backlog 0 the first connection is queued; later ones wait. */
    for (; n < ELEMENTSOF(held); n++) {
        r = transport_dial(uri, 100 * MSEC, NULL);
        if (r < 0)
            break;
        held[n] = r;
    }
    ASSERT_EQ(r, -ETIMEDOUT);
    uint64_t t0 = mono_ns();
    ASSERT_EQ(transport_dial(uri, 200 * MSEC, &e), -ETIMEDOUT);
    uint64_t dt = mono_ns() - t0;
    for (size_t i = 0; i < n; i++)
        fd_close(held[i]);
    ASSERT_TRUE(strstr(e.msg, "timed out") != NULL);
    ASSERT_GE(dt, 150 * MSEC);
    ASSERT_LT(dt, 2 * SEC);
    return 0;
}

/* ---- hybrid vsock ---- */

enum fake_mode { FAKE_REPLY, FAKE_REPLY_CLOSE, FAKE_SILENT, FAKE_CLOSE };

/* A stand-in for Firecracker's vsock muxer: accepts one connection, reads the
 * CONNECT line, answers `reply`, then holds the connection until the client
 * hangs up (so "silent" really stays silent). */
struct fake_vmm {
    int lfd;
    enum fake_mode mode;
    const char *reply;
    size_t reply_len;
    char request[64];
    pthread_t tid;
};

static void fake_vmm_serve(struct fake_vmm *f, int c)
{
    size_t len = 0;
    while (len < sizeof(f->request) - 1) {
        if (fd_wait(c, POLLIN, 5000) < 0 || read(c, f->request + len, 1) != 1)
            return;
        if (f->request[len++] == '\n')
            break;
    }
    if (f->reply && fd_write_full(c, f->reply, f->reply_len) < 0)
        return;
    if (f->mode == FAKE_REPLY_CLOSE)
        return;
    char buf[64];
    while (fd_wait(c, POLLIN, 5000) > 0 && read(c, buf, sizeof(buf)) > 0)
        ;
}

static void *fake_vmm_run(void *arg)
{
    struct fake_vmm *f = arg;
    if (fd_wait(f->lfd, POLLIN, 5000) < 0)
        return NULL;
    _cleanup_close_ int c = accept4(f->lfd, NULL, NULL, SOCK_CLOEXEC);
    if (c >= 0 && f->mode != FAKE_CLOSE)
        fake_vmm_serve(f, c);
    return NULL;
}

/* Starts a fake VMM on a fresh socket and fills uri with hvsock://PATH:1024. */
static int fake_vmm_start(struct fake_vmm *f, const char *name, char *uri, size_t size)
{
    char unix_uri[256];
    tmp_uri(unix_uri, sizeof(unix_uri), "unix", name);
    f->lfd = transport_listen(unix_uri, NULL);
    ASSERT_OK(f->lfd);
    f->request[0] = '\0';
    snprintf(uri, size, "hvsock://%s/%s:1024", test_tmpdir(), name);
    ASSERT_EQ(pthread_create(&f->tid, NULL, fake_vmm_run, f), 0);
    return 0;
}

static void fake_vmm_stop(struct fake_vmm *f)
{
    pthread_join(f->tid, NULL);
    f->lfd = fd_close(f->lfd);
}

TEST(hvsock_handshake_ok)
{
    static const char reply[] = "OK 1073741824\nhello";
    struct fake_vmm f = {.mode = FAKE_REPLY, .reply = reply, .reply_len = sizeof(reply) - 1};
    char uri[256], buf[16] = "";
    struct err e = ERR_INIT;
    ASSERT_OK(fake_vmm_start(&f, "hv-ok.sock", uri, sizeof(uri)));
    int fd = transport_dial(uri, 2 * SEC, &e);
    if (fd >= 0) {
        /* Bytes after the OK line belong to the caller's stream. */
        if (fd_wait(fd, POLLIN, 2000) > 0 && read(fd, buf, sizeof(buf) - 1) < 0)
            buf[0] = '\0';
        ASSERT_OK(check_fd_flags(fd));
    }
    fd_close(fd);
    fake_vmm_stop(&f);
    ASSERT_STREQ(f.request, "CONNECT 1024\n");
    ASSERT_STREQ(buf, "hello");
    return 0;
}

static int hvsock_expect_error(const char *name, const char *reply, enum fake_mode mode,
                               uint64_t timeout, int code, const char *needle)
{
    struct fake_vmm f = {.mode = mode, .reply = reply, .reply_len = reply ? strlen(reply) : 0};
    char uri[256];
    struct err e = ERR_INIT;
    ASSERT_OK(fake_vmm_start(&f, name, uri, sizeof(uri)));
    uint64_t t0 = mono_ns();
    int r = transport_dial(uri, timeout, &e);
    uint64_t dt = mono_ns() - t0;
    if (r >= 0)
        fd_close(r);
    fake_vmm_stop(&f);
    printf("#   %s -> %d \"%s\" after %" PRIu64 " ms\n", name, r, e.msg, dt / MSEC);
    ASSERT_EQ(r, -code);
    ASSERT_EQ(e.code, -code);
    if (!strstr(e.msg, needle)) {
        test_fail_at(__FILE__, __LINE__, "message \"%s\" lacks \"%s\"", e.msg, needle);
        return 1;
    }
    ASSERT_LT(dt, timeout + SEC);
    return 0;
}

TEST(hvsock_handshake_garbage)
{
    return hvsock_expect_error("hv-garbage.sock", "NOPE\x01\"\n", FAKE_REPLY, 2 * SEC, EPROTO,
                               "unexpected reply to CONNECT: \"NOPE\\x01\\\"\\n\"");
}

TEST(hvsock_handshake_bad_number)
{
    return hvsock_expect_error("hv-num.sock", "OK 99999999999\n", FAKE_REPLY, 2 * SEC, EPROTO,
                               "unexpected reply");
}

TEST(hvsock_handshake_too_long)
{
    return hvsock_expect_error("hv-long.sock", "OK 1234567890123456789012345678901234567890\n",
                               FAKE_REPLY, 2 * SEC, EPROTO, "too long");
}

TEST(hvsock_handshake_partial_then_close)
{
    return hvsock_expect_error("hv-partial-close.sock", "OK 12", FAKE_REPLY_CLOSE, 2 * SEC, EPROTO,
                               "closed after partial reply \"OK 12\"");
}

TEST(hvsock_handshake_partial_times_out)
{
    /* The fake writes "OK 12" and keeps the line open: a timeout, not EOF. */
    return hvsock_expect_error("hv-partial.sock", "OK 12", FAKE_REPLY, 300 * MSEC, ETIMEDOUT,
                               "timed out waiting for the reply");
}

TEST(hvsock_handshake_silent_times_out)
{
    return hvsock_expect_error("hv-silent.sock", NULL, FAKE_SILENT, 300 * MSEC, ETIMEDOUT,
                               "timed out waiting for the reply to CONNECT");
}

TEST(hvsock_handshake_read_then_closed)
{
    /* Firecracker reads CONNECT, then hangs up when no guest listens. */
    return hvsock_expect_error("hv-read-closed.sock", NULL, FAKE_REPLY_CLOSE, 2 * SEC, ECONNREFUSED,
                               "closed without a reply");
}

TEST(hvsock_handshake_closed)
{
    /* Closing at once gives EPIPE on the send, or a reset instead of EOF on
     * the read when CONNECT arrived unread: a refusal either way. */
    return hvsock_expect_error("hv-closed.sock", NULL, FAKE_CLOSE, 2 * SEC, ECONNREFUSED, "closed");
}

TEST(hvsock_listen_uses_path_port)
{
    char uri[256], unix_uri[256];
    struct err e = ERR_INIT;
    snprintf(uri, sizeof(uri), "hvsock://%s/hv-listen.sock:1025", test_tmpdir());
    snprintf(unix_uri, sizeof(unix_uri), "unix://%s/hv-listen.sock_1025", test_tmpdir());
    _cleanup_close_ int lfd = transport_listen(uri, &e);
    ASSERT_OK(lfd);
    _cleanup_close_ int cfd = transport_dial(unix_uri, SEC, &e);
    ASSERT_OK(cfd);
    return roundtrip(lfd, cfd);
}

/* ---- vsock ---- */

static uint32_t test_vsock_port(void)
{
    return 20000u + (uint32_t)getpid() % 40000u;
}

static int vsock_unusable(int r)
{
    return r == -EAFNOSUPPORT || r == -ENODEV || r == -EPROTONOSUPPORT || r == -EADDRNOTAVAIL;
}

TEST(vsock_listen)
{
    char uri[64];
    struct err e = ERR_INIT;
    snprintf(uri, sizeof(uri), "vsock://-1:%u", test_vsock_port());
    _cleanup_close_ int lfd = transport_listen(uri, &e);
    if (vsock_unusable(lfd))
        return test_skip("AF_VSOCK unusable here: %s", e.msg);
    ASSERT_OK(lfd);
    ASSERT_OK(check_fd_flags(lfd));
    ASSERT_EQ(transport_listen(uri, NULL), -EADDRINUSE);
    return 0;
}

TEST(vsock_loopback_roundtrip)
{
    char luri[64], duri[64];
    struct err e = ERR_INIT;
    /* Without the loopback transport a connect to CID 1 leaves the guest and
     * reaches the hypervisor; only try where the loopback is known present. */
    if (access("/sys/module/vsock_loopback", F_OK) < 0 && !getenv("KATA_TEST_VSOCK_LOOPBACK"))
        return test_skip("no vsock_loopback module (set KATA_TEST_VSOCK_LOOPBACK=1 if built in)");
    snprintf(luri, sizeof(luri), "vsock://-1:%u", test_vsock_port() + 1);
    snprintf(duri, sizeof(duri), "vsock://%u:%u", VMADDR_CID_LOCAL, test_vsock_port() + 1);
    _cleanup_close_ int lfd = transport_listen(luri, &e);
    if (vsock_unusable(lfd))
        return test_skip("AF_VSOCK unusable here: %s", e.msg);
    ASSERT_OK(lfd);
    _cleanup_close_ int cfd = transport_dial(duri, 2 * SEC, &e);
    if (vsock_unusable(cfd) || cfd == -ECONNRESET || cfd == -ENETUNREACH)
        return test_skip("vsock loopback not usable: %s", e.msg);
    ASSERT_OK(cfd);
    return roundtrip(lfd, cfd);
}

/* ---- serial ---- */

TEST(serial_pty)
{
    char name[128], uri[160], buf[8] = "";
    struct err e = ERR_INIT;
    _cleanup_close_ int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    ASSERT_OK(master);
    ASSERT_EQ(grantpt(master), 0);
    ASSERT_EQ(unlockpt(master), 0);
    ASSERT_EQ(ptsname_r(master, name, sizeof(name)), 0);
    snprintf(uri, sizeof(uri), "serial://%s", name);

    _cleanup_close_ int fd = transport_dial(uri, SEC, &e);
    ASSERT_OK(fd);
    ASSERT_OK(check_fd_flags(fd));
    ASSERT_EQ(fd_write_full(fd, "hi\n", 3), 3);
    ASSERT_GT(fd_wait(master, POLLIN, 2000), 0);
    ASSERT_GT(read(master, buf, sizeof(buf)), 0);
    ASSERT_EQ(buf[0], 'h');

    err_clear(&e);
    ASSERT_EQ(transport_listen(uri, &e), -EOPNOTSUPP);
    ASSERT_TRUE(strstr(e.msg, "serial") != NULL);
    return 0;
}

TEST(serial_refuses_non_char_device)
{
    char path[200], uri[256];
    struct err e = ERR_INIT;
    snprintf(path, sizeof(path), "%s/fifo", test_tmpdir());
    ASSERT_EQ(mkfifo(path, 0600), 0);
    snprintf(uri, sizeof(uri), "serial://%s", path);
    ASSERT_EQ(transport_dial(uri, SEC, &e), -ENODEV);
    ASSERT_TRUE(strstr(e.msg, "not a character device") != NULL);
    err_clear(&e);
    snprintf(uri, sizeof(uri), "serial://%s/missing", test_tmpdir());
    ASSERT_EQ(transport_dial(uri, SEC, &e), -ENOENT);
    ASSERT_TRUE(strstr(e.msg, "open: ") != NULL);
    return 0;
}
