#!/usr/bin/env bash
# martflow/objstore.h and the S3 client against the real versitygw (SigV4 and
# payload hashes checked): the suite of tests/s3/test_objstore.c, then an
# independent client (curl --aws-sigv4) reads what ours wrote and ours reads
# what curl wrote.
source "$top_srcdir/tests/s3/s3_lib.sh"

MF_TEST_STORE=s3://$S3_BUCKET "$top_builddir/tests/s3/test_objstore" >"$TMP/out" 2>&1 ||
    { cat "$TMP/out" >&2; fail "test_objstore over s3:// failed"; }
grep -q 'Suite: objstore s3' "$TMP/out" || fail "the S3-only cases did not run"
run=$(sed -n 's|^store: s3://[^/]*/||p' "$TMP/out")
[[ $run == run-* ]] || fail "no run prefix in the test output"

# curl reads the small objects the suite wrote: each holds its own key
for key in "lk/a b" "lk/a+b" "lk/a%b" "lk/a=b" "lk/é" "lk/z/deep/er"; do
    s3curl_get "$run/$key" "$TMP/got" || fail "curl cannot read $run/$key"
    assert_eq "$key" "$(cat "$TMP/got")" "content of $key read by curl"
done
# curl lists the 1,105 keys (two pages) the suite wrote through our client
s3curl_keys "$run/many/" >"$TMP/keys" || fail "curl cannot list $run/many/"
assert_lines 1105 "$TMP/keys" "keys listed by curl"
assert_eq "$run/many/k00000" "$(head -n1 "$TMP/keys")" "first key"
assert_eq "$run/many/k01104" "$(tail -n1 "$TMP/keys")" "last key"
# the abandoned multipart upload was aborted: none left in progress
assert_eq 0 "$(s3curl_uploads "$run/")" "multipart uploads left in progress"

# a multipart object (5 MiB parts) through our client, read back by curl
head -c $((5 * 1024 * 1024 + 1)) /dev/urandom >"$TMP/big"
MF_PART_SIZE=$((5 * 1024 * 1024)) "$OBJCLI" put "s3://$S3_BUCKET/$S3_PREFIX" "big file+%=é.bin" "$TMP/big" ||
    fail "objcli put of a multipart object failed"
s3curl_get "$S3_PREFIX/big file+%=é.bin" "$TMP/big.curl" || fail "curl cannot read the multipart object"
cmp -s "$TMP/big" "$TMP/big.curl" || fail "curl read other bytes than our client wrote"
# and the other way: curl -T writes, our client reads and lists
printf 'written by curl\n' >"$TMP/small"
s3curl_put "$S3_PREFIX/from curl/x+y=z é" "$TMP/small" || fail "curl -T failed"
"$OBJCLI" get "s3://$S3_BUCKET/$S3_PREFIX" "from curl/x+y=z é" "$TMP/small.ours" || fail "objcli get failed"
cmp -s "$TMP/small" "$TMP/small.ours" || fail "our client read other bytes than curl wrote"
"$OBJCLI" list "s3://$S3_BUCKET/$S3_PREFIX" >"$TMP/ours.list" || fail "objcli list failed"
assert_contains "$TMP/ours.list" '^16 from curl/x\+y=z é$' "our listing of curl's object"
assert_contains "$TMP/ours.list" '^5242881 big file\+%=é\.bin$' "our listing of the multipart object"
exit 0
