#!/usr/bin/env bash
# Savepoints on s3:// (the real versitygw), checkpoints on s3:// too, under a
# prefix of this test: savepoint --stop mid-stream, start from it
# (tests/gsp/savepoint_lib.sh): run 1 + run 2 wrote exactly the clean run's
# facts. The savepoint's manifest and objects are in the bucket (listed by
# curl), and the secret key (read from settings.s3_secret_file) is in no log.
source "$top_srcdir/tests/s3/s3_lib.sh"
source "$top_srcdir/tests/gsp/savepoint_lib.sh"

sp_make_input
sp_clean_run
SP=s3://$S3_BUCKET/$S3_PREFIX/savepoints
# the keys from a secret file, as a deployment mounts them (settings.s3_secret_file)
printf '{"accessKey": "%s", "secretKey": "%s"}\n' "$S3_ACCESS_KEY" "$S3_SECRET_KEY" >"$TMP/s3-secret.json"
SP_SETTINGS="checkpoints: 's3://$S3_BUCKET/$S3_PREFIX/ckpt', savepoints: '$SP',
    s3_endpoint: '\${env:S3_ENDPOINT}', s3_region: '\${env:S3_REGION}', s3_secret_file: '$TMP/s3-secret.json',
    s3_path_style: true,"
sp_flow s3 "$SP"
assert_eq "$SP/sp-00000000000000000001" "$SP_URL" "the savepoint's URL"
s3curl_keys "$S3_PREFIX/savepoints/" >"$TMP/keys" || fail "curl cannot list the savepoints"
assert_contains "$TMP/keys" "^$S3_PREFIX/savepoints/sp-00000000000000000001/MANIFEST$" "the savepoint's manifest on S3"
assert_contains "$TMP/keys" "^$S3_PREFIX/savepoints/sp-00000000000000000001/ct/1$" "worker 1's state on S3"
if grep -q "$S3_SECRET_KEY" "$TMP"/s3/*.log "$TMP"/s3/sp.*; then fail "the secret key is in a log"; fi
