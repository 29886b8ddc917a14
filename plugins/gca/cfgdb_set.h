/*
 * cfgdb_set.h — a configuration as GCA holds it: a set of objects, each its
 * gca-cfg type, DBID, version and data (the object's fields as canonical
 * JSON text: compact, keys sorted), so that two reads of the same object
 * compare equal byte for byte (docs/cfgdb.md).
 *
 * The types are listed in the order GCA emits upserts (an object before the
 * objects that refer to it: a switch before its agent logins, a login before
 * the person using it); deletes go in the reverse order.
 *
 * Ownership: a set owns its objects and their data (cfgdb_set_free).
 */
#ifndef GCA_CFGDB_SET_H
#define GCA_CFGDB_SET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

typedef enum gca_type {
    GCA_TENANT = 0,
    GCA_SWITCH,
    GCA_AGENT_LOGIN,
    GCA_DN,
    GCA_PLACE,
    GCA_SKILL,
    GCA_ACTION_CODE,
    GCA_PERSON,
    GCA_AGENT_GROUP,
    GCA_TYPE_COUNT
} gca_type;

/* "CfgTenant", ...; and back (-1: not a gca-cfg type). */
const char *gca_type_name(gca_type t);
int gca_type_parse(const char *name);

typedef struct cfgdb_obj {
    gca_type type;
    int64_t dbid;
    int64_t version; /* 0: not assigned yet (a fresh read) */
    char *data;      /* canonical JSON object text, NUL-terminated, owned */
    size_t data_len;
} cfgdb_obj;

typedef struct cfgdb_set {
    cfgdb_obj *objs;
    size_t n, cap;
} cfgdb_set;

void cfgdb_set_init(cfgdb_set *s);
void cfgdb_set_free(cfgdb_set *s); /* then empty, reusable */
/* Move src's objects into dst (dst's previous objects freed); src is left empty. */
void cfgdb_set_move(cfgdb_set *dst, cfgdb_set *src);

/* The JSON text of v (any value) with jansson's dump flags, newly allocated
 * (free()), or NULL. */
char *cfgdb_json_text(const json_t *v, size_t flags, size_t *len);

/* Canonical text of a JSON object (compact, keys sorted, UTF-8 kept), newly
 * allocated (free()), or NULL when data is not an object. */
char *cfgdb_canonical(const json_t *data, size_t *len);

/* Add an object whose data is JSON text (parsed and made canonical). false
 * with a sentence in why when the text is not a JSON object. */
bool cfgdb_set_add_text(cfgdb_set *s, gca_type type, int64_t dbid, int64_t version, const char *text, size_t len,
                        char *why, size_t why_len);
/* Add an object whose data is already canonical text (taken: the set frees it). */
void cfgdb_set_add_owned(cfgdb_set *s, gca_type type, int64_t dbid, int64_t version, char *data, size_t len);

/* Sort by (type, dbid), the order cfgdb_diff needs. false with why when two
 * objects have the same identity (a broken read or snapshot). */
bool cfgdb_set_sort(cfgdb_set *s, char *why, size_t why_len);

/* Objects of each type: counts[GCA_TYPE_COUNT]. */
void cfgdb_set_count(const cfgdb_set *s, size_t *counts);

#endif
