/* The script API: drop, split, route; new records; edits; process_batch;
 * timer; init params; shutdown; snapshot/restore; options and errors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lua_test.h"

static void test_drop_split_route(void)
{
    mfh *h = lt_open("function process(r, emit)\n"
                     "  local n = r.value.n\n"
                     "  if n == 0 then return end\n"
                     "  if n == 2 then emit(r); emit(r); return end\n"
                     "  if n == 3 then emit(r, 'custom'); return end\n"
                     "  emit(r)\n"
                     "end\n",
                     "ports: [custom]\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    const char *in[] = {"{\"n\":0}", "{\"n\":1}", "{\"n\":2}", "{\"n\":3}"};
    CU_ASSERT_EQUAL(lt_run(h, in, 4), MF_OK);
    CU_ASSERT_EQUAL(mfh_count(h, "default"), 3);
    CU_ASSERT_EQUAL(mfh_count(h, "custom"), 1);
    CU_ASSERT_EQUAL(mfh_count(h, "errors"), 0);
    CU_ASSERT_STRING_EQUAL(mfh_value(h, "default", 0), "{\"n\":1}");
    CU_ASSERT_STRING_EQUAL(mfh_value(h, "default", 1), "{\"n\":2}");
    CU_ASSERT_STRING_EQUAL(mfh_value(h, "default", 2), "{\"n\":2}");
    CU_ASSERT_STRING_EQUAL(mfh_value(h, "custom", 0), "{\"n\":3}");
    CU_ASSERT_TRUE(mfh_input_acked(h, 0));  /* dropped: acknowledged at once */
    CU_ASSERT_FALSE(mfh_input_acked(h, 1)); /* emitted: waits for downstream */
    CU_ASSERT_FALSE(mfh_input_acked(h, 2));
    CU_ASSERT_FALSE(mfh_input_acked(h, 3));
    mfh_consume(h);
    CU_ASSERT_TRUE(mfh_input_acked(h, 1));
    CU_ASSERT_TRUE(mfh_input_acked(h, 2)); /* both copies handled */
    CU_ASSERT_TRUE(mfh_input_acked(h, 3));
    mfh_close(h);
}

static void test_undeclared_port_rejects_whole_record(void)
{
    mfh *h = lt_open("function process(r, emit)\n"
                     "  emit(r)\n"
                     "  emit(r, 'nope')\n"
                     "end\n",
                     NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    const char *in[] = {"{\"a\":1}"};
    lt_run(h, in, 1);
    /* what the call emitted before the error is not sent: the record is rejected, once */
    CU_ASSERT_EQUAL(mfh_count(h, "default"), 0);
    CU_ASSERT_EQUAL_FATAL(mfh_count(h, "errors"), 1);
    CU_ASSERT_TRUE(lt_contains(mfh_header(h, "errors", 0, MF_HEADER_ERROR), "undeclared port 'nope'"));
    CU_ASSERT_TRUE(lt_contains(mfh_header(h, "errors", 0, MF_HEADER_ERROR), "code:3:"));
    CU_ASSERT_STRING_EQUAL(mfh_value(h, "errors", 0), "{\"a\":1}");
    mfh_close(h);
}

static void test_new_record_joins_input_ack(void)
{
    mfh *h = lt_open("function process(r, emit)\n"
                     "  emit({key = 'k-' .. r.value.id, value = {a = 1, list = {1, 2}}, time = 1234,\n"
                     "        headers = {h = 'v', n = 5}})\n"
                     "end\n",
                     NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    const char *in[] = {"{\"id\":\"x\"}"};
    lt_run(h, in, 1);
    CU_ASSERT_EQUAL_FATAL(mfh_count(h, "default"), 1);
    mf_record *r = mfh_record(h, "default", 0);
    CU_ASSERT_STRING_EQUAL(mfh_value(h, "default", 0), "{\"a\":1,\"list\":[1,2]}");
    CU_ASSERT_EQUAL(r->key_len, 3);
    CU_ASSERT_EQUAL(memcmp(r->key, "k-x", 3), 0);
    CU_ASSERT_EQUAL(r->time_ms, 1234);
    CU_ASSERT_STRING_EQUAL(mfh_header(h, "default", 0, "h"), "v");
    CU_ASSERT_STRING_EQUAL(mfh_header(h, "default", 0, "n"), "5");
    CU_ASSERT_FALSE(mfh_input_acked(h, 0));
    mfh_consume(h);
    CU_ASSERT_TRUE(mfh_input_acked(h, 0));
    mfh_close(h);
}

static void test_edits_keep_order_and_bytes(void)
{
    mfh *h = lt_open("function process(r, emit)\n"
                     "  local v = r.value\n"
                     "  if v.op == 'edit' then\n"
                     "    v.a = 3; v.c.y = true; v.d = 'new'\n"
                     "  elseif v.op == 'delete' then\n"
                     "    v.b = nil\n"
                     "  elseif v.op == 'readd' then\n"
                     "    v.b = nil; v.b = 'back'\n"
                     "  elseif v.op == 'key' then\n"
                     "    r.key = 'nk'; r.time = 99\n"
                     "  elseif v.op == 'replace' then\n"
                     "    r.value = {replaced = true}\n"
                     "  elseif v.op == 'raw' then\n"
                     "    r.raw = 'not json at all'\n"
                     "  end\n"
                     "  emit(r)\n"
                     "end\n",
                     NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    const char *in[] = {
        "{\"op\":\"edit\",\"b\":1,\"a\":2,\"c\":{\"x\":1}}",
        "{\"op\":\"delete\",\"b\":1,\"a\":2}",
        "{\"op\":\"readd\",\"b\":1,\"a\":2}",
        "{\"op\": \"key\",  \"x\" : 1.50}",
        "{\"op\":\"replace\",\"b\":1}",
        "{\"op\":\"raw\"}",
    };
    lt_run(h, in, 6);
    CU_ASSERT_EQUAL_FATAL(mfh_count(h, "default"), 6);
    CU_ASSERT_STRING_EQUAL(mfh_value(h, "default", 0),
                           "{\"op\":\"edit\",\"b\":1,\"a\":3,\"c\":{\"x\":1,\"y\":true},\"d\":\"new\"}");
    CU_ASSERT_STRING_EQUAL(mfh_value(h, "default", 1), "{\"op\":\"delete\",\"a\":2}");
    CU_ASSERT_STRING_EQUAL(mfh_value(h, "default", 2), "{\"op\":\"readd\",\"b\":\"back\",\"a\":2}");
    /* only the key and time changed: the value bytes are the input's, spaces and 1.50 included */
    CU_ASSERT_STRING_EQUAL(mfh_value(h, "default", 3), "{\"op\": \"key\",  \"x\" : 1.50}");
    mf_record *r = mfh_record(h, "default", 3);
    CU_ASSERT_EQUAL(r->key_len, 2);
    CU_ASSERT_EQUAL(memcmp(r->key, "nk", 2), 0);
    CU_ASSERT_EQUAL(r->time_ms, 99);
    CU_ASSERT_STRING_EQUAL(mfh_value(h, "default", 4), "{\"replaced\":true}");
    CU_ASSERT_STRING_EQUAL(mfh_value(h, "default", 5), "not json at all");
    mfh_close(h);
}

static void test_record_fields(void)
{
    mfh *h = lt_open("function process(r, emit)\n"
                     "  local o = r.origin\n"
                     "  emit({value = {key = r.key, has_time = r.time ~= nil, raw = r.raw,\n"
                     "                 source = o.source, nheaders = next(r.headers) == nil}})\n"
                     "  local ok, err = pcall(function() return r.nosuch end)\n"
                     "  emit({value = {err = err}})\n"
                     "end\n",
                     NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    mfh_push(h, "the-key", "{\"a\": 1}");
    mfh_process(h);
    CU_ASSERT_EQUAL_FATAL(mfh_count(h, "default"), 2);
    CU_ASSERT_STRING_EQUAL(mfh_value(h, "default", 0),
                           "{\"has_time\":false,\"key\":\"the-key\",\"nheaders\":true,\"raw\":\"{\\\"a\\\": 1}\","
                           "\"source\":\"harness\"}");
    CU_ASSERT_TRUE(lt_contains(mfh_value(h, "default", 1), "a record has no field 'nosuch'"));
    mfh_close(h);
}

static void test_process_batch_and_error_in_one_record(void)
{
    mfh *h = lt_open("calls = 0\n"
                     "function process_batch(records, emit)\n"
                     "  calls = calls + 1\n"
                     "  print('batch of ' .. #records)\n"
                     "  for i = 1, #records do\n"
                     "    local r = records[i]\n"
                     "    if r.value.i == 3 then error('bad three') end\n"
                     "    emit(r)\n"
                     "  end\n"
                     "end\n"
                     "function process(r, emit) error('process must not be called') end\n",
                     NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    const char *in[] = {"{\"i\":1}", "{\"i\":2}", "{\"i\":3}", "{\"i\":4}", "{\"i\":5}"};
    CU_ASSERT_EQUAL(lt_run(h, in, 5), MF_OK);
    CU_ASSERT_EQUAL_FATAL(mfh_count(h, "default"), 4);
    CU_ASSERT_STRING_EQUAL(mfh_value(h, "default", 0), "{\"i\":1}");
    CU_ASSERT_STRING_EQUAL(mfh_value(h, "default", 1), "{\"i\":2}");
    CU_ASSERT_STRING_EQUAL(mfh_value(h, "default", 2), "{\"i\":4}");
    CU_ASSERT_STRING_EQUAL(mfh_value(h, "default", 3), "{\"i\":5}");
    CU_ASSERT_EQUAL_FATAL(mfh_count(h, "errors"), 1);
    CU_ASSERT_STRING_EQUAL(mfh_value(h, "errors", 0), "{\"i\":3}");
    const char *why = mfh_header(h, "errors", 0, MF_HEADER_ERROR);
    CU_ASSERT_TRUE(lt_contains(why, "lua: code:7: bad three"));
    /* one batch call of 5, then the replay one record at a time */
    CU_ASSERT_TRUE(lt_contains(mfh_log(h), "lua: batch of 5"));
    CU_ASSERT_TRUE(lt_contains(mfh_log(h), "lua: batch of 1"));
    CU_ASSERT_FALSE(lt_contains(mfh_log(h), "process must not be called"));
    /* a clean batch: one call, nothing rejected */
    mfh_consume(h);
    const char *ok[] = {"{\"i\":6}", "{\"i\":7}"};
    lt_run(h, ok, 2);
    CU_ASSERT_EQUAL(mfh_count(h, "default"), 2);
    CU_ASSERT_EQUAL(mfh_count(h, "errors"), 0);
    mfh_close(h);
}

static void test_batch_new_records_join_all_inputs(void)
{
    mfh *h = lt_open("function process_batch(records, emit)\n"
                     "  local sum = 0\n"
                     "  for i = 1, #records do sum = sum + records[i].value.n end\n"
                     "  emit({value = {sum = sum}})\n"
                     "end\n",
                     NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    const char *in[] = {"{\"n\":1}", "{\"n\":2}", "{\"n\":3}"};
    lt_run(h, in, 3);
    CU_ASSERT_EQUAL_FATAL(mfh_count(h, "default"), 1);
    CU_ASSERT_STRING_EQUAL(mfh_value(h, "default", 0), "{\"sum\":6}");
    for (size_t i = 0; i < 3; i++)
        CU_ASSERT_FALSE(mfh_input_acked(h, i)); /* held by the derived record */
    mfh_consume(h);
    for (size_t i = 0; i < 3; i++)
        CU_ASSERT_TRUE(mfh_input_acked(h, i));
    mfh_close(h);
}

static void test_timer(void)
{
    mfh *h = lt_open("ticks = 0\n"
                     "function process(r, emit) emit(r) end\n"
                     "function timer(emit)\n"
                     "  ticks = ticks + 1\n"
                     "  emit({key = 'tick', value = {ticks = ticks}})\n"
                     "end\n",
                     "timer_interval: 1500ms\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    CU_ASSERT_EQUAL(mfh_tick_interval(h), 1500);
    CU_ASSERT_EQUAL(mfh_tick(h), MF_OK);
    CU_ASSERT_EQUAL(mfh_tick(h), MF_OK);
    CU_ASSERT_EQUAL_FATAL(mfh_count(h, "default"), 2);
    CU_ASSERT_STRING_EQUAL(mfh_value(h, "default", 0), "{\"ticks\":1}");
    CU_ASSERT_STRING_EQUAL(mfh_value(h, "default", 1), "{\"ticks\":2}");
    mfh_close(h);

    int st;
    h = lt_open_status("function process(r, emit) end\n", "timer_interval: 1s\n", &st);
    CU_ASSERT_EQUAL(st, MF_FATAL); /* an interval without a timer function */
    CU_ASSERT_TRUE(lt_contains(lt_error(), "no function 'timer'"));
    mfh_close(h);
    h = lt_open("function process(r, emit) end\nfunction timer(emit) end\n", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    CU_ASSERT_EQUAL(mfh_tick_interval(h), 0);
    CU_ASSERT_TRUE(lt_contains(mfh_log(h), "timer_interval is not set"));
    mfh_close(h);
}

static void test_timer_error_keeps_running(void)
{
    mfh *h = lt_open("n = 0\n"
                     "function process(r, emit) emit(r) end\n"
                     "function timer(emit)\n"
                     "  n = n + 1\n"
                     "  emit({value = {n = n}})\n"
                     "  if n == 1 then error('first tick fails') end\n"
                     "end\n",
                     "timer_interval: 1s\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    CU_ASSERT_EQUAL(mfh_tick(h), MF_OK);
    CU_ASSERT_EQUAL(mfh_count(h, "default"), 0); /* the failed call's output is dropped */
    CU_ASSERT_TRUE(lt_contains(mfh_log(h), "timer failed: code:6: first tick fails"));
    CU_ASSERT_EQUAL(mfh_tick(h), MF_OK);
    CU_ASSERT_EQUAL_FATAL(mfh_count(h, "default"), 1);
    CU_ASSERT_STRING_EQUAL(mfh_value(h, "default", 0), "{\"n\":2}");
    mfh_close(h);
}

static void test_init_params(void)
{
    mfh *h = lt_open("function init(p) params = p end\n"
                     "function process(r, emit)\n"
                     "  emit({value = params})\n"
                     "  emit({value = {t = math.type(params.threshold), f = math.type(params.ratio),\n"
                     "                 arr = martflow.is_array(params.empty), isnull = params.nested.x == martflow.null}})\n"
                     "end\n",
                     "params: {threshold: 5, ratio: 0.5, names: [a, b], empty: [], obj: {}, nested: {x: null}}\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    const char *in[] = {"{}"};
    lt_run(h, in, 1);
    CU_ASSERT_EQUAL_FATAL(mfh_count(h, "default"), 2);
    CU_ASSERT_STRING_EQUAL(mfh_value(h, "default", 0),
                           "{\"empty\":[],\"names\":[\"a\",\"b\"],\"nested\":{\"x\":null},\"obj\":{},\"ratio\":0.5,"
                           "\"threshold\":5}");
    CU_ASSERT_STRING_EQUAL(mfh_value(h, "default", 1),
                           "{\"arr\":true,\"f\":\"float\",\"isnull\":true,\"t\":\"integer\"}");
    mfh_close(h);

    /* an error in init stops the node, with the line */
    int st;
    h = lt_open_status("function init(p) error('bad params: ' .. tostring(p)) end\n"
                       "function process(r, emit) end\n",
                       NULL, &st);
    CU_ASSERT_EQUAL(st, MF_FATAL);
    CU_ASSERT_TRUE(lt_contains(lt_error(), "code:1: bad params: nil"));
    mfh_close(h);
}

static const char *counting =
    "counts = {}\n"
    "function process(r, emit)\n"
    "  counts[r.key] = (counts[r.key] or 0) + 1\n"
    "end\n"
    "function shutdown(emit)\n"
    "  local keys = {}\n"
    "  for k in pairs(counts) do keys[#keys + 1] = k end\n"
    "  table.sort(keys)\n"
    "  for _, k in ipairs(keys) do emit({key = k, value = {key = k, count = counts[k]}}) end\n"
    "end\n";

static void test_shutdown_at_end_only(void)
{
    mfh *h = lt_open(counting, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    mfh_push(h, "a", "{}");
    mfh_push(h, "b", "{}");
    mfh_push(h, "a", "{}");
    mfh_process(h);
    CU_ASSERT_EQUAL(mfh_count(h, "default"), 0);
    CU_ASSERT_EQUAL(mfh_flush(h, MF_FLUSH_CHECKPOINT), MF_OK);
    CU_ASSERT_EQUAL(mfh_count(h, "default"), 0);
    CU_ASSERT_EQUAL(mfh_flush(h, MF_FLUSH_END), MF_OK);
    CU_ASSERT_EQUAL_FATAL(mfh_count(h, "default"), 2);
    CU_ASSERT_STRING_EQUAL(mfh_value(h, "default", 0), "{\"count\":2,\"key\":\"a\"}");
    CU_ASSERT_STRING_EQUAL(mfh_value(h, "default", 1), "{\"count\":1,\"key\":\"b\"}");
    mfh_close(h);

    h = lt_open(counting, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    mfh_push(h, "a", "{}");
    mfh_process(h);
    CU_ASSERT_EQUAL(mfh_flush(h, MF_FLUSH_STOP), MF_OK);
    CU_ASSERT_EQUAL(mfh_count(h, "default"), 0); /* SIGTERM: no partial aggregates */
    mfh_close(h);
}

static void test_globals_survive_calls(void)
{
    mfh *h = lt_open("n = 0\n"
                     "function process(r, emit) n = n + 1; r.value.n = n; emit(r) end\n",
                     NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    for (int i = 0; i < 3; i++) {
        mfh_push(h, NULL, "{}");
        mfh_process(h);
    }
    CU_ASSERT_EQUAL_FATAL(mfh_count(h, "default"), 3);
    CU_ASSERT_STRING_EQUAL(mfh_value(h, "default", 2), "{\"n\":3}");
    mfh_close(h);
}

static const char *stateful =
    "state = {counts = {}, seen = martflow.array(), empty = {}, nothing = martflow.null, ratio = 1.5}\n"
    "function process(r, emit)\n"
    "  state.counts[r.key] = (state.counts[r.key] or 0) + 1\n"
    "  table.insert(state.seen, r.key)\n"
    "  emit({key = r.key, value = {count = state.counts[r.key], seen = #state.seen}})\n"
    "end\n";

static void test_snapshot_restore_round_trip(void)
{
    mfh *h = lt_open(stateful, "state: state\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    mfh_push(h, "a", "{}");
    mfh_push(h, "b", "{}");
    mfh_push(h, "a", "{}");
    mfh_process(h);
    mf_buffer snap = {0};
    CU_ASSERT_EQUAL(mfh_snapshot(h, 1, &snap), MF_OK);
    CU_ASSERT_PTR_NOT_NULL_FATAL(snap.data);
    char *text = strndup((const char *)snap.data, snap.len);
    CU_ASSERT_STRING_EQUAL(text, "{\"counts\":{\"a\":2,\"b\":1},\"empty\":{},\"nothing\":null,\"ratio\":1.5,"
                                 "\"seen\":[\"a\",\"b\",\"a\"]}");
    mfh_close(h);

    /* a new instance picks up where the first stopped */
    h = lt_open(stateful, "state: state\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    CU_ASSERT_EQUAL(mfh_restore(h, snap.data, snap.len), MF_OK);
    mfh_push(h, "a", "{}");
    mfh_process(h);
    CU_ASSERT_EQUAL_FATAL(mfh_count(h, "default"), 1);
    CU_ASSERT_STRING_EQUAL(mfh_value(h, "default", 0), "{\"count\":3,\"seen\":4}");
    mf_buffer again = {0};
    CU_ASSERT_EQUAL(mfh_snapshot(h, 2, &again), MF_OK);
    char *text2 = strndup((const char *)again.data, again.len);
    /* empty object, null and float kinds survive the round trip */
    CU_ASSERT_STRING_EQUAL(text2, "{\"counts\":{\"a\":3,\"b\":1},\"empty\":{},\"nothing\":null,\"ratio\":1.5,"
                                  "\"seen\":[\"a\",\"b\",\"a\",\"a\"]}");
    free(text);
    free(text2);
    free(snap.data);
    free(again.data);
    mfh_close(h);
}

static void test_snapshot_errors(void)
{
    mfh *h = lt_open("state = {}\n"
                     "function process(r, emit) state[r.value.id] = true end\n",
                     "state: state\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    const char *in[] = {"{\"id\":42}"};
    lt_run(h, in, 1);
    mf_buffer snap = {0};
    CU_ASSERT_EQUAL(mfh_snapshot(h, 1, &snap), MF_FATAL); /* a number key has no JSON form */
    CU_ASSERT_TRUE(lt_contains(mfh_log(h), "keys are strings"));
    CU_ASSERT_EQUAL(mfh_restore(h, (const uint8_t *)"{oops", 5), MF_FATAL);
    free(snap.data);
    mfh_close(h);
}

static void test_expired_record(void)
{
    mfh *h = lt_open("function process(r, emit)\n"
                     "  if saved then emit({value = {v = saved.value}}) end\n"
                     "  saved = r\n"
                     "end\n",
                     NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    const char *in[] = {"{\"a\":1}", "{\"a\":2}"};
    lt_run(h, in, 2);
    CU_ASSERT_EQUAL(mfh_count(h, "default"), 0);
    CU_ASSERT_EQUAL_FATAL(mfh_count(h, "errors"), 1);
    CU_ASSERT_TRUE(lt_contains(mfh_header(h, "errors", 0, MF_HEADER_ERROR), "belongs to a call that has returned"));
    mfh_close(h);
}

static void test_values_outlive_their_record(void)
{
    mfh *h = lt_open("function process(r, emit)\n"
                     "  if kept then emit({value = {previous = kept}}) end\n"
                     "  kept = r.value.inner\n"
                     "end\n",
                     NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    const char *in[] = {"{\"inner\":{\"a\":[1,{}]}}", "{\"inner\":{\"b\":2}}"};
    lt_run(h, in, 2);
    CU_ASSERT_EQUAL_FATAL(mfh_count(h, "default"), 1);
    CU_ASSERT_STRING_EQUAL(mfh_value(h, "default", 0), "{\"previous\":{\"a\":[1,{}]}}");
    mfh_close(h);
}

static void test_options(void)
{
    int st;
    mfh *h = lt_open_status("function process(r, emit) end\n", "api: 2\n", &st);
    CU_ASSERT_PTR_NULL(h); /* api given twice: a duplicate key */
    mfh_close(h);

    char *err = NULL;
    h = mfh_open(MF_KIND_TRANSFORM, "lua", "code: 'function process() end'\n", &err);
    CU_ASSERT_PTR_NULL(h); /* api is required */
    CU_ASSERT_TRUE(lt_contains(err, "api"));
    free(err);

    err = NULL;
    h = mfh_open(MF_KIND_TRANSFORM, "lua", "api: 2\ncode: 'function process() end'\n", &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    CU_ASSERT_EQUAL(mfh_init(h), MF_FATAL);
    CU_ASSERT_TRUE(lt_contains(mfh_log(h), "api: version 2 is not supported"));
    mfh_close(h);

    h = mfh_open(MF_KIND_TRANSFORM, "lua", "api: 1\n", &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    CU_ASSERT_EQUAL(mfh_init(h), MF_FATAL);
    CU_ASSERT_TRUE(lt_contains(mfh_log(h), "one of script (a file) or code (inline Lua) is required"));
    mfh_close(h);

    h = mfh_open(MF_KIND_TRANSFORM, "lua", "api: 1\nscript: /x.lua\ncode: 'x = 1'\n", &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    CU_ASSERT_EQUAL(mfh_init(h), MF_FATAL);
    CU_ASSERT_TRUE(lt_contains(mfh_log(h), "not both"));
    mfh_close(h);

    h = mfh_open(MF_KIND_TRANSFORM, "lua", "api: 1\nscript: /nonexistent/x.lua\n", &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    CU_ASSERT_EQUAL(mfh_init(h), MF_FATAL);
    CU_ASSERT_TRUE(lt_contains(mfh_log(h), "cannot open /nonexistent/x.lua"));
    mfh_close(h);

    h = lt_open_status("function process(r, emit)\n  if then\nend\n", NULL, &st);
    CU_ASSERT_EQUAL(st, MF_FATAL);
    CU_ASSERT_TRUE(lt_contains(lt_error(), "code:2:")); /* the syntax error's line */
    mfh_close(h);

    h = lt_open_status("x = 1\n", NULL, &st);
    CU_ASSERT_EQUAL(st, MF_FATAL);
    CU_ASSERT_TRUE(lt_contains(lt_error(), "neither process(record, emit) nor process_batch(records, emit)"));
    mfh_close(h);

    h = lt_open_status("function process(r, emit) end\n", "process: handle\n", &st);
    CU_ASSERT_EQUAL(st, MF_FATAL);
    CU_ASSERT_TRUE(lt_contains(lt_error(), "no function 'handle'"));
    mfh_close(h);

    h = lt_open("function handle(r, emit) r.value.handled = true; emit(r) end\n", "process: handle\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    const char *in[] = {"{}"};
    lt_run(h, in, 1);
    CU_ASSERT_STRING_EQUAL(mfh_value(h, "default", 0), "{\"handled\":true}");
    mfh_close(h);

    h = lt_open_status("process = 5\n", NULL, &st);
    CU_ASSERT_EQUAL(st, MF_FATAL);
    CU_ASSERT_TRUE(lt_contains(lt_error(), "is a number, not a function"));
    mfh_close(h);
}

static void test_script_file_and_require(void)
{
    char yaml[2048];
    snprintf(yaml, sizeof yaml, "api: 1\nscript: %s/tests/lua/fixtures/modules/uses_helper.lua\n", lt_srcdir());
    char *err = NULL;
    mfh *h = mfh_open(MF_KIND_TRANSFORM, "lua", yaml, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    CU_ASSERT_EQUAL_FATAL(mfh_init(h), MF_OK);
    const char *in[] = {"{\"n\":21}", "{\"n\":\"x\"}"};
    lt_run(h, in, 2);
    CU_ASSERT_EQUAL_FATAL(mfh_count(h, "default"), 1);
    CU_ASSERT_STRING_EQUAL(mfh_value(h, "default", 0), "{\"n\":42}");
    CU_ASSERT_EQUAL_FATAL(mfh_count(h, "errors"), 1);
    /* the runtime error names the module file and line */
    CU_ASSERT_TRUE(lt_contains(mfh_header(h, "errors", 0, MF_HEADER_ERROR), "helper.lua:4:"));
    mfh_close(h);

    h = lt_open("local ok, err = pcall(require, 'socket.core')\n"
                "assert(not ok and err:find('not found'), err)\n"
                "function process(r, emit) emit({value = {err = err}}) end\n",
                NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    mfh_close(h);
}

static void test_reject_and_print(void)
{
    mfh *h = lt_open("function process(r, emit)\n"
                     "  print('seen', r.value.v, nil)\n"
                     "  if r.value.v < 0 then martflow.reject(r, 'negative v') else emit(r) end\n"
                     "end\n",
                     NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    const char *in[] = {"{\"v\":-1}", "{\"v\":1}"};
    lt_run(h, in, 2);
    CU_ASSERT_EQUAL(mfh_count(h, "default"), 1);
    CU_ASSERT_EQUAL_FATAL(mfh_count(h, "errors"), 1);
    CU_ASSERT_STRING_EQUAL(mfh_header(h, "errors", 0, MF_HEADER_ERROR), "lua: negative v");
    CU_ASSERT_TRUE(lt_contains(mfh_log(h), "info: lua: seen\t-1\tnil"));
    mfh_close(h);
}

static void test_runtime_error_reason_has_line(void)
{
    mfh *h = lt_open("function process(r, emit)\n"
                     "  local x = nil\n"
                     "  return x.y\n"
                     "end\n",
                     NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    const char *in[] = {"{}"};
    lt_run(h, in, 1);
    CU_ASSERT_EQUAL_FATAL(mfh_count(h, "errors"), 1);
    CU_ASSERT_STRING_EQUAL(mfh_header(h, "errors", 0, MF_HEADER_ERROR),
                           "lua: code:3: attempt to index a nil value (local 'x')");
    CU_ASSERT_STRING_EQUAL(mfh_header(h, "errors", 0, MF_HEADER_ERROR_NODE), "under_test");
    CU_ASSERT_TRUE(mfh_input_acked(h, 0) == false);
    mfh_consume(h);
    CU_ASSERT_TRUE(mfh_input_acked(h, 0));
    mfh_close(h);
}

static void test_not_json_value(void)
{
    mfh *h = lt_open("function process(r, emit)\n"
                "  if r.raw:sub(1, 1) ~= '{' then emit({raw = 'seen: ' .. r.raw}) return end\n"
                "  local v = r.value\n"
                "end\n",
                NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    mfh_push(h, NULL, "plain text");
    mfh_push(h, NULL, "{broken");
    mfh_push(h, NULL, NULL);
    mfh_process(h);
    CU_ASSERT_EQUAL_FATAL(mfh_count(h, "default"), 1);
    CU_ASSERT_STRING_EQUAL(mfh_value(h, "default", 0), "seen: plain text");
    CU_ASSERT_EQUAL_FATAL(mfh_count(h, "errors"), 2);
    CU_ASSERT_TRUE(lt_contains(mfh_header(h, "errors", 0, MF_HEADER_ERROR), "record value is not JSON"));
    /* no value: record.raw is nil, so r.raw:sub fails with a clear message */
    CU_ASSERT_TRUE(lt_contains(mfh_header(h, "errors", 1, MF_HEADER_ERROR), "code:2:"));
    mfh_close(h);
}

const mf_test lt_api_tests[] = {
    {"drop, split, route; acks", test_drop_split_route},
    {"emit to an undeclared port rejects the record, nothing half-emitted", test_undeclared_port_rejects_whole_record},
    {"new records from tables join the input's ack", test_new_record_joins_input_ack},
    {"edits keep key order; key/time edits keep value bytes", test_edits_keep_order_and_bytes},
    {"record fields", test_record_fields},
    {"process_batch; an error rejects only its record", test_process_batch_and_error_in_one_record},
    {"process_batch: new records join every input", test_batch_new_records_join_all_inputs},
    {"timer", test_timer},
    {"a failing timer call drops its output and keeps running", test_timer_error_keeps_running},
    {"init(params)", test_init_params},
    {"shutdown at end of input only", test_shutdown_at_end_only},
    {"globals survive between calls", test_globals_survive_calls},
    {"snapshot/restore round trip", test_snapshot_restore_round_trip},
    {"snapshot/restore errors", test_snapshot_errors},
    {"a record kept past its call is refused", test_expired_record},
    {"values outlive their record", test_values_outlive_their_record},
    {"options", test_options},
    {"script file and require", test_script_file_and_require},
    {"martflow.reject and print", test_reject_and_print},
    {"runtime error reason has the script line", test_runtime_error_reason_has_line},
    {"values that are not JSON", test_not_json_value},
    {NULL, NULL},
};
