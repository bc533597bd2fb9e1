/* Checks the TOML parser against test cases in toml-test's layout: a folder
 * with valid/.../X.toml + X.json (the expected document in toml-test's tagged
 * JSON) and invalid/.../X.toml (must fail with "FILE:LINE:COL: message").
 *
 * Shared by tests/toml/run_toml_suite (any folder, e.g. a copy of
 * toml-test's tests/) and tests/unit/test_toml (our corpus). Uses json-c to
 * read the expectations. Results go to a FILE as "ok ..." / "FAIL ..." lines;
 * nothing else is global. */
#pragma once

#include <stdbool.h>
#include <stdio.h>

struct err;
struct json_object;
struct toml_value;

struct toml_suite_result {
    unsigned passed, failed, skipped;
};

/* 0 when v matches expected: same tables and keys, same array lengths, same
 * types; strings and integers exactly, floats bit for bit (or both NaN),
 * date-times after normalising 't'/' ' to 'T', 'z' to 'Z', "+00:00" to 'Z'
 * and trailing zeros of the fraction. Otherwise -EINVAL and the path of the
 * first difference in e. */
int toml_compare_json(const struct toml_value *v, struct json_object *expected, struct err *e);

/* Runs every case under dir/valid and dir/invalid, in name order, printing
 * a "FAIL case: reason" line for each failure and, when print_ok, an "ok
 * case" line for each success. When list_file is given (toml-test's
 * files-toml-1.0.0), cases it does not name are counted as skipped. Adds to
 * *res; returns 0, or a negative errno when dir or list_file cannot be read. */
int toml_compare_suite(const char *dir, const char *list_file, FILE *out, bool print_ok,
                       struct toml_suite_result *res);
