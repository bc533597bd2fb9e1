/* Fuzz target: request decoding and dispatch in the real server. The input
 * is written into one end of a socket pair whose other end is a server
 * connection serving kata.testing.Echo, then the loop runs until the server
 * has answered what it could and closed the connection. Replies are read and
 * checked to be well-formed frames. */
#include <assert.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/loop.h"
#include "lib/ttrpc/frame.h"
#include "lib/ttrpc/ttrpc.h"
#include "tests/fuzz/fuzz.h"
#include "tests/support/echo_service.h"
#include "ttrpc/request.pb-c.h"

static void drain_replies(int fd, struct ttrpc_frame_reader *rd)
{
    struct ttrpc_frame f;
    while (ttrpc_frame_reader_fill(rd, fd) > 0)
        while (ttrpc_frame_reader_next(rd, &f) == TTRPC_FRAME_READY) {
            assert(f.header.type == TTRPC_TYPE_RESPONSE);
            Ttrpc__Response *resp = ttrpc__response__unpack(NULL, f.header.length, f.data);
            assert(resp != NULL);
            ttrpc__response__free_unpacked(resp, NULL);
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
        return 0;
    struct loop *loop = NULL;
    struct ttrpc_server *server = NULL;
    struct echo_service *echo = NULL;
    if (loop_new(&loop) < 0)
        abort();
    ttrpc_server_new(loop, NULL, &server);
    echo_service_new(loop, server, &echo);
    ttrpc_server_add_connection(server, sv[0]);

    struct ttrpc_frame_reader rd;
    ttrpc_frame_reader_init(&rd);
    size_t off = 0;
    while (off < size) {
        ssize_t n = write(sv[1], data + off, size - off);
        if (n > 0)
            off += (size_t)n;
        loop_run_once(loop, 0);
        drain_replies(sv[1], &rd);
    }
    shutdown(sv[1], SHUT_WR);
    /* Held Sleep calls are cancelled when the connection closes. */
    for (int i = 0; i < 100 && ttrpc_server_connection_count(server) > 0; i++) {
        loop_run_once(loop, 1);
        drain_replies(sv[1], &rd);
    }
    close(sv[1]);
    ttrpc_frame_reader_done(&rd);
    echo_service_free(echo);
    ttrpc_server_free(server);
    loop_run_once(loop, 0);
    loop_free(loop);
    return 0;
}
