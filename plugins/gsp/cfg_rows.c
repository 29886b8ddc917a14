/* cfg_rows.c — see cfg_rows.h. */
#include <stdlib.h>
#include <string.h>

#include "cfg_rows.h"

/* ---- roots -------------------------------------------------------------------- */

static void add_root(cfg_roots *r, cfg_type type, int64_t dbid)
{
    for (size_t i = 0; i < r->n; i++)
        if (r->v[i].type == type && r->v[i].dbid == dbid)
            return;
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 8;
        r->v = mf_xrealloc(r->v, r->cap * sizeof *r->v);
    }
    r->v[r->n++] = (cfg_root){type, dbid};
}

void cfg_roots_free(cfg_roots *r)
{
    free(r->v);
    memset(r, 0, sizeof *r);
}

struct scan {
    cfg_roots *r;
    int64_t dbid; /* the person (groups) or switch (logins, DNs) looked for */
};

static bool group_lists(void *arg, const cfg_obj *g)
{
    struct scan *s = arg;
    for (size_t i = 0; i < g->n_refs; i++)
        if (g->refs[i] == s->dbid) {
            add_root(s->r, CFG_AGENT_GROUP, g->dbid);
            break;
        }
    return true;
}

static bool on_switch(void *arg, const cfg_obj *o)
{
    struct scan *s = arg;
    if (o->switch_dbid == s->dbid)
        add_root(s->r, o->type, o->dbid);
    return true;
}

static bool any_group(void *arg, const cfg_obj *g)
{
    add_root(((struct scan *)arg)->r, CFG_AGENT_GROUP, g->dbid);
    return true;
}

/* The person's logins and the groups listing the person. */
static void person_roots(cfg_roots *r, const cfg_cache *c, const char *tenant, const cfg_obj *p)
{
    for (size_t i = 0; i < p->n_refs; i++)
        add_root(r, CFG_AGENT_LOGIN, p->refs[i]);
    struct scan s = {r, p->dbid};
    cfg_cache_each(c, tenant, CFG_AGENT_GROUP, group_lists, &s);
}

void cfg_roots_add_affected(cfg_roots *r, const cfg_cache *c, const char *tenant, cfg_type type, int64_t dbid)
{
    size_t tl = strlen(tenant);
    const cfg_obj *o = cfg_cache_get(c, tenant, tl, type, dbid);
    switch (type) {
    case CFG_AGENT_LOGIN: {
        add_root(r, type, dbid);
        const cfg_obj *p = cfg_cache_login_person(c, tenant, dbid);
        if (p) {
            struct scan s = {r, p->dbid};
            cfg_cache_each(c, tenant, CFG_AGENT_GROUP, group_lists, &s); /* memberships name the login */
        }
        break;
    }
    case CFG_PERSON:
        if (o)
            person_roots(r, c, tenant, o);
        break;
    case CFG_SWITCH: {
        struct scan s = {r, dbid};
        cfg_cache_each(c, tenant, CFG_AGENT_LOGIN, on_switch, &s);
        cfg_cache_each(c, tenant, CFG_DN, on_switch, &s);
        cfg_cache_each(c, tenant, CFG_AGENT_GROUP, any_group, &s); /* memberships name the switch */
        break;
    }
    case CFG_DN:
    case CFG_PLACE:
    case CFG_AGENT_GROUP:
    case CFG_TENANT: add_root(r, type, dbid); break;
    default: break; /* skills and action codes make no rows */
    }
}

/* ---- rows --------------------------------------------------------------------- */

const char *cfg_dn_resource_type(const char *t)
{
    static const char *const map[][2] = {
        {"RoutingPoint", "RoutingPoint"}, {"ACDQueue", "Queue"},       {"VirtualQueue", "Queue"},
        {"Extension", "Extension"},       {"ACDPosition", "Extension"}, {"IVR", "IVR"},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(t, map[i][0]) == 0)
            return map[i][1];
    return NULL;
}

struct render {
    cfg_rowset *out;
    const cfg_cache *c;
    const char *tenant;
    size_t tl;
    gsp_rec *w;
    mf_buffer key;
};

static char *text_of(gsp_rec *w)
{
    gsp_rec_finish(w);
    return mf_xstrndup((const char *)w->buf.data, w->buf.len);
}

static void key_begin(struct render *x, const char *table)
{
    x->key.len = 0;
    mf_buffer_append_str(&x->key, x->tenant);
    mf_buffer_append_str(&x->key, ":");
    mf_buffer_append_str(&x->key, table);
}

/* Keys stay NUL-terminated (the NUL not counted) so they can be looked up. */
static void key_part(struct render *x, const char *part)
{
    mf_buffer_append_str(&x->key, ":");
    mf_buffer_append_str(&x->key, part);
    mf_buffer_append(&x->key, "", 1);
    x->key.len--;
}

/* Add a row: the upsert text is in x->w (finished here), the delete text
 * given; the key is x->key. */
static void add_row(struct render *x, char *del)
{
    cfg_rowset *s = x->out;
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 16;
        s->v = mf_xrealloc(s->v, s->cap * sizeof *s->v);
    }
    cfg_row *r = &s->v[s->n++];
    r->key = mf_xstrndup((const char *)x->key.data, x->key.len);
    r->upsert = text_of(x->w);
    r->del = del;
}

static void opt_cstr(gsp_rec *w, const char *name, const char *v)
{
    if (v && v[0])
        gsp_rec_cstr(w, name, v);
    else
        gsp_rec_null(w, name);
}

static void resource_key_fields(gsp_rec *w, const char *type, const char *sw, const char *name)
{
    gsp_rec_cstr(w, "resource_type", type);
    gsp_rec_cstr(w, "switch_name", sw);
    gsp_rec_cstr(w, "resource_name", name);
}

/* A login or DN on a switch the cache does not hold yet (the configuration
 * arrives in any order: a snapshot, a topic read again) makes no row until
 * the switch arrives and renders it (cfg_roots_add_affected): a row with
 * switch "" would be a second resource, and the facts naming the agent
 * without a switch would resolve to it instead of the configured one. */
static bool switch_known(const struct render *x, int64_t switch_dbid)
{
    return !switch_dbid || cfg_cache_get(x->c, x->tenant, strlen(x->tenant), CFG_SWITCH, switch_dbid);
}

static char *resource_delete(struct render *x, const char *type, const char *sw, const char *name)
{
    gsp_rec_begin(x->w, "RESOURCE_", "delete", x->tenant, x->tl);
    resource_key_fields(x->w, type, sw, name);
    return text_of(x->w);
}

static void login_row(struct render *x, const cfg_obj *l)
{
    if (!l->code[0] || !switch_known(x, l->switch_dbid))
        return;
    const char *sw = cfg_cache_switch_name(x->c, x->tenant, l->switch_dbid);
    const cfg_obj *p = cfg_cache_login_person(x->c, x->tenant, l->dbid);
    char *del = resource_delete(x, "Agent", sw, l->code);
    gsp_rec_begin(x->w, "RESOURCE_", "upsert", x->tenant, x->tl);
    resource_key_fields(x->w, "Agent", sw, l->code);
    opt_cstr(x->w, "agent_first_name", p ? p->first_name : NULL);
    opt_cstr(x->w, "agent_last_name", p ? p->last_name : NULL);
    opt_cstr(x->w, "employee_id", p ? p->employee_id : NULL);
    opt_cstr(x->w, "user_name", p ? p->user_name : NULL);
    gsp_rec_int(x->w, "resource_cfg_dbid", l->dbid);
    gsp_rec_cstr(x->w, "resource_cfg_type", "CfgAgentLogin");
    key_begin(x, "RESOURCE_");
    key_part(x, "Agent");
    key_part(x, sw);
    key_part(x, l->code);
    add_row(x, del);
}

static void dn_row(struct render *x, const cfg_obj *d)
{
    const char *type = cfg_dn_resource_type(d->subtype);
    if (!type || !d->code[0] || !switch_known(x, d->switch_dbid))
        return;
    const char *sw = cfg_cache_switch_name(x->c, x->tenant, d->switch_dbid);
    char *del = resource_delete(x, type, sw, d->code);
    gsp_rec_begin(x->w, "RESOURCE_", "upsert", x->tenant, x->tl);
    resource_key_fields(x->w, type, sw, d->code);
    gsp_rec_cstr(x->w, "resource_subtype", d->subtype);
    opt_cstr(x->w, "resource_alias", d->name);
    gsp_rec_int(x->w, "resource_cfg_dbid", d->dbid);
    gsp_rec_cstr(x->w, "resource_cfg_type", "CfgDN");
    key_begin(x, "RESOURCE_");
    key_part(x, type);
    key_part(x, sw);
    key_part(x, d->code);
    add_row(x, del);
}

static void place_row(struct render *x, const cfg_obj *p)
{
    if (!p->name[0])
        return;
    gsp_rec_begin(x->w, "PLACE", "delete", x->tenant, x->tl);
    gsp_rec_cstr(x->w, "place_name", p->name);
    char *del = text_of(x->w);
    gsp_rec_begin(x->w, "PLACE", "upsert", x->tenant, x->tl);
    gsp_rec_cstr(x->w, "place_name", p->name);
    gsp_rec_int(x->w, "place_cfg_dbid", p->dbid);
    key_begin(x, "PLACE");
    key_part(x, p->name);
    add_row(x, del);
}

static void member_fields(gsp_rec *w, const char *group, const char *sw, const char *code)
{
    gsp_rec_obj(w, "resource_group");
    gsp_rec_cstr(w, "group_type", "Agent");
    gsp_rec_cstr(w, "group_name", group);
    gsp_rec_end_obj(w);
    gsp_rec_obj(w, "resource");
    gsp_rec_cstr(w, "type", "Agent");
    gsp_rec_cstr(w, "name", code);
    gsp_rec_cstr(w, "switch", sw);
    gsp_rec_end_obj(w);
}

static void group_rows(struct render *x, const cfg_obj *g)
{
    if (!g->name[0])
        return;
    gsp_rec_begin(x->w, "RESOURCE_GROUP_", "delete", x->tenant, x->tl);
    gsp_rec_cstr(x->w, "group_type", "Agent");
    gsp_rec_cstr(x->w, "group_name", g->name);
    char *del = text_of(x->w);
    gsp_rec_begin(x->w, "RESOURCE_GROUP_", "upsert", x->tenant, x->tl);
    gsp_rec_cstr(x->w, "group_type", "Agent");
    gsp_rec_cstr(x->w, "group_name", g->name);
    gsp_rec_int(x->w, "group_cfg_dbid", g->dbid);
    key_begin(x, "RESOURCE_GROUP_");
    key_part(x, "Agent");
    key_part(x, g->name);
    add_row(x, del);
    /* One membership per agent login of each member person: the resource
     * of an agent is its login (§3.3). */
    for (size_t i = 0; i < g->n_refs; i++) {
        const cfg_obj *p = cfg_cache_get(x->c, x->tenant, x->tl, CFG_PERSON, g->refs[i]);
        for (size_t k = 0; p && k < p->n_refs; k++) {
            const cfg_obj *l = cfg_cache_get(x->c, x->tenant, x->tl, CFG_AGENT_LOGIN, p->refs[k]);
            if (!l || !l->code[0])
                continue;
            const char *sw = cfg_cache_switch_name(x->c, x->tenant, l->switch_dbid);
            gsp_rec_begin(x->w, "RESOURCE_GROUP_MEMBER_", "delete", x->tenant, x->tl);
            member_fields(x->w, g->name, sw, l->code);
            del = text_of(x->w);
            gsp_rec_begin(x->w, "RESOURCE_GROUP_MEMBER_", "upsert", x->tenant, x->tl);
            member_fields(x->w, g->name, sw, l->code);
            key_begin(x, "RESOURCE_GROUP_MEMBER_");
            key_part(x, "Agent");
            key_part(x, g->name);
            key_part(x, "Agent");
            key_part(x, sw);
            key_part(x, l->code);
            if (cfg_rowset_find(x->out, (const char *)x->key.data)) { /* a person listed twice */
                free(del);
                continue;
            }
            add_row(x, del);
        }
    }
}

static void tenant_row(struct render *x, const cfg_obj *t)
{
    gsp_rec_begin(x->w, "TENANT", "delete", x->tenant, x->tl);
    char *del = text_of(x->w);
    gsp_rec_begin(x->w, "TENANT", "upsert", x->tenant, x->tl);
    gsp_rec_int(x->w, "tenant_cfg_dbid", t->dbid);
    key_begin(x, "TENANT");
    key_part(x, x->tenant);
    add_row(x, del);
}

void cfg_rows_render(cfg_rowset *out, const cfg_cache *c, const char *tenant, const cfg_roots *r, gsp_rec *w)
{
    struct render x = {out, c, tenant, strlen(tenant), w, {0}};
    for (size_t i = 0; i < r->n; i++) {
        const cfg_obj *o = cfg_cache_get(c, tenant, x.tl, r->v[i].type, r->v[i].dbid);
        if (!o)
            continue;
        switch (o->type) {
        case CFG_AGENT_LOGIN: login_row(&x, o); break;
        case CFG_DN: dn_row(&x, o); break;
        case CFG_PLACE: place_row(&x, o); break;
        case CFG_AGENT_GROUP: group_rows(&x, o); break;
        case CFG_TENANT: tenant_row(&x, o); break;
        default: break;
        }
    }
    mf_buffer_free(&x.key);
}

const cfg_row *cfg_rowset_find(const cfg_rowset *set, const char *key)
{
    for (size_t i = 0; i < set->n; i++)
        if (strcmp(set->v[i].key, key) == 0)
            return &set->v[i];
    return NULL;
}

void cfg_rowset_free(cfg_rowset *set)
{
    for (size_t i = 0; i < set->n; i++) {
        free(set->v[i].key);
        free(set->v[i].upsert);
        free(set->v[i].del);
    }
    free(set->v);
    memset(set, 0, sizeof *set);
}
