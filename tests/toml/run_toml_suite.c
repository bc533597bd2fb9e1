/* Runs TOML test cases in toml-test's layout through the parser.
 *
 *   run_toml_suite DIR [LIST]
 *
 * DIR holds valid/ and invalid/ (toml-test's tests/ folder, or our
 * tests/toml/corpus). LIST names the cases to run, one path relative to DIR
 * a line (toml-test's files-toml-1.0.0); the others count as skipped. When
 * LIST is not given and DIR/files-toml-1.0.0 exists, that file is used.
 * Prints "ok ..." / "FAIL ..." per case and ends with the harness summary
 * line "N passed, N failed, N skipped". */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tests/toml/toml_compare.h"

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3 || strcmp(argv[1], "--help") == 0) {
        fprintf(stderr, "usage: %s DIR [LIST]\n", argv[0]);
        return 2;
    }
    char list[4096];
    const char *list_file = argc == 3 ? argv[2] : NULL;
    if (!list_file) {
        snprintf(list, sizeof(list), "%s/files-toml-1.0.0", argv[1]);
        if (access(list, R_OK) == 0)
            list_file = list;
    }
    struct toml_suite_result res = {0, 0, 0};
    int r = toml_compare_suite(argv[1], list_file, stdout, true, &res);
    if (r < 0) {
        printf("FAIL cannot read %s: %s\n", list_file ? list_file : argv[1], strerror(-r));
        res.failed++;
    }
    printf("%u passed, %u failed, %u skipped\n", res.passed, res.failed, res.skipped);
    return res.failed ? 1 : 0;
}
