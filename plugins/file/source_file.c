/*
 * source file — JSON lines from files matching a glob.
 *
 * Finite by default: reads every matching file and ends (MF_EOF). With
 * `follow` it behaves like `tail -F`: keeps reading appended lines, notices
 * rotation (a new file under the same name), truncation and rewriting (the
 * first bytes changed), and picks up new files matching the glob. Each line is
 * validated once here, without a tree (host->json_check, martflow's rule of
 * valid JSON), and emitted flagged valid, so no node downstream checks it
 * again; key_field and time_field are read with one compiled field set. A
 * line that is not valid JSON, or is longer than max_line, is rejected to the
 * errors port with the file, line number and reason, never dropped.
 *
 * Positions (on by default): each poll is one acknowledged batch; a file's
 * position moves over the contiguous acknowledged batches only (watermark.h)
 * and is saved, at most every positions_interval and at stop, to
 * <host data_dir>/positions.json (positions.h). A restart goes on where the
 * acknowledged data ends, for files it recognises by device, inode and the
 * fingerprint of their first bytes; a file that changed identity or is
 * shorter than its position is read from its start.
 */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <martflow/martflow.h>

#include "positions.h"
#include "watermark.h"

#define READ_CHUNK (256u * 1024u)
#define REJECT_SNIPPET 1024u
#define STATE_FILE "positions.json"

struct tracked_file {
    char *path;
    int fd;
    pos_identity id;   /* device, inode, fingerprint of the first bytes */
    bool opened;       /* id and position are known (opened once) */
    bool at_start;     /* matched at start: from_beginning applies if no position is stored */
    bool retired;      /* another file took its path (rotation): read to its end, kept for its acks */
    bool seen;         /* matched by the current scan */
    off_t offset;      /* bytes consumed (up to the last complete line) */
    int64_t line_no;   /* lines consumed */
    bool skipping;     /* discarding the rest of an over-long line */
    wm acked;          /* the acknowledged position */
};

struct ctx {
    /* options */
    const char *path;
    bool follow;
    bool from_beginning;
    const char *key_field;
    const char *time_field;
    int64_t lines_per_poll;
    uint64_t max_line;
    int64_t rescan_ms;
    bool positions;
    int64_t positions_ms;

    /* state */
    mf_node *node;
    const mf_host *host;
    mf_json_fieldset *fields; /* key_field and time_field compiled; NULL: neither is used */
    int key_slot, time_slot;  /* their views in a json_fields read; -1: not used */
    mf_buffer keybuf;         /* a key that is not a string (martflow/fieldpath.h) */
    struct tracked_file **files; /* owned; a file stays while batches refer to it (wm_in_use) */
    size_t n_files;
    size_t current;
    char *buf;             /* read buffer: [start, end) holds unconsumed bytes */
    size_t buf_cap, start, end;
    struct tracked_file *buf_owner; /* the file whose bytes are in buf, or NULL */
    int64_t next_rescan;
    mf_metric *m_lines, *m_invalid, *m_saves;

    /* positions (state_file NULL: off) */
    char *state_file;
    pos_table stored;      /* loaded entries no file has claimed yet */
    wm_batches batches;    /* the current poll's and those not yet acknowledged */
    size_t batch_records;  /* emitted (or rejected) during the current poll */
    bool dirty;            /* a position or identity changed since the last save */
    int64_t next_save;
};

static const mf_option options[] = {
    MF_OPTION(MF_OPT_STRING, "path", NULL, MF_OPT_REQUIRED, struct ctx, path,
              "File or glob pattern of JSON-lines files (matched files are read in name order)"),
    MF_OPTION(MF_OPT_BOOL, "follow", "false", 0, struct ctx, follow,
              "Keep reading appended lines like tail -F (rotation, truncation, new files); never ends"),
    MF_OPTION(MF_OPT_BOOL, "from_beginning", "true", 0, struct ctx, from_beginning,
              "Files found at start with no stored position: read from their first line; false: only "
              "lines appended later"),
    MF_OPTION(MF_OPT_STRING, "key_field", "", 0, struct ctx, key_field,
              "Field path (see Field paths and keys) whose value becomes the record key (empty: no key)"),
    MF_OPTION(MF_OPT_STRING, "time_field", "", 0, struct ctx, time_field,
              "Field path (see Field paths and keys) of the event time (RFC 3339 or epoch ms; empty: none)"),
    MF_OPTION_RANGE(MF_OPT_INT, "lines_per_poll", "512", 0, struct ctx, lines_per_poll, 1, 1e6,
                    "Lines read per poll (one source batch)"),
    MF_OPTION_RANGE(MF_OPT_SIZE, "max_line", "1MiB", 0, struct ctx, max_line, 64, 1e9,
                    "Longest accepted line; longer lines are rejected"),
    MF_OPTION_RANGE(MF_OPT_DURATION, "rescan_interval", "1s", 0, struct ctx, rescan_ms, 10, 36e5,
                    "follow: how often to look for new, rotated or truncated files"),
    MF_OPTION(MF_OPT_BOOL, "positions", "true", 0, struct ctx, positions,
              "Keep each file's acknowledged position in the node's data_dir and resume there on restart"),
    MF_OPTION_RANGE(MF_OPT_DURATION, "positions_interval", "1s", 0, struct ctx, positions_ms, 0, 36e5,
                    "Least time between two writes of the positions file (and at stop); 0: after every "
                    "acknowledgement"),
    MF_OPTION_END,
};

/* ---- the files ------------------------------------------------------------------------ */

static struct tracked_file *find_path(const struct ctx *c, const char *path)
{
    for (size_t i = 0; i < c->n_files; i++)
        if (!c->files[i]->retired && strcmp(c->files[i]->path, path) == 0)
            return c->files[i];
    return NULL;
}

static struct tracked_file *find_inode(const struct ctx *c, uint64_t dev, uint64_t ino)
{
    for (size_t i = 0; i < c->n_files; i++)
        if (c->files[i]->id.dev == dev && c->files[i]->id.ino == ino)
            return c->files[i];
    return NULL;
}

static struct tracked_file *add_file(struct ctx *c, const char *path, const struct stat *st, bool at_start)
{
    struct tracked_file *f = mf_xcalloc(1, sizeof *f);
    c->files = mf_xrealloc(c->files, (c->n_files + 1) * sizeof *c->files);
    c->files[c->n_files++] = f;
    f->path = mf_xstrdup(path);
    f->fd = -1;
    f->id.dev = (uint64_t)st->st_dev; /* until it is opened: what the scan saw */
    f->id.ino = (uint64_t)st->st_ino;
    f->at_start = at_start;
    return f;
}

static void close_file(struct ctx *c, struct tracked_file *f)
{
    if (f->fd >= 0)
        close(f->fd);
    f->fd = -1;
    if (c->buf_owner == f)
        c->buf_owner = NULL;
}

static void free_file(struct ctx *c, struct tracked_file *f)
{
    close_file(c, f);
    wm_free(&f->acked);
    free(f->path);
    free(f);
}

/* A file that was rotated away is no longer read. Once its batches are
 * acknowledged and no scan finds it under another matching name, it is
 * forgotten (and leaves the positions file). */
static void prune_retired(struct ctx *c)
{
    size_t kept = 0;
    for (size_t i = 0; i < c->n_files; i++) {
        struct tracked_file *f = c->files[i];
        if (f->retired && !f->seen && !wm_in_use(&f->acked)) {
            free_file(c, f);
            c->dirty = true;
        } else {
            c->files[kept++] = f;
        }
    }
    if (kept != c->n_files)
        c->current = 0; /* indexes moved */
    c->n_files = kept;
}

/* Find files matching the glob; returns how many are new. A file known by its
 * inode under another name (a rotated file renamed into the glob) is the
 * same file: a retired one is read again under its new name, from where it
 * was. */
static size_t scan(struct ctx *c, bool at_start)
{
    glob_t g;
    size_t added = 0;
    for (size_t i = 0; i < c->n_files; i++)
        c->files[i]->seen = false;
    if (glob(c->path, 0, NULL, &g) == 0) {
        for (size_t i = 0; i < g.gl_pathc; i++) {
            const char *path = g.gl_pathv[i];
            struct stat st;
            if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
                continue;
            struct tracked_file *f = find_path(c, path);
            if (!f && (f = find_inode(c, (uint64_t)st.st_dev, (uint64_t)st.st_ino)) && f->retired) {
                c->host->log(c->node, MF_LOG_INFO, "%s is %s, renamed: following it again", path, f->path);
                free(f->path);
                f->path = mf_xstrdup(path);
                f->retired = false;
            }
            if (!f) {
                f = add_file(c, path, &st, at_start);
                added++;
            }
            f->seen = true;
        }
        globfree(&g);
    }
    if (!at_start)
        prune_retired(c);
    return added;
}

/* ---- positions ------------------------------------------------------------------------- */

/* A stored entry still matters if a matched file has its inode, or has its
 * path (then that file replaced it: see place). The rest is dropped. */
static void prune_stored(struct ctx *c)
{
    for (size_t i = c->stored.count; i-- > 0;) {
        const pos_entry *e = &c->stored.items[i];
        if (!find_inode(c, e->id.dev, e->id.ino) && !find_path(c, e->path))
            pos_table_remove(&c->stored, i);
    }
}

/* Where a file opened for the first time starts: its stored position when it
 * is the same file (identity) and not shorter; from its start when it took
 * the place of a file read before (replaced or rewritten); else as
 * from_beginning says for files found at start, and from the start for files
 * that appear later (all of them is new data). */
static void place(struct ctx *c, struct tracked_file *f, off_t size)
{
    f->offset = 0;
    f->line_no = 0;
    ssize_t k = pos_table_find(&c->stored, f->fd, &f->id);
    if (k >= 0) {
        const pos_entry *e = &c->stored.items[k];
        if (e->offset <= (int64_t)size) {
            f->offset = (off_t)e->offset;
            f->line_no = e->line;
        } else {
            c->host->log(c->node, MF_LOG_INFO, "%s is shorter than its stored position (truncated): reading it "
                         "from the start", f->path);
        }
        pos_table_remove(&c->stored, (size_t)k);
        wm_init(&f->acked, f->offset, f->line_no);
        return;
    }
    pos_verify(f->fd, &f->id); /* a new fingerprint */
    bool replaced = false;
    for (size_t i = c->stored.count; i-- > 0;) {
        const pos_entry *e = &c->stored.items[i];
        bool same_inode = e->id.dev == f->id.dev && e->id.ino == f->id.ino;
        bool same_path = strcmp(e->path, f->path) == 0 && !find_inode(c, e->id.dev, e->id.ino);
        if (same_inode || same_path) {
            pos_table_remove(&c->stored, i);
            replaced = true;
        }
    }
    if (replaced)
        c->host->log(c->node, MF_LOG_INFO, "%s was replaced or rewritten since it was read: reading it from the start",
                     f->path);
    else if (f->at_start && !c->from_beginning)
        f->offset = size; /* start at the end */
    wm_init(&f->acked, f->offset, f->line_no);
}

/* Read the file again from its start: it was truncated or rewritten. What
 * was read of the old content and is still in flight no longer moves the
 * position. */
static void restart(struct ctx *c, struct tracked_file *f, const char *why)
{
    c->host->log(c->node, MF_LOG_INFO, "%s %s: reading it from the start", f->path, why);
    f->offset = 0;
    f->line_no = 0;
    f->skipping = false;
    f->id.fp_len = 0;
    f->id.fp_hash = 0;
    pos_verify(f->fd, &f->id);
    wm_reset(&f->acked, 0, 0);
    if (c->buf_owner == f)
        c->start = c->end = 0;
    lseek(f->fd, 0, SEEK_SET);
    c->dirty = true;
}

static bool open_file(struct ctx *c, struct tracked_file *f)
{
    f->fd = open(f->path, O_RDONLY | O_CLOEXEC);
    if (f->fd < 0) {
        c->host->log(c->node, MF_LOG_WARN, "cannot open %s: %s", f->path, strerror(errno));
        return false;
    }
    struct stat st;
    fstat(f->fd, &st);
    bool same = (uint64_t)st.st_dev == f->id.dev && (uint64_t)st.st_ino == f->id.ino;
    if (f->opened) {
        /* renamed back into the glob: the same file, unless it changed meanwhile */
        if (!same || st.st_size < f->offset || !pos_verify(f->fd, &f->id)) {
            f->id.dev = (uint64_t)st.st_dev;
            f->id.ino = (uint64_t)st.st_ino;
            restart(c, f, "changed while it was not followed");
        }
        return true;
    }
    f->id = (pos_identity){.dev = (uint64_t)st.st_dev, .ino = (uint64_t)st.st_ino};
    place(c, f, st.st_size);
    f->opened = true;
    c->dirty = true;
    return true;
}

/* Write the positions file: every file opened so far at its acknowledged
 * position, and the stored entries no file has claimed yet. */
static void save_positions(struct ctx *c, bool force)
{
    if (!c->state_file || !c->dirty)
        return;
    int64_t now = c->host->monotonic_ms();
    if (!force && now < c->next_save)
        return;
    c->next_save = now + c->positions_ms;
    pos_table t = {0};
    for (size_t i = 0; i < c->n_files; i++) {
        const struct tracked_file *f = c->files[i];
        if (f->opened)
            pos_table_add(&t, f->path, &f->id, f->acked.offset, f->acked.line);
    }
    for (size_t i = 0; i < c->stored.count; i++) {
        const pos_entry *e = &c->stored.items[i];
        pos_table_add(&t, e->path, &e->id, e->offset, e->line);
    }
    char err[512];
    if (pos_save(c->state_file, &t, err, sizeof err)) {
        c->dirty = false;
        c->host->metric_add(c->m_saves, 1);
    } else {
        c->host->log(c->node, MF_LOG_WARN, "cannot save read positions (a restart replays more): %s", err);
    }
    pos_table_free(&t);
}

static int open_positions(struct ctx *c)
{
    const mf_host *h = c->host;
    if (h->abi_minor < 1 || !MF_HOST_HAS(h, data_dir)) {
        h->log(c->node, MF_LOG_WARN, "the engine has no data_dir (ABI 1.0): read positions are not kept, a restart "
               "reads every file again");
        return MF_OK;
    }
    const char *why = NULL;
    const char *dir = h->data_dir(c->node, &why);
    if (!dir) {
        h->log(c->node, MF_LOG_WARN, "read positions are not kept, a restart reads every file again: %s",
               why ? why : "no data directory");
        return MF_OK;
    }
    c->state_file = mf_xasprintf("%s/%s", dir, STATE_FILE);
    char err[512];
    if (!pos_load(c->state_file, &c->stored, err, sizeof err)) {
        h->log(c->node, MF_LOG_ERROR, "cannot read the positions file: %s (remove it to read every file again, "
               "or set positions: false)", err);
        return MF_FATAL;
    }
    prune_stored(c);
    return MF_OK;
}

/* ---- poll batches ---------------------------------------------------------------------- */

/* The current poll consumed some of f. */
static void touch(struct ctx *c, struct tracked_file *f)
{
    wm_batch_note(&c->batches, &f->acked, f->offset, f->line_no);
}

static void ack_cb(void *vctx, void *cookie)
{
    struct ctx *c = vctx;
    if (!cookie)
        return;
    if (wm_batch_done(&c->batches, cookie))
        c->dirty = true;
    save_positions(c, false);
}

/* ---- reading ----------------------------------------------------------------------------- */

/* Make buf hold f's unread bytes: a file read earlier with a partial line in
 * buf is re-read from its last complete line. */
static void own_buffer(struct ctx *c, struct tracked_file *f)
{
    if (c->buf_owner == f)
        return;
    lseek(f->fd, f->offset, SEEK_SET);
    c->start = c->end = 0;
    c->buf_owner = f;
}

/* The host reads JSON without a tree from ABI 1.2 on (plugins built here
 * always run on this engine: no jansson path is kept for an older one). */
static bool host_reads_json(const mf_host *h)
{
    return h->abi_minor >= 2 && MF_HOST_HAS(h, json_check) && MF_HOST_HAS(h, fieldset_new) &&
           MF_HOST_HAS(h, fieldset_free) && MF_HOST_HAS(h, json_fields);
}

/* key_field and time_field (those set) as one field set. validate(), which
 * `check` and `run` call first, has reported a bad path at its place; this
 * names it again for a caller that skips validate (a test harness). */
static bool compile_fields(struct ctx *c)
{
    const char *paths[2];
    size_t n = 0;
    c->key_slot = c->time_slot = -1;
    if (*c->key_field) {
        c->key_slot = (int)n;
        paths[n++] = c->key_field;
    }
    if (*c->time_field) {
        c->time_slot = (int)n;
        paths[n++] = c->time_field;
    }
    if (n == 0)
        return true;
    const char *err = NULL;
    c->fields = c->host->fieldset_new(c->node, paths, n, &err);
    if (!c->fields)
        c->host->log(c->node, MF_LOG_ERROR, "option 'key_field' or 'time_field': %s", err ? err : "invalid");
    return c->fields != NULL;
}

static void validate(const json_t *config, mf_check *check)
{
    mf_fieldpath_check(config, "key_field", check);
    mf_fieldpath_check(config, "time_field", check);
}

static int init(void *vctx, mf_node *node, const mf_host *host)
{
    struct ctx *c = vctx;
    c->node = node;
    c->host = host;
    if (!host_reads_json(host)) {
        host->log(node, MF_LOG_ERROR, "this file source needs an engine with plugin ABI 1.%d or later (JSON "
                  "without a tree); the engine has %u.%u", MF_ABI_MINOR, (unsigned)host->abi_major,
                  (unsigned)host->abi_minor);
        return MF_FATAL;
    }
    if (!compile_fields(c))
        return MF_FATAL;
    c->buf_cap = READ_CHUNK + (size_t)c->max_line;
    c->buf = malloc(c->buf_cap);
    if (!c->buf)
        return MF_FATAL;
    c->m_lines = host->counter(node, "martflow_file_lines_total", NULL, "Lines read");
    c->m_invalid = host->counter(node, "martflow_file_invalid_lines_total", NULL, "Lines rejected (not JSON, too long)");
    c->m_saves = host->counter(node, "martflow_file_position_saves_total", NULL, "Writes of the positions file");
    scan(c, true);
    if (c->n_files == 0 && !c->follow) {
        host->log(node, MF_LOG_ERROR, "no file matches '%s'", c->path);
        return MF_FATAL;
    }
    if (c->n_files == 0)
        host->log(node, MF_LOG_WARN, "no file matches '%s' yet; waiting for one", c->path);
    if (c->positions && open_positions(c) != MF_OK)
        return MF_FATAL;
    c->next_rescan = host->monotonic_ms() + c->rescan_ms;
    c->next_save = host->monotonic_ms() + c->positions_ms;
    return MF_OK;
}

/* The key bytes are the line's or keybuf's: valid until the next line. */
static void set_key(struct ctx *c, mf_record *r, const mf_json_view *v)
{
    const uint8_t *key;
    size_t len;
    if (mf_json_view_key(v, &c->keybuf, &key, &len)) {
        r->key = key;
        r->key_len = (uint32_t)len;
        r->flags &= ~MF_RECORD_KEY_NULL;
    }
}

/* An integer is epoch ms; a string RFC 3339 or epoch ms as text. */
static void set_time(mf_record *r, const mf_json_view *v)
{
    if (v->type == MF_JSON_INT) {
        r->time_ms = v->integer;
        return;
    }
    if (v->type != MF_JSON_STRING)
        return;
    char stack[64]; /* a view is not NUL-terminated; times are short */
    char *text = v->len < sizeof stack ? stack : mf_xmalloc(v->len + 1);
    memcpy(text, v->str, v->len);
    text[v->len] = '\0';
    int64_t ms;
    if (mf_parse_time_ms(text, &ms))
        r->time_ms = ms;
    if (text != stack)
        free(text);
}

/* One complete line: validate, read its key and time, emit or reject. */
static void handle_line(struct ctx *c, struct tracked_file *f, const char *line, size_t len, off_t at)
{
    f->line_no++;
    while (len && (line[len - 1] == '\r' || line[len - 1] == ' ' || line[len - 1] == '\t'))
        len--;
    size_t lead = 0;
    while (lead < len && (line[lead] == ' ' || line[lead] == '\t'))
        lead++;
    if (lead == len)
        return; /* blank line */
    c->host->metric_add(c->m_lines, 1);
    mf_record r = {.flags = MF_RECORD_KEY_NULL, .value = (const uint8_t *)line, .value_len = (uint32_t)len,
                   .time_ms = MF_TIME_UNSET,
                   .origin = {.topic = f->path, .partition = -1, .offset = (int64_t)at}};
    const char *err = NULL;
    mf_json_view v[2];
    /* json_check flags r valid; emit carries the flag with the bytes */
    if (c->host->json_check(c->node, &r, &err) != MF_OK ||
        (c->fields && c->host->json_fields(c->node, &r, c->fields, v, &err) != MF_OK)) {
        c->host->metric_add(c->m_invalid, 1);
        c->batch_records++;
        c->host->reject(c->node, &r, "%s line %lld: %s", f->path, (long long)f->line_no,
                        err ? err : "invalid JSON");
        return;
    }
    if (c->key_slot >= 0)
        set_key(c, &r, &v[c->key_slot]);
    if (c->time_slot >= 0)
        set_time(&r, &v[c->time_slot]);
    c->batch_records++;
    c->host->emit(c->node, MF_PORT_DEFAULT, &r, NULL);
}

static void reject_long_line(struct ctx *c, struct tracked_file *f, off_t at, size_t have)
{
    f->line_no++;
    c->host->metric_add(c->m_invalid, 1);
    c->batch_records++;
    mf_record r = {.flags = MF_RECORD_KEY_NULL, .value = (const uint8_t *)c->buf + c->start,
                   .value_len = (uint32_t)(have < REJECT_SNIPPET ? have : REJECT_SNIPPET), .time_ms = MF_TIME_UNSET,
                   .origin = {.topic = f->path, .partition = -1, .offset = (int64_t)at}};
    c->host->reject(c->node, &r, "%s line %lld: longer than max_line (%llu bytes); only its start is kept",
                    f->path, (long long)f->line_no, (unsigned long long)c->max_line);
}

/* follow: after data was read, or at the end of the file — is it still the
 * file whose start we fingerprinted, at least as long as what we consumed?
 * A truncated file, or one truncated and written again (even larger than
 * before, in one step), fails this. The race no tailer can close: rewritten
 * with the same first bytes and at least as long, between two checks. */
static bool unchanged(struct tracked_file *f)
{
    struct stat st;
    if (fstat(f->fd, &st) != 0 || st.st_size < f->offset)
        return false;
    return pos_verify(f->fd, &f->id);
}

/* Read lines from f until `budget` lines were handled or nothing more is
 * available now. Returns lines handled; *eof when the file has no more data. */
static int64_t read_lines(struct ctx *c, struct tracked_file *f, int64_t budget, bool *eof)
{
    int64_t handled = 0;
    *eof = false;
    while (handled < budget) {
        char *nl = memchr(c->buf + c->start, '\n', c->end - c->start);
        if (nl) {
            size_t len = (size_t)(nl - (c->buf + c->start));
            off_t at = f->offset;
            if (f->skipping)
                f->skipping = false; /* tail of an over-long line, already rejected */
            else if (len > c->max_line)
                reject_long_line(c, f, at, len);
            else
                handle_line(c, f, c->buf + c->start, len, at);
            c->start += len + 1;
            f->offset += (off_t)(len + 1);
            handled++;
            continue;
        }
        size_t pending = c->end - c->start;
        if (pending > c->max_line && !f->skipping) {
            reject_long_line(c, f, f->offset, pending);
            f->skipping = true;
            handled++;
        }
        if (f->skipping) {
            f->offset += (off_t)pending;
            c->start = c->end = 0;
            pending = 0;
        }
        if (c->start > 0) {
            memmove(c->buf, c->buf + c->start, pending);
            c->start = 0;
            c->end = pending;
        }
        ssize_t n = read(f->fd, c->buf + c->end, c->buf_cap - c->end);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            c->host->log(c->node, MF_LOG_ERROR, "reading %s: %s", f->path, strerror(errno));
            *eof = true;
            return handled;
        }
        if (n == 0) {
            *eof = true;
            return handled;
        }
        c->end += (size_t)n;
        /* Checked after the read: bytes read before a rewrite are old
         * content; a rewrite before the read shows in the first bytes. */
        if (c->follow && !unchanged(f))
            restart(c, f, "was truncated or rewritten");
    }
    return handled;
}

static int poll_finite(struct ctx *c)
{
    int64_t budget = c->lines_per_poll;
    while (budget > 0 && c->current < c->n_files) {
        struct tracked_file *f = c->files[c->current];
        if (f->fd < 0 && !open_file(c, f)) {
            c->current++;
            continue;
        }
        own_buffer(c, f);
        off_t before = f->offset;
        bool eof;
        budget -= read_lines(c, f, budget, &eof);
        if (eof) {
            /* A last line without a newline is still a line. */
            if (c->end > c->start && !f->skipping) {
                handle_line(c, f, c->buf + c->start, c->end - c->start, f->offset);
                f->offset += (off_t)(c->end - c->start);
            }
            close_file(c, f);
            c->current++;
        }
        if (f->offset != before)
            touch(c, f);
    }
    return c->current >= c->n_files ? MF_EOF : MF_OK;
}

/* follow: has another file taken f's path (rotation)? */
static bool replaced(const struct tracked_file *f)
{
    struct stat st;
    if (stat(f->path, &st) != 0)
        return false; /* gone for now: keep the old descriptor until a new file appears */
    return (uint64_t)st.st_ino != f->id.ino || (uint64_t)st.st_dev != f->id.dev;
}

/* The old file is read to its end; it stays tracked (for its acknowledgements
 * and under a new name if a scan finds it), the new one starts at 0. */
static void rotate(struct ctx *c, struct tracked_file *f)
{
    c->host->log(c->node, MF_LOG_INFO, "%s was rotated: reading the new file from its start", f->path);
    close_file(c, f);
    f->retired = true;
    struct stat st;
    if (stat(f->path, &st) == 0)
        add_file(c, f->path, &st, false);
    c->dirty = true;
}

static int poll_follow(struct ctx *c, int timeout_ms)
{
    int64_t now = c->host->monotonic_ms();
    if (now >= c->next_rescan) {
        c->next_rescan = now + c->rescan_ms;
        scan(c, false);
    }
    int64_t budget = c->lines_per_poll;
    bool any = false;
    size_t n = c->n_files; /* a rotation adds a file: read it next time */
    for (size_t k = 0; k < n && budget > 0; k++) {
        size_t i = (c->current + k) % n;
        struct tracked_file *f = c->files[i];
        if (f->retired || (f->fd < 0 && !open_file(c, f)))
            continue;
        own_buffer(c, f);
        off_t before = f->offset;
        bool eof;
        int64_t got = read_lines(c, f, budget, &eof);
        budget -= got;
        any |= got > 0;
        if (f->offset != before)
            touch(c, f);
        if (!eof) {
            c->current = i; /* budget spent: continue here next time */
            break;
        }
        if (replaced(f))
            rotate(c, f);
        else if (!unchanged(f))
            restart(c, f, "was truncated or rewritten");
    }
    if (!any) {
        int64_t wait = timeout_ms < 50 ? timeout_ms : 50;
        if (wait > 0)
            usleep((useconds_t)wait * 1000u);
    }
    return MF_OK;
}

/* Each poll is one batch (when positions are kept): its cookie comes back in
 * ack_cb once all it emitted is handled. */
static int poll_cb(void *vctx, int timeout_ms)
{
    struct ctx *c = vctx;
    if (c->state_file) {
        c->batch_records = 0;
        c->host->source_cookie(c->node, wm_batch_open(&c->batches));
    }
    int st = c->follow ? poll_follow(c, timeout_ms) : poll_finite(c);
    if (wm_batch_close(&c->batches, c->batch_records > 0))
        c->dirty = true;
    save_positions(c, false);
    return st;
}

/* ---- checkpoints ------------------------------------------------------------------------ */

/* The position at the barrier: every file up to what it emitted (not what
 * was acknowledged), and the stored entries no file has claimed yet. */
static int snapshot_cb(void *vctx, uint64_t checkpoint_id, mf_buffer *out)
{
    struct ctx *c = vctx;
    (void)checkpoint_id;
    pos_table t = {0};
    for (size_t i = 0; i < c->n_files; i++) {
        const struct tracked_file *f = c->files[i];
        if (f->opened)
            pos_table_add(&t, f->path, &f->id, (int64_t)f->offset, f->line_no);
    }
    for (size_t i = 0; i < c->stored.count; i++) {
        const pos_entry *e = &c->stored.items[i];
        pos_table_add(&t, e->path, &e->id, e->offset, e->line);
    }
    char *text = pos_encode(&t);
    c->host->buffer_append(out, text, strlen(text));
    free(text);
    pos_table_free(&t);
    return MF_OK;
}

/* Before the first poll: the checkpoint's positions replace those of the
 * positions file (which the acknowledged data moved, maybe past the
 * checkpoint's state). */
static int restore_cb(void *vctx, const uint8_t *data, size_t len)
{
    struct ctx *c = vctx;
    pos_table t = {0};
    if (!pos_decode(data, len, &t)) {
        pos_table_free(&t);
        c->host->log(c->node, MF_LOG_ERROR, "the read positions in the checkpoint are malformed");
        return MF_FATAL;
    }
    pos_table_free(&c->stored);
    c->stored = t;
    c->dirty = true;
    return MF_OK;
}

static int stop_cb(void *vctx, int64_t deadline_ms)
{
    struct ctx *c = vctx;
    (void)deadline_ms;
    save_positions(c, true);
    return MF_OK;
}

static void free_cb(void *vctx)
{
    struct ctx *c = vctx;
    wm_batches_free(&c->batches); /* never acknowledged: read again next run */
    for (size_t i = 0; i < c->n_files; i++)
        free_file(c, c->files[i]);
    free(c->files);
    free(c->buf);
    free(c->state_file);
    pos_table_free(&c->stored);
    if (c->fields)
        c->host->fieldset_free(c->node, c->fields);
    mf_buffer_free(&c->keybuf);
}

MF_PLUGIN_DEFINE = {
    MF_PLUGIN_HEADER,
    .kind = MF_KIND_SOURCE,
    .name = "file",
    .version = "1.2.0",
    .description = "Read JSON lines from files (a glob); finite, or follow like tail -F; resumes where it was",
    .options = options,
    .ctx_size = sizeof(struct ctx),
    .init = init,
    .validate = validate,
    .free = free_cb,
    .stop = stop_cb,
    .poll = poll_cb,
    .ack = ack_cb,
    .snapshot = snapshot_cb,
    .restore = restore_cb,
};
