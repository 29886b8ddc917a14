/* cfg_cache.c — see cfg_cache.h.
 *
 * Each tenant has one chained hash map over byte keys holding three kinds of
 * entries, told apart by the first byte:
 *   [type][dbid: 8 bytes]          -> the object (its identity)
 *   [type | 0x80][code bytes]      -> the latest object of that type with this
 *                                     code (login code, DN number, action code),
 *                                     others of the same code chained by next_code
 *   [0xFF][login dbid: 8 bytes]    -> the person listing that agent login
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg_cache.h"

#define K_CODE 0x80
#define K_LOGIN_PERSON 0xFF

static char empty[1];

static const char *const type_names[CFG_TYPE_COUNT] = {
    "", "CfgPerson", "CfgAgentLogin", "CfgDN", "CfgPlace", "CfgAgentGroup", "CfgSkill", "CfgSwitch",
    "CfgActionCode", "CfgTenant",
};

const char *cfg_type_name(cfg_type t)
{
    return (unsigned)t < CFG_TYPE_COUNT ? type_names[t] : "";
}

cfg_type cfg_type_parse(const char *name)
{
    for (int t = 1; t < CFG_TYPE_COUNT; t++)
        if (strcmp(name, type_names[t]) == 0)
            return (cfg_type)t;
    return CFG_NONE;
}

/* Types whose objects are found by a code as well as by DBID. */
static bool has_code(cfg_type t)
{
    return t == CFG_AGENT_LOGIN || t == CFG_DN || t == CFG_ACTION_CODE;
}

/* ---- the map ------------------------------------------------------------------ */

struct entry {
    struct entry *next;
    void *val;
    uint64_t hash;
    uint32_t len;
    unsigned char key[];
};

struct map {
    struct entry **b;
    size_t cap, n;
};

static uint64_t hash_bytes(const unsigned char *k, size_t n)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (size_t i = 0; i < n; i++)
        h = (h ^ k[i]) * 1099511628211ULL;
    return h;
}

static struct entry **map_slot(const struct map *m, const unsigned char *k, size_t n, uint64_t h)
{
    if (!m->cap)
        return NULL;
    struct entry **p = &m->b[h & (m->cap - 1)];
    while (*p && !((*p)->hash == h && (*p)->len == n && memcmp((*p)->key, k, n) == 0))
        p = &(*p)->next;
    return p;
}

static void *map_get(const struct map *m, const unsigned char *k, size_t n)
{
    struct entry **p = map_slot(m, k, n, hash_bytes(k, n));
    return p && *p ? (*p)->val : NULL;
}

static void map_grow(struct map *m)
{
    size_t cap = m->cap ? m->cap * 2 : 64;
    struct entry **b = mf_xcalloc(cap, sizeof *b);
    for (size_t i = 0; i < m->cap; i++)
        for (struct entry *e = m->b[i], *next; e; e = next) {
            next = e->next;
            e->next = b[e->hash & (cap - 1)];
            b[e->hash & (cap - 1)] = e;
        }
    free(m->b);
    m->b = b;
    m->cap = cap;
}

static void map_put(struct map *m, const unsigned char *k, size_t n, void *val)
{
    uint64_t h = hash_bytes(k, n);
    struct entry **p = map_slot(m, k, n, h);
    if (p && *p) {
        (*p)->val = val;
        return;
    }
    if (m->n >= m->cap) {
        map_grow(m);
        p = map_slot(m, k, n, h);
    }
    struct entry *e = mf_xcalloc(1, sizeof *e + n);
    e->val = val;
    e->hash = h;
    e->len = (uint32_t)n;
    memcpy(e->key, k, n);
    *p = e;
    m->n++;
}

static void map_del(struct map *m, const unsigned char *k, size_t n)
{
    struct entry **p = map_slot(m, k, n, hash_bytes(k, n));
    if (!p || !*p)
        return;
    struct entry *e = *p;
    *p = e->next;
    free(e);
    m->n--;
}

/* ---- keys --------------------------------------------------------------------- */

struct key {
    unsigned char b[9];
};

static struct key id_key(unsigned char kind, int64_t dbid)
{
    struct key k = {{kind}};
    for (int i = 0; i < 8; i++)
        k.b[1 + i] = (unsigned char)((uint64_t)dbid >> (8 * i));
    return k;
}

/* [type | K_CODE][code] in buf (at most 1 + 255 bytes of code: longer codes
 * are not real configuration and are truncated for the index). */
static size_t code_key(unsigned char *buf, cfg_type t, const char *code, size_t len)
{
    if (len > 255)
        len = 255;
    buf[0] = (unsigned char)(t | K_CODE);
    memcpy(buf + 1, code, len);
    return len + 1;
}

/* ---- the cache ---------------------------------------------------------------- */

struct tenant {
    char *name;
    size_t name_len;
    struct map map;
    struct map dead; /* [type][dbid] -> the version of its delete (an int64_t), while it is not recreated */
    size_t n_objects;
};

struct cfg_cache {
    struct tenant *t;
    size_t n_t;
    size_t max_objects, n_objects;
    size_t n_dead; /* tombstones, at most max_objects */
};

cfg_cache *cfg_cache_new(size_t max_objects)
{
    cfg_cache *c = mf_xcalloc(1, sizeof *c);
    c->max_objects = max_objects;
    return c;
}

static void str_free(char *s)
{
    if (s != empty)
        free(s);
}

static void obj_free(cfg_obj *o)
{
    if (!o)
        return;
    str_free(o->name);
    str_free(o->code);
    str_free(o->subtype);
    str_free(o->user_name);
    str_free(o->first_name);
    str_free(o->last_name);
    str_free(o->employee_id);
    free(o->refs);
    free(o);
}

static void clear(cfg_cache *c)
{
    for (size_t i = 0; i < c->n_t; i++) {
        struct map *m = &c->t[i].map;
        for (size_t b = 0; b < m->cap; b++)
            for (struct entry *e = m->b[b], *next; e; e = next) {
                next = e->next;
                if (e->len == 9 && e->key[0] < CFG_TYPE_COUNT)
                    obj_free(e->val);
                free(e);
            }
        free(m->b);
        struct map *d = &c->t[i].dead;
        for (size_t b = 0; b < d->cap; b++)
            for (struct entry *e = d->b[b], *next; e; e = next) {
                next = e->next;
                free(e->val);
                free(e);
            }
        free(d->b);
        free(c->t[i].name);
    }
    free(c->t);
    c->t = NULL;
    c->n_t = 0;
    c->n_objects = 0;
    c->n_dead = 0;
}

void cfg_cache_free(cfg_cache *c)
{
    if (!c)
        return;
    clear(c);
    free(c);
}

static struct tenant *find_tenant(const cfg_cache *c, const char *name, size_t len)
{
    for (size_t i = 0; i < c->n_t; i++)
        if (c->t[i].name_len == len && memcmp(c->t[i].name, name, len) == 0)
            return &c->t[i];
    return NULL;
}

static struct tenant *tenant_of(cfg_cache *c, const char *name)
{
    struct tenant *t = find_tenant(c, name, strlen(name));
    if (t)
        return t;
    c->t = mf_xrealloc(c->t, (c->n_t + 1) * sizeof *c->t);
    t = &c->t[c->n_t++];
    memset(t, 0, sizeof *t);
    t->name = mf_xstrdup(name);
    t->name_len = strlen(name);
    return t;
}

/* Index o by code and, for a person, its logins. */
static void index_obj(struct tenant *t, cfg_obj *o)
{
    unsigned char buf[256];
    if (has_code(o->type) && o->code[0]) {
        size_t n = code_key(buf, o->type, o->code, strlen(o->code));
        o->next_code = map_get(&t->map, buf, n);
        map_put(&t->map, buf, n, o);
    }
    if (o->type == CFG_PERSON)
        for (size_t i = 0; i < o->n_refs; i++) {
            struct key k = id_key(K_LOGIN_PERSON, o->refs[i]);
            map_put(&t->map, k.b, sizeof k.b, o);
        }
}

static void unindex_obj(struct tenant *t, cfg_obj *o)
{
    unsigned char buf[256];
    if (has_code(o->type) && o->code[0]) {
        size_t n = code_key(buf, o->type, o->code, strlen(o->code));
        cfg_obj *head = map_get(&t->map, buf, n);
        if (head == o) {
            if (o->next_code)
                map_put(&t->map, buf, n, o->next_code);
            else
                map_del(&t->map, buf, n);
        } else {
            for (cfg_obj *p = head; p; p = p->next_code)
                if (p->next_code == o) {
                    p->next_code = o->next_code;
                    break;
                }
        }
        o->next_code = NULL;
    }
    if (o->type == CFG_PERSON)
        for (size_t i = 0; i < o->n_refs; i++) {
            struct key k = id_key(K_LOGIN_PERSON, o->refs[i]);
            if (map_get(&t->map, k.b, sizeof k.b) == o)
                map_del(&t->map, k.b, sizeof k.b);
        }
}

/* Tombstones: the version of an object's delete, kept while the object is
 * absent, so that an upsert older than the delete, arriving after it, is
 * stale rather than a resurrection. That happens when two inputs race: the
 * GCA snapshot (source gcasnapshot) and the gca-cfg topic read from the
 * snapshot's offsets reach a node in any interleaving. */
static int64_t dead_version(const struct tenant *t, const struct key *k)
{
    const int64_t *v = map_get(&t->dead, k->b, sizeof k->b);
    return v ? *v : -1;
}

static void bury(cfg_cache *c, struct tenant *t, const struct key *k, int64_t version)
{
    if (version < 0)
        return; /* a delete without a version orders nothing */
    int64_t *v = map_get(&t->dead, k->b, sizeof k->b);
    if (v) {
        if (version > *v)
            *v = version;
        return;
    }
    if (c->n_dead >= c->max_objects)
        return; /* bounded: beyond, a late older upsert could come back (counted as applied) */
    v = mf_xmalloc(sizeof *v);
    *v = version;
    map_put(&t->dead, k->b, sizeof k->b, v);
    c->n_dead++;
}

static void unbury(cfg_cache *c, struct tenant *t, const struct key *k)
{
    int64_t *v = map_get(&t->dead, k->b, sizeof k->b);
    if (!v)
        return;
    map_del(&t->dead, k->b, sizeof k->b);
    free(v);
    c->n_dead--;
}

/* Put o (owned, o->tenant not yet set) in place of the object of its
 * identity, if any. */
static cfg_result put_obj(cfg_cache *c, const char *tenant, cfg_obj *o)
{
    struct tenant *t = tenant_of(c, tenant);
    struct key k = id_key((unsigned char)o->type, o->dbid);
    cfg_obj *old = map_get(&t->map, k.b, sizeof k.b);
    if (old && o->version >= 0 && old->version > o->version) {
        obj_free(o);
        return CFG_STALE;
    }
    int64_t dead = old ? -1 : dead_version(t, &k);
    if (dead >= 0 && o->version >= 0 && dead >= o->version) {
        obj_free(o);
        return CFG_STALE; /* deleted after this version */
    }
    if (!old && c->n_objects >= c->max_objects) {
        obj_free(o);
        return CFG_FULL;
    }
    o->tenant = t->name;
    unbury(c, t, &k);
    if (old) {
        unindex_obj(t, old);
        obj_free(old);
    } else {
        c->n_objects++;
        t->n_objects++;
    }
    map_put(&t->map, k.b, sizeof k.b, o);
    index_obj(t, o);
    return CFG_APPLIED;
}

/* ---- decoding ----------------------------------------------------------------- */

bool cfg_is_config(const json_t *rec)
{
    return json_is_object(rec) && json_object_get(rec, "type") && json_object_get(rec, "dbid") &&
           !json_object_get(rec, "id");
}

bool cfg_decode(const json_t *rec, cfg_change *out, char *why, size_t why_len)
{
    memset(out, 0, sizeof *out);
    if (!json_is_object(rec)) {
        snprintf(why, why_len, "a gca-cfg record is a JSON object");
        return false;
    }
    const json_t *op = json_object_get(rec, "op"), *type = json_object_get(rec, "type");
    const json_t *dbid = json_object_get(rec, "dbid"), *tenant = json_object_get(rec, "tenant");
    const json_t *version = json_object_get(rec, "version"), *data = json_object_get(rec, "data");
    const char *ops = json_string_value(op);
    if (!ops || (strcmp(ops, "upsert") != 0 && strcmp(ops, "delete") != 0)) {
        snprintf(why, why_len, "field 'op' must be \"upsert\" or \"delete\"");
        return false;
    }
    out->is_delete = ops[0] == 'd';
    if (!json_is_string(type) || !(out->type = cfg_type_parse(json_string_value(type)))) {
        snprintf(why, why_len, "field 'type' must name a configuration type (CfgPerson, CfgAgentLogin, CfgDN, "
                               "CfgPlace, CfgAgentGroup, CfgSkill, CfgSwitch, CfgActionCode, CfgTenant)");
        return false;
    }
    if (!json_is_integer(dbid)) {
        snprintf(why, why_len, "field 'dbid' must be an integer");
        return false;
    }
    out->dbid = json_integer_value(dbid);
    if (!json_is_string(tenant) || !json_string_length(tenant)) {
        snprintf(why, why_len, "missing mandatory field 'tenant'");
        return false;
    }
    out->tenant = json_string_value(tenant);
    out->version = -1;
    if (version && !json_is_integer(version)) {
        snprintf(why, why_len, "field 'version' must be an integer");
        return false;
    }
    if (version)
        out->version = json_integer_value(version);
    if (out->is_delete)
        return true;
    if (!version) {
        snprintf(why, why_len, "missing mandatory field 'version' (an upsert's)");
        return false;
    }
    if (!json_is_object(data)) {
        snprintf(why, why_len, "field 'data' must be an object (an upsert's)");
        return false;
    }
    const json_t *inner = json_object_get(data, "dbid");
    if (inner && (!json_is_integer(inner) || json_integer_value(inner) != out->dbid)) {
        snprintf(why, why_len, "field 'data.dbid' is not the record's dbid %lld", (long long)out->dbid);
        return false;
    }
    out->data = data;
    return true;
}

static char *get_str(const json_t *data, const char *name)
{
    const char *s = json_string_value(json_object_get(data, name));
    return s && *s ? mf_xstrdup(s) : empty;
}

static int64_t get_int(const json_t *data, const char *name)
{
    const json_t *v = json_object_get(data, name);
    return json_is_integer(v) ? json_integer_value(v) : 0;
}

/* An array of DBIDs: integers, or objects whose `field` is one. */
static void get_refs(cfg_obj *o, const json_t *arr, const char *field)
{
    size_t i;
    const json_t *v;
    if (!json_is_array(arr))
        return;
    o->refs = mf_xcalloc(json_array_size(arr) + 1, sizeof *o->refs);
    json_array_foreach(arr, i, v) {
        const json_t *id = json_is_object(v) ? json_object_get(v, field) : v;
        if (json_is_integer(id))
            o->refs[o->n_refs++] = json_integer_value(id);
    }
}

cfg_result cfg_cache_apply(cfg_cache *c, const cfg_change *ch)
{
    if (ch->is_delete) {
        struct tenant *t = tenant_of(c, ch->tenant);
        struct key k = id_key((unsigned char)ch->type, ch->dbid);
        cfg_obj *old = map_get(&t->map, k.b, sizeof k.b);
        if (!old) {
            bury(c, t, &k, ch->version);
            return CFG_ABSENT;
        }
        if (ch->version >= 0 && old->version > ch->version)
            return CFG_STALE;
        bury(c, t, &k, ch->version);
        unindex_obj(t, old);
        map_del(&t->map, k.b, sizeof k.b);
        obj_free(old);
        c->n_objects--;
        t->n_objects--;
        return CFG_APPLIED;
    }
    const json_t *d = ch->data;
    cfg_obj *o = mf_xcalloc(1, sizeof *o);
    o->type = ch->type;
    o->dbid = ch->dbid;
    o->version = ch->version;
    o->name = get_str(d, "name");
    o->code = get_str(d, ch->type == CFG_AGENT_LOGIN ? "login_code" : ch->type == CFG_DN ? "number" : "code");
    o->subtype = get_str(d, "type");
    o->user_name = get_str(d, "user_name");
    o->first_name = get_str(d, "first_name");
    o->last_name = get_str(d, "last_name");
    o->employee_id = get_str(d, "employee_id");
    o->switch_dbid = get_int(d, "switch_dbid");
    o->is_agent = get_int(d, "is_agent");
    o->state = get_int(d, "state");
    if (ch->type == CFG_PERSON)
        get_refs(o, json_object_get(d, "agent_logins"), "agent_login_dbid");
    else if (ch->type == CFG_AGENT_GROUP)
        get_refs(o, json_object_get(d, "members"), "dbid");
    return put_obj(c, ch->tenant, o);
}

/* ---- lookups ------------------------------------------------------------------ */

const cfg_obj *cfg_cache_get(const cfg_cache *c, const char *tenant, size_t tenant_len, cfg_type type, int64_t dbid)
{
    const struct tenant *t = find_tenant(c, tenant, tenant_len);
    struct key k = id_key((unsigned char)type, dbid);
    return t ? map_get(&t->map, k.b, sizeof k.b) : NULL;
}

size_t cfg_cache_tenant_objects(const cfg_cache *c, const char *tenant, size_t tenant_len)
{
    const struct tenant *t = find_tenant(c, tenant, tenant_len);
    return t ? t->n_objects : 0;
}

const char *cfg_cache_switch_name(const cfg_cache *c, const char *tenant, int64_t switch_dbid)
{
    const cfg_obj *sw = cfg_cache_get(c, tenant, strlen(tenant), CFG_SWITCH, switch_dbid);
    return sw ? sw->name : "";
}

static const cfg_obj *by_code(const cfg_cache *c, const char *tenant, size_t tenant_len, cfg_type type,
                              const char *code, size_t len)
{
    const struct tenant *t = find_tenant(c, tenant, tenant_len);
    if (!t || !len || len > 255)
        return NULL;
    unsigned char buf[256];
    size_t n = code_key(buf, type, code, len);
    return map_get(&t->map, buf, n);
}

const cfg_obj *cfg_cache_login_person(const cfg_cache *c, const char *tenant, int64_t login_dbid)
{
    const struct tenant *t = find_tenant(c, tenant, strlen(tenant));
    struct key k = id_key(K_LOGIN_PERSON, login_dbid);
    return t ? map_get(&t->map, k.b, sizeof k.b) : NULL;
}

bool cfg_cache_agent(const cfg_cache *c, const char *tenant, size_t tenant_len, const char *login_code,
                     size_t code_len, cfg_agent *out)
{
    memset(out, 0, sizeof *out);
    out->switch_name = "";
    const cfg_obj *l = by_code(c, tenant, tenant_len, CFG_AGENT_LOGIN, login_code, code_len);
    if (!l)
        return false;
    out->login = l;
    out->person = cfg_cache_login_person(c, l->tenant, l->dbid);
    out->switch_name = cfg_cache_switch_name(c, l->tenant, l->switch_dbid);
    return true;
}

bool cfg_cache_dn(const cfg_cache *c, const char *tenant, size_t tenant_len, const char *number, size_t len,
                  cfg_dn *out)
{
    memset(out, 0, sizeof *out);
    out->switch_name = "";
    const cfg_obj *d = by_code(c, tenant, tenant_len, CFG_DN, number, len);
    if (!d)
        return false;
    out->dn = d;
    out->switch_name = cfg_cache_switch_name(c, d->tenant, d->switch_dbid);
    for (const cfg_obj *o = d->next_code; o; o = o->next_code)
        out->ambiguous |= o->switch_dbid != d->switch_dbid;
    return true;
}

const char *cfg_cache_reason_name(const cfg_cache *c, const char *tenant, size_t tenant_len, const char *code,
                                  size_t len)
{
    const cfg_obj *a = by_code(c, tenant, tenant_len, CFG_ACTION_CODE, code, len);
    return a ? a->name : NULL;
}

void cfg_cache_each(const cfg_cache *c, const char *tenant, cfg_type type, bool (*fn)(void *arg, const cfg_obj *o),
                    void *arg)
{
    const struct tenant *t = find_tenant(c, tenant, strlen(tenant));
    if (!t)
        return;
    for (size_t b = 0; b < t->map.cap; b++)
        for (const struct entry *e = t->map.b[b]; e; e = e->next)
            if (e->len == 9 && e->key[0] == (unsigned char)type && !fn(arg, e->val))
                return;
}

size_t cfg_cache_tenants(const cfg_cache *c)
{
    return c->n_t;
}

const char *cfg_cache_tenant_name(const cfg_cache *c, size_t i)
{
    return i < c->n_t ? c->t[i].name : NULL;
}

size_t cfg_cache_objects(const cfg_cache *c)
{
    return c->n_objects;
}

/* ---- snapshot ----------------------------------------------------------------- */

static const char magic[4] = {'M', 'F', 'C', '1'};

static void put_u64(mf_buffer *out, uint64_t v)
{
    unsigned char b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)(v >> (8 * i));
    mf_buffer_append(out, b, 8);
}

static void put_str(mf_buffer *out, const char *s)
{
    size_t n = strlen(s);
    put_u64(out, n);
    mf_buffer_append(out, s, n);
}

struct save_ctx {
    mf_buffer *out;
    const char *tenant;
};

static bool save_one(void *arg, const cfg_obj *o)
{
    struct save_ctx *s = arg;
    put_u64(s->out, (uint64_t)o->type);
    put_str(s->out, s->tenant);
    put_u64(s->out, (uint64_t)o->dbid);
    put_u64(s->out, (uint64_t)o->version);
    const char *strs[] = {o->name, o->code, o->subtype, o->user_name, o->first_name, o->last_name, o->employee_id};
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
        put_str(s->out, strs[i]);
    put_u64(s->out, (uint64_t)o->switch_dbid);
    put_u64(s->out, (uint64_t)o->is_agent);
    put_u64(s->out, (uint64_t)o->state);
    put_u64(s->out, o->n_refs);
    for (size_t i = 0; i < o->n_refs; i++)
        put_u64(s->out, (uint64_t)o->refs[i]);
    return true;
}

void cfg_cache_save(const cfg_cache *c, mf_buffer *out)
{
    mf_buffer_append(out, magic, sizeof magic);
    put_u64(out, c->n_objects);
    for (size_t i = 0; i < c->n_t; i++) {
        struct save_ctx s = {out, c->t[i].name};
        for (int type = 1; type < CFG_TYPE_COUNT; type++)
            cfg_cache_each(c, c->t[i].name, (cfg_type)type, save_one, &s);
    }
}

struct reader {
    const uint8_t *p, *end;
    bool bad;
};

static uint64_t get_u64(struct reader *r)
{
    if (r->end - r->p < 8) {
        r->bad = true;
        return 0;
    }
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)r->p[i] << (8 * i);
    r->p += 8;
    return v;
}

static char *read_str(struct reader *r)
{
    uint64_t n = get_u64(r);
    if (r->bad || n > (uint64_t)(r->end - r->p) || memchr(r->p, 0, n)) {
        r->bad = true;
        return empty;
    }
    char *s = n ? mf_xstrndup((const char *)r->p, n) : empty;
    r->p += n;
    return s;
}

bool cfg_cache_load(cfg_cache *c, const uint8_t *data, size_t len)
{
    struct reader r = {data, data + len, false};
    clear(c);
    if (len < sizeof magic || memcmp(data, magic, sizeof magic) != 0)
        return false;
    r.p += sizeof magic;
    uint64_t n = get_u64(&r);
    for (uint64_t i = 0; i < n && !r.bad; i++) {
        cfg_obj *o = mf_xcalloc(1, sizeof *o);
        uint64_t type = get_u64(&r);
        char *tenant = read_str(&r);
        o->type = type > 0 && type < CFG_TYPE_COUNT ? (cfg_type)type : CFG_NONE;
        o->dbid = (int64_t)get_u64(&r);
        o->version = (int64_t)get_u64(&r);
        char **strs[] = {&o->name, &o->code, &o->subtype, &o->user_name, &o->first_name, &o->last_name,
                         &o->employee_id};
        for (size_t s = 0; s < sizeof strs / sizeof strs[0]; s++)
            *strs[s] = read_str(&r);
        o->switch_dbid = (int64_t)get_u64(&r);
        o->is_agent = (int64_t)get_u64(&r);
        o->state = (int64_t)get_u64(&r);
        uint64_t nr = get_u64(&r);
        if (!r.bad && nr <= (uint64_t)(r.end - r.p) / 8) {
            o->refs = mf_xcalloc(nr + 1, sizeof *o->refs);
            for (uint64_t k = 0; k < nr; k++)
                o->refs[o->n_refs++] = (int64_t)get_u64(&r);
        } else
            r.bad = true;
        bool ok = !r.bad && o->type != CFG_NONE && tenant[0];
        if (!ok)
            obj_free(o);
        else if (put_obj(c, tenant, o) != CFG_APPLIED)
            ok = false; /* a duplicate or too many: put_obj freed it */
        r.bad |= !ok;
        str_free(tenant);
    }
    if (r.bad || r.p != r.end) {
        clear(c);
        return false;
    }
    return true;
}
