/* OCI JSON (config.json, an Exec process, Update resources) turned into
 * what the agent gets, through lib/oci_spec_json, and rewritten for the
 * guest as Kata's constrainGRPCSpec does (docs/facts kata.md §3): hooks
 * and seccomp dropped (hooks run on the host), device/pids/blkio/network
 * resources and cpuset cleared, network/cgroup/time namespaces removed,
 * other namespace paths emptied (a PID namespace path becomes
 * sandbox_pidns), root.path set to the guest path of the shared rootfs,
 * cgroupsPath kept unless it is systemd-style. Handles are opaque to the
 * domain; agent_client.c consumes them. Pure functions: any thread. */
#pragma once

#include <stddef.h>

struct err;
struct agent_spec;
struct agent_json;

int agent_spec_load(const char *config_path, const char *cid, const char *guest_root,
                    struct agent_spec **ret_spec, struct err *e);
/* The same from JSON text (tests). */
int agent_spec_parse(const char *json, size_t len, const char *cid, const char *guest_root,
                     struct agent_spec **ret_spec, struct err *e);
/* NULL-safe, returns NULL. */
struct agent_spec *agent_spec_free(struct agent_spec *s);

/* containerd's Exec spec Any (runtime-spec Process JSON). */
int agent_json_process(const void *json, size_t len, struct agent_json **ret, struct err *e);
/* containerd's Update resources Any (runtime-spec LinuxResources JSON). */
int agent_json_resources(const void *json, size_t len, struct agent_json **ret, struct err *e);
/* NULL-safe, returns NULL. */
struct agent_json *agent_json_free(struct agent_json *j);
