/* cfgdb_diff.c — see cfgdb_diff.h. One merge walk over the two sorted sets. */
#include <stdlib.h>
#include <string.h>

#include <martflow/alloc.h>

#include "cfgdb_diff.h"

static void push(cfgdb_changes *c, cfgdb_change ch)
{
    if (c->n == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 64;
        c->items = mf_xrealloc(c->items, c->cap * sizeof *c->items);
    }
    c->items[c->n++] = ch;
}

static int cmp(const cfgdb_obj *x, const cfgdb_obj *y)
{
    if (x->type != y->type)
        return x->type < y->type ? -1 : 1;
    return x->dbid < y->dbid ? -1 : x->dbid > y->dbid;
}

/* Deletes, gathered in the walk's (forward) order, go last and reversed by
 * type, keeping DBID order within a type. */
static void append_deletes(cfgdb_changes *out, const cfgdb_change *dels, size_t n)
{
    size_t end = n;
    while (end > 0) {
        size_t start = end;
        while (start > 0 && dels[start - 1].type == dels[end - 1].type)
            start--;
        for (size_t i = start; i < end; i++)
            push(out, dels[i]);
        end = start;
    }
}

void cfgdb_diff(const cfgdb_set *prev, cfgdb_set *next, int64_t change_set, cfgdb_changes *out)
{
    out->n = out->upserts = out->deletes = 0;
    cfgdb_changes dels = {0};
    size_t i = 0, j = 0;
    while (i < prev->n || j < next->n) {
        const cfgdb_obj *p = i < prev->n ? &prev->objs[i] : NULL;
        cfgdb_obj *q = j < next->n ? &next->objs[j] : NULL;
        int c = !p ? 1 : !q ? -1 : cmp(p, q);
        if (c < 0) { /* gone */
            push(&dels, (cfgdb_change){.is_delete = true, .type = p->type, .dbid = p->dbid, .version = change_set});
            i++;
        } else if (c > 0) { /* new */
            q->version = change_set;
            push(out, (cfgdb_change){.type = q->type, .dbid = q->dbid, .version = change_set, .obj = q});
            j++;
        } else {
            if (p->data_len == q->data_len && memcmp(p->data, q->data, p->data_len) == 0) {
                q->version = p->version;
            } else {
                q->version = change_set;
                push(out, (cfgdb_change){.type = q->type, .dbid = q->dbid, .version = change_set, .obj = q});
            }
            i++;
            j++;
        }
    }
    out->upserts = out->n;
    out->deletes = dels.n;
    append_deletes(out, dels.items, dels.n);
    free(dels.items);
}

void cfgdb_changes_free(cfgdb_changes *c)
{
    free(c->items);
    memset(c, 0, sizeof *c);
}
