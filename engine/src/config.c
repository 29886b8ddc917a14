/* config.c — see config.h. The location table is a small open-addressing hash
 * keyed by (container pointer, key or index): scalars such as json_true() are
 * shared singletons in jansson, so a value's own pointer cannot identify it. */
#include "config.h"

#include <errno.h>
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

/* A plain scalar's type under the YAML 1.2 core schema. */
static json_t *resolve_plain(const char *s, size_t len)
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
            return json_real(d);
    } else if (*p == '.' && p[1] >= '0' && p[1] <= '9') {
        char *end;
        double d = strtod(s, &end);
        if (!*end)
            return json_real(d);
    }
    return json_stringn(s, len);
}

struct frame {
    json_t *container;
    char *key;      /* pending mapping key */
    int key_line, key_col;
};

struct anchor {
    char *name;
    json_t *value; /* borrowed from the tree */
};

struct yaml_state {
    mf_config *cfg;
    mf_diag *diag;
    struct frame *stack;
    size_t depth, cap;
    struct anchor *anchors;
    size_t n_anchors;
    int documents;
    bool failed;
};

static void add_anchor(struct yaml_state *st, const yaml_char_t *name, json_t *value)
{
    if (!name)
        return;
    st->anchors = mf_xrealloc(st->anchors, (st->n_anchors + 1) * sizeof *st->anchors);
    st->anchors[st->n_anchors].name = mf_xstrdup((const char *)name);
    st->anchors[st->n_anchors].value = value;
    st->n_anchors++;
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

static void push_container(struct yaml_state *st, json_t *container, int line, int col)
{
    struct loc_entry *e = entry_get(st->cfg, NULL, INDEX_KEY, (size_t)(uintptr_t)container);
    e->val_line = line;
    e->val_col = col;
    if (st->depth == st->cap) {
        st->cap = st->cap ? st->cap * 2 : 16;
        st->stack = mf_xrealloc(st->stack, st->cap * sizeof *st->stack);
    }
    st->stack[st->depth++] = (struct frame){.container = container};
}

static bool is_key_position(const struct yaml_state *st)
{
    if (st->depth == 0)
        return false;
    const struct frame *f = &st->stack[st->depth - 1];
    return json_is_object(f->container) && !f->key;
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
    case YAML_SCALAR_EVENT: {
        const char *text = (const char *)ev->data.scalar.value;
        size_t len = ev->data.scalar.length;
        const char *tag = (const char *)ev->data.scalar.tag;
        json_t *v;
        if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE || is_key_position(st) ||
            (tag && (strcmp(tag, YAML_STR_TAG) == 0 || strcmp(tag, "!") == 0)))
            v = json_stringn(text, len);
        else
            v = resolve_plain(text, len);
        if (!v) {
            mf_diag_error(st->diag, make_loc(st->cfg, line, col), "scalar is not valid UTF-8");
            return false;
        }
        if (!is_key_position(st))
            add_anchor(st, ev->data.scalar.anchor, v);
        return place_value(st, v, line, col);
    }
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT: {
        if (is_key_position(st)) {
            mf_diag_error(st->diag, make_loc(st->cfg, line, col), "a mapping key must be a plain string");
            return false;
        }
        json_t *c = ev->type == YAML_MAPPING_START_EVENT ? json_object() : json_array();
        const yaml_char_t *anchor = ev->type == YAML_MAPPING_START_EVENT ? ev->data.mapping_start.anchor
                                                                           : ev->data.sequence_start.anchor;
        add_anchor(st, anchor, c);
        json_incref(c);
        if (!place_value(st, c, line, col)) {
            json_decref(c);
            return false;
        }
        push_container(st, c, line, col);
        json_decref(c); /* the tree holds it now */
        return true;
    }
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
        if (st->depth > 0) {
            free(st->stack[st->depth - 1].key);
            st->depth--;
        }
        return true;
    case YAML_ALIAS_EVENT: {
        const char *name = (const char *)ev->data.alias.anchor;
        for (size_t i = st->n_anchors; i-- > 0;) {
            if (strcmp(st->anchors[i].name, name) != 0)
                continue;
            /* An alias inside the node it names would make the tree a cycle. */
            for (size_t d = 0; d < st->depth; d++)
                if (st->stack[d].container == st->anchors[i].value) {
                    mf_diag_error(st->diag, make_loc(st->cfg, line, col), "alias '*%s' refers to a node that contains it",
                                  name);
                    return false;
                }
            return place_value(st, json_incref(st->anchors[i].value), line, col);
        }
        mf_diag_error(st->diag, make_loc(st->cfg, line, col), "unknown alias '*%s'", name);
        return false;
    }
    default:
        return true;
    }
}

static bool parse_yaml(mf_config *cfg, const char *text, size_t len, mf_diag *diag)
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
        free(st.stack[--st.depth].key);
    free(st.stack);
    for (size_t i = 0; i < st.n_anchors; i++)
        free(st.anchors[i].name);
    free(st.anchors);
    yaml_parser_delete(&parser);
    return ok;
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
    if (!parse_yaml(cfg, text, len, diag)) {
        if (!strict) {
            mf_config_free(cfg);
            return NULL;
        }
        /* Valid JSON libyaml cannot read (tabs): keep the exact tree, lose
         * the per-value locations. */
        diag->errors = errors_before;
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
