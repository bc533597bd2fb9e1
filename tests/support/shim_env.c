/* The in-process shim of shim_env.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/loop.h"
#include "lib/ttrpc/ttrpc.h"
#include "lib/workpool.h"
#include "shim/task_service.h"
#include "tests/harness/harness.h"
#include "tests/support/shim_env.h"

void shim_env_free(struct shim_env *v)
{
    /* Teardown (sandbox stop, pending calls) runs on the loop. */
    for (int i = 0; i < 200 && (v->shim.sandbox || v->shim.pending); i++)
        loop_run_once(v->shim.loop, 20);
    v->client = ttrpc_client_free(v->client);
    v->shim.pool = workpool_free(v->shim.pool);
    v->shim.server = ttrpc_server_free(v->shim.server);
    v->fa = fake_agent_free(v->fa);
    v->shim.loop = loop_free(v->shim.loop);
}

int shim_env_init(struct shim_env *v, const struct fake_agent_opts *o, int dial_timeout_s)
{
    char conf[256];
    int sv[2];
    FILE *f;

    memset(v, 0, sizeof(*v));
    if (geteuid() != 0)
        return test_skip("needs root (rootfs bind mounts)");
    snprintf(conf, sizeof(conf), "%s/kata-mock.toml", test_tmpdir());
    if (!(f = fopen(conf, "we")))
        return 1;
    fprintf(f, "[hypervisor.mock]\npath = \"/bin/true\"\n[agent.kata]\ndial_timeout = %d\n",
            dial_timeout_s);
    if (fclose(f) != 0)
        return 1;
    setenv("KATA_CONF_FILE", conf, 1);
    snprintf(v->sock, sizeof(v->sock), "%s/fake-agent.sock", test_tmpdir());
    snprintf(v->uri, sizeof(v->uri), "unix://%s", v->sock);
    v->shim.namespace_ = "default";
    v->shim.id = "t";
    v->shim.agent_uri_override = v->uri;
    if (loop_new(&v->shim.loop) < 0 || workpool_new(v->shim.loop, 4, 64, &v->shim.pool) < 0 ||
        ttrpc_server_new(v->shim.loop, NULL, &v->shim.server) < 0 ||
        task_service_register(&v->shim) < 0 ||
        fake_agent_new(v->shim.loop, v->sock, o, &v->fa) < 0 ||
        socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) < 0)
        return 1;
    /* Both calls own their fd, even when they fail. */
    if (ttrpc_server_add_connection(v->shim.server, sv[0]) < 0) {
        close(sv[1]);
        return 1;
    }
    if (ttrpc_client_new(v->shim.loop, sv[1], NULL, &v->client) < 0)
        return 1;
    return 0;
}
