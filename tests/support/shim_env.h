/* An in-process shim for Task-service tests without a VM: the shim's Task
 * service on its own loop, its guest agent replaced by the fake agent of
 * fake_agent.h (through the shim's agent_uri_override hook), and a real
 * ttRPC client connected to it over a socketpair. The configuration is
 * [hypervisor.mock], written to the test's scratch dir and named by
 * KATA_CONF_FILE. Test-only code. */
#pragma once

#include "shim/shim.h"
#include "tests/support/fake_agent.h"

struct ttrpc_client;

struct shim_env {
    struct shim shim;
    struct fake_agent *fa;
    struct ttrpc_client *client;  /* talks to the shim's Task service */
    char sock[108], uri[128];     /* the fake agent's socket */
};

/* Sets it all up with the fake agent's options o and the agent dial timeout
 * (seconds). Follows the TEST() convention: 0, a test_skip() value without
 * root (the shim bind-mounts the rootfs into the shared folder), or 1. *v
 * is zeroed first, so shim_env_free may follow any return. */
int shim_env_init(struct shim_env *v, const struct fake_agent_opts *o, int dial_timeout_s);
/* Lets the shim's teardown work finish, then frees in dependency order. */
void shim_env_free(struct shim_env *v);
