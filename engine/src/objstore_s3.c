/* objstore_s3.c — the s3:// backend of martflow/objstore.h (in progress). */
#include "objstore_impl.h"

void *mf_objstore_s3_open(const char *bucket, const char *prefix, const struct mf_objstore_opts *opts,
                          const char *url, char **error)
{
    (void)bucket;
    (void)prefix;
    (void)opts;
    mf_obj_error(error, "%s: s3:// is not available in this build yet", url);
    return NULL;
}

const struct mf_objstore_backend mf_objstore_s3_backend = {.scheme = "s3"};
