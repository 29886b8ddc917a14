/* subst.c — see subst.h. */
#include "subst.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "redact.h"

#define MAX_FILE_BYTES (1u << 20)

/* Read a regular file of at most MAX_FILE_BYTES. Opened without blocking, so a
 * FIFO (which would block until a writer comes) is refused, not waited for. */
static char *read_small_file(const char *path, char **error)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        *error = mf_xasprintf("cannot read '%s': %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        *error = mf_xasprintf("'%s' is not a regular file (a FIFO or device could block loading)", path);
        return NULL;
    }
    mf_str s = {0};
    char buf[8192];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            *error = mf_xasprintf("cannot read '%s': %s", path, strerror(errno));
            goto fail;
        }
        if (n == 0)
            break;
        mf_str_append(&s, buf, (size_t)n);
        if (s.len > MAX_FILE_BYTES) {
            *error = mf_xasprintf("'%s' is larger than 1 MiB", path);
            goto fail;
        }
    }
    close(fd);
    return mf_str_take(&s);
fail:
    close(fd);
    mf_str_free(&s);
    return NULL;
}

/* s[0, n) is a shell variable name ([A-Za-z_][A-Za-z0-9_]*). */
static bool is_name(const char *s, size_t n)
{
    if (!n || (s[0] >= '0' && s[0] <= '9'))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!(s[i] == '_' || (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
              (s[i] >= '0' && s[i] <= '9')))
            return false;
    return true;
}

/* VAR, VAR:-default (unset or empty: default) or VAR-default (unset only:
 * an empty value stays empty, as in the shell). */
static char *lookup_env(const char *spec, char **error)
{
    const char *def = strstr(spec, ":-");
    size_t skip = 2;
    bool unset_only = false;
    const char *dash = strchr(spec, '-');
    if (dash && (!def || dash < def) && is_name(spec, (size_t)(dash - spec))) {
        def = dash;
        skip = 1;
        unset_only = true;
    }
    char *name = def ? mf_xstrndup(spec, (size_t)(def - spec)) : mf_xstrdup(spec);
    if (!*name) {
        free(name);
        *error = mf_xstrdup("${env:} needs a variable name");
        return NULL;
    }
    const char *v = getenv(name);
    char *out = NULL;
    if (v && (*v || !def || unset_only))
        out = mf_xstrdup(v);
    else if (def)
        out = mf_xstrdup(def + skip);
    else
        *error = mf_xasprintf("environment variable %s is not set (write ${env:%s:-default} to allow that)",
                              name, name);
    free(name);
    return out;
}

static char *lookup_file(const char *path, char **error)
{
    char *text = read_small_file(path, error);
    if (!text)
        return NULL;
    size_t n = strlen(text);
    if (n && text[n - 1] == '\n')
        text[--n] = '\0';
    if (n && text[n - 1] == '\r')
        text[--n] = '\0';
    return text;
}

static char *lookup_json(const char *spec, char **error)
{
    const char *hash = strrchr(spec, '#');
    if (!hash || !hash[1]) {
        *error = mf_xasprintf("${json:%s}: expected ${json:/path#key}", spec);
        return NULL;
    }
    char *path = mf_xstrndup(spec, (size_t)(hash - spec));
    const char *key = hash + 1;
    json_error_t jerr;
    char *text = read_small_file(path, error);
    bool readable = text != NULL;
    json_t *doc = text ? json_loads(text, 0, &jerr) : NULL;
    free(text);
    char *out = NULL;
    if (!readable) {
        /* *error is set */
    } else if (!doc) {
        /* not jerr.text: it quotes the file's content near the error */
        *error = mf_xasprintf("'%s' is not a JSON object file (line %d, column %d)", path, jerr.line,
                              jerr.column);
    } else {
        json_t *v = json_is_object(doc) ? json_object_get(doc, key) : NULL;
        if (json_is_string(v))
            out = mf_xstrdup(json_string_value(v));
        else if (json_is_integer(v))
            out = mf_xasprintf("%" JSON_INTEGER_FORMAT, json_integer_value(v));
        else if (json_is_real(v))
            out = mf_xasprintf("%.17g", json_real_value(v));
        else if (json_is_boolean(v))
            out = mf_xstrdup(json_is_true(v) ? "true" : "false");
        else if (!v)
            *error = mf_xasprintf("'%s' has no key '%s'", path, key);
        else
            *error = mf_xasprintf("'%s' key '%s' is not a scalar", path, key);
    }
    json_decref(doc);
    free(path);
    return out;
}

char *mf_subst_string(const char *in, bool *sensitive, char **error)
{
    *error = NULL;
    mf_str out = {0};
    const char *p = in;
    while (*p) {
        if (p[0] == '$' && p[1] == '$' && p[2] == '{') {
            mf_str_puts(&out, "${");
            p += 3;
            continue;
        }
        if (p[0] != '$' || p[1] != '{') {
            const char *next = strchr(p + 1, '$');
            size_t n = next ? (size_t)(next - p) : strlen(p);
            mf_str_append(&out, p, n);
            p += n;
            continue;
        }
        const char *end = strchr(p + 2, '}');
        if (!end) {
            *error = mf_xstrdup("unterminated '${' (write '$${' for a literal)");
            goto fail;
        }
        char *ref = mf_xstrndup(p + 2, (size_t)(end - p - 2));
        char *value = NULL;
        bool secret = false; /* ${env:} values are not: they carry plain deployment settings */
        if (strncmp(ref, "env:", 4) == 0) {
            value = lookup_env(ref + 4, error);
        } else if (strncmp(ref, "file:", 5) == 0) {
            value = lookup_file(ref + 5, error);
            secret = true;
        } else if (strncmp(ref, "json:", 5) == 0) {
            value = lookup_json(ref + 5, error);
            secret = true;
        } else {
            *error = mf_xasprintf("unknown substitution '${%s}' (use ${env:..}, ${file:..} or ${json:..})", ref);
        }
        free(ref);
        if (!value)
            goto fail;
        *sensitive |= secret;
        if (secret && !mf_redact_add(value)) {
            free(value);
            *error = mf_xasprintf("too many secret values to keep out of the logs (at most %u values, %u MiB)",
                                  (unsigned)MF_REDACT_MAX_VALUES, MF_REDACT_MAX_BYTES >> 20);
            goto fail;
        }
        mf_str_puts(&out, value);
        free(value);
        p = end + 1;
    }
    return mf_str_take(&out);
fail:
    mf_str_free(&out);
    return NULL;
}

/* Substitute the string at obj[key] or array[index]; returns the new value or
 * NULL when unchanged/failed. */
static json_t *subst_value(mf_config *cfg, json_t *v, mf_loc loc, mf_diag *diag, bool *sensitive)
{
    const char *s = json_string_value(v);
    if (!s || !strchr(s, '$'))
        return NULL;
    char *error = NULL;
    char *out = mf_subst_string(s, sensitive, &error);
    if (!out) {
        mf_diag_error(diag, loc, "%s", error);
        free(error);
        return NULL;
    }
    json_t *nv = json_string(out);
    free(out);
    if (!nv)
        mf_diag_error(diag, loc, "substituted value is not valid UTF-8");
    MF_UNUSED(cfg);
    return nv;
}

static void walk(mf_config *cfg, json_t *node, mf_diag *diag, int depth)
{
    if (depth > 64)
        return;
    if (json_is_object(node)) {
        void *it = json_object_iter(node);
        while (it) {
            const char *key = json_object_iter_key(it);
            json_t *v = json_object_iter_value(it);
            if (json_is_string(v)) {
                bool sensitive = false;
                json_t *nv = subst_value(cfg, v, mf_config_value_loc(cfg, node, key), diag, &sensitive);
                if (nv)
                    json_object_iter_set_new(node, it, nv);
                if (sensitive)
                    mf_config_mark_sensitive(cfg, node, key, 0);
            } else {
                walk(cfg, v, diag, depth + 1);
            }
            it = json_object_iter_next(node, it);
        }
    } else if (json_is_array(node)) {
        for (size_t i = 0; i < json_array_size(node); i++) {
            json_t *v = json_array_get(node, i);
            if (json_is_string(v)) {
                bool sensitive = false;
                json_t *nv = subst_value(cfg, v, mf_config_index_loc(cfg, node, i), diag, &sensitive);
                if (nv)
                    json_array_set_new(node, i, nv);
                if (sensitive)
                    mf_config_mark_sensitive(cfg, node, NULL, i);
            } else {
                walk(cfg, v, diag, depth + 1);
            }
        }
    }
}

bool mf_subst_tree(mf_config *cfg, mf_diag *diag)
{
    int before = diag->errors;
    walk(cfg, mf_config_root(cfg), diag, 0);
    return diag->errors == before;
}
