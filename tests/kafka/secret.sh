#!/usr/bin/env bash
# The secret file (the kafkasecrets JSON: bootstrap, username, password):
#  - its bootstrap replaces `brokers`;
#  - a username turns SASL on (SASL_PLAINTEXT, SCRAM-SHA-512 by default), and
#    rdkafka.* overrides those defaults;
#  - the password never shows in the logs, even at debug level with
#    librdkafka's own debug output, nor when librdkafka quotes it in an error;
#  - against the broker's SASL listener: "mechanism": "PLAIN" logs in, a
#    wrong password is refused, SCRAM-SHA-512 with an old librdkafka gets a hint;
#  - a broken secret file fails the run without quoting it.
source "$top_srcdir/tests/kafka/kafka_lib.sh"
T=$(name t) G=$(name g)
PW='Pa55-w0rd-S3cret-42'
topic "$T" 1
awk 'BEGIN { for (i = 0; i < 10; i++) printf "k\t{\"n\":%d}\n", i }' >"$TMP/in.tsv"
produce "$T" "$TMP/in.tsv"
printf '{"bootstrap": "%s", "username": "mf-user", "password": "%s"}\n' "$B" "$PW" >"$TMP/kafkasecrets.json"

run() { # name, extra source options; exit status in $RC
    cat >"$TMP/$1.yaml" <<Y
pipeline: secret
sources:
  in: {plugin: kafka, secret: $TMP/kafkasecrets.json, topics: [$T], group: $G-$1, stop_at_end: true, $2}
sinks:
  out: {plugin: file, inputs: [in], path: $TMP/$1.out}
Y
    RC=0
    timeout 60 "$MARTFLOW" run "$TMP/$1.yaml" --log-level debug >"$TMP/$1.log" 2>&1 || RC=$?
    ! grep -q -- "$PW" "$TMP/$1.log" || fail "$1: the password is in the log"
}

# bootstrap from the secret; plaintext overrides the SASL default
run plain 'rdkafka.security.protocol: plaintext, rdkafka.debug: "conf,security"'
assert_eq 0 "$RC" "plain: exit status"
assert_lines 10 "$TMP/plain.out" "plain: records read with the secret's bootstrap"

# the default: SASL_PLAINTEXT + SCRAM-SHA-512 (the test broker has no SASL: refused)
cat >"$TMP/sasl.yaml" <<Y
sources:
  in: {plugin: kafka, secret: $TMP/kafkasecrets.json, topics: [$T], group: $G-sasl, rdkafka.debug: security}
sinks:
  out: {plugin: null, inputs: [in]}
Y
engine "$TMP/sasl.yaml" "$TMP/sasl.log"
wait_for 30 grep -q 'Kafka authentication failed' "$TMP/sasl.log" || fail "sasl: no authentication attempt"
stop_engine "$ENGINE"
! grep -q -- "$PW" "$TMP/sasl.log" || fail "sasl: the password is in the log"
assert_contains "$TMP/sasl.log" 'SASL SCRAM-SHA-512 mechanism handshake failed' "sasl: SCRAM-SHA-512 by default"

# librdkafka quotes a bad value back: a secret is masked in that message too
run quoted "rdkafka.sasl.mechanisms: \"$PW\""
assert_eq 1 "$RC" "quoted: exit status (init fails)"
assert_contains "$TMP/quoted.log" 'Unsupported SASL mechanism: \*\*\*' "quoted: the value is masked"

# The broker's SASL_PLAINTEXT listener (tests/services.sh: PLAIN and
# SCRAM-SHA-512, one user). The secret's "mechanism" PLAIN logs in; a wrong
# password is refused; the default SCRAM-SHA-512 logs in with librdkafka
# >= 2.6.1, and before it (Debian's 2.0.2) is refused by Kafka 4 with the
# hint that says why (librdkafka's SCRAM nonce bug).
[[ -n ${KAFKA_SASL_BOOTSTRAP:-} ]] ||
    fail "the test broker has no SASL listener (started by an older tests/services.sh: restart kafka)"
SPW=$KAFKA_SASL_PASSWORD
sasl_secret() { # mechanism-member password
    printf '{"bootstrap": "%s", "username": "%s", "password": "%s"%s}\n' \
        "$KAFKA_SASL_BOOTSTRAP" "$KAFKA_SASL_USERNAME" "$2" "$1" >"$TMP/kafkasecrets.json"
}
sasl_secret ', "mechanism": "PLAIN"' "$SPW"
run sasl-plain 'rdkafka.debug: security'
assert_eq 0 "$RC" "sasl-plain: exit status (log: $(tail -3 "$TMP/sasl-plain.log"))"
assert_lines 10 "$TMP/sasl-plain.out" "sasl-plain: records read over SASL PLAIN"
assert_contains "$TMP/sasl-plain.log" 'PLAIN' "sasl-plain: the mechanism is PLAIN"
! grep -q -- "$SPW" "$TMP/sasl-plain.log" || fail "sasl-plain: the password is in the log"

sasl_refused() { # name: the secret file refused; the log in $TMP/name.log
    cat >"$TMP/$1.yaml" <<Y
sources:
  in: {plugin: kafka, secret: $TMP/kafkasecrets.json, topics: [$T], group: $G-$1, rdkafka.debug: security}
sinks:
  out: {plugin: null, inputs: [in]}
Y
    engine "$TMP/$1.yaml" "$TMP/$1.log"
    wait_for 30 grep -qs 'Kafka authentication failed' "$TMP/$1.log" || fail "$1: not refused: $(tail -3 "$TMP/$1.log")"
    stop_engine "$ENGINE"
    ! grep -q -- "$SPW" "$TMP/$1.log" || fail "$1: the password is in the log"
}
sasl_secret ', "mechanism": "PLAIN"' "wrong-$SPW"
sasl_refused sasl-wrong
! grep -q -- "wrong-" "$TMP/sasl-wrong.log" || fail "sasl-wrong: the wrong password is in the log"
assert_eq 0 "$(grep -c 'cannot log in with SCRAM' "$TMP/sasl-wrong.log")" "sasl-wrong: no SCRAM hint for PLAIN"

sasl_secret '' "$SPW"
rdk=$(pkg-config --modversion rdkafka)
if [[ $(printf '%s\n' "$rdk" 2.6.1 | sort -V | head -1) == 2.6.1 ]]; then
    run sasl-scram ''
    assert_eq 0 "$RC" "sasl-scram: exit status with librdkafka $rdk"
    assert_lines 10 "$TMP/sasl-scram.out" "sasl-scram: records read over SCRAM-SHA-512"
else
    sasl_refused sasl-scram
    assert_contains "$TMP/sasl-scram.log" "librdkafka $rdk cannot log in with SCRAM to Kafka 4 brokers \\(fixed in 2.6.1\\)" \
        "sasl-scram: the hint with librdkafka $rdk"
fi

# a broken secret file: position only, never its text
printf '{"bootstrap": "%s", "password": "%s" oops}\n' "$B" "$PW" >"$TMP/kafkasecrets.json"
run broken ''
assert_eq 1 "$RC" "broken: exit status"
assert_contains "$TMP/broken.log" "secret file $TMP/kafkasecrets.json: not valid JSON \\(line 1, column [0-9]+\\)" "broken: the position"

# no brokers anywhere
printf '{"username": "u", "password": "%s"}\n' "$PW" >"$TMP/kafkasecrets.json"
run nobrokers ''
assert_eq 1 "$RC" "nobrokers: exit status"
assert_contains "$TMP/nobrokers.log" 'no brokers: set the option `brokers` or give a secret file with .{1,2}bootstrap' "nobrokers: message"
