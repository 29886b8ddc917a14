-- The Info Mart catalog as one JSON document, for docs/gen-schema-doc.py
-- (tests/gim/schema_doc.sh runs it against a freshly migrated database).
SELECT json_build_object(
  'tables', (SELECT json_agg(t ORDER BY t.oid) FROM (
    SELECT c.oid::bigint AS oid, c.relname AS name, c.relkind::text AS relkind, obj_description(c.oid, 'pg_class') AS comment,
      (SELECT json_agg(json_build_object(
                'name', a.attname, 'type', format_type(a.atttypid, a.atttypmod),
                'not_null', a.attnotnull, 'default', pg_get_expr(d.adbin, d.adrelid),
                'identity', a.attidentity <> '', 'comment', col_description(c.oid, a.attnum))
              ORDER BY a.attnum)
         FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
        WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped) AS columns,
      (SELECT json_agg(json_build_object('type', k.contype, 'def', pg_get_constraintdef(k.oid)) ORDER BY k.contype, k.conname)
         FROM pg_constraint k WHERE k.conrelid = c.oid AND k.contype IN ('p', 'u', 'f')) AS constraints,
      (SELECT json_agg(regexp_replace(i.indexdef, '^.* USING btree ', '') ORDER BY i.indexname)
         FROM pg_indexes i JOIN pg_class ic ON ic.relname = i.indexname
        WHERE i.schemaname = 'public' AND i.tablename = c.relname
          AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = ic.oid)) AS indexes
    FROM pg_class c
    WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v') AND NOT c.relispartition) t),
  'references', (SELECT json_agg(json_build_object('fact', r.fact_table, 'column', r.column_name,
                                                   'dimension', r.dimension_table) ORDER BY r.fact_table, r.column_name)
                   FROM ctl_fact_reference r),
  'functions', (SELECT json_agg(json_build_object('signature', p.oid::regprocedure::text,
                                                  'comment', obj_description(p.oid, 'pg_proc')) ORDER BY p.oid)
                  FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace),
  'seeds', json_build_object(
    'media_type', (SELECT json_agg(json_build_array(media_name_code, media_name, is_online) ORDER BY media_type_key) FROM media_type),
    'interaction_type', (SELECT json_agg(json_build_array(interaction_type, interaction_type_code) ORDER BY interaction_type_key) FROM interaction_type),
    'resource_state', (SELECT json_agg(json_build_array(state_name_code, state_name) ORDER BY resource_state_key) FROM resource_state),
    'technical_descriptor', (SELECT json_agg(json_build_array(resource_role, role_reason, technical_result, result_reason)
                                             ORDER BY technical_descriptor_key) FROM technical_descriptor)),
  'version', (SELECT max(version) FROM ctl_schema_info));
