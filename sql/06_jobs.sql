-- Incremental jobs: API, behaviour on each kind of change, errors.
SET timezone = 'UTC';
-- (no PL/pgSQL CONTEXT lines: their line numbers change with every edit)
\set SHOW_CONTEXT never

CREATE TABLE clicks (user_id int, ts timestamptz, page text);
-- the README's worked example (Semantics) for user 1 (gap 10 minutes)
INSERT INTO clicks
SELECT 1, timestamptz '2026-01-01' + m * interval '1 minute', 'p' || m
FROM unnest(ARRAY[0, 5, 15, 26, 36, 60]) AS m;

-- No index on (user_id, ts) yet: create_job says so.
SELECT sessionize.create_job('clicks', 'user_id', 'ts', interval '10 minutes') AS job \gset
CREATE INDEX ON clicks (user_id, ts);
SELECT :job > 0 AS created;

-- The target: <source>_sessions beside the source, of the source's user
-- type, with no index until the first run has loaded it.
\d clicks_sessions
SELECT job_id, source, target, owner = current_user::regrole AS mine, active, gap,
       allowed_lateness, schedule_interval, pending_rebuild, watermark
FROM sessionize.job_status;

-- The first run is the full build; it then builds the target's two
-- indexes: the unique session key and the open sessions.
SELECT * FROM sessionize.run_job(:job);
SELECT indexrelid::regclass AS index, indisunique, pg_get_indexdef(indexrelid) AS definition
FROM pg_index WHERE indrelid = 'clicks_sessions'::regclass ORDER BY indexrelid::regclass::text;
SELECT user_id, session_start, last_event_at, session_end, event_count, closed
FROM clicks_sessions ORDER BY 1, 2;
SELECT * FROM sessionize.verify(:job);

-- Nothing changed: nothing to do.
SELECT * FROM sessionize.run_job(:job);

-- An in-order append extends the open session; another user appears.
INSERT INTO clicks VALUES (1, '2026-01-01 01:08', 'a'), (2, '2026-01-01 01:00', 'b');
SELECT * FROM sessionize.run_job(:job);
SELECT user_id, session_start, last_event_at, event_count, closed FROM clicks_sessions ORDER BY 1, 2;

-- A late event that bridges two closed sessions (15 and 26 are 11 minutes
-- apart; 20 is within 10 of both): they merge, and the event counts as late.
INSERT INTO clicks VALUES (1, '2026-01-01 00:20', 'late');
SELECT * FROM sessionize.run_job(:job);
SELECT user_id, session_start, last_event_at, event_count, closed FROM clicks_sessions ORDER BY 1, 2;
SELECT count(*) AS differences FROM sessionize.verify(:job);

-- A delete that splits the session again.
DELETE FROM clicks WHERE page = 'late';
SELECT * FROM sessionize.run_job(:job);
SELECT user_id, session_start, last_event_at, event_count FROM clicks_sessions ORDER BY 1, 2;

-- Updates of the time and of the user; an update of another column alone
-- changes no session.
UPDATE clicks SET ts = ts + interval '30 minutes' WHERE page = 'p60';
UPDATE clicks SET user_id = 3 WHERE page = 'b';
UPDATE clicks SET page = upper(page);
SELECT * FROM sessionize.run_job(:job);
SELECT user_id, session_start, last_event_at, event_count FROM clicks_sessions ORDER BY 1, 2;
SELECT count(*) AS differences FROM sessionize.verify(:job);

-- NULL users are one user; NULL times are no event.
INSERT INTO clicks VALUES (NULL, '2026-01-01 00:00', 'n'), (NULL, '2026-01-01 00:09', 'n'), (4, NULL, 'n');
SELECT * FROM sessionize.run_job(:job);
DELETE FROM clicks WHERE user_id IS NULL AND ts = '2026-01-01 00:09';
SELECT * FROM sessionize.run_job(:job);
SELECT user_id, session_start, last_event_at, event_count FROM clicks_sessions WHERE user_id IS NULL;
SELECT count(*) AS differences FROM sessionize.verify(:job);

-- A rolled-back transaction has no effect.
BEGIN;
INSERT INTO clicks VALUES (5, '2026-01-01 00:00', 'x');
DELETE FROM clicks WHERE user_id = 1;
ROLLBACK;
SELECT * FROM sessionize.run_job(:job);
SELECT count(*) AS differences FROM sessionize.verify(:job);

-- COPY is captured like INSERT.
COPY clicks (user_id, ts, page) FROM stdin;
6	2026-01-01 00:00:00+00	c1
6	2026-01-01 00:10:00+00	c2
6	2026-01-01 00:20:00.000001+00	c3
\.
SELECT * FROM sessionize.run_job(:job);
SELECT user_id, session_start, last_event_at, event_count FROM clicks_sessions WHERE user_id = 6 ORDER BY 2;

-- run_job() in the writer's own transaction sees the writer's changes.
BEGIN;
INSERT INTO clicks VALUES (7, '2026-01-01 00:00', 'own');
SELECT events_inserted, sessions_inserted FROM sessionize.run_job(:job);
COMMIT;
SELECT count(*) AS differences FROM sessionize.verify(:job);

-- TRUNCATE empties the sessions; the next run rebuilds.
TRUNCATE clicks;
INSERT INTO clicks VALUES (8, '2026-01-01 00:00', 't');
SELECT * FROM sessionize.run_job(:job);
SELECT user_id, session_start, event_count FROM clicks_sessions;

-- Watermark and lateness: with 30 minutes allowed lateness the watermark
-- trails the latest event by 30 minutes, never moves back, and sessions
-- whose end it passed are closed.
SELECT sessionize.alter_job(:job, allowed_lateness => interval '30 minutes');
INSERT INTO clicks VALUES (8, '2026-01-01 02:00', 't'), (8, '2026-01-01 03:00', 't');
SELECT watermark FROM sessionize.run_job(:job);
SELECT session_start, session_end, closed FROM clicks_sessions ORDER BY 1;
DELETE FROM clicks WHERE ts >= '2026-01-01 02:00';
SELECT watermark FROM sessionize.run_job(:job);
SELECT count(*) AS differences FROM sessionize.verify(:job);

-- A new gap rebuilds the target on the next run.
INSERT INTO clicks VALUES (8, '2026-01-01 00:15', 't');
SELECT sessionize.alter_job(:job, gap => interval '20 minutes');
SELECT pending_rebuild FROM sessionize.job_status WHERE job_id = :job;
SELECT full_rebuild, sessions_inserted FROM sessionize.run_job(:job);
SELECT session_start, last_event_at, event_count FROM clicks_sessions ORDER BY 1;
SELECT count(*) AS differences FROM sessionize.verify(:job);

-- Inserted events are merged into the sessions they touch by probing the
-- target's (user, session_start) index from C (DEBUG1 says so); a target
-- that the probe must not read directly, here one with row-level security,
-- gets the same result from the general SQL statement.
INSERT INTO clicks VALUES (1, '2026-01-01 00:30', 'p'), (1, '2026-01-01 03:00', 'p');
SET client_min_messages = debug1;
SELECT events_inserted, sessions_inserted, sessions_updated FROM sessionize.run_job(:job);
RESET client_min_messages;
ALTER TABLE clicks_sessions ENABLE ROW LEVEL SECURITY;
INSERT INTO clicks VALUES (1, '2026-01-01 00:45', 'p'), (1, '2026-01-01 03:30', 'p');
SET client_min_messages = debug1;
SELECT events_inserted, sessions_inserted, sessions_updated FROM sessionize.run_job(:job);
RESET client_min_messages;
ALTER TABLE clicks_sessions DISABLE ROW LEVEL SECURITY;
SELECT session_start, last_event_at, event_count FROM clicks_sessions WHERE user_id = 1 ORDER BY 1;
SELECT count(*) AS differences FROM sessionize.verify(:job);

-- Counters.
SELECT total_runs, events_deleted > 0 AS counted_deletes, late_events > 0 AS counted_late, last_error
FROM sessionize.job_status WHERE job_id = :job;

-- Partitioned sources (as pg_partman makes them), without a primary key,
-- with an explicit, schema-qualified target.
CREATE SCHEMA analytics;
CREATE TABLE part_events (account text, at timestamptz) PARTITION BY RANGE (at);
CREATE TABLE part_events_a PARTITION OF part_events FOR VALUES FROM ('2026-01-01') TO ('2026-01-02');
CREATE TABLE part_events_b PARTITION OF part_events FOR VALUES FROM ('2026-01-02') TO ('2026-01-03');
CREATE INDEX ON part_events (account, at);
INSERT INTO part_events VALUES ('x', '2026-01-01 23:55'), ('x', '2026-01-02 00:04'), ('y', '2026-01-02 10:00');
SELECT sessionize.create_job('part_events', 'account', 'at', interval '10 minutes',
                             target => 'analytics.account_sessions') AS pjob \gset
SELECT full_rebuild, sessions_inserted FROM sessionize.run_job(:pjob);
SELECT account, session_start, last_event_at, event_count FROM analytics.account_sessions ORDER BY 1, 2;
-- a row moving between partitions, and a delete in one partition
UPDATE part_events SET at = '2026-01-01 23:58' WHERE at = '2026-01-02 00:04';
DELETE FROM part_events WHERE account = 'y';
SELECT events_inserted, events_deleted FROM sessionize.run_job(:pjob);
SELECT account, session_start, last_event_at, event_count FROM analytics.account_sessions ORDER BY 1, 2;
SELECT count(*) AS differences FROM sessionize.verify(:pjob);

-- An existing target of the right shape may be reused.
CREATE TABLE reused (account text, session_start timestamptz, last_event_at timestamptz,
                     session_end timestamptz, event_count bigint, closed boolean);
SELECT sessionize.create_job('part_events', 'account', 'at', interval '1 hour', target => 'reused') AS rjob \gset
SELECT sessions_inserted FROM sessionize.run_job(:rjob);
SELECT count(*) AS differences FROM sessionize.verify(:rjob);

-- drop_job keeps the target unless told otherwise, and removes the capture.
SELECT sessionize.drop_job(:rjob);
SELECT count(*) AS kept FROM reused;
SELECT sessionize.drop_job(:pjob, drop_target => true);
SELECT to_regclass('analytics.account_sessions') AS dropped_target;
SELECT tgname FROM pg_trigger WHERE tgrelid = 'part_events'::regclass AND NOT tgisinternal;
SELECT count(*) AS logs_left FROM pg_class WHERE relnamespace = 'sessionize'::regnamespace
  AND relname LIKE 'job\_' || :pjob || '\_%';

-- Errors.
\set VERBOSITY sqlstate
SELECT sessionize.create_job('clicks', 'nope', 'ts', interval '10 minutes');
SELECT sessionize.create_job('clicks', 'user_id', 'nope', interval '10 minutes');
SELECT sessionize.create_job('clicks', 'user_id', 'page', interval '10 minutes');
SELECT sessionize.create_job('clicks', 'user_id', 'ts', interval '0', target => 'c2');
SELECT sessionize.create_job('clicks', 'user_id', 'ts', interval '-1 minute', target => 'c2');
SELECT sessionize.create_job('clicks', 'user_id', 'ts', interval '1 month', target => 'c2');
SELECT sessionize.create_job('clicks', 'user_id', 'ts', NULL, target => 'c2');
SELECT sessionize.create_job('clicks', 'user_id', 'ts', interval '1 minute', target => 'c2', allowed_lateness => interval '-1 second');
SELECT sessionize.create_job(NULL, 'user_id', 'ts', interval '10 minutes');
CREATE VIEW clicks_view AS SELECT * FROM clicks;
SELECT sessionize.create_job('clicks_view', 'user_id', 'ts', interval '10 minutes');
-- an existing target of the wrong shape
CREATE TABLE wrong_shape (user_id int, session_start timestamptz);
SELECT sessionize.create_job('clicks', 'user_id', 'ts', interval '10 minutes', target => 'wrong_shape');
-- the target of another job
SELECT sessionize.create_job('clicks', 'user_id', 'ts', interval '10 minutes', target => 'clicks_sessions');
SELECT sessionize.run_job(-1);
SELECT sessionize.run_job(NULL);
SELECT sessionize.drop_job(-1);
SELECT sessionize.alter_job(:job, gap => interval '0');
\set VERBOSITY default
SELECT sessionize.create_job('clicks', 'user_id', 'page', interval '10 minutes');
SELECT sessionize.create_job('clicks', 'user_id', 'ts', interval '10 minutes', target => 'wrong_shape');

-- Privileges.
CREATE ROLE regress_job_mallory;
CREATE ROLE regress_job_alice;
GRANT USAGE ON SCHEMA public TO regress_job_mallory, regress_job_alice;
SET ROLE regress_job_mallory;
\set VERBOSITY sqlstate
-- no SELECT on the source
SELECT sessionize.create_job('clicks', 'user_id', 'ts', interval '10 minutes', target => 'm_sessions');
-- not the job's owner
SELECT sessionize.run_job(:job);
SELECT sessionize.drop_job(:job);
SELECT sessionize.alter_job(:job, active => false);
-- the catalog itself is read-only
DELETE FROM sessionize.jobs;
UPDATE sessionize.job_state SET watermark = NULL;
-- internal functions are not callable
SELECT sessionize._drop_job('regress_job_mallory', :job, true);
\set VERBOSITY default
RESET ROLE;
-- SELECT but no TRIGGER
GRANT SELECT ON clicks TO regress_job_alice;
SET ROLE regress_job_alice;
SELECT sessionize.create_job('clicks', 'user_id', 'ts', interval '10 minutes', target => 'a_sessions');
RESET ROLE;
-- SELECT and TRIGGER, but no CREATE on the schema for the target
GRANT TRIGGER ON clicks TO regress_job_alice;
SET ROLE regress_job_alice;
SELECT sessionize.create_job('clicks', 'user_id', 'ts', interval '10 minutes', target => 'a_sessions');
-- someone else's existing table as target
SELECT sessionize.create_job('clicks', 'user_id', 'ts', interval '10 minutes', target => 'reused');
RESET ROLE;
-- with a schema of her own it works, and the job runs as alice
CREATE SCHEMA alice AUTHORIZATION regress_job_alice;
SET ROLE regress_job_alice;
SELECT sessionize.create_job('clicks', 'user_id', 'ts', interval '10 minutes', target => 'alice.sessions') AS ajob \gset
SELECT sessions_inserted > 0 AS ran FROM sessionize.run_job(:ajob);
SELECT (SELECT relowner::regrole FROM pg_class WHERE oid = 'alice.sessions'::regclass) AS target_owner;
SELECT count(*) AS differences FROM sessionize.verify(:ajob);
RESET ROLE;
-- losing SELECT on the source makes her runs fail; nothing changes, and
-- capture copies none of the rows written meanwhile into her log: it asks
-- for a rebuild instead, which the first run with SELECT back does
REVOKE SELECT ON clicks FROM regress_job_alice;
INSERT INTO clicks VALUES (9, '2026-01-01', 'z');
SET ROLE regress_job_alice;
\set VERBOSITY terse
SELECT sessionize.run_job(:ajob);
\set VERBOSITY default
RESET ROLE;
GRANT SELECT ON clicks TO regress_job_alice;
SELECT format('SELECT count(*) AS rows_logged_for_alice FROM sessionize.%I WHERE kind <> ''t''', 'job_' || :ajob || '_log') \gexec
SET ROLE regress_job_alice;
SELECT sessions_inserted, full_rebuild FROM sessionize.run_job(:ajob);
SELECT count(*) AS differences FROM sessionize.verify(:ajob);
SELECT sessionize.drop_job(:ajob, drop_target => true);
RESET ROLE;
DROP SCHEMA alice;
REVOKE ALL ON clicks FROM regress_job_alice;
REVOKE USAGE ON SCHEMA public FROM regress_job_mallory, regress_job_alice;
DROP ROLE regress_job_mallory, regress_job_alice;

SELECT sessionize.drop_job(:job, drop_target => true);
SELECT count(*) AS jobs_left FROM sessionize.jobs;
DROP TABLE clicks, part_events, reused, wrong_shape CASCADE;
DROP SCHEMA analytics;

-- Dropping a job's source or target drops the job and its change capture.
CREATE TABLE gone_src (u int, ts timestamptz);
CREATE TABLE kept_src (u int, ts timestamptz);
SELECT sessionize.create_job('gone_src', 'u', 'ts', interval '1 minute') IS NOT NULL AS created;
SELECT sessionize.create_job('kept_src', 'u', 'ts', interval '1 minute') AS kjob \gset
DROP TABLE gone_src;
DROP TABLE kept_src_sessions;
SELECT count(*) AS jobs_left FROM sessionize.jobs;
SELECT count(*) AS capture_left FROM pg_trigger WHERE tgrelid = 'kept_src'::regclass AND NOT tgisinternal;
SELECT count(*) AS logs_left FROM pg_class WHERE relnamespace = 'sessionize'::regnamespace AND relname ~ '^job_[0-9]+_log$';
INSERT INTO kept_src VALUES (1, now());
DROP TABLE kept_src;
