#!/usr/bin/env bash
# martflow/objstore.h over file:///DIR: the suite of tests/s3/test_objstore.c,
# plus what only a directory can show (no staging file left, nothing partial).
source "$top_srcdir/tests/lib.sh"
MF_TEST_STORE=file://$TMP/store "$top_builddir/tests/s3/test_objstore" >"$TMP/out" 2>&1 ||
    { cat "$TMP/out" >&2; fail "test_objstore over file:// failed"; }
grep -q 'Run Summary' "$TMP/out" || fail "no CUnit summary"
# every writer was committed or freed: the staging directory is empty
left=$(find "$TMP/store" -path '*/.mf-tmp/*' | wc -l)
assert_eq 0 "$left" "staging files left behind"
# a key is a plain file under the directory, named as given
stored=("$TMP"/store/run-*/odd/"unicodé ✓ 日本")
[[ -f ${stored[0]} ]] || fail "key with unicode not stored as its file"
exit 0
