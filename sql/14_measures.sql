-- Per-session measures of jobs (issue 10): create_job(measures => ...),
-- kept equal to a GROUP BY over the source computed from scratch after
-- every run, whatever the writers do; alter_job(measures => ...); verify();
-- and the measure list's checks, which never let its text into a statement.
SET timezone = 'UTC';
\set SHOW_CONTEXT never

SELECT setval(pg_get_serial_sequence('sessionize.jobs', 'job_id'), 1400, false) IS NOT NULL AS ids_from_1400;

CREATE ROLE regress_ms_owner;
CREATE SCHEMA ms AUTHORIZATION regress_ms_owner;
SET ROLE regress_ms_owner;

-- events of a web shop: a NULL user is a user; amounts and pages may be NULL
CREATE TABLE ms.ev (uid int, ts timestamptz, page text, amount numeric, kind text);
CREATE INDEX ON ms.ev (uid, ts);
INSERT INTO ms.ev
SELECT CASE WHEN i % 11 = 0 THEN NULL ELSE i % 5 END,
       timestamptz '2026-01-01' + (i * 7 % 600) * interval '1 minute',
       CASE WHEN i % 13 = 0 THEN NULL ELSE 'p' || (i % 4) END,
       CASE WHEN i % 9 = 0 THEN NULL ELSE (i % 17) * 1.25 END,
       CASE WHEN i % 3 = 0 THEN 'buy' ELSE 'view' END
FROM generate_series(1, 400) i;

-- The reference: sessions by LAG and a running SUM, the measures by GROUP BY.
CREATE VIEW ms.reference AS
SELECT uid, min(ts) AS session_start, max(ts) AS last_event_at, count(*) AS event_count,
       sum(amount) AS revenue, count(*) FILTER (WHERE kind = 'buy') AS purchases,
       count(DISTINCT page) AS pages, max(amount) AS top_amount,
       string_agg(page, '>' ORDER BY ts, page) AS path,
       (array_agg(page ORDER BY ts, page))[1] AS landing_page,
       (array_agg(page ORDER BY ts DESC, page DESC))[1] AS exit_page
FROM (SELECT *, sum(is_new) OVER (PARTITION BY uid ORDER BY ts ROWS UNBOUNDED PRECEDING) AS n
      FROM (SELECT *, CASE WHEN lag(ts) OVER w IS NULL OR ts - lag(ts) OVER w > interval '10 minutes'
                           THEN 1 ELSE 0 END AS is_new
            FROM ms.ev WHERE ts IS NOT NULL
            WINDOW w AS (PARTITION BY uid ORDER BY ts)) a) b
GROUP BY uid, n;


SELECT sessionize.create_job('ms.ev', 'uid', 'ts', interval '10 minutes', measures =>
    'sum(amount) AS revenue, count(*) FILTER (WHERE kind = ''buy'') AS purchases, '
    'count(DISTINCT page) AS pages, max(amount) AS top_amount, '
    'string_agg(page, ''>'' ORDER BY ts, page) AS path, first(page) AS landing_page, last(page) AS exit_page') AS job \gset
-- rows of the target and of the reference that the other lacks, and the
-- number of sessions (so that an empty target cannot pass)
CREATE FUNCTION ms.differences(OUT differences bigint, OUT sessions bigint) LANGUAGE sql AS $$
    SELECT (SELECT count(*) FROM (
              (SELECT uid, session_start, last_event_at, event_count, revenue, purchases, pages, top_amount, path,
                      landing_page, exit_page
               FROM ms.reference
               EXCEPT ALL
               SELECT uid, session_start, last_event_at, event_count, revenue, purchases, pages, top_amount, path,
                      landing_page, exit_page
               FROM ms.ev_sessions)
              UNION ALL
              (SELECT uid, session_start, last_event_at, event_count, revenue, purchases, pages, top_amount, path,
                      landing_page, exit_page
               FROM ms.ev_sessions
               EXCEPT ALL
               SELECT uid, session_start, last_event_at, event_count, revenue, purchases, pages, top_amount, path,
                      landing_page, exit_page
               FROM ms.reference)) d),
           (SELECT count(*) FROM ms.ev_sessions)
$$;

-- what is stored: PostgreSQL's deparsed text, columns as e.<column>
SELECT position, column_name, definition, result_type FROM sessionize.job_measures WHERE job_id = :job ORDER BY position;
-- the target: the fixed columns, then one per measure
SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute
WHERE attrelid = 'ms.ev_sessions'::regclass AND attnum > 0 ORDER BY attnum;

SELECT events_inserted, sessions_inserted, full_rebuild FROM sessionize.run_job(:job);
SELECT * FROM ms.differences();
SELECT count(*) AS verify_differences FROM sessionize.verify(:job);

-- events at the same time: first() takes the smallest page, last() the
-- largest, NULL above all
INSERT INTO ms.ev VALUES (1, '2026-01-01 00:00:30', 'zz', 1, 'view'), (1, '2026-01-01 00:00:30', 'aa', 1, 'view'),
                         (1, '2026-01-01 00:00:30', NULL, 1, 'view');
-- appended events, and late ones that bridge sessions
INSERT INTO ms.ev SELECT i % 5, timestamptz '2026-01-01 10:00' + i * interval '3 minutes', 'q', i, 'buy'
FROM generate_series(1, 40) i;
INSERT INTO ms.ev SELECT i % 5, timestamptz '2026-01-01' + (i * 7 % 600 + 3) * interval '1 minute', 'late', 1, 'view'
FROM generate_series(1, 60) i;
SELECT full_rebuild FROM sessionize.run_job(:job);
SELECT * FROM ms.differences();

-- an update of a column that only a measure reads: the session's user and
-- times stay, its revenue changes
UPDATE ms.ev SET amount = coalesce(amount, 0) + 100 WHERE uid = 2 AND ts < '2026-01-01 02:00';
UPDATE ms.ev SET page = 'changed' WHERE uid IS NULL AND ts < '2026-01-01 03:00';
SELECT full_rebuild FROM sessionize.run_job(:job);
SELECT * FROM ms.differences();

-- times moved, events deleted (splitting sessions), NULL times given one
UPDATE ms.ev SET ts = ts + interval '1 hour' WHERE uid = 3 AND ts BETWEEN '2026-01-01 01:00' AND '2026-01-01 02:00';
DELETE FROM ms.ev WHERE uid = 1 AND ts BETWEEN '2026-01-01 04:00' AND '2026-01-01 04:30';
INSERT INTO ms.ev VALUES (4, NULL, 'nowhen', 5, 'buy');
UPDATE ms.ev SET ts = '2026-01-01 05:00' WHERE ts IS NULL;
SELECT full_rebuild FROM sessionize.run_job(:job);
SELECT * FROM ms.differences();
SELECT count(*) AS verify_differences FROM sessionize.verify(:job);

-- verify() compares the measures too
UPDATE ms.ev_sessions SET revenue = revenue + 1
WHERE (uid, session_start) = (SELECT uid, session_start FROM ms.ev_sessions WHERE revenue IS NOT NULL ORDER BY 1, 2 LIMIT 1);
SELECT difference, event_count, measures IS NOT NULL AS has_measures FROM sessionize.verify(:job);

-- a TRUNCATE rebuilds, measures included
TRUNCATE ms.ev;
INSERT INTO ms.ev SELECT i % 3, timestamptz '2026-02-01' + i * interval '2 minutes', 'r' || (i % 2), i, 'buy'
FROM generate_series(1, 90) i;
SELECT full_rebuild FROM sessionize.run_job(:job);
SELECT * FROM ms.differences();

-- a measure over a column that was renamed: the run fails
ALTER TABLE ms.ev RENAME amount TO amt;
\set VERBOSITY sqlstate
SELECT sessionize.run_job(:job);
\set VERBOSITY default
ALTER TABLE ms.ev RENAME amt TO amount;
SELECT full_rebuild FROM sessionize.run_job(:job);
SELECT * FROM ms.differences();

-- ---------------------------------------------------------------------------
-- alter_job(measures => ...): the measure columns are replaced and the next
-- run rebuilds; '' removes them all
-- ---------------------------------------------------------------------------
SELECT sessionize.alter_job(:job, measures => 'count(*) FILTER (WHERE amount > 50) AS big, min(page) AS "first page"');
SELECT attname FROM pg_attribute WHERE attrelid = 'ms.ev_sessions'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum;
SELECT full_rebuild FROM sessionize.run_job(:job);
SELECT count(*) AS differences FROM (
    (SELECT uid, session_start, big, "first page" FROM ms.ev_sessions
     EXCEPT ALL
     SELECT uid, min(ts), count(*) FILTER (WHERE amount > 50), min(page)
     FROM (SELECT *, sum(is_new) OVER (PARTITION BY uid ORDER BY ts ROWS UNBOUNDED PRECEDING) AS n
           FROM (SELECT *, CASE WHEN lag(ts) OVER w IS NULL OR ts - lag(ts) OVER w > interval '10 minutes'
                                THEN 1 ELSE 0 END AS is_new
                 FROM ms.ev WHERE ts IS NOT NULL WINDOW w AS (PARTITION BY uid ORDER BY ts)) a) b
     GROUP BY uid, n)) d;
SELECT sum(big) > 0 AS some_big FROM ms.ev_sessions;
SELECT sessionize.alter_job(:job, measures => '');
SELECT count(*) AS measures FROM sessionize.job_measures WHERE job_id = :job;
SELECT attname FROM pg_attribute WHERE attrelid = 'ms.ev_sessions'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum;
SELECT full_rebuild FROM sessionize.run_job(:job);
SELECT count(*) AS verify_differences FROM sessionize.verify(:job);
SELECT sessionize.drop_job(:job, drop_target => true);

-- ---------------------------------------------------------------------------
-- Runs merge what merges: when appends grow a session of a job whose
-- measures all merge, a run reads only the new events and merges their
-- values with the stored ones.  A stored value set wrong by hand shows it:
-- it stays as wrong after an append that merges, and is repaired by one
-- that recomputes (a late event inside the session, or a job with a
-- measure that does not merge).
-- ---------------------------------------------------------------------------
CREATE TABLE ms.m (uid int, ts timestamptz, amount int, ok boolean);
CREATE INDEX ON ms.m (uid, ts);
INSERT INTO ms.m SELECT i % 3, timestamptz '2026-01-01' + i * interval '2 minutes', i, i % 4 <> 0
FROM generate_series(1, 30) i;
SELECT sessionize.create_job('ms.m', 'uid', 'ts', interval '10 minutes', measures =>
    'sum(amount) AS total, count(amount) AS n, count(*) FILTER (WHERE ok) AS oks, min(amount) AS low, '
    'max(amount) AS high, bool_and(ok) AS all_ok, bool_or(NOT ok) AS any_bad, '
    'sum(amount::numeric / 3) AS thirds, first(amount) AS opening, last(amount) AS closing, '
    'every(ok) AS every_ok, sum(amount::money) AS cash') AS mjob \gset
SELECT column_name, merge FROM sessionize.job_measures WHERE job_id = :mjob ORDER BY position;
SELECT full_rebuild FROM sessionize.run_job(:mjob);
CREATE VIEW ms.m_reference AS
SELECT uid, min(ts) AS session_start, max(ts) AS last_event_at, count(*) AS event_count,
       sum(amount) AS total, count(amount) AS n, count(*) FILTER (WHERE ok) AS oks, min(amount) AS low,
       max(amount) AS high, bool_and(ok) AS all_ok, bool_or(NOT ok) AS any_bad,
       sum(amount::numeric / 3) AS thirds, (array_agg(amount ORDER BY ts, amount))[1] AS opening,
       (array_agg(amount ORDER BY ts DESC, amount DESC))[1] AS closing, every(ok) AS every_ok,
       sum(amount::money) AS cash
FROM (SELECT *, sum(is_new) OVER (PARTITION BY uid ORDER BY ts ROWS UNBOUNDED PRECEDING) AS g
      FROM (SELECT *, CASE WHEN lag(ts) OVER w IS NULL OR ts - lag(ts) OVER w > interval '10 minutes'
                           THEN 1 ELSE 0 END AS is_new
            FROM ms.m WHERE ts IS NOT NULL WINDOW w AS (PARTITION BY uid ORDER BY ts)) a) b
GROUP BY uid, g;
CREATE VIEW ms.m_wrong AS
SELECT uid, session_start, total FROM (
    (SELECT uid, session_start, last_event_at, event_count, total, n, oks, low, high, all_ok, any_bad, thirds,
            opening, closing, every_ok, cash FROM ms.m_sessions
     EXCEPT ALL SELECT * FROM ms.m_reference)
    UNION ALL
    (SELECT * FROM ms.m_reference
     EXCEPT ALL SELECT uid, session_start, last_event_at, event_count, total, n, oks, low, high, all_ok, any_bad, thirds,
                       opening, closing, every_ok, cash FROM ms.m_sessions)) d
ORDER BY 1, 2, 3;
SELECT count(*) AS sessions, (SELECT count(*) FROM ms.m_wrong) AS wrong FROM ms.m_sessions;
-- user 1's session, wrong by 1000; appends to it and to user 2's, some with
-- NULL amounts and new extremes
UPDATE ms.m_sessions SET total = total + 1000 WHERE uid = 1;
INSERT INTO ms.m VALUES (1, '2026-01-01 01:05', NULL, false), (1, '2026-01-01 01:07', 500, true),
                        (2, '2026-01-01 01:06', -7, NULL), (0, '2026-01-01 01:04', NULL, NULL);
SELECT events_inserted, sessions_updated FROM sessionize.run_job(:mjob);
-- merged: still wrong by the same 1000, and nothing else
SELECT m.uid, m.total - r.total AS off_by FROM ms.m_sessions m JOIN ms.m_reference r USING (uid, session_start) ORDER BY 1;
SELECT count(*) AS other_wrong FROM ms.m_wrong WHERE uid <> 1;
-- a late event inside the session makes the run recompute it: repaired
INSERT INTO ms.m VALUES (1, '2026-01-01 00:31', 1, true);
SELECT events_inserted FROM sessionize.run_job(:mjob);
SELECT count(*) AS wrong FROM ms.m_wrong;
SELECT count(*) AS verify_differences FROM sessionize.verify(:mjob);
DROP VIEW ms.m_wrong, ms.m_reference;
-- sessionize's own sessions() aggregate is no first() or last(): it does not merge
SELECT sessionize.create_job('ms.m', 'uid', 'ts', interval '10 minutes', target => 'ms.m_bursts',
                             measures => 'sessionize.sessions(ts, interval ''3 minutes'') AS bursts') AS bjob \gset
SELECT column_name, merge FROM sessionize.job_measures WHERE job_id = :bjob;
SELECT full_rebuild FROM sessionize.run_job(:bjob);
SELECT count(*) AS verify_differences FROM sessionize.verify(:bjob);
SELECT sessionize.drop_job(:bjob, drop_target => true);
-- with a measure that does not merge, an append recomputes: repaired too
SELECT sessionize.alter_job(:mjob, measures => 'sum(amount) AS total, count(DISTINCT amount) AS kinds');
SELECT column_name, merge FROM sessionize.job_measures WHERE job_id = :mjob ORDER BY position;
SELECT full_rebuild FROM sessionize.run_job(:mjob);
UPDATE ms.m_sessions SET total = total + 1000 WHERE uid = 1;
INSERT INTO ms.m VALUES (1, '2026-01-01 01:09', 9, true);
SELECT events_inserted FROM sessionize.run_job(:mjob);
SELECT count(*) AS verify_differences FROM sessionize.verify(:mjob);
SELECT sessionize.drop_job(:mjob, drop_target => true);

-- ---------------------------------------------------------------------------
-- The list is parsed, never pasted: anything but a list of named,
-- non-volatile aggregates over the source's columns is refused, with an
-- SQLSTATE, and nothing is created
-- ---------------------------------------------------------------------------
-- (each error with its message, then its SQLSTATE; a syntax error's
-- position is in the measure list, not in the statement)
SELECT sessionize.create_job('ms.ev', 'uid', 'ts', interval '10 minutes', measures => 'sum(amount) AS x FROM pg_authid --');
\echo :LAST_ERROR_SQLSTATE
-- a NULL column, or source, with measures: the body's error, no crash
SELECT sessionize.create_job('ms.ev', NULL, 'ts', interval '10 minutes', measures => 'sum(amount) AS x');
\echo :LAST_ERROR_SQLSTATE
SELECT sessionize.create_job('ms.ev', 'uid', NULL, interval '10 minutes', measures => 'sum(amount) AS x');
\echo :LAST_ERROR_SQLSTATE
SELECT sessionize.create_job(NULL, 'uid', 'ts', interval '10 minutes', measures => 'sum(amount) AS x');
\echo :LAST_ERROR_SQLSTATE
SELECT sessionize.create_job('ms.ev', 'uid', 'ts', interval '10 minutes', measures => 'sum(amount) AS x; DROP TABLE ms.ev; --');
\echo :LAST_ERROR_SQLSTATE
SELECT sessionize.create_job('ms.ev', 'uid', 'ts', interval '10 minutes', measures => 'sum(amount) AS x WHERE true');
\echo :LAST_ERROR_SQLSTATE
SELECT sessionize.create_job('ms.ev', 'uid', 'ts', interval '10 minutes', measures => 'sum(amount) AS x) AS y, (1');
\echo :LAST_ERROR_SQLSTATE
SELECT sessionize.create_job('ms.ev', 'uid', 'ts', interval '10 minutes', measures => 'sum(amount * random()) AS r');
\echo :LAST_ERROR_SQLSTATE
SELECT sessionize.create_job('ms.ev', 'uid', 'ts', interval '10 minutes', measures => 'amount AS a');
\echo :LAST_ERROR_SQLSTATE
SELECT sessionize.create_job('ms.ev', 'uid', 'ts', interval '10 minutes', measures => 'sum(amount) AS a, page AS p');
\echo :LAST_ERROR_SQLSTATE
SELECT sessionize.create_job('ms.ev', 'uid', 'ts', interval '10 minutes', measures => 'sum(nope) AS a');
\echo :LAST_ERROR_SQLSTATE
SELECT sessionize.create_job('ms.ev', 'uid', 'ts', interval '10 minutes', measures => 'sum(amount) OVER () AS a');
\echo :LAST_ERROR_SQLSTATE
SELECT sessionize.create_job('ms.ev', 'uid', 'ts', interval '10 minutes', measures => 'sum((SELECT 1)) AS a');
\echo :LAST_ERROR_SQLSTATE
SELECT sessionize.create_job('ms.ev', 'uid', 'ts', interval '10 minutes', measures => 'sum(amount)');
\echo :LAST_ERROR_SQLSTATE
SELECT sessionize.create_job('ms.ev', 'uid', 'ts', interval '10 minutes', measures => 'sum(amount) AS a, max(amount) AS a');
\echo :LAST_ERROR_SQLSTATE
SELECT sessionize.create_job('ms.ev', 'uid', 'ts', interval '10 minutes', measures => 'bool_or(true) AS closed');
\echo :LAST_ERROR_SQLSTATE
SELECT sessionize.create_job('ms.ev', 'uid', 'ts', interval '10 minutes', measures => 'count(*) AS uid');
\echo :LAST_ERROR_SQLSTATE
SELECT sessionize.create_job('ms.ev', 'uid', 'ts', interval '10 minutes', measures => 'count(e) AS c');
\echo :LAST_ERROR_SQLSTATE
SELECT sessionize.create_job('ms.ev', 'uid', 'ts', interval '10 minutes', measures => 'count(ctid) AS c');
\echo :LAST_ERROR_SQLSTATE
SELECT sessionize.create_job('ms.ev', 'uid', 'ts', interval '10 minutes', measures => 'count(*) AS a, generate_series(1, 2) AS g');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS jobs, to_regclass('ms.ev_sessions') IS NULL AS no_target FROM sessionize.jobs WHERE source = 'ms.ev'::regclass;

-- names and strings that need quoting stay names and strings
SELECT sessionize.create_job('ms.ev', 'uid', 'ts', interval '10 minutes', measures =>
    'count(*) FILTER (WHERE page = ''it''''s'') AS "a""; DROP TABLE ms.ev; --"') AS qjob \gset
INSERT INTO ms.ev VALUES (9, '2026-03-01', 'it''s', 1, 'view'), (9, '2026-03-01 00:01', 'x', 1, 'view');
SELECT definition FROM sessionize.job_measures WHERE job_id = :qjob;
SELECT events_inserted FROM sessionize.run_job(:qjob);
SELECT "a""; DROP TABLE ms.ev; --" AS quoted FROM ms.ev_sessions WHERE uid = 9;
SELECT count(*) AS verify_differences FROM sessionize.verify(:qjob);
SELECT sessionize.drop_job(:qjob, drop_target => true);
-- a source column with the name a full build gives the session start
CREATE TABLE ms.clash (uid int, ts timestamptz, sessionize_session_start int);
INSERT INTO ms.clash VALUES (1, '2026-01-01 00:00', 5), (1, '2026-01-01 00:04', 7), (1, '2026-01-01 01:00', 11);
SELECT sessionize.create_job('ms.clash', 'uid', 'ts', interval '10 minutes',
                             measures => 'sum(sessionize_session_start) AS total') AS cjob \gset
SELECT events_inserted FROM sessionize.run_job(:cjob);
SELECT session_start, total FROM ms.clash_sessions ORDER BY 1;
SELECT count(*) AS verify_differences FROM sessionize.verify(:cjob);
-- new measures for a job whose time column no longer fits are refused,
-- not taken for no list
ALTER TABLE ms.clash ALTER COLUMN ts TYPE timestamp;
SELECT sessionize.alter_job(:cjob, measures => 'count(*) AS n');
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE ms.clash ALTER COLUMN ts TYPE timestamptz;
SELECT column_name FROM sessionize.job_measures WHERE job_id = :cjob;
SELECT sessionize.drop_job(:cjob, drop_target => true);
RESET ROLE;

-- ---------------------------------------------------------------------------
-- Whose privileges, whose code: the measures are checked against the job
-- owner's privileges at create_job(), and run as the owner, restricted,
-- with the pinned search_path, whoever runs the job
-- ---------------------------------------------------------------------------
CREATE ROLE regress_ms_reader;
CREATE TABLE ms.shop (uid int, ts timestamptz, amount numeric, secret text);
GRANT USAGE, CREATE ON SCHEMA ms TO regress_ms_reader;
GRANT SELECT (uid, ts, amount), TRIGGER ON ms.shop TO regress_ms_reader;
SET ROLE regress_ms_reader;
\set VERBOSITY sqlstate
SELECT sessionize.create_job('ms.shop', 'uid', 'ts', interval '10 minutes', target => 'ms.shop_s', measures => 'max(secret) AS s');
\set VERBOSITY default
RESET ROLE;
SELECT to_regclass('ms.shop_s') IS NULL AS no_target;

SET ROLE regress_ms_owner;
CREATE FUNCTION ms.whoami(t text) RETURNS text STABLE LANGUAGE sql
AS $$ SELECT current_user || ' ' || current_setting('search_path') || ' ' || t $$;
CREATE TABLE ms.who (uid int, ts timestamptz, page text);
CREATE INDEX ON ms.who (uid, ts);
INSERT INTO ms.who VALUES (1, '2026-01-01', 'a'), (1, '2026-01-01 00:05', 'b');
SELECT sessionize.create_job('ms.who', 'uid', 'ts', interval '10 minutes', measures => 'max(ms.whoami(page)) AS w') AS wjob \gset
RESET ROLE;
SELECT events_inserted FROM sessionize.run_job(:wjob);
SELECT w FROM ms.who_sessions;
-- the owner's function, revoked from the owner: create_job() refuses such
-- a list, and a run fails rather than run it as anyone else
REVOKE EXECUTE ON FUNCTION ms.whoami(text) FROM PUBLIC, regress_ms_owner;
SET ROLE regress_ms_owner;
\set VERBOSITY sqlstate
SELECT sessionize.create_job('ms.who', 'uid', 'ts', interval '10 minutes', target => 'ms.who2', measures => 'max(ms.whoami(page)) AS w');
INSERT INTO ms.who VALUES (1, '2026-01-01 00:07', 'c');
RESET ROLE;
SELECT sessionize.run_job(:wjob);
\set VERBOSITY default
SELECT sessionize.drop_job(:wjob, drop_target => true);

-- ---------------------------------------------------------------------------
-- A measure that no longer fits its source after DDL: the DDL marks the job
-- broken and runs refuse it, rather than fail on an unknown column or
-- write values of another type into the measure's column (a sum of an int
-- column is bigint; of a numeric column, numeric, which the bigint column
-- would round)
-- ---------------------------------------------------------------------------
SET ROLE regress_ms_owner;
CREATE TABLE ms.dd (uid int, ts timestamptz, qty int, page text);
CREATE INDEX ON ms.dd (uid, ts);
INSERT INTO ms.dd SELECT i % 3, timestamptz '2026-01-01' + i * interval '1 minute', i, 'p' || i % 4
FROM generate_series(1, 30) i;
SELECT sessionize.create_job('ms.dd', 'uid', 'ts', interval '10 minutes',
                             measures => 'sum(qty) AS units, count(page) AS pages') AS djob \gset
RESET ROLE;
SET client_min_messages = warning;
SELECT events_inserted FROM sessionize.run_job(:djob);
-- (the job's id is not shown: it depends on the tests before)
CREATE FUNCTION ms.dd_error() RETURNS text LANGUAGE sql
AS $$ SELECT regexp_replace(last_error, '(job |alter_job\()[0-9]+', '\1N', 'g')
      FROM sessionize.job_state s JOIN sessionize.jobs j USING (job_id) WHERE j.source = 'ms.dd'::regclass $$;
-- a rename: broken until the column is back
ALTER TABLE ms.dd RENAME COLUMN qty TO quantity;
SELECT ms.dd_error();
INSERT INTO ms.dd VALUES (1, '2026-01-01 01:00', 7, 'x');
\set VERBOSITY sqlstate
SELECT sessionize.run_job(:djob);
\set VERBOSITY default
ALTER TABLE ms.dd RENAME COLUMN quantity TO qty;
SELECT events_inserted, full_rebuild FROM sessionize.run_job(:djob);
SELECT ms.dd_error();
SELECT count(*) AS verify_differences FROM sessionize.verify(:djob);
-- a type change that keeps the measures' types is no problem
ALTER TABLE ms.dd ALTER COLUMN page TYPE varchar(10);
SELECT ms.dd_error();
-- one that changes a measure's type: refused, with the measure named
ALTER TABLE ms.dd ALTER COLUMN qty TYPE numeric;
SELECT ms.dd_error();
INSERT INTO ms.dd VALUES (1, '2026-01-01 01:05', 2.5, 'y');
\set VERBOSITY sqlstate
SELECT sessionize.run_job(:djob);
\set VERBOSITY default
SELECT units FROM ms.dd_sessions WHERE uid = 1 ORDER BY session_start DESC LIMIT 1;
-- set again, the measure gets its new type and the next run rebuilds
SET ROLE regress_ms_owner;
SELECT sessionize.alter_job(:djob, measures => 'sum(qty) AS units, count(page) AS pages');
RESET ROLE;
SELECT full_rebuild FROM sessionize.run_job(:djob);
SELECT format_type(atttypid, atttypmod) AS units_type FROM pg_attribute
WHERE attrelid = 'ms.dd_sessions'::regclass AND attname = 'units';
SELECT count(*) AS verify_differences FROM sessionize.verify(:djob);
CREATE VIEW ms.dd_reference AS
SELECT uid, min(ts) AS session_start, sum(qty) AS units, count(page) AS pages FROM (
    SELECT uid, ts, qty, page, count(*) FILTER (WHERE gap_before) OVER (PARTITION BY uid ORDER BY ts) AS n
    FROM (SELECT *, ts - lag(ts) OVER (PARTITION BY uid ORDER BY ts) > interval '10 minutes'
                    OR lag(ts) OVER (PARTITION BY uid ORDER BY ts) IS NULL AS gap_before FROM ms.dd) a) b
GROUP BY uid, n;
SELECT count(*) AS differences FROM (
    (SELECT uid, session_start, units, pages FROM ms.dd_sessions EXCEPT ALL TABLE ms.dd_reference)
    UNION ALL
    (TABLE ms.dd_reference EXCEPT ALL SELECT uid, session_start, units, pages FROM ms.dd_sessions)) d;
SELECT sessionize.drop_job(:djob, drop_target => true);
RESET client_min_messages;

-- parse_measures(): what create_job() would keep, without a job; equal to
-- a job's job_measures for the same list, written otherwise
CREATE TABLE ms.pm (uid int, ts timestamptz, page text, amount numeric);
SELECT sessionize.create_job('ms.pm', 'uid', 'ts', interval '10 minutes',
    measures => 'sum(amount) AS revenue, first(page) AS landing, count(DISTINCT page) AS pages') AS pjob \gset
SELECT * FROM sessionize.parse_measures('ms.pm', 'uid', 'ts', 'SUM( amount ) revenue, FIRST(page) as "landing", count(distinct page) pages');
SELECT count(*) AS differences FROM (
    (SELECT position, column_name, definition, result_type, merge FROM sessionize.job_measures WHERE job_id = :pjob
     EXCEPT ALL SELECT * FROM sessionize.parse_measures('ms.pm', 'uid', 'ts', 'SUM( amount ) revenue, FIRST(page) as "landing", count(distinct page) pages'))
    UNION ALL
    (SELECT * FROM sessionize.parse_measures('ms.pm', 'uid', 'ts', 'SUM( amount ) revenue, FIRST(page) as "landing", count(distinct page) pages')
     EXCEPT ALL SELECT position, column_name, definition, result_type, merge FROM sessionize.job_measures WHERE job_id = :pjob)) d;
-- another list differs
SELECT count(*) AS differences FROM (
    SELECT position, column_name, definition, result_type, merge FROM sessionize.job_measures WHERE job_id = :pjob
    EXCEPT ALL SELECT * FROM sessionize.parse_measures('ms.pm', 'uid', 'ts', 'sum(amount) AS revenue, last(page) AS landing, count(DISTINCT page) AS pages')) d;
SELECT count(*) AS no_measures FROM sessionize.parse_measures('ms.pm', 'uid', 'ts', ' ');
\set VERBOSITY sqlstate
SELECT * FROM sessionize.parse_measures('ms.pm', 'uid', 'ts', 'count(*) AS n, ');
SELECT * FROM sessionize.parse_measures('ms.pm', 'uid', 'ts', 'sum(nope) AS x');
SELECT * FROM sessionize.parse_measures('ms.pm', 'uid', 'ts', 'amount AS x');
SELECT * FROM sessionize.parse_measures('ms.pm', 'nope', 'ts', 'count(*) AS n');
SELECT * FROM sessionize.parse_measures('ms.pm', 'uid', 'page', 'count(*) AS n');
SELECT * FROM sessionize.parse_measures('ms.pm', 'uid', 'ts', NULL);
SET ROLE regress_ms_reader;
SELECT * FROM sessionize.parse_measures('ms.pm', 'uid', 'ts', 'sum(amount) AS x');
RESET ROLE;
\set VERBOSITY default
SELECT sessionize.drop_job(:pjob, drop_target => true);

DROP SCHEMA ms CASCADE;
DROP ROLE regress_ms_owner;
DROP ROLE regress_ms_reader;
