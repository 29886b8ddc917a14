# tests/deploy/render.sh — render every chart with helm template (sourced by
# the tests in tests/deploy/, after tests/lib.sh).
#
# render_all DIR: DIR/<chart>_<variant>.yaml for
#   gca, gsp, gim:  default (values.yaml), openshift and gke (the guide's
#                   example values, charts/<svc>/examples/), fake (every
#                   password and key set to a known fake value: $FAKE_SECRETS)
#   gca-monitoring, gim-monitoring: default, tenant (tenant_id t100, as the examples)
# The release name is the service's, in its namespace (the guide's
# `helm upgrade --install gsp ... -n gsp`).
HELM=("$top_srcdir/tests/deploy/helm.sh")
CHARTS=$top_srcdir/charts

FAKE_SECRETS=FAKE-kafka-pw-7f3a,FAKE-cfgdb-pw-91c2,FAKE-gimdb-pw-5d07,FAKE-s3-access-3b8e,FAKE-s3-secret-c4a1,FAKE-im-pw-e26f,FAKE-export-access-0a9b,FAKE-export-secret-88d3
fake_set() { # the --set of the fake variant per service
    case $1 in
    gca) echo "tenant_id=t100,cfgdb.host=cfgdb,cfgdb.name=cfg,cfgdb.username=gca,cfgdb.password=FAKE-cfgdb-pw-91c2,gimdb.password=FAKE-gimdb-pw-5d07,kafka.bootstrap=k:9092,kafka.password=FAKE-kafka-pw-7f3a,storage.s3.bucket=b,storage.s3.endPoint=s3.example,storage.s3.accessKey=FAKE-s3-access-3b8e,storage.s3.secretKey=FAKE-s3-secret-c4a1" ;;
    gsp) echo "tenant_id=t100,kafka.bootstrap=k:9092,storage.gspPrefix=s3p://b/gsp/,storage.gcaSnapshots=s3p://b/gca,storage.s3.endpoint=https://s3.example,storage.s3.accessKey=FAKE-s3-access-3b8e,storage.s3.secretKey=FAKE-s3-secret-c4a1" ;;
    gim) echo "tenant_id=t100,kafka.bootstrap=k:9092,kafka.password=FAKE-kafka-pw-7f3a,db.host=im,db.name=im,db.username=gim,db.password=FAKE-im-pw-e26f,s3_storage_enabled=true,gim_export.output_directory=b/export,s3_storage.account.entrypoint=s3.example,s3_storage.account.accessKey=FAKE-export-access-0a9b,s3_storage.account.secretKey=FAKE-export-secret-88d3" ;;
    esac
}

render_all() {
    local out=$1 svc v
    mkdir -p "$out"
    for svc in gca gsp gim; do
        "${HELM[@]}" template "$svc" "$CHARTS/$svc" -n "$svc" >"$out/${svc}_default.yaml" || fail "helm template $svc"
        for v in openshift gke; do
            "${HELM[@]}" template "$svc" "$CHARTS/$svc" -n "$svc" -f "$CHARTS/$svc/examples/$v.yaml" \
                >"$out/${svc}_$v.yaml" || fail "helm template $svc -f examples/$v.yaml"
        done
        "${HELM[@]}" template "$svc" "$CHARTS/$svc" -n "$svc" --set "$(fake_set "$svc")" \
            >"$out/${svc}_fake.yaml" || fail "helm template $svc (fake secrets)"
    done
    for svc in gca gim; do
        "${HELM[@]}" template "$svc-monitoring" "$CHARTS/$svc-monitoring" -n "$svc" \
            >"$out/$svc-monitoring_default.yaml" || fail "helm template $svc-monitoring"
        "${HELM[@]}" template "$svc-monitoring" "$CHARTS/$svc-monitoring" -n "$svc" --set tenant_id=t100 \
            >"$out/$svc-monitoring_tenant.yaml" || fail "helm template $svc-monitoring tenant_id=t100"
    done
}
