/*
 * gca_store.h — where GCA keeps its snapshot: a tiny interface (save the
 * bytes of one named object whole, load it back) so that the engine's object
 * store (martflow/objstore.h: file:// and s3:// URLs) replaces this module
 * without touching the source. Until then only file:///dir locations (and the
 * node's data_dir) are served.
 *
 * A save is atomic: the previous object stays readable, whole, until the new
 * one is complete (file: written to a temporary file, fsynced, renamed over
 * the old one, directory fsynced).
 *
 * Ownership: gca_store_new copies what it is given; gca_store_free.
 */
#ifndef GCA_STORE_H
#define GCA_STORE_H

#include <stdbool.h>
#include <stddef.h>

#include <martflow/martflow.h>

typedef struct gca_store gca_store;

/* url: "file:///dir" or a plain absolute directory; NULL or "": fallback_dir
 * (the node's data_dir). NULL with why when the location cannot be used
 * (s3:// before the object store is merged, a relative path). The directory
 * is created when missing. */
/* Whether url names a location this build serves (without touching it):
 * false with why, as gca_store_new would say. NULL and "" are fine. */
bool gca_store_check_url(const char *url, char *why, size_t why_len);

gca_store *gca_store_new(const char *url, const char *fallback_dir, char *why, size_t why_len);
void gca_store_free(gca_store *s);

/* Where objects go, for logs ("file:///var/lib/gca"). */
const char *gca_store_where(const gca_store *s);

/* Replace object `name` by data[0..len). false with why (the old object is
 * then unchanged). */
bool gca_store_save(gca_store *s, const char *name, const void *data, size_t len, char *why, size_t why_len);

/* Load object `name` into out (appended). 1: loaded; 0: there is none; -1:
 * it cannot be read (why). */
int gca_store_load(gca_store *s, const char *name, mf_buffer *out, char *why, size_t why_len);

#endif
