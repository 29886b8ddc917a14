/* plugin_loader.c — see plugin_loader.h. */
#include "plugin_loader.h"

#include <dirent.h>
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "options.h"
#include "util.h"

struct mf_registry {
    char **dirs;
    size_t n_dirs;
    char *path_text;
    mf_plugin **plugins;
    size_t n_plugins;
};

mf_registry *mf_registry_new(void)
{
    return mf_xcalloc(1, sizeof(mf_registry));
}

void mf_registry_free(mf_registry *reg)
{
    if (!reg)
        return;
    for (size_t i = 0; i < reg->n_dirs; i++)
        free(reg->dirs[i]);
    free(reg->dirs);
    free(reg->path_text);
    for (size_t i = 0; i < reg->n_plugins; i++) {
        free(reg->plugins[i]->path);
        free(reg->plugins[i]);
    }
    free(reg->plugins);
    free(reg);
}

const char *mf_kind_name(mf_kind kind)
{
    switch (kind) {
    case MF_KIND_SOURCE: return "source";
    case MF_KIND_TRANSFORM: return "transform";
    case MF_KIND_SINK: return "sink";
    }
    return "?";
}

void mf_registry_add_dirs(mf_registry *reg, const char *dirs)
{
    if (!dirs)
        return;
    const char *p = dirs;
    while (*p) {
        const char *colon = strchr(p, ':');
        size_t n = colon ? (size_t)(colon - p) : strlen(p);
        if (n > 0) {
            reg->dirs = mf_xrealloc(reg->dirs, (reg->n_dirs + 1) * sizeof *reg->dirs);
            reg->dirs[reg->n_dirs++] = mf_xstrndup(p, n);
        }
        p += n + (colon ? 1 : 0);
    }
    free(reg->path_text);
    reg->path_text = NULL;
}

const char *mf_registry_path_text(mf_registry *reg)
{
    if (!reg->path_text) {
        mf_str s = {0};
        for (size_t i = 0; i < reg->n_dirs; i++) {
            if (i)
                mf_str_puts(&s, ":");
            mf_str_puts(&s, reg->dirs[i]);
        }
        reg->path_text = mf_str_take(&s);
    }
    return reg->path_text;
}

static bool valid_name(const char *name)
{
    if (!name || !*name)
        return false;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
            return false;
    return true;
}

static char *check_options(const mf_option *opts)
{
    for (const mf_option *o = opts; o && o->name; o++) {
        if (o->type < MF_OPT_STRING || o->type > MF_OPT_JSON)
            return mf_xasprintf("option '%s' has an unknown type %d", o->name, (int)o->type);
        if (o->type == MF_OPT_ENUM && (!o->choices || !*o->choices))
            return mf_xasprintf("enum option '%s' declares no choices", o->name);
        if (o->type == MF_OPT_PREFIX && o->name[strlen(o->name) - 1] != '.')
            return mf_xasprintf("prefix option '%s' must end with '.'", o->name);
        if ((o->flags & MF_OPT_REQUIRED) && o->default_value)
            return mf_xasprintf("option '%s' is required and has a default", o->name);
        if (!o->doc || !*o->doc)
            return mf_xasprintf("option '%s' has no doc line", o->name);
        for (const mf_option *p = opts; p < o; p++)
            if (strcmp(p->name, o->name) == 0)
                return mf_xasprintf("option '%s' is declared twice", o->name);
    }
    return NULL;
}

char *mf_plugin_desc_check(const mf_plugin_desc *d)
{
    if (d->kind != MF_KIND_SOURCE && d->kind != MF_KIND_TRANSFORM && d->kind != MF_KIND_SINK)
        return mf_xasprintf("unknown plugin kind %d", (int)d->kind);
    if (!valid_name(d->name))
        return mf_xstrdup("plugin name must be non-empty [a-z0-9_]");
    if (!d->version || !*d->version || !d->description || !*d->description)
        return mf_xasprintf("plugin '%s' has no version or description", d->name);
    if (!d->init)
        return mf_xasprintf("plugin '%s' has no init callback", d->name);
    if (d->kind == MF_KIND_SOURCE && !d->poll)
        return mf_xasprintf("source plugin '%s' has no poll callback", d->name);
    if (d->kind != MF_KIND_SOURCE && !d->process)
        return mf_xasprintf("%s plugin '%s' has no process callback", mf_kind_name(d->kind), d->name);
    if (!d->list_jobs != !d->run_job)
        return mf_xasprintf("plugin '%s' has one of list_jobs and run_job without the other", d->name);
    if (d->run_job_args && !d->run_job)
        return mf_xasprintf("plugin '%s' has run_job_args without run_job", d->name);
    for (const char *const *p = d->ports; p && *p; p++)
        if (!valid_name(*p) || !strcmp(*p, "default") || !strcmp(*p, "errors"))
            return mf_xasprintf("plugin '%s' declares a bad port name '%s'", d->name, *p);
    return check_options(d->options);
}

/* Copy a plugin's descriptor into host layout after checking its header. */
static char *normalise(const mf_plugin_desc *theirs, const char *origin, mf_plugin_desc *out)
{
    if (theirs->magic != MF_PLUGIN_MAGIC)
        return mf_xasprintf("%s: not a martflow plugin (bad descriptor magic 0x%08x)", origin, theirs->magic);
    if (theirs->abi_major != MF_ABI_MAJOR || theirs->abi_minor > MF_ABI_MINOR)
        return mf_xasprintf("%s: plugin built for martflow ABI %u.%u, but this martflow provides ABI %d.%d "
                            "(it loads %d.0 to %d.%d); rebuild the plugin against these headers",
                            origin, theirs->abi_major, theirs->abi_minor, MF_ABI_MAJOR, MF_ABI_MINOR,
                            MF_ABI_MAJOR, MF_ABI_MAJOR, MF_ABI_MINOR);
    size_t min_size = offsetof(mf_plugin_desc, reserved);
    if (theirs->struct_size < min_size || theirs->struct_size > sizeof *out)
        return mf_xasprintf("%s: descriptor size %u is not valid for ABI %u.%u (expected %zu..%zu)", origin,
                            theirs->struct_size, theirs->abi_major, theirs->abi_minor, min_size, sizeof *out);
    memset(out, 0, sizeof *out);
    memcpy(out, theirs, theirs->struct_size);
    if (theirs->abi_minor < 4) { /* slots that were reserved (NULL) before 1.4 */
        out->list_jobs = NULL;
        out->run_job = NULL;
    }
    if (theirs->abi_minor < 5) /* reserved (NULL) before 1.5 */
        out->run_job_args = NULL;
    char *why = mf_plugin_desc_check(out);
    if (why) {
        char *msg = mf_xasprintf("%s: %s", origin, why);
        free(why);
        return msg;
    }
    return NULL;
}

static const mf_plugin *lookup(const mf_registry *reg, mf_kind kind, const char *name)
{
    for (size_t i = 0; i < reg->n_plugins; i++)
        if (reg->plugins[i]->desc.kind == kind && strcmp(reg->plugins[i]->desc.name, name) == 0)
            return reg->plugins[i];
    return NULL;
}

static const mf_plugin *add(mf_registry *reg, const mf_plugin_desc *desc, const char *path)
{
    mf_plugin *p = mf_xcalloc(1, sizeof *p);
    p->desc = *desc;
    p->path = mf_xstrdup(path);
    reg->plugins = mf_xrealloc(reg->plugins, (reg->n_plugins + 1) * sizeof *reg->plugins);
    reg->plugins[reg->n_plugins++] = p;
    return p;
}

bool mf_registry_add_builtin(mf_registry *reg, const mf_plugin_desc *desc, char **error)
{
    mf_plugin_desc norm;
    char *why = normalise(desc, "(built-in)", &norm);
    if (why) {
        *error = why;
        return false;
    }
    if (!lookup(reg, norm.kind, norm.name))
        add(reg, &norm, "(built-in)");
    return true;
}

const mf_plugin *mf_registry_load_file(mf_registry *reg, const char *path, char **error)
{
    for (size_t i = 0; i < reg->n_plugins; i++)
        if (strcmp(reg->plugins[i]->path, path) == 0)
            return reg->plugins[i];
    void *dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!dl) {
        *error = mf_xasprintf("cannot load plugin %s: %s (run `ldd %s` to see missing libraries)", path,
                              dlerror(), path);
        return NULL;
    }
    const mf_plugin_desc *theirs = dlsym(dl, MF_PLUGIN_SYMBOL);
    if (!theirs) {
        *error = mf_xasprintf("%s: does not export the symbol %s", path, MF_PLUGIN_SYMBOL);
        dlclose(dl);
        return NULL;
    }
    mf_plugin_desc norm;
    char *why = normalise(theirs, path, &norm);
    if (why) {
        *error = why;
        dlclose(dl);
        return NULL;
    }
    const mf_plugin *existing = lookup(reg, norm.kind, norm.name);
    if (existing)
        return existing; /* an earlier directory wins; keep dl resident anyway */
    return add(reg, &norm, path);
}

static bool is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

const mf_plugin *mf_registry_find(mf_registry *reg, mf_kind kind, const char *name, char **error)
{
    *error = NULL;
    const mf_plugin *p = lookup(reg, kind, name);
    if (p)
        return p;
    if (!valid_name(name)) {
        *error = mf_xasprintf("'%s' is not a valid plugin name", name);
        return NULL;
    }
    for (size_t i = 0; i < reg->n_dirs; i++) {
        char *file = mf_xasprintf("%s/%s_%s.so", reg->dirs[i], mf_kind_name(kind), name);
        if (is_file(file)) {
            p = mf_registry_load_file(reg, file, error);
            if (p && (p->desc.kind != kind || strcmp(p->desc.name, name) != 0)) {
                *error = mf_xasprintf("%s: file name says %s '%s' but its descriptor says %s '%s'", file,
                                      mf_kind_name(kind), name, mf_kind_name(p->desc.kind), p->desc.name);
                p = NULL;
            }
            free(file);
            return p;
        }
        free(file);
    }
    *error = mf_xasprintf("unknown %s plugin '%s' (searched: %s)", mf_kind_name(kind), name,
                          reg->n_dirs ? mf_registry_path_text(reg) : "no plugin directories");
    return NULL;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void mf_registry_load_all(mf_registry *reg, char **errors)
{
    mf_str err = {0};
    for (size_t i = 0; i < reg->n_dirs; i++) {
        DIR *d = opendir(reg->dirs[i]);
        if (!d)
            continue;
        char **names = NULL;
        size_t n = 0;
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
            size_t len = strlen(de->d_name);
            if (len > 3 && strcmp(de->d_name + len - 3, ".so") == 0) {
                names = mf_xrealloc(names, (n + 1) * sizeof *names);
                names[n++] = mf_xasprintf("%s/%s", reg->dirs[i], de->d_name);
            }
        }
        closedir(d);
        qsort(names, n, sizeof *names, cmp_str);
        for (size_t j = 0; j < n; j++) {
            char *e = NULL;
            if (!mf_registry_load_file(reg, names[j], &e)) {
                mf_str_printf(&err, "%s\n", e);
                free(e);
            }
            free(names[j]);
        }
        free(names);
    }
    *errors = err.len ? mf_str_take(&err) : (mf_str_free(&err), NULL);
}

size_t mf_registry_count(const mf_registry *reg)
{
    return reg->n_plugins;
}

const mf_plugin *mf_registry_at(const mf_registry *reg, size_t i)
{
    return i < reg->n_plugins ? reg->plugins[i] : NULL;
}
