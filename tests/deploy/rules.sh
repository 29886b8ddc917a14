#!/usr/bin/env bash
# promtool (Debian's prometheus) on the alerts of every rendered
# PrometheusRule (charts/gsp, gca-monitoring, gim-monitoring): `check rules`,
# then `test rules` (tests/deploy/rules/*.test.yaml): each alert fires on the
# series it is written for, and stays quiet on healthy ones.
source "$top_srcdir/tests/lib.sh"
source "$top_srcdir/tests/deploy/render.sh"
command -v promtool >/dev/null || fail "promtool not found: tests/install-deps.sh test (Debian's prometheus)"
[[ -x /usr/local/go/bin/go ]] && export PATH=$PATH:/usr/local/go/bin

render_all "$TMP/out"
# the spec of each PrometheusRule is a Prometheus rule file ({groups: ...})
for f in gsp_default gca-monitoring_default gim-monitoring_default; do
    python3 - "$TMP/out/$f.yaml" "$TMP/$f.rules.yaml" <<'PY' || fail "$f: no PrometheusRule"
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d and d.get("kind") == "PrometheusRule"]
assert len(docs) == 1, len(docs)
yaml.safe_dump(docs[0]["spec"], open(sys.argv[2], "w"), sort_keys=False)
PY
    promtool check rules "$TMP/$f.rules.yaml" >"$TMP/check.log" 2>&1 || { cat "$TMP/check.log" >&2; fail "promtool check rules $f"; }
    assert_contains "$TMP/check.log" 'SUCCESS: [1-9][0-9]* rules found' "promtool check rules $f"
done
# a broken expression must fail the check (the check itself works)
sed 's/martflow_up{/martflow_up{{/' "$TMP/gsp_default.rules.yaml" >"$TMP/broken.rules.yaml"
if promtool check rules "$TMP/broken.rules.yaml" >/dev/null 2>&1; then fail "promtool accepted a broken expression"; fi

rm -f "$TMP/broken.rules.yaml"
cp "$top_srcdir"/tests/deploy/rules/*.test.yaml "$TMP/"
for t in "$TMP"/*.test.yaml; do
    (cd "$TMP" && promtool test rules "${t##*/}") >"$TMP/test.log" 2>&1 || { cat "$TMP/test.log" >&2; fail "promtool test rules ${t##*/}"; }
    assert_contains "$TMP/test.log" SUCCESS "promtool test rules ${t##*/}"
done
note "$(ls "$TMP"/*.test.yaml | wc -l) rule test files passed"
# docs/operations.md's alert table is the rules'
chk=(--check); [[ -z ${MF_REGEN_DOCS:-} ]] || chk=()
python3 "$top_srcdir/docs/gen-operations.py" "${chk[@]}" alerts "$top_srcdir/docs/operations.md" \
    "$TMP/gsp_default.rules.yaml" "$TMP/gca-monitoring_default.rules.yaml" "$TMP/gim-monitoring_default.rules.yaml" ||
    fail "docs/operations.md: the alerts table is not current (MF_REGEN_DOCS=1 make check TESTS=tests/deploy/rules.sh rewrites it)"
