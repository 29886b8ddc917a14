#!/usr/bin/env bash
# A real Prometheus (Debian's) on 127.0.0.1 scrapes a running GSP
# (pipelines/gsp.yaml over the test broker), GIM (pipelines/gim.yaml into
# the test PostgreSQL) and GCA (pipelines/gca.yaml from the cfgdb sample) every second and evaluates the charts' own rules
# (charts/gsp, charts/gim-monitoring, rendered by helm with `for: 0s`), the
# targets labelled as the PodMonitors' would be (namespace, pod):
#   - `promtool check metrics` parses each service's /metrics and finds no
#     problem but the guide's own names' (camelCase, a counter without
#     _total) and two _ms watermarks;
#   - with only the configuration read, GspUnknownPerson and GspFlinkJobDown
#     are quiet; then tests/scenarios/cfg_enrichment (3 events naming agents
#     the configuration does not know): GspUnknownPerson fires for tenant t1;
#   - queries of the HTTP API return numCallsCreated (the calls of the
#     input), the unknown-person count (3), and GIM's
#     gim_kafka_timestamp_millis (the newest produced timestamp, within the
#     produce window) and gim_kafka_timestamp_behind (> 0);
#   - docs/operations.md's table of every metric is what the three exposed.
source "$top_srcdir/tests/kafka/kafka_lib.sh"
source "$top_srcdir/tests/gim/gim_lib.sh" # its PGDATABASE is the test's database
source "$top_srcdir/tests/deploy/render.sh"
command -v prometheus >/dev/null || fail "prometheus not found: tests/install-deps.sh test (Debian's prometheus)"
command -v promtool >/dev/null || fail "promtool not found"
PROM_PID=
trap 'kafka_cleanup; [[ -z $PROM_PID ]] || { kill "$PROM_PID" 2>/dev/null; wait "$PROM_PID" 2>/dev/null; }
      PGDATABASE=postgres psql -q -c "DROP DATABASE IF EXISTS ${CFGDB:-none} WITH (FORCE)" >/dev/null 2>&1 || true; sink_cleanup' EXIT

IN=$(name voice) CFG=$(name gcacfg) IXN=$(name ixn) SM=$(name sm) GCFG=$(name gspcfg)
GI=$(name gim-ixn) GS=$(name gim-sm) GC=$(name gim-cfg)
for t in "$IN" "$CFG" "$IXN" "$SM" "$GCFG" "$GS" "$GC"; do topic "$t" 1; done
topic "$GI" 2

# the charts' rules, as they would be installed (release gsp in namespace gsp,
# gim-monitoring in gim), without the 5 minutes' wait
"${HELM[@]}" template gsp "$CHARTS/gsp" -n gsp --set prometheusRule.for=0s >"$TMP/gsp.yaml" || fail "helm template gsp"
"${HELM[@]}" template gim-monitoring "$CHARTS/gim-monitoring" -n gim --set prometheusRule.for=0s >"$TMP/gimm.yaml" ||
    fail "helm template gim-monitoring"
for f in gsp gimm; do
    python3 - "$TMP/$f.yaml" "$TMP/$f.rules.yaml" <<'PY' || fail "$f: no PrometheusRule"
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d and d.get("kind") == "PrometheusRule"]
assert len(docs) == 1
yaml.safe_dump(docs[0]["spec"], open(sys.argv[2], "w"), sort_keys=False)
PY
done

# GSP, following; the configuration first
split_scenario() {
    python3 - "$top_srcdir/tests/scenarios/cfg_enrichment.events.jsonl" "$TMP/cfg.tsv" "$TMP/in.tsv" <<'PY'
import json, sys
cfg, ev = open(sys.argv[2], "w"), open(sys.argv[3], "w")
calls = set()
for line in open(sys.argv[1]):
    e = json.loads(line)
    if "type" in e:
        cfg.write(e["key"] + "\t" + line.strip() + "\n")
    else:
        calls.add((e["key"], e["ConnID"]))
        k = e.pop("key")
        ev.write(k + "\t" + json.dumps(e) + "\n")
print(len(calls))
PY
}
CALLS=$(split_scenario) || fail "cannot split the scenario"
produce "$CFG" "$TMP/cfg.tsv"
export KAFKA_BOOTSTRAP=$B TOPIC_VOICE_CALLTHREAD=$IN TOPIC_GCA_CFG=$CFG TOPIC_GSP_IXN=$IXN TOPIC_GSP_SM=$SM
export TOPIC_GSP_CFG=$GCFG TOPIC_VOICE_AGENTSTATE= TOPIC_VOICE_OUTBOUND= TOPIC_GSP_OUTBOUND= TOPIC_DIGITAL_ITX= TOPIC_DIGITAL_AGENTSTATE=
TENANT_ID="promtest-$RUN_ID" GSP_METRICS_LISTEN=127.0.0.1:0 GSP_DEAD_LETTER=$TMP/dead.jsonl \
    "$MARTFLOW" run "$top_srcdir/pipelines/gsp.yaml" >"$TMP/gsp.log" 2>&1 &
ENGINE_PIDS+=("$!")
gsp_port=$(metrics_port "$TMP/gsp.log")

# GIM, following, on topics of its own (generated GSP records)
$GEN 300 --keyed >"$TMP/all.tsv"
for d in ixn sm cfg; do awk -F'\t' -v d="$d" '$1 == d { print $2 "\t" $3 }' "$TMP/all.tsv" >"$TMP/gim-$d.tsv"; done
t0=$(($(date +%s%3N) - 1))
produce "$GI" "$TMP/gim-ixn.tsv"; produce "$GS" "$TMP/gim-sm.tsv"; produce "$GC" "$TMP/gim-cfg.tsv"
t1=$(($(date +%s%3N) + 1))
env KAFKA_BOOTSTRAP="$B" TENANT_ID=t1 GIM_CYCLE=300ms GIM_METRICS_LISTEN=127.0.0.1:0 GIM_KAFKA_GROUP="$(name g)" \
    GIM_SCHEMA_DIR="$top_srcdir/plugins/gim/sql" TOPIC_GSP_IXN="$GI" TOPIC_GSP_SM="$GS" TOPIC_GSP_CFG="$GC" \
    TOPIC_GSP_OUTBOUND= TOPIC_GSP_CUSTOM= "$MARTFLOW" run "$top_srcdir/pipelines/gim.yaml" >"$TMP/gim.log" 2>&1 &
ENGINE_PIDS+=("$!")
gim_port=$(metrics_port "$TMP/gim.log")

# GCA, following, from a configuration database of its own (the sample)
CFGDB=mf_prom_cfg_$$
PGDATABASE=postgres psql -q -c "CREATE DATABASE $CFGDB" || fail "cannot create $CFGDB"
PGDATABASE=$CFGDB psql -q -f "$top_srcdir/plugins/gca/sql/schema.sql" -f "$top_srcdir/plugins/gca/sql/sample.sql" >/dev/null ||
    fail "cannot load the cfgdb sample"
GCAT=$(name gca-cfg)
env KAFKA_BOOTSTRAP="$B" TENANT_ID=t1 CFGDB_HOST="$PGHOST" CFGDB_PORT="$PGPORT" CFGDB_USER="$PGUSER" CFGDB_DATABASE="$CFGDB" \
    TOPIC_GCA_CFG="$GCAT" GCA_POLL=1s GCA_METRICS_LISTEN=127.0.0.1:0 GCA_DEAD_LETTER="$TMP/gca-dead.jsonl" \
    MARTFLOW_DATA_DIR="$TMP/gca-data" "$MARTFLOW" run "$top_srcdir/pipelines/gca.yaml" >"$TMP/gca.log" 2>&1 &
ENGINE_PIDS+=("$!")
TOPICS+=("$GCAT")
gca_port=$(metrics_port "$TMP/gca.log")

# Prometheus
prom_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$TMP/prometheus.yml" <<YML
global: {scrape_interval: 1s, evaluation_interval: 1s}
rule_files: [$TMP/gsp.rules.yaml, $TMP/gimm.rules.yaml]
scrape_configs:
  - job_name: gsp/gsp
    static_configs: [{targets: ["127.0.0.1:$gsp_port"], labels: {namespace: gsp, pod: gsp-5f7c9-x2d4q, container: gsp}}]
  - job_name: gim/gim
    static_configs: [{targets: ["127.0.0.1:$gim_port"], labels: {namespace: gim, pod: gim-t1-6b8d-q9z2, container: gim}}]
  - job_name: gca/gca
    static_configs: [{targets: ["127.0.0.1:$gca_port"], labels: {namespace: gca, pod: gca-t1-7c4f-m3k8, container: gca}}]
YML
promtool check config "$TMP/prometheus.yml" >"$TMP/pc.log" 2>&1 || { cat "$TMP/pc.log" >&2; fail "promtool check config"; }
prometheus --config.file="$TMP/prometheus.yml" --storage.tsdb.path="$TMP/tsdb" \
    --web.listen-address="127.0.0.1:$prom_port" >"$TMP/prometheus.log" 2>&1 &
PROM_PID=$!
P=http://127.0.0.1:$prom_port
wait_for 30 curl -fs -o /dev/null "$P/-/ready" || { tail -5 "$TMP/prometheus.log" >&2; fail "Prometheus not ready"; }

# query EXPR: the value of its single sample ("" when none)
query() {
    curl -fsS -G "$P/api/v1/query" --data-urlencode "query=$1" |
        python3 -c 'import json, sys; r = json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if len(r) == 1 else "")'
}
is() { [[ $(query "$1") == "$2" ]]; }
firing() { # firing ALERT [LABEL=VALUE]: the alert is firing (with that label)
    curl -fsS "$P/api/v1/alerts" | python3 -c '
import json, sys
a = [x for x in json.load(sys.stdin)["data"]["alerts"] if x["labels"]["alertname"] == sys.argv[1] and x["state"] == "firing"]
want = dict(kv.split("=", 1) for kv in sys.argv[2:])
sys.exit(0 if any(all(x["labels"].get(k) == v for k, v in want.items()) for x in a) else 1)' "$@"
}

# check_metrics FILE WHO: promtool check metrics parses it and finds no
# problem but known, accepted ones: the guide's names (GSP's Flink names in
# camelCase, GIM's gim_failed_jobsteps counter without _total and the
# applicationName label of gim_server_state), kept so its dashboards work,
# and the _ms of the callthread watermarks (epoch milliseconds, as Flink's).
check_metrics() {
    local rc=0
    promtool check metrics <"$1" >"$TMP/cm.log" 2>&1 || rc=$?
    grep -q 'error while linting' "$TMP/cm.log" && { cat "$TMP/cm.log" >&2; fail "promtool check metrics: $2: not parsed"; }
    if grep -vE "^flink_[A-Za-z_]+ metric names should be written in 'snake_case' not 'camelCase'$|^martflow_callthread_(in|out)put_watermark_ms metric names should not contain abbreviated units$|^gim_failed_jobsteps counter metrics should have \"_total\" suffix$|^gim_server_state label names should be written in 'snake_case' not 'camelCase'$" \
        "$TMP/cm.log" >"$TMP/cm.other"; then
        cat "$TMP/cm.other" >&2; fail "promtool check metrics: $2 (rc $rc)"
    fi
    (($(wc -l <"$1") > 20)) || fail "$2 /metrics: too short"
}

# the targets are up; the configuration was read: nothing to alert on
wait_for 20 is 'sum(up{namespace="gsp"})' 1 || fail "Prometheus does not scrape GSP: $(query 'up{namespace="gsp"}')"
wait_for 20 is 'sum(up{namespace="gim"})' 1 || fail "Prometheus does not scrape GIM"
wait_for 20 is 'sum(up{namespace="gca"})' 1 || fail "Prometheus does not scrape GCA"
wait_for 30 metric_at_least "$gsp_port" martflow_callthread_config_records_total 5 || fail "GSP did not read the configuration"
wait_for 10 is 'martflow_up{namespace="gsp"}' 1 || fail "martflow_up of GSP"
sleep 3 # a few evaluations
if firing GspUnknownPerson; then fail "GspUnknownPerson fires before any event"; fi
if firing GspFlinkJobDown; then fail "GspFlinkJobDown fires while GSP runs"; fi
if firing GspNoTmRegistered; then fail "GspNoTmRegistered fires while GSP is scraped"; fi
curl -fsS "http://127.0.0.1:$gsp_port/metrics" >"$TMP/gsp.metrics" || fail "GSP /metrics"
check_metrics "$TMP/gsp.metrics" GSP

# the events: 3 name unknown agents
produce "$IN" "$TMP/in.tsv"
F=flink_taskmanager_job_task_operator
wait_for 30 is "sum(${F}_numCallsCreated{namespace=\"gsp\"})" "$CALLS" ||
    fail "numCallsCreated in Prometheus: '$(query "sum(${F}_numCallsCreated)")', want $CALLS"
wait_for 30 is "sum(${F}_tenant_error_total{namespace=\"gsp\", tenant=\"t1\", error=\"unknown_person\"})" 3 ||
    fail "unknown persons in Prometheus: '$(query "${F}_tenant_error_total")', want 3"
wait_for 20 firing GspUnknownPerson tenant=t1 severity=high namespace=gsp || fail "GspUnknownPerson did not fire"
note "GspUnknownPerson fired (tenant t1); numCallsCreated $CALLS"
curl -fsS "http://127.0.0.1:$gsp_port/metrics" >"$TMP/gsp-all.metrics" || fail "GSP /metrics"

# GIM: loaded, its Kafka gauges as the run produced them
wait_for 60 curl -fs -o /dev/null "http://127.0.0.1:$gim_port/readyz" || fail "GIM not ready"
wait_for 20 is "gim_server_state{namespace=\"gim\"}" 1 || fail "gim_server_state in Prometheus: '$(query gim_server_state)'"
ts=$(query "max(gim_kafka_timestamp_millis{namespace=\"gim\", topic=\"$GI\"})")
[[ -n $ts ]] && ((${ts%.*} >= t0 && ${ts%.*} <= t1)) || fail "gim_kafka_timestamp_millis $ts not within the produce window [$t0, $t1]"
wait_for 10 is "count(gim_kafka_timestamp_behind{namespace=\"gim\", topic=\"$GI\"} > 0)" 2 ||
    fail "gim_kafka_timestamp_behind of $GI's 2 partitions: '$(query "gim_kafka_timestamp_behind{topic=\"$GI\"}")'"
if firing GimEtlFailing; then fail "GimEtlFailing fires while the loader succeeds"; fi
curl -fsS "http://127.0.0.1:$gim_port/metrics" >"$TMP/gim.metrics" || fail "GIM /metrics"
check_metrics "$TMP/gim.metrics" GIM
# GCA: published the sample (its change set counted), /metrics parsed
wait_for 30 metric_at_least "$gca_port" martflow_configdb_change_sets_total 1 || { tail -3 "$TMP/gca.log" >&2; fail "GCA published no change set"; }
wait_for 10 is 'sum(martflow_configdb_change_sets_total{namespace="gca"}) >= 1' 1 || fail "GCA's change sets in Prometheus"
curl -fsS "http://127.0.0.1:$gca_port/metrics" >"$TMP/gca.metrics" || fail "GCA /metrics"
check_metrics "$TMP/gca.metrics" GCA
# docs/operations.md's table of every metric is what these three exposed
chk=(--check); [[ -z ${MF_REGEN_DOCS:-} ]] || chk=()
python3 "$top_srcdir/docs/gen-operations.py" "${chk[@]}" metrics "$top_srcdir/docs/operations.md" \
    gca="$TMP/gca.metrics" gsp="$TMP/gsp-all.metrics" gim="$TMP/gim.metrics" ||
    fail "docs/operations.md: the metrics table is not current (MF_REGEN_DOCS=1 make check TESTS=tests/deploy/prometheus.sh rewrites it)"
