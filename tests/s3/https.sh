#!/usr/bin/env bash
# S3 over HTTPS, against the second gateway of tests/services.sh (TLS with a
# test CA, virtual-host addressing under localhost): the object store with
# the CA file, path-style and virtual-host; refused without the CA (a clear
# fatal error naming the endpoint), accepted with `insecure`; then the s3
# sink and the checkpoint store over https, read back over plain http
# (the same data behind both gateways).
source "$top_srcdir/tests/s3/s3_lib.sh"
[[ -n ${S3_HTTPS_ENDPOINT:-} && -s ${S3_CA_FILE:-} ]] || fail "tests/services.sh env gave no S3_HTTPS_ENDPOINT / S3_CA_FILE"
TLS_PORT=${S3_HTTPS_ENDPOINT##*:}

head -c 6000000 /dev/urandom >"$TMP/big" # over one 5 MiB part: multipart
printf 'hello over tls\n' >"$TMP/small"

objcli() { "$OBJCLI" "$@"; }

# path-style to 127.0.0.1 (the certificate names the IP), multipart
S3_ENDPOINT=https://127.0.0.1:$TLS_PORT objcli put "s3://$S3_BUCKET/$S3_PREFIX" big "$TMP/big" \
    || fail "multipart put over https (path-style) failed"
S3_ENDPOINT=https://127.0.0.1:$TLS_PORT objcli get "s3://$S3_BUCKET/$S3_PREFIX" big "$TMP/big.back" \
    || fail "get over https failed"
cmp -s "$TMP/big" "$TMP/big.back" || fail "the multipart object read back over https differs"

# virtual-host: BUCKET.localhost
S3_ENDPOINT=$S3_HTTPS_ENDPOINT S3_PATH_STYLE=0 objcli put "s3://$S3_BUCKET/$S3_PREFIX" vh/small "$TMP/small" \
    || fail "put with virtual-host addressing failed"
s3curl_get "$S3_PREFIX/vh/small" "$TMP/small.back" # plain http, path-style, curl
cmp -s "$TMP/small" "$TMP/small.back" || fail "the virtual-host object read back by curl differs"
S3_ENDPOINT=$S3_HTTPS_ENDPOINT S3_PATH_STYLE=0 objcli list "s3://$S3_BUCKET/$S3_PREFIX" vh/ >"$TMP/list" \
    || fail "listing with virtual-host addressing failed"
assert_contains "$TMP/list" "vh/small" "virtual-host listing"

# no CA: the system's bundle does not know the test CA -> fatal, and it says where
rc=0
S3_CA_FILE= S3_ENDPOINT=https://127.0.0.1:$TLS_PORT objcli head "s3://$S3_BUCKET/$S3_PREFIX" big 2>"$TMP/noca.err" || rc=$?
assert_eq 3 "$rc" "an unverifiable certificate is fatal (exit 3)"
assert_contains "$TMP/noca.err" "127\.0\.0\.1:$TLS_PORT" "the error names the endpoint"
assert_contains "$TMP/noca.err" "[Cc]ertificate|SSL|TLS" "the error says it is the certificate"
S3_CA_FILE= S3_INSECURE=1 S3_ENDPOINT=https://127.0.0.1:$TLS_PORT objcli head "s3://$S3_BUCKET/$S3_PREFIX" big \
    >/dev/null || fail "insecure: the unverified server should be accepted"

# the s3 sink over https, virtual-host; read back over http by curl
seq 1 500 | sed 's/.*/{"i":&}/' >"$TMP/in.jsonl"
cat >"$TMP/sink.yaml" <<Y
pipeline: s3-https
sources:
  in: {plugin: file, path: "$TMP/in.jsonl", positions: false}
sinks:
  out:
    plugin: s3
    inputs: [in]
    url: s3://$S3_BUCKET/$S3_PREFIX/sink
    endpoint: $S3_HTTPS_ENDPOINT
    path_style: false
    ca_file: $S3_CA_FILE
    access_key: $S3_ACCESS_KEY
    secret_key: $S3_SECRET_KEY
    compression: none
Y
"$MARTFLOW" run "$TMP/sink.yaml" >"$TMP/sink.log" 2>&1 || { cat "$TMP/sink.log" >&2; fail "the s3 sink over https failed"; }
s3curl_keys "$S3_PREFIX/sink/" >"$TMP/keys"
[[ -s $TMP/keys ]] || fail "the s3 sink wrote no object over https"
: >"$TMP/sink.back"
while read -r k; do s3curl_get "$k" "$TMP/obj" && cat "$TMP/obj" >>"$TMP/sink.back"; done <"$TMP/keys"
assert_eq 500 "$(grep -c '"i"' "$TMP/sink.back")" "records the sink stored over https"

# the checkpoint store over https (settings s3_ca_file)
cat >"$TMP/ckpt.yaml" <<Y
pipeline: ckpt-https
settings:
  checkpoints: s3://$S3_BUCKET/$S3_PREFIX/ckpt
  s3_endpoint: https://127.0.0.1:$TLS_PORT
  s3_region: \${env:S3_REGION}
  s3_access_key: \${env:S3_ACCESS_KEY}
  s3_secret_key: \${env:S3_SECRET_KEY}
  s3_path_style: true
  s3_ca_file: $S3_CA_FILE
  checkpoint_interval: 100ms
sources:
  in: {plugin: file, path: "$TMP/in.jsonl", positions: false, follow: true}
sinks:
  out: {plugin: file, inputs: [in], path: "$TMP/ckpt-out.jsonl"}
Y
"$MARTFLOW" run "$TMP/ckpt.yaml" >"$TMP/ckpt.log" 2>&1 &
pid=$!
has_manifest() { s3curl_keys "$S3_PREFIX/ckpt/" >"$TMP/ckeys" && grep -q "/MANIFEST$" "$TMP/ckeys"; }
wait_for 30 has_manifest || { kill "$pid"; cat "$TMP/ckpt.log" >&2; fail "no checkpoint manifest stored over https"; }
kill -TERM "$pid"
wait "$pid" || { cat "$TMP/ckpt.log" >&2; fail "the pipeline with checkpoints over https did not stop cleanly"; }
if grep -qi "checkpoint.*fail" "$TMP/ckpt.log"; then cat "$TMP/ckpt.log" >&2; fail "a checkpoint over https failed"; fi
assert_contains "$TMP/ckpt.log" "pipeline .ckpt-https. finished" "the log was read (it names the end of the run)"
note "https: multipart, virtual-host, CA refused/insecure, sink and checkpoints over TLS"
