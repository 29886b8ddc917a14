/*
 * The baseline of bench/engine: what any JSON pipeline must at least do —
 * read a JSON-lines file, parse each line with jansson, serialise it and
 * write it out. Usage: baseline IN OUT
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s IN OUT\n", argv[0]);
        return 2;
    }
    FILE *in = fopen(argv[1], "rb"), *out = fopen(argv[2], "wb");
    if (!in || !out) {
        perror("open");
        return 1;
    }
    static char obuf[1 << 20];
    setvbuf(out, obuf, _IOFBF, sizeof obuf);
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    long records = 0, bad = 0;
    while ((n = getline(&line, &cap, in)) > 0) {
        json_error_t err;
        json_t *j = json_loadb(line, (size_t)n, 0, &err);
        if (!j) {
            bad++;
            continue;
        }
        char *text = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
        fputs(text, out);
        fputc('\n', out);
        free(text);
        json_decref(j);
        records++;
    }
    free(line);
    fflush(out);
    fclose(out);
    fclose(in);
    fprintf(stderr, "baseline: %ld records, %ld bad\n", records, bad);
    return 0;
}
