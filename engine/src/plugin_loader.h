/*
 * plugin_loader.h — finding, opening and checking plugins.
 *
 * A plugin of kind K and name N lives in a file "K_N.so" on the plugin path (the
 * --plugin-path option, the pipeline's settings.plugin_path, MARTFLOW_PLUGIN_PATH,
 * then the installed directory, in that order). The loader dlopens it with
 * RTLD_NOW | RTLD_LOCAL, reads the one exported descriptor, checks magic, ABI
 * version and struct size, and keeps a host-sized copy. Modules stay resident
 * for the life of the process (no dlclose with live instances).
 */
#ifndef MF_PLUGIN_LOADER_H
#define MF_PLUGIN_LOADER_H

#include <martflow/plugin.h>
#include <stdbool.h>

typedef struct mf_plugin {
    char *path;          /* file it came from, or "(built-in)" */
    mf_plugin_desc desc; /* zero-extended copy of the plugin's descriptor */
} mf_plugin;

typedef struct mf_registry mf_registry;

mf_registry *mf_registry_new(void);
void mf_registry_free(mf_registry *reg);

/* Append directories to the search path ("a:b:c" accepted). */
void mf_registry_add_dirs(mf_registry *reg, const char *dirs);
/* The search path as "a:b:c" (for messages). */
const char *mf_registry_path_text(mf_registry *reg);

/* Register a descriptor linked into this process (tests, harness). */
bool mf_registry_add_builtin(mf_registry *reg, const mf_plugin_desc *desc, char **error);

/* Find (loading on first use) plugin kind/name. NULL with *error (malloc'd). */
const mf_plugin *mf_registry_find(mf_registry *reg, mf_kind kind, const char *name, char **error);

/* Load a plugin file directly; used by the scan and by tests of the ABI check. */
const mf_plugin *mf_registry_load_file(mf_registry *reg, const char *path, char **error);

/* Load every *.so on the path. Problems are appended to *errors (one per line). */
void mf_registry_load_all(mf_registry *reg, char **errors);
size_t mf_registry_count(const mf_registry *reg);
const mf_plugin *mf_registry_at(const mf_registry *reg, size_t i);

const char *mf_kind_name(mf_kind kind);

/* Check a descriptor (already size-normalised); NULL if fine, else a message. */
char *mf_plugin_desc_check(const mf_plugin_desc *d);

#endif
