-- Randomized differential test: every function against the plain-SQL
-- reference of the README's Semantics, on generated data, for many seeds and
-- several gaps.  Times are whole minutes, so exact-gap boundaries and ties
-- are frequent; keys and times are sometimes NULL; rows are stored in
-- random order, or in time order with late rows after them.
SET timezone = 'UTC';

CREATE TABLE d_events (user_id int, ts timestamptz);

-- Fills d_events from a seed: n rows over k users within a day; for odd
-- seeds in time order (as an event log is written) followed by 2% late
-- rows, for even seeds in random order.
CREATE FUNCTION d_fill(seed float8, n int, k int) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM setseed(seed);
    TRUNCATE d_events;
    INSERT INTO d_events
    SELECT * FROM (
        SELECT CASE WHEN random() < 0.03 THEN NULL ELSE (random() * k)::int END AS user_id,
               CASE WHEN random() < 0.02 THEN NULL
                    ELSE timestamptz '2026-01-01' + (random() * 600)::int * interval '1 minute' END AS ts
        FROM generate_series(1, n)) r
    ORDER BY CASE WHEN (seed * 100)::int % 2 = 1 THEN ts END, random();
    IF (seed * 100)::int % 2 = 1 THEN
        INSERT INTO d_events
        SELECT (random() * k)::int, timestamptz '2026-01-01' + (random() * 600)::int * interval '1 minute'
        FROM generate_series(1, n / 50);
    END IF;
    ANALYZE d_events;
END $$;

-- The reference, per event row: its session number within its key.
CREATE FUNCTION d_reference_rows(gap interval)
RETURNS TABLE (user_id int, ts timestamptz, n bigint) LANGUAGE sql AS $$
SELECT user_id, ts, sum(is_new) OVER (PARTITION BY user_id ORDER BY ts ROWS UNBOUNDED PRECEDING)
FROM (SELECT user_id, ts,
             CASE WHEN lag(ts) OVER w IS NULL OR ts - lag(ts) OVER w > gap THEN 1 ELSE 0 END AS is_new
      FROM d_events WHERE ts IS NOT NULL WINDOW w AS (PARTITION BY user_id ORDER BY ts)) f
$$;

-- The reference, per session.
CREATE FUNCTION d_reference(gap interval)
RETURNS TABLE (user_id int, session_start timestamptz, last_event_at timestamptz, event_count bigint)
LANGUAGE sql AS $$
SELECT user_id, min(ts), max(ts), count(*) FROM d_reference_rows(gap) GROUP BY user_id, n
$$;

-- Number of rows in which two queries' results differ (EXCEPT ALL both ways).
CREATE FUNCTION d_count_diff(a text, b text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    result bigint;
BEGIN
    EXECUTE format('SELECT count(*) FROM ((%s EXCEPT ALL %s) UNION ALL (%s EXCEPT ALL %s)) d', a, b, b, a)
        INTO result;
    RETURN result;
END $$;

CREATE FUNCTION d_check(seed float8, n int, k int, gap interval,
    OUT sessions bigint, OUT d_session_id bigint, OUT d_session_start bigint,
    OUT d_timestamp bigint, OUT d_bigint bigint, OUT d_sessions bigint,
    OUT d_partial bigint, OUT d_srf bigint, OUT d_srf_spilled bigint)
LANGUAGE plpgsql AS $$
DECLARE
    g text := quote_literal(gap) || '::interval';
    ref_rows text := format('SELECT * FROM d_reference_rows(%s)', g);
    ref text := format('SELECT * FROM d_reference(%s)', g);
BEGIN
    PERFORM d_fill(seed, n, k);
    SELECT count(*) INTO sessions FROM d_reference(gap);

    d_session_id := d_count_diff(ref_rows, format(
        'SELECT user_id, ts, sessionize.session_id(ts, %s) OVER (PARTITION BY user_id ORDER BY ts)
         FROM d_events WHERE ts IS NOT NULL', g));
    d_session_start := d_count_diff(
        format('SELECT r.user_id, r.ts, min(r.ts) OVER (PARTITION BY r.user_id, r.n) FROM d_reference_rows(%s) r', g),
        format('SELECT user_id, ts, sessionize.session_start(ts, %s) OVER (PARTITION BY user_id ORDER BY ts)
                FROM d_events WHERE ts IS NOT NULL', g));
    -- timestamp without time zone: same sessions
    d_timestamp := d_count_diff(ref_rows, format(
        'SELECT user_id, ts, sessionize.session_id(ts::timestamp, %s) OVER (PARTITION BY user_id ORDER BY ts::timestamp)
         FROM d_events WHERE ts IS NOT NULL', g));
    -- bigint epoch seconds, gap in seconds
    d_bigint := d_count_diff(ref_rows, format(
        'SELECT user_id, ts, sessionize.session_id(extract(epoch FROM ts)::bigint, %s::bigint)
                OVER (PARTITION BY user_id ORDER BY extract(epoch FROM ts)::bigint)
         FROM d_events WHERE ts IS NOT NULL', extract(epoch FROM gap)::bigint));
    d_sessions := d_count_diff(ref, format(
        'SELECT user_id, s.session_start, s.last_event_at, s.event_count
         FROM (SELECT user_id, sessionize.sessions(ts, %s) ss FROM d_events GROUP BY user_id) g, unnest(g.ss) s', g));
    -- partial states per user and random bucket, merged
    d_partial := d_count_diff(ref, format(
        'SELECT user_id, s.session_start, s.last_event_at, s.event_count
         FROM (SELECT user_id, sessionize.sessions_merge(p) ss
               FROM (SELECT user_id, sessionize.sessions_partial(ts, %s) p
                     FROM d_events GROUP BY user_id, hashint4(coalesce(extract(minute FROM ts)::int, 0)) %% 5) q
               GROUP BY user_id) g, unnest(g.ss) s', g));
    d_srf := d_count_diff(ref, format(
        'SELECT user_id, session_start, last_event_at, event_count
         FROM sessionize.sessionize(''d_events'', ''user_id'', ''ts'', %s)
              AS s(user_id int, session_start timestamptz, last_event_at timestamptz, session_end timestamptz, event_count bigint)', g));
    SET LOCAL work_mem = '64kB';
    SET LOCAL hash_mem_multiplier = 1;
    d_srf_spilled := d_count_diff(ref, format(
        'SELECT user_id, session_start, last_event_at, event_count
         FROM sessionize.sessionize(''d_events'', ''user_id'', ''ts'', %s)
              AS s(user_id int, session_start timestamptz, last_event_at timestamptz, session_end timestamptz, event_count bigint)', g));
    RESET work_mem;
    RESET hash_mem_multiplier;
END $$;

-- 40 seeds x 4 gaps, small and large key counts.
CREATE TABLE d_results AS
SELECT seed, gap, r.*
FROM generate_series(1, 40) seed,
     unnest(ARRAY[interval '1 minute', interval '5 minutes', interval '17 minutes', interval '2 hours']) gap,
     LATERAL d_check(seed / 100.0, 2000, CASE WHEN seed % 2 = 0 THEN 20 ELSE 1000 END, gap) r;

-- Every function agrees with the reference on every run; the data made a
-- real number of sessions (neither all singletons nor all one session).
SELECT gap, count(*) AS runs,
       min(sessions) > 0 AND max(sessions) < 2000 AS sessions_nontrivial,
       sum(d_session_id) AS d_session_id, sum(d_session_start) AS d_session_start,
       sum(d_timestamp) AS d_timestamp, sum(d_bigint) AS d_bigint,
       sum(d_sessions) AS d_sessions, sum(d_partial) AS d_partial,
       sum(d_srf) AS d_srf, sum(d_srf_spilled) AS d_srf_spilled
FROM d_results GROUP BY gap ORDER BY gap;

-- Parallel partial aggregation agrees as well.
SELECT d_fill(0.5, 50000, 300);
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SELECT d_count_diff('SELECT * FROM d_reference(''3 minutes'')',
    'SELECT user_id, s.session_start, s.last_event_at, s.event_count
     FROM (SELECT user_id, sessionize.sessions(ts, ''3 minutes'') ss FROM d_events GROUP BY user_id) g, unnest(g.ss) s')
    AS d_parallel;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;

DROP TABLE d_events, d_results;
DROP FUNCTION d_check(float8, int, int, interval), d_count_diff(text, text),
              d_reference(interval), d_reference_rows(interval), d_fill(float8, int, int);
