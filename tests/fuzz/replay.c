/* Replays a fuzz corpus through a target without libFuzzer, so `make test`
 * (and the sanitizer build) exercise every target on known inputs.
 * Usage: fuzz_<target>_replay DIR... ; each file is one case. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tests/fuzz/fuzz.h"

static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    struct stat st;
    if (fstat(fileno(f), &st) < 0 || st.st_size < 0) {
        fclose(f);
        return -1;
    }
    size_t size = (size_t)st.st_size;
    uint8_t *buf = malloc(size ? size : 1);
    size_t got = buf ? fread(buf, 1, size, f) : 0;
    fclose(f);
    if (!buf || got != size) {
        free(buf);
        return -1;
    }
    LLVMFuzzerTestOneInput(buf, size);
    free(buf);
    return 0;
}

int main(int argc, char **argv)
{
    unsigned passed = 0, failed = 0;
#ifdef DEFAULT_CORPUS
    char *default_dirs[] = {argv[0], (char *)DEFAULT_CORPUS};
    if (argc < 2) {
        argc = 2;
        argv = default_dirs;
    }
#endif
    for (int i = 1; i < argc; i++) {
        DIR *d = opendir(argv[i]);
        if (!d) {
            printf("FAIL cannot open corpus %s\n", argv[i]);
            failed++;
            continue;
        }
        struct dirent *de;
        while ((de = readdir(d))) {
            if (de->d_name[0] == '.')
                continue;
            char path[4096];
            snprintf(path, sizeof(path), "%s/%s", argv[i], de->d_name);
            /* A crash or sanitizer report aborts the program: no summary,
             * which the runner counts as a failure. */
            if (replay_file(path) == 0) {
                printf("ok replay %s\n", path);
                passed++;
            } else {
                printf("FAIL replay %s (unreadable)\n", path);
                failed++;
            }
        }
        closedir(d);
    }
    printf("%u passed, %u failed, 0 skipped\n", passed, failed);
    return failed ? 1 : 0;
}
