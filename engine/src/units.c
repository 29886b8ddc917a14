/* units.c — see units.h. */
#include "units.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

bool mf_parse_int(const char *text, int64_t *value)
{
    if (!text || !*text || isspace((unsigned char)*text))
        return false;
    errno = 0;
    char *end;
    long long v = strtoll(text, &end, 0);
    if (errno || *end)
        return false;
    *value = v;
    return true;
}

bool mf_parse_double(const char *text, double *value)
{
    if (!text || !*text || isspace((unsigned char)*text))
        return false;
    errno = 0;
    char *end;
    double v = strtod(text, &end);
    if (errno || *end || !isfinite(v))
        return false;
    *value = v;
    return true;
}

bool mf_parse_bool(const char *text, bool *value)
{
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(text, yes[i]) == 0) {
            *value = true;
            return true;
        }
        if (strcasecmp(text, no[i]) == 0) {
            *value = false;
            return true;
        }
    }
    return false;
}

struct unit {
    const char *name;
    double factor;
};

/* Parse "<number><unit>" where the number may have a fraction. */
static bool parse_scaled(const char *text, const struct unit *units, double *out, const char **rest)
{
    const char *p = text;
    if (!isdigit((unsigned char)*p) && *p != '.')
        return false;
    char *end;
    errno = 0;
    double v = strtod(p, &end);
    if (errno || end == p || v < 0)
        return false;
    p = end;
    while (*p == ' ')
        p++;
    const char *u = p;
    while (*p && isalpha((unsigned char)*p))
        p++;
    size_t ulen = (size_t)(p - u);
    for (const struct unit *x = units; x->name; x++) {
        if (strlen(x->name) == ulen && strncasecmp(x->name, u, ulen) == 0) {
            *out = v * x->factor;
            *rest = p;
            return true;
        }
    }
    return false;
}

bool mf_parse_size(const char *text, uint64_t *bytes)
{
    static const struct unit units[] = {
        {"", 1.0},          {"b", 1.0},
        {"k", 1e3},         {"kb", 1e3},          {"kib", 1024.0},
        {"m", 1e6},         {"mb", 1e6},          {"mib", 1048576.0},
        {"g", 1e9},         {"gb", 1e9},          {"gib", 1073741824.0},
        {"t", 1e12},        {"tb", 1e12},         {"tib", 1099511627776.0},
        {NULL, 0},
    };
    double v;
    const char *rest;
    if (!text || !parse_scaled(text, units, &v, &rest) || *rest || v > 1.8e19)
        return false;
    *bytes = (uint64_t)llround(v);
    return true;
}

bool mf_parse_duration_ms(const char *text, int64_t *ms)
{
    static const struct unit units[] = {
        {"", 1.0}, {"ms", 1.0}, {"s", 1e3}, {"m", 60e3}, {"min", 60e3},
        {"h", 3600e3}, {"d", 86400e3}, {NULL, 0},
    };
    if (!text || !*text)
        return false;
    /* "1h30m": a sequence of terms; a bare number only as the whole text. */
    double total = 0;
    const char *p = text;
    int terms = 0;
    while (*p) {
        double v;
        const char *rest;
        if (!parse_scaled(p, units, &v, &rest))
            return false;
        /* A number without a unit is only accepted for zero: "10" could mean
         * seconds or milliseconds, and guessing wrong is a silent bug. */
        if (rest > p && !isalpha((unsigned char)rest[-1]) && v != 0)
            return false;
        total += v;
        p = rest;
        terms++;
    }
    if (total > 9.2e18)
        return false;
    *ms = (int64_t)llround(total);
    return true;
}
