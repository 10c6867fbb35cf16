-- Window forms: session_id() and session_start().
SET timezone = 'UTC';

CREATE TABLE w_events (user_id int, ts timestamptz);
-- the README's worked example (Semantics) (minutes past midnight, gap 10 minutes):
-- 0, 5, 15, 26, 36, 60 -> [0..15] (5 -> 15 is exactly the gap), [26..36], [60]
INSERT INTO w_events
SELECT 1, timestamptz '2026-01-01' + m * interval '1 minute'
FROM unnest(ARRAY[36, 0, 60, 15, 26, 5]) AS m;

SELECT ts,
       sessionize.session_id(ts, interval '10 minutes') OVER w AS session_id,
       sessionize.session_start(ts, interval '10 minutes') OVER w AS session_start
FROM w_events WINDOW w AS (PARTITION BY user_id ORDER BY ts)
ORDER BY ts;

-- The boundary is inclusive: exactly one gap joins, one microsecond more splits.
SELECT d, sessionize.session_id(ts, interval '10 minutes') OVER (ORDER BY ts) AS session_id
FROM (VALUES ('a', timestamptz '2026-01-01 00:00'), ('a', '2026-01-01 00:10'),
             ('b', '2026-01-01 00:20:00.000001')) v(d, ts)
ORDER BY ts;

-- Ties share a session, NULL times belong to none, a NULL key is one key.
INSERT INTO w_events VALUES
    (2, '2026-01-01 00:00'), (2, '2026-01-01 00:00'), (2, '2026-01-01 01:00'),
    (2, '2026-01-01 01:00'), (2, NULL), (NULL, '2026-01-01 00:00'),
    (NULL, '2026-01-01 00:30'), (NULL, NULL);
SELECT user_id, ts,
       sessionize.session_id(ts, interval '10 minutes') OVER w AS session_id,
       sessionize.session_start(ts, interval '10 minutes') OVER w AS session_start
FROM w_events WHERE user_id IS DISTINCT FROM 1
WINDOW w AS (PARTITION BY user_id ORDER BY ts)
ORDER BY user_id, ts;

-- NULLS FIRST works as well.
SELECT ts, sessionize.session_id(ts, interval '10 minutes') OVER (ORDER BY ts NULLS FIRST)
FROM w_events WHERE user_id = 2 ORDER BY ts NULLS FIRST;

-- A ROWS frame from UNBOUNDED PRECEDING to CURRENT ROW gives the same.
SELECT ts, sessionize.session_id(ts, interval '10 minutes')
           OVER (PARTITION BY user_id ORDER BY ts ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
FROM w_events WHERE user_id = 1 ORDER BY ts;

-- Infinities: each is infinitely far from every finite time.
SELECT ts, sessionize.session_id(ts, interval '100000 days') OVER (ORDER BY ts) AS session_id,
       sessionize.session_start(ts, interval '100000 days') OVER (ORDER BY ts) AS session_start
FROM (VALUES (timestamptz '-infinity'), ('-infinity'), ('2026-01-01'), ('2026-01-02'),
             ('infinity'), ('infinity')) v(ts)
ORDER BY ts;

-- timestamp without time zone.
SELECT ts, sessionize.session_id(ts, interval '10 minutes') OVER (ORDER BY ts) AS session_id,
       sessionize.session_start(ts, interval '10 minutes') OVER (ORDER BY ts) AS session_start
FROM (SELECT ts::timestamp FROM w_events WHERE user_id = 1) e ORDER BY ts;

-- bigint epochs, the gap in the same unit (here seconds).
SELECT t, sessionize.session_id(t, 600::bigint) OVER (ORDER BY t) AS session_id,
       sessionize.session_start(t, 600::bigint) OVER (ORDER BY t) AS session_start
FROM (VALUES (0::bigint), (300), (900), (1560), (2160), (3600)) v(t) ORDER BY t;

-- bigint extremes do not overflow.
SELECT t, sessionize.session_id(t, 9223372036854775807) OVER (ORDER BY t) AS session_id
FROM (VALUES (-9223372036854775808), (0::bigint), (9223372036854775807)) v(t) ORDER BY t;

-- Empty input gives no rows.
SELECT sessionize.session_id(ts, interval '1 hour') OVER (ORDER BY ts) FROM w_events WHERE false;

-- Extended rule: maximum duration.  Events every 5 minutes, gap 10 minutes,
-- sessions at most 12 minutes long: a new session when ts - start > 12 min.
SELECT ts, sessionize.session_id(ts, interval '10 minutes', interval '12 minutes') OVER (ORDER BY ts) AS session_id,
       sessionize.session_start(ts, interval '10 minutes', interval '12 minutes') OVER (ORDER BY ts) AS session_start
FROM generate_series(timestamptz '2026-01-01', '2026-01-01 00:40', interval '5 minutes') ts
ORDER BY ts;
-- A NULL max_duration means no limit.
SELECT max(s) FROM (
    SELECT sessionize.session_id(ts, interval '10 minutes', NULL::interval) OVER (ORDER BY ts) s
    FROM generate_series(timestamptz '2026-01-01', '2026-01-01 00:40', interval '5 minutes') ts) q;

-- Extended rule: a flag that starts a session (here: a login), whatever the gap.
-- A flagged row that ties with the previous event stays in its session.
SELECT ts, login,
       sessionize.session_id(ts, interval '10 minutes', login) OVER (ORDER BY ts) AS session_id,
       sessionize.session_start(ts, interval '10 minutes', login) OVER (ORDER BY ts) AS session_start
FROM (VALUES (timestamptz '2026-01-01 00:00', true), ('2026-01-01 00:01', false),
             ('2026-01-01 00:02', true), ('2026-01-01 00:03', NULL),
             ('2026-01-01 00:30', false), ('2026-01-01 00:30', true)) v(ts, login)
ORDER BY ts, login;

-- Both rules together.
SELECT ts, sessionize.session_id(ts, interval '10 minutes', interval '7 minutes', ts = '2026-01-01 00:15')
           OVER (ORDER BY ts) AS session_id
FROM generate_series(timestamptz '2026-01-01', '2026-01-01 00:25', interval '5 minutes') ts
ORDER BY ts;

-- bigint forms of the extended rules.
SELECT t, sessionize.session_id(t, 10::bigint, 12::bigint) OVER (ORDER BY t) AS by_duration,
       sessionize.session_id(t, 10::bigint, t = 20) OVER (ORDER BY t) AS by_flag,
       sessionize.session_id(t, 10::bigint, 12::bigint, t = 30) OVER (ORDER BY t) AS by_both
FROM generate_series(0::bigint, 40, 5) t ORDER BY t;

-- Extended rule: per-event gap (Spark's dynamic gap).  A session stays open
-- until the latest ts + gap of its events: the 00:00 event's 30-minute gap
-- keeps the session open past the 00:01 event's 1-minute gap.
SELECT ts, g, sessionize.session_id(ts, g) OVER (ORDER BY ts) AS session_id
FROM (VALUES (timestamptz '2026-01-01 00:00', interval '30 minutes'),
             ('2026-01-01 00:01', interval '1 minute'),
             ('2026-01-01 00:25', interval '1 minute'),
             ('2026-01-01 00:31', interval '1 minute'),
             ('2026-01-01 00:40', interval '1 minute')) v(ts, g)
ORDER BY ts;

-- Several calls in one window, and in two different windows.
SELECT user_id, ts,
       sessionize.session_id(ts, interval '10 minutes') OVER w AS s10,
       sessionize.session_id(ts, interval '20 minutes') OVER w AS s20,
       sessionize.session_id(ts, interval '10 minutes') OVER (ORDER BY ts) AS all_users
FROM w_events WHERE user_id = 1
WINDOW w AS (PARTITION BY user_id ORDER BY ts)
ORDER BY ts;

-- Errors: never a silently wrong answer.
-- no ORDER BY
SELECT sessionize.session_id(ts, interval '10 minutes') OVER (PARTITION BY user_id) FROM w_events;
-- ORDER BY something else than the time argument
SELECT sessionize.session_id(ts, interval '10 minutes') OVER (PARTITION BY user_id ORDER BY user_id) FROM w_events;
SELECT sessionize.session_start(ts, interval '10 minutes') OVER (ORDER BY ts + interval '1 hour') FROM w_events;
-- descending time
SELECT sessionize.session_id(ts, interval '10 minutes') OVER (PARTITION BY user_id ORDER BY ts DESC) FROM w_events;
-- a frame that does not end at the current row, or excludes it
SELECT sessionize.session_id(ts, interval '10 minutes')
       OVER (ORDER BY ts ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) FROM w_events;
SELECT sessionize.session_id(ts, interval '10 minutes')
       OVER (ORDER BY ts ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) FROM w_events;
SELECT sessionize.session_id(ts, interval '10 minutes')
       OVER (ORDER BY ts RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW EXCLUDE CURRENT ROW) FROM w_events;
-- as a plain aggregate
SELECT sessionize.session_id(ts, interval '10 minutes') FROM w_events;
SELECT sessionize.session_id(ts, interval '10 minutes' ORDER BY ts) FROM w_events;
-- bad gaps (SQLSTATE 22023)
\set VERBOSITY sqlstate
SELECT sessionize.session_id(ts, interval '0') OVER (ORDER BY ts) FROM w_events;
SELECT sessionize.session_id(ts, interval '-1 minute') OVER (ORDER BY ts) FROM w_events;
SELECT sessionize.session_id(ts, interval '1 month') OVER (ORDER BY ts) FROM w_events;
SELECT sessionize.session_id(ts, NULL::interval) OVER (ORDER BY ts) FROM w_events;
SELECT sessionize.session_id(t, 0::bigint) OVER (ORDER BY t) FROM (VALUES (1::bigint)) v(t);
SELECT sessionize.session_id(ts, interval '10 minutes', interval '0') OVER (ORDER BY ts) FROM w_events;
SELECT sessionize.session_id(ts, interval '200000000 days') OVER (ORDER BY ts) FROM w_events;
\set VERBOSITY default
SELECT sessionize.session_id(ts, interval '1 month') OVER (ORDER BY ts) FROM w_events;
SELECT sessionize.session_id(t, -5::bigint) OVER (ORDER BY t) FROM (VALUES (1::bigint)) v(t);

DROP TABLE w_events;
