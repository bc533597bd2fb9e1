/* Drop-in configuration files, as upstream Kata reads them: the directory
 * `config.d` beside the chosen configuration.toml holds TOML fragments that
 * are merged over it one by one, in lexical (strcmp) order of their names;
 * a key set by a later file wins, tables merge key by key, an array is
 * replaced whole. Only regular files (symlinks followed) named `*.toml` and
 * not starting with "." are read; anything else there is ignored. No
 * directory, or an empty one, leaves the configuration as it is.
 *
 * This module only finds the files; config/cfg-load.c applies them. The
 * list is owned by the caller (cfg_strv_free()). Errors are -errno with a
 * message naming the directory or file in struct err. No global state. */
#pragma once

struct err;

/* At most this many drop-ins: a directory full of files is a mistake. */
#define CFG_DROPIN_MAX 256

/* Full paths of config_path's drop-ins, sorted; an empty list (never NULL)
 * when there is no config.d directory. */
int cfg_dropin_list(const char *config_path, char ***ret_list, struct err *e);
