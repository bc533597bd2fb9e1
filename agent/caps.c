/* Capability sets from the OCI spec, applied with libcap-ng. */
#include <cap-ng.h>
#include <errno.h>
#include <strings.h>
#include <sys/prctl.h>

#include "agent/caps.h"
#include "agent/oci_spec.h"
#include "lib/err.h"

static int cap_number(const char *name)
{
    if (strncasecmp(name, "CAP_", 4) == 0)
        name += 4;
    return capng_name_to_capability(name);
}

static int check(char *const *v, const char *field, struct err *e)
{
    for (size_t i = 0; v && v[i]; i++)
        if (cap_number(v[i]) < 0)
            return err_set(e, -EINVAL, "oci.Process.Capabilities.%s[%zu]: unknown capability \"%s\"",
                           field, i, v[i]);
    return 0;
}

int caps_validate(const struct oci_caps *c, struct err *e)
{
    int r;
    if ((r = check(c->bounding, "Bounding", e)) < 0 ||
        (r = check(c->effective, "Effective", e)) < 0 ||
        (r = check(c->inheritable, "Inheritable", e)) < 0 ||
        (r = check(c->permitted, "Permitted", e)) < 0 || (r = check(c->ambient, "Ambient", e)) < 0)
        return r;
    return 0;
}

static void add(char *const *v, capng_type_t type)
{
    for (size_t i = 0; v && v[i]; i++) {
        int n = cap_number(v[i]);
        if (n >= 0 && n <= (int)CAP_LAST_CAP)
            capng_update(CAPNG_ADD, type, (unsigned)n);
    }
}

static void build(const struct oci_caps *c)
{
    capng_clear(CAPNG_SELECT_ALL);
    add(c->bounding, CAPNG_BOUNDING_SET);
    add(c->effective, CAPNG_EFFECTIVE);
    add(c->permitted, CAPNG_PERMITTED);
    add(c->inheritable, CAPNG_INHERITABLE);
    add(c->ambient, CAPNG_AMBIENT);
}

int caps_drop_bounding(const struct oci_caps *c, struct err *e)
{
    build(c);
    if (capng_apply(CAPNG_SELECT_BOUNDS) < 0)
        return err_set(e, -EPERM, "cannot set the capability bounding set");
    return 0;
}

int caps_apply(const struct oci_caps *c, struct err *e)
{
    build(c);
    if (capng_apply(CAPNG_SELECT_CAPS) < 0)
        return err_set(e, -EPERM, "cannot set the capabilities");
    if (c->ambient && c->ambient[0] && capng_apply(CAPNG_SELECT_AMBIENT) < 0)
        return err_set(e, -EPERM, "cannot set the ambient capabilities");
    return 0;
}
