/* outbound_model.c — see outbound_model.h. */
#include <stdlib.h>
#include <string.h>

#include "outbound_model.h"

/* A chain can stay open for days: its texts are bounded (gsp_btext.h). */
static void text_set(ob_text *t, const char *s, size_t len)
{
    gsp_btext_set(t, s, len);
}

/* Set t from the event's string when the event has one. */
static void text_take(ob_text *t, gsp_str v)
{
    gsp_btext_take(t, v.s, v.len);
}

/* The attempt's texts, for the loops that clear, free, save and load them all. */
#define N_ATTEMPT_TEXTS 8
static ob_text *attempt_text(ob_attempt *a, int i)
{
    ob_text *const all[N_ATTEMPT_TEXTS] = {&a->calling_list, &a->phone,   &a->disposition, &a->agent,
                                           &a->place,        &a->this_dn, &a->conn_id,     &a->call_thread_id};
    return all[i];
}
#define N_CHAIN_TEXTS 4
static ob_text *chain_text(ob_chain *ch, int i)
{
    ob_text *const all[N_CHAIN_TEXTS] = {&ch->campaign_id, &ch->campaign_name, &ch->calling_list, &ch->phone};
    return all[i];
}

static int complete(ob_chain *ch, ob_emit_fn emit, void *arg)
{
    ch->in_attempt = false;
    return emit(arg, ch, &ch->cur);
}

/* A new attempt: the record the event names, else the chain's current one. */
static void begin_attempt(ob_chain *ch, const ob_event *ev)
{
    if (ev->has_chain_n) {
        ch->chain_n = ev->chain_n;
        ch->has_chain_n = true;
    }
    if (ev->has_record_handle) {
        ch->record_id = ev->record_handle;
        ch->has_record = true;
    }
    text_take(&ch->calling_list, ev->calling_list);
    text_take(&ch->phone, ev->phone);
    ob_attempt *a = &ch->cur;
    for (int i = 0; i < N_ATTEMPT_TEXTS; i++)
        attempt_text(a, i)->len = 0;
    a->ordinal = ++ch->attempts;
    a->result = OB_RESULT_NONE;
    a->processed = a->has_connected_seq = false;
    a->start_ms = ev->time_ms;
    a->connect_ms = a->end_ms = MF_TIME_UNSET;
    a->has_chain_n = ch->has_chain_n;
    a->chain_n = ch->chain_n;
    a->has_record = ch->has_record;
    a->record_id = ch->record_id;
    a->connected_seq = 0;
    text_set(&a->calling_list, ch->calling_list.s, ch->calling_list.len);
    text_set(&a->phone, ch->phone.s, ch->phone.len);
    ch->in_attempt = true;
}

ob_outcome ob_apply(ob_chain *ch, const ob_event *ev, ob_emit_fn emit, void *arg)
{
    ob_attempt *a = &ch->cur;
    ch->last_ms = ev->time_ms;
    if (!ch->campaign_id.len) {
        text_set(&ch->campaign_id, ev->campaign_id.s, ev->campaign_id.len);
        ch->chain_id = ev->chain_id;
    }
    text_take(&ch->campaign_name, ev->campaign_name);
    if (ch->final)
        return OB_IGNORED;
    switch (ev->id) {
    case OB_EV_CHAIN_START:
        text_take(&ch->calling_list, ev->calling_list);
        text_take(&ch->phone, ev->phone);
        if (ev->has_chain_n) {
            ch->chain_n = ev->chain_n;
            ch->has_chain_n = true;
        }
        if (ev->has_record_handle) {
            ch->record_id = ev->record_handle;
            ch->has_record = true;
        }
        return OB_APPLIED;
    case OB_EV_DIALING:
        if (ch->in_attempt) { /* the previous one never said how it ended */
            if (a->end_ms == MF_TIME_UNSET)
                a->end_ms = ev->time_ms;
            complete(ch, emit, arg);
        }
        begin_attempt(ch, ev);
        return OB_APPLIED;
    case OB_EV_CALL_RESULT:
        if (!ch->in_attempt || a->result != OB_RESULT_NONE)
            return OB_IGNORED;
        a->result = (uint8_t)ev->result;
        if (ev->result == OB_RESULT_ANSWERED) {
            a->connect_ms = ev->time_ms;
            return OB_APPLIED;
        }
        a->end_ms = ev->time_ms;
        complete(ch, emit, arg);
        return OB_APPLIED;
    case OB_EV_CALL_CONNECTED:
        if (!ch->in_attempt || a->end_ms != MF_TIME_UNSET)
            return OB_IGNORED;
        if (a->result == OB_RESULT_NONE) { /* connected means answered */
            a->result = OB_RESULT_ANSWERED;
            a->connect_ms = ev->time_ms;
        }
        text_take(&a->agent, ev->agent_id);
        text_take(&a->place, ev->place);
        text_take(&a->this_dn, ev->this_dn);
        text_take(&a->conn_id, ev->conn_id);
        text_take(&a->call_thread_id, ev->call_thread_id);
        if (ev->has_connected_seq) {
            a->connected_seq = ev->connected_seq;
            a->has_connected_seq = true;
        }
        return OB_APPLIED;
    case OB_EV_CALL_RELEASED:
        if (!ch->in_attempt || a->end_ms != MF_TIME_UNSET)
            return OB_IGNORED;
        a->end_ms = ev->time_ms;
        if (a->processed)
            complete(ch, emit, arg);
        return OB_APPLIED;
    case OB_EV_RECORD_PROCESSED:
        if (!ch->in_attempt)
            return OB_IGNORED;
        text_take(&a->disposition, ev->disposition);
        a->processed = true;
        if (a->end_ms != MF_TIME_UNSET)
            complete(ch, emit, arg);
        return OB_APPLIED;
    case OB_EV_CHAIN_FINAL:
        if (ch->in_attempt) {
            text_take(&a->disposition, ev->disposition);
            if (a->end_ms == MF_TIME_UNSET)
                a->end_ms = ev->time_ms;
            complete(ch, emit, arg);
        }
        ch->final = true;
        ch->final_ms = ev->time_ms;
        return OB_APPLIED;
    case OB_EV_NONE:
    case OB_EV_COUNT: break;
    }
    return OB_IGNORED;
}

bool ob_close(ob_chain *ch, bool only_ended, ob_emit_fn emit, void *arg)
{
    if (!ch->in_attempt || (only_ended && ch->cur.end_ms == MF_TIME_UNSET))
        return false;
    if (ch->cur.end_ms == MF_TIME_UNSET)
        ch->cur.end_ms = ch->last_ms;
    complete(ch, emit, arg);
    return true;
}

void ob_free(ob_chain *ch)
{
    for (int i = 0; i < N_CHAIN_TEXTS; i++)
        gsp_btext_free(chain_text(ch, i));
    for (int i = 0; i < N_ATTEMPT_TEXTS; i++)
        gsp_btext_free(attempt_text(&ch->cur, i));
    memset(ch, 0, sizeof *ch);
}

/* ---- snapshots ---------------------------------------------------------------------- */

static void put_i64(mf_buffer *out, const mf_host *host, int64_t v)
{
    gsp_put(out, host, (uint64_t)v, 8);
}

void ob_save(const ob_chain *ch, const mf_host *host, mf_buffer *out)
{
    ob_chain *c = (ob_chain *)ch; /* the text accessors are not const; nothing is changed */
    const ob_attempt *a = &ch->cur;
    for (int i = 0; i < N_CHAIN_TEXTS; i++)
        gsp_put_str(out, host, chain_text(c, i)->s, chain_text(c, i)->len);
    put_i64(out, host, ch->chain_id);
    put_i64(out, host, ch->chain_n);
    put_i64(out, host, ch->record_id);
    gsp_put(out, host, (uint64_t)ch->has_chain_n | (uint64_t)ch->has_record << 1 | (uint64_t)ch->in_attempt << 2 |
                           (uint64_t)ch->final << 3, 1);
    gsp_put(out, host, (uint32_t)ch->attempts, 4);
    put_i64(out, host, ch->last_ms);
    put_i64(out, host, ch->final_ms);
    gsp_put(out, host, (uint32_t)a->ordinal, 4);
    gsp_put(out, host, a->result, 1);
    gsp_put(out, host, (uint64_t)a->has_chain_n | (uint64_t)a->has_record << 1 | (uint64_t)a->has_connected_seq << 2 |
                           (uint64_t)a->processed << 3, 1);
    put_i64(out, host, a->start_ms);
    put_i64(out, host, a->connect_ms);
    put_i64(out, host, a->end_ms);
    put_i64(out, host, a->chain_n);
    put_i64(out, host, a->record_id);
    put_i64(out, host, a->connected_seq);
    for (int i = 0; i < N_ATTEMPT_TEXTS; i++)
        gsp_put_str(out, host, attempt_text(&c->cur, i)->s, attempt_text(&c->cur, i)->len);
}

static bool get_text(gsp_reader *r, ob_text *t)
{
    return gsp_btext_load(t, r);
}

bool ob_load(ob_chain *ch, gsp_reader *r)
{
    ob_attempt *a = &ch->cur;
    memset(ch, 0, sizeof *ch);
    for (int i = 0; i < N_CHAIN_TEXTS; i++)
        if (!get_text(r, chain_text(ch, i)))
            goto fail;
    ch->chain_id = (int64_t)gsp_get(r, 8);
    ch->chain_n = (int64_t)gsp_get(r, 8);
    ch->record_id = (int64_t)gsp_get(r, 8);
    uint64_t flags = gsp_get(r, 1);
    ch->has_chain_n = flags & 1;
    ch->has_record = flags >> 1 & 1;
    ch->in_attempt = flags >> 2 & 1;
    ch->final = flags >> 3 & 1;
    ch->attempts = (int32_t)gsp_get(r, 4);
    ch->last_ms = (int64_t)gsp_get(r, 8);
    ch->final_ms = (int64_t)gsp_get(r, 8);
    a->ordinal = (int32_t)gsp_get(r, 4);
    a->result = (uint8_t)gsp_get(r, 1);
    flags = gsp_get(r, 1);
    a->has_chain_n = flags & 1;
    a->has_record = flags >> 1 & 1;
    a->has_connected_seq = flags >> 2 & 1;
    a->processed = flags >> 3 & 1;
    a->start_ms = (int64_t)gsp_get(r, 8);
    a->connect_ms = (int64_t)gsp_get(r, 8);
    a->end_ms = (int64_t)gsp_get(r, 8);
    a->chain_n = (int64_t)gsp_get(r, 8);
    a->record_id = (int64_t)gsp_get(r, 8);
    a->connected_seq = (int64_t)gsp_get(r, 8);
    for (int i = 0; i < N_ATTEMPT_TEXTS; i++)
        if (!get_text(r, attempt_text(a, i)))
            goto fail;
    if (r->ok && a->result < OB_RESULT_COUNT && ch->attempts >= 0)
        return true;
fail:
    ob_free(ch);
    return gsp_get_fail(r);
}
