/* Unit tests: the metrics registry (one type per name, NULL-safe updates) and
 * the HTTP listener when libmicrohttpd cannot create a response. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dlfcn.h>
#include <microhttpd.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cunit_main.h"
#include "http.h"
#include "log.h"
#include "metrics.h"

/* ---- capture the log ------------------------------------------------------ */

static FILE *log_file;

static void capture_log(void)
{
    log_file = tmpfile();
    CU_ASSERT_PTR_NOT_NULL_FATAL(log_file);
    mf_log_set_fd(fileno(log_file));
}

/* Everything logged since capture_log(); the caller frees it. */
static char *captured_log(void)
{
    mf_log_set_fd(1);
    int fd = fileno(log_file);
    off_t n = lseek(fd, 0, SEEK_END);
    char *text = calloc(1, n > 0 ? (size_t)n + 1 : 1);
    ssize_t got = n > 0 ? pread(fd, text, (size_t)n, 0) : 0;
    text[got > 0 ? got : 0] = '\0';
    fclose(log_file);
    return text;
}

/* ---- the registry --------------------------------------------------------- */

static void test_type_conflict_fails(void)
{
    mf_metrics *m = mf_metrics_new();
    capture_log();
    mf_metric *c = mf_metrics_get(m, MF_METRIC_COUNTER, "t_events_total", "node=\"a\"", "events");
    mf_metric *c2 = mf_metrics_get(m, MF_METRIC_COUNTER, "t_events_total", "node=\"b\"", "events");
    mf_metric *g = mf_metrics_get(m, MF_METRIC_GAUGE, "t_events_total", "node=\"a\"", "events");
    mf_metric *g2 = mf_metrics_get(m, MF_METRIC_GAUGE, "t_events_total", "node=\"c\"", "events");
    mf_metric *again = mf_metrics_get(m, MF_METRIC_COUNTER, "t_events_total", "node=\"a\"", "events");
    char *log = captured_log();
    CU_ASSERT_PTR_NOT_NULL(c);
    CU_ASSERT_PTR_NOT_NULL(c2);
    CU_ASSERT(c != c2);
    CU_ASSERT_PTR_NULL(g);  /* same name and labels, other type */
    CU_ASSERT_PTR_NULL(g2); /* same name, other labels: a name has one TYPE */
    CU_ASSERT_PTR_EQUAL(again, c);
    CU_ASSERT_PTR_NOT_NULL(strstr(log, "\"level\":\"error\""));
    CU_ASSERT_PTR_NOT_NULL(
        strstr(log, "metric 't_events_total' is already registered as a counter; it cannot also be a gauge"));
    free(log);

    mf_metric_add(c, 2);
    mf_str out = {0};
    mf_metrics_render(m, &out);
    CU_ASSERT_PTR_NOT_NULL(strstr(out.data, "# TYPE t_events_total counter\n"));
    CU_ASSERT_PTR_NULL(strstr(out.data, "gauge"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out.data, "t_events_total{node=\"a\"} 2\n"));
    mf_str_free(&out);
    mf_metrics_free(m);
}

static void test_null_metric_is_a_no_op(void)
{
    mf_metric_add(NULL, 1);
    mf_metric_set(NULL, 5);
    CU_ASSERT_EQUAL(mf_metric_value(NULL), 0);
}

/* ---- the HTTP listener when no response can be created -------------------- */

/* Interposes libmicrohttpd's function (the program is linked -export-dynamic):
 * while fail_responses is set it fails like libmicrohttpd out of memory. */
static atomic_int fail_responses, failed_responses;

struct MHD_Response *MHD_create_response_from_buffer(size_t size, void *buffer, enum MHD_ResponseMemoryMode mode)
{
    static struct MHD_Response *(*real)(size_t, void *, enum MHD_ResponseMemoryMode);
    if (atomic_load(&fail_responses)) {
        atomic_fetch_add(&failed_responses, 1);
        return NULL;
    }
    if (!real)
        *(void **)&real = dlsym(RTLD_NEXT, "MHD_create_response_from_buffer");
    return real(size, buffer, mode);
}

/* GET url from 127.0.0.1:port; what the server sent (possibly ""). */
static char *http_get(int port, const char *url)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    CU_ASSERT_FATAL(fd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CU_ASSERT_FATAL(connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0);
    char req[128];
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.0\r\n\r\n", url);
    CU_ASSERT_FATAL(write(fd, req, (size_t)n) == n);
    mf_str out = {0};
    char buf[4096];
    ssize_t r;
    while ((r = read(fd, buf, sizeof buf)) > 0)
        mf_str_append(&out, buf, (size_t)r);
    close(fd);
    return mf_str_take(&out);
}

static void test_http_without_response(void)
{
    mf_metrics *m = mf_metrics_new();
    mf_metric_set(mf_metrics_get(m, MF_METRIC_GAUGE, "t_up", NULL, "up"), 1);
    char *error = NULL;
    mf_http *h = mf_http_start("127.0.0.1:0", m, (mf_http_probe){0}, &error);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    int port = mf_http_port(h);

    atomic_store(&fail_responses, 1);
    char *reply = http_get(port, "/metrics");
    CU_ASSERT(atomic_load(&failed_responses) > 0);
    CU_ASSERT_PTR_NULL(strstr(reply, "200 OK")); /* the connection is closed, nothing is sent */
    free(reply);
    reply = http_get(port, "/nosuch");
    CU_ASSERT_PTR_NULL(strstr(reply, "404"));
    free(reply);

    atomic_store(&fail_responses, 0);
    reply = http_get(port, "/metrics"); /* the listener survived */
    CU_ASSERT_PTR_NOT_NULL(strstr(reply, "200 OK"));
    CU_ASSERT_PTR_NOT_NULL(strstr(reply, "t_up 1\n"));
    free(reply);
    mf_http_stop(h);
    mf_metrics_free(m);
}

int main(void)
{
    static const mf_test registry[] = {
        {"a name has one type; a conflict returns NULL and logs", test_type_conflict_fails},
        {"updating a NULL metric is a no-op", test_null_metric_is_a_no_op},
        {NULL, NULL},
    };
    static const mf_test http[] = {
        {"no response object: the connection is closed, the listener lives", test_http_without_response},
        {NULL, NULL},
    };
    static const mf_suite suites[] = {{"metrics", registry}, {"http", http}, {NULL, NULL}};
    return mf_cunit_run(suites);
}
