/*
 * http.h — the one HTTP listener of a process, the operations listener
 * (libmicrohttpd, a thread per connection): /metrics (Prometheus text),
 * /healthz (alive: 200 unless a node failed), /readyz (200 once every node is
 * ready) and POST /savepoint (docs/checkpoints.md, "Savepoints"), which may
 * wait for minutes, so it does not hold up a scrape. Binds only where it is
 * told; POST requests are refused from non-loopback peers unless
 * remote_operations.
 */
#ifndef MF_HTTP_H
#define MF_HTTP_H

#include <stdbool.h>
#include <stdint.h>

#include "metrics.h"

typedef struct mf_http mf_http;

typedef struct mf_http_probe {
    bool (*healthy)(void *arg);
    bool (*ready)(void *arg);
    /* POST /savepoint?pipeline=NAME&stop=0|1&timeout=SECONDS: an HTTP status
     * and *body (malloc'd JSON, the handler's) to answer with. NULL: 404. */
    int (*savepoint)(void *arg, const char *pipeline, bool stop, int64_t timeout_ms, char **body);
    bool remote_operations; /* POST from any peer, not only 127.0.0.0/8 */
    void *arg;
} mf_http_probe;

/* listen: "host:port" (host may be an IPv4 address or "localhost"). NULL with
 * *error on failure. */
mf_http *mf_http_start(const char *listen, mf_metrics *metrics, mf_http_probe probe, char **error);
/* The port actually bound (useful with port 0). */
int mf_http_port(const mf_http *h);
/* Waits (up to 5 s) until the answers to POST requests are sent, then stops. */
void mf_http_stop(mf_http *h);

#endif
