-- Jobs that no caller, writer or schema change can turn against their
-- owner, crash, or wedge (issue 7: defects 2, 3, 4, 9 and 12).
SET timezone = 'UTC';
-- errors as PostgreSQL reports them, without PL/pgSQL line numbers
\set SHOW_CONTEXT never

-- job ids that do not depend on the suites before this one
SELECT setval(pg_get_serial_sequence('sessionize.jobs', 'job_id'), 900, false) IS NOT NULL AS ids_from_900;

CREATE ROLE regress_hard_owner;
CREATE SCHEMA hard AUTHORIZATION regress_hard_owner;

-- ---------------------------------------------------------------------------
-- verify() runs the job owner's code as the job owner (defect 2).  The owner
-- gives the user column a type with a cast to text of their own; a
-- superuser's verify() must run that cast as the owner, restricted, with
-- the pinned search_path, never as the superuser.
-- ---------------------------------------------------------------------------
SET ROLE regress_hard_owner;
CREATE TYPE hard.color AS ENUM ('red', 'green', 'blue');
CREATE TABLE hard.cast_calls (who name, search_path text);
CREATE FUNCTION hard.color_text(c hard.color) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO hard.cast_calls VALUES (current_user, current_setting('search_path'));
    RETURN c::name::text;
END
$$;
CREATE CAST (hard.color AS text) WITH FUNCTION hard.color_text(hard.color);
-- (a user column of the owner's type from the start: a job whose user
-- column changes type is broken, and verify() refuses it before any cast)
CREATE TABLE hard.ev (u hard.color, ts timestamptz);
CREATE INDEX ON hard.ev (u, ts);
INSERT INTO hard.ev VALUES ('red', '2026-01-01 00:00'), ('red', '2026-01-01 00:08'),
                           ('green', '2026-01-01 00:05'), ('red', '2026-01-01 01:00');
SELECT sessionize.create_job('hard.ev', 'u', 'ts', interval '10 minutes') AS vjob \gset
SELECT events_inserted, sessions_inserted FROM sessionize.run_job(:vjob);
DELETE FROM hard.cast_calls;
RESET ROLE;
SELECT * FROM sessionize.verify(:vjob);
-- a wrong session is still reported
UPDATE hard.ev_sessions SET event_count = 7 WHERE u = 'green';
SELECT * FROM sessionize.verify(:vjob);
-- who ran the cast, with which search_path: only the owner
SELECT who, search_path, count(*) > 0 AS called FROM hard.cast_calls GROUP BY 1, 2;
SELECT sessionize.drop_job(:vjob, drop_target => true);
DROP TABLE hard.ev, hard.cast_calls;
DROP CAST (hard.color AS text);
DROP FUNCTION hard.color_text(hard.color);
DROP TYPE hard.color;

-- ---------------------------------------------------------------------------
-- Temporary tables (defect 3).  create_job() refuses them as source and as
-- target; a job that has outlived its source or target (one that an older
-- build made on a temporary table) gives clean errors, and drop_job() ends
-- it.
-- ---------------------------------------------------------------------------
CREATE TEMP TABLE temp_ev (u int, ts timestamptz);
CREATE TABLE perm_ev (u int, ts timestamptz);
CREATE INDEX ON perm_ev (u, ts);
CREATE TEMP TABLE temp_target (u int, session_start timestamptz, last_event_at timestamptz,
                               session_end timestamptz, event_count bigint, closed boolean);
\set VERBOSITY sqlstate
SELECT sessionize.create_job('temp_ev', 'u', 'ts', interval '1 minute');
SELECT sessionize.create_job('perm_ev', 'u', 'ts', interval '1 minute', target => 'pg_temp.s');
SELECT sessionize.create_job('perm_ev', 'u', 'ts', interval '1 minute',
                             target => pg_my_temp_schema()::regnamespace || '.temp_target');
\set VERBOSITY default
SELECT sessionize.create_job('temp_ev', 'u', 'ts', interval '1 minute');
SELECT count(*) AS jobs FROM sessionize.jobs;

-- a job whose source went without its event trigger firing, as a temporary
-- table does at the end of its session (here the extension's sql_drop
-- event trigger is disabled for the DROP)
INSERT INTO perm_ev VALUES (1, '2026-01-01');
SELECT sessionize.create_job('perm_ev', 'u', 'ts', interval '1 minute') AS gjob \gset
ALTER EVENT TRIGGER sessionize_drop_jobs DISABLE;
DROP TABLE perm_ev;
ALTER EVENT TRIGGER sessionize_drop_jobs ENABLE ALWAYS;
\set VERBOSITY sqlstate
SELECT * FROM sessionize.run_job(:gjob);
SELECT * FROM sessionize.verify(:gjob);
SELECT sessionize.alter_job(:gjob, gap => interval '1 hour');
\set VERBOSITY default
SELECT * FROM sessionize.run_job(:gjob);
SELECT sessionize.drop_job(:gjob, drop_target => true);
SELECT count(*) AS jobs, to_regclass('perm_ev_sessions') AS target,
       (SELECT count(*) FROM pg_class WHERE relnamespace = 'sessionize'::regnamespace
          AND relname = 'job_' || :gjob || '_log') AS logs
FROM sessionize.jobs;

-- the same when the target went
CREATE TABLE perm_ev (u int, ts timestamptz);
SELECT sessionize.create_job('perm_ev', 'u', 'ts', interval '1 minute') AS gjob \gset
ALTER EVENT TRIGGER sessionize_drop_jobs DISABLE;
DROP TABLE perm_ev_sessions;
ALTER EVENT TRIGGER sessionize_drop_jobs ENABLE ALWAYS;
SELECT * FROM sessionize.run_job(:gjob);
SELECT sessionize.drop_job(:gjob, drop_target => true);
SELECT count(*) AS jobs, (SELECT count(*) FROM pg_trigger WHERE tgrelid = 'perm_ev'::regclass
                           AND NOT tgisinternal) AS capture_triggers
FROM sessionize.jobs;
DROP TABLE perm_ev;

-- ---------------------------------------------------------------------------
-- Nothing a writer can insert wedges a job (defect 9).  Times near the ends
-- of the timestamp range: a session_end past the range is +infinity
-- (README, Semantics rule 2), a watermark before it -infinity.  The target
-- is compared with the plain-SQL reference under that rule.
-- ---------------------------------------------------------------------------
-- the functions that jobs are built on, alone
SELECT s.* FROM (SELECT sessionize.sessions(ts, interval '1 hour') AS ss
                 FROM (VALUES (timestamptz '294276-12-31 23:30'), ('294276-12-31 20:00')) v(ts)) m,
               unnest(m.ss) s;
SELECT s.* FROM (SELECT sessionize.merge_sessions(a, b, n, interval '1 hour') AS ss
                 FROM (VALUES (timestamptz '294276-12-31 22:00', timestamptz '294276-12-31 22:10', 2::bigint),
                              ('294276-12-31 23:00', '294276-12-31 23:59:59.999999', 3)) v(a, b, n)) m,
               unnest(m.ss) s;
SELECT s.* FROM (SELECT sessionize.sessions_merge(p) AS ss
                 FROM (SELECT sessionize.sessions_partial(ts, interval '1 hour') AS p
                       FROM (VALUES (timestamptz '294276-12-31 23:00'), ('294276-12-31 23:45')) v(ts)) x) m,
               unnest(m.ss) s;
CREATE TABLE far (u int, ts timestamptz);
CREATE INDEX ON far (u, ts);
CREATE VIEW far_reference AS
SELECT u, min(ts) AS session_start, max(ts) AS last_event_at,
       CASE WHEN max(ts) > timestamptz '294276-12-31 23:59:59.999999+00' - interval '1 hour'
            THEN timestamptz 'infinity' ELSE max(ts) + interval '1 hour' END AS session_end,
       count(*) AS event_count
FROM (SELECT u, ts, sum(is_new) OVER (PARTITION BY u ORDER BY ts ROWS UNBOUNDED PRECEDING) AS n
      FROM (SELECT u, ts,
                   CASE WHEN lag(ts) OVER w IS NULL OR ts - lag(ts) OVER w > interval '1 hour' THEN 1 ELSE 0 END AS is_new
            FROM far WHERE ts IS NOT NULL WINDOW w AS (PARTITION BY u ORDER BY ts)) f) g
GROUP BY u, n;

INSERT INTO far VALUES (1, '2026-01-01'), (9, '294276-12-31 23:30');
SELECT * FROM sessionize.sessionize('far', 'u', 'ts', interval '1 hour')
  AS s(u int, session_start timestamptz, last_event_at timestamptz, session_end timestamptz, event_count bigint)
ORDER BY 1;
DELETE FROM far WHERE u = 9;
SELECT sessionize.create_job('far', 'u', 'ts', interval '1 hour') AS fjob \gset
CREATE VIEW far_differences AS
SELECT count(*) AS differences FROM (
    (SELECT u, session_start, last_event_at, session_end, event_count FROM far_sessions
     EXCEPT ALL SELECT * FROM far_reference)
    UNION ALL
    (SELECT * FROM far_reference
     EXCEPT ALL SELECT u, session_start, last_event_at, session_end, event_count FROM far_sessions)) d;
SELECT full_rebuild FROM sessionize.run_job(:fjob);
-- the issue's event: inserted events are merged through the index
INSERT INTO far VALUES (1, '294276-12-31 23:30');
SELECT events_inserted, sessions_inserted, watermark FROM sessionize.run_job(:fjob);
-- and joined by a later one, and an earlier one (the general statement: a
-- delete in the same run)
INSERT INTO far VALUES (1, '294276-12-31 23:59:59'), (1, '294276-12-31 22:45'), (2, '2026-01-01');
DELETE FROM far WHERE u = 2;
SELECT events_inserted, events_deleted, watermark FROM sessionize.run_job(:fjob);
SELECT u, session_start, last_event_at, session_end, event_count, closed FROM far_sessions ORDER BY 1, 2;
SELECT * FROM far_differences;
SELECT count(*) AS verify_differences FROM sessionize.verify(:fjob);
-- the general statement alone: a target with row-level security
ALTER TABLE far_sessions ENABLE ROW LEVEL SECURITY;
INSERT INTO far VALUES (3, '294276-12-31 23:00'), (3, '294276-12-31 23:59:59.999999');
SELECT events_inserted, sessions_inserted FROM sessionize.run_job(:fjob);
ALTER TABLE far_sessions DISABLE ROW LEVEL SECURITY;
SELECT * FROM far_differences;
-- deleting the event again leaves nothing stuck
DELETE FROM far WHERE ts > '294276-01-01';
SELECT events_deleted, sessions_deleted FROM sessionize.run_job(:fjob);
SELECT * FROM far_differences;
-- and a full rebuild (a new gap) over such events
INSERT INTO far VALUES (1, '294276-12-31 23:30');
SELECT sessionize.alter_job(:fjob, gap => interval '90 minutes');
SELECT full_rebuild, sessions_inserted FROM sessionize.run_job(:fjob);
SELECT u, session_start, session_end FROM far_sessions WHERE session_start > '294276-01-01';
SELECT sessionize.alter_job(:fjob, gap => interval '1 hour');
SELECT full_rebuild FROM sessionize.run_job(:fjob);
SELECT * FROM far_differences;

-- The earliest time with a lateness: the watermark would be before the
-- range; it is -infinity, by every path (a new table, so that no later
-- event holds the watermark up).
CREATE TABLE early (u int, ts timestamptz);
INSERT INTO early VALUES (1, '4714-11-24 00:00:00+00 BC');
SELECT sessionize.create_job('early', 'u', 'ts', interval '1 hour', allowed_lateness => interval '1 day') AS ejob \gset
SELECT full_rebuild, watermark FROM sessionize.run_job(:ejob);
INSERT INTO early VALUES (2, '4714-11-24 00:30:00+00 BC');
SELECT events_inserted, watermark FROM sessionize.run_job(:ejob);
DELETE FROM early WHERE u = 1;
INSERT INTO early VALUES (3, '4714-11-24 01:00:00+00 BC');
SELECT events_inserted, events_deleted, watermark FROM sessionize.run_job(:ejob);
SELECT sessionize.alter_job(:ejob, allowed_lateness => interval '2 days');
SELECT watermark FROM sessionize.job_status WHERE job_id = :ejob;
SELECT count(*) AS verify_differences FROM sessionize.verify(:ejob);
SELECT sessionize.drop_job(:ejob, drop_target => true);
DROP TABLE early;

-- A lateness beyond the range, as an older build accepted: runs still work,
-- and the watermark, which never moves back, stays.
CREATE TABLE lat (u int, ts timestamptz);
CREATE INDEX ON lat (u, ts);
INSERT INTO lat VALUES (1, '2026-01-01');
SELECT sessionize.create_job('lat', 'u', 'ts', interval '1 hour') AS ljob \gset
SELECT watermark FROM sessionize.run_job(:ljob);
UPDATE sessionize.jobs SET allowed_lateness = interval '100000000 days' WHERE job_id = :ljob;
INSERT INTO lat VALUES (1, '2026-01-02');
SELECT events_inserted, watermark FROM sessionize.run_job(:ljob);
DELETE FROM lat WHERE ts = '2026-01-01';
INSERT INTO lat VALUES (1, '2026-01-03');
SELECT events_inserted, events_deleted, watermark FROM sessionize.run_job(:ljob);
UPDATE sessionize.job_state SET needs_rebuild = true WHERE job_id = :ljob;
SELECT full_rebuild, watermark FROM sessionize.run_job(:ljob);
SELECT count(*) AS verify_differences FROM sessionize.verify(:ljob);
SELECT sessionize.drop_job(:ljob, drop_target => true);
DROP TABLE lat;

-- create_job() and alter_job() keep gap, lateness and schedule in range.
\set VERBOSITY sqlstate
SELECT sessionize.create_job('far', 'u', 'ts', interval '36526 days', target => 'far2');
SELECT sessionize.create_job('far', 'u', 'ts', interval '1 hour', target => 'far2',
                             allowed_lateness => interval '100000000 days');
SELECT sessionize.create_job('far', 'u', 'ts', interval '1 hour', target => 'far2',
                             schedule_interval => interval '0.5 seconds');
SELECT sessionize.create_job('far', 'u', 'ts', interval '1 hour', target => 'far2',
                             schedule_interval => interval '367 days');
SELECT sessionize.alter_job(:fjob, gap => interval '36526 days');
SELECT sessionize.alter_job(:fjob, allowed_lateness => interval '36525 days 1 second');
SELECT sessionize.alter_job(:fjob, schedule_interval => interval '999 ms');
\set VERBOSITY default
SELECT sessionize.alter_job(:fjob, allowed_lateness => interval '100000000 days');
-- the limits themselves are accepted
SELECT sessionize.alter_job(:fjob, gap => interval '36525 days', allowed_lateness => interval '36525 days',
                            schedule_interval => interval '366 days');
SELECT sessionize.alter_job(:fjob, schedule_interval => interval '1 second');
SELECT gap, allowed_lateness, schedule_interval FROM sessionize.job_status WHERE job_id = :fjob;
SELECT full_rebuild FROM sessionize.run_job(:fjob);
SELECT count(*) AS verify_differences FROM sessionize.verify(:fjob);

-- A run on a job whose column was renamed or dropped fails with a short
-- error that names the job and the column and says what to do.  (The
-- extension's DDL event trigger, which follows renames, is disabled here:
-- this is what a run finds whatever it does; 10_capture tests it.)
SELECT sessionize.alter_job(:fjob, gap => interval '1 hour', allowed_lateness => interval '0');
DROP VIEW far_differences, far_reference;
ALTER EVENT TRIGGER sessionize_follow_ddl DISABLE;
ALTER TABLE far RENAME ts TO event_time;
SELECT * FROM sessionize.run_job(:fjob);
ALTER TABLE far RENAME event_time TO ts;
ALTER TABLE far_sessions RENAME session_end TO ends;
SELECT * FROM sessionize.run_job(:fjob);
SELECT * FROM sessionize.verify(:fjob);
ALTER TABLE far_sessions RENAME ends TO session_end;
ALTER TABLE far_sessions ALTER event_count TYPE int;
SELECT * FROM sessionize.run_job(:fjob);
ALTER TABLE far_sessions ALTER event_count TYPE bigint;
ALTER TABLE far DROP u;
SELECT * FROM sessionize.run_job(:fjob);
ALTER EVENT TRIGGER sessionize_follow_ddl ENABLE ALWAYS;
SELECT sessionize.drop_job(:fjob, drop_target => true);
DROP TABLE far;

-- ---------------------------------------------------------------------------
-- alter_job(gap => ...) re-creates the capture triggers on the source: the
-- caller needs TRIGGER on it, as for create_job() (defect 4).
-- ---------------------------------------------------------------------------
CREATE TABLE shared_ev (u int, ts timestamptz);
CREATE INDEX ON shared_ev (u, ts);
INSERT INTO shared_ev VALUES (1, '2026-01-01'), (1, '2026-01-01 00:20');
GRANT SELECT, TRIGGER ON shared_ev TO regress_hard_owner;
SET ROLE regress_hard_owner;
SELECT sessionize.create_job('shared_ev', 'u', 'ts', interval '10 minutes', target => 'hard.s') AS tjob \gset
SELECT sessions_inserted FROM sessionize.run_job(:tjob);
RESET ROLE;
REVOKE TRIGGER ON shared_ev FROM regress_hard_owner;
SET ROLE regress_hard_owner;
SELECT sessionize.alter_job(:tjob, gap => interval '30 minutes');
-- what does not touch the triggers still works
SELECT sessionize.alter_job(:tjob, allowed_lateness => interval '5 minutes');
SELECT gap, allowed_lateness FROM sessionize.job_status WHERE job_id = :tjob;
RESET ROLE;
GRANT TRIGGER ON shared_ev TO regress_hard_owner;
SET ROLE regress_hard_owner;
SELECT sessionize.alter_job(:tjob, gap => interval '30 minutes');
SELECT full_rebuild, sessions_inserted FROM sessionize.run_job(:tjob);
SELECT count(*) AS verify_differences FROM sessionize.verify(:tjob);
SELECT sessionize.drop_job(:tjob, drop_target => true);
RESET ROLE;
DROP TABLE shared_ev;

-- ---------------------------------------------------------------------------
-- The target's unique index (defect 12): created with a name PostgreSQL
-- picks, so that an unrelated relation with the old fixed name, or a
-- multibyte name truncated onto the table's own, cannot stand in for it;
-- a reused target's suitable index is used as it is.
-- ---------------------------------------------------------------------------
CREATE TABLE idx_ev (u int, ts timestamptz);
CREATE TABLE idx_ev_sessions_key (x int);
CREATE SEQUENCE idx_ev_sessions_open;
SELECT sessionize.create_job('idx_ev', 'u', 'ts', interval '1 minute') AS ijob \gset
-- (a target create_job() makes gets its indexes from its first run)
SET client_min_messages = warning;
SELECT full_rebuild FROM sessionize.run_job(:ijob);
RESET client_min_messages;
SELECT i.indisunique, pg_get_indexdef(i.indexrelid) ~ '\(u, session_start\)$' AS on_user_start,
       pg_get_expr(i.indpred, i.indrelid) AS predicate
FROM pg_index i WHERE i.indrelid = 'idx_ev_sessions'::regclass ORDER BY 1 DESC;
-- a 63-byte name: the old index name was truncated onto the table's own
SELECT sessionize.create_job('idx_ev', 'u', 'ts', interval '1 minute',
                             target => repeat('日', 21)) AS mjob \gset
SET client_min_messages = warning;
SELECT full_rebuild FROM sessionize.run_job(:mjob);
RESET client_min_messages;
SELECT count(*) FILTER (WHERE i.indisunique) AS unique_indexes, count(*) AS indexes
FROM pg_index i WHERE i.indrelid = (SELECT target FROM sessionize.jobs WHERE job_id = :mjob);
-- a reused target with a suitable unique index keeps it, and gets no other
CREATE TABLE idx_reused (u int, session_start timestamptz, last_event_at timestamptz,
                         session_end timestamptz, event_count bigint, closed boolean);
CREATE UNIQUE INDEX idx_reused_mine ON idx_reused (u, session_start);
SELECT sessionize.create_job('idx_ev', 'u', 'ts', interval '1 minute', target => 'idx_reused') AS rjob \gset
SELECT indexrelid::regclass, indisunique FROM pg_index WHERE indrelid = 'idx_reused'::regclass ORDER BY indexrelid::regclass::text;
-- the jobs run
INSERT INTO idx_ev VALUES (1, '2026-01-01'), (1, '2026-01-01 00:01'), (2, '2026-01-01');
SELECT sessions_inserted FROM sessionize.run_job(:ijob);
INSERT INTO idx_ev VALUES (1, '2026-01-01 00:02');
SELECT events_inserted, sessions_updated FROM sessionize.run_job(:ijob);
SELECT count(*) AS verify_differences FROM sessionize.verify(:ijob);
SELECT sessions_inserted FROM sessionize.run_job(:rjob);
SELECT count(*) AS verify_differences FROM sessionize.verify(:rjob);
-- a target whose indexes were all dropped gets the job's two back at its
-- next full build (here after a new gap), with the same sessions
DO $$
DECLARE i regclass;
BEGIN
    FOR i IN SELECT indexrelid::regclass FROM pg_index WHERE indrelid = 'idx_ev_sessions'::regclass LOOP
        EXECUTE format('DROP INDEX %s', i);
    END LOOP;
END $$;
SELECT sessionize.alter_job(:ijob, gap => interval '2 minutes');
SET client_min_messages = warning;
SELECT full_rebuild FROM sessionize.run_job(:ijob);
RESET client_min_messages;
SELECT i.indisunique, pg_get_indexdef(i.indexrelid) ~ '\(u, session_start\)$' AS on_user_start,
       pg_get_expr(i.indpred, i.indrelid) AS predicate
FROM pg_index i WHERE i.indrelid = 'idx_ev_sessions'::regclass ORDER BY 1 DESC;
SELECT count(*) AS verify_differences FROM sessionize.verify(:ijob);
-- a target with any index keeps what it has through a full build: the
-- reused one above, without the open-sessions index, after a new gap
DROP INDEX idx_reused_session_start_idx;
SELECT sessionize.alter_job(:rjob, gap => interval '2 minutes');
SET client_min_messages = warning;
SELECT full_rebuild FROM sessionize.run_job(:rjob);
RESET client_min_messages;
SELECT indexrelid::regclass, indisunique FROM pg_index WHERE indrelid = 'idx_reused'::regclass ORDER BY indexrelid::regclass::text;
SELECT count(*) AS verify_differences FROM sessionize.verify(:rjob);
SELECT sessionize.drop_job(:ijob, drop_target => true);
SELECT sessionize.drop_job(:mjob, drop_target => true);
SELECT sessionize.drop_job(:rjob, drop_target => true);
DROP TABLE idx_ev, idx_ev_sessions_key;
DROP SEQUENCE idx_ev_sessions_open;

DROP SCHEMA hard;
DROP ROLE regress_hard_owner;
SELECT count(*) AS jobs_left FROM sessionize.jobs;
