/*
 * http.h — the one HTTP listener of a process (libmicrohttpd, its own thread):
 * /metrics (Prometheus text), /healthz (alive: 200 unless a node failed) and
 * /readyz (200 once every node is ready). Binds only where it is told.
 */
#ifndef MF_HTTP_H
#define MF_HTTP_H

#include <stdbool.h>

#include "metrics.h"

typedef struct mf_http mf_http;

typedef struct mf_http_probe {
    bool (*healthy)(void *arg);
    bool (*ready)(void *arg);
    void *arg;
} mf_http_probe;

/* listen: "host:port" (host may be an IPv4 address or "localhost"). NULL with
 * *error on failure. */
mf_http *mf_http_start(const char *listen, mf_metrics *metrics, mf_http_probe probe, char **error);
/* The port actually bound (useful with port 0). */
int mf_http_port(const mf_http *h);
void mf_http_stop(mf_http *h);

#endif
