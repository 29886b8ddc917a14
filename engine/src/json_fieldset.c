/*
 * json_fieldset.c — field paths (the syntax of martflow/fieldpath.h) turned
 * into the step tries json_fast.h reads: one path into a chain, a set of
 * paths into one trie that a single pass over a document fills.
 */
#include "json_fieldset.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static void set_error(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void set_error(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

size_t mf_json_path_max_steps(const char *text)
{
    size_t n = 1;
    for (const char *p = text; *p; p++)
        n += *p == '.';
    return n;
}

int mf_json_path_parse(const char *text, char *names, mf_json_step *steps, char *err, size_t errlen)
{
    if (!*text) {
        set_error(err, errlen, "empty field path");
        return -1;
    }
    int n = 0;
    char *w = names, *start = names;
    for (const char *p = text;; p++) {
        if (*p == '\\') {
            if (p[1] != '.' && p[1] != '\\') {
                set_error(err, errlen, "field path '%s': '\\' must be followed by '.' or '\\'", text);
                return -1;
            }
            *w++ = *++p;
            continue;
        }
        if (*p != '.' && *p != '\0') {
            *w++ = *p;
            continue;
        }
        if (w == start) {
            set_error(err, errlen, "field path '%s': empty name (a path is name.name..., '\\.' for a dot)", text);
            return -1;
        }
        steps[n++] = (mf_json_step){.name = start, .len = (uint32_t)(w - start), .slot = -1, .child = -1, .next = -1};
        start = w;
        if (!*p)
            return n;
    }
}

void mf_json_chain_link(mf_json_step *nodes, int n, int32_t slot)
{
    nodes[0] = (mf_json_step){.slot = -1, .child = n ? 1 : -1, .next = -1, .n_children = n ? 1 : 0};
    for (int i = 1; i <= n; i++) {
        nodes[i].child = i < n ? i + 1 : -1;
        nodes[i].n_children = i < n ? 1 : 0;
    }
    nodes[n].slot = slot;
}

/* The child of nodes[parent] named like step, added if new. */
static int32_t child_for(mf_json_fieldset *set, int32_t parent, const mf_json_step *step)
{
    mf_json_step *nodes = set->nodes;
    int32_t *link = &nodes[parent].child;
    while (*link >= 0) {
        mf_json_step *c = &nodes[*link];
        if (c->len == step->len && memcmp(c->name, step->name, step->len) == 0)
            return *link;
        link = &c->next;
    }
    int32_t id = (int32_t)set->n_nodes++;
    nodes[id] = *step;
    *link = id;
    nodes[parent].n_children++;
    return id;
}

mf_json_fieldset *mf_json_fieldset_new(const char *const *paths, size_t n, char *err, size_t errlen)
{
    size_t max_nodes = 1, text = 0;
    for (size_t i = 0; i < n; i++) {
        if (!paths[i]) {
            set_error(err, errlen, "field path %zu of %zu is NULL", i + 1, n);
            return NULL;
        }
        max_nodes += mf_json_path_max_steps(paths[i]);
        text += strlen(paths[i]) + 1;
    }
    mf_json_fieldset *set = mf_xcalloc(1, sizeof *set);
    set->n_paths = n;
    set->nodes = mf_xcalloc(max_nodes, sizeof *set->nodes);
    set->names = mf_xmalloc(text ? text : 1);
    set->same_as = mf_xmalloc((n ? n : 1) * sizeof *set->same_as);
    mf_json_step *steps = mf_xmalloc(max_nodes * sizeof *steps);
    set->nodes[0] = (mf_json_step){.slot = -1, .child = -1, .next = -1};
    set->n_nodes = 1;
    char *names = set->names;
    for (size_t i = 0; i < n; i++) {
        int k = mf_json_path_parse(paths[i], names, steps, err, errlen);
        if (k < 0)
            goto fail;
        names += strlen(paths[i]) + 1;
        int32_t at = 0;
        for (int s = 0; s < k; s++)
            at = child_for(set, at, &steps[s]);
        set->same_as[i] = set->nodes[at].slot;
        if (set->nodes[at].slot < 0)
            set->nodes[at].slot = (int32_t)i;
    }
    free(steps);
    return set;
fail:
    free(steps);
    mf_json_fieldset_free(set);
    return NULL;
}

void mf_json_fieldset_free(mf_json_fieldset *set)
{
    if (!set)
        return;
    free(set->nodes);
    free(set->names);
    free(set->same_as);
    free(set);
}
