-- sessions(), merge_sessions() and sessionize() on timestamp times (gap
-- interval) and bigint epochs (gap bigint, in the same unit), against a
-- plain-SQL reference (LAG + running SUM + GROUP BY) on the same data.
SET timezone = 'UTC';

-- The outcome of a query: its one value, or its SQLSTATE, message and detail.
CREATE FUNCTION pg_temp.outcome(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    r text;
    st text;
    msg text;
    det text;
BEGIN
    EXECUTE q INTO r;
    RETURN 'ok: ' || coalesce(r, 'NULL');
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL;
    RETURN st || ': ' || msg || coalesce(' (' || nullif(det, '') || ')', '');
END $$;

-- Events of six users (one of them the NULL user), out of time order, on a
-- grid of 300 seconds: consecutive events are 0 (duplicates), 300, 600
-- (exactly the gap: the same session) or more seconds apart; some times are
-- NULL.  The same instants as bigint seconds, timestamp and timestamptz;
-- "part" splits the events in three for merging.
CREATE TABLE t_events (user_id int, part int, b bigint, ts timestamp, tz timestamptz);
INSERT INTO t_events
SELECT CASE WHEN i % 41 = 0 THEN NULL ELSE i % 5 END, i % 3, b,
       timestamp '2026-01-01' + b * interval '1 second',
       timestamptz '2026-01-01 UTC' + b * interval '1 second'
FROM (SELECT i, CASE WHEN i % 37 = 0 THEN NULL ELSE ((i * 7919) % 211) * 300 END AS b
      FROM generate_series(1, 700) i) g;
-- (duplicates: the same user and time again, in another part)
INSERT INTO t_events SELECT user_id, part + 1, b, ts, tz FROM t_events WHERE b % 7 = 0;
SELECT count(*) AS events, count(b) AS with_time, count(DISTINCT user_id) AS users,
       count(*) FILTER (WHERE user_id IS NULL) AS null_user_events,
       count(b) - (SELECT count(*) FROM (SELECT DISTINCT user_id, b FROM t_events WHERE b IS NOT NULL) d) AS duplicates
FROM t_events;

-- The references: one row per session, for a gap in seconds.
CREATE FUNCTION pg_temp.ref_bigint(gap bigint)
RETURNS TABLE (user_id int, session_start bigint, last_event_at bigint, session_end bigint, event_count bigint)
LANGUAGE sql AS $$
    SELECT user_id, min(b), max(b), max(b) + gap, count(*)
    FROM (SELECT user_id, b, sum(is_new) OVER (PARTITION BY user_id ORDER BY b ROWS UNBOUNDED PRECEDING) AS k
          FROM (SELECT user_id, b,
                       CASE WHEN lag(b) OVER w IS NULL OR b - lag(b) OVER w > gap THEN 1 ELSE 0 END AS is_new
                FROM t_events WHERE b IS NOT NULL WINDOW w AS (PARTITION BY user_id ORDER BY b)) f) g
    GROUP BY user_id, k
$$;
CREATE FUNCTION pg_temp.ref_timestamp(gap interval)
RETURNS TABLE (user_id int, session_start timestamp, last_event_at timestamp, session_end timestamp, event_count bigint)
LANGUAGE sql AS $$
    SELECT user_id, min(ts), max(ts), max(ts) + gap, count(*)
    FROM (SELECT user_id, ts, sum(is_new) OVER (PARTITION BY user_id ORDER BY ts ROWS UNBOUNDED PRECEDING) AS k
          FROM (SELECT user_id, ts,
                       CASE WHEN lag(ts) OVER w IS NULL OR ts - lag(ts) OVER w > gap THEN 1 ELSE 0 END AS is_new
                FROM t_events WHERE ts IS NOT NULL WINDOW w AS (PARTITION BY user_id ORDER BY ts)) f) g
    GROUP BY user_id, k
$$;

-- What sessionize computes, the same way.
CREATE FUNCTION pg_temp.agg_bigint(gap bigint)
RETURNS TABLE (user_id int, session_start bigint, last_event_at bigint, session_end bigint, event_count bigint)
LANGUAGE sql AS $$
    SELECT g.user_id, s.* FROM (SELECT user_id, sessionize.sessions(b, gap) AS ss
                                FROM t_events GROUP BY user_id) g, unnest(g.ss) s
$$;
CREATE FUNCTION pg_temp.agg_timestamp(gap interval)
RETURNS TABLE (user_id int, session_start timestamp, last_event_at timestamp, session_end timestamp, event_count bigint)
LANGUAGE sql AS $$
    SELECT g.user_id, s.* FROM (SELECT user_id, sessionize.sessions(ts, gap) AS ss
                                FROM t_events GROUP BY user_id) g, unnest(g.ss) s
$$;
-- merge_sessions() of the sessions of each part of the events
CREATE FUNCTION pg_temp.merged_bigint(gap bigint)
RETURNS TABLE (user_id int, session_start bigint, last_event_at bigint, session_end bigint, event_count bigint)
LANGUAGE sql AS $$
    SELECT m.user_id, s.*
    FROM (SELECT p.user_id, sessionize.merge_sessions(p.session_start, p.last_event_at, p.event_count, gap) AS ss
          FROM (SELECT g.user_id, s.* FROM (SELECT user_id, sessionize.sessions(b, gap) AS ss
                                            FROM t_events GROUP BY user_id, part) g, unnest(g.ss) s) p
          GROUP BY p.user_id) m, unnest(m.ss) s
$$;
CREATE FUNCTION pg_temp.merged_timestamp(gap interval)
RETURNS TABLE (user_id int, session_start timestamp, last_event_at timestamp, session_end timestamp, event_count bigint)
LANGUAGE sql AS $$
    SELECT m.user_id, s.*
    FROM (SELECT p.user_id, sessionize.merge_sessions(p.session_start, p.last_event_at, p.event_count, gap) AS ss
          FROM (SELECT g.user_id, s.* FROM (SELECT user_id, sessionize.sessions(ts, gap) AS ss
                                            FROM t_events GROUP BY user_id, part) g, unnest(g.ss) s) p
          GROUP BY p.user_id) m, unnest(m.ss) s
$$;
CREATE FUNCTION pg_temp.srf_bigint(gap bigint)
RETURNS TABLE (user_id int, session_start bigint, last_event_at bigint, session_end bigint, event_count bigint)
LANGUAGE sql AS $$
    SELECT * FROM sessionize.sessionize('t_events', 'user_id', 'b', gap)
        AS s(user_id int, session_start bigint, last_event_at bigint, session_end bigint, event_count bigint)
$$;
CREATE FUNCTION pg_temp.srf_timestamp(gap interval)
RETURNS TABLE (user_id int, session_start timestamp, last_event_at timestamp, session_end timestamp, event_count bigint)
LANGUAGE sql AS $$
    SELECT * FROM sessionize.sessionize('t_events', 'user_id', 'ts', gap)
        AS s(user_id int, session_start timestamp, last_event_at timestamp, session_end timestamp, event_count bigint)
$$;

-- The rows of two queries that the other lacks, both ways (0: the same rows).
CREATE FUNCTION pg_temp.diff(a text, b text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
BEGIN
    EXECUTE format('SELECT count(*) FROM ((%s EXCEPT ALL %s) UNION ALL (%s EXCEPT ALL %s)) d', a, b, b, a)
        INTO n;
    RETURN n;
END $$;

-- sessions(), merge_sessions() of split sessions, and sessionize() against
-- the reference (0 differences is right), for gaps below, at and above the
-- grid's steps; the reference's number of sessions shows that the gap
-- matters.
SELECT g.gap, (SELECT count(*) FROM pg_temp.ref_bigint(g.gap)) AS sessions,
       pg_temp.diff(format('SELECT * FROM pg_temp.ref_bigint(%s)', g.gap),
                    format('SELECT * FROM pg_temp.agg_bigint(%s)', g.gap)) AS d_sessions,
       pg_temp.diff(format('SELECT * FROM pg_temp.ref_bigint(%s)', g.gap),
                    format('SELECT * FROM pg_temp.merged_bigint(%s)', g.gap)) AS d_merge_sessions,
       pg_temp.diff(format('SELECT * FROM pg_temp.ref_bigint(%s)', g.gap),
                    format('SELECT * FROM pg_temp.srf_bigint(%s)', g.gap)) AS d_sessionize
FROM (VALUES (299::bigint), (300), (599), (600), (601), (900), (100000)) g(gap)
ORDER BY g.gap;
SELECT g.gap, (SELECT count(*) FROM pg_temp.ref_timestamp(g.gap)) AS sessions,
       pg_temp.diff(format('SELECT * FROM pg_temp.ref_timestamp(%L)', g.gap),
                    format('SELECT * FROM pg_temp.agg_timestamp(%L)', g.gap)) AS d_sessions,
       pg_temp.diff(format('SELECT * FROM pg_temp.ref_timestamp(%L)', g.gap),
                    format('SELECT * FROM pg_temp.merged_timestamp(%L)', g.gap)) AS d_merge_sessions,
       pg_temp.diff(format('SELECT * FROM pg_temp.ref_timestamp(%L)', g.gap),
                    format('SELECT * FROM pg_temp.srf_timestamp(%L)', g.gap)) AS d_sessionize
FROM (VALUES (interval '299 seconds'), ('5 minutes'), ('599 seconds'), ('10 minutes'),
             ('601 seconds'), ('15 minutes'), ('1 day')) g(gap)
ORDER BY g.gap;

-- A few sessions in full: user 1, gap 600 (exactly a step of two).
SELECT s.* FROM unnest((SELECT sessionize.sessions(b, 600::bigint) FROM t_events WHERE user_id = 1)) s
LIMIT 4;
SELECT s.* FROM unnest((SELECT sessionize.sessions(ts, interval '10 minutes') FROM t_events WHERE user_id = 1)) s
LIMIT 4;

-- The timestamp form gives the timestamptz form's sessions, as timestamps
-- (TimeZone is UTC), infinities included.
INSERT INTO t_events VALUES (1, 0, NULL, 'infinity', 'infinity'), (1, 0, NULL, '-infinity', '-infinity'),
                            (1, 1, NULL, 'infinity', 'infinity'), (7, 2, NULL, '-infinity', '-infinity');
CREATE TABLE t_pair AS
SELECT user_id, sessionize.sessions(ts, interval '10 minutes') AS a_ss,
       sessionize.sessions(tz, interval '10 minutes') AS z_ss
FROM t_events GROUP BY user_id;
SELECT (SELECT sum(cardinality(a_ss)) FROM t_pair) AS sessions,
       pg_temp.diff('SELECT user_id, k, s.session_start, s.last_event_at, s.session_end, s.event_count
                     FROM t_pair, unnest(a_ss) WITH ORDINALITY s(session_start, last_event_at, session_end, event_count, k)',
                    'SELECT user_id, k, s.session_start::timestamp, s.last_event_at::timestamp, s.session_end::timestamp, s.event_count
                     FROM t_pair, unnest(z_ss) WITH ORDINALITY s(session_start, last_event_at, session_end, event_count, k)') AS differences,
       (SELECT count(*) FROM t_pair, unnest(a_ss) s WHERE NOT isfinite(s.session_start)) AS infinite_sessions;
DELETE FROM t_events WHERE b IS NULL AND ts IS NOT NULL;

-- Infinities in the timestamp forms: alone in their sessions, session_end
-- infinite; a session ending past the timestamp range ends at infinity.
SELECT s.* FROM unnest((
    SELECT sessionize.sessions(t, interval '10 minutes')
    FROM (VALUES (timestamp 'infinity'), ('-infinity'), ('infinity'), ('2026-01-01'),
                 ('2026-01-01 00:10'), ('294276-12-31 23:55')) v(t))) s;
SELECT s.* FROM unnest((
    SELECT sessionize.merge_sessions(a, l, n, interval '10 minutes')
    FROM (VALUES (timestamp '-infinity', timestamp '-infinity', 2::bigint),
                 ('2026-01-01', '2026-01-01 00:05', 2), ('2026-01-01 00:15', '2026-01-01 00:15', 1),
                 ('infinity', 'infinity', 1)) v(a, l, n))) s;
SELECT c.what, pg_temp.outcome(format(
         $q$SELECT cardinality(sessionize.merge_sessions(a, l, n, interval '10 minutes'))
            FROM (VALUES (%L::timestamp, %L::timestamp, %L::bigint)) v(a, l, n)$q$, c.a, c.l, c.n)) AS outcome
FROM (VALUES ('-infinity to a time', '-infinity', '2026-01-01', '2'),
             ('a time to infinity', '2026-01-01', 'infinity', '2'),
             ('start after last', '2026-01-01 00:05', '2026-01-01', '2'),
             ('count zero', '2026-01-01', '2026-01-01', '0')) c(what, a, l, n);

-- Bigint times have no infinities: the ends of the bigint range are times
-- like any other, and session_end past the range is an error (22003).
SELECT s.* FROM unnest((
    SELECT sessionize.sessions(t, 10::bigint)
    FROM (VALUES (-9223372036854775808), (-9223372036854775798), (-9223372036854775787),
                 (9223372036854775797), (9223372036854775790)) v(t))) s;
SELECT c.what, pg_temp.outcome(format(
         $q$SELECT (ss[cardinality(ss)]).session_end
            FROM (SELECT sessionize.sessions(t, %s::bigint) AS ss FROM unnest(%L::bigint[]) t) x$q$, c.gap, c.ts)) AS outcome
FROM (VALUES ('ends at the last bigint', 10, '{9223372036854775797}'),
             ('ends one past it', 11, '{9223372036854775797}'),
             ('last event at the last bigint', 1, '{0,9223372036854775807}'),
             ('huge gap', 9223372036854775807, '{1}'),
             ('huge gap, before zero', 9223372036854775807, '{-9223372036854775808,-1}')) c(what, gap, ts);
SELECT c.what, pg_temp.outcome(format(
         $q$SELECT string_agg(s.session_start || ' ' || s.last_event_at || ' ' || s.session_end || ' ' || s.event_count, ', ')
            FROM unnest((SELECT sessionize.merge_sessions(a, l, n, 10::bigint)
                         FROM (VALUES (-9223372036854775808, -9223372036854775808, 1::bigint),
                                      (%s::bigint, %s::bigint, %s::bigint)) v(a, l, n))) s$q$, c.a, c.l, c.n)) AS outcome
FROM (VALUES ('joins the first bigint', '-9223372036854775800', '-9223372036854775798', '2'),
             ('both times null: skipped', 'NULL', 'NULL', '5'),
             ('last event at the last bigint', '9223372036854775807', '9223372036854775807', '1'),
             ('count null', '0', '0', 'NULL'),
             ('count zero', '0', '0', '0'),
             ('start after last', '5', '0', '2'),
             ('spans time with one event', '0', '5', '1')) c(what, a, l, n);
CREATE TABLE t_edge (user_id int, b bigint);
INSERT INTO t_edge VALUES (1, 9223372036854775790), (1, 9223372036854775797), (2, -9223372036854775808);
SELECT * FROM sessionize.sessionize('t_edge', 'user_id', 'b', 10::bigint)
    AS s(user_id int, session_start bigint, last_event_at bigint, session_end bigint, event_count bigint)
ORDER BY user_id;
SELECT pg_temp.outcome($q$SELECT count(*) FROM sessionize.sessionize('t_edge', 'user_id', 'b', 11::bigint)
    AS s(user_id int, session_start bigint, last_event_at bigint, session_end bigint, event_count bigint)$q$) AS past_the_end;

-- Gaps: positive and not NULL (22023), the same on every row of a group.
SELECT c.what, pg_temp.outcome(c.q) AS outcome
FROM (VALUES ('sessions(), zero gap', $q$SELECT sessionize.sessions(b, 0::bigint) FROM t_events$q$),
             ('sessions(), negative gap', $q$SELECT sessionize.sessions(b, -600::bigint) FROM t_events$q$),
             ('sessions(), null gap', $q$SELECT sessionize.sessions(b, NULL::bigint) FROM t_events$q$),
             ('sessions(), varying gap', $q$SELECT sessionize.sessions(b, 600 + (b > 3000)::int) FROM t_events$q$),
             ('merge_sessions(), zero gap', $q$SELECT sessionize.merge_sessions(b, b, 1::bigint, 0::bigint) FROM t_events$q$),
             ('sessionize(), zero gap', $q$SELECT count(*) FROM sessionize.sessionize('t_events', 'user_id', 'b', 0::bigint)
                  AS s(user_id int, session_start bigint, last_event_at bigint, session_end bigint, event_count bigint)$q$),
             ('sessionize(), null gap', $q$SELECT count(*) FROM sessionize.sessionize('t_events', 'user_id', 'b', NULL::bigint)
                  AS s(user_id int, session_start bigint, last_event_at bigint, session_end bigint, event_count bigint)$q$),
             ('sessions(timestamp), month gap', $q$SELECT sessionize.sessions(ts, interval '1 month') FROM t_events$q$),
             ('merge_sessions(timestamp), zero gap', $q$SELECT sessionize.merge_sessions(ts, ts, 1::bigint, interval '0') FROM t_events$q$)) c(what, q);

-- sessionize(): the gap's type must fit the time column's (42804, with a
-- hint naming the right overload), and the column list the source.
SELECT * FROM sessionize.sessionize('t_events', 'user_id', 'b', interval '10 minutes')
    AS s(user_id int, session_start bigint, last_event_at bigint, session_end bigint, event_count bigint);
SELECT * FROM sessionize.sessionize('t_events', 'user_id', 'ts', 600::bigint)
    AS s(user_id int, session_start timestamp, last_event_at timestamp, session_end timestamp, event_count bigint);
SELECT * FROM sessionize.sessionize('t_events', 'user_id', 'tz', 600::bigint)
    AS s(user_id int, session_start timestamptz, last_event_at timestamptz, session_end timestamptz, event_count bigint);
SELECT * FROM sessionize.sessionize('t_events', 'user_id', 'b', 600::bigint)
    AS s(user_id int, session_start timestamptz, last_event_at timestamptz, session_end timestamptz, event_count bigint);
SELECT * FROM sessionize.sessionize('t_events', 'user_id', 'part', 600::bigint)
    AS s(user_id int, session_start int, last_event_at int, session_end int, event_count bigint);
\set VERBOSITY sqlstate
SELECT * FROM sessionize.sessionize('t_events', 'user_id', 'b', interval '10 minutes')
    AS s(user_id int, session_start bigint, last_event_at bigint, session_end bigint, event_count bigint);
SELECT * FROM sessionize.sessionize('t_events', 'user_id', 'ts', 600::bigint)
    AS s(user_id int, session_start timestamp, last_event_at timestamp, session_end timestamp, event_count bigint);
\set VERBOSITY default

-- Parallel aggregation: partial states of bigint times, serialized and read
-- back in the leader, far outside the timestamp range (a state of bigint
-- times is checked as one), and of timestamp times.  Same sessions as
-- without; over all users (one group), 20000 sessions of 3 events.
CREATE TABLE t_big AS
SELECT (i % 97) AS user_id, ((i * 7919) % 20000) * 10 + (-9223372036854775808) AS b,
       timestamp '2026-01-01' + ((i * 7919) % 20000) * interval '10 seconds' AS ts
FROM generate_series(1, 60000) i;
ANALYZE t_big;
CREATE TABLE t_serial AS
SELECT g.user_id, s.* FROM (SELECT user_id, sessionize.sessions(b, 300::bigint) ss FROM t_big GROUP BY user_id) g, unnest(g.ss) s;
CREATE TABLE t_serial_ts AS
SELECT g.user_id, s.* FROM (SELECT user_id, sessionize.sessions(ts, interval '5 minutes') ss FROM t_big GROUP BY user_id) g, unnest(g.ss) s;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET parallel_leader_participation = off;
EXPLAIN (COSTS OFF)
SELECT user_id, sessionize.sessions(b, 300::bigint) FROM t_big GROUP BY user_id;
EXPLAIN (COSTS OFF)
SELECT sessionize.sessions(ts, interval '5 seconds') FROM t_big;
CREATE TABLE t_parallel AS
SELECT g.user_id, s.* FROM (SELECT user_id, sessionize.sessions(b, 300::bigint) ss FROM t_big GROUP BY user_id) g, unnest(g.ss) s;
CREATE TABLE t_parallel_ts AS
SELECT g.user_id, s.* FROM (SELECT user_id, sessionize.sessions(ts, interval '5 minutes') ss FROM t_big GROUP BY user_id) g, unnest(g.ss) s;
SELECT cardinality(sessionize.sessions(b, 5::bigint)) AS bigint_sessions_all_users,
       cardinality(sessionize.sessions(ts, interval '5 seconds')) AS timestamp_sessions_all_users
FROM t_big;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;
RESET parallel_leader_participation;
SELECT (SELECT count(*) FROM t_serial) AS sessions,
       pg_temp.diff('TABLE t_serial', 'TABLE t_parallel') AS differences,
       (SELECT count(*) FROM t_serial_ts) AS timestamp_sessions,
       pg_temp.diff('TABLE t_serial_ts', 'TABLE t_parallel_ts') AS timestamp_differences,
       (SELECT min(session_start) FROM t_parallel) AS earliest;
SELECT cardinality(sessionize.sessions(b, 5::bigint)) AS bigint_sessions_all_users,
       cardinality(sessionize.sessions(ts, interval '5 seconds')) AS timestamp_sessions_all_users
FROM t_big;

DROP TABLE t_events, t_pair, t_edge, t_big, t_serial, t_serial_ts, t_parallel, t_parallel_ts;
