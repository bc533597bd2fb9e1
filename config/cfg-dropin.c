/* Finding config.d drop-ins; the contract is in cfg-dropin.h. */
#include "config/cfg-dropin.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config/cfg-internal.h"
#include "lib/compiler.h"
#include "lib/err.h"
#include "lib/xalloc.h"

static bool wanted_name(const char *name)
{
    size_t n = strlen(name);
    /* ".toml" alone is a hidden file, not a drop-in. */
    return name[0] != '.' && n > 5 && strcmp(name + n - 5, ".toml") == 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* "<dir of path>/config.d" */
static char *dropin_dir(const char *config_path)
{
    const char *slash = strrchr(config_path, '/');
    if (!slash)
        return xstrdup("config.d");
    size_t n = (size_t)(slash - config_path);
    char *d = xmalloc(n + sizeof("/config.d"));
    memcpy(d, config_path, n);
    strcpy(d + n, "/config.d");
    return d;
}

int cfg_dropin_list(const char *config_path, char ***ret_list, struct err *e)
{
    _cleanup_free_ char *dir = dropin_dir(config_path);
    _cleanup_closedir_ DIR *d = opendir(dir);
    if (!d) {
        int r = -errno;
        if (r == -ENOENT || r == -ENOTDIR) {
            *ret_list = xnew(char *, 1);
            return 0;
        }
        return err_set(e, r, "%s: cannot read the drop-in directory: %s", dir, strerror(-r));
    }
    size_t n = 0;
    char **list = xnew(char *, CFG_DROPIN_MAX + 1);
    struct dirent *de;
    while ((errno = 0, de = readdir(d))) {
        if (!wanted_name(de->d_name))
            continue;
        struct stat st;
        if (fstatat(dirfd(d), de->d_name, &st, 0) < 0 || !S_ISREG(st.st_mode))
            continue; /* a dangling link or a directory is not a drop-in */
        if (n == CFG_DROPIN_MAX) {
            cfg_strv_free(list);
            return err_set(e, -E2BIG, "%s: more than %d drop-in files", dir, CFG_DROPIN_MAX);
        }
        list[n] = xmalloc(strlen(dir) + strlen(de->d_name) + 2);
        sprintf(list[n], "%s/%s", dir, de->d_name);
        n++;
    }
    if (errno) {
        int r = -errno;
        cfg_strv_free(list);
        return err_set(e, r, "%s: cannot read the drop-in directory: %s", dir, strerror(-r));
    }
    qsort(list, n, sizeof(*list), by_name);
    *ret_list = list;
    return 0;
}
