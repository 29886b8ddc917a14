/* savepoint_cli.c — see savepoint_cli.h. */
#include "savepoint_cli.h"

#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runtime.h"
#include "util.h"

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
    mf_str_append(arg, data, size * n);
    return size * n;
}

/* One request to the listener; the curl code, *status and *body. */
static CURLcode request(const char *url, bool post, long timeout_s, long *status, mf_str *body, char *errbuf)
{
    CURL *c = curl_easy_init();
    if (!c) {
        snprintf(errbuf, CURL_ERROR_SIZE, "cannot start libcurl");
        return CURLE_FAILED_INIT;
    }
    errbuf[0] = '\0';
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*"); /* the listener is ours: never through an http_proxy */
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 5L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout_s);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
    if (post)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
    CURLcode rc = curl_easy_perform(c);
    if (rc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    if (rc != CURLE_OK && !errbuf[0])
        snprintf(errbuf, CURL_ERROR_SIZE, "%s", curl_easy_strerror(rc));
    curl_easy_cleanup(c);
    return rc;
}

/* http://HOST:PORT of listen; 0.0.0.0 (every address) is reached on loopback.
 * NULL after a message. */
static char *base_url(const char *listen, const char *from)
{
    const char *colon = strrchr(listen, ':');
    if (!colon || !colon[1] || strspn(colon + 1, "0123456789") != strlen(colon + 1)) {
        fprintf(stderr, "martflow savepoint: %s '%s': expected HOST:PORT\n", from, listen);
        return NULL;
    }
    if (atoi(colon + 1) == 0) {
        fprintf(stderr, "martflow savepoint: %s '%s' has port 0 (chosen when the pipeline started): pass "
                        "--listen HOST:PORT with the port its log shows\n",
                from, listen);
        return NULL;
    }
    char *host = mf_xstrndup(listen, (size_t)(colon - listen));
    if (!*host || !strcmp(host, "0.0.0.0") || !strcmp(host, "*")) {
        free(host);
        host = mf_xstrdup("127.0.0.1");
    }
    char *url = mf_xasprintf("http://%s:%s", host, colon + 1);
    free(host);
    return url;
}

/* With stop: wait until the listener is gone (the process ended). */
static int wait_stopped(const char *base, const char *pipeline, int64_t timeout_ms)
{
    char *url = mf_xasprintf("%s/healthz", base);
    char errbuf[CURL_ERROR_SIZE];
    int64_t until = mf_time_mono_ms() + timeout_ms;
    int rc = MF_EXIT_FAILED;
    while (mf_time_mono_ms() < until) {
        mf_str body = {0};
        long status = 0;
        CURLcode c = request(url, false, 5, &status, &body, errbuf);
        mf_str_free(&body);
        if (c == CURLE_COULDNT_CONNECT || c == CURLE_RECV_ERROR || c == CURLE_GOT_NOTHING) {
            rc = MF_EXIT_OK;
            break;
        }
        nanosleep(&(struct timespec){0, 100 * 1000000L}, NULL);
    }
    if (rc == MF_EXIT_OK)
        fprintf(stderr, "martflow savepoint: pipeline '%s' stopped\n", pipeline);
    else
        fprintf(stderr, "martflow savepoint: the savepoint is taken, but pipeline '%s' is still running after "
                        "%lld s\n",
                pipeline, (long long)(timeout_ms / 1000));
    free(url);
    return rc;
}

int mf_savepoint_cli(const mf_pipeline_def *def, const char *file, const char *listen, int64_t timeout_ms, bool stop)
{
    const mf_settings *s = &def->settings;
    if (!s->savepoints || !*s->savepoints) {
        fprintf(stderr, "martflow savepoint: %s: settings.savepoints is not set: no location for savepoints "
                        "(s3://BUCKET/PREFIX or file:///DIR; GSP_SAVEPOINTS for pipelines/gsp.yaml)\n",
                file);
        return MF_EXIT_CONFIG;
    }
    const char *from = listen ? "--listen" : "settings.metrics_listen";
    if (!listen)
        listen = s->metrics_listen;
    if (!listen || !*listen) {
        fprintf(stderr, "martflow savepoint: %s: settings.metrics_listen is empty: the pipeline has no "
                        "operations listener to ask (set it, or pass --listen HOST:PORT)\n",
                file);
        return MF_EXIT_CONFIG;
    }
    char *base = base_url(listen, from);
    if (!base)
        return MF_EXIT_CONFIG;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    char *name = curl_easy_escape(NULL, def->name, 0);
    long secs = (long)((timeout_ms + 999) / 1000);
    char *url = mf_xasprintf("%s/savepoint?pipeline=%s&stop=%d&timeout=%ld", base, name ? name : "", stop ? 1 : 0,
                             secs);
    curl_free(name);
    mf_str body = {0};
    long status = 0;
    char errbuf[CURL_ERROR_SIZE];
    int rc = MF_EXIT_FAILED;
    CURLcode c = request(url, true, secs + 10, &status, &body, errbuf);
    json_t *j = c == CURLE_OK && body.data ? json_loadb(body.data, body.len, 0, NULL) : NULL;
    const char *sp = json_string_value(json_object_get(j, "savepoint"));
    const char *err = json_string_value(json_object_get(j, "error"));
    if (c == CURLE_COULDNT_CONNECT)
        fprintf(stderr, "martflow savepoint: pipeline '%s' is not running, or not listening at %s (%s): %s\n",
                def->name, base, from, errbuf);
    else if (c != CURLE_OK)
        fprintf(stderr, "martflow savepoint: cannot reach the operations listener at %s: %s\n", base, errbuf);
    else if (status == 200 && sp) {
        printf("%s\n", sp);
        fflush(stdout);
        rc = stop ? wait_stopped(base, def->name, timeout_ms) : MF_EXIT_OK;
    } else if (err)
        fprintf(stderr, "martflow savepoint: %s (HTTP %ld from %s)\n", err, status, base);
    else
        fprintf(stderr, "martflow savepoint: HTTP %ld from %s: %.*s", status, base, (int)body.len,
                body.data ? body.data : "");
    json_decref(j);
    mf_str_free(&body);
    free(url);
    free(base);
    return rc;
}
