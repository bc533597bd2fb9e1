/* Glue: registers grpc.AgentService and grpc.Health on a ttRPC server.
 * Every handler has Kata's shape: decode, agent_policy_allow(), do_* in the
 * domain, encode; errors go through ttrpc_code_from_errno(), the one
 * errno -> gRPC table. Methods without a handler answer UNIMPLEMENTED with
 * their name. Loop thread only. */
#pragma once

struct agent;
struct ttrpc_server;

int agent_service_register(struct agent *a, struct ttrpc_server *server);
