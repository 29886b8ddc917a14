#!/usr/bin/env bash
# tests/services.sh — start/stop the real servers the integration tests use.
#
# Every server listens on 127.0.0.1 only, on free ports chosen at first start
# and remembered in the state dir, so a restart comes back on the same address.
#
#   tests/services.sh start [SERVICE]           start all services (or one); idempotent
#   tests/services.sh stop                      stop all and REMOVE the state dir
#   tests/services.sh stop SERVICE              stop one, KEEP its data and ports
#   tests/services.sh restart [SERVICE]         stop SERVICE (keeping data) and start it
#   tests/services.sh status                    one line per service
#   tests/services.sh env                       `export NAME=value` for running services
#   tests/services.sh kafka-topic NAME PARTS    create a topic (replication 1)
#   tests/services.sh kafka-topic-delete NAME   delete a topic
#
# Services: kafka (Apache Kafka, KRaft single node, jars from Maven Central);
#           postgres (PostgreSQL from Debian's packages, a throwaway test cluster);
#           s3 (versitygw, built once with Go from its source, posix backend;
#           plain http, and a second gateway over the same data with https
#           and virtual-host addressing).
# `env` prints KAFKA_BOOTSTRAP (PLAINTEXT), KAFKA_SASL_BOOTSTRAP KAFKA_SASL_USERNAME
# KAFKA_SASL_PASSWORD (the broker's SASL_PLAINTEXT listener: PLAIN and SCRAM-SHA-512),
# libpq's PGHOST PGPORT PGUSER PGDATABASE, and
# S3_ENDPOINT S3_REGION S3_BUCKET S3_ACCESS_KEY S3_SECRET_KEY, S3_HTTPS_ENDPOINT S3_CA_FILE.
#
# Environment:
#   MARTFLOW_SERVICES_DIR  state dir (data, logs, pids, ports)  [/tmp/martflow-services]
#   MARTFLOW_CACHE_DIR     download cache, outside the tree     [$HOME/.cache/martflow]
#   MARTFLOW_KAFKA_VERSION Kafka version to fetch and run       [see KAFKA_VERSION_DEFAULT]
#   MARTFLOW_START_TIMEOUT seconds to wait for a server          [90]
#   MARTFLOW_KAFKA_JVM     test: C1 JIT only, fast start (tests)   [test]
#                          production: full JIT like a real broker (benchmarks)
#   JAVA_HOME              if set, $JAVA_HOME/bin/java is used, else `java` on PATH
#   MARTFLOW_PG_BINDIR     PostgreSQL server binaries  [newest /usr/lib/postgresql/*/bin]
#   MARTFLOW_VERSITYGW_VERSION  versitygw tag to build and run  [see VGW_VERSION_DEFAULT]
#
# Exit codes: 0 ok; 1 failure (message and log tail on stderr); 2 usage error;
#             3 `env` with nothing running.
# Progress goes to stderr; stdout carries only what a caller evaluates (env, status).
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SERVICES=(kafka postgres s3)

STATE_DIR=${MARTFLOW_SERVICES_DIR:-/tmp/martflow-services}
[[ $STATE_DIR == /* ]] || STATE_DIR=$PWD/$STATE_DIR   # servers run from elsewhere (/)
CACHE_DIR=${MARTFLOW_CACHE_DIR:-${HOME:-/tmp}/.cache/martflow}
START_TIMEOUT=${MARTFLOW_START_TIMEOUT:-90}
STOP_TIMEOUT=30
MARKER=.martflow-services        # only a dir holding this file is ever rm -rf'd

# ---------------------------------------------------------------- helpers
log()  { printf '%s\n' "services: $*" >&2; }
die()  { printf '%s\n' "services: error: $*" >&2; exit 1; }
usage() {
    sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "${BASH_SOURCE[0]}" >&2
    exit 2
}
# milliseconds since the epoch, for "... in 4.2s" progress lines
now_ms() { local t=${EPOCHREALTIME:-$(date +%s.%N)}; t=${t/,/.}; local f=${t#*.}000; echo "${t%.*}${f:0:3}"; }
since() { local d=$(($(now_ms) - $1)); printf '%d.%ds' $((d / 1000)) $((d % 1000 / 100)); }

java_bin() {
    if [[ -n ${JAVA_HOME:-} && -x $JAVA_HOME/bin/java ]]; then
        echo "$JAVA_HOME/bin/java"
    elif command -v java >/dev/null 2>&1; then
        command -v java
    else
        die "java not found (install openjdk-17-jre-headless or set JAVA_HOME)"
    fi
}

java_major() {  # prints the major version of the given java
    local v
    v=$("$1" -version 2>&1 | sed -n 's/.*version "\([^"]*\)".*/\1/p' | head -n1)
    v=${v#1.}
    echo "${v%%[.+-]*}"
}

kcat_bin() {  # empty when neither kcat nor kafkacat is installed
    command -v kcat 2>/dev/null || command -v kafkacat 2>/dev/null || true
}

ensure_state_dir() {
    if [[ -e $STATE_DIR && ! -w $STATE_DIR ]]; then
        die "$STATE_DIR exists and is not writable by $(id -un); set MARTFLOW_SERVICES_DIR"
    fi
    mkdir -p "$STATE_DIR"
    [[ -f $STATE_DIR/$MARKER ]] || echo "state dir of tests/services.sh" > "$STATE_DIR/$MARKER"
}

# Serialise start/stop/... of concurrent callers on one state dir.
take_lock() {
    ensure_state_dir
    if command -v flock >/dev/null 2>&1; then
        exec 9>"$STATE_DIR/.lock"
        flock -w 180 9 || die "could not lock $STATE_DIR/.lock within 180 s"
    fi
}

port_free() {  # port_free PORT -> 0 when nothing listens on / is bound to 127.0.0.1:PORT
    local p=$1
    if command -v python3 >/dev/null 2>&1; then
        python3 - "$p" <<'PY' 2>/dev/null
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
# like the JVM's server sockets: TIME_WAIT leftovers of a stopped server do not count
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)
finally:
    s.close()
PY
    else
        # connection refused => nobody listens there
        if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then return 1; fi
        return 0
    fi
}

pick_port() {  # pick_port [EXCLUDED...] -> a free port below the Linux ephemeral range
    local p i x ok
    for ((i = 0; i < 200; i++)); do
        p=$((20000 + (RANDOM * 32768 + RANDOM) % 12000))
        ok=1
        for x in "$@"; do [[ $p == "$x" ]] && ok=0; done
        ((ok)) && port_free "$p" && { echo "$p"; return 0; }
    done
    die "no free TCP port found on 127.0.0.1"
}

known_ports() {  # the ports remembered in the state dir (a stopped service keeps its own)
    cat "$STATE_DIR"/*/port "$STATE_DIR"/*/controller-port "$STATE_DIR"/*/sasl-port 2>/dev/null || true
}

pid_alive() {  # pid_alive PIDFILE MATCH -> 0 when the pid runs and its cmdline contains MATCH
    local pidfile=$1 match=$2 pid
    [[ -s $pidfile ]] || return 1
    pid=$(<"$pidfile")
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    if [[ -r /proc/$pid/cmdline ]]; then
        tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$match" || return 1
    fi
    return 0
}

stop_pid() {  # stop_pid PIDFILE MATCH NAME: SIGTERM, wait STOP_TIMEOUT, then SIGKILL
    local pidfile=$1 match=$2 name=$3 pid i
    if ! pid_alive "$pidfile" "$match"; then
        rm -f "$pidfile"
        return 0
    fi
    pid=$(<"$pidfile")
    log "stopping $name (pid $pid) ..."
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < STOP_TIMEOUT * 5; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.2
    done
    if kill -0 "$pid" 2>/dev/null; then
        log "$name did not stop within ${STOP_TIMEOUT}s, sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        for ((i = 0; i < 50; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
    rm -f "$pidfile"
    log "$name stopped"
}

# ------------------------------------------------------------------ kafka
# Kafka 4.3.1 (newest 4.x patch release at the time). 4.1.1, 4.3.1 and 4.4.0 all
# passed the librdkafka 2.0.2 (Debian kcat 1.7.1) checks in docs/test-services.md.
KAFKA_VERSION_DEFAULT=4.3.1
KAFKA_VERSION=${MARTFLOW_KAFKA_VERSION:-$KAFKA_VERSION_DEFAULT}
KAFKA_POM=$SCRIPT_DIR/services/kafka-pom.xml
KAFKA_LOG4J2=$SCRIPT_DIR/services/kafka-log4j2.properties
KAFKA_HOME=$CACHE_DIR/kafka-$KAFKA_VERSION          # lib/ holds the jars
KAFKA_DIR=$STATE_DIR/kafka                          # data/ tmp/ server.properties server.log ...
KAFKA_MATCH="kafka.Kafka $KAFKA_DIR/server.properties"

kafka_port()      { [[ -s $KAFKA_DIR/port ]] && cat "$KAFKA_DIR/port"; }
kafka_bootstrap() { echo "127.0.0.1:$(kafka_port)"; }
kafka_sasl_bootstrap() { echo "127.0.0.1:$(<"$KAFKA_DIR/sasl-port")"; }
# The one user of the SASL_PLAINTEXT listener, for PLAIN (a JAAS user in
# server.properties) and SCRAM-SHA-512 (a credential stored in the cluster
# metadata, the kafka plugin's default mechanism): fixed values of a TEST
# broker on loopback, like the S3 root user below.
KAFKA_SASL_USERNAME=martflow-test
KAFKA_SASL_PASSWORD=martflow-test-kafka-secret-0123456789
kafka_running()   { pid_alive "$KAFKA_DIR/pid" "$KAFKA_MATCH"; }

kafka_answers() {  # metadata request answered by the broker
    local kc addr
    addr=$(kafka_bootstrap)
    kc=$(kcat_bin)
    if [[ -n $kc ]]; then
        timeout 15 "$kc" -b "$addr" -L -m 5 -X topic.metadata.refresh.interval.ms=-1 >/dev/null 2>&1
    else
        (exec 3<>"/dev/tcp/127.0.0.1/$(kafka_port)") 2>/dev/null
    fi
}

kafka_fetch() {  # make sure $KAFKA_HOME/lib holds a complete set of jars
    [[ -f $KAFKA_HOME/.complete ]] && return 0
    command -v mvn >/dev/null 2>&1 || die "mvn not found (apt-get install -y maven)"
    [[ -f $KAFKA_POM ]] || die "missing $KAFKA_POM"
    mkdir -p "$KAFKA_HOME"
    exec 8>"$KAFKA_HOME/.lock"
    if command -v flock >/dev/null 2>&1; then flock -w 600 8 || die "cache lock timeout"; fi
    [[ -f $KAFKA_HOME/.complete ]] && return 0        # another caller just did it

    local t0 tmp mvnlog api slf4j
    t0=$(now_ms)
    tmp=$KAFKA_HOME/lib.tmp.$$
    mvnlog=$KAFKA_HOME/mvn.log
    rm -rf "$tmp" "${KAFKA_HOME:?}/lib"
    log "fetching Kafka $KAFKA_VERSION jars from Maven Central into $KAFKA_HOME/lib ..."
    if ! mvn -B -q -f "$KAFKA_POM" -Dkafka.version="$KAFKA_VERSION" \
            org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies \
            -DincludeScope=runtime -DoutputDirectory="$tmp" >"$mvnlog" 2>&1; then
        tail -n 30 "$mvnlog" >&2
        die "mvn could not fetch org.apache.kafka:kafka_2.13:$KAFKA_VERSION (log: $mvnlog)"
    fi
    ls "$tmp"/kafka_2.13-"$KAFKA_VERSION".jar "$tmp"/kafka-tools-"$KAFKA_VERSION".jar >/dev/null ||
        die "kafka jars missing after mvn (log: $mvnlog)"

    # The Maven artifacts ship no SLF4J binding (KAFKA-6317): without one the broker
    # logs nothing and we never see "Kafka Server started". Add the log4j2 binding
    # that matches the log4j-api and slf4j-api versions Kafka brought in.
    if ! compgen -G "$tmp/log4j-slf4j*-impl-*.jar" >/dev/null &&
        ! compgen -G "$tmp/slf4j-reload4j-*.jar" >/dev/null; then
        local f
        api="" slf4j=""
        for f in "$tmp"/log4j-api-2.*.jar; do [[ -f $f ]] && { api=${f##*/log4j-api-}; api=${api%.jar}; }; done
        for f in "$tmp"/slf4j-api-*.jar; do [[ -f $f ]] && { slf4j=${f##*/slf4j-api-}; slf4j=${slf4j%%.*}; }; done
        [[ -n $api ]] || die "no log4j-api 2.x among the Kafka $KAFKA_VERSION jars; cannot pick a binding"
        local binding=log4j-slf4j-impl
        [[ $slf4j == 1 ]] || binding=log4j-slf4j2-impl
        log "adding SLF4J binding org.apache.logging.log4j:$binding:$api"
        if ! mvn -B -q -f "$KAFKA_POM" \
                org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy \
                -Dartifact="org.apache.logging.log4j:$binding:$api" \
                -DoutputDirectory="$tmp" >>"$mvnlog" 2>&1; then
            tail -n 30 "$mvnlog" >&2
            die "mvn could not fetch $binding:$api (log: $mvnlog)"
        fi
    fi
    mv "$tmp" "$KAFKA_HOME/lib"
    echo "$KAFKA_VERSION" >"$KAFKA_HOME/.complete"
    local jars=("$KAFKA_HOME"/lib/*.jar)
    log "fetched Kafka $KAFKA_VERSION (${#jars[@]} jars, $(du -sh "$KAFKA_HOME/lib" | cut -f1)) in $(since "$t0")"
}

kafka_java_opts() {  # common JVM flags for broker and tools
    printf '%s\n' -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true \
        "-Djava.io.tmpdir=$KAFKA_DIR/tmp" -cp "$KAFKA_HOME/lib/*"
}

kafka_write_config() {
    local port=$1 cport=$2 sport=$3
    cat >"$KAFKA_DIR/server.properties" <<EOF
# generated by tests/services.sh — single-node KRaft (combined broker+controller), tests only
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$port,SASL_PLAINTEXT://127.0.0.1:$sport,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port,SASL_PLAINTEXT://127.0.0.1:$sport
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT
# SASL without TLS on a second port, for tests of authenticated clients (the
# secret file): PLAIN checks the JAAS user below, SCRAM-SHA-512 the credential
# added at format time (kafka_sasl_user)
listener.name.sasl_plaintext.sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-512
listener.name.sasl_plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_$KAFKA_SASL_USERNAME="$KAFKA_SASL_PASSWORD";
listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
log.dirs=$KAFKA_DIR/data
# tests create their topics explicitly
auto.create.topics.enable=false
num.partitions=1
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
# after a kill -9 the controller refuses the new incarnation until the old one's
# session expires (DuplicateBrokerRegistration): 9 s by default, 4 s here
broker.heartbeat.interval.ms=1000
broker.session.timeout.ms=4000
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
EOF
    # log4j2 config copied so the running broker does not depend on the work tree
    cp "$KAFKA_LOG4J2" "$KAFKA_DIR/log4j2.properties"
    cat >"$KAFKA_DIR/tools-log4j2.properties" <<'EOF'
status = error
appender.err.type = Console
appender.err.name = STDERR
appender.err.target = SYSTEM_ERR
appender.err.layout.type = PatternLayout
appender.err.layout.pattern = %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.err.ref = STDERR
EOF
}

kafka_start() {
    local java t0 port cport sport cid i kc
    mkdir -p "$KAFKA_DIR"
    if kafka_running; then
        if kafka_answers; then
            log "kafka already running on $(kafka_bootstrap) (pid $(<"$KAFKA_DIR/pid"))"
            return 0
        fi
        log "kafka process $(<"$KAFKA_DIR/pid") exists but does not answer yet; waiting"
        kafka_wait_ready "$(now_ms)" "" || die "kafka pid $(<"$KAFKA_DIR/pid") does not answer; try: $0 stop kafka"
        return 0
    fi

    # A restart over kept data runs the version (and jars) the data was made with.
    if [[ -f $KAFKA_DIR/data/meta.properties && -s $KAFKA_DIR/version ]]; then
        KAFKA_VERSION=$(<"$KAFKA_DIR/version")
        if [[ -s $KAFKA_DIR/home && -f $(<"$KAFKA_DIR/home")/.complete ]]; then
            KAFKA_HOME=$(<"$KAFKA_DIR/home")
        else
            KAFKA_HOME=$CACHE_DIR/kafka-$KAFKA_VERSION
        fi
    fi
    java=$(java_bin)
    local jm
    jm=$(java_major "$java")
    [[ ${KAFKA_VERSION%%.*} -lt 4 || ${jm:-0} -ge 17 ]] ||
        die "Kafka $KAFKA_VERSION needs Java 17+, $java is Java ${jm:-?}"
    kafka_fetch

    t0=$(now_ms)
    # ports: chosen once, reused on every restart so clients keep their address
    if [[ -s $KAFKA_DIR/port && -s $KAFKA_DIR/controller-port ]]; then
        port=$(<"$KAFKA_DIR/port"); cport=$(<"$KAFKA_DIR/controller-port")
        port_free "$port" || die "port 127.0.0.1:$port of the stopped broker is taken by another process"
        port_free "$cport" || die "controller port 127.0.0.1:$cport of the stopped broker is taken by another process"
    else
        # shellcheck disable=SC2046 # one word per port
        port=$(pick_port $(known_ports)); cport=$(pick_port "$port" $(known_ports))
        echo "$port" >"$KAFKA_DIR/port"; echo "$cport" >"$KAFKA_DIR/controller-port"
    fi
    # the SASL port: chosen once too (a state dir older than it gets one now)
    if [[ -s $KAFKA_DIR/sasl-port ]]; then
        sport=$(<"$KAFKA_DIR/sasl-port")
        port_free "$sport" || die "SASL port 127.0.0.1:$sport of the stopped broker is taken by another process"
    else
        # shellcheck disable=SC2046 # one word per port
        sport=$(pick_port "$port" "$cport" $(known_ports))
        echo "$sport" >"$KAFKA_DIR/sasl-port"
    fi
    mkdir -p "$KAFKA_DIR/data" "$KAFKA_DIR/tmp"
    kafka_write_config "$port" "$cport" "$sport"
    # the jars this broker runs from: tools use the same ones whatever the caller's env
    echo "$KAFKA_HOME" >"$KAFKA_DIR/home"
    echo "$KAFKA_VERSION" >"$KAFKA_DIR/version"

    local -a jopts
    mapfile -t jopts < <(kafka_java_opts)
    if [[ ! -f $KAFKA_DIR/data/meta.properties ]]; then
        [[ -s $KAFKA_DIR/cluster-id ]] ||
            "$java" -Xmx128m "${jopts[@]}" "-Dlog4j2.configurationFile=$KAFKA_DIR/tools-log4j2.properties" \
                kafka.tools.StorageTool random-uuid 2>>"$KAFKA_DIR/format.log" | tail -n1 >"$KAFKA_DIR/cluster-id" || true
        cid=$(<"$KAFKA_DIR/cluster-id")
        [[ $cid =~ ^[A-Za-z0-9_-]{22}$ ]] || { cat "$KAFKA_DIR/format.log" >&2; die "StorageTool random-uuid gave '$cid'"; }
        # static voters (controller.quorum.voters) => no --standalone (KAFKA-19489)
        # the SCRAM credential of the SASL user goes into the metadata log at format
        if ! "$java" -Xmx256m "${jopts[@]}" "-Dlog4j2.configurationFile=$KAFKA_DIR/tools-log4j2.properties" \
                kafka.tools.StorageTool format -t "$cid" -c "$KAFKA_DIR/server.properties" \
                --add-scram "SCRAM-SHA-512=[name=$KAFKA_SASL_USERNAME,password=$KAFKA_SASL_PASSWORD]" \
                >>"$KAFKA_DIR/format.log" 2>&1; then
            tail -n 20 "$KAFKA_DIR/format.log" >&2
            die "formatting the KRaft storage failed (log: $KAFKA_DIR/format.log)"
        fi
        echo "$KAFKA_SASL_USERNAME" >"$KAFKA_DIR/scram-user"
    fi

    # Tests want a broker that starts fast; a benchmark wants one that runs
    # like a real broker: with only the C1 JIT it spends about twice the CPU
    # per record, on the two cores it shares with the clients it measures.
    local jvm=${MARTFLOW_KAFKA_JVM:-test} bopts=("${jopts[@]}")
    case $jvm in
        test) ;;
        production)
            bopts=()
            local o
            for o in "${jopts[@]}"; do [[ $o == -XX:TieredStopAtLevel=1 ]] || bopts+=("$o"); done ;;
        *) die "MARTFLOW_KAFKA_JVM must be test or production, not '$jvm'" ;;
    esac
    echo "$jvm" >"$KAFKA_DIR/jvm"

    [[ -f $KAFKA_DIR/server.log ]] && mv -f "$KAFKA_DIR/server.log" "$KAFKA_DIR/server.log.prev"
    rm -f "$KAFKA_DIR/pid"
    # Detached: own session (setsid), stdin from /dev/null, output to the log, and every
    # other inherited fd closed (a caller's pipe must not stay open for the broker's life).
    # The inner shell writes its own pid then execs java, so the pid file is java's pid.
    log "starting Kafka $KAFKA_VERSION broker on 127.0.0.1:$port (controller 127.0.0.1:$cport, $jvm JVM) ..."
    # shellcheck disable=SC2016 # $$ and $1 belong to the inner shell
    setsid nohup bash -c '
        for fd in /proc/$$/fd/*; do fd=${fd##*/}; ((fd > 2)) && eval "exec $fd>&-"; done 2>/dev/null
        echo $$ >"$1"; shift; exec "$@"' _ "$KAFKA_DIR/pid" \
        "$java" -Xms256m -Xmx512m -XX:+ExitOnOutOfMemoryError "${bopts[@]}" \
        "-Dlog4j2.configurationFile=$KAFKA_DIR/log4j2.properties" "-Dkafka.logs.dir=$KAFKA_DIR" \
        kafka.Kafka "$KAFKA_DIR/server.properties" \
        </dev/null >"$KAFKA_DIR/server.log" 2>&1 8>&- 9>&- &
    for ((i = 0; i < 50; i++)); do [[ -s $KAFKA_DIR/pid ]] && break; sleep 0.1; done
    kafka_wait_ready "$t0" "started" || {
        log "--- last lines of $KAFKA_DIR/server.log ---"
        tail -n 40 "$KAFKA_DIR/server.log" >&2 || true
        if kafka_running; then
            stop_pid "$KAFKA_DIR/pid" "$KAFKA_MATCH" kafka
            die "kafka did not come up within ${START_TIMEOUT}s (log: $KAFKA_DIR/server.log)"
        fi
        rm -f "$KAFKA_DIR/pid"
        die "kafka exited during start-up (log: $KAFKA_DIR/server.log)"
    }
    kafka_sasl_user
    kafka_env >"$KAFKA_DIR/env"
    log "broker up on $(kafka_bootstrap) (SASL $(kafka_sasl_bootstrap)) in $(since "$t0") (pid $(<"$KAFKA_DIR/pid"), log $KAFKA_DIR/server.log)"
    [[ -n $(kcat_bin) ]] || log "note: kcat not installed, readiness checked by TCP connect only (apt-get install -y kcat)"
}

kafka_wait_ready() {  # kafka_wait_ready T0 [started]: wait for the log line and a metadata answer
    local t0=$1 need_line=$2
    while (($(now_ms) - t0 < START_TIMEOUT * 1000)); do
        kafka_running || return 1
        if [[ -z $need_line ]] || grep -q 'Kafka Server started' "$KAFKA_DIR/server.log" 2>/dev/null; then
            kafka_answers && return 0
        fi
        sleep 0.5
    done
    return 1
}

kafka_sasl_user() {  # data formatted before the SASL listener existed: add the SCRAM credential once
    [[ -s $KAFKA_DIR/scram-user ]] && return 0
    log "adding the SCRAM-SHA-512 credential of $KAFKA_SASL_USERNAME (data formatted without it)"
    kafka_tool kafka.admin.ConfigCommand --bootstrap-server "$(kafka_bootstrap)" --alter \
        --add-config "SCRAM-SHA-512=[password=$KAFKA_SASL_PASSWORD]" \
        --entity-type users --entity-name "$KAFKA_SASL_USERNAME" >/dev/null ||
        die "could not add the SCRAM credential of $KAFKA_SASL_USERNAME"
    echo "$KAFKA_SASL_USERNAME" >"$KAFKA_DIR/scram-user"
}

kafka_stop() {  # stop the broker, keep data and ports
    stop_pid "$KAFKA_DIR/pid" "$KAFKA_MATCH" kafka
    rm -f "$KAFKA_DIR/env"
}

kafka_env() {
    kafka_running || return 0
    if [[ -s $KAFKA_DIR/sasl-port ]]; then  # (a broker started by an older script has none)
        echo "export KAFKA_BOOTSTRAP=$(kafka_bootstrap) KAFKA_SASL_BOOTSTRAP=$(kafka_sasl_bootstrap)" \
            "KAFKA_SASL_USERNAME=$KAFKA_SASL_USERNAME KAFKA_SASL_PASSWORD=$KAFKA_SASL_PASSWORD"
    else
        echo "export KAFKA_BOOTSTRAP=$(kafka_bootstrap)"
    fi
}

kafka_status() {
    if kafka_running; then
        echo "kafka: running $(kafka_bootstrap) pid $(<"$KAFKA_DIR/pid") version $(cat "$KAFKA_DIR/version" 2>/dev/null || echo "$KAFKA_VERSION") jvm $(cat "$KAFKA_DIR/jvm" 2>/dev/null || echo test)"
    elif [[ -s $KAFKA_DIR/port ]]; then
        echo "kafka: stopped (data kept, port $(kafka_bootstrap))"
    else
        echo "kafka: stopped"
    fi
}

kafka_tool() {  # kafka_tool CLASS ARGS... with light JVM flags
    local java
    kafka_running || die "kafka is not running (run: $0 start kafka)"
    [[ -s $KAFKA_DIR/home ]] && KAFKA_HOME=$(<"$KAFKA_DIR/home")
    [[ -f $KAFKA_HOME/.complete ]] || die "Kafka $KAFKA_VERSION jars not in $KAFKA_HOME"
    java=$(java_bin)
    local -a jopts
    mapfile -t jopts < <(kafka_java_opts)
    "$java" -Xms32m -Xmx256m -Xss1m -XX:CICompilerCount=2 -Xshare:auto "${jopts[@]}" \
        "-Dlog4j2.configurationFile=$KAFKA_DIR/tools-log4j2.properties" "$@"
}

kafka_topic_wait() {  # wait until every partition of topic $1 has a leader (kcat only)
    local name=$1 parts=$2 kc i out n=""
    kc=$(kcat_bin)
    [[ -n $kc ]] || return 0
    for ((i = 0; i < 60; i++)); do
        out=$(timeout 10 "$kc" -b "$(kafka_bootstrap)" -L -t "$name" -m 5 2>/dev/null || true)
        n=$(sed -n 's/^ *topic "[^"]*" with \([0-9]*\) partitions:.*/\1/p' <<<"$out")
        if [[ -n $n && $n -gt 0 && $(grep -c 'partition [0-9]*, leader [0-9]' <<<"$out") -eq $n ]] &&
            ! grep -qE 'leader -1|Broker: ' <<<"$out"; then
            [[ $n == "$parts" ]] || log "warning: topic $name already exists with $n partitions (not $parts)"
            return 0
        fi
        sleep 0.25
    done
    log "warning: topic $name has no leader for every partition yet"
}

kafka_topic() {
    local name=${1:-} parts=${2:-}
    [[ -n $name && $parts =~ ^[1-9][0-9]*$ ]] || usage
    kafka_tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$(kafka_bootstrap)" \
        --create --if-not-exists --topic "$name" --partitions "$parts" --replication-factor 1 >&2 ||
        die "could not create topic $name"
    kafka_topic_wait "$name" "$parts"
}

kafka_topic_delete() {
    local name=${1:-}
    [[ -n $name ]] || usage
    kafka_tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$(kafka_bootstrap)" \
        --delete --if-exists --topic "$name" >&2 ||
        die "could not delete topic $name"
}

# --------------------------------------------------------------- postgres
# A throwaway cluster of Debian's PostgreSQL server: initdb into the state dir,
# TCP on 127.0.0.1 only, the unix socket in the state dir (never the package's
# /var/run/postgresql, so it cannot meet the package's own clusters such as
# `main` on 5432), durability off. A TEST server: nothing in it is kept.
PG_DIR=$STATE_DIR/postgres        # data/ server.log port pid bindir version env
PG_DATA=$PG_DIR/data
PG_SUPERUSER=postgres             # the role tests connect as (trust auth)
# initdb and the server refuse to run as root: as root they run as the
# package's `postgres` user, otherwise as the caller.
if [[ $(id -u) == 0 ]]; then PG_AS=(runuser -u postgres --); else PG_AS=(); fi

pg_port()    { [[ -s $PG_DIR/port ]] && cat "$PG_DIR/port"; }
pg_running() { pid_alive "$PG_DIR/pid" "$PG_DATA"; }

pg_bindir() {  # the server binaries: those the data was made with, else MARTFLOW_PG_BINDIR, else the newest
    local d
    if [[ -f $PG_DATA/PG_VERSION && -s $PG_DIR/bindir ]]; then
        d=$(<"$PG_DIR/bindir")
    elif [[ -n ${MARTFLOW_PG_BINDIR:-} ]]; then
        d=$MARTFLOW_PG_BINDIR
    else
        d=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n1)
    fi
    [[ -x $d/initdb && -x $d/pg_ctl && -x $d/postgres ]] ||
        die "PostgreSQL server binaries not found in $d (apt-get install -y postgresql, or set MARTFLOW_PG_BINDIR)"
    echo "$d"
}

pg_as() {  # run "$@" as the server's user, from / (root's cwd may be closed to it)
    (cd / && "${PG_AS[@]}" "$@")
}

pg_own() {  # give the server's user what it must write
    if [[ $(id -u) == 0 ]]; then chown -R postgres:postgres "$@"; fi
}

pg_answers() {  # the server accepts connections on its TCP port
    "$1/pg_isready" -q -h 127.0.0.1 -p "$(pg_port)" -U "$PG_SUPERUSER" -d postgres -t 5
}

pg_init() {  # pg_init BINDIR: a new cluster in $PG_DATA
    local bindir=$1
    if [[ $(id -u) == 0 ]]; then
        id postgres >/dev/null 2>&1 || die "no user 'postgres' to run the server as (apt-get install -y postgresql)"
        command -v runuser >/dev/null 2>&1 || die "runuser not found (apt-get install -y util-linux)"
    fi
    pg_own "$PG_DIR"
    pg_as test -w "$PG_DIR" ||
        die "user ${PG_AS[2]:-$(id -un)} cannot write $PG_DIR (every parent must be traversable); set MARTFLOW_SERVICES_DIR under /tmp"
    # --no-sync: nothing here must survive a crash of the machine
    if ! pg_as "$bindir/initdb" -D "$PG_DATA" -U "$PG_SUPERUSER" --auth=trust -E UTF8 --locale=C.UTF-8 \
            --no-sync >"$PG_DIR/initdb.log" 2>&1; then
        tail -n 20 "$PG_DIR/initdb.log" >&2
        rm -rf "${PG_DATA:?}"
        die "initdb failed (log: $PG_DIR/initdb.log)"
    fi
    # The superuser tests connect as is trusted; every other role must give its
    # password (SCRAM), so tests can exercise password authentication.
    cat >"$PG_DATA/pg_hba.conf" <<'HBA'
# generated by tests/services.sh (test server)
local all postgres              trust
host  all postgres 127.0.0.1/32 trust
local all all                   scram-sha-256
host  all all      127.0.0.1/32 scram-sha-256
HBA
    echo "include 'martflow.conf'" >>"$PG_DATA/postgresql.conf"
    pg_own "$PG_DATA/pg_hba.conf"
}

pg_write_config() {  # pg_write_config PORT: the settings of every start
    cat >"$PG_DATA/martflow.conf" <<EOC
# generated by tests/services.sh at every start. A TEST server: durability is
# off (fsync, full_page_writes, synchronous_commit; minimal WAL) for speed. A
# crash of the machine may corrupt it: fine for data \`stop\` deletes anyway.
listen_addresses = '127.0.0.1'
port = $1
unix_socket_directories = '$PG_DIR'
fsync = off
full_page_writes = off
synchronous_commit = off
wal_level = minimal
max_wal_senders = 0
max_wal_size = '1GB'
log_line_prefix = '%m [%p] %q%u@%d '
EOC
    pg_own "$PG_DATA/martflow.conf"
}

postgres_start() {
    local bindir t0 port
    mkdir -p "$PG_DIR"
    if pg_running; then
        bindir=$(pg_bindir)
        if pg_answers "$bindir"; then
            log "postgres already running on 127.0.0.1:$(pg_port) (pid $(<"$PG_DIR/pid"))"
            return 0
        fi
        die "postgres pid $(<"$PG_DIR/pid") does not answer on 127.0.0.1:$(pg_port); try: $0 restart postgres"
    fi
    bindir=$(pg_bindir)
    t0=$(now_ms)
    # the port: chosen once, reused on every restart so clients keep their address
    if [[ -s $PG_DIR/port ]]; then
        port=$(<"$PG_DIR/port")
        port_free "$port" || die "port 127.0.0.1:$port of the stopped postgres is taken by another process"
    else
        # shellcheck disable=SC2046 # one word per port
        port=$(pick_port $(known_ports))
        echo "$port" >"$PG_DIR/port"
    fi
    # a unix socket path has at most 107 bytes
    ((${#PG_DIR} + 18 <= 107)) || die "$PG_DIR is too long for a unix socket path; set a shorter MARTFLOW_SERVICES_DIR"
    if [[ ! -f $PG_DATA/PG_VERSION ]]; then
        pg_init "$bindir"
        echo "$bindir" >"$PG_DIR/bindir"
    fi
    "$bindir/postgres" -V | sed -n 's/^[^0-9]*\([0-9][0-9.]*\).*/\1/p' >"$PG_DIR/version"
    pg_write_config "$port"
    [[ -f $PG_DIR/server.log ]] && mv -f "$PG_DIR/server.log" "$PG_DIR/server.log.prev"
    rm -f "$PG_DIR/pid"
    log "starting PostgreSQL $(<"$PG_DIR/version") on 127.0.0.1:$port (data $PG_DATA) ..."
    # pg_ctl detaches the server (setsid, stdin /dev/null, output to the log);
    # the fds it would inherit from us (a caller's pipe, our lock) are closed first.
    # shellcheck disable=SC2016 # $$ belongs to the inner shell
    if ! pg_as bash -c 'for fd in /proc/$$/fd/*; do fd=${fd##*/}; ((fd > 2)) && eval "exec $fd>&-"; done 2>/dev/null
            exec "$@"' _ "$bindir/pg_ctl" -D "$PG_DATA" -l "$PG_DIR/server.log" -w -t "$START_TIMEOUT" -s start \
            </dev/null >&2; then
        log "--- last lines of $PG_DIR/server.log ---"
        tail -n 40 "$PG_DIR/server.log" >&2 || true
        die "postgres did not come up within ${START_TIMEOUT}s (log: $PG_DIR/server.log)"
    fi
    head -n1 "$PG_DATA/postmaster.pid" >"$PG_DIR/pid"
    pg_running && pg_answers "$bindir" || die "postgres started but does not answer on 127.0.0.1:$port (log: $PG_DIR/server.log)"
    postgres_env >"$PG_DIR/env"
    log "postgres up on 127.0.0.1:$port in $(since "$t0") (pid $(<"$PG_DIR/pid"), log $PG_DIR/server.log)"
}

postgres_stop() {  # stop the server (fast: clients are disconnected), keep data and port
    if pg_running; then
        local bindir pid
        bindir=$(pg_bindir)
        pid=$(<"$PG_DIR/pid")
        log "stopping postgres (pid $pid) ..."
        if ! pg_as "$bindir/pg_ctl" -D "$PG_DATA" -m fast -w -t "$STOP_TIMEOUT" -s stop >&2; then
            log "postgres did not stop within ${STOP_TIMEOUT}s, immediate shutdown"
            pg_as "$bindir/pg_ctl" -D "$PG_DATA" -m immediate -w -t 10 -s stop >&2 ||
                stop_pid "$PG_DIR/pid" "$PG_DATA" postgres
        fi
        log "postgres stopped"
    fi
    rm -f "$PG_DIR/pid" "$PG_DIR/env"
}

postgres_env() {
    pg_running || return 0
    echo "export PGHOST=127.0.0.1 PGPORT=$(pg_port) PGUSER=$PG_SUPERUSER PGDATABASE=postgres"
}

postgres_status() {
    if pg_running; then
        echo "postgres: running 127.0.0.1:$(pg_port) pid $(<"$PG_DIR/pid") version $(cat "$PG_DIR/version" 2>/dev/null || echo '?')"
    elif [[ -s $PG_DIR/port ]]; then
        echo "postgres: stopped (data kept, port 127.0.0.1:$(pg_port))"
    else
        echo "postgres: stopped"
    fi
}

# --------------------------------------------------------------------- s3
# versitygw (Apache-2.0), an S3 gateway that checks SigV4 signatures and
# payload hashes as AWS does, with its posix backend: bucket B is the
# directory s3/data/B, object K the file s3/data/B/K. Built once from source
# with the machine's Go into the cache (no Docker, no prebuilt downloads).
VGW_VERSION_DEFAULT=v1.7.0
VGW_VERSION=${MARTFLOW_VERSITYGW_VERSION:-$VGW_VERSION_DEFAULT}
VGW_HOME=$CACHE_DIR/versitygw-$VGW_VERSION    # bin/versitygw; go/ (GOPATH, module cache)
S3_DIR=$STATE_DIR/s3                          # data/ iam/ port pid server.log env
S3_REGION=us-east-1
S3_BUCKET=martflow-test
# the root user of a TEST server on loopback, not a secret of anything
S3_ACCESS_KEY=martflow-test-key
S3_SECRET_KEY=martflow-test-secret-0123456789

s3_port()     { [[ -s $S3_DIR/port ]] && cat "$S3_DIR/port"; }
s3_endpoint() { echo "http://127.0.0.1:$(s3_port)"; }
s3_running()  { pid_alive "$S3_DIR/pid" "$S3_DIR/data"; }

go_bin() {
    if command -v go >/dev/null 2>&1; then command -v go
    elif [[ -x /usr/local/go/bin/go ]]; then echo /usr/local/go/bin/go
    else die "go not found (versitygw is built from source: Go >= 1.25 on PATH, e.g. /usr/local/go/bin)"
    fi
}

s3_build() {  # make sure $VGW_HOME/bin/versitygw exists
    [[ -f $VGW_HOME/.complete && -x $VGW_HOME/bin/versitygw ]] && return 0
    local go gov t0 tmp
    go=$(go_bin)
    gov=$("$go" env GOVERSION 2>/dev/null || true)     # go1.26.8
    gov=${gov#go}
    [[ $gov =~ ^1\.([0-9]+) ]] && ((BASH_REMATCH[1] >= 25)) ||
        die "versitygw $VGW_VERSION needs Go >= 1.25, $go is ${gov:-unknown}"
    mkdir -p "$VGW_HOME"
    exec 8>"$VGW_HOME/.lock"
    if command -v flock >/dev/null 2>&1; then flock -w 900 8 || die "cache lock timeout"; fi
    [[ -f $VGW_HOME/.complete && -x $VGW_HOME/bin/versitygw ]] && return 0   # another caller just did it
    t0=$(now_ms)
    tmp=$VGW_HOME/bin.tmp.$$
    rm -rf "$tmp"
    log "building versitygw $VGW_VERSION with $("$go" version | cut -d' ' -f3) into $VGW_HOME/bin (first time only, minutes) ..."
    # everything Go writes stays in the cache dir; GOTOOLCHAIN=local: never fetch another Go
    if ! (cd "$VGW_HOME" && GOPATH=$VGW_HOME/go GOMODCACHE=$VGW_HOME/go/pkg/mod GOCACHE=$VGW_HOME/go-build \
            GOBIN=$tmp GOFLAGS=-modcacherw GOTOOLCHAIN=local CGO_ENABLED=0 \
            "$go" install "github.com/versity/versitygw/cmd/versitygw@$VGW_VERSION") >"$VGW_HOME/build.log" 2>&1; then
        tail -n 30 "$VGW_HOME/build.log" >&2
        rm -rf "$tmp"
        die "go install of versitygw $VGW_VERSION failed (log: $VGW_HOME/build.log)"
    fi
    rm -rf "$VGW_HOME/bin"
    mv "$tmp" "$VGW_HOME/bin"
    # the build cache is only needed to build again: drop it (hundreds of MB)
    rm -rf "$VGW_HOME/go-build"
    echo "$VGW_VERSION" >"$VGW_HOME/.complete"
    log "built versitygw $VGW_VERSION in $(since "$t0")"
}

s3_request() {  # s3_request METHOD PATH [curl args...]: a signed request, prints the HTTP status
    local method=$1 path=$2
    shift 2
    curl -sS -o /dev/null -w '%{http_code}' -X "$method" --max-time 10 \
        --aws-sigv4 "aws:amz:$S3_REGION:s3" --user "$S3_ACCESS_KEY:$S3_SECRET_KEY" \
        -H 'x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' \
        "$@" "$(s3_endpoint)$path" 2>/dev/null || true
}

s3_answers() {  # any HTTP answer from the gateway (unsigned: 403)
    local code
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$(s3_endpoint)/" 2>/dev/null || true)
    [[ $code =~ ^[2-5][0-9][0-9]$ ]]
}

vgw_launch() {  # vgw_launch PIDFILE LOG ARGS...: versitygw with ARGS, detached
    local pidfile=$1 logfile=$2 i
    shift 2
    rm -f "$pidfile"
    # Detached as Kafka is (see kafka_start); credentials through the environment,
    # not the command line, so ps does not show them.
    # shellcheck disable=SC2016 # $$ and $1 belong to the inner shell
    ROOT_ACCESS_KEY=$S3_ACCESS_KEY ROOT_SECRET_KEY=$S3_SECRET_KEY setsid nohup bash -c '
        for fd in /proc/$$/fd/*; do fd=${fd##*/}; ((fd > 2)) && eval "exec $fd>&-"; done 2>/dev/null
        echo $$ >"$1"; shift; exec "$@"' _ "$pidfile" \
        "$VGW_HOME/bin/versitygw" --region "$S3_REGION" --iam-dir "$S3_DIR/iam" --keep-alive --quiet "$@" \
        </dev/null >"$logfile" 2>&1 8>&- 9>&- &
    for ((i = 0; i < 50; i++)); do [[ -s $pidfile ]] && break; sleep 0.1; done
}

vgw_wait() {  # vgw_wait PIDFILE MATCH LOG ANSWERS_FN: until the gateway answers, or die
    local pidfile=$1 match=$2 logfile=$3 answers=$4 t0
    t0=$(now_ms)
    while ! "$answers"; do
        if ! pid_alive "$pidfile" "$match"; then
            tail -n 40 "$logfile" >&2 || true
            rm -f "$pidfile"
            die "versitygw exited during start-up (log: $logfile)"
        fi
        if (($(now_ms) - t0 > START_TIMEOUT * 1000)); then
            tail -n 40 "$logfile" >&2 || true
            stop_pid "$pidfile" "$match" versitygw
            die "versitygw did not answer within ${START_TIMEOUT}s (log: $logfile)"
        fi
        sleep 0.1
    done
}

# A second gateway over the same data and users serves HTTPS, with
# virtual-host addressing under "localhost" (curl resolves *.localhost to
# the loopback itself, no DNS): https://localhost:PORT for BUCKET.localhost,
# https://127.0.0.1:PORT path-style. Its certificate is signed by a CA made
# once in the state dir (S3_CA_FILE).
S3TLS_DIR=$STATE_DIR/s3-tls                   # port pid ca.pem server.pem server.key server.log
s3tls_port()     { [[ -s $S3TLS_DIR/port ]] && cat "$S3TLS_DIR/port"; }
s3tls_running()  { pid_alive "$S3TLS_DIR/pid" "$S3TLS_DIR/server.pem"; }
s3tls_answers() {
    local code
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 --cacert "$S3TLS_DIR/ca.pem" \
        "https://127.0.0.1:$(s3tls_port)/" 2>/dev/null || true)
    [[ $code =~ ^[1-5][0-9][0-9]$ ]]
}

s3tls_certs() {  # a CA and a server certificate for localhost, BUCKET.localhost and 127.0.0.1
    [[ -s $S3TLS_DIR/server.pem && -s $S3TLS_DIR/ca.pem ]] && return 0
    command -v openssl >/dev/null 2>&1 || die "openssl not found (apt-get install -y openssl)"
    (
        cd "$S3TLS_DIR"
        openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=martflow test CA" \
            -keyout ca.key -out ca.pem
        openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout server.key -out server.csr
        printf 'subjectAltName=DNS:localhost,DNS:%s.localhost,IP:127.0.0.1\n' "$S3_BUCKET" >san.ext
        openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 3650 \
            -extfile san.ext -out server.pem
    ) >"$S3TLS_DIR/openssl.log" 2>&1 || die "making the test certificates failed (log: $S3TLS_DIR/openssl.log)"
}

s3tls_start() {  # after s3_start: the HTTPS gateway
    local port
    mkdir -p "$S3TLS_DIR"
    s3tls_running && s3tls_answers && return 0
    s3tls_certs
    if [[ -s $S3TLS_DIR/port ]]; then
        port=$(<"$S3TLS_DIR/port")
        port_free "$port" || die "port 127.0.0.1:$port of the stopped https s3 server is taken by another process"
    else
        # shellcheck disable=SC2046 # one word per port
        port=$(pick_port $(known_ports))
        echo "$port" >"$S3TLS_DIR/port"
    fi
    local -a meta=()
    [[ -d $S3_DIR/meta ]] && meta=(--sidecar "$S3_DIR/meta")
    vgw_launch "$S3TLS_DIR/pid" "$S3TLS_DIR/server.log" --port "127.0.0.1:$port" \
        --cert "$S3TLS_DIR/server.pem" --key "$S3TLS_DIR/server.key" --virtual-domain localhost \
        posix "${meta[@]}" "$S3_DIR/data"
    vgw_wait "$S3TLS_DIR/pid" "$S3TLS_DIR/server.pem" "$S3TLS_DIR/server.log" s3tls_answers
}

s3_start() {
    local t0 port i code
    mkdir -p "$S3_DIR"
    if s3_running; then
        if s3_answers; then
            log "s3 already running on $(s3_endpoint) (pid $(<"$S3_DIR/pid"))"
            s3tls_start
            s3_env >"$S3_DIR/env"
            return 0
        fi
        die "versitygw pid $(<"$S3_DIR/pid") does not answer on $(s3_endpoint); try: $0 restart s3"
    fi
    command -v curl >/dev/null 2>&1 || die "curl not found (apt-get install -y curl)"
    s3_build
    t0=$(now_ms)
    if [[ -s $S3_DIR/port ]]; then
        port=$(<"$S3_DIR/port")
        port_free "$port" || die "port 127.0.0.1:$port of the stopped s3 server is taken by another process"
    else
        # shellcheck disable=SC2046 # one word per port
        port=$(pick_port $(known_ports))
        echo "$port" >"$S3_DIR/port"
    fi
    mkdir -p "$S3_DIR/data" "$S3_DIR/iam"
    # the posix backend keeps object metadata in user xattrs; without them, a sidecar dir
    local -a meta=()
    if ! python3 -c 'import os, sys; os.setxattr(sys.argv[1], "user.mf-probe", b"1")' "$S3_DIR/data" 2>/dev/null; then
        mkdir -p "$S3_DIR/meta"
        meta=(--sidecar "$S3_DIR/meta")
        log "note: no user xattrs in $S3_DIR (or no python3): object metadata in $S3_DIR/meta"
    fi
    [[ -f $S3_DIR/server.log ]] && mv -f "$S3_DIR/server.log" "$S3_DIR/server.log.prev"
    rm -f "$S3_DIR/pid"
    log "starting versitygw $VGW_VERSION on 127.0.0.1:$port (data $S3_DIR/data) ..."
    vgw_launch "$S3_DIR/pid" "$S3_DIR/server.log" --port "127.0.0.1:$port" posix "${meta[@]}" "$S3_DIR/data"
    vgw_wait "$S3_DIR/pid" "$S3_DIR/data" "$S3_DIR/server.log" s3_answers
    # the test bucket: 200 when made, 409 when it is there already (a restart)
    code=$(s3_request PUT "/$S3_BUCKET")
    [[ $code == 200 || $code == 409 ]] || die "creating bucket $S3_BUCKET on $(s3_endpoint) answered HTTP $code"
    s3tls_start
    s3_env >"$S3_DIR/env"
    log "s3 up on $(s3_endpoint) and https://localhost:$(s3tls_port) in $(since "$t0") (pid $(<"$S3_DIR/pid"), bucket $S3_BUCKET, log $S3_DIR/server.log)"
}

s3_stop() {  # stop the gateways, keep data, bucket, ports and certificates
    stop_pid "$S3TLS_DIR/pid" "$S3TLS_DIR/server.pem" "s3 (https)"
    stop_pid "$S3_DIR/pid" "$S3_DIR/data" s3
    rm -f "$S3_DIR/env"
}

s3_env() {
    s3_running || return 0
    echo "export S3_ENDPOINT=$(s3_endpoint) S3_REGION=$S3_REGION S3_BUCKET=$S3_BUCKET S3_ACCESS_KEY=$S3_ACCESS_KEY S3_SECRET_KEY=$S3_SECRET_KEY"
    s3tls_running && echo "export S3_HTTPS_ENDPOINT=https://localhost:$(s3tls_port) S3_CA_FILE=$S3TLS_DIR/ca.pem"
}

s3_status() {
    if s3_running; then
        echo "s3: running $(s3_endpoint) pid $(<"$S3_DIR/pid") versitygw $VGW_VERSION bucket $S3_BUCKET"
    elif [[ -s $S3_DIR/port ]]; then
        echo "s3: stopped (data kept, port $(s3_endpoint))"
    else
        echo "s3: stopped"
    fi
}

# ------------------------------------------------------------------ commands
check_service() {
    local s
    for s in "${SERVICES[@]}"; do [[ $1 == "$s" ]] && return 0; done
    printf 'services: unknown service %s (known: %s)\n' "$1" "${SERVICES[*]}" >&2
    exit 2
}

cmd_start() {
    local s list=("$@")
    (($#)) || list=("${SERVICES[@]}")
    for s in "${list[@]}"; do check_service "$s"; done
    take_lock
    for s in "${list[@]}"; do "${s}_start"; done
}

cmd_stop() {
    local s
    if (($#)); then
        for s in "$@"; do check_service "$s"; done
        [[ -d $STATE_DIR ]] || return 0
        take_lock
        for s in "$@"; do "${s}_stop"; done
        return 0
    fi
    [[ -d $STATE_DIR ]] || return 0
    take_lock
    for s in "${SERVICES[@]}"; do "${s}_stop"; done
    if [[ -f $STATE_DIR/$MARKER ]]; then
        exec 9>&-
        rm -rf "$STATE_DIR"
        log "removed $STATE_DIR"
    else
        log "not removing $STATE_DIR: no $MARKER in it"
    fi
}

cmd_env() {
    local s out="" line
    for s in "${SERVICES[@]}"; do
        line=$("${s}_env")
        [[ -n $line ]] && out+=$line$'\n'
    done
    if [[ -z $out ]]; then
        echo "services: nothing is running (run: $0 start)" >&2
        exit 3
    fi
    printf '%s' "$out"
}

cmd_status() {
    local s
    for s in "${SERVICES[@]}"; do "${s}_status"; done
}

main() {
    local cmd=${1:-}
    (($#)) && shift
    case $cmd in
        start) cmd_start "$@" ;;
        stop) cmd_stop "$@" ;;
        restart)
            (($#)) || set -- "${SERVICES[@]}"
            cmd_stop "$@"; cmd_start "$@" ;;
        env) (($# == 0)) || usage; cmd_env ;;
        status) (($# == 0)) || usage; cmd_status ;;
        kafka-topic) (($# == 2)) || usage; kafka_topic "$@" ;;
        kafka-topic-delete) (($# == 1)) || usage; kafka_topic_delete "$@" ;;
        -h | --help | help) usage ;;
        *) usage ;;
    esac
}

main "$@"
