/* Seccomp filters from the OCI spec, built with libseccomp.
 * seccomp_filter_validate() builds the filter without loading it, so the
 * agent can refuse a bad rule (naming it) before creating anything;
 * seccomp_filter_load() runs in the init helper just before exec. Unknown
 * syscall names are skipped, as runc does (profiles list syscalls of every
 * architecture). Errors: negative errno + struct err. */
#pragma once

#include <stdbool.h>

struct err;
struct oci_seccomp;

int seccomp_filter_validate(const struct oci_seccomp *sc, struct err *e);
/* no_new_privs: whether the process asked for it (else the filter is
 * loaded without setting it, which needs CAP_SYS_ADMIN). */
int seccomp_filter_load(const struct oci_seccomp *sc, bool no_new_privs, struct err *e);
