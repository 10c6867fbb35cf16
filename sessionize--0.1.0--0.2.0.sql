-- sessionize--0.1.0--0.2.0.sql: ALTER EXTENSION sessionize UPDATE from 0.1.0
-- to 0.2.0.
--
-- Afterwards the extension's objects are those of a fresh install of 0.2.0
-- (test/t/009_upgrade.pl compares the two), and every job of 0.1.0 is a job
-- of 0.2.0, with its watermark, counters and pending changes:
--
--   1. the sources of all jobs are locked, so that no write is captured
--      while capture changes hands, and the event trigger that drops jobs is
--      off while this script drops objects of its own;
--   2. the objects of 0.1.0 that change signature, or depend on the row
--      types of the catalog, are dropped;
--   3. the catalog tables jobs and job_state are made anew (0.2.0 has new
--      columns among the old ones), with 0.1.0's rows, and job_relations
--      and job_run_details are made;
--   4. the functions and views that 0.2.0 adds or changes are made with the
--      text of sessionize--0.2.0.sql;
--   5. each job's capture is converted: 0.1.0's triggers (five arguments,
--      on the source only) go, 0.2.0's (the job id alone, on the source and
--      each partition) come, and its change log is made anew, owned by the
--      extension owner, holding the entries pending in the old one;
--   6. what is left of 0.1.0 goes, and the event triggers are 0.2.0's.
--
-- It runs in the transaction of ALTER EXTENSION, as a superuser: all of it
-- or nothing.  Until 0.2.0 is released, a change to an object of
-- sessionize--0.2.0.sql is a change to this script too.

\echo Use "ALTER EXTENSION sessionize UPDATE TO '0.2.0'" to load this file. \quit

-- Names in this script's own statements resolve in pg_catalog first, and
-- never in a temporary schema (the functions pin their own search_path).
-- What it says about single jobs are WARNINGs: PostgreSQL shows nothing
-- less from an extension script.
SET LOCAL search_path = pg_catalog, pg_temp;

-- ---------------------------------------------------------------------------
-- 1. Nothing in the way, nothing captured meanwhile
-- ---------------------------------------------------------------------------

-- Objects of the user's that depend on the catalog tables or the job_status
-- view would keep this script from replacing them: name them, before
-- anything is done.
DO $$
DECLARE
    dependents text;
BEGIN
    SELECT pg_catalog.string_agg(DISTINCT pg_catalog.pg_describe_object(d.classid, d.objid, d.objsubid), ', ')
    INTO dependents
    FROM pg_catalog.pg_depend d
    WHERE d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass
      AND d.refobjid IN ('sessionize.jobs'::pg_catalog.regclass, 'sessionize.job_state'::pg_catalog.regclass,
                         'sessionize.job_status'::pg_catalog.regclass)
      AND d.deptype = 'n'
      -- the extension's own: the view's rule, the tables' constraints
      AND NOT (d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass
               AND d.objid IN (SELECT r.oid FROM pg_catalog.pg_rewrite r
                               WHERE r.ev_class = 'sessionize.job_status'::pg_catalog.regclass))
      AND NOT (d.classid = 'pg_catalog.pg_constraint'::pg_catalog.regclass
               AND d.objid IN (SELECT c.oid FROM pg_catalog.pg_constraint c
                               WHERE c.conrelid IN ('sessionize.jobs'::pg_catalog.regclass,
                                                    'sessionize.job_state'::pg_catalog.regclass)));
    IF dependents IS NOT NULL THEN
        RAISE EXCEPTION 'cannot update extension sessionize: objects depend on its job catalog'
            USING ERRCODE = 'dependent_objects_still_exist',
                  DETAIL = pg_catalog.format('%s depend on sessionize.jobs, sessionize.job_state or sessionize.job_status, '
                                             'which version 0.2.0 makes anew.', dependents),
                  HINT = 'Drop them, update, and create them again (job_status has new columns).';
    END IF;
END
$$;

-- No write to a source may be captured while capture changes hands: a
-- writer's trigger reads the catalog and writes the job's log, both of
-- which this script replaces.  So each source, with its partitions, is
-- locked first, in job order and before the catalog, as writers lock them:
-- writes in progress finish first, later ones wait for the new capture.
-- (A source that is gone, such as a temporary table of 0.1.0, is skipped.)
DO $$
DECLARE
    src pg_catalog.regclass;
BEGIN
    FOR src IN SELECT j.source FROM sessionize.jobs j
               WHERE EXISTS (SELECT 1 FROM pg_catalog.pg_class c WHERE c.oid = j.source)
               GROUP BY j.source ORDER BY pg_catalog.min(j.job_id)
    LOOP
        EXECUTE pg_catalog.format('LOCK TABLE %s IN ACCESS EXCLUSIVE MODE', src);
    END LOOP;
END
$$;

-- The job-dropping event trigger would act on this script's own drops, with
-- the catalog half made: off until step 6.
ALTER EVENT TRIGGER sessionize_drop_jobs DISABLE;

-- ---------------------------------------------------------------------------
-- 2. What 0.2.0 defines otherwise: the view (new columns), the function
--    that returns the row type of the old jobs table, and the functions
--    whose arguments change.  Step 4 makes them as 0.2.0 has them; the
--    functions of unchanged signature (capture(), run_job(), ...) are
--    replaced in place there.
-- ---------------------------------------------------------------------------

DROP VIEW sessionize.job_status;
DROP FUNCTION sessionize._lock_job(regrole, bigint);
DROP FUNCTION sessionize.create_job(regclass, name, name, interval, name, interval, interval);
DROP FUNCTION sessionize._create_job(regrole, regclass, name, name, interval, name, interval, interval);
DROP FUNCTION sessionize.alter_job(bigint, interval, interval, interval, boolean);
DROP FUNCTION sessionize._alter_job(regrole, bigint, interval, interval, interval, boolean);
DROP FUNCTION sessionize._remove_capture(bigint, regclass);
DROP FUNCTION sessionize._check_interval(interval, text, boolean);
-- verify() gained the measures column, and returns times as text;
-- run_job() returns the watermark as text
DROP FUNCTION sessionize.verify(bigint);
DROP FUNCTION sessionize.run_job(bigint);

-- ---------------------------------------------------------------------------
-- 3. The catalog.  0.2.0's jobs and job_state have new columns among the old
--    ones, so they are made anew, not altered.  0.1.0's tables move aside to
--    a schema of this script's own (with their constraints, indexes and
--    sequence, whose names the new ones take), leave the extension's pg_dump
--    configuration, and go in step 6.
-- ---------------------------------------------------------------------------

CREATE SCHEMA sessionize_update_0_1_0;
ALTER TABLE sessionize.jobs SET SCHEMA sessionize_update_0_1_0;
ALTER TABLE sessionize.job_state SET SCHEMA sessionize_update_0_1_0;
ALTER EXTENSION sessionize DROP TABLE sessionize_update_0_1_0.jobs;
ALTER EXTENSION sessionize DROP TABLE sessionize_update_0_1_0.job_state;
ALTER EXTENSION sessionize DROP SEQUENCE sessionize_update_0_1_0.jobs_job_id_seq;

-- The tables of 0.2.0, as sessionize--0.2.0.sql makes them.

CREATE TABLE sessionize.jobs (
    job_id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    source regclass NOT NULL,
    user_column name NOT NULL,
    time_column name NOT NULL,
    -- the time column's type: timestamptz, timestamp or bigint (epoch
    -- units of the user's choosing); the target's times are of this type
    time_type regtype NOT NULL DEFAULT 'timestamptz',
    user_type regtype NOT NULL,
    target_user_column name NOT NULL,
    -- gap and allowed_lateness: intervals for timestamps, NULL for bigint
    -- times, whose gap and lateness are integer_gap and
    -- integer_allowed_lateness, in the unit of the times
    gap interval CHECK (gap > interval '0'),
    integer_gap bigint CHECK (integer_gap > 0),
    target regclass NOT NULL,
    allowed_lateness interval CHECK (allowed_lateness >= interval '0'),
    integer_allowed_lateness bigint CHECK (integer_allowed_lateness >= 0),
    schedule_interval interval NOT NULL DEFAULT interval '10 seconds' CHECK (schedule_interval > interval '0'),
    owner regrole NOT NULL,
    active boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    -- after each run that opened, changed or closed sessions, a NOTIFY on
    -- this channel (NULL: none); a valid pg_notify() channel name
    notify_channel text CHECK (notify_channel <> '' AND octet_length(notify_channel) < 64),
    UNIQUE (target),
    CONSTRAINT jobs_time_type_check CHECK (CASE WHEN time_type = 'bigint'::regtype
        THEN gap IS NULL AND allowed_lateness IS NULL
             AND integer_gap IS NOT NULL AND integer_allowed_lateness IS NOT NULL
        ELSE time_type IN ('timestamptz'::regtype, 'timestamp'::regtype)
             AND gap IS NOT NULL AND allowed_lateness IS NOT NULL
             AND integer_gap IS NULL AND integer_allowed_lateness IS NULL END)
);
COMMENT ON TABLE sessionize.jobs IS
'sessionize jobs: which source table''s sessions are kept in which target table; change them with create_job(), alter_job(), drop_job()';

CREATE TABLE sessionize.job_state (
    job_id bigint PRIMARY KEY REFERENCES sessionize.jobs (job_id) ON DELETE CASCADE,
    needs_rebuild boolean NOT NULL DEFAULT true,
    -- the latest event time seen, and the watermark, in the job's time
    -- units (job_status shows them in the time column's type): for
    -- timestamps, microseconds since 2000-01-01 00:00 (UTC for timestamptz)
    -- as PostgreSQL stores them, infinities as the bigint extremes; for
    -- bigint times, the times themselves
    max_event_time bigint,
    watermark bigint,
    -- the last run (successful or not): when it started, how long it took
    last_run_at timestamptz,
    last_run_duration interval,
    last_successful_finish timestamptz,
    -- the job is due from then on (NULL: now): a run's start plus
    -- schedule_interval, or after a failure an exponential backoff
    next_start timestamptz,
    -- runs recorded (successful, failed, interrupted), and those that failed
    total_runs bigint NOT NULL DEFAULT 0,
    total_failures bigint NOT NULL DEFAULT 0,
    consecutive_failures integer NOT NULL DEFAULT 0,
    events_inserted bigint NOT NULL DEFAULT 0,
    events_deleted bigint NOT NULL DEFAULT 0,
    late_events bigint NOT NULL DEFAULT 0,
    sessions_inserted bigint NOT NULL DEFAULT 0,
    sessions_updated bigint NOT NULL DEFAULT 0,
    sessions_deleted bigint NOT NULL DEFAULT 0,
    -- why the last run failed ('SQLSTATE: message'), or why the job is
    -- broken (written by the DDL event trigger); cleared by a successful run
    last_error text,
    last_error_at timestamptz
);
COMMENT ON TABLE sessionize.job_state IS
'sessionize job bookkeeping: event-time watermark, schedule, counters and last error, updated in the same transaction as the sessions they describe';
COMMENT ON COLUMN sessionize.jobs.time_type IS
'The type of the source''s time column (timestamptz, timestamp or bigint), and of the target''s times';
COMMENT ON COLUMN sessionize.jobs.integer_gap IS
'The gap of a job on bigint times, in their unit (NULL for timestamps, whose gap is gap)';
COMMENT ON COLUMN sessionize.jobs.integer_allowed_lateness IS
'The allowed lateness of a job on bigint times, in their unit (NULL for timestamps, whose lateness is allowed_lateness)';
COMMENT ON COLUMN sessionize.job_state.max_event_time IS
'The latest event time seen, in the job''s time units: microseconds since 2000-01-01 for timestamps (infinities as the bigint extremes), the time itself for bigint times; job_status shows it in the time column''s type';
COMMENT ON COLUMN sessionize.job_state.watermark IS
'The watermark, max_event_time - allowed lateness (never moving back), in the job''s time units as max_event_time; job_status shows it in the time column''s type';
COMMENT ON COLUMN sessionize.job_state.next_start IS
'The job is due from this time on (NULL: at once); a due job runs when it has changes to apply or a rebuild pending';
COMMENT ON COLUMN sessionize.job_state.total_runs IS
'Runs recorded: successful ones, and failed or interrupted ones of the scheduler and run_due_jobs()';
COMMENT ON COLUMN sessionize.job_state.consecutive_failures IS
'Failed or interrupted runs since the last successful one; the retry waits schedule_interval * 2^consecutive_failures, at most sessionize.max_retry_backoff';
COMMENT ON COLUMN sessionize.job_state.last_error IS
'Why the last run failed (SQLSTATE: message), or why DDL broke the job; NULL after a successful run';

-- pg_dump keeps jobs and their bookkeeping; the change logs and capture
-- triggers are ordinary objects and are dumped as such.
SELECT pg_catalog.pg_extension_config_dump('sessionize.jobs', '');

-- Every relation on which a job's change capture is installed: the source
-- and each of its partitions, at any level.  Kept in step by create_job(),
-- drop_job() and the DDL event triggers (partitions created, attached,
-- detached or dropped).
CREATE TABLE sessionize.job_relations (
    job_id bigint NOT NULL REFERENCES sessionize.jobs (job_id) ON DELETE CASCADE,
    rel regclass NOT NULL,
    PRIMARY KEY (job_id, rel)
);
COMMENT ON TABLE sessionize.job_relations IS
'sessionize: the relations (a job''s source and its partitions) that carry the job''s change-capture triggers';
SELECT pg_catalog.pg_extension_config_dump('sessionize.job_relations', '');

-- A job's per-session measures: one target column each, filled with an
-- aggregate of the session's events.  definition is PostgreSQL's own
-- deparsed text of the caller's expression (src/measures.c): the source's
-- columns as e.<column>, names outside pg_catalog schema-qualified.
CREATE TABLE sessionize.job_measures (
    job_id bigint NOT NULL REFERENCES sessionize.jobs (job_id) ON DELETE CASCADE,
    position integer NOT NULL CHECK (position > 0),
    column_name name NOT NULL,
    definition text NOT NULL,
    result_type text NOT NULL,
    -- how a run that extends a session by new events merges their value
    -- with the stored one, without reading old events; NULL: recomputed
    -- from all of the session's events whenever it changes
    merge text CHECK (merge IN ('sum', 'count', 'min', 'max', 'and', 'or', 'first', 'last')),
    PRIMARY KEY (job_id, position),
    UNIQUE (job_id, column_name)
);
COMMENT ON TABLE sessionize.job_measures IS
'sessionize: the per-session measures of each job (target column, aggregate over the source''s columns e.<column>, result type, and how runs merge it); set with create_job() and alter_job()';
COMMENT ON COLUMN sessionize.job_measures.merge IS
'How a run merges the measure of a session that new events extend with theirs, reading only the new events (sum, count, min, max, and, or, first, last); NULL: recomputed from all of the session''s events when it changes';
SELECT pg_catalog.pg_extension_config_dump('sessionize.job_measures', '');
SELECT pg_catalog.pg_extension_config_dump('sessionize.job_state', '');
SELECT pg_catalog.pg_extension_config_dump(pg_catalog.pg_get_serial_sequence('sessionize.jobs', 'job_id'), '');

-- The runs of the background worker's schedulers and of run_due_jobs(), one
-- row each (run_job() returns what it did to its caller instead).  A
-- scheduler writes its row as 'running' in a transaction of its own before
-- the run, so that a run cut short by a crash stays visible: the next
-- scheduler of the database marks it 'crashed'.  Rows older than
-- sessionize.history_retention are deleted.
CREATE TABLE sessionize.job_run_details (
    run_id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    job_id bigint NOT NULL REFERENCES sessionize.jobs (job_id) ON DELETE CASCADE,
    runner text NOT NULL CHECK (runner IN ('scheduler', 'run_due_jobs')),
    pid integer NOT NULL,
    started_at timestamptz NOT NULL,
    finished_at timestamptz,
    status text NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'crashed')),
    events_inserted bigint,
    events_deleted bigint,
    late_events bigint,
    sessions_inserted bigint,
    sessions_updated bigint,
    sessions_deleted bigint,
    sessions_closed bigint,
    full_rebuild boolean,
    -- in the time column's type, as job_status shows it
    watermark text,
    message text
);
-- a job's recent runs; and the retention's deletes
CREATE INDEX job_run_details_job_id_started_at_idx ON sessionize.job_run_details (job_id, started_at);
CREATE INDEX job_run_details_started_at_idx ON sessionize.job_run_details (started_at);
COMMENT ON INDEX sessionize.job_run_details_job_id_started_at_idx IS
'sessionize: a job''s runs in time order';
COMMENT ON INDEX sessionize.job_run_details_started_at_idx IS
'sessionize: the runs older than sessionize.history_retention, which the schedulers delete';
COMMENT ON TABLE sessionize.job_run_details IS
'sessionize: one row per run of a job by the background worker or run_due_jobs(): status (running, succeeded, failed, crashed), counts, error; kept for sessionize.history_retention';
SELECT pg_catalog.pg_extension_config_dump('sessionize.job_run_details', '');
SELECT pg_catalog.pg_extension_config_dump(pg_catalog.pg_get_serial_sequence('sessionize.job_run_details', 'run_id'), '');

GRANT SELECT ON sessionize.jobs, sessionize.job_state, sessionize.job_relations, sessionize.job_measures,
    sessionize.job_run_details TO PUBLIC;

-- (The trigger that wakes the background worker comes before 0.1.0's jobs
-- are copied in, so that the copy wakes it when the update commits.)
-- Job changes (create_job, alter_job, drop_job, a restore) wake the
-- database's scheduler when the transaction commits (src/worker_shmem.c);
-- a no-op when the library is not preloaded.
CREATE FUNCTION sessionize._jobs_changed()
RETURNS trigger
AS 'MODULE_PATHNAME', 'sessionize_jobs_changed'
LANGUAGE C;
COMMENT ON FUNCTION sessionize._jobs_changed() IS
'Internal: trigger function that wakes the background worker''s scheduler of this database when jobs change';
REVOKE ALL ON FUNCTION sessionize._jobs_changed() FROM PUBLIC;
CREATE TRIGGER jobs_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON sessionize.jobs
FOR EACH STATEMENT EXECUTE FUNCTION sessionize._jobs_changed();
COMMENT ON TRIGGER jobs_changed ON sessionize.jobs IS
'Wakes the background worker''s scheduler of this database when the transaction commits';

-- 0.1.0's jobs, with what 0.2.0 adds: the user column's type, read from the
-- source (for a job whose source lost that column, from its change log,
-- which 0.1.0 made of that type); the target's user column, which 0.1.0's
-- create_job() named as the source's; no NOTIFY channel.  A schedule out of
-- 0.2.0's range (1 second to 366 days), which 0.1.0 only recorded, is
-- brought into it: the background worker of 0.2.0 runs jobs by it.  (The
-- jobs_changed trigger above wakes the worker when this commits.)
DO $$
DECLARE
    o record;
    utype pg_catalog.regtype;
    sched interval;
BEGIN
    FOR o IN SELECT * FROM sessionize_update_0_1_0.jobs ORDER BY job_id LOOP
        utype := (SELECT a.atttypid FROM pg_catalog.pg_attribute a
                  WHERE a.attrelid = o.source AND a.attname = o.user_column
                    AND a.attnum > 0 AND NOT a.attisdropped);
        IF utype IS NULL THEN
            utype := (SELECT nullif(t.typelem, 0)
                      FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
                      WHERE a.attrelid = pg_catalog.to_regclass(sessionize._job_object(o.job_id, 'log'))
                        AND a.attname = 'u' AND NOT a.attisdropped);
        END IF;
        IF utype IS NULL THEN
            RAISE EXCEPTION 'cannot tell the type of the user column of sessionize job %', o.job_id
                USING ERRCODE = 'object_not_in_prerequisite_state',
                      DETAIL = pg_catalog.format('Column "%s" is not in table %s, and the job has no change log.',
                                                 o.user_column, o.source),
                      HINT = pg_catalog.format('Drop the job (SELECT sessionize.drop_job(%s)), then update.', o.job_id);
        END IF;
        sched := least(greatest(o.schedule_interval, interval '1 second'), interval '366 days');
        IF sched <> o.schedule_interval THEN
            RAISE WARNING 'schedule_interval of sessionize job % is now %, not %', o.job_id, sched, o.schedule_interval;
        END IF;
        INSERT INTO sessionize.jobs (job_id, source, user_column, time_column, user_type, target_user_column,
                                     gap, target, allowed_lateness, schedule_interval, owner, active,
                                     created_at, notify_channel)
        VALUES (o.job_id, o.source, o.user_column, o.time_column, utype, o.user_column,
                o.gap, o.target, o.allowed_lateness, sched, o.owner, o.active,
                o.created_at, NULL);
    END LOOP;
END
$$;
SELECT pg_catalog.setval(pg_catalog.pg_get_serial_sequence('sessionize.jobs', 'job_id'), s.last_value, s.is_called)
FROM sessionize_update_0_1_0.jobs_job_id_seq s;

-- Their state: watermarks (in job time units now, microseconds since
-- 2000-01-01, see job_state), counters (runs is total_runs now) and the last
-- run as they were.  0.1.0 recorded successful runs only, so the last run
-- succeeded; a job that ran is due schedule_interval after its last run, as
-- after a run of 0.2.0, and one that never ran is due at once.
CREATE FUNCTION sessionize_update_0_1_0.ticks(t timestamptz) RETURNS bigint
LANGUAGE sql IMMUTABLE STRICT
SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT CASE WHEN t = 'infinity' THEN 9223372036854775807
                WHEN t = '-infinity' THEN -9223372036854775808
                ELSE ((extract(epoch FROM t) - 946684800) * 1000000)::bigint END
$fn$;
INSERT INTO sessionize.job_state (job_id, needs_rebuild, max_event_time, watermark,
                                  last_run_at, last_run_duration, last_successful_finish, next_start,
                                  total_runs, total_failures, consecutive_failures,
                                  events_inserted, events_deleted, late_events,
                                  sessions_inserted, sessions_updated, sessions_deleted,
                                  last_error, last_error_at)
SELECT s.job_id, s.needs_rebuild, sessionize_update_0_1_0.ticks(s.max_event_time),
       sessionize_update_0_1_0.ticks(s.watermark),
       s.last_run_at, s.last_run_duration, s.last_run_at + s.last_run_duration, s.last_run_at + j.schedule_interval,
       s.runs, 0, 0,
       s.events_inserted, s.events_deleted, s.late_events,
       s.sessions_inserted, s.sessions_updated, s.sessions_deleted,
       s.last_error, s.last_error_at
FROM sessionize_update_0_1_0.job_state s JOIN sessionize.jobs j ON j.job_id = s.job_id;

-- ---------------------------------------------------------------------------
-- 4. The functions and views that 0.2.0 adds or changes, as
--    sessionize--0.2.0.sql makes them, in its order (but for _jobs_changed,
--    above).
-- ---------------------------------------------------------------------------

-- merge_sessions() says what it does with NULL and impossible summaries
COMMENT ON AGGREGATE sessionize.merge_sessions(timestamptz, timestamptz, bigint, interval) IS
'Grouping aggregate: the sessions of the events behind a set of session summaries (start, last event, count), in any order, merging those that overlap or lie within the gap; skips rows whose times are both NULL, rejects summaries of no possible events';

-- ---------------------------------------------------------------------------
-- Grouping aggregates: first(value, at) and last(value, at), the value at
-- the smallest or largest time (ties: the smallest or largest value, NULL
-- the largest; rows with a NULL time skipped).  A job's measures rewrite
-- first(expr) and last(expr) to them.  One set of C functions for the three
-- time types (all int64 inside); parallel safe, with combine and
-- (de)serialization through the value type's send and receive functions.
-- ---------------------------------------------------------------------------

CREATE FUNCTION sessionize.first_transfn(internal, anyelement, timestamptz)
RETURNS internal
AS 'MODULE_PATHNAME', 'first_trans'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION sessionize.first_transfn(internal, anyelement, timestamptz) IS
'Transition function of sessionize.first(); not for direct use';

CREATE FUNCTION sessionize.first_transfn(internal, anyelement, timestamp)
RETURNS internal
AS 'MODULE_PATHNAME', 'first_trans'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION sessionize.first_transfn(internal, anyelement, timestamp) IS
'Transition function of sessionize.first(); not for direct use';

CREATE FUNCTION sessionize.first_transfn(internal, anyelement, bigint)
RETURNS internal
AS 'MODULE_PATHNAME', 'first_trans'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION sessionize.first_transfn(internal, anyelement, bigint) IS
'Transition function of sessionize.first(); not for direct use';

CREATE FUNCTION sessionize.last_transfn(internal, anyelement, timestamptz)
RETURNS internal
AS 'MODULE_PATHNAME', 'last_trans'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION sessionize.last_transfn(internal, anyelement, timestamptz) IS
'Transition function of sessionize.last(); not for direct use';

CREATE FUNCTION sessionize.last_transfn(internal, anyelement, timestamp)
RETURNS internal
AS 'MODULE_PATHNAME', 'last_trans'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION sessionize.last_transfn(internal, anyelement, timestamp) IS
'Transition function of sessionize.last(); not for direct use';

CREATE FUNCTION sessionize.last_transfn(internal, anyelement, bigint)
RETURNS internal
AS 'MODULE_PATHNAME', 'last_trans'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION sessionize.last_transfn(internal, anyelement, bigint) IS
'Transition function of sessionize.last(); not for direct use';

CREATE FUNCTION sessionize.first_combinefn(internal, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'first_combine'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION sessionize.first_combinefn(internal, internal) IS
'Combine function of sessionize.first(): the earlier of two partial states; not for direct use';

CREATE FUNCTION sessionize.last_combinefn(internal, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'last_combine'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION sessionize.last_combinefn(internal, internal) IS
'Combine function of sessionize.last(): the later of two partial states; not for direct use';

CREATE FUNCTION sessionize.first_last_serialfn(internal)
RETURNS bytea
AS 'MODULE_PATHNAME', 'first_last_serialize'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION sessionize.first_last_serialfn(internal) IS
'Serialization function of sessionize.first() and sessionize.last(); not for direct use';

CREATE FUNCTION sessionize.first_last_deserialfn(bytea, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'first_last_deserialize'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION sessionize.first_last_deserialfn(bytea, internal) IS
'Deserialization function of sessionize.first() and sessionize.last(); checks its input; not for direct use';

CREATE FUNCTION sessionize.first_last_finalfn(internal, anyelement, timestamptz)
RETURNS anyelement
AS 'MODULE_PATHNAME', 'first_last_final'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION sessionize.first_last_finalfn(internal, anyelement, timestamptz) IS
'Final function of sessionize.first() and sessionize.last(); not for direct use';

CREATE FUNCTION sessionize.first_last_finalfn(internal, anyelement, timestamp)
RETURNS anyelement
AS 'MODULE_PATHNAME', 'first_last_final'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION sessionize.first_last_finalfn(internal, anyelement, timestamp) IS
'Final function of sessionize.first() and sessionize.last(); not for direct use';

CREATE FUNCTION sessionize.first_last_finalfn(internal, anyelement, bigint)
RETURNS anyelement
AS 'MODULE_PATHNAME', 'first_last_final'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION sessionize.first_last_finalfn(internal, anyelement, bigint) IS
'Final function of sessionize.first() and sessionize.last(); not for direct use';

CREATE AGGREGATE sessionize.first(value anyelement, at timestamptz) (
    SFUNC = sessionize.first_transfn,
    STYPE = internal,
    SSPACE = 64,
    FINALFUNC = sessionize.first_last_finalfn,
    FINALFUNC_EXTRA,
    COMBINEFUNC = sessionize.first_combinefn,
    SERIALFUNC = sessionize.first_last_serialfn,
    DESERIALFUNC = sessionize.first_last_deserialfn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE sessionize.first(anyelement, timestamptz) IS
'Grouping aggregate: the value at the smallest time (Flink''s FIRST_VALUE); ties between equal times go to the smallest value, NULL the largest; rows with a NULL time are skipped; NULL when there are none';

CREATE AGGREGATE sessionize.first(value anyelement, at timestamp) (
    SFUNC = sessionize.first_transfn,
    STYPE = internal,
    SSPACE = 64,
    FINALFUNC = sessionize.first_last_finalfn,
    FINALFUNC_EXTRA,
    COMBINEFUNC = sessionize.first_combinefn,
    SERIALFUNC = sessionize.first_last_serialfn,
    DESERIALFUNC = sessionize.first_last_deserialfn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE sessionize.first(anyelement, timestamp) IS
'Grouping aggregate: the value at the smallest time (Flink''s FIRST_VALUE); ties between equal times go to the smallest value, NULL the largest; rows with a NULL time are skipped; NULL when there are none';

CREATE AGGREGATE sessionize.first(value anyelement, at bigint) (
    SFUNC = sessionize.first_transfn,
    STYPE = internal,
    SSPACE = 64,
    FINALFUNC = sessionize.first_last_finalfn,
    FINALFUNC_EXTRA,
    COMBINEFUNC = sessionize.first_combinefn,
    SERIALFUNC = sessionize.first_last_serialfn,
    DESERIALFUNC = sessionize.first_last_deserialfn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE sessionize.first(anyelement, bigint) IS
'Grouping aggregate: the value at the smallest time (Flink''s FIRST_VALUE); ties between equal times go to the smallest value, NULL the largest; rows with a NULL time are skipped; NULL when there are none';

CREATE AGGREGATE sessionize.last(value anyelement, at timestamptz) (
    SFUNC = sessionize.last_transfn,
    STYPE = internal,
    SSPACE = 64,
    FINALFUNC = sessionize.first_last_finalfn,
    FINALFUNC_EXTRA,
    COMBINEFUNC = sessionize.last_combinefn,
    SERIALFUNC = sessionize.first_last_serialfn,
    DESERIALFUNC = sessionize.first_last_deserialfn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE sessionize.last(anyelement, timestamptz) IS
'Grouping aggregate: the value at the largest time (Flink''s LAST_VALUE); ties between equal times go to the largest value, NULL the largest; rows with a NULL time are skipped; NULL when there are none';

CREATE AGGREGATE sessionize.last(value anyelement, at timestamp) (
    SFUNC = sessionize.last_transfn,
    STYPE = internal,
    SSPACE = 64,
    FINALFUNC = sessionize.first_last_finalfn,
    FINALFUNC_EXTRA,
    COMBINEFUNC = sessionize.last_combinefn,
    SERIALFUNC = sessionize.first_last_serialfn,
    DESERIALFUNC = sessionize.first_last_deserialfn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE sessionize.last(anyelement, timestamp) IS
'Grouping aggregate: the value at the largest time (Flink''s LAST_VALUE); ties between equal times go to the largest value, NULL the largest; rows with a NULL time are skipped; NULL when there are none';

CREATE AGGREGATE sessionize.last(value anyelement, at bigint) (
    SFUNC = sessionize.last_transfn,
    STYPE = internal,
    SSPACE = 64,
    FINALFUNC = sessionize.first_last_finalfn,
    FINALFUNC_EXTRA,
    COMBINEFUNC = sessionize.last_combinefn,
    SERIALFUNC = sessionize.first_last_serialfn,
    DESERIALFUNC = sessionize.first_last_deserialfn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE sessionize.last(anyelement, bigint) IS
'Grouping aggregate: the value at the largest time (Flink''s LAST_VALUE); ties between equal times go to the largest value, NULL the largest; rows with a NULL time are skipped; NULL when there are none';

-- A time of a job's catalog (microseconds since 2000-01-01 for timestamps,
-- the time itself for bigint: job_state.max_event_time and watermark) as a
-- value of the type of "like", which must be timestamptz, timestamp or
-- bigint; NULL for NULL.  In C (src/job_api.c).  Anyone may call it; it
-- runs as the caller and reads nothing.
CREATE FUNCTION sessionize._job_time(ticks bigint, "like" anyelement)
RETURNS anyelement
AS 'MODULE_PATHNAME', 'sessionize_job_time'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION sessionize._job_time(bigint, anyelement) IS
'Internal: a time of job_state (job time units) as a value of the type of the second argument (timestamptz, timestamp or bigint)';

-- The same as text, in the time column's type, as job_status shows it
-- (and run_job() returns it): the type's output function, in C.
CREATE FUNCTION sessionize._job_time_text(ticks bigint, time_type regtype)
RETURNS text
AS 'MODULE_PATHNAME', 'sessionize_job_time_text_sql'
LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION sessionize._job_time_text(bigint, regtype) IS
'Internal: a time of job_state (job time units) as text in the job''s time type, for job_status';

-- The changes waiting in a job's log: the events they add or remove, whether
-- one asks for a rebuild, and when the oldest was logged.  The log belongs to
-- the extension owner (only the job owner may read it besides), so this
-- runs as the definer; it returns counts and a time, no row data.
CREATE FUNCTION sessionize._job_backlog(p_job_id bigint,
    OUT pending_events bigint, OUT rebuild_logged boolean, OUT oldest_pending timestamptz)
RETURNS record
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    pending_events := 0;
    rebuild_logged := false;
    IF to_regclass(sessionize._job_object(p_job_id, 'log')) IS NOT NULL THEN
        EXECUTE format('SELECT coalesce(sum((SELECT sum(x) FROM unnest(l.n) x)), 0)::bigint, '
                       'coalesce(bool_or(l.kind = ''t''), false), min(l.logged_at) FROM %s l',
                       sessionize._job_object(p_job_id, 'log'))
        INTO pending_events, rebuild_logged, oldest_pending;
    END IF;
END
$fn$;
COMMENT ON FUNCTION sessionize._job_backlog(bigint) IS
'Internal: the number of events waiting in a job''s change log, whether a rebuild is logged, and the oldest entry''s time (for job_status)';

CREATE VIEW sessionize.job_status AS
SELECT j.job_id, j.source, j.target, j.owner, j.active, j.gap, j.allowed_lateness,
       j.schedule_interval, j.notify_channel,
       sessionize._job_time_text(s.watermark, j.time_type) AS watermark,
       sessionize._job_time_text(s.max_event_time, j.time_type) AS max_event_time,
       CASE j.time_type
       WHEN 'timestamptz'::regtype THEN now() - sessionize._job_time(s.watermark, NULL::timestamptz)
       WHEN 'timestamp'::regtype THEN localtimestamp - sessionize._job_time(s.watermark, NULL::timestamp)
       END AS event_time_lag,
       b.pending_events,
       s.needs_rebuild OR b.rebuild_logged AS pending_rebuild,
       coalesce(now() - b.oldest_pending, interval '0') AS processing_lag,
       s.next_start, s.last_run_at, s.last_run_duration, s.last_successful_finish,
       s.total_runs, s.total_failures, s.consecutive_failures,
       s.events_inserted, s.events_deleted, s.late_events,
       s.sessions_inserted, s.sessions_updated, s.sessions_deleted,
       s.last_error, s.last_error_at,
       j.time_type, j.integer_gap, j.integer_allowed_lateness
FROM sessionize.jobs j JOIN sessionize.job_state s USING (job_id)
CROSS JOIN LATERAL sessionize._job_backlog(j.job_id) b;
COMMENT ON VIEW sessionize.job_status IS
'One row per job: watermark, how far event time and processing are behind, changes pending, schedule, counters, last error';
COMMENT ON COLUMN sessionize.job_status.watermark IS
'Sessions ending at or before it are closed: the latest event time seen minus the allowed lateness, never moving back; as text in the time column''s type';
COMMENT ON COLUMN sessionize.job_status.max_event_time IS
'The latest event time seen, as text in the time column''s type';
COMMENT ON COLUMN sessionize.job_status.event_time_lag IS
'now() - watermark (localtimestamp - watermark for timestamp times; NULL for bigint times): how far the sessions'' event time is behind the clock (large for a backfill of old events; not a measure of processing delay)';
COMMENT ON COLUMN sessionize.job_status.pending_events IS
'Events inserted or deleted in the source and not yet applied to the target';
COMMENT ON COLUMN sessionize.job_status.pending_rebuild IS
'The next run rebuilds the target from the source (first run, TRUNCATE, new gap, partition changes, DDL)';
COMMENT ON COLUMN sessionize.job_status.processing_lag IS
'How long the oldest change not yet applied has waited (since its writer''s transaction started); 0 when none waits';
GRANT SELECT ON sessionize.job_status TO PUBLIC;

-- capture() takes the job id alone, and only the extension owner attaches it
COMMENT ON FUNCTION sessionize.capture() IS
'Trigger function of jobs'' change capture: logs the sessions of the rows each statement inserts or deletes; installed by create_job()';
REVOKE ALL ON FUNCTION sessionize.capture() FROM PUBLIC;

-- A job source and its partitions at every level (pg_partition_tree() is
-- empty for a table that is not partitioned).
CREATE FUNCTION sessionize._source_tree(p_source regclass)
RETURNS SETOF regclass
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT p_source UNION SELECT relid FROM pg_catalog.pg_partition_tree(p_source) $$;
COMMENT ON FUNCTION sessionize._source_tree(regclass) IS
'Internal: a job source and all of its partitions';
REVOKE ALL ON FUNCTION sessionize._source_tree(regclass) FROM PUBLIC;

-- Installs a job's capture triggers on one relation (the source or one of
-- its partitions), if it has none yet.  Statement triggers capture ordinary
-- writes; row triggers, enabled only under session_replication_role =
-- replica (logical replication applies rows with row triggers alone),
-- capture replicated writes on tables that hold rows; TRUNCATE fires
-- always.  Runs as the extension owner.
CREATE FUNCTION sessionize._capture_relation(p_job_id bigint, p_rel regclass)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    base text := 'sessionize_job_' || p_job_id;
    kind "char" := (SELECT relkind FROM pg_class WHERE oid = p_rel);
    arg text := pg_catalog.quote_literal(p_job_id::text);
BEGIN
    IF kind NOT IN ('r', 'p') THEN
        -- a foreign partition cannot carry transition tables: writes through
        -- the parent are captured there, direct writes to it are not
        RETURN;
    END IF;
    -- recorded first, so that the DDL event trigger, which our own ALTER
    -- TABLE below fires, finds the relation captured already
    INSERT INTO sessionize.job_relations (job_id, rel) VALUES (p_job_id, p_rel) ON CONFLICT DO NOTHING;
    IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = p_rel AND tgname = base || '_insert') THEN
        EXECUTE format('CREATE TRIGGER %I AFTER INSERT ON %s REFERENCING NEW TABLE AS sessionize_new_rows '
                       'FOR EACH STATEMENT EXECUTE FUNCTION sessionize.capture(%s)', base || '_insert', p_rel, arg);
        EXECUTE format('CREATE TRIGGER %I AFTER UPDATE ON %s '
                       'REFERENCING OLD TABLE AS sessionize_old_rows NEW TABLE AS sessionize_new_rows '
                       'FOR EACH STATEMENT EXECUTE FUNCTION sessionize.capture(%s)', base || '_update', p_rel, arg);
        EXECUTE format('CREATE TRIGGER %I AFTER DELETE ON %s REFERENCING OLD TABLE AS sessionize_old_rows '
                       'FOR EACH STATEMENT EXECUTE FUNCTION sessionize.capture(%s)', base || '_delete', p_rel, arg);
        EXECUTE format('CREATE TRIGGER %I AFTER TRUNCATE ON %s '
                       'FOR EACH STATEMENT EXECUTE FUNCTION sessionize.capture(%s)', base || '_truncate', p_rel, arg);
        EXECUTE format('ALTER TABLE %s ENABLE ALWAYS TRIGGER %I', p_rel, base || '_truncate');
        IF kind = 'r' THEN
            EXECUTE format('CREATE TRIGGER %I AFTER INSERT ON %s FOR EACH ROW EXECUTE FUNCTION sessionize.capture(%s)',
                           base || '_insert_row', p_rel, arg);
            EXECUTE format('CREATE TRIGGER %I AFTER UPDATE ON %s FOR EACH ROW EXECUTE FUNCTION sessionize.capture(%s)',
                           base || '_update_row', p_rel, arg);
            EXECUTE format('CREATE TRIGGER %I AFTER DELETE ON %s FOR EACH ROW EXECUTE FUNCTION sessionize.capture(%s)',
                           base || '_delete_row', p_rel, arg);
            EXECUTE format('ALTER TABLE %s ENABLE REPLICA TRIGGER %I, ENABLE REPLICA TRIGGER %I, ENABLE REPLICA TRIGGER %I',
                           p_rel, base || '_insert_row', base || '_update_row', base || '_delete_row');
        END IF;
    END IF;
END
$fn$;
COMMENT ON FUNCTION sessionize._capture_relation(bigint, regclass) IS
'Internal: installs a job''s capture triggers on one relation of its source';
REVOKE ALL ON FUNCTION sessionize._capture_relation(bigint, regclass) FROM PUBLIC;

-- Removes a job's capture triggers from one relation.  Runs as the
-- extension owner.
CREATE FUNCTION sessionize._uncapture_relation(p_job_id bigint, p_rel regclass)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    t record;
BEGIN
    FOR t IN SELECT tgname FROM pg_trigger
             WHERE tgrelid = p_rel AND tgfoid = 'sessionize.capture()'::regprocedure
               AND tgname LIKE 'sessionize\_job\_' || p_job_id || '\_%'
    LOOP
        EXECUTE format('DROP TRIGGER %I ON %s', t.tgname, p_rel);
    END LOOP;
    DELETE FROM sessionize.job_relations WHERE job_id = p_job_id AND rel = p_rel;
END
$fn$;
COMMENT ON FUNCTION sessionize._uncapture_relation(bigint, regclass) IS
'Internal: removes a job''s capture triggers from one relation';
REVOKE ALL ON FUNCTION sessionize._uncapture_relation(bigint, regclass) FROM PUBLIC;

-- Asks the next run of a job to rebuild its target from the source: a 't'
-- entry in its log, which commits or rolls back with the change it stands
-- for.  Runs as the extension owner.
CREATE FUNCTION sessionize._log_rebuild(p_job_id bigint)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    IF to_regclass(sessionize._job_object(p_job_id, 'log')) IS NOT NULL THEN
        EXECUTE format('INSERT INTO %s (kind) VALUES (''t'')', sessionize._job_object(p_job_id, 'log'));
    END IF;
END
$fn$;
COMMENT ON FUNCTION sessionize._log_rebuild(bigint) IS
'Internal: makes the next run of a job rebuild its target';
REVOKE ALL ON FUNCTION sessionize._log_rebuild(bigint) FROM PUBLIC;

-- Why a job's measures no longer fit its source ('SQLSTATE: message'), or
-- NULL: each is analyzed over the source again, as the job owner,
-- restricted (src/measures.c).  Called by _reconcile_capture().
CREATE FUNCTION sessionize._measures_problem(job_id bigint)
RETURNS text
AS 'MODULE_PATHNAME', 'sessionize_measures_problem_sql'
LANGUAGE C STRICT;
COMMENT ON FUNCTION sessionize._measures_problem(bigint) IS
'Internal: why a job''s measures no longer fit its source (a column renamed, dropped or of another type), or NULL';
REVOKE ALL ON FUNCTION sessionize._measures_problem(bigint) FROM PUBLIC;

-- Brings a job's capture in step with its source after DDL: partitions
-- that joined the source (created, attached) get triggers, those that left
-- it (detached) lose them; rows that came or went with them make the next
-- run rebuild.  A user or time column that is gone or changed type makes
-- the job broken: writers carry on (capture logs no rows for it), and
-- last_error says why; so does a measure that no longer fits the source
-- (_measures_problem()).  Runs as the extension owner.
CREATE FUNCTION sessionize._reconcile_capture(p_job_id bigint)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    j sessionize.jobs;
    r record;
    rows_moved boolean := false;
    has_rows boolean;
    problem text;
BEGIN
    SELECT * INTO j FROM sessionize.jobs WHERE job_id = p_job_id;
    IF NOT FOUND OR NOT EXISTS (SELECT 1 FROM pg_class WHERE oid = j.source) THEN
        RETURN;
    END IF;
    FOR r IN SELECT t.relid, c.relkind FROM sessionize._source_tree(j.source) t(relid) JOIN pg_class c ON c.oid = t.relid
             WHERE NOT EXISTS (SELECT 1 FROM sessionize.job_relations x WHERE x.job_id = p_job_id AND x.rel = t.relid)
    LOOP
        PERFORM sessionize._capture_relation(p_job_id, r.relid);
        IF r.relkind = 'r' THEN
            EXECUTE format('SELECT EXISTS (SELECT 1 FROM ONLY %s)', r.relid::regclass) INTO has_rows;
        ELSE
            has_rows := r.relkind <> 'p';   -- a foreign partition: assume it has rows
        END IF;
        rows_moved := rows_moved OR has_rows;
    END LOOP;
    FOR r IN SELECT x.rel, c.relkind FROM sessionize.job_relations x JOIN pg_class c ON c.oid = x.rel
             WHERE x.job_id = p_job_id
               AND x.rel NOT IN (SELECT t.relid FROM sessionize._source_tree(j.source) t(relid))
    LOOP
        PERFORM sessionize._uncapture_relation(p_job_id, r.rel);
        IF r.relkind = 'r' THEN
            EXECUTE format('SELECT EXISTS (SELECT 1 FROM ONLY %s)', r.rel) INTO has_rows;
            rows_moved := rows_moved OR has_rows;
        END IF;
    END LOOP;

    IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = j.source AND attname = j.user_column
                   AND attnum > 0 AND NOT attisdropped) THEN
        problem := format('42703: column "%s" of %s, the user column of job %s, no longer exists', j.user_column, j.source, p_job_id);
    ELSIF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = j.source AND attname = j.time_column
                      AND attnum > 0 AND NOT attisdropped) THEN
        problem := format('42703: column "%s" of %s, the time column of job %s, no longer exists', j.time_column, j.source, p_job_id);
    ELSIF (SELECT atttypid FROM pg_attribute WHERE attrelid = j.source AND attname = j.user_column) <> j.user_type THEN
        problem := format('42804: the user column "%s" of %s changed type from %s to %s', j.user_column, j.source, j.user_type,
                          (SELECT format_type(atttypid, atttypmod) FROM pg_attribute
                           WHERE attrelid = j.source AND attname = j.user_column));
    ELSIF (SELECT atttypid FROM pg_attribute WHERE attrelid = j.source AND attname = j.time_column) <> j.time_type THEN
        problem := format('42804: the time column "%s" of %s changed type from %s to %s', j.time_column, j.source, j.time_type,
                          (SELECT format_type(atttypid, atttypmod) FROM pg_attribute
                           WHERE attrelid = j.source AND attname = j.time_column));
    END IF;
    IF problem IS NOT NULL THEN
        rows_moved := true;
        problem := problem || '; drop the job (sessionize.drop_job) and create it again, or restore the column';
    ELSE
        -- a measure that no longer analyzes over the source, or whose type
        -- changed with a column it uses: runs refuse it (the sessions stay
        -- as they were) until the column is back or the measures are set
        -- again, which rebuilds
        problem := sessionize._measures_problem(p_job_id);
        IF problem IS NOT NULL THEN
            problem := problem || format('; set the measures again (sessionize.alter_job(%s, measures => ...)), or restore the column', p_job_id);
        END IF;
    END IF;
    IF problem IS NOT NULL THEN
        -- recorded unless a run holds the job: that run fails with the same reason
        UPDATE sessionize.job_state s
        SET last_error = problem, last_error_at = now()
        WHERE s.job_id IN (SELECT x.job_id FROM sessionize.job_state x WHERE x.job_id = p_job_id
                           FOR UPDATE SKIP LOCKED);
    END IF;
    -- capture switched off (ALTER TABLE ... DISABLE TRIGGER, as pg_restore
    -- --disable-triggers does) misses writes: runs refuse while it is off,
    -- and the first one after it is back on rebuilds
    IF EXISTS (SELECT 1 FROM pg_trigger t JOIN sessionize.job_relations jr ON jr.rel = t.tgrelid
               WHERE jr.job_id = p_job_id AND t.tgfoid = 'sessionize.capture()'::regprocedure
                 AND t.tgname LIKE 'sessionize\_job\_' || p_job_id || '\_%' AND t.tgenabled = 'D') THEN
        rows_moved := true;
    END IF;
    IF rows_moved THEN
        PERFORM sessionize._log_rebuild(p_job_id);
    END IF;
END
$fn$;
COMMENT ON FUNCTION sessionize._reconcile_capture(bigint) IS
'Internal: keeps a job''s change capture in step with its source''s partitions and columns after DDL';
REVOKE ALL ON FUNCTION sessionize._reconcile_capture(bigint) FROM PUBLIC;

-- Installs change capture on a job's source: the log table (owned by the
-- extension owner, readable and deletable by the job owner) and the
-- capture triggers on the source and each of its partitions.  Runs as the
-- extension owner.
CREATE OR REPLACE FUNCTION sessionize._install_capture(p_job_id bigint)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    j sessionize.jobs;
    logname text := sessionize._job_object(p_job_id, 'log');
    r record;
BEGIN
    SELECT * INTO STRICT j FROM sessionize.jobs WHERE job_id = p_job_id;

    -- one row per statement and kind of change: 'i' inserted, 'd' deleted,
    -- 't' rebuild (a TRUNCATE, or a change that could not be captured);
    -- the arrays hold, per user, the sessions of those rows (late: how many
    -- of a session's inserted events were late), summarised with the gap
    -- in the job's time units that capture read from the catalog (a run rebuilds
    -- when it is not the job's gap), and when the writer's transaction
    -- started (job_status.processing_lag)
    EXECUTE format('CREATE TABLE %s (kind "char" NOT NULL, u %s[], lo %s[], '
                   'hi %s[], n bigint[], late bigint[], gap bigint, '
                   'logged_at timestamptz NOT NULL DEFAULT pg_catalog.now())',
                   logname, j.user_type, j.time_type, j.time_type);
    EXECUTE format('ALTER TABLE %s ALTER u SET STORAGE EXTERNAL, ALTER lo SET STORAGE EXTERNAL, '
                   'ALTER hi SET STORAGE EXTERNAL, ALTER n SET STORAGE EXTERNAL, '
                   'ALTER late SET STORAGE EXTERNAL', logname);
    EXECUTE format('COMMENT ON TABLE %s IS %L', logname,
                   format('sessionize job %s: changes of %s not yet processed by run_job()', p_job_id, j.source));
    -- the extension owner keeps the log, so that only capture writes it;
    -- the job owner's runs read and consume it
    EXECUTE format('GRANT SELECT, DELETE ON %s TO %I', logname, j.owner);

    FOR r IN SELECT relid FROM sessionize._source_tree(j.source) t(relid) LOOP
        PERFORM sessionize._capture_relation(p_job_id, r.relid);
    END LOOP;
END
$fn$;
COMMENT ON FUNCTION sessionize._install_capture(bigint) IS
'Internal: installs a job''s change log and capture triggers';
REVOKE ALL ON FUNCTION sessionize._install_capture(bigint) FROM PUBLIC;

-- Removes a job's change capture.  Runs as the extension owner.
CREATE FUNCTION sessionize._remove_capture(p_job_id bigint)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    r record;
BEGIN
    -- the relations recorded, and any other that carries the job's triggers
    FOR r IN SELECT rel FROM sessionize.job_relations WHERE job_id = p_job_id
             UNION
             SELECT tgrelid::regclass FROM pg_trigger
             WHERE tgfoid = 'sessionize.capture()'::regprocedure
               AND tgname LIKE 'sessionize\_job\_' || p_job_id || '\_%'
    LOOP
        IF EXISTS (SELECT 1 FROM pg_class WHERE oid = r.rel) THEN
            PERFORM sessionize._uncapture_relation(p_job_id, r.rel);
        END IF;
    END LOOP;
    DELETE FROM sessionize.job_relations WHERE job_id = p_job_id;
    EXECUTE format('DROP TABLE IF EXISTS %s', sessionize._job_object(p_job_id, 'log'));
END
$fn$;
COMMENT ON FUNCTION sessionize._remove_capture(bigint) IS
'Internal: removes a job''s change log and capture triggers';
REVOKE ALL ON FUNCTION sessionize._remove_capture(bigint) FROM PUBLIC;

-- Checks a job's gap, allowed_lateness or schedule_interval (argname):
-- not NULL, no months (as the C functions), and within a range that keeps
-- every time a job computes from it meaningful.  The ranges are those of
-- the README (Reference, Incremental jobs).
CREATE FUNCTION sessionize._check_job_interval(value interval, argname text)
RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    lo interval;
    hi interval;
    range_text text;
BEGIN
    IF value IS NULL THEN
        RAISE EXCEPTION '% must not be null', argname USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF date_part('month', value) <> 0 OR date_part('year', value) <> 0 THEN
        RAISE EXCEPTION '% must not have a month component', argname
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = format('A month has no fixed length; express the %s in days, hours, minutes or seconds.', argname);
    END IF;
    CASE argname
        WHEN 'gap' THEN
            lo := interval '0.000001 seconds'; hi := interval '36525 days';
            range_text := 'positive and at most 36525 days (100 years)';
        WHEN 'allowed_lateness' THEN
            lo := interval '0'; hi := interval '36525 days';
            range_text := 'from 0 to 36525 days (100 years)';
        WHEN 'schedule_interval' THEN
            lo := interval '1 second'; hi := interval '366 days';
            range_text := 'from 1 second to 366 days';
    END CASE;
    IF value <= interval '0' AND lo > interval '0' THEN
        RAISE EXCEPTION '% must be a positive interval', argname USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF value < lo OR value > hi THEN
        RAISE EXCEPTION '% is out of range', argname
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('The %s was %s.', argname, value),
                  HINT = format('A job''s %s must be %s.', argname, range_text);
    END IF;
END
$fn$;
COMMENT ON FUNCTION sessionize._check_job_interval(interval, text) IS
'Internal: rejects NULL, month-based and out-of-range gaps, lateness and schedules of jobs';
REVOKE ALL ON FUNCTION sessionize._check_job_interval(interval, text) FROM PUBLIC;

-- Checks the gap or allowed_lateness (argname) of a job on bigint times.
CREATE FUNCTION sessionize._check_job_integer(value bigint, argname text)
RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    IF value IS NULL THEN
        RAISE EXCEPTION '% must not be null', argname USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF value < 0 OR (value = 0 AND argname = 'gap') THEN
        RAISE EXCEPTION '% must be %', argname, CASE argname WHEN 'gap' THEN 'positive' ELSE 'zero or positive' END
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('The %s was %s.', argname, value);
    END IF;
END
$fn$;
COMMENT ON FUNCTION sessionize._check_job_integer(bigint, text) IS
'Internal: rejects NULL and negative gaps and lateness of jobs on bigint times (and a zero gap)';
REVOKE ALL ON FUNCTION sessionize._check_job_integer(bigint, text) FROM PUBLIC;

-- The watermark that a maximum event time gives (job time units, see
-- job_state), as run_job() computes it (src/refresh.c): max_event_time
-- minus the lateness, allowed_lateness for timestamps (days as 24 hours;
-- before the timestamp range, -infinity instead of an error) or
-- integer_allowed_lateness for bigint times (saturating at the least
-- bigint).
CREATE FUNCTION sessionize._watermark_after(max_event_time bigint, allowed_lateness interval,
    integer_allowed_lateness bigint)
RETURNS bigint
AS 'MODULE_PATHNAME', 'sessionize_watermark_after_sql'
LANGUAGE C IMMUTABLE;
COMMENT ON FUNCTION sessionize._watermark_after(bigint, interval, bigint) IS
'Internal: max_event_time - allowed lateness as run_job() computes the watermark (job time units)';
REVOKE ALL ON FUNCTION sessionize._watermark_after(bigint, interval, bigint) FROM PUBLIC;

-- Checks a NOTIFY channel name as pg_notify() would (NULL is no channel;
-- with allow_empty, '' is too).
CREATE FUNCTION sessionize._check_channel(value text, allow_empty boolean)
RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    IF value = '' AND NOT allow_empty THEN
        RAISE EXCEPTION 'notify channel name cannot be empty' USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Give NULL for no notifications.';
    END IF;
    IF octet_length(value) >= 64 THEN
        RAISE EXCEPTION 'notify channel name too long' USING ERRCODE = 'invalid_parameter_value',
            DETAIL = 'A channel name has at most 63 bytes, as for pg_notify().';
    END IF;
END
$fn$;
COMMENT ON FUNCTION sessionize._check_channel(text, boolean) IS
'Internal: rejects NOTIFY channel names that pg_notify() would reject';
REVOKE ALL ON FUNCTION sessionize._check_channel(text, boolean) FROM PUBLIC;

-- The body of create_job().  Called by the C function sessionize.create_job()
-- as the extension owner, with the calling role as p_caller; every privilege
-- check is made for p_caller.
-- The measure columns of a target, as they follow its fixed columns in the
-- shape create_job() wants: ", name type" each, or ''.
CREATE FUNCTION sessionize._measure_columns(p_names name[], p_types text[])
RETURNS text
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT coalesce(string_agg(format(', %I %s', n, t), '' ORDER BY k), '')
    FROM unnest(p_names, p_types) WITH ORDINALITY AS m(n, t, k)
$fn$;
COMMENT ON FUNCTION sessionize._measure_columns(name[], text[]) IS
'Internal: the measure columns of a job''s target, as create_job() and alter_job() write them';
REVOKE ALL ON FUNCTION sessionize._measure_columns(name[], text[]) FROM PUBLIC;

CREATE FUNCTION sessionize._create_job(p_caller regrole, p_source regclass, p_user_column name,
    p_time_column name, p_gap interval, p_integer_gap bigint, p_target name,
    p_allowed_lateness interval, p_integer_allowed_lateness bigint,
    p_schedule_interval interval, p_notify text, p_measure_names name[],
    p_measure_definitions text[], p_measure_types text[], p_measure_merges text[])
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    src_kind "char";
    citus_table boolean;
    src_persistence "char";
    src_schema name;
    src_name name;
    user_att pg_attribute;
    time_att pg_attribute;
    tgt_schema name;
    tgt_name name;
    tgt_ident text[];
    tgt regclass;
    tgt_shape text;
    want_shape text;
    made_target boolean := false;
    new_id bigint;
    time_type regtype;
    gap_text text;
BEGIN
    IF p_source IS NULL OR p_user_column IS NULL OR p_time_column IS NULL THEN
        RAISE EXCEPTION 'source, user_column and time_column must not be null'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    PERFORM sessionize._check_job_interval(p_schedule_interval, 'schedule_interval');
    PERFORM sessionize._check_channel(p_notify, false);

    SELECT c.relkind, c.relpersistence, n.nspname, c.relname
    INTO src_kind, src_persistence, src_schema, src_name
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = p_source;
    IF src_kind NOT IN ('r', 'p') THEN
        RAISE EXCEPTION '"%" is not a table', p_source
            USING ERRCODE = 'wrong_object_type',
                  DETAIL = 'A job''s source must be a table or a partitioned table: its changes are captured with triggers.';
    END IF;
    -- a Citus distributed table: its rows live on the workers, where no
    -- capture trigger of ours fires
    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus')
       AND to_regclass('pg_catalog.pg_dist_partition') IS NOT NULL THEN
        EXECUTE 'SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_dist_partition WHERE logicalrelid::pg_catalog.oid OPERATOR(pg_catalog.=) $1)'
            INTO citus_table USING p_source::oid;
        IF citus_table THEN
            RAISE EXCEPTION 'table % is distributed by Citus', p_source
                USING ERRCODE = 'feature_not_supported',
                      DETAIL = 'A job captures its source''s changes with triggers, which do not fire on the Citus workers that hold the rows.',
                      HINT = 'Sessionize it with sessionize.sessionize(), which Citus plans, or keep the events in a local table.';
        END IF;
    END IF;
    -- a temporary table goes with its session, without sql_drop: the job
    -- would outlive it
    IF src_persistence = 't' THEN
        RAISE EXCEPTION 'cannot create a job on temporary table "%"', src_name
            USING ERRCODE = 'feature_not_supported',
                  HINT = 'A job outlives the session; keep its events in a permanent or unlogged table.';
    END IF;

    SELECT * INTO user_att FROM pg_attribute
    WHERE attrelid = p_source AND attname = p_user_column AND attnum > 0 AND NOT attisdropped;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'column "%" of relation "%" does not exist', p_user_column, src_name
            USING ERRCODE = 'undefined_column', DETAIL = 'It was given as user_column.';
    END IF;
    SELECT * INTO time_att FROM pg_attribute
    WHERE attrelid = p_source AND attname = p_time_column AND attnum > 0 AND NOT attisdropped;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'column "%" of relation "%" does not exist', p_time_column, src_name
            USING ERRCODE = 'undefined_column', DETAIL = 'It was given as time_column.';
    END IF;
    time_type := time_att.atttypid;
    IF time_type NOT IN ('timestamptz'::regtype, 'timestamp'::regtype, 'bigint'::regtype) THEN
        RAISE EXCEPTION 'time column "%" is of type %, not timestamp with or without time zone or bigint',
            p_time_column, format_type(time_att.atttypid, time_att.atttypmod)
            USING ERRCODE = 'datatype_mismatch',
                  HINT = 'Jobs keep sessions of timestamptz, timestamp or bigint (epoch) event times.';
    END IF;
    IF time_type = 'bigint'::regtype THEN
        IF p_gap IS NOT NULL OR p_allowed_lateness IS NOT NULL THEN
            RAISE EXCEPTION 'time column "%" is of type bigint: gap and allowed_lateness must be bigint', p_time_column
                USING ERRCODE = 'datatype_mismatch',
                      HINT = 'Give them in the unit of the times, for example gap => 1800000 for 30 minutes of epoch milliseconds.';
        END IF;
        PERFORM sessionize._check_job_integer(p_integer_gap, 'gap');
        p_integer_allowed_lateness := coalesce(p_integer_allowed_lateness, 0);
        PERFORM sessionize._check_job_integer(p_integer_allowed_lateness, 'allowed_lateness');
        gap_text := p_integer_gap::text;
    ELSE
        IF p_integer_gap IS NOT NULL OR p_integer_allowed_lateness IS NOT NULL THEN
            RAISE EXCEPTION 'time column "%" is of type %: gap and allowed_lateness must be intervals',
                p_time_column, format_type(time_att.atttypid, NULL)
                USING ERRCODE = 'datatype_mismatch';
        END IF;
        PERFORM sessionize._check_job_interval(p_gap, 'gap');
        p_allowed_lateness := coalesce(p_allowed_lateness, interval '0');
        PERFORM sessionize._check_job_interval(p_allowed_lateness, 'allowed_lateness');
        gap_text := p_gap::text;
    END IF;
    IF NOT sessionize._can_be_user_type(user_att.atttypid) THEN
        RAISE EXCEPTION 'user column "%" is of type %, which has no default btree operator class or no array type',
            p_user_column, format_type(user_att.atttypid, user_att.atttypmod)
            USING ERRCODE = 'undefined_function';
    END IF;

    -- the caller reads the source and, for change capture, may add triggers
    IF NOT (has_table_privilege(p_caller, p_source, 'SELECT')
            OR (has_column_privilege(p_caller, p_source, p_user_column, 'SELECT')
                AND has_column_privilege(p_caller, p_source, p_time_column, 'SELECT'))) THEN
        RAISE EXCEPTION 'permission denied for table %', src_name
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = 'Creating a job needs SELECT on its source.';
    END IF;
    IF NOT has_table_privilege(p_caller, p_source, 'TRIGGER') THEN
        RAISE EXCEPTION 'permission denied for table %', src_name
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = 'Creating a job needs TRIGGER on its source: its changes are captured with triggers.';
    END IF;

    -- the target: given (maybe schema-qualified) or <source>_sessions beside the source
    IF p_target IS NULL THEN
        tgt_schema := src_schema;
        tgt_name := left(src_name, 54) || '_sessions';
    ELSE
        tgt_ident := parse_ident(p_target);
        IF cardinality(tgt_ident) = 1 THEN
            tgt_schema := src_schema;
            tgt_name := tgt_ident[1];
        ELSIF cardinality(tgt_ident) = 2 THEN
            tgt_schema := tgt_ident[1];
            tgt_name := tgt_ident[2];
        ELSE
            RAISE EXCEPTION 'improper target name "%"', p_target USING ERRCODE = 'invalid_name';
        END IF;
    END IF;
    IF tgt_schema = 'pg_temp' OR tgt_schema LIKE 'pg\_temp\_%' OR tgt_schema LIKE 'pg\_toast\_temp\_%'
       OR (SELECT relpersistence FROM pg_class
           WHERE oid = to_regclass(format('%I.%I', tgt_schema, tgt_name))) = 't' THEN
        RAISE EXCEPTION 'a job''s target cannot be a temporary table'
            USING ERRCODE = 'feature_not_supported',
                  HINT = 'A job outlives the session; name a target in a permanent schema.';
    END IF;
    tgt := to_regclass(format('%I.%I', tgt_schema, tgt_name));

    want_shape := format('%I %s, session_start %s, last_event_at %s, session_end %s, event_count bigint, closed boolean',
                         p_user_column, format_type(user_att.atttypid, user_att.atttypmod),
                         format_type(time_type, NULL), format_type(time_type, NULL), format_type(time_type, NULL))
                  || sessionize._measure_columns(p_measure_names, p_measure_types);
    IF tgt IS NOT NULL THEN
        IF NOT pg_has_role(p_caller, (SELECT relowner FROM pg_class WHERE oid = tgt), 'USAGE') THEN
            RAISE EXCEPTION 'must be owner of table %', tgt
                USING ERRCODE = 'insufficient_privilege',
                      DETAIL = 'A job''s target must belong to the job owner.';
        END IF;
        SELECT string_agg(format('%I %s', attname, format_type(atttypid, atttypmod)), ', ' ORDER BY attnum)
        INTO tgt_shape FROM pg_attribute WHERE attrelid = tgt AND attnum > 0 AND NOT attisdropped;
        IF (SELECT relkind FROM pg_class WHERE oid = tgt) <> 'r' OR tgt_shape IS DISTINCT FROM want_shape THEN
            RAISE EXCEPTION 'table % cannot be the target of a job', tgt
                USING ERRCODE = 'datatype_mismatch',
                      DETAIL = format('Its columns are (%s); a target needs (%s).', tgt_shape, want_shape),
                      HINT = 'Name another target, or drop this table and let create_job() make it.';
        END IF;
        IF EXISTS (SELECT 1 FROM sessionize.jobs WHERE target = tgt) THEN
            RAISE EXCEPTION 'table % is the target of another job', tgt USING ERRCODE = 'duplicate_object';
        END IF;
    ELSE
        IF NOT has_schema_privilege(p_caller, tgt_schema, 'CREATE') THEN
            RAISE EXCEPTION 'permission denied for schema %', tgt_schema
                USING ERRCODE = 'insufficient_privilege',
                      DETAIL = 'The job''s target table is created there.';
        END IF;
        -- room on each page for in-place (HOT) updates of extended sessions
        EXECUTE format('CREATE TABLE %I.%I (%s) WITH (fillfactor = 90)', tgt_schema, tgt_name, want_shape);
        tgt := format('%I.%I', tgt_schema, tgt_name)::regclass;
        made_target := true;
        EXECUTE format('ALTER TABLE %s OWNER TO %I', tgt, p_caller);
        EXECUTE format('COMMENT ON TABLE %s IS %L', tgt,
                       format('Sessions of %s (gap %s), kept by sessionize job; do not write to it', p_source, gap_text));
    END IF;
    -- A target made here has no index until its first run has loaded it
    -- (src/refresh.c: a full build of a target without any index builds the
    -- job's two afterwards, about twice as fast as maintaining them row by
    -- row).  A reused target gets what it lacks now.
    IF NOT made_target THEN
        -- the unique session key, and what run_job() looks sessions up by: a
        -- reused target may have it (a valid unique btree index on exactly
        -- (user, session_start), as the statement below makes it); otherwise
        -- it is made, with a name PostgreSQL picks, so that no relation that
        -- happens to have some name can stand in for it
        IF NOT EXISTS (
            SELECT 1
            FROM pg_index i
            JOIN pg_class ic ON ic.oid = i.indexrelid
            JOIN pg_opclass o0 ON o0.oid = i.indclass[0]
            JOIN pg_opclass o1 ON o1.oid = i.indclass[1]
            JOIN pg_attribute au ON au.attrelid = tgt AND au.attname = p_user_column
            JOIN pg_attribute ast ON ast.attrelid = tgt AND ast.attname = 'session_start'
            WHERE i.indrelid = tgt AND i.indisunique AND i.indisvalid AND i.indisready AND i.indislive
              AND ic.relam = (SELECT oid FROM pg_am WHERE amname = 'btree')
              AND i.indnatts = 2 AND i.indnkeyatts = 2
              AND i.indkey[0] = au.attnum AND i.indkey[1] = ast.attnum
              AND i.indexprs IS NULL AND i.indpred IS NULL
              AND o0.opcdefault AND o1.opcdefault
              AND i.indcollation[0] = au.attcollation
              AND i.indoption[0] = 0 AND i.indoption[1] = 0) THEN
            EXECUTE format('CREATE UNIQUE INDEX ON %s (%I, session_start)', tgt, p_user_column);
        END IF;
        -- the open sessions, which run_job() closes as the watermark passes
        -- them; keyed by session_start so that extending a session changes no
        -- indexed column
        IF NOT EXISTS (
            SELECT 1
            FROM pg_index i
            JOIN pg_class ic ON ic.oid = i.indexrelid
            JOIN pg_attribute ast ON ast.attrelid = tgt AND ast.attname = 'session_start'
            WHERE i.indrelid = tgt AND i.indisvalid AND i.indisready AND i.indislive
              AND ic.relam = (SELECT oid FROM pg_am WHERE amname = 'btree')
              AND i.indnkeyatts = 1 AND i.indkey[0] = ast.attnum AND i.indexprs IS NULL
              AND pg_get_expr(i.indpred, i.indrelid) = '(NOT closed)') THEN
            EXECUTE format('CREATE INDEX ON %s (session_start) WHERE NOT closed', tgt);
        END IF;
    END IF;

    INSERT INTO sessionize.jobs (source, user_column, time_column, time_type, user_type, target_user_column,
                                 gap, integer_gap, target, allowed_lateness, integer_allowed_lateness,
                                 schedule_interval, owner, notify_channel)
    VALUES (p_source, p_user_column, p_time_column, time_type, user_att.atttypid, p_user_column,
            p_gap, p_integer_gap, tgt, p_allowed_lateness, p_integer_allowed_lateness,
            p_schedule_interval, p_caller, p_notify)
    RETURNING job_id INTO new_id;
    INSERT INTO sessionize.job_measures (job_id, position, column_name, definition, result_type, merge)
    SELECT new_id, m.position, m.column_name, m.definition, m.result_type, m.merge
    FROM unnest(p_measure_names, p_measure_definitions, p_measure_types, p_measure_merges)
         WITH ORDINALITY AS m(column_name, definition, result_type, merge, position);
    INSERT INTO sessionize.job_state (job_id) VALUES (new_id);
    PERFORM sessionize._install_capture(new_id);

    IF NOT EXISTS (SELECT 1 FROM pg_index i
                   WHERE i.indrelid = p_source AND i.indnkeyatts >= 2
                     AND i.indkey[0] = user_att.attnum AND i.indkey[1] = time_att.attnum) THEN
        RAISE NOTICE 'table % has no index on (%, %)', src_name, p_user_column, p_time_column
            USING HINT = format('run_job() looks up events by user and time after deletes and updates; '
                                'consider CREATE INDEX ON %s (%I, %I).', p_source, p_user_column, p_time_column);
    END IF;
    RETURN new_id;
END
$fn$;
COMMENT ON FUNCTION sessionize._create_job(regrole, regclass, name, name, interval, bigint, name, interval, bigint, interval, text, name[], text[], text[], text[]) IS
'Internal: body of sessionize.create_job(), run as the extension owner';
REVOKE ALL ON FUNCTION sessionize._create_job(regrole, regclass, name, name, interval, bigint, name, interval, bigint, interval, text, name[], text[], text[], text[]) FROM PUBLIC;

-- Checks that p_caller may use a job: a member of its owner (which every
-- superuser is).  Returns the job.  The rule for run_job(), alter_job(),
-- drop_job() and verify() (README, Design, Threat model).
CREATE FUNCTION sessionize._check_job_caller(p_caller regrole, p_job_id bigint)
RETURNS sessionize.jobs
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    j sessionize.jobs;
BEGIN
    IF p_job_id IS NULL THEN
        RAISE EXCEPTION 'job_id must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT * INTO j FROM sessionize.jobs WHERE job_id = p_job_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'job % does not exist', p_job_id USING ERRCODE = 'undefined_object';
    END IF;
    IF NOT pg_has_role(p_caller, j.owner, 'USAGE') THEN
        RAISE EXCEPTION 'must be owner of job %', p_job_id
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = format('Job %s belongs to role %s.', p_job_id, j.owner);
    END IF;
    RETURN j;
END
$fn$;
COMMENT ON FUNCTION sessionize._check_job_caller(regrole, bigint) IS
'Internal: checks that the caller may use a job (a member of its owner) and returns it';
REVOKE ALL ON FUNCTION sessionize._check_job_caller(regrole, bigint) FROM PUBLIC;

-- Whether a type can be a job's user column: a default btree operator class
-- compares it (its own, its base type's, a binary-coercible type's, or the
-- polymorphic one of enums and records), as PostgreSQL's type cache finds
-- it, and it has an array type (the change log holds arrays of users).
-- Only the extension owner calls it (in _create_job); it reads catalogs only.
CREATE FUNCTION sessionize._can_be_user_type(regtype)
RETURNS boolean
AS 'MODULE_PATHNAME', 'sessionize_can_be_user_type'
LANGUAGE C STABLE STRICT;
COMMENT ON FUNCTION sessionize._can_be_user_type(regtype) IS
'Internal: whether a type can be a job''s user column (a default btree operator class and an array type)';
REVOKE ALL ON FUNCTION sessionize._can_be_user_type(regtype) FROM PUBLIC;

-- Locks a job for a change by p_caller, who must be a member of its owner.
CREATE FUNCTION sessionize._lock_job(p_caller regrole, p_job_id bigint)
RETURNS sessionize.jobs
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    j sessionize.jobs := sessionize._check_job_caller(p_caller, p_job_id);
BEGIN
    -- waits for a run in progress
    PERFORM 1 FROM sessionize.job_state WHERE job_id = p_job_id FOR UPDATE;
    RETURN j;
END
$fn$;
COMMENT ON FUNCTION sessionize._lock_job(regrole, bigint) IS
'Internal: checks that the caller may change a job and locks it';
REVOKE ALL ON FUNCTION sessionize._lock_job(regrole, bigint) FROM PUBLIC;

CREATE OR REPLACE FUNCTION sessionize._drop_job(p_caller regrole, p_job_id bigint, p_drop_target boolean)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    j sessionize.jobs := sessionize._lock_job(p_caller, p_job_id);
    -- a job may have outlived its source or target (one of an older build
    -- on a temporary table): then there is nothing of it to remove
    source_exists boolean := EXISTS (SELECT 1 FROM pg_class WHERE oid = j.source);
    target_owner oid := (SELECT relowner FROM pg_class WHERE oid = j.target);
BEGIN
    IF coalesce(p_drop_target, false) AND target_owner IS NOT NULL
       AND NOT pg_has_role(p_caller, target_owner, 'USAGE') THEN
        RAISE EXCEPTION 'must be owner of table %', j.target USING ERRCODE = 'insufficient_privilege';
    END IF;
    PERFORM sessionize._remove_capture(p_job_id);
    DELETE FROM sessionize.jobs WHERE job_id = p_job_id;
    IF coalesce(p_drop_target, false) AND target_owner IS NOT NULL THEN
        EXECUTE format('DROP TABLE %s', j.target);
    END IF;
END
$fn$;
COMMENT ON FUNCTION sessionize._drop_job(regrole, bigint, boolean) IS
'Internal: body of sessionize.drop_job(), run as the extension owner';
REVOKE ALL ON FUNCTION sessionize._drop_job(regrole, bigint, boolean) FROM PUBLIC;

-- alter_job(measures => ...): the target's measure columns become the new
-- list's (the old ones dropped, the new ones added, in the list's order),
-- and the next run rebuilds.  The target must still belong to the job
-- owner, as drop_job(drop_target) wants.
CREATE FUNCTION sessionize._set_measures(p_caller regrole, j sessionize.jobs, p_names name[],
    p_definitions text[], p_types text[], p_merges text[])
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    target_owner oid := (SELECT relowner FROM pg_class WHERE oid = j.target);
    col name;
BEGIN
    IF target_owner IS NULL THEN
        RAISE EXCEPTION 'target table of job % no longer exists', j.job_id
            USING ERRCODE = 'undefined_table',
                  HINT = format('Drop the job with sessionize.drop_job(%s).', j.job_id);
    END IF;
    IF NOT pg_has_role(p_caller, target_owner, 'USAGE') THEN
        RAISE EXCEPTION 'must be owner of table %', j.target
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = 'Changing a job''s measures changes the columns of its target.';
    END IF;
    FOR col IN SELECT column_name FROM sessionize.job_measures WHERE job_id = j.job_id ORDER BY position LOOP
        IF EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = j.target AND attname = col AND attnum > 0
                   AND NOT attisdropped) THEN
            EXECUTE format('ALTER TABLE %s DROP COLUMN %I', j.target, col);
        END IF;
    END LOOP;
    DELETE FROM sessionize.job_measures WHERE job_id = j.job_id;
    FOR k IN 1 .. coalesce(cardinality(p_names), 0) LOOP
        EXECUTE format('ALTER TABLE %s ADD COLUMN %I %s', j.target, p_names[k], p_types[k]);
        INSERT INTO sessionize.job_measures (job_id, position, column_name, definition, result_type, merge)
        VALUES (j.job_id, k, p_names[k], p_definitions[k], p_types[k], p_merges[k]);
    END LOOP;
    UPDATE sessionize.job_state SET needs_rebuild = true WHERE job_id = j.job_id;
END
$fn$;
COMMENT ON FUNCTION sessionize._set_measures(regrole, sessionize.jobs, name[], text[], text[], text[]) IS
'Internal: alter_job(measures => ...): replaces a job''s measures and its target''s measure columns, run as the extension owner';
REVOKE ALL ON FUNCTION sessionize._set_measures(regrole, sessionize.jobs, name[], text[], text[], text[]) FROM PUBLIC;

CREATE FUNCTION sessionize._alter_job(p_caller regrole, p_job_id bigint, p_gap interval,
    p_integer_gap bigint, p_allowed_lateness interval, p_integer_allowed_lateness bigint,
    p_schedule_interval interval, p_active boolean, p_notify text,
    p_measure_names name[], p_measure_definitions text[], p_measure_types text[],
    p_measure_merges text[])
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    j sessionize.jobs := sessionize._lock_job(p_caller, p_job_id);
    src_name name := (SELECT relname FROM pg_class WHERE oid = j.source);
    new_gap boolean;
BEGIN
    IF (j.time_type = 'bigint'::regtype AND (p_gap IS NOT NULL OR p_allowed_lateness IS NOT NULL))
       OR (j.time_type <> 'bigint'::regtype AND (p_integer_gap IS NOT NULL OR p_integer_allowed_lateness IS NOT NULL)) THEN
        RAISE EXCEPTION 'job % is on % times: its gap and allowed_lateness are %', p_job_id, j.time_type,
            CASE WHEN j.time_type = 'bigint'::regtype THEN 'bigint' ELSE 'intervals' END
            USING ERRCODE = 'datatype_mismatch';
    END IF;
    IF p_gap IS NOT NULL THEN
        PERFORM sessionize._check_job_interval(p_gap, 'gap');
    END IF;
    IF p_integer_gap IS NOT NULL THEN
        PERFORM sessionize._check_job_integer(p_integer_gap, 'gap');
    END IF;
    new_gap := (p_gap IS NOT NULL AND p_gap <> j.gap) OR (p_integer_gap IS NOT NULL AND p_integer_gap <> j.integer_gap);
    IF new_gap THEN
        -- a new gap changes what capture does on the source, which takes
        -- what installing capture took
        IF src_name IS NULL THEN
            RAISE EXCEPTION 'source table of job % no longer exists', p_job_id
                USING ERRCODE = 'undefined_table',
                      HINT = format('Drop the job with sessionize.drop_job(%s).', p_job_id);
        END IF;
        IF NOT has_table_privilege(p_caller, j.source, 'TRIGGER') THEN
            RAISE EXCEPTION 'permission denied for table %', src_name
                USING ERRCODE = 'insufficient_privilege',
                      DETAIL = 'Changing the gap of a job changes its change capture, which needs TRIGGER on its source.';
        END IF;
    END IF;
    IF p_allowed_lateness IS NOT NULL THEN
        PERFORM sessionize._check_job_interval(p_allowed_lateness, 'allowed_lateness');
    END IF;
    IF p_integer_allowed_lateness IS NOT NULL THEN
        PERFORM sessionize._check_job_integer(p_integer_allowed_lateness, 'allowed_lateness');
    END IF;
    IF p_schedule_interval IS NOT NULL THEN
        PERFORM sessionize._check_job_interval(p_schedule_interval, 'schedule_interval');
    END IF;
    PERFORM sessionize._check_channel(p_notify, true);
    UPDATE sessionize.jobs
    SET gap = coalesce(p_gap, gap),
        integer_gap = coalesce(p_integer_gap, integer_gap),
        allowed_lateness = coalesce(p_allowed_lateness, allowed_lateness),
        integer_allowed_lateness = coalesce(p_integer_allowed_lateness, integer_allowed_lateness),
        schedule_interval = coalesce(p_schedule_interval, schedule_interval),
        active = coalesce(p_active, active),
        notify_channel = CASE WHEN p_notify IS NULL THEN notify_channel ELSE nullif(p_notify, '') END
    WHERE job_id = p_job_id;
    IF p_schedule_interval IS NOT NULL THEN
        -- the new schedule counts from the last run
        UPDATE sessionize.job_state SET next_start = last_run_at + p_schedule_interval
        WHERE job_id = p_job_id AND last_run_at IS NOT NULL AND consecutive_failures = 0;
    END IF;
    IF new_gap THEN
        -- capture summarises with the gap it reads from the catalog; a log
        -- entry made with another gap makes its run rebuild, and so does
        -- this change
        UPDATE sessionize.job_state SET needs_rebuild = true WHERE job_id = p_job_id;
    END IF;
    IF p_allowed_lateness IS NOT NULL OR p_integer_allowed_lateness IS NOT NULL THEN
        -- the watermark never moves backwards
        UPDATE sessionize.job_state
        SET watermark = greatest(watermark, sessionize._watermark_after(max_event_time, p_allowed_lateness,
                                                                        p_integer_allowed_lateness))
        WHERE job_id = p_job_id;
    END IF;
    IF p_measure_names IS NOT NULL THEN
        PERFORM sessionize._set_measures(p_caller, j, p_measure_names, p_measure_definitions, p_measure_types,
                                         p_measure_merges);
    END IF;
END
$fn$;
COMMENT ON FUNCTION sessionize._alter_job(regrole, bigint, interval, bigint, interval, bigint, interval, boolean, text, name[], text[], text[], text[]) IS
'Internal: body of sessionize.alter_job(), run as the extension owner';
REVOKE ALL ON FUNCTION sessionize._alter_job(regrole, bigint, interval, bigint, interval, bigint, interval, boolean, text, name[], text[], text[], text[]) FROM PUBLIC;

-- ---------------------------------------------------------------------------
-- The job API.  These C functions check the caller, then run the bodies
-- above as the extension owner (create, alter, drop) or run the job as its
-- owner (run_job).
-- ---------------------------------------------------------------------------

CREATE FUNCTION sessionize.create_job(source regclass, user_column name, time_column name,
    gap "any", target name DEFAULT NULL, allowed_lateness "any" DEFAULT NULL,
    schedule_interval interval DEFAULT interval '10 seconds', notify text DEFAULT NULL,
    measures text DEFAULT NULL)
RETURNS bigint
AS 'MODULE_PATHNAME', 'sessionize_create_job'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION sessionize.create_job(regclass, name, name, "any", name, "any", interval, text, text) IS
'Creates a job that keeps a table of the sessions of source (default target <source>_sessions) and installs change capture; returns the job id; time_column is timestamptz, timestamp or bigint, and gap and allowed_lateness are intervals for timestamps, integers in the unit of the times for bigint; the first run (by the background worker, run_due_jobs() or run_job()) is a full build; notify names a channel that each run changing sessions notifies; measures lists per-session aggregates (sum(amount) AS revenue, first(page) AS landing_page, ...), one target column each';

CREATE FUNCTION sessionize.alter_job(job_id bigint, gap "any" DEFAULT NULL,
    allowed_lateness "any" DEFAULT NULL, schedule_interval interval DEFAULT NULL,
    active boolean DEFAULT NULL, notify text DEFAULT NULL, measures text DEFAULT NULL)
RETURNS void
AS 'MODULE_PATHNAME', 'sessionize_alter_job'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION sessionize.alter_job(bigint, "any", "any", interval, boolean, text, text) IS
'Changes a job''s gap (the next run rebuilds the target; an interval, or an integer for bigint times), allowed lateness, schedule, active flag (inactive jobs are not scheduled), NOTIFY channel ('''' for none) or measures ('''' for none; the target''s measure columns are replaced and the next run rebuilds); NULL leaves a setting as it is';

CREATE FUNCTION sessionize.run_job(job_id bigint,
    OUT events_inserted bigint, OUT events_deleted bigint, OUT sessions_inserted bigint,
    OUT sessions_updated bigint, OUT sessions_deleted bigint, OUT late_events bigint,
    OUT watermark text, OUT full_rebuild boolean)
RETURNS record
AS 'MODULE_PATHNAME', 'sessionize_run_job'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION sessionize.run_job(bigint) IS
'One incremental pass of a job, in the caller''s transaction: applies every committed change of the source since the last pass to the target, advances the watermark (as text in the time column''s type), and says what it did';

CREATE FUNCTION sessionize.run_due_jobs(
    OUT job_id bigint, OUT status text, OUT events_inserted bigint, OUT events_deleted bigint,
    OUT sessions_inserted bigint, OUT sessions_updated bigint, OUT sessions_deleted bigint,
    OUT sessions_closed bigint, OUT late_events bigint, OUT watermark text,
    OUT full_rebuild boolean, OUT message text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'sessionize_run_due_jobs'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION sessionize.run_due_jobs() IS
'Runs every active, due job that the caller may run and that has changes to apply, oldest due first, each as its owner in a subtransaction of its own; a failure is recorded (last_error, backoff) and the other jobs still run; returns one row per run (for pg_cron or another external scheduler)';

-- verify(): the target against a recomputation from scratch.  In C
-- (src/refresh.c): a member of the job's owner (or a superuser) may call it,
-- and it reads the source and the target as the job owner, restricted.
CREATE FUNCTION sessionize.verify(job_id bigint)
RETURNS TABLE (difference text, user_key text, session_start text, last_event_at text,
               session_end text, event_count bigint, closed boolean, measures text)
AS 'MODULE_PATHNAME', 'sessionize_verify'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION sessionize.verify(bigint) IS
'Compares a job''s target with a recomputation from scratch of the source''s sessions (as of the watermark for closed); returns the rows that differ, times as text in the time column''s type: none when the job is exact';

-- What create_job(..., measures => ...) would keep in job_measures for a
-- job on source: each measure parsed, checked and deparsed (or the error
-- create_job() would raise), so that a list can be compared with a job's
-- without altering the job.  Anyone may call it; it runs as the caller.
CREATE FUNCTION sessionize.parse_measures(source regclass, user_column name, time_column name, measures text)
RETURNS TABLE ("position" integer, column_name name, definition text, result_type text, merge text)
AS 'MODULE_PATHNAME', 'sessionize_parse_measures_sql'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION sessionize.parse_measures(regclass, name, name, text) IS
'The measures a job on source would keep (as in sessionize.job_measures), parsed, checked and deparsed from a list such as ''sum(amount) AS revenue, first(page) AS landing_page''; raises the error create_job() would';

-- ---------------------------------------------------------------------------
-- A job whose source or target is dropped goes with it, so that no job is
-- left pointing at a table that no longer exists.  SECURITY DEFINER: any
-- role that may drop the table may end the job that depends on it.
-- ---------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION sessionize._on_sql_drop()
RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    j record;
BEGIN
    FOR j IN
        SELECT DISTINCT jobs.job_id, jobs.source::oid AS source_oid, d.objid AS dropped, d.object_identity
        FROM pg_event_trigger_dropped_objects() d
        JOIN sessionize.jobs ON d.classid = 'pg_class'::regclass AND d.objsubid = 0
                            AND d.objid IN (jobs.source::oid, jobs.target::oid)
    LOOP
        CONTINUE WHEN NOT EXISTS (SELECT 1 FROM sessionize.jobs WHERE job_id = j.job_id);
        -- the source's triggers go with the source; otherwise remove them
        PERFORM sessionize._remove_capture(j.job_id);
        DELETE FROM sessionize.jobs WHERE job_id = j.job_id;
        RAISE NOTICE 'dropped sessionize job % along with %', j.job_id, j.object_identity;
    END LOOP;
    -- a partition dropped with its rows: the next run rebuilds from what is left
    FOR j IN
        SELECT DISTINCT r.job_id
        FROM pg_event_trigger_dropped_objects() d
        JOIN sessionize.job_relations r ON d.classid = 'pg_class'::regclass AND d.objsubid = 0
                                       AND d.objid = r.rel::oid
    LOOP
        DELETE FROM sessionize.job_relations r
        WHERE r.job_id = j.job_id
          AND r.rel::oid IN (SELECT d.objid FROM pg_event_trigger_dropped_objects() d
                             WHERE d.classid = 'pg_class'::regclass AND d.objsubid = 0);
        PERFORM sessionize._log_rebuild(j.job_id);
    END LOOP;
END
$fn$;
COMMENT ON FUNCTION sessionize._on_sql_drop() IS
'Internal: drops the jobs whose source or target table was dropped';
REVOKE ALL ON FUNCTION sessionize._on_sql_drop() FROM PUBLIC;

-- ---------------------------------------------------------------------------
-- 5. Change capture.  0.1.0's triggers (five arguments: job id, log, column
--    numbers, gap; statement triggers on the source alone) go: every trigger
--    that calls sessionize.capture(), wherever it is, since 0.1.0 let anyone
--    attach it.  Then each job gets capture as 0.2.0's create_job() installs
--    it (_install_capture(): a new log, and triggers on the source and on
--    each partition, listed in job_relations), and the entries pending in
--    its old log move to the new one, with the gap 0.1.0 summarised them
--    with, the job's (a run rebuilds on any other), and the update's time as
--    logged_at; the first run applies them, once.
--
--    A 0.1.0 log belonged to the job owner, who could change it: one that
--    is not as 0.1.0 made it is not read (no code put on it runs for the
--    superuser updating), and the job's first run rebuilds instead, as it
--    does when the old log is gone.  A job whose source is gone gets no
--    capture; drop_job() ends it.
-- ---------------------------------------------------------------------------

DO $$
DECLARE
    t record;
    j record;
    ext_owner pg_catalog.regrole := (SELECT e.extowner FROM pg_catalog.pg_extension e
                                     WHERE e.extname = 'sessionize');
    old_log pg_catalog.regclass;
    new_log pg_catalog.regclass;
    old_shape text[];
    log_shape text[];
BEGIN
    FOR t IN SELECT tg.tgrelid::pg_catalog.regclass AS rel, tg.tgname
             FROM pg_catalog.pg_trigger tg
             WHERE tg.tgfoid = 'sessionize.capture()'::pg_catalog.regprocedure AND tg.tgparentid = 0
             ORDER BY tg.tgrelid, tg.tgname
    LOOP
        EXECUTE pg_catalog.format('DROP TRIGGER %I ON %s', t.tgname, t.rel);
    END LOOP;

    FOR j IN SELECT * FROM sessionize.jobs ORDER BY job_id LOOP
        -- the old log steps aside, and goes once its entries have moved
        old_log := pg_catalog.to_regclass(sessionize._job_object(j.job_id, 'log'));
        IF old_log IS NOT NULL THEN
            EXECUTE pg_catalog.format('ALTER TABLE %s SET SCHEMA sessionize_update_0_1_0', old_log);
        END IF;

        IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_class c WHERE c.oid = j.source) THEN
            RAISE WARNING 'the source table of sessionize job % no longer exists: the job captures nothing', j.job_id
                USING HINT = pg_catalog.format('Drop it with sessionize.drop_job(%s).', j.job_id);
        ELSE
            PERFORM sessionize._install_capture(j.job_id);
            new_log := sessionize._job_object(j.job_id, 'log')::pg_catalog.regclass;
            -- a table made by an extension script would belong to the
            -- extension; a log is the job's, an ordinary table that pg_dump
            -- dumps with its entries, as when create_job() makes it
            EXECUTE pg_catalog.format('ALTER EXTENSION sessionize DROP TABLE %s', new_log);
            -- (create_job() makes the log as the extension owner)
            IF ext_owner <> current_user::pg_catalog.regrole THEN
                EXECUTE pg_catalog.format('ALTER TABLE %s OWNER TO %I', new_log, ext_owner);
            END IF;

            -- the columns of a 0.1.0 log, of its job's user type
            log_shape := ARRAY['hi ' || 'timestamptz[]'::pg_catalog.regtype::pg_catalog.oid,
                               'kind ' || '"char"'::pg_catalog.regtype::pg_catalog.oid,
                               'late ' || 'bigint[]'::pg_catalog.regtype::pg_catalog.oid,
                               'lo ' || 'timestamptz[]'::pg_catalog.regtype::pg_catalog.oid,
                               'n ' || 'bigint[]'::pg_catalog.regtype::pg_catalog.oid,
                               'u ' || (SELECT ty.typarray FROM pg_catalog.pg_type ty WHERE ty.oid = j.user_type)];
            old_shape := (SELECT pg_catalog.array_agg(a.attname || ' ' || a.atttypid ORDER BY a.attname)
                          FROM pg_catalog.pg_attribute a
                          WHERE a.attrelid = old_log AND a.attnum > 0 AND NOT a.attisdropped);
            IF old_log IS NULL THEN
                -- its owner dropped it: what was pending, and what was
                -- written since, is unknown
                RAISE WARNING 'the change log of sessionize job % is gone: the first run rebuilds', j.job_id;
                PERFORM sessionize._log_rebuild(j.job_id);
            ELSIF (SELECT c.relkind FROM pg_catalog.pg_class c WHERE c.oid = old_log) = 'r'
                  AND old_shape = log_shape THEN
                -- (ONLY: not the rows of tables that its owner made inherit it)
                EXECUTE pg_catalog.format(
                    'INSERT INTO %s (kind, u, lo, hi, n, late, gap) '
                    'SELECT kind, u, lo, hi, n, late, CASE WHEN kind = ''t'' THEN NULL ELSE $1 END FROM ONLY %s',
                    new_log, old_log)
                USING (extract(epoch FROM j.gap) * 1000000)::bigint;
            ELSE
                RAISE WARNING 'the change log of sessionize job % was altered: the first run rebuilds', j.job_id;
                PERFORM sessionize._log_rebuild(j.job_id);
            END IF;
        END IF;

        IF old_log IS NOT NULL THEN
            EXECUTE pg_catalog.format('DROP TABLE %s', old_log);
        END IF;
    END LOOP;
END
$$;

-- ---------------------------------------------------------------------------
-- 6. The rest of 0.1.0 goes: its catalog tables, whose rows are copied, and
--    the schema that held them.  The event triggers are 0.2.0's: the one
--    that drops jobs is on again, now also under session_replication_role =
--    replica, and the one that follows DDL on sources comes.
-- ---------------------------------------------------------------------------

DROP FUNCTION sessionize_update_0_1_0.ticks(timestamptz);
DROP TABLE sessionize_update_0_1_0.job_state, sessionize_update_0_1_0.jobs;
DROP SCHEMA sessionize_update_0_1_0;

-- (also under session_replication_role = replica, as on a logical replica)
ALTER EVENT TRIGGER sessionize_drop_jobs ENABLE ALWAYS;

-- Keeps jobs in step with DDL on their sources (src/ddl_events.c): column
-- renames, partitions created, attached or detached, columns dropped or
-- changing type.  Runs for DDL by any role; does its catalog work as the
-- extension owner.
CREATE FUNCTION sessionize._on_ddl_end()
RETURNS event_trigger
AS 'MODULE_PATHNAME', 'sessionize_on_ddl_end'
LANGUAGE C;
COMMENT ON FUNCTION sessionize._on_ddl_end() IS
'Internal: follows column renames and partition changes of job sources';
REVOKE ALL ON FUNCTION sessionize._on_ddl_end() FROM PUBLIC;

CREATE EVENT TRIGGER sessionize_follow_ddl ON ddl_command_end
WHEN TAG IN ('ALTER TABLE', 'CREATE TABLE')
EXECUTE FUNCTION sessionize._on_ddl_end();
ALTER EVENT TRIGGER sessionize_follow_ddl ENABLE ALWAYS;
COMMENT ON EVENT TRIGGER sessionize_follow_ddl IS
'Keeps sessionize jobs in step with column renames, type changes and partition changes of their sources';

-- ---------------------------------------------------------------------------
-- 7. timestamp and bigint times: the session row types of schema.sql, and
--    sessions(), merge_sessions() and sessionize() for them, as sessions.sql
--    defines them.
-- ---------------------------------------------------------------------------

-- The same for timestamp times, and for bigint epochs (the gap, and so
-- session_end, in the same unit as the times).
CREATE TYPE sessionize.session_timestamp AS (
    session_start timestamp,
    last_event_at timestamp,
    session_end timestamp,
    event_count bigint
);
COMMENT ON TYPE sessionize.session_timestamp IS
'One session of timestamp times: time of its first and last event, session_end = last_event_at + gap (exclusive), and its number of events';

CREATE TYPE sessionize.session_bigint AS (
    session_start bigint,
    last_event_at bigint,
    session_end bigint,
    event_count bigint
);
COMMENT ON TYPE sessionize.session_bigint IS
'One session of bigint epoch times: time of its first and last event, session_end = last_event_at + gap (exclusive, in the same unit), and its number of events';

CREATE FUNCTION sessionize.sessions_transfn(internal, timestamp, interval)
RETURNS internal
AS 'MODULE_PATHNAME', 'sessions_trans'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION sessionize.sessions_transfn(internal, timestamp, interval) IS
'Transition function of sessionize.sessions() for timestamp times; not for direct use';

CREATE FUNCTION sessionize.sessions_transfn(internal, bigint, bigint)
RETURNS internal
AS 'MODULE_PATHNAME', 'sessions_trans'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION sessionize.sessions_transfn(internal, bigint, bigint) IS
'Transition function of sessionize.sessions() for bigint times; not for direct use';

CREATE FUNCTION sessionize.sessions_timestamp_finalfn(internal)
RETURNS sessionize.session_timestamp[]
AS 'MODULE_PATHNAME', 'sessions_final'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION sessionize.sessions_timestamp_finalfn(internal) IS
'Final function of sessionize.sessions() and merge_sessions() for timestamp times; not for direct use';

CREATE FUNCTION sessionize.sessions_bigint_finalfn(internal)
RETURNS sessionize.session_bigint[]
AS 'MODULE_PATHNAME', 'sessions_final'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION sessionize.sessions_bigint_finalfn(internal) IS
'Final function of sessionize.sessions() and merge_sessions() for bigint times; not for direct use';

CREATE AGGREGATE sessionize.sessions(ts timestamp, gap interval) (
    SFUNC = sessionize.sessions_transfn,
    STYPE = internal,
    SSPACE = 160,
    FINALFUNC = sessionize.sessions_timestamp_finalfn,
    COMBINEFUNC = sessionize.sessions_combinefn,
    SERIALFUNC = sessionize.sessions_serialfn,
    DESERIALFUNC = sessionize.sessions_deserialfn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE sessionize.sessions(timestamp, interval) IS
'Grouping aggregate: the sessions of the group''s timestamp events, in time order; input in any order; the gap must be the same on every row';

CREATE AGGREGATE sessionize.sessions(ts bigint, gap bigint) (
    SFUNC = sessionize.sessions_transfn,
    STYPE = internal,
    SSPACE = 160,
    FINALFUNC = sessionize.sessions_bigint_finalfn,
    COMBINEFUNC = sessionize.sessions_combinefn,
    SERIALFUNC = sessionize.sessions_serialfn,
    DESERIALFUNC = sessionize.sessions_deserialfn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE sessionize.sessions(bigint, bigint) IS
'Grouping aggregate: the sessions of the group''s bigint epoch events (gap in the same unit), in time order; input in any order; the gap must be the same on every row';

CREATE FUNCTION sessionize.merge_sessions_transfn(internal, timestamp, timestamp, bigint, interval)
RETURNS internal
AS 'MODULE_PATHNAME', 'merge_sessions_trans'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION sessionize.merge_sessions_transfn(internal, timestamp, timestamp, bigint, interval) IS
'Transition function of sessionize.merge_sessions() for timestamp times; not for direct use';

CREATE FUNCTION sessionize.merge_sessions_transfn(internal, bigint, bigint, bigint, bigint)
RETURNS internal
AS 'MODULE_PATHNAME', 'merge_sessions_trans'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION sessionize.merge_sessions_transfn(internal, bigint, bigint, bigint, bigint) IS
'Transition function of sessionize.merge_sessions() for bigint times; not for direct use';

CREATE AGGREGATE sessionize.merge_sessions(session_start timestamp, last_event_at timestamp, event_count bigint, gap interval) (
    SFUNC = sessionize.merge_sessions_transfn,
    STYPE = internal,
    SSPACE = 160,
    FINALFUNC = sessionize.sessions_timestamp_finalfn,
    COMBINEFUNC = sessionize.sessions_combinefn,
    SERIALFUNC = sessionize.sessions_serialfn,
    DESERIALFUNC = sessionize.sessions_deserialfn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE sessionize.merge_sessions(timestamp, timestamp, bigint, interval) IS
'Grouping aggregate: the sessions of the events behind a set of session summaries of timestamp times (start, last event, count), in any order, merging those that overlap or lie within the gap; skips rows whose times are both NULL, rejects summaries of no possible events';

CREATE AGGREGATE sessionize.merge_sessions(session_start bigint, last_event_at bigint, event_count bigint, gap bigint) (
    SFUNC = sessionize.merge_sessions_transfn,
    STYPE = internal,
    SSPACE = 160,
    FINALFUNC = sessionize.sessions_bigint_finalfn,
    COMBINEFUNC = sessionize.sessions_combinefn,
    SERIALFUNC = sessionize.sessions_serialfn,
    DESERIALFUNC = sessionize.sessions_deserialfn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE sessionize.merge_sessions(bigint, bigint, bigint, bigint) IS
'Grouping aggregate: the sessions of the events behind a set of session summaries of bigint epoch times (start, last event, count; gap in the same unit), in any order, merging those that overlap or lie within the gap; skips rows whose times are both NULL, rejects summaries of no possible events';

CREATE FUNCTION sessionize.sessionize(source regclass, user_column name, time_column name, gap bigint)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'sessionize_relation'
LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION sessionize.sessionize(regclass, name, name, bigint) IS
'One row per session of a table''s bigint epoch events (gap in the same unit), read in one pass with no sort; call with AS s(user <user column type>, session_start bigint, last_event_at bigint, session_end bigint, event_count bigint)';
