/* Cloud Hypervisor REST client, the parts that judge what the VMM sent:
 * HTTP response heads, JSON bodies, status codes. Pure functions (no I/O),
 * built with -Wconversion and fuzzed (tests/fuzz/fuzz_clh_response.c).
 * See clh_api.h.
 *
 * Wire facts (cloud-hypervisor vmm/src/api/http, openapi/cloud-hypervisor.yaml):
 * base path /api/v1; every response carries Content-Type application/json
 * and a Content-Length; success is 200 with a JSON body (vmm.ping, vm.info,
 * vm.add-*) or 204 without one; vmm.shutdown answers 200 with no body
 * although the spec says 204; errors are 4xx/5xx whose body is a JSON array
 * of strings (the error chain). Body-less actions (vm.boot, vm.pause, ...)
 * are refused with 400 when a body is sent, so they go out with
 * Content-Length: 0 and no Content-Type. */
#include "hypervisor/clh_api.h"

#include <ctype.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "lib/err.h"
#include "lib/xalloc.h"

#define CLH_HEADERS_MAX 64
#define CLH_JSON_DEPTH 32
#define CLH_QUOTE_MAX 160

enum reply_kind { REPLY_NONE, REPLY_JSON, REPLY_PCI };

static const struct endpoint_info {
    const char *path;
    const char *method;
    enum reply_kind reply;
} endpoints[CLH_ENDPOINT_COUNT] = {
    [CLH_VMM_PING] = {"/vmm.ping", "GET", REPLY_JSON},
    [CLH_VMM_SHUTDOWN] = {"/vmm.shutdown", "PUT", REPLY_NONE},
    [CLH_VM_CREATE] = {"/vm.create", "PUT", REPLY_NONE},
    [CLH_VM_BOOT] = {"/vm.boot", "PUT", REPLY_NONE},
    [CLH_VM_INFO] = {"/vm.info", "GET", REPLY_JSON},
    [CLH_VM_PAUSE] = {"/vm.pause", "PUT", REPLY_NONE},
    [CLH_VM_RESUME] = {"/vm.resume", "PUT", REPLY_NONE},
    [CLH_VM_SHUTDOWN] = {"/vm.shutdown", "PUT", REPLY_NONE},
    [CLH_VM_ADD_DISK] = {"/vm.add-disk", "PUT", REPLY_PCI},
    [CLH_VM_ADD_NET] = {"/vm.add-net", "PUT", REPLY_PCI},
    [CLH_VM_ADD_FS] = {"/vm.add-fs", "PUT", REPLY_PCI},
    [CLH_VM_REMOVE_DEVICE] = {"/vm.remove-device", "PUT", REPLY_NONE},
};

static const char *const state_names[] = {
    [CLH_STATE_CREATED] = "Created",   [CLH_STATE_RUNNING] = "Running",
    [CLH_STATE_SHUTDOWN] = "Shutdown", [CLH_STATE_PAUSED] = "Paused",
    [CLH_STATE_BREAKPOINT] = "BreakPoint",
};

const char *clh_endpoint_path(enum clh_endpoint ep)
{
    return (unsigned)ep < CLH_ENDPOINT_COUNT ? endpoints[ep].path : "?";
}

const char *clh_endpoint_method(enum clh_endpoint ep)
{
    return (unsigned)ep < CLH_ENDPOINT_COUNT ? endpoints[ep].method : "?";
}

const char *clh_vm_state_name(enum clh_vm_state s)
{
    return (unsigned)s < ELEMENTSOF(state_names) ? state_names[s] : "?";
}

/* Copies at most CLH_QUOTE_MAX bytes of untrusted text, replacing anything
 * but printable ASCII, so a hostile VMM cannot forge log lines. */
static void quote(const char *s, size_t len, char *buf, size_t size)
{
    size_t o = 0;
    for (size_t i = 0; i < len && o + 1 < size && i < CLH_QUOTE_MAX; i++) {
        unsigned char c = (unsigned char)s[i];
        buf[o++] = (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') ? (char)c : '?';
    }
    if (size)
        buf[o] = '\0';
}

/* ---- HTTP response heads ---- */

static bool is_token_char(unsigned char c)
{
    return isalnum(c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

static int parse_status_line(const char *l, size_t len, struct clh_http_response *r,
                             struct err *e)
{
    char shown[CLH_QUOTE_MAX + 1];
    if (len < 12 || (memcmp(l, "HTTP/1.1 ", 9) != 0 && memcmp(l, "HTTP/1.0 ", 9) != 0) ||
        !isdigit((unsigned char)l[9]) || !isdigit((unsigned char)l[10]) ||
        !isdigit((unsigned char)l[11]) || (len > 12 && l[12] != ' ')) {
        quote(l, len, shown, sizeof(shown));
        return err_set(e, -EPROTO, "malformed status line \"%s\"", shown);
    }
    r->status = (l[9] - '0') * 100 + (l[10] - '0') * 10 + (l[11] - '0');
    if (r->status < 100 || r->status > 599)
        return err_set(e, -EPROTO, "status %d out of range", r->status);
    size_t rlen = len > 13 ? len - 13 : 0;
    for (size_t i = 0; i < rlen; i++)
        if ((unsigned char)l[13 + i] < 0x20 || (unsigned char)l[13 + i] >= 0x7f)
            return err_set(e, -EPROTO, "control byte in the status line");
    quote(l + 13, rlen, r->reason, sizeof(r->reason));
    return 0;
}

static int parse_content_length(const char *v, size_t len, size_t *ret, struct err *e)
{
    size_t n = 0;
    if (len == 0 || len > 10)
        return err_set(e, -EPROTO, "bad Content-Length");
    for (size_t i = 0; i < len; i++) {
        if (!isdigit((unsigned char)v[i]))
            return err_set(e, -EPROTO, "bad Content-Length");
        n = n * 10 + (size_t)(v[i] - '0');
    }
    if (n > CLH_HTTP_BODY_MAX)
        return err_set(e, -EMSGSIZE, "Content-Length %zu over the %u byte limit", n,
                       CLH_HTTP_BODY_MAX);
    *ret = n;
    return 0;
}

static int parse_header(const char *l, size_t len, struct clh_http_response *r, struct err *e)
{
    const char *colon = memchr(l, ':', len);
    if (!colon || colon == l)
        return err_set(e, -EPROTO, "malformed header line");
    size_t nlen = (size_t)(colon - l);
    for (size_t i = 0; i < nlen; i++)
        if (!is_token_char((unsigned char)l[i]))
            return err_set(e, -EPROTO, "bad header name");
    const char *v = colon + 1;
    size_t vlen = len - nlen - 1;
    while (vlen && (*v == ' ' || *v == '\t'))
        v++, vlen--;
    while (vlen && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
        vlen--;
    for (size_t i = 0; i < vlen; i++)
        if (((unsigned char)v[i] < 0x20 && v[i] != '\t') || (unsigned char)v[i] == 0x7f)
            return err_set(e, -EPROTO, "control byte in a header value");

#define IS(name) (nlen == sizeof(name) - 1 && strncasecmp(l, name, nlen) == 0)
    if (IS("Content-Length")) {
        size_t n = 0;
        int rc = parse_content_length(v, vlen, &n, e);
        if (rc < 0)
            return rc;
        if (r->has_content_length && n != r->content_length)
            return err_set(e, -EPROTO, "conflicting Content-Length headers");
        r->has_content_length = true;
        r->content_length = n;
    } else if (IS("Transfer-Encoding")) {
        /* CLH's micro_http never sends chunked bodies. */
        return err_set(e, -EPROTO, "unexpected Transfer-Encoding");
    } else if (IS("Content-Type")) {
        static const char json[] = "application/json";
        r->json = vlen >= sizeof(json) - 1 && strncasecmp(v, json, sizeof(json) - 1) == 0 &&
                  (vlen == sizeof(json) - 1 || v[sizeof(json) - 1] == ';' ||
                   v[sizeof(json) - 1] == ' ');
    } else if (IS("Connection")) {
        r->keep_alive = !(vlen == 5 && strncasecmp(v, "close", 5) == 0);
    }
#undef IS
    return 0;
}

/* Parses the head's fields only; returns 0 or a negative errno. */
static int parse_head_fields(const char *head, size_t head_len, struct clh_http_response *r,
                             struct err *e)
{
    if (head_len > CLH_HTTP_HEAD_MAX)
        return err_set(e, -EMSGSIZE, "response head over %u bytes", CLH_HTTP_HEAD_MAX);
    if (head_len < 4 || memcmp(head + head_len - 4, "\r\n\r\n", 4) != 0)
        return err_set(e, -EPROTO, "response head not terminated by an empty line");
    if (memchr(head, '\0', head_len))
        return err_set(e, -EPROTO, "NUL byte in the response head");

    *r = (struct clh_http_response){.keep_alive = true};
    size_t pos = 0;
    unsigned nheaders = 0;
    for (bool first = true;; first = false) {
        const char *l = head + pos;
        const char *crlf = memmem(l, head_len - pos, "\r\n", 2);
        size_t len = (size_t)(crlf - l); /* the head ends in CRLF, so crlf is set */
        pos += len + 2;
        if (len == 0)
            break;
        if (memchr(l, '\r', len) || memchr(l, '\n', len))
            return err_set(e, -EPROTO, "bare CR or LF in the response head");
        int rc = first ? parse_status_line(l, len, r, e) : parse_header(l, len, r, e);
        if (rc < 0)
            return rc;
        if (!first && ++nheaders > CLH_HEADERS_MAX)
            return err_set(e, -EPROTO, "more than %d headers", CLH_HEADERS_MAX);
    }
    if (pos != head_len)
        return err_set(e, -EPROTO, "data after the end of the response head");
    return 0;
}

static int check_body(struct clh_http_response *r, const char *body, size_t body_len,
                      struct err *e)
{
    if (body_len > CLH_HTTP_BODY_MAX)
        return err_set(e, -EMSGSIZE, "body over the %u byte limit", CLH_HTTP_BODY_MAX);
    if (r->has_content_length && r->content_length != body_len)
        return err_set(e, -EPROTO, "body is %zu bytes, Content-Length says %zu", body_len,
                       r->content_length);
    if (!r->has_content_length && body_len > 0)
        return err_set(e, -EPROTO, "body without Content-Length");
    if ((r->status == 204 || r->status == 304 || r->status < 200) && body_len > 0)
        return err_set(e, -EPROTO, "status %d with a body", r->status);
    r->body = body_len ? body : NULL;
    r->body_len = body_len;
    return 0;
}

int clh_http_parse_head(const char *head, size_t head_len, const char *body, size_t body_len,
                        struct clh_http_response *ret, struct err *e)
{
    struct clh_http_response r;
    int rc = parse_head_fields(head, head_len, &r, e);
    if (rc < 0)
        return rc;
    rc = check_body(&r, body, body_len, e);
    if (rc < 0)
        return rc;
    *ret = r;
    return 0;
}

int clh_http_parse_response(const char *buf, size_t len, struct clh_http_response *ret,
                            struct err *e)
{
    size_t scan = MIN(len, (size_t)CLH_HTTP_HEAD_MAX);
    const char *end = memmem(buf, scan, "\r\n\r\n", 4);
    if (!end)
        return len >= CLH_HTTP_HEAD_MAX
                   ? err_set(e, -EMSGSIZE, "response head over %u bytes", CLH_HTTP_HEAD_MAX)
                   : -EAGAIN;
    size_t head_len = (size_t)(end - buf) + 4;
    struct clh_http_response r;
    int rc = parse_head_fields(buf, head_len, &r, e);
    if (rc < 0)
        return rc;
    size_t body_len = r.has_content_length ? r.content_length : 0;
    if (len - head_len < body_len)
        return -EAGAIN;
    rc = check_body(&r, buf + head_len, body_len, e);
    if (rc < 0)
        return rc;
    *ret = r;
    return (int)(head_len + body_len);
}

/* ---- JSON bodies ---- */

static void json_putp(json_object **o)
{
    if (*o)
        json_object_put(*o);
}
#define _cleanup_json_ __attribute__((cleanup(json_putp)))

static int parse_json(const char *body, size_t len, json_object **ret, struct err *e)
{
    if (!body || len == 0)
        return err_set(e, -EPROTO, "empty body where JSON was expected");
    if (len > CLH_HTTP_BODY_MAX)
        return err_set(e, -EMSGSIZE, "JSON body over %u bytes", CLH_HTTP_BODY_MAX);
    if (memchr(body, '\0', len))
        return err_set(e, -EPROTO, "NUL byte in the JSON body");
    json_tokener *tok = json_tokener_new_ex(CLH_JSON_DEPTH);
    if (!tok)
        return err_set(e, -ENOMEM, "json_tokener_new_ex");
    json_object *o = json_tokener_parse_ex(tok, body, (int)len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    size_t end = json_tokener_get_parse_end(tok);
    json_tokener_free(tok);
    if (!o || jerr != json_tokener_success) {
        if (o)
            json_object_put(o);
        return err_set(e, -EPROTO, "invalid JSON: %s",
                       jerr == json_tokener_continue ? "truncated"
                                                     : json_tokener_error_desc(jerr));
    }
    for (; end < len; end++)
        if (!strchr(" \t\r\n", body[end])) {
            json_object_put(o);
            return err_set(e, -EPROTO, "data after the JSON value");
        }
    *ret = o;
    return 0;
}

/* A string member: NULL when absent; -EPROTO when of another type, holding a
 * NUL or longer than max. */
static int get_string(json_object *obj, const char *key, bool required, size_t max,
                      const char **ret, struct err *e)
{
    json_object *v;
    *ret = NULL;
    if (!json_object_object_get_ex(obj, key, &v) || !v) {
        if (required)
            return err_set(e, -EPROTO, "\"%s\" is missing", key);
        return 0;
    }
    if (!json_object_is_type(v, json_type_string))
        return err_set(e, -EPROTO, "\"%s\" is not a string", key);
    const char *s = json_object_get_string(v);
    size_t len = (size_t)json_object_get_string_len(v);
    if (strlen(s) != len)
        return err_set(e, -EPROTO, "\"%s\" holds a NUL byte", key);
    if (len > max)
        return err_set(e, -EPROTO, "\"%s\" is over %zu bytes", key, max);
    *ret = s;
    return 0;
}

static bool printable(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
            return false;
    return true;
}

int clh_api_parse_ping(const char *body, size_t len, char *ret_version, size_t size,
                       struct err *e)
{
    _cleanup_json_ json_object *o = NULL;
    const char *version, *build;
    json_object *v;
    int r = parse_json(body, len, &o, e);
    if (r < 0)
        return (err_prefix(e, "vmm.ping"), r);
    if (!json_object_is_type(o, json_type_object))
        return err_set(e, -EPROTO, "vmm.ping: reply is not an object");
    if ((r = get_string(o, "version", true, 128, &version, e)) < 0 ||
        (r = get_string(o, "build_version", false, 256, &build, e)) < 0)
        return (err_prefix(e, "vmm.ping"), r);
    if (!*version || !printable(version))
        return err_set(e, -EPROTO, "vmm.ping: \"version\" is empty or not printable");
    if (json_object_object_get_ex(o, "pid", &v) && !json_object_is_type(v, json_type_int))
        return err_set(e, -EPROTO, "vmm.ping: \"pid\" is not an integer");
    if (json_object_object_get_ex(o, "features", &v)) {
        if (!json_object_is_type(v, json_type_array))
            return err_set(e, -EPROTO, "vmm.ping: \"features\" is not an array");
        for (size_t i = 0; i < json_object_array_length(v); i++)
            if (!json_object_is_type(json_object_array_get_idx(v, i), json_type_string))
                return err_set(e, -EPROTO, "vmm.ping: \"features\" holds a non-string");
    }
    if (strlen(version) >= size)
        return err_set(e, -ENOSPC, "vmm.ping: version does not fit");
    memcpy(ret_version, version, strlen(version) + 1);
    return 0;
}

int clh_api_parse_info(const char *body, size_t len, enum clh_vm_state *ret_state,
                       struct err *e)
{
    _cleanup_json_ json_object *o = NULL;
    const char *state;
    json_object *config;
    int r = parse_json(body, len, &o, e);
    if (r < 0)
        return (err_prefix(e, "vm.info"), r);
    if (!json_object_is_type(o, json_type_object))
        return err_set(e, -EPROTO, "vm.info: reply is not an object");
    if ((r = get_string(o, "state", true, 32, &state, e)) < 0)
        return (err_prefix(e, "vm.info"), r);
    if (!json_object_object_get_ex(o, "config", &config) ||
        !json_object_is_type(config, json_type_object))
        return err_set(e, -EPROTO, "vm.info: \"config\" is missing or not an object");
    for (size_t i = 0; i < ELEMENTSOF(state_names); i++)
        if (strcmp(state, state_names[i]) == 0) {
            *ret_state = (enum clh_vm_state)i;
            return 0;
        }
    char shown[CLH_QUOTE_MAX + 1];
    quote(state, strlen(state), shown, sizeof(shown));
    return err_set(e, -EPROTO, "vm.info: unknown state \"%s\"", shown);
}

int clh_api_bdf_to_pci_path(const char *bdf, char *buf, size_t size, struct err *e)
{
    char shown[CLH_QUOTE_MAX + 1];
    /* SSSS:BB:DD.F, all hex */
    static const char shape[] = "xxxx:xx:xx.x";
    bool ok = strlen(bdf) == sizeof(shape) - 1;
    for (size_t i = 0; ok && i < sizeof(shape) - 1; i++)
        ok = shape[i] == 'x' ? isxdigit((unsigned char)bdf[i]) != 0 : bdf[i] == shape[i];
    unsigned slot = 0;
    if (ok)
        slot = (unsigned)strtoul(bdf + 8, NULL, 16);
    /* Kata (clhPciInfoToPath) accepts only segment 0, bus 0, function 0. */
    if (!ok || memcmp(bdf, "0000:00:", 8) != 0 || bdf[11] != '0' || slot > 0x1f) {
        quote(bdf, strlen(bdf), shown, sizeof(shown));
        return err_set(e, -EPROTO, "unexpected PCI address \"%s\"", shown);
    }
    if (size < 3)
        return err_set(e, -ENOSPC, "PCI path buffer too small");
    snprintf(buf, size, "%02x", slot);
    return 0;
}

int clh_api_parse_pci_info(const char *body, size_t len, struct clh_pci_info *ret,
                           struct err *e)
{
    _cleanup_json_ json_object *o = NULL;
    const char *id, *bdf;
    char path[8];
    int r = parse_json(body, len, &o, e);
    if (r < 0)
        return (err_prefix(e, "PciDeviceInfo"), r);
    if (!json_object_is_type(o, json_type_object))
        return err_set(e, -EPROTO, "PciDeviceInfo: reply is not an object");
    if ((r = get_string(o, "id", true, sizeof(ret->id) - 1, &id, e)) < 0 ||
        (r = get_string(o, "bdf", true, 64, &bdf, e)) < 0)
        return (err_prefix(e, "PciDeviceInfo"), r);
    if (!*id || !printable(id))
        return err_set(e, -EPROTO, "PciDeviceInfo: \"id\" is empty or not printable");
    if ((r = clh_api_bdf_to_pci_path(bdf, path, sizeof(path), e)) < 0)
        return (err_prefix(e, "PciDeviceInfo"), r);
    *ret = (struct clh_pci_info){.cold = false};
    snprintf(ret->id, sizeof(ret->id), "%s", id);
    snprintf(ret->bdf, sizeof(ret->bdf), "%s", bdf);
    return 0;
}

/* CLH's error body: a JSON array of strings (newest first: the error chain),
 * or in older releases plain text. Joined and quoted into buf. */
static void error_text(const struct clh_http_response *r, char *buf, size_t size)
{
    _cleanup_json_ json_object *o = NULL;
    char joined[CLH_QUOTE_MAX + 1] = "";
    buf[0] = '\0';
    if (!r->body_len)
        return;
    if (r->json && parse_json(r->body, r->body_len, &o, NULL) == 0) {
        if (json_object_is_type(o, json_type_array)) {
            size_t pos = 0;
            for (size_t i = 0; i < json_object_array_length(o) && pos + 1 < sizeof(joined);
                 i++) {
                json_object *s = json_object_array_get_idx(o, i);
                if (!json_object_is_type(s, json_type_string))
                    continue;
                int n = snprintf(joined + pos, sizeof(joined) - pos, "%s%s", pos ? ": " : "",
                                 json_object_get_string(s));
                pos = n < 0 ? pos : MIN(sizeof(joined) - 1, pos + (size_t)n);
            }
            quote(joined, strlen(joined), buf, size);
            return;
        }
        if (json_object_is_type(o, json_type_string)) {
            const char *s = json_object_get_string(o);
            quote(s, strlen(s), buf, size);
            return;
        }
    }
    quote(r->body, r->body_len, buf, size);
}

static int status_errno(int status)
{
    switch (status) {
    case 400:
        return -EINVAL;
    case 404:
        return -ENOENT;
    case 405:
        return -EBUSY;
    case 409:
        return -EEXIST;
    case 429:
        return -EAGAIN;
    case 500:
        return -EIO;
    default:
        return -EPROTO;
    }
}

int clh_api_check_response(enum clh_endpoint ep, const struct clh_http_response *r,
                           struct err *e)
{
    if ((unsigned)ep >= CLH_ENDPOINT_COUNT)
        return err_set(e, -EINVAL, "unknown endpoint %d", (int)ep);
    const struct endpoint_info *info = &endpoints[ep];
    const char *what = info->path + 1;

    if (r->status >= 400) {
        char text[CLH_QUOTE_MAX + 1];
        error_text(r, text, sizeof(text));
        return err_set(e, status_errno(r->status), "%s: HTTP %d %s%s%s%s", what, r->status,
                       r->reason, text[0] ? ": \"" : "", text, text[0] ? "\"" : "");
    }
    if (r->body_len && !r->json)
        return err_set(e, -EPROTO, "%s: body is not application/json", what);

    bool ok;
    switch (info->reply) {
    case REPLY_NONE:
        /* vmm.shutdown answers 200 in CLH's code, 204 in its spec. */
        ok = r->status == 204 || (ep == CLH_VMM_SHUTDOWN && r->status == 200);
        if (ok && r->body_len)
            return err_set(e, -EPROTO, "%s: unexpected body with status %d", what, r->status);
        break;
    case REPLY_JSON:
        ok = r->status == 200;
        break;
    case REPLY_PCI:
        ok = r->status == 200 || r->status == 204;
        break;
    default:
        ok = false;
    }
    if (!ok)
        return err_set(e, -EPROTO, "%s: unexpected HTTP status %d", what, r->status);
    if (r->status == 200 && info->reply != REPLY_NONE && !r->body_len)
        return err_set(e, -EPROTO, "%s: status 200 without a body", what);
    return 0;
}

int clh_api_parse_pci_reply(enum clh_endpoint ep, const struct clh_http_response *r,
                            const char *id, struct clh_pci_info *ret, struct err *e)
{
    struct clh_pci_info info;
    if (r->status == 204) {
        *ret = (struct clh_pci_info){.cold = true};
        snprintf(ret->id, sizeof(ret->id), "%s", id);
        return 0;
    }
    int rc = clh_api_parse_pci_info(r->body, r->body_len, &info, e);
    if (rc < 0)
        return (err_prefix(e, "%s", endpoints[ep].path + 1), rc);
    if (strcmp(info.id, id) != 0) {
        char shown[CLH_QUOTE_MAX + 1];
        quote(info.id, strlen(info.id), shown, sizeof(shown));
        return err_set(e, -EPROTO, "%s: reply names device \"%s\", expected \"%s\"",
                       endpoints[ep].path + 1, shown, id);
    }
    *ret = info;
    return 0;
}
