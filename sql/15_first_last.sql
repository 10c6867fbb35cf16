-- first(value, at) and last(value, at): against their plain-SQL references
--   first: (array_agg(value ORDER BY at, value) FILTER (WHERE at IS NOT NULL))[1]
--   last:  (array_agg(value ORDER BY at DESC, value DESC) FILTER (WHERE at IS NOT NULL))[1]
-- on generated data with many ties and NULL values and times, for several
-- value types, collations and the three time types, grouped, filtered, and
-- in partial aggregation (partitionwise and parallel), which combines and
-- serializes states.  Each check returns how many groups it compared and
-- how many differ from the reference (expected 0), and how many groups have
-- a NULL answer (so NULL values are really compared).
SET timezone = 'UTC';

-- 12000 rows over 211 groups, times in whole minutes within 13 minutes
-- (about 4 rows a minute in each group: ties everywhere), 1 in 37 times
-- NULL, values NULL now and then.  Numbers only (no random()), so that the
-- data are the same on every version.
CREATE TABLE fl_events AS
SELECT i, i % 211 AS g,
       CASE WHEN i % 37 = 0 THEN NULL
            ELSE timestamptz '2026-01-01' + ((i * 7919) % 13) * interval '1 minute' END AS at,
       CASE WHEN (i * 31) % 17 = 0 THEN NULL
            ELSE (ARRAY['a', 'B', 'b', 'A', 'ä', 'Z', '1', '_', 'ab', 'aB'])[1 + (i * 13) % 10] END AS t,
       CASE WHEN (i * 29) % 19 = 0 THEN NULL ELSE (i * 104729) % 7 - 3 END AS n,
       CASE WHEN (i * 23) % 11 = 0 THEN NULL ELSE round(((i * 53) % 5)::numeric / 2, i % 3) END AS num
FROM generate_series(1, 12000) i;
-- groups whose answers are NULL for another reason: only NULL values, only
-- NULL times, the first time's only value NULL (but not the last's)
INSERT INTO fl_events VALUES
    (0, 1000, '2026-01-01 00:00', NULL, NULL, NULL), (0, 1000, '2026-01-01 00:01', NULL, NULL, NULL),
    (0, 1001, NULL, 'x', 1, 1), (0, 1001, NULL, 'y', 2, 2),
    (0, 1002, '2026-01-01 00:00', NULL, NULL, NULL), (0, 1002, '2026-01-01 00:01', 'q', 5, 5),
    (0, 1002, '2026-01-01 00:01', 'p', 4, 4);
ANALYZE fl_events;

-- The data have what the checks need: ties between different values at a
-- group's first and last times, and NULL values among them.
SELECT count(*) FILTER (WHERE first_values > 1) AS groups_with_ties_first,
       count(*) FILTER (WHERE last_values > 1) AS groups_with_ties_last,
       count(*) FILTER (WHERE first_nulls > 0 AND first_values > 0) AS groups_null_tied_first,
       count(*) FILTER (WHERE last_nulls > 0 AND last_values > 0) AS groups_null_tied_last
FROM (SELECT e.g,
             count(DISTINCT t) FILTER (WHERE at = lo) AS first_values,
             count(*) FILTER (WHERE at = lo AND t IS NULL) AS first_nulls,
             count(DISTINCT t) FILTER (WHERE at = hi) AS last_values,
             count(*) FILTER (WHERE at = hi AND t IS NULL) AS last_nulls
      FROM fl_events e JOIN (SELECT g, min(at) lo, max(at) hi FROM fl_events GROUP BY g) m USING (g)
      GROUP BY e.g) s;

-- first() and last() of expression val by time expression at, against the
-- references, per group expression grp of source src, over the rows that
-- filt selects (as a FILTER clause of all four aggregates).  Groups are
-- matched by ARRAY[g], which is equal for two NULL groups and hashable.
CREATE FUNCTION fl_check(val text, at text, src text DEFAULT 'fl_events',
                         grp text DEFAULT 'g', filt text DEFAULT 'true')
RETURNS TABLE (groups bigint, differences bigint, null_firsts bigint, null_lasts bigint)
LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY EXECUTE format($q$
        WITH got AS (
            SELECT %3$s AS g, true AS present,
                   sessionize.first(%1$s, %2$s) FILTER (WHERE %4$s) AS f,
                   sessionize.last(%1$s, %2$s) FILTER (WHERE %4$s) AS l
            FROM %5$s GROUP BY 1),
        ref AS (
            SELECT %3$s AS g, true AS present,
                   (array_agg(%1$s ORDER BY %2$s, %1$s) FILTER (WHERE %2$s IS NOT NULL AND %4$s))[1] AS f,
                   (array_agg(%1$s ORDER BY %2$s DESC, %1$s DESC) FILTER (WHERE %2$s IS NOT NULL AND %4$s))[1] AS l
            FROM %5$s GROUP BY 1)
        SELECT count(*),
               count(*) FILTER (WHERE got.f IS DISTINCT FROM ref.f OR got.l IS DISTINCT FROM ref.l
                                      OR got.present IS NULL OR ref.present IS NULL),
               count(*) FILTER (WHERE ref.f IS NULL),
               count(*) FILTER (WHERE ref.l IS NULL)
        FROM got FULL JOIN ref ON ARRAY[got.g] = ARRAY[ref.g]$q$,
        val, at, grp, filt, src);
END $$;

-- Value types, by group: text (under the default collation, "C", and an
-- ICU collation where the server has ICU), int, numeric (1, 1.0 and 1.00
-- are equal: either is the reference's answer, and IS DISTINCT FROM says
-- they are the same), a composite, and two types passed by reference with
-- a fixed length (uuid, interval), which the state copies with datumCopy().
SELECT 'text' AS what, * FROM fl_check('t', 'at')
UNION ALL SELECT 'text "C"', * FROM fl_check('t COLLATE "C"', 'at')
UNION ALL SELECT 'int', * FROM fl_check('n', 'at')
UNION ALL SELECT 'numeric', * FROM fl_check('num', 'at')
UNION ALL SELECT 'record', * FROM fl_check('(t COLLATE "C", n)', 'at')
UNION ALL SELECT 'uuid', * FROM fl_check('md5(n::text)::uuid', 'at')
UNION ALL SELECT 'interval', * FROM fl_check('n * interval ''1 minute''', 'at');

-- Arrays (the subscript of the references would take an element of
-- array_agg's two-dimensional result): DISTINCT ON is the same reference.
SELECT count(*) AS groups,
       count(*) FILTER (WHERE got.f IS DISTINCT FROM rf.v OR got.l IS DISTINCT FROM rl.v) AS differences,
       count(*) FILTER (WHERE rf.v IS NULL OR rl.v IS NULL) AS null_answers
FROM (SELECT g, sessionize.first(ARRAY[n, i % 3], at) AS f, sessionize.last(ARRAY[n, i % 3], at) AS l
      FROM fl_events GROUP BY g) got
JOIN (SELECT DISTINCT ON (g) g, ARRAY[n, i % 3] AS v FROM fl_events WHERE at IS NOT NULL
      ORDER BY g, at, ARRAY[n, i % 3]) rf USING (g)
JOIN (SELECT DISTINCT ON (g) g, ARRAY[n, i % 3] AS v FROM fl_events WHERE at IS NOT NULL
      ORDER BY g, at DESC, ARRAY[n, i % 3] DESC) rl USING (g);

-- An ICU collation orders 'a' < 'A' < 'b' < 'B', unlike "C" (and the C
-- locales of the servers the tests run on); where there is none, "C" again.
-- Either way, the answers are the reference's under that collation, and
-- with ICU they differ from those under "C" in some groups.
SELECT coalesce((SELECT 'und-x-icu' FROM pg_collation WHERE collname = 'und-x-icu'), 'C') AS icu \gset
SELECT 'text ICU' AS what, * FROM fl_check(format('t COLLATE %I', :'icu'), 'at');
SELECT :'icu' = 'C' OR count(*) > 0 AS collation_matters
FROM (SELECT g, sessionize.first(t COLLATE "C", at) AS cf, sessionize.first(t COLLATE :"icu", at) AS icuf,
             sessionize.last(t COLLATE "C", at) AS cl, sessionize.last(t COLLATE :"icu", at) AS icul
      FROM fl_events GROUP BY g) d
WHERE cf COLLATE "C" IS DISTINCT FROM icuf COLLATE "C" OR cl COLLATE "C" IS DISTINCT FROM icul COLLATE "C";

-- The three time types (bigint: epoch milliseconds).
SELECT 'timestamp' AS what, * FROM fl_check('t', 'at::timestamp')
UNION ALL SELECT 'bigint', * FROM fl_check('t', '(extract(epoch FROM at) * 1000)::bigint')
UNION ALL SELECT 'int, timestamp', * FROM fl_check('n', 'at::timestamp')
UNION ALL SELECT 'int, bigint', * FROM fl_check('n', '(extract(epoch FROM at) * 1000)::bigint');

-- Other groupings: one group, groups by another expression, FILTER.
SELECT 'one group' AS what, * FROM fl_check('t', 'at', grp => '0')
UNION ALL SELECT 'by n', * FROM fl_check('t', 'at', grp => 'n')
UNION ALL SELECT 'filter', * FROM fl_check('t', 'at', filt => 'i % 3 <> 0')
UNION ALL SELECT 'filter none', * FROM fl_check('t', 'at', filt => 'false');

-- Rows with a NULL time are skipped: without the references' FILTER, last
-- would differ (ORDER BY at DESC puts NULL times first).
SELECT count(*) AS groups_where_null_times_matter
FROM (SELECT g FROM fl_events GROUP BY g
      HAVING sessionize.last(t, at) IS DISTINCT FROM (array_agg(t ORDER BY at DESC, t DESC))[1]) d;

-- Sort and hash aggregation give the same answers.
SET enable_hashagg = off;
SELECT 'sorted' AS what, * FROM fl_check('t', 'at');
RESET enable_hashagg;
SET enable_sort = off;
SELECT 'hashed' AS what, * FROM fl_check('t', 'at');
RESET enable_sort;

-- Values that the ordering finds equal but that differ (numeric 1, 1.0 and
-- 1.00 at the same time): the answer does not depend on the order of the
-- rows (the six orders, each read from an array in its order).
SELECT count(DISTINCT f::text) AS firsts, count(DISTINCT l::text) AS lasts, count(*) AS orders,
       min(f::text) AS first, min(l::text) AS last
FROM (SELECT (SELECT sessionize.first(v, 0::bigint) FROM unnest(o) v) AS f,
             (SELECT sessionize.last(v, 0::bigint) FROM unnest(o) v) AS l
      FROM (VALUES ('{1, 1.0, 1.00}'::numeric[]), ('{1, 1.00, 1.0}'), ('{1.0, 1, 1.00}'),
                   ('{1.0, 1.00, 1}'), ('{1.00, 1, 1.0}'), ('{1.00, 1.0, 1}')) p(o)) r;
-- The same for a type passed by value: float8's 0 and -0 are equal to its
-- ordering, not in their bits.
SELECT count(DISTINCT f::text) AS firsts, count(DISTINCT l::text) AS lasts, count(*) AS orders,
       min(f::text) AS first, min(l::text) AS last
FROM (SELECT (SELECT sessionize.first(v, 0::bigint) FROM unnest(o) v) AS f,
             (SELECT sessionize.last(v, 0::bigint) FROM unnest(o) v) AS l
      FROM (VALUES ('{0, -0}'::float8[]), ('{-0, 0}')) p(o)) r;

-- No rows: NULL.  Only NULL times: NULL.
SELECT sessionize.first(t, at) IS NULL AS no_rows_first, sessionize.last(t, at) IS NULL AS no_rows_last
FROM fl_events WHERE false;
SELECT sessionize.first(1, NULL::timestamptz) IS NULL AS null_time_first,
       sessionize.last(1, NULL::bigint) IS NULL AS null_time_last;

-- As a window aggregate, with a moving frame (the row and the 5 before it
-- in its group, whose i are 211 apart), against the references over the
-- same rows.
SELECT count(*) AS rows, count(*) FILTER (WHERE f IS DISTINCT FROM rf OR l IS DISTINCT FROM rl) AS differences
FROM (SELECT sessionize.first(t, at) OVER w AS f, sessionize.last(t, at) OVER w AS l,
             (SELECT (array_agg(f.t ORDER BY f.at, f.t) FILTER (WHERE f.at IS NOT NULL))[1]
              FROM fl_events f WHERE f.g = e.g AND f.i BETWEEN e.i - 5 * 211 AND e.i) AS rf,
             (SELECT (array_agg(f.t ORDER BY f.at DESC, f.t DESC) FILTER (WHERE f.at IS NOT NULL))[1]
              FROM fl_events f WHERE f.g = e.g AND f.i BETWEEN e.i - 5 * 211 AND e.i) AS rl
      FROM fl_events e WHERE g < 20 AND i > 0
      WINDOW w AS (PARTITION BY g ORDER BY i ROWS BETWEEN 5 PRECEDING AND CURRENT ROW)) s;

-- A type without a default btree ordering is an error on the first row,
-- whether or not a tie needs it (also when the time is NULL); with no rows
-- there is no call, and no error.
\set VERBOSITY sqlstate
SELECT sessionize.first(point(1, 2), timestamptz '2026-01-01');
SELECT sessionize.last(point(1, 2), NULL::timestamp);
SELECT sessionize.first(ARRAY[point(1, 2)], 1::bigint);
\set VERBOSITY default
SELECT sessionize.first(point(1, 2), timestamptz '2026-01-01');
SELECT sessionize.first(point(1, 2), at) IS NULL AS no_rows_no_error FROM fl_events WHERE false;

-- Partial aggregation, deterministic: partitionwise aggregation makes one
-- partial state per partition and group, serializes it, and combines them
-- in partition order.  For odd groups the partitions' first times differ
-- (the best state is in any partition); for even groups all partitions
-- start at the same time, so combine must break the tie by value; NULL
-- values among them.  A combine that kept either state, compared times
-- only, took the wrong direction or ignored the collation would differ
-- from the references.
CREATE TABLE fl_parts (p int, g int, at timestamptz, v text) PARTITION BY LIST (p);
CREATE TABLE fl_parts_1 PARTITION OF fl_parts FOR VALUES IN (1);
CREATE TABLE fl_parts_2 PARTITION OF fl_parts FOR VALUES IN (2);
CREATE TABLE fl_parts_3 PARTITION OF fl_parts FOR VALUES IN (3);
INSERT INTO fl_parts
SELECT p, g,
       timestamptz '2026-01-01' + ((g * 3 + p * 5 * (g % 2)) % 7 + (k * 7) % 5 + (g % 2) * p * (k % 2) * 3) * interval '1 minute',
       CASE WHEN (g * 7 + p + k * k) % 53 = 0 THEN NULL ELSE (ARRAY['a', 'B', 'b', 'A', 'c', 'C'])[1 + (g + p * 2 + k % 2) % 6] END
FROM generate_series(1, 3) p, generate_series(1, 60) g, generate_series(1, 100) k;
ANALYZE fl_parts;
SET enable_partitionwise_aggregate = on;
EXPLAIN (COSTS OFF)
SELECT g, sessionize.first(v, at), sessionize.last(v, at) FROM fl_parts GROUP BY g;
SELECT 'partitionwise' AS what, * FROM fl_check('v', 'at', 'fl_parts')
UNION ALL SELECT 'partitionwise ICU', * FROM fl_check(format('v COLLATE %I', :'icu'), 'at', 'fl_parts');
-- the partial states differ: in many groups the best row is not in the
-- first partition, or ties with another partition's
SELECT count(*) FILTER (WHERE best_first <> 1) AS first_not_in_partition_1,
       count(*) FILTER (WHERE best_last <> 1) AS last_not_in_partition_1,
       count(*) FILTER (WHERE tied_first) AS first_time_tied_across_partitions,
       count(*) FILTER (WHERE tied_last) AS last_time_tied_across_partitions
FROM (SELECT g,
             (array_agg(p ORDER BY at, v, p))[1] AS best_first,
             (array_agg(p ORDER BY at DESC, v DESC, p))[1] AS best_last,
             count(DISTINCT p) FILTER (WHERE at = lo) > 1 AS tied_first,
             count(DISTINCT p) FILTER (WHERE at = hi) > 1 AS tied_last
      FROM fl_parts JOIN (SELECT g, min(at) lo, max(at) hi FROM fl_parts GROUP BY g) m USING (g)
      GROUP BY g) s;
RESET enable_partitionwise_aggregate;

-- Parallel aggregation: workers aggregate, serialize their states, and the
-- leader deserializes and combines them.
CREATE TABLE fl_big AS
SELECT i % 101 AS g,
       timestamptz '2026-01-01' + ((i * 7919) % 5000) * interval '1 second' AS at,
       CASE WHEN i % 7 = 0 THEN NULL ELSE ((i * 31) % 9)::text END AS t,
       (i * 13) % 11 AS n
FROM generate_series(1, 60000) i;
ANALYZE fl_big;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET parallel_leader_participation = off;
EXPLAIN (COSTS OFF)
SELECT g, sessionize.first(t, at), sessionize.last(t, at) FROM fl_big GROUP BY g;
EXPLAIN (COSTS OFF)
SELECT sessionize.first(t, at), sessionize.last(n, at::timestamp) FROM fl_big;
-- parallel against the references (array_agg with ORDER BY does not run in
-- parallel), by group and for all rows
CREATE TABLE fl_big_par AS
SELECT g, sessionize.first(t, at) AS tf, sessionize.last(t, at) AS tl,
       sessionize.first(n, at::timestamp) AS nf, sessionize.last(n, (extract(epoch FROM at) * 1000)::bigint) AS nl
FROM fl_big GROUP BY g;
CREATE TABLE fl_big_all AS
SELECT sessionize.first(t, at) AS tf, sessionize.last(t, at) AS tl FROM fl_big;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;
RESET parallel_leader_participation;
SELECT count(*) AS groups,
       count(*) FILTER (WHERE p.tf IS DISTINCT FROM r.tf OR p.tl IS DISTINCT FROM r.tl
                              OR p.nf IS DISTINCT FROM r.nf OR p.nl IS DISTINCT FROM r.nl OR p.g IS NULL OR r.g IS NULL) AS differences,
       count(*) FILTER (WHERE r.tf IS NULL OR r.tl IS NULL) AS null_answers
FROM fl_big_par p
FULL JOIN (SELECT g, (array_agg(t ORDER BY at, t))[1] AS tf, (array_agg(t ORDER BY at DESC, t DESC))[1] AS tl,
                  (array_agg(n ORDER BY at, n))[1] AS nf, (array_agg(n ORDER BY at DESC, n DESC))[1] AS nl
           FROM fl_big GROUP BY g) r USING (g);
SELECT a.tf IS NOT DISTINCT FROM (SELECT (array_agg(t ORDER BY at, t))[1] FROM fl_big) AS all_first_same,
       a.tl IS NOT DISTINCT FROM (SELECT (array_agg(t ORDER BY at DESC, t DESC))[1] FROM fl_big) AS all_last_same
FROM fl_big_all a;

-- Catalog: parallel safe, with combine and (de)serialization, and commented.
SELECT p.oid::regprocedure AS aggregate, p.proparallel, a.aggcombinefn, a.aggserialfn, a.aggdeserialfn,
       obj_description(p.oid, 'pg_proc') IS NOT NULL AS commented
FROM pg_proc p JOIN pg_aggregate a ON a.aggfnoid = p.oid
WHERE p.pronamespace = 'sessionize'::regnamespace AND p.proname IN ('first', 'last')
ORDER BY p.oid::regprocedure::text;

DROP TABLE fl_events, fl_parts, fl_big, fl_big_par, fl_big_all;
DROP FUNCTION fl_check(text, text, text, text, text);
