/* objstore_settings.c — mf_objstore_open_settings (martflow/objstore.h): an
 * object store opened with the S3 options of a pipeline's settings, the same
 * ones (and the same secret file) the checkpoint store takes. */
#include <stdlib.h>
#include <string.h>

#include <martflow/helpers.h>
#include <martflow/objstore.h>

#include "util.h"

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
    const char *secret_file = setting_str(s, "s3_secret_file");
    char *file_access = NULL, *file_secret = NULL;
    if (secret_file && strncmp(url ? url : "", "s3://", 5) == 0) {
        char why[512];
        if (!mf_secret_read_s3_keys(secret_file, &file_access, &file_secret, why, sizeof why)) {
            if (error) {
                free(*error);
                *error = mf_xasprintf("settings.s3_secret_file: %s", why);
            }
            return NULL;
        }
        o.access_key = file_access;
        o.secret_key = file_secret;
    }
    mf_objstore *store = mf_objstore_open(url, &o, error);
    mf_secret_text_free(file_access);
    mf_secret_text_free(file_secret);
    return store;
}
