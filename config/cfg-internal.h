/* The schema table shared by cfg.c (load, defaults, compare), cfg-write.c
 * (generated files) and annotations.c. One entry per key: section, name,
 * type, where the value lives in struct cfg, per-hypervisor defaults,
 * limits, and the comment written into the shipped files. Entries with
 * CFG_NO_FIELD are upstream keys accepted for compatibility: type-checked,
 * then ignored. The table is constant; nothing here allocates. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/cfg.h"

enum cfg_section { CFG_SEC_HYPERVISOR, CFG_SEC_AGENT, CFG_SEC_RUNTIME, CFG_SEC_FACTORY };

enum cfg_type { CFG_T_BOOL, CFG_T_INT, CFG_T_STRING, CFG_T_PATH, CFG_T_ENUM, CFG_T_STRV };

/* Which generated file shows a key (a key is accepted in either section). */
#define CFG_SHOW_QEMU (1u << CFG_HV_QEMU)
#define CFG_SHOW_CLH (1u << CFG_HV_CLH)
#define CFG_SHOW_ALL (CFG_SHOW_QEMU | CFG_SHOW_CLH)

#define CFG_NO_FIELD ((size_t)-1)

union cfg_default {
    bool b;
    int64_t i;              /* CFG_T_INT, and CFG_T_ENUM's value */
    const char *s;          /* CFG_T_STRING, CFG_T_PATH; never NULL */
    const char *const *v;   /* CFG_T_STRV; NULL means [] */
};

struct cfg_key {
    enum cfg_section section;
    const char *name;
    enum cfg_type type;
    size_t offset;                  /* into struct cfg, or CFG_NO_FIELD */
    unsigned show;                  /* CFG_SHOW_* */
    enum cfg_enum_kind enum_kind;   /* CFG_T_ENUM */
    int64_t min, max;               /* CFG_T_INT */
    union cfg_default def;          /* QEMU, and CLH unless has_clh_def */
    bool has_clh_def;
    union cfg_default clh_def;
    const char *doc;                /* comment for the generated files */
    /* CFG_SHOW_* of the hypervisors for which this runtime accepts the key
     * but does nothing with it: a value other than the default is warned
     * about (cfg_unimplemented_at()) rather than silently ignored. */
    unsigned noop;
};

extern const struct cfg_key cfg_schema[];
extern const size_t cfg_schema_size;

const char *cfg_section_name(enum cfg_section s, enum cfg_hv_kind kind);
const struct cfg_key *cfg_schema_find(enum cfg_section s, const char *name);
/* Index of an entry in cfg_schema[]. */
size_t cfg_schema_index(const struct cfg_key *k);

/* Field access; k->offset must not be CFG_NO_FIELD. */
static inline void *cfg_field(struct cfg *c, const struct cfg_key *k)
{
    return (char *)c + k->offset;
}
static inline const void *cfg_field_const(const struct cfg *c, const struct cfg_key *k)
{
    return (const char *)c + k->offset;
}

const union cfg_default *cfg_key_default(const struct cfg_key *k, enum cfg_hv_kind kind);

/* Setters that check k's limits and enum names. On a bad value they return
 * -EINVAL and write a short reason ("must be at least 1, got 0") into msg;
 * the caller adds file, line, section and key. Strings are copied. */
int cfg_set_bool(struct cfg *c, const struct cfg_key *k, bool v);
int cfg_set_int(struct cfg *c, const struct cfg_key *k, int64_t v, char *msg, size_t len);
int cfg_set_string(struct cfg *c, const struct cfg_key *k, const char *v, size_t vlen, char *msg,
                   size_t len);
/* Takes ownership of v (a NULL-terminated, malloc'd array of malloc'd strings). */
int cfg_set_strv(struct cfg *c, const struct cfg_key *k, char **v, char *msg, size_t len);

char **cfg_strv_free(char **v);
size_t cfg_strv_len(char *const *v);

/* fnmatch(3) against every pattern; false for an empty list. */
bool cfg_path_allowed(const char *path, char *const *patterns);

/* cfg_validate() with the place of each key: lines[i] is the line of
 * cfg_schema[i] in file (0 when absent). */
int cfg_validate_at(const struct cfg *c, const char *file, const int *lines, struct err *e);
/* The same when keys come from several files (drop-ins): files[i] names the
 * file of cfg_schema[i], NULL meaning file. */
int cfg_validate_files(const struct cfg *c, const char *file, const char *const *files,
                       const int *lines, struct err *e);

/* Whether k has no effect for hypervisor kind. */
bool cfg_key_noop(const struct cfg_key *k, enum cfg_hv_kind kind);
/* The messages of cfg_unimplemented() with each key's place (files and
 * lines as for cfg_validate_files(); both may be NULL). NULL-terminated,
 * never NULL; free with cfg_strv_free(). */
char **cfg_unimplemented_at(const struct cfg *c, const char *file, const char *const *files,
                            const int *lines);
