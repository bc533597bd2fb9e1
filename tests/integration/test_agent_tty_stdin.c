/* A terminal's stdin and stdout share one pty master in the agent. The
 * container here ignores its stdin for a while, so the master's input
 * queue fills and WriteStdin has to wait for room, while ReadStdout calls
 * are parked on the same master. Each WriteStdin must wait for room and
 * write everything, not come back at once having written nothing (which
 * made the shim re-send in a tight loop until the pty drained), and a
 * parked read must not end the output early. The stand-alone agent runs
 * as a local process; needs root and busybox-static. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "google/protobuf/empty.pb-c.h"
#include "kata/agent.pb-c.h"
#include "lib/compiler.h"
#include "lib/loop.h"
#include "lib/ttrpc/ttrpc.h"
#include "tests/harness/harness.h"
#include "tests/support/agent_harness.h"

#define EMPTY &google__protobuf__empty__descriptor
#define TOTAL (256u * 1024)
#define CHUNK (16u * 1024)
/* Lines, so that the canonical-mode line buffer (4 KiB) never overflows
 * and drops bytes. */
#define LINE 64u

struct pump {
    struct agent_harness *h;
    const char *cid;
    const char *payload;
    bool wait_ready;      /* start writing once "ready" was read */
    /* stdin side */
    size_t sent;          /* bytes the agent accepted */
    size_t chunk_left;    /* of the chunk in flight */
    unsigned answers;     /* WriteStdin answers */
    unsigned zero;        /* ... with written == 0 */
    bool write_busy, stdin_closed;
    int write_code;
    /* stdout side */
    size_t out_len;
    char tail[64];        /* the last bytes read */
    bool out_eof;
    int read_code;
};

static void send_write(struct pump *p);
static void send_read(struct pump *p);

static void write_done(const struct ttrpc_status *st, const ProtobufCMessage *resp, void *ud)
{
    struct pump *p = ud;
    p->write_busy = false;
    if (st->code != TTRPC_OK) {
        p->write_code = st->code;
        printf("#   WriteStdin: %d %s\n", st->code, st->message);
        return;
    }
    if (p->stdin_closed)
        return;
    size_t n = ((const Grpc__WriteStreamResponse *)resp)->len;
    p->answers++;
    if (n == 0)
        p->zero++;
    if (n > p->chunk_left) {
        p->write_code = -1;
        printf("#   WriteStdin says %zu bytes written of %zu\n", n, p->chunk_left);
        return;
    }
    p->sent += n;
    p->chunk_left -= n;
    send_write(p);
}

/* The rest of the chunk in flight (as the shim re-sends a short write), the
 * next chunk, or, once all is accepted, an empty write: ^D for cat. */
static void send_write(struct pump *p)
{
    Grpc__WriteStreamRequest req = GRPC__WRITE_STREAM_REQUEST__INIT;
    req.container_id = (char *)p->cid;
    req.exec_id = (char *)p->cid;
    if (p->chunk_left == 0 && p->sent < TOTAL)
        p->chunk_left = MIN(CHUNK, TOTAL - p->sent);
    if (p->chunk_left) {
        req.data.data = (uint8_t *)p->payload + p->sent;
        req.data.len = p->chunk_left;
    } else {
        p->stdin_closed = true;
    }
    p->write_busy = true;
    int r = ttrpc_client_call(p->h->client, "grpc.AgentService", "WriteStdin", &req.base,
                              &grpc__write_stream_response__descriptor, NULL, write_done, p);
    if (r < 0) {
        p->write_busy = false;
        p->write_code = r;
    }
}

static void read_done(const struct ttrpc_status *st, const ProtobufCMessage *resp, void *ud)
{
    struct pump *p = ud;
    if (st->code != TTRPC_OK) {
        p->read_code = st->code;
        printf("#   ReadStdout: %d %s\n", st->code, st->message);
        return;
    }
    const Grpc__ReadStreamResponse *r = (const Grpc__ReadStreamResponse *)resp;
    if (r->data.len == 0) {
        p->out_eof = true;
        return;
    }
    /* Keep the last bytes: the echo of the input, then "done". */
    size_t n = r->data.len, keep = sizeof(p->tail) - 1, have = strlen(p->tail);
    if (n >= keep) {
        memcpy(p->tail, r->data.data + n - keep, keep);
        p->tail[keep] = '\0';
    } else {
        size_t drop = have + n > keep ? have + n - keep : 0;
        memmove(p->tail, p->tail + drop, have - drop);
        memcpy(p->tail + have - drop, r->data.data, n);
        p->tail[have - drop + n] = '\0';
    }
    p->out_len += n;
    /* The read goes first: the agent parks it before the write blocks. */
    send_read(p);
    if (p->wait_ready && strstr(p->tail, "ready\r\n")) {
        p->wait_ready = false;
        send_write(p);
    }
}

static void send_read(struct pump *p)
{
    Grpc__ReadStreamRequest req = GRPC__READ_STREAM_REQUEST__INIT;
    req.container_id = (char *)p->cid;
    req.exec_id = (char *)p->cid;
    req.len = 32768;
    if (ttrpc_client_call(p->h->client, "grpc.AgentService", "ReadStdout", &req.base,
                          &grpc__read_stream_response__descriptor, NULL, read_done, p) < 0)
        p->read_code = -1;
}

static int call_empty(struct agent_harness *h, const char *method, const ProtobufCMessage *req)
{
    const char *msg = "";
    int code = agent_harness_call(h, method, req, EMPTY, NULL, &msg);
    if (code != 0)
        printf("#   %s: %d %s\n", method, code, msg);
    return code;
}

static char *make_payload(void)
{
    char *buf = malloc(TOTAL);
    for (size_t i = 0; buf && i < TOTAL; i++)
        buf[i] = (i % LINE == LINE - 1) ? '\n' : (char)('a' + (i / LINE) % 26);
    return buf;
}

/* Runs script in a tty container, reading its output to the end while
 * 256 KiB go to its stdin; wait_ready: the writes start once the output
 * says "ready" (the script turned the echo off first, so a read is parked
 * all along). */
static int run(struct agent_harness *h, const char *bundle, const char *cid, const char *script,
               bool wait_ready)
{
    struct agent_harness_spec s;
    const char *args[] = {"sh", "-c", script, NULL};
    agent_harness_spec_init(&s, bundle, args);
    s.process.terminal = true;
    Grpc__CreateContainerRequest creq = GRPC__CREATE_CONTAINER_REQUEST__INIT;
    creq.container_id = (char *)cid;
    creq.exec_id = (char *)cid;
    creq.oci = &s.spec;
    ASSERT_EQ(call_empty(h, "CreateContainer", &creq.base), 0);
    Grpc__StartContainerRequest sreq = GRPC__START_CONTAINER_REQUEST__INIT;
    sreq.container_id = (char *)cid;
    ASSERT_EQ(call_empty(h, "StartContainer", &sreq.base), 0);

    struct pump p = {.h = h, .cid = cid, .payload = make_payload(), .wait_ready = wait_ready};
    ASSERT_TRUE(p.payload != NULL);
    send_read(&p);
    if (!wait_ready)
        send_write(&p);
    /* Ends when the container closed its output; every call is answered or
     * failed by then (the agent answers parked calls when it goes). */
    while ((!p.out_eof || p.write_busy) && !p.read_code && !p.write_code)
        loop_run_once(h->loop, 1000);
    free((void *)p.payload);
    printf("#   %u WriteStdin answers, %u with nothing written; %zu bytes accepted, %zu "
           "read\n",
           p.answers, p.zero, p.sent, p.out_len);
    ASSERT_EQ(p.write_code, 0);
    ASSERT_EQ(p.read_code, 0);
    ASSERT_EQ(p.sent, (size_t)TOTAL);
    ASSERT_TRUE(p.stdin_closed);
    ASSERT_LT(p.zero, 10u);
    if (!strstr(p.tail, "done\r\n"))
        printf("#   the output ends with \"%s\"\n", p.tail);
    ASSERT_TRUE(strstr(p.tail, "done\r\n") != NULL);
    ASSERT_EQ(agent_harness_wait(h, cid, cid), 0);

    Grpc__RemoveContainerRequest rreq = GRPC__REMOVE_CONTAINER_REQUEST__INIT;
    rreq.container_id = (char *)cid;
    rreq.timeout = 10;
    ASSERT_EQ(call_empty(h, "RemoveContainer", &rreq.base), 0);
    ASSERT_EQ(agent_harness_count_mounts(h->dir), 0);
    return 0;
}

/* Starts an agent, runs the case, checks the agent kept no fd of it and
 * exits cleanly (under ASan: no leak report). */
static int with_agent(const char *cid, const char *script, bool wait_ready)
{
    struct agent_harness h;
    int r = agent_harness_start(&h);
    if (r == -ENOENT)
        return test_skip("%s", h.why);
    ASSERT_EQ(r, 0);
    char bundle[300], why[256] = "";
    snprintf(bundle, sizeof(bundle), "%s/bundle", h.dir);
    if (agent_harness_bundle(bundle, why, sizeof(why)) < 0) {
        agent_harness_stop(&h);
        return test_skip("%s", why);
    }
    int fds_before = agent_harness_count_fds(h.pid);
    r = run(&h, bundle, cid, script, wait_ready);
    for (int i = 0; !r && i < 100 && agent_harness_count_fds(h.pid) > fds_before; i++)
        nanosleep(&(struct timespec){0, 20 * 1000 * 1000}, NULL);
    if (!r && agent_harness_count_fds(h.pid) > fds_before) {
        printf("#   the agent holds %d fds, %d before\n", agent_harness_count_fds(h.pid),
               fds_before);
        r = 1;
    }
    int rc = agent_harness_stop(&h);
    if (rc != 0)
        printf("#   the agent exited with %d\n", rc);
    return r ? r : rc != 0;
}

/* No echo: the output is quiet, so a ReadStdout stays parked on the master
 * while every WriteStdin waits for room. */
TEST(agent_tty_stdin_waits_with_read_parked)
{
    return with_agent("ttyin1", "stty -echo; echo ready; sleep 2; cat >/dev/null; echo done",
                      true);
}

/* With the echo on, reads and writes come and go on the master in every
 * order: a read parked while a write waits must still see the output to
 * its end. */
TEST(agent_tty_stdin_waits_with_echo)
{
    return with_agent("ttyin2", "sleep 2; cat >/dev/null; echo done", false);
}
