#!/usr/bin/env bash
# docs/pipeline-reference.md's option tables match `martflow plugins --json`.
# To refresh: martflow plugins --json | docs/gen-reference.py docs/pipeline-reference.md
source "$top_srcdir/tests/lib.sh"
"$MARTFLOW" plugins --json >"$TMP/plugins.json"
python3 "$top_srcdir/docs/gen-reference.py" "$top_srcdir/docs/pipeline-reference.md" --check <"$TMP/plugins.json" \
    || fail "docs/pipeline-reference.md does not match the plugins: regenerate it"
