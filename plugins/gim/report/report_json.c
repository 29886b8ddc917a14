/*
 * report_json.c — the JSON writer (report.h): one document with the range,
 * the options and every section's rows, values typed (counts and seconds
 * integers, ratios numbers rounded to 0.1, an undefined ratio null).
 */
#include <math.h>
#include <stdio.h>

#include <jansson.h>

#include "report.h"

static json_t *ratio(bool ok, double v)
{
    return ok ? json_real(round(v * 10.0) / 10.0) : json_null();
}

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

/* The members every row has: interval (null for totals), tenant, and the
 * section's name members (null in a row of all of them). */
static json_t *row_base(const rpt_row *r, const char *name_key, const char *alias_key)
{
    json_t *o = json_object();
    json_object_set_new(o, "interval", r->total ? json_null() : json_string(r->label));
    json_object_set_new(o, "tenant", str_or_null(r->tenant));
    json_object_set_new(o, name_key, r->all ? json_null() : str_or_null(r->name));
    json_object_set_new(o, alias_key, r->all ? json_null() : str_or_null(r->alias));
    return o;
}

static json_t *queue_row(const rpt_row *r)
{
    static const char *const keys[] = {"offered", "answered", "abandoned_in_queue", "abandoned_ringing",
                                       "redirected_no_answer", "answered_in_threshold",
                                       "speed_of_answer_sum_s", "speed_of_answer_count"};
    json_t *o = row_base(r, "queue", "name");
    for (int k = 0; k < RPT_Q_N; k++)
        json_object_set_new(o, keys[k], json_integer(r->v[k]));
    double v = 0;
    bool ok = rpt_asa(r, &v);
    json_object_set_new(o, "asa_s", ratio(ok, v));
    ok = rpt_service_level(r, &v);
    json_object_set_new(o, "service_level_pct", ratio(ok, v));
    return o;
}

static json_t *agent_row(const rpt_row *r)
{
    static const char *const keys[] = {"handled", "talk_s", "hold_s", "acw_s", "ready_s", "not_ready_s", "busy_s",
                                       "state_acw_s"};
    json_t *o = row_base(r, "agent", "name");
    for (int k = 0; k < RPT_A_N; k++)
        json_object_set_new(o, keys[k], json_integer(r->v[k]));
    double v = 0;
    bool ok = rpt_aht(r, &v);
    json_object_set_new(o, "aht_s", ratio(ok, v));
    return o;
}

static json_t *reason_row(const rpt_row *r)
{
    json_t *o = row_base(r, "agent", "reason");
    json_object_set_new(o, "not_ready_s", json_integer(r->v[RPT_R_SECONDS]));
    return o;
}

/* The rows of sec, interval rows into rows and totals into totals. */
static void rows(const rpt_section *sec, json_t *(*fn)(const rpt_row *), json_t *rows, json_t *totals)
{
    for (size_t i = 0; i < sec->n; i++)
        json_array_append_new(sec->rows[i].total ? totals : rows, fn(&sec->rows[i]));
}

int rpt_write_json(const rpt_data *d, FILE *out)
{
    const rpt_opts *o = d->opts;
    json_t *doc = json_object(), *a, *b;
    json_object_set_new(doc, "from", str_or_null(d->from_label));
    json_object_set_new(doc, "to", str_or_null(d->to_label));
    json_object_set_new(doc, "tz", json_string(o->tz));
    json_object_set_new(doc, "interval", json_string(o->interval));
    json_object_set_new(doc, "threshold_s", o->threshold_s >= 0 ? json_integer(o->threshold_s) : json_null());

    json_object_set_new(doc, "queues", a = json_array());
    json_object_set_new(doc, "queue_totals", b = json_array());
    rows(&d->queues, queue_row, a, b);
    json_object_set_new(doc, "all_queues", a = json_array());
    rows(&d->queues_all, queue_row, a, a);
    json_object_set_new(doc, "agents", a = json_array());
    json_object_set_new(doc, "agent_totals", b = json_array());
    rows(&d->agents, agent_row, a, b);
    json_object_set_new(doc, "not_ready_reasons", a = json_array());
    json_object_set_new(doc, "not_ready_reason_totals", b = json_array());
    rows(&d->reasons, reason_row, a, b);

    int rc = json_dumpf(doc, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(12));
    fputc('\n', out);
    json_decref(doc);
    return rc || ferror(out) ? -1 : 0;
}
