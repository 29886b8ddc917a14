/* Unit tests: mf_setting_int (martflow/helpers.h) reads a pipeline setting
 * with the engine's settings table: default, syntax, units and range.
 * Links only the public libmartflow. */
#include <martflow/helpers.h>

#include "cunit_main.h"

static int64_t get(const char *json, const char *name, bool *ok)
{
    json_t *s = json ? json_loads(json, 0, NULL) : NULL;
    int64_t v = -12345;
    *ok = mf_setting_int(s, name, &v);
    json_decref(s);
    return v;
}

static void test_values(void)
{
    bool ok;
    CU_ASSERT_EQUAL(get("{}", "batch_records", &ok), 256); /* the table's default */
    CU_ASSERT_TRUE(ok);
    CU_ASSERT_EQUAL(get(NULL, "batch_records", &ok), 256);
    CU_ASSERT_TRUE(ok);
    CU_ASSERT_EQUAL(get("{\"batch_records\": 10}", "batch_records", &ok), 10);
    CU_ASSERT_TRUE(ok);
    CU_ASSERT_EQUAL(get("{\"batch_records\": \"1000\"}", "batch_records", &ok), 1000); /* ${env:...} gives text */
    CU_ASSERT_TRUE(ok);
    CU_ASSERT_EQUAL(get("{\"batch_bytes\": \"2MiB\"}", "batch_bytes", &ok), 2097152);
    CU_ASSERT_TRUE(ok);
    CU_ASSERT_EQUAL(get("{\"grace_period\": \"1m\", \"tenant\": \"t1\"}", "grace_period", &ok), 60000);
    CU_ASSERT_TRUE(ok);
}

static void test_refused(void)
{
    bool ok;
    /* out of the table's range [1, 1e6], not an integer, trailing junk */
    CU_ASSERT_EQUAL(get("{\"batch_records\": 0}", "batch_records", &ok), -12345);
    CU_ASSERT_FALSE(ok);
    CU_ASSERT_EQUAL(get("{\"batch_records\": 2000000}", "batch_records", &ok), -12345);
    CU_ASSERT_FALSE(ok);
    CU_ASSERT_EQUAL(get("{\"batch_records\": \"12abc\"}", "batch_records", &ok), -12345);
    CU_ASSERT_FALSE(ok);
    CU_ASSERT_EQUAL(get("{\"batch_records\": 1.5}", "batch_records", &ok), -12345);
    CU_ASSERT_FALSE(ok);
    /* not a setting, or not a numeric one */
    CU_ASSERT_EQUAL(get("{\"nope\": 1}", "nope", &ok), -12345);
    CU_ASSERT_FALSE(ok);
    CU_ASSERT_EQUAL(get("{\"tenant\": \"t\"}", "tenant", &ok), -12345);
    CU_ASSERT_FALSE(ok);
}

static const mf_test tests[] = {
    {"values, defaults and units as the engine reads them", test_values},
    {"invalid values and other settings are refused", test_refused},
    {NULL, NULL},
};

int main(void)
{
    static const mf_suite suites[] = {{"setting", tests}, {NULL, NULL}};
    return mf_cunit_run(suites);
}
