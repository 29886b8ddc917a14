/* log.c — see log.h. */
#include "log.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "redact.h"
#include "util.h"

#define RATE_SLOTS 512
#define RATE_WINDOW_MS 10000
#define RATE_BURST 20

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static _Atomic int log_level = MF_LOG_INFO;
static int log_fd = 1;
static char *log_pipeline;

/* One rate-limit slot per (format text, level, node) seen recently. The key is
 * a hash of the text, not the format's address: the compiler merges identical
 * literals, and a "%s" logged as an error must not use up the slot of a "%s"
 * logged as a warning. */
struct rate_slot {
    uint64_t key; /* 0: unused */
    int64_t window_start;
    unsigned count;
    unsigned suppressed;
};
static struct rate_slot rate_slots[RATE_SLOTS];

static const char *const level_names[] = {"error", "warn", "info", "debug", "trace"};

/* Levels come from plugins too: anything below error is an error, anything
 * above trace is trace, so a bad level never indexes level_names[] out of
 * bounds and is never silently dropped as "more important than error". */
static int clamp_level(int level)
{
    if (level < MF_LOG_ERROR)
        return MF_LOG_ERROR;
    if (level > MF_LOG_TRACE)
        return MF_LOG_TRACE;
    return level;
}

void mf_log_set_level(mf_log_level level)
{
    atomic_store(&log_level, clamp_level((int)level));
}

mf_log_level mf_log_get_level(void)
{
    return (mf_log_level)atomic_load(&log_level);
}

int mf_log_parse_level(const char *name)
{
    for (size_t i = 0; i < MF_ARRAY_LEN(level_names); i++)
        if (strcmp(name, level_names[i]) == 0)
            return (int)i;
    if (strcmp(name, "warning") == 0)
        return MF_LOG_WARN;
    return -1;
}

void mf_log_set_fd(int fd)
{
    pthread_mutex_lock(&log_mu);
    log_fd = fd;
    pthread_mutex_unlock(&log_mu);
}

void mf_log_set_pipeline(const char *name)
{
    pthread_mutex_lock(&log_mu);
    free(log_pipeline);
    log_pipeline = name ? mf_xstrdup(name) : NULL;
    pthread_mutex_unlock(&log_mu);
}

bool mf_log_enabled(mf_log_level level)
{
    return clamp_level((int)level) <= atomic_load(&log_level);
}

static uint64_t fnv1a(uint64_t h, const char *s)
{
    for (; s && *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
    return (h ^ 0xff) * 0x100000001b3ull; /* ends the field: ("ab","c") != ("a","bc") */
}

static uint64_t rate_key(const char *fmt, int level, const char *node)
{
    uint64_t h = fnv1a(0xcbf29ce484222325ull ^ (uint64_t)level, fmt);
    h = fnv1a(h, node);
    return h ? h : 1;
}

/* Decide under log_mu whether this message passes; returns how many earlier
 * messages of the slot were suppressed and are now to be reported (or -1 to
 * suppress this one). */
static long rate_check(uint64_t key, int64_t now)
{
    struct rate_slot *s = &rate_slots[key % RATE_SLOTS];
    if (s->key != key) {
        s->key = key;
        s->window_start = now;
        s->count = 0;
        s->suppressed = 0;
    }
    if (now - s->window_start >= RATE_WINDOW_MS) {
        long reported = s->suppressed;
        s->window_start = now;
        s->count = 1;
        s->suppressed = 0;
        return reported;
    }
    if (++s->count > RATE_BURST) {
        s->suppressed++;
        return -1;
    }
    return 0;
}

static void write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0)
            return; /* nowhere left to report a logging failure */
        p += w;
        n -= (size_t)w;
    }
}

static void json_field(mf_str *line, const char *name, const char *value)
{
    if (!value)
        return;
    char *redacted = mf_redacted(value); /* before escaping: secrets are registered raw */
    const char *v = redacted ? redacted : value;
    mf_str_printf(line, ",\"%s\":\"", name);
    mf_str_json_escape(line, v, strlen(v));
    mf_str_puts(line, "\"");
    free(redacted);
}

void mf_log_vwrite(mf_log_level level, const char *node, const char *plugin, const char *ratekey,
                   const char *fmt, va_list ap)
{
    int lvl = clamp_level((int)level);
    if (lvl > atomic_load(&log_level))
        return;
    int64_t now = mf_time_now_ms();
    char ts[32];
    mf_time_format(now, ts, sizeof ts);

    char *msg = mf_xvasprintf(fmt, ap);
    mf_str line = {0};

    pthread_mutex_lock(&log_mu);
    long suppressed = rate_check(rate_key(ratekey ? ratekey : fmt, lvl, node), mf_time_mono_ms());
    if (suppressed >= 0) {
        mf_str_printf(&line, "{\"time\":\"%s\",\"level\":\"%s\"", ts, level_names[lvl]);
        json_field(&line, "pipeline", log_pipeline);
        json_field(&line, "node", node);
        json_field(&line, "plugin", plugin);
        json_field(&line, "message", msg);
        if (suppressed > 0)
            mf_str_printf(&line, ",\"suppressed\":%ld", suppressed);
        mf_str_puts(&line, "}\n");
        write_all(log_fd, line.data, line.len);
    }
    pthread_mutex_unlock(&log_mu);
    mf_str_free(&line);
    free(msg);
}

void mf_log_write(mf_log_level level, const char *node, const char *plugin, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    mf_log_vwrite(level, node, plugin, NULL, fmt, ap);
    va_end(ap);
}
