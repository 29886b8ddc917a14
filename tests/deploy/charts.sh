#!/usr/bin/env bash
# helm lint --strict and helm template of every chart (charts/) with the
# default values and with the guide's OpenShift and GKE example values
# (charts/<svc>/examples/), by the pinned helm of tests/deploy/helm.sh.
source "$top_srcdir/tests/lib.sh"
source "$top_srcdir/tests/deploy/render.sh"

"${HELM[@]}" version --short >"$TMP/version" 2>&1 || { cat "$TMP/version" >&2; fail "no helm"; }
assert_contains "$TMP/version" '^v3\.' "the pinned helm"
n=0
for c in gca gsp gim gca-monitoring gim-monitoring; do
    vals=("")
    [[ -d $CHARTS/$c/examples ]] && vals+=("$CHARTS/$c/examples/openshift.yaml" "$CHARTS/$c/examples/gke.yaml")
    for f in "${vals[@]}"; do
        a=(); [[ -n $f ]] && a=(-f "$f")
        if ! "${HELM[@]}" lint --strict "$CHARTS/$c" "${a[@]}" >"$TMP/lint" 2>&1; then
            cat "$TMP/lint" >&2; fail "helm lint --strict $c ${f##*/}"
        fi
        assert_contains "$TMP/lint" '1 chart\(s\) linted, 0 chart\(s\) failed' "lint $c ${f##*/}"
        n=$((n + 1))
    done
done
assert_eq 11 "$n" "charts linted (5 charts, 3 with two example values each)"

render_all "$TMP/out"
for f in "$TMP"/out/*.yaml; do
    grep -q '^kind: ' "$f" || fail "${f##*/}: no manifest rendered"
done
assert_eq 16 "$(ls "$TMP"/out/*.yaml | wc -l)" "rendered files"
# the guide's s3p:// example paths become martflow's s3:// locations
assert_contains "$TMP/out/gsp_openshift.yaml" 'value: "s3://gim-3f7ac1ab-03b9-445b-ba12-137d4bbc3c38/gsp/checkpoints"' "GSP checkpoints from the guide's gspPrefix"
assert_contains "$TMP/out/gsp_gke.yaml" 'value: "s3://test-example-bucket-one/gca"' "GSP's GCA snapshots"
assert_contains "$TMP/out/gca_gke.yaml" 'value: "s3://test-example-bucket-one/gca"' "GCA's snapshots: the same location as GSP's"
assert_contains "$TMP/out/gca_openshift.yaml" 'value: "https://s3.openshift-storage.svc:443"' "GCA's endPoint/port/useSSL"
assert_contains "$TMP/out/gim_openshift.yaml" 'value: "s3://gim-3f7ac1ab-03b9-445b-ba12-137d4bbc3c38"' "GIM's export bucket"
# the same values under job.storage (where the guide's own templates keep them) render the same
"${HELM[@]}" template gsp "$CHARTS/gsp" -n gsp --set job.storage.gspPrefix='s3p://bkt/{{ .Release.Name }}/' >"$TMP/job.yaml" || fail "job.storage"
assert_contains "$TMP/job.yaml" 'value: "s3://bkt/gsp/savepoints"' "job.storage.gspPrefix"

# what must not render
if "${HELM[@]}" template gsp "$CHARTS/gsp" --set azure.enabled=true >"$TMP/azure" 2>&1; then fail "azure.enabled=true rendered"; fi
assert_contains "$TMP/azure" 'martflow has no Azure Blob store' "azure.enabled refused"
if "${HELM[@]}" template gsp "$CHARTS/gsp" --set 'storage.gspPrefix=wasbs://c@h/' >"$TMP/wasbs" 2>&1; then fail "a wasbs:// prefix rendered"; fi
assert_contains "$TMP/wasbs" 'Azure Blob storage' "wasbs:// refused"
note "11 lints, 16 renderings, 3 refusals"
