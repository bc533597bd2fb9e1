/* Process attributes and exec, in the init helper (see process_setup.h). */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/caps.h"
#include "agent/oci_spec.h"
#include "agent/process_setup.h"
#include "agent/seccomp_filter.h"
#include "lib/compiler.h"
#include "lib/err.h"

static const struct {
    const char *name;
    int resource;
} rlimits[] = {
    {"RLIMIT_CPU", RLIMIT_CPU},         {"RLIMIT_FSIZE", RLIMIT_FSIZE},
    {"RLIMIT_DATA", RLIMIT_DATA},       {"RLIMIT_STACK", RLIMIT_STACK},
    {"RLIMIT_CORE", RLIMIT_CORE},       {"RLIMIT_RSS", RLIMIT_RSS},
    {"RLIMIT_NPROC", RLIMIT_NPROC},     {"RLIMIT_NOFILE", RLIMIT_NOFILE},
    {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK}, {"RLIMIT_AS", RLIMIT_AS},
    {"RLIMIT_LOCKS", RLIMIT_LOCKS},     {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
    {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE}, {"RLIMIT_NICE", RLIMIT_NICE},
    {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},   {"RLIMIT_RTTIME", RLIMIT_RTTIME},
};

static int rlimit_of(const char *name)
{
    for (size_t i = 0; i < ELEMENTSOF(rlimits); i++)
        if (strcmp(rlimits[i].name, name) == 0)
            return rlimits[i].resource;
    return -1;
}

int process_setup_validate(const struct oci_process *p, struct err *e)
{
    for (size_t i = 0; i < p->n_rlimits; i++) {
        if (rlimit_of(p->rlimits[i].type) < 0)
            return err_set(e, -EINVAL, "oci.Process.Rlimits[%zu].Type: unknown \"%s\"", i,
                           p->rlimits[i].type);
        if (p->rlimits[i].soft > p->rlimits[i].hard)
            return err_set(e, -EINVAL, "oci.Process.Rlimits[%zu]: soft limit above hard limit", i);
    }
    if (p->has_caps)
        return caps_validate(&p->caps, e);
    return 0;
}

static int set_user(const struct oci_process *p, struct err *e)
{
    if (setgroups(p->n_gids, p->gids) < 0)
        return err_set(e, -errno, "oci.Process.User.AdditionalGids: setgroups failed");
    if (setresgid(p->gid, p->gid, p->gid) < 0)
        return err_set(e, -errno, "oci.Process.User.GID: cannot switch to %u", p->gid);
    if (setresuid(p->uid, p->uid, p->uid) < 0)
        return err_set(e, -errno, "oci.Process.User.UID: cannot switch to %u", p->uid);
    return 0;
}

int process_setup_exec(const struct oci_process *p, const struct oci_seccomp *sc, struct err *e)
{
    int r;
    for (size_t i = 0; i < p->n_rlimits; i++) {
        struct rlimit rl = {p->rlimits[i].soft, p->rlimits[i].hard};
        if (setrlimit(rlimit_of(p->rlimits[i].type), &rl) < 0)
            return err_set(e, -errno, "oci.Process.Rlimits[%zu]: setrlimit failed", i);
    }
    if (p->oom_score_adj) {
        int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
        if (fd >= 0) {
            dprintf(fd, "%lld", (long long)p->oom_score_adj);
            close(fd);
        }
    }
    if (chdir(p->cwd) < 0)
        return err_set(e, -errno, "oci.Process.Cwd: cannot change to \"%s\"", p->cwd);
    /* Without no_new_privs the filter needs CAP_SYS_ADMIN: load it while
     * we still have it, as runc does. */
    if (sc && !p->no_new_privs && (r = seccomp_filter_load(sc, false, e)) < 0)
        return r;
    if (p->has_caps && (r = caps_drop_bounding(&p->caps, e)) < 0)
        return r;
    if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
        return err_set(e, -errno, "prctl(PR_SET_KEEPCAPS) failed");
    if ((r = set_user(p, e)) < 0)
        return r;
    prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
    if (p->has_caps && (r = caps_apply(&p->caps, e)) < 0)
        return r;
    if (p->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return err_set(e, -errno, "oci.Process.NoNewPrivileges: prctl failed");
    if (sc && p->no_new_privs && (r = seccomp_filter_load(sc, true, e)) < 0)
        return r;
    environ = p->env;
    execvp(p->args[0], p->args);
    return err_set(e, -errno, "oci.Process.Args[0]: cannot execute \"%s\": %s", p->args[0],
                   strerror(errno));
}
