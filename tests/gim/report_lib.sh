# tests/gim/report_lib.sh — the report tests' Info Mart (sourced first): a
# database of the test's own (gim_lib.sh), loaded by the gim sink from the
# GSP records of tests/gim/report_input.py; `report ARGS...` runs
# `martflow report` on it (stdout; stderr in $TMP/report.err).
source "$top_srcdir/tests/gim/gim_lib.sh"

python3 "$top_srcdir/tests/gim/report_input.py" >"$TMP/report_in.jsonl" || fail "cannot write the records"
gim_yaml "$TMP/report.yaml" "$TMP/report_in.jsonl"
run_pipeline "$TMP/report.yaml" "$TMP/report_load.log"
[[ ! -s $TMP/errors.jsonl ]] || { cat "$TMP/errors.jsonl" >&2; fail "records rejected"; }

report() { "$MARTFLOW" report "$@" 2>"$TMP/report.err"; }
