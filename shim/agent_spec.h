/* OCI JSON (config.json, an Exec process, Update resources) turned into
 * what the agent gets, through lib/oci_spec_json, and rewritten for the
 * guest as Kata's constrainGRPCSpec does (docs/facts kata.md §3): hooks
 * and seccomp dropped (hooks run on the host; seccomp is put back by
 * agent_spec_guest_seccomp()), device/pids/blkio/network
 * resources and cpuset cleared, network/cgroup/time namespaces removed,
 * other namespace paths emptied (a PID namespace path becomes
 * sandbox_pidns; a UTS namespace path, the pod's, drops the UTS namespace
 * so that the container shares the guest's, named by CreateSandbox), root.path set to the guest path of the shared rootfs,
 * cgroupsPath kept unless it is systemd-style. Handles are opaque to the
 * domain; agent_client.c consumes them. Pure functions: any thread. */
#pragma once

#include <stdbool.h>
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

/* [runtime] disable_guest_seccomp = false (apply): puts the container's
 * seccomp profile, which loading takes out, back into the spec, so the
 * agent installs it in the guest (agent/seccomp_filter.c), as Kata does
 * when its agent supports seccomp (ours always does). Without this call
 * the profile is not sent. */
void agent_spec_guest_seccomp(struct agent_spec *s, bool apply);
/* Whether the spec sent to the agent carries a seccomp profile. */
bool agent_spec_has_seccomp(const struct agent_spec *s);

/* The pod's DNS as CreateSandbox carries it, as Kata's runtime finds it:
 * the lines of the host file the spec mounts at /etc/resolv.conf (CRI
 * writes one per pod). Only resolv.conf directives are kept (nameserver
 * lines with an address inet_pton accepts, search, domain, options,
 * sortlist), at most AGENT_SPEC_MAX_DNS_LINES; comments, blanks and
 * anything else are dropped, so one odd line cannot fail the pod. No such
 * mount: *ret_n = 0. Free the lines with agent_spec_dns_free(). Reads a
 * file: call from a worker. */
#define AGENT_SPEC_MAX_DNS_LINES 64
int agent_spec_dns(const struct agent_spec *s, char ***ret_lines, size_t *ret_n, struct err *e);
void agent_spec_dns_free(char **lines, size_t n);

/* The spec's hostname (the pod's, in a CRI sandbox container's spec) into
 * buf; "" when it has none. A hostname longer than 64 characters is an
 * error naming the field. */
int agent_spec_hostname(const struct agent_spec *s, char *buf, size_t size, struct err *e);

/* Host bind mounts of the spec (type "bind" or a bind/rbind option) whose
 * source is not under /proc, /sys or /dev (those stay as they are, as in
 * Kata): fn shares source with the guest and writes the guest path into
 * guest, returning 1 (source rewritten), 0 (mount dropped from the spec)
 * or a negative errno (the whole call fails with it). readonly: the mount
 * asks for "ro". Returns the number of mounts rewritten. */
typedef int (*agent_spec_bind_fn)(const char *source, const char *destination, bool readonly,
                                  char *guest, size_t size, void *ud);
int agent_spec_share_binds(struct agent_spec *s, agent_spec_bind_fn fn, void *ud);

/* containerd's Exec spec Any (runtime-spec Process JSON). */
int agent_json_process(const void *json, size_t len, struct agent_json **ret, struct err *e);
/* containerd's Update resources Any (runtime-spec LinuxResources JSON). */
int agent_json_resources(const void *json, size_t len, struct agent_json **ret, struct err *e);
/* NULL-safe, returns NULL. */
struct agent_json *agent_json_free(struct agent_json *j);
