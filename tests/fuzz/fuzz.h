/* Every fuzz target defines LLVMFuzzerTestOneInput. Under `make fuzz` it is
 * linked with libFuzzer; under `make test` with tests/fuzz/replay.c, which
 * feeds it each file of tests/fuzz/corpus/<target>/ and prints the harness
 * summary line. */
#pragma once

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
