/*
 * log.h — structured logging: one JSON object per line (time, level, pipeline,
 * node, plugin, message) on stdout, or another fd. Thread-safe. Messages with
 * the same format text, level and node are rate-limited: a burst passes, the
 * rest of the window is counted and reported as suppressed. Registered secrets
 * (redact.h) are replaced by "***" in the message and in every field. A level
 * below MF_LOG_ERROR counts as an error, one above MF_LOG_TRACE as trace.
 */
#ifndef MF_LOG_H
#define MF_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <martflow/plugin.h>

void mf_log_set_level(mf_log_level level);
mf_log_level mf_log_get_level(void);
/* Parse "error|warn|info|debug|trace"; -1 if unknown. */
int mf_log_parse_level(const char *name);
void mf_log_set_fd(int fd);
void mf_log_set_pipeline(const char *name);
bool mf_log_enabled(mf_log_level level);

/* Log for a node (node and plugin may be NULL for engine messages). ratekey:
 * the text that identifies the message for rate limiting (NULL: the format). */
void mf_log_vwrite(mf_log_level level, const char *node, const char *plugin, const char *ratekey,
                   const char *fmt, va_list ap);
void mf_log_write(mf_log_level level, const char *node, const char *plugin, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#define mf_log_error(...) mf_log_write(MF_LOG_ERROR, NULL, NULL, __VA_ARGS__)
#define mf_log_warn(...) mf_log_write(MF_LOG_WARN, NULL, NULL, __VA_ARGS__)
#define mf_log_info(...) mf_log_write(MF_LOG_INFO, NULL, NULL, __VA_ARGS__)
#define mf_log_debug(...) mf_log_write(MF_LOG_DEBUG, NULL, NULL, __VA_ARGS__)

#endif
