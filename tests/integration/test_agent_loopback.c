/* network_setup_loopback() against the real kernel: in a fresh network
 * namespace lo is down and has no address, as in a guest whose init is the
 * agent; afterwards it is up with 127.0.0.1/8, read back with ioctls and
 * a real socket, independently of the function's own netlink code. */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent/network.h"
#include "lib/err.h"
#include "tests/harness/harness.h"

static int lo_state(short *flags, struct in_addr *addr)
{
    struct ifreq ifr;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    memset(&ifr, 0, sizeof(ifr));
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
    int r = ioctl(fd, SIOCGIFFLAGS, &ifr) < 0 ? -errno : 0;
    *flags = ifr.ifr_flags;
    addr->s_addr = 0;
    if (r == 0 && ioctl(fd, SIOCGIFADDR, &ifr) == 0)
        *addr = ((struct sockaddr_in *)&ifr.ifr_addr)->sin_addr;
    close(fd);
    return r;
}

/* A UDP datagram to 127.0.0.1 arrives only when lo really works. */
static bool udp_loop_works(void)
{
    int a = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    int b = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sa);
    char buf[8] = {0};
    bool ok = a >= 0 && b >= 0 && bind(a, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
              getsockname(a, (struct sockaddr *)&sa, &len) == 0 &&
              sendto(b, "ping", 4, 0, (struct sockaddr *)&sa, sizeof(sa)) == 4 &&
              recv(a, buf, sizeof(buf), MSG_DONTWAIT) == 4 && memcmp(buf, "ping", 4) == 0;
    if (a >= 0)
        close(a);
    if (b >= 0)
        close(b);
    return ok;
}

TEST(loopback_up_with_localhost)
{
    if (geteuid() != 0 || unshare(CLONE_NEWNET) < 0)
        return test_skip("cannot unshare a network namespace (needs root)");
    short flags;
    struct in_addr addr;
    ASSERT_OK(lo_state(&flags, &addr));
    ASSERT_EQ(flags & IFF_UP, 0);
    ASSERT_EQ(addr.s_addr, 0);
    ASSERT_TRUE(!udp_loop_works());

    struct err e = ERR_INIT;
    ASSERT_EQ(network_setup_loopback(&e), 0);
    ASSERT_OK(lo_state(&flags, &addr));
    ASSERT_NE(flags & IFF_UP, 0);
    ASSERT_EQ(ntohl(addr.s_addr), INADDR_LOOPBACK);
    ASSERT_TRUE(udp_loop_works());

    /* Again, as a restarted agent would: nothing to do, no error. */
    ASSERT_EQ(network_setup_loopback(&e), 0);
    ASSERT_OK(lo_state(&flags, &addr));
    ASSERT_NE(flags & IFF_UP, 0);
    return 0;
}
