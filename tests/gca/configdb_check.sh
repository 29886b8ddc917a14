#!/usr/bin/env bash
# martflow check of pipelines/gca.yaml: valid as shipped; what the option
# types cannot say is refused at check time, at its place: a snapshot
# location that is not s3:// or file:/// (or a bad bucket), a tenant that
# cannot name a snapshot, create_topic without a static topic; s3:// and
# file:/// locations check.
source "$top_srcdir/tests/lib.sh"
gca=$top_srcdir/pipelines/gca.yaml
TENANT_ID=t1 "$MARTFLOW" check "$gca" >"$TMP/ok" 2>&1 || { cat "$TMP/ok" >&2; fail "gca.yaml does not check"; }
assert_contains "$TMP/ok" "OK \(pipeline 'gca', 3 nodes\)" "gca.yaml checks"
TOPIC_GCA_CFG= TENANT_ID=t1 "$MARTFLOW" check "$gca" >/dev/null 2>&1 || fail "an empty topic (the domain disabled) must check"

bad() { # expected-message env...
    local msg=$1 rc=0
    shift
    env "$@" "$MARTFLOW" check "$gca" >"$TMP/out" 2>&1 || rc=$?
    assert_eq 2 "$rc" "check exit status for $*"
    assert_contains "$TMP/out" "$msg" "check message for $*"
}
for loc in s3://bucket/gca/snapshots file:///var/lib/gca; do
    TENANT_ID=t1 GCA_SNAPSHOTS=$loc "$MARTFLOW" check "$gca" >/dev/null 2>&1 || fail "snapshots $loc must check"
done
bad "gca.yaml:[0-9]+:[0-9]+: node 'configdb' \(source configdb\): snapshots: s3://B/p: the bucket name must be" \
    TENANT_ID=t1 GCA_SNAPSHOTS=s3://B/p
bad "snapshots 'rel/dir': give s3://BUCKET/PREFIX or file:///DIR" TENANT_ID=t1 GCA_SNAPSHOTS=rel/dir
bad "node 'configdb' \(source configdb\): tenant must be 1..200 characters" "TENANT_ID=t/1"

cat >"$TMP/p.yaml" <<Y
pipeline: p
sources: {in: {plugin: file, path: /dev/null}}
sinks:
  out: {plugin: kafka, inputs: [in], brokers: "127.0.0.1:1", topic_field: t, create_topic: {partitions: 1}}
  out2: {plugin: kafka, inputs: [in], brokers: "127.0.0.1:1", topic: x, create_topic: {partitions: 0, color: red}}
Y
rc=0; "$MARTFLOW" check "$TMP/p.yaml" >"$TMP/out" 2>&1 || rc=$?
assert_eq 2 "$rc" "create_topic problems fail the check"
assert_contains "$TMP/out" "p.yaml:4:[0-9]+: node 'out' \(sink kafka\): create_topic needs a static .topic." "create_topic without topic"
assert_contains "$TMP/out" "p.yaml:5:[0-9]+: node 'out2' \(sink kafka\): create_topic.partitions must be an integer from 1 to 100000" "bad partitions"
