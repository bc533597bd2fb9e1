/* Socket address convention; see address.h. */
#include "shim/address.h"

#include <errno.h>
#include <fcntl.h>
#include <nettle/sha2.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lib/compiler.h"
#include "lib/fd.h"

void address_sha256_hex(const void *data, size_t len, char ret_hex[65])
{
    struct sha256_ctx ctx;
    uint8_t d[SHA256_DIGEST_SIZE];

    sha256_init(&ctx);
    sha256_update(&ctx, len, data);
    sha256_digest(&ctx, sizeof(d), d);
    for (size_t i = 0; i < sizeof(d); i++)
        snprintf(ret_hex + 2 * i, 3, "%02x", d[i]);
}

/* Go's filepath.Clean for the cases a socket address meets: duplicate
 * slashes and "." elements go, a leading slash stays, no trailing slash. */
static size_t clean_path(char *p)
{
    size_t in = 0, out = 0;
    bool rooted = p[0] == '/';

    while (p[in]) {
        size_t n;
        while (p[in] == '/')
            in++;
        n = strcspn(p + in, "/");
        if (n == 0 || (n == 1 && p[in] == '.')) {
            in += n;
            continue;
        }
        if (out > 0 || rooted)
            p[out++] = '/';
        memmove(p + out, p + in, n);
        out += n;
        in += n;
    }
    if (out == 0 && rooted)
        p[out++] = '/';
    p[out] = '\0';
    return out;
}

int address_join(const char *grpc_address, const char *ns, const char *id, char *buf,
                 size_t size)
{
    int r = snprintf(buf, size, "%s/%s/%s", grpc_address, ns, id);

    if (r < 0 || (size_t)r >= size)
        return -ENAMETOOLONG;
    return (int)clean_path(buf);
}

int address_for(const char *grpc_address, const char *ns, const char *group_id, char *buf,
                size_t size)
{
    char joined[4096], hex[65];
    int r = address_join(grpc_address, ns, group_id, joined, sizeof(joined));

    if (r < 0)
        return r;
    address_sha256_hex(joined, (size_t)r, hex);
    r = snprintf(buf, size, "unix://%s/%s", ADDRESS_SOCKET_DIR, hex);
    return r < 0 || (size_t)r >= size ? -ENAMETOOLONG : r;
}

const char *address_socket_path(const char *uri)
{
    if (strncmp(uri, "unix://", 7) != 0 || uri[7] != '/')
        return NULL;
    return uri + 7;
}

int address_write_file(const char *dir, const char *uri)
{
    char tmp[4096], dst[4096];
    _cleanup_close_ int fd = -1;
    ssize_t w;

    if (snprintf(tmp, sizeof(tmp), "%s/.address", dir) >= (int)sizeof(tmp) ||
        snprintf(dst, sizeof(dst), "%s/address", dir) >= (int)sizeof(dst))
        return -ENAMETOOLONG;
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    w = fd_write_full(fd, uri, strlen(uri));
    if (w < 0) {
        unlink(tmp);
        return (int)w;
    }
    fd = fd_close(fd);
    if (rename(tmp, dst) < 0) {
        int r = -errno;
        unlink(tmp);
        return r;
    }
    return 0;
}

int address_read_file(const char *dir, char *buf, size_t size)
{
    char path[4096];
    _cleanup_close_ int fd = -1;
    ssize_t n;

    if (snprintf(path, sizeof(path), "%s/address", dir) >= (int)sizeof(path) || size < 2)
        return -ENAMETOOLONG;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    n = fd_read_full(fd, buf, size - 1);
    if (n < 0)
        return (int)n;
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
        n--;
    buf[n] = '\0';
    return (int)n;
}
