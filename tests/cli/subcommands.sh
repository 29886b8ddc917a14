#!/usr/bin/env bash
# External subcommands (engine/src/subcmd.h): `martflow NAME ARGS...` runs
# martflow-NAME from MARTFLOW_EXEC_PATH, the binary's directory or
# pkglibexecdir with the arguments untouched and its exit status; `help`
# lists what it finds; an unknown NAME (or one that could be a path) is the
# usage error.
source "$top_srcdir/tests/lib.sh"
mkdir -p "$TMP/bin" "$TMP/bin2"
cat >"$TMP/bin/martflow-hello" <<'S'
#!/bin/sh
echo "argv0=$(basename "$0") args=$*"
exit 3
S
chmod +x "$TMP/bin/martflow-hello"
printf '#!/bin/sh\necho second\n' >"$TMP/bin2/martflow-hello"
chmod +x "$TMP/bin2/martflow-hello"
printf '#!/bin/sh\necho never\n' >"$TMP/bin/martflow-noexec"  # not executable: not a subcommand
export MARTFLOW_EXEC_PATH=$TMP/bin:$TMP/bin2

rc=0
out=$("$MARTFLOW" hello a --set x=1 --from 2024-01-01) || rc=$?
assert_eq 3 "$rc" "the subcommand's exit status"
assert_eq "argv0=martflow-hello args=a --set x=1 --from 2024-01-01" "$out" "arguments passed untouched, first directory wins"

"$MARTFLOW" help >"$TMP/help"
assert_contains "$TMP/help" "^usage: martflow run FILE" "help prints the usage"
assert_contains "$TMP/help" "^  hello +\($TMP/bin/martflow-hello\)$" "help lists the subcommand where it is found"
assert_eq 1 "$(grep -c '^  hello ' "$TMP/help")" "listed once"
! grep -q noexec "$TMP/help" || fail "a file that is not executable was listed"
# the build tree: martflow-report next to the binary
assert_contains "$TMP/help" "^  report +\(.*/martflow-report\)$" "martflow-report next to the binary is listed"
"$MARTFLOW" report --help >"$TMP/report-help"
assert_contains "$TMP/report-help" "^usage: martflow report" "martflow report runs martflow-report"

for name in nosuch noexec "x/../hello" ../bin/martflow-hello Hello; do
    rc=0
    "$MARTFLOW" "$name" >"$TMP/out" 2>"$TMP/err" || rc=$?
    assert_eq 2 "$rc" "exit status of martflow $name"
    assert_contains "$TMP/err" "unknown command '$name'" "message for $name"
    assert_contains "$TMP/err" "^usage: martflow run FILE" "usage for $name"
done
# the builtins are not shadowed by a program of their name
printf '#!/bin/sh\necho shadow\n' >"$TMP/bin/martflow-version"
chmod +x "$TMP/bin/martflow-version"
assert_contains "$("$MARTFLOW" version)" "^martflow [0-9]" "version stays the builtin"
