/* objstore_file.c — the file:///DIR backend of martflow/objstore.h. An object
 * is the file DIR/KEY. A put is staged in DIR/.mf-tmp/, fsync'd, renamed over
 * DIR/KEY and the directory fsync'd: a reader (or a crash) sees the old
 * object or the new one, never part of one, and the staging directory is
 * never listed. */
#include "build_config.h" /* _GNU_SOURCE: mkostemp */

#include "objstore_impl.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

#define TMP_DIR ".mf-tmp"

struct file_store {
    char *dir;
    const char *url; /* the front end's, for messages */
};

struct file_writer {
    int fd;
    char *tmp_path; /* staging file, removed unless committed */
    char *key;
};

/* Transient errno values: the disk may have room or answer later. */
static int errno_status(int err)
{
    switch (err) {
    case ENOSPC: case EDQUOT: case EIO: case EAGAIN: case EINTR:
    case ESTALE: case EMFILE: case ENFILE: case ENOMEM: case ETIMEDOUT:
        return MF_OBJ_RETRY;
    default:
        return MF_OBJ_FATAL;
    }
}

static int fail_errno(struct file_store *fs, const char *key, const char *what, char **error)
{
    int err = errno;
    mf_obj_error(error, "%s: %s %s: %s", fs->url, what, key, strerror(err));
    return errno_status(err);
}

/* mkdir -p of path's parents (path itself excluded when leaf_is_file). */
static int make_dirs(char *path, bool leaf_is_file)
{
    size_t n = strlen(path);
    for (size_t i = 1; i <= n; i++) {
        if (path[i] != '/' && path[i] != '\0')
            continue;
        if (path[i] == '\0' && leaf_is_file)
            break;
        char c = path[i];
        path[i] = '\0';
        int rc = mkdir(path, 0777);
        int err = errno;
        path[i] = c;
        if (rc != 0 && err != EEXIST) {
            errno = err;
            return -1;
        }
    }
    return 0;
}

static int fsync_dir(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    int err = errno;
    close(fd);
    errno = err;
    return rc;
}

void *mf_objstore_file_open(const char *dir, const char *url, char **error)
{
    char *d = mf_xstrdup(dir);
    if (make_dirs(d, false) != 0) {
        mf_obj_error(error, "%s: cannot create the directory: %s", url, strerror(errno));
        free(d);
        return NULL;
    }
    struct stat st;
    if (stat(d, &st) != 0 || !S_ISDIR(st.st_mode)) {
        mf_obj_error(error, "%s: not a directory", url);
        free(d);
        return NULL;
    }
    struct file_store *fs = mf_xcalloc(1, sizeof(*fs));
    fs->dir = d;
    fs->url = url;
    return fs;
}

static void file_close(void *impl)
{
    struct file_store *fs = impl;
    free(fs->dir);
    free(fs);
}

static int file_writer_open(void *impl, const char *key, void **wimpl, char **error)
{
    struct file_store *fs = impl;
    char *tmpdir = mf_xasprintf("%s/" TMP_DIR, fs->dir);
    char *tmp = mf_xasprintf("%s/put-XXXXXX", tmpdir);
    int fd = -1;
    if (mkdir(tmpdir, 0777) != 0 && errno != EEXIST) {
        int rc = fail_errno(fs, key, "cannot create the staging directory for", error);
        free(tmpdir);
        free(tmp);
        return rc;
    }
    free(tmpdir);
    fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        int rc = fail_errno(fs, key, "cannot create a staging file for", error);
        free(tmp);
        return rc;
    }
    struct file_writer *w = mf_xcalloc(1, sizeof(*w));
    w->fd = fd;
    w->tmp_path = tmp;
    w->key = mf_xstrdup(key);
    *wimpl = w;
    return MF_OBJ_OK;
}

static int file_writer_write(void *impl, void *wimpl, const void *data, size_t len, char **error)
{
    struct file_writer *w = wimpl;
    const char *p = data;
    while (len > 0) {
        ssize_t n = write(w->fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return fail_errno(impl, w->key, "cannot write", error);
        }
        p += n;
        len -= (size_t)n;
    }
    return MF_OBJ_OK;
}

static int file_writer_commit(void *impl, void *wimpl, char **error)
{
    struct file_store *fs = impl;
    struct file_writer *w = wimpl;
    int rc = MF_OBJ_OK;
    char *path = mf_xasprintf("%s/%s", fs->dir, w->key);
    if (fsync(w->fd) != 0) {
        rc = fail_errno(fs, w->key, "cannot fsync", error);
        goto done;
    }
    if (close(w->fd) != 0) {
        w->fd = -1;
        rc = fail_errno(fs, w->key, "cannot close", error);
        goto done;
    }
    w->fd = -1;
    if (make_dirs(path, true) != 0) {
        rc = fail_errno(fs, w->key, "cannot create the directories of", error);
        goto done;
    }
    if (rename(w->tmp_path, path) != 0) {
        rc = fail_errno(fs, w->key, "cannot rename the staging file to", error);
        goto done;
    }
    free(w->tmp_path);
    w->tmp_path = NULL; /* it is the object now */
    char *slash = strrchr(path, '/');
    *slash = '\0';
    if (fsync_dir(path) != 0)
        rc = fail_errno(fs, w->key, "cannot fsync the directory of", error);
done:
    free(path);
    return rc;
}

static void file_writer_free(void *impl, void *wimpl)
{
    struct file_writer *w = wimpl;
    if (!w)
        return;
    if (w->fd >= 0)
        close(w->fd);
    if (w->tmp_path)
        unlink(w->tmp_path);
    free(w->tmp_path);
    free(w->key);
    free(w);
}

/* A key names an object only when it is a regular file (not a directory
 * another key made). */
static int open_object(struct file_store *fs, const char *key, struct stat *st, char **error)
{
    char *path = mf_xasprintf("%s/%s", fs->dir, key);
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    free(path);
    if (fd < 0) {
        if (errno == ENOENT || errno == ENOTDIR) {
            mf_obj_error(error, "%s: no object %s", fs->url, key);
            return -MF_OBJ_NOT_FOUND;
        }
        return -fail_errno(fs, key, "cannot open", error);
    }
    if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode)) {
        close(fd);
        mf_obj_error(error, "%s: no object %s", fs->url, key);
        return -MF_OBJ_NOT_FOUND;
    }
    return fd;
}

static int file_get_range(void *impl, const char *key, uint64_t offset, size_t length, void **data, size_t *len,
                          char **error)
{
    struct file_store *fs = impl;
    struct stat st;
    int fd = open_object(fs, key, &st, error);
    if (fd < 0)
        return -fd;
    uint64_t size = (uint64_t)st.st_size;
    size_t n = 0;
    if (offset < size)
        n = (size - offset) < length ? (size_t)(size - offset) : length;
    char *buf = mf_xmalloc(n + 1);
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(fd, buf + got, n - got, (off_t)(offset + got));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int rc = fail_errno(fs, key, "cannot read", error);
            close(fd);
            free(buf);
            return rc;
        }
        if (r == 0)
            break; /* truncated under us: what is there */
        got += (size_t)r;
    }
    close(fd);
    buf[got] = '\0';
    *data = buf;
    *len = got;
    return MF_OBJ_OK;
}

static int file_head(void *impl, const char *key, struct mf_objstore_info *info, char **error)
{
    struct stat st;
    int fd = open_object(impl, key, &st, error);
    if (fd < 0)
        return -fd;
    close(fd);
    info->size = (uint64_t)st.st_size;
    info->mtime_ms = (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
    info->etag = NULL;
    return MF_OBJ_OK;
}

static int file_del(void *impl, const char *key, char **error)
{
    struct file_store *fs = impl;
    char *path = mf_xasprintf("%s/%s", fs->dir, key);
    int rc = MF_OBJ_OK;
    struct stat st;
    if (lstat(path, &st) != 0 || S_ISDIR(st.st_mode))
        goto done; /* absent (or only a "directory" of other keys) */
    if (unlink(path) != 0 && errno != ENOENT) {
        rc = fail_errno(fs, key, "cannot remove", error);
        goto done;
    }
    /* drop the directories the key made, up to DIR: an empty one is no object */
    size_t root = strlen(fs->dir);
    for (char *slash = strrchr(path, '/'); slash && (size_t)(slash - path) > root; slash = strrchr(path, '/')) {
        *slash = '\0';
        if (rmdir(path) != 0)
            break;
    }
done:
    free(path);
    return rc;
}

/* ---- listing: walk the tree, sort, report ---------------------------------- */

struct entry {
    char *key;
    uint64_t size;
    int64_t mtime_ms;
};

struct walk {
    struct file_store *fs;
    const char *prefix;
    size_t prefix_len;
    struct entry *items;
    size_t n, cap;
};

/* Can keys under the directory rel/ match the prefix? */
static bool dir_may_match(const struct walk *wk, const char *rel, size_t rel_len)
{
    size_t n = rel_len < wk->prefix_len ? rel_len : wk->prefix_len;
    return memcmp(rel, wk->prefix, n) == 0;
}

static int walk_dir(struct walk *wk, const char *rel, char **error)
{
    char *path = *rel ? mf_xasprintf("%s/%s", wk->fs->dir, rel) : mf_xstrdup(wk->fs->dir);
    DIR *d = opendir(path);
    int rc = MF_OBJ_OK;
    if (!d) {
        if (errno != ENOENT && errno != ENOTDIR)
            rc = fail_errno(wk->fs, *rel ? rel : "/", "cannot list", error);
        free(path);
        return rc;
    }
    struct dirent *de;
    while (rc == MF_OBJ_OK && (errno = 0, de = readdir(d)) != NULL) {
        const char *name = de->d_name;
        if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
            continue;
        if (!*rel && strcmp(name, TMP_DIR) == 0)
            continue;
        char *child = *rel ? mf_xasprintf("%s/%s", rel, name) : mf_xstrdup(name);
        char *cpath = mf_xasprintf("%s/%s", wk->fs->dir, child);
        struct stat st;
        if (stat(cpath, &st) != 0) {
            if (errno != ENOENT)
                rc = fail_errno(wk->fs, child, "cannot stat", error);
        } else if (S_ISDIR(st.st_mode)) {
            size_t cl = strlen(child);
            char *cslash = mf_xasprintf("%s/", child);
            if (dir_may_match(wk, cslash, cl + 1))
                rc = walk_dir(wk, child, error);
            free(cslash);
        } else if (S_ISREG(st.st_mode) && strncmp(child, wk->prefix, wk->prefix_len) == 0) {
            if (wk->n == wk->cap) {
                wk->cap = wk->cap ? wk->cap * 2 : 64;
                wk->items = mf_xrealloc(wk->items, wk->cap * sizeof(*wk->items));
            }
            wk->items[wk->n++] = (struct entry){
                .key = child,
                .size = (uint64_t)st.st_size,
                .mtime_ms = (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000,
            };
            child = NULL;
        }
        free(cpath);
        free(child);
    }
    if (rc == MF_OBJ_OK && errno != 0)
        rc = fail_errno(wk->fs, *rel ? rel : "/", "cannot list", error);
    closedir(d);
    free(path);
    return rc;
}

static int entry_cmp(const void *a, const void *b)
{
    /* strcmp compares as unsigned char: UTF-8 byte order, as S3 lists */
    return strcmp(((const struct entry *)a)->key, ((const struct entry *)b)->key);
}

static int file_list(void *impl, const char *prefix, mf_objstore_list_fn fn, void *arg, char **error)
{
    struct walk wk = {.fs = impl, .prefix = prefix, .prefix_len = strlen(prefix)};
    int rc = walk_dir(&wk, "", error);
    if (rc == MF_OBJ_OK) {
        if (wk.n) /* qsort(NULL, 0, ...) is undefined */
            qsort(wk.items, wk.n, sizeof(*wk.items), entry_cmp);
        for (size_t i = 0; i < wk.n; i++) {
            struct mf_objstore_info info = {
                .key = wk.items[i].key, .size = wk.items[i].size, .mtime_ms = wk.items[i].mtime_ms};
            if (fn(arg, &info) != 0)
                break;
        }
    }
    for (size_t i = 0; i < wk.n; i++)
        free(wk.items[i].key);
    free(wk.items);
    return rc;
}

const struct mf_objstore_backend mf_objstore_file_backend = {
    .scheme = "file",
    .close = file_close,
    .writer_open = file_writer_open,
    .writer_write = file_writer_write,
    .writer_commit = file_writer_commit,
    .writer_free = file_writer_free,
    .put = NULL,
    .get_range = file_get_range,
    .head = file_head,
    .del = file_del,
    .list = file_list,
};
