/* http.c — see http.h. */
#include "http.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>

struct mf_http {
    struct MHD_Daemon *daemon;
    mf_metrics *metrics;
    mf_http_probe probe;
    int port;
};

static enum MHD_Result respond(struct MHD_Connection *conn, unsigned status, const char *type, char *body,
                               size_t len)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        /* out of memory inside libmicrohttpd: it did not take the body; MHD_NO
         * makes it close the connection, the scraper retries */
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", type);
    enum MHD_Result ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                              const char *version, const char *upload_data, size_t *upload_size, void **state)
{
    mf_http *h = cls;
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return respond(conn, 405, "text/plain", mf_xstrdup("method not allowed\n"), 19);
    if (strcmp(url, "/metrics") == 0) {
        mf_str out = {0};
        mf_metrics_render(h->metrics, &out);
        size_t len = out.len;
        return respond(conn, 200, "text/plain; version=0.0.4", mf_str_take(&out), len);
    }
    if (strcmp(url, "/healthz") == 0) {
        bool ok = !h->probe.healthy || h->probe.healthy(h->probe.arg);
        return ok ? respond(conn, 200, "text/plain", mf_xstrdup("ok\n"), 3)
                  : respond(conn, 503, "text/plain", mf_xstrdup("failed\n"), 7);
    }
    if (strcmp(url, "/readyz") == 0) {
        bool ok = !h->probe.ready || h->probe.ready(h->probe.arg);
        return ok ? respond(conn, 200, "text/plain", mf_xstrdup("ready\n"), 6)
                  : respond(conn, 503, "text/plain", mf_xstrdup("not ready\n"), 10);
    }
    return respond(conn, 404, "text/plain", mf_xstrdup("not found\n"), 10);
}

mf_http *mf_http_start(const char *listen, mf_metrics *metrics, mf_http_probe probe, char **error)
{
    const char *colon = strrchr(listen, ':');
    if (!colon || colon == listen) {
        *error = mf_xasprintf("metrics_listen '%s': expected host:port", listen);
        return NULL;
    }
    char *host = mf_xstrndup(listen, (size_t)(colon - listen));
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM};
    struct addrinfo *ai = NULL;
    int rc = getaddrinfo(host, colon + 1, &hints, &ai);
    free(host);
    if (rc != 0 || !ai) {
        *error = mf_xasprintf("metrics_listen '%s': %s", listen, gai_strerror(rc));
        return NULL;
    }
    mf_http *h = mf_xcalloc(1, sizeof *h);
    h->metrics = metrics;
    h->probe = probe;
    h->daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL, handle, h,
                                 MHD_OPTION_SOCK_ADDR, ai->ai_addr, MHD_OPTION_CONNECTION_LIMIT, 32u,
                                 MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_END);
    freeaddrinfo(ai);
    if (!h->daemon) {
        *error = mf_xasprintf("metrics_listen '%s': cannot listen (address in use?)", listen);
        free(h);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_BIND_PORT);
    h->port = info ? info->port : 0;
    return h;
}

int mf_http_port(const mf_http *h)
{
    return h->port;
}

void mf_http_stop(mf_http *h)
{
    if (!h)
        return;
    MHD_stop_daemon(h->daemon);
    free(h);
}
