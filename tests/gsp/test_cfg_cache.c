/* The configuration cache (plugins/gsp/cfg_cache.h): decoding gca-cfg
 * records, upsert/delete by {type, dbid}, older versions ignored, the
 * lookups (login code, DN number, reason code), the bound, and a snapshot
 * round trip. */
#include <stdlib.h>
#include <string.h>

#include "cfg_cache.h"
#include "cunit_main.h"

/* Apply one gca-cfg record given as JSON text; returns the result, or -1
 * when it does not decode (why in *why_out if given). */
static int apply(cfg_cache *c, const char *text, char *why_out)
{
    json_error_t err;
    json_t *rec = json_loads(text, 0, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rec);
    cfg_change ch;
    char why[200] = "";
    int r = cfg_decode(rec, &ch, why, sizeof why) ? (int)cfg_cache_apply(c, &ch) : -1;
    if (why_out)
        strcpy(why_out, why);
    json_decref(rec);
    return r;
}

#define T1 "\"tenant\":\"t1\""

static void load_sample(cfg_cache *c)
{
    CU_ASSERT_EQUAL(apply(c, "{\"op\":\"upsert\",\"type\":\"CfgSwitch\",\"dbid\":101," T1 ",\"version\":1,"
                             "\"data\":{\"name\":\"SIP_Switch\"}}", NULL), CFG_APPLIED);
    CU_ASSERT_EQUAL(apply(c, "{\"op\":\"upsert\",\"type\":\"CfgAgentLogin\",\"dbid\":2001," T1 ",\"version\":1,"
                             "\"data\":{\"login_code\":\"1001\",\"switch_dbid\":101}}", NULL), CFG_APPLIED);
    CU_ASSERT_EQUAL(apply(c, "{\"op\":\"upsert\",\"type\":\"CfgPerson\",\"dbid\":3001," T1 ",\"version\":4,"
                             "\"data\":{\"dbid\":3001,\"user_name\":\"ada\",\"first_name\":\"Ada\","
                             "\"last_name\":\"Lovelace\",\"employee_id\":\"E1001\",\"is_agent\":2,\"state\":1,"
                             "\"agent_logins\":[{\"agent_login_dbid\":2001,\"wrapup_time\":0}]}}", NULL),
                    CFG_APPLIED);
    CU_ASSERT_EQUAL(apply(c, "{\"op\":\"upsert\",\"type\":\"CfgDN\",\"dbid\":305," T1 ",\"version\":12,"
                             "\"data\":{\"dbid\":305,\"switch_dbid\":101,\"number\":\"7001\",\"type\":\"ACDQueue\","
                             "\"name\":\"Sales\"}}", NULL), CFG_APPLIED);
    CU_ASSERT_EQUAL(apply(c, "{\"op\":\"upsert\",\"type\":\"CfgActionCode\",\"dbid\":50," T1 ",\"version\":1,"
                             "\"data\":{\"name\":\"Lunch\",\"code\":\"7\",\"type\":\"NotReady\"}}", NULL),
                    CFG_APPLIED);
    CU_ASSERT_EQUAL(apply(c, "{\"op\":\"upsert\",\"type\":\"CfgAgentGroup\",\"dbid\":60," T1 ",\"version\":1,"
                             "\"data\":{\"name\":\"Support\",\"members\":[3001]}}", NULL), CFG_APPLIED);
}

static void check_sample(const cfg_cache *c)
{
    cfg_agent a;
    CU_ASSERT_FATAL(cfg_cache_agent(c, "t1", 2, "1001", 4, &a));
    CU_ASSERT_PTR_NOT_NULL_FATAL(a.person);
    CU_ASSERT_STRING_EQUAL(a.person->first_name, "Ada");
    CU_ASSERT_STRING_EQUAL(a.person->last_name, "Lovelace");
    CU_ASSERT_STRING_EQUAL(a.person->employee_id, "E1001");
    CU_ASSERT_STRING_EQUAL(a.person->user_name, "ada");
    CU_ASSERT_STRING_EQUAL(a.switch_name, "SIP_Switch");
    CU_ASSERT_EQUAL(a.login->dbid, 2001);
    cfg_dn d;
    CU_ASSERT_FATAL(cfg_cache_dn(c, "t1", 2, "7001", 4, &d));
    CU_ASSERT_STRING_EQUAL(d.dn->subtype, "ACDQueue");
    CU_ASSERT_STRING_EQUAL(d.dn->name, "Sales");
    CU_ASSERT_STRING_EQUAL(d.switch_name, "SIP_Switch");
    CU_ASSERT(!d.ambiguous);
    CU_ASSERT_STRING_EQUAL(cfg_cache_reason_name(c, "t1", 2, "7", 1), "Lunch");
    const cfg_obj *g = cfg_cache_get(c, "t1", 2, CFG_AGENT_GROUP, 60);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    CU_ASSERT_EQUAL(g->n_refs, 1);
    CU_ASSERT_EQUAL(g->refs[0], 3001);
    CU_ASSERT_EQUAL(cfg_cache_tenant_objects(c, "t1", 2), 6);
}

static void test_lookups(void)
{
    cfg_cache *c = cfg_cache_new(100);
    load_sample(c);
    check_sample(c);
    cfg_agent a;
    cfg_dn d;
    CU_ASSERT(!cfg_cache_agent(c, "t1", 2, "9999", 4, &a));
    CU_ASSERT(!cfg_cache_agent(c, "t2", 2, "1001", 4, &a)); /* tenants apart */
    CU_ASSERT(!cfg_cache_dn(c, "t1", 2, "700", 3, &d));
    CU_ASSERT_PTR_NULL(cfg_cache_reason_name(c, "t1", 2, "8", 1));
    CU_ASSERT_EQUAL(cfg_cache_tenant_objects(c, "t2", 2), 0);
    cfg_cache_free(c);
}

static void test_versions_and_deletes(void)
{
    cfg_cache *c = cfg_cache_new(100);
    load_sample(c);
    /* an older person is ignored, a newer one replaces (and re-indexes) */
    CU_ASSERT_EQUAL(apply(c, "{\"op\":\"upsert\",\"type\":\"CfgPerson\",\"dbid\":3001," T1 ",\"version\":3,"
                             "\"data\":{\"first_name\":\"Old\",\"agent_logins\":[]}}", NULL), CFG_STALE);
    cfg_agent a;
    CU_ASSERT_FATAL(cfg_cache_agent(c, "t1", 2, "1001", 4, &a));
    CU_ASSERT_STRING_EQUAL(a.person->first_name, "Ada");
    CU_ASSERT_EQUAL(apply(c, "{\"op\":\"upsert\",\"type\":\"CfgPerson\",\"dbid\":3001," T1 ",\"version\":5,"
                             "\"data\":{\"first_name\":\"Augusta\",\"agent_logins\":[]}}", NULL), CFG_APPLIED);
    CU_ASSERT_FATAL(cfg_cache_agent(c, "t1", 2, "1001", 4, &a));
    CU_ASSERT_PTR_NULL(a.person); /* no longer lists the login */
    /* a login code change moves the index */
    CU_ASSERT_EQUAL(apply(c, "{\"op\":\"upsert\",\"type\":\"CfgAgentLogin\",\"dbid\":2001," T1 ",\"version\":2,"
                             "\"data\":{\"login_code\":\"1002\",\"switch_dbid\":101}}", NULL), CFG_APPLIED);
    CU_ASSERT(!cfg_cache_agent(c, "t1", 2, "1001", 4, &a));
    CU_ASSERT(cfg_cache_agent(c, "t1", 2, "1002", 4, &a));
    /* two DNs of one number on two switches: the latest, ambiguous; delete one */
    CU_ASSERT_EQUAL(apply(c, "{\"op\":\"upsert\",\"type\":\"CfgDN\",\"dbid\":306," T1 ",\"version\":1,"
                             "\"data\":{\"switch_dbid\":102,\"number\":\"7001\",\"type\":\"VirtualQueue\"}}", NULL),
                    CFG_APPLIED);
    cfg_dn d;
    CU_ASSERT_FATAL(cfg_cache_dn(c, "t1", 2, "7001", 4, &d));
    CU_ASSERT_EQUAL(d.dn->dbid, 306);
    CU_ASSERT(d.ambiguous);
    CU_ASSERT_EQUAL(apply(c, "{\"op\":\"delete\",\"type\":\"CfgDN\",\"dbid\":306," T1 "}", NULL), CFG_APPLIED);
    CU_ASSERT_FATAL(cfg_cache_dn(c, "t1", 2, "7001", 4, &d));
    CU_ASSERT_EQUAL(d.dn->dbid, 305);
    CU_ASSERT(!d.ambiguous);
    /* deletes: an older version is ignored, an unknown object changes nothing */
    CU_ASSERT_EQUAL(apply(c, "{\"op\":\"delete\",\"type\":\"CfgDN\",\"dbid\":305," T1 ",\"version\":11}", NULL),
                    CFG_STALE);
    CU_ASSERT_EQUAL(apply(c, "{\"op\":\"delete\",\"type\":\"CfgDN\",\"dbid\":305," T1 "}", NULL), CFG_APPLIED);
    CU_ASSERT(!cfg_cache_dn(c, "t1", 2, "7001", 4, &d));
    CU_ASSERT_EQUAL(apply(c, "{\"op\":\"delete\",\"type\":\"CfgDN\",\"dbid\":305," T1 "}", NULL), CFG_ABSENT);
    CU_ASSERT_EQUAL(cfg_cache_objects(c), 5);
    cfg_cache_free(c);
}

/* The GCA snapshot and the topic race: a delete read from the topic before
 * the snapshot's (older) upsert of the same object leaves a tombstone that
 * makes the upsert stale; a newer upsert (the object recreated) is applied. */
static void test_delete_before_older_upsert(void)
{
    cfg_cache *c = cfg_cache_new(100);
    const char *old_dn = "{\"op\":\"upsert\",\"type\":\"CfgDN\",\"dbid\":9," T1 ",\"version\":10,"
                         "\"data\":{\"dbid\":9,\"number\":\"4000\",\"type\":\"Extension\"}}";
    CU_ASSERT_EQUAL(apply(c, "{\"op\":\"delete\",\"type\":\"CfgDN\",\"dbid\":9," T1 ",\"version\":20}", NULL),
                    CFG_ABSENT);
    CU_ASSERT_EQUAL(apply(c, old_dn, NULL), CFG_STALE);
    CU_ASSERT_EQUAL(cfg_cache_objects(c), 0);
    cfg_dn d;
    CU_ASSERT_FALSE(cfg_cache_dn(c, "t1", 2, "4000", 4, &d));
    /* recreated later (a higher change set): applied, the tombstone gone */
    CU_ASSERT_EQUAL(apply(c, "{\"op\":\"upsert\",\"type\":\"CfgDN\",\"dbid\":9," T1 ",\"version\":30,"
                             "\"data\":{\"dbid\":9,\"number\":\"4000\",\"type\":\"ACDQueue\"}}", NULL),
                    CFG_APPLIED);
    CU_ASSERT_TRUE(cfg_cache_dn(c, "t1", 2, "4000", 4, &d));
    /* held, then deleted, then the older upsert again: still gone */
    CU_ASSERT_EQUAL(apply(c, "{\"op\":\"delete\",\"type\":\"CfgDN\",\"dbid\":9," T1 ",\"version\":40}", NULL),
                    CFG_APPLIED);
    CU_ASSERT_EQUAL(apply(c, old_dn, NULL), CFG_STALE);
    CU_ASSERT_EQUAL(cfg_cache_objects(c), 0);
    cfg_cache_free(c);
}

static void test_invalid(void)
{
    cfg_cache *c = cfg_cache_new(2);
    char why[200];
    static const struct {
        const char *rec, *why;
    } bad[] = {
        {"{\"op\":\"merge\",\"type\":\"CfgDN\",\"dbid\":1," T1 "}", "'op'"},
        {"{\"op\":\"upsert\",\"type\":\"CfgNope\",\"dbid\":1," T1 ",\"version\":1,\"data\":{}}", "'type'"},
        {"{\"op\":\"upsert\",\"type\":\"CfgDN\",\"dbid\":\"1\"," T1 ",\"version\":1,\"data\":{}}", "'dbid'"},
        {"{\"op\":\"upsert\",\"type\":\"CfgDN\",\"dbid\":1,\"version\":1,\"data\":{}}", "'tenant'"},
        {"{\"op\":\"upsert\",\"type\":\"CfgDN\",\"dbid\":1," T1 ",\"data\":{}}", "'version'"},
        {"{\"op\":\"upsert\",\"type\":\"CfgDN\",\"dbid\":1," T1 ",\"version\":1}", "'data'"},
        {"{\"op\":\"upsert\",\"type\":\"CfgDN\",\"dbid\":1," T1 ",\"version\":1,\"data\":{\"dbid\":2}}", "'data.dbid'"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CU_ASSERT_EQUAL(apply(c, bad[i].rec, why), -1);
        CU_ASSERT_PTR_NOT_NULL(strstr(why, bad[i].why));
    }
    /* the bound: a third object is refused, a change of a held one is not */
#define SW "{\"op\":\"upsert\",\"type\":\"CfgSwitch\",\"dbid\":%d," T1 ",\"version\":1,\"data\":{}}"
    char text[200];
    for (int i = 1; i <= 3; i++) {
        snprintf(text, sizeof text, SW, i);
        CU_ASSERT_EQUAL(apply(c, text, NULL), i <= 2 ? CFG_APPLIED : CFG_FULL);
    }
    snprintf(text, sizeof text, SW, 2);
    CU_ASSERT_EQUAL(apply(c, text, NULL), CFG_APPLIED);
    CU_ASSERT_EQUAL(cfg_cache_objects(c), 2);
    json_t *ev = json_pack("{s:s, s:s, s:i}", "id", "EventRinging", "type", "x", "dbid", 1);
    CU_ASSERT(!cfg_is_config(ev)); /* an event with an `id` is not configuration */
    json_object_del(ev, "id");
    CU_ASSERT(cfg_is_config(ev));
    json_decref(ev);
    cfg_cache_free(c);
}

static void test_snapshot_round_trip(void)
{
    cfg_cache *c = cfg_cache_new(100);
    load_sample(c);
    CU_ASSERT_EQUAL(apply(c, "{\"op\":\"upsert\",\"type\":\"CfgPlace\",\"dbid\":9," "\"tenant\":\"t2\","
                             "\"version\":1,\"data\":{\"name\":\"Place \\u00e9\"}}", NULL), CFG_APPLIED);
    mf_buffer snap = {0};
    cfg_cache_save(c, &snap);
    cfg_cache *r = cfg_cache_new(100);
    CU_ASSERT_FATAL(cfg_cache_load(r, snap.data, snap.len));
    check_sample(r);
    CU_ASSERT_EQUAL(cfg_cache_objects(r), 7);
    const cfg_obj *p = cfg_cache_get(r, "t2", 2, CFG_PLACE, 9);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_STRING_EQUAL(p->name, "Place \xc3\xa9");
    /* versions survive: an older upsert is still stale after the restore */
    CU_ASSERT_EQUAL(apply(r, "{\"op\":\"upsert\",\"type\":\"CfgDN\",\"dbid\":305," T1 ",\"version\":11,"
                             "\"data\":{\"number\":\"1\"}}", NULL), CFG_STALE);
    /* the same bytes again give the same bytes */
    mf_buffer again = {0};
    cfg_cache_save(r, &again);
    CU_ASSERT_EQUAL(again.len, snap.len);
    /* malformed bytes: refused, and the cache is empty */
    CU_ASSERT(!cfg_cache_load(r, snap.data, snap.len - 3));
    CU_ASSERT_EQUAL(cfg_cache_objects(r), 0);
    CU_ASSERT(!cfg_cache_load(r, (const uint8_t *)"MFC0", 4));
    mf_buffer_free(&snap);
    mf_buffer_free(&again);
    cfg_cache_free(r);
    cfg_cache_free(c);
}

int main(void)
{
    static const mf_test tests[] = {
        {"lookups", test_lookups},
        {"versions and deletes", test_versions_and_deletes},
        {"a delete before an older upsert", test_delete_before_older_upsert},
        {"invalid records and the bound", test_invalid},
        {"snapshot round trip", test_snapshot_round_trip},
        {NULL, NULL},
    };
    static const mf_suite suites[] = {{"cfg_cache", tests}, {NULL, NULL}};
    return mf_cunit_run(suites);
}
