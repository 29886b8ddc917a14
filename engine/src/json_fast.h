/*
 * json_fast.h — JSON without a tree: validation by martflow's rule
 * (docs/architecture.md, "What is valid JSON") and typed reads of member
 * paths, over simdjson (json_fast.cc, the engine's one C++ source; no C++
 * exception crosses this interface). Byte level only: records, flags and
 * arenas are record.c's.
 *
 * Each thread has its own parsers and scratch buffers, made on first use and
 * reused (nothing is allocated per document once they are large enough), and
 * freed when the thread exits.
 */
#ifndef MF_JSON_FAST_H
#define MF_JSON_FAST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <martflow/jsonview.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The rule's nesting limit: arrays and objects inside each other. */
#define MF_JSON_MAX_DEPTH 512
/* Bytes simdjson may read past the end of a document (SIMDJSON_PADDING):
 * an input followed by this many readable bytes is parsed in place. */
#define MF_JSON_PADDING 64

/* Is buf valid JSON by the rule? If not, false and a message in err
 * ("invalid JSON at byte 17: duplicate key \"a\""). */
bool mf_json_check(const uint8_t *buf, size_t len, char *err, size_t errlen);

/* A document to read: len bytes at `bytes`, `avail` (>= len) of them
 * readable. With avail >= len + MF_JSON_PADDING it is parsed in place, else
 * copied into the thread's padded buffer first; views point into `bytes`
 * either way. The document must have passed mf_json_check. */
typedef struct mf_json_input {
    const uint8_t *bytes;
    size_t len;
    size_t avail;
} mf_json_input;

/* Where unescaped strings and member arrays go: memory valid as long as the
 * views may be used (the node's per-callback arena). Never returns NULL. */
typedef struct mf_json_arena {
    void *(*alloc)(void *ctx, size_t n);
    void *ctx;
} mf_json_arena;

/* A compiled set of paths: a trie of member names, nodes[0] the document
 * itself. A node with slot >= 0 is where path `slot` ends (its view goes to
 * out[slot]); child/next index nodes[] (-1: none). */
typedef struct mf_json_step {
    const char *name; /* unescaped member name (not NUL-terminated) */
    uint32_t len;
    uint32_t n_children;
    int32_t slot;
    int32_t child, next;
} mf_json_step;

/* Fill out[slot] for every node of the trie that has a slot (missing ones
 * MF_JSON_MISSING). false with a message in err when the document cannot
 * be read (it was not valid after all, or memory ran out). */
bool mf_json_read(const mf_json_input *in, const mf_json_step *nodes, mf_json_view *out,
                  const mf_json_arena *arena, char *err, size_t errlen);

/* The members of an ARRAY or OBJECT view read earlier: *members (count
 * *n) allocated in arena. false with err otherwise. */
bool mf_json_members(const mf_json_view *container, const mf_json_arena *arena, mf_json_member **members,
                     size_t *n, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
