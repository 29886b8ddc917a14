/* Unit tests: the cron-like schedules of the gim sink's jobs (plugins/gim/gim_cron.h):
 * the next fire time in UTC across minute, hour, day, month and year ends, leap
 * years, weekdays, lists, ranges and steps, day-of-month OR day-of-week, and the
 * expressions refused (with why), those that never fire included. */
#define _DEFAULT_SOURCE
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cunit_main.h"
#include "gim_cron.h"

/* "YYYY-MM-DD HH:MM[:SS]" UTC -> epoch seconds */
static int64_t at(const char *s)
{
    struct tm tm = {0};
    int sec = 0;
    int n = sscanf(s, "%d-%d-%d %d:%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &sec);
    CU_ASSERT_FATAL(n >= 5);
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    tm.tm_sec = sec;
    return (int64_t)timegm(&tm);
}

static void next_is(const char *expr, const char *after, const char *want)
{
    gim_cron c;
    char why[256] = "";
    bool ok = gim_cron_parse(expr, &c, why, sizeof why);
    if (!ok)
        printf("\n  '%s' refused: %s\n", expr, why);
    CU_ASSERT_FATAL(ok);
    int64_t got = gim_cron_next(&c, at(after));
    if (got != at(want)) {
        time_t t = (time_t)got;
        char buf[32];
        strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", gmtime(&t));
        printf("\n  '%s' after %s: want %s, got %s\n", expr, after, want, buf);
    }
    CU_ASSERT_EQUAL(got, at(want));
}

static void test_basic(void)
{
    next_is("* * * * *", "2026-12-02 12:00:30", "2026-12-02 12:01");
    next_is("* * * * *", "2026-12-02 12:01:00", "2026-12-02 12:02"); /* strictly after */
    next_is("30 2 * * *", "2026-12-02 10:00", "2026-12-03 02:30");
    next_is("30 2 * * *", "2026-12-02 02:29:59", "2026-12-02 02:30");
    next_is("0 * * * *", "2026-12-02 23:00", "2026-12-03 00:00");
    next_is("  15   3  *  *  *  ", "2026-12-02 00:00", "2026-12-02 03:15"); /* spaces */
}

static void test_steps_lists_ranges(void)
{
    next_is("*/15 * * * *", "2026-12-02 10:07", "2026-12-02 10:15");
    next_is("*/15 * * * *", "2026-12-02 10:45", "2026-12-02 11:00");
    next_is("10-50/20 * * * *", "2026-12-02 10:31", "2026-12-02 10:50");
    next_is("10-50/20 * * * *", "2026-12-02 10:50", "2026-12-02 11:10");
    next_is("5/20 * * * *", "2026-12-02 10:46", "2026-12-02 11:05");
    next_is("0 8,12,18 * * *", "2026-12-02 12:00", "2026-12-02 18:00");
    next_is("0 8-10,20 * * *", "2026-12-02 10:30", "2026-12-02 20:00");
    next_is("0 0 * 1-12/3 *", "2026-12-02 00:00", "2027-01-01 00:00"); /* months 1, 4, 7, 10 */
    next_is("0 0 * 1-12/3 *", "2027-01-01 00:00", "2027-01-02 00:00");
}

static void test_month_and_year_ends(void)
{
    next_is("0 0 31 * *", "2026-04-15 00:00", "2026-05-31 00:00"); /* April has 30 days */
    next_is("0 0 31 * *", "2026-05-31 00:00", "2026-07-31 00:00"); /* June neither */
    next_is("0 0 31 1-12/2 *", "2026-02-01 00:00", "2026-03-31 00:00");
    next_is("0 0 30 * *", "2026-01-30 00:00", "2026-03-30 00:00"); /* February has no 30th */
    next_is("0 0 29 2 *", "2026-03-01 00:00", "2028-02-29 00:00"); /* the next leap year */
    next_is("0 0 29 2 *", "2099-03-01 00:00", "2104-02-29 00:00"); /* 2100 is not a leap year */
    next_is("0 0 1 1 *", "2026-12-31 23:59", "2027-01-01 00:00");
    next_is("59 23 31 12 *", "2026-12-31 23:59", "2027-12-31 23:59");
    next_is("* * * * *", "2026-12-31 23:59:59", "2027-01-01 00:00");
    next_is("0 0 1 * *", "2027-02-28 12:00", "2027-03-01 00:00");
}

static void test_weekdays(void)
{
    /* 2026-12-02 is a Wednesday */
    next_is("0 12 * * 1-5", "2026-12-04 12:00", "2026-12-07 12:00"); /* Friday -> Monday */
    next_is("0 0 * * 0", "2026-12-02 00:00", "2026-12-06 00:00");
    next_is("0 0 * * 7", "2026-12-02 00:00", "2026-12-06 00:00"); /* 7 is Sunday too */
    next_is("0 0 * * 6,0", "2026-12-06 00:00", "2026-12-12 00:00");
    /* both restricted: either matches */
    next_is("0 0 1,15 * 0", "2026-12-02 00:00", "2026-12-06 00:00");
    next_is("0 0 1,15 * 0", "2026-12-13 00:00", "2026-12-15 00:00");
    /* only one restricted: both must (the other is *) */
    next_is("0 0 * 12 1", "2026-12-02 00:00", "2026-12-07 00:00");
    next_is("0 0 */2 * *", "2026-12-02 00:00", "2026-12-03 00:00"); /* days 1, 3, 5, ... */
    /* the 13th and Fridays: both restricted, so every Friday and every 13th (cron has no AND here) */
    next_is("0 0 13 * 5", "2026-12-02 00:00", "2026-12-04 00:00"); /* Friday 4th (OR) */
}

static void refused(const char *expr, const char *why_part)
{
    gim_cron c;
    char why[256] = "";
    bool ok = gim_cron_parse(expr, &c, why, sizeof why);
    if (ok || !strstr(why, why_part))
        printf("\n  '%s': %s (wanted a refusal naming '%s')\n", expr, ok ? "accepted" : why, why_part);
    CU_ASSERT_FALSE(ok);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, why_part));
}

static void test_refused(void)
{
    refused("", "five fields");
    refused("* * * *", "got 4");
    refused("* * * * * *", "not more");
    refused("60 * * * *", "minute: '60'");
    refused("* 24 * * *", "hour: '24'");
    refused("* * 0 * *", "day of month: '0'");
    refused("* * 32 * *", "day of month");
    refused("* * * 13 *", "month: '13'");
    refused("* * * 0 *", "month");
    refused("* * * * 8", "day of week: '8'");
    refused("5-1 * * * *", "minute: '5-1'");
    refused("*/0 * * * *", "minute");
    refused("*/61 * * * *", "minute");
    refused("a * * * *", "minute: 'a'");
    refused("1,,2 * * * *", "empty list item");
    refused("1, * * * *", "empty list item");
    refused("1-2-3 * * * *", "minute");
    refused("@daily", "minute: '@daily'"); /* no @ shorthands */
    refused("0 0 * JAN *", "month: 'JAN'");
    refused("0 0 30 2 *", "never fires");
    refused("0 0 31 4,6,9,11 *", "never fires");
}

static const mf_test tests[] = {
    {"basic: the next whole minute after", test_basic},
    {"steps, lists, ranges", test_steps_lists_ranges},
    {"month ends, leap years, year ends (UTC)", test_month_and_year_ends},
    {"weekdays; day of month OR day of week", test_weekdays},
    {"refused expressions", test_refused},
    {NULL, NULL},
};

int main(void)
{
    static const mf_suite suites[] = {{"gim_cron", tests}, {NULL, NULL}};
    return mf_cunit_run(suites);
}
