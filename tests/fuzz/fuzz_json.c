/*
 * Fuzz target: the two JSON readers agree. On arbitrary bytes, the fast
 * path (mf_json_check) and jansson (what record_json builds trees with, with
 * the rule's flag and depth limit applied to its tree) accept and reject the
 * same documents (jansson's tree is held to the depth limit, and a raw NUL
 * byte, which jansson skips after a number, makes the input invalid); on
 * accepted objects, every top-level member reads the same
 * through the fast path — one member at a time, as one field set, and by
 * iteration, each in place (padded) and copied — as through jansson.
 * Disagreement aborts. Built with libFuzzer by tests/fuzz/run.sh;
 * tests/fuzz/replay.c runs tests/fuzz/corpus_json in `make check`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "json_fast.h"
#include "json_fieldset.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define DISAGREE(...)                                                                                          \
    do {                                                                                                       \
        fprintf(stderr, "fuzz_json: readers disagree: " __VA_ARGS__);                                          \
        fputc('\n', stderr);                                                                                   \
        abort();                                                                                               \
    } while (0)

/* ---- an arena that frees everything after each input ---------------------------------- */

typedef struct block {
    struct block *next;
    max_align_t data[];
} block;

static block *blocks;

static void *alloc(void *ctx, size_t n)
{
    (void)ctx;
    block *b = malloc(sizeof *b + n);
    if (!b)
        abort();
    b->next = blocks;
    blocks = b;
    return b->data;
}

static void free_blocks(void)
{
    while (blocks) {
        block *next = blocks->next;
        free(blocks);
        blocks = next;
    }
}

static const mf_json_arena arena = {alloc, NULL};

/* ---- comparisons ---------------------------------------------------------------------------- */

static size_t depth(const json_t *j)
{
    size_t d = 0;
    if (json_is_object(j)) {
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)j, k, v) {
            size_t c = depth(v);
            d = c > d ? c : d;
        }
        return d + 1;
    }
    if (json_is_array(j)) {
        size_t i;
        json_t *v;
        json_array_foreach(j, i, v) {
            size_t c = depth(v);
            d = c > d ? c : d;
        }
        return d + 1;
    }
    return 0;
}

static void same(const char *key, const mf_json_view *v, const json_t *j)
{
    switch (json_typeof(j)) {
    case JSON_OBJECT:
        if (v->type != MF_JSON_OBJECT)
            DISAGREE("%s: not an object", key);
        break;
    case JSON_ARRAY:
        if (v->type != MF_JSON_ARRAY)
            DISAGREE("%s: not an array", key);
        break;
    case JSON_STRING:
        if (v->type != MF_JSON_STRING || v->len != json_string_length(j) ||
            memcmp(v->str, json_string_value(j), v->len) != 0)
            DISAGREE("%s: string", key);
        break;
    case JSON_INTEGER:
        if (v->type != MF_JSON_INT || v->integer != json_integer_value(j))
            DISAGREE("%s: integer", key);
        break;
    case JSON_REAL: {
        double d = json_real_value(j);
        if (v->type != MF_JSON_DOUBLE || memcmp(&v->number, &d, sizeof d) != 0)
            DISAGREE("%s: real %.17g vs %.17g", key, v->number, d);
        break;
    }
    case JSON_TRUE:
    case JSON_FALSE:
        if (v->type != MF_JSON_BOOL || v->boolean != json_is_true(j))
            DISAGREE("%s: bool", key);
        break;
    case JSON_NULL:
        if (v->type != MF_JSON_NULL)
            DISAGREE("%s: null", key);
        break;
    }
}

/* key as a field path: '.' and '\' escaped. */
static char *path_of(const char *key)
{
    char *p = malloc(strlen(key) * 2 + 1), *w = p;
    for (const char *k = key; *k; k++) {
        if (*k == '.' || *k == '\\')
            *w++ = '\\';
        *w++ = *k;
    }
    *w = '\0';
    return p;
}

static void compare_members(const mf_json_input *in, const json_t *root)
{
    char err[512];
    size_t n = json_object_size(root), i = 0;
    const char **paths = calloc(n ? n : 1, sizeof *paths);
    const json_t **values = calloc(n ? n : 1, sizeof *values);
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)root, key, value) {
        if (strlen(key) == 0)
            continue; /* no path names the empty key */
        paths[i] = path_of(key);
        values[i++] = value;
    }
    mf_json_fieldset *set = mf_json_fieldset_new(paths, i, err, sizeof err);
    if (!set)
        DISAGREE("field set: %s", err);
    mf_json_view *views = calloc(i ? i : 1, sizeof *views);
    if (!mf_json_read(in, set->nodes, views, &arena, err, sizeof err))
        DISAGREE("field set read: %s", err);
    for (size_t k = 0; k < i; k++)
        same(paths[k], &views[k], values[k]);
    mf_json_fieldset_free(set);

    for (size_t k = 0; k < i && k < 8; k++) { /* one path at a time */
        mf_json_step nodes[1 + 64];
        char names[512];
        if (strlen(paths[k]) >= sizeof names || mf_json_path_max_steps(paths[k]) > 64)
            continue;
        int steps = mf_json_path_parse(paths[k], names, nodes + 1, err, sizeof err);
        if (steps != 1)
            DISAGREE("path %s: %d steps", paths[k], steps);
        mf_json_chain_link(nodes, steps, 0);
        mf_json_view v;
        if (!mf_json_read(in, nodes, &v, &arena, err, sizeof err))
            DISAGREE("read %s: %s", paths[k], err);
        same(paths[k], &v, values[k]);
    }
    for (size_t k = 0; k < i; k++)
        free((char *)paths[k]);
    free(paths);
    free(values);
    free(views);
}

static void compare_iteration(const mf_json_input *in, const json_t *root)
{
    char err[512];
    mf_json_step doc = {.slot = 0, .child = -1, .next = -1};
    mf_json_view rv;
    if (!mf_json_read(in, &doc, &rv, &arena, err, sizeof err))
        DISAGREE("root: %s", err);
    same("(root)", &rv, root);
    if (!json_is_object(root) && !json_is_array(root))
        return;
    mf_json_member *m;
    size_t n;
    if (!mf_json_members(&rv, &arena, &m, &n, err, sizeof err))
        DISAGREE("members: %s", err);
    if (json_is_array(root)) {
        if (n != json_array_size(root))
            DISAGREE("array size");
        for (size_t i = 0; i < n; i++)
            same("[i]", &m[i].value, json_array_get(root, i));
        return;
    }
    if (n != json_object_size(root))
        DISAGREE("object size %zu vs %zu", n, json_object_size(root));
    for (size_t i = 0; i < n; i++) {
        char *k = strndup(m[i].key, m[i].key_len);
        const json_t *j = strlen(k) == m[i].key_len ? json_object_get(root, k) : NULL;
        if (!j)
            DISAGREE("member %s missing in jansson", k);
        same(k, &m[i].value, j);
        free(k);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512];
    bool fast = mf_json_check(data, size, err, sizeof err);
    json_error_t je;
    json_t *j = json_loadb((const char *)data, size, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &je);
    /* jansson alone would also take a raw NUL byte right after a number
     * ("[1\0]" reads as [1]); the rule rejects raw NUL bytes anywhere */
    bool slow = j && depth(j) <= MF_JSON_MAX_DEPTH && !memchr(data, '\0', size);
    if (fast != slow)
        DISAGREE("fast path %s (%s), jansson %s (%s)", fast ? "accepts" : "rejects", fast ? "" : err,
                 slow ? "accepts" : "rejects", j ? "too deep" : je.text);
    if (!fast && strncmp(err, "invalid JSON at byte ", 21) != 0)
        DISAGREE("message without a position: %s", err);
    if (fast) {
        /* in place (padded) and copied (no padding) */
        uint8_t *padded = malloc(size + MF_JSON_PADDING);
        memcpy(padded, data, size);
        memset(padded + size, 0, MF_JSON_PADDING);
        mf_json_input ins[2] = {{padded, size, size + MF_JSON_PADDING}, {data, size, size}};
        for (int k = 0; k < 2; k++) {
            compare_iteration(&ins[k], j);
            if (json_is_object(j))
                compare_members(&ins[k], j);
        }
        free(padded);
    }
    json_decref(j);
    free_blocks();
    return 0;
}
