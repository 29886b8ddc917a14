/*
 * pg_client.c — the shared PostgreSQL client: connection parameters, error
 * classification, reconnects, statements, transactions, COPY and advisory
 * locks over libpq. See pg_client.h.
 */
#include "pg_client.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <martflow/helpers.h>

#define MAX_SCRUB 8
#define SCRUB_MIN_LEN 4            /* shorter "secrets" would blank out ordinary words */
#define COPY_CHUNK (1024 * 1024)   /* bytes per CopyData message */
#define LOCK_POLL_MIN_MS 20
#define LOCK_POLL_MAX_MS 500
#define MAX_DEFERRED_LOG 32        /* lines kept while logging is deferred; more are counted */

struct pgc {
    const mf_host *host;
    mf_node *node;
    /* connection parameters in the order libpq applies them (later wins),
     * NULL-terminated; the password is added at each attempt */
    char **keys, **values;
    size_t n_params;
    char *password;      /* the `password` option (copy), wiped on free */
    char *password_file;
    char *scrub[MAX_SCRUB];
    size_t n_scrub;
    PGconn *conn;
    uint64_t session;
    bool txn_lost;       /* the connection died inside a transaction: only rollback goes on */
    bool down;           /* a connection was lost or refused and none is up yet */
    bool copying;        /* between pgc_copy_start and the end of that COPY */
    bool copy_in_txn;    /* the COPY runs inside a transaction */
    int64_t down_since_ms;
    pgc_error err;
    /* pgc_defer_log: lines waiting for the node's thread */
    bool deferring;
    struct pgc_logline {
        mf_log_level level;
        char *text;
    } deferred[MAX_DEFERRED_LOG];
    size_t n_deferred, n_dropped;
};

/* ---- small helpers ------------------------------------------------------------ */

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static void wipe_free(char *s)
{
    if (s) {
        memset(s, 0, strlen(s));
        free(s);
    }
}

static void add_scrub(pgc *c, const char *value)
{
    if (!value || strlen(value) < SCRUB_MIN_LEN)
        return;
    for (size_t i = 0; i < c->n_scrub; i++)
        if (strcmp(c->scrub[i], value) == 0)
            return;
    if (c->n_scrub == MAX_SCRUB) { /* a rotated password: forget the oldest */
        wipe_free(c->scrub[0]);
        memmove(c->scrub, c->scrub + 1, (MAX_SCRUB - 1) * sizeof *c->scrub);
        c->n_scrub--;
    }
    c->scrub[c->n_scrub++] = mf_xstrdup(value);
}

/* Copy `in` to out (cap bytes) with every known secret replaced by *** and
 * line breaks (libpq's messages have several lines) folded into spaces. */
static void scrub_into(const pgc *c, const char *in, char *out, size_t cap)
{
    size_t o = 0;
    while (*in && o + 1 < cap) {
        size_t hit = 0;
        for (size_t i = 0; i < c->n_scrub && !hit; i++) {
            size_t n = strlen(c->scrub[i]);
            if (strncmp(in, c->scrub[i], n) == 0)
                hit = n;
        }
        if (hit) {
            for (const char *r = "***"; *r && o + 1 < cap; r++)
                out[o++] = *r;
            in += hit;
        } else if (*in == '\n' || *in == '\t' || *in == '\r') {
            if (o > 0 && out[o - 1] != ' ')
                out[o++] = ' ';
            in++;
        } else {
            out[o++] = *in++;
        }
    }
    while (o > 0 && out[o - 1] == ' ')
        o--;
    out[o] = '\0';
}

static void logf_(pgc *c, mf_log_level level, const char *fmt, ...) MF_PRINTF(3, 4);
static void logf_(pgc *c, mf_log_level level, const char *fmt, ...)
{
    if (!c->host || !c->host->log)
        return;
    char raw[1024], line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(raw, sizeof raw, fmt, ap);
    va_end(ap);
    scrub_into(c, raw, line, sizeof line);
    if (!c->deferring) {
        c->host->log(c->node, level, "%s", line);
    } else if (c->n_deferred < MAX_DEFERRED_LOG) {
        c->deferred[c->n_deferred++] = (struct pgc_logline){level, mf_xstrdup(line)};
    } else {
        c->n_dropped++;
    }
}

void pgc_log(pgc *c, mf_log_level level, const char *fmt, ...)
{
    char raw[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(raw, sizeof raw, fmt, ap);
    va_end(ap);
    logf_(c, level, "%s", raw);
}

static void flush_deferred(pgc *c)
{
    for (size_t i = 0; i < c->n_deferred; i++) {
        if (c->host && c->host->log)
            c->host->log(c->node, c->deferred[i].level, "%s", c->deferred[i].text);
        free(c->deferred[i].text);
    }
    if (c->n_dropped && c->host && c->host->log)
        c->host->log(c->node, MF_LOG_WARN, "%zu more PostgreSQL client log lines were dropped", c->n_dropped);
    c->n_deferred = c->n_dropped = 0;
}

void pgc_defer_log(pgc *c, bool defer)
{
    c->deferring = defer;
    if (!defer)
        flush_deferred(c);
}

static pgc_class set_error(pgc *c, pgc_class cls, const char *sqlstate, const char *fmt, ...) MF_PRINTF(4, 5);
static pgc_class set_error(pgc *c, pgc_class cls, const char *sqlstate, const char *fmt, ...)
{
    char raw[sizeof c->err.message];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(raw, sizeof raw, fmt, ap);
    va_end(ap);
    c->err.cls = cls;
    snprintf(c->err.sqlstate, sizeof c->err.sqlstate, "%s", sqlstate ? sqlstate : "");
    c->err.copy_line = 0;
    c->err.column[0] = '\0';
    scrub_into(c, raw, c->err.message, sizeof c->err.message);
    return cls;
}

static pgc_class ok(pgc *c)
{
    c->err.cls = PGC_OK;
    c->err.sqlstate[0] = '\0';
    c->err.copy_line = 0;
    c->err.column[0] = '\0';
    c->err.message[0] = '\0';
    return PGC_OK;
}

/* ---- classification ----------------------------------------------------------- */

const char *pgc_class_name(pgc_class cls)
{
    switch (cls) {
    case PGC_OK:
        return "ok";
    case PGC_TRANSIENT:
        return "transient";
    case PGC_DATA:
        return "data";
    case PGC_FATAL:
        break;
    }
    return "fatal";
}

pgc_class pgc_classify_sqlstate(const char *s)
{
    if (!s || !*s)
        return PGC_TRANSIENT;
    if (!strncmp(s, "08", 2) || !strncmp(s, "53", 2) || !strcmp(s, "40001") || !strcmp(s, "40P01") ||
        !strcmp(s, "57P01") || !strcmp(s, "57P02") || !strcmp(s, "57P03"))
        return PGC_TRANSIENT;
    if (!strncmp(s, "22", 2) || !strncmp(s, "23", 2))
        return PGC_DATA;
    return PGC_FATAL;
}

/* The line number of a COPY error: its context reads "COPY <table>, line N[, ...]"
 * (translated: the number is the first one after the table name). */
static uint64_t copy_line_of(const char *context)
{
    const char *p = context ? strstr(context, "COPY ") : NULL;
    if (!p || !(p = strstr(p, ", ")))
        return 0;
    while (*p && (*p < '0' || *p > '9') && *p != '\n')
        p++;
    return *p >= '0' && *p <= '9' ? strtoull(p, NULL, 10) : 0;
}

/* The column of an error: the server's column field, else what a COPY
 * context names after "column " (up to the ':' before the value). */
static void column_of(const PGresult *res, char *out, size_t cap)
{
    const char *name = PQresultErrorField(res, PG_DIAG_COLUMN_NAME);
    size_t n = name ? strlen(name) : 0;
    const char *context = PQresultErrorField(res, PG_DIAG_CONTEXT);
    const char *p = !name && context && strstr(context, "COPY ") ? strstr(context, ", column ") : NULL;
    if (p) {
        name = p + 9;
        n = strcspn(name, ":\n");
    }
    if (n >= cap)
        n = 0; /* a truncated name would name another column */
    memcpy(out, name ? name : "", n);
    out[n] = '\0';
}

/* ---- connection ---------------------------------------------------------------- */

static void conn_drop(pgc *c)
{
    if (c->conn) {
        PQfinish(c->conn);
        c->conn = NULL;
    }
    c->copying = false;
}

static void conn_lost(pgc *c, bool in_txn)
{
    if (in_txn)
        c->txn_lost = true;
    conn_drop(c);
    if (!c->down) {
        c->down = true;
        c->down_since_ms = mono_ms();
        logf_(c, MF_LOG_WARN, "PostgreSQL connection lost: %s; reconnecting at the next call", c->err.message);
    }
}

/* A failed result (or none): classify, fill c->err, drop a dead connection. */
static pgc_class fail_result(pgc *c, const PGresult *res, bool in_txn)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    const char *detail = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL) : NULL;
    const char *hint = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_HINT) : NULL;
    bool lost = !c->conn || PQstatus(c->conn) != CONNECTION_OK;
    pgc_class cls = lost ? PGC_TRANSIENT : (state && *state) ? pgc_classify_sqlstate(state) : PGC_FATAL;
    if (!primary || !*primary) {
        primary = res ? PQresultErrorMessage(res) : "";
        if (!*primary && c->conn)
            primary = PQerrorMessage(c->conn);
        if (!*primary)
            primary = "unknown error";
    }
    set_error(c, cls, state, "%s%s%s%s%s", primary, detail ? "; DETAIL: " : "", detail ? detail : "",
              hint ? "; HINT: " : "", hint ? hint : "");
    if (res) {
        c->err.copy_line = copy_line_of(PQresultErrorField(res, PG_DIAG_CONTEXT));
        column_of(res, c->err.column, sizeof c->err.column);
    }
    if (lost)
        conn_lost(c, in_txn);
    return cls;
}

static void notice_cb(void *arg, const PGresult *res)
{
    pgc *c = arg;
    const char *sev = PQresultErrorField(res, PG_DIAG_SEVERITY);
    const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
    logf_(c, MF_LOG_DEBUG, "PostgreSQL %s: %s", sev ? sev : "NOTICE", msg ? msg : PQresultErrorMessage(res));
}

static void param_add(pgc *c, const char *key, const char *value)
{
    c->keys = mf_xrealloc(c->keys, (c->n_params + 2) * sizeof *c->keys);
    c->values = mf_xrealloc(c->values, (c->n_params + 2) * sizeof *c->values);
    c->keys[c->n_params] = mf_xstrdup(key);
    c->values[c->n_params] = mf_xstrdup(value);
    c->n_params++;
    c->keys[c->n_params] = NULL;
    c->values[c->n_params] = NULL;
}

static bool is_libpq_keyword(const PQconninfoOption *defs, const char *key)
{
    for (const PQconninfoOption *o = defs; o && o->keyword; o++)
        if (!strcmp(o->keyword, key))
            return true;
    return false;
}

/* What libpq takes as a connection string rather than a database name. */
static bool is_conninfo(const char *s)
{
    return strchr(s, '=') || !strncmp(s, "postgresql://", 13) || !strncmp(s, "postgres://", 11);
}

/* libpq quotes parts of a conninfo it cannot parse: only show its message
 * when the conninfo cannot hold a password. */
static bool may_hold_password(const char *s)
{
    const char *at = strchr(s, '@');
    return strstr(s, "password") || (at && memchr(s, ':', (size_t)(at - s)) && strstr(s, "://"));
}

static bool check_conninfo(pgc *c, const char *conninfo)
{
    char *msg = NULL;
    PQconninfoOption *opts = PQconninfoParse(conninfo, &msg);
    if (!opts) {
        if (msg && !may_hold_password(conninfo))
            set_error(c, PGC_FATAL, NULL, "conninfo: %s", msg);
        else
            set_error(c, PGC_FATAL, NULL, "conninfo: not a valid connection string or URI (libpq's message is "
                                          "not shown: it may quote the password)");
        PQfreemem(msg);
        return false;
    }
    for (PQconninfoOption *o = opts; o->keyword; o++)
        if (!strcmp(o->keyword, "password") && o->val && *o->val) {
            add_scrub(c, o->val);
            logf_(c, MF_LOG_WARN, "conninfo holds a password, which is plain configuration: prefer the secret "
                                  "option `password` or `password_file`");
        }
    PQconninfoFree(opts);
    return true;
}

pgc *pgc_new(const struct pgc_opts *opts, const char *app_name, const mf_host *host, mf_node *node, pgc_error *err)
{
    pgc *c = mf_xcalloc(1, sizeof *c);
    PQconninfoOption *defs = PQconndefaults();
    c->host = host;
    c->node = node;

    /* Secrets first, so nothing below can log them. */
    if (opts->password && *opts->password) {
        c->password = mf_xstrdup(opts->password);
        add_scrub(c, c->password);
    }
    for (size_t i = 0; i < opts->pg.count; i++)
        if (strstr(opts->pg.keys[i], "password"))
            add_scrub(c, opts->pg.values[i]);
    add_scrub(c, getenv("PGPASSWORD"));

    if (c->password && opts->password_file && *opts->password_file) {
        set_error(c, PGC_FATAL, NULL, "give either `password` or `password_file`, not both");
        goto fail;
    }
    if (opts->password_file && *opts->password_file) {
        char msg[512];
        char *pw = mf_secret_read_text(opts->password_file, msg, sizeof msg);
        if (!pw) {
            set_error(c, PGC_FATAL, NULL, "password_file: %s", msg);
            goto fail;
        }
        add_scrub(c, pw);
        mf_secret_text_free(pw);
        c->password_file = mf_xstrdup(opts->password_file);
    }
    if (!defs) {
        set_error(c, PGC_FATAL, NULL, "libpq: out of memory");
        goto fail;
    }

    /* Defaults first: the conninfo, the pg.* keywords and the PG* variables
     * override them (a variable only fills a parameter left unset). */
    if (!getenv("PGCONNECT_TIMEOUT"))
        param_add(c, "connect_timeout", "10");
    /* a server gone silent (a cut network) is noticed in about a minute */
    param_add(c, "keepalives_idle", "30");
    param_add(c, "keepalives_interval", "10");
    param_add(c, "keepalives_count", "3");
    param_add(c, "fallback_application_name", app_name && *app_name ? app_name : "martflow");
    if (opts->conninfo && *opts->conninfo) {
        if (is_conninfo(opts->conninfo) && !check_conninfo(c, opts->conninfo))
            goto fail;
        param_add(c, "dbname", opts->conninfo); /* expanded by libpq (expand_dbname) */
    }
    for (size_t i = 0; i < opts->pg.count; i++) {
        const char *key = opts->pg.keys[i];
        if (!strcmp(key, "password")) {
            set_error(c, PGC_FATAL, NULL, "pg.password: the value would be plain configuration; use the secret "
                                          "option `password` or `password_file`");
            goto fail;
        }
        if (!is_libpq_keyword(defs, key)) {
            set_error(c, PGC_FATAL, NULL, "pg.%s: not a libpq connection keyword", key);
            goto fail;
        }
        param_add(c, key, opts->pg.values[i]);
    }
    PQconninfoFree(defs);
    ok(c);
    return c;
fail:
    PQconninfoFree(defs);
    if (err)
        *err = c->err;
    pgc_free(c);
    return NULL;
}

void pgc_free(pgc *c)
{
    if (!c)
        return;
    conn_drop(c);
    for (size_t i = 0; i < c->n_params; i++) {
        free(c->keys[i]);
        wipe_free(c->values[i]); /* a conninfo may hold a password */
    }
    free(c->keys);
    free(c->values);
    wipe_free(c->password);
    free(c->password_file);
    for (size_t i = 0; i < c->n_scrub; i++)
        wipe_free(c->scrub[i]);
    for (size_t i = 0; i < c->n_deferred; i++)
        free(c->deferred[i].text);
    free(c);
}

const pgc_error *pgc_last_error(const pgc *c)
{
    return &c->err;
}

bool pgc_connected(const pgc *c)
{
    return c->conn && PQstatus(c->conn) == CONNECTION_OK;
}

uint64_t pgc_session(const pgc *c)
{
    return c->session;
}

PGconn *pgc_conn(pgc *c)
{
    return pgc_connected(c) ? c->conn : NULL;
}

static pgc_class txn_lost_error(pgc *c)
{
    return set_error(c, PGC_TRANSIENT, NULL,
                     "the connection was lost inside a transaction: roll it back (pgc_rollback) and start again");
}

static const char *server_version(const PGconn *conn)
{
    const char *v = PQparameterStatus(conn, "server_version");
    return v ? v : "?";
}

pgc_class pgc_connect(pgc *c)
{
    if (c->txn_lost)
        return txn_lost_error(c);
    if (pgc_connected(c))
        return ok(c);
    conn_drop(c);

    char *pw = c->password;
    if (c->password_file) {
        char msg[512];
        pw = mf_secret_read_text(c->password_file, msg, sizeof msg);
        if (!pw) /* a secret being remounted: try again later */
            return set_error(c, PGC_TRANSIENT, NULL, "password_file: %s", msg);
        add_scrub(c, pw);
    }
    size_t n = c->n_params;
    const char **keys = mf_xcalloc(n + 2, sizeof *keys);
    const char **values = mf_xcalloc(n + 2, sizeof *values);
    memcpy(keys, c->keys, n * sizeof *keys);
    memcpy(values, c->values, n * sizeof *values);
    if (pw) {
        keys[n] = "password";
        values[n] = pw;
    }
    c->conn = PQconnectdbParams(keys, values, 1);
    free(keys);
    free(values);
    if (pw != c->password)
        mf_secret_text_free(pw);

    if (!c->conn)
        return set_error(c, PGC_FATAL, NULL, "libpq: out of memory");
    if (PQstatus(c->conn) != CONNECTION_OK) {
        /* Refused or unreachable: the server may come back (transient). A
         * server asking for a password none was given is configuration. */
        pgc_class cls = PQconnectionNeedsPassword(c->conn) ? PGC_FATAL : PGC_TRANSIENT;
        set_error(c, cls, NULL, "cannot connect to PostgreSQL: %s", PQerrorMessage(c->conn));
        conn_drop(c);
        if (!c->down) {
            c->down = true;
            c->down_since_ms = mono_ms();
        }
        logf_(c, MF_LOG_WARN, "%s", c->err.message);
        return cls;
    }
    PQsetNoticeReceiver(c->conn, notice_cb, c);
    c->session++;
    const char *host = PQhost(c->conn);
    if (c->down && c->session > 1)
        logf_(c, MF_LOG_INFO, "reconnected to PostgreSQL at %s:%s, database %s, after %.1f s", host ? host : "?",
              PQport(c->conn), PQdb(c->conn), (double)(mono_ms() - c->down_since_ms) / 1000.0);
    else
        logf_(c, MF_LOG_INFO, "connected to PostgreSQL at %s:%s, database %s as %s (server %s)", host ? host : "?",
              PQport(c->conn), PQdb(c->conn), PQuser(c->conn), server_version(c->conn));
    c->down = false;
    return ok(c);
}

/* Connected, with a transaction (if any) still alive. */
static pgc_class ready(pgc *c, bool *in_txn)
{
    pgc_class cls = pgc_connect(c);
    if (cls == PGC_OK)
        *in_txn = PQtransactionStatus(c->conn) != PQTRANS_IDLE;
    return cls;
}

/* A COPY the caller did not ask for through pgc_copy_in: end it, drain. */
static void abandon_copy(pgc *c, PGresult *res)
{
    ExecStatusType st = PQresultStatus(res);
    if (st == PGRES_COPY_IN || st == PGRES_COPY_BOTH)
        PQputCopyEnd(c->conn, "not supported through pgc_exec");
    PQclear(res);
    while ((res = PQgetResult(c->conn)) != NULL)
        PQclear(res);
}

pgc_class pgc_exec(pgc *c, const char *sql, int nparams, const char *const *params, PGresult **res)
{
    bool in_txn = false;
    if (res)
        *res = NULL;
    if (c->copying)
        return set_error(c, PGC_FATAL, NULL, "a COPY is in progress: finish it (pgc_copy_finish) first");
    pgc_class cls = ready(c, &in_txn);
    if (cls != PGC_OK)
        return cls;
    PGresult *r = nparams > 0 ? PQexecParams(c->conn, sql, nparams, NULL, params, NULL, NULL, 0)
                              : PQexec(c->conn, sql);
    switch (PQresultStatus(r)) {
    case PGRES_COMMAND_OK:
    case PGRES_TUPLES_OK:
        if (res)
            *res = r;
        else
            PQclear(r);
        return ok(c);
    case PGRES_COPY_IN:
    case PGRES_COPY_OUT:
    case PGRES_COPY_BOTH:
        abandon_copy(c, r);
        return set_error(c, PGC_FATAL, NULL, "COPY through pgc_exec: use pgc_copy_in");
    default:
        cls = fail_result(c, r, in_txn);
        PQclear(r);
        return cls;
    }
}

/* ---- transactions ------------------------------------------------------------------ */

bool pgc_in_transaction(const pgc *c)
{
    return c->txn_lost || (pgc_connected(c) && PQtransactionStatus(c->conn) != PQTRANS_IDLE);
}

pgc_class pgc_begin(pgc *c)
{
    if (pgc_in_transaction(c))
        return c->txn_lost ? txn_lost_error(c) : set_error(c, PGC_FATAL, NULL, "BEGIN: a transaction is already open");
    return pgc_exec(c, "BEGIN", 0, NULL, NULL);
}

pgc_class pgc_commit(pgc *c)
{
    if (c->txn_lost)
        return txn_lost_error(c); /* the server rolled it back: nothing to commit */
    if (!pgc_in_transaction(c))
        return set_error(c, PGC_FATAL, NULL, "COMMIT: no transaction is open");
    if (PQtransactionStatus(c->conn) == PQTRANS_INERROR) {
        pgc_exec(c, "ROLLBACK", 0, NULL, NULL);
        return set_error(c, PGC_FATAL, NULL, "COMMIT of a transaction that failed: rolled back instead");
    }
    pgc_class cls = pgc_exec(c, "COMMIT", 0, NULL, NULL);
    c->txn_lost = false; /* lost during COMMIT: ended either way, outcome unknown */
    return cls;
}

static pgc_class copy_result(pgc *c, bool end, uint64_t *rows);

pgc_class pgc_rollback(pgc *c)
{
    if (c->copying)
        copy_result(c, false, NULL); /* refused by the server: nothing of it is stored */
    if (c->txn_lost) {
        c->txn_lost = false;
        return ok(c);
    }
    if (!pgc_in_transaction(c))
        return ok(c);
    pgc_class cls = pgc_exec(c, "ROLLBACK", 0, NULL, NULL);
    c->txn_lost = false;
    if (cls == PGC_TRANSIENT && !pgc_connected(c))
        return ok(c); /* the server rolls back what a dead connection left */
    return cls;
}

/* ---- COPY ------------------------------------------------------------------------ */

pgc_class pgc_copy_start(pgc *c, const char *copy_sql)
{
    bool in_txn = false;
    if (c->copying)
        return set_error(c, PGC_FATAL, NULL, "pgc_copy_start: a COPY is already in progress");
    pgc_class cls = ready(c, &in_txn);
    if (cls != PGC_OK)
        return cls;
    PGresult *r = PQexec(c->conn, copy_sql);
    if (PQresultStatus(r) != PGRES_COPY_IN) {
        if (PQresultStatus(r) == PGRES_FATAL_ERROR || PQresultStatus(r) == PGRES_NONFATAL_ERROR) {
            cls = fail_result(c, r, in_txn);
            PQclear(r);
            return cls;
        }
        abandon_copy(c, r);
        return set_error(c, PGC_FATAL, NULL, "pgc_copy_in: not a COPY ... FROM STDIN statement");
    }
    PQclear(r);
    c->copying = true;
    c->copy_in_txn = in_txn;
    return ok(c);
}

/* End the COPY in progress — with success when `end`, else refused (the
 * server then stores none of it) — and return its outcome. */
static pgc_class copy_result(pgc *c, bool end, uint64_t *rows)
{
    PGresult *r;
    c->copying = false;
    if (rows)
        *rows = 0;
    if (end)
        PQputCopyEnd(c->conn, NULL);
    /* The first result that is not "still in COPY" is the COPY's; drain the rest. */
    PGresult *final = NULL;
    while ((r = PQgetResult(c->conn)) != NULL) {
        if (PQresultStatus(r) == PGRES_COPY_IN) { /* not ended, or the send failed on our side */
            PQclear(r);
            if (PQputCopyEnd(c->conn, "client-side failure") != 1)
                break;
        } else if (!final) {
            final = r;
        } else {
            PQclear(r);
        }
    }
    if (final && PQresultStatus(final) == PGRES_COMMAND_OK) {
        if (rows)
            *rows = strtoull(PQcmdTuples(final), NULL, 10);
        PQclear(final);
        return ok(c);
    }
    pgc_class cls = fail_result(c, final, c->copy_in_txn);
    PQclear(final);
    return cls;
}

pgc_class pgc_copy_put(pgc *c, const void *data, size_t len)
{
    if (!c->copying)
        return c->err.cls != PGC_OK ? c->err.cls
                                    : set_error(c, PGC_FATAL, NULL, "pgc_copy_put: no COPY is in progress");
    /* In blocking mode PQputCopyData returns 1 or -1; -1 once the server
     * refused the data (its error is then the result) or the connection broke. */
    const char *p = data;
    for (size_t off = 0; off < len; off += COPY_CHUNK) {
        size_t n = len - off < COPY_CHUNK ? len - off : COPY_CHUNK;
        if (PQputCopyData(c->conn, p + off, (int)n) != 1)
            return copy_result(c, false, NULL);
    }
    return PGC_OK;
}

pgc_class pgc_copy_finish(pgc *c, uint64_t *rows)
{
    if (!c->copying) {
        if (rows)
            *rows = 0;
        return c->err.cls != PGC_OK ? c->err.cls
                                    : set_error(c, PGC_FATAL, NULL, "pgc_copy_finish: no COPY is in progress");
    }
    return copy_result(c, true, rows);
}

pgc_class pgc_copy_in_sql(pgc *c, const char *copy_sql, const void *data, size_t len, uint64_t *rows)
{
    if (rows)
        *rows = 0;
    pgc_class cls = pgc_copy_start(c, copy_sql);
    if (cls == PGC_OK)
        cls = pgc_copy_put(c, data, len);
    return cls == PGC_OK ? pgc_copy_finish(c, rows) : cls;
}

pgc_class pgc_copy_in(pgc *c, const char *table, const char *columns, pgc_copy_format format, const void *data,
                      size_t len, uint64_t *rows)
{
    char *sql = mf_xasprintf("COPY %s%s%s%s FROM STDIN WITH (FORMAT %s)", table, columns ? " (" : "",
                             columns ? columns : "", columns ? ")" : "", format == PGC_COPY_CSV ? "csv" : "text");
    pgc_class cls = pgc_copy_in_sql(c, sql, data, len, rows);
    free(sql);
    return cls;
}

pgc_class pgc_copy_out(pgc *c, const char *copy_sql, pgc_copy_out_fn fn, void *arg, uint64_t *rows)
{
    bool in_txn = false;
    if (rows)
        *rows = 0;
    if (c->copying)
        return set_error(c, PGC_FATAL, NULL, "pgc_copy_out: a COPY FROM STDIN is in progress");
    pgc_class cls = ready(c, &in_txn);
    if (cls != PGC_OK)
        return cls;
    PGresult *r = PQexec(c->conn, copy_sql);
    if (PQresultStatus(r) != PGRES_COPY_OUT) {
        if (PQresultStatus(r) == PGRES_FATAL_ERROR || PQresultStatus(r) == PGRES_NONFATAL_ERROR) {
            cls = fail_result(c, r, in_txn);
            PQclear(r);
            return cls;
        }
        abandon_copy(c, r);
        return set_error(c, PGC_FATAL, NULL, "pgc_copy_out: not a COPY ... TO STDOUT statement");
    }
    PQclear(r);
    bool stopped = false;
    for (;;) {
        char *buf = NULL;
        int len = PQgetCopyData(c->conn, &buf, 0);
        if (len < 0)
            break; /* -1: done (the result follows); -2: failed (so does its error) */
        if (!stopped && fn(arg, buf, (size_t)len) != 0) {
            stopped = true;
            /* the server would go on sending the whole table: ask it to stop */
            PGcancel *cancel = PQgetCancel(c->conn);
            char why[256];
            if (cancel) {
                PQcancel(cancel, why, sizeof why);
                PQfreeCancel(cancel);
            }
        }
        PQfreemem(buf);
    }
    PGresult *final = NULL;
    while ((r = PQgetResult(c->conn)) != NULL) {
        if (!final)
            final = r;
        else
            PQclear(r);
    }
    if (stopped) {
        bool lost = !c->conn || PQstatus(c->conn) != CONNECTION_OK;
        PQclear(final);
        set_error(c, PGC_FATAL, NULL, "stopped by the caller");
        if (lost)
            conn_lost(c, in_txn);
        return PGC_FATAL;
    }
    if (final && PQresultStatus(final) == PGRES_COMMAND_OK) {
        if (rows)
            *rows = strtoull(PQcmdTuples(final), NULL, 10);
        PQclear(final);
        return ok(c);
    }
    cls = fail_result(c, final, in_txn);
    PQclear(final);
    return cls;
}

/* ---- advisory locks and health ------------------------------------------------- */

/* Run a lock function on key; *value: its boolean result. */
static pgc_class lock_call(pgc *c, const char *sql, int64_t key, bool *value)
{
    char k[24];
    snprintf(k, sizeof k, "%" PRId64, key);
    const char *params[] = {k};
    PGresult *r = NULL;
    pgc_class cls = pgc_exec(c, sql, 1, params, &r);
    if (cls == PGC_OK) {
        *value = PQntuples(r) == 1 && !strcmp(PQgetvalue(r, 0, 0), "t");
        PQclear(r);
    }
    return cls;
}

pgc_class pgc_lock_try(pgc *c, int64_t key, bool *got)
{
    *got = false;
    return lock_call(c, "SELECT pg_try_advisory_lock($1::bigint)", key, got);
}

pgc_class pgc_lock_wait(pgc *c, int64_t key, int timeout_ms, bool *got)
{
    int64_t deadline = mono_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    int wait = LOCK_POLL_MIN_MS;
    for (;;) {
        pgc_class cls = pgc_lock_try(c, key, got);
        if (cls != PGC_OK || *got)
            return cls;
        int64_t left = deadline - mono_ms();
        if (left <= 0)
            return ok(c);
        sleep_ms(left < wait ? (int)left : wait);
        wait = wait * 2 > LOCK_POLL_MAX_MS ? LOCK_POLL_MAX_MS : wait * 2;
    }
}

pgc_class pgc_unlock(pgc *c, int64_t key, bool *released)
{
    bool was = false;
    pgc_class cls = lock_call(c, "SELECT pg_advisory_unlock($1::bigint)", key, &was);
    if (released)
        *released = was;
    return cls;
}

pgc_class pgc_health(pgc *c)
{
    return pgc_exec(c, "SELECT 1", 0, NULL, NULL);
}
