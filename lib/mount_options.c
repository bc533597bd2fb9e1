/* Mount option parsing, see mount_options.h. */
#include "lib/mount_options.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mount.h>

#include "lib/compiler.h"

struct flag_option {
    const char *name;
    bool clear;
    unsigned long flag;
};

static const struct flag_option flag_options[] = {
    {"ro", false, MS_RDONLY},          {"rw", true, MS_RDONLY},
    {"nosuid", false, MS_NOSUID},      {"suid", true, MS_NOSUID},
    {"nodev", false, MS_NODEV},        {"dev", true, MS_NODEV},
    {"noexec", false, MS_NOEXEC},      {"exec", true, MS_NOEXEC},
    {"sync", false, MS_SYNCHRONOUS},   {"async", true, MS_SYNCHRONOUS},
    {"dirsync", false, MS_DIRSYNC},    {"noatime", false, MS_NOATIME},
    {"atime", true, MS_NOATIME},       {"nodiratime", false, MS_NODIRATIME},
    {"diratime", true, MS_NODIRATIME}, {"relatime", false, MS_RELATIME},
    {"norelatime", true, MS_RELATIME}, {"strictatime", false, MS_STRICTATIME},
    {"nostrictatime", true, MS_STRICTATIME},
    {"bind", false, MS_BIND},          {"rbind", false, MS_BIND | MS_REC},
    {"defaults", false, 0},
};

static const struct {
    const char *name;
    unsigned long propagation;
} propagation_options[] = {
    {"private", MS_PRIVATE},       {"rprivate", MS_PRIVATE | MS_REC},
    {"shared", MS_SHARED},         {"rshared", MS_SHARED | MS_REC},
    {"slave", MS_SLAVE},           {"rslave", MS_SLAVE | MS_REC},
    {"unbindable", MS_UNBINDABLE}, {"runbindable", MS_UNBINDABLE | MS_REC},
};

static bool apply_known(const char *o, struct mount_options *m)
{
    for (size_t i = 0; i < ELEMENTSOF(flag_options); i++)
        if (strcmp(o, flag_options[i].name) == 0) {
            if (flag_options[i].clear) {
                m->flags &= ~flag_options[i].flag;
                m->cleared |= flag_options[i].flag;
            } else {
                m->flags |= flag_options[i].flag;
                m->cleared &= ~flag_options[i].flag;
            }
            return true;
        }
    for (size_t i = 0; i < ELEMENTSOF(propagation_options); i++)
        if (strcmp(o, propagation_options[i].name) == 0) {
            m->propagation = propagation_options[i].propagation;
            return true;
        }
    return false;
}

int mount_options_parse(const char *const *opts, size_t n, struct mount_options *ret,
                        char *data, size_t data_size)
{
    struct mount_options m = {0, 0, 0};
    size_t pos = 0;

    if (data_size == 0)
        return -E2BIG;
    data[0] = '\0';
    for (size_t i = 0; opts && i < n && (n != SIZE_MAX || opts[i]); i++) {
        const char *o = opts[i];
        if (!o || !*o || apply_known(o, &m))
            continue;
        size_t len = strlen(o), need = len + (pos ? 1 : 0);
        if (need >= data_size - pos)
            return -E2BIG;
        if (pos)
            data[pos++] = ',';
        memcpy(data + pos, o, len + 1);
        pos += len;
    }
    *ret = m;
    return 0;
}
