-- ALTER EXTENSION sessionize UPDATE from 0.1.0: jobs made by 0.1.0, with
-- changes pending, keep their sessions, watermarks and counters, and the
-- first run after the update applies the pending changes, once.
--
-- In a database of its own, where sessionize is installed at 0.1.0 (the
-- other files' database keeps its 0.2.0 install).  The library is this
-- one: what the test sees under 0.1.0 is the window between installing new
-- binaries and ALTER EXTENSION UPDATE.  The 0.1.0 library cannot be loaded
-- beside this one, so a run of 0.1.0 (the jobs' first, full run) is done
-- here in SQL, as 0.1.0's run_job() does it.
SELECT current_database() AS regress_db \gset
CREATE DATABASE regression_sessionize_upgrade;
\c regression_sessionize_upgrade
-- (pg_regress set these for its own database only)
SET timezone = 'UTC';
SET datestyle = 'ISO, MDY';
SET intervalstyle = 'postgres';
SET lc_messages = 'C';
CREATE EXTENSION sessionize VERSION '0.1.0';
SELECT extversion FROM pg_extension WHERE extname = 'sessionize';

-- The plain-SQL reference of the README's Semantics, against a job's
-- target: the rows that differ (none when the target is exact).
CREATE FUNCTION target_diff(target regclass, source regclass, gap interval)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    ref text := format(
        'SELECT key::text, min(ts) AS session_start, max(ts) AS last_event_at, count(*) AS event_count '
        'FROM (SELECT key, ts, sum(is_new) OVER (PARTITION BY key ORDER BY ts ROWS UNBOUNDED PRECEDING) AS n '
        '      FROM (SELECT key, ts, CASE WHEN lag(ts) OVER w IS NULL OR ts - lag(ts) OVER w > %L THEN 1 ELSE 0 END AS is_new '
        '            FROM (SELECT u AS key, ts FROM %s) e WHERE ts IS NOT NULL '
        '            WINDOW w AS (PARTITION BY key ORDER BY ts)) f) g '
        'GROUP BY key, n', gap, source);
    got text := format('SELECT u::text, session_start, last_event_at, event_count FROM %s', target);
    n bigint;
BEGIN
    EXECUTE format('SELECT count(*) FROM ((%s EXCEPT ALL %s) UNION ALL (%s EXCEPT ALL %s)) d', ref, got, got, ref) INTO n;
    RETURN n;
END $$;

-- What the first run of a 0.1.0 job leaves behind: the target holds the
-- source's sessions, closed by the watermark; the log is consumed; the
-- state says one run, its counts, no rebuild pending.
CREATE FUNCTION run_as_0_1_0(job bigint) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    j sessionize.jobs;
    maxts timestamptz;
    nevents bigint;
    nsessions bigint;
BEGIN
    SELECT * INTO STRICT j FROM sessionize.jobs WHERE job_id = job;
    EXECUTE format('DELETE FROM %s', sessionize._job_object(job, 'log'));
    EXECUTE format('SELECT max(ts), count(ts) FROM %s', j.source) INTO maxts, nevents;
    EXECUTE format('INSERT INTO %s SELECT s.*, s.session_end <= %L FROM sessionize.sessionize(%L, ''u'', ''ts'', %L) '
                   'AS s(u int, session_start timestamptz, last_event_at timestamptz, session_end timestamptz, event_count bigint)',
                   j.target, maxts - j.allowed_lateness, j.source, j.gap);
    GET DIAGNOSTICS nsessions = ROW_COUNT;
    UPDATE sessionize.job_state
    SET needs_rebuild = false, max_event_time = maxts, watermark = maxts - j.allowed_lateness,
        last_run_at = '2026-01-10 12:00', last_run_duration = '2 seconds', runs = 1,
        events_inserted = nevents, sessions_inserted = nsessions
    WHERE job_id = job;
END $$;

-- A job owner that is no superuser, and its sources.
CREATE ROLE regress_upg_owner;
GRANT CREATE ON SCHEMA public TO regress_upg_owner;

-- three users, an event every 9 minutes each, and a pause of 45 minutes:
-- two sessions per user with a gap of 10 minutes
CREATE TABLE ev (u int, ts timestamptz);
CREATE INDEX ON ev (u, ts);
INSERT INTO ev SELECT i % 3, timestamptz '2026-01-01' + i * interval '3 minutes'
FROM generate_series(1, 200) i WHERE i NOT BETWEEN 90 AND 101;
-- a partitioned source, two levels deep
CREATE TABLE pev (u int, ts timestamptz) PARTITION BY RANGE (ts);
CREATE TABLE pev_jan PARTITION OF pev FOR VALUES FROM ('2026-01-01') TO ('2026-02-01');
CREATE TABLE pev_feb PARTITION OF pev FOR VALUES FROM ('2026-02-01') TO ('2026-03-01') PARTITION BY HASH (u);
CREATE TABLE pev_feb_0 PARTITION OF pev_feb FOR VALUES WITH (MODULUS 2, REMAINDER 0);
CREATE TABLE pev_feb_1 PARTITION OF pev_feb FOR VALUES WITH (MODULUS 2, REMAINDER 1);
CREATE INDEX ON pev (u, ts);
INSERT INTO pev SELECT i % 6, timestamptz '2026-01-31 20:00' + i * interval '7 minutes'
FROM generate_series(1, 100) i;
-- a source whose jobs' logs their owner alters and drops
CREATE TABLE alt (u int, ts timestamptz);
INSERT INTO alt SELECT i % 3, timestamptz '2026-01-01' + i * interval '4 minutes' FROM generate_series(1, 30) i;
GRANT SELECT, INSERT, UPDATE, DELETE, TRIGGER ON ev, pev, pev_jan, pev_feb, pev_feb_0, pev_feb_1, alt TO regress_upg_owner;

SET ROLE regress_upg_owner;
SELECT sessionize.create_job('ev', 'u', 'ts', interval '10 minutes', allowed_lateness => interval '30 minutes') AS ev_job \gset
SELECT sessionize.create_job('pev', 'u', 'ts', interval '10 minutes') AS pev_job \gset
SELECT sessionize.create_job('alt', 'u', 'ts', interval '10 minutes') AS alt_job \gset
SELECT sessionize.create_job('alt', 'u', 'ts', interval '20 minutes', target => 'alt_sessions_20') AS gone_job \gset
RESET ROLE;
SELECT run_as_0_1_0(:ev_job), run_as_0_1_0(:pev_job), run_as_0_1_0(:alt_job), run_as_0_1_0(:gone_job);
SELECT target_diff('ev_sessions', 'ev', interval '10 minutes') AS ev_differences,
       target_diff('pev_sessions', 'pev', interval '10 minutes') AS pev_differences;
-- 0.1.0's capture: statement triggers with five arguments, on the source alone
SELECT tgrelid::regclass AS rel, tgname, tgnargs
FROM pg_trigger WHERE tgfoid = 'sessionize.capture()'::regprocedure ORDER BY 1, 2;

-- =====================================================================
-- 1. The window: this library, 0.1.0's catalog.  Writers are not
--    blocked, their changes are captured as 0.1.0 captured them; runs
--    wait for the update.
-- =====================================================================
SET ROLE regress_upg_owner;
-- inserted events: on time (one extends a session, one starts a user's
-- first), and late ones (below the watermark) that bridge user 0's pause
INSERT INTO ev VALUES (1, '2026-01-01 10:07'), (7, '2026-01-01 10:30');
INSERT INTO ev SELECT 0, t FROM unnest(ARRAY[timestamptz '2026-01-01 04:30', '2026-01-01 04:40',
                                             '2026-01-01 04:50', '2026-01-01 04:58']) t;
-- deleted events that split a session of user 2 and one of user 1
DELETE FROM ev WHERE u = 2 AND ts BETWEEN '2026-01-01 07:00' AND '2026-01-01 07:30';
DELETE FROM ev WHERE u = 1 AND ts BETWEEN '2026-01-01 09:40' AND '2026-01-01 09:50';
-- an update that moves events of user 1 two hours on, splitting its session
UPDATE ev SET ts = ts + interval '2 hours' WHERE u = 1 AND ts BETWEEN '2026-01-01 01:00' AND '2026-01-01 01:20';
-- through the parent of the partitioned source
INSERT INTO pev VALUES (1, '2026-01-31 23:58'), (2, '2026-02-01 09:00');
DELETE FROM pev WHERE u = 5 AND ts > '2026-02-01 06:00';
-- the owner of a 0.1.0 log may alter it, or drop it
ALTER TABLE sessionize.job_3_log ALTER late TYPE numeric[];
DROP TABLE sessionize.job_4_log;
INSERT INTO alt VALUES (1, '2026-01-01 00:06');
RESET ROLE;
SELECT l.kind, count(*) AS entries, sum((SELECT sum(x) FROM unnest(l.n) x)) AS events
FROM sessionize.job_1_log l GROUP BY l.kind ORDER BY l.kind;
SELECT l.kind, count(*) AS entries, sum((SELECT sum(x) FROM unnest(l.n) x)) AS events
FROM sessionize.job_2_log l GROUP BY l.kind ORDER BY l.kind;
-- a run is refused, with what to do
SELECT * FROM sessionize.run_job(:ev_job);
-- what the pending entries of job 1 will apply
SELECT sum((SELECT sum(x) FROM unnest(l.n) x)) FILTER (WHERE kind = 'i') AS pending_inserted,
       sum((SELECT sum(x) FROM unnest(l.n) x)) FILTER (WHERE kind = 'd') AS pending_deleted
FROM sessionize.job_1_log l \gset
CREATE TABLE state_before AS SELECT * FROM sessionize.job_state;

-- =====================================================================
-- 2. The update.
-- =====================================================================
SELECT now() AS before_update \gset
ALTER EXTENSION sessionize UPDATE;
SELECT extversion FROM pg_extension WHERE extname = 'sessionize';

-- The jobs, with what 0.2.0 adds from the live relations.
SELECT job_id, source, user_column, time_column, user_type, target_user_column, gap, target,
       allowed_lateness, schedule_interval, owner, active, notify_channel
FROM sessionize.jobs ORDER BY job_id;
-- State and counters as they were: one run, the same watermark.
SELECT s.job_id, s.needs_rebuild, sessionize._job_time(s.watermark, NULL::timestamptz) = b.watermark AS same_watermark,
       sessionize._job_time(s.max_event_time, NULL::timestamptz) = b.max_event_time AS same_max_event_time, s.total_runs, s.total_failures,
       s.consecutive_failures, s.last_run_at, s.last_run_duration, s.last_successful_finish, s.next_start,
       (s.events_inserted, s.events_deleted, s.late_events, s.sessions_inserted, s.sessions_updated,
        s.sessions_deleted) = (b.events_inserted, b.events_deleted, b.late_events, b.sessions_inserted,
                               b.sessions_updated, b.sessions_deleted) AS same_counters
FROM sessionize.job_state s JOIN state_before b ON b.job_id = s.job_id ORDER BY s.job_id;
SELECT last_value, is_called FROM sessionize.jobs_job_id_seq;
-- Capture on the source and every partition, the job id its only argument;
-- statement triggers always fire for TRUNCATE, row triggers only on replicas.
SELECT r.job_id, r.rel, t.tgname, t.tgnargs, t.tgenabled
FROM sessionize.job_relations r
JOIN pg_trigger t ON t.tgrelid = r.rel AND t.tgfoid = 'sessionize.capture()'::regprocedure
                 AND t.tgname LIKE 'sessionize\_job\_' || r.job_id || '\_%'
ORDER BY r.job_id, r.rel::text, t.tgname;
SELECT count(*) AS capture_triggers_elsewhere
FROM pg_trigger t WHERE t.tgfoid = 'sessionize.capture()'::regprocedure
  AND NOT EXISTS (SELECT 1 FROM sessionize.job_relations r WHERE r.rel = t.tgrelid);
-- The logs: the extension owner's, the job owner may read and consume them;
-- the pending entries kept, with the job's gap (in microseconds).
SELECT c.oid::regclass AS log,
       c.relowner = (SELECT extowner FROM pg_extension WHERE extname = 'sessionize') AS extension_owners,
       (SELECT string_agg(a.grantee::regrole || ' ' || a.privilege_type, ', ' ORDER BY a.privilege_type)
        FROM aclexplode(c.relacl) a WHERE a.grantee <> c.relowner) AS grants,
       has_table_privilege('regress_upg_owner', c.oid, 'SELECT, DELETE') AS owner_reads_deletes,
       has_table_privilege('regress_upg_owner', c.oid, 'INSERT') AS owner_inserts
FROM pg_class c WHERE c.relnamespace = 'sessionize'::regnamespace AND c.relname LIKE 'job\_%\_log' ORDER BY 1;
SELECT kind, count(*) AS entries, sum((SELECT sum(x) FROM unnest(l.n) x)) AS events,
       min(gap) AS gap, max(gap) AS max_gap, bool_and(logged_at >= :'before_update') AS logged_at_update
FROM sessionize.job_1_log l GROUP BY kind ORDER BY kind;
-- job 3's altered log was not read, job 4's was gone: their first runs rebuild
SELECT kind, count(*) FROM sessionize.job_3_log GROUP BY kind;
SELECT kind, count(*) FROM sessionize.job_4_log GROUP BY kind;
SELECT job_id, pending_events, pending_rebuild FROM sessionize.job_status ORDER BY job_id;
-- nothing of 0.1.0 is left
SELECT count(*) AS leftovers FROM pg_namespace WHERE nspname = 'sessionize_update_0_1_0';
SELECT evtname, evtenabled FROM pg_event_trigger WHERE evtname LIKE 'sessionize%' ORDER BY 1;

-- =====================================================================
-- 3. The first runs apply the pending changes, once, incrementally.
-- =====================================================================
SET ROLE regress_upg_owner;
SELECT events_inserted = :pending_inserted AS all_inserted, events_deleted = :pending_deleted AS all_deleted,
       late_events, full_rebuild
FROM sessionize.run_job(:ev_job);
SELECT target_diff('ev_sessions', 'ev', interval '10 minutes') AS differences;
SELECT count(*) AS verify_differences FROM sessionize.verify(:ev_job);
-- closed as of the watermark
SELECT count(*) AS wrongly_closed FROM ev_sessions s, sessionize.job_state st
WHERE st.job_id = :ev_job
  AND s.closed IS DISTINCT FROM (s.session_end <= sessionize._job_time(st.watermark, NULL::timestamptz));
-- a second run has nothing left to apply
SELECT events_inserted, events_deleted, full_rebuild FROM sessionize.run_job(:ev_job);

SELECT events_inserted, events_deleted, full_rebuild FROM sessionize.run_job(:pev_job);
SELECT target_diff('pev_sessions', 'pev', interval '10 minutes') AS differences;
SELECT count(*) AS verify_differences FROM sessionize.verify(:pev_job);

SELECT full_rebuild FROM sessionize.run_job(:alt_job);
SELECT target_diff('alt_sessions', 'alt', interval '10 minutes') AS differences;
SELECT count(*) AS verify_differences FROM sessionize.verify(:alt_job);
SELECT full_rebuild FROM sessionize.run_job(:gone_job);
SELECT target_diff('alt_sessions_20', 'alt', interval '20 minutes') AS differences;
SELECT count(*) AS verify_differences FROM sessionize.verify(:gone_job);

-- =====================================================================
-- 4. New writes are captured, also those addressed to partitions
--    (0.1.0 captured writes through the parent only).
-- =====================================================================
INSERT INTO ev VALUES (9, '2026-01-02 00:00'), (1, '2026-01-01 10:09');
DELETE FROM ev WHERE u = 0 AND ts > '2026-01-01 09:00';
INSERT INTO pev_jan VALUES (4, '2026-01-31 21:01');
INSERT INTO pev_feb_0 SELECT u, ts + interval '1 minute' FROM pev_feb_0 ORDER BY ts LIMIT 3;
UPDATE pev_feb_1 SET ts = ts + interval '30 minutes' WHERE ts < '2026-02-01 03:00';
DELETE FROM pev_jan WHERE u = 1;
SELECT events_inserted, events_deleted, full_rebuild FROM sessionize.run_job(:ev_job);
SELECT target_diff('ev_sessions', 'ev', interval '10 minutes') AS differences;
SELECT count(*) AS verify_differences FROM sessionize.verify(:ev_job);
SELECT events_inserted, events_deleted, full_rebuild FROM sessionize.run_job(:pev_job);
SELECT target_diff('pev_sessions', 'pev', interval '10 minutes') AS differences;
SELECT count(*) AS verify_differences FROM sessionize.verify(:pev_job);
-- the counters went on from 0.1.0's
SELECT job_id, total_runs FROM sessionize.job_status ORDER BY job_id;
RESET ROLE;

-- A new job, and the 0.2.0 API, work.
SELECT sessionize.create_job('alt', 'u', 'ts', interval '5 minutes', target => 'alt_sessions_5') AS new_job \gset
SELECT :new_job AS new_job_id;
SELECT full_rebuild FROM sessionize.run_job(:new_job);
SELECT count(*) AS verify_differences FROM sessionize.verify(:new_job);
SELECT sessionize.drop_job(:alt_job, drop_target => true);
SELECT job_id FROM sessionize.jobs ORDER BY job_id;

\c :regress_db
DROP DATABASE regression_sessionize_upgrade WITH (FORCE);
DROP ROLE regress_upg_owner;
