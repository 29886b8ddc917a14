/*
 * pg_client.h — the project's one PostgreSQL client, shared by every plugin
 * that talks to PostgreSQL (the postgres sink, the config-db source, the Info
 * Mart loader). It is compiled into each plugin that needs it (every symbol
 * stays hidden, -fvisibility=hidden), like plugins/kafka/kafka_common.c.
 *
 * What it does, over libpq:
 *   - the connection from the options a plugin declares (PGC_OPTIONS): a
 *     `conninfo` string or URI and/or `pg.<keyword>` libpq keywords, the
 *     password from a secret option or a file; every libpq keyword (sslmode,
 *     sslrootcert, target_session_attrs, ...) passes through, and libpq's own
 *     PG* environment variables fill what the configuration leaves unset;
 *   - errors classified by SQLSTATE (pgc_class), with a message from which
 *     every secret the client knows is scrubbed;
 *   - a transparent reconnect on the next call after the connection was lost;
 *   - statements with parameters, transactions, COPY FROM STDIN of a buffer,
 *     session advisory locks and a health check.
 *
 * Threading: synchronous and not thread-safe. One client per worker (the
 * engine calls all callbacks of a node instance from one thread); never share
 * a client, or its PGconn, between threads.
 *
 * Logging: the client logs only connection events through host->log
 * (connected, lost, reconnected, cannot connect; rate-limited by the engine),
 * and libpq's notices at debug level, all scrubbed. Errors of operations are
 * returned (pgc_last_error) for the caller to act on and log: it knows whether
 * a data error is a rejected record or a bisect step.
 */
#ifndef MF_PG_CLIENT_H
#define MF_PG_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>
#include <martflow/martflow.h>

/* Options of the connection, filled by the engine (see PGC_OPTIONS). */
struct pgc_opts {
    const char *conninfo;      /* "host=... dbname=..." or "postgresql://...", or NULL */
    const char *password;      /* MF_OPT_SECRET, or NULL */
    const char *password_file; /* a file holding the password (a mounted secret), or NULL */
    mf_kvlist pg;              /* pg.<libpq keyword>: value */
};

/* The option table entries for struct pgc_opts, a member `field` of ctx_t. */
#define PGC_OPTIONS(ctx_t, field)                                                                  \
    MF_OPTION(MF_OPT_STRING, "conninfo", NULL, 0, ctx_t, field.conninfo,                          \
              "libpq connection string or URI; unset parts come from pg.* and the PG* variables"),  \
    MF_OPTION(MF_OPT_SECRET, "password", NULL, 0, ctx_t, field.password,                          \
              "Password of the database role (a secret: never printed)"),                         \
    MF_OPTION(MF_OPT_STRING, "password_file", NULL, 0, ctx_t, field.password_file,                \
              "File holding the password (re-read at every connection attempt)"),                 \
    MF_OPTION(MF_OPT_PREFIX, "pg.", NULL, 0, ctx_t, field.pg,                                     \
              "libpq connection keywords passed through, e.g. pg.sslmode: verify-full")

/* What an error means for the caller. */
typedef enum pgc_class {
    PGC_OK = 0,
    /* The connection or the server is in trouble, not the request: SQLSTATE
     * class 08, 40001 (serialization), 40P01 (deadlock), class 53, 57P01..3
     * (shutdown, starting up), or the connection lost / not possible. Roll
     * back and retry later (MF_RETRY): the next call reconnects. */
    PGC_TRANSIENT,
    /* The data was refused: SQLSTATE class 22 (data exception) or 23
     * (integrity constraint). Retrying the same rows fails again: find the
     * bad ones (bisect) and reject only them. */
    PGC_DATA,
    /* Anything else: SQL, permissions, missing objects, configuration,
     * misuse of this API. Retrying does not help (MF_FATAL). */
    PGC_FATAL
} pgc_class;

typedef struct pgc_error {
    pgc_class cls;
    char sqlstate[6];   /* five characters, or "" (lost connection, client-side error) */
    uint64_t copy_line; /* pgc_copy_in: the line of the data the server failed on (1-based), 0 unknown */
    char column[64];    /* the column the error is about, when the server names it (its column
                           field, or a COPY error's "column NAME" context), else "" */
    char message[768];  /* primary message, then "; DETAIL: ..." and "; HINT: ..." when given;
                           every secret the client knows replaced by *** */
} pgc_error;

/* "transient", "data", "fatal" or "ok". */
const char *pgc_class_name(pgc_class cls);

/* The class of a SQLSTATE (NULL or "" counts as a lost connection: transient). */
pgc_class pgc_classify_sqlstate(const char *sqlstate);

typedef struct pgc pgc;

/*
 * A client for the options. Checks them without connecting: the conninfo
 * parses, every pg.* key is a libpq keyword (pg.password is refused: the value
 * would be plain configuration; use `password` or `password_file`), at most
 * one of `password` and `password_file`. Defaults that the configuration or
 * the PG* variables may override: connect_timeout 10 s, TCP keepalives,
 * fallback_application_name `app_name` (NULL: "martflow").
 * host/node: where connection events are logged (host->log only; node is
 * passed through, may be NULL). opts and its strings are borrowed only during
 * the call. Returns a client the caller frees with pgc_free, or NULL with the
 * reason in err (class fatal; never quoting a secret).
 */
pgc *pgc_new(const struct pgc_opts *opts, const char *app_name, const mf_host *host, mf_node *node,
             pgc_error *err);

/*
 * Log a line as the client logs its own (host->log with the node given to
 * pgc_new, secrets scrubbed), or keep it while logging is deferred.
 */
void pgc_log(pgc *c, mf_log_level level, const char *fmt, ...) MF_PRINTF(3, 4);

/*
 * Defer the client's logging: while on, every line (connection events,
 * server notices, pgc_log) is kept, up to a few dozen (more are counted), so
 * that another thread may use the client for a while: host->log takes a node
 * and must be called from the node's thread. Turning it off (from that
 * thread, the other one done with the client) logs what was kept.
 */
void pgc_defer_log(pgc *c, bool defer);

/* Close the connection and wipe the secrets it holds. NULL is fine. */
void pgc_free(pgc *c);

/* The last error (cls PGC_OK after a success). Owned by the client, valid
 * until the next call. */
const pgc_error *pgc_last_error(const pgc *c);

/*
 * Connect if not connected (every call below does this first). The password
 * file is read again at every attempt, so a rotated secret is picked up.
 * A failed attempt is transient, except when the server wants a password and
 * none was given (fatal).
 */
pgc_class pgc_connect(pgc *c);

/* Connected now (as far as libpq knows without asking the server). */
bool pgc_connected(const pgc *c);

/* Incremented at each successful connection: a caller holding session state
 * (advisory locks, temporary tables, prepared statements) compares it to know
 * that this state was lost with the previous connection. 0 before the first. */
uint64_t pgc_session(const pgc *c);

/* The connection itself, for what this module does not wrap (escaping,
 * server version). Borrowed; NULL when not connected; do not PQfinish it. */
PGconn *pgc_conn(pgc *c);

/*
 * Run one statement with nparams text parameters ($1, $2, ...; a NULL value
 * is SQL NULL). With nparams == 0 sql may hold several statements separated
 * by ';' (a migration script; they run in one implicit transaction unless
 * the script has its own BEGIN/COMMIT). res: NULL to discard the result, else
 * set to the result of a success (the caller PQclears it) and to NULL on
 * failure.
 */
pgc_class pgc_exec(pgc *c, const char *sql, int nparams, const char *const *params, PGresult **res);

/*
 * Transactions. pgc_begin opens one (BEGIN); a transaction is never
 * continued on a new connection: after the connection was lost inside one,
 * every call but pgc_rollback fails (transient) until pgc_rollback, which
 * then only forgets it (the server rolled it back). pgc_commit: the data is
 * durable when it returns PGC_OK; a lost connection during COMMIT is
 * transient (the outcome is unknown: replay idempotently).
 */
pgc_class pgc_begin(pgc *c);
pgc_class pgc_commit(pgc *c);
pgc_class pgc_rollback(pgc *c);
bool pgc_in_transaction(const pgc *c);

/* The formats of pgc_copy_in. */
typedef enum pgc_copy_format {
    PGC_COPY_TEXT = 0, /* PostgreSQL's text format: tab-separated, \N for NULL, backslash escapes */
    PGC_COPY_CSV = 1   /* CSV: comma-separated, "" quoting, an unquoted empty field is NULL */
} pgc_copy_format;

/*
 * COPY table [(columns)] FROM STDIN (FORMAT text|csv) with data[0..len) as
 * the rows (each ending in '\n'), sent in large chunks. table and columns
 * (NULL: every column) are SQL text as written in a statement: the caller
 * validates or quotes them. rows: set to the rows the server stored (may be
 * NULL). On a data error, the error's copy_line names the line of the data
 * the server refused (when its message says so), and nothing was stored.
 */
pgc_class pgc_copy_in(pgc *c, const char *table, const char *columns, pgc_copy_format format, const void *data,
                      size_t len, uint64_t *rows);

/* The same with the whole COPY ... FROM STDIN statement given. */
pgc_class pgc_copy_in_sql(pgc *c, const char *copy_sql, const void *data, size_t len, uint64_t *rows);

/*
 * The same in pieces, for a caller that renders rows while the server takes
 * the earlier ones: pgc_copy_start runs the COPY ... FROM STDIN statement;
 * pgc_copy_put sends data (any number of times; a row may span calls);
 * pgc_copy_finish ends the COPY and returns its outcome as pgc_copy_in does.
 * Between start and finish only pgc_copy_put, pgc_copy_finish and
 * pgc_rollback (which ends the COPY unfinished first: nothing is stored) may
 * be called; anything else fails (fatal). A put that fails has ended the
 * COPY: it returns the COPY's error (copy_line set as above), and finish then
 * returns that error again.
 */
pgc_class pgc_copy_start(pgc *c, const char *copy_sql);
pgc_class pgc_copy_put(pgc *c, const void *data, size_t len);
pgc_class pgc_copy_finish(pgc *c, uint64_t *rows);

/*
 * COPY ... TO STDOUT: run copy_sql (any COPY (query) TO STDOUT statement)
 * and give each piece of data the server sends (one row, in the COPY's
 * format) to fn, in order, without holding more than that row. fn returns
 * 0 to go on; anything else stops the COPY (a cancel request, then the
 * rest is drained): pgc_copy_out then returns PGC_FATAL with the message
 * "stopped by the caller", the caller knowing why, and a transaction it ran
 * in is failed (roll it back). rows: the rows the server sent (may be NULL).
 */
typedef int (*pgc_copy_out_fn)(void *arg, const char *data, size_t len);
pgc_class pgc_copy_out(pgc *c, const char *copy_sql, pgc_copy_out_fn fn, void *arg, uint64_t *rows);

/*
 * Session advisory locks (pg_advisory_lock): held by this connection until
 * released or the connection ends; a lost connection loses them (see
 * pgc_session). pgc_lock_try: *got tells whether it was obtained now.
 * pgc_lock_wait: tries until obtained or timeout_ms passed (*got false then;
 * not an error; timeout_ms <= 0: one try), sleeping 20..500 ms between tries. pgc_unlock: *released (may be NULL) false when it was not
 * held. Locks nest: each lock needs one unlock.
 */
pgc_class pgc_lock_try(pgc *c, int64_t key, bool *got);
pgc_class pgc_lock_wait(pgc *c, int64_t key, int timeout_ms, bool *got);
pgc_class pgc_unlock(pgc *c, int64_t key, bool *released);

/* The server answers a query (SELECT 1), reconnecting first if needed. */
pgc_class pgc_health(pgc *c);

#endif
