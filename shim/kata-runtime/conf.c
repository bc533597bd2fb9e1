/* Configuration loading for kata-runtime's commands. */
#include <string.h>

#include "lib/err.h"
#include "lib/xalloc.h"
#include "shim/kata-runtime/kata-runtime.h"

int conf_load(const char *explicit_path, struct conf *ret)
{
    struct err e = ERR_INIT;
    char *path = NULL;
    const char *env = getenv("KATA_CONF_FILE");
    int r = cfg_find(explicit_path, NULL, &path, &e);
    if (r < 0) {
        fprintf(stderr, "kata-runtime: %s\n", err_msg(&e));
        return r;
    }
    struct cfg *c = NULL;
    r = cfg_load(path, &c, &e);
    if (r < 0) {
        fprintf(stderr, "kata-runtime: invalid configuration: %s\n", err_msg(&e));
        free(path);
        return r;
    }
    ret->cfg = c;
    ret->path = path;
    ret->source = explicit_path && explicit_path[0] ? "--config"
                  : env && env[0]                   ? "KATA_CONF_FILE"
                                                    : "search";
    return 0;
}

void conf_done(struct conf *rc)
{
    rc->cfg = cfg_free(rc->cfg);
    free(rc->path);
    rc->path = NULL;
}
