/* CreateSandbox's guest identity (see agent/network.h): the resolv.conf
 * lines and the hostname, checked before anything is written. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/network-internal.h"
#include "agent/network.h"
#include "lib/compiler.h"
#include "lib/err.h"
#include "lib/fd.h"
#include "lib/log.h"

int network_check_dns(char *const *lines, size_t n, struct err *e)
{
    static const char *const keywords[] = {"nameserver", "search", "domain", "options",
                                           "sortlist"};
    if (n > NETWORK_MAX_DNS_LINES)
        return err_set(e, -E2BIG, "dns: more than %d lines", NETWORK_MAX_DNS_LINES);
    for (size_t i = 0; i < n; i++) {
        const char *l = lines[i] ? lines[i] : "";
        size_t len = strlen(l);
        /* One line each: an embedded newline could smuggle in others. */
        if (len == 0 || len > 1024 || strpbrk(l, "\n\r"))
            return err_set(e, -EINVAL, "dns[%zu]: not a single resolv.conf line", i);
        if (l[0] == '#' || l[0] == ';')
            continue;
        bool known = false;
        for (size_t k = 0; k < ELEMENTSOF(keywords) && !known; k++) {
            size_t kl = strlen(keywords[k]);
            known = strncmp(l, keywords[k], kl) == 0 && (l[kl] == ' ' || l[kl] == '\t');
        }
        if (!known)
            return err_set(e, -EINVAL, "dns[%zu]: \"%.64s\" is not a resolv.conf directive", i, l);
        if (strncmp(l, "nameserver", 10) == 0) {
            const char *ip = l + 10;
            while (*ip == ' ' || *ip == '\t')
                ip++;
            uint8_t bytes[16], fam;
            if (!network_parse_ip(ip, bytes, &fam))
                return err_set(e, -EINVAL, "dns[%zu]: \"%.64s\" is not a nameserver address", i,
                               ip);
        }
    }
    return 0;
}

/* The agent is the guest's init, so the guest's hostname and files are its
 * own. A stand-alone agent (tests, debugging on a host) cannot tell a
 * private namespace from the host's reliably (/proc/1/ns is often
 * unreadable in containers), so it changes them only when whoever started
 * it says the namespace is private. */
static bool owns_namespace(const char *kind)
{
    if (getpid() == 1)
        return true;
    const char *env = getenv("KATA_AGENT_PRIVATE_NAMESPACES");
    if (!env)
        return false;
    /* A comma-separated list of namespace kinds: "mnt,uts". */
    size_t n = strlen(kind);
    for (const char *p = env; (p = strstr(p, kind)); p += n)
        if ((p == env || p[-1] == ',') && (p[n] == ',' || p[n] == '\0'))
            return true;
    return false;
}

static int bind_resolv_conf(const char *path, struct err *e)
{
    static const char etc[] = "/etc/resolv.conf";
    struct stat src, dst;
    if (stat(path, &src) < 0)
        return err_set(e, -errno, "dns: %s: %s", path, strerror(errno));
    if (lstat(etc, &dst) < 0) {
        int fd = open(etc, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0)
            return err_set(e, -errno, "dns: cannot create %s: %s", etc, strerror(errno));
        close(fd);
    } else if (stat(etc, &dst) == 0 && dst.st_dev == src.st_dev && dst.st_ino == src.st_ino) {
        return 0; /* bound by an earlier sandbox: the file was rewritten in place */
    }
    if (mount(path, etc, NULL, MS_BIND, NULL) < 0)
        return err_set(e, -errno, "dns: cannot bind %s over %s: %s", path, etc, strerror(errno));
    return 0;
}

int network_setup_dns(const char *run_dir, char *const *lines, size_t n, struct err *e)
{
    if (n == 0)
        return 0;
    int r = network_check_dns(lines, n, e);
    if (r < 0)
        return r;
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/sandbox", run_dir);
    if ((mkdir(run_dir, 0755) < 0 && errno != EEXIST) || (mkdir(path, 0755) < 0 && errno != EEXIST))
        return err_set(e, -errno, "dns: cannot create %s: %s", path, strerror(errno));
    snprintf(path, sizeof(path), "%s/sandbox/resolv.conf", run_dir);
    /* Rewritten in place, not renamed over: /etc/resolv.conf may already
     * be a bind mount of this very inode. */
    _cleanup_close_ int fd =
        open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0)
        return err_set(e, -errno, "dns: cannot write %s: %s", path, strerror(errno));
    for (size_t i = 0; i < n; i++) {
        if (fd_write_full(fd, lines[i], strlen(lines[i])) < 0 || fd_write_full(fd, "\n", 1) < 0)
            return err_set(e, -EIO, "dns: cannot write %s", path);
    }
    if (!owns_namespace("mnt")) {
        log_debug("not the guest's init: /etc/resolv.conf left alone");
        return 0;
    }
    return bind_resolv_conf(path, e);
}

int network_set_hostname(const char *hostname, struct err *e)
{
    if (!hostname || !*hostname)
        return 0;
    size_t len = strlen(hostname);
    if (len > 64)
        return err_set(e, -EINVAL, "hostname: longer than 64 characters");
    for (const char *p = hostname; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.' && *p != '_')
            return err_set(e, -EINVAL, "hostname: \"%s\" has a character a hostname cannot",
                           hostname);
    if (!owns_namespace("uts")) {
        log_debug("sharing the host's UTS namespace: not setting the hostname");
        return 0;
    }
    if (sethostname(hostname, len) < 0)
        return err_set(e, -errno, "hostname: cannot set \"%s\": %s", hostname, strerror(errno));
    return 0;
}

