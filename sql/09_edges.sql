-- Edge cases that only a test placed exactly on a boundary can tell apart
-- from a plausible bug (issue 11: mutation testing).  Each section names the
-- mutant it kills.
SET timezone = 'UTC';

-- The plain-SQL reference of the README's Semantics, per session, over any
-- query with columns (u, ts).
CREATE FUNCTION e_reference(events text, gap interval)
RETURNS TABLE (u text, session_start timestamptz, last_event_at timestamptz, event_count bigint)
LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY EXECUTE format(
        'SELECT u::text, min(ts), max(ts), count(*)
         FROM (SELECT u, ts, sum(is_new) OVER (PARTITION BY u ORDER BY ts ROWS UNBOUNDED PRECEDING) AS n
               FROM (SELECT u, ts,
                            CASE WHEN lag(ts) OVER w IS NULL OR ts - lag(ts) OVER w > %L::interval THEN 1 ELSE 0 END AS is_new
                     FROM (%s) e WHERE ts IS NOT NULL WINDOW w AS (PARTITION BY u ORDER BY ts)) f) g
         GROUP BY u, n', gap, events);
END $$;

-- Number of rows in which two queries' results differ (EXCEPT ALL both ways).
CREATE FUNCTION e_count_diff(a text, b text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    result bigint;
BEGIN
    EXECUTE format('SELECT count(*) FROM ((%s EXCEPT ALL %s) UNION ALL (%s EXCEPT ALL %s)) d', a, b, b, a)
        INTO result;
    RETURN result;
END $$;

-- ---------------------------------------------------------------------------
-- 1. session_window.c, maximum duration: an event exactly max_duration after
-- its session's start stays in it (the rule is ts - start > max_duration);
-- one microsecond later starts a new session.  Gap 10 minutes, at most 12:
-- 00:00, 00:06, 00:12 | 00:13 for every time type.
-- ---------------------------------------------------------------------------
SELECT ts,
       sessionize.session_id(ts, interval '10 minutes', interval '12 minutes') OVER w AS session_id,
       sessionize.session_start(ts, interval '10 minutes', interval '12 minutes') OVER w AS session_start,
       sessionize.session_id(ts::timestamp, interval '10 minutes', interval '12 minutes')
           OVER (ORDER BY ts::timestamp) AS id_timestamp,
       sessionize.session_id(ts, interval '10 minutes', interval '12 minutes', false) OVER w AS id_with_flag
FROM unnest(ARRAY[timestamptz '2026-01-01 00:00', '2026-01-01 00:06', '2026-01-01 00:12',
                  '2026-01-01 00:13']) ts
WINDOW w AS (ORDER BY ts)
ORDER BY ts;
SELECT t, sessionize.session_id(t, 10::bigint, 12::bigint) OVER (ORDER BY t) AS session_id
FROM unnest(ARRAY[0, 6, 12, 13]::bigint[]) t ORDER BY t;
-- one microsecond past the limit starts a new session
SELECT ts, sessionize.session_id(ts, interval '10 minutes', interval '12 minutes') OVER (ORDER BY ts) AS session_id
FROM unnest(ARRAY[timestamptz '2026-01-01 00:00', '2026-01-01 00:06', '2026-01-01 00:12:00.000001']) ts
ORDER BY ts;

-- An infinity joins only itself, also under a gap so large that a session's
-- end saturates: -infinity + gap is after 4000 BC, 2026 + gap is past
-- +infinity.  The same rule for timestamp and in sessions().
SELECT ts, sessionize.session_id(ts, interval '106000000 days') OVER (ORDER BY ts) AS session_id,
       sessionize.session_start(ts, interval '106000000 days') OVER (ORDER BY ts) AS session_start,
       sessionize.session_id(ts::timestamp, interval '106000000 days') OVER (ORDER BY ts::timestamp) AS id_timestamp
FROM unnest(ARRAY[timestamptz '-infinity', '4000-01-01 BC', '2026-01-01', 'infinity']) ts
ORDER BY ts;
SELECT s.session_start, s.last_event_at, s.event_count
FROM unnest((SELECT sessionize.sessions(ts, interval '106000000 days')
             FROM unnest(ARRAY[timestamptz 'infinity', '2026-01-01', '-infinity', '4000-01-01 BC']) ts)) s;

-- The window must be ordered by the time argument wherever the planner puts
-- the two in the window's input: after GROUP BY the time comes first and
-- the ORDER BY column second.  (Here k's order is the time order, so only
-- the check can refuse.)
CREATE TABLE e_order (ts timestamptz, k int);
INSERT INTO e_order SELECT timestamptz '2026-01-01' + i * interval '1 minute', i FROM generate_series(1, 3) i;
-- (the plan's keys only: the rest of EXPLAIN's text differs between versions)
CREATE FUNCTION e_plan_keys(q text) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
    l text;
BEGIN
    FOR l IN EXECUTE 'EXPLAIN (VERBOSE, COSTS OFF) ' || q LOOP
        IF l ~ '(Sort|Group) Key' THEN
            RETURN NEXT btrim(l);
        END IF;
    END LOOP;
END $$;
SELECT * FROM e_plan_keys('SELECT sessionize.session_id(ts, interval ''10 minutes'') OVER (ORDER BY k) FROM e_order GROUP BY ts, k');
SELECT sessionize.session_id(ts, interval '10 minutes') OVER (ORDER BY k) FROM e_order GROUP BY ts, k;
DROP TABLE e_order;
DROP FUNCTION e_plan_keys(text);

-- ---------------------------------------------------------------------------
-- 2. capture.c: an UPDATE that gives a NULL time (or user) a value, or takes
-- it away, is a change to log.  The target must equal the reference after
-- each run.
-- ---------------------------------------------------------------------------
CREATE TABLE e_clicks (user_id int, ts timestamptz, tag text);
CREATE INDEX ON e_clicks (user_id, ts);
INSERT INTO e_clicks VALUES
    (1, '2026-01-01 00:00', 'a'), (1, NULL, 'b'), (2, '2026-01-01 00:00', 'c'),
    (3, '2026-01-01 00:30', 'd'), (NULL, NULL, 'e'), (4, NULL, 'f');
SELECT sessionize.create_job('e_clicks', 'user_id', 'ts', interval '10 minutes') AS cjob \gset
SET client_min_messages = warning;  -- (the build's NOTICE names the job id)
SELECT full_rebuild FROM sessionize.run_job(:cjob);
RESET client_min_messages;
-- a NULL time gets a value (it extends user 1's session), a time becomes
-- NULL (user 2 loses its only event), a NULL user gets a value, a user
-- becomes NULL
UPDATE e_clicks SET ts = '2026-01-01 00:05' WHERE tag = 'b';
UPDATE e_clicks SET ts = NULL WHERE tag = 'c';
UPDATE e_clicks SET user_id = 5, ts = '2026-01-01 00:00' WHERE tag = 'e';
UPDATE e_clicks SET user_id = NULL WHERE tag = 'd';
SELECT events_inserted, events_deleted FROM sessionize.run_job(:cjob);
SELECT user_id, session_start, last_event_at, event_count FROM e_clicks_sessions ORDER BY 1, 2;
SELECT e_count_diff(
    'SELECT * FROM e_reference(''SELECT user_id AS u, ts FROM e_clicks'', ''10 minutes'')',
    'SELECT user_id::text, session_start, last_event_at, event_count FROM e_clicks_sessions') AS differences;
SELECT count(*) AS verify_differences FROM sessionize.verify(:cjob);
-- then a user with no event gets one, and one statement gives one row a
-- time and takes another's away
UPDATE e_clicks SET ts = '2026-01-01 01:00' WHERE tag = 'f';
UPDATE e_clicks SET ts = CASE WHEN ts IS NULL THEN timestamptz '2026-01-01 02:00' END WHERE tag IN ('c', 'a');
SELECT events_inserted, events_deleted FROM sessionize.run_job(:cjob);
SELECT e_count_diff(
    'SELECT * FROM e_reference(''SELECT user_id AS u, ts FROM e_clicks'', ''10 minutes'')',
    'SELECT user_id::text, session_start, last_event_at, event_count FROM e_clicks_sessions') AS differences;
SELECT count(*) AS verify_differences FROM sessionize.verify(:cjob);
SELECT sessionize.drop_job(:cjob, drop_target => true);

-- ---------------------------------------------------------------------------
-- 3. refresh.c and apply_inserts.c: a session is closed when session_end <=
-- watermark, also exactly at it: for a session the run did not touch (closed
-- when the watermark moves), for one an insert touched (fast path and SQL
-- path) and for one a delete shrank, in runs that do not move the watermark.
-- ---------------------------------------------------------------------------
CREATE TABLE e_wm (user_id int, ts timestamptz);
CREATE INDEX ON e_wm (user_id, ts);
INSERT INTO e_wm VALUES (1, '2026-01-01 00:00');
SELECT sessionize.create_job('e_wm', 'user_id', 'ts', interval '10 minutes') AS wjob \gset
SET client_min_messages = warning;
SELECT watermark FROM sessionize.run_job(:wjob);
RESET client_min_messages;
-- every row's closed flag against the stored watermark, and the target
-- against the reference
CREATE FUNCTION e_wm_check(job bigint, OUT wrong_closed bigint, OUT differences bigint)
LANGUAGE sql AS $$
SELECT (SELECT count(*) FROM e_wm_sessions t, sessionize.job_state s
        WHERE s.job_id = job
          AND t.closed IS DISTINCT FROM (t.session_end <= sessionize._job_time(s.watermark, NULL::timestamptz))),
       e_count_diff(format('SELECT * FROM e_reference(''SELECT user_id AS u, ts FROM e_wm'', %L)',
                           (SELECT gap FROM sessionize.jobs WHERE job_id = job)),
                    'SELECT user_id::text, session_start, last_event_at, event_count FROM e_wm_sessions')
$$;
-- user 1's session [00:00], untouched, ends at 00:10: exactly the new watermark
INSERT INTO e_wm VALUES (2, '2026-01-01 00:10');
SELECT watermark, sessions_inserted FROM sessionize.run_job(:wjob);
SELECT user_id, session_end, closed FROM e_wm_sessions ORDER BY 1, 2;
SELECT * FROM e_wm_check(:wjob);
SELECT count(*) AS verify_differences FROM sessionize.verify(:wjob);
-- a late event makes a session that ends exactly at the watermark, which
-- does not move (the fast path)
INSERT INTO e_wm VALUES (3, '2026-01-01 00:00');
SELECT watermark, late_events FROM sessionize.run_job(:wjob);
SELECT user_id, session_end, closed FROM e_wm_sessions WHERE user_id = 3;
SELECT * FROM e_wm_check(:wjob);
-- the same through the SQL statement (a target with row-level security)
ALTER TABLE e_wm_sessions ENABLE ROW LEVEL SECURITY;
INSERT INTO e_wm VALUES (4, '2026-01-01 00:00');
SELECT watermark, late_events FROM sessionize.run_job(:wjob);
ALTER TABLE e_wm_sessions DISABLE ROW LEVEL SECURITY;
SELECT user_id, session_end, closed FROM e_wm_sessions WHERE user_id = 4;
SELECT * FROM e_wm_check(:wjob);
-- a delete shrinks an open session to one that ends exactly at the
-- watermark (00:10): user 5 [00:00, 00:05] ends 00:15, then [00:00] ends 00:10
INSERT INTO e_wm VALUES (5, '2026-01-01 00:00'), (5, '2026-01-01 00:05');
SELECT watermark FROM sessionize.run_job(:wjob);
SELECT user_id, session_end, closed FROM e_wm_sessions WHERE user_id = 5;
DELETE FROM e_wm WHERE user_id = 5 AND ts = '2026-01-01 00:05';
SELECT watermark, events_deleted FROM sessionize.run_job(:wjob);
SELECT user_id, session_end, closed FROM e_wm_sessions WHERE user_id = 5;
SELECT * FROM e_wm_check(:wjob);
SELECT count(*) AS verify_differences FROM sessionize.verify(:wjob);

-- ---------------------------------------------------------------------------
-- 4. apply_inserts.c and refresh.c: the watermark never moves backwards, also
-- when allowed_lateness grows and the next run brings events below the old
-- watermark (00:10 here).
-- ---------------------------------------------------------------------------
SELECT sessionize.alter_job(:wjob, allowed_lateness => interval '1 hour');
SELECT watermark FROM sessionize.job_status WHERE job_id = :wjob;
INSERT INTO e_wm VALUES (6, '2026-01-01 00:02');
SELECT watermark, late_events FROM sessionize.run_job(:wjob);
-- the SQL statement too
ALTER TABLE e_wm_sessions ENABLE ROW LEVEL SECURITY;
INSERT INTO e_wm VALUES (7, '2026-01-01 00:03');
SELECT watermark, late_events FROM sessionize.run_job(:wjob);
ALTER TABLE e_wm_sessions DISABLE ROW LEVEL SECURITY;
-- and a run with a new latest event moves it on by max - lateness only when
-- that is later: 00:30 - 1 hour is before 00:10
INSERT INTO e_wm VALUES (8, '2026-01-01 00:30');
SELECT watermark FROM sessionize.run_job(:wjob);
INSERT INTO e_wm VALUES (8, '2026-01-01 01:20');
SELECT watermark FROM sessionize.run_job(:wjob);
SELECT watermark FROM sessionize.job_status WHERE job_id = :wjob;
SELECT * FROM e_wm_check(:wjob);
SELECT count(*) AS verify_differences FROM sessionize.verify(:wjob);
-- a rebuild keeps the watermark (00:20) although the lateness grows to 2
-- hours, and closes what it builds: with a gap of 20 minutes, the sessions
-- of one event at 00:00 end exactly at the watermark
SELECT sessionize.alter_job(:wjob, gap => interval '20 minutes', allowed_lateness => interval '2 hours');
SET client_min_messages = warning;
SELECT watermark, full_rebuild FROM sessionize.run_job(:wjob);
RESET client_min_messages;
SELECT user_id, session_end, closed FROM e_wm_sessions WHERE user_id < 5 ORDER BY 1, 2;
SELECT * FROM e_wm_check(:wjob);
SELECT count(*) AS verify_differences FROM sessionize.verify(:wjob);
SELECT sessionize.drop_job(:wjob, drop_target => true);
DROP FUNCTION e_wm_check(bigint);

-- ---------------------------------------------------------------------------
-- 5. drop_job(..., drop_target => true) drops the target only for a caller
-- who may: a target that now belongs to another role stays, and so does the
-- job.
-- ---------------------------------------------------------------------------
CREATE ROLE regress_e_alice;
CREATE ROLE regress_e_bob;
CREATE SCHEMA e_shared;
GRANT USAGE, CREATE ON SCHEMA e_shared TO regress_e_alice, regress_e_bob;
CREATE TABLE e_shared.src (u int, ts timestamptz);
CREATE INDEX ON e_shared.src (u, ts);
GRANT SELECT, TRIGGER ON e_shared.src TO regress_e_alice;
SET ROLE regress_e_alice;
SELECT sessionize.create_job('e_shared.src', 'u', 'ts', interval '1 minute',
                             target => 'e_shared.alice_sessions') AS djob \gset
RESET ROLE;
ALTER TABLE e_shared.alice_sessions OWNER TO regress_e_bob;
SET ROLE regress_e_alice;
\set VERBOSITY sqlstate
SELECT sessionize.drop_job(:djob, drop_target => true);
\set VERBOSITY terse
SELECT sessionize.drop_job(:djob, drop_target => true);
\set VERBOSITY default
RESET ROLE;
SELECT to_regclass('e_shared.alice_sessions') IS NOT NULL AS target_kept,
       (SELECT count(*) FROM sessionize.jobs WHERE job_id = :djob) AS job_kept;
-- without drop_target, the job goes and the table stays
SET ROLE regress_e_alice;
SELECT sessionize.drop_job(:djob);
RESET ROLE;
SELECT to_regclass('e_shared.alice_sessions') IS NOT NULL AS target_kept,
       (SELECT count(*) FROM sessionize.jobs WHERE job_id = :djob) AS job_kept;
DROP SCHEMA e_shared CASCADE;
DROP ROLE regress_e_alice, regress_e_bob;

-- ---------------------------------------------------------------------------
-- 6. session_agg.c, the combine step: partial states of one group, made by
-- parallel workers and by the partitions of a partitioned table
-- (partitionwise aggregation: each partition makes its own states, whatever
-- the workers do), merged into the reference's sessions.  The results are
-- made at top level with CREATE TABLE AS: a query run by a function that
-- is not parallel safe (like e_count_diff) gets no parallel plan.  Then
-- the checks on what sessions_merge() and merge_sessions() accept.
-- ---------------------------------------------------------------------------
CREATE TABLE e_part (user_id int, ts timestamptz) PARTITION BY RANGE (ts);
CREATE TABLE e_part_1 PARTITION OF e_part FOR VALUES FROM ('2026-01-01 00:00') TO ('2026-01-01 08:00');
CREATE TABLE e_part_2 PARTITION OF e_part FOR VALUES FROM ('2026-01-01 08:00') TO ('2026-01-01 16:00');
CREATE TABLE e_part_3 PARTITION OF e_part FOR VALUES FROM ('2026-01-01 16:00') TO ('2026-01-02 00:00');
-- user k has an event every k minutes (k = 1..40) plus, for odd k, one
-- every 7k minutes: gaps of 1 to 40 minutes around the 5-minute gap, so
-- sessions cross the partition bounds, and a partition holds one, two or
-- many sessions of a user
INSERT INTO e_part
SELECT k, timestamptz '2026-01-01' + m * interval '1 minute'
FROM generate_series(1, 40) k, generate_series(0, 1439) m
WHERE m % k = 0 OR (k % 2 = 1 AND m % (7 * k) = 3);
ANALYZE e_part;
-- sessions_merge() and merge_sessions() read states and session rows cut per
-- hour, in two partitions
CREATE TABLE e_states (user_id int, hour timestamptz, p bytea) PARTITION BY RANGE (hour);
CREATE TABLE e_states_1 PARTITION OF e_states FOR VALUES FROM ('2026-01-01 00:00') TO ('2026-01-01 12:00');
CREATE TABLE e_states_2 PARTITION OF e_states FOR VALUES FROM ('2026-01-01 12:00') TO ('2026-01-02 00:00');
INSERT INTO e_states
SELECT user_id, date_trunc('hour', ts), sessionize.sessions_partial(ts, interval '5 minutes')
FROM e_part GROUP BY 1, 2;
CREATE TABLE e_rows (user_id int, session_start timestamptz, last_event_at timestamptz, event_count bigint)
    PARTITION BY RANGE (session_start);
CREATE TABLE e_rows_1 PARTITION OF e_rows FOR VALUES FROM ('2026-01-01 00:00') TO ('2026-01-01 12:00');
CREATE TABLE e_rows_2 PARTITION OF e_rows FOR VALUES FROM ('2026-01-01 12:00') TO ('2026-01-02 00:00');
INSERT INTO e_rows
SELECT user_id, s.session_start, s.last_event_at, s.event_count
FROM (SELECT user_id, sessionize.sessions_merge(p) ss FROM e_states GROUP BY user_id, hour) g,
     unnest(g.ss) s;
ANALYZE e_states, e_rows;
-- parallel workers alone: a table large enough that both workers read part
-- of every group
CREATE TABLE e_big AS
SELECT (i % 50) AS user_id,
       timestamptz '2026-01-01' + ((i * 7919) % 100003) * interval '1 second' AS ts
FROM generate_series(1, 200000) i;
ANALYZE e_big;
-- the references, computed before parallel plans are allowed
CREATE TABLE e_ref AS SELECT * FROM e_reference('SELECT user_id AS u, ts FROM e_part', '5 minutes');
CREATE TABLE e_ref_one AS
SELECT session_start, last_event_at, event_count FROM e_reference('SELECT 0 AS u, ts FROM e_part', '5 minutes');
CREATE TABLE e_ref_big AS SELECT * FROM e_reference('SELECT user_id AS u, ts FROM e_big', '40 seconds');

SET enable_partitionwise_aggregate = on;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
EXPLAIN (COSTS OFF)
CREATE TABLE e_got AS
SELECT user_id::text, s.session_start, s.last_event_at, s.event_count
FROM (SELECT user_id, sessionize.sessions(ts, interval '5 minutes') ss FROM e_part GROUP BY user_id) g,
     unnest(g.ss) s;
CREATE TABLE e_got AS
SELECT user_id::text, s.session_start, s.last_event_at, s.event_count
FROM (SELECT user_id, sessionize.sessions(ts, interval '5 minutes') ss FROM e_part GROUP BY user_id) g,
     unnest(g.ss) s;
CREATE TABLE e_got_partial AS
SELECT user_id::text, s.session_start, s.last_event_at, s.event_count
FROM (SELECT user_id, sessionize.sessions_merge(p) ss
      FROM (SELECT user_id, sessionize.sessions_partial(ts, interval '5 minutes') p
            FROM e_part GROUP BY user_id) q GROUP BY user_id) g,
     unnest(g.ss) s;
-- one group for all users: the same events as one key
EXPLAIN (COSTS OFF)
CREATE TABLE e_got_one AS
SELECT s.session_start, s.last_event_at, s.event_count
FROM (SELECT sessionize.sessions(ts, interval '5 minutes') ss FROM e_part) g, unnest(g.ss) s;
CREATE TABLE e_got_one AS
SELECT s.session_start, s.last_event_at, s.event_count
FROM (SELECT sessionize.sessions(ts, interval '5 minutes') ss FROM e_part) g, unnest(g.ss) s;
EXPLAIN (COSTS OFF)
CREATE TABLE e_got_merge AS
SELECT user_id::text, s.session_start, s.last_event_at, s.event_count
FROM (SELECT user_id, sessionize.sessions_merge(p) ss FROM e_states GROUP BY user_id) g, unnest(g.ss) s;
CREATE TABLE e_got_merge AS
SELECT user_id::text, s.session_start, s.last_event_at, s.event_count
FROM (SELECT user_id, sessionize.sessions_merge(p) ss FROM e_states GROUP BY user_id) g, unnest(g.ss) s;
CREATE TABLE e_got_rows AS
SELECT user_id::text, s.session_start, s.last_event_at, s.event_count
FROM (SELECT user_id, sessionize.merge_sessions(session_start, last_event_at, event_count,
                                                interval '5 minutes') ss
      FROM e_rows GROUP BY user_id) g, unnest(g.ss) s;
-- a partial state from outside may have plain times (flags 0: no
-- infinities); merged by parallel workers, its states keep that flag
CREATE TABLE e_plain (k int, p bytea) PARTITION BY LIST (k);
CREATE TABLE e_plain_1 PARTITION OF e_plain FOR VALUES IN (1);
CREATE TABLE e_plain_2 PARTITION OF e_plain FOR VALUES IN (2);
-- (each state 5000 times over, so that the planner splits the work)
INSERT INTO e_plain
SELECT k, CASE k WHEN 1 THEN '\x0100000000000000000a00000001000000000000000100000000000000010000000000000001'::bytea
                 ELSE '\x0100000000000000000a00000001000000000000001e000000000000001e0000000000000001'::bytea END
FROM generate_series(1, 2) k, generate_series(1, 5000);
ANALYZE e_plain;
EXPLAIN (COSTS OFF)
SELECT sessionize.sessions_merge(p) FROM e_plain;
SELECT to_json(s) FROM (SELECT sessionize.sessions_merge(p) ss FROM e_plain) g, unnest(g.ss) s;
DROP TABLE e_plain;
RESET enable_partitionwise_aggregate;
SET parallel_leader_participation = off;
EXPLAIN (COSTS OFF)
CREATE TABLE e_got_big AS
SELECT user_id::text, s.session_start, s.last_event_at, s.event_count
FROM (SELECT user_id, sessionize.sessions(ts, interval '40 seconds') ss FROM e_big GROUP BY user_id) g,
     unnest(g.ss) s;
CREATE TABLE e_got_big AS
SELECT user_id::text, s.session_start, s.last_event_at, s.event_count
FROM (SELECT user_id, sessionize.sessions(ts, interval '40 seconds') ss FROM e_big GROUP BY user_id) g,
     unnest(g.ss) s;
RESET parallel_leader_participation;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;

SELECT (SELECT count(*) FROM e_ref) AS sessions,
       e_count_diff('TABLE e_ref', 'TABLE e_got') AS d_sessions,
       e_count_diff('TABLE e_ref', 'TABLE e_got_partial') AS d_partial,
       e_count_diff('TABLE e_ref_one', 'TABLE e_got_one') AS d_one_group,
       e_count_diff('TABLE e_ref', 'TABLE e_got_merge') AS d_sessions_merge,
       e_count_diff('TABLE e_ref', 'TABLE e_got_rows') AS d_merge_sessions,
       (SELECT count(*) FROM e_ref_big) AS sessions_big,
       e_count_diff('TABLE e_ref_big', 'TABLE e_got_big') AS d_parallel;

-- Partial states made in order, without workers (partitionwise only), one
-- of them from an empty partition, last.
CREATE TABLE e_part_4 PARTITION OF e_part FOR VALUES FROM ('2026-01-02') TO ('2026-01-03');
ANALYZE e_part;
SET enable_partitionwise_aggregate = on;
SET max_parallel_workers_per_gather = 0;
EXPLAIN (COSTS OFF)
SELECT sessionize.sessions(ts, interval '5 minutes') FROM e_part;
SELECT e_count_diff('TABLE e_ref_one',
                    'SELECT s.session_start, s.last_event_at, s.event_count
                     FROM unnest((SELECT sessionize.sessions(ts, interval ''5 minutes'') FROM e_part)) s')
       AS d_one_group_empty_partition;
-- partial states of one group with different gaps do not combine: here the
-- gap depends on the partition
SELECT user_id, sessionize.sessions(ts, CASE WHEN ts < '2026-01-01 08:00' THEN interval '5 minutes'
                                             ELSE interval '10 minutes' END)
FROM e_part GROUP BY user_id;
RESET max_parallel_workers_per_gather;
RESET enable_partitionwise_aggregate;

-- merge_sessions() rejects a summary that cannot be a session: one event
-- spread over time, none, or a start after the last event (SQLSTATE 22023)
\set VERBOSITY sqlstate
SELECT sessionize.merge_sessions(s, l, n, interval '5 minutes')
FROM (VALUES (timestamptz '2026-01-01 00:00', timestamptz '2026-01-01 00:05', 1::bigint)) v(s, l, n);
SELECT sessionize.merge_sessions(s, l, n, interval '5 minutes')
FROM (VALUES (timestamptz '2026-01-01 00:00', timestamptz '2026-01-01 00:00', 0::bigint)) v(s, l, n);
SELECT sessionize.merge_sessions(s, l, n, interval '5 minutes')
FROM (VALUES (timestamptz '2026-01-01 00:05', timestamptz '2026-01-01 00:00', 2::bigint)) v(s, l, n);
\set VERBOSITY default
SELECT sessionize.merge_sessions(s, l, n, interval '5 minutes')
FROM (VALUES (timestamptz '2026-01-01 00:00', timestamptz '2026-01-01 00:05', 1::bigint)) v(s, l, n);
-- a partial state shorter than its 14-byte header is rejected as such, also
-- when it is long enough to hold the first fields (SQLSTATE 22P03)
SELECT sessionize.sessions_merge('\x010000000000000000'::bytea);
SELECT sessionize.sessions_merge('\x0100000000000000000000000a'::bytea);
\set VERBOSITY sqlstate
SELECT sessionize.sessions_merge('\x0100000000000000000000000a'::bytea);
\set VERBOSITY default
-- versions other than 1 are unknown, below it too
SELECT sessionize.sessions_merge('\x0001000000000000000a00000000'::bytea);
-- states with plain times and with infinities do not merge, in either order
SELECT sessionize.sessions_merge(p ORDER BY o) FROM (VALUES
    (1, '\x0100000000000000000a00000000'::bytea), (2, '\x0101000000000000000a00000000'::bytea)) v(o, p);
SELECT sessionize.sessions_merge(p ORDER BY o) FROM (VALUES
    (1, '\x0101000000000000000a00000000'::bytea), (2, '\x0100000000000000000a00000000'::bytea)) v(o, p);
-- the smallest valid summaries pass: one event, or two spread over time;
-- a row whose times are both NULL is no session (an outer join's missing
-- row) and is skipped
SELECT s.* FROM unnest((SELECT sessionize.merge_sessions(s, l, n, interval '5 minutes')
    FROM (VALUES (timestamptz '2026-01-01 00:00', timestamptz '2026-01-01 00:00', 1::bigint),
                 ('2026-01-01 00:10', '2026-01-01 00:20', 2),
                 (NULL, NULL, 1), (NULL, NULL, NULL)) v(s, l, n))) s;
-- any other NULL is an invalid summary (22023), never a session skipped
\set VERBOSITY sqlstate
SELECT sessionize.merge_sessions(s, l, n, interval '5 minutes')
FROM (VALUES (NULL::timestamptz, timestamptz '2026-01-01 00:40', 1::bigint)) v(s, l, n);
SELECT sessionize.merge_sessions(s, l, n, interval '5 minutes')
FROM (VALUES (timestamptz '2026-01-01 00:40', NULL::timestamptz, 1::bigint)) v(s, l, n);
SELECT sessionize.merge_sessions(s, l, n, interval '5 minutes')
FROM (VALUES (timestamptz '2026-01-01 00:40', timestamptz '2026-01-01 00:40', NULL::bigint)) v(s, l, n);
\set VERBOSITY default

DROP TABLE e_part, e_states, e_rows, e_big, e_ref, e_ref_one, e_ref_big,
           e_got, e_got_partial, e_got_one, e_got_merge, e_got_rows, e_got_big;
-- ---------------------------------------------------------------------------
-- 7. session_state.c: a session_end past the end of the timestamp range
-- (294277-01-01 exclusive, 8 days before 64 bits overflow) is infinity
-- (README, Semantics rule 2: nothing a writer inserts may wedge a job),
-- whether or not last + gap overflows 64 bits; just inside the range it is
-- the value.
-- ---------------------------------------------------------------------------
CREATE TABLE e_far (u int, ts timestamptz);
INSERT INTO e_far VALUES (1, '294276-12-25');
\set VERBOSITY sqlstate
-- past the range, without and with 64-bit overflow
SELECT sessionize.sessions(ts, interval '10 days') FROM e_far;
SELECT sessionize.sessions(ts, interval '1000 days') FROM e_far;
SELECT * FROM sessionize.sessionize('e_far', 'u', 'ts', interval '10 days')
    AS s(u int, session_start timestamptz, last_event_at timestamptz, session_end timestamptz, event_count bigint);
\set VERBOSITY default
-- inside the range
SELECT (sessionize.sessions(ts, interval '5 days'))[1].session_end FROM e_far;
SELECT session_end FROM sessionize.sessionize('e_far', 'u', 'ts', interval '5 days')
    AS s(u int, session_start timestamptz, last_event_at timestamptz, session_end timestamptz, event_count bigint);
DROP TABLE e_far;

-- ---------------------------------------------------------------------------
-- 8. session_srf.c: a foreign table, alone or as a partition, is read
-- through the executor (its foreign data wrapper), never scanned as if it
-- were a heap table: sessionize() fails as a query of it fails (here the
-- wrapper has no handler), and does not crash the server.
-- ---------------------------------------------------------------------------
CREATE FOREIGN DATA WRAPPER e_nohandler;
CREATE SERVER e_server FOREIGN DATA WRAPPER e_nohandler;
CREATE FOREIGN TABLE e_foreign (u int, ts timestamptz) SERVER e_server;
CREATE TABLE e_mixed (u int, ts timestamptz) PARTITION BY RANGE (ts);
CREATE TABLE e_mixed_1 PARTITION OF e_mixed FOR VALUES FROM ('2026-01-01') TO ('2026-02-01');
CREATE FOREIGN TABLE e_mixed_2 PARTITION OF e_mixed
    FOR VALUES FROM ('2026-02-01') TO ('2026-03-01') SERVER e_server;
INSERT INTO e_mixed_1 VALUES (1, '2026-01-01 00:00'), (1, '2026-01-01 00:05'), (2, '2026-01-01 00:30');
SELECT count(*) FROM e_foreign;
SELECT * FROM sessionize.sessionize('e_foreign', 'u', 'ts', interval '10 minutes')
    AS s(u int, session_start timestamptz, last_event_at timestamptz, session_end timestamptz, event_count bigint);
SELECT count(*) FROM e_mixed;
SELECT * FROM sessionize.sessionize('e_mixed', 'u', 'ts', interval '10 minutes')
    AS s(u int, session_start timestamptz, last_event_at timestamptz, session_end timestamptz, event_count bigint);
-- (its heap partition alone is read as usual)
SELECT e_count_diff(
    'SELECT * FROM e_reference(''SELECT u, ts FROM e_mixed_1'', ''10 minutes'')',
    $$SELECT u::text, session_start, last_event_at, event_count
      FROM sessionize.sessionize('e_mixed_1', 'u', 'ts', interval '10 minutes')
      AS s(u int, session_start timestamptz, last_event_at timestamptz, session_end timestamptz, event_count bigint)$$);
DROP TABLE e_mixed;
DROP FOREIGN TABLE e_foreign;
DROP SERVER e_server;
DROP FOREIGN DATA WRAPPER e_nohandler;

-- 9. sessionize() hands the sessions it emitted back to its user table
-- when a late event comes (srf_replay()); the copy it makes of them stays
-- in memory while it fits work_mem: a small input writes no temporary file
-- (a mutant that gave the copy a limit of 0 kB wrote one and returned the
-- same rows).
CREATE TABLE e_replay (u int, ts timestamptz);
INSERT INTO e_replay VALUES (1, '2026-01-01 00:00'), (1, '2026-01-01 00:30'), (2, '2026-01-01 00:00'),
                            (1, '2026-01-01 00:05'), (2, '2026-01-01 00:09');
SELECT pg_stat_force_next_flush();
SELECT temp_files AS e_temp_before FROM pg_stat_database WHERE datname = current_database() \gset
SELECT u, session_start, event_count FROM sessionize.sessionize('e_replay', 'u', 'ts', interval '10 minutes')
    AS s(u int, session_start timestamptz, last_event_at timestamptz, session_end timestamptz, event_count bigint)
ORDER BY 1, 2;
SELECT pg_stat_force_next_flush();
SELECT temp_files - :e_temp_before AS temp_files_written FROM pg_stat_database WHERE datname = current_database();
DROP TABLE e_replay;

DROP FUNCTION e_reference(text, interval), e_count_diff(text, text);
