/* test_checkpoint_store.c — the checkpoint format over file:// (engine/src/
 * checkpoint_store.c, docs/checkpoints.md): objects and manifest round
 * trip; the latest complete checkpoint is chosen, one without its manifest
 * does not exist, a truncated or altered object or a bad manifest is skipped
 * with a warning; ids continue above the highest; retention. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "checkpoint_store.h"
#include "cunit_main.h"
#include "log.h"

static char dir[64], url[96], logfile[96];

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/mf-ckpt-unit.XXXXXX");
    CU_ASSERT_FATAL(mkdtemp(dir) != NULL);
    snprintf(url, sizeof url, "file://%s/store", dir);
    snprintf(logfile, sizeof logfile, "%s/log", dir);
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CU_ASSERT(system(cmd) == 0);
}

static mf_ckpt_store *open_store(void)
{
    char *err = NULL;
    mf_ckpt_store *s = mf_ckpt_store_open(url, NULL, "p", &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    return s;
}

/* Checkpoint id: node "ct" (keyed, two workers) and "in" (one worker). */
static void write_ckpt(mf_ckpt_store *s, uint64_t id, bool manifest)
{
    char a[32], b[32], c[32];
    snprintf(a, sizeof a, "ct0-of-%llu", (unsigned long long)id);
    snprintf(b, sizeof b, "ct1-of-%llu-longer", (unsigned long long)id);
    snprintf(c, sizeof c, "pos-%llu", (unsigned long long)id);
    mf_ckpt_writer *w = mf_ckpt_writer_new(s, id);
    char *err = NULL;
    CU_ASSERT_EQUAL(mf_ckpt_writer_put(w, "ct", "callthread", true, 0, 2, a, strlen(a), &err), MF_OBJ_OK);
    CU_ASSERT_EQUAL(mf_ckpt_writer_put(w, "ct", "callthread", true, 1, 2, b, strlen(b), &err), MF_OBJ_OK);
    CU_ASSERT_EQUAL(mf_ckpt_writer_put(w, "in", "file", false, 0, 1, c, strlen(c), &err), MF_OBJ_OK);
    uint64_t bytes = 0;
    if (manifest) {
        CU_ASSERT_EQUAL(mf_ckpt_writer_finish(w, &bytes, &err), MF_OBJ_OK);
        CU_ASSERT(bytes > strlen(a) + strlen(b) + strlen(c));
    }
    mf_ckpt_writer_free(w);
}

static const mf_ckpt_node *node(const mf_ckpt *c, const char *name)
{
    for (size_t i = 0; i < c->n_nodes; i++)
        if (!strcmp(c->nodes[i].name, name))
            return &c->nodes[i];
    return NULL;
}

static void overwrite(const char *rel, const char *text)
{
    char path[256];
    snprintf(path, sizeof path, "%s/store/%s", dir, rel);
    FILE *f = fopen(path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs(text, f);
    fclose(f);
}

static bool log_has(const char *text)
{
    FILE *f = fopen(logfile, "r");
    if (!f)
        return false;
    char line[2048];
    bool found = false;
    while (!found && fgets(line, sizeof line, f))
        found = strstr(line, text) != NULL;
    fclose(f);
    return found;
}

static void test_round_trip(void)
{
    setup();
    mf_ckpt_store *s = open_store();
    write_ckpt(s, 7, true);
    mf_ckpt *c = NULL;
    char *err = NULL;
    CU_ASSERT_EQUAL_FATAL(mf_ckpt_load(s, 7, &c, &err), MF_OBJ_OK);
    CU_ASSERT_EQUAL(c->id, 7);
    CU_ASSERT_EQUAL(c->n_nodes, 2);
    const mf_ckpt_node *ct = node(c, "ct"), *in = node(c, "in");
    CU_ASSERT_PTR_NOT_NULL_FATAL(ct);
    CU_ASSERT_PTR_NOT_NULL_FATAL(in);
    CU_ASSERT_STRING_EQUAL(ct->plugin, "callthread");
    CU_ASSERT(ct->keyed);
    CU_ASSERT(!in->keyed);
    CU_ASSERT_EQUAL(ct->workers, 2);
    CU_ASSERT_EQUAL(ct->len[1], strlen("ct1-of-7-longer"));
    CU_ASSERT(memcmp(ct->data[1], "ct1-of-7-longer", ct->len[1]) == 0);
    CU_ASSERT(memcmp(in->data[0], "pos-7", in->len[0]) == 0);
    mf_ckpt_free(c);
    /* a checkpoint without its manifest does not exist */
    write_ckpt(s, 8, false);
    CU_ASSERT_EQUAL(mf_ckpt_load(s, 8, &c, &err), MF_OBJ_NOT_FOUND);
    free(err);
    err = NULL;
    uint64_t hi = 0;
    CU_ASSERT_EQUAL(mf_ckpt_highest_id(s, &hi, &err), MF_OBJ_OK);
    CU_ASSERT_EQUAL(hi, 8);
    mf_ckpt_store_close(s);
    teardown();
}

static void test_latest_skips_bad(void)
{
    setup();
    mf_ckpt_store *s = open_store();
    for (uint64_t id = 1; id <= 5; id++)
        write_ckpt(s, id, id != 5); /* 5: no manifest (the writer died) */
    /* 4: an object truncated; 3: its manifest not JSON; so 2 is the latest usable */
    overwrite("chk-00000000000000000004/ct/1", "ct1-of-4");
    overwrite("chk-00000000000000000003/MANIFEST", "{\"format\": \"martflow-checkpoint\", ");
    FILE *lf = fopen(logfile, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(lf);
    mf_log_set_fd(fileno(lf));
    mf_ckpt *c = NULL;
    char *err = NULL;
    CU_ASSERT_EQUAL(mf_ckpt_load_latest(s, &c, &err), MF_OBJ_OK);
    mf_log_set_fd(2);
    fclose(lf);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_EQUAL(c->id, 2);
    CU_ASSERT(memcmp(node(c, "in")->data[0], "pos-2", 5) == 0);
    mf_ckpt_free(c);
    CU_ASSERT(log_has("checkpoint 4 in"));
    CU_ASSERT(log_has("truncated or altered"));
    CU_ASSERT(log_has("checkpoint 3 in"));
    CU_ASSERT(!log_has("checkpoint 5"));
    /* the same length, other bytes: the checksum finds it */
    overwrite("chk-00000000000000000002/in/0", "pos-X");
    CU_ASSERT_EQUAL(mf_ckpt_load(s, 2, &c, &err), MF_OBJ_FATAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "SHA-256"));
    free(err);
    err = NULL;
    /* another format version is refused, not misread */
    overwrite("chk-00000000000000000001/MANIFEST",
              "{\"format\": \"martflow-checkpoint\", \"version\": 99, \"id\": 1, \"nodes\": []}");
    CU_ASSERT_EQUAL(mf_ckpt_load(s, 1, &c, &err), MF_OBJ_FATAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "version 99"));
    free(err);
    err = NULL;
    /* nothing usable left: no checkpoint, not an error */
    mf_log_set_fd(open("/dev/null", 1));
    CU_ASSERT_EQUAL(mf_ckpt_load_latest(s, &c, &err), MF_OBJ_OK);
    mf_log_set_fd(2);
    CU_ASSERT_PTR_NULL(c);
    mf_ckpt_store_close(s);
    teardown();
}

static bool exists(const char *rel)
{
    char path[256];
    snprintf(path, sizeof path, "%s/store/%s", dir, rel);
    return access(path, F_OK) == 0;
}

static void test_retain(void)
{
    setup();
    mf_ckpt_store *s = open_store();
    write_ckpt(s, 1, true);
    write_ckpt(s, 2, false);
    write_ckpt(s, 3, true);
    write_ckpt(s, 4, true);
    write_ckpt(s, 5, false); /* being written */
    char *err = NULL;
    CU_ASSERT_EQUAL(mf_ckpt_retain(s, 2, &err), MF_OBJ_OK);
    CU_ASSERT(!exists("chk-00000000000000000001/MANIFEST"));
    CU_ASSERT(!exists("chk-00000000000000000001/ct/0"));
    CU_ASSERT(!exists("chk-00000000000000000002/in/0"));
    CU_ASSERT(exists("chk-00000000000000000003/MANIFEST"));
    CU_ASSERT(exists("chk-00000000000000000004/ct/1"));
    CU_ASSERT(exists("chk-00000000000000000005/ct/0"));
    mf_ckpt *c = NULL;
    CU_ASSERT_EQUAL(mf_ckpt_load_latest(s, &c, &err), MF_OBJ_OK);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_EQUAL(c->id, 4);
    mf_ckpt_free(c);
    mf_ckpt_store_close(s);
    teardown();
}

int main(void)
{
    static const mf_test tests[] = {
        {"objects and manifest round trip; no manifest, no checkpoint", test_round_trip},
        {"the latest complete one; truncated, altered, malformed skipped with a warning", test_latest_skips_bad},
        {"retain keeps the newest complete ones", test_retain},
        {NULL, NULL},
    };
    static const mf_suite suites[] = {{"checkpoint store", tests}, {NULL, NULL}};
    return mf_cunit_run(suites);
}
