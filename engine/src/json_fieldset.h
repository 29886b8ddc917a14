/*
 * json_fieldset.h — field paths compiled for json_fast.h's reads: a path
 * into a chain of steps (host json_get), n paths into one trie (the
 * mf_json_fieldset of martflow/jsonview.h, host fieldset_new/json_fields).
 * Same syntax and messages as martflow/fieldpath.h, parsed here so reads
 * need no jansson.
 */
#ifndef MF_JSON_FIELDSET_H
#define MF_JSON_FIELDSET_H

#include "json_fast.h"

struct mf_json_fieldset {
    size_t n_paths;
    mf_json_step *nodes; /* the trie; nodes[0] is the document */
    size_t n_nodes;
    int32_t *same_as;    /* >= 0: path i is path same_as[i] (its view is copied) */
    char *names;         /* the unescaped names the nodes point to */
};

/* An upper bound of the steps of text (for sizing `steps` below). */
size_t mf_json_path_max_steps(const char *text);
/* Split text into steps (names unescaped into `names`, which holds
 * strlen(text) + 1 bytes; the steps point into it, unlinked). Returns how
 * many, or -1 with a message in err. */
int mf_json_path_parse(const char *text, char *names, mf_json_step *steps, char *err, size_t errlen);
/* Make nodes[0..n] a chain: nodes[0] the document, nodes[1..n] the steps
 * mf_json_path_parse put at nodes + 1, the last one read into out[slot]. */
void mf_json_chain_link(mf_json_step *nodes, int n, int32_t slot);

/* Compile paths (copied). NULL with a message in err naming the bad path. */
mf_json_fieldset *mf_json_fieldset_new(const char *const *paths, size_t n, char *err, size_t errlen);
void mf_json_fieldset_free(mf_json_fieldset *set);

#endif
