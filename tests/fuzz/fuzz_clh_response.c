/* Cloud Hypervisor API replies: the bytes a hostile VMM could send on the
 * API socket, through the same checks the client runs. The first byte picks
 * the endpoint; the rest is one HTTP response, parsed whole
 * (clh_http_parse_response, the vm.add-net path) and also split at its
 * empty line the way libcurl hands it over (clh_http_parse_head). An
 * accepted response then goes through clh_api_check_response and the JSON
 * validator for that endpoint. Nothing may crash, leak or read out of
 * bounds, and everything accepted must be self-consistent. */
#include <assert.h>
#include <string.h>

#include "hypervisor/clh_api.h"
#include "lib/err.h"
#include "tests/fuzz/fuzz.h"

static void judge(enum clh_endpoint ep, const struct clh_http_response *r)
{
    struct err e = ERR_INIT;
    char text[64];
    enum clh_vm_state state;
    struct clh_pci_info pci;

    assert(r->body_len <= CLH_HTTP_BODY_MAX);
    assert(r->body_len == 0 || r->body != NULL);
    if (clh_api_check_response(ep, r, &e) < 0) {
        assert(e.code < 0 && e.msg[0]);
        return;
    }
    switch (ep) {
    case CLH_VMM_PING:
        if (clh_api_parse_ping(r->body, r->body_len, text, sizeof(text), NULL) == 0)
            assert(text[0] && strlen(text) < sizeof(text));
        break;
    case CLH_VM_INFO:
        if (clh_api_parse_info(r->body, r->body_len, &state, NULL) == 0)
            assert(strcmp(clh_vm_state_name(state), "?") != 0);
        break;
    case CLH_VM_ADD_DISK:
    case CLH_VM_ADD_NET:
    case CLH_VM_ADD_FS:
        if (clh_api_parse_pci_reply(ep, r, "dev0", &pci, NULL) == 0 && !pci.cold) {
            char path[8];
            assert(strcmp(pci.id, "dev0") == 0);
            assert(clh_api_bdf_to_pci_path(pci.bdf, path, sizeof(path), NULL) == 0);
            assert(strlen(path) == 2);
        }
        break;
    default:
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    enum clh_endpoint ep = (enum clh_endpoint)(data[0] % CLH_ENDPOINT_COUNT);
    const char *buf = (const char *)data + 1;
    size_t len = size - 1;
    struct clh_http_response r;

    int n = clh_http_parse_response(buf, len, &r, NULL);
    if (n >= 0) {
        assert((size_t)n <= len);
        judge(ep, &r);
    }

    const char *end = memmem(buf, len, "\r\n\r\n", 4);
    if (end) {
        size_t head_len = (size_t)(end - buf) + 4;
        if (clh_http_parse_head(buf, head_len, buf + head_len, len - head_len, &r, NULL) == 0)
            judge(ep, &r);
    }
    return 0;
}
