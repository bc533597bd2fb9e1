/* Which configuration file to load (DESIGN.md decision 7). */
#include <string.h>
#include <unistd.h>

#include "config/cfg.h"
#include "lib/err.h"
#include "lib/xalloc.h"

static int explicit_file(const char *path, const char *origin, char **ret_path, struct err *e)
{
    if (access(path, R_OK) < 0) {
        int r = -errno;
        return err_set(e, r, "configuration file %s (%s): %s", path, origin, strerror(-r));
    }
    *ret_path = xstrdup(path);
    return 0;
}

int cfg_find(const char *config_path, const struct cfg_search *search, char **ret_path,
             struct err *e)
{
    static const struct cfg_search system = {CFG_ETC_PATH, CFG_DEFAULTS_PATH};
    if (!search)
        search = &system;
    if (config_path && config_path[0])
        return explicit_file(config_path, "given explicitly", ret_path, e);
    const char *env = getenv("KATA_CONF_FILE");
    if (env && env[0])
        return explicit_file(env, "from KATA_CONF_FILE", ret_path, e);

    const char *candidates[] = {search->etc_path, search->defaults_path};
    for (size_t i = 0; i < ELEMENTSOF(candidates); i++) {
        /* A file that exists but cannot be read is an error, not a miss:
         * falling through would silently use another configuration. */
        if (!candidates[i] || access(candidates[i], F_OK) < 0)
            continue;
        return explicit_file(candidates[i], "found by search", ret_path, e);
    }
    return err_set(e, -ENOENT,
                   "no configuration file found; tried: ConfigPath/--config (not set), "
                   "$KATA_CONF_FILE (not set), %s, %s",
                   search->etc_path ? search->etc_path : "-",
                   search->defaults_path ? search->defaults_path : "-");
}
