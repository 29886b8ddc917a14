/*
 * The GCA set, diff, snapshot document and its store (file://), without a server:
 * exactly the changed objects come out (upserts in type order, deletes in
 * reverse type order), versions follow the change sets, data is compared
 * in canonical form (key order and spacing do not count as changes), the
 * snapshot round-trips, and a save replaces the previous object whole.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cfgdb_diff.h"
#include "cunit_main.h"
#include "gca_snapshot.h"
#include "gca_snapstore.h"

static void add(cfgdb_set *s, gca_type t, int64_t dbid, const char *json)
{
    char why[256];
    CU_ASSERT_TRUE_FATAL(cfgdb_set_add_text(s, t, dbid, 0, json, strlen(json), why, sizeof why));
}

static void sorted(cfgdb_set *s)
{
    char why[256];
    CU_ASSERT_TRUE_FATAL(cfgdb_set_sort(s, why, sizeof why));
}

static void test_canonical(void)
{
    cfgdb_set s;
    cfgdb_set_init(&s);
    add(&s, GCA_DN, 1, "{ \"number\": \"7001\",  \"dbid\": 1, \"name\": \"Säles\" }");
    CU_ASSERT_STRING_EQUAL(s.objs[0].data, "{\"dbid\":1,\"name\":\"Säles\",\"number\":\"7001\"}");
    CU_ASSERT_EQUAL(s.objs[0].data_len, strlen(s.objs[0].data));
    char why[256];
    CU_ASSERT_FALSE(cfgdb_set_add_text(&s, GCA_DN, 2, 0, "[1]", 3, why, sizeof why));
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "CfgDN 2"));
    add(&s, GCA_DN, 1, "{}");
    CU_ASSERT_FALSE(cfgdb_set_sort(&s, why, sizeof why)); /* the same identity twice */
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "appears twice"));
    cfgdb_set_free(&s);
    CU_ASSERT_EQUAL(gca_type_parse("CfgAgentGroup"), GCA_AGENT_GROUP);
    CU_ASSERT_EQUAL(gca_type_parse("CfgNothing"), -1);
}

static void test_diff(void)
{
    cfgdb_set prev, next;
    cfgdb_changes ch = {0};
    cfgdb_set_init(&prev);
    cfgdb_set_init(&next);
    /* the first read: everything is new */
    add(&next, GCA_PERSON, 1001, "{\"dbid\":1001,\"user_name\":\"ada\"}");
    add(&next, GCA_PERSON, 1002, "{\"dbid\":1002,\"user_name\":\"alan\"}");
    add(&next, GCA_SWITCH, 101, "{\"dbid\":101,\"name\":\"SIP_Switch\"}");
    add(&next, GCA_AGENT_LOGIN, 2001, "{\"dbid\":2001,\"login_code\":\"a10001\"}");
    add(&next, GCA_DN, 3001, "{\"dbid\":3001,\"number\":\"10001\"}");
    sorted(&next);
    cfgdb_diff(&prev, &next, 10, &ch);
    CU_ASSERT_EQUAL(ch.n, 5);
    CU_ASSERT_EQUAL(ch.upserts, 5);
    CU_ASSERT_EQUAL(ch.deletes, 0);
    /* type order: switch, login, DN, persons */
    CU_ASSERT_EQUAL(ch.items[0].type, GCA_SWITCH);
    CU_ASSERT_EQUAL(ch.items[1].type, GCA_AGENT_LOGIN);
    CU_ASSERT_EQUAL(ch.items[2].type, GCA_DN);
    CU_ASSERT_EQUAL(ch.items[3].dbid, 1001);
    CU_ASSERT_EQUAL(ch.items[4].dbid, 1002);
    for (size_t i = 0; i < ch.n; i++) {
        CU_ASSERT_EQUAL(ch.items[i].version, 10);
        CU_ASSERT_FALSE(ch.items[i].is_delete);
    }
    cfgdb_set_move(&prev, &next);

    /* the same again, keys reordered: nothing */
    add(&next, GCA_DN, 3001, "{\"number\":\"10001\",\"dbid\":3001}");
    add(&next, GCA_PERSON, 1002, "{\"user_name\":\"alan\",\"dbid\":1002}");
    add(&next, GCA_PERSON, 1001, "{\"dbid\":1001,\"user_name\":\"ada\"}");
    add(&next, GCA_AGENT_LOGIN, 2001, "{\"dbid\":2001,\"login_code\":\"a10001\"}");
    add(&next, GCA_SWITCH, 101, "{\"dbid\":101,\"name\":\"SIP_Switch\"}");
    sorted(&next);
    cfgdb_diff(&prev, &next, 11, &ch);
    CU_ASSERT_EQUAL(ch.n, 0);
    for (size_t i = 0; i < next.n; i++)
        CU_ASSERT_EQUAL(next.objs[i].version, 10);
    cfgdb_set_move(&prev, &next);

    /* person 1001 renamed, 1002 and the switch and login removed, a DN added */
    add(&next, GCA_PERSON, 1001, "{\"dbid\":1001,\"user_name\":\"ada.l\"}");
    add(&next, GCA_DN, 3001, "{\"dbid\":3001,\"number\":\"10001\"}");
    add(&next, GCA_DN, 3002, "{\"dbid\":3002,\"number\":\"10002\"}");
    sorted(&next);
    cfgdb_diff(&prev, &next, 12, &ch);
    CU_ASSERT_EQUAL_FATAL(ch.n, 5);
    CU_ASSERT_EQUAL(ch.upserts, 2);
    CU_ASSERT_EQUAL(ch.deletes, 3);
    CU_ASSERT_TRUE(ch.items[0].type == GCA_DN && ch.items[0].dbid == 3002 && !ch.items[0].is_delete);
    CU_ASSERT_TRUE(ch.items[1].type == GCA_PERSON && ch.items[1].dbid == 1001 && !ch.items[1].is_delete);
    CU_ASSERT_STRING_EQUAL(ch.items[1].obj->data, "{\"dbid\":1001,\"user_name\":\"ada.l\"}");
    /* deletes: the person first, the switch last */
    CU_ASSERT_TRUE(ch.items[2].is_delete && ch.items[2].type == GCA_PERSON && ch.items[2].dbid == 1002);
    CU_ASSERT_TRUE(ch.items[3].is_delete && ch.items[3].type == GCA_AGENT_LOGIN);
    CU_ASSERT_TRUE(ch.items[4].is_delete && ch.items[4].type == GCA_SWITCH);
    for (size_t i = 0; i < ch.n; i++)
        CU_ASSERT_EQUAL(ch.items[i].version, 12);
    /* the unchanged DN keeps its version */
    CU_ASSERT_EQUAL(next.objs[0].dbid, 3001);
    CU_ASSERT_EQUAL(next.objs[0].version, 10);
    CU_ASSERT_EQUAL(next.objs[1].version, 12);

    /* everything gone */
    cfgdb_set_move(&prev, &next);
    cfgdb_diff(&prev, &next, 13, &ch);
    CU_ASSERT_EQUAL(ch.deletes, 3);
    CU_ASSERT_EQUAL(ch.items[0].type, GCA_PERSON);
    CU_ASSERT_EQUAL(ch.items[1].dbid, 3001);
    CU_ASSERT_EQUAL(ch.items[2].dbid, 3002);
    cfgdb_changes_free(&ch);
    cfgdb_set_free(&prev);
    cfgdb_set_free(&next);
}

static void test_snapshot_roundtrip(void)
{
    gca_snapshot s = {.tenant = "t\"1", .topic = "gca-cfg", .change_set = 42, .time_ms = 1700000000123};
    cfgdb_set_init(&s.objects);
    add(&s.objects, GCA_TENANT, 1, "{\"dbid\":1,\"name\":\"t1\",\"annex\":{}}");
    add(&s.objects, GCA_PERSON, 1001, "{\"dbid\":1001,\"agent_logins\":[{\"agent_login_dbid\":2001}]}");
    sorted(&s.objects);
    s.objects.objs[0].version = 7;
    s.objects.objs[1].version = 42;
    gca_offset offs[2] = {{0, 12}, {1, 0}};
    s.offsets = offs;
    s.n_offsets = 2;
    mf_buffer out = {0};
    gca_snapshot_write(&s, &out);
    json_error_t jerr;
    json_t *doc = json_loadb((const char *)out.data, out.len, JSON_REJECT_DUPLICATES, &jerr);
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(doc, "time")), "2023-11-14T22:13:20.123Z");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(doc, "count")), 2);
    /* another layout of the same document (indented, objects not last) is
     * read whole, to the same content */
    char *other = json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS);
    json_decref(doc);
    gca_snapshot alt;
    char awhy[256];
    CU_ASSERT_TRUE_FATAL(gca_snapshot_read((const uint8_t *)other, strlen(other), &alt, awhy, sizeof awhy));
    free(other);
    CU_ASSERT_EQUAL_FATAL(alt.objects.n, 2);
    CU_ASSERT_EQUAL(alt.change_set, 42);
    CU_ASSERT_EQUAL(alt.n_offsets, 2);
    for (size_t i = 0; i < 2; i++)
        CU_ASSERT_STRING_EQUAL(alt.objects.objs[i].data, s.objects.objs[i].data);
    gca_snapshot_free(&alt);
    /* the written layout with trailing garbage is refused (by the whole read) */
    mf_buffer junk = {0};
    mf_buffer_append(&junk, out.data, out.len);
    mf_buffer_append_str(&junk, "x");
    CU_ASSERT_FALSE(gca_snapshot_read(junk.data, junk.len, &alt, awhy, sizeof awhy));
    gca_snapshot_free(&alt);
    mf_buffer_free(&junk);

    gca_snapshot back;
    char why[256];
    CU_ASSERT_TRUE_FATAL(gca_snapshot_read(out.data, out.len, &back, why, sizeof why));
    CU_ASSERT_STRING_EQUAL(back.tenant, "t\"1");
    CU_ASSERT_STRING_EQUAL(back.topic, "gca-cfg");
    CU_ASSERT_EQUAL(back.change_set, 42);
    CU_ASSERT_EQUAL(back.n_offsets, 2);
    CU_ASSERT_EQUAL(back.offsets[0].offset, 12);
    CU_ASSERT_EQUAL(back.objects.n, 2);
    for (size_t i = 0; i < 2; i++) {
        CU_ASSERT_EQUAL(back.objects.objs[i].version, s.objects.objs[i].version);
        CU_ASSERT_STRING_EQUAL(back.objects.objs[i].data, s.objects.objs[i].data);
    }
    /* a restart's diff against the loaded snapshot finds nothing */
    cfgdb_changes ch = {0};
    cfgdb_set again;
    cfgdb_set_init(&again);
    add(&again, GCA_PERSON, 1001, "{\"agent_logins\":[{\"agent_login_dbid\":2001}],\"dbid\":1001}");
    add(&again, GCA_TENANT, 1, "{\"annex\":{},\"name\":\"t1\",\"dbid\":1}");
    sorted(&again);
    cfgdb_diff(&back.objects, &again, 43, &ch);
    CU_ASSERT_EQUAL(ch.n, 0);
    cfgdb_changes_free(&ch);
    cfgdb_set_free(&again);
    gca_snapshot_free(&back);

    /* another format, a newer version, broken objects */
    const char *bad[] = {
        "{\"format\":\"other\",\"version\":1}",
        "{\"format\":\"martflow.gca.snapshot\",\"version\":2,\"tenant\":\"t\",\"topic\":\"\",\"change_set\":1,"
        "\"offsets\":[],\"objects\":[]}",
        "{\"format\":\"martflow.gca.snapshot\",\"version\":1,\"tenant\":\"t\",\"topic\":\"\",\"change_set\":1,"
        "\"offsets\":[],\"objects\":[{\"type\":\"CfgX\",\"dbid\":1,\"version\":1,\"data\":{}}]}",
        "not json",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CU_ASSERT_FALSE(gca_snapshot_read((const uint8_t *)bad[i], strlen(bad[i]), &back, why, sizeof why));
        if (i == 1)
            CU_ASSERT_STRING_EQUAL(why, "snapshot version 2 is not one this build reads (1..1)");
        gca_snapshot_free(&back);
    }
    mf_buffer_free(&out);
    cfgdb_set_free(&s.objects);
}

/* The snapshot documents and their pointer over the object store (file://:
 * the same code serves s3://, tests/gca/gca_s3.sh). */
static void test_snapstore(void)
{
    char dir[] = "/tmp/mf-gca-store.XXXXXX";
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    char url[256], path[512], *err = NULL, *key = NULL;
    snprintf(url, sizeof url, "file://%s/sub", dir);
    mf_objstore *s = mf_objstore_open(url, NULL, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    void *doc = NULL;
    size_t len = 0;
    gca_offset offs[1] = {{0, 107}};
    CU_ASSERT_EQUAL(gca_snapstore_load(s, "t1", &doc, &len, &key, &err), MF_OBJ_NOT_FOUND);
    CU_ASSERT_EQUAL(gca_snapstore_save(s, &(gca_snapshot){.tenant = "t1", .topic = "gca-cfg", .change_set = 10, .offsets = offs, .n_offsets = 1}, "first", 5, &err), MF_OBJ_OK);
    CU_ASSERT_EQUAL(gca_snapstore_save(s, &(gca_snapshot){.tenant = "t1", .topic = "gca-cfg", .change_set = 11, .offsets = offs, .n_offsets = 1}, "second!", 7, &err), MF_OBJ_OK);
    CU_ASSERT_EQUAL(gca_snapstore_load(s, "t1", &doc, &len, &key, &err), MF_OBJ_OK);
    CU_ASSERT_EQUAL(len, 7);
    CU_ASSERT_EQUAL(memcmp(doc, "second!", 7), 0);
    CU_ASSERT_STRING_EQUAL(key, "gca-snapshot-t1/cs-00000000000000000011.json");
    free(doc);
    free(key);
    /* the pointer repeats the topic and offsets (for the kafka source) */
    CU_ASSERT_EQUAL(mf_objstore_get(s, "gca-snapshot-t1/LATEST", &doc, &len, &err), MF_OBJ_OK);
    CU_ASSERT_PTR_NOT_NULL(strstr(doc, "\"topic\":\"gca-cfg\",\"offsets\":[{\"partition\":0,\"offset\":107}]"));
    free(doc);
    /* a third save removes the first document, keeps the previous one */
    CU_ASSERT_EQUAL(gca_snapstore_save(s, &(gca_snapshot){.tenant = "t1", .topic = "gca-cfg", .change_set = 12, .offsets = offs, .n_offsets = 1}, "third", 5, &err), MF_OBJ_OK);
    snprintf(path, sizeof path, "%s/sub/gca-snapshot-t1/cs-00000000000000000010.json", dir);
    CU_ASSERT_NOT_EQUAL(access(path, F_OK), 0);
    snprintf(path, sizeof path, "%s/sub/gca-snapshot-t1/cs-00000000000000000011.json", dir);
    CU_ASSERT_EQUAL(access(path, F_OK), 0);
    /* the pointer is written last: a document put without it is not taken */
    CU_ASSERT_EQUAL(mf_objstore_put(s, "gca-snapshot-t1/cs-00000000000000000013.json", "torn", 4, &err), MF_OBJ_OK);
    CU_ASSERT_EQUAL(gca_snapstore_load(s, "t1", &doc, &len, NULL, &err), MF_OBJ_OK);
    CU_ASSERT_EQUAL(len, 5);
    CU_ASSERT_EQUAL(memcmp(doc, "third", 5), 0);
    free(doc);
    /* a document that is not the one its pointer names is refused */
    CU_ASSERT_EQUAL(mf_objstore_put(s, "gca-snapshot-t1/cs-00000000000000000012.json", "THIRD", 5, &err), MF_OBJ_OK);
    CU_ASSERT_EQUAL(gca_snapstore_load(s, "t1", &doc, &len, NULL, &err), MF_OBJ_FATAL);
    CU_ASSERT_PTR_NOT_NULL(err && strstr(err, "SHA-256"));
    free(err);
    err = NULL;
    /* the single object of earlier builds is read when there is no pointer */
    CU_ASSERT_EQUAL(mf_objstore_put(s, "gca-snapshot-t2.json", "legacy", 6, &err), MF_OBJ_OK);
    CU_ASSERT_EQUAL(gca_snapstore_load(s, "t2", &doc, &len, &key, &err), MF_OBJ_OK);
    CU_ASSERT_EQUAL(len, 6);
    CU_ASSERT_STRING_EQUAL(key, "gca-snapshot-t2.json");
    free(doc);
    free(key);
    /* a pointer of a newer version is refused with a sentence */
    const char *newer = "{\"format\":\"martflow.gca.snapshot.pointer\",\"version\":9,\"key\":\"x\",\"size\":1,"
                        "\"sha256\":\"00\"}";
    CU_ASSERT_EQUAL(mf_objstore_put(s, "gca-snapshot-t3/LATEST", newer, strlen(newer), &err), MF_OBJ_OK);
    CU_ASSERT_EQUAL(gca_snapstore_load(s, "t3", &doc, &len, NULL, &err), MF_OBJ_FATAL);
    CU_ASSERT_PTR_NOT_NULL(err && strstr(err, "pointer version 9"));
    free(err);
    mf_objstore_close(s);
    snprintf(path, sizeof path, "rm -rf '%s'", dir);
    CU_ASSERT_EQUAL(system(path), 0);
}

static const mf_test tests[] = {
    {"canonical data", test_canonical},
    {"diff", test_diff},
    {"snapshot round trip", test_snapshot_roundtrip},
    {"snapshot store", test_snapstore},
    {NULL, NULL},
};

int main(void)
{
    const mf_suite suites[] = {{"gca", tests}, {NULL, NULL}};
    return mf_cunit_run(suites);
}
