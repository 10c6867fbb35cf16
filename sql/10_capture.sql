-- Change capture that no role can turn against another, and that no schema
-- change makes wrong or turns into a writers' outage (issue: hardening).
SET timezone = 'UTC';
-- job ids from 1001, whatever ran before
SELECT setval(pg_get_serial_sequence('sessionize.jobs', 'job_id'), 1000) > 0 AS ids_set;

-- The plain-SQL reference of the README's Semantics, for a source whose
-- user column is u and time column ts, against a job's target: the rows
-- that differ (none when the target is exact).
CREATE FUNCTION target_diff(target regclass, source regclass, gap interval,
                            ucol name DEFAULT 'u', tcol name DEFAULT 'ts', target_ucol name DEFAULT NULL)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    ref text := format(
        'SELECT key::text, min(ts) AS session_start, max(ts) AS last_event_at, count(*) AS event_count '
        'FROM (SELECT key, ts, sum(is_new) OVER (PARTITION BY key ORDER BY ts ROWS UNBOUNDED PRECEDING) AS n '
        '      FROM (SELECT key, ts, CASE WHEN lag(ts) OVER w IS NULL OR ts - lag(ts) OVER w > %L THEN 1 ELSE 0 END AS is_new '
        '            FROM (SELECT %I AS key, %I AS ts FROM %s) e WHERE ts IS NOT NULL '
        '            WINDOW w AS (PARTITION BY key ORDER BY ts)) f) g '
        'GROUP BY key, n', gap, ucol, tcol, source);
    got text := format('SELECT %I::text, session_start, last_event_at, event_count FROM %s',
                       coalesce(target_ucol, ucol), target);
    n bigint;
BEGIN
    EXECUTE format('SELECT count(*) FROM ((%s EXCEPT ALL %s) UNION ALL (%s EXCEPT ALL %s)) d', ref, got, got, ref) INTO n;
    RETURN n;
END $$;

-- =====================================================================
-- 1. Only the extension owner attaches capture; a trigger argument is
--    never believed.
-- =====================================================================
SELECT has_function_privilege('public', 'sessionize.capture()', 'EXECUTE') AS public_may_execute;

CREATE TABLE ev (u int, ts timestamptz);
CREATE INDEX ON ev (u, ts);
INSERT INTO ev SELECT i % 5, timestamptz '2026-01-01' + i * interval '3 minutes' FROM generate_series(1, 50) i;
SELECT sessionize.create_job('ev', 'u', 'ts', interval '10 minutes') AS job \gset
SELECT full_rebuild FROM sessionize.run_job(:job);
SELECT 'sessionize.job_' || :job || '_log' AS log \gset

CREATE ROLE regress_cap_mallory;
CREATE SCHEMA mallory AUTHORIZATION regress_cap_mallory;
SET ROLE regress_cap_mallory;
CREATE TABLE mallory.mine (u int, ts timestamptz);
CREATE TABLE mallory.tmine (u int, ts timestamptz);
-- the injection of the hardening issue: a "log table" argument pasted into SQL
\set VERBOSITY sqlstate
CREATE TRIGGER evil AFTER INSERT ON mallory.mine REFERENCING NEW TABLE AS n
FOR EACH STATEMENT EXECUTE FUNCTION sessionize.capture('1', 'x SELECT 1 WHERE false; ALTER ROLE regress_cap_mallory SUPERUSER; INSERT INTO x', '1', '2', '600000000');
-- forging events into another role's job from a table of one's own
CREATE TRIGGER forge AFTER INSERT ON mallory.tmine REFERENCING NEW TABLE AS n
FOR EACH STATEMENT EXECUTE FUNCTION sessionize.capture(:'job');
\set VERBOSITY default
RESET ROLE;
SELECT rolsuper FROM pg_roles WHERE rolname = 'regress_cap_mallory';

-- Even a trigger a superuser attaches by mistake to an unrelated table logs
-- nothing: capture checks that it fires on the job's source.
CREATE TABLE unrelated (u int, ts timestamptz);
CREATE TRIGGER stray AFTER INSERT ON unrelated REFERENCING NEW TABLE AS n
FOR EACH STATEMENT EXECUTE FUNCTION sessionize.capture(:'job');
INSERT INTO unrelated VALUES (1, '2030-01-01'), (99, '2026-01-01');
SELECT count(*) AS log_rows FROM :log;
-- ... and the old five-argument form is refused as a protocol violation
CREATE TRIGGER old_form AFTER INSERT ON unrelated REFERENCING NEW TABLE AS n
FOR EACH STATEMENT EXECUTE FUNCTION sessionize.capture(:'job', :'log', '1', '2', '600000000');
\set VERBOSITY sqlstate
INSERT INTO unrelated VALUES (1, '2030-01-01');
\set VERBOSITY default
DROP TABLE unrelated;
SELECT watermark FROM sessionize.run_job(:job);
SELECT target_diff('ev_sessions', 'ev', interval '10 minutes') AS differences;
SELECT count(*) AS verify_differences FROM sessionize.verify(:job);

-- =====================================================================
-- 2. Row-level security that applies to the job owner: rows the owner
--    may not see never reach its target or its log.
-- =====================================================================
CREATE ROLE regress_cap_owner;
CREATE TABLE secret_ev (u int, ts timestamptz, hidden boolean DEFAULT false);
GRANT SELECT, TRIGGER ON secret_ev TO regress_cap_owner;
GRANT CREATE ON SCHEMA public TO regress_cap_owner;
ALTER TABLE secret_ev ENABLE ROW LEVEL SECURITY;
CREATE POLICY visible ON secret_ev FOR SELECT TO regress_cap_owner USING (NOT hidden);
INSERT INTO secret_ev SELECT i % 3, timestamptz '2026-01-01' + i * interval '4 minutes', i % 4 = 0
FROM generate_series(1, 40) i;
SET ROLE regress_cap_owner;
SELECT sessionize.create_job('secret_ev', 'u', 'ts', interval '10 minutes', target => 'secret_sessions') AS sjob \gset
SELECT full_rebuild FROM sessionize.run_job(:sjob);
SELECT 'sessionize.job_' || :sjob || '_log' AS slog \gset
RESET ROLE;
-- the table's owner (not subject to the policy) writes hidden and visible rows
INSERT INTO secret_ev VALUES (7, '2026-01-02', true), (8, '2026-01-02', false), (0, '2026-01-01 00:06', true);
SELECT kind, u IS NULL AS no_user_values FROM :slog;
SET ROLE regress_cap_owner;
-- the job owner reads and consumes its log, but only capture writes it
\set VERBOSITY sqlstate
INSERT INTO :slog (kind, u, lo, hi, n, late) VALUES ('i', '{7}', '{2026-01-03}', '{2026-01-03}', '{1}', '{0}');
\set VERBOSITY default
SELECT full_rebuild FROM sessionize.run_job(:sjob);
-- the target holds the sessions of exactly the rows the owner sees
SELECT target_diff('secret_sessions', 'secret_ev', interval '10 minutes') AS differences;
SELECT count(*) AS hidden_users FROM secret_sessions WHERE u = 7;
RESET ROLE;
SELECT sessionize.drop_job(:sjob, drop_target => true);
DROP TABLE secret_ev;

-- =====================================================================
-- 3. Column renames are followed; a restored or partitioned table may
--    number columns differently, so capture looks them up by name.
-- =====================================================================
ALTER TABLE ev RENAME COLUMN u TO user_id;
ALTER TABLE ev RENAME COLUMN ts TO event_ts;
SELECT user_column, time_column, target_user_column FROM sessionize.jobs WHERE job_id = :job;
ALTER TABLE ev_sessions RENAME COLUMN u TO who;
SELECT user_column, time_column, target_user_column FROM sessionize.jobs WHERE job_id = :job;
INSERT INTO ev VALUES (1, '2026-01-01 02:31'), (6, '2026-01-01 05:00');
-- a dropped column before them shifts nothing
ALTER TABLE ev ADD COLUMN junk int;
ALTER TABLE ev DROP COLUMN junk;
DELETE FROM ev WHERE user_id = 2 AND event_ts < '2026-01-01 01:00';
SELECT events_inserted, events_deleted, full_rebuild FROM sessionize.run_job(:job);
SELECT target_diff('ev_sessions', 'ev', interval '10 minutes', 'user_id', 'event_ts', 'who') AS differences;
SELECT count(*) AS verify_differences FROM sessionize.verify(:job);

-- =====================================================================
-- 4. A job that no longer fits its source never blocks writers: it is
--    marked broken (last_error), and a repaired source is rebuilt.
-- =====================================================================
-- the user column changes type with changes pending: no phantom users
INSERT INTO ev VALUES (3, '2026-01-01 03:00');
ALTER TABLE ev ALTER user_id TYPE bigint;
INSERT INTO ev VALUES (8589934595, '2026-01-01 03:01');
SELECT last_error FROM sessionize.job_status WHERE job_id = :job;
\set VERBOSITY sqlstate
SELECT * FROM sessionize.run_job(:job);
\set VERBOSITY default
SELECT count(*) AS phantom_users FROM ev_sessions WHERE who NOT IN (SELECT user_id FROM ev);
-- back to its type: the next run rebuilds, exact
DELETE FROM ev WHERE user_id > 1000;
ALTER TABLE ev ALTER user_id TYPE int;
SELECT full_rebuild FROM sessionize.run_job(:job);
SELECT target_diff('ev_sessions', 'ev', interval '10 minutes', 'user_id', 'event_ts', 'who') AS differences;
SELECT count(*) AS verify_differences FROM sessionize.verify(:job);

-- the user column dropped: writers carry on; re-added: rebuilt
ALTER TABLE ev DROP COLUMN user_id;
INSERT INTO ev VALUES ('2026-01-01 04:00');
UPDATE ev SET event_ts = event_ts + interval '1 minute' WHERE event_ts > '2026-01-01 03:30';
DELETE FROM ev WHERE event_ts < '2026-01-01 00:10';
SELECT last_error FROM sessionize.job_status WHERE job_id = :job;
\set VERBOSITY sqlstate
SELECT * FROM sessionize.run_job(:job);
\set VERBOSITY default
ALTER TABLE ev ADD COLUMN user_id int;
UPDATE ev SET user_id = extract(minute FROM event_ts)::int % 4;
SELECT full_rebuild FROM sessionize.run_job(:job);
SELECT last_error FROM sessionize.job_status WHERE job_id = :job;
SELECT target_diff('ev_sessions', 'ev', interval '10 minutes', 'user_id', 'event_ts', 'who') AS differences;
SELECT count(*) AS verify_differences FROM sessionize.verify(:job);

-- the time column changes type: writers carry on
ALTER TABLE ev ALTER event_ts TYPE timestamp;
INSERT INTO ev VALUES ('2026-01-01 05:00', 1);
SELECT last_error FROM sessionize.job_status WHERE job_id = :job;
ALTER TABLE ev ALTER event_ts TYPE timestamptz;
SELECT full_rebuild FROM sessionize.run_job(:job);
SELECT target_diff('ev_sessions', 'ev', interval '10 minutes', 'user_id', 'event_ts', 'who') AS differences;
SELECT count(*) AS verify_differences FROM sessionize.verify(:job);

-- =====================================================================
-- 5. Writes under session_replication_role = replica (as logical
--    replication applies them) are captured, once.
-- =====================================================================
SET session_replication_role = replica;
INSERT INTO ev VALUES ('2026-01-01 06:00', 1), ('2026-01-01 06:05', 1), ('2026-01-01 06:30', 2);
UPDATE ev SET event_ts = event_ts + interval '2 minutes' WHERE event_ts = '2026-01-01 06:05';
DELETE FROM ev WHERE event_ts = '2026-01-01 06:30';
RESET session_replication_role;
SELECT kind, n FROM :log ORDER BY kind, lo;
SELECT events_inserted, events_deleted, full_rebuild FROM sessionize.run_job(:job);
SELECT target_diff('ev_sessions', 'ev', interval '10 minutes', 'user_id', 'event_ts', 'who') AS differences;
SELECT count(*) AS verify_differences FROM sessionize.verify(:job);
-- an ordinary statement is logged once, by its statement trigger
INSERT INTO ev VALUES ('2026-01-01 07:00', 1), ('2026-01-01 07:01', 1);
SELECT kind, n FROM :log;
SET session_replication_role = replica;
TRUNCATE ev;
RESET session_replication_role;
SELECT full_rebuild, sessions_inserted FROM sessionize.run_job(:job);
SELECT count(*) AS sessions FROM ev_sessions;

-- user columns of a type compared through another type's operator class
-- (varchar through text, a domain through its base type) or of an array
-- type (refused: the log holds arrays of users)
CREATE DOMAIN visitor AS text CHECK (VALUE <> '');
CREATE TABLE vev (v varchar(20), d visitor, a int[], ts timestamptz);
INSERT INTO vev VALUES ('x', 'x', '{1}', '2026-01-01'), ('y', 'y', '{2}', '2026-01-01 00:05');
SELECT sessionize.create_job('vev', 'v', 'ts', interval '10 minutes', target => 'vev_v') AS vjob \gset
SELECT sessionize.create_job('vev', 'd', 'ts', interval '10 minutes', target => 'vev_d') AS djob \gset
\set VERBOSITY sqlstate
SELECT sessionize.create_job('vev', 'a', 'ts', interval '10 minutes', target => 'vev_a');
\set VERBOSITY default
SET client_min_messages = warning;
SELECT count(*) FROM sessionize.run_job(:vjob), sessionize.run_job(:djob);
INSERT INTO vev VALUES ('x', 'x', '{1}', '2026-01-01 00:09'), ('z', 'z', '{3}', '2026-01-01 00:30');
SELECT events_inserted FROM sessionize.run_job(:vjob);
SELECT events_inserted FROM sessionize.run_job(:djob);
RESET client_min_messages;
SELECT target_diff('vev_v', 'vev', interval '10 minutes', 'v', 'ts') AS differences_varchar,
       target_diff('vev_d', 'vev', interval '10 minutes', 'd', 'ts') AS differences_domain;
SELECT sessionize.drop_job(:vjob, drop_target => true), sessionize.drop_job(:djob, drop_target => true);
DROP TABLE vev;
DROP DOMAIN visitor;

-- a Citus distributed table is refused (0A000): capture would not see the
-- writes on its workers.  Citus cannot be installed here; its catalog is
-- faked as 04_srf does.
CREATE TABLE cev (u int, ts timestamptz);
SET allow_system_table_mods = on;
CREATE TABLE pg_catalog.pg_dist_partition (logicalrelid regclass NOT NULL, partmethod "char");
INSERT INTO pg_catalog.pg_dist_partition VALUES ('cev', 'h');
INSERT INTO pg_catalog.pg_extension (oid, extname, extowner, extnamespace, extrelocatable, extversion)
VALUES (999998, 'citus', 10, 11, false, '0');
\set VERBOSITY sqlstate
SELECT sessionize.create_job('cev', 'u', 'ts', interval '10 minutes');
\set VERBOSITY default
DELETE FROM pg_catalog.pg_extension WHERE extname = 'citus';
DROP TABLE pg_catalog.pg_dist_partition;
RESET allow_system_table_mods;
DROP TABLE cev;

SELECT sessionize.drop_job(:job, drop_target => true);
SELECT count(*) AS triggers_left FROM pg_trigger WHERE tgfoid = 'sessionize.capture()'::regprocedure;
DROP TABLE ev;
DROP SCHEMA mallory CASCADE;
REVOKE CREATE ON SCHEMA public FROM regress_cap_owner;
DROP ROLE regress_cap_mallory, regress_cap_owner;
