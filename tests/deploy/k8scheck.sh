#!/usr/bin/env bash
# The rendered manifests of every chart, decoded strictly into the Kubernetes
# API types (k8s.io/api, sigs.k8s.io/yaml: an unknown field fails) by the Go
# test in tests/deploy/k8scheck/, which asserts ports, probes, the security
# context, secret references, the env names the pipelines read and that no
# secret value is in plain text (tests/deploy/render.sh's fake values).
# Go modules come from the module proxy into Go's module cache (outside the tree).
source "$top_srcdir/tests/lib.sh"
source "$top_srcdir/tests/deploy/render.sh"
[[ -x /usr/local/go/bin/go ]] && export PATH=$PATH:/usr/local/go/bin
command -v go >/dev/null || fail "go not found (Go >= 1.25 on PATH or /usr/local/go/bin)"

render_all "$TMP/out"
mkdir -p "$TMP/rules"
# GOCACHE, GOFLAGS: the build cache in the test's dir would be rebuilt every
# time; Go's default cache is outside the tree too.
(cd "$top_srcdir/tests/deploy/k8scheck" &&
    K8SCHECK_DIR=$TMP/out K8SCHECK_PIPELINES=$top_srcdir/pipelines K8SCHECK_SRC=$top_srcdir \
    K8SCHECK_FAKE=$FAKE_SECRETS K8SCHECK_RULES_OUT=$TMP/rules \
    GOTOOLCHAIN=local GOFLAGS=-mod=readonly go test -count=1 -v ./... ) >"$TMP/go.log" 2>&1 ||
    { cat "$TMP/go.log" >&2; fail "k8scheck"; }
grep -E '^(--- |ok|PASS|FAIL)' "$TMP/go.log" >&2
assert_contains "$TMP/go.log" '^--- PASS: TestNoSecretInPlainText' "no secret in plain text"
assert_contains "$TMP/go.log" '^--- PASS: TestEnvNamesArePipelines' "env names"
assert_eq 0 "$(grep -c '^--- FAIL' "$TMP/go.log" || true)" "failed Go tests"
# the belt to the Go test's braces: no fake value outside a Secret, by text
for f in "$TMP"/out/*.yaml; do
    awk -v RS='\n---\n' '!/\nkind: Secret\n/' "$f" >"$TMP/nonsecret"
    for v in ${FAKE_SECRETS//,/ }; do
        if grep -q -- "$v" "$TMP/nonsecret"; then fail "${f##*/}: $v outside a Secret"; fi
    done
done
grep -q -- FAKE-cfgdb-pw-91c2 "$TMP/out/gca_fake.yaml" || fail "the fake cfgdb password is in no manifest"
