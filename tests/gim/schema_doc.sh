#!/usr/bin/env bash
# docs/info-mart-schema.md describes the schema the migrations make: every
# table and column (with the COMMENT ON text of the migrations) and the seeded
# technical descriptors. To refresh the generated parts after changing a
# migration: MF_UPDATE_DOCS=1 make check TESTS=tests/gim/schema_doc.sh
source "$top_srcdir/tests/postgres/pg_lib.sh"
PROG=${top_builddir:-.}/tests/gim/test_gim_schema
[[ -x $PROG ]] || fail "missing $PROG (built by make check)"
export MF_TEST_SQLDIR=$top_srcdir/plugins/gim/sql MF_TEST_SHA001=unused
"$PROG" --migrate >"$TMP/version" || fail "cannot migrate $PGDATABASE"
pg_sql -At -f "$top_srcdir/docs/gen-schema-doc.sql" >"$TMP/catalog.json" || fail "cannot read the catalog"
if [[ ${MF_UPDATE_DOCS:-0} == 1 ]]; then
    python3 "$top_srcdir/docs/gen-schema-doc.py" "$top_srcdir/docs/info-mart-schema.md" <"$TMP/catalog.json" \
        || fail "cannot update docs/info-mart-schema.md"
fi
python3 "$top_srcdir/docs/gen-schema-doc.py" "$top_srcdir/docs/info-mart-schema.md" --check <"$TMP/catalog.json" \
    || fail "docs/info-mart-schema.md does not match the migrations: regenerate it (MF_UPDATE_DOCS=1)"
