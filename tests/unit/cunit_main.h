/*
 * cunit_main.h — the main() of every CUnit test program: register the suites,
 * run them verbosely, and fail on any failure, on a suite setup error, or
 * when no assertion ran at all (a test program must never pass empty).
 */
#ifndef MF_CUNIT_MAIN_H
#define MF_CUNIT_MAIN_H

#include <CUnit/Basic.h>
#include <stdio.h>

typedef struct mf_test {
    const char *name;
    void (*fn)(void);
} mf_test;

typedef struct mf_suite {
    const char *name;
    const mf_test *tests;
} mf_suite;

static inline int mf_cunit_run(const mf_suite *suites)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    for (const mf_suite *s = suites; s->name; s++) {
        CU_pSuite suite = CU_add_suite(s->name, NULL, NULL);
        for (const mf_test *t = s->tests; t->name; t++)
            CU_add_test(suite, t->name, t->fn);
    }
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failures = CU_get_number_of_failures() + CU_get_number_of_suites_failed();
    unsigned asserts = CU_get_number_of_asserts();
    CU_cleanup_registry();
    if (asserts == 0) {
        fprintf(stderr, "no assertion ran: failing\n");
        return 1;
    }
    return failures ? 1 : 0;
}

#endif
