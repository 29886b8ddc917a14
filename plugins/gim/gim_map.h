/*
 * gim_map.h — a hash map from byte strings to int32 values (open
 * addressing), for the loader's caches and per-cycle merges.
 *
 * Ownership: the map owns its keys (gim_map_put copies; gim_map_put_owned
 * takes a malloc'd key). Zero-initialised is an empty map.
 */
#ifndef MF_GIM_MAP_H
#define MF_GIM_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct gim_map_entry {
    char *k;
    uint32_t klen;
    int32_t v;
} gim_map_entry;

typedef struct gim_map {
    gim_map_entry *e;
    size_t cap, n; /* cap a power of two, or 0 */
} gim_map;

bool gim_map_get(const gim_map *m, const char *k, size_t len, int32_t *v);
/* Set k's value (replacing it). */
void gim_map_put(gim_map *m, const char *k, size_t len, int32_t v);
void gim_map_put_owned(gim_map *m, char *k, size_t len, int32_t v);
/* Move every entry of src into dst (src ends empty). */
void gim_map_move(gim_map *dst, gim_map *src);
void gim_map_clear(gim_map *m);

#endif
