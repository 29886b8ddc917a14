/* objstore_settings.c — mf_objstore_open_settings (martflow/objstore.h): an
 * object store opened with the S3 options of a pipeline's settings, the same
 * ones (and the same secret file) the checkpoint store takes: both read the
 * secret file through mf_objstore_secret_keys. */
#include <stdlib.h>
#include <string.h>

#include <martflow/helpers.h>
#include <martflow/objstore.h>

#include "objstore_settings.h"
#include "util.h"

bool mf_objstore_secret_keys(const char *url, const char *secret_file, struct mf_objstore_opts *o,
                             mf_objstore_keys *keys, char **error)
{
    keys->access = keys->secret = NULL;
    if (!secret_file || !*secret_file || strncmp(url ? url : "", "s3://", 5) != 0)
        return true;
    char why[512];
    if (!mf_secret_read_s3_keys(secret_file, &keys->access, &keys->secret, why, sizeof why)) {
        if (error) {
            free(*error);
            *error = mf_xasprintf("settings.s3_secret_file: %s", why);
        }
        return false;
    }
    o->access_key = keys->access;
    o->secret_key = keys->secret;
    return true;
}

void mf_objstore_keys_free(mf_objstore_keys *keys)
{
    mf_secret_text_free(keys->access);
    mf_secret_text_free(keys->secret);
    keys->access = keys->secret = NULL;
}

static const char *setting_str(const json_t *settings, const char *name)
{
    const char *v = json_string_value(json_object_get(settings, name));
    return v && *v ? v : NULL;
}

/* s3_path_style / s3_insecure as YAML wrote it (true) or as ${env:...} made it ("true"). */
static bool setting_bool(const json_t *settings, const char *name)
{
    const json_t *v = json_object_get(settings, name);
    bool b = false;
    if (json_is_boolean(v))
        return json_is_true(v);
    return json_is_string(v) && mf_parse_bool(json_string_value(v), &b) && b;
}

mf_objstore *mf_objstore_open_settings(const char *url, const json_t *settings, const struct mf_objstore_opts *base,
                                       char **error)
{
    struct mf_objstore_opts o = {0};
    if (base)
        o = *base;
    const json_t *s = json_is_object(settings) ? settings : NULL;
    o.endpoint = setting_str(s, "s3_endpoint");
    o.region = setting_str(s, "s3_region");
    o.access_key = setting_str(s, "s3_access_key");
    o.secret_key = setting_str(s, "s3_secret_key");
    o.path_style = setting_bool(s, "s3_path_style");
    o.ca_file = setting_str(s, "s3_ca_file");
    o.insecure = setting_bool(s, "s3_insecure");
    mf_objstore_keys keys;
    if (!mf_objstore_secret_keys(url, setting_str(s, "s3_secret_file"), &o, &keys, error))
        return NULL;
    mf_objstore *store = mf_objstore_open(url, &o, error);
    mf_objstore_keys_free(&keys);
    return store;
}
