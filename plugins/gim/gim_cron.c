/* gim_cron.c — see gim_cron.h. */
#include "gim_cron.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct field {
    const char *name;
    int lo, hi;
};

static const struct field fields[5] = {
    {"minute", 0, 59}, {"hour", 0, 23}, {"day of month", 1, 31}, {"month", 1, 12}, {"day of week", 0, 7}};

/* A number at *p (advanced), in [lo, hi]. */
static bool number(const char **p, int lo, int hi, int *out)
{
    if (**p < '0' || **p > '9')
        return false;
    long v = 0;
    while (**p >= '0' && **p <= '9') {
        v = v * 10 + (**p - '0');
        if (v > 1000)
            return false;
        (*p)++;
    }
    if (v < lo || v > hi)
        return false;
    *out = (int)v;
    return true;
}

/* One field (len bytes at s) into bits; *star: it starts with '*'. */
static bool parse_field(const char *s, size_t len, const struct field *f, uint64_t *bits, bool *star, char *why,
                        size_t size)
{
    char buf[128];
    if (len == 0 || len >= sizeof buf) {
        snprintf(why, size, "%s: empty or too long", f->name);
        return false;
    }
    memcpy(buf, s, len);
    buf[len] = '\0';
    *bits = 0;
    *star = buf[0] == '*';
    if (buf[0] == ',' || buf[len - 1] == ',' || strstr(buf, ",,")) {
        snprintf(why, size, "%s: '%s': an empty list item", f->name, buf);
        return false;
    }
    char *save = NULL;
    for (char *item = strtok_r(buf, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        const char *p = item;
        int a = f->lo, b = f->hi, step = 1;
        if (*p == '*') {
            p++;
        } else {
            if (!number(&p, f->lo, f->hi, &a))
                goto bad;
            b = a;
            if (*p == '-') {
                p++;
                if (!number(&p, f->lo, f->hi, &b) || b < a)
                    goto bad;
            } else if (*p == '/') {
                b = f->hi; /* a/n: from a to the end */
            }
        }
        if (*p == '/') {
            p++;
            if (!number(&p, 1, f->hi - f->lo + 1, &step))
                goto bad;
        }
        if (*p)
            goto bad;
        for (int v = a; v <= b; v += step)
            *bits |= UINT64_C(1) << v;
        continue;
    bad:
        snprintf(why, size, "%s: '%s' is not *, N, N-M, a step (*/N, N-M/N, N/N) or a list of those, with N in %d..%d",
                 f->name, item, f->lo, f->hi);
        return false;
    }
    if (!*bits) {
        snprintf(why, size, "%s: an empty list", f->name);
        return false;
    }
    return true;
}

bool gim_cron_parse(const char *expr, gim_cron *c, char *why, size_t size)
{
    memset(c, 0, sizeof *c);
    uint64_t bits[5];
    bool star[5];
    const char *p = expr ? expr : "";
    int n = 0;
    while (*p) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p)
            break;
        const char *start = p;
        while (*p && *p != ' ' && *p != '\t')
            p++;
        if (n == 5) {
            snprintf(why, size, "five fields are needed (minute hour day-of-month month day-of-week), not more");
            return false;
        }
        if (!parse_field(start, (size_t)(p - start), &fields[n], &bits[n], &star[n], why, size))
            return false;
        n++;
    }
    if (n != 5) {
        snprintf(why, size, "five fields are needed (minute hour day-of-month month day-of-week), got %d", n);
        return false;
    }
    c->minute = bits[0];
    c->hour = (uint32_t)bits[1];
    c->mday = (uint32_t)bits[2];
    c->month = (uint16_t)bits[3];
    c->wday = (uint8_t)((bits[4] & 0x7f) | ((bits[4] >> 7) & 1)); /* 7 is Sunday too */
    c->mday_star = star[2];
    c->wday_star = star[4];
    if (gim_cron_next(c, 0) < 0) { /* from 1970 over 8 years: every month and weekday combination */
        snprintf(why, size, "it never fires (no such day: e.g. the 30th of February)");
        return false;
    }
    return true;
}

static bool day_matches(const gim_cron *c, const struct tm *tm)
{
    bool md = c->mday >> tm->tm_mday & 1, wd = c->wday >> tm->tm_wday & 1;
    if (!c->mday_star && !c->wday_star)
        return md || wd;
    return md && wd;
}

int64_t gim_cron_next(const gim_cron *c, int64_t after)
{
    int64_t t = after - ((after % 60) + 60) % 60 + 60; /* the next whole minute */
    const int64_t limit = t + INT64_C(8) * 366 * 86400;
    while (t < limit) {
        time_t tt = (time_t)t;
        struct tm tm;
        gmtime_r(&tt, &tm);
        if (!(c->month >> (tm.tm_mon + 1) & 1)) { /* the 1st of the next month, 00:00 */
            tm.tm_mon++;
            tm.tm_mday = 1;
            tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
            t = (int64_t)timegm(&tm);
            continue;
        }
        if (!day_matches(c, &tm)) {
            t += 86400 - (tm.tm_hour * 3600 + tm.tm_min * 60);
            continue;
        }
        if (!(c->hour >> tm.tm_hour & 1)) {
            t += 3600 - tm.tm_min * 60;
            continue;
        }
        if (!(c->minute >> tm.tm_min & 1)) {
            t += 60;
            continue;
        }
        return t;
    }
    return -1;
}
