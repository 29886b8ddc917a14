/*
 * source file — JSON lines from files matching a glob.
 *
 * Finite by default: reads every matching file from the start and ends
 * (MF_EOF). With `follow` it behaves like `tail -F`: keeps reading appended
 * lines, notices rotation (a new file under the same name) and truncation, and
 * picks up new files matching the glob. Each line is parsed once here; a line
 * that is not JSON, or is longer than max_line, is rejected to the errors port
 * with the file and line number, never dropped.
 */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <martflow/martflow.h>

#define READ_CHUNK (256u * 1024u)
#define REJECT_SNIPPET 1024u

struct tracked_file {
    char *path;
    int fd;
    dev_t dev;
    ino_t ino;
    off_t offset;      /* bytes consumed (up to the last complete line) */
    int64_t line_no;   /* lines consumed */
    bool skipping;     /* discarding the rest of an over-long line */
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

    /* state */
    mf_node *node;
    const mf_host *host;
    struct tracked_file *files;
    size_t n_files;
    size_t current;
    char *buf;             /* read buffer: [start, end) holds unconsumed bytes */
    size_t buf_cap, start, end;
    ssize_t buf_owner;     /* index of the file whose bytes are in buf, or -1 */
    int64_t next_rescan;
    mf_metric *m_lines, *m_invalid;
};

static const mf_option options[] = {
    MF_OPTION(MF_OPT_STRING, "path", NULL, MF_OPT_REQUIRED, struct ctx, path,
              "File or glob pattern of JSON-lines files (matched files are read in name order)"),
    MF_OPTION(MF_OPT_BOOL, "follow", "false", 0, struct ctx, follow,
              "Keep reading appended lines like tail -F (rotation, truncation, new files); never ends"),
    MF_OPTION(MF_OPT_BOOL, "from_beginning", "true", 0, struct ctx, from_beginning,
              "Read files that exist at start from their first line; false: only lines appended later"),
    MF_OPTION(MF_OPT_STRING, "key_field", "", 0, struct ctx, key_field,
              "Top-level field whose value becomes the record key (empty: no key)"),
    MF_OPTION(MF_OPT_STRING, "time_field", "", 0, struct ctx, time_field,
              "Top-level field with the event time (RFC 3339 or epoch ms; empty: none)"),
    MF_OPTION_RANGE(MF_OPT_INT, "lines_per_poll", "512", 0, struct ctx, lines_per_poll, 1, 1e6,
                    "Lines read per poll (one source batch)"),
    MF_OPTION_RANGE(MF_OPT_SIZE, "max_line", "1MiB", 0, struct ctx, max_line, 64, 1e9,
                    "Longest accepted line; longer lines are rejected"),
    MF_OPTION_RANGE(MF_OPT_DURATION, "rescan_interval", "1s", 0, struct ctx, rescan_ms, 10, 36e5,
                    "follow: how often to look for new, rotated or truncated files"),
    MF_OPTION_END,
};

static bool known(const struct ctx *c, const char *path)
{
    for (size_t i = 0; i < c->n_files; i++)
        if (strcmp(c->files[i].path, path) == 0)
            return true;
    return false;
}

static void add_file(struct ctx *c, const char *path, bool at_start)
{
    c->files = realloc(c->files, (c->n_files + 1) * sizeof *c->files);
    if (!c->files)
        abort();
    struct tracked_file *f = &c->files[c->n_files++];
    memset(f, 0, sizeof *f);
    f->path = strdup(path);
    f->fd = -1;
    /* Existing files at start honour from_beginning; files that appear later
     * are new, so all of them is new data. */
    f->offset = -1;
    if (at_start && !c->from_beginning)
        f->offset = -2;
}

/* Find files matching the glob; returns how many are new. */
static size_t scan(struct ctx *c, bool at_start)
{
    glob_t g;
    size_t added = 0;
    if (glob(c->path, 0, NULL, &g) == 0) {
        for (size_t i = 0; i < g.gl_pathc; i++) {
            struct stat st;
            if (stat(g.gl_pathv[i], &st) == 0 && S_ISREG(st.st_mode) && !known(c, g.gl_pathv[i])) {
                add_file(c, g.gl_pathv[i], at_start);
                added++;
            }
        }
        globfree(&g);
    }
    return added;
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
    f->dev = st.st_dev;
    f->ino = st.st_ino;
    if (f->offset == -2)
        f->offset = st.st_size; /* start at the end */
    else if (f->offset < 0)
        f->offset = 0;
    return true;
}

/* Make buf hold file i's unread bytes: a file read earlier with a partial
 * line in buf is re-read from its last complete line. */
static void own_buffer(struct ctx *c, size_t i)
{
    if (c->buf_owner == (ssize_t)i)
        return;
    lseek(c->files[i].fd, c->files[i].offset, SEEK_SET);
    c->start = c->end = 0;
    c->buf_owner = (ssize_t)i;
}

static void close_file(struct ctx *c, size_t i)
{
    if (c->files[i].fd >= 0)
        close(c->files[i].fd);
    c->files[i].fd = -1;
    if (c->buf_owner == (ssize_t)i)
        c->buf_owner = -1;
}

static int init(void *vctx, mf_node *node, const mf_host *host)
{
    struct ctx *c = vctx;
    c->node = node;
    c->host = host;
    c->buf_cap = READ_CHUNK + (size_t)c->max_line;
    c->buf = malloc(c->buf_cap);
    c->buf_owner = -1;
    if (!c->buf)
        return MF_FATAL;
    c->m_lines = host->counter(node, "martflow_file_lines_total", NULL, "Lines read");
    c->m_invalid = host->counter(node, "martflow_file_invalid_lines_total", NULL, "Lines rejected (not JSON, too long)");
    scan(c, true);
    if (c->n_files == 0 && !c->follow) {
        host->log(node, MF_LOG_ERROR, "no file matches '%s'", c->path);
        return MF_FATAL;
    }
    if (c->n_files == 0)
        host->log(node, MF_LOG_WARN, "no file matches '%s' yet; waiting for one", c->path);
    c->next_rescan = host->monotonic_ms() + c->rescan_ms;
    return MF_OK;
}

static void set_key(struct ctx *c, mf_record *r, json_t *j, char *keybuf, size_t keycap)
{
    json_t *k = json_object_get(j, c->key_field);
    if (json_is_string(k)) {
        r->key = (const uint8_t *)json_string_value(k);
        r->key_len = (uint32_t)json_string_length(k);
        r->flags &= ~MF_RECORD_KEY_NULL;
    } else if (json_is_integer(k)) {
        int n = snprintf(keybuf, keycap, "%" JSON_INTEGER_FORMAT, json_integer_value(k));
        r->key = (const uint8_t *)keybuf;
        r->key_len = (uint32_t)n;
        r->flags &= ~MF_RECORD_KEY_NULL;
    }
}

static void set_time(struct ctx *c, mf_record *r, json_t *j)
{
    json_t *t = json_object_get(j, c->time_field);
    int64_t ms;
    if (json_is_integer(t))
        r->time_ms = json_integer_value(t);
    else if (json_is_string(t) && mf_parse_time_ms(json_string_value(t), &ms))
        r->time_ms = ms;
}

/* One complete line: parse, emit or reject. */
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
    json_error_t err;
    json_t *j = json_loadb(line, len, JSON_DECODE_ANY, &err);
    if (!j) {
        c->host->metric_add(c->m_invalid, 1);
        c->host->reject(c->node, &r, "%s line %lld: invalid JSON (column %d): %s", f->path,
                        (long long)f->line_no, err.column, err.text);
        return;
    }
    char keybuf[32];
    if (*c->key_field)
        set_key(c, &r, j, keybuf, sizeof keybuf);
    if (*c->time_field)
        set_time(c, &r, j);
    r.json = j;
    c->host->emit(c->node, MF_PORT_DEFAULT, &r, NULL);
    json_decref(j);
}

static void reject_long_line(struct ctx *c, struct tracked_file *f, off_t at, size_t have)
{
    f->line_no++;
    c->host->metric_add(c->m_invalid, 1);
    mf_record r = {.flags = MF_RECORD_KEY_NULL, .value = (const uint8_t *)c->buf + c->start,
                   .value_len = (uint32_t)(have < REJECT_SNIPPET ? have : REJECT_SNIPPET), .time_ms = MF_TIME_UNSET,
                   .origin = {.topic = f->path, .partition = -1, .offset = (int64_t)at}};
    c->host->reject(c->node, &r, "%s line %lld: longer than max_line (%llu bytes); only its start is kept",
                    f->path, (long long)f->line_no, (unsigned long long)c->max_line);
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
    }
    return handled;
}

/* follow: has the file at f->path been replaced or truncated? */
static bool rotated(struct tracked_file *f)
{
    struct stat st;
    if (stat(f->path, &st) != 0)
        return false; /* gone for now: keep the old descriptor until a new file appears */
    return st.st_ino != f->ino || st.st_dev != f->dev || st.st_size < f->offset;
}

static int poll_finite(struct ctx *c)
{
    int64_t budget = c->lines_per_poll;
    while (budget > 0 && c->current < c->n_files) {
        struct tracked_file *f = &c->files[c->current];
        if (f->fd < 0 && !open_file(c, f)) {
            c->current++;
            continue;
        }
        own_buffer(c, c->current);
        bool eof;
        budget -= read_lines(c, f, budget, &eof);
        if (eof) {
            /* A last line without a newline is still a line. */
            if (c->end > c->start && !f->skipping) {
                handle_line(c, f, c->buf + c->start, c->end - c->start, f->offset);
                f->offset += (off_t)(c->end - c->start);
            }
            close_file(c, c->current);
            c->current++;
        }
    }
    return c->current >= c->n_files ? MF_EOF : MF_OK;
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
    for (size_t k = 0; k < c->n_files && budget > 0; k++) {
        size_t i = (c->current + k) % c->n_files;
        struct tracked_file *f = &c->files[i];
        if (f->fd < 0 && !open_file(c, f))
            continue;
        own_buffer(c, i);
        bool eof;
        int64_t got = read_lines(c, f, budget, &eof);
        budget -= got;
        any |= got > 0;
        if (!eof) {
            c->current = i; /* budget spent: continue here next time */
            break;
        }
        if (rotated(f)) {
            /* The old file is read to its end; the new one starts at 0. */
            c->host->log(c->node, MF_LOG_INFO, "%s was rotated or truncated: reopening", f->path);
            close_file(c, i);
            f->offset = 0;
            f->line_no = 0;
            f->skipping = false;
        }
    }
    if (!any) {
        int64_t wait = timeout_ms < 50 ? timeout_ms : 50;
        if (wait > 0)
            usleep((useconds_t)wait * 1000u);
    }
    return MF_OK;
}

static int poll_cb(void *vctx, int timeout_ms)
{
    struct ctx *c = vctx;
    return c->follow ? poll_follow(c, timeout_ms) : poll_finite(c);
}

static void free_cb(void *vctx)
{
    struct ctx *c = vctx;
    for (size_t i = 0; i < c->n_files; i++) {
        close_file(c, i);
        free(c->files[i].path);
    }
    free(c->files);
    free(c->buf);
}

MF_PLUGIN_DEFINE = {
    MF_PLUGIN_HEADER,
    .kind = MF_KIND_SOURCE,
    .name = "file",
    .version = "1.0.0",
    .description = "Read JSON lines from files (a glob); finite, or follow like tail -F",
    .options = options,
    .ctx_size = sizeof(struct ctx),
    .init = init,
    .free = free_cb,
    .poll = poll_cb,
};
