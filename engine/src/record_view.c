/* record_view.c — see record_view.h. */
#include "record_view.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <martflow/plugin.h>

#include "batch.h"
#include "json_fast.h"
#include "json_fieldset.h"
#include "record.h"

/* json_get's paths are split on the stack up to this many steps. */
#define STACK_STEPS 16
#define STACK_PATH 256

static int fail(const mf_view_scratch *s, const char **error, int status)
{
    *error = s->errbuf;
    return status;
}

static void *arena_alloc(void *ctx, size_t n)
{
    struct mf_batch_impl **arena = ctx;
    if (!*arena)
        *arena = mf_batch_new();
    return mf_batch_alloc(*arena, n);
}

/* The bytes to read, checked by the rule (once per value). */
static int input_of(mf_record *rec, const mf_view_scratch *s, mf_json_input *in, const char **error)
{
    if (rec->flags & MF_RECORD_VALUE_NULL) {
        snprintf(s->errbuf, s->errlen, "record has no value");
        return fail(s, error, MF_REJECT);
    }
    size_t len;
    const uint8_t *bytes = mf_rec_value(rec, &len, s->arena);
    /* An edited stack record serialises anew on every call, so only the
     * record's own bytes keep the mark. */
    bool own = bytes == rec->value;
    if (!own || !mf_rec_json_valid(rec)) {
        if (!mf_json_check(bytes, len, s->errbuf, s->errlen))
            return fail(s, error, MF_REJECT);
        if (own)
            mf_rec_set_json_valid(rec);
    }
    in->bytes = bytes;
    in->len = len;
    size_t readable = mf_batch_readable(mf_record_batch(rec), bytes);
    if (!readable && s->arena)
        readable = mf_batch_readable(*s->arena, bytes);
    in->avail = readable > len ? readable : len;
    return MF_OK;
}

int mf_rec_json_check(mf_record *rec, const mf_view_scratch *s, const char **error)
{
    mf_json_input in;
    return input_of(rec, s, &in, error);
}

static int read_nodes(mf_record *rec, const mf_json_step *nodes, mf_json_view *out, const mf_view_scratch *s,
                      const char **error)
{
    mf_json_input in;
    int st = input_of(rec, s, &in, error);
    if (st != MF_OK)
        return st;
    mf_json_arena arena = {arena_alloc, s->arena};
    if (!mf_json_read(&in, nodes, out, &arena, s->errbuf, s->errlen))
        return fail(s, error, MF_REJECT);
    return MF_OK;
}

int mf_rec_json_get(mf_record *rec, const char *path, mf_json_view *out, const mf_view_scratch *s,
                    const char **error)
{
    *out = (mf_json_view){0};
    if (!path) {
        mf_json_step root = {.slot = 0, .child = -1, .next = -1};
        return read_nodes(rec, &root, out, s, error);
    }
    mf_json_step stack_nodes[STACK_STEPS + 1];
    char stack_names[STACK_PATH];
    size_t max = mf_json_path_max_steps(path), tl = strlen(path);
    mf_json_step *nodes = max <= STACK_STEPS ? stack_nodes : mf_xmalloc((max + 1) * sizeof *nodes);
    char *names = tl < sizeof stack_names ? stack_names : mf_xmalloc(tl + 1);
    int st;
    int n = mf_json_path_parse(path, names, nodes + 1, s->errbuf, s->errlen);
    if (n < 0) {
        st = fail(s, error, MF_FATAL);
    } else {
        mf_json_chain_link(nodes, n, 0);
        st = read_nodes(rec, nodes, out, s, error);
    }
    if (nodes != stack_nodes)
        free(nodes);
    if (names != stack_names)
        free(names);
    return st;
}

int mf_rec_json_fields(mf_record *rec, const mf_json_fieldset *set, mf_json_view *out, const mf_view_scratch *s,
                       const char **error)
{
    for (size_t i = 0; i < set->n_paths; i++)
        out[i] = (mf_json_view){0};
    int st = read_nodes(rec, set->nodes, out, s, error);
    if (st != MF_OK)
        return st;
    for (size_t i = 0; i < set->n_paths; i++)
        if (set->same_as[i] >= 0)
            out[i] = out[set->same_as[i]];
    return MF_OK;
}

int mf_rec_json_iter(const mf_json_view *container, mf_json_iter *it, const mf_view_scratch *s,
                     const char **error)
{
    *it = (mf_json_iter){0};
    mf_json_arena arena = {arena_alloc, s->arena};
    mf_json_member *members;
    size_t n;
    if (!mf_json_members(container, &arena, &members, &n, s->errbuf, s->errlen))
        return fail(s, error, MF_REJECT);
    it->engine_members = members;
    it->count = n;
    return MF_OK;
}

const mf_json_member *mf_rec_json_next(mf_json_iter *it)
{
    if (it->engine_pos >= it->count)
        return NULL;
    return &it->engine_members[it->engine_pos++];
}

mf_json_fieldset *mf_rec_fieldset_new(const char *const *paths, size_t n, const mf_view_scratch *s,
                                      const char **error)
{
    mf_json_fieldset *set = mf_json_fieldset_new(paths, n, s->errbuf, s->errlen);
    if (!set)
        *error = s->errbuf;
    return set;
}

void mf_rec_fieldset_free(mf_json_fieldset *set)
{
    mf_json_fieldset_free(set);
}
