/*
 * bench/gsp baseline: read JSON lines and parse each one with jansson (a
 * tree, then freed), nothing else. Prints the number of lines parsed.
 * Built by bench/gsp/run.sh: cc -O2 parse_only.c $(pkg-config --cflags --libs jansson)
 */
#include <stdio.h>
#include <stdlib.h>
#include <jansson.h>

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s FILE\n", argv[0]);
        return 2;
    }
    FILE *f = fopen(argv[1], "r");
    if (!f) {
        perror(argv[1]);
        return 1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    long long n = 0, bad = 0;
    while ((len = getline(&line, &cap, f)) > 0) {
        json_error_t err;
        json_t *v = json_loadb(line, (size_t)len, 0, &err);
        if (v)
            n++;
        else
            bad++;
        json_decref(v);
    }
    free(line);
    fclose(f);
    printf("%lld\n", n);
    return bad ? 1 : 0;
}
