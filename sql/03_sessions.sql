-- Grouping aggregate sessions(), and sessions_partial()/sessions_merge().
SET timezone = 'UTC';

CREATE TABLE g_events (user_id int, ts timestamptz);
-- the README's worked example (Semantics), inserted out of time order.
INSERT INTO g_events
SELECT 1, timestamptz '2026-01-01' + m * interval '1 minute'
FROM unnest(ARRAY[36, 0, 60, 15, 26, 5]) AS m;
-- ties, a NULL time, a NULL key, infinities
INSERT INTO g_events VALUES
    (2, '2026-01-01 00:00'), (2, '2026-01-01 00:00'), (2, '2026-01-01 01:00'),
    (2, NULL), (NULL, '2026-01-01 00:00'), (NULL, '2026-01-01 00:10'),
    (3, 'infinity'), (3, '-infinity'), (3, '2026-01-01'), (3, 'infinity'), (4, NULL);

SELECT user_id, s.*
FROM (SELECT user_id, sessionize.sessions(ts, interval '10 minutes') AS ss
      FROM g_events GROUP BY user_id) g,
     unnest(g.ss) AS s
ORDER BY user_id, s.session_start;

-- A group whose times are all NULL has no sessions: an empty array.
SELECT user_id, sessionize.sessions(ts, interval '10 minutes') FROM g_events
WHERE user_id = 4 GROUP BY user_id;
-- No rows at all: an empty array too.
SELECT sessionize.sessions(ts, interval '10 minutes') FROM g_events WHERE false;

-- Every insertion order gives the same sessions: events that bridge two
-- sessions, land inside one, extend one at either end.
SELECT s.* FROM unnest((
    SELECT sessionize.sessions(ts, interval '10 minutes' ORDER BY o)
    FROM (VALUES (1, timestamptz '2026-01-01 00:00'), (2, '2026-01-01 00:30'),
                 (3, '2026-01-01 00:20'), (4, '2026-01-01 00:10'),
                 (5, '2026-01-01 01:00'), (6, '2026-01-01 00:55'),
                 (7, '2026-01-01 00:56'), (8, '2026-01-01 00:44')) v(o, ts))) s;

-- session_end is last_event_at + gap, the exclusive end of the window.
SELECT bool_and(s.session_end = s.last_event_at + interval '10 minutes') AS end_is_last_plus_gap
FROM (SELECT sessionize.sessions(ts, interval '10 minutes') ss FROM g_events
      WHERE user_id IN (1, 2) GROUP BY user_id) g, unnest(g.ss) s;

-- The gap must be the same on every row of a group, valid and not NULL.
SELECT sessionize.sessions(ts, CASE WHEN ts > '2026-01-01 00:20' THEN interval '1 hour' ELSE interval '10 minutes' END)
FROM g_events WHERE user_id = 1;
SELECT sessionize.sessions(ts, NULL) FROM g_events;
SELECT sessionize.sessions(ts, interval '1 mon') FROM g_events;
SELECT sessionize.sessions(ts, interval '-5 minutes') FROM g_events;
\set VERBOSITY sqlstate
SELECT sessionize.sessions(ts, NULL) FROM g_events;
SELECT sessionize.sessions(ts, interval '0') FROM g_events;
\set VERBOSITY default

-- Partial states: save per user and hour, merge later; same answer.
CREATE TABLE g_partials AS
SELECT user_id, date_trunc('hour', ts) AS hour, sessionize.sessions_partial(ts, interval '10 minutes') AS p
FROM g_events GROUP BY 1, 2;
SELECT user_id, s.*
FROM (SELECT user_id, sessionize.sessions_merge(p) ss FROM g_partials GROUP BY user_id) g,
     unnest(g.ss) s
ORDER BY user_id, s.session_start;
SELECT count(*) AS differences FROM (
    (SELECT user_id, s.* FROM (SELECT user_id, sessionize.sessions_merge(p) ss FROM g_partials GROUP BY user_id) g, unnest(g.ss) s
     EXCEPT ALL
     SELECT user_id, s.* FROM (SELECT user_id, sessionize.sessions(ts, interval '10 minutes') ss FROM g_events GROUP BY user_id) g, unnest(g.ss) s)
    UNION ALL
    (SELECT user_id, s.* FROM (SELECT user_id, sessionize.sessions(ts, interval '10 minutes') ss FROM g_events GROUP BY user_id) g, unnest(g.ss) s
     EXCEPT ALL
     SELECT user_id, s.* FROM (SELECT user_id, sessionize.sessions_merge(p) ss FROM g_partials GROUP BY user_id) g, unnest(g.ss) s)) d;

-- Partials of different gaps do not merge.
SELECT sessionize.sessions_merge(p) FROM (
    SELECT sessionize.sessions_partial(ts, interval '10 minutes') FROM g_events
    UNION ALL SELECT sessionize.sessions_partial(ts, interval '20 minutes') FROM g_events) v(p);

-- Malformed partial states are rejected with an error, never a crash.
SELECT sessionize.sessions_merge(NULL::bytea);
SELECT sessionize.sessions_merge('\x'::bytea);
SELECT sessionize.sessions_merge('\x01'::bytea);
-- wrong version
SELECT sessionize.sessions_merge('\x0200000000000000000a00000000'::bytea);
-- unknown flags
SELECT sessionize.sessions_merge('\x0180000000000000000a00000000'::bytea);
-- gap not positive
SELECT sessionize.sessions_merge('\x0100000000000000000000000000'::bytea);
SELECT sessionize.sessions_merge('\x0100fffffffffffffff600000000'::bytea);
-- session count larger than the data, negative, or smaller
SELECT sessionize.sessions_merge('\x0100000000000000000a00000001'::bytea);
SELECT sessionize.sessions_merge('\x0100000000000000000affffffff'::bytea);
SELECT sessionize.sessions_merge('\x0100000000000000000a00000000000000000000000100000000000000010000000000000001'::bytea);
-- start after last, count zero, a spread-out session of one event
SELECT sessionize.sessions_merge('\x0100000000000000000a00000001000000000000000200000000000000010000000000000001'::bytea);
SELECT sessionize.sessions_merge('\x0100000000000000000a00000001000000000000000100000000000000010000000000000000'::bytea);
SELECT sessionize.sessions_merge('\x0100000000000000000a00000001000000000000000100000000000000050000000000000001'::bytea);
-- two sessions that overlap, or that should have been one (3 + gap 10 >= 13)
SELECT sessionize.sessions_merge('\x0100000000000000000a00000002000000000000000100000000000000050000000000000002000000000000000400000000000000060000000000000002'::bytea);
SELECT sessionize.sessions_merge('\x0100000000000000000a00000002000000000000000100000000000000030000000000000002000000000000000d000000000000000d0000000000000001'::bytea);
-- trailing garbage
SELECT sessionize.sessions_merge('\x0100000000000000000a0000000100000000000000010000000000000003000000000000000200'::bytea);
-- a well-formed state: sessions [1..3] and [14..14] with gap 10
SELECT to_json(s) FROM unnest((SELECT sessionize.sessions_merge('\x0101000000000000000a00000002000000000000000100000000000000030000000000000002000000000000000e000000000000000e0000000000000001'::bytea))) s;
-- a state round-trips
SELECT (SELECT sessionize.sessions_merge(p)
        FROM (SELECT sessionize.sessions_partial(ts, interval '10 minutes') FROM g_events) v(p)) =
       (SELECT sessionize.sessions(ts, interval '10 minutes') FROM g_events) AS round_trip;

-- Crafted states and summaries (issue 7, defect 10): counts that overflow
-- when merged, times outside the timestamptz range, impossible sessions.
-- pg_temp.state() writes a state in the serialized format of sessions()
-- (sessions_serialize() in src/session_agg.c), integers big-endian:
--   version 1 (1 byte), flags (1 byte; bit 0: INT64_MIN and INT64_MAX are
--   -infinity and +infinity, set by sessions()), gap in microseconds (int8),
--   number of sessions (int4), then per session start, last event and
--   event count (int8 each); times are timestamptz microseconds since
--   2000-01-01 00:00 UTC.
CREATE FUNCTION pg_temp.state(flags int, gap bigint, VARIADIC v bigint[]) RETURNS bytea
LANGUAGE sql AS $$
    SELECT '\x01'::bytea || set_byte('\x00'::bytea, 0, flags) || int8send(gap)
           || int4send(cardinality(v) / 3)
           || coalesce((SELECT string_agg(int8send(x), ''::bytea ORDER BY i)
                        FROM unnest(v) WITH ORDINALITY u(x, i)), ''::bytea)
$$;
CREATE FUNCTION pg_temp.us(t timestamptz) RETURNS bigint LANGUAGE sql AS $$
    SELECT (extract(epoch FROM t - timestamptz '2000-01-01 00:00 UTC') * 1000000)::bigint
$$;
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
-- The sessions of one state.
CREATE FUNCTION pg_temp.merge1(p bytea) RETURNS sessionize.session[] LANGUAGE sql AS $$
    SELECT sessionize.sessions_merge(x) FROM (VALUES (p)) v(x)
$$;
-- pg_temp.state() writes what sessions_partial() writes (the sessions of
-- user 1's events, read back from sessions()).
SELECT sessionize.sessions_partial(ts, interval '10 minutes') =
       (SELECT pg_temp.state(1, 600000000, VARIADIC array_agg(x ORDER BY s.session_start, k))
        FROM unnest((SELECT sessionize.sessions(ts, interval '10 minutes') FROM g_events WHERE user_id = 1)) s,
             LATERAL (VALUES (1, pg_temp.us(s.session_start)), (2, pg_temp.us(s.last_event_at)),
                             (3, s.event_count)) v(k, x)) AS state_format_matches
FROM g_events WHERE user_id = 1;

-- Valid states whose sessions, merged, make one session: its event count is
-- the plain-SQL sum of theirs (numeric), an error 22003 past the bigint
-- range, never a wrapped count.  Merged in the order given: by insertion
-- (big, small), by bridging and absorbing (left, bridge), by the linear
-- merge of runs of more than two sessions (three_*).  Gap 10 microseconds.
CREATE TABLE g_crafted (name text, p bytea);
INSERT INTO g_crafted VALUES
    ('big', pg_temp.state(1, 10, 1, 3, 9223372036854775800)),
    ('small', pg_temp.state(1, 10, 2, 2, 8)),
    ('small_fits', pg_temp.state(1, 10, 2, 2, 7)),
    ('left', pg_temp.state(1, 10, 0, 0, 4611686018427387904, 20, 20, 4611686018427387903)),
    ('bridge', pg_temp.state(1, 10, 10, 10, 1)),
    ('three_a', pg_temp.state(1, 10, 0, 0, 4611686018427387904, 20, 20, 1, 40, 40, 1)),
    ('three_b', pg_temp.state(1, 10, 10, 10, 4611686018427387904, 30, 30, 1, 50, 50, 1)),
    ('three_fits', pg_temp.state(1, 10, 10, 10, 4611686018427387899, 30, 30, 1, 50, 50, 1));
-- each state alone is valid
SELECT name, (SELECT array_agg(s.event_count) FROM unnest(pg_temp.merge1(p)) s) AS counts
FROM g_crafted ORDER BY name;
SELECT c.names, t.events, t.events > 9223372036854775807 AS past_bigint, o.outcome,
       o.outcome = CASE WHEN t.events > 9223372036854775807 THEN
                            '22003: session event count out of range (The merged session would have more than 9223372036854775807 events.)'
                        ELSE 'ok: 1 session of ' || t.events || ' events' END AS as_expected
FROM (VALUES (ARRAY['big', 'small']), (ARRAY['big', 'small_fits']), (ARRAY['left', 'bridge']),
             (ARRAY['three_a', 'three_b']), (ARRAY['three_a', 'three_fits'])) c(names),
     LATERAL (SELECT sum(s.event_count::numeric) AS events
              FROM g_crafted g, unnest(pg_temp.merge1(g.p)) s
              WHERE g.name = ANY (c.names)) t,
     LATERAL (SELECT pg_temp.outcome(format(
         $q$SELECT cardinality(ss) || ' session of ' || (ss[1]).event_count || ' events'
            FROM (SELECT sessionize.sessions_merge(p ORDER BY array_position(%L::text[], name)) ss
                  FROM g_crafted WHERE name = ANY (%L::text[])) m$q$, c.names, c.names)) AS outcome) o;

-- The same with merge_sessions() over plain rows: (start, last, count) in
-- minutes after 2026-01-01, gap 10 minutes, merged in the order given: a
-- row that joins the session before it (overlap), the one after it
-- (before), or bridges two (bridge).
SELECT c.name, t.events, o.outcome,
       o.outcome = CASE WHEN t.events > 9223372036854775807 THEN
                            '22003: session event count out of range (The merged session would have more than 9223372036854775807 events.)'
                        ELSE 'ok: 1 session of ' || t.events || ' events' END AS as_expected
FROM (VALUES ('overlap', '{{0,1,9223372036854775806},{5,5,2}}'::bigint[]),
             ('overlap_fits', '{{0,1,9223372036854775806},{5,5,1}}'),
             ('before', '{{10,10,9223372036854775806},{5,5,2}}'),
             ('before_fits', '{{10,10,9223372036854775806},{5,5,1}}'),
             ('bridge', '{{0,0,4611686018427387904},{20,20,4611686018427387904},{10,10,1}}'),
             ('bridge_fits', '{{0,0,4611686018427387904},{20,20,4611686018427387902},{10,10,1}}')) c(name, rows),
     LATERAL (SELECT sum(c.rows[i][3]::numeric) AS events
              FROM generate_subscripts(c.rows, 1) i) t,
     LATERAL (SELECT pg_temp.outcome(format(
         $q$SELECT cardinality(ss) || ' session of ' || (ss[1]).event_count || ' events'
            FROM (SELECT sessionize.merge_sessions(timestamptz '2026-01-01 UTC' + r[i][1] * interval '1 minute',
                                                   timestamptz '2026-01-01 UTC' + r[i][2] * interval '1 minute',
                                                   r[i][3], interval '10 minutes' ORDER BY i) ss
                  FROM (SELECT %L::bigint[] r) x, generate_subscripts(x.r, 1) i) m$q$, c.rows)) AS outcome) o
ORDER BY c.name;

-- merge_sessions() rows that summarise no events are errors (22023); a row
-- whose times are both NULL is skipped.  After one valid row.
SELECT c.what, pg_temp.outcome(format(
         $q$SELECT string_agg(s.session_start || ' ' || s.last_event_at || ' ' || s.event_count, ', ')
            FROM unnest((SELECT sessionize.merge_sessions(a, b, n, interval '10 minutes' ORDER BY o)
                         FROM (VALUES (1, timestamptz '2026-01-01 00:00 UTC', timestamptz '2026-01-01 00:05 UTC', 2::bigint),
                                      (2, %L, %L, %L)) v(o, a, b, n))) s$q$, c.a, c.b, c.n)) AS outcome
FROM (VALUES ('both times null: skipped', NULL, NULL, '5'),
             ('everything null: skipped', NULL, NULL, NULL),
             ('joins the first row', '2026-01-01 00:10 UTC', '2026-01-01 00:10 UTC', '1'),
             ('-infinity alone', '-infinity', '-infinity', '3'),
             ('count null', '2026-01-01 01:00 UTC', '2026-01-01 01:00 UTC', NULL),
             ('start null', NULL, '2026-01-01 01:00 UTC', '1'),
             ('last null', '2026-01-01 01:00 UTC', NULL, '1'),
             ('count zero', '2026-01-01 01:00 UTC', '2026-01-01 01:00 UTC', '0'),
             ('count negative', '2026-01-01 01:00 UTC', '2026-01-01 01:00 UTC', '-3'),
             ('start after last', '2026-01-01 01:05 UTC', '2026-01-01 01:00 UTC', '2'),
             ('spans time with one event', '2026-01-01 01:00 UTC', '2026-01-01 01:05 UTC', '1'),
             ('-infinity to a time', '-infinity', '2026-01-01 01:00 UTC', '2'),
             ('a time to infinity', '2026-01-01 01:00 UTC', 'infinity', '2')) c(what, a, b, n);

-- Crafted states that no events make: 22P03.  Times below or past the
-- timestamptz range (-211813488000000000 is 4714-11-24 00:00 BC UTC, the
-- first valid one; 9223371331200000000, 294277-01-01, the first past the
-- end), infinities in a state without bit 0, a session joining an infinity
-- to another time, start after last, sessions out of order or within the
-- gap.  And valid ones at the edges, which merge: the counts of separate
-- sessions may add up past a bigint (merging valid states makes such
-- states, which parallel aggregation serializes and reads back).
SELECT c.what, pg_temp.outcome(format(
         'SELECT string_agg(s.session_start || '' '' || s.last_event_at || '' '' || s.event_count, '', '') FROM unnest(pg_temp.merge1(%L::bytea)) s',
         c.p)) AS outcome
FROM (VALUES ('start below the range', pg_temp.state(1, 10, -211813488000000001, -211813488000000001, 1)),
             ('start below the range, last in it', pg_temp.state(1, 10, -211813488000000001, -211813488000000000, 2)),
             ('last past the range', pg_temp.state(1, 10, 0, 9223371331200000000, 2)),
             ('-infinity without flag', pg_temp.state(0, 10, -9223372036854775808, -9223372036854775808, 1)),
             ('infinity without flag', pg_temp.state(0, 10, 9223372036854775807, 9223372036854775807, 1)),
             ('-infinity to a time', pg_temp.state(1, 10, -9223372036854775808, 5, 2)),
             ('a time to infinity', pg_temp.state(1, 10, 5, 9223372036854775807, 2)),
             ('start after last', pg_temp.state(1, 10, 2, 1, 1)),
             ('out of order', pg_temp.state(1, 10, 100, 100, 1, 0, 0, 1)),
             ('within the gap', pg_temp.state(1, 10, 1, 3, 2, 13, 13, 1)),
             ('valid: infinities', pg_temp.state(1, 10, -9223372036854775808, -9223372036854775808, 1, 0, 0, 1,
                                                 9223372036854775807, 9223372036854775807, 3)),
             ('valid: first time, bigint count', pg_temp.state(1, 10, -211813488000000000, -211813488000000000, 9223372036854775807)),
             ('valid: separate counts add up past bigint', pg_temp.state(1, 10, 0, 0, 9223372036854775807,
                                                                         100, 100, 9223372036854775807)),
             ('valid: finite times without flag', pg_temp.state(0, 10, 0, 5, 2))) c(what, p);
DROP TABLE g_crafted;

-- Parallel aggregation: force partial aggregation in workers, then combine
-- serialized states in the leader.  Same sessions as without.
CREATE TABLE g_big AS
SELECT (i % 97) AS user_id,
       timestamptz '2026-01-01' + ((i * 7919) % 20000) * interval '1 second' AS ts
FROM generate_series(1, 60000) i;
ANALYZE g_big;
CREATE TABLE g_serial AS
SELECT user_id, s.* FROM (SELECT user_id, sessionize.sessions(ts, interval '30 seconds') ss
                          FROM g_big GROUP BY user_id) g, unnest(g.ss) s;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET parallel_leader_participation = off;
EXPLAIN (COSTS OFF)
SELECT user_id, sessionize.sessions(ts, interval '30 seconds') FROM g_big GROUP BY user_id;
EXPLAIN (COSTS OFF)
SELECT sessionize.sessions(ts, interval '30 seconds') FROM g_big;
CREATE TABLE g_parallel AS
SELECT user_id, s.* FROM (SELECT user_id, sessionize.sessions(ts, interval '30 seconds') ss
                          FROM g_big GROUP BY user_id) g, unnest(g.ss) s;
SELECT (SELECT count(*) FROM g_serial) AS sessions,
       (SELECT count(*) FROM ((TABLE g_serial EXCEPT ALL TABLE g_parallel)
                              UNION ALL (TABLE g_parallel EXCEPT ALL TABLE g_serial)) d) AS differences;
-- one group over all rows, combined from the workers' partial states
SELECT cardinality(sessionize.sessions(ts, interval '30 seconds')) AS sessions_all_users FROM g_big;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;
RESET parallel_leader_participation;
SELECT cardinality(sessionize.sessions(ts, interval '30 seconds')) AS sessions_all_users FROM g_big;

-- The planner may hash-aggregate sessions().
SET enable_sort = off;
EXPLAIN (COSTS OFF)
SELECT user_id, sessionize.sessions(ts, interval '30 seconds') FROM g_big GROUP BY user_id;
RESET enable_sort;

DROP TABLE g_events, g_partials, g_big, g_serial, g_parallel;
