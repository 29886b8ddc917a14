/* Integration tests: the Info Mart migrations (plugins/gim/sql) and their
 * runner (plugins/gim/schema.c) against the real server of tests/services.sh.
 * Run by tests/gim/schema.sh, which sets PGHOST, PGPORT, PGUSER, PGDATABASE
 * (a database of this run, used to create one database per test),
 * MF_TEST_SQLDIR (the shipped migrations) and MF_TEST_SHA001 (sha256sum of
 * 001_initial.sql, computed independently).
 *
 * With --migrate it only migrates $PGDATABASE with $MF_TEST_SQLDIR and prints
 * the version (tests/gim/schema_doc.sh uses it). */
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <martflow/alloc.h>
#include <martflow/helpers.h>

#include "cunit_main.h"
#include "pg_client.h"
#include "schema.h"

static const char *sqldir;
static char tmp[] = "/tmp/mf-test-gim-schema.XXXXXX";
static pgc *admin; /* on the run's database: creates and drops the others */
static char *dbs[32];
static int ndbs;

static void quiet_log(mf_node *node, mf_log_level level, const char *fmt, ...)
{
    (void)node;
    if (level > MF_LOG_WARN)
        return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static const mf_host host = {.log = quiet_log};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static pgc *client_of(const char *db)
{
    char conninfo[256];
    snprintf(conninfo, sizeof conninfo, "dbname=%s", db);
    struct pgc_opts o = {.conninfo = conninfo};
    pgc_error err;
    pgc *c = pgc_new(&o, "mf-test-schema", &host, NULL, &err);
    if (!c)
        fprintf(stderr, "pgc_new: %s\n", err.message);
    return c;
}

static void run_ok(pgc *c, const char *sql)
{
    pgc_class cls = pgc_exec(c, sql, 0, NULL, NULL);
    CU_ASSERT_EQUAL(cls, PGC_OK);
    if (cls != PGC_OK)
        fprintf(stderr, "%s: %s\n", sql, pgc_last_error(c)->message);
}

/* The values of a query's first column, one a line (a new string). */
static char *query(pgc *c, const char *sql)
{
    PGresult *r = NULL;
    mf_buffer b = {0};
    pgc_class cls = pgc_exec(c, sql, 0, NULL, &r);
    CU_ASSERT_EQUAL(cls, PGC_OK);
    if (cls != PGC_OK)
        fprintf(stderr, "%s: %s\n", sql, pgc_last_error(c)->message);
    for (int i = 0; r && i < PQntuples(r); i++) {
        mf_buffer_append_str(&b, PQgetisnull(r, i, 0) ? "NULL" : PQgetvalue(r, i, 0));
        mf_buffer_append(&b, "\n", 1);
    }
    PQclear(r);
    mf_buffer_append(&b, "", 1);
    return (char *)b.data;
}

static long count(pgc *c, const char *sql)
{
    char *v = query(c, sql);
    long n = strtol(v, NULL, 10);
    free(v);
    return n;
}

/* A fresh database for one test and a client of it. */
static pgc *fresh_db(void)
{
    CU_ASSERT_FATAL(ndbs < (int)(sizeof dbs / sizeof *dbs));
    char *name = mf_xasprintf("%s_%d", getenv("PGDATABASE"), ndbs);
    char *sql = mf_xasprintf("CREATE DATABASE %s", name);
    run_ok(admin, sql);
    free(sql);
    dbs[ndbs++] = name;
    pgc *c = client_of(name);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    return c;
}

static const char *path_in(const char *dir, const char *name)
{
    static char p[512];
    snprintf(p, sizeof p, "%s/%s/%s", tmp, dir, name);
    return p;
}

/* tmp/dir with the given files: "=NAME" links the shipped migration NAME,
 * "NAME:TEXT" writes TEXT. Returns the directory (static). */
static const char *make_dir(const char *dir, ...)
{
    static char d[512];
    snprintf(d, sizeof d, "%s/%s", tmp, dir);
    char *cmd = mf_xasprintf("rm -rf '%s' && mkdir -p '%s'", d, d);
    CU_ASSERT_EQUAL_FATAL(system(cmd), 0);
    free(cmd);
    va_list ap;
    va_start(ap, dir);
    const char *f;
    while ((f = va_arg(ap, const char *)) != NULL) {
        if (f[0] == '=') {
            char *target = mf_xasprintf("%s/%s", sqldir, f + 1);
            CU_ASSERT_EQUAL(symlink(target, path_in(dir, f + 1)), 0);
            free(target);
        } else {
            const char *colon = strchr(f, ':');
            char *name = mf_xstrndup(f, (size_t)(colon - f));
            FILE *out = fopen(path_in(dir, name), "w");
            CU_ASSERT_PTR_NOT_NULL_FATAL(out);
            fputs(colon + 1, out);
            fclose(out);
            free(name);
        }
    }
    va_end(ap);
    return d;
}

static pgc_class migrate(pgc *c, const char *dir, gim_schema_result *res)
{
    pgc_class cls = gim_schema_migrate(c, dir, 5000, res);
    if (cls != PGC_OK)
        fprintf(stderr, "  (migrate %s: %s: %s)\n", dir, pgc_class_name(cls), res->message);
    return cls;
}

/* The newest shipped version: the number of files (they have no gaps). */
static int shipped_version(void)
{
    char *cmd = mf_xasprintf("ls '%s' | grep -c '^[0-9][0-9][0-9]_.*\\.sql$'", sqldir);
    FILE *p = popen(cmd, "r");
    free(cmd);
    int n = 0;
    CU_ASSERT_EQUAL(fscanf(p, "%d", &n), 1);
    pclose(p);
    return n;
}

/* Everything a migration could change: the catalog (tables, columns, types,
 * defaults, constraints, indexes, comments, functions) and the rows of the
 * seeded and control tables. */
static char *dump(pgc *c)
{
    static const char *parts =
        "SELECT string_agg(x, E'\\n' ORDER BY x) FROM ("
        " SELECT concat_ws(' ', c.relname, a.attnum, a.attname, format_type(a.atttypid, a.atttypmod),"
        "   a.attnotnull, pg_get_expr(d.adbin, d.adrelid), col_description(c.oid, a.attnum)) AS x"
        "  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_attribute a ON a.attrelid = c.oid"
        "  LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum"
        "  WHERE n.nspname = 'public' AND a.attnum > 0 AND NOT a.attisdropped"
        " UNION ALL SELECT conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint"
        "  WHERE connamespace = 'public'::regnamespace"
        " UNION ALL SELECT indexdef FROM pg_indexes WHERE schemaname = 'public'"
        " UNION ALL SELECT p.oid::regprocedure || ' ' || md5(p.prosrc) FROM pg_proc p"
        "  WHERE p.pronamespace = 'public'::regnamespace"
        " UNION ALL SELECT 'media_type ' || m::text FROM media_type m"
        " UNION ALL SELECT 'interaction_type ' || t::text FROM interaction_type t"
        " UNION ALL SELECT 'resource_state ' || s::text FROM resource_state s"
        " UNION ALL SELECT 'technical_descriptor ' || t::text FROM technical_descriptor t"
        " UNION ALL SELECT 'tenant ' || t::text FROM tenant t"
        " UNION ALL SELECT 'ctl_audit_log ' || a::text FROM ctl_audit_log a"
        " UNION ALL SELECT 'ctl_schema_info ' || s::text FROM ctl_schema_info s"
        " UNION ALL SELECT 'date_time ' || count(*) FROM date_time"
        ") q";
    return query(c, parts);
}

/* ---- the shipped schema ------------------------------------------------------- */

static const char *const tables[] = {
    "ctl_schema_info", "ctl_audit_log", "ctl_etl_history", "ctl_purge_history", "ctl_export_history",
    "ctl_gdpr_history", "tenant", "date_time", "media_type", "interaction_type", "technical_descriptor",
    "resource_state", "resource_state_reason", "resource_", "place", "resource_group_", "resource_group_member_",
    "interaction_fact", "interaction_resource_fact", "mediation_segment_fact", "sm_res_session_fact",
    "sm_res_state_fact", "sm_res_state_reason_fact", "contact_attempt_fact", "gim_pending_update",
    "ctl_fact_reference", "campaign", "calling_list", "call_result", "gim_gdpr_column", "gim_forget_list", NULL};

static void check_references(pgc *c);

static void test_empty_database(void)
{
    pgc *c = fresh_db();
    gim_schema_result res;
    int v = -1;
    CU_ASSERT_EQUAL(gim_schema_version(c, &v, &res), PGC_OK);
    CU_ASSERT_EQUAL(v, 0);

    int64_t t0 = now_ms();
    CU_ASSERT_EQUAL_FATAL(migrate(c, sqldir, &res), PGC_OK);
    printf("  (migrated an empty database to version %d in %" PRId64 " ms)\n", res.version, now_ms() - t0);
    CU_ASSERT_EQUAL(res.from_version, 0);
    CU_ASSERT_EQUAL(res.version, shipped_version());
    CU_ASSERT_EQUAL(res.applied, shipped_version());
    CU_ASSERT_STRING_EQUAL(res.message, "");
    CU_ASSERT_EQUAL(gim_schema_version(c, &v, &res), PGC_OK);
    CU_ASSERT_EQUAL(v, shipped_version());

    /* every fact is partitioned by month of start_ts (007), its id and
     * start_ts the primary key */
    CU_ASSERT_EQUAL(count(c, "SELECT count(*) FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid"
                             " WHERE c.relname LIKE '%\\_fact' AND p.partstrat = 'r'"
                             " AND pg_get_partkeydef(c.oid) = 'RANGE (start_ts)'"),
                    7);
    CU_ASSERT_EQUAL(count(c, "SELECT count(*) FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid"
                             " WHERE k.contype = 'p' AND c.relname LIKE '%\\_fact' AND NOT c.relispartition"
                             " AND pg_get_constraintdef(k.oid) LIKE 'PRIMARY KEY (%, start_ts)'"),
                    7);
    /* every table of INFOMART-MODEL.md §4, unquoted (lower case), each with
     * tenant_key, create_audit_key, update_audit_key and a primary key */
    for (const char *const *t = tables; *t; t++) {
        char sql[512];
        snprintf(sql, sizeof sql,
                 "SELECT count(*) FROM information_schema.columns WHERE table_schema = 'public' AND table_name = '%s'"
                 " AND column_name IN ('tenant_key', 'create_audit_key', 'update_audit_key')", *t);
        CU_ASSERT_EQUAL(count(c, sql), 3);
        if (count(c, sql) != 3)
            fprintf(stderr, "  table %s lacks tenant/audit columns\n", *t);
        snprintf(sql, sizeof sql, "SELECT count(*) FROM pg_constraint WHERE conrelid = '%s'::regclass AND contype = 'p'",
                 *t);
        CU_ASSERT_EQUAL(count(c, sql), 1);
        snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", *t); /* works unquoted */
        CU_ASSERT(count(c, sql) >= 0);
    }
    CU_ASSERT_EQUAL(count(c, "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
                             " AND table_type = 'BASE TABLE'"),
                    (long)(sizeof tables / sizeof *tables) - 1);
    /* and the reporting views of 003 (docs/report.md) and 004's check, every column described */
    CU_ASSERT_EQUAL(count(c, "SELECT count(*) FROM information_schema.views WHERE table_schema = 'public'"
                             " AND table_name IN ('v_queue_interval', 'v_agent_interval', 'v_agent_state_interval',"
                             " 'v_agent_reason_interval', 'v_reference_check')"), 5);
    CU_ASSERT_EQUAL(count(c, "SELECT count(*) FROM pg_attribute a JOIN pg_class v ON v.oid = a.attrelid"
                             " WHERE v.relkind = 'v' AND v.relnamespace = 'public'::regnamespace AND a.attnum > 0"
                             " AND col_description(v.oid, a.attnum) IS NULL"), 0);

    /* the static dimensions are seeded */
    CU_ASSERT_EQUAL(count(c, "SELECT count(*) FROM media_type"), 8);
    CU_ASSERT_EQUAL(count(c, "SELECT count(*) FROM media_type WHERE media_name_code = 'VOICE' AND is_online = 1"), 1);
    CU_ASSERT_EQUAL(count(c, "SELECT count(*) FROM interaction_type"), 4);
    char *types = query(c, "SELECT interaction_type FROM interaction_type ORDER BY 1");
    CU_ASSERT_STRING_EQUAL(types, "Inbound\nInternal\nOutbound\nUnknown\n");
    free(types);
    char *states = query(c, "SELECT state_name_code FROM resource_state ORDER BY 1");
    CU_ASSERT_STRING_EQUAL(states, "ACW\nBUSY\nNOT_READY\nREADY\n");
    free(states);
    /* 13 seeded by 001 (the call-thread rules), 10 more by 008 (the digital rules) */
    CU_ASSERT_EQUAL(count(c, "SELECT count(*) FROM technical_descriptor"), 23);
    CU_ASSERT_EQUAL(count(c, "SELECT count(*) FROM technical_descriptor WHERE technical_result = 'Revoked'"), 2);
    CU_ASSERT_EQUAL(count(c, "SELECT count(*) FROM technical_descriptor WHERE resource_role = 'Received' AND "
                             "role_reason = 'Unspecified' AND technical_result = 'Diverted' AND "
                             "result_reason = 'AnsweredByAgent'"),
                    1);
    CU_ASSERT_EQUAL(count(c, "SELECT count(*) FROM tenant WHERE tenant_key = 0 AND tenant_name = ''"), 1);
    CU_ASSERT_EQUAL(count(c, "SELECT count(*) FROM ctl_audit_log WHERE audit_key = 0"), 1);
    CU_ASSERT_EQUAL(count(c, "SELECT count(*) FROM date_time"), 0); /* the loader fills it */

    /* the version is recorded with the file's checksum */
    char *info = query(c, "SELECT version || ' ' || name || ' ' || checksum || ' ' || (applied_at <= now())"
                          " FROM ctl_schema_info WHERE version = 1");
    char want[200];
    snprintf(want, sizeof want, "1 001_initial.sql %s true\n", getenv("MF_TEST_SHA001"));
    CU_ASSERT_STRING_EQUAL(info, want);
    free(info);

    /* the usual report joins have their indexes */
    CU_ASSERT_EQUAL(count(c, "SELECT count(*) FROM pg_indexes WHERE tablename = 'interaction_resource_fact' AND "
                             "indexdef LIKE '%(resource_key, start_date_time_key)'"),
                    1);
    CU_ASSERT_EQUAL(count(c, "SELECT count(*) FROM pg_indexes WHERE tablename = 'interaction_resource_fact' AND "
                             "indexdef LIKE '%(interaction_id)'"),
                    1);

    /* a placeholder resource, then a fact naming it: the keys and constraints hold */
    run_ok(c, "INSERT INTO tenant (tenant_name, create_audit_key, update_audit_key) VALUES ('t1', 0, 0)");
    run_ok(c, "INSERT INTO resource_ (tenant_key, resource_type, resource_name, placeholder_flag, create_audit_key,"
              " update_audit_key) SELECT tenant_key, 'Agent', '1001', 1, 0, 0 FROM tenant WHERE tenant_name = 't1'");
    pgc_class cls = pgc_exec(c, "INSERT INTO resource_ (tenant_key, resource_type, resource_name, create_audit_key,"
                                " update_audit_key) SELECT tenant_key, 'Agent', '1001', 0, 0 FROM tenant"
                                " WHERE tenant_name = 't1'",
                             0, NULL, NULL);
    CU_ASSERT_EQUAL(cls, PGC_DATA); /* the natural key is unique: upsert on it */
    CU_ASSERT_STRING_EQUAL(pgc_last_error(c)->sqlstate, "23505");
    /* a fact's month needs its partition first (007): refused without it */
    static const char irf_row[] =
        "INSERT INTO interaction_resource_fact (interaction_resource_id, interaction_id, tenant_key,"
        " media_type_key, interaction_type_key, resource_key, technical_descriptor_key,"
        " interaction_resource_ordinal, start_ts, start_date_time_key, create_audit_key, update_audit_key)"
        " SELECT 9223372036854775807, 1, r.tenant_key, 1, 1, r.resource_key, 1, 1, 1711846805, 1711846800, 0, 0"
        " FROM resource_ r WHERE resource_name = '1001'";
    CU_ASSERT_EQUAL(pgc_exec(c, irf_row, 0, NULL, NULL), PGC_DATA);
    CU_ASSERT_STRING_EQUAL(pgc_last_error(c)->sqlstate, "23514");
    CU_ASSERT_EQUAL(count(c, "SELECT infomart_ensure_partitions('interaction_resource_fact',"
                             " ARRAY[infomart_month_start(1711846805), infomart_month_start(0)])"), 2);
    CU_ASSERT_EQUAL(count(c, "SELECT infomart_ensure_partitions('interaction_resource_fact',"
                             " ARRAY[infomart_month_start(1711846805)])"), 0); /* made once */
    CU_ASSERT_EQUAL(count(c, "SELECT count(*) FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhrelid"
                             " WHERE i.inhparent = 'interaction_resource_fact'::regclass"
                             " AND p.relname IN ('interaction_resource_fact_202403', 'interaction_resource_fact_197001')"),
                    2);
    run_ok(c, "INSERT INTO interaction_resource_fact (interaction_resource_id, interaction_id, tenant_key,"
              " media_type_key, interaction_type_key, resource_key, technical_descriptor_key,"
              " interaction_resource_ordinal, start_ts, start_date_time_key, create_audit_key, update_audit_key)"
              " SELECT 9223372036854775807, 1, r.tenant_key, 1, 1, r.resource_key, 1, 1, 1711846805, 1711846800, 0, 0"
              " FROM resource_ r WHERE resource_name = '1001'");
    check_references(c);
    pgc_free(c);
}

/* The facts' references (004): no constraint, listed, and checked by
 * infomart_check_references; c holds one clean interaction_resource_fact row. */
static void check_references(pgc *c)
{
    /* no foreign key left on a fact; the dimensions' own stay: 12, and the
     * tenant_key of the three outbound dimensions (005) */
    CU_ASSERT_EQUAL(count(c, "SELECT count(*) FROM pg_constraint k JOIN pg_class f ON f.oid = k.conrelid"
                             " WHERE k.contype = 'f' AND f.relname LIKE '%\\_fact'"), 0);
    CU_ASSERT_EQUAL(count(c, "SELECT count(*) FROM pg_constraint k JOIN pg_class f ON f.oid = k.conrelid"
                             " WHERE k.contype = 'f' AND f.relnamespace = 'public'::regnamespace"), 15);
    /* the 33 the facts had are listed, and 005's three, each naming a column
     * of the fact and the dimension's one-column primary key */
    CU_ASSERT_EQUAL(count(c, "SELECT count(*) FROM ctl_fact_reference"), 36);
    CU_ASSERT_EQUAL(count(c, "SELECT count(*) FROM ctl_fact_reference r WHERE NOT EXISTS (SELECT 1 FROM"
                             " information_schema.columns k WHERE k.table_schema = 'public' AND"
                             " k.table_name = r.fact_table AND k.column_name = r.column_name AND k.data_type = 'integer')"
                             " OR NOT EXISTS (SELECT 1 FROM pg_constraint k JOIN pg_attribute a ON a.attrelid = k.conrelid"
                             " AND a.attnum = k.conkey[1] WHERE k.conrelid = r.dimension_table::regclass"
                             " AND k.contype = 'p' AND cardinality(k.conkey) = 1 AND a.attname = r.dimension_column)"),
                    0);
    /* and nothing is missing from the list: every *_key column of a fact is
     * listed but its interval keys, audit keys, and its own or another
     * fact's id (*_fact_key) */
    char *unlisted = query(c, "SELECT table_name || '.' || column_name FROM information_schema.columns"
                              " WHERE table_schema = 'public' AND table_name LIKE '%\\_fact' AND column_name LIKE '%\\_key'"
                              " AND column_name NOT LIKE '%\\_date\\_time\\_key' AND column_name NOT LIKE '%\\_audit\\_key'"
                              " AND column_name NOT LIKE '%\\_fact\\_key'"
                              " AND (table_name, column_name) NOT IN (SELECT fact_table, column_name FROM ctl_fact_reference)"
                              " ORDER BY 1");
    CU_ASSERT_STRING_EQUAL(unlisted, "");
    free(unlisted);

    /* clean: every reference checked, no orphan (the function and the view) */
    CU_ASSERT_EQUAL(count(c, "SELECT count(*) FROM infomart_check_references()"), 36);
    CU_ASSERT_EQUAL(count(c, "SELECT sum(orphan_rows) FROM infomart_check_references()"), 0);
    CU_ASSERT_EQUAL(count(c, "SELECT sum(orphan_rows) FROM v_reference_check"), 0);
    CU_ASSERT_EQUAL(count(c, "SELECT checked_rows FROM infomart_check_references() WHERE"
                             " fact_table = 'interaction_resource_fact' AND column_name = 'resource_key'"), 1);
    CU_ASSERT_EQUAL(count(c, "SELECT checked_rows FROM infomart_check_references() WHERE"
                             " fact_table = 'interaction_resource_fact' AND column_name = 'place_key'"), 0); /* NULL */

    /* an injected orphan: the database takes it now (no foreign key)... */
    run_ok(c, "INSERT INTO interaction_resource_fact (interaction_resource_id, interaction_id, tenant_key,"
              " media_type_key, interaction_type_key, resource_key, technical_descriptor_key,"
              " interaction_resource_ordinal, start_ts, start_date_time_key, create_audit_key,"
              " update_audit_key) VALUES (2, 1, 0, 1, 1, 424242, 1, 1, 0, 0, 5, 5)");
    /* ...and the check reports it, alone, with its key */
    char *found = query(c, "SELECT concat_ws(' ', fact_table, column_name, dimension_table, checked_rows, orphan_rows,"
                           " first_orphan_key) FROM infomart_check_references() WHERE orphan_rows > 0");
    CU_ASSERT_STRING_EQUAL(found, "interaction_resource_fact resource_key resource_ 2 1 424242\n");
    free(found);
    found = query(c, "SELECT concat_ws(' ', fact_table, column_name, orphan_rows) FROM v_reference_check"
                     " WHERE orphan_rows > 0");
    CU_ASSERT_STRING_EQUAL(found, "interaction_resource_fact resource_key 1\n");
    free(found);
    /* only the rows written from an audit key on: the orphan's (5) and not after it */
    CU_ASSERT_EQUAL(count(c, "SELECT sum(orphan_rows) FROM infomart_check_references(5)"), 1);
    CU_ASSERT_EQUAL(count(c, "SELECT sum(checked_rows) FILTER (WHERE column_name = 'resource_key')"
                             " FROM infomart_check_references(5)"), 1);
    CU_ASSERT_EQUAL(count(c, "SELECT sum(orphan_rows) FROM infomart_check_references(6)"), 0);
    /* another kind: a place that does not exist, NULL no longer */
    run_ok(c, "UPDATE interaction_resource_fact SET place_key = 77 WHERE interaction_resource_id = 2");
    CU_ASSERT_EQUAL(count(c, "SELECT orphan_rows FROM infomart_check_references() WHERE"
                             " fact_table = 'interaction_resource_fact' AND column_name = 'place_key'"), 1);
    CU_ASSERT_EQUAL(count(c, "SELECT sum(orphan_rows) FROM infomart_check_references()"), 2);
    /* the dimension row appears (as the loader would create it): fixed */
    run_ok(c, "INSERT INTO resource_ (resource_key, tenant_key, resource_type, resource_name, placeholder_flag,"
              " create_audit_key, update_audit_key) OVERRIDING SYSTEM VALUE VALUES (424242, 0, 'Agent', 'x', 1, 0, 0)");
    run_ok(c, "DELETE FROM interaction_resource_fact WHERE place_key = 77");
    CU_ASSERT_EQUAL(count(c, "SELECT sum(orphan_rows) FROM infomart_check_references()"), 0);
}

static void test_again_changes_nothing(void)
{
    pgc *c = fresh_db();
    gim_schema_result res;
    CU_ASSERT_EQUAL_FATAL(migrate(c, sqldir, &res), PGC_OK);
    char *before = dump(c);
    CU_ASSERT(strlen(before) > 10000); /* the dump does see the schema */
    CU_ASSERT_EQUAL(migrate(c, sqldir, &res), PGC_OK);
    CU_ASSERT_EQUAL(res.applied, 0);
    CU_ASSERT_EQUAL(res.from_version, shipped_version());
    CU_ASSERT_EQUAL(res.version, shipped_version());
    /* a second client, as a restarted loader */
    pgc *d = client_of(PQdb(pgc_conn(c)));
    CU_ASSERT_EQUAL(migrate(d, sqldir, &res), PGC_OK);
    CU_ASSERT_EQUAL(res.applied, 0);
    char *after = dump(c);
    CU_ASSERT_STRING_EQUAL(after, before);
    free(before);
    free(after);
    pgc_free(d);
    pgc_free(c);
}

static const char *const m002 = "002_test.sql:CREATE TABLE test_two (id bigint PRIMARY KEY, tenant_key integer,"
                                " create_audit_key bigint, update_audit_key bigint);\n"
                                "INSERT INTO test_two VALUES (1, 0, 0, 0);\n"
                                "ALTER TABLE interaction_fact ADD COLUMN test_two_flag smallint NOT NULL DEFAULT 0;\n";

static void test_upgrade(void)
{
    pgc *c = fresh_db();
    gim_schema_result res;
    const char *v1 = make_dir("v1", "=001_initial.sql", NULL);
    CU_ASSERT_EQUAL_FATAL(migrate(c, v1, &res), PGC_OK);
    CU_ASSERT_EQUAL(res.version, 1);
    run_ok(c, "INSERT INTO interaction_fact (interaction_id, tenant_key, interaction_type_key, media_type_key,"
              " start_ts, start_date_time_key, create_audit_key, update_audit_key) VALUES (7, 0, 1, 1, 0, 0, 0, 0)");

    const char *v2 = make_dir("v2", "=001_initial.sql", m002, NULL);
    CU_ASSERT_EQUAL_FATAL(migrate(c, v2, &res), PGC_OK);
    CU_ASSERT_EQUAL(res.from_version, 1);
    CU_ASSERT_EQUAL(res.version, 2);
    CU_ASSERT_EQUAL(res.applied, 1);
    CU_ASSERT_EQUAL(count(c, "SELECT count(*) FROM test_two"), 1);
    CU_ASSERT_EQUAL(count(c, "SELECT test_two_flag + 1 FROM interaction_fact WHERE interaction_id = 7"), 1);
    char *names = query(c, "SELECT version || ' ' || name || ' ' || length(checksum) FROM ctl_schema_info ORDER BY 1");
    CU_ASSERT_STRING_EQUAL(names, "1 001_initial.sql 64\n2 002_test.sql 64\n");
    free(names);

    /* a failing migration leaves nothing behind: not its first statements,
     * not a record; the version stays */
    const char *v3 = make_dir("v3", "=001_initial.sql", m002,
                              "003_bad.sql:CREATE TABLE test_three (id int);\nSELECT no_such_column FROM tenant;\n",
                              NULL);
    CU_ASSERT_EQUAL(gim_schema_migrate(c, v3, 5000, &res), PGC_FATAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(res.message, "003_bad.sql"));
    CU_ASSERT_PTR_NOT_NULL(strstr(res.message, "42703"));
    CU_ASSERT_EQUAL(res.version, 2);
    CU_ASSERT_EQUAL(count(c, "SELECT count(*) FROM pg_class WHERE relname = 'test_three'"), 0);
    CU_ASSERT_EQUAL(count(c, "SELECT max(version) FROM ctl_schema_info"), 2);
    /* and the client is usable afterwards (no transaction left open) */
    CU_ASSERT_FALSE(pgc_in_transaction(c));
    CU_ASSERT_EQUAL(count(c, "SELECT count(*) FROM test_two"), 1);
    pgc_free(c);
}

/* A mart of version 3 with rows (the foreign keys in force) gets 004: the
 * rows stay, the keys go, the check finds them clean. */
static void test_upgrade_to_004(void)
{
    pgc *c = fresh_db();
    gim_schema_result res;
    const char *v3 = make_dir("v3rows", "=001_initial.sql", "=002_loader.sql", "=003_report_views.sql", NULL);
    CU_ASSERT_EQUAL_FATAL(migrate(c, v3, &res), PGC_OK);
    CU_ASSERT_EQUAL(res.version, 3);
    CU_ASSERT_EQUAL(count(c, "SELECT count(*) FROM pg_constraint k JOIN pg_class f ON f.oid = k.conrelid"
                             " WHERE k.contype = 'f' AND f.relname LIKE '%\\_fact'"), 33);
    run_ok(c, "INSERT INTO resource_ (tenant_key, resource_type, resource_name, create_audit_key, update_audit_key)"
              " VALUES (0, 'Queue', '7001', 0, 0)");
    run_ok(c, "INSERT INTO mediation_segment_fact (mediation_segment_id, interaction_id, tenant_key, media_type_key,"
              " resource_key, technical_descriptor_key, start_ts, start_date_time_key, create_audit_key,"
              " update_audit_key) SELECT 11, 1, 0, 1, resource_key, 2, 1711846805, 1711846800, 0, 0 FROM resource_");
    run_ok(c, "INSERT INTO interaction_fact (interaction_id, tenant_key, interaction_type_key, media_type_key,"
              " start_ts, start_date_time_key, create_audit_key, update_audit_key) VALUES (1, 0, 1, 1, 1711846805,"
              " 1711846800, 0, 0)");
    char *views = query(c, "SELECT queue_name || ' ' || offered || ' ' || answered FROM v_queue_interval");
    CU_ASSERT_STRING_EQUAL(views, "7001 1 1\n");

    CU_ASSERT_EQUAL_FATAL(migrate(c, sqldir, &res), PGC_OK);
    CU_ASSERT_EQUAL(res.from_version, 3);
    CU_ASSERT_EQUAL(res.applied, shipped_version() - 3);
    CU_ASSERT_EQUAL(count(c, "SELECT count(*) FROM pg_constraint k JOIN pg_class f ON f.oid = k.conrelid"
                             " WHERE k.contype = 'f' AND f.relname LIKE '%\\_fact'"), 0);
    CU_ASSERT_EQUAL(count(c, "SELECT count(*) FROM ctl_fact_reference"), 36); /* 004's 33, 005's 3 */
    CU_ASSERT_EQUAL(count(c, "SELECT count(*) FROM mediation_segment_fact") + count(c, "SELECT count(*) FROM"
                                                                                       " interaction_fact"), 2);
    /* 007: the rows went into the partitions of their months, the views
     * over the facts were made again (with their comments) */
    CU_ASSERT_EQUAL(count(c, "SELECT count(*) FROM mediation_segment_fact_202403"), 1);
    CU_ASSERT_EQUAL(count(c, "SELECT count(*) FROM interaction_fact_202403"), 1);
    CU_ASSERT_EQUAL(count(c, "SELECT count(*) FROM pg_class WHERE relkind = 'v' AND relname LIKE 'v\\_%'"
                             " AND obj_description(oid, 'pg_class') IS NOT NULL"),
                    5);
    char *after = query(c, "SELECT queue_name || ' ' || offered || ' ' || answered FROM v_queue_interval");
    CU_ASSERT_STRING_EQUAL(after, views);
    free(views);
    free(after);
    CU_ASSERT_EQUAL(count(c, "SELECT sum(checked_rows) FROM infomart_check_references()"), 4 + 3);
    CU_ASSERT_EQUAL(count(c, "SELECT sum(orphan_rows) FROM infomart_check_references()"), 0);
    pgc_free(c);
}

static void test_refused(void)
{
    pgc *c = fresh_db();
    gim_schema_result res;
    const char *v2 = make_dir("r2", "=001_initial.sql", m002, NULL);
    CU_ASSERT_EQUAL_FATAL(migrate(c, v2, &res), PGC_OK);
    char *before = dump(c);

    /* a released migration changed (one comment added) */
    char *changed = mf_xasprintf("cp '%s/001_initial.sql' '%s/c/001_initial.sql' && echo '-- edited' >>'%s/c/001_initial.sql'",
                                 sqldir, tmp, tmp);
    make_dir("c", m002, "003_more.sql:CREATE TABLE test_more (id int PRIMARY KEY);\n", NULL);
    CU_ASSERT_EQUAL_FATAL(system(changed), 0);
    free(changed);
    char dir[512];
    snprintf(dir, sizeof dir, "%s/c", tmp);
    CU_ASSERT_EQUAL(gim_schema_migrate(c, dir, 5000, &res), PGC_FATAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(res.message, "migration 001 (001_initial.sql) was applied with checksum"));
    CU_ASSERT_PTR_NOT_NULL(strstr(res.message, "must never change"));
    CU_ASSERT_EQUAL(res.applied, 0);
    CU_ASSERT_EQUAL(count(c, "SELECT count(*) FROM pg_class WHERE relname = 'test_more'"), 0);

    /* the database is newer than the files */
    const char *v1 = make_dir("r1", "=001_initial.sql", NULL);
    CU_ASSERT_EQUAL(gim_schema_migrate(c, v1, 5000, &res), PGC_FATAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(res.message, "schema is at version 2, newer than this martflow knows (1)"));

    char *after = dump(c);
    CU_ASSERT_STRING_EQUAL(after, before);
    free(before);
    free(after);
    pgc_free(c);
}

static void test_bad_directory(void)
{
    /* refused before connecting: no database needed */
    struct pgc_opts o = {.conninfo = "host=127.0.0.1 port=1 dbname=none"};
    pgc *c = pgc_new(&o, NULL, &host, NULL, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    gim_schema_result res;
    CU_ASSERT_EQUAL(gim_schema_migrate(c, "/nonexistent/mf-sql", 0, &res), PGC_FATAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(res.message, "migrations directory /nonexistent/mf-sql: No such file"));
    const char *d = make_dir("gap", "=001_initial.sql", "003_x.sql:SELECT 1;\n", NULL);
    CU_ASSERT_EQUAL(gim_schema_migrate(c, d, 0, &res), PGC_FATAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(res.message, "migration 002 is missing"));
    d = make_dir("dup", "=001_initial.sql", "001_other.sql:SELECT 1;\n", NULL);
    CU_ASSERT_EQUAL(gim_schema_migrate(c, d, 0, &res), PGC_FATAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(res.message, "two migrations numbered 001"));
    d = make_dir("badname", "=001_initial.sql", "002-Upper.sql:SELECT 1;\n", NULL);
    CU_ASSERT_EQUAL(gim_schema_migrate(c, d, 0, &res), PGC_FATAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(res.message, "002-Upper.sql: not a migration name"));
    d = make_dir("empty", "README:not a migration\n", NULL);
    CU_ASSERT_EQUAL(gim_schema_migrate(c, d, 0, &res), PGC_FATAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(res.message, "no migrations"));
    /* a good directory and no server: transient, to retry */
    d = make_dir("good", "=001_initial.sql", NULL);
    CU_ASSERT_EQUAL(gim_schema_migrate(c, d, 0, &res), PGC_TRANSIENT);
    CU_ASSERT_EQUAL(res.applied, 0);
    pgc_free(c);
}

/* ---- two runners at once ---------------------------------------------------------- */

struct runner {
    const char *db;
    const char *dir;
    pgc_class cls;
    gim_schema_result res;
    int64_t done_ms;
};

static void *run_migration(void *arg)
{
    struct runner *r = arg;
    pgc *c = client_of(r->db);
    if (!c)
        return NULL;
    r->cls = gim_schema_migrate(c, r->dir, 20000, &r->res);
    r->done_ms = now_ms();
    pgc_free(c);
    return r;
}

static void test_two_runners(void)
{
    pgc *holder = fresh_db();
    bool got = false;
    CU_ASSERT_EQUAL_FATAL(pgc_lock_try(holder, GIM_SCHEMA_LOCK_KEY, &got), PGC_OK);
    CU_ASSERT_TRUE_FATAL(got);

    /* while someone holds the lock, a runner with a short patience gives up, transiently */
    pgc *impatient = client_of(dbs[ndbs - 1]);
    gim_schema_result res;
    int64_t t0 = now_ms();
    CU_ASSERT_EQUAL(gim_schema_migrate(impatient, sqldir, 200, &res), PGC_TRANSIENT);
    CU_ASSERT(now_ms() - t0 >= 200);
    CU_ASSERT_PTR_NOT_NULL(strstr(res.message, "another process is migrating the schema"));
    pgc_free(impatient);

    /* two runners start while it is held: both wait; released, one applies
     * everything and the other then finds nothing to do */
    struct runner a = {.db = dbs[ndbs - 1], .dir = sqldir}, b = a;
    pthread_t ta, tb;
    CU_ASSERT_EQUAL_FATAL(pthread_create(&ta, NULL, run_migration, &a), 0);
    CU_ASSERT_EQUAL_FATAL(pthread_create(&tb, NULL, run_migration, &b), 0);
    usleep(400 * 1000);
    CU_ASSERT_EQUAL(a.done_ms, 0);
    CU_ASSERT_EQUAL(b.done_ms, 0);
    char *empty = query(holder, "SELECT to_regclass('ctl_schema_info') IS NULL"); /* nothing applied yet */
    CU_ASSERT_STRING_EQUAL(empty, "t\n");
    free(empty);
    int64_t released = now_ms();
    CU_ASSERT_EQUAL(pgc_unlock(holder, GIM_SCHEMA_LOCK_KEY, NULL), PGC_OK);
    CU_ASSERT_EQUAL(pthread_join(ta, NULL), 0);
    CU_ASSERT_EQUAL(pthread_join(tb, NULL), 0);
    CU_ASSERT_EQUAL(a.cls, PGC_OK);
    CU_ASSERT_EQUAL(b.cls, PGC_OK);
    CU_ASSERT(a.done_ms >= released && b.done_ms >= released);
    CU_ASSERT_EQUAL(a.res.applied + b.res.applied, shipped_version());
    CU_ASSERT(a.res.applied == 0 || b.res.applied == 0);
    CU_ASSERT_EQUAL(a.res.version, shipped_version());
    CU_ASSERT_EQUAL(b.res.version, shipped_version());
    CU_ASSERT_EQUAL(count(holder, "SELECT count(*) FROM ctl_schema_info"), shipped_version());
    CU_ASSERT_EQUAL(count(holder, "SELECT count(*) FROM technical_descriptor"), 23); /* seeded once */
    pgc_free(holder);
}

/* ---- DATE_TIME -------------------------------------------------------------------- */

static void test_date_time(void)
{
    pgc *c = fresh_db();
    gim_schema_result res;
    CU_ASSERT_EQUAL_FATAL(migrate(c, sqldir, &res), PGC_OK);
    /* two whole UTC days (2024-03-30 and 31: a DST change in Europe, not in UTC) */
    CU_ASSERT_EQUAL(count(c, "SELECT infomart_populate_date_time('2024-03-30T00:00:00Z', '2024-04-01T00:00:00Z')"),
                    192);
    CU_ASSERT_EQUAL(count(c, "SELECT infomart_populate_date_time('2024-03-30T00:00:00Z', '2024-04-01T00:00:00Z')"), 0);
    /* overlapping, from an unaligned time: rounded down to 12:00, which exists; adds 2024-04-01 */
    CU_ASSERT_EQUAL(count(c, "SELECT infomart_populate_date_time('2024-03-31T12:07:00Z', '2024-04-02T00:00:00Z')"),
                    96);
    char *days = query(c, "SELECT cal_date || ' ' || count(*) FROM date_time GROUP BY cal_date ORDER BY cal_date");
    CU_ASSERT_STRING_EQUAL(days, "2024-03-30 96\n2024-03-31 96\n2024-04-01 96\n");
    free(days);
    /* keys: the epoch second of the interval's start, every 900 s, no gap */
    CU_ASSERT_EQUAL(count(c, "SELECT count(*) FROM date_time WHERE date_time_key <> extract(epoch FROM date_time_start)"
                             " OR date_time_key % 900 <> 0 OR date_time_next_key <> date_time_key + 900"
                             " OR date_time_end <> date_time_start + interval '15 minutes'"),
                    0);
    CU_ASSERT_EQUAL(count(c, "SELECT (max(date_time_key) - min(date_time_key)) / 900 + 1 FROM date_time"), 288);
    char *row = query(c, "SELECT concat_ws(' ', date_time_key, cal_year, cal_quarter, cal_month, cal_week,"
                         " cal_day_of_week, cal_day_of_month, cal_day_of_year, cal_hour_24, cal_minute,"
                         " date_time_30min_key, date_time_hour_key, date_time_day_key, label_yyyy_mm_dd,"
                         " label_hh24_mi) FROM date_time WHERE date_time_key = 1711848600");
    /* 2024-03-31 01:30:00 UTC, a Sunday, ISO week 13, day 91 of a leap year */
    CU_ASSERT_STRING_EQUAL(row, "1711848600 2024 1 3 13 7 31 91 1 30 1711848600 1711846800 1711843200 2024-03-31 01:30\n");
    free(row);
    /* independent of the session's time zone */
    run_ok(c, "SET TIME ZONE 'America/New_York'");
    CU_ASSERT_EQUAL(count(c, "SELECT infomart_populate_date_time('2024-04-01T00:00:00Z', '2024-04-03T00:00:00Z')"),
                    96);
    char *last = query(c, "SELECT label_yyyy_mm_dd || ' ' || label_hh24_mi || ' ' || cal_hour_24 FROM date_time"
                          " ORDER BY date_time_key DESC LIMIT 1");
    CU_ASSERT_STRING_EQUAL(last, "2024-04-02 23:45 23\n");
    free(last);
    pgc_free(c);
}

/* ---- main -------------------------------------------------------------------------- */

static int migrate_only(void)
{
    pgc *c = client_of(getenv("PGDATABASE"));
    gim_schema_result res;
    pgc_class cls = c ? gim_schema_migrate(c, sqldir, 10000, &res) : PGC_FATAL;
    if (cls == PGC_OK)
        printf("%d\n", res.version);
    else
        fprintf(stderr, "migrate: %s\n", c ? res.message : "no client");
    pgc_free(c);
    return cls == PGC_OK ? 0 : 1;
}

int main(int argc, char **argv)
{
    sqldir = getenv("MF_TEST_SQLDIR");
    if (!sqldir || !getenv("PGDATABASE") || !getenv("PGPORT") || !getenv("MF_TEST_SHA001")) {
        fprintf(stderr, "run me through tests/gim/schema.sh (PGDATABASE, MF_TEST_SQLDIR, ...)\n");
        return 1;
    }
    if (argc == 2 && strcmp(argv[1], "--migrate") == 0)
        return migrate_only();
    if (!mkdtemp(tmp))
        return 1;
    admin = client_of(getenv("PGDATABASE"));
    if (!admin)
        return 1;
    static const mf_test schema[] = {{"empty database", test_empty_database},
                                     {"applying again changes nothing", test_again_changes_nothing},
                                     {"version 1 gets 002", test_upgrade},
                                     {"version 3 with rows gets 004", test_upgrade_to_004},
                                     {"changed checksum, newer database", test_refused},
                                     {"bad directory", test_bad_directory},
                                     {"two runners at once", test_two_runners},
                                     {"DATE_TIME", test_date_time},
                                     {NULL, NULL}};
    static const mf_suite suites[] = {{"Info Mart schema", schema}, {NULL, NULL}};
    int rc = mf_cunit_run(suites);
    for (int i = 0; i < ndbs; i++) {
        char *sql = mf_xasprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", dbs[i]);
        if (pgc_exec(admin, sql, 0, NULL, NULL) != PGC_OK)
            rc = 1;
        free(sql);
        free(dbs[i]);
    }
    pgc_free(admin);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (system(cmd) != 0)
        rc = 1;
    return rc;
}
