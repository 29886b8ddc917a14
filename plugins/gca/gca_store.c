/* gca_store.c — see gca_store.h: the file implementation. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gca_store.h"

struct gca_store {
    char *dir;
    char *where;
};

static bool make_dirs(char *path)
{
    for (char *p = path + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            int rc = mkdir(path, 0750);
            *p = '/';
            if (rc != 0 && errno != EEXIST)
                return false;
        }
    return mkdir(path, 0750) == 0 || errno == EEXIST;
}

bool gca_store_check_url(const char *url, char *why, size_t why_len)
{
    if (!url || !*url)
        return true;
    if (strncmp(url, "s3://", 5) == 0) {
        snprintf(why, why_len, "snapshots '%s': s3:// locations need the engine's object store, which this build "
                               "does not have yet; use file:///dir", url);
        return false;
    }
    const char *dir = strncmp(url, "file://", 7) == 0 ? url + 7 : url;
    if (dir[0] != '/') {
        snprintf(why, why_len, "snapshots '%s': give an absolute location, file:///dir", url);
        return false;
    }
    return true;
}

gca_store *gca_store_new(const char *url, const char *fallback_dir, char *why, size_t why_len)
{
    const char *dir = url && *url ? url : fallback_dir;
    if (!dir || !*dir) {
        snprintf(why, why_len, "no snapshot location: set `snapshots` (file:///dir) or settings.data_dir");
        return NULL;
    }
    if (!gca_store_check_url(dir, why, why_len))
        return NULL;
    if (strncmp(dir, "file://", 7) == 0)
        dir += 7;
    gca_store *s = mf_xcalloc(1, sizeof *s);
    s->dir = mf_xstrdup(dir);
    size_t n = strlen(s->dir);
    while (n > 1 && s->dir[n - 1] == '/')
        s->dir[--n] = '\0';
    s->where = mf_xasprintf("file://%s", s->dir);
    if (!make_dirs(s->dir)) {
        snprintf(why, why_len, "cannot create the snapshot directory %s: %s", s->dir, strerror(errno));
        gca_store_free(s);
        return NULL;
    }
    return s;
}

void gca_store_free(gca_store *s)
{
    if (!s)
        return;
    free(s->dir);
    free(s->where);
    free(s);
}

const char *gca_store_where(const gca_store *s)
{
    return s->where;
}

static bool write_all(int fd, const char *p, size_t len)
{
    while (len) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        p += w;
        len -= (size_t)w;
    }
    return true;
}

bool gca_store_save(gca_store *s, const char *name, const void *data, size_t len, char *why, size_t why_len)
{
    char *path = mf_xasprintf("%s/%s", s->dir, name);
    char *tmp = mf_xasprintf("%s/.%s.tmp", s->dir, name);
    bool ok = false;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd < 0) {
        snprintf(why, why_len, "cannot create %s: %s", tmp, strerror(errno));
        goto done;
    }
    if (!write_all(fd, data, len) || fsync(fd) != 0) {
        snprintf(why, why_len, "cannot write %s: %s", tmp, strerror(errno));
        close(fd);
        unlink(tmp);
        goto done;
    }
    close(fd);
    if (rename(tmp, path) != 0) {
        snprintf(why, why_len, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
        unlink(tmp);
        goto done;
    }
    /* the rename itself must survive a crash */
    int dfd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    ok = true;
done:
    free(path);
    free(tmp);
    return ok;
}

int gca_store_load(gca_store *s, const char *name, mf_buffer *out, char *why, size_t why_len)
{
    char *path = mf_xasprintf("%s/%s", s->dir, name);
    int rc = -1;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            rc = 0;
        else
            snprintf(why, why_len, "cannot open %s: %s", path, strerror(errno));
        goto done;
    }
    char buf[65536];
    for (;;) {
        ssize_t r = read(fd, buf, sizeof buf);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            snprintf(why, why_len, "cannot read %s: %s", path, strerror(errno));
            close(fd);
            goto done;
        }
        if (r == 0)
            break;
        mf_buffer_append(out, buf, (size_t)r);
    }
    close(fd);
    rc = 1;
done:
    free(path);
    return rc;
}
