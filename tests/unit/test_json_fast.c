/* Unit tests: JSON without a tree (json_fast.cc, record_view.c) — the rule
 * of what is valid JSON, the same through the fast path and through
 * mf_rec_json (jansson); typed zero-copy reads, field sets, iteration; the
 * validity flag; and the host functions of the harness's fake host. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <martflow/martflow.h>

#include "batch.h"
#include "cunit_main.h"
#include "harness.h"
#include "json_fast.h"
#include "record.h"
#include "record_view.h"

/* ---- helpers ---------------------------------------------------------------------- */

static char errbuf[512];
static mf_batch_impl *arena;
static const mf_view_scratch scratch = {errbuf, sizeof errbuf, &arena};

static void drop_arena(void)
{
    mf_batch_free(arena, false);
    arena = NULL;
}

static mf_record stack_record(const char *bytes, size_t len)
{
    return (mf_record){.flags = MF_RECORD_KEY_NULL, .value = (const uint8_t *)bytes, .value_len = (uint32_t)len,
                       .time_ms = MF_TIME_UNSET};
}

static bool in_bytes(const mf_record *r, const char *p)
{
    return p >= (const char *)r->value && p < (const char *)r->value + r->value_len;
}

static char *nested(int depth)
{
    char *s = malloc((size_t)depth * 2 + 1);
    memset(s, '[', (size_t)depth);
    memset(s + depth, ']', (size_t)depth);
    s[depth * 2] = '\0';
    return s;
}

/* ---- (a) the rule, through both parsers ----------------------------------------------- */

typedef struct rule_case {
    const char *name;
    const char *text;
    size_t len;            /* 0: strlen(text) */
    bool valid;
    mf_json_type type;     /* valid: the root's type */
    bool jansson_accepts;  /* invalid, yet jansson alone accepts it (depth, a raw NUL) */
    const char *why;       /* invalid: a part of the message */
} rule_case;

static void run_case(const rule_case *c, const char *text, size_t len)
{
    /* the fast path */
    mf_record r = stack_record(text, len);
    const char *err = NULL;
    int st = mf_rec_json_check(&r, &scratch, &err);
    if ((st == MF_OK) != c->valid)
        fprintf(stderr, "case %s: fast path says %s (%s)\n", c->name, st == MF_OK ? "valid" : "invalid",
                err ? err : "");
    CU_ASSERT_EQUAL(st == MF_OK, c->valid);
    CU_ASSERT_EQUAL(!!(r.flags & MF_RECORD_JSON_VALID), c->valid);
    if (!c->valid) {
        CU_ASSERT_PTR_NOT_NULL(err && strstr(err, "invalid JSON at byte "));
        if (c->why && !(err && strstr(err, c->why)))
            fprintf(stderr, "case %s: message \"%s\" lacks \"%s\"\n", c->name, err ? err : "", c->why);
        CU_ASSERT_PTR_NOT_NULL(c->why == NULL || (err && strstr(err, c->why)));
    }
    mf_json_view root;
    st = mf_rec_json_get(&r, NULL, &root, &scratch, &err);
    CU_ASSERT_EQUAL(st == MF_OK, c->valid);
    if (c->valid) {
        CU_ASSERT_EQUAL(root.type, c->type);
    }

    /* jansson, as plugins get it (record_json) */
    mf_record rj = stack_record(text, len);
    const char *jerr = NULL;
    json_t *j = mf_rec_json(&rj, errbuf, sizeof errbuf, &jerr);
    CU_ASSERT_EQUAL(j != NULL, c->valid);
    if (j) {
        static const int jtype[] = {[MF_JSON_NULL] = JSON_NULL,      [MF_JSON_BOOL] = -1,
                                    [MF_JSON_INT] = JSON_INTEGER,    [MF_JSON_DOUBLE] = JSON_REAL,
                                    [MF_JSON_STRING] = JSON_STRING,  [MF_JSON_ARRAY] = JSON_ARRAY,
                                    [MF_JSON_OBJECT] = JSON_OBJECT};
        if (c->type == MF_JSON_BOOL) {
            CU_ASSERT_TRUE(json_is_boolean(j));
        } else {
            CU_ASSERT_EQUAL((int)json_typeof(j), jtype[c->type]);
        }
        if (c->type == MF_JSON_INT) {
            CU_ASSERT_EQUAL(json_integer_value(j), root.integer);
        }
        double real = json_real_value(j);
        if (c->type == MF_JSON_DOUBLE) {
            CU_ASSERT_EQUAL(memcmp(&real, &root.number, sizeof real), 0);
        }
        if (c->type == MF_JSON_STRING) {
            CU_ASSERT_EQUAL(json_string_length(j), root.len);
            CU_ASSERT_EQUAL(memcmp(json_string_value(j), root.str, root.len), 0);
        }
        json_decref(j);
    } else {
        CU_ASSERT_PTR_NOT_NULL(jerr && strstr(jerr, "invalid JSON at byte "));
    }

    /* jansson alone, with the flag the rule needs: the same verdict but for
     * the depth limit (its own is 2048) and a raw NUL byte after a number
     * (which it skips), both of which the rule adds */
    json_error_t je;
    json_t *alone = json_loadb(text, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &je);
    CU_ASSERT_EQUAL(alone != NULL, c->valid || c->jansson_accepts);
    json_decref(alone);
    drop_arena();
}

static void test_rule_table(void)
{
    static const rule_case cases[] = {
        {"int64 max", "9223372036854775807", 0, true, MF_JSON_INT, false, NULL},
        {"int64 min", "-9223372036854775808", 0, true, MF_JSON_INT, false, NULL},
        {"int64 max + 1", "9223372036854775808", 0, false, 0, false, "too big integer"},
        {"uint64 max", "[18446744073709551615]", 0, false, 0, false, "too big integer"},
        {"beyond uint64", "18446744073709551616", 0, false, 0, false, "too big integer"},
        {"int64 min - 1", "-9223372036854775809", 0, false, 0, false, "too big negative integer"},
        {"\\u0000 in a string", "{\"a\":\"x\\u0000y\"}", 0, false, 0, false, "\\u0000 in a string"},
        {"\\u0000 in a key", "{\"\\u0000\":1}", 0, false, 0, false, "\\u0000 in an object key"},
        {"duplicate key", "{\"a\":1,\"a\":2}", 0, false, 0, false, "invalid JSON at byte 10: duplicate key \"a\""},
        {"nested duplicate", "{\"o\":{\"x\":1,\"y\":2,\"x\":3}}", 0, false, 0, false, "duplicate key \"x\""},
        {"same key, other objects", "{\"a\":{\"a\":1},\"b\":{\"a\":2}}", 0, true, MF_JSON_OBJECT, false, NULL},
        {"BOM", "\xEF\xBB\xBF{}", 0, false, 0, false, "at byte 0: a byte order mark"},
        {"1e400", "1e400", 0, false, 0, false, "real number overflow"},
        {"-1e400", "[-1e400]", 0, false, 0, false, "real number overflow"},
        {"1e-400", "1e-400", 0, true, MF_JSON_DOUBLE, false, NULL},
        {"-0", "-0", 0, true, MF_JSON_INT, false, NULL},
        {"-0.0", "-0.0", 0, true, MF_JSON_DOUBLE, false, NULL},
        {"1.0", "1.0", 0, true, MF_JSON_DOUBLE, false, NULL},
        {"1e2", "1e2", 0, true, MF_JSON_DOUBLE, false, NULL},
        {"invalid UTF-8", "\"\xff\"", 0, false, 0, false, "unable to decode byte 0xff"},
        {"UTF-8 surrogate", "\"\xed\xa0\x80\"", 0, false, 0, false, NULL},
        {"overlong UTF-8", "\"\xc0\xaf\"", 0, false, 0, false, NULL},
        {"lone high surrogate", "\"\\ud800\"", 0, false, 0, false, "invalid Unicode"},
        {"lone low surrogate", "\"\\udc00\"", 0, false, 0, false, "invalid Unicode"},
        {"high surrogate, no low", "\"\\ud800\\u0041\"", 0, false, 0, false, "invalid Unicode"},
        {"surrogate pair", "\"\\ud83d\\ude00\"", 0, true, MF_JSON_STRING, false, NULL},
        {"trailing garbage", "{} x", 0, false, 0, false, "end of file expected"},
        {"two values", "{}{}", 0, false, 0, false, NULL},
        {"trailing NUL", "{}\0", 3, false, 0, false, NULL},
        {"NUL after a number", "{\"a\":1\0}", 8, false, 0, true, NULL}, /* jansson alone reads {"a":1} */
        {"empty", "", 0, false, 0, false, NULL},
        {"whitespace only", " \n\t ", 0, false, 0, false, NULL},
        {"whitespace around", " \n{\"a\":[]}\r\n ", 0, true, MF_JSON_OBJECT, false, NULL},
        {"top-level number", "1", 0, true, MF_JSON_INT, false, NULL},
        {"top-level string", "\"s\"", 0, true, MF_JSON_STRING, false, NULL},
        {"top-level true", "true", 0, true, MF_JSON_BOOL, false, NULL},
        {"top-level null", "null", 0, true, MF_JSON_NULL, false, NULL},
        {"top-level array", "[1,2]", 0, true, MF_JSON_ARRAY, false, NULL},
        {"NaN", "NaN", 0, false, 0, false, "invalid token"},
        {"Infinity", "[Infinity]", 0, false, 0, false, NULL},
        {"-Infinity", "-Infinity", 0, false, 0, false, NULL},
        {"leading zero", "01", 0, false, 0, false, NULL},
        {"negative leading zero", "[-01]", 0, false, 0, false, NULL},
        {"trailing comma", "[1,]", 0, false, 0, false, NULL},
        {"unescaped tab", "\"a\tb\"", 0, false, 0, false, "control character"},
        {"bad escape", "\"\\x\"", 0, false, 0, false, "invalid escape"},
        {"single quotes", "{'a':1}", 0, false, 0, false, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const rule_case *c = &cases[i];
        run_case(c, c->text, c->len ? c->len : strlen(c->text));
    }
    /* depth: at the limit, and one over it (which jansson alone accepts) */
    char *at = nested(MF_JSON_MAX_DEPTH), *over = nested(MF_JSON_MAX_DEPTH + 1);
    rule_case ok = {"depth 512", NULL, 0, true, MF_JSON_ARRAY, false, NULL};
    rule_case deep = {"depth 513", NULL, 0, false, 0, true, "invalid JSON at byte 512: nested deeper than 512"};
    run_case(&ok, at, strlen(at));
    run_case(&deep, over, strlen(over));
    free(at);
    free(over);
}

/* The flag: set once checked, carried by a batch copy of the same bytes,
 * dropped for other bytes and by edits. */
static void test_valid_flag(void)
{
    const char *doc = "{\"a\":1}";
    mf_record r = stack_record(doc, strlen(doc));
    const char *err;
    CU_ASSERT_FALSE(mf_rec_json_valid(&r));
    CU_ASSERT_EQUAL(mf_rec_json_check(&r, &scratch, &err), MF_OK);
    CU_ASSERT_TRUE(mf_rec_json_valid(&r));

    /* a copy given other (invalid) bytes keeps the bit but not the claim */
    mf_record other = r;
    other.value = (const uint8_t *)"{\"a\":1,\"a\":2}";
    other.value_len = 13;
    CU_ASSERT_FALSE(mf_rec_json_valid(&other));
    CU_ASSERT_EQUAL(mf_rec_json_check(&other, &scratch, &err), MF_REJECT);
    CU_ASSERT_PTR_NULL(mf_rec_json(&other, errbuf, sizeof errbuf, &err));

    mf_batch_impl *b = mf_batch_new();
    mf_record *copy = mf_batch_append(b, &r, NULL);
    CU_ASSERT_TRUE(mf_rec_json_valid(copy));
    CU_ASSERT_TRUE(mf_batch_readable(b, copy->value) >= copy->value_len + MF_JSON_PADDING);
    mf_record *copy2 = mf_batch_append(b, &other, NULL);
    CU_ASSERT_FALSE(copy2->flags & MF_RECORD_JSON_VALID);

    /* an edit: the bytes are stale, the flag goes */
    CU_ASSERT_PTR_NOT_NULL_FATAL(mf_rec_json_mut(copy, errbuf, sizeof errbuf, &err));
    CU_ASSERT_FALSE(copy->flags & MF_RECORD_JSON_VALID);
    json_object_set_new(copy->json, "b", json_string("x\"y"));
    mf_json_view v;
    CU_ASSERT_EQUAL(mf_rec_json_get(copy, "b", &v, &scratch, &err), MF_OK);
    CU_ASSERT_EQUAL(v.type, MF_JSON_STRING);
    CU_ASSERT_EQUAL(v.len, 3);
    CU_ASSERT_EQUAL(memcmp(v.str, "x\"y", 3), 0);

    /* no value */
    mf_record none = {.flags = MF_RECORD_VALUE_NULL};
    CU_ASSERT_EQUAL(mf_rec_json_check(&none, &scratch, &err), MF_REJECT);
    CU_ASSERT_STRING_EQUAL(err, "record has no value");
    mf_batch_free(b, false);
    drop_arena();
}

/* ---- (b) typed reads -------------------------------------------------------------------- */

static const char DOC[] =
    "{\"s\":\"plain\",\"e\":\"caf\\u00e9 \\\"q\\\"\",\"i\":42,\"neg\":-7,\"d\":1.5,\"big\":1e300,"
    "\"t\":true,\"f\":false,\"n\":null,\"a.b\":\"dotted\",\"o\":{\"x\":{\"y\":\"deep\"},"
    "\"arr\":[1,\"two\",{\"k\":3}]},\"back\\\\slash\":1,\"empty\":{},\"ea\":[],\"k\\u0065y\":\"esc key\"}";

static mf_json_view get(mf_record *r, const char *path)
{
    mf_json_view v;
    const char *err = NULL;
    int st = mf_rec_json_get(r, path, &v, &scratch, &err);
    if (st != MF_OK)
        fprintf(stderr, "get %s: %s\n", path ? path : "(root)", err);
    CU_ASSERT_EQUAL(st, MF_OK);
    return v;
}

static bool is_text(const mf_json_view *v, const char *s)
{
    return v->type == MF_JSON_STRING && v->len == strlen(s) && memcmp(v->str, s, v->len) == 0;
}

/* Every read of DOC, on record r (a stack record or a batch record). */
static void check_reads(mf_record *r)
{
    mf_json_view v = get(r, "s");
    CU_ASSERT_TRUE(is_text(&v, "plain"));
    CU_ASSERT_TRUE(in_bytes(r, v.str)); /* no escapes: the record's own bytes */
    v = get(r, "e");
    CU_ASSERT_TRUE(is_text(&v, "caf\xc3\xa9 \"q\""));
    CU_ASSERT_FALSE(in_bytes(r, v.str)); /* unescaped: a copy, NUL-terminated */
    CU_ASSERT_EQUAL(v.str[v.len], '\0');
    v = get(r, "i");
    CU_ASSERT_TRUE(v.type == MF_JSON_INT && v.integer == 42 && v.number == 42.0);
    v = get(r, "neg");
    CU_ASSERT_TRUE(v.type == MF_JSON_INT && v.integer == -7);
    v = get(r, "d");
    CU_ASSERT_TRUE(v.type == MF_JSON_DOUBLE && v.number == 1.5);
    v = get(r, "big");
    CU_ASSERT_TRUE(v.type == MF_JSON_DOUBLE && v.number == 1e300);
    v = get(r, "t");
    CU_ASSERT_TRUE(v.type == MF_JSON_BOOL && v.boolean);
    v = get(r, "f");
    CU_ASSERT_TRUE(v.type == MF_JSON_BOOL && !v.boolean);
    CU_ASSERT_EQUAL(get(r, "n").type, MF_JSON_NULL);
    CU_ASSERT_EQUAL(get(r, "missing").type, MF_JSON_MISSING);
    v = get(r, "a\\.b");
    CU_ASSERT_TRUE(is_text(&v, "dotted"));
    CU_ASSERT_EQUAL(get(r, "a.b").type, MF_JSON_MISSING); /* a is not there */
    v = get(r, "o.x.y");
    CU_ASSERT_TRUE(is_text(&v, "deep"));
    CU_ASSERT_EQUAL(get(r, "o.x.y.z").type, MF_JSON_MISSING); /* through a string */
    CU_ASSERT_EQUAL(get(r, "o.arr.0").type, MF_JSON_MISSING);  /* arrays are not indexed */
    CU_ASSERT_EQUAL(get(r, "back\\\\slash").type, MF_JSON_INT);
    v = get(r, "key"); /* the key is written with an escape */
    CU_ASSERT_TRUE(is_text(&v, "esc key"));
    v = get(r, "o");
    CU_ASSERT_EQUAL(v.type, MF_JSON_OBJECT);
    CU_ASSERT_TRUE(in_bytes(r, v.str));
    CU_ASSERT_EQUAL(v.str[0], '{');
    CU_ASSERT_EQUAL(v.str[v.len - 1], '}');
    CU_ASSERT_PTR_NOT_NULL(strstr(DOC, "{\"x\":{\"y\":\"deep\"},\"arr\":[1,\"two\",{\"k\":3}]}"));
    CU_ASSERT_EQUAL(v.len, strlen("{\"x\":{\"y\":\"deep\"},\"arr\":[1,\"two\",{\"k\":3}]}"));
    v = get(r, NULL);
    CU_ASSERT_TRUE(v.type == MF_JSON_OBJECT && v.len == strlen(DOC));

    const char *err = NULL;
    CU_ASSERT_EQUAL(mf_rec_json_get(r, "a..b", &v, &scratch, &err), MF_FATAL);
    CU_ASSERT_PTR_NOT_NULL(err && strstr(err, "empty name"));
    CU_ASSERT_EQUAL(mf_rec_json_get(r, "a\\x", &v, &scratch, &err), MF_FATAL);

    /* a long path (more steps than json_get splits on the stack) */
    CU_ASSERT_EQUAL(get(r, "o.a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s.t").type, MF_JSON_MISSING);
}

static void check_fields(mf_record *r)
{
    const char *paths[] = {"i", "o.x.y", "s", "missing", "o", "o.arr", "i", "e", "o.x.nope", "key"};
    size_t n = sizeof paths / sizeof paths[0];
    const char *err = NULL;
    mf_json_fieldset *set = mf_rec_fieldset_new(paths, n, &scratch, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(set);
    mf_json_view out[10];
    memset(out, 0xAB, sizeof out); /* every slot is written, found or not */
    CU_ASSERT_EQUAL(mf_rec_json_fields(r, set, out, &scratch, &err), MF_OK);
    CU_ASSERT_TRUE(out[0].type == MF_JSON_INT && out[0].integer == 42);
    CU_ASSERT_TRUE(is_text(&out[1], "deep"));
    CU_ASSERT_TRUE(is_text(&out[2], "plain"));
    CU_ASSERT_EQUAL(out[3].type, MF_JSON_MISSING);
    CU_ASSERT_EQUAL(out[4].type, MF_JSON_OBJECT); /* both a path and a prefix */
    CU_ASSERT_EQUAL(out[5].type, MF_JSON_ARRAY);
    CU_ASSERT_TRUE(out[6].type == MF_JSON_INT && out[6].integer == 42); /* the same path twice */
    CU_ASSERT_TRUE(is_text(&out[7], "caf\xc3\xa9 \"q\""));
    CU_ASSERT_EQUAL(out[8].type, MF_JSON_MISSING);
    CU_ASSERT_TRUE(is_text(&out[9], "esc key"));
    mf_rec_fieldset_free(set);

    const char *bad[] = {"ok", "a."};
    CU_ASSERT_PTR_NULL(mf_rec_fieldset_new(bad, 2, &scratch, &err));
    CU_ASSERT_PTR_NOT_NULL(err && strstr(err, "'a.'"));
}

static void check_iteration(mf_record *r)
{
    const char *err = NULL;
    mf_json_view arr = get(r, "o.arr");
    mf_json_iter it;
    CU_ASSERT_EQUAL_FATAL(mf_rec_json_iter(&arr, &it, &scratch, &err), MF_OK);
    CU_ASSERT_EQUAL(it.count, 3);
    const mf_json_member *m = mf_rec_json_next(&it);
    CU_ASSERT_TRUE(m && m->key == NULL && m->value.type == MF_JSON_INT && m->value.integer == 1);
    m = mf_rec_json_next(&it);
    CU_ASSERT_TRUE(m && is_text(&m->value, "two") && in_bytes(r, m->value.str));
    m = mf_rec_json_next(&it);
    CU_ASSERT_TRUE_FATAL(m && m->value.type == MF_JSON_OBJECT);
    CU_ASSERT_PTR_NULL(mf_rec_json_next(&it));

    mf_json_iter inner; /* a container found by an iteration iterates too */
    CU_ASSERT_EQUAL_FATAL(mf_rec_json_iter(&m->value, &inner, &scratch, &err), MF_OK);
    m = mf_rec_json_next(&inner);
    CU_ASSERT_TRUE(m && m->key_len == 1 && m->key[0] == 'k' && m->value.integer == 3);
    CU_ASSERT_PTR_NULL(mf_rec_json_next(&inner));

    mf_json_view root = get(r, NULL);
    CU_ASSERT_EQUAL_FATAL(mf_rec_json_iter(&root, &it, &scratch, &err), MF_OK);
    CU_ASSERT_EQUAL(it.count, 15);
    const char *keys[] = {"s", "e", "i", "neg", "d", "big", "t", "f", "n", "a.b", "o", "back\\slash", "empty", "ea", "key"};
    for (size_t i = 0; i < 15 && (m = mf_rec_json_next(&it)); i++) {
        CU_ASSERT_TRUE(m->key_len == strlen(keys[i]) && memcmp(m->key, keys[i], m->key_len) == 0);
    }

    mf_json_view empty = get(r, "empty");
    CU_ASSERT_EQUAL(mf_rec_json_iter(&empty, &it, &scratch, &err), MF_OK);
    CU_ASSERT_EQUAL(it.count, 0);
    CU_ASSERT_PTR_NULL(mf_rec_json_next(&it));
    mf_json_view s = get(r, "s");
    CU_ASSERT_EQUAL(mf_rec_json_iter(&s, &it, &scratch, &err), MF_REJECT);
}

/* (c) a record built on the stack: read through the thread's padded copy. */
static void test_stack_record(void)
{
    mf_record r = stack_record(DOC, strlen(DOC));
    check_reads(&r);
    check_fields(&r);
    check_iteration(&r);
    drop_arena();
}

/* A batch record: padded, read in place. */
static void test_batch_record(void)
{
    mf_record r = stack_record(DOC, strlen(DOC));
    mf_batch_impl *b = mf_batch_new();
    mf_record *in = mf_batch_append(b, &r, NULL);
    CU_ASSERT_TRUE(mf_batch_readable(b, in->value) >= in->value_len + MF_JSON_PADDING);
    check_reads(in);
    check_fields(in);
    check_iteration(in);
    mf_batch_free(b, false);
    drop_arena();
}

/* Key bytes (martflow/fieldpath.h): a view read from a record gives what
 * mf_json_key gives for jansson's tree of the same record. */
static void test_view_key(void)
{
    static const char *const values[] = {
        "\"plain\"", "\"\"", "\"caf\\u00e9 \\\"q\\\" \\ud83d\\ude00\"", "0", "-0", "42", "-9223372036854775808",
        "9223372036854775807", "1.5", "-0.0", "1e2", "2E-3", "0.1", "1e-400", "123456789.123456789e10",
        "1.7976931348623157e308", "true", "false", "null", "{}", "[]", "[ 1 , \"two\" , {\"k\":3} ]",
        "{ \"z\" : 1, \"a\\u00e9\" : [true, null, \"x\\ty\"], \"m\": {\"b\": 2.50, \"a\": -0} }",
    };
    mf_buffer vbuf = {0}, tbuf = {0};
    char doc[256];
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        snprintf(doc, sizeof doc, "{\"before\":[1],\"v\":%s,\"after\":0}", values[i]);
        mf_record r = stack_record(doc, strlen(doc));
        mf_json_view v = get(&r, "v");
        const char *err = NULL;
        json_t *root = mf_rec_json(&r, errbuf, sizeof errbuf, &err);
        CU_ASSERT_PTR_NOT_NULL_FATAL(root);
        const uint8_t *vk, *tk;
        size_t vl, tl;
        bool vfound = mf_json_view_key(&v, &vbuf, &vk, &vl);
        bool tfound = mf_json_key(json_object_get(root, "v"), &tbuf, &tk, &tl);
        bool same = vfound == tfound && vl == tl && (!vfound || memcmp(vk, tk, vl) == 0);
        if (!same)
            fprintf(stderr, "\n%s: view key \"%.*s\", jansson \"%.*s\"\n", values[i], (int)vl,
                    vk ? (const char *)vk : "", (int)tl, tk ? (const char *)tk : "");
        CU_ASSERT_TRUE(same);
        if (v.type == MF_JSON_STRING)
            CU_ASSERT_PTR_EQUAL(vk, (const uint8_t *)v.str); /* the view's bytes, not a copy */
        json_decref(root);
        drop_arena();
    }
    mf_buffer_free(&vbuf);
    mf_buffer_free(&tbuf);
}

/* ---- the fake host's functions, from a plugin ---------------------------------------------- */

typedef struct jt_ctx {
    mf_node *node;
    const mf_host *host;
    mf_json_fieldset *set;
} jt_ctx;

static int jt_init(void *ctx, mf_node *node, const mf_host *host)
{
    jt_ctx *c = ctx;
    c->node = node;
    c->host = host;
    const char *paths[] = {"id", "n.deep"};
    const char *err;
    c->set = host->fieldset_new(node, paths, 2, &err);
    return c->set ? MF_OK : MF_FATAL;
}

static void jt_free(void *ctx)
{
    jt_ctx *c = ctx;
    if (c->set)
        c->host->fieldset_free(c->node, c->set);
}

/* Key each record by its id and its n.deep (as "id/deep"); reject invalid JSON. */
static int jt_process(void *ctx, mf_batch *batch)
{
    jt_ctx *c = ctx;
    for (size_t i = 0; i < batch->count; i++) {
        mf_record *rec = &batch->records[i];
        const char *err;
        if (c->host->json_check(c->node, rec, &err) != MF_OK) {
            c->host->reject(c->node, rec, "%s", err);
            continue;
        }
        mf_json_view v[2];
        if (c->host->json_fields(c->node, rec, c->set, v, &err) != MF_OK)
            return MF_FATAL;
        char key[128];
        int n = snprintf(key, sizeof key, "%.*s/%lld", (int)v[0].len, v[0].str, (long long)v[1].integer);
        mf_record out = *rec;
        out.key = (const uint8_t *)key;
        out.key_len = (uint32_t)n;
        out.flags &= ~MF_RECORD_KEY_NULL;
        c->host->emit(c->node, MF_PORT_DEFAULT, &out, NULL);
    }
    return MF_OK;
}

static const mf_plugin_desc jt_desc = {
    MF_PLUGIN_HEADER,
    .kind = MF_KIND_TRANSFORM,
    .name = "json_test",
    .version = "1",
    .description = "keys records by two fields read with the fast JSON host functions",
    .ctx_size = sizeof(jt_ctx),
    .init = jt_init,
    .free = jt_free,
    .process = jt_process,
};

static void test_host_functions(void)
{
    char *err = NULL;
    mfh *h = mfh_open_desc(&jt_desc, NULL, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    CU_ASSERT_EQUAL_FATAL(mfh_init(h), MF_OK);
    mfh_push(h, NULL, "{\"id\":\"a\\u0062\",\"n\":{\"deep\":7}}");
    mfh_push(h, NULL, "{\"id\":\"x\",\"id\":\"y\"}");
    mfh_push(h, NULL, "{\"n\":{\"deep\":-1},\"id\":\"plain\"}");
    CU_ASSERT_EQUAL(mfh_process(h), MF_OK);
    CU_ASSERT_EQUAL_FATAL(mfh_count(h, "default"), 2);
    mf_record *r = mfh_record(h, "default", 0);
    CU_ASSERT_TRUE(r->key_len == 4 && memcmp(r->key, "ab/7", 4) == 0);
    CU_ASSERT_TRUE(r->flags & MF_RECORD_JSON_VALID); /* checked once, carried along */
    r = mfh_record(h, "default", 1);
    CU_ASSERT_TRUE(r->key_len == 8 && memcmp(r->key, "plain/-1", 8) == 0);
    CU_ASSERT_EQUAL_FATAL(mfh_count(h, "errors"), 1);
    const char *why = mfh_header(h, "errors", 0, MF_HEADER_ERROR);
    CU_ASSERT_PTR_NOT_NULL(why && strstr(why, "duplicate key \"id\""));
    mfh_close(h);
}

int main(void)
{
    static const mf_test rule[] = {{"rule table: fast path and jansson agree", test_rule_table},
                                   {"validity flag", test_valid_flag},
                                   {NULL, NULL}};
    static const mf_test reads[] = {{"stack record", test_stack_record},
                                    {"batch record", test_batch_record},
                                    {"key bytes of a view, as jansson's", test_view_key},
                                    {"host functions (harness)", test_host_functions},
                                    {NULL, NULL}};
    static const mf_suite suites[] = {{"rule", rule}, {"reads", reads}, {NULL, NULL}};
    int st = mf_cunit_run(suites);
    mf_batch_pool_drain();
    return st;
}
