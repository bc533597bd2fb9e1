/* The last steps before a container process runs, in the init helper:
 * rlimits, oom_score_adj, groups/gid/uid, capabilities, no_new_privs,
 * seccomp, cwd, environment, exec. process_setup_validate() runs in the
 * agent so a bad rlimit or capability name is refused up front. */
#pragma once

struct err;
struct oci_process;
struct oci_seccomp;

int process_setup_validate(const struct oci_process *p, struct err *e);
/* Returns only on failure (negative errno + message). */
int process_setup_exec(const struct oci_process *p, const struct oci_seccomp *sc, struct err *e);
