-- run_due_jobs(), the job status a DBA reads, alter_job(notify), errors.
-- (The background worker is off in this suite; test/t/ tests it.)  The
-- passage of time is simulated by moving next_start back.
SET timezone = 'UTC';

CREATE ROLE regress_due_alice NOLOGIN;
CREATE ROLE regress_due_mallory NOLOGIN;
CREATE SCHEMA due AUTHORIZATION regress_due_alice;
SET ROLE regress_due_alice;
CREATE TABLE due.ev (u int, ts timestamptz);
CREATE INDEX ON due.ev (u, ts);
INSERT INTO due.ev SELECT i % 7, timestamptz '2026-01-01' + (i * 13 % 500) * interval '1 minute'
FROM generate_series(1, 300) i;
SELECT sessionize.create_job('due.ev', 'u', 'ts', interval '10 minutes',
                             schedule_interval => interval '1 hour') AS job \gset
CREATE TABLE due.ev2 (u int, ts timestamptz);
INSERT INTO due.ev2 VALUES (1, '2026-01-01'), (1, '2026-01-01 00:05'), (2, '2026-01-01');
SELECT sessionize.create_job('due.ev2', 'u', 'ts', interval '10 minutes',
                             schedule_interval => interval '1 hour') AS job2 \gset
RESET ROLE;

-- Never run: both are due, and pending a rebuild.
SELECT job_id = :job AS first_job, pending_rebuild, pending_events, next_start,
       total_runs, total_failures, consecutive_failures, last_successful_finish
FROM sessionize.job_status ORDER BY job_id;

-- One call runs both (oldest due first), each as its owner, and says what it did.
SET client_min_messages = warning;
SELECT job_id = :job AS first_job, status, events_inserted, sessions_inserted, full_rebuild,
       watermark, message
FROM sessionize.run_due_jobs();
RESET client_min_messages;
SELECT count(*) AS differences FROM sessionize.verify(:job);
SELECT count(*) AS differences FROM sessionize.verify(:job2);
-- each is due again schedule_interval after its run started
SELECT job_id = :job AS first_job, next_start = last_run_at + interval '1 hour' AS next_start_ok,
       last_successful_finish >= last_run_at AS finished, total_runs, pending_rebuild, pending_events
FROM sessionize.job_status ORDER BY job_id;
-- the history: one row per run, as its owner saw it
SELECT job_id = :job AS first_job, runner, status, events_inserted, sessions_inserted,
       full_rebuild, finished_at >= started_at AS finished, pid = pg_backend_pid() AS my_pid,
       watermark, watermark = (SELECT s.watermark FROM sessionize.job_status s WHERE s.job_id = d.job_id)
       AS job_watermark
FROM sessionize.job_run_details d ORDER BY run_id;

-- Not due yet: nothing runs, though there are changes.
INSERT INTO due.ev VALUES (1, '2026-01-01 09:00'), (1, '2026-01-01 09:02'), (3, '2026-01-01 00:01');
WITH d AS (DELETE FROM due.ev WHERE u = 5 AND ts < '2026-01-01 02:00' RETURNING 1)
SELECT count(*) AS deleted FROM d \gset
SELECT :deleted > 0 AS deleted_some;
SELECT count(*) AS runs FROM sessionize.run_due_jobs();

-- job_status counts the changes waiting (events inserted plus deleted, from
-- the log, which only the owner may read) and how long they have waited.
SELECT pending_events = 3 + :deleted AS pending_events_ok, pending_rebuild,
       processing_lag > interval '0' AS waiting, event_time_lag = now() - watermark::timestamptz AS event_time_lag_ok
FROM sessionize.job_status WHERE job_id = :job;
-- anyone may read the status (counts, no row data)
SET ROLE regress_due_mallory;
SELECT pending_events > 0 AS mallory_sees_pending FROM sessionize.job_status WHERE job_id = :job;
RESET ROLE;
SELECT has_table_privilege('regress_due_mallory', format('sessionize.job_%s_log', :job), 'SELECT') AS mallory_reads_log,
       has_table_privilege('regress_due_alice', format('sessionize.job_%s_log', :job), 'SELECT') AS owner_reads_log;

-- Due (an hour passed), with changes: it runs; the other job, due too but
-- with nothing to do, costs a look and does not run.
UPDATE sessionize.job_state SET next_start = now() - interval '1 second';
SELECT job_id = :job AS first_job, status, events_inserted, events_deleted, sessions_closed,
       full_rebuild, message
FROM sessionize.run_due_jobs();
SELECT count(*) AS differences FROM sessionize.verify(:job);
SELECT job_id = :job AS first_job, total_runs, pending_events, processing_lag
FROM sessionize.job_status ORDER BY job_id;

-- A caller runs only jobs whose owner it is a member of.
UPDATE sessionize.job_state SET next_start = now() - interval '1 second';
INSERT INTO due.ev VALUES (2, '2026-01-02');
SET ROLE regress_due_mallory;
SELECT count(*) AS mallory_runs FROM sessionize.run_due_jobs();
RESET ROLE;
SELECT pending_events AS still_pending FROM sessionize.job_status WHERE job_id = :job;
SET ROLE regress_due_alice;
SELECT job_id = :job AS first_job, status, events_inserted FROM sessionize.run_due_jobs();
RESET ROLE;

-- A failing job is recorded, waits with backoff, and does not stop the others.
SELECT sessionize.alter_job(:job2, schedule_interval => interval '1 minute');
REVOKE SELECT ON due.ev2 FROM regress_due_alice;
INSERT INTO due.ev2 VALUES (2, '2026-01-01 00:03');
INSERT INTO due.ev VALUES (4, '2026-01-03');
UPDATE sessionize.job_state SET next_start = now() - interval '1 second';
SELECT job_id = :job AS first_job, status, events_inserted, full_rebuild, message
FROM sessionize.run_due_jobs();
SELECT job_id = :job AS first_job, total_runs, total_failures, consecutive_failures, last_error,
       last_error_at IS NOT NULL AS error_time,
       next_start = last_error_at + interval '2 minutes' AS backoff_2x
FROM sessionize.job_status ORDER BY job_id;
SELECT status, message, events_inserted FROM sessionize.job_run_details
WHERE job_id = :job2 ORDER BY run_id DESC LIMIT 1;
-- in backoff, it is not due
SELECT count(*) AS runs FROM sessionize.run_due_jobs();
-- failing again doubles the wait, up to sessionize.max_retry_backoff (5 min)
UPDATE sessionize.job_state SET next_start = now() - interval '1 second' WHERE job_id = :job2;
SELECT status FROM sessionize.run_due_jobs();
SELECT consecutive_failures, next_start - last_error_at AS backoff
FROM sessionize.job_status WHERE job_id = :job2;
UPDATE sessionize.job_state SET next_start = now() - interval '1 second' WHERE job_id = :job2;
SELECT status FROM sessionize.run_due_jobs();
SELECT consecutive_failures, next_start - last_error_at AS capped_backoff
FROM sessionize.job_status WHERE job_id = :job2;
-- however long the schedule and the run of failures, the wait stays capped
SELECT sessionize.alter_job(:job2, schedule_interval => interval '366 days');
UPDATE sessionize.job_state SET consecutive_failures = 35, next_start = now() - interval '1 second'
WHERE job_id = :job2;
SELECT status FROM sessionize.run_due_jobs();
SELECT consecutive_failures, next_start - last_error_at AS capped_backoff
FROM sessionize.job_status WHERE job_id = :job2;
UPDATE sessionize.job_state SET consecutive_failures = 3 WHERE job_id = :job2;
SELECT sessionize.alter_job(:job2, schedule_interval => interval '1 minute');
-- repaired, the next run succeeds and clears the error
GRANT SELECT ON due.ev2 TO regress_due_alice;
UPDATE sessionize.job_state SET next_start = now() - interval '1 second' WHERE job_id = :job2;
SET client_min_messages = warning;
SELECT status, full_rebuild FROM sessionize.run_due_jobs();
RESET client_min_messages;
SELECT total_runs, total_failures, consecutive_failures, last_error, last_error_at
FROM sessionize.job_status WHERE job_id = :job2;
SELECT count(*) AS differences FROM sessionize.verify(:job2);

-- An inactive job is not scheduled; run_job() still runs it.
SELECT sessionize.alter_job(:job, active => false);
INSERT INTO due.ev VALUES (6, '2026-01-04');
UPDATE sessionize.job_state SET next_start = now() - interval '1 second';
SELECT count(*) AS runs FROM sessionize.run_due_jobs();
SELECT events_inserted FROM sessionize.run_job(:job);
SELECT sessionize.alter_job(:job, active => true);

-- It writes: a read-only transaction (as on a standby) refuses it.
BEGIN READ ONLY;
\set VERBOSITY sqlstate
SELECT count(*) FROM sessionize.run_due_jobs();
\set VERBOSITY default
ROLLBACK;

-- A failure inside the caller's transaction is recorded in it, and rolled
-- back with it.
REVOKE SELECT ON due.ev2 FROM regress_due_alice;
INSERT INTO due.ev2 VALUES (3, '2026-01-05');
UPDATE sessionize.job_state SET next_start = now() - interval '1 second';
BEGIN;
SELECT status FROM sessionize.run_due_jobs();
ROLLBACK;
SELECT consecutive_failures, last_error FROM sessionize.job_status WHERE job_id = :job2;
GRANT SELECT ON due.ev2 TO regress_due_alice;

-- NOTIFY channels: set, changed, cleared with ''; checked as pg_notify() would.
SELECT sessionize.alter_job(:job, notify => 'due_sessions');
SELECT notify_channel FROM sessionize.job_status WHERE job_id = :job;
SELECT sessionize.alter_job(:job, gap => interval '10 minutes');
SELECT notify_channel AS kept FROM sessionize.job_status WHERE job_id = :job;
SELECT sessionize.alter_job(:job, notify => '');
SELECT notify_channel IS NULL AS cleared FROM sessionize.job_status WHERE job_id = :job;
\set VERBOSITY sqlstate
SELECT sessionize.alter_job(:job, notify => repeat('x', 64));
SELECT sessionize.create_job('due.ev', 'u', 'ts', interval '1 minute', target => 'due.other', notify => '');
-- the catalog itself enforces it too
UPDATE sessionize.jobs SET notify_channel = '' WHERE job_id = :job;
\set VERBOSITY default
SET ROLE regress_due_alice;
SELECT sessionize.create_job('due.ev', 'u', 'ts', interval '1 minute', target => 'due.other',
                             notify => 'Due Other') AS job3 \gset
SELECT notify_channel FROM sessionize.job_status WHERE job_id = :job3;
-- not hers: mallory may not change it
RESET ROLE;
SET ROLE regress_due_mallory;
\set VERBOSITY sqlstate
SELECT sessionize.alter_job(:job3, notify => 'mallory');
\set VERBOSITY default
RESET ROLE;

-- A schedule change counts from the last run.
SELECT sessionize.alter_job(:job2, schedule_interval => interval '5 minutes');
SELECT next_start = last_run_at + interval '5 minutes' AS rescheduled
FROM sessionize.job_status WHERE job_id = :job2;

-- Capture switched off (ALTER TABLE ... DISABLE TRIGGER, as pg_restore
-- --disable-triggers does, or a restore that has not yet created the
-- triggers) misses writes: runs refuse (55000) rather than apply a log with
-- holes, and the first run once capture is back rebuilds.
CREATE TABLE due.cap (u int, ts timestamptz);
CREATE INDEX ON due.cap (u, ts);
INSERT INTO due.cap VALUES (1, '2026-01-01 00:00'), (1, '2026-01-01 00:05'), (1, '2026-01-01 00:10');
SELECT sessionize.create_job('due.cap', 'u', 'ts', interval '10 minutes') AS capjob \gset
SELECT set_config('due.capjob', :'capjob', false) IS NOT NULL AS noted;
SET client_min_messages = warning;
SELECT full_rebuild FROM sessionize.run_job(:capjob);
RESET client_min_messages;
ALTER TABLE due.cap DISABLE TRIGGER ALL;
DELETE FROM due.cap WHERE ts = '2026-01-01 00:05';
\set VERBOSITY sqlstate
SELECT sessionize.run_job(:capjob);
\set VERBOSITY default
UPDATE sessionize.job_state SET next_start = now() - interval '1 second' WHERE job_id = :capjob;
SET client_min_messages = warning;
SELECT status, split_part(message, ':', 1) AS sqlstate FROM sessionize.run_due_jobs() WHERE job_id = :capjob;
RESET client_min_messages;
ALTER TABLE due.cap ENABLE TRIGGER ALL;
SET client_min_messages = warning;
SELECT events_inserted, sessions_inserted, full_rebuild FROM sessionize.run_job(:capjob);
RESET client_min_messages;
SELECT count(*) AS differences FROM sessionize.verify(:capjob);
-- a capture trigger dropped: runs refuse until the job is made again
DO $$ BEGIN
  EXECUTE format('DROP TRIGGER %I ON due.cap', 'sessionize_job_' || current_setting('due.capjob') || '_update');
END $$;
\set VERBOSITY sqlstate
SELECT sessionize.run_job(:capjob);
\set VERBOSITY default
SELECT sessionize.drop_job(:capjob, drop_target => true);
DROP TABLE due.cap;

-- Dropping a job takes its history with it.
SELECT sessionize.drop_job(:job2, drop_target => true);
SELECT count(*) AS history_left FROM sessionize.job_run_details WHERE job_id = :job2;

-- clean up
SELECT sessionize.drop_job(job_id, drop_target => true) FROM sessionize.jobs WHERE source = 'due.ev'::regclass;
DROP TABLE due.ev, due.ev2;
DROP SCHEMA due;
DROP ROLE regress_due_alice, regress_due_mallory;
