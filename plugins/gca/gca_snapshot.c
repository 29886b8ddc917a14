/* gca_snapshot.c — see gca_snapshot.h. Written as text around each object's
 * canonical data (no tree of 100,000 objects is built to write it). */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gca_snapshot.h"

static void append_json_string(mf_buffer *out, const char *s)
{
    json_t *j = json_string(s);
    char *text = j ? cfgdb_json_text(j, 0, NULL) : NULL;
    mf_buffer_append_str(out, text ? text : "\"\"");
    free(text);
    json_decref(j);
}

static void appendf(mf_buffer *out, const char *fmt, ...) MF_PRINTF(2, 3);
static void appendf(mf_buffer *out, const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n > 0)
        mf_buffer_append(out, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
}

void gca_snapshot_write(const gca_snapshot *snap, mf_buffer *out)
{
    char when[40] = "";
    time_t secs = (time_t)(snap->time_ms / 1000);
    struct tm tm;
    if (gmtime_r(&secs, &tm))
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
    appendf(out, "{\"format\":\"%s\",\"version\":%d,\"tenant\":", GCA_SNAPSHOT_FORMAT, GCA_SNAPSHOT_VERSION);
    append_json_string(out, snap->tenant ? snap->tenant : "");
    appendf(out, ",\"change_set\":%" PRId64 ",\"time\":\"%s.%03dZ\",\"time_ms\":%" PRId64 ",\"topic\":",
            snap->change_set, when, (int)(snap->time_ms % 1000), snap->time_ms);
    append_json_string(out, snap->topic ? snap->topic : "");
    mf_buffer_append_str(out, ",\"offsets\":[");
    for (size_t i = 0; i < snap->n_offsets; i++)
        appendf(out, "%s{\"partition\":%" PRId32 ",\"offset\":%" PRId64 "}", i ? "," : "", snap->offsets[i].partition,
                snap->offsets[i].offset);
    appendf(out, "],\"count\":%zu,\"objects\":[", snap->objects.n);
    for (size_t i = 0; i < snap->objects.n; i++) {
        const cfgdb_obj *o = &snap->objects.objs[i];
        appendf(out, "%s\n{\"type\":\"%s\",\"dbid\":%" PRId64 ",\"version\":%" PRId64 ",\"data\":", i ? "," : "",
                gca_type_name(o->type), o->dbid, o->version);
        mf_buffer_append(out, o->data, o->data_len);
        mf_buffer_append_str(out, "}");
    }
    mf_buffer_append_str(out, "\n]}\n");
}

void gca_snapshot_free(gca_snapshot *snap)
{
    free(snap->tenant);
    free(snap->topic);
    free(snap->offsets);
    cfgdb_set_free(&snap->objects);
    memset(snap, 0, sizeof *snap);
}

/* One element of "objects" into out->objects. */
static bool add_object(gca_snapshot *out, const json_t *e, size_t i, char *why, size_t why_len)
{
    int type = gca_type_parse(json_string_value(json_object_get(e, "type")));
    json_t *dbid = json_object_get(e, "dbid"), *ver = json_object_get(e, "version");
    size_t n = 0;
    char *canon = cfgdb_canonical(json_object_get(e, "data"), &n);
    if (type < 0 || !json_is_integer(dbid) || !json_is_integer(ver) || !canon) {
        free(canon);
        snprintf(why, why_len, "objects[%zu] needs a gca-cfg type, an integer dbid and version, and a data object",
                 i);
        return false;
    }
    cfgdb_set_add_owned(&out->objects, (gca_type)type, json_integer_value(dbid), json_integer_value(ver), canon, n);
    return true;
}

/* The header fields (everything but objects) of doc into out. */
static bool read_header(const json_t *doc, gca_snapshot *out, char *why, size_t why_len)
{
    const char *format = json_string_value(json_object_get(doc, "format"));
    if (!format || strcmp(format, GCA_SNAPSHOT_FORMAT) != 0) {
        snprintf(why, why_len, "not a GCA snapshot (format is not \"%s\")", GCA_SNAPSHOT_FORMAT);
        return false;
    }
    json_t *v = json_object_get(doc, "version");
    if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > GCA_SNAPSHOT_VERSION) {
        if (json_is_integer(v))
            snprintf(why, why_len, "snapshot version %lld is not one this build reads (1..%d)",
                     (long long)json_integer_value(v), GCA_SNAPSHOT_VERSION);
        else
            snprintf(why, why_len, "the snapshot has no integer version");
        return false;
    }
    const char *tenant = json_string_value(json_object_get(doc, "tenant"));
    const char *topic = json_string_value(json_object_get(doc, "topic"));
    json_t *cs = json_object_get(doc, "change_set"), *tm = json_object_get(doc, "time_ms");
    json_t *offsets = json_object_get(doc, "offsets");
    if (!tenant || !topic || !json_is_integer(cs) || !json_is_array(offsets)) {
        snprintf(why, why_len, "a snapshot needs tenant, topic, change_set, offsets and objects");
        return false;
    }
    out->tenant = mf_xstrdup(tenant);
    out->topic = mf_xstrdup(topic);
    out->change_set = json_integer_value(cs);
    out->time_ms = json_is_integer(tm) ? json_integer_value(tm) : 0;
    out->offsets = mf_xcalloc(json_array_size(offsets) + 1, sizeof *out->offsets);
    size_t i;
    json_t *e;
    json_array_foreach(offsets, i, e) {
        json_t *p = json_object_get(e, "partition"), *o = json_object_get(e, "offset");
        if (!json_is_integer(p) || !json_is_integer(o)) {
            snprintf(why, why_len, "offsets[%zu] needs an integer partition and offset", i);
            return false;
        }
        out->offsets[out->n_offsets++] = (gca_offset){(int32_t)json_integer_value(p), json_integer_value(o)};
    }
    return true;
}

#define OBJECTS_MARK ",\"objects\":["

/* The layout gca_snapshot_write makes (objects last): the header parsed on
 * its own, then one object at a time, so a snapshot of 100,000 objects never
 * becomes one tree. false when the document has another layout (or a fault
 * anywhere): the caller then reads it whole, and reports what is wrong. */
static bool read_streamed(const uint8_t *data, size_t len, gca_snapshot *out)
{
    const char *text = (const char *)data, *end = text + len;
    size_t mlen = strlen(OBJECTS_MARK);
    const char *mark = NULL;
    for (const char *q = text; !mark && (q = memchr(q, ',', (size_t)(end - q))) && (size_t)(end - q) >= mlen; q++)
        if (memcmp(q, OBJECTS_MARK, mlen) == 0)
            mark = q;
    if (!mark)
        return false;
    char why[256];
    size_t hlen = (size_t)(mark - text);
    char *htext = mf_xmalloc(hlen + 2);
    memcpy(htext, text, hlen);
    memcpy(htext + hlen, "}", 2);
    json_error_t jerr;
    json_t *head = json_loads(htext, JSON_REJECT_DUPLICATES, &jerr);
    free(htext);
    bool ok = head && !json_object_get(head, "objects") && read_header(head, out, why, sizeof why);
    json_decref(head);
    const char *p = mark + strlen(OBJECTS_MARK);
    for (size_t i = 0; ok; i++) {
        while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t' || (i && *p == ',')))
            p++;
        if (p < end && *p == ']')
            break;
        json_t *e = json_loadb(p, (size_t)(end - p), JSON_DISABLE_EOF_CHECK | JSON_REJECT_DUPLICATES, &jerr);
        ok = e && add_object(out, e, i, why, sizeof why);
        json_decref(e);
        if (ok)
            p += jerr.position;
    }
    if (ok) { /* "]}" and nothing but white space after */
        p++;
        while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
            p++;
        ok = p < end && *p == '}';
        for (p++; ok && p < end; p++)
            ok = *p == ' ' || *p == '\n' || *p == '\r' || *p == '\t';
    }
    return ok;
}

bool gca_snapshot_read(const uint8_t *data, size_t len, gca_snapshot *out, char *why, size_t why_len)
{
    memset(out, 0, sizeof *out);
    if (read_streamed(data, len, out))
        return cfgdb_set_sort(&out->objects, why, why_len);
    gca_snapshot_free(out);
    json_error_t jerr;
    json_t *doc = json_loadb((const char *)data, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!doc) {
        snprintf(why, why_len, "not JSON: %s at line %d", jerr.text, jerr.line);
        return false;
    }
    bool ok = read_header(doc, out, why, why_len);
    json_t *objects = json_object_get(doc, "objects"), *e;
    size_t i;
    if (ok && !json_is_array(objects)) {
        snprintf(why, why_len, "a snapshot needs tenant, topic, change_set, offsets and objects");
        ok = false;
    }
    json_array_foreach(objects, i, e) {
        if (!ok)
            break;
        ok = add_object(out, e, i, why, why_len);
    }
    json_decref(doc);
    return ok && cfgdb_set_sort(&out->objects, why, why_len);
}
