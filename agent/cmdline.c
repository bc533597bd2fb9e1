/* Kernel command line parsing for the agent, see cmdline.h. */
#include "agent/cmdline.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "lib/compiler.h"
#include "lib/transport.h"

/* The kernel keeps at most COMMAND_LINE_SIZE bytes (2048 on x86, 4096 on
 * some architectures); a token longer than this cannot be a real one. */
#define TOKEN_MAX 4096
#define CMDLINE_FILE_MAX 65536

static void warn_bad(struct agent_cmdline *c, const char *key, const char *val, const char *why)
{
    c->n_warnings++;
    log_warn("kernel parameter %s=%.64s%s: %s; using the default", key, val,
             strlen(val) > 64 ? "..." : "", why);
}

static int parse_bool(const char *v, bool *ret)
{
    static const char *const yes[] = {"", "1", "true", "yes", "on", "y"};
    static const char *const no[] = {"0", "false", "no", "off", "n"};
    for (size_t i = 0; i < ELEMENTSOF(yes); i++)
        if (strcasecmp(v, yes[i]) == 0)
            return *ret = true, 0;
    for (size_t i = 0; i < ELEMENTSOF(no); i++)
        if (strcasecmp(v, no[i]) == 0)
            return *ret = false, 0;
    return -EINVAL;
}

/* Decimal digits only: no sign, no blanks, no hex (upstream parses these
 * as plain integers). */
static int parse_u32(const char *v, uint32_t *ret)
{
    uint64_t n = 0;
    if (!*v)
        return -EINVAL;
    for (const char *p = v; *p; p++) {
        if (*p < '0' || *p > '9')
            return -EINVAL;
        n = n * 10 + (uint64_t)(*p - '0');
        if (n > UINT32_MAX)
            return -ERANGE;
    }
    *ret = (uint32_t)n;
    return 0;
}

static int parse_level(const char *v, enum log_level *ret)
{
    static const struct {
        const char *name;
        enum log_level level;
    } levels[] = {
        {"critical", LOG_ERROR}, {"fatal", LOG_ERROR}, {"panic", LOG_ERROR},
        {"error", LOG_ERROR},    {"warn", LOG_WARN},   {"warning", LOG_WARN},
        {"info", LOG_INFO},      {"debug", LOG_DEBUG}, {"trace", LOG_TRACE},
    };
    for (size_t i = 0; i < ELEMENTSOF(levels); i++)
        if (strcasecmp(v, levels[i].name) == 0)
            return *ret = levels[i].level, 0;
    return -EINVAL;
}

static bool module_name_ok(const char *s, size_t n)
{
    if (n == 0 || n >= CMDLINE_MODULE_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!(s[i] >= 'a' && s[i] <= 'z') && !(s[i] >= 'A' && s[i] <= 'Z') &&
            !(s[i] >= '0' && s[i] <= '9') && s[i] != '_' && s[i] != '-')
            return false;
    return true;
}

static void parse_modules(struct agent_cmdline *c, const char *key, const char *v)
{
    c->n_kernel_modules = 0; /* a later duplicate replaces the list */
    for (const char *p = v; *p;) {
        size_t n = strcspn(p, ", \t");
        if (n == 0) {
            p++;
            continue;
        }
        if (!module_name_ok(p, n)) {
            c->n_warnings++;
            log_warn("kernel parameter %s: module name \"%.*s\" is not valid; skipped", key,
                     (int)MIN(n, 64), p);
        } else if (c->n_kernel_modules == CMDLINE_MAX_MODULES) {
            c->n_warnings++;
            log_warn("kernel parameter %s: more than %d modules; \"%.*s\" skipped", key,
                     CMDLINE_MAX_MODULES, (int)n, p);
        } else {
            memcpy(c->kernel_modules[c->n_kernel_modules], p, n);
            c->kernel_modules[c->n_kernel_modules][n] = '\0';
            c->n_kernel_modules++;
        }
        p += n;
    }
}

/* Upstream keys this agent has no use for (confidential-computing guest
 * components, tracing, proxies, the memory agent...). */
static const char *const ignored_keys[] = {
    "agent.cdh_api_timeout",
    "agent.image_pull_timeout",
    "agent.cdi_timeout",
    "agent.launch_process_timeout",
    "agent.visible_cdi_devices",
    "agent.secure_storage_integrity",
    "agent.https_proxy",
    "agent.no_proxy",
    "agent.passfd_listener_port",
    "agent.trace",
    "agent.devmode",
    "agent.config_file",
    "agent.unified_cgroup_hierarchy",
    "agent.enable_signature_verification",
    "agent.aa_kbc_params",
    "agent.rest_api",
};
static const char *const ignored_prefixes[] = {"agent.guest_components_", "agent.mem_agent_"};

static bool is_ignored(const char *key)
{
    for (size_t i = 0; i < ELEMENTSOF(ignored_keys); i++)
        if (strcmp(key, ignored_keys[i]) == 0)
            return true;
    for (size_t i = 0; i < ELEMENTSOF(ignored_prefixes); i++)
        if (strncmp(key, ignored_prefixes[i], strlen(ignored_prefixes[i])) == 0)
            return true;
    return false;
}

/* val is NULL for a bare flag ("agent.debug_console"). */
static void parse_one(struct agent_cmdline *c, const char *key, const char *val)
{
    const char *v = val ? val : "";
    uint32_t n;
    bool b;

    if (strcmp(key, "systemd.unified_cgroup_hierarchy") == 0) {
        if (parse_bool(v, &b) == 0)
            c->cgroup_unified = b;
        else
            warn_bad(c, key, v, "not a boolean");
        return;
    }
    if (strcmp(key, "cgroup_no_v1") == 0) {
        /* A list of controllers or "all"; only "all" leaves v1 empty. */
        for (const char *p = v; *p; p += strcspn(p, ","), p += *p == ',')
            if (strncmp(p, "all", 3) == 0 && (p[3] == ',' || p[3] == '\0'))
                c->cgroup_unified = true;
        return;
    }
    if (strncmp(key, "agent.", 6) != 0)
        return;

    if (strcmp(key, "agent.log") == 0) {
        enum log_level l;
        if (parse_level(v, &l) < 0) {
            warn_bad(c, key, v, "not a log level (error, warn, info, debug, trace)");
            return;
        }
        c->log_level = l;
        c->log_level_set = true;
    } else if (strcmp(key, "agent.debug_console") == 0) {
        if (parse_bool(v, &b) < 0) {
            warn_bad(c, key, v, "not a boolean");
            return;
        }
        c->debug_console = b;
    } else if (strcmp(key, "agent.debug_console_vport") == 0 ||
               strcmp(key, "agent.log_vport") == 0) {
        if (parse_u32(v, &n) < 0 || n == 0) {
            warn_bad(c, key, v, "not a vsock port (1-4294967295)");
            return;
        }
        if (key[6] == 'd')
            c->debug_console_vport = n;
        else
            c->log_vport = n;
    } else if (strcmp(key, "agent.server_addr") == 0) {
        struct transport_addr a;
        if (strlen(v) >= sizeof(c->server_addr) || transport_parse(v, &a, NULL) < 0) {
            warn_bad(c, key, v, "not an address (vsock://, unix://, serial://...)");
            return;
        }
        snprintf(c->server_addr, sizeof(c->server_addr), "%s", v);
    } else if (strcmp(key, "agent.container_pipe_size") == 0) {
        if (parse_u32(v, &n) < 0 || n > (1u << 30)) {
            warn_bad(c, key, v, "not a pipe size in bytes (0 to 2^30)");
            return;
        }
        c->container_pipe_size = n;
    } else if (strcmp(key, "agent.hotplug_timeout") == 0) {
        if (parse_u32(v, &n) < 0 || n == 0 || n > CMDLINE_MAX_HOTPLUG_TIMEOUT_S) {
            warn_bad(c, key, v, "not a number of seconds (1-3600)");
            return;
        }
        c->hotplug_timeout_ms = n * 1000u;
    } else if (strcmp(key, "agent.kernel_modules") == 0) {
        parse_modules(c, key, v);
    } else if (is_ignored(key)) {
        c->n_ignored++;
        log_info("kernel parameter %s ignored: this agent has no use for it", key);
    } else {
        c->n_warnings++;
        log_warn("unknown kernel parameter %.80s ignored", key);
    }
}

/* One token (NUL-terminated copy, quotes still in): "key", "key=value",
 * "key=\"a b\"" or "\"key=value\"". */
static void parse_token(struct agent_cmdline *c, char *tok)
{
    size_t len = strlen(tok);
    if (tok[0] == '"') {
        tok++;
        len--;
        if (len && tok[len - 1] == '"')
            tok[--len] = '\0';
    }
    char *eq = strchr(tok, '=');
    char *val = NULL;
    if (eq) {
        *eq = '\0';
        val = eq + 1;
        size_t vlen = strlen(val);
        if (val[0] == '"') {
            val++;
            vlen--;
            if (vlen && val[vlen - 1] == '"')
                val[vlen - 1] = '\0';
        }
    }
    if (*tok)
        parse_one(c, tok, val);
}

void cmdline_parse(const char *text, struct agent_cmdline *ret)
{
    memset(ret, 0, sizeof(*ret));
    ret->log_level = LOG_INFO;
    static const char blanks[] = " \t\n\r\v\f";
    const char *p = text;
    for (;;) {
        p += strspn(p, blanks);
        if (!*p)
            break;
        const char *start = p;
        bool quoted = false;
        for (; *p && (quoted || !strchr(blanks, *p)); p++)
            if (*p == '"')
                quoted = !quoted;
        size_t len = (size_t)(p - start);
        if (len >= TOKEN_MAX) {
            if (strncmp(start, "agent.", 6) == 0) {
                ret->n_warnings++;
                log_warn("kernel parameter %.40s... is %zu bytes long; ignored", start, len);
            }
            continue;
        }
        char tok[TOKEN_MAX];
        memcpy(tok, start, len);
        tok[len] = '\0';
        parse_token(ret, tok);
    }
}

int cmdline_read(const char *path, struct agent_cmdline *ret)
{
    cmdline_parse("", ret);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    _cleanup_free_ char *buf = malloc(CMDLINE_FILE_MAX);
    if (!buf) {
        close(fd);
        return -ENOMEM;
    }
    size_t used = 0;
    for (;;) {
        ssize_t n = read(fd, buf + used, CMDLINE_FILE_MAX - 1 - used);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        used += (size_t)n;
        if (used == CMDLINE_FILE_MAX - 1)
            break;
    }
    close(fd);
    buf[used] = '\0';
    cmdline_parse(buf, ret);
    return 0;
}
