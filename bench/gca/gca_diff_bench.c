/*
 * bench/gca/gca_diff_bench [OBJECTS] [CHANGED_PERCENT] — GCA's change
 * detection on a generated configuration, in process: the code of the
 * configdb source from the read's rows on (no database).
 *
 * Builds OBJECTS (100,000) objects shaped like the sample's (persons with a
 * login, skills and annex; logins; DNs; places; groups), as the read gets
 * them (jsonb text) and makes them canonical (cfgdb_set_add_text) and sorted;
 * takes the result as published; builds the next read with CHANGED_PERCENT
 * (1) of the objects changed (half of them modified, a quarter deleted, a
 * quarter new); diffs; writes the snapshot document; and reads it back (what
 * a restart does). Prints the time of each step and the peak RSS.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "cfgdb_diff.h"
#include "gca_snapshot.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Object i's data as jsonb prints it (key order and spaces its own); `rev`
 * changes the content. */
static int object_text(char *buf, size_t cap, int64_t i, int rev, gca_type *type)
{
    switch (i % 5) {
    case 0:
        *type = GCA_PERSON;
        return snprintf(buf, cap,
                        "{\"dbid\": %" PRId64 ", \"state\": 1, \"annex\": {\"htcc\": {\"roles\": \"agent\"}, "
                        "\"interaction-workspace\": {\"language\": \"en\"}}, \"skills\": [{\"level\": %d, "
                        "\"skill_dbid\": 6001}, {\"level\": 3, \"skill_dbid\": 6002}], \"is_agent\": 2, "
                        "\"last_name\": \"Last%" PRId64 "\", \"user_name\": \"user%" PRId64 "\", "
                        "\"first_name\": \"First%" PRId64 "\", \"employee_id\": \"E%" PRId64 "\", "
                        "\"agent_logins\": [{\"wrapup_time\": 30, \"agent_login_dbid\": %" PRId64 "}]}",
                        i, 1 + rev, i, i, i, i, i + 1);
    case 1:
        *type = GCA_AGENT_LOGIN;
        return snprintf(buf, cap,
                        "{\"dbid\": %" PRId64 ", \"state\": 1, \"annex\": {}, \"login_code\": \"a%" PRId64
                        "\", \"switch_dbid\": %d}",
                        i, i + rev * 1000000, 101);
    case 2:
        *type = GCA_DN;
        return snprintf(buf, cap,
                        "{\"dbid\": %" PRId64 ", \"name\": \"Ext %" PRId64 "%s\", \"type\": \"Extension\", "
                        "\"state\": 1, \"annex\": {}, \"number\": \"%" PRId64 "\", \"switch_dbid\": 101}",
                        i, i, rev ? " (moved)" : "", i);
    case 3:
        *type = GCA_PLACE;
        return snprintf(buf, cap, "{\"dbid\": %" PRId64 ", \"name\": \"Place_%" PRId64 "\", \"state\": %d, "
                        "\"annex\": {}}", i, i, 1 + rev);
    default:
        *type = GCA_AGENT_GROUP;
        return snprintf(buf, cap, "{\"dbid\": %" PRId64 ", \"name\": \"Group %" PRId64 "\", \"state\": 1, "
                        "\"annex\": {}, \"members\": [%" PRId64 ", %" PRId64 ", %" PRId64 "%s]}",
                        i, i, i - 4, i - 9, i - 14, rev ? ", 5" : "");
    }
}

static void add(cfgdb_set *s, int64_t i, int rev)
{
    char buf[1024], why[256];
    gca_type t;
    int n = object_text(buf, sizeof buf, i, rev, &t);
    if (!cfgdb_set_add_text(s, t, i, 0, buf, (size_t)n, why, sizeof why)) {
        fprintf(stderr, "%s\n", why);
        exit(1);
    }
}

/* Which of the objects change: every (100 / percent)-th, in turn modified,
 * deleted, modified, or joined by a new object. */
static int kind_of(int64_t i, int64_t step)
{
    return i % step ? -1 : (int)((i / step) % 4);
}

int main(int argc, char **argv)
{
    int64_t n = argc > 1 ? strtoll(argv[1], NULL, 10) : 100000;
    double pct = argc > 2 ? strtod(argv[2], NULL) : 1.0;
    int64_t step = (int64_t)(100.0 / pct + 0.5);
    char why[256];
    cfgdb_set prev, next;
    cfgdb_changes ch = {0};
    cfgdb_set_init(&prev);
    cfgdb_set_init(&next);

    double t0 = now_s();
    for (int64_t i = 1; i <= n; i++)
        add(&prev, i, 0);
    double t1 = now_s();
    if (!cfgdb_set_sort(&prev, why, sizeof why))
        return 1;
    cfgdb_diff(&next, &prev, 1, &ch); /* the first publication: all new, version 1 */
    double t2 = now_s();

    /* the next read, built and sorted as the source does it */
    double t3 = now_s();
    int64_t expect = 0;
    for (int64_t i = 1; i <= n; i++) {
        int k = kind_of(i, step);
        if (k == 1) {
            expect++; /* deleted */
            continue;
        }
        add(&next, i, k == 0 || k == 2);
        expect += k == 0 || k == 2;
        if (k == 3) {
            add(&next, n + i, 0); /* a new object */
            expect++;
        }
    }
    if (!cfgdb_set_sort(&next, why, sizeof why))
        return 1;
    double t4 = now_s();
    cfgdb_diff(&prev, &next, 2, &ch);
    double t5 = now_s();
    if ((int64_t)ch.n != expect) {
        fprintf(stderr, "expected %" PRId64 " changes, got %zu\n", expect, ch.n);
        return 1;
    }

    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    long rss_diff = ru.ru_maxrss;
    gca_snapshot snap = {.tenant = "t1", .topic = "gca-cfg", .change_set = 2, .time_ms = 1700000000000,
                         .objects = next};
    mf_buffer doc = {0};
    double t6 = now_s();
    gca_snapshot_write(&snap, &doc);
    double t7 = now_s();
    gca_snapshot back;
    if (!gca_snapshot_read(doc.data, doc.len, &back, why, sizeof why)) {
        fprintf(stderr, "%s\n", why);
        return 1;
    }
    double t8 = now_s();
    if (back.objects.n != next.n)
        return 1;

    getrusage(RUSAGE_SELF, &ru);
    printf("objects %" PRId64 ", changed %.2f%%: %zu upserts, %zu deletes\n", n, pct, ch.upserts, ch.deletes);
    printf("read: canonical %.3f s (%.2f us/object), sort %.3f s\n", t1 - t0, (t1 - t0) / (double)n * 1e6,
           t2 - t1);
    printf("next read: canonical + sort %.3f s\n", t4 - t3);
    printf("diff: %.4f s (%.1f ns/object)\n", t5 - t4, (t5 - t4) / (double)n * 1e9);
    printf("snapshot: write %.3f s (%zu bytes), read back %.3f s\n", t7 - t6, doc.len, t8 - t7);
    printf("peak RSS: %.1f MiB after the diff (both reads held), %.1f MiB after the snapshot read back\n",
           (double)rss_diff / 1024.0, (double)ru.ru_maxrss / 1024.0);
    gca_snapshot_free(&back);
    mf_buffer_free(&doc);
    cfgdb_changes_free(&ch);
    cfgdb_set_free(&prev);
    cfgdb_set_free(&next);
    return 0;
}
