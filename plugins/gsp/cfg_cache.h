/*
 * cfg_cache.h — the current configuration of each tenant, as GSP keeps it
 * from the gca-cfg topic (docs/events.md §1 "gca-cfg"): persons with their
 * agent logins, agent logins, DNs, places, agent groups with their members,
 * skills, switches, action codes and the tenant object. For enrichment
 * (login code -> person and switch; DN number -> CfgDN type, switch and
 * name; reason code -> action code name) and for the gsp-cfg dimension rows
 * (cfg_rows.h).
 *
 * Identity is {tenant, type, dbid}. An upsert replaces the object unless it
 * is older (a lower `version`) than the one held; a delete removes it and
 * leaves a tombstone (its version) until the object comes back, so an
 * upsert no newer than the delete that arrives after it (the GCA snapshot
 * racing the topic) is stale too. The cache is bounded by a number of
 * objects given at creation (tombstones: as many again). Tombstones are
 * not saved (cfg_cache_save).
 *
 * Ownership: a cfg_cache owns every object and string in it (cfg_cache_free).
 * Every `const cfg_obj *` and `const char *` it returns is valid until the
 * next change of the cache (apply, load, free). Not thread-safe: one cache
 * per worker.
 */
#ifndef GSP_CFG_CACHE_H
#define GSP_CFG_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <martflow/martflow.h>

/* The object types of gca-cfg. Values are stored in snapshots: append only. */
typedef enum cfg_type {
    CFG_NONE = 0,
    CFG_PERSON,
    CFG_AGENT_LOGIN,
    CFG_DN,
    CFG_PLACE,
    CFG_AGENT_GROUP,
    CFG_SKILL,
    CFG_SWITCH,
    CFG_ACTION_CODE,
    CFG_TENANT,
    CFG_TYPE_COUNT
} cfg_type;

/* "CfgPerson", ... ("" for CFG_NONE); and back (CFG_NONE: unknown). */
const char *cfg_type_name(cfg_type t);
cfg_type cfg_type_parse(const char *name);

/* One configuration object. Strings are never NULL ("" when absent). Which
 * fields a type uses:
 *   CfgPerson      user_name, first_name, last_name, employee_id, is_agent,
 *                  state; refs: its agent logins' DBIDs
 *   CfgAgentLogin  code (login_code), switch_dbid
 *   CfgDN          code (number), switch_dbid, subtype (the CfgDN type), name
 *   CfgPlace, CfgSkill, CfgSwitch, CfgTenant   name
 *   CfgAgentGroup  name; refs: its member persons' DBIDs
 *   CfgActionCode  name, code, subtype (its type) */
typedef struct cfg_obj {
    cfg_type type;
    int64_t dbid, version;
    const char *tenant; /* the tenant's name, owned by the cache */
    char *name, *code, *subtype;
    char *user_name, *first_name, *last_name, *employee_id;
    int64_t switch_dbid, is_agent, state;
    int64_t *refs;
    size_t n_refs;
    struct cfg_obj *next_code; /* the cache's: objects of one type with the same code */
} cfg_obj;

typedef struct cfg_cache cfg_cache;

/* A cache of at most max_objects objects over all tenants. */
cfg_cache *cfg_cache_new(size_t max_objects);
void cfg_cache_free(cfg_cache *c);

/* A gca-cfg record, decoded and checked (cfg_decode) but not yet applied.
 * Borrows from the JSON it was decoded from; `data` is NULL for a delete. */
typedef struct cfg_change {
    bool is_delete;
    cfg_type type;
    int64_t dbid, version; /* version -1: not given (a delete may omit it) */
    const char *tenant;
    const json_t *data;
} cfg_change;

/* Does this JSON object look like a gca-cfg record rather than an event: a
 * `type` and a `dbid`, and no `id`? */
bool cfg_is_config(const json_t *rec);

/* Decode and check rec (docs/events.md §1 gca-cfg): false with a sentence in
 * why[0 .. why_len) naming the problem. */
bool cfg_decode(const json_t *rec, cfg_change *out, char *why, size_t why_len);

typedef enum cfg_result {
    CFG_APPLIED, /* the object was created, replaced or removed */
    CFG_STALE,   /* an older version than the one held: ignored */
    CFG_ABSENT,  /* a delete of an object the cache does not hold: nothing changed */
    CFG_FULL     /* a new object beyond max_objects: refused */
} cfg_result;

/* Apply a decoded change. A field of data of the wrong type is taken as
 * absent (the record is still the object's latest). */
cfg_result cfg_cache_apply(cfg_cache *c, const cfg_change *ch);

/* ---- lookups (tenant and key as bytes: they come from records) ------------- */

const cfg_obj *cfg_cache_get(const cfg_cache *c, const char *tenant, size_t tenant_len, cfg_type type, int64_t dbid);
/* Objects the tenant has (0: no configuration seen for it). */
size_t cfg_cache_tenant_objects(const cfg_cache *c, const char *tenant, size_t tenant_len);
/* The switch's name, "" when dbid names no switch the cache holds. */
const char *cfg_cache_switch_name(const cfg_cache *c, const char *tenant, int64_t switch_dbid);

/* An agent by login code: the login and the person it belongs to (NULL
 * when no person lists it), and the login's switch name ("" unknown).
 * False when the tenant has no agent login with this code. */
typedef struct cfg_agent {
    const cfg_obj *login;
    const cfg_obj *person;
    const char *switch_name;
} cfg_agent;
bool cfg_cache_agent(const cfg_cache *c, const char *tenant, size_t tenant_len, const char *login_code,
                     size_t code_len, cfg_agent *out);

/* A DN by number: the CfgDN (its subtype is the CfgDN type) and its switch
 * name. When several switches have a DN of that number, the most recently
 * applied one and *ambiguous true (the event does not say which). */
typedef struct cfg_dn {
    const cfg_obj *dn;
    const char *switch_name;
    bool ambiguous;
} cfg_dn;
bool cfg_cache_dn(const cfg_cache *c, const char *tenant, size_t tenant_len, const char *number, size_t len,
                  cfg_dn *out);

/* An action code's name by its code (Reasons.ReasonCode), NULL when unknown. */
const char *cfg_cache_reason_name(const cfg_cache *c, const char *tenant, size_t tenant_len, const char *code,
                                  size_t len);

/* The person that lists agent login login_dbid, or NULL. */
const cfg_obj *cfg_cache_login_person(const cfg_cache *c, const char *tenant, int64_t login_dbid);

/* Every object of a tenant of this type (any order): fn returns false to stop. */
void cfg_cache_each(const cfg_cache *c, const char *tenant, cfg_type type, bool (*fn)(void *arg, const cfg_obj *o),
                    void *arg);

/* The tenants the cache holds, as names: i in [0, cfg_cache_tenants()). */
size_t cfg_cache_tenants(const cfg_cache *c);
const char *cfg_cache_tenant_name(const cfg_cache *c, size_t i);
size_t cfg_cache_objects(const cfg_cache *c);

/* ---- snapshot ----------------------------------------------------------- */

/* Append the whole cache to out / replace the cache's content by what save
 * wrote. load returns false on malformed bytes (the cache is then empty). */
void cfg_cache_save(const cfg_cache *c, mf_buffer *out);
bool cfg_cache_load(cfg_cache *c, const uint8_t *data, size_t len);

#endif
