-- 007_partitioned_facts.sql — every fact table becomes a table partitioned by
-- month of start_ts (PostgreSQL declarative partitioning).
--
-- Why: the maintenance job purges facts older than their retention. Deleting
-- them row by row costs a scan, index entries, WAL and a vacuum for every
-- row; dropping a month whose rows are all past retention costs nothing of
-- that (docs/plugins/gim.md, "Maintenance").
--
-- A partition is `<fact>_YYYYMM` and holds the rows whose start_ts (UTC epoch
-- seconds) falls in that month. They are made when needed: by the loader
-- for the months of the rows it writes (infomart_ensure_partitions, in the
-- cycle's transaction), by the maintenance job up to its horizon, and here
-- for the rows already loaded. There is no default partition: a row the
-- loader did not prepare a month for is refused (SQLSTATE 23514), never put
-- where a purge would not find it.
--
-- The primary key becomes (id, start_ts): PostgreSQL's unique indexes on a
-- partitioned table must hold its partition key. The id stays unique: the
-- loader finds a row by its id within a window of start times
-- (gim_cycle.c), and a fact's start moves by less than that window between
-- two loads (GSP's late_window is at most 7 days).
--
-- Views over the facts are dropped and made again from their own
-- definitions (a view is bound to the table it was made over), comments
-- included.

CREATE FUNCTION infomart_ensure_partitions(fact_table text, month_starts bigint[])
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    m bigint;
    made integer := 0;
    part text;
    upper_ts bigint;
BEGIN
    FOREACH m IN ARRAY month_starts LOOP
        part := fact_table || '_' || to_char(to_timestamp(m) AT TIME ZONE 'UTC', 'YYYYMM');
        IF to_regclass(quote_ident(part)) IS NULL THEN
            upper_ts := extract(epoch FROM (to_timestamp(m) AT TIME ZONE 'UTC' + interval '1 month')
                                           AT TIME ZONE 'UTC')::bigint;
            EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%s) TO (%s)',
                           part, fact_table, m, upper_ts);
            made := made + 1;
        END IF;
    END LOOP;
    RETURN made;
END
$$;
COMMENT ON FUNCTION infomart_ensure_partitions(text, bigint[]) IS
    'Creates the monthly partitions <fact_table>_YYYYMM of the months starting at month_starts (UTC epoch seconds of the first second of each month) that do not exist yet; returns how many it made.';

CREATE FUNCTION infomart_month_start(ts bigint) RETURNS bigint LANGUAGE sql IMMUTABLE AS
    $$ SELECT extract(epoch FROM date_trunc('month', to_timestamp(ts) AT TIME ZONE 'UTC') AT TIME ZONE 'UTC')::bigint $$;
COMMENT ON FUNCTION infomart_month_start(bigint) IS
    'The first second (UTC epoch seconds) of the month of ts: the lower bound of the partition holding a fact that started at ts.';

CREATE TEMP TABLE mf_saved_views ON COMMIT DROP AS
    SELECT c.oid, c.relname, pg_get_viewdef(c.oid) AS def, obj_description(c.oid, 'pg_class') AS comment
      FROM pg_class c
     WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'v';
CREATE TEMP TABLE mf_saved_view_columns ON COMMIT DROP AS
    SELECT c.relname, a.attname, d.description
      FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
      JOIN pg_description d ON d.objoid = c.oid AND d.classoid = 'pg_class'::regclass AND d.objsubid = a.attnum
     WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'v';

DO $$
DECLARE
    v record;
    f record;
    ix record;
    id_col text;
    old text;
    cmt text;
BEGIN
    FOR v IN SELECT relname FROM mf_saved_views ORDER BY oid DESC LOOP
        EXECUTE format('DROP VIEW %I', v.relname);
    END LOOP;

    FOR f IN
        SELECT c.relname AS name
          FROM pg_class c
         WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r'
           AND c.relname LIKE '%\_fact'
           AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'start_ts'
                                                     AND NOT a.attisdropped)
         ORDER BY c.oid -- made again in the order they were made
    LOOP
        old := f.name || '_unpartitioned';
        SELECT a.attname INTO id_col
          FROM pg_constraint k JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = k.conkey[1]
         WHERE k.conrelid = f.name::regclass AND k.contype = 'p';
        cmt := obj_description(f.name::regclass, 'pg_class');
        EXECUTE format('ALTER TABLE %I RENAME TO %I', f.name, old);
        EXECUTE format('ALTER TABLE %I RENAME CONSTRAINT %I TO %I', old, f.name || '_pkey', old || '_pkey');
        EXECUTE format('CREATE TABLE %I (LIKE %I INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING COMMENTS)'
                       ' PARTITION BY RANGE (start_ts)', f.name, old);
        EXECUTE format('ALTER TABLE %I ADD PRIMARY KEY (%I, start_ts)', f.name, id_col);
        EXECUTE format('COMMENT ON TABLE %I IS %L', f.name, cmt);
        -- the other indexes, under their own names, on the new table
        FOR ix IN
            SELECT i.relname AS name, pg_get_indexdef(i.oid) AS def
              FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
             WHERE x.indrelid = old::regclass AND NOT x.indisprimary
             ORDER BY i.relname
        LOOP
            EXECUTE format('DROP INDEX %I', ix.name);
            EXECUTE regexp_replace(ix.def, ' ON \S+ USING ', format(' ON %I USING ', f.name));
        END LOOP;
        EXECUTE format('SELECT infomart_ensure_partitions(%L, ARRAY(SELECT DISTINCT infomart_month_start(start_ts)'
                       ' FROM %I))', f.name, old);
        EXECUTE format('INSERT INTO %I SELECT * FROM %I', f.name, old);
        EXECUTE format('DROP TABLE %I', old);
    END LOOP;

    FOR v IN SELECT relname, def, comment FROM mf_saved_views ORDER BY oid LOOP
        EXECUTE format('CREATE VIEW %I AS %s', v.relname, v.def);
        IF v.comment IS NOT NULL THEN
            EXECUTE format('COMMENT ON VIEW %I IS %L', v.relname, v.comment);
        END IF;
    END LOOP;
    FOR v IN SELECT relname, attname, description FROM mf_saved_view_columns LOOP
        EXECUTE format('COMMENT ON COLUMN %I.%I IS %L', v.relname, v.attname, v.description);
    END LOOP;
END
$$;
