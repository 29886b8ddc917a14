#!/usr/bin/env bash
# The postgres sink's configuration: a bad `columns` shape, table or key is
# reported by `martflow check` (and `run`) at its file:line:col before
# anything connects; the password (a secret option, or a file) is in no
# output: not in the logs at debug level, not in `check --print`.
source "$top_srcdir/tests/postgres/sink_lib.sh"

f=$TMP/bad.yaml
cat >"$f" <<'Y'
sources:
  in: {plugin: file, path: /dev/null}
sinks:
  a:
    plugin: postgres
    inputs: [in]
    table: public.t.x
    columns:
      ok: id
      n: 7
      bad-name: x
      p: a..b
      t: {field: t, type: varchar2}
      u: {field: u, typo: 1}
      v: {type: text}
    mode: upsert
    key: [id, ok]
  b: {plugin: postgres, inputs: [in], table: t, columns: [id, name], key: id}
  c: {plugin: postgres, inputs: [in], table: t, columns: {}, mode: upsert}
  d: {plugin: postgres, inputs: [in], table: t, columns: {id: id}, mode: upsert, key: [id, other]}
Y
rc=0; "$MARTFLOW" check "$f" 2>"$TMP/err" || rc=$?
assert_eq 2 "$rc" "exit of check with bad postgres options"
A="node 'a' \(sink postgres\)"
assert_contains "$TMP/err" "^$f:7:12: $A: option 'table': 'public\.t\.x': at most schema\.name$" "table"
assert_contains "$TMP/err" "^$f:10:10: $A: option 'columns': column 'n' must map to a field path or \{field: path, type: name\}, not a number$" "a number"
assert_contains "$TMP/err" "^$f:11:17: $A: option 'columns': column 'bad-name': only letters, digits" "a column name"
assert_contains "$TMP/err" "^$f:12:10: $A: option 'columns': column 'p': field path 'a\.\.b': empty name" "a bad path"
assert_contains "$TMP/err" "^$f:13:27: $A: option 'columns': column 't': type 'varchar2' is not one of text, varchar" "a bad type"
assert_contains "$TMP/err" "^$f:14:27: $A: option 'columns': column 'u': unknown key 'typo' \(field, type\)$" "an unknown key"
assert_contains "$TMP/err" "^$f:15:10: $A: option 'columns': column 'v' has no 'field'" "no field"
B="node 'b' \(sink postgres\)"
assert_contains "$TMP/err" "^$f:18:58: $B: option 'columns': expected a map of column -> field path .*, not a list$" "columns a list"
assert_contains "$TMP/err" "^$f:18:75: $B: option 'key': only mode upsert uses a key$" "key without upsert"
C="node 'c' \(sink postgres\)"
assert_contains "$TMP/err" "^$f:19:58: $C: option 'columns': expected .*, not an empty map$" "empty columns"
assert_contains "$TMP/err" "^$f:19:68: $C: mode upsert needs option 'key'" "upsert without key"
D="node 'd' \(sink postgres\)"
assert_contains "$TMP/err" "^$f:20:92: $D: option 'key': 'other' is not one of the columns$" "key not a column"
assert_eq 12 "$(wc -l <"$TMP/err")" "one line per problem"
rc=0; "$MARTFLOW" run "$f" >"$TMP/out" 2>"$TMP/err2" || rc=$?
assert_eq 2 "$rc" "exit of run with bad postgres options"
cmp -s "$TMP/err" "$TMP/err2" || fail "run reports what check reports: $(cat "$TMP/err2")"

# The password: a role that must give it (SCRAM), as the secret option and
# as a file; nothing of it in any output.
ROLE=mf_sink_$$
PASSWORD="Pw-$$-$RANDOM-s3cr3t"
pg_role "$ROLE" "$PASSWORD"
pg_sql -c "CREATE TABLE t (id bigint, name text)" -c "GRANT ALL ON t TO $ROLE"
unset PGPASSWORD
export PGPASSFILE=$TMP/no-pgpass
printf '%s\n' "$PASSWORD" >"$TMP/pw"
records "$TMP/in.jsonl" 100
for how in "password: \"$PASSWORD\"" "password_file: \"$TMP/pw\""; do
    cat >"$TMP/p.yaml" <<Y
pipeline: secret
sources:
  in: {plugin: file, path: "$TMP/in.jsonl", positions: false}
sinks:
  db:
    plugin: postgres
    inputs: [in]
    conninfo: "host=$PGHOST port=$PGPORT dbname=$PGDATABASE"
    pg.user: $ROLE
    $how
    table: t
    columns: {id: id, name: name}
Y
    "$MARTFLOW" check "$TMP/p.yaml" --print >"$TMP/print" 2>&1 || { cat "$TMP/print" >&2; fail "check --print"; }
    PGUSER=nobody "$MARTFLOW" run "$TMP/p.yaml" --log-level debug >"$TMP/log" 2>&1 ||
        { cat "$TMP/log" >&2; fail "run with ${how%%:*}"; }
    assert_contains "$TMP/log" "as $ROLE" "connected as the role (${how%%:*})"
    for out in "$TMP/print" "$TMP/log"; do
        ! grep -qF -- "$PASSWORD" "$out" || fail "the password is in $(basename "$out") (${how%%:*})"
    done
done
assert_eq 200 "$(value 'SELECT count(*) FROM t')" "rows written with the password"

# A wrong password: the sink says why it cannot write (and keeps trying),
# without either password.
sed -i "s|password_file: .*|password: \"wrong-$PASSWORD\"|" "$TMP/p.yaml"
engine "$TMP/p.yaml" "$TMP/log"
wait_for 10 grep -q "password authentication failed for user ..$ROLE" "$TMP/log" || fail "no reason logged: $(tail -3 "$TMP/log")"
wait_for 10 grep -q "writing 100 rows to table t failed (transient)" "$TMP/log" || fail "no retry logged"
kill -9 "$ENGINE"; wait "$ENGINE" 2>/dev/null || true
! grep -qF -- "$PASSWORD" "$TMP/log" || fail "a password is in the log of a failed login"
