-- A job's full build with measures in one pass (src/measures_build.c):
-- every aggregate it computes natively, with FILTER, DISTINCT, NULLs, ties
-- and a NULL user, on timestamptz and bigint times, each build compared
-- with a plain-SQL GROUP BY over the same rows; and each reason it leaves
-- the build to SQL (events out of order, also after a sweep, the memory
-- limit, a measure it does not compute, a source it does not read
-- directly), whose result must be the same.
SET client_min_messages = notice;
SELECT setval(pg_get_serial_sequence('sessionize.jobs', 'job_id'), 1800, false) IS NOT NULL AS ids_from_1800;
CREATE SCHEMA mb;

-- Events in time order, as an event log writes them: 40 users (and NULL),
-- times with ties, NULLs in every measured column.  The amounts have one
-- scale: of values that compare equal but print otherwise (12.3, 12.30),
-- max() keeps the one it reads last, which the order of the rows decides,
-- in PostgreSQL's own aggregate as here, so verify() could tell them apart.
CREATE TABLE mb.ev (uid int, ts timestamptz, page text, name text COLLATE "C", amount numeric,
                    qty int, small smallint, big bigint, ok boolean, kind text);
SELECT setseed(0.18);
INSERT INTO mb.ev
SELECT CASE WHEN i % 97 = 0 THEN NULL ELSE i % 40 END,
       timestamptz '2026-03-01' + (i / 3) * interval '2 minutes' + (i % 3 / 2) * interval '1 minute'
         + CASE WHEN i % 11 = 0 THEN interval '50 minutes' * (i % 7) ELSE interval '0' END,
       CASE WHEN i % 13 = 0 THEN NULL ELSE '/p/' || (hashint4(i) & 7) END,
       CASE WHEN i % 17 = 0 THEN NULL ELSE chr(65 + (hashint4(i * 7) & 15)) || chr(97 + (i % 3)) END,
       CASE WHEN i % 19 = 0 THEN NULL ELSE round(((hashint4(i) & 9999) / 100.0)::numeric, 2) END,
       CASE WHEN i % 23 = 0 THEN NULL ELSE hashint4(i) % 1000 END,
       CASE WHEN i % 29 = 0 THEN NULL ELSE (hashint4(i) % 100)::smallint END,
       CASE WHEN i % 31 = 0 THEN NULL ELSE 4611686018427387904 + i END,
       CASE WHEN i % 37 = 0 THEN NULL ELSE hashint4(i) % 5 <> 0 END,
       CASE WHEN hashint4(i + 1) % 4 = 0 THEN 'buy' ELSE 'view' END
FROM generate_series(1, 3000) i;
-- ties: more events of a user at one time, with other pages (some NULL)
INSERT INTO mb.ev
SELECT uid, ts, CASE WHEN qty % 2 = 0 THEN NULL ELSE '/tie/' || (hashint4(qty) & 3) END,
       name, amount + 1, qty, small, big, NOT ok, kind
FROM mb.ev WHERE qty % 7 = 0;
-- (storage in time order)
CREATE TABLE mb.ev_sorted AS SELECT * FROM mb.ev ORDER BY ts;
DROP TABLE mb.ev;
ALTER TABLE mb.ev_sorted RENAME TO ev;
CREATE INDEX ON mb.ev (uid, ts);

\set measures 'count(*) AS n, count(page) AS pages_seen, count(DISTINCT page) AS pages, count(DISTINCT name) AS names, sum(amount) AS revenue, sum(qty) AS units, sum(small) AS smalls, sum(big) AS bigs, min(name) AS first_name, max(amount) AS top, max(page) FILTER (WHERE kind = ''buy'') AS top_bought, bool_and(ok) AS all_ok, every(ok) AS every_ok, bool_or(ok) AS any_ok, first(page) AS landing, last(page) AS exit, first(name) AS first_by_time, count(*) FILTER (WHERE kind = ''buy'') AS buys, sum(amount) FILTER (WHERE ok) AS ok_revenue, count(DISTINCT page) FILTER (WHERE kind = ''view'') AS viewed'

-- The reference: sessions by LAG and a running count, then GROUP BY with
-- the same aggregates; first and last by array_agg ordered by time, then
-- value (NULL last), as first() and last() break ties.
CREATE FUNCTION mb.reference(src regclass) RETURNS TABLE (uid int, session_start timestamptz, last_event_at timestamptz,
    event_count bigint, n bigint, pages_seen bigint, pages bigint, names bigint, revenue numeric, units bigint,
    smalls bigint, bigs numeric, first_name text, top numeric, top_bought text, all_ok boolean, every_ok boolean,
    any_ok boolean, landing text, exit text, first_by_time text, buys bigint, ok_revenue numeric, viewed bigint)
LANGUAGE plpgsql AS $$
BEGIN
  RETURN QUERY EXECUTE format($q$
    SELECT uid, min(ts), max(ts), count(*), count(*), count(page), count(DISTINCT page), count(DISTINCT name),
           sum(amount), sum(qty), sum(small), sum(big), min(name)::text, max(amount),
           max(page) FILTER (WHERE kind = 'buy'), bool_and(ok), every(ok), bool_or(ok),
           (array_agg(page ORDER BY ts, page NULLS LAST))[1],
           (array_agg(page ORDER BY ts DESC, page DESC NULLS FIRST))[1],
           (array_agg(name::text ORDER BY ts, name NULLS LAST))[1],
           count(*) FILTER (WHERE kind = 'buy'), sum(amount) FILTER (WHERE ok),
           count(DISTINCT page) FILTER (WHERE kind = 'view')
    FROM (SELECT *, count(*) FILTER (WHERE gap_before) OVER (PARTITION BY uid ORDER BY ts) AS s
          FROM (SELECT *, lag(ts) OVER (PARTITION BY uid ORDER BY ts) IS NULL
                          OR ts - lag(ts) OVER (PARTITION BY uid ORDER BY ts) > interval '30 minutes' AS gap_before
                FROM %s) a) b
    GROUP BY uid, s$q$, src);
END $$;
CREATE FUNCTION mb.differences(src regclass, target regclass) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE d bigint;
BEGIN
  EXECUTE format($q$
    SELECT count(*) FROM (
      (SELECT uid, session_start, last_event_at, event_count, n, pages_seen, pages, names, revenue, units, smalls,
              bigs, first_name::text, top, top_bought, all_ok, every_ok, any_ok, landing, exit, first_by_time::text,
              buys, ok_revenue, viewed FROM %s
       EXCEPT ALL SELECT * FROM mb.reference(%L))
      UNION ALL
      (SELECT * FROM mb.reference(%L)
       EXCEPT ALL SELECT uid, session_start, last_event_at, event_count, n, pages_seen, pages, names, revenue, units,
              smalls, bigs, first_name::text, top, top_bought, all_ok, every_ok, any_ok, landing, exit,
              first_by_time::text, buys, ok_revenue, viewed FROM %s)) d$q$, target, src, src, target) INTO d;
  RETURN d;
END $$;

-- In time order: one pass (the NOTICE's DETAIL says so), equal to the reference
SELECT sessionize.create_job('mb.ev', 'uid', 'ts', interval '30 minutes', measures => :'measures') AS job \gset
SELECT full_rebuild FROM sessionize.run_job(:job);
SELECT mb.differences('mb.ev', 'mb.ev_sessions') AS differences;
SELECT count(*) AS verify_differences FROM sessionize.verify(:job);
-- the run's counts, max event time and watermark are the build's; a
-- session is closed when its end is at or before the watermark
SELECT s.events_inserted = (SELECT count(ts) FROM mb.ev) AS events_counted,
       s.sessions_inserted = (SELECT count(*) FROM mb.ev_sessions) AS sessions_counted,
       s.max_event_time::timestamptz = (SELECT max(ts) FROM mb.ev) AS max_event_time_is_latest,
       s.watermark = s.max_event_time AS watermark_is_max_event_time,
       (SELECT count(*) FROM mb.ev_sessions WHERE closed IS DISTINCT FROM (session_end <= s.watermark::timestamptz)) AS closed_wrong,
       (SELECT count(*) FILTER (WHERE closed) FROM mb.ev_sessions) > 0 AS some_closed
FROM sessionize.job_status s WHERE s.job_id = :job;
-- the sums past the largest bigint, the NULL user, NULL-only measures are there
SELECT count(*) FILTER (WHERE bigs > 9223372036854775807) AS bigs_past_bigint,
       count(*) FILTER (WHERE uid IS NULL) AS null_user_sessions,
       count(*) FILTER (WHERE top_bought IS NULL) AS no_buy_sessions,
       count(*) FILTER (WHERE landing IS NULL) AS null_landing
FROM mb.ev_sessions;
-- incremental runs after the one-pass build stay exact
INSERT INTO mb.ev SELECT uid, ts + interval '3 days', page, name, amount, qty, small, big, ok, kind FROM mb.ev WHERE uid < 5;
DELETE FROM mb.ev WHERE uid = 7 AND ts < '2026-03-01 03:00';
SELECT full_rebuild FROM sessionize.run_job(:job);
SELECT mb.differences('mb.ev', 'mb.ev_sessions') AS differences;
-- TRUNCATE rebuilds, in one pass again
CREATE TABLE mb.ev_copy AS SELECT * FROM mb.ev;
TRUNCATE mb.ev;
INSERT INTO mb.ev SELECT * FROM mb.ev_copy ORDER BY ts;
SELECT full_rebuild FROM sessionize.run_job(:job);
SELECT mb.differences('mb.ev', 'mb.ev_sessions') AS differences;
SELECT sessionize.drop_job(:job, drop_target => true);

-- Out of time order: the pass gives up at the first late event, SQL builds
CREATE TABLE mb.shuffled AS SELECT * FROM mb.ev ORDER BY hashint4(qty) # hashtext(page), ts DESC;
SELECT sessionize.create_job('mb.shuffled', 'uid', 'ts', interval '30 minutes', measures => :'measures') AS job \gset
SELECT full_rebuild FROM sessionize.run_job(:job);
SELECT mb.differences('mb.shuffled', 'mb.shuffled_sessions') AS differences;
SELECT sessionize.drop_job(:job, drop_target => true);

-- Each user's events in order, but one joins a session that a sweep wrote
-- already (the latest time read was more than a gap past it): the pass
-- gives up there too.  1200 rows, so that a sweep runs after 1024.
CREATE TABLE mb.swept (LIKE mb.ev);
INSERT INTO mb.swept (uid, ts, page, amount, kind)
SELECT 1 + i % 3, timestamptz '2026-03-01' + i * interval '1 second', '/s/' || i % 5, i, 'view'
FROM generate_series(1, 600) i ORDER BY i;
INSERT INTO mb.swept (uid, ts, page, amount, kind)
SELECT 4, timestamptz '2026-03-02' + i * interval '1 second', '/t/' || i % 5, i, 'buy'
FROM generate_series(1, 600) i ORDER BY i;
INSERT INTO mb.swept (uid, ts, page, amount, kind) VALUES (1, '2026-03-01 00:10:01', '/late', 1, 'view');
SELECT sessionize.create_job('mb.swept', 'uid', 'ts', interval '30 minutes', measures => :'measures') AS job \gset
SELECT full_rebuild FROM sessionize.run_job(:job);
SELECT mb.differences('mb.swept', 'mb.swept_sessions') AS differences;
SELECT event_count FROM mb.swept_sessions WHERE uid = 1;
SELECT sessionize.drop_job(:job, drop_target => true);
-- without the late event, the sweeps write sessions early and it completes
DELETE FROM mb.swept WHERE page = '/late';
SELECT sessionize.create_job('mb.swept', 'uid', 'ts', interval '30 minutes', measures => :'measures') AS job \gset
SELECT full_rebuild FROM sessionize.run_job(:job);
SELECT mb.differences('mb.swept', 'mb.swept_sessions') AS differences;
SELECT sessionize.drop_job(:job, drop_target => true);

-- Sessions open at once beyond the hash memory limit: SQL builds
SET work_mem = '64kB';
SET hash_mem_multiplier = 1;
CREATE TABLE mb.many AS
SELECT u AS uid, timestamptz '2026-03-01' + i * interval '1 minute' AS ts, '/m/' || (u + i) % 9 AS page,
       NULL::text AS name, (u * i % 100)::numeric AS amount, i AS qty, NULL::smallint AS small,
       NULL::bigint AS big, true AS ok, 'view' AS kind
FROM generate_series(1, 5) i, generate_series(1, 2000) u ORDER BY i, u;
SELECT sessionize.create_job('mb.many', 'uid', 'ts', interval '30 minutes', measures => :'measures') AS job \gset
SELECT full_rebuild FROM sessionize.run_job(:job);
RESET work_mem;
RESET hash_mem_multiplier;
SELECT mb.differences('mb.many', 'mb.many_sessions') AS differences;
SELECT sessionize.drop_job(:job, drop_target => true);

-- A source it does not read directly (a partitioned table): SQL builds
CREATE TABLE mb.parted (LIKE mb.ev) PARTITION BY RANGE (ts);
CREATE TABLE mb.parted_1 PARTITION OF mb.parted FOR VALUES FROM (MINVALUE) TO (MAXVALUE);
INSERT INTO mb.parted SELECT * FROM mb.ev ORDER BY ts;
SELECT sessionize.create_job('mb.parted', 'uid', 'ts', interval '30 minutes', measures => :'measures') AS job \gset
SELECT full_rebuild FROM sessionize.run_job(:job);
SELECT mb.differences('mb.parted', 'mb.parted_sessions') AS differences;
SELECT sessionize.drop_job(:job, drop_target => true);

-- bigint epoch times (milliseconds), in one pass
CREATE TABLE mb.evb AS
SELECT uid, (extract(epoch FROM ts) * 1000)::bigint AS t, page, amount FROM mb.ev ORDER BY ts;
SELECT sessionize.create_job('mb.evb', 'uid', 't', 1800000,
    measures => 'sum(amount) AS revenue, first(page) AS landing, last(page) AS exit, count(DISTINCT page) AS pages, max(amount) FILTER (WHERE page IS NOT NULL) AS top') AS job \gset
SELECT full_rebuild FROM sessionize.run_job(:job);
CREATE VIEW mb.evb_reference AS
SELECT uid, min(t) AS session_start, count(*) AS event_count, sum(amount) AS revenue,
       (array_agg(page ORDER BY t, page NULLS LAST))[1] AS landing,
       (array_agg(page ORDER BY t DESC, page DESC NULLS FIRST))[1] AS exit,
       count(DISTINCT page) AS pages, max(amount) FILTER (WHERE page IS NOT NULL) AS top
FROM (SELECT *, count(*) FILTER (WHERE gap_before) OVER (PARTITION BY uid ORDER BY t) AS s
      FROM (SELECT *, lag(t) OVER (PARTITION BY uid ORDER BY t) IS NULL
                      OR t - lag(t) OVER (PARTITION BY uid ORDER BY t) > 1800000 AS gap_before FROM mb.evb) a) b
GROUP BY uid, s;
SELECT count(*) AS differences FROM (
    (SELECT uid, session_start, event_count, revenue, landing, exit, pages, top FROM mb.evb_sessions
     EXCEPT ALL TABLE mb.evb_reference)
    UNION ALL
    (TABLE mb.evb_reference
     EXCEPT ALL SELECT uid, session_start, event_count, revenue, landing, exit, pages, top FROM mb.evb_sessions)) d;
SELECT count(*) AS verify_differences FROM sessionize.verify(:job);
SELECT sessionize.drop_job(:job, drop_target => true);

-- An owner with SELECT on the columns the measures use, not on the table:
-- one pass; without SELECT on one of them, SQL builds and reports it
CREATE ROLE regress_mb_owner;
GRANT USAGE, CREATE ON SCHEMA mb TO regress_mb_owner;
-- (page is column 7, past the columns that no privilege covers)
CREATE TABLE mb.cols (uid int, ts timestamptz, f3 int, f4 int, f5 int, f6 int, page text, secret text);
INSERT INTO mb.cols (uid, ts, page, secret) SELECT uid, ts, page, 'x' FROM mb.ev ORDER BY ts;
GRANT SELECT (uid, ts, page), TRIGGER ON mb.cols TO regress_mb_owner;
SET ROLE regress_mb_owner;
SELECT sessionize.create_job('mb.cols', 'uid', 'ts', interval '30 minutes',
    measures => 'count(DISTINCT page) AS pages, first(page) AS landing, count(*) AS n') AS job \gset
SELECT full_rebuild FROM sessionize.run_job(:job);
RESET ROLE;
SELECT count(*) AS differences FROM (
    (SELECT uid, session_start, pages, landing FROM mb.cols_sessions
     EXCEPT ALL SELECT uid, session_start, pages, landing FROM mb.reference('mb.ev'))
    UNION ALL
    (SELECT uid, session_start, pages, landing FROM mb.reference('mb.ev')
     EXCEPT ALL SELECT uid, session_start, pages, landing FROM mb.cols_sessions)) d;
REVOKE SELECT (page) ON mb.cols FROM regress_mb_owner;
TRUNCATE mb.cols;
INSERT INTO mb.cols (uid, ts, page, secret) SELECT uid, ts, page, 'x' FROM mb.ev ORDER BY ts;
SET ROLE regress_mb_owner;
\set VERBOSITY sqlstate
SELECT full_rebuild FROM sessionize.run_job(:job);
\set VERBOSITY default
RESET ROLE;
SELECT sessionize.drop_job(:job, drop_target => true);

-- A user column whose type has a btree ordering but no hash function:
-- SQL builds
CREATE TABLE mb.bits AS
SELECT (uid % 16)::bit(4) AS u, ts, page FROM mb.ev WHERE uid IS NOT NULL ORDER BY ts;
SELECT sessionize.create_job('mb.bits', 'u', 'ts', interval '30 minutes',
    measures => 'count(DISTINCT page) AS pages, last(page) AS exit') AS job \gset
SELECT full_rebuild FROM sessionize.run_job(:job);
CREATE VIEW mb.bits_reference AS
SELECT u, min(ts) AS session_start, count(DISTINCT page) AS pages,
       (array_agg(page ORDER BY ts DESC, page DESC NULLS FIRST))[1] AS exit
FROM (SELECT *, count(*) FILTER (WHERE g) OVER (PARTITION BY u ORDER BY ts) AS s
      FROM (SELECT *, lag(ts) OVER (PARTITION BY u ORDER BY ts) IS NULL
                      OR ts - lag(ts) OVER (PARTITION BY u ORDER BY ts) > interval '30 minutes' AS g
            FROM mb.bits) a) b
GROUP BY u, s;
SELECT count(*) AS differences FROM (
    (SELECT u, session_start, pages, exit FROM mb.bits_sessions EXCEPT ALL TABLE mb.bits_reference)
    UNION ALL
    (TABLE mb.bits_reference EXCEPT ALL SELECT u, session_start, pages, exit FROM mb.bits_sessions)) d;
SELECT sessionize.drop_job(:job, drop_target => true);

-- 500 users' sessions open at once fit the default hash memory limit
CREATE TABLE mb.users500 AS
SELECT u AS uid, timestamptz '2026-03-01' + i * interval '1 minute' AS ts, '/u/' || (u * i) % 7 AS page
FROM generate_series(1, 3) i, generate_series(1, 500) u ORDER BY i, u;
SELECT sessionize.create_job('mb.users500', 'uid', 'ts', interval '30 minutes',
    measures => 'count(DISTINCT page) AS pages, last(page) AS exit') AS job \gset
SELECT full_rebuild FROM sessionize.run_job(:job);
SELECT count(*) AS sessions, sum(pages) AS pages FROM mb.users500_sessions;
SELECT count(DISTINCT (uid, page)) AS reference_pages FROM mb.users500;
SELECT sessionize.drop_job(:job, drop_target => true);

-- Ties that the ordering calls equal but whose bytes differ (1.0, 1.00,
-- 1): first() and last() pick by bytes, whatever the storage order; the
-- reference is the first() and last() aggregates over the same rows
CREATE TABLE mb.ties (uid int, ts timestamptz, amount numeric);
INSERT INTO mb.ties VALUES (1, '2026-03-01 10:00', 1.0), (1, '2026-03-01 10:00', 1.00), (1, '2026-03-01 10:00', 1),
                           (1, '2026-03-01 10:05', 2.50), (1, '2026-03-01 10:05', 2.5),
                           (2, '2026-03-01 10:00', 7), (2, '2026-03-01 10:00', 7.000);
CREATE TABLE mb.ties_reversed AS SELECT * FROM mb.ties ORDER BY ts, amount::text DESC;
CREATE VIEW mb.ties_reference AS
SELECT uid, sessionize.first(amount, ts)::text AS f, sessionize.last(amount, ts)::text AS l,
       max(amount)::text AS top FROM mb.ties GROUP BY uid;
SELECT sessionize.create_job('mb.ties', 'uid', 'ts', interval '30 minutes',
    measures => 'first(amount) AS f, last(amount) AS l') AS job \gset
SELECT full_rebuild FROM sessionize.run_job(:job);
SELECT sessionize.create_job('mb.ties_reversed', 'uid', 'ts', interval '30 minutes',
    measures => 'first(amount) AS f, last(amount) AS l') AS job2 \gset
SELECT full_rebuild FROM sessionize.run_job(:job2);
SELECT r.uid, r.f, r.l, t.f::text = r.f AND t.l::text = r.l AS same, v.f::text = r.f AND v.l::text = r.l AS same_reversed
FROM mb.ties_reference r JOIN mb.ties_sessions t USING (uid) JOIN mb.ties_reversed_sessions v USING (uid) ORDER BY uid;
SELECT sessionize.drop_job(:job, drop_target => true);
SELECT sessionize.drop_job(:job2, drop_target => true);

-- An aggregate it does not compute, with DISTINCT: SQL builds
CREATE TABLE mb.distinct_or AS SELECT uid, ts, ok FROM mb.ev ORDER BY ts;
SELECT sessionize.create_job('mb.distinct_or', 'uid', 'ts', interval '30 minutes',
    measures => 'bool_or(DISTINCT ok) AS any_ok, count(*) AS n') AS job \gset
SELECT full_rebuild FROM sessionize.run_job(:job);
SELECT count(*) AS differences FROM (
    (SELECT uid, session_start, any_ok FROM mb.distinct_or_sessions
     EXCEPT ALL SELECT uid, session_start, any_ok FROM mb.reference('mb.ev'))
    UNION ALL
    (SELECT uid, session_start, any_ok FROM mb.reference('mb.ev')
     EXCEPT ALL SELECT uid, session_start, any_ok FROM mb.distinct_or_sessions)) d;
SELECT sessionize.drop_job(:job, drop_target => true);

-- Infinite times: a session at -infinity ends there, one at infinity too
CREATE TABLE mb.inf (uid int, ts timestamptz, page text);
INSERT INTO mb.inf VALUES (1, '-infinity', 'a'), (1, '2026-03-01 10:00', 'b'), (1, '2026-03-01 10:10', 'c'),
                          (2, '2026-03-01 09:00', 'd'), (2, 'infinity', 'e');
SELECT sessionize.create_job('mb.inf', 'uid', 'ts', interval '30 minutes',
    measures => 'first(page) AS landing, count(*) AS n') AS job \gset
SELECT full_rebuild FROM sessionize.run_job(:job);
SELECT uid, session_start, last_event_at, session_end, event_count, landing, n
FROM mb.inf_sessions ORDER BY uid, session_start;
SELECT count(*) AS verify_differences FROM sessionize.verify(:job);
SELECT sessionize.drop_job(:job, drop_target => true);

-- bigint users whose 32-bit hashes are equal (0, 2^32 + 1, 2^33 + 2 fold
-- to 0): three users, not one
CREATE TABLE mb.big_users (uid bigint, ts timestamptz, page text);
INSERT INTO mb.big_users
SELECT u, timestamptz '2026-03-01' + i * interval '1 minute', '/b/' || u % 5 + i
FROM unnest(ARRAY[0, 4294967297, 8589934594]::bigint[]) u, generate_series(1, 4) i ORDER BY i, u;
SELECT sessionize.create_job('mb.big_users', 'uid', 'ts', interval '30 minutes',
    measures => 'count(DISTINCT page) AS pages, first(page) AS landing') AS job \gset
SELECT full_rebuild FROM sessionize.run_job(:job);
SELECT uid, event_count, pages, landing FROM mb.big_users_sessions ORDER BY uid;
SELECT sessionize.drop_job(:job, drop_target => true);

-- Times before 2000-01-01 (negative inside): the run's max event time is
-- the latest event's, and the sessions a gap before it are closed
CREATE TABLE mb.old (uid int, ts timestamptz, amount numeric);
INSERT INTO mb.old
SELECT u, timestamptz '1999-06-01' + i * interval '20 minutes', i FROM generate_series(1, 6) i, generate_series(1, 2) u
WHERE i <> 3 ORDER BY i, u;
SELECT sessionize.create_job('mb.old', 'uid', 'ts', interval '30 minutes', measures => 'sum(amount) AS total') AS job \gset
SELECT full_rebuild FROM sessionize.run_job(:job);
SELECT s.max_event_time::timestamptz = (SELECT max(ts) FROM mb.old) AS max_event_time_is_latest,
       (SELECT count(*) FROM mb.old_sessions WHERE closed) AS closed_sessions,
       (SELECT count(*) FROM mb.old_sessions) AS sessions
FROM sessionize.job_status s WHERE s.job_id = :job;
SELECT sessionize.drop_job(:job, drop_target => true);

-- numeric sums, minima and maxima, which it computes as scaled integers
-- (src/numeric_scaled.c) while the values allow and with numeric's own
-- functions from the first one that does not: mixed scales (the sum's is
-- the largest), zeros with a scale, negatives, sums beyond bigint, a
-- rescaling that would leave the integers' range, NaN, infinities, more
-- than 18 decimals, values beyond bigint, NULLs, equal values that print
-- otherwise.  Each user is one session; compared as text (scale included)
-- with the aggregates over the same rows in storage order.
CREATE TABLE mb.nums (uid int, ts timestamptz, amount numeric);
INSERT INTO mb.nums
SELECT uid, timestamptz '2026-03-01' + ord * interval '1 minute', amount
FROM (VALUES (1, 1, 1.5), (1, 2, 2.25), (1, 3, 3),
             (2, 1, 0.00), (2, 2, 0),
             (3, 1, -1.50), (3, 2, 0.25), (3, 3, -10),
             (4, 1, 9000000000000000000), (4, 2, 9000000000000000000), (4, 3, 9000000000000000000),
             (5, 1, 9000000000000000000), (5, 2, 9000000000000000000), (5, 3, 0.000000000000000001), (5, 4, 2),
             (6, 1, 1.5), (6, 2, 'NaN'), (6, 3, 2),
             (7, 1, 'Infinity'), (7, 2, 2),
             (8, 1, 'Infinity'), (8, 2, '-Infinity'),
             (9, 1, 1e30), (9, 2, 1),
             (10, 1, 1), (10, 2, 0.1234567890123456789), (10, 3, 1.5),
             (11, 1, NULL), (11, 2, NULL),
             (12, 1, NULL), (12, 2, 5.5),
             (13, 1, 12.3), (13, 2, 12.30), (13, 3, 2.5), (13, 4, 2.50),
             (14, 1, -9223372036854775807), (14, 2, -1),
             (15, 1, -9223372036854775807), (15, 2, -2), (15, 3, 0.5),
             (16, 1, 0.000000000000000001), (16, 2, -0.000000000000000002),
             (17, 1, 92233720368547758.07), (17, 2, 0.01), (17, 3, 99999999999999999.99)
     ) v(uid, ord, amount)
UNION ALL
-- 10^k at scale k and 10^-k, k = 0..18, in both orders (each power of ten
-- read, summed and compared: users 20 and 21), and a value whose digits
-- are scaled by 10^15 and one by 10^17 (user 22)
SELECT u, timestamptz '2026-03-01' + (CASE WHEN u = 20 THEN k ELSE 40 - k END) * interval '1 minute',
       CASE WHEN half = 0 THEN ('1.' || repeat('0', k))::numeric ELSE ('0.' || repeat('0', k) || '1')::numeric END
FROM generate_series(20, 21) u, generate_series(0, 18) k, generate_series(0, 1) half
WHERE half = 0 OR k < 18
UNION ALL
SELECT 22, timestamptz '2026-03-01' + k * interval '1 minute', v
FROM (VALUES (1, 1000000000000000.000), (2, 100000000000000000.0), (3, 7)) x(k, v)
UNION ALL
-- 70 then 60 at scale k, and 50 then 60 at scale k, k = 1..18: compared
-- and summed across each difference of scale (users 101.. and 201..)
SELECT first + k, timestamptz '2026-03-01' + i * interval '1 minute',
       CASE WHEN i = 1 THEN CASE WHEN first = 100 THEN 70 ELSE 50 END ELSE ('60.' || repeat('0', k))::numeric END
FROM generate_series(1, 18) k, (VALUES (100), (200)) f(first), generate_series(1, 2) i
UNION ALL
-- sums whose scale grows by k at once (1, then 10^-k) and that add a
-- value k places less precise (10^-18, then 10^-(18 - k)), k = 1..18
-- (users 301.. and 401..)
SELECT first + k, timestamptz '2026-03-01' + i * interval '1 minute',
       CASE WHEN first = 300 THEN CASE WHEN i = 1 THEN 1 ELSE ('0.' || repeat('0', k - 1) || '1')::numeric END
            ELSE CASE WHEN i = 1 THEN 0.000000000000000001
                      WHEN k = 18 THEN 1 ELSE ('0.' || repeat('0', 17 - k) || '1')::numeric END END
FROM generate_series(1, 18) k, (VALUES (300), (400)) f(first), generate_series(1, 2) i
ORDER BY 2, 1;
SELECT sessionize.create_job('mb.nums', 'uid', 'ts', interval '30 minutes',
    measures => 'sum(amount) AS total, max(amount) AS top, min(amount) AS bottom, sum(amount) FILTER (WHERE amount > 0) AS gains') AS job \gset
SELECT full_rebuild FROM sessionize.run_job(:job);
SELECT s.uid, s.total::text, s.top::text, s.bottom::text, s.gains::text,
       s.total::text IS NOT DISTINCT FROM r.total AND s.top::text IS NOT DISTINCT FROM r.top
       AND s.bottom::text IS NOT DISTINCT FROM r.bottom AND s.gains::text IS NOT DISTINCT FROM r.gains AS same
FROM mb.nums_sessions s
CROSS JOIN LATERAL (SELECT sum(amount)::text AS total, max(amount)::text AS top, min(amount)::text AS bottom,
                           (sum(amount) FILTER (WHERE amount > 0))::text AS gains
                    FROM mb.nums n WHERE n.uid = s.uid) r
WHERE s.uid < 100
ORDER BY s.uid;
-- how many values were read as scaled integers (in a rebuild: its
-- target is indexed already, so the DEBUG line is the build's alone)
SELECT sessionize.alter_job(:job, gap => interval '31 minutes');
SET client_min_messages = debug1;
SELECT full_rebuild FROM sessionize.run_job(:job);
SET client_min_messages = notice;
-- users 101.. to 418, counted: sessions, and those that differ
SELECT count(*) AS sessions,
       count(*) FILTER (WHERE s.total::text IS DISTINCT FROM r.total OR s.top::text IS DISTINCT FROM r.top
                        OR s.bottom::text IS DISTINCT FROM r.bottom) AS differ
FROM mb.nums_sessions s
CROSS JOIN LATERAL (SELECT sum(amount)::text AS total, max(amount)::text AS top, min(amount)::text AS bottom
                    FROM mb.nums n WHERE n.uid = s.uid) r
WHERE s.uid > 100;
SELECT sessionize.drop_job(:job, drop_target => true);

-- numerics stored out of line and compressed (9,000 digits): left to
-- numeric's own functions, the same as PostgreSQL's aggregates
CREATE TABLE mb.wide (uid int, ts timestamptz, amount numeric, compressed numeric);
ALTER TABLE mb.wide ALTER COLUMN amount SET STORAGE EXTERNAL;
SELECT format($$INSERT INTO mb.wide
SELECT u, timestamptz '2026-03-01' + %1$s * interval '1 minute',
       CASE WHEN %1$s = 2 THEN (repeat((u + 6)::text, 9000) || '.25')::numeric ELSE %1$s + 0.5 END,
       CASE WHEN %1$s = 2 THEN (repeat('12', 4500))::numeric ELSE %1$s END
FROM generate_series(1, 3) u$$, i) FROM generate_series(1, 3) i \gexec
SELECT count(*) AS out_of_time_order FROM (SELECT ts < lag(ts) OVER (ORDER BY ctid) AS back FROM mb.wide) x WHERE back;
SELECT count(*) FILTER (WHERE pg_column_compression(compressed) IS NOT NULL) AS compressed_values,
       (SELECT pg_relation_size(reltoastrelid) > 0 FROM pg_class WHERE oid = 'mb.wide'::regclass) AS some_out_of_line
FROM mb.wide;
SELECT sessionize.create_job('mb.wide', 'uid', 'ts', interval '30 minutes',
    measures => 'sum(amount) AS total, max(amount) AS top, min(amount) AS bottom, sum(compressed) AS ctotal, max(compressed) AS ctop') AS job \gset
SELECT full_rebuild FROM sessionize.run_job(:job);
SELECT s.uid, s.total = r.total AND s.top = r.top AND s.bottom = r.bottom AND s.ctotal = r.ctotal AND s.ctop = r.ctop AS same
FROM mb.wide_sessions s
JOIN (SELECT uid, sum(amount) AS total, max(amount) AS top, min(amount) AS bottom, sum(compressed) AS ctotal,
             max(compressed) AS ctop FROM mb.wide GROUP BY uid) r USING (uid)
ORDER BY uid;
SELECT count(*) AS verify_differences FROM sessionize.verify(:job);
SELECT sessionize.drop_job(:job, drop_target => true);

-- A session whose distinct values would pass the hash memory limit at
-- once, before the check every 1024 rows (80 values of 1kB, a limit of
-- 64kB): the pass gives up and SQL builds, with the same result
CREATE TABLE mb.huge (uid int, ts timestamptz, t text);
INSERT INTO mb.huge
SELECT 1, timestamptz '2026-03-01' + i * interval '1 second', repeat(md5(i::text), 32) FROM generate_series(1, 80) i;
SELECT sessionize.create_job('mb.huge', 'uid', 'ts', interval '30 minutes', measures => 'count(DISTINCT t) AS texts') AS job \gset
SET work_mem = '64kB';
SET hash_mem_multiplier = 1;
SELECT full_rebuild FROM sessionize.run_job(:job);
RESET work_mem;
RESET hash_mem_multiplier;
SELECT texts, texts = (SELECT count(DISTINCT t) FROM mb.huge) AS same FROM mb.huge_sessions;
SELECT sessionize.drop_job(:job, drop_target => true);

-- count(DISTINCT) keeps a session's values in one allocation
-- (build_distinct_keep()): by-value bigints whose 32-bit hashes are equal
-- (0, 2^32 + 1, 2^33 + 2), uuids (by reference, fixed length), and texts
-- stored short, compressed and out of line, repeated, in sessions of a
-- few values (kept once each) and of many (sorted by hash, then
-- compared); the reference is count(DISTINCT) of the same rows
CREATE TABLE mb.kinds (uid int, ts timestamptz, b bigint, id uuid, t text);
ALTER TABLE mb.kinds ALTER COLUMN t SET STORAGE EXTENDED;
INSERT INTO mb.kinds
SELECT u, timestamptz '2026-03-01' + i * interval '1 second',
       (ARRAY[0, 4294967297, 8589934594]::bigint[])[1 + i % 3] + CASE WHEN u = 2 THEN i % 40 ELSE 0 END,
       md5((i % (CASE WHEN u = 1 THEN 3 ELSE 30 END))::text)::uuid,
       CASE i % 4 WHEN 0 THEN 'short ' || (i % 7)
                  WHEN 1 THEN repeat('compressible ', 400) || (i % 5)
                  WHEN 2 THEN (SELECT string_agg(md5(k::text || (i % 6)), '') FROM generate_series(1, 90) k)
                  ELSE 'short ' || (i % (CASE WHEN u = 1 THEN 2 ELSE 50 END)) END
FROM generate_series(1, 2) u, generate_series(1, 120) i ORDER BY i, u;
SELECT count(*) FILTER (WHERE pg_column_compression(t) IS NOT NULL) > 0 AS some_compressed,
       count(*) FILTER (WHERE pg_column_size(t) < octet_length(t) / 10) > 0 AS some_toasted
FROM mb.kinds;
SELECT sessionize.create_job('mb.kinds', 'uid', 'ts', interval '30 minutes',
    measures => 'count(DISTINCT b) AS bs, count(DISTINCT id) AS ids, count(DISTINCT t) AS ts, count(DISTINCT t) FILTER (WHERE uid = 1 OR ts < ''2026-03-01 00:00:10'') AS few') AS job \gset
SELECT full_rebuild FROM sessionize.run_job(:job);
SELECT s.uid, s.bs, s.ids, s.ts, s.few, (s.bs, s.ids, s.ts, s.few) = (r.bs, r.ids, r.ts, r.few) AS same
FROM mb.kinds_sessions s
JOIN (SELECT uid, count(DISTINCT b) AS bs, count(DISTINCT id) AS ids, count(DISTINCT t) AS ts,
             count(DISTINCT t) FILTER (WHERE uid = 1 OR ts < '2026-03-01 00:00:10') AS few
      FROM mb.kinds GROUP BY uid) r USING (uid)
ORDER BY uid;
SELECT sessionize.drop_job(:job, drop_target => true);

RESET client_min_messages;
DROP SCHEMA mb CASCADE;
DROP ROLE regress_mb_owner;
