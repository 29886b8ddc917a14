/*
 * pg_columns.c — identifiers and the `columns` option. See pg_columns.h.
 */
#include "pg_columns.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <martflow/martflow.h>

#define MAX_IDENT 63 /* NAMEDATALEN - 1 */

static bool ident_start(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_';
}

static bool ident_char(char ch)
{
    return ident_start(ch) || (ch >= '0' && ch <= '9') || ch == '$';
}

const char *pg_ident_problem(const char *text, bool qualified)
{
    if (!text || !*text)
        return "an empty name";
    int parts = 0;
    for (const char *p = text;;) {
        size_t n = 0;
        if (!ident_start(*p))
            return "a name starts with a letter or '_' (written as in SQL without quotes: letters, digits, '_', '$')";
        while (ident_char(p[n]))
            n++;
        if (n > MAX_IDENT)
            return "a name is longer than 63 bytes";
        parts++;
        p += n;
        if (!*p)
            return NULL;
        if (*p != '.')
            return "only letters, digits, '_' and '$' may be in a name (written as in SQL without quotes)";
        if (!qualified || parts == 2)
            return qualified ? "at most schema.name" : "a column name has no '.'";
        p++;
    }
}

char *pg_ident_fold(const char *text)
{
    char *s = mf_xstrdup(text);
    for (char *p = s; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    return s;
}

char *pg_ident_quote(const char *text)
{
    char *folded = pg_ident_fold(text);
    char *dot = strchr(folded, '.');
    char *q;
    if (dot) {
        *dot = '\0';
        q = mf_xasprintf("\"%s\".\"%s\"", folded, dot + 1);
    } else {
        q = mf_xasprintf("\"%s\"", folded);
    }
    free(folded);
    return q;
}

static void reportf(pgcol_report report, void *arg, const json_t *at, const char *fmt, ...) MF_PRINTF(4, 5);
static void reportf(pgcol_report report, void *arg, const json_t *at, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    report(arg, at, msg);
}

/* One column's value: "path" or {field: path, type: name}. */
static bool parse_column(const char *name, const json_t *v, struct pgcol *col, pgcol_report report, void *arg)
{
    const json_t *field = v, *type = NULL;
    if (json_is_object(v)) {
        const char *k;
        json_t *x;
        bool ok = true;
        json_object_foreach((json_t *)v, k, x) {
            if (strcmp(k, "field") && strcmp(k, "type")) {
                reportf(report, arg, x, "option 'columns': column '%s': unknown key '%s' (field, type)", name, k);
                ok = false;
            }
        }
        field = json_object_get(v, "field");
        type = json_object_get(v, "type");
        if (!field) {
            reportf(report, arg, v, "option 'columns': column '%s' has no 'field' (the field path it is read from)",
                    name);
            return false;
        }
        if (!ok)
            return false;
    } else if (!json_is_string(v)) {
        reportf(report, arg, v,
                "option 'columns': column '%s' must map to a field path or {field: path, type: name}, not %s", name,
                mf_json_kind_text(v));
        return false;
    }
    if (!json_is_string(field)) {
        reportf(report, arg, field, "option 'columns': column '%s': 'field' must be a field path, not %s", name,
                mf_json_kind_text(field));
        return false;
    }
    char err[256];
    mf_fieldpath *fp = mf_fieldpath_new(json_string_value(field), err, sizeof err);
    if (!fp) {
        reportf(report, arg, field, "option 'columns': column '%s': %s", name, err);
        return false;
    }
    mf_fieldpath_free(fp);
    col->kind = PGT_AUTO;
    if (type && (!json_is_string(type) || !pgt_kind_of(json_string_value(type), &col->kind))) {
        reportf(report, arg, type, "option 'columns': column '%s': type %s%s%s is not one of %s", name,
                json_is_string(type) ? "'" : "", json_is_string(type) ? json_string_value(type) : mf_json_kind_text(type),
                json_is_string(type) ? "'" : "", pgt_type_names());
        return false;
    }
    col->name = pg_ident_fold(name);
    col->quoted = pg_ident_quote(name);
    col->path = mf_xstrdup(json_string_value(field));
    return true;
}

bool pgcol_parse(const json_t *columns, struct pgcol_spec *out, pgcol_report report, void *arg)
{
    memset(out, 0, sizeof *out);
    if (!json_is_object(columns) || json_object_size(columns) == 0) {
        reportf(report, arg, columns,
                "option 'columns': expected a map of column -> field path (or {field: path, type: name}), not %s",
                columns && json_is_object(columns) ? "an empty map" : columns ? mf_json_kind_text(columns) : "nothing");
        return false;
    }
    out->cols = mf_xcalloc(json_object_size(columns), sizeof *out->cols);
    bool ok = true;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)columns, k, v) {
        const char *why = pg_ident_problem(k, false);
        if (why) {
            reportf(report, arg, v, "option 'columns': column '%s': %s", k, why);
            ok = false;
            continue;
        }
        if (pgcol_find(out, k) >= 0) {
            reportf(report, arg, v, "option 'columns': column '%s' is given twice (names are case-folded)", k);
            ok = false;
            continue;
        }
        if (parse_column(k, v, &out->cols[out->n], report, arg))
            out->n++;
        else
            ok = false;
    }
    return ok;
}

void pgcol_spec_free(struct pgcol_spec *spec)
{
    for (size_t i = 0; i < spec->n; i++) {
        free(spec->cols[i].name);
        free(spec->cols[i].quoted);
        free(spec->cols[i].path);
    }
    free(spec->cols);
    memset(spec, 0, sizeof *spec);
}

int pgcol_find(const struct pgcol_spec *spec, const char *name)
{
    char *folded = pg_ident_fold(name);
    int found = -1;
    for (size_t i = 0; i < spec->n && found < 0; i++)
        if (!strcmp(spec->cols[i].name, folded))
            found = (int)i;
    free(folded);
    return found;
}
