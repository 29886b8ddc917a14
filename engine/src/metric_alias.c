/* metric_alias.c — see metric_alias.h. */
#include "metric_alias.h"

#include <martflow/helpers.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define SAMPLE_MS 1000
#define MIN_RATE_MS 1000
#define MAX_RATE_MS 3600000

enum { AGG_NONE, AGG_SUM, AGG_MIN, AGG_MAX };
static const char *const agg_names[] = {"none", "sum", "min", "max", NULL};
static const char *const type_names[] = {"counter", "gauge", NULL};

/* One label the series must have, with one of these values (escaped as in
 * the exposition format, which is how the registry stores labels). */
struct match {
    char *label;
    char **values;
    size_t n_values;
};

/* The samples of one rendered series of a rate alias: a ring, oldest first. */
struct rate_series {
    char *labels; /* the source series' labels ("" when aggregated) */
    int64_t *t;
    double *v;
    size_t head, len, cap;
    double rate;
    bool seen; /* present in the last sample */
};

struct alias {
    char *name, *metric, *help;
    int type; /* -1: the metric's own */
    int agg;
    int64_t rate_ms; /* 0: the value itself */
    struct match *match;
    size_t n_match;
    char **extra_names; /* constant labels: names and escaped values */
    char **extra_values;
    size_t n_extra;
    bool refused; /* a node registered this name itself */
    struct rate_series *rates;
    size_t n_rates;
};

struct mf_metric_aliases {
    pthread_mutex_t mu; /* the rates (sampler thread vs scrapes) */
    struct alias *a;
    size_t n;
    mf_metrics *m;
    int64_t next_sample;
};

/* ---- labels as the registry keeps them: name="escaped",... ------------------------- */

struct label {
    const char *name, *value;
    size_t name_len, value_len;
};

/* The next label of *p (advanced past it); false at the end. */
static bool next_label(const char **p, struct label *l)
{
    const char *s = *p;
    if (*s == ',')
        s++;
    const char *eq = strchr(s, '=');
    if (!*s || !eq || eq[1] != '"')
        return false;
    l->name = s;
    l->name_len = (size_t)(eq - s);
    l->value = eq + 2;
    const char *e = l->value;
    while (*e && *e != '"')
        e += (*e == '\\' && e[1]) ? 2 : 1;
    l->value_len = (size_t)(e - l->value);
    *p = *e ? e + 1 : e;
    return true;
}

static bool span_is(const char *s, size_t len, const char *z)
{
    return strlen(z) == len && memcmp(s, z, len) == 0;
}

static bool matches(const struct alias *a, const char *labels)
{
    for (size_t i = 0; i < a->n_match; i++) {
        const struct match *m = &a->match[i];
        bool ok = false;
        struct label l;
        for (const char *p = labels; !ok && next_label(&p, &l);)
            if (span_is(l.name, l.name_len, m->label))
                for (size_t k = 0; k < m->n_values && !ok; k++)
                    ok = span_is(l.value, l.value_len, m->values[k]);
        if (!ok)
            return false;
    }
    return true;
}

static char *escape(const char *s)
{
    mf_str out = {0};
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            mf_str_append(&out, "\\", 1);
        if (*s == '\n')
            mf_str_puts(&out, "\\n");
        else
            mf_str_append(&out, s, 1);
    }
    if (!out.data)
        mf_str_puts(&out, "");
    return mf_str_take(&out);
}

/* ---- loading ------------------------------------------------------------------------- */

static bool metric_name_ok(const char *s)
{
    if (!*s)
        return false;
    for (const char *p = s; *p; p++) {
        bool alpha = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_' || *p == ':';
        if (!alpha && !(p > s && *p >= '0' && *p <= '9'))
            return false;
    }
    return true;
}

static bool label_name_ok(const char *s)
{
    return metric_name_ok(s) && !strchr(s, ':') && strncmp(s, "__", 2) != 0;
}

static int choice(const char *const *names, const char *v)
{
    for (int i = 0; names[i]; i++)
        if (strcmp(names[i], v) == 0)
            return i;
    return -1;
}

struct loader {
    const mf_config *cfg;
    mf_diag *diag;
    const char *name; /* the alias */
};

#define ERR(ld, loc, ...) mf_diag_error((ld)->diag, (loc), __VA_ARGS__)

static const char *text_of(struct loader *ld, const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);
    if (json_is_string(v))
        return json_string_value(v);
    ERR(ld, mf_config_value_loc(ld->cfg, obj, key), "settings.metric_aliases: '%s': '%s' must be text, not %s",
        ld->name, key, mf_json_kind_text(v));
    return NULL;
}

static void load_match(struct loader *ld, struct alias *a, const json_t *spec)
{
    const json_t *m = json_object_get(spec, "match");
    if (!json_is_object(m)) {
        ERR(ld, mf_config_value_loc(ld->cfg, spec, "match"),
            "settings.metric_aliases: '%s': 'match' must be a map of label -> value or list of values", ld->name);
        return;
    }
    const char *label;
    const json_t *v;
    a->match = mf_xcalloc(json_object_size(m) + 1, sizeof *a->match);
    json_object_foreach((json_t *)m, label, v) {
        if (!label_name_ok(label)) {
            ERR(ld, mf_config_key_loc(ld->cfg, m, label), "settings.metric_aliases: '%s': '%s' is not a label name",
                ld->name, label);
            continue;
        }
        struct match *x = &a->match[a->n_match++];
        x->label = mf_xstrdup(label);
        size_t n = json_is_array(v) ? json_array_size(v) : 1;
        x->values = mf_xcalloc(n + 1, sizeof *x->values);
        for (size_t i = 0; i < n; i++) {
            const json_t *e = json_is_array(v) ? json_array_get(v, i) : v;
            if (!json_is_string(e)) {
                ERR(ld, json_is_array(v) ? mf_config_index_loc(ld->cfg, v, i) : mf_config_value_loc(ld->cfg, m, label),
                    "settings.metric_aliases: '%s': match '%s': values are text, not %s", ld->name, label,
                    mf_json_kind_text(e));
                continue;
            }
            x->values[x->n_values++] = escape(json_string_value(e));
        }
        if (json_is_array(v) && n == 0)
            ERR(ld, mf_config_value_loc(ld->cfg, m, label),
                "settings.metric_aliases: '%s': match '%s': an empty list matches nothing", ld->name, label);
    }
}

static void load_labels(struct loader *ld, struct alias *a, const json_t *spec)
{
    const json_t *m = json_object_get(spec, "labels");
    if (!json_is_object(m)) {
        ERR(ld, mf_config_value_loc(ld->cfg, spec, "labels"),
            "settings.metric_aliases: '%s': 'labels' must be a map of label -> text", ld->name);
        return;
    }
    size_t n = json_object_size(m);
    a->extra_names = mf_xcalloc(n + 1, sizeof *a->extra_names);
    a->extra_values = mf_xcalloc(n + 1, sizeof *a->extra_values);
    const char *label;
    const json_t *v;
    json_object_foreach((json_t *)m, label, v) {
        if (!label_name_ok(label) || !json_is_string(v)) {
            ERR(ld, mf_config_key_loc(ld->cfg, m, label),
                "settings.metric_aliases: '%s': labels: '%s' must be a label name with a text value", ld->name,
                label);
            continue;
        }
        a->extra_names[a->n_extra] = mf_xstrdup(label);
        a->extra_values[a->n_extra++] = escape(json_string_value(v));
    }
}

static void load_one(struct loader *ld, struct alias *a, const json_t *root, const json_t *spec)
{
    static const char *const keys[] = {"metric", "match", "aggregate", "rate", "type", "help", "labels", NULL};
    a->name = mf_xstrdup(ld->name);
    a->type = -1;
    if (!metric_name_ok(ld->name) || strncmp(ld->name, "martflow_", 9) == 0)
        ERR(ld, mf_config_key_loc(ld->cfg, root, ld->name),
            "settings.metric_aliases: '%s' is not a metric name outside martflow_* ([a-zA-Z_:][a-zA-Z0-9_:]*; "
            "martflow_ names are the engine's)", ld->name);
    if (!json_is_object(spec)) {
        ERR(ld, mf_config_value_loc(ld->cfg, root, ld->name),
            "settings.metric_aliases: '%s': expected a map {metric: martflow_..., ...}, not %s", ld->name,
            mf_json_kind_text(spec));
        return;
    }
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)spec, key, v) {
        if (choice(keys, key) < 0)
            ERR(ld, mf_config_key_loc(ld->cfg, spec, key),
                "settings.metric_aliases: '%s': unknown key '%s' (expected metric, match, aggregate, rate, type, "
                "help, labels)", ld->name, key);
    }
    const char *s;
    if (!json_object_get(spec, "metric"))
        ERR(ld, mf_config_container_loc(ld->cfg, spec), "settings.metric_aliases: '%s': 'metric' is required",
            ld->name);
    else if ((s = text_of(ld, spec, "metric"))) {
        if (!metric_name_ok(s) || strncmp(s, "martflow_", 9) != 0)
            ERR(ld, mf_config_value_loc(ld->cfg, spec, "metric"),
                "settings.metric_aliases: '%s': metric '%s' is not a martflow_* metric name", ld->name, s);
        a->metric = mf_xstrdup(s);
    }
    if (json_object_get(spec, "match"))
        load_match(ld, a, spec);
    if (json_object_get(spec, "labels"))
        load_labels(ld, a, spec);
    if (json_object_get(spec, "aggregate") && (s = text_of(ld, spec, "aggregate")) &&
        (a->agg = choice(agg_names, s)) < 0)
        ERR(ld, mf_config_value_loc(ld->cfg, spec, "aggregate"),
            "settings.metric_aliases: '%s': aggregate '%s' is not none, sum, min or max", ld->name, s);
    if (json_object_get(spec, "type") && (s = text_of(ld, spec, "type")) && (a->type = choice(type_names, s)) < 0)
        ERR(ld, mf_config_value_loc(ld->cfg, spec, "type"),
            "settings.metric_aliases: '%s': type '%s' is not counter or gauge", ld->name, s);
    if (json_object_get(spec, "rate") && (s = text_of(ld, spec, "rate"))) {
        if (!mf_parse_duration_ms(s, &a->rate_ms) || a->rate_ms < MIN_RATE_MS || a->rate_ms > MAX_RATE_MS)
            ERR(ld, mf_config_value_loc(ld->cfg, spec, "rate"),
                "settings.metric_aliases: '%s': rate '%s' is not a duration from 1s to 1h", ld->name, s);
        else if (a->type == MF_METRIC_COUNTER)
            ERR(ld, mf_config_value_loc(ld->cfg, spec, "type"),
                "settings.metric_aliases: '%s': a rate is a gauge, not a counter", ld->name);
        else
            a->type = MF_METRIC_GAUGE;
    }
    if (json_object_get(spec, "help") && (s = text_of(ld, spec, "help")))
        a->help = mf_xstrdup(s);
    if (!a->help)
        a->help = a->rate_ms ? mf_xasprintf("Per-second rate of %s over %llds (alias)", a->metric ? a->metric : "",
                                            (long long)(a->rate_ms / 1000))
                             : mf_xasprintf("%s (alias)", a->metric ? a->metric : "");
    for (char *p = a->help; *p; p++)
        if (*p == '\n')
            *p = ' ';
}

mf_metric_aliases *mf_metric_aliases_load(const mf_config *cfg, mf_diag *diag)
{
    mf_metric_aliases *set = mf_xcalloc(1, sizeof *set);
    pthread_mutex_init(&set->mu, NULL);
    const json_t *settings = json_object_get(mf_config_root(cfg), "settings");
    const json_t *root = json_is_object(settings) ? json_object_get(settings, "metric_aliases") : NULL;
    if (!root)
        return set;
    int before = diag->errors;
    if (!json_is_object(root)) {
        mf_diag_error(diag, mf_config_value_loc(cfg, settings, "metric_aliases"),
                      "settings.metric_aliases: expected a map of exported name -> {metric: martflow_..., ...}, "
                      "not %s", mf_json_kind_text(root));
        goto fail;
    }
    set->a = mf_xcalloc(json_object_size(root) + 1, sizeof *set->a);
    const char *name;
    const json_t *spec;
    json_object_foreach((json_t *)root, name, spec) {
        struct loader ld = {cfg, diag, name};
        load_one(&ld, &set->a[set->n++], root, spec);
    }
    if (diag->errors == before)
        return set;
fail:
    mf_metric_aliases_free(set);
    return NULL;
}

/* ---- collecting and rendering ---------------------------------------------------- */

struct gather {
    const struct alias *a;
    int type;    /* of the first matching series, -1: none */
    size_t n;    /* matching series */
    double acc;  /* the aggregate */
    mf_str *out; /* aggregate none, no rate: the lines */
    struct mf_metric_aliases *set;
    int64_t now;
};

static void put_labels(mf_str *out, const struct alias *a, const char *labels)
{
    bool any = false;
    struct label l;
    for (const char *p = labels ? labels : ""; next_label(&p, &l);) {
        bool replaced = false;
        for (size_t i = 0; i < a->n_extra && !replaced; i++)
            replaced = span_is(l.name, l.name_len, a->extra_names[i]);
        if (replaced)
            continue;
        mf_str_printf(out, "%s%.*s=\"%.*s\"", any ? "," : "{", (int)l.name_len, l.name, (int)l.value_len, l.value);
        any = true;
    }
    for (size_t i = 0; i < a->n_extra; i++) {
        mf_str_printf(out, "%s%s=\"%s\"", any ? "," : "{", a->extra_names[i], a->extra_values[i]);
        any = true;
    }
    if (any)
        mf_str_puts(out, "}");
}

static void put_sample(mf_str *out, const struct alias *a, const char *labels, double v)
{
    mf_str_puts(out, a->name);
    put_labels(out, a, labels);
    mf_str_printf(out, " %.17g\n", v);
}

static void gather_cb(void *arg, const char *labels, mf_metric_type type, double value)
{
    struct gather *g = arg;
    const struct alias *a = g->a;
    if (!matches(a, labels))
        return;
    if (g->n++ == 0) {
        g->type = (int)type;
        g->acc = value;
    } else if (a->agg == AGG_SUM) {
        g->acc += value;
    } else if (a->agg == AGG_MIN) {
        g->acc = value < g->acc ? value : g->acc;
    } else if (a->agg == AGG_MAX) {
        g->acc = value > g->acc ? value : g->acc;
    }
    if (g->out)
        put_sample(g->out, a, labels, value);
}

static void put_header(mf_str *out, const struct alias *a, int type)
{
    int t = a->type >= 0 ? a->type : type >= 0 ? type : MF_METRIC_GAUGE;
    mf_str_printf(out, "# HELP %s %s\n# TYPE %s %s\n", a->name, a->help, a->name, type_names[t]);
}

static struct rate_series *rate_series(struct alias *a, const char *labels)
{
    for (size_t i = 0; i < a->n_rates; i++)
        if (strcmp(a->rates[i].labels, labels) == 0)
            return &a->rates[i];
    a->rates = mf_xrealloc(a->rates, (a->n_rates + 1) * sizeof *a->rates);
    struct rate_series *r = &a->rates[a->n_rates++];
    *r = (struct rate_series){.labels = mf_xstrdup(labels), .cap = (size_t)(a->rate_ms / SAMPLE_MS) + 2};
    r->t = mf_xcalloc(r->cap, sizeof *r->t);
    r->v = mf_xcalloc(r->cap, sizeof *r->v);
    return r;
}

/* Add (now, v) and compute the rate over the window. */
static void rate_push(const struct alias *a, struct rate_series *r, int64_t now, double v)
{
    if (r->len == r->cap) {
        r->head = (r->head + 1) % r->cap;
        r->len--;
    }
    r->t[(r->head + r->len) % r->cap] = now;
    r->v[(r->head + r->len) % r->cap] = v;
    r->len++;
    while (r->len > 2 && now - r->t[(r->head + 1) % r->cap] >= a->rate_ms) {
        r->head = (r->head + 1) % r->cap;
        r->len--;
    }
    int64_t dt = now - r->t[r->head];
    r->rate = r->len >= 2 && dt > 0 ? (v - r->v[r->head]) * 1000.0 / (double)dt : 0;
    r->seen = true;
}

static void rate_cb(void *arg, const char *labels, mf_metric_type type, double value)
{
    struct gather *g = arg;
    (void)type;
    if (!matches(g->a, labels))
        return;
    rate_push(g->a, rate_series((struct alias *)g->a, labels), g->now, value);
}

void mf_metric_aliases_sample(mf_metric_aliases *set, int64_t now_ms)
{
    if (!set || !set->m || now_ms < set->next_sample)
        return;
    set->next_sample = now_ms + SAMPLE_MS;
    pthread_mutex_lock(&set->mu);
    for (size_t i = 0; i < set->n; i++) {
        struct alias *a = &set->a[i];
        if (!a->rate_ms || a->refused)
            continue;
        for (size_t k = 0; k < a->n_rates; k++)
            a->rates[k].seen = false;
        struct gather g = {.a = a, .type = -1, .set = set, .now = now_ms};
        if (a->agg == AGG_NONE) {
            mf_metrics_each(set->m, a->metric, rate_cb, &g);
        } else {
            mf_metrics_each(set->m, a->metric, gather_cb, &g);
            if (g.n || a->agg == AGG_SUM)
                rate_push(a, rate_series(a, ""), now_ms, g.n ? g.acc : 0);
        }
    }
    pthread_mutex_unlock(&set->mu);
}

static void render(void *arg, mf_str *out)
{
    mf_metric_aliases *set = arg;
    pthread_mutex_lock(&set->mu);
    for (size_t i = 0; i < set->n; i++) {
        const struct alias *a = &set->a[i];
        if (a->refused)
            continue;
        if (a->rate_ms) {
            size_t shown = 0;
            for (size_t k = 0; k < a->n_rates; k++)
                if (a->rates[k].seen && shown++ == 0)
                    put_header(out, a, MF_METRIC_GAUGE);
            for (size_t k = 0; k < a->n_rates; k++)
                if (a->rates[k].seen)
                    put_sample(out, a, a->rates[k].labels, a->rates[k].rate);
            continue;
        }
        mf_str lines = {0};
        struct gather g = {.a = a, .type = -1, .out = a->agg == AGG_NONE ? &lines : NULL};
        mf_metrics_each(set->m, a->metric, gather_cb, &g);
        if (g.n || a->agg == AGG_SUM) {
            put_header(out, a, g.type);
            if (a->agg == AGG_NONE)
                mf_str_append(out, lines.data, lines.len);
            else
                put_sample(out, a, "", g.n ? g.acc : 0);
        }
        mf_str_free(&lines);
    }
    pthread_mutex_unlock(&set->mu);
}

void mf_metric_aliases_attach(mf_metric_aliases *set, mf_metrics *m)
{
    if (!set || !set->n)
        return;
    set->m = m;
    for (size_t i = 0; i < set->n; i++) {
        struct alias *a = &set->a[i];
        if (mf_metrics_each(m, a->name, NULL, NULL)) {
            a->refused = true;
            mf_log_error("settings.metric_aliases: '%s' is also a metric a node registers: that alias is not "
                         "rendered (the registered metric is)", a->name);
        } else if (!mf_metrics_each(m, a->metric, NULL, NULL)) {
            mf_log_info("settings.metric_aliases: '%s': no node registered %s (yet); it is rendered once one does",
                        a->name, a->metric);
        }
    }
    /* the first sample now, before any source runs: a rate counts from the start */
    mf_metric_aliases_sample(set, mf_time_mono_ms());
    mf_metrics_add_renderer(m, render, set);
}

void mf_metric_aliases_free(mf_metric_aliases *set)
{
    if (!set)
        return;
    for (size_t i = 0; i < set->n; i++) {
        struct alias *a = &set->a[i];
        free(a->name);
        free(a->metric);
        free(a->help);
        for (size_t k = 0; k < a->n_match; k++) {
            free(a->match[k].label);
            for (size_t j = 0; j < a->match[k].n_values; j++)
                free(a->match[k].values[j]);
            free(a->match[k].values);
        }
        free(a->match);
        for (size_t k = 0; k < a->n_extra; k++) {
            free(a->extra_names[k]);
            free(a->extra_values[k]);
        }
        free(a->extra_names);
        free(a->extra_values);
        for (size_t k = 0; k < a->n_rates; k++) {
            free(a->rates[k].labels);
            free(a->rates[k].t);
            free(a->rates[k].v);
        }
        free(a->rates);
    }
    free(set->a);
    pthread_mutex_destroy(&set->mu);
    free(set);
}
