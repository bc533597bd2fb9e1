/* Fuzz target: shim/io_uri.c's log URI parser on arbitrary bytes (up to
 * the first NUL). Whatever the text, the parse ends; a success yields an
 * absolute path, and for a binary an argv that starts with it and holds
 * pairs, and "K=V" environment entries that never set the container's
 * identity. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "lib/err.h"
#include "shim/io_uri.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    struct err e = ERR_INIT;
    struct io_uri u;
    size_t n = 0;

    assert(text);
    memcpy(text, data, size);
    text[size] = '\0';
    if (io_uri_parse(text, &u, &e) < 0) {
        assert(e.code < 0 && err_msg(&e)[0]);
        assert(!u.path && !u.argv && !u.envp);
        free(text);
        return 0;
    }
    assert(io_uri_has_scheme(text));
    assert(u.path && u.path[0] == '/');
    if (u.kind == IO_URI_BINARY) {
        assert(u.argv && strcmp(u.argv[0], u.path) == 0);
        while (u.argv[n])
            n++;
        assert(n % 2 == 1 && n <= 2 * IO_URI_MAX_ARGS + 1);
        for (char **p = u.envp; *p; p++) {
            const char *eq = strchr(*p, '=');
            assert(eq && eq != *p);
            assert(strncmp(*p, "CONTAINER_ID=", 13) != 0);
            assert(strncmp(*p, "CONTAINER_NAMESPACE=", 20) != 0);
        }
    } else {
        assert(!u.argv && !u.envp);
    }
    io_uri_done(&u);
    free(text);
    return 0;
}
