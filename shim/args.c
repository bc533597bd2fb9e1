/* Go-style flag parsing; see args.h. */
#include "shim/args.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "lib/err.h"

enum flag_id { F_NAMESPACE, F_ADDRESS, F_PUBLISH, F_ID, F_BUNDLE, F_SOCKET, F_DEBUG, F_VERSION };

struct flag_def {
    const char *name;
    enum flag_id id;
};

static const struct flag_def flags[] = {
    {"namespace", F_NAMESPACE}, {"address", F_ADDRESS}, {"publish-binary", F_PUBLISH},
    {"id", F_ID},               {"bundle", F_BUNDLE},   {"socket", F_SOCKET},
    {"debug", F_DEBUG},         {"v", F_VERSION},       {"version", F_VERSION},
};

static const struct flag_def *find_flag(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
        if (strlen(flags[i].name) == len && strncmp(flags[i].name, name, len) == 0)
            return &flags[i];
    return NULL;
}

static const char **string_field(struct shim_args *a, enum flag_id id)
{
    switch (id) {
    case F_NAMESPACE:
        return &a->namespace_;
    case F_ADDRESS:
        return &a->address;
    case F_PUBLISH:
        return &a->publish_binary;
    case F_ID:
        return &a->id;
    case F_BUNDLE:
        return &a->bundle;
    case F_SOCKET:
        return &a->socket;
    default:
        return NULL;
    }
}

static bool is_action(const char *s)
{
    return strcmp(s, "start") == 0 || strcmp(s, "delete") == 0;
}

static bool parse_bool(const char *v, bool *ret)
{
    static const char *const yes[] = {"1", "t", "T", "true", "TRUE", "True"};
    static const char *const no[] = {"0", "f", "F", "false", "FALSE", "False"};

    for (size_t i = 0; i < 6; i++) {
        if (strcmp(v, yes[i]) == 0)
            return *ret = true, true;
        if (strcmp(v, no[i]) == 0)
            return *ret = false, true;
    }
    return false;
}

/* Applies one flag; returns how many extra argv words it consumed, or a
 * negative errno. */
static int apply_flag(struct shim_args *a, int argc, const char *const argv[], int i, struct err *e)
{
    const char *arg = argv[i] + (argv[i][1] == '-' ? 2 : 1);
    const char *eq = strchr(arg, '=');
    size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
    const struct flag_def *f = find_flag(arg, len);
    const char *value = eq ? eq + 1 : NULL;
    int used = 0;

    if (!f) {
        /* Unknown: `-x=v` is self-contained; `-x v` takes v unless v looks
         * like a flag or an action word, so new bool flags do not eat it. */
        if (!value && i + 1 < argc && argv[i + 1][0] != '-' && !is_action(argv[i + 1]))
            used = 1;
        return used;
    }
    if (f->id == F_DEBUG || f->id == F_VERSION) {
        bool b = true;
        if (value && !parse_bool(value, &b))
            return err_set(e, -EINVAL, "invalid boolean value \"%s\" for flag -%s", value, f->name);
        if (f->id == F_DEBUG)
            a->debug = b;
        else if (b)
            a->action = SHIM_ACTION_VERSION;
        return 0;
    }
    if (!value) {
        if (i + 1 >= argc)
            return err_set(e, -EINVAL, "flag needs an argument: -%s", f->name);
        value = argv[i + 1];
        used = 1;
    }
    const char **field = string_field(a, f->id);
    if (field)
        *field = value;
    return used;
}

int args_parse(int argc, const char *const argv[], struct shim_args *ret, struct err *e)
{
    struct shim_args a = {.action = SHIM_ACTION_SERVE};
    int i;

    for (i = 1; i < argc; i++) {
        const char *s = argv[i];
        int r;

        if (s[0] != '-' || s[1] == '\0')
            break;
        if (strcmp(s, "--") == 0) {
            i++;
            break;
        }
        r = apply_flag(&a, argc, argv, i, e);
        if (r < 0)
            return r;
        i += r;
    }
    if (i < argc && a.action != SHIM_ACTION_VERSION) {
        if (strcmp(argv[i], "start") == 0)
            a.action = SHIM_ACTION_START;
        else if (strcmp(argv[i], "delete") == 0)
            a.action = SHIM_ACTION_DELETE;
        else
            return err_set(e, -EINVAL, "unknown action \"%s\"", argv[i]);
    }
    *ret = a;
    return 0;
}
