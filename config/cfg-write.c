/* struct cfg -> a commented TOML file. The shipped configuration-qemu.toml
 * and configuration-clh.toml are this output for cfg_defaults(), so the
 * schema table stays the only place where defaults are written down. */
#include "config/cfg-internal.h"

#include <string.h>

static void put_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p == '\n')
            fputs("\\n", f);
        else if (*p == '\t')
            fputs("\\t", f);
        else if (*p < 0x20 || *p == 0x7f)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

static void put_value(FILE *f, const struct cfg *c, const struct cfg_key *k)
{
    const void *v = cfg_field_const(c, k);
    switch (k->type) {
    case CFG_T_BOOL:
        fputs(*(const bool *)v ? "true" : "false", f);
        break;
    case CFG_T_INT:
        fprintf(f, "%d", *(const int *)v);
        break;
    case CFG_T_ENUM:
        put_string(f, cfg_enum_name(k->enum_kind, *(const int *)v));
        break;
    case CFG_T_STRING:
    case CFG_T_PATH:
        put_string(f, *(char *const *)v);
        break;
    case CFG_T_STRV: {
        char *const *list = *(char **const *)v;
        fputc('[', f);
        for (size_t i = 0; list[i]; i++) {
            if (i)
                fputs(", ", f);
            put_string(f, list[i]);
        }
        fputc(']', f);
        break;
    }
    }
}

static void put_comment(FILE *f, const char *doc)
{
    while (doc && *doc) {
        const char *nl = strchr(doc, '\n');
        size_t n = nl ? (size_t)(nl - doc) : strlen(doc);
        fprintf(f, "# %.*s\n", (int)n, doc);
        doc += n + (nl ? 1 : 0);
    }
}

static void put_section(FILE *f, const struct cfg *c, enum cfg_section s, const char *intro)
{
    unsigned show = 1u << c->hv.kind;
    bool any = false;
    for (size_t i = 0; i < cfg_schema_size; i++)
        any |= cfg_schema[i].section == s && (cfg_schema[i].show & show);
    if (!any)
        return;
    fprintf(f, "\n[%s]\n", cfg_section_name(s, c->hv.kind));
    put_comment(f, intro);
    for (size_t i = 0; i < cfg_schema_size; i++) {
        const struct cfg_key *k = &cfg_schema[i];
        if (k->section != s || !(k->show & show) || k->offset == CFG_NO_FIELD)
            continue;
        fputc('\n', f);
        put_comment(f, k->doc);
        if (cfg_key_noop(k, c->hv.kind))
            put_comment(f, "Not implemented by this runtime: accepted, no effect (a value\n"
                           "other than this default logs a warning).");
        fprintf(f, "%s = ", k->name);
        put_value(f, c, k);
        fputc('\n', f);
    }
}

int cfg_write_toml(const struct cfg *c, FILE *f)
{
    const char *hv = c->hv.kind == CFG_HV_CLH ? "Cloud Hypervisor" : "QEMU";
    fprintf(f,
            "# Kata Containers runtime configuration for %s.\n"
            "#\n"
            "# Generated from the runtime's built-in schema by\n"
            "# `kata-runtime generate-config %s`; every value below is the built-in\n"
            "# default, so deleting a line changes nothing. Key names are Kata's.\n"
            "#\n"
            "# The shim reads the first file found among: the ConfigPath runtime option\n"
            "# of containerd, $KATA_CONF_FILE, " CFG_ETC_PATH ",\n"
            "# " CFG_DEFAULTS_PATH ".\n"
            "# Unknown keys are reported and ignored; a wrong type or value stops the\n"
            "# runtime with the file, line and key. `kata-runtime env` shows what was\n"
            "# loaded, `kata-runtime check` whether this host can run the VMs.\n",
            hv, cfg_enum_name(CFG_ENUM_HV_KIND, (int)c->hv.kind));
    put_section(f, c, CFG_SEC_HYPERVISOR,
                "The virtual machine each pod runs in. Exactly one [hypervisor.*] section\n"
                "may be present.");
    put_section(f, c, CFG_SEC_FACTORY, "Faster VM creation from templates or a VM cache.");
    put_section(f, c, CFG_SEC_AGENT, "The agent inside the VM that runs the containers.");
    put_section(f, c, CFG_SEC_RUNTIME, "The shim (containerd-shim-kata-v2) on the host.");
    return ferror(f) ? -EIO : 0;
}
