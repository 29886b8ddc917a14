#!/usr/bin/env bash
# The three services over real Kafka: pipelines/gca.yaml, gsp.yaml and
# gim.yaml as three martflow processes, configured only through the
# environment names of ARCHITECTURE.md §5, against servers of the test's own
# (tests/services.sh in $TMP/services: Kafka, PostgreSQL, versitygw; stopping
# them disturbs no other test). callgen (600 calls, 20 agents, seed 5) feeds
# voice-callthread and voice-agentstate; the configuration database is the
# cfgdb sample (schema.sql + sample.sql as installed).
#
# Run 1, undisturbed: GCA publishes the configuration; GSP (checkpoints on
# S3) reads it, then the events are produced; GSP is stopped and run again to
# the end of its input (GSP_STOP_AT_END, which closes the last threads); GIM loads until its committed offsets are the topics'
# end offsets. The Info Mart then holds what callgen's plan says, every
# resource named from the configuration (tests/e2e/im_lib.sh).
# Run 2, the same seed into new topics and a second Info Mart, with the events
# paced over about a minute while the three run as services: GSP, GIM and GCA
# are each killed (-9) once and started again; the broker and the database
# are each stopped for 10 s. Its table dumps (im_dump: every dimension and
# fact row, audit keys and load times left out) equal run 1's.
# Secrets: every service reaches Kafka only through the broker's SASL
# listener (KAFKA_SECRET_FILE, mechanism PLAIN: librdkafka 2.0.2 cannot do
# SCRAM with Kafka 4), the databases as roles with a password (SCRAM in
# pg_hba: GCA through CFGDB_PASSWORD_FILE, GIM through PGPASSWORD), S3 with
# its secret key; none of these appears in any line of any log.
PG_PRIVATE=1 # servers of the test's own: it stops them
source "$top_srcdir/tests/postgres/pg_lib.sh"
source "$top_srcdir/tests/e2e/im_lib.sh"
need_kafka
need_s3
[[ -n ${KAFKA_SASL_BOOTSTRAP:-} ]] || fail "the test broker has no SASL listener"
SVC="$top_srcdir/tests/services.sh"
OFFSETS=${top_builddir:-.}/tests/kafka/kafka_offsets
[[ -x $OFFSETS ]] || fail "missing $OFFSETS (built by make check)"
B=$KAFKA_BOOTSTRAP # PLAINTEXT: the test's own look at the topics, never the services'
CALLS=600 AGENTS=20 RATE=0.2 SEED=5

declare -A PID=()
e2e_cleanup() {
    local p
    for p in "${PID[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    for p in "${PID[@]}"; do wait "$p" 2>/dev/null || true; done
    pg_cleanup
}
trap e2e_cleanup EXIT

# ---- the secrets --------------------------------------------------------
CFG_PW="cfgpw-$(od -An -tx1 -N8 /dev/urandom | tr -d ' \n')"
IM_PW="impw-$(od -An -tx1 -N8 /dev/urandom | tr -d ' \n')"
mkdir -p "$TMP/secrets"
printf '{"bootstrap": "%s", "username": "%s", "password": "%s", "mechanism": "PLAIN"}\n' \
    "$KAFKA_SASL_BOOTSTRAP" "$KAFKA_SASL_USERNAME" "$KAFKA_SASL_PASSWORD" >"$TMP/secrets/kafkasecrets.json"
printf '%s\n' "$CFG_PW" >"$TMP/secrets/cfgdb-password"
SECRETS=("$KAFKA_SASL_PASSWORD" "$CFG_PW" "$IM_PW" "$S3_SECRET_KEY")

# ---- the configuration database: the sample, read by a role with a password
CFGDB=${PG_TEST_DB}_cfg
pg_sql -c "CREATE DATABASE $CFGDB" || fail "cannot create $CFGDB"
make -s -C "$top_builddir" install-dist_cfgdbDATA DESTDIR="$TMP/stage" >"$TMP/install.log" 2>&1 ||
    { cat "$TMP/install.log" >&2; fail "make install of share/martflow/cfgdb"; }
CFGDB_SQL=$(find "$TMP/stage" -path '*/share/martflow/cfgdb' -type d)
pg_sql -d "$CFGDB" -f "$CFGDB_SQL/schema.sql" -f "$CFGDB_SQL/sample.sql" || fail "cannot load schema.sql and sample.sql"
pg_sql -c "CREATE ROLE e2e_cfg LOGIN PASSWORD '$CFG_PW'; CREATE ROLE e2e_gim LOGIN PASSWORD '$IM_PW'" >/dev/null ||
    fail "cannot create the roles"
pg_sql -d "$CFGDB" -c "GRANT SELECT ON ALL TABLES IN SCHEMA public TO e2e_cfg" || fail "cannot grant"
# the password is really asked for: without it the role is refused
! PGPASSWORD= psql -X -h 127.0.0.1 -U e2e_cfg -d "$CFGDB" -w -c 'SELECT 1' >/dev/null 2>&1 ||
    fail "e2e_cfg logs in without its password (pg_hba)"

# ---- the services --------------------------------------------------------
# common ENV of the three: what a deployment sets (ARCHITECTURE.md §5)
common_env() {
    local r=$1
    printf '%s\n' TENANT_ID=t1 KAFKA_BOOTSTRAP= KAFKA_SECRET_FILE="$TMP/secrets/kafkasecrets.json" \
        TOPIC_VOICE_CALLTHREAD="$r-voice-callthread" TOPIC_VOICE_AGENTSTATE="$r-voice-agentstate" \
        TOPIC_GCA_CFG="$r-gca-cfg" TOPIC_GSP_IXN="$r-gsp-ixn" TOPIC_GSP_SM="$r-gsp-sm" TOPIC_GSP_CFG="$r-gsp-cfg" \
        TOPIC_VOICE_OUTBOUND= TOPIC_GSP_OUTBOUND= TOPIC_GSP_CUSTOM= KAFKA_SESSION_TIMEOUT_MS=6000 \
        TOPIC_DIGITAL_ITX="$r-digital-itx" TOPIC_DIGITAL_AGENTSTATE="$r-digital-agentstate" \
        GCA_SNAPSHOTS="s3://$S3_BUCKET/e2e-$$/$r/gca-snapshots" \
        S3_ENDPOINT="$S3_ENDPOINT" S3_REGION="$S3_REGION" S3_ACCESS_KEY="$S3_ACCESS_KEY" \
        S3_SECRET_KEY="$S3_SECRET_KEY" S3_PATH_STYLE=true
}
# start NAME RUN [VAR=value...]: pipelines/NAME.yaml in the background, a log per incarnation
declare -A N=()
start() {
    local name=$1 r=$2 dir=$TMP/$2
    shift 2
    local -a env
    mapfile -t env < <(common_env "$r")
    case $name in
        gca) env+=(CFGDB_HOST=127.0.0.1 CFGDB_PORT="$PGPORT" CFGDB_USER=e2e_cfg CFGDB_DATABASE="$CFGDB"
                   CFGDB_PASSWORD_FILE="$TMP/secrets/cfgdb-password"
                   GCA_POLL=1s GCA_METRICS_LISTEN=127.0.0.1:0 GCA_DEAD_LETTER="$dir/gca-dead.jsonl") ;;
        gsp) env+=(GSP_CHECKPOINTS="s3://$S3_BUCKET/e2e-$$/$r/gsp" GSP_CHECKPOINT_INTERVAL=2s
                   GSP_METRICS_LISTEN=127.0.0.1:0 GSP_DEAD_LETTER="$dir/gsp-dead.jsonl") ;;
        gim) env+=(PGHOST=127.0.0.1 PGPORT="$PGPORT" PGUSER=e2e_gim PGPASSWORD="$IM_PW" PGDATABASE="$r"_im
                   GIM_CYCLE=500ms GIM_KAFKA_GROUP="gim-$r" GIM_SCHEMA_DIR="$top_srcdir/plugins/gim/sql"
                   GIM_METRICS_LISTEN=127.0.0.1:0) ;;
    esac
    N[$name]=$((${N[$name]:-0} + 1))
    mkdir -p "$dir/data-$name"
    env -u PGPASSWORD -u PGUSER -u PGDATABASE MARTFLOW_DATA_DIR="$dir/data-$name" "${env[@]}" "$@" \
        "$MARTFLOW" run "$top_srcdir/pipelines/$name.yaml" >"$dir/$name.${N[$name]}.log" 2>&1 &
    PID[$name]=$!
}
log_of() { echo "$TMP/$2/$1.${N[$1]}.log"; }
alive() { # NAME RUN WHAT: the service still runs
    kill -0 "${PID[$1]}" 2>/dev/null || { tail -n 20 "$(log_of "$1" "$2")" >&2; fail "$1 died: $3"; }
}
kill9() { # NAME: kill -9 and reap
    kill -9 "${PID[$1]}"
    wait "${PID[$1]}" 2>/dev/null || true
}
stop() { # NAME RUN: SIGTERM, exit 0
    local rc=0
    kill -TERM "${PID[$1]}"
    wait "${PID[$1]}" || rc=$?
    assert_eq 0 "$rc" "$1 exit status after SIGTERM ($(tail -n 3 "$(log_of "$1" "$2")"))"
}
finish() { # NAME RUN SECS: wait for a run with stop_at_end to end by itself, exit 0
    local rc=0 i
    for ((i = 0; i < $3 * 5; i++)); do kill -0 "${PID[$1]}" 2>/dev/null || break; sleep 0.2; done
    kill -0 "${PID[$1]}" 2>/dev/null && { tail -n 5 "$(log_of "$1" "$2")" >&2; fail "$1 did not end within $3 s"; }
    wait "${PID[$1]}" || rc=$?
    assert_eq 0 "$rc" "$1 exit status at the end of its input ($(tail -n 3 "$(log_of "$1" "$2")"))"
}

# gen RUN [realtime speed]: callgen -> the voice topics (through the SASL listener too)
gen() {
    local r=$1
    cat >"$TMP/$r/gen.yaml" <<Y
pipeline: callgen-$r
sources:
  gen: {plugin: callgen, tenant: t1, seed: $SEED, calls: $CALLS, agents: $AGENTS, rate: $RATE,
        plan: '$TMP/$r/plan.json', realtime: ${2:-false}, speed: ${3:-1}}
sinks:
  vc: {plugin: kafka, inputs: [gen.callthread], secret: '$TMP/secrets/kafkasecrets.json', topic: $r-voice-callthread}
  va: {plugin: kafka, inputs: [gen.agentstate], secret: '$TMP/secrets/kafkasecrets.json', topic: $r-voice-agentstate}
Y
    MARTFLOW_DATA_DIR="$TMP/$r/data-gen" "$MARTFLOW" run "$TMP/$r/gen.yaml" >"$TMP/$r/gen.log" 2>&1 &
    PID[gen]=$!
}

# prepare RUN: the Info Mart database (owned by the loader's role) and the topics
declare -A PARTS=([voice-callthread]=3 [voice-agentstate]=3 [gsp-ixn]=3 [gsp-sm]=3 [gsp-cfg]=1)
prepare() {
    local r=$1 t
    mkdir -p "$TMP/$r"
    pg_sql -c "CREATE DATABASE ${r}_im OWNER e2e_gim" || fail "cannot create ${r}_im"
    for t in "${!PARTS[@]}"; do "$SVC" kafka-topic "$r-$t" "${PARTS[$t]}" 2>/dev/null || fail "cannot create $r-$t"; done
}
# published RUN: GCA's first snapshot holds the whole sample (104 objects)
# published RUN: GCA has stored the sample's 104 objects as its snapshot (on S3)
published() { grep -qs 'snapshot of change set [0-9]* written: 104 objects' "$TMP/$1"/gca.*.log; }
# loaded RUN: the loader's committed offsets are the end offsets of the GSP topics
loaded() {
    local r=$1 t
    for t in gsp-ixn gsp-sm gsp-cfg; do
        "$OFFSETS" end "$B" "$r-$t" "${PARTS[$t]}" >"$TMP/$r/end" 2>/dev/null || return 1
        "$OFFSETS" committed "$B" "gim-$r" "$r-$t" "${PARTS[$t]}" >"$TMP/$r/committed" 2>/dev/null || return 1
        awk '$2 > 0' "$TMP/$r/end" | grep -q . || return 1
        # a partition without records has nothing committed (-1)
        [[ $(awk '{print $1, ($2 == 0 ? -1 : $2)}' "$TMP/$r/end") == "$(cat "$TMP/$r/committed")" ]] || return 1
    done
}
ixn_records() { "$OFFSETS" end "$B" "$1-gsp-ixn" 3 2>/dev/null | awk '{s += $2} END {print s + 0}'; }
loaded_rows() { pg_sql -d "$1_im" -At -c "SELECT coalesce(sum(row_count), 0) FROM ctl_etl_history WHERE status = 'SUCCESS'" 2>/dev/null || echo 0; }
more_rows() { (($(loaded_rows "$1") > $2)); }

# checks RUN: nothing rejected anywhere
no_rejects() {
    local r=$1
    [[ ! -s $TMP/$r/gsp-dead.jsonl ]] || { head -3 "$TMP/$r/gsp-dead.jsonl" >&2; fail "$r: GSP rejected records"; }
    [[ ! -s $TMP/$r/gca-dead.jsonl ]] || { head -3 "$TMP/$r/gca-dead.jsonl" >&2; fail "$r: GCA rejected records"; }
    ! grep -qs 'mf.error' "$TMP/$r"/gim.*.log || { grep -h 'mf.error' "$TMP/$r"/gim.*.log | head -3 >&2; fail "$r: GIM rejected records"; }
}

SECONDS=0
# ---- run 1: undisturbed ---------------------------------------------------
prepare r1
start gca r1
start gim r1
wait_for 60 published r1 || { tail "$(log_of gca r1)" >&2; fail "r1: GCA published no snapshot"; }
# GSP runs before the events come, as in run 2: it has read the configuration
# (gspconfig's rows are on gsp-cfg) when the first event arrives. (Started
# over topics that already hold the events, callthread may read them before
# the broadcast gca-cfg: 3 resource placeholders in 1 of 3 runs.)
start gsp r1
cfg_out() { (($("$OFFSETS" end "$B" "$1-gsp-cfg" 1 2>/dev/null | awk '{print $2}') >= 100)); }
wait_for 60 cfg_out r1 || { tail "$(log_of gsp r1)" >&2; fail "r1: GSP wrote no dimension rows"; }
gen r1
wait "${PID[gen]}" || { tail -5 "$TMP/r1/gen.log" >&2; fail "r1: callgen -> Kafka failed"; }
[[ -f $TMP/r1/plan.json ]] || fail "r1: callgen wrote no plan"
# then to the end of its input (GSP_STOP_AT_END): a service never ends
# itself, and the last open threads close only at the end of the input
stop gsp r1
start gsp r1 GSP_STOP_AT_END=true
finish gsp r1 120
wait_for 120 loaded r1 || fail "r1: the loader's offsets are not the end offsets: $(tr '\n' ' ' <"$TMP/r1/committed") / $(tr '\n' ' ' <"$TMP/r1/end")"
stop gim r1
stop gca r1
no_rejects r1
note "run 1 (undisturbed): ${SECONDS}s"
export PGDATABASE=r1_im
im_check_plan "$TMP/r1/plan.json"
im_check_config "$AGENTS"
im_dump r1_im >"$TMP/r1.dump"
(($(wc -l <"$TMP/r1.dump") > 3000)) || fail "run 1's dump is too small: $(wc -l <"$TMP/r1.dump") rows"

# ---- run 2: the same events, paced; each service killed once, each server stopped once
prepare r2
start gca r2
start gim r2
wait_for 60 published r2 || { tail "$(log_of gca r2)" >&2; fail "r2: GCA published no snapshot"; }
start gsp r2
wait_for 60 cfg_out r2 || { tail "$(log_of gsp r2)" >&2; fail "r2: GSP wrote no dimension rows"; }
gen r2 true 50 # about 3,100 s of event time in about a minute
t2=$SECONDS

ckpt_on_s3() { compgen -G "$TMP/services/s3/data/$S3_BUCKET/e2e-$$/r2/gsp/*" >/dev/null; }
wait_for 60 ckpt_on_s3 || { tail "$(log_of gsp r2)" >&2; fail "r2: no GSP checkpoint on S3"; }
wait_for 60 eval '(($(ixn_records r2) > 300))' || fail "r2: GSP wrote too little: $(ixn_records r2) records"
note "kill -9 GSP ($(ixn_records r2) records on gsp-ixn, $((SECONDS - t2))s into the events)"
kill9 gsp
start gsp r2
wait_for 60 grep -qs 'restoring checkpoint' "$(log_of gsp r2)" || { tail "$(log_of gsp r2)" >&2; fail "r2: GSP restored no checkpoint"; }

rows=$(loaded_rows r2)
wait_for 60 more_rows r2 "$rows" || fail "r2: GIM loads nothing"
note "kill -9 GIM ($(loaded_rows r2) rows loaded, $((SECONDS - t2))s)"
kill9 gim
start gim r2

note "kill -9 GCA ($((SECONDS - t2))s)"
kill9 gca
start gca r2
wait_for 30 grep -qs 'snapshot of change set [0-9]* loaded' "$(log_of gca r2)" || { tail "$(log_of gca r2)" >&2; fail "r2: GCA did not start again"; }

note "the broker stops for 10 s ($((SECONDS - t2))s)"
"$SVC" stop kafka >/dev/null 2>&1 || fail "cannot stop Kafka"
sleep 10
"$SVC" start kafka >/dev/null 2>&1 || fail "cannot start Kafka again"
for s in gca gsp gim gen; do alive "$s" r2 "the broker's outage"; done

rows=$(loaded_rows r2)
wait_for 60 more_rows r2 "$rows" || fail "r2: GIM loads nothing after the broker's outage"
note "the database stops for 10 s ($((SECONDS - t2))s)"
"$SVC" stop postgres >/dev/null 2>&1 || fail "cannot stop PostgreSQL"
sleep 10
"$SVC" start postgres >/dev/null 2>&1 || fail "cannot start PostgreSQL again"
kill -0 "${PID[gen]}" 2>/dev/null || fail "the events ended before the last disturbance: pace them slower"
for s in gca gsp gim; do alive "$s" r2 "the database's outage"; done

wait "${PID[gen]}" || { tail -5 "$TMP/r2/gen.log" >&2; fail "r2: callgen -> Kafka failed"; }
note "the events are produced ($((SECONDS - t2))s); GSP again, to the end of its input"
cmp -s "$TMP/r1/plan.json" "$TMP/r2/plan.json" || fail "the same seed gave another plan"
stop gsp r2
start gsp r2 GSP_STOP_AT_END=true
finish gsp r2 120
wait_for 120 loaded r2 || fail "r2: the loader's offsets are not the end offsets: $(tr '\n' ' ' <"$TMP/r2/committed") / $(tr '\n' ' ' <"$TMP/r2/end")"
stop gim r2
stop gca r2
no_rejects r2
assert_contains "$(cat "$TMP"/r2/gim.*.log)" 'cycle of [0-9]+ records failed \(transient' "GIM saw the database's outage"
note "run 2 (disturbed): ${SECONDS}s"

im_dump r2_im >"$TMP/r2.dump"
diff -q "$TMP/r1.dump" "$TMP/r2.dump" >/dev/null || {
    diff "$TMP/r1.dump" "$TMP/r2.dump" | head -10 >&2
    fail "the disturbed run's Info Mart differs from the undisturbed one's ($(diff "$TMP/r1.dump" "$TMP/r2.dump" | grep -c '^[<>]') lines)"
}

# ---- no secret in any line of any log ---------------------------------------
logs=("$TMP"/r1/*.log "$TMP"/r2/*.log)
((${#logs[@]} >= 12)) || fail "only ${#logs[@]} logs"
for s in "${SECRETS[@]}"; do
    ! grep -qF -- "$s" "${logs[@]}" || fail "a secret is in $(grep -lF -- "$s" "${logs[@]}" | head -1)"
done
note "the plan matched; $(wc -l <"$TMP/r1.dump") rows equal after 3 kills and 2 outages; no secret in ${#logs[@]} logs ($(cat "${logs[@]}" | wc -l) lines) (${SECONDS}s)"
