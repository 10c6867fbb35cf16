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
