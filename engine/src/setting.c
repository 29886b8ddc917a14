/*
 * setting.c — mf_setting_int (martflow/helpers.h): one pipeline setting read
 * with the engine's own settings table, so a plugin that needs a setting
 * (the Kafka source's batch_records) parses it as the engine does, with the
 * same default and range, instead of by hand.
 */
#include <martflow/helpers.h>

#include <stdint.h>
#include <string.h>

#include "config.h"
#include "options.h"
#include "pipeline.h"

bool mf_setting_int(const json_t *settings, const char *name, int64_t *value)
{
    const mf_option *found = NULL;
    for (const mf_option *o = mf_settings_options(); o->name && !found; o++)
        if (strcmp(o->name, name) == 0 &&
            (o->type == MF_OPT_INT || o->type == MF_OPT_SIZE || o->type == MF_OPT_DURATION))
            found = o;
    if (!found)
        return false;
    /* A table of that one option, filling a local instead of mf_settings. */
    mf_option one[2] = {*found, MF_OPTION_END};
    one[0].offset = 0;
    union {
        int64_t i;
        uint64_t u;
    } v = {0};
    mf_diag diag = {0};
    /* The settings were validated when the pipeline was loaded; locations
     * only matter for errors, which then come from a host that skipped that
     * (a test harness): an empty configuration gives them none. */
    mf_config *cfg = mf_config_load_text("settings", "{}", 2, &diag);
    mf_optvals *vals = cfg ? mf_options_apply(one, json_is_object(settings) ? settings : NULL, NULL,
                                              MF_OPTS_IGNORE_UNKNOWN, cfg, "settings", &v, &diag)
                           : NULL;
    bool ok = vals != NULL;
    if (ok)
        *value = found->type == MF_OPT_SIZE ? (v.u > INT64_MAX ? INT64_MAX : (int64_t)v.u) : v.i;
    mf_optvals_free(vals);
    mf_config_free(cfg);
    mf_diag_free(&diag);
    return ok;
}
