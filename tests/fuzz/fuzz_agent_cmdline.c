/* Fuzz target: agent/cmdline.c on arbitrary bytes (up to the first NUL).
 * Whatever the text, the parse ends, stays in its arrays, and what it
 * keeps satisfies the documented bounds. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "agent/cmdline.h"
#include "lib/log.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Warnings are the expected outcome here; keep the output readable. */
    log_set_level(LOG_ERROR);
    char *text = malloc(size + 1);
    assert(text);
    memcpy(text, data, size);
    text[size] = '\0';
    struct agent_cmdline c;
    cmdline_parse(text, &c);
    free(text);
    assert(c.n_kernel_modules <= CMDLINE_MAX_MODULES);
    for (size_t i = 0; i < c.n_kernel_modules; i++) {
        size_t n = strlen(c.kernel_modules[i]);
        assert(n > 0 && n < CMDLINE_MODULE_NAME_MAX);
        assert(!strchr(c.kernel_modules[i], '/') && !strchr(c.kernel_modules[i], '.'));
    }
    assert(strlen(c.server_addr) < sizeof(c.server_addr));
    assert(c.hotplug_timeout_ms <= CMDLINE_MAX_HOTPLUG_TIMEOUT_S * 1000u);
    assert(c.log_level <= LOG_TRACE);
    return 0;
}
