#!/usr/bin/env bash
# The S3 server stops for 3 s while records keep coming (a followed file)
# and objects, multipart ones among them (9 MiB objects, 8 MiB parts), are
# being uploaded; it starts again. The sink retries (counted), and at the
# end curl finds every record exactly once, in whole objects only (each holds
# the {count} its key names), and no multipart upload left in progress.
S3_EXCLUSIVE=1 # stops the server: no other S3 test may run meanwhile
source "$top_srcdir/tests/s3/s3_lib.sh"
ENGINE=""
outage_cleanup() {
    [[ -n $ENGINE ]] && { kill -9 "$ENGINE" 2>/dev/null || true; wait "$ENGINE" 2>/dev/null || true; }
    "$top_srcdir/tests/services.sh" start s3 >/dev/null 2>&1 || true
    cleanup_tmp
}
trap outage_cleanup EXIT

N=150000
: >"$TMP/in.jsonl"
cat >"$TMP/p.yaml" <<Y
pipeline: s3outage
settings: {metrics_listen: "127.0.0.1:0", retry_cap: 1s}
sources:
  in: {plugin: file, path: "$TMP/in.jsonl", follow: true, positions: false}
sinks:
  out:
    plugin: s3
    inputs: [in]
    url: s3://$S3_BUCKET/$S3_PREFIX
    endpoint: $S3_ENDPOINT
    access_key: $S3_ACCESS_KEY
    secret_key: $S3_SECRET_KEY
    key: "{prefix}/{first_offset}-{last_offset}-{count}.{ext}"
    compression: none
    max_object_size: 9MiB
    max_age: 1s
Y
"$MARTFLOW" run "$TMP/p.yaml" >"$TMP/log" 2>&1 &
ENGINE=$!
port=$(metrics_port "$TMP/log")
pad=$(printf '%0100d' 0)
# about 20,000 records (2.5 MB) a second, for about 7 s
(for ((i = 1; i <= N; i += 2000)); do
    awk -v s=$i -v p="$pad" 'BEGIN { for (j = s; j < s + 2000; j++) printf "{\"id\":%d,\"pad\":\"%s\"}\n", j, p }' >>"$TMP/in.jsonl"
    sleep 0.1
done) &
writer=$!
wait_for 30 metric_at_least "$port" martflow_s3_records_written_total 1 || fail "nothing was written before the outage"
sleep 1
note "stopping S3 for 3 s"
"$top_srcdir/tests/services.sh" stop s3 >/dev/null 2>&1 || fail "cannot stop S3"
sleep 3
kill -0 "$ENGINE" 2>/dev/null || fail "the engine died during the outage: $(tail -3 "$TMP/log")"
"$top_srcdir/tests/services.sh" start s3 >/dev/null 2>&1 || fail "cannot start S3 again"
wait "$writer"
wait_for 60 metric_at_least "$port" martflow_s3_records_written_total $N ||
    fail "only $(metric "$port" martflow_s3_records_written_total) of $N records written"
retries=$(metric "$port" martflow_s3_retries_total)
((retries >= 1)) || fail "no retry counted"
kill -TERM "$ENGINE"
RC=0; wait "$ENGINE" || RC=$?
ENGINE=""
assert_eq 0 "$RC" "exit status after SIGTERM"

s3curl_keys "$S3_PREFIX/" >"$TMP/keys" || fail "curl cannot list the objects"
: >"$TMP/ids"
big=0
while IFS= read -r key; do
    [[ $key =~ -([0-9]+)\.jsonl$ ]] || fail "key $key does not follow the template"
    s3curl_get "$key" "$TMP/obj" || fail "curl cannot read $key"
    assert_lines "${BASH_REMATCH[1]}" "$TMP/obj" "records in $key (a partial object?)"
    (($(stat -c %s "$TMP/obj") > 8 * 1024 * 1024)) && big=$((big + 1))
    sed 's/^{"id":\([0-9]*\),.*/\1/' "$TMP/obj" >>"$TMP/ids"
done <"$TMP/keys"
((big >= 1)) || fail "no multipart object (over 8 MiB) was written"
assert_eq "$N|$N|1|$N" "$(sort -n "$TMP/ids" | awk 'NR == 1 {min = $1} {n++; if (!seen[$1]++) u++; max = $1} END {print n "|" u "|" min "|" max}')" \
    "every record exactly once"
assert_eq 0 "$(s3curl_uploads "$S3_PREFIX/")" "multipart uploads left in progress"
assert_contains "$TMP/log" '"node":"out".*failed, retrying' "the outage is logged"
note "objects: $(wc -l <"$TMP/keys") ($big multipart), transient retries: $retries"
