/* Integration tests: plugins/postgres/pg_client.c against the real server of
 * tests/services.sh. Run by tests/postgres/pg_client.sh, which sets PGHOST,
 * PGPORT, PGUSER (the trusted superuser), PGDATABASE (a database of this
 * run), MF_TEST_ROLE and MF_TEST_PASSWORD (a role that must authenticate
 * with SCRAM over TCP). Log lines go to a fake host and are checked for
 * secrets. */
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <martflow/helpers.h>

#include "cunit_main.h"
#include "pg_client.h"

static const char *db, *role, *password;
static char dir[] = "/tmp/mf-test-pg-client.XXXXXX";

/* ---- a host that only logs, into a buffer -------------------------------------- */

static mf_buffer logbuf;

static void cap_log(mf_node *node, mf_log_level level, const char *fmt, ...)
{
    (void)node;
    static const char *names[] = {"error", "warn", "info", "debug", "trace"};
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    mf_buffer_append_str(&logbuf, names[level]);
    mf_buffer_append_str(&logbuf, ": ");
    mf_buffer_append_str(&logbuf, line);
    mf_buffer_append(&logbuf, "\n", 1);
}

static const mf_host host = {.log = cap_log};

static const char *logged(void)
{
    mf_buffer_append(&logbuf, "", 1); /* NUL-terminate without counting it */
    logbuf.len--;
    return (const char *)logbuf.data;
}

/* ---- helpers -------------------------------------------------------------------- */

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *path_of(const char *name)
{
    static char p[256];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return p;
}

static void write_file(const char *name, const char *text)
{
    FILE *f = fopen(path_of(name), "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs(text, f);
    fclose(f);
}

/* A client of the test database through conninfo (extra: more keywords). */
static pgc *client_extra(const char *extra)
{
    char conninfo[512];
    snprintf(conninfo, sizeof conninfo, "dbname=%s %s", db, extra ? extra : "");
    struct pgc_opts o = {.conninfo = conninfo};
    pgc_error err;
    pgc *c = pgc_new(&o, "mf-test", &host, NULL, &err);
    CU_ASSERT_PTR_NOT_NULL(c);
    if (!c)
        fprintf(stderr, "pgc_new: %s\n", err.message);
    return c;
}

static pgc *client(void)
{
    return client_extra(NULL);
}

/* The one value of a query, or "" (static). */
static const char *value(pgc *c, const char *sql)
{
    static char v[256];
    PGresult *r = NULL;
    v[0] = '\0';
    pgc_class cls = pgc_exec(c, sql, 0, NULL, &r);
    CU_ASSERT_EQUAL(cls, PGC_OK);
    if (cls != PGC_OK) {
        fprintf(stderr, "%s: %s\n", sql, pgc_last_error(c)->message);
        return v;
    }
    if (PQntuples(r) == 1 && PQnfields(r) >= 1)
        snprintf(v, sizeof v, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    return v;
}

static void run_ok(pgc *c, const char *sql)
{
    pgc_class cls = pgc_exec(c, sql, 0, NULL, NULL);
    CU_ASSERT_EQUAL(cls, PGC_OK);
    if (cls != PGC_OK)
        fprintf(stderr, "%s: %s\n", sql, pgc_last_error(c)->message);
}

static void services(const char *args)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "\"%s/tests/services.sh\" %s >&2", getenv("top_srcdir"), args);
    CU_ASSERT_EQUAL_FATAL(system(cmd), 0);
}

/* ---- connecting ------------------------------------------------------------------ */

static void test_conninfo(void)
{
    char conninfo[256];
    snprintf(conninfo, sizeof conninfo, "host=127.0.0.1 port=%s user=postgres dbname=%s", getenv("PGPORT"), db);
    struct pgc_opts o = {.conninfo = conninfo};
    pgc *c = pgc_new(&o, "mf-test", &host, NULL, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_FALSE(pgc_connected(c)); /* pgc_new does not connect */
    CU_ASSERT_EQUAL(pgc_session(c), 0);
    CU_ASSERT_EQUAL(pgc_health(c), PGC_OK);
    CU_ASSERT_TRUE(pgc_connected(c));
    CU_ASSERT_EQUAL(pgc_session(c), 1);
    CU_ASSERT_STRING_EQUAL(PQdb(pgc_conn(c)), db);
    CU_ASSERT_STRING_EQUAL(value(c, "SELECT current_setting('application_name')"), "mf-test");
    CU_ASSERT_PTR_NOT_NULL(strstr(logged(), "info: connected to PostgreSQL at 127.0.0.1:"));
    pgc_free(c);

    /* a URI works the same */
    snprintf(conninfo, sizeof conninfo, "postgresql://postgres@127.0.0.1:%s/%s?application_name=uri",
             getenv("PGPORT"), db);
    c = pgc_new(&o, NULL, &host, NULL, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_STRING_EQUAL(value(c, "SELECT current_setting('application_name')"), "uri");
    pgc_free(c);
}

static void test_keywords_and_env(void)
{
    /* pg.* keywords override the conninfo; PG* variables (PGHOST, PGPORT,
     * PGUSER from the test's environment) fill what is left */
    const char *keys[] = {"dbname", "application_name", "connect_timeout"};
    const char *values[] = {db, "from-keywords", "5"};
    struct pgc_opts o = {.conninfo = "dbname=postgres application_name=from-conninfo",
                         .pg = {.count = 3, .keys = keys, .values = values}};
    pgc *c = pgc_new(&o, NULL, &host, NULL, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_EQUAL(pgc_health(c), PGC_OK);
    CU_ASSERT_STRING_EQUAL(PQdb(pgc_conn(c)), db);
    CU_ASSERT_STRING_EQUAL(PQport(pgc_conn(c)), getenv("PGPORT"));
    CU_ASSERT_STRING_EQUAL(value(c, "SELECT current_setting('application_name')"), "from-keywords");
    pgc_free(c);

    /* no configuration at all: libpq's variables alone, the default name */
    struct pgc_opts none = {0};
    c = pgc_new(&none, NULL, &host, NULL, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_STRING_EQUAL(value(c, "SELECT current_database()"), db);
    CU_ASSERT_STRING_EQUAL(value(c, "SELECT current_setting('application_name')"), "martflow");
    pgc_free(c);
}

static void expect_refused(const struct pgc_opts *o, const char *want)
{
    pgc_error err = {.cls = PGC_OK};
    pgc *c = pgc_new(o, NULL, &host, NULL, &err);
    CU_ASSERT_PTR_NULL(c);
    pgc_free(c);
    CU_ASSERT_EQUAL(err.cls, PGC_FATAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, want));
    if (!strstr(err.message, want))
        fprintf(stderr, "wanted '%s' in '%s'\n", want, err.message);
    CU_ASSERT_PTR_NULL(strstr(err.message, "S3cr"));
}

static void test_bad_options(void)
{
    const char *k1[] = {"bogus"}, *v1[] = {"1"};
    struct pgc_opts o = {.pg = {.count = 1, .keys = k1, .values = v1}};
    expect_refused(&o, "pg.bogus: not a libpq connection keyword");

    const char *k2[] = {"password"}, *v2[] = {"S3cr-et-value"};
    o = (struct pgc_opts){.pg = {.count = 1, .keys = k2, .values = v2}};
    expect_refused(&o, "pg.password: the value would be plain configuration");

    write_file("pw-both", "S3cr-et-value\n");
    o = (struct pgc_opts){.password = "S3cr-et-value", .password_file = path_of("pw-both")};
    expect_refused(&o, "either `password` or `password_file`");

    o = (struct pgc_opts){.password_file = path_of("missing")};
    expect_refused(&o, "password_file: ");

    /* a syntax error is shown... */
    o = (struct pgc_opts){.conninfo = "host=127.0.0.1 port"};
    expect_refused(&o, "conninfo: missing \"=\" after \"port\"");
    /* ...unless libpq's message could quote a password (it quotes the bad token) */
    o = (struct pgc_opts){.conninfo = "postgresql://u:S3cr%ZZet@127.0.0.1/x"};
    expect_refused(&o, "conninfo: not a valid connection string or URI");
    o = (struct pgc_opts){.conninfo = "password='S3cr-et"};
    expect_refused(&o, "conninfo: not a valid connection string or URI");
}

static void test_connect_refused(void)
{
    /* nothing listens on port 1: transient (the server may come), logged once per attempt */
    pgc *c = client_extra("host=127.0.0.1 port=1");
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_EQUAL(pgc_health(c), PGC_TRANSIENT);
    CU_ASSERT_STRING_EQUAL(pgc_last_error(c)->sqlstate, "");
    CU_ASSERT_PTR_NOT_NULL(strstr(pgc_last_error(c)->message, "cannot connect to PostgreSQL: "));
    CU_ASSERT_PTR_NULL(strchr(pgc_last_error(c)->message, '\n'));
    CU_ASSERT_FALSE(pgc_connected(c));
    CU_ASSERT_EQUAL(pgc_session(c), 0);
    pgc_free(c);
}

/* ---- passwords and secrets ------------------------------------------------------- */

/* A client of the password role over TCP (the server wants SCRAM there). */
static pgc *role_client(const char *pw, const char *pw_file)
{
    char conninfo[256];
    snprintf(conninfo, sizeof conninfo, "host=127.0.0.1 user=%s dbname=%s", role, db);
    struct pgc_opts o = {.conninfo = conninfo, .password = pw, .password_file = pw_file};
    pgc_error err;
    pgc *c = pgc_new(&o, NULL, &host, NULL, &err);
    CU_ASSERT_PTR_NOT_NULL(c);
    if (!c)
        fprintf(stderr, "pgc_new: %s\n", err.message);
    return c;
}

static void test_password(void)
{
    char text[256];
    snprintf(text, sizeof text, "%s\n", password); /* the editor's newline is not part of it */
    write_file("pw", text);

    /* from a file */
    pgc *c = role_client(NULL, path_of("pw"));
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_EQUAL(pgc_health(c), PGC_OK);
    CU_ASSERT_STRING_EQUAL(value(c, "SELECT current_user"), role);
    CU_ASSERT_TRUE(PQconnectionUsedPassword(pgc_conn(c)));
    pgc_free(c);

    /* from the secret option */
    c = role_client(password, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_EQUAL(pgc_health(c), PGC_OK);
    CU_ASSERT_STRING_EQUAL(value(c, "SELECT current_user"), role);
    pgc_free(c);

    /* none: the server asks for one, none configured -> fatal */
    c = role_client(NULL, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_EQUAL(pgc_connect(c), PGC_FATAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgc_last_error(c)->message, "no password supplied"));
    pgc_free(c);

    /* a wrong one: refused; transient (a rotated secret may arrive), never quoted */
    write_file("pw-wrong", "Wr0ng-Passw0rd-42\n");
    c = role_client(NULL, path_of("pw-wrong"));
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_EQUAL(pgc_connect(c), PGC_TRANSIENT);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgc_last_error(c)->message, "password authentication failed"));
    pgc_free(c);

    CU_ASSERT_PTR_NULL(strstr(logged(), password));
    CU_ASSERT_PTR_NULL(strstr(logged(), "Wr0ng-Passw0rd-42"));
}

static void test_password_rotation(void)
{
    /* The file is read at every connection attempt: after the role's password
     * changed and the connection was lost, the new file content is used. */
    char text[256], sql[512];
    snprintf(text, sizeof text, "%s\n", password);
    write_file("pw-rot", text);
    pgc *admin = client();
    pgc *c = role_client(NULL, path_of("pw-rot"));
    CU_ASSERT_PTR_NOT_NULL_FATAL(admin);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_EQUAL(pgc_health(c), PGC_OK);
    char pid[32];
    snprintf(pid, sizeof pid, "%d", PQbackendPID(pgc_conn(c)));

    const char *rotated = "R0tated-Secret-77";
    snprintf(sql, sizeof sql, "ALTER ROLE %s PASSWORD '%s'", role, rotated);
    run_ok(admin, sql);
    write_file("pw-rot", rotated);
    const char *p[] = {pid};
    CU_ASSERT_EQUAL(pgc_exec(admin, "SELECT pg_terminate_backend($1::int)", 1, p, NULL), PGC_OK);

    /* the terminated connection: transient; the next call reconnects with the new password */
    pgc_class cls = pgc_health(c);
    CU_ASSERT_EQUAL(cls, PGC_TRANSIENT);
    CU_ASSERT_FALSE(pgc_connected(c));
    CU_ASSERT_EQUAL(pgc_health(c), PGC_OK);
    CU_ASSERT_EQUAL(pgc_session(c), 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(logged(), "warn: PostgreSQL connection lost: "));
    CU_ASSERT_PTR_NOT_NULL(strstr(logged(), "info: reconnected to PostgreSQL at 127.0.0.1:"));

    snprintf(sql, sizeof sql, "ALTER ROLE %s PASSWORD '%s'", role, password);
    run_ok(admin, sql);
    pgc_free(c);
    pgc_free(admin);
    CU_ASSERT_PTR_NULL(strstr(logged(), rotated));
}

static void test_secrets_scrubbed(void)
{
    /* Text from the server that quotes a secret (a notice, an error) reaches
     * the log and the error message with the secret replaced by ***. */
    char conninfo[256], sql[256];
    snprintf(conninfo, sizeof conninfo, "host=127.0.0.1 user=%s dbname=%s password=%s", role, db, password);
    struct pgc_opts o = {.conninfo = conninfo};
    pgc *c = pgc_new(&o, NULL, &host, NULL, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_PTR_NOT_NULL(strstr(logged(), "warn: conninfo holds a password"));
    CU_ASSERT_EQUAL(pgc_health(c), PGC_OK); /* the conninfo's password works */

    snprintf(sql, sizeof sql, "DO $$BEGIN RAISE NOTICE 'the password is %s'; END$$", password);
    run_ok(c, sql);
    CU_ASSERT_PTR_NOT_NULL(strstr(logged(), "debug: PostgreSQL NOTICE: the password is ***"));

    snprintf(sql, sizeof sql, "SELECT '%s'::int", password);
    CU_ASSERT_EQUAL(pgc_exec(c, sql, 0, NULL, NULL), PGC_DATA);
    CU_ASSERT_STRING_EQUAL(pgc_last_error(c)->sqlstate, "22P02");
    CU_ASSERT_STRING_EQUAL(pgc_last_error(c)->message, "invalid input syntax for type integer: \"***\"");
    pgc_free(c);

    /* a secret option's value and a password file's content are scrubbed the same way */
    write_file("pw-scrub", "F1le-Secret-99\n");
    const char *files[] = {NULL, path_of("pw-scrub")};
    const char *opts[] = {"0pt-Secret-88", NULL};
    for (int i = 0; i < 2; i++) {
        struct pgc_opts so = {.conninfo = conninfo, .password = opts[i], .password_file = files[i]};
        c = pgc_new(&so, NULL, &host, NULL, NULL);
        CU_ASSERT_PTR_NOT_NULL_FATAL(c);
        CU_ASSERT_EQUAL(pgc_connect(c), PGC_TRANSIENT); /* it overrides the conninfo's password: wrong */
        pgc_free(c);
        c = client();
        CU_ASSERT_PTR_NOT_NULL_FATAL(c);
        pgc_free(c);
    }
    CU_ASSERT_PTR_NULL(strstr(logged(), password));
    CU_ASSERT_PTR_NULL(strstr(logged(), "F1le-Secret-99"));
    CU_ASSERT_PTR_NULL(strstr(logged(), "0pt-Secret-88"));
}

/* ---- statements and classification ------------------------------------------------ */

static void expect_error(pgc *c, const char *sql, pgc_class cls, const char *sqlstate)
{
    PGresult *r = (PGresult *)&r; /* set to NULL on failure */
    CU_ASSERT_EQUAL(pgc_exec(c, sql, 0, NULL, &r), cls);
    CU_ASSERT_PTR_NULL(r);
    CU_ASSERT_EQUAL(pgc_last_error(c)->cls, cls);
    CU_ASSERT_STRING_EQUAL(pgc_last_error(c)->sqlstate, sqlstate);
    CU_ASSERT_TRUE(pgc_connected(c)); /* the connection stays */
}

static void test_classification(void)
{
    pgc *c = client();
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    run_ok(c, "CREATE TABLE cls (id int PRIMARY KEY, n int CHECK (n >= 0))");
    run_ok(c, "INSERT INTO cls VALUES (1, 1)");
    expect_error(c, "INSERT INTO cls VALUES (1, 2)", PGC_DATA, "23505");
    CU_ASSERT_PTR_NOT_NULL(strstr(pgc_last_error(c)->message, "duplicate key value violates unique constraint"));
    CU_ASSERT_PTR_NOT_NULL(strstr(pgc_last_error(c)->message, "; DETAIL: Key (id)=(1) already exists."));
    expect_error(c, "INSERT INTO cls VALUES (2, -1)", PGC_DATA, "23514");
    expect_error(c, "SELECT 1/0", PGC_DATA, "22012");
    expect_error(c, "SELEC 1", PGC_FATAL, "42601");
    expect_error(c, "SELECT * FROM no_such_table", PGC_FATAL, "42P01");
    CU_ASSERT_STRING_EQUAL(pgc_class_name(PGC_DATA), "data");

    /* parameters, NULL among them; several statements without parameters */
    const char *params[] = {"40", "2", NULL};
    PGresult *r = NULL;
    CU_ASSERT_EQUAL(pgc_exec(c, "SELECT $1::int + $2::int, $3::text IS NULL", 3, params, &r), PGC_OK);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_STRING_EQUAL(PQgetvalue(r, 0, 0), "42");
    CU_ASSERT_STRING_EQUAL(PQgetvalue(r, 0, 1), "t");
    PQclear(r);
    run_ok(c, "INSERT INTO cls VALUES (10, 0); INSERT INTO cls VALUES (11, 0)");
    CU_ASSERT_STRING_EQUAL(value(c, "SELECT count(*) FROM cls"), "3");
    /* a COPY is not for pgc_exec, and the connection stays usable */
    CU_ASSERT_EQUAL(pgc_exec(c, "COPY cls FROM STDIN", 0, NULL, NULL), PGC_FATAL);
    CU_ASSERT_EQUAL(pgc_health(c), PGC_OK);
    pgc_free(c);

    /* SQLSTATEs that cannot be produced on demand here */
    static const struct {
        const char *state;
        pgc_class cls;
    } table[] = {
        {"08006", PGC_TRANSIENT}, {"08001", PGC_TRANSIENT}, {"40001", PGC_TRANSIENT}, {"40P01", PGC_TRANSIENT},
        {"53300", PGC_TRANSIENT}, {"53100", PGC_TRANSIENT}, {"57P01", PGC_TRANSIENT}, {"57P02", PGC_TRANSIENT},
        {"57P03", PGC_TRANSIENT}, {"", PGC_TRANSIENT},      {"57014", PGC_FATAL},     {"40002", PGC_FATAL},
        {"22P02", PGC_DATA},      {"23503", PGC_DATA},      {"42501", PGC_FATAL},     {"XX000", PGC_FATAL},
        {"25P02", PGC_FATAL},
    };
    for (size_t i = 0; i < sizeof table / sizeof *table; i++) {
        CU_ASSERT_EQUAL(pgc_classify_sqlstate(table[i].state), table[i].cls);
        if (pgc_classify_sqlstate(table[i].state) != table[i].cls)
            fprintf(stderr, "SQLSTATE %s\n", table[i].state);
    }
    CU_ASSERT_EQUAL(pgc_classify_sqlstate(NULL), PGC_TRANSIENT);
}

static void test_transactions(void)
{
    pgc *c = client();
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    run_ok(c, "CREATE TABLE tx (id int PRIMARY KEY)");
    CU_ASSERT_FALSE(pgc_in_transaction(c));
    CU_ASSERT_EQUAL(pgc_begin(c), PGC_OK);
    CU_ASSERT_TRUE(pgc_in_transaction(c));
    CU_ASSERT_EQUAL(pgc_begin(c), PGC_FATAL); /* no nesting */
    run_ok(c, "INSERT INTO tx VALUES (1)");
    CU_ASSERT_EQUAL(pgc_rollback(c), PGC_OK);
    CU_ASSERT_FALSE(pgc_in_transaction(c));
    CU_ASSERT_STRING_EQUAL(value(c, "SELECT count(*) FROM tx"), "0");

    CU_ASSERT_EQUAL(pgc_begin(c), PGC_OK);
    run_ok(c, "INSERT INTO tx VALUES (2)");
    CU_ASSERT_EQUAL(pgc_commit(c), PGC_OK);
    CU_ASSERT_STRING_EQUAL(value(c, "SELECT count(*) FROM tx"), "1");
    CU_ASSERT_EQUAL(pgc_commit(c), PGC_FATAL); /* none open */
    CU_ASSERT_EQUAL(pgc_rollback(c), PGC_OK);  /* none open: nothing to do */

    /* a failed statement fails the transaction: COMMIT must not look like success */
    CU_ASSERT_EQUAL(pgc_begin(c), PGC_OK);
    run_ok(c, "INSERT INTO tx VALUES (3)");
    CU_ASSERT_EQUAL(pgc_exec(c, "INSERT INTO tx VALUES (2)", 0, NULL, NULL), PGC_DATA);
    CU_ASSERT_EQUAL(pgc_commit(c), PGC_FATAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgc_last_error(c)->message, "rolled back instead"));
    CU_ASSERT_FALSE(pgc_in_transaction(c));
    CU_ASSERT_STRING_EQUAL(value(c, "SELECT count(*) FROM tx"), "1");

    /* a savepoint keeps the rest of a transaction after a data error */
    CU_ASSERT_EQUAL(pgc_begin(c), PGC_OK);
    run_ok(c, "INSERT INTO tx VALUES (4); SAVEPOINT s");
    CU_ASSERT_EQUAL(pgc_exec(c, "INSERT INTO tx VALUES (2)", 0, NULL, NULL), PGC_DATA);
    run_ok(c, "ROLLBACK TO SAVEPOINT s");
    CU_ASSERT_EQUAL(pgc_commit(c), PGC_OK);
    CU_ASSERT_STRING_EQUAL(value(c, "SELECT string_agg(id::text, ',' ORDER BY id) FROM tx"), "2,4");
    pgc_free(c);
}

/* ---- an outage: the server stopped mid-session -------------------------------------- */

static void test_outage(void)
{
    pgc *c = client();
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    run_ok(c, "CREATE TABLE outage (id int)");
    CU_ASSERT_EQUAL(pgc_begin(c), PGC_OK);
    run_ok(c, "INSERT INTO outage VALUES (1)");
    CU_ASSERT_EQUAL(pgc_session(c), 1);

    services("stop postgres");
    /* the server went away inside the transaction */
    CU_ASSERT_EQUAL(pgc_exec(c, "INSERT INTO outage VALUES (2)", 0, NULL, NULL), PGC_TRANSIENT);
    CU_ASSERT_FALSE(pgc_connected(c));
    CU_ASSERT_TRUE(pgc_in_transaction(c));
    /* never continued on another connection: refused until rolled back */
    CU_ASSERT_EQUAL(pgc_exec(c, "INSERT INTO outage VALUES (3)", 0, NULL, NULL), PGC_TRANSIENT);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgc_last_error(c)->message, "lost inside a transaction"));
    CU_ASSERT_EQUAL(pgc_commit(c), PGC_TRANSIENT);
    CU_ASSERT_EQUAL(pgc_rollback(c), PGC_OK);
    CU_ASSERT_FALSE(pgc_in_transaction(c));
    /* the server is down: every attempt is transient */
    CU_ASSERT_EQUAL(pgc_health(c), PGC_TRANSIENT);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgc_last_error(c)->message, "cannot connect to PostgreSQL"));
    CU_ASSERT_EQUAL(pgc_begin(c), PGC_TRANSIENT);

    services("start postgres");
    /* the next call reconnects and succeeds */
    CU_ASSERT_EQUAL(pgc_begin(c), PGC_OK);
    CU_ASSERT_EQUAL(pgc_session(c), 2);
    run_ok(c, "INSERT INTO outage VALUES (4)");
    CU_ASSERT_EQUAL(pgc_commit(c), PGC_OK);
    CU_ASSERT_STRING_EQUAL(value(c, "SELECT string_agg(id::text, ',') FROM outage"), "4");

    /* outside a transaction: one transient error, then the next call goes on */
    services("stop postgres");
    services("start postgres");
    CU_ASSERT_EQUAL(pgc_exec(c, "INSERT INTO outage VALUES (5)", 0, NULL, NULL), PGC_TRANSIENT);
    CU_ASSERT_FALSE(pgc_in_transaction(c));
    run_ok(c, "INSERT INTO outage VALUES (5)");
    CU_ASSERT_EQUAL(pgc_session(c), 3);
    CU_ASSERT_STRING_EQUAL(value(c, "SELECT count(*) FROM outage"), "2");
    pgc_free(c);
}

/* ---- COPY ------------------------------------------------------------------------ */

#define COPY_ROWS 100000

static void test_copy_many(void)
{
    pgc *c = client();
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    run_ok(c, "CREATE TABLE cp (id int PRIMARY KEY, name text, score float8, note text)");
    mf_buffer csv = {0};
    char line[128];
    for (int i = 1; i <= COPY_ROWS; i++) {
        /* quoting, an embedded comma and quote, and NULL (the unquoted empty field) */
        int n = i % 1000 == 0 ? snprintf(line, sizeof line, "%d,\"a, \"\"quoted\"\" name\",%d.5,\n", i, i)
                              : snprintf(line, sizeof line, "%d,name-%d,%d.25,note %d\n", i, i, i, i % 7);
        mf_buffer_append(&csv, line, (size_t)n);
    }
    CU_ASSERT_TRUE(csv.len > 3 * 1024 * 1024); /* several chunks */
    uint64_t rows = 0;
    int64_t t0 = now_ms();
    pgc_class cls = pgc_copy_in(c, "cp", "id, name, score, note", PGC_COPY_CSV, csv.data, csv.len, &rows);
    fprintf(stderr, "# COPY of %d rows (%zu bytes): %" PRId64 " ms\n", COPY_ROWS, csv.len, now_ms() - t0);
    CU_ASSERT_EQUAL(cls, PGC_OK);
    if (cls != PGC_OK)
        fprintf(stderr, "copy: %s\n", pgc_last_error(c)->message);
    CU_ASSERT_EQUAL(rows, COPY_ROWS);
    CU_ASSERT_STRING_EQUAL(value(c, "SELECT count(*) FROM cp"), "100000");
    CU_ASSERT_STRING_EQUAL(value(c, "SELECT sum(id) FROM cp"), "5000050000");
    CU_ASSERT_STRING_EQUAL(value(c, "SELECT name FROM cp WHERE id = 5000"), "a, \"quoted\" name");
    CU_ASSERT_STRING_EQUAL(value(c, "SELECT count(*) FROM cp WHERE note IS NULL"), "100");
    mf_buffer_free(&csv);

    /* text format: tabs, \N for NULL, escapes; all columns; inside a transaction */
    const char text[] = "1\tone\t1.5\t\\N\n2\ttab\\there\t2.5\tx\n";
    run_ok(c, "CREATE TABLE cpt (id int, name text, score float8, note text)");
    CU_ASSERT_EQUAL(pgc_begin(c), PGC_OK);
    CU_ASSERT_EQUAL(pgc_copy_in(c, "cpt", NULL, PGC_COPY_TEXT, text, sizeof text - 1, &rows), PGC_OK);
    CU_ASSERT_EQUAL(pgc_commit(c), PGC_OK);
    CU_ASSERT_EQUAL(rows, 2);
    CU_ASSERT_STRING_EQUAL(value(c, "SELECT name FROM cpt WHERE id = 2"), "tab\there");
    CU_ASSERT_STRING_EQUAL(value(c, "SELECT count(*) FROM cpt WHERE note IS NULL"), "1");
    /* an empty buffer is an empty COPY */
    CU_ASSERT_EQUAL(pgc_copy_in(c, "cpt", NULL, PGC_COPY_TEXT, "", 0, &rows), PGC_OK);
    CU_ASSERT_EQUAL(rows, 0);
    /* not a COPY FROM STDIN */
    CU_ASSERT_EQUAL(pgc_copy_in_sql(c, "SELECT 1", "", 0, &rows), PGC_FATAL);
    CU_ASSERT_EQUAL(pgc_health(c), PGC_OK);
    pgc_free(c);
}

static void test_copy_bad_row(void)
{
    pgc *c = client();
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    run_ok(c, "CREATE TABLE cpb (id int PRIMARY KEY, n int)");
    mf_buffer csv = {0};
    char line[64];
    size_t good = 0; /* bytes before the bad row */
    for (int i = 1; i <= 20000; i++) {
        if (i == 15637)
            good = csv.len;
        int n = i == 15637 ? snprintf(line, sizeof line, "%d,not-a-number\n", i)
                           : snprintf(line, sizeof line, "%d,%d\n", i, i);
        mf_buffer_append(&csv, line, (size_t)n);
    }
    uint64_t rows = 99;
    CU_ASSERT_EQUAL(pgc_copy_in(c, "cpb", NULL, PGC_COPY_CSV, csv.data, csv.len, &rows), PGC_DATA);
    const pgc_error *e = pgc_last_error(c);
    CU_ASSERT_STRING_EQUAL(e->sqlstate, "22P02");
    CU_ASSERT_EQUAL(e->copy_line, 15637);
    CU_ASSERT_STRING_EQUAL(e->column, "n");
    CU_ASSERT_EQUAL(rows, 0);
    CU_ASSERT_TRUE(pgc_connected(c));
    CU_ASSERT_STRING_EQUAL(value(c, "SELECT count(*) FROM cpb"), "0"); /* nothing stored */

    /* a duplicate key: the constraint's class, and the line of the duplicate */
    const char dup[] = "1,1\n2,2\n3,3\n2,4\n5,5\n";
    CU_ASSERT_EQUAL(pgc_copy_in(c, "cpb", "id, n", PGC_COPY_CSV, dup, sizeof dup - 1, &rows), PGC_DATA);
    CU_ASSERT_STRING_EQUAL(pgc_last_error(c)->sqlstate, "23505");
    CU_ASSERT_EQUAL(pgc_last_error(c)->copy_line, 4);
    CU_ASSERT_STRING_EQUAL(pgc_last_error(c)->column, ""); /* a unique violation names its constraint */
    /* a NULL key: the server names the column */
    const char nokey[] = "8,8\n,9\n";
    CU_ASSERT_EQUAL(pgc_copy_in(c, "cpb", "id, n", PGC_COPY_CSV, nokey, sizeof nokey - 1, &rows), PGC_DATA);
    CU_ASSERT_STRING_EQUAL(pgc_last_error(c)->sqlstate, "23502");
    CU_ASSERT_STRING_EQUAL(pgc_last_error(c)->column, "id");
    /* a missing table is not the data's fault */
    CU_ASSERT_EQUAL(pgc_copy_in(c, "no_such_table", NULL, PGC_COPY_CSV, dup, sizeof dup - 1, &rows), PGC_FATAL);
    CU_ASSERT_STRING_EQUAL(pgc_last_error(c)->sqlstate, "42P01");
    /* the good rows load once the bad one is gone */
    CU_ASSERT_EQUAL(pgc_copy_in(c, "cpb", NULL, PGC_COPY_CSV, csv.data, good, &rows), PGC_OK);
    CU_ASSERT_EQUAL(rows, 15636);
    mf_buffer_free(&csv);
    pgc_free(c);
}

/* COPY in pieces: rows split across puts; a bad row's error from a later
 * put or from finish; a rollback in the middle stores nothing; nothing else
 * runs while a COPY is open. */
static void test_copy_pieces(void)
{
    pgc *c = client();
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    run_ok(c, "CREATE TABLE cpp (id int PRIMARY KEY, n int)");
    uint64_t rows = 99;
    CU_ASSERT_EQUAL(pgc_begin(c), PGC_OK);
    CU_ASSERT_EQUAL(pgc_copy_start(c, "COPY cpp FROM STDIN"), PGC_OK);
    CU_ASSERT_EQUAL(pgc_copy_put(c, "1\t1\n2\t", 6), PGC_OK);
    CU_ASSERT_EQUAL(pgc_exec(c, "SELECT 1", 0, NULL, NULL), PGC_FATAL); /* a COPY is open */
    CU_ASSERT_EQUAL(pgc_copy_put(c, "2\n3\t3\n", 6), PGC_OK);
    CU_ASSERT_EQUAL(pgc_copy_finish(c, &rows), PGC_OK);
    CU_ASSERT_EQUAL(rows, 3);
    CU_ASSERT_EQUAL(pgc_commit(c), PGC_OK);
    CU_ASSERT_STRING_EQUAL(value(c, "SELECT sum(n) FROM cpp"), "6");

    /* a bad row in the middle of many pieces: finish (or a put) names its line */
    CU_ASSERT_EQUAL(pgc_begin(c), PGC_OK);
    CU_ASSERT_EQUAL(pgc_copy_start(c, "COPY cpp FROM STDIN"), PGC_OK);
    pgc_class cls = PGC_OK;
    char line[32];
    for (int i = 10; i < 50000 && cls == PGC_OK; i++) {
        int n = i == 777 ? snprintf(line, sizeof line, "%d\tx\n", i) : snprintf(line, sizeof line, "%d\t%d\n", i, i);
        cls = pgc_copy_put(c, line, (size_t)n);
    }
    if (cls == PGC_OK)
        cls = pgc_copy_finish(c, &rows);
    else /* the put met the error: finish returns it again */
        CU_ASSERT_EQUAL(pgc_copy_finish(c, &rows), PGC_DATA);
    CU_ASSERT_EQUAL(cls, PGC_DATA);
    CU_ASSERT_EQUAL(pgc_last_error(c)->copy_line, 777 - 10 + 1);
    CU_ASSERT_EQUAL(pgc_rollback(c), PGC_OK);

    /* rolled back in the middle: nothing stored, the connection usable */
    CU_ASSERT_EQUAL(pgc_begin(c), PGC_OK);
    CU_ASSERT_EQUAL(pgc_copy_start(c, "COPY cpp FROM STDIN"), PGC_OK);
    CU_ASSERT_EQUAL(pgc_copy_put(c, "100\t100\n101\t1", 14), PGC_OK);
    CU_ASSERT_EQUAL(pgc_rollback(c), PGC_OK);
    CU_ASSERT_FALSE(pgc_in_transaction(c));
    CU_ASSERT_STRING_EQUAL(value(c, "SELECT count(*) FROM cpp"), "3");
    /* without a transaction too: a COPY refused stores none of its rows */
    CU_ASSERT_EQUAL(pgc_copy_start(c, "COPY cpp FROM STDIN"), PGC_OK);
    CU_ASSERT_EQUAL(pgc_copy_put(c, "200\t200\n", 8), PGC_OK);
    CU_ASSERT_EQUAL(pgc_rollback(c), PGC_OK);
    CU_ASSERT_STRING_EQUAL(value(c, "SELECT count(*) FROM cpp"), "3");
    CU_ASSERT_EQUAL(pgc_copy_finish(c, &rows), PGC_FATAL); /* none open */
    CU_ASSERT_EQUAL(pgc_copy_start(c, "SELECT 1"), PGC_FATAL);
    CU_ASSERT_EQUAL(pgc_health(c), PGC_OK);
    pgc_free(c);
}

/* ---- advisory locks ------------------------------------------------------------------ */

#define LOCK_KEY 0x6d66746573740001LL

struct releaser {
    pgc *c;
    int after_ms;
};

static void *release_later(void *arg)
{
    struct releaser *r = arg;
    usleep((useconds_t)r->after_ms * 1000);
    bool released = false;
    pgc_unlock(r->c, LOCK_KEY, &released);
    return released ? arg : NULL;
}

static void test_advisory_locks(void)
{
    pgc *a = client(), *b = client();
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    bool got = false, released = false;
    CU_ASSERT_EQUAL(pgc_lock_try(a, LOCK_KEY, &got), PGC_OK);
    CU_ASSERT_TRUE(got);
    CU_ASSERT_EQUAL(pgc_lock_try(b, LOCK_KEY, &got), PGC_OK);
    CU_ASSERT_FALSE(got);
    int64_t t0 = now_ms();
    CU_ASSERT_EQUAL(pgc_lock_wait(b, LOCK_KEY, 300, &got), PGC_OK);
    CU_ASSERT_FALSE(got);
    CU_ASSERT_TRUE(now_ms() - t0 >= 300);
    CU_ASSERT_EQUAL(pgc_unlock(a, LOCK_KEY, &released), PGC_OK);
    CU_ASSERT_TRUE(released);
    CU_ASSERT_EQUAL(pgc_unlock(a, LOCK_KEY, &released), PGC_OK);
    CU_ASSERT_FALSE(released); /* not held any more */
    CU_ASSERT_EQUAL(pgc_lock_try(b, LOCK_KEY, &got), PGC_OK);
    CU_ASSERT_TRUE(got);

    /* a waits while b holds it; b releases it from another thread (each client
     * used by one thread at a time) */
    struct releaser rel = {.c = b, .after_ms = 300};
    pthread_t th;
    CU_ASSERT_EQUAL_FATAL(pthread_create(&th, NULL, release_later, &rel), 0);
    t0 = now_ms();
    CU_ASSERT_EQUAL(pgc_lock_wait(a, LOCK_KEY, 10000, &got), PGC_OK);
    CU_ASSERT_TRUE(got);
    CU_ASSERT_TRUE(now_ms() - t0 >= 250 && now_ms() - t0 < 5000);
    void *ret = NULL;
    pthread_join(th, &ret);
    CU_ASSERT_PTR_EQUAL(ret, &rel);

    /* a lost connection loses its locks: the other client gets it, and the
     * session number tells the first one */
    char pid[32];
    snprintf(pid, sizeof pid, "%d", PQbackendPID(pgc_conn(a)));
    const char *p[] = {pid};
    CU_ASSERT_EQUAL(pgc_exec(b, "SELECT pg_terminate_backend($1::int, 5000)", 1, p, NULL), PGC_OK);
    CU_ASSERT_EQUAL(pgc_lock_wait(b, LOCK_KEY, 5000, &got), PGC_OK);
    CU_ASSERT_TRUE(got);
    uint64_t s = pgc_session(a);
    CU_ASSERT_EQUAL(pgc_lock_try(a, LOCK_KEY, &got), PGC_TRANSIENT); /* noticed here */
    CU_ASSERT_EQUAL(pgc_lock_try(a, LOCK_KEY, &got), PGC_OK);
    CU_ASSERT_FALSE(got);
    CU_ASSERT_EQUAL(pgc_session(a), s + 1);
    pgc_free(a);
    pgc_free(b);
}

int main(void)
{
    db = getenv("PGDATABASE");
    role = getenv("MF_TEST_ROLE");
    password = getenv("MF_TEST_PASSWORD");
    if (!db || !role || !password || !getenv("PGPORT") || !getenv("top_srcdir")) {
        fprintf(stderr, "run me through tests/postgres/pg_client.sh (PGDATABASE, MF_TEST_ROLE, ...)\n");
        return 1;
    }
    if (!mkdtemp(dir))
        return 1;
    static const mf_test connecting[] = {{"conninfo", test_conninfo},
                                         {"pg.* keywords and PG* variables", test_keywords_and_env},
                                         {"bad options", test_bad_options},
                                         {"connection refused", test_connect_refused},
                                         {"password", test_password},
                                         {"password file rotation", test_password_rotation},
                                         {"secrets scrubbed", test_secrets_scrubbed},
                                         {NULL, NULL}};
    static const mf_test statements[] = {{"classification", test_classification},
                                         {"transactions", test_transactions},
                                         {"outage", test_outage},
                                         {"COPY 100k rows", test_copy_many},
                                         {"COPY with a bad row", test_copy_bad_row},
                                         {"COPY in pieces", test_copy_pieces},
                                         {"advisory locks", test_advisory_locks},
                                         {NULL, NULL}};
    static const mf_suite suites[] = {{"pg_client connecting", connecting},
                                      {"pg_client statements", statements},
                                      {NULL, NULL}};
    int rc = mf_cunit_run(suites);
    if (rc != 0)
        fprintf(stderr, "--- what the client logged ---\n%s", logged());
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        rc = 1;
    mf_buffer_free(&logbuf);
    return rc;
}
