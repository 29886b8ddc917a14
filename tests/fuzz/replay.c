/* Run the fuzz target over every file of the corpus directories given (or
 * $top_srcdir/REPLAY_CORPUS): crashes and sanitizer reports fail. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef REPLAY_CORPUS
#define REPLAY_CORPUS "tests/fuzz/corpus"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "replay: cannot open %s\n", dir);
        return -1;
    }
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        FILE *f = fopen(path, "rb");
        if (!f)
            continue;
        static uint8_t buf[1 << 20];
        size_t len = fread(buf, 1, sizeof buf, f);
        fclose(f);
        LLVMFuzzerTestOneInput(buf, len);
        n++;
    }
    closedir(d);
    return n;
}

int main(int argc, char **argv)
{
    int total = 0;
    if (argc > 1) {
        for (int i = 1; i < argc; i++) {
            int n = replay_dir(argv[i]);
            if (n < 0)
                return 1;
            total += n;
        }
    } else {
        char dir[4096];
        snprintf(dir, sizeof dir, "%s/%s", getenv("top_srcdir") ? getenv("top_srcdir") : ".", REPLAY_CORPUS);
        total = replay_dir(dir);
    }
    printf("replayed %d inputs\n", total);
    return total > 0 ? 0 : 1;
}
