/* config.c — see config.h. The location table is a small open-addressing hash
 * keyed by (container pointer, key or index): scalars such as json_true() are
 * shared singletons in jansson, so a value's own pointer cannot identify it. */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "subst.h"

#define INDEX_KEY ((const char *)1) /* marks an array-index entry */

struct loc_entry {
    const json_t *parent;   /* NULL: a container's own start */
    const char *key;        /* owned copy, INDEX_KEY for arrays */
    size_t index;
    int key_line, key_col;
    int val_line, val_col;
    const char *file;       /* where the value came from, if not cfg->file (--set) */
    bool sensitive;
};

struct mf_config {
    char *file;
    json_t *root;
    struct loc_entry *entries;
    size_t n_entries, cap_entries;
    size_t *slots; /* 1-based indexes into entries; 0 = empty */
    size_t n_slots;
};

static uint64_t entry_hash(const json_t *parent, const char *key, size_t index)
{
    uint64_t h = (uint64_t)(uintptr_t)parent * 0x9E3779B97F4A7C15ull;
    if (key == INDEX_KEY)
        h ^= index * 0xC2B2AE3D27D4EB4Full + 1;
    else if (key)
        for (const unsigned char *p = (const unsigned char *)key; *p; p++)
            h = (h ^ *p) * 0x100000001B3ull;
    return h ^ (h >> 29);
}

static bool entry_matches(const struct loc_entry *e, const json_t *parent, const char *key, size_t index)
{
    if (e->parent != parent)
        return false;
    if (key == INDEX_KEY || e->key == INDEX_KEY)
        return key == e->key && index == e->index;
    if (!key || !e->key)
        return key == e->key;
    return strcmp(key, e->key) == 0;
}

static void rehash(mf_config *cfg)
{
    size_t n = cfg->n_slots ? cfg->n_slots * 2 : 256;
    free(cfg->slots);
    cfg->slots = mf_xcalloc(n, sizeof(size_t));
    cfg->n_slots = n;
    for (size_t i = 0; i < cfg->n_entries; i++) {
        struct loc_entry *e = &cfg->entries[i];
        size_t s = entry_hash(e->parent, e->key, e->index) & (n - 1);
        while (cfg->slots[s])
            s = (s + 1) & (n - 1);
        cfg->slots[s] = i + 1;
    }
}

static struct loc_entry *entry_find(const mf_config *cfg, const json_t *parent, const char *key, size_t index)
{
    if (!cfg->n_slots)
        return NULL;
    size_t s = entry_hash(parent, key, index) & (cfg->n_slots - 1);
    while (cfg->slots[s]) {
        struct loc_entry *e = &cfg->entries[cfg->slots[s] - 1];
        if (entry_matches(e, parent, key, index))
            return e;
        s = (s + 1) & (cfg->n_slots - 1);
    }
    return NULL;
}

static struct loc_entry *entry_get(mf_config *cfg, const json_t *parent, const char *key, size_t index)
{
    struct loc_entry *e = entry_find(cfg, parent, key, index);
    if (e)
        return e;
    if (cfg->n_entries == cfg->cap_entries) {
        cfg->cap_entries = cfg->cap_entries ? cfg->cap_entries * 2 : 128;
        cfg->entries = mf_xrealloc(cfg->entries, cfg->cap_entries * sizeof *cfg->entries);
    }
    e = &cfg->entries[cfg->n_entries++];
    memset(e, 0, sizeof *e);
    e->parent = parent;
    e->key = (key && key != INDEX_KEY) ? mf_xstrdup(key) : key;
    e->index = index;
    if (cfg->n_entries * 2 > cfg->n_slots)
        rehash(cfg);
    else {
        size_t s = entry_hash(parent, key, index) & (cfg->n_slots - 1);
        while (cfg->slots[s])
            s = (s + 1) & (cfg->n_slots - 1);
        cfg->slots[s] = cfg->n_entries;
    }
    return e;
}

static mf_loc make_loc(const mf_config *cfg, int line, int col)
{
    return (mf_loc){.file = cfg->file, .line = line, .col = col};
}

static mf_loc entry_loc(const mf_config *cfg, const struct loc_entry *e, bool key)
{
    mf_loc l = make_loc(cfg, key ? e->key_line : e->val_line, key ? e->key_col : e->val_col);
    if (e->file)
        l.file = e->file;
    return l;
}

mf_loc mf_config_key_loc(const mf_config *cfg, const json_t *obj, const char *key)
{
    const struct loc_entry *e = entry_find(cfg, obj, key, 0);
    return e ? entry_loc(cfg, e, true) : mf_config_container_loc(cfg, obj);
}

mf_loc mf_config_value_loc(const mf_config *cfg, const json_t *obj, const char *key)
{
    const struct loc_entry *e = entry_find(cfg, obj, key, 0);
    return e ? entry_loc(cfg, e, false) : mf_config_container_loc(cfg, obj);
}

mf_loc mf_config_index_loc(const mf_config *cfg, const json_t *array, size_t index)
{
    const struct loc_entry *e = entry_find(cfg, array, INDEX_KEY, index);
    return e ? make_loc(cfg, e->val_line, e->val_col) : mf_config_container_loc(cfg, array);
}

mf_loc mf_config_container_loc(const mf_config *cfg, const json_t *container)
{
    const struct loc_entry *e = entry_find(cfg, NULL, INDEX_KEY, (size_t)(uintptr_t)container);
    return e ? make_loc(cfg, e->val_line, e->val_col) : make_loc(cfg, 0, 0);
}

struct found {
    const json_t *parent; /* of the first occurrence */
    const char *key;      /* NULL: an array's index */
    size_t index;
    int count;            /* occurrences, counted up to `enough` */
    int enough;
};

static void note_found(struct found *f, const json_t *parent, const char *key, size_t index)
{
    if (f->count++ == 0)
        *f = (struct found){.parent = parent, .key = key, .index = index, .count = 1, .enough = f->enough};
}

/* Depth-first in document order (jansson keeps insertion order). */
static void find_value(const json_t *c, const json_t *value, struct found *f)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)c, k, v) {
        if (f->count >= f->enough)
            return;
        if (v == value)
            note_found(f, c, k, 0);
        else
            find_value(v, value, f);
    }
    for (size_t i = 0; i < json_array_size(c) && f->count < f->enough; i++) {
        v = json_array_get(c, i);
        if (v == value)
            note_found(f, c, NULL, i);
        else
            find_value(v, value, f);
    }
}

mf_loc mf_config_find_loc(const mf_config *cfg, const json_t *within, const json_t *value)
{
    /* null, true and false are one node each in jansson: unless unique they
     * name no place. Other shared nodes are aliases: any place is right. */
    bool singleton = json_is_null(value) || json_is_boolean(value);
    struct found f = {.enough = singleton ? 2 : 1};
    if (value && value != within)
        find_value(within, value, &f);
    if (f.count != 1)
        return mf_config_container_loc(cfg, within);
    return f.key ? mf_config_value_loc(cfg, f.parent, f.key) : mf_config_index_loc(cfg, f.parent, f.index);
}

void mf_config_mark_sensitive(mf_config *cfg, const json_t *obj, const char *key, size_t index)
{
    entry_get(cfg, obj, key ? key : INDEX_KEY, index)->sensitive = true;
}

bool mf_config_is_sensitive(const mf_config *cfg, const json_t *obj, const char *key, size_t index)
{
    const struct loc_entry *e = entry_find(cfg, obj, key ? key : INDEX_KEY, index);
    return e && e->sensitive;
}

void mf_config_set_loc(mf_config *cfg, const json_t *obj, const char *key, mf_loc loc)
{
    struct loc_entry *e = entry_get(cfg, obj, key, 0);
    e->key_line = e->val_line = loc.line;
    e->key_col = e->val_col = loc.col;
    e->file = loc.file; /* must outlive cfg: a literal such as "--set" */
}

json_t *mf_config_root(const mf_config *cfg)
{
    return cfg->root;
}

const char *mf_config_file(const mf_config *cfg)
{
    return cfg->file;
}

void mf_config_free(mf_config *cfg)
{
    if (!cfg)
        return;
    for (size_t i = 0; i < cfg->n_entries; i++)
        if (cfg->entries[i].key && cfg->entries[i].key != INDEX_KEY)
            free((char *)cfg->entries[i].key);
    free(cfg->entries);
    free(cfg->slots);
    json_decref(cfg->root);
    free(cfg->file);
    free(cfg);
}

/* ---- YAML -> jansson ------------------------------------------------------------ */

/* A plain scalar's type under the YAML 1.2 core schema. NULL with *too_large
 * for a number beyond a double's range (jansson has no infinity). */
static json_t *real_or_null(double d, bool *too_large)
{
    *too_large = !isfinite(d);
    return *too_large ? NULL : json_real(d);
}

static json_t *resolve_plain(const char *s, size_t len, bool *too_large)
{
    if (len == 0 || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 || strcmp(s, "Null") == 0 ||
        strcmp(s, "NULL") == 0)
        return json_null();
    if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE"))
        return json_true();
    if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE"))
        return json_false();
    const char *p = s;
    if (*p == '-' || *p == '+')
        p++;
    if (*p >= '0' && *p <= '9') {
        char *end;
        errno = 0;
        long long v;
        if (p[0] == '0' && (p[1] == 'x' || p[1] == 'o') && p == s) {
            v = strtoll(p + 2, &end, p[1] == 'x' ? 16 : 8);
        } else {
            v = strtoll(s, &end, 10);
        }
        if (!*end && !errno && end != p)
            return json_integer(v);
        double d = strtod(s, &end);
        if (!*end)
            return real_or_null(d, too_large);
    } else if (*p == '.' && p[1] >= '0' && p[1] <= '9') {
        char *end;
        double d = strtod(s, &end);
        if (!*end)
            return real_or_null(d, too_large);
    }
    return json_stringn(s, len);
}

struct frame {
    json_t *container;
    char *key;      /* pending mapping key */
    int key_line, key_col;
    size_t anchor;  /* 1-based index of this container's anchor; 0: none */
    size_t nodes0, bytes0; /* the document's size when the container started */
    int height;     /* collection levels of the tallest child so far */
};

struct anchor {
    char *name;
    json_t *value;  /* borrowed from the tree */
    /* What one alias to it adds to the expanded document: the tree shares the
     * node, but printing a record that holds it writes every copy. */
    size_t nodes, bytes;
    int height;     /* collection levels it spans (0: a scalar) */
};

struct yaml_state {
    mf_config *cfg;
    mf_diag *diag;
    struct frame *stack;
    size_t depth, cap;
    struct anchor *anchors;
    size_t n_anchors, cap_anchors;
    size_t *anchor_slots; /* 1-based indexes of each name's newest anchor; 0 = empty */
    size_t n_anchor_slots;
    size_t nodes, bytes; /* the document as if every alias were a copy */
    int documents;
    bool over_limit; /* failed on a limit of config.h */
};

/* Count what a value adds to the expanded document: false past a limit, with
 * the error at line:col. `alias` names the alias being expanded, if any. */
static bool spend(struct yaml_state *st, size_t nodes, size_t bytes, const char *alias, int line, int col)
{
    st->nodes += nodes;
    st->bytes += bytes;
    if (st->nodes <= MF_CONFIG_MAX_NODES && st->bytes <= MF_CONFIG_MAX_TEXT)
        return true;
    st->over_limit = true;
    const char *what = st->nodes > MF_CONFIG_MAX_NODES ? MF_CONFIG_MAX_NODES_TEXT " nodes"
                                                       : MF_CONFIG_MAX_TEXT_TEXT " of keys and scalars";
    mf_loc loc = make_loc(st->cfg, line, col);
    if (alias)
        mf_diag_error(st->diag, loc, "alias '*%s' expands the document past %s (the limit of a pipeline file; "
                      "each alias counts as a copy)", alias, what);
    else
        mf_diag_error(st->diag, loc, "the document grows past %s (the limit of a pipeline file)", what);
    return false;
}

/* The innermost open collection has a child `height` levels tall. */
static void note_height(struct yaml_state *st, int height)
{
    if (st->depth > 0 && st->stack[st->depth - 1].height < height)
        st->stack[st->depth - 1].height = height;
}

static uint64_t name_hash(const char *name)
{
    uint64_t h = 0xCBF29CE484222325ull;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        h = (h ^ *p) * 0x100000001B3ull;
    return h;
}

/* The slot holding `name`'s newest anchor, or the empty slot where it goes.
 * Hashed: a file of many anchors and aliases must not cost their product. */
static size_t *anchor_slot(const struct yaml_state *st, const char *name)
{
    size_t mask = st->n_anchor_slots - 1;
    size_t s = name_hash(name) & mask;
    while (st->anchor_slots[s] && strcmp(st->anchors[st->anchor_slots[s] - 1].name, name) != 0)
        s = (s + 1) & mask;
    return &st->anchor_slots[s];
}

static const struct anchor *find_anchor(const struct yaml_state *st, const char *name)
{
    size_t i = st->n_anchor_slots ? *anchor_slot(st, name) : 0;
    return i ? &st->anchors[i - 1] : NULL;
}

/* Returns the anchor's 1-based index, 0 when `name` is NULL. A name defined
 * again names the newer node from then on. */
static size_t add_anchor(struct yaml_state *st, const yaml_char_t *name, json_t *value)
{
    if (!name)
        return 0;
    if (st->n_anchors == st->cap_anchors) {
        st->cap_anchors = st->cap_anchors ? st->cap_anchors * 2 : 16;
        st->anchors = mf_xrealloc(st->anchors, st->cap_anchors * sizeof *st->anchors);
    }
    st->anchors[st->n_anchors++] = (struct anchor){.name = mf_xstrdup((const char *)name), .value = value};
    if (st->n_anchors * 2 > st->n_anchor_slots) {
        free(st->anchor_slots);
        st->n_anchor_slots = st->n_anchor_slots ? st->n_anchor_slots * 2 : 32;
        st->anchor_slots = mf_xcalloc(st->n_anchor_slots, sizeof *st->anchor_slots);
        for (size_t i = 0; i + 1 < st->n_anchors; i++)
            *anchor_slot(st, st->anchors[i].name) = i + 1;
    }
    *anchor_slot(st, (const char *)name) = st->n_anchors;
    return st->n_anchors;
}

/* Put a value where the current frame expects it. Steals `value`. */
static bool place_value(struct yaml_state *st, json_t *value, int line, int col)
{
    mf_config *cfg = st->cfg;
    if (st->depth == 0) {
        if (cfg->root) {
            json_decref(value);
            return true;
        }
        cfg->root = value;
        return true;
    }
    struct frame *f = &st->stack[st->depth - 1];
    if (json_is_object(f->container)) {
        if (!f->key) {
            /* This value is a key. */
            if (!json_is_string(value)) {
                mf_diag_error(st->diag, make_loc(cfg, line, col), "a mapping key must be a plain string");
                json_decref(value);
                return false;
            }
            const char *k = json_string_value(value);
            if (json_object_get(f->container, k)) {
                mf_loc first = mf_config_key_loc(cfg, f->container, k);
                mf_diag_error(st->diag, make_loc(cfg, line, col), "duplicate key '%s' (first at line %d)", k,
                              first.line);
                json_decref(value);
                return false;
            }
            if (strcmp(k, "<<") == 0) {
                mf_diag_error(st->diag, make_loc(cfg, line, col), "YAML merge keys ('<<') are not supported");
                json_decref(value);
                return false;
            }
            f->key = mf_xstrdup(k);
            f->key_line = line;
            f->key_col = col;
            json_decref(value);
            return true;
        }
        struct loc_entry *e = entry_get(cfg, f->container, f->key, 0);
        e->key_line = f->key_line;
        e->key_col = f->key_col;
        e->val_line = line;
        e->val_col = col;
        json_object_set_new(f->container, f->key, value);
        free(f->key);
        f->key = NULL;
        return true;
    }
    size_t idx = json_array_size(f->container);
    struct loc_entry *e = entry_get(cfg, f->container, INDEX_KEY, idx);
    e->val_line = line;
    e->val_col = col;
    json_array_append_new(f->container, value);
    return true;
}

static void push_container(struct yaml_state *st, json_t *container, size_t anchor, size_t nodes0,
                           size_t bytes0, int line, int col)
{
    struct loc_entry *e = entry_get(st->cfg, NULL, INDEX_KEY, (size_t)(uintptr_t)container);
    e->val_line = line;
    e->val_col = col;
    if (st->depth == st->cap) {
        st->cap = st->cap ? st->cap * 2 : 16;
        st->stack = mf_xrealloc(st->stack, st->cap * sizeof *st->stack);
    }
    st->stack[st->depth++] =
        (struct frame){.container = container, .anchor = anchor, .nodes0 = nodes0, .bytes0 = bytes0};
}

/* A collection ends: its anchor learns its size, its parent its height. */
static void pop_container(struct yaml_state *st)
{
    struct frame *f = &st->stack[--st->depth];
    free(f->key);
    if (f->anchor) {
        struct anchor *a = &st->anchors[f->anchor - 1];
        a->nodes = st->nodes - f->nodes0;
        a->bytes = st->bytes - f->bytes0;
        a->height = f->height + 1;
    }
    note_height(st, f->height + 1);
}

static bool is_key_position(const struct yaml_state *st)
{
    if (st->depth == 0)
        return false;
    const struct frame *f = &st->stack[st->depth - 1];
    return json_is_object(f->container) && !f->key;
}

static bool handle_scalar(struct yaml_state *st, const yaml_event_t *ev, int line, int col)
{
    const char *text = (const char *)ev->data.scalar.value;
    size_t len = ev->data.scalar.length;
    const char *tag = (const char *)ev->data.scalar.tag;
    bool key = is_key_position(st), too_large = false;
    json_t *v;
    if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE || key ||
        (tag && (strcmp(tag, YAML_STR_TAG) == 0 || strcmp(tag, "!") == 0)))
        v = json_stringn(text, len);
    else
        v = resolve_plain(text, len, &too_large);
    if (!v && too_large)
        mf_diag_error(st->diag, make_loc(st->cfg, line, col),
                      "number '%.40s%s' is out of range for a double (its magnitude must stay below 1.8e308); "
                      "quote it to keep it as text", text, len > 40 ? "..." : "");
    else if (!v)
        mf_diag_error(st->diag, make_loc(st->cfg, line, col), "scalar is not valid UTF-8");
    if (!v)
        return false;
    if (!spend(st, 1, len, NULL, line, col)) {
        json_decref(v);
        return false;
    }
    if (!key) {
        size_t a = add_anchor(st, ev->data.scalar.anchor, v);
        if (a)
            st->anchors[a - 1].nodes = 1, st->anchors[a - 1].bytes = len;
    }
    return place_value(st, v, line, col);
}

static bool handle_collection_start(struct yaml_state *st, const yaml_event_t *ev, int line, int col)
{
    if (is_key_position(st)) {
        mf_diag_error(st->diag, make_loc(st->cfg, line, col), "a mapping key must be a plain string");
        return false;
    }
    /* Checked here, on the event stream: libyaml's scanner works harder at
     * every flow level, so a deep file must be refused before it is read. */
    if (st->depth >= MF_CONFIG_MAX_DEPTH) {
        st->over_limit = true;
        mf_diag_error(st->diag, make_loc(st->cfg, line, col),
                      "collections nest deeper than %d levels (the limit of a pipeline file)", MF_CONFIG_MAX_DEPTH);
        return false;
    }
    size_t nodes0 = st->nodes, bytes0 = st->bytes;
    if (!spend(st, 1, 0, NULL, line, col))
        return false;
    bool map = ev->type == YAML_MAPPING_START_EVENT;
    json_t *c = map ? json_object() : json_array();
    size_t anchor = add_anchor(st, map ? ev->data.mapping_start.anchor : ev->data.sequence_start.anchor, c);
    json_incref(c);
    if (!place_value(st, c, line, col)) {
        json_decref(c);
        return false;
    }
    push_container(st, c, anchor, nodes0, bytes0, line, col);
    json_decref(c); /* the tree holds it now */
    return true;
}

static bool handle_alias(struct yaml_state *st, const yaml_event_t *ev, int line, int col)
{
    const char *name = (const char *)ev->data.alias.anchor;
    const struct anchor *a = find_anchor(st, name);
    if (!a) {
        mf_diag_error(st->diag, make_loc(st->cfg, line, col), "unknown alias '*%s'", name);
        return false;
    }
    /* An alias inside the node it names would make the tree a cycle. */
    for (size_t d = 0; d < st->depth; d++)
        if (st->stack[d].container == a->value) {
            mf_diag_error(st->diag, make_loc(st->cfg, line, col), "alias '*%s' refers to a node that contains it",
                          name);
            return false;
        }
    if (st->depth + (size_t)a->height > MF_CONFIG_MAX_DEPTH) {
        st->over_limit = true;
        mf_diag_error(st->diag, make_loc(st->cfg, line, col),
                      "alias '*%s' nests the document deeper than %d levels (the limit of a pipeline file)", name,
                      MF_CONFIG_MAX_DEPTH);
        return false;
    }
    if (!spend(st, a->nodes, a->bytes, name, line, col))
        return false;
    note_height(st, a->height);
    return place_value(st, json_incref(a->value), line, col);
}

static bool handle_event(struct yaml_state *st, const yaml_event_t *ev)
{
    int line = (int)ev->start_mark.line + 1;
    int col = (int)ev->start_mark.column + 1;
    switch (ev->type) {
    case YAML_DOCUMENT_START_EVENT:
        if (++st->documents > 1) {
            mf_diag_error(st->diag, make_loc(st->cfg, line, col),
                          "a pipeline file holds one YAML document; found a second one");
            return false;
        }
        return true;
    case YAML_SCALAR_EVENT:
        return handle_scalar(st, ev, line, col);
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT:
        return handle_collection_start(st, ev, line, col);
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
        if (st->depth > 0)
            pop_container(st);
        return true;
    case YAML_ALIAS_EVENT:
        return handle_alias(st, ev, line, col);
    default:
        return true;
    }
}

/* False on any error; *over_limit when it was a limit of config.h. */
static bool parse_yaml(mf_config *cfg, const char *text, size_t len, mf_diag *diag, bool *over_limit)
{
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser))
        return false;
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    struct yaml_state st = {.cfg = cfg, .diag = diag};
    bool ok = true;
    for (;;) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&parser, &ev)) {
            mf_loc loc = make_loc(cfg, (int)parser.problem_mark.line + 1, (int)parser.problem_mark.column + 1);
            if (parser.context)
                mf_diag_error(diag, loc, "YAML syntax error: %s %s", parser.problem ? parser.problem : "",
                              parser.context);
            else
                mf_diag_error(diag, loc, "YAML syntax error: %s", parser.problem ? parser.problem : "");
            ok = false;
            break;
        }
        bool done = ev.type == YAML_STREAM_END_EVENT;
        if (!handle_event(&st, &ev))
            ok = false;
        yaml_event_delete(&ev);
        if (done || !ok)
            break;
    }
    while (st.depth > 0)
        pop_container(&st);
    free(st.stack);
    for (size_t i = 0; i < st.n_anchors; i++)
        free(st.anchors[i].name);
    free(st.anchors);
    free(st.anchor_slots);
    yaml_parser_delete(&parser);
    *over_limit = st.over_limit;
    return ok;
}

/* The limits, for a tree jansson read alone (JSON has no aliases). */
static bool within_limits(const json_t *j, size_t depth, size_t *nodes, size_t *bytes)
{
    *nodes += 1;
    if (json_is_string(j))
        *bytes += json_string_length(j);
    if (*nodes > MF_CONFIG_MAX_NODES || *bytes > MF_CONFIG_MAX_TEXT)
        return false;
    if (!json_is_object(j) && !json_is_array(j))
        return true;
    if (depth >= MF_CONFIG_MAX_DEPTH)
        return false;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)j, k, v) {
        *nodes += 1;
        *bytes += strlen(k);
        if (!within_limits(v, depth + 1, nodes, bytes))
            return false;
    }
    for (size_t i = 0; i < json_array_size(j); i++)
        if (!within_limits(json_array_get(j, i), depth + 1, nodes, bytes))
            return false;
    return true;
}

static bool has_json_suffix(const char *name)
{
    size_t n = strlen(name);
    return n >= 5 && strcmp(name + n - 5, ".json") == 0;
}

mf_config *mf_config_load_text(const char *name, const char *text, size_t len, mf_diag *diag)
{
    mf_config *cfg = mf_xcalloc(1, sizeof *cfg);
    cfg->file = mf_xstrdup(name);
    int errors_before = diag->errors;
    size_t text_before = diag->text.len;

    json_t *strict = NULL;
    if (has_json_suffix(name)) {
        /* Exact JSON syntax errors come from jansson; locations from libyaml. */
        json_error_t jerr;
        strict = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
        if (!strict) {
            mf_diag_error(diag, make_loc(cfg, jerr.line, jerr.column), "JSON syntax error: %s", jerr.text);
            mf_config_free(cfg);
            return NULL;
        }
    }
    bool over_limit = false;
    if (!parse_yaml(cfg, text, len, diag, &over_limit)) {
        size_t nodes = 0, bytes = 0;
        if (!strict || over_limit) {
            json_decref(strict);
            mf_config_free(cfg);
            return NULL;
        }
        /* Valid JSON libyaml cannot read (tabs), or that breaks a YAML-only
         * rule (a "<<" key): keep the exact tree, lose the per-value locations. */
        diag->errors = errors_before;
        diag->text.len = text_before;
        if (diag->text.data)
            diag->text.data[text_before] = '\0';
        if (!within_limits(strict, 0, &nodes, &bytes)) {
            mf_diag_error(diag, make_loc(cfg, 0, 0),
                          "the document nests deeper than %d levels or has more than " MF_CONFIG_MAX_NODES_TEXT
                          " nodes or " MF_CONFIG_MAX_TEXT_TEXT " of keys and scalars (the limits of a pipeline file)",
                          MF_CONFIG_MAX_DEPTH);
            json_decref(strict);
            mf_config_free(cfg);
            return NULL;
        }
        json_decref(cfg->root);
        cfg->root = NULL;
    }
    if (strict) {
        if (!cfg->root)
            cfg->root = json_incref(strict);
        json_decref(strict);
    }
    if (!cfg->root)
        cfg->root = json_object();
    if (!mf_subst_tree(cfg, diag) || diag->errors > errors_before) {
        mf_config_free(cfg);
        return NULL;
    }
    return cfg;
}

mf_config *mf_config_load(const char *path, mf_diag *diag)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        mf_diag_error(diag, (mf_loc){.file = path}, "cannot open: %s", strerror(errno));
        return NULL;
    }
    mf_str text = {0};
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        mf_str_append(&text, buf, n);
    bool err = ferror(f);
    fclose(f);
    if (err) {
        mf_diag_error(diag, (mf_loc){.file = path}, "cannot read: %s", strerror(errno));
        mf_str_free(&text);
        return NULL;
    }
    mf_config *cfg = mf_config_load_text(path, text.data ? text.data : "", text.len, diag);
    mf_str_free(&text);
    return cfg;
}
