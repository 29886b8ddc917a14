/*
 * pg_rowbuf.c — rows waiting to be written, with their records and ack
 * holds. See pg_rowbuf.h.
 */
#include "pg_rowbuf.h"

#include <stdlib.h>
#include <string.h>

#define NO_HOLD UINT32_MAX
#define NO_TOPIC UINT32_MAX

struct row {
    size_t off;     /* in text */
    size_t rec_off; /* in recs */
    uint32_t len;   /* COPY text with its newline */
    uint32_t rec_len;
    uint32_t hold;
    uint8_t state;
    char *reason;   /* PGRB_BAD */
};

/* One hold on an ack, shared by the run of rows that carry it. */
struct hold {
    mf_ack *ack;
    uint32_t refs; /* rows in the buffer; 0: free */
};

/* The fixed part of a record copy; key, value, topic and headers follow. */
struct saved {
    int64_t time_ms;
    int64_t offset;
    const char *source; /* the engine's: lives as long as the run */
    int32_t partition;
    uint32_t key_len, value_len, topic_len, flags;
    uint16_t n_headers;
};

struct pgrb {
    const mf_host *host;
    mf_node *node;
    mf_buffer text, recs, spare_text, spare_recs, gather;
    struct row *rows;
    size_t n, cap;
    size_t line_start;
    bool binary;
    int64_t first_ms;
    struct hold *holds;
    size_t n_holds, cap_holds; /* slots used so far, allocated */
    uint32_t *free_holds;      /* released slots, taken again last in first out */
    size_t n_free;
    uint32_t last_hold;
    /* pgrb_record's result */
    mf_record rec;
    mf_header *hdrs;
    size_t cap_hdrs;
};

pgrb *pgrb_new(const mf_host *host, mf_node *node)
{
    pgrb *rb = mf_xcalloc(1, sizeof *rb);
    rb->host = host;
    rb->node = node;
    rb->last_hold = NO_HOLD;
    return rb;
}

void pgrb_free(pgrb *rb)
{
    if (!rb)
        return;
    for (size_t i = 0; i < rb->n; i++)
        free(rb->rows[i].reason);
    free(rb->rows);
    free(rb->holds);
    free(rb->free_holds);
    free(rb->hdrs);
    mf_buffer_free(&rb->text);
    mf_buffer_free(&rb->recs);
    mf_buffer_free(&rb->spare_text);
    mf_buffer_free(&rb->spare_recs);
    mf_buffer_free(&rb->gather);
    free(rb);
}

mf_buffer *pgrb_line(pgrb *rb)
{
    rb->line_start = rb->text.len;
    return &rb->text;
}

void pgrb_set_binary(pgrb *rb, bool binary)
{
    rb->binary = binary;
}

bool pgrb_binary(const pgrb *rb)
{
    return rb->binary;
}

void pgrb_line_undo(pgrb *rb)
{
    rb->text.len = rb->n ? rb->rows[rb->n - 1].off + rb->rows[rb->n - 1].len : 0;
}

void pgrb_rerender_text(pgrb *rb, pgrb_render_fn fn, void *arg)
{
    pgrb_line_undo(rb);
    mf_buffer_reset(&rb->spare_text);
    for (size_t i = 0; i < rb->n; i++) {
        size_t off = rb->spare_text.len;
        fn(arg, pgrb_record(rb, i), i, &rb->spare_text);
        mf_buffer_append(&rb->spare_text, "\n", 1);
        rb->rows[i].off = off;
        rb->rows[i].len = (uint32_t)(rb->spare_text.len - off);
    }
    mf_buffer t = rb->text;
    rb->text = rb->spare_text;
    rb->spare_text = t;
    rb->line_start = rb->text.len;
    rb->binary = false;
}

static uint32_t hold_take(pgrb *rb, const mf_record *rec)
{
    if (!rec->ack)
        return NO_HOLD;
    if (rb->last_hold != NO_HOLD && rb->holds[rb->last_hold].refs && rb->holds[rb->last_hold].ack == rec->ack) {
        rb->holds[rb->last_hold].refs++;
        return rb->last_hold;
    }
    /* a free slot in O(1). A search from slot 0 cost O(holds) for each new
     * ack, which is quadratic when the buffered records carry many different
     * acks: a gim cycle holds tens of thousands of a transform's outputs */
    uint32_t h;
    if (rb->n_free) {
        h = rb->free_holds[--rb->n_free];
    } else {
        if (rb->n_holds == rb->cap_holds) {
            rb->cap_holds = rb->cap_holds ? rb->cap_holds * 2 : 16;
            rb->holds = mf_xrealloc(rb->holds, rb->cap_holds * sizeof *rb->holds);
            rb->free_holds = mf_xrealloc(rb->free_holds, rb->cap_holds * sizeof *rb->free_holds);
        }
        h = (uint32_t)rb->n_holds++;
    }
    rb->holds[h].ack = rb->host->ack_hold(rb->node, rec);
    rb->holds[h].refs = 1;
    rb->last_hold = h;
    return h;
}

static void hold_drop(pgrb *rb, uint32_t h)
{
    if (h == NO_HOLD || --rb->holds[h].refs)
        return;
    rb->host->ack_release(rb->node, rb->holds[h].ack);
    rb->holds[h].ack = NULL;
    rb->free_holds[rb->n_free++] = h; /* n_free <= n_holds <= cap_holds */
}

static void save_record(pgrb *rb, const mf_record *rec)
{
    size_t value_len = 0;
    const uint8_t *value = NULL;
    if (!(rec->flags & MF_RECORD_VALUE_NULL))
        value = rb->host->record_value(rb->node, (mf_record *)rec, &value_len);
    struct saved s = {
        .time_ms = rec->time_ms,
        .offset = rec->origin.offset,
        .source = rec->origin.source,
        .partition = rec->origin.partition,
        .key_len = (rec->flags & MF_RECORD_KEY_NULL) ? 0 : rec->key_len,
        .value_len = (uint32_t)value_len,
        .topic_len = rec->origin.topic ? (uint32_t)strlen(rec->origin.topic) : NO_TOPIC,
        .flags = rec->flags & (MF_RECORD_KEY_NULL | MF_RECORD_VALUE_NULL),
        .n_headers = rec->n_headers,
    };
    mf_buffer_append(&rb->recs, &s, sizeof s);
    mf_buffer_append(&rb->recs, rec->key, s.key_len);
    mf_buffer_append(&rb->recs, value, value_len);
    if (s.topic_len != NO_TOPIC)
        mf_buffer_append(&rb->recs, rec->origin.topic, s.topic_len);
    for (uint16_t i = 0; i < rec->n_headers; i++) {
        uint32_t lens[2] = {(uint32_t)strlen(rec->headers[i].name) + 1, rec->headers[i].value_len};
        mf_buffer_append(&rb->recs, lens, sizeof lens);
        mf_buffer_append(&rb->recs, rec->headers[i].name, lens[0]);
        mf_buffer_append(&rb->recs, rec->headers[i].value, lens[1]);
    }
}

void pgrb_add(pgrb *rb, const mf_record *rec)
{
    if (!rb->binary)
        mf_buffer_append(&rb->text, "\n", 1);
    if (rb->n == rb->cap) {
        rb->cap = rb->cap ? rb->cap * 2 : 1024;
        rb->rows = mf_xrealloc(rb->rows, rb->cap * sizeof *rb->rows);
    }
    if (!rb->n)
        rb->first_ms = rb->host->monotonic_ms();
    size_t rec_off = rb->recs.len;
    save_record(rb, rec);
    rb->rows[rb->n++] = (struct row){
        .off = rb->line_start,
        .rec_off = rec_off,
        .len = (uint32_t)(rb->text.len - rb->line_start),
        .rec_len = (uint32_t)(rb->recs.len - rec_off),
        .hold = hold_take(rb, rec),
    };
}

size_t pgrb_count(const pgrb *rb)
{
    return rb->n;
}

size_t pgrb_bytes(const pgrb *rb)
{
    return rb->text.len;
}

int64_t pgrb_first_ms(const pgrb *rb)
{
    return rb->first_ms;
}

const char *pgrb_data(pgrb *rb, const uint32_t *idx, size_t n, size_t *len)
{
    if (idx[n - 1] - idx[0] == n - 1) /* consecutive rows are adjacent text */
        return pgrb_text(rb, idx[0], idx[n - 1] + 1, len);
    mf_buffer_reset(&rb->gather);
    for (size_t i = 0; i < n; i++)
        mf_buffer_append(&rb->gather, rb->text.data + rb->rows[idx[i]].off, rb->rows[idx[i]].len);
    *len = rb->gather.len;
    return (const char *)rb->gather.data;
}

const char *pgrb_text(const pgrb *rb, size_t from, size_t to, size_t *len)
{
    const struct row *first = &rb->rows[from], *last = &rb->rows[to - 1];
    *len = last->off + last->len - first->off;
    return (const char *)rb->text.data + first->off;
}

void pgrb_set_state(pgrb *rb, size_t i, enum pgrb_state state)
{
    rb->rows[i].state = (uint8_t)state;
}

enum pgrb_state pgrb_state_of(const pgrb *rb, size_t i)
{
    return (enum pgrb_state)rb->rows[i].state;
}

void pgrb_set_bad(pgrb *rb, size_t i, const char *reason)
{
    free(rb->rows[i].reason);
    rb->rows[i].reason = mf_xstrdup(reason);
    rb->rows[i].state = PGRB_BAD;
}

const char *pgrb_reason(const pgrb *rb, size_t i)
{
    return rb->rows[i].reason ? rb->rows[i].reason : "";
}

void pgrb_unmark_bad(pgrb *rb)
{
    for (size_t i = 0; i < rb->n; i++)
        if (rb->rows[i].state == PGRB_BAD) {
            free(rb->rows[i].reason);
            rb->rows[i].reason = NULL;
            rb->rows[i].state = PGRB_PENDING;
        }
}

const mf_record *pgrb_record(pgrb *rb, size_t i)
{
    const uint8_t *p = rb->recs.data + rb->rows[i].rec_off;
    struct saved s;
    memcpy(&s, p, sizeof s);
    p += sizeof s;
    mf_record *r = &rb->rec;
    memset(r, 0, sizeof *r);
    r->flags = s.flags;
    r->key = p;
    r->key_len = s.key_len;
    p += s.key_len;
    r->value = p;
    r->value_len = s.value_len;
    p += s.value_len;
    r->time_ms = s.time_ms;
    r->origin = (mf_origin){.source = s.source, .partition = s.partition, .offset = s.offset};
    /* the topic is not NUL-terminated in the copy: give it one in the header scratch */
    if (rb->cap_hdrs < (size_t)s.n_headers + 1) {
        rb->cap_hdrs = (size_t)s.n_headers + 1;
        rb->hdrs = mf_xrealloc(rb->hdrs, rb->cap_hdrs * sizeof *rb->hdrs);
    }
    if (s.topic_len != NO_TOPIC) {
        mf_buffer_reset(&rb->gather);
        mf_buffer_append(&rb->gather, p, s.topic_len);
        mf_buffer_append(&rb->gather, "", 1);
        r->origin.topic = (const char *)rb->gather.data;
        p += s.topic_len;
    }
    for (uint16_t h = 0; h < s.n_headers; h++) {
        uint32_t lens[2];
        memcpy(lens, p, sizeof lens);
        p += sizeof lens;
        rb->hdrs[h] = (mf_header){.name = (const char *)p, .value = p + lens[0], .value_len = lens[1]};
        p += lens[0] + lens[1];
    }
    r->headers = rb->hdrs;
    r->n_headers = s.n_headers;
    r->ack = rb->rows[i].hold == NO_HOLD ? NULL : rb->holds[rb->rows[i].hold].ack;
    return r;
}

static void reset(pgrb *rb)
{
    rb->n = 0;
    mf_buffer_reset(&rb->text);
    mf_buffer_reset(&rb->recs);
}

size_t pgrb_settle(pgrb *rb)
{
    size_t kept = 0;
    for (size_t i = 0; i < rb->n; i++)
        if (rb->rows[i].state == PGRB_PENDING)
            kept++;
    size_t dropped = rb->n - kept;
    if (!dropped)
        return 0;
    for (size_t i = 0; i < rb->n; i++)
        if (rb->rows[i].state != PGRB_PENDING) {
            hold_drop(rb, rb->rows[i].hold);
            free(rb->rows[i].reason);
            rb->rows[i].reason = NULL;
        }
    if (!kept) {
        reset(rb);
        return dropped;
    }
    /* Keep the pending rows, in order, in the spare buffers, then swap. */
    mf_buffer_reset(&rb->spare_text);
    mf_buffer_reset(&rb->spare_recs);
    size_t o = 0;
    for (size_t i = 0; i < rb->n; i++) {
        struct row r = rb->rows[i];
        if (r.state != PGRB_PENDING)
            continue;
        size_t off = rb->spare_text.len, rec_off = rb->spare_recs.len;
        mf_buffer_append(&rb->spare_text, rb->text.data + r.off, r.len);
        mf_buffer_append(&rb->spare_recs, rb->recs.data + r.rec_off, r.rec_len);
        r.off = off;
        r.rec_off = rec_off;
        rb->rows[o++] = r;
    }
    rb->n = o;
    mf_buffer t = rb->text, rc = rb->recs;
    rb->text = rb->spare_text;
    rb->recs = rb->spare_recs;
    rb->spare_text = t;
    rb->spare_recs = rc;
    return dropped;
}

void pgrb_truncate(pgrb *rb, size_t keep)
{
    if (keep >= rb->n)
        return;
    for (size_t i = keep; i < rb->n; i++) {
        hold_drop(rb, rb->rows[i].hold);
        free(rb->rows[i].reason);
    }
    if (!keep) {
        reset(rb);
        return;
    }
    rb->text.len = rb->rows[keep].off;
    rb->recs.len = rb->rows[keep].rec_off;
    rb->n = keep;
}
