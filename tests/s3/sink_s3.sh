#!/usr/bin/env bash
# sink s3 against the real versitygw: 20,000 records into gzip'd JSON-lines
# objects of at most 64 KiB (many objects, keys from the template), and into
# one CSV object; an independent client (curl --aws-sigv4) reads every
# object back: every record exactly once, the keys as documented. A wrong
# secret stops the pipeline with a message naming bucket and endpoint, not
# the secret.
source "$top_srcdir/tests/s3/s3_lib.sh"

N=20000
awk -v n=$N 'BEGIN { for (i = 1; i <= n; i++) printf "{\"id\":%d,\"name\":\"n,%d \\\"q\\\"\"}\n", i, i }' >"$TMP/in.jsonl"
printf '{"accessKey":"%s","secretKey":"%s"}\n' "$S3_ACCESS_KEY" "$S3_SECRET_KEY" >"$TMP/s3secret.json"
cat >"$TMP/p.yaml" <<Y
pipeline: s3sink
sources:
  in: {plugin: file, path: "$TMP/in.jsonl", positions: false}
sinks:
  lines:
    plugin: s3
    inputs: [in]
    url: s3://$S3_BUCKET/$S3_PREFIX/lines
    endpoint: $S3_ENDPOINT
    secret_file: $TMP/s3secret.json
    tenant: t1
    key: "{prefix}/{tenant}/{yyyy}/{mm}/{dd}/{first_offset}-{last_offset}-{count}.{ext}"
    max_object_size: 64KiB
  table:
    plugin: s3
    inputs: [in]
    bucket: $S3_BUCKET
    prefix: $S3_PREFIX/csv
    endpoint: $S3_ENDPOINT
    access_key: $S3_ACCESS_KEY
    secret_key: $S3_SECRET_KEY
    format: csv
    columns: [id, name]
    compression: none
Y
"$MARTFLOW" run "$TMP/p.yaml" >"$TMP/log" 2>&1 || { cat "$TMP/log" >&2; fail "the pipeline failed"; }

s3curl_keys "$S3_PREFIX/lines/" >"$TMP/keys" || fail "curl cannot list the objects"
n=$(wc -l <"$TMP/keys")
((n >= 5)) || fail "expected several objects of at most 64 KiB, got $n"
day=$(date -u +%Y/%m/%d)
: >"$TMP/all"
while IFS= read -r key; do
    [[ $key =~ ^$S3_PREFIX/lines/t1/$day/([0-9]+)-([0-9]+)-([0-9]+)\.jsonl\.gz$ ]] || fail "key $key does not follow the template"
    count=${BASH_REMATCH[3]}
    s3curl_get "$key" "$TMP/obj.gz" || fail "curl cannot read $key"
    gunzip -c "$TMP/obj.gz" >"$TMP/obj" || fail "$key is not gzip"
    assert_lines "$count" "$TMP/obj" "records in $key"
    cat "$TMP/obj" >>"$TMP/all"
done <"$TMP/keys"
sort "$TMP/all" >"$TMP/all.sorted"
sort "$TMP/in.jsonl" | cmp -s - "$TMP/all.sorted" || fail "the objects do not hold every record exactly once"

s3curl_keys "$S3_PREFIX/csv/" >"$TMP/csvkeys"
assert_lines 1 "$TMP/csvkeys" "CSV objects"
s3curl_get "$(cat "$TMP/csvkeys")" "$TMP/csv" || fail "curl cannot read the CSV object"
assert_eq 'id,name' "$(head -n1 "$TMP/csv")" "CSV header"
assert_eq '7,"n,7 ""q"""' "$(sed -n 8p "$TMP/csv")" "CSV quoting"
assert_lines $((N + 1)) "$TMP/csv" "CSV lines"

# a wrong secret: fatal, the message names bucket and endpoint, never the secret
sed -e "s/$S3_SECRET_KEY/wrong-secret-q7Zx/" "$TMP/p.yaml" >"$TMP/bad.yaml"
RC=0
"$MARTFLOW" run "$TMP/bad.yaml" >"$TMP/badlog" 2>&1 || RC=$?
((RC != 0)) || fail "a wrong secret did not fail the run"
assert_contains "$TMP/badlog" "SignatureDoesNotMatch" "the server's verdict is logged"
assert_contains "$TMP/badlog" "bucket $S3_BUCKET at $S3_ENDPOINT" "bucket and endpoint named"
if grep -q "wrong-secret-q7Zx\|$S3_SECRET_KEY" "$TMP/badlog"; then fail "a secret appears in the log"; fi
exit 0
