/* positions.c — see positions.h. */
#include "positions.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define STATE_VERSION 1

static uint64_t fnv1a64(const unsigned char *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

bool pos_verify(int fd, pos_identity *id)
{
    unsigned char head[POS_FP_MAX];
    size_t have = 0;
    while (have < sizeof head) {
        ssize_t n = pread(fd, head + have, sizeof head - have, (off_t)have);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return false;
        if (n == 0)
            break;
        have += (size_t)n;
    }
    if (have < id->fp_len || (id->fp_len && fnv1a64(head, id->fp_len) != id->fp_hash))
        return false;
    id->fp_len = (uint32_t)have;
    id->fp_hash = fnv1a64(head, have);
    return true;
}

void pos_table_add(pos_table *t, const char *path, const pos_identity *id, int64_t offset, int64_t line)
{
    if (t->count == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 16;
        t->items = realloc(t->items, t->cap * sizeof *t->items);
        if (!t->items)
            abort();
    }
    char *copy = strdup(path);
    if (!copy)
        abort();
    t->items[t->count++] = (pos_entry){.path = copy, .id = *id, .offset = offset, .line = line};
}

void pos_table_remove(pos_table *t, size_t i)
{
    free(t->items[i].path);
    t->items[i] = t->items[--t->count];
}

ssize_t pos_table_find(const pos_table *t, int fd, pos_identity *id)
{
    for (size_t i = 0; i < t->count; i++) {
        pos_identity cand = t->items[i].id;
        if (cand.dev != id->dev || cand.ino != id->ino || !pos_verify(fd, &cand))
            continue;
        *id = cand;
        return (ssize_t)i;
    }
    return -1;
}

void pos_table_free(pos_table *t)
{
    for (size_t i = 0; i < t->count; i++)
        free(t->items[i].path);
    free(t->items);
    memset(t, 0, sizeof *t);
}

/* ---- the state file ------------------------------------------------------------------ */

static bool get_int(json_t *o, const char *name, int64_t *v)
{
    json_t *x = json_object_get(o, name);
    if (!json_is_integer(x) || json_integer_value(x) < 0)
        return false;
    *v = json_integer_value(x);
    return true;
}

/* One entry of "files"; false when it is malformed. */
static bool load_entry(json_t *e, pos_table *t)
{
    const char *path = json_string_value(json_object_get(e, "path"));
    const char *fp = json_string_value(json_object_get(e, "fingerprint"));
    int64_t dev, ino, fp_len, offset, line;
    if (!path || !fp || !get_int(e, "dev", &dev) || !get_int(e, "inode", &ino) ||
        !get_int(e, "fingerprint_bytes", &fp_len) || !get_int(e, "offset", &offset) || !get_int(e, "line", &line) ||
        fp_len > POS_FP_MAX)
        return false;
    char *end;
    errno = 0;
    unsigned long long hash = strtoull(fp, &end, 16);
    if (errno || *end || end == fp)
        return false;
    pos_identity id = {.dev = (uint64_t)dev, .ino = (uint64_t)ino, .fp_len = (uint32_t)fp_len, .fp_hash = hash};
    pos_table_add(t, path, &id, offset, line);
    return true;
}

bool pos_load(const char *file, pos_table *t, char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *root = json_load_file(file, 0, &jerr);
    if (!root) {
        if (access(file, F_OK) != 0 && errno == ENOENT)
            return true; /* first run */
        snprintf(err, errlen, "%s: %s (line %d)", file, jerr.text, jerr.line);
        return false;
    }
    bool ok = false;
    json_t *files = json_object_get(root, "files");
    json_t *version = json_object_get(root, "version");
    if (!json_is_integer(version) || json_integer_value(version) != STATE_VERSION || !json_is_array(files)) {
        snprintf(err, errlen, "%s: not a version %d positions file", file, STATE_VERSION);
        goto fail;
    }
    size_t i;
    json_t *e;
    json_array_foreach(files, i, e)
    {
        if (!load_entry(e, t)) {
            snprintf(err, errlen, "%s: entry %zu is malformed", file, i);
            goto fail;
        }
    }
    ok = true;
fail:
    json_decref(root);
    return ok;
}

static json_t *to_json(const pos_table *t)
{
    json_t *files = json_array();
    for (size_t i = 0; i < t->count; i++) {
        const pos_entry *e = &t->items[i];
        char fp[17];
        snprintf(fp, sizeof fp, "%016" PRIx64, e->id.fp_hash);
        json_array_append_new(files, json_pack("{s:s, s:I, s:I, s:I, s:s, s:I, s:I}", "path", e->path, "dev",
                                               (json_int_t)e->id.dev, "inode", (json_int_t)e->id.ino,
                                               "fingerprint_bytes", (json_int_t)e->id.fp_len, "fingerprint", fp,
                                               "offset", (json_int_t)e->offset, "line", (json_int_t)e->line));
    }
    return json_pack("{s:i, s:o}", "version", STATE_VERSION, "files", files);
}

char *pos_encode(const pos_table *t)
{
    /* json_dumpb into our own buffer: the engine may give jansson its own
     * allocator, so nothing jansson allocates is free()d here */
    json_t *root = to_json(t);
    size_t n = json_dumpb(root, NULL, 0, JSON_COMPACT);
    char *text = malloc(n + 1);
    if (!text)
        abort();
    json_dumpb(root, text, n, JSON_COMPACT);
    text[n] = '\0';
    json_decref(root);
    return text;
}

bool pos_decode(const void *data, size_t len, pos_table *t)
{
    json_t *root = json_loadb(data, len, 0, NULL);
    json_t *files = root ? json_object_get(root, "files") : NULL;
    json_t *version = root ? json_object_get(root, "version") : NULL;
    bool ok = json_is_integer(version) && json_integer_value(version) == STATE_VERSION && json_is_array(files);
    size_t i;
    json_t *e;
    json_array_foreach(files, i, e)
    {
        if (ok && !load_entry(e, t))
            ok = false;
    }
    json_decref(root);
    return ok;
}

static bool write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return false;
        p += w;
        n -= (size_t)w;
    }
    return true;
}

/* The rename is durable only once the directory is synced. */
static bool sync_dir(const char *file)
{
    char *copy = strdup(file);
    if (!copy)
        abort();
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(copy);
    if (fd < 0)
        return false;
    bool ok = fsync(fd) == 0;
    close(fd);
    return ok;
}

bool pos_save(const char *file, const pos_table *t, char *err, size_t errlen)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", file) >= (int)sizeof tmp) {
        snprintf(err, errlen, "%s: path too long", file);
        return false;
    }
    json_t *root = to_json(t);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    /* json_dumpfd: the engine may give jansson its own allocator */
    if (fd < 0 || json_dumpfd(root, fd, JSON_COMPACT) != 0 || !write_all(fd, "\n", 1) || fsync(fd) != 0) {
        snprintf(err, errlen, "writing %s: %s", tmp, strerror(errno));
        goto fail;
    }
    close(fd);
    fd = -1;
    if (rename(tmp, file) != 0 || !sync_dir(file)) {
        snprintf(err, errlen, "replacing %s: %s", file, strerror(errno));
        goto fail;
    }
    json_decref(root);
    return true;
fail:
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    json_decref(root);
    return false;
}
