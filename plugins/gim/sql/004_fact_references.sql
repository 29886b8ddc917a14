-- 004_fact_references.sql — the facts' references to the dimensions are
-- checked by a function, no longer enforced by foreign keys.
--
-- Why: each foreign key is a trigger that runs one query per written row and
-- key. The fact tables had 33 of them, and they took 55–58% of the loader's
-- database time. Without them the loader's cycles ran 2.2–2.5x faster
-- (bench/RESULTS.md, "Where a cycle's time goes").
--
-- They were also redundant. The loader (plugins/gim/gim_dims.c) resolves every
-- reference inside the transaction that writes the fact. A key is looked up
-- by its natural key, and the row is created when it is missing (placeholders
-- for resource_ and place). Keys learnt in a transaction that rolled back are
-- forgotten, and dimension rows are never deleted. So a fact's key always
-- names a row. infomart_check_references() proves it on a live mart: every
-- count it returns is 0 in a healthy one.
--
-- Kept: the foreign keys of the dimensions themselves (tenant_key → tenant
-- on every dimension; resource_group_member_ → resource_group_ and
-- resource_). The configuration writes those, a few rows at a time, never on
-- a fact's path, so they cost nothing measurable, and they still guard
-- whatever else writes dimension rows.
-- Indexes: none is dropped. None of the facts' indexes was there for a
-- foreign key (PostgreSQL creates none for one). They serve the reports and
-- the views (start_date_time_key; resource_key, start_date_time_key),
-- joins between facts (interaction_id; sm_res_session_fact_key) and
-- incremental reads (update_audit_key). The check below reads the dimensions
-- through their primary keys.

CREATE TABLE ctl_fact_reference (
    fact_table       text    NOT NULL,
    column_name      text    NOT NULL,
    dimension_table  text    NOT NULL,
    dimension_column text    NOT NULL,
    tenant_key       integer NOT NULL DEFAULT 0,
    create_audit_key bigint  NOT NULL DEFAULT 0,
    update_audit_key bigint  NOT NULL DEFAULT 0,
    PRIMARY KEY (fact_table, column_name)
);
COMMENT ON TABLE ctl_fact_reference IS
    'One row per fact column that references a dimension (grain: fact table x column). No foreign key enforces these references: the loader resolves them, and infomart_check_references() counts the rows that break one. Filled by migration 004 from the foreign keys it dropped. A later migration that adds a reference adds its row here.';
COMMENT ON COLUMN ctl_fact_reference.fact_table IS 'The fact table, e.g. interaction_resource_fact.';
COMMENT ON COLUMN ctl_fact_reference.column_name IS 'Its column holding a dimension''s surrogate key, e.g. last_queue_resource_key.';
COMMENT ON COLUMN ctl_fact_reference.dimension_table IS 'The dimension the column references, e.g. resource_.';
COMMENT ON COLUMN ctl_fact_reference.dimension_column IS 'The dimension''s primary key column the value must match, e.g. resource_key.';
COMMENT ON COLUMN ctl_fact_reference.tenant_key IS 'The tenant (tenant); 0 for shared rows.';
COMMENT ON COLUMN ctl_fact_reference.create_audit_key IS 'ctl_audit_log row of the transaction that created the row (0: seeded by the schema).';
COMMENT ON COLUMN ctl_fact_reference.update_audit_key IS 'ctl_audit_log row of the transaction that last changed the row.';

-- Record the facts' foreign keys to the dimensions, then drop them. Every
-- one has a single column, and no fact references another fact (001).
DO $$
DECLARE
    k record;
BEGIN
    FOR k IN
        SELECT c.conname, f.relname AS fact_table, a.attname AS column_name,
               d.relname AS dimension_table, da.attname AS dimension_column
          FROM pg_constraint c
          JOIN pg_class f ON f.oid = c.conrelid
          JOIN pg_class d ON d.oid = c.confrelid
          JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
          JOIN pg_attribute da ON da.attrelid = c.confrelid AND da.attnum = c.confkey[1]
         WHERE c.contype = 'f' AND f.relnamespace = current_schema()::regnamespace
           AND f.relname LIKE '%\_fact'
         ORDER BY f.relname, a.attname
    LOOP
        INSERT INTO ctl_fact_reference (fact_table, column_name, dimension_table, dimension_column)
            VALUES (k.fact_table, k.column_name, k.dimension_table, k.dimension_column);
        EXECUTE format('ALTER TABLE %I DROP CONSTRAINT %I', k.fact_table, k.conname);
    END LOOP;
END
$$;

-- One scan per fact table, left-joined to each dimension it references by
-- that dimension's primary key (so the join adds no rows). A reference is
-- broken when its value is not NULL and matches no dimension row.
CREATE FUNCTION infomart_check_references(min_update_audit_key bigint DEFAULT 0)
RETURNS TABLE (fact_table text, column_name text, dimension_table text, checked_rows bigint,
               orphan_rows bigint, first_orphan_key bigint)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    t record;
    sel text;
    joins text;
    vals text;
    i integer;
BEGIN
    FOR t IN
        SELECT r.fact_table AS name, array_agg(r.column_name ORDER BY r.column_name) AS cols,
               array_agg(r.dimension_table ORDER BY r.column_name) AS dims,
               array_agg(r.dimension_column ORDER BY r.column_name) AS dimcols
          FROM ctl_fact_reference r GROUP BY r.fact_table ORDER BY r.fact_table
    LOOP
        sel := 'count(*) AS n';
        joins := '';
        vals := '';
        FOR i IN 1 .. array_length(t.cols, 1) LOOP
            sel := sel || format(', count(*) FILTER (WHERE f.%1$I IS NOT NULL AND d%2$s.%3$I IS NULL) AS o%2$s,'
                                 ' min(f.%1$I) FILTER (WHERE f.%1$I IS NOT NULL AND d%2$s.%3$I IS NULL)::bigint AS k%2$s,'
                                 ' count(f.%1$I) AS c%2$s', t.cols[i], i, t.dimcols[i]);
            joins := joins || format(' LEFT JOIN %1$I d%2$s ON d%2$s.%3$I = f.%4$I',
                                     t.dims[i], i, t.dimcols[i], t.cols[i]);
            vals := vals || CASE WHEN i > 1 THEN ', ' ELSE '' END
                         || format('(%L, %L, s.c%s, s.o%s, s.k%s)', t.cols[i], t.dims[i], i, i, i);
        END LOOP;
        RETURN QUERY EXECUTE format(
            'SELECT %L::text, v.col, v.dim, v.checked, v.orphans, v.first'
            '  FROM (SELECT %s FROM %I f%s WHERE f.update_audit_key >= $1) s'
            '  CROSS JOIN LATERAL (VALUES %s) v(col, dim, checked, orphans, first)',
            t.name, sel, t.name, joins, vals) USING min_update_audit_key;
    END LOOP;
END
$$;
COMMENT ON FUNCTION infomart_check_references(bigint) IS
    'One row per reference of ctl_fact_reference: how many rows of the fact have a value in the column (checked_rows), how many of those match no row of the dimension (orphan_rows: 0 in a healthy mart), and the smallest such value (first_orphan_key, NULL when none). Only the fact rows whose update_audit_key is at least min_update_audit_key are checked (default 0: all). Each fact table is read once.';

CREATE VIEW v_reference_check AS SELECT * FROM infomart_check_references();
COMMENT ON VIEW v_reference_check IS
    'The references from facts to dimensions and their broken rows, checked over every fact row (grain: fact table x column): infomart_check_references() for BI tools. Every orphan_rows is 0 in a healthy mart. A row of a fact with an orphan key is missing from the reporting views, which join the dimensions.';
COMMENT ON COLUMN v_reference_check.fact_table IS 'The fact table.';
COMMENT ON COLUMN v_reference_check.column_name IS 'Its column referencing the dimension.';
COMMENT ON COLUMN v_reference_check.dimension_table IS 'The dimension referenced.';
COMMENT ON COLUMN v_reference_check.checked_rows IS 'Rows of the fact with a value (not NULL) in the column.';
COMMENT ON COLUMN v_reference_check.orphan_rows IS 'Of those, the rows whose value matches no row of the dimension: 0 in a healthy mart.';
COMMENT ON COLUMN v_reference_check.first_orphan_key IS 'The smallest value without a dimension row, NULL when none: a place to start looking.';
