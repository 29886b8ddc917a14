# tests/gim/gim_lib.sh — helpers for the loader's tests (sourced first: it
# sources sink_lib.sh, which gives the test a database of its own).
source "$top_srcdir/tests/postgres/sink_lib.sh"
GEN="python3 $top_srcdir/tests/gim/gen_gsp.py"

# gim_yaml FILE INPUT [SOURCE-EXTRA] [SINK-EXTRA] [DB]: a file source -> gim sink pipeline (errors to $TMP/errors.jsonl)
gim_yaml() {
    cat >"$1" <<Y
pipeline: $TEST_NAME
settings: {metrics_listen: "127.0.0.1:0", retry_cap: 1s}
sources:
  in: {plugin: file, path: "$2", ${3:-positions: false}}
sinks:
  im:
    plugin: gim
    inputs: [in]
    cycle: 200ms
    cycle_records: 2000
    schema_dir: $top_srcdir/plugins/gim/sql
    pg.dbname: ${5:-$PGDATABASE}
    ${4:-}
  errors: {plugin: file, inputs: [im.errors, in.errors], path: "$TMP/errors.jsonl", format: envelope}
Y
}

# nat_dump [DB]: every Info Mart row (dimensions and facts), one JSON object a
# line, sorted, with each surrogate key replaced by the natural key it stands
# for (surrogate keys depend on the order rows were created in, and identity
# values used by a rolled-back transaction are skipped: they legitimately
# differ between runs). Left out: create/update_audit_key (one per committed
# transaction), gmt_start_time (the load time of rows the loader creates),
# ctl_* (the runs themselves), date_time (filled around the load time) and
# gim_pending_update (checked empty on its own).
nat_dump() {
    pg_sql -d "${1:-$PGDATABASE}" -At <<'SQL'
CREATE FUNCTION pg_temp.nat(k text, v jsonb) RETURNS jsonb LANGUAGE sql AS $$
  SELECT CASE
    WHEN v = 'null'::jsonb THEN v
    WHEN k IN ('resource_key', 'last_queue_resource_key', 'last_rp_resource_key') THEN
      (SELECT to_jsonb(resource_type || '/' || switch_name || '/' || resource_name) FROM resource_ WHERE resource_key = (v #>> '{}')::int)
    WHEN k = 'place_key' THEN (SELECT to_jsonb(place_name) FROM place WHERE place_key = (v #>> '{}')::int)
    WHEN k = 'tenant_key' THEN (SELECT to_jsonb(tenant_name) FROM tenant WHERE tenant_key = (v #>> '{}')::int)
    WHEN k = 'media_type_key' THEN (SELECT to_jsonb(media_name_code) FROM media_type WHERE media_type_key = (v #>> '{}')::int)
    WHEN k = 'interaction_type_key' THEN (SELECT to_jsonb(interaction_type) FROM interaction_type WHERE interaction_type_key = (v #>> '{}')::int)
    WHEN k = 'resource_state_key' THEN (SELECT to_jsonb(state_name_code) FROM resource_state WHERE resource_state_key = (v #>> '{}')::int)
    WHEN k = 'technical_descriptor_key' THEN (SELECT to_jsonb(resource_role || '/' || role_reason || '/' || technical_result || '/' || result_reason) FROM technical_descriptor WHERE technical_descriptor_key = (v #>> '{}')::int)
    WHEN k = 'resource_state_reason_key' THEN (SELECT to_jsonb(reason_type || '/' || software_reason_key || '/' || software_reason_value || '/' || workmode) FROM resource_state_reason WHERE resource_state_reason_key = (v #>> '{}')::int)
    WHEN k = 'resource_group_key' THEN (SELECT to_jsonb(group_type || '/' || group_name) FROM resource_group_ WHERE resource_group_key = (v #>> '{}')::int)
    ELSE v END $$;
CREATE FUNCTION pg_temp.dump(t regclass) RETURNS SETOF text LANGUAGE plpgsql AS $$
BEGIN
  RETURN QUERY EXECUTE format(
    'SELECT %L || '' '' || (SELECT jsonb_object_agg(e.key, pg_temp.nat(e.key, e.value))
                             FROM jsonb_each(to_jsonb(r)) e
                             WHERE e.key NOT IN (''create_audit_key'', ''update_audit_key'', ''gmt_start_time''))::text
       FROM %s r', t::text, t);
END $$;
SELECT d FROM unnest(ARRAY['tenant', 'media_type', 'interaction_type', 'technical_descriptor', 'resource_state',
  'resource_state_reason', 'resource_', 'place', 'resource_group_', 'resource_group_member_', 'interaction_fact',
  'interaction_resource_fact', 'mediation_segment_fact', 'sm_res_session_fact', 'sm_res_state_fact',
  'sm_res_state_reason_fact', 'contact_attempt_fact']::regclass[]) t, pg_temp.dump(t) d ORDER BY 1;
SQL
}

# assert_references [DB]: every reference from a fact to a dimension names a
# row (infomart_check_references(): no foreign key enforces them since schema
# 004, the loader does), and there were fact rows to check
assert_references() {
    local db=${1:-$PGDATABASE} bad checked
    bad=$(pg_sql -d "$db" -At -c "SELECT string_agg(format('%s.%s -> %s: %s of %s rows (first key %s)', fact_table,
            column_name, dimension_table, orphan_rows, checked_rows, first_orphan_key), '; ')
          FROM infomart_check_references() WHERE orphan_rows > 0") || fail "infomart_check_references() failed in $db"
    [[ -z $bad ]] || fail "fact rows whose key names no dimension row in $db: $bad"
    checked=$(pg_sql -d "$db" -At -c "SELECT sum(checked_rows) FROM infomart_check_references()")
    ((checked > 0)) || fail "infomart_check_references() checked no fact row in $db"
}

# loaded_all N [DB]: the committed cycles account for N input records at least (for wait_for)
etl_rows() { value "SELECT coalesce(sum(row_count), 0) FROM ctl_etl_history WHERE status = 'SUCCESS'" 2>/dev/null || echo 0; }
