/* A stand-in /init for the e2e initrd while the agent cannot yet serve as
 * PID 1: it runs agent/pid1.c's real duties (mounts, module loading, channel
 * choice), reports them on the console, and echoes bytes on the agent's
 * virtio-serial port, so the tests prove kernel, initrd, modules, the port
 * name and the host socket end to end. Built static into
 * $(O)/tests/e2e/e2e-initrd.img. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent/pid1.h"
#include "lib/err.h"

int main(void)
{
    struct err e = ERR_INIT;
    int r = pid1_setup(&e);
    /* The agent loads the rest after serving; this stand-in has no RPC to
     * hold, so it loads them all before it answers. */
    if (r >= 0) {
        int rest = pid1_load_remaining_modules(&e);
        r = rest < 0 ? rest : r + rest;
    }
    printf("KATA-E2E-INIT modules=%d%s%s\n", r, r < 0 ? " error=" : "", r < 0 ? e.msg : "");
    char addr[128];
    r = pid1_agent_address(addr, sizeof(addr));
    printf("KATA-E2E-INIT address=%s\n", r < 0 ? "none" : addr);
    fflush(stdout);
    if (r < 0 || strncmp(addr, "serial://", 9) != 0) {
        for (;;)
            pause();
    }
    int fd = open(addr + 9, O_RDWR | O_CLOEXEC);
    printf("KATA-E2E-INIT ready fd=%d\n", fd);
    fflush(stdout);
    char buf[4096];
    for (;;) {
        struct pollfd p = {fd, POLLIN, 0};
        poll(&p, 1, -1);
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n <= 0) {
            /* No host connected: the port reports HUP and reads return 0
             * until one connects (guest-boot.md §2.3). */
            struct timespec ts = {0, 50 * 1000000};
            nanosleep(&ts, NULL);
            continue;
        }
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(fd, buf + off, (size_t)(n - off));
            if (w <= 0)
                break;
            off += w;
        }
    }
}
