/*
 * cfg_rows.h — the gsp-cfg dimension rows (docs/events.md §2.4, §3.3) the
 * configuration cache stands for, and which of them a change touches.
 *
 * A row comes from one "root" object: an agent login (RESOURCE_ of type
 * Agent, joined with the person that lists it and its switch), a DN
 * (RESOURCE_ of its kind, with its switch), a place (PLACE), an agent group
 * (RESOURCE_GROUP_ and one RESOURCE_GROUP_MEMBER_ per login of each member
 * person) and the tenant object (TENANT). A change of a joined object
 * (person, switch) touches every root it joins. The gspconfig transform
 * renders the touched roots' rows before and after a change and emits the
 * difference.
 *
 * Ownership: a cfg_roots and a cfg_rowset own their arrays and strings
 * (cfg_roots_free, cfg_rowset_free); zeroed is empty.
 */
#ifndef GSP_CFG_ROWS_H
#define GSP_CFG_ROWS_H

#include "cfg_cache.h"
#include "gsp_record.h"

typedef struct cfg_root {
    cfg_type type; /* CFG_AGENT_LOGIN, CFG_DN, CFG_PLACE, CFG_AGENT_GROUP, CFG_TENANT */
    int64_t dbid;
} cfg_root;

typedef struct cfg_roots {
    cfg_root *v;
    size_t n, cap;
} cfg_roots;

/* Add the roots whose rows the object {type, dbid} of tenant joins, as the
 * cache holds it now (call before and after applying a change: the union
 * covers what the object was joined with and what it is joined with). */
void cfg_roots_add_affected(cfg_roots *r, const cfg_cache *c, const char *tenant, cfg_type type, int64_t dbid);
void cfg_roots_free(cfg_roots *r);

typedef struct cfg_row {
    char *key;    /* "{tenant}:{table}:{natural key}" */
    char *upsert; /* the whole row, op upsert */
    char *del;    /* the natural key only, op delete */
} cfg_row;

typedef struct cfg_rowset {
    cfg_row *v;
    size_t n, cap;
} cfg_rowset;

/* Render the rows of each root as the cache holds it now (a root the cache
 * no longer holds has none). w is scratch. */
void cfg_rows_render(cfg_rowset *out, const cfg_cache *c, const char *tenant, const cfg_roots *r, gsp_rec *w);
/* The row of key in set, or NULL. */
const cfg_row *cfg_rowset_find(const cfg_rowset *set, const char *key);
void cfg_rowset_free(cfg_rowset *set);

/* The RESOURCE_ type of a CfgDN type ("ACDQueue" -> "Queue", ...), or NULL
 * for a DN that is not a resource (External, unknown types). */
const char *cfg_dn_resource_type(const char *cfg_dn_type);

#endif
