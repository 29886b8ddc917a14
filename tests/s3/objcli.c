/* tests/s3/objcli.c — a tiny command line over martflow/objstore.h, for the
 * shell tests (an independent client checks what ours wrote, and the other
 * way round) and bench/s3. S3 options come from S3_ENDPOINT, S3_REGION,
 * S3_ACCESS_KEY, S3_SECRET_KEY (tests/services.sh env); MF_PART_SIZE sets
 * the multipart part size in bytes.
 *
 *   objcli put URL KEY FILE     upload FILE (read whole; "-": stdin)
 *   objcli get URL KEY FILE     download to FILE ("-": stdout)
 *   objcli head URL KEY         prints "SIZE ETAG"
 *   objcli list URL [PREFIX]    prints "SIZE KEY" per object
 *   objcli rm URL KEY
 * Exit: 0 ok, 1 not found, 2 retry, 3 fatal, 4 usage or local I/O. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <martflow/objstore.h>

static int list_print(void *arg, const struct mf_objstore_info *info)
{
    (void)arg;
    printf("%llu %s\n", (unsigned long long)info->size, info->key);
    return 0;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 20, n = 0;
    char *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap)
            buf = realloc(buf, cap *= 2);
    }
    if (f != stdin)
        fclose(f);
    *len = n;
    return buf;
}

static bool env_is(const char *name, const char *value)
{
    const char *v = getenv(name);
    return v && strcmp(v, value) == 0;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: objcli put|get|head|list|rm URL [KEY [FILE]]\n");
        return 4;
    }
    const char *cmd = argv[1], *url = argv[2];
    struct mf_objstore_opts o = {
        .endpoint = getenv("S3_ENDPOINT"),
        .region = getenv("S3_REGION"),
        .access_key = getenv("S3_ACCESS_KEY"),
        .secret_key = getenv("S3_SECRET_KEY"),
        /* S3_PATH_STYLE=0: virtual-host addressing; S3_CA_FILE / S3_INSECURE=1: https */
        .path_style = !env_is("S3_PATH_STYLE", "0"),
        .ca_file = getenv("S3_CA_FILE"),
        .insecure = env_is("S3_INSECURE", "1"),
        .part_size = getenv("MF_PART_SIZE") ? strtoull(getenv("MF_PART_SIZE"), NULL, 10) : 0,
    };
    char *err = NULL;
    mf_objstore *s = mf_objstore_open(url, &o, &err);
    if (!s) {
        fprintf(stderr, "objcli: %s\n", err);
        return 3;
    }
    int rc = 4;
    if (strcmp(cmd, "put") == 0 && argc == 5) {
        size_t len = 0;
        char *data = slurp(argv[4], &len);
        if (!data) {
            perror(argv[4]);
        } else {
            rc = mf_objstore_put(s, argv[3], data, len, &err);
            free(data);
        }
    } else if (strcmp(cmd, "get") == 0 && argc == 5) {
        void *data = NULL;
        size_t len = 0;
        rc = mf_objstore_get(s, argv[3], &data, &len, &err);
        if (rc == MF_OBJ_OK) {
            FILE *f = strcmp(argv[4], "-") == 0 ? stdout : fopen(argv[4], "wb");
            if (!f || fwrite(data, 1, len, f) != len || (f != stdout && fclose(f) != 0)) {
                perror(argv[4]);
                rc = 4;
            }
        }
        free(data);
    } else if (strcmp(cmd, "head") == 0 && argc == 4) {
        struct mf_objstore_info info;
        rc = mf_objstore_head(s, argv[3], &info, &err);
        if (rc == MF_OBJ_OK)
            printf("%llu %s\n", (unsigned long long)info.size, info.etag ? info.etag : "-");
    } else if (strcmp(cmd, "list") == 0 && (argc == 3 || argc == 4)) {
        rc = mf_objstore_list(s, argc == 4 ? argv[3] : "", list_print, NULL, &err);
    } else if (strcmp(cmd, "rm") == 0 && argc == 4) {
        rc = mf_objstore_delete(s, argv[3], &err);
    } else {
        fprintf(stderr, "usage: objcli put|get|head|list|rm URL [KEY [FILE]]\n");
    }
    if (err)
        fprintf(stderr, "objcli: %s\n", err);
    free(err);
    mf_objstore_close(s);
    return rc;
}
