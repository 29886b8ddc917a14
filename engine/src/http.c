/* http.c — see http.h. */
#include "http.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct mf_http {
    struct MHD_Daemon *daemon;
    mf_metrics *metrics;
    mf_http_probe probe;
    int port;
    _Atomic int posts; /* POST requests whose answer is not sent yet */
};

/* The request state of a POST (its handler is called again per body chunk). */
static int post_marker;

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

static enum MHD_Result respond_text(struct MHD_Connection *conn, unsigned status, const char *text)
{
    return respond(conn, status, "text/plain", mf_xstrdup(text), strlen(text));
}

static bool from_loopback(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (!ci || !ci->client_addr || ci->client_addr->sa_family != AF_INET)
        return false;
    const struct sockaddr_in *in = (const struct sockaddr_in *)ci->client_addr;
    return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
}

static bool arg_true(const char *v)
{
    return v && (!strcmp(v, "1") || !strcmp(v, "true") || !strcmp(v, "yes"));
}

static enum MHD_Result handle_post(mf_http *h, struct MHD_Connection *conn, const char *url, size_t *upload_size,
                                   void **state)
{
    if (!*state) { /* the headers: answer once the (ignored) body is read */
        *state = &post_marker;
        atomic_fetch_add(&h->posts, 1);
        return MHD_YES;
    }
    if (*upload_size) {
        *upload_size = 0;
        return MHD_YES;
    }
    if (strcmp(url, "/savepoint") != 0 || !h->probe.savepoint)
        return respond_text(conn, 404, "not found\n");
    if (!h->probe.remote_operations && !from_loopback(conn))
        return respond_text(conn, 403, "POST is accepted from loopback addresses only (settings.remote_operations)\n");
    const char *pipeline = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "pipeline");
    const char *stop = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "stop");
    const char *timeout = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "timeout");
    double secs = timeout ? strtod(timeout, NULL) : 300;
    if (!(secs > 0) || secs > 86400)
        secs = 300;
    char *body = NULL;
    int status = h->probe.savepoint(h->probe.arg, pipeline, arg_true(stop), (int64_t)(secs * 1000), &body);
    if (!body)
        body = mf_xstrdup("{}");
    size_t len = strlen(body);
    return respond(conn, (unsigned)status, "application/json", body, len);
}

static void completed(void *cls, struct MHD_Connection *conn, void **state, enum MHD_RequestTerminationCode code)
{
    (void)conn;
    (void)code;
    mf_http *h = cls;
    if (*state == &post_marker)
        atomic_fetch_sub(&h->posts, 1);
    *state = NULL;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                              const char *version, const char *upload_data, size_t *upload_size, void **state)
{
    mf_http *h = cls;
    (void)version;
    (void)upload_data;
    if (strcmp(method, "POST") == 0)
        return handle_post(h, conn, url, upload_size, state);
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
    /* A thread per connection: a savepoint request waits for its
     * checkpoint, and /metrics must go on answering meanwhile. */
    h->daemon = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG,
                                 0, NULL, NULL, handle, h, MHD_OPTION_SOCK_ADDR, ai->ai_addr,
                                 MHD_OPTION_CONNECTION_LIMIT, 32u, MHD_OPTION_CONNECTION_TIMEOUT, 10u,
                                 MHD_OPTION_NOTIFY_COMPLETED, completed, h, MHD_OPTION_END);
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
    /* a savepoint with stop=1 has its answer queued as the pipeline ends:
     * let it reach the client */
    for (int i = 0; i < 500 && atomic_load(&h->posts) > 0; i++)
        nanosleep(&(struct timespec){0, 10 * 1000000L}, NULL);
    MHD_stop_daemon(h->daemon);
    free(h);
}
