/* An in-process fake of the guest agent (grpc.AgentService + grpc.Health)
 * on a lib/ttrpc server, for shim tests without a VM. It runs on the
 * caller's loop and listens on a unix socket. Processes "run" until they
 * are signalled (exit 128+signal) or, with exit_at_start >= 0, exit at
 * once after Start/Exec with that status; ReadStdout answers `output`
 * once, then end-of-stream after the exit. Modes make it misbehave:
 * never answering, or sending malformed replies. Test-only code. */
#pragma once

#include <stdbool.h>

struct loop;
struct fake_agent;

enum fake_agent_mode {
    FAKE_AGENT_OK,
    FAKE_AGENT_SILENT,       /* accepts connections, never answers */
    FAKE_AGENT_BAD_WAIT,     /* WaitProcess answers an impossible status */
    FAKE_AGENT_BAD_READ,     /* ReadStdout answers more than was asked */
};

struct fake_agent_opts {
    enum fake_agent_mode mode;
    int exit_at_start;       /* -1: run until signalled */
    const char *output;      /* stdout of every process, may be NULL */
};

/* Listens on unix://<socket_path>. */
int fake_agent_new(struct loop *loop, const char *socket_path, const struct fake_agent_opts *o,
                   struct fake_agent **ret);
/* Fails held calls, stops listening, removes the socket. NULL-safe. */
struct fake_agent *fake_agent_free(struct fake_agent *fa);
/* Number of calls of a method received so far. */
unsigned fake_agent_calls(const struct fake_agent *fa, const char *method);
