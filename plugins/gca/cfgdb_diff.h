/*
 * cfgdb_diff.h — what changed between two reads of the configuration: an
 * upsert for each object that is new or whose data changed, a delete for each
 * object that is gone, nothing for the others (docs/cfgdb.md, "Change sets").
 *
 * Versions: the configuration database has no version column, so GCA keeps
 * one per object: the number of the change set that last changed it. The
 * diff gives every object of `next` its version (the previous one when
 * unchanged, `change_set` when new or changed); a delete carries `change_set`
 * too, so a recreated object's version is above its delete's.
 */
#ifndef GCA_CFGDB_DIFF_H
#define GCA_CFGDB_DIFF_H

#include "cfgdb_set.h"

typedef struct cfgdb_change {
    bool is_delete;
    gca_type type;
    int64_t dbid, version;
    const cfgdb_obj *obj; /* upsert: the object in next (borrowed); delete: NULL */
} cfgdb_change;

typedef struct cfgdb_changes {
    cfgdb_change *items;
    size_t n, cap;
    size_t upserts, deletes;
} cfgdb_changes;

/*
 * prev and next sorted (cfgdb_set_sort). Fills out (emptied first) with the
 * upserts in type order, then the deletes in reverse type order, each by
 * DBID, and sets the version of every object of next. out borrows next's
 * objects: valid while next is unchanged.
 */
void cfgdb_diff(const cfgdb_set *prev, cfgdb_set *next, int64_t change_set, cfgdb_changes *out);

void cfgdb_changes_free(cfgdb_changes *c);

#endif
