-- sessionize--0.1.0.sql: install script of sessionize 0.1.0.
--
-- Everything lives in schema sessionize.  The control file says
-- schema = pg_catalog, so CREATE SCHEMA below fails if a schema of that name
-- already exists (possibly created by another role) instead of adopting it.
-- Every object is schema-qualified, and functions that run SQL pin their
-- search_path.

\echo Use "CREATE EXTENSION sessionize" to load this file. \quit

CREATE SCHEMA sessionize;
COMMENT ON SCHEMA sessionize IS 'sessionize: session windows over event streams';
GRANT USAGE ON SCHEMA sessionize TO PUBLIC;

-- ---------------------------------------------------------------------------
-- Session rows
-- ---------------------------------------------------------------------------

CREATE TYPE sessionize.session AS (
    session_start timestamptz,
    last_event_at timestamptz,
    session_end timestamptz,
    event_count bigint
);
COMMENT ON TYPE sessionize.session IS
'One session: time of its first and last event, session_end = last_event_at + gap (Flink''s SESSION_END, exclusive), and its number of events';

-- ---------------------------------------------------------------------------
-- Window forms: session_id() and session_start()
--
-- One C transition function serves every signature; it checks the window
-- clause (ORDER BY the time argument, frame up to CURRENT ROW) and the row
-- order.  The gap may vary per row (Spark's dynamic gap).
-- ---------------------------------------------------------------------------

CREATE FUNCTION sessionize.session_id_finalfn(internal)
RETURNS bigint
AS 'MODULE_PATHNAME', 'session_window_id_final'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION sessionize.session_id_finalfn(internal) IS
'Final function of sessionize.session_id(); not for direct use';

CREATE FUNCTION sessionize.session_start_tz_finalfn(internal)
RETURNS timestamptz
AS 'MODULE_PATHNAME', 'session_window_start_final'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION sessionize.session_start_tz_finalfn(internal) IS
'Final function of sessionize.session_start() on timestamptz; not for direct use';

CREATE FUNCTION sessionize.session_start_ts_finalfn(internal)
RETURNS timestamp
AS 'MODULE_PATHNAME', 'session_window_start_final'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION sessionize.session_start_ts_finalfn(internal) IS
'Final function of sessionize.session_start() on timestamp; not for direct use';

CREATE FUNCTION sessionize.session_start_int_finalfn(internal)
RETURNS bigint
AS 'MODULE_PATHNAME', 'session_window_start_final'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION sessionize.session_start_int_finalfn(internal) IS
'Final function of sessionize.session_start() on bigint; not for direct use';

CREATE FUNCTION sessionize.session_window_transfn(internal, timestamptz, interval)
RETURNS internal
AS 'MODULE_PATHNAME', 'session_window_trans'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION sessionize.session_window_transfn(internal, timestamptz, interval) IS
'Transition function of sessionize.session_id() and sessionize.session_start(); not for direct use';

CREATE AGGREGATE sessionize.session_id(ts timestamptz, gap interval) (
    SFUNC = sessionize.session_window_transfn,
    STYPE = internal,
    FINALFUNC = sessionize.session_id_finalfn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE sessionize.session_id(timestamptz, interval) IS
'Window function: 1-based number of the row''s session within its partition (the gap rule alone); use OVER (PARTITION BY key ORDER BY ts)';

CREATE AGGREGATE sessionize.session_start(ts timestamptz, gap interval) (
    SFUNC = sessionize.session_window_transfn,
    STYPE = internal,
    FINALFUNC = sessionize.session_start_tz_finalfn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE sessionize.session_start(timestamptz, interval) IS
'Window function: time of the first event of the row''s session (the gap rule alone); with the key, the session''s stable identity; use OVER (PARTITION BY key ORDER BY ts)';

CREATE FUNCTION sessionize.session_window_transfn(internal, timestamptz, interval, interval)
RETURNS internal
AS 'MODULE_PATHNAME', 'session_window_trans'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION sessionize.session_window_transfn(internal, timestamptz, interval, interval) IS
'Transition function of sessionize.session_id() and sessionize.session_start(); not for direct use';

CREATE AGGREGATE sessionize.session_id(ts timestamptz, gap interval, max_duration interval) (
    SFUNC = sessionize.session_window_transfn,
    STYPE = internal,
    FINALFUNC = sessionize.session_id_finalfn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE sessionize.session_id(timestamptz, interval, interval) IS
'Window function: 1-based number of the row''s session within its partition (max_duration: an event that would make its session longer than max_duration starts a new one); use OVER (PARTITION BY key ORDER BY ts)';

CREATE AGGREGATE sessionize.session_start(ts timestamptz, gap interval, max_duration interval) (
    SFUNC = sessionize.session_window_transfn,
    STYPE = internal,
    FINALFUNC = sessionize.session_start_tz_finalfn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE sessionize.session_start(timestamptz, interval, interval) IS
'Window function: time of the first event of the row''s session (max_duration: an event that would make its session longer than max_duration starts a new one); with the key, the session''s stable identity; use OVER (PARTITION BY key ORDER BY ts)';

CREATE FUNCTION sessionize.session_window_transfn(internal, timestamptz, interval, boolean)
RETURNS internal
AS 'MODULE_PATHNAME', 'session_window_trans'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION sessionize.session_window_transfn(internal, timestamptz, interval, boolean) IS
'Transition function of sessionize.session_id() and sessionize.session_start(); not for direct use';

CREATE AGGREGATE sessionize.session_id(ts timestamptz, gap interval, starts_session boolean) (
    SFUNC = sessionize.session_window_transfn,
    STYPE = internal,
    FINALFUNC = sessionize.session_id_finalfn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE sessionize.session_id(timestamptz, interval, boolean) IS
'Window function: 1-based number of the row''s session within its partition (starts_session: a row whose flag is true starts a new session (unless it ties with the previous event)); use OVER (PARTITION BY key ORDER BY ts)';

CREATE AGGREGATE sessionize.session_start(ts timestamptz, gap interval, starts_session boolean) (
    SFUNC = sessionize.session_window_transfn,
    STYPE = internal,
    FINALFUNC = sessionize.session_start_tz_finalfn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE sessionize.session_start(timestamptz, interval, boolean) IS
'Window function: time of the first event of the row''s session (starts_session: a row whose flag is true starts a new session (unless it ties with the previous event)); with the key, the session''s stable identity; use OVER (PARTITION BY key ORDER BY ts)';

CREATE FUNCTION sessionize.session_window_transfn(internal, timestamptz, interval, interval, boolean)
RETURNS internal
AS 'MODULE_PATHNAME', 'session_window_trans'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION sessionize.session_window_transfn(internal, timestamptz, interval, interval, boolean) IS
'Transition function of sessionize.session_id() and sessionize.session_start(); not for direct use';

CREATE AGGREGATE sessionize.session_id(ts timestamptz, gap interval, max_duration interval, starts_session boolean) (
    SFUNC = sessionize.session_window_transfn,
    STYPE = internal,
    FINALFUNC = sessionize.session_id_finalfn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE sessionize.session_id(timestamptz, interval, interval, boolean) IS
'Window function: 1-based number of the row''s session within its partition (max_duration and starts_session); use OVER (PARTITION BY key ORDER BY ts)';

CREATE AGGREGATE sessionize.session_start(ts timestamptz, gap interval, max_duration interval, starts_session boolean) (
    SFUNC = sessionize.session_window_transfn,
    STYPE = internal,
    FINALFUNC = sessionize.session_start_tz_finalfn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE sessionize.session_start(timestamptz, interval, interval, boolean) IS
'Window function: time of the first event of the row''s session (max_duration and starts_session); with the key, the session''s stable identity; use OVER (PARTITION BY key ORDER BY ts)';

CREATE FUNCTION sessionize.session_window_transfn(internal, timestamp, interval)
RETURNS internal
AS 'MODULE_PATHNAME', 'session_window_trans'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION sessionize.session_window_transfn(internal, timestamp, interval) IS
'Transition function of sessionize.session_id() and sessionize.session_start(); not for direct use';

CREATE AGGREGATE sessionize.session_id(ts timestamp, gap interval) (
    SFUNC = sessionize.session_window_transfn,
    STYPE = internal,
    FINALFUNC = sessionize.session_id_finalfn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE sessionize.session_id(timestamp, interval) IS
'Window function: 1-based number of the row''s session within its partition (the gap rule alone); use OVER (PARTITION BY key ORDER BY ts)';

CREATE AGGREGATE sessionize.session_start(ts timestamp, gap interval) (
    SFUNC = sessionize.session_window_transfn,
    STYPE = internal,
    FINALFUNC = sessionize.session_start_ts_finalfn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE sessionize.session_start(timestamp, interval) IS
'Window function: time of the first event of the row''s session (the gap rule alone); with the key, the session''s stable identity; use OVER (PARTITION BY key ORDER BY ts)';

CREATE FUNCTION sessionize.session_window_transfn(internal, timestamp, interval, interval)
RETURNS internal
AS 'MODULE_PATHNAME', 'session_window_trans'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION sessionize.session_window_transfn(internal, timestamp, interval, interval) IS
'Transition function of sessionize.session_id() and sessionize.session_start(); not for direct use';

CREATE AGGREGATE sessionize.session_id(ts timestamp, gap interval, max_duration interval) (
    SFUNC = sessionize.session_window_transfn,
    STYPE = internal,
    FINALFUNC = sessionize.session_id_finalfn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE sessionize.session_id(timestamp, interval, interval) IS
'Window function: 1-based number of the row''s session within its partition (max_duration: an event that would make its session longer than max_duration starts a new one); use OVER (PARTITION BY key ORDER BY ts)';

CREATE AGGREGATE sessionize.session_start(ts timestamp, gap interval, max_duration interval) (
    SFUNC = sessionize.session_window_transfn,
    STYPE = internal,
    FINALFUNC = sessionize.session_start_ts_finalfn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE sessionize.session_start(timestamp, interval, interval) IS
'Window function: time of the first event of the row''s session (max_duration: an event that would make its session longer than max_duration starts a new one); with the key, the session''s stable identity; use OVER (PARTITION BY key ORDER BY ts)';

CREATE FUNCTION sessionize.session_window_transfn(internal, timestamp, interval, boolean)
RETURNS internal
AS 'MODULE_PATHNAME', 'session_window_trans'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION sessionize.session_window_transfn(internal, timestamp, interval, boolean) IS
'Transition function of sessionize.session_id() and sessionize.session_start(); not for direct use';

CREATE AGGREGATE sessionize.session_id(ts timestamp, gap interval, starts_session boolean) (
    SFUNC = sessionize.session_window_transfn,
    STYPE = internal,
    FINALFUNC = sessionize.session_id_finalfn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE sessionize.session_id(timestamp, interval, boolean) IS
'Window function: 1-based number of the row''s session within its partition (starts_session: a row whose flag is true starts a new session (unless it ties with the previous event)); use OVER (PARTITION BY key ORDER BY ts)';

CREATE AGGREGATE sessionize.session_start(ts timestamp, gap interval, starts_session boolean) (
    SFUNC = sessionize.session_window_transfn,
    STYPE = internal,
    FINALFUNC = sessionize.session_start_ts_finalfn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE sessionize.session_start(timestamp, interval, boolean) IS
'Window function: time of the first event of the row''s session (starts_session: a row whose flag is true starts a new session (unless it ties with the previous event)); with the key, the session''s stable identity; use OVER (PARTITION BY key ORDER BY ts)';

CREATE FUNCTION sessionize.session_window_transfn(internal, timestamp, interval, interval, boolean)
RETURNS internal
AS 'MODULE_PATHNAME', 'session_window_trans'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION sessionize.session_window_transfn(internal, timestamp, interval, interval, boolean) IS
'Transition function of sessionize.session_id() and sessionize.session_start(); not for direct use';

CREATE AGGREGATE sessionize.session_id(ts timestamp, gap interval, max_duration interval, starts_session boolean) (
    SFUNC = sessionize.session_window_transfn,
    STYPE = internal,
    FINALFUNC = sessionize.session_id_finalfn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE sessionize.session_id(timestamp, interval, interval, boolean) IS
'Window function: 1-based number of the row''s session within its partition (max_duration and starts_session); use OVER (PARTITION BY key ORDER BY ts)';

CREATE AGGREGATE sessionize.session_start(ts timestamp, gap interval, max_duration interval, starts_session boolean) (
    SFUNC = sessionize.session_window_transfn,
    STYPE = internal,
    FINALFUNC = sessionize.session_start_ts_finalfn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE sessionize.session_start(timestamp, interval, interval, boolean) IS
'Window function: time of the first event of the row''s session (max_duration and starts_session); with the key, the session''s stable identity; use OVER (PARTITION BY key ORDER BY ts)';

CREATE FUNCTION sessionize.session_window_transfn(internal, bigint, bigint)
RETURNS internal
AS 'MODULE_PATHNAME', 'session_window_trans'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION sessionize.session_window_transfn(internal, bigint, bigint) IS
'Transition function of sessionize.session_id() and sessionize.session_start(); not for direct use';

CREATE AGGREGATE sessionize.session_id(ts bigint, gap bigint) (
    SFUNC = sessionize.session_window_transfn,
    STYPE = internal,
    FINALFUNC = sessionize.session_id_finalfn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE sessionize.session_id(bigint, bigint) IS
'Window function: 1-based number of the row''s session within its partition (the gap rule alone); use OVER (PARTITION BY key ORDER BY ts)';

CREATE AGGREGATE sessionize.session_start(ts bigint, gap bigint) (
    SFUNC = sessionize.session_window_transfn,
    STYPE = internal,
    FINALFUNC = sessionize.session_start_int_finalfn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE sessionize.session_start(bigint, bigint) IS
'Window function: time of the first event of the row''s session (the gap rule alone); with the key, the session''s stable identity; use OVER (PARTITION BY key ORDER BY ts)';

CREATE FUNCTION sessionize.session_window_transfn(internal, bigint, bigint, bigint)
RETURNS internal
AS 'MODULE_PATHNAME', 'session_window_trans'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION sessionize.session_window_transfn(internal, bigint, bigint, bigint) IS
'Transition function of sessionize.session_id() and sessionize.session_start(); not for direct use';

CREATE AGGREGATE sessionize.session_id(ts bigint, gap bigint, max_duration bigint) (
    SFUNC = sessionize.session_window_transfn,
    STYPE = internal,
    FINALFUNC = sessionize.session_id_finalfn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE sessionize.session_id(bigint, bigint, bigint) IS
'Window function: 1-based number of the row''s session within its partition (max_duration: an event that would make its session longer than max_duration starts a new one); use OVER (PARTITION BY key ORDER BY ts)';

CREATE AGGREGATE sessionize.session_start(ts bigint, gap bigint, max_duration bigint) (
    SFUNC = sessionize.session_window_transfn,
    STYPE = internal,
    FINALFUNC = sessionize.session_start_int_finalfn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE sessionize.session_start(bigint, bigint, bigint) IS
'Window function: time of the first event of the row''s session (max_duration: an event that would make its session longer than max_duration starts a new one); with the key, the session''s stable identity; use OVER (PARTITION BY key ORDER BY ts)';

CREATE FUNCTION sessionize.session_window_transfn(internal, bigint, bigint, boolean)
RETURNS internal
AS 'MODULE_PATHNAME', 'session_window_trans'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION sessionize.session_window_transfn(internal, bigint, bigint, boolean) IS
'Transition function of sessionize.session_id() and sessionize.session_start(); not for direct use';

CREATE AGGREGATE sessionize.session_id(ts bigint, gap bigint, starts_session boolean) (
    SFUNC = sessionize.session_window_transfn,
    STYPE = internal,
    FINALFUNC = sessionize.session_id_finalfn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE sessionize.session_id(bigint, bigint, boolean) IS
'Window function: 1-based number of the row''s session within its partition (starts_session: a row whose flag is true starts a new session (unless it ties with the previous event)); use OVER (PARTITION BY key ORDER BY ts)';

CREATE AGGREGATE sessionize.session_start(ts bigint, gap bigint, starts_session boolean) (
    SFUNC = sessionize.session_window_transfn,
    STYPE = internal,
    FINALFUNC = sessionize.session_start_int_finalfn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE sessionize.session_start(bigint, bigint, boolean) IS
'Window function: time of the first event of the row''s session (starts_session: a row whose flag is true starts a new session (unless it ties with the previous event)); with the key, the session''s stable identity; use OVER (PARTITION BY key ORDER BY ts)';

CREATE FUNCTION sessionize.session_window_transfn(internal, bigint, bigint, bigint, boolean)
RETURNS internal
AS 'MODULE_PATHNAME', 'session_window_trans'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION sessionize.session_window_transfn(internal, bigint, bigint, bigint, boolean) IS
'Transition function of sessionize.session_id() and sessionize.session_start(); not for direct use';

CREATE AGGREGATE sessionize.session_id(ts bigint, gap bigint, max_duration bigint, starts_session boolean) (
    SFUNC = sessionize.session_window_transfn,
    STYPE = internal,
    FINALFUNC = sessionize.session_id_finalfn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE sessionize.session_id(bigint, bigint, bigint, boolean) IS
'Window function: 1-based number of the row''s session within its partition (max_duration and starts_session); use OVER (PARTITION BY key ORDER BY ts)';

CREATE AGGREGATE sessionize.session_start(ts bigint, gap bigint, max_duration bigint, starts_session boolean) (
    SFUNC = sessionize.session_window_transfn,
    STYPE = internal,
    FINALFUNC = sessionize.session_start_int_finalfn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE sessionize.session_start(bigint, bigint, bigint, boolean) IS
'Window function: time of the first event of the row''s session (max_duration and starts_session); with the key, the session''s stable identity; use OVER (PARTITION BY key ORDER BY ts)';

-- ---------------------------------------------------------------------------
-- Grouping aggregate: sessions(ts, gap) -> sessionize.session[]
-- ---------------------------------------------------------------------------

CREATE FUNCTION sessionize.sessions_transfn(internal, timestamptz, interval)
RETURNS internal
AS 'MODULE_PATHNAME', 'sessions_trans'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION sessionize.sessions_transfn(internal, timestamptz, interval) IS
'Transition function of sessionize.sessions(); not for direct use';

CREATE FUNCTION sessionize.sessions_combinefn(internal, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'sessions_combine'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION sessionize.sessions_combinefn(internal, internal) IS
'Combine function of sessionize.sessions(): merges the sessions of two partial states; not for direct use';

CREATE FUNCTION sessionize.sessions_serialfn(internal)
RETURNS bytea
AS 'MODULE_PATHNAME', 'sessions_serialize'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION sessionize.sessions_serialfn(internal) IS
'Serialization function of sessionize.sessions(); not for direct use';

CREATE FUNCTION sessionize.sessions_deserialfn(bytea, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'sessions_deserialize'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION sessionize.sessions_deserialfn(bytea, internal) IS
'Deserialization function of sessionize.sessions(); checks its input; not for direct use';

CREATE FUNCTION sessionize.sessions_finalfn(internal)
RETURNS sessionize.session[]
AS 'MODULE_PATHNAME', 'sessions_final'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION sessionize.sessions_finalfn(internal) IS
'Final function of sessionize.sessions(); not for direct use';

-- SSPACE: a state holds a few sessions of 24 bytes plus its header; users
-- with a few dozen events have a handful of sessions.
CREATE AGGREGATE sessionize.sessions(ts timestamptz, gap interval) (
    SFUNC = sessionize.sessions_transfn,
    STYPE = internal,
    SSPACE = 160,
    FINALFUNC = sessionize.sessions_finalfn,
    COMBINEFUNC = sessionize.sessions_combinefn,
    SERIALFUNC = sessionize.sessions_serialfn,
    DESERIALFUNC = sessionize.sessions_deserialfn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE sessionize.sessions(timestamptz, interval) IS
'Grouping aggregate: the sessions of the group''s events, in time order; input in any order; the gap must be the same on every row';

-- ---------------------------------------------------------------------------
-- Set-returning function: sessionize(source, user_column, time_column, gap)
-- ---------------------------------------------------------------------------

CREATE FUNCTION sessionize.sessionize(source regclass, user_column name, time_column name, gap interval)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'sessionize_relation'
LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION sessionize.sessionize(regclass, name, name, interval) IS
'One row per session of a table''s events, read in one pass with no sort; call with AS s(user <user column type>, session_start, last_event_at, session_end <time column type>, event_count bigint)';

-- ---------------------------------------------------------------------------
-- Partial sessions: save the state of sessions() and merge it later, for
-- rollups (for example one partial per user and day, merged across days)
-- and for engines that aggregate in parts.
-- ---------------------------------------------------------------------------

CREATE AGGREGATE sessionize.sessions_partial(ts timestamptz, gap interval) (
    SFUNC = sessionize.sessions_transfn,
    STYPE = internal,
    SSPACE = 160,
    FINALFUNC = sessionize.sessions_serialfn,
    COMBINEFUNC = sessionize.sessions_combinefn,
    SERIALFUNC = sessionize.sessions_serialfn,
    DESERIALFUNC = sessionize.sessions_deserialfn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE sessionize.sessions_partial(timestamptz, interval) IS
'Grouping aggregate: the sessions of the group''s events as a compact partial state (bytea), to be merged later with sessionize.sessions_merge()';

CREATE FUNCTION sessionize.sessions_merge_transfn(internal, bytea)
RETURNS internal
AS 'MODULE_PATHNAME', 'sessions_merge_trans'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION sessionize.sessions_merge_transfn(internal, bytea) IS
'Transition function of sessionize.sessions_merge(); checks each partial state; not for direct use';

CREATE AGGREGATE sessionize.sessions_merge(partial bytea) (
    SFUNC = sessionize.sessions_merge_transfn,
    STYPE = internal,
    SSPACE = 160,
    FINALFUNC = sessionize.sessions_finalfn,
    COMBINEFUNC = sessionize.sessions_combinefn,
    SERIALFUNC = sessionize.sessions_serialfn,
    DESERIALFUNC = sessionize.sessions_deserialfn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE sessionize.sessions_merge(bytea) IS
'Grouping aggregate: merges partial states from sessionize.sessions_partial() (same gap) into the sessions of all their events; rejects malformed states';

-- ---------------------------------------------------------------------------
-- Merging session summaries: the incremental engine folds new events'
-- sessions into stored ones with this; it is as useful for combining
-- sessions tables.
-- ---------------------------------------------------------------------------

CREATE FUNCTION sessionize.merge_sessions_transfn(internal, timestamptz, timestamptz, bigint, interval)
RETURNS internal
AS 'MODULE_PATHNAME', 'merge_sessions_trans'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION sessionize.merge_sessions_transfn(internal, timestamptz, timestamptz, bigint, interval) IS
'Transition function of sessionize.merge_sessions(); not for direct use';

CREATE AGGREGATE sessionize.merge_sessions(session_start timestamptz, last_event_at timestamptz, event_count bigint, gap interval) (
    SFUNC = sessionize.merge_sessions_transfn,
    STYPE = internal,
    SSPACE = 160,
    FINALFUNC = sessionize.sessions_finalfn,
    COMBINEFUNC = sessionize.sessions_combinefn,
    SERIALFUNC = sessionize.sessions_serialfn,
    DESERIALFUNC = sessionize.sessions_deserialfn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE sessionize.merge_sessions(timestamptz, timestamptz, bigint, interval) IS
'Grouping aggregate: the sessions of the events behind a set of session summaries (start, last event, count), in any order, merging those that overlap or lie within the gap';

-- ===========================================================================
-- Incremental jobs
--
-- A job keeps a target table equal to the sessions of a source table.
-- Writers' statement-level triggers log, per user, the sessions of the rows
-- each statement inserted or deleted (a few rows per statement, no session
-- work beyond that); run_job() consumes the log in one statement and one
-- snapshot, merges inserted sessions into the stored ones and recomputes the
-- spans that deletions touched.  See README.md, "Design".
-- ===========================================================================

CREATE TABLE sessionize.jobs (
    job_id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    source regclass NOT NULL,
    user_column name NOT NULL,
    time_column name NOT NULL,
    gap interval NOT NULL CHECK (gap > interval '0'),
    target regclass NOT NULL,
    allowed_lateness interval NOT NULL DEFAULT interval '0' CHECK (allowed_lateness >= interval '0'),
    schedule_interval interval NOT NULL DEFAULT interval '10 seconds' CHECK (schedule_interval > interval '0'),
    owner regrole NOT NULL,
    active boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (target)
);
COMMENT ON TABLE sessionize.jobs IS
'sessionize jobs: which source table''s sessions are kept in which target table; change them with create_job(), alter_job(), drop_job()';

CREATE TABLE sessionize.job_state (
    job_id bigint PRIMARY KEY REFERENCES sessionize.jobs (job_id) ON DELETE CASCADE,
    needs_rebuild boolean NOT NULL DEFAULT true,
    max_event_time timestamptz,
    watermark timestamptz,
    last_run_at timestamptz,
    last_run_duration interval,
    runs bigint NOT NULL DEFAULT 0,
    events_inserted bigint NOT NULL DEFAULT 0,
    events_deleted bigint NOT NULL DEFAULT 0,
    late_events bigint NOT NULL DEFAULT 0,
    sessions_inserted bigint NOT NULL DEFAULT 0,
    sessions_updated bigint NOT NULL DEFAULT 0,
    sessions_deleted bigint NOT NULL DEFAULT 0,
    last_error text,
    last_error_at timestamptz
);
COMMENT ON TABLE sessionize.job_state IS
'sessionize job bookkeeping: event-time watermark, counters and last error, updated in the same transaction as the sessions they describe';

-- pg_dump keeps jobs and their bookkeeping; the change logs and capture
-- triggers are ordinary objects and are dumped as such.
SELECT pg_catalog.pg_extension_config_dump('sessionize.jobs', '');
SELECT pg_catalog.pg_extension_config_dump('sessionize.job_state', '');
SELECT pg_catalog.pg_extension_config_dump(pg_catalog.pg_get_serial_sequence('sessionize.jobs', 'job_id'), '');

GRANT SELECT ON sessionize.jobs, sessionize.job_state TO PUBLIC;

CREATE VIEW sessionize.job_status AS
SELECT j.job_id, j.source, j.target, j.owner, j.active, j.gap, j.allowed_lateness,
       j.schedule_interval, s.watermark, s.max_event_time,
       now() - s.watermark AS lag,
       s.last_run_at, s.last_run_duration, s.runs,
       s.events_inserted, s.events_deleted, s.late_events,
       s.sessions_inserted, s.sessions_updated, s.sessions_deleted,
       s.needs_rebuild AS pending_rebuild,
       s.last_error, s.last_error_at
FROM sessionize.jobs j JOIN sessionize.job_state s USING (job_id);
COMMENT ON VIEW sessionize.job_status IS
'One row per job: watermark, lag behind now, last run, counters, last error';
GRANT SELECT ON sessionize.job_status TO PUBLIC;

-- Name of a job's change log.
CREATE FUNCTION sessionize._job_object(job_id bigint, suffix text)
RETURNS text
LANGUAGE sql IMMUTABLE STRICT
SET search_path = pg_catalog, pg_temp
AS $$ SELECT pg_catalog.format('sessionize.%I', 'job_' || job_id || '_' || suffix) $$;
COMMENT ON FUNCTION sessionize._job_object(bigint, text) IS
'Internal: qualified name of a job''s change log';

-- The change-capture trigger function (src/capture.c).  Its arguments: job
-- id, log table, user and time column numbers, gap in microseconds.
CREATE FUNCTION sessionize.capture()
RETURNS trigger
AS 'MODULE_PATHNAME', 'sessionize_capture'
LANGUAGE C;
COMMENT ON FUNCTION sessionize.capture() IS
'Trigger function of jobs'' change capture: logs the sessions of the rows each statement inserts or deletes; installed by create_job()';

-- Installs change capture on a job's source: the log table (owned by the
-- job owner) and four statement-level triggers.  Runs as the extension
-- owner.
CREATE FUNCTION sessionize._install_capture(p_job_id bigint)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    j sessionize.jobs;
    usertype text;
    userattnum int;
    timeattnum int;
    logname text := sessionize._job_object(p_job_id, 'log');
    args text;
BEGIN
    SELECT * INTO STRICT j FROM sessionize.jobs WHERE job_id = p_job_id;
    SELECT format_type(a.atttypid, a.atttypmod), a.attnum INTO STRICT usertype, userattnum
    FROM pg_attribute a WHERE a.attrelid = j.source AND a.attname = j.user_column;
    SELECT a.attnum INTO STRICT timeattnum
    FROM pg_attribute a WHERE a.attrelid = j.source AND a.attname = j.time_column;

    -- one row per statement and kind of change: 'i' inserted, 'd' deleted,
    -- 't' truncated; the arrays hold, per user, the sessions of those rows
    -- (late: how many of a session's inserted events were late)
    EXECUTE format('CREATE TABLE %s (kind "char" NOT NULL, u %s[], lo timestamptz[], '
                   'hi timestamptz[], n bigint[], late bigint[])', logname, usertype);
    EXECUTE format('ALTER TABLE %s ALTER u SET STORAGE EXTERNAL, ALTER lo SET STORAGE EXTERNAL, '
                   'ALTER hi SET STORAGE EXTERNAL, ALTER n SET STORAGE EXTERNAL, '
                   'ALTER late SET STORAGE EXTERNAL', logname);
    EXECUTE format('COMMENT ON TABLE %s IS %L', logname,
                   format('sessionize job %s: changes of %s not yet processed by run_job()', p_job_id, j.source));
    EXECUTE format('ALTER TABLE %s OWNER TO %I', logname, j.owner);

    args := format('%L, %L, %L, %L, %L', p_job_id, logname, userattnum, timeattnum,
                   (extract(epoch FROM j.gap) * 1000000)::bigint);
    EXECUTE format('CREATE TRIGGER %I AFTER INSERT ON %s REFERENCING NEW TABLE AS sessionize_new_rows '
                   'FOR EACH STATEMENT EXECUTE FUNCTION sessionize.capture(%s)',
                   'sessionize_job_' || p_job_id || '_insert', j.source, args);
    EXECUTE format('CREATE TRIGGER %I AFTER UPDATE ON %s '
                   'REFERENCING OLD TABLE AS sessionize_old_rows NEW TABLE AS sessionize_new_rows '
                   'FOR EACH STATEMENT EXECUTE FUNCTION sessionize.capture(%s)',
                   'sessionize_job_' || p_job_id || '_update', j.source, args);
    EXECUTE format('CREATE TRIGGER %I AFTER DELETE ON %s REFERENCING OLD TABLE AS sessionize_old_rows '
                   'FOR EACH STATEMENT EXECUTE FUNCTION sessionize.capture(%s)',
                   'sessionize_job_' || p_job_id || '_delete', j.source, args);
    EXECUTE format('CREATE TRIGGER %I AFTER TRUNCATE ON %s '
                   'FOR EACH STATEMENT EXECUTE FUNCTION sessionize.capture(%s)',
                   'sessionize_job_' || p_job_id || '_truncate', j.source, args);
END
$fn$;
COMMENT ON FUNCTION sessionize._install_capture(bigint) IS
'Internal: installs a job''s change log and capture triggers';
REVOKE ALL ON FUNCTION sessionize._install_capture(bigint) FROM PUBLIC;

-- Removes a job's change capture.  Runs as the extension owner.
CREATE FUNCTION sessionize._remove_capture(p_job_id bigint, p_source regclass)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    op text;
BEGIN
    IF p_source IS NOT NULL THEN
        FOREACH op IN ARRAY ARRAY['insert', 'update', 'delete', 'truncate'] LOOP
            EXECUTE format('DROP TRIGGER IF EXISTS %I ON %s', 'sessionize_job_' || p_job_id || '_' || op, p_source);
        END LOOP;
    END IF;
    EXECUTE format('DROP TABLE IF EXISTS %s', sessionize._job_object(p_job_id, 'log'));
END
$fn$;
COMMENT ON FUNCTION sessionize._remove_capture(bigint, regclass) IS
'Internal: removes a job''s change log and capture triggers';
REVOKE ALL ON FUNCTION sessionize._remove_capture(bigint, regclass) FROM PUBLIC;

-- Checks a gap or lateness interval as the C functions do.
CREATE FUNCTION sessionize._check_interval(value interval, argname text, allow_zero boolean)
RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    IF value IS NULL THEN
        RAISE EXCEPTION '% must not be null', argname USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF date_part('month', value) <> 0 OR date_part('year', value) <> 0 THEN
        RAISE EXCEPTION '% must not have a month component', argname
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = format('A month has no fixed length; express the %s in days, hours, minutes or seconds.', argname);
    END IF;
    IF value < interval '0' OR (value = interval '0' AND NOT allow_zero) THEN
        RAISE EXCEPTION '% must be a positive interval', argname USING ERRCODE = 'invalid_parameter_value';
    END IF;
END
$fn$;
COMMENT ON FUNCTION sessionize._check_interval(interval, text, boolean) IS
'Internal: rejects NULL, negative and month-based intervals';

-- The body of create_job().  Called by the C function sessionize.create_job()
-- as the extension owner, with the calling role as p_caller; every privilege
-- check is made for p_caller.
CREATE FUNCTION sessionize._create_job(p_caller regrole, p_source regclass, p_user_column name,
    p_time_column name, p_gap interval, p_target name, p_allowed_lateness interval,
    p_schedule_interval interval)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    src_kind "char";
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
    new_id bigint;
BEGIN
    IF p_source IS NULL OR p_user_column IS NULL OR p_time_column IS NULL THEN
        RAISE EXCEPTION 'source, user_column and time_column must not be null'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    PERFORM sessionize._check_interval(p_gap, 'gap', false);
    PERFORM sessionize._check_interval(p_allowed_lateness, 'allowed_lateness', true);
    PERFORM sessionize._check_interval(p_schedule_interval, 'schedule_interval', false);

    SELECT c.relkind, n.nspname, c.relname INTO src_kind, src_schema, src_name
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = p_source;
    IF src_kind NOT IN ('r', 'p') THEN
        RAISE EXCEPTION '"%" is not a table', p_source
            USING ERRCODE = 'wrong_object_type',
                  DETAIL = 'A job''s source must be a table or a partitioned table: its changes are captured with triggers.';
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
    IF time_att.atttypid <> 'timestamptz'::regtype THEN
        RAISE EXCEPTION 'time column "%" is of type %, not timestamp with time zone',
            p_time_column, format_type(time_att.atttypid, time_att.atttypmod)
            USING ERRCODE = 'datatype_mismatch',
                  HINT = 'Jobs keep sessions of timestamptz event times.';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_type t JOIN pg_opclass o ON o.opcintype = t.oid
                   JOIN pg_am a ON a.oid = o.opcmethod
                   WHERE t.oid = user_att.atttypid AND a.amname = 'btree' AND o.opcdefault) THEN
        RAISE EXCEPTION 'user column "%" is of type %, which has no default btree operator class',
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
    tgt := to_regclass(format('%I.%I', tgt_schema, tgt_name));

    want_shape := format('%I %s, session_start timestamp with time zone, last_event_at timestamp with time zone, '
                         'session_end timestamp with time zone, event_count bigint, closed boolean',
                         p_user_column, format_type(user_att.atttypid, user_att.atttypmod));
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
        EXECUTE format('ALTER TABLE %s OWNER TO %I', tgt, p_caller);
        EXECUTE format('COMMENT ON TABLE %s IS %L', tgt,
                       format('Sessions of %s (gap %s), kept by sessionize job; do not write to it', p_source, p_gap));
    END IF;
    -- the unique session key, and what run_job() looks sessions up by
    EXECUTE format('CREATE UNIQUE INDEX IF NOT EXISTS %I ON %s (%I, session_start)',
                   left(tgt_name, 50) || '_key', tgt, p_user_column);
    -- the open sessions, which run_job() closes as the watermark passes
    -- them; keyed by session_start so that extending a session changes no
    -- indexed column
    EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON %s (session_start) WHERE NOT closed',
                   left(tgt_name, 50) || '_open', tgt);

    INSERT INTO sessionize.jobs (source, user_column, time_column, gap, target, allowed_lateness,
                                 schedule_interval, owner)
    VALUES (p_source, p_user_column, p_time_column, p_gap, tgt, p_allowed_lateness,
            p_schedule_interval, p_caller)
    RETURNING job_id INTO new_id;
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
COMMENT ON FUNCTION sessionize._create_job(regrole, regclass, name, name, interval, name, interval, interval) IS
'Internal: body of sessionize.create_job(), run as the extension owner';
REVOKE ALL ON FUNCTION sessionize._create_job(regrole, regclass, name, name, interval, name, interval, interval) FROM PUBLIC;

-- Locks a job for a change by p_caller, who must be a member of its owner.
CREATE FUNCTION sessionize._lock_job(p_caller regrole, p_job_id bigint)
RETURNS sessionize.jobs
LANGUAGE plpgsql
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
    -- waits for a run in progress
    PERFORM 1 FROM sessionize.job_state WHERE job_id = p_job_id FOR UPDATE;
    RETURN j;
END
$fn$;
COMMENT ON FUNCTION sessionize._lock_job(regrole, bigint) IS
'Internal: checks that the caller may change a job and locks it';
REVOKE ALL ON FUNCTION sessionize._lock_job(regrole, bigint) FROM PUBLIC;

CREATE FUNCTION sessionize._drop_job(p_caller regrole, p_job_id bigint, p_drop_target boolean)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    j sessionize.jobs := sessionize._lock_job(p_caller, p_job_id);
BEGIN
    IF coalesce(p_drop_target, false)
       AND NOT pg_has_role(p_caller, (SELECT relowner FROM pg_class WHERE oid = j.target), 'USAGE') THEN
        RAISE EXCEPTION 'must be owner of table %', j.target USING ERRCODE = 'insufficient_privilege';
    END IF;
    PERFORM sessionize._remove_capture(p_job_id, j.source);
    DELETE FROM sessionize.jobs WHERE job_id = p_job_id;
    IF coalesce(p_drop_target, false) THEN
        EXECUTE format('DROP TABLE %s', j.target);
    END IF;
END
$fn$;
COMMENT ON FUNCTION sessionize._drop_job(regrole, bigint, boolean) IS
'Internal: body of sessionize.drop_job(), run as the extension owner';
REVOKE ALL ON FUNCTION sessionize._drop_job(regrole, bigint, boolean) FROM PUBLIC;

CREATE FUNCTION sessionize._alter_job(p_caller regrole, p_job_id bigint, p_gap interval,
    p_allowed_lateness interval, p_schedule_interval interval, p_active boolean)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    j sessionize.jobs := sessionize._lock_job(p_caller, p_job_id);
BEGIN
    IF p_gap IS NOT NULL THEN
        PERFORM sessionize._check_interval(p_gap, 'gap', false);
    END IF;
    IF p_allowed_lateness IS NOT NULL THEN
        PERFORM sessionize._check_interval(p_allowed_lateness, 'allowed_lateness', true);
    END IF;
    IF p_schedule_interval IS NOT NULL THEN
        PERFORM sessionize._check_interval(p_schedule_interval, 'schedule_interval', false);
    END IF;
    UPDATE sessionize.jobs
    SET gap = coalesce(p_gap, gap),
        allowed_lateness = coalesce(p_allowed_lateness, allowed_lateness),
        schedule_interval = coalesce(p_schedule_interval, schedule_interval),
        active = coalesce(p_active, active)
    WHERE job_id = p_job_id;
    IF p_gap IS NOT NULL AND p_gap <> j.gap THEN
        -- the capture function computes sessions with the gap: renew it,
        -- and rebuild the target on the next run
        PERFORM sessionize._remove_capture(p_job_id, j.source);
        PERFORM sessionize._install_capture(p_job_id);
        UPDATE sessionize.job_state SET needs_rebuild = true WHERE job_id = p_job_id;
    END IF;
    IF p_allowed_lateness IS NOT NULL THEN
        -- the watermark never moves backwards
        UPDATE sessionize.job_state
        SET watermark = greatest(watermark, max_event_time - p_allowed_lateness)
        WHERE job_id = p_job_id;
    END IF;
END
$fn$;
COMMENT ON FUNCTION sessionize._alter_job(regrole, bigint, interval, interval, interval, boolean) IS
'Internal: body of sessionize.alter_job(), run as the extension owner';
REVOKE ALL ON FUNCTION sessionize._alter_job(regrole, bigint, interval, interval, interval, boolean) FROM PUBLIC;

-- ---------------------------------------------------------------------------
-- The job API.  These C functions check the caller, then run the bodies
-- above as the extension owner (create, alter, drop) or run the job as its
-- owner (run_job).
-- ---------------------------------------------------------------------------

CREATE FUNCTION sessionize.create_job(source regclass, user_column name, time_column name,
    gap interval, target name DEFAULT NULL, allowed_lateness interval DEFAULT interval '0',
    schedule_interval interval DEFAULT interval '10 seconds')
RETURNS bigint
AS 'MODULE_PATHNAME', 'sessionize_create_job'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION sessionize.create_job(regclass, name, name, interval, name, interval, interval) IS
'Creates a job that keeps a table of the sessions of source (default target <source>_sessions) and installs change capture; returns the job id; run_job() does the first, full run';

CREATE FUNCTION sessionize.drop_job(job_id bigint, drop_target boolean DEFAULT false)
RETURNS void
AS 'MODULE_PATHNAME', 'sessionize_drop_job'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION sessionize.drop_job(bigint, boolean) IS
'Drops a job and its change capture; with drop_target, its target table too';

CREATE FUNCTION sessionize.alter_job(job_id bigint, gap interval DEFAULT NULL,
    allowed_lateness interval DEFAULT NULL, schedule_interval interval DEFAULT NULL,
    active boolean DEFAULT NULL)
RETURNS void
AS 'MODULE_PATHNAME', 'sessionize_alter_job'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION sessionize.alter_job(bigint, interval, interval, interval, boolean) IS
'Changes a job''s gap (the next run rebuilds the target), allowed lateness, schedule or active flag; NULL leaves a setting as it is';

CREATE FUNCTION sessionize.run_job(job_id bigint,
    OUT events_inserted bigint, OUT events_deleted bigint, OUT sessions_inserted bigint,
    OUT sessions_updated bigint, OUT sessions_deleted bigint, OUT late_events bigint,
    OUT watermark timestamptz, OUT full_rebuild boolean)
RETURNS record
AS 'MODULE_PATHNAME', 'sessionize_run_job'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION sessionize.run_job(bigint) IS
'One incremental pass of a job, in the caller''s transaction: applies every committed change of the source since the last pass to the target, advances the watermark, and says what it did';

-- verify(): the target against a recomputation from scratch.
CREATE FUNCTION sessionize.verify(job_id bigint)
RETURNS TABLE (difference text, user_key text, session_start timestamptz, last_event_at timestamptz,
               session_end timestamptz, event_count bigint, closed boolean)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    j sessionize.jobs;
    wm timestamptz;
    usertype text;
    target_rows text;
    expected_rows text;
BEGIN
    SELECT * INTO j FROM sessionize.jobs WHERE jobs.job_id = verify.job_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'job % does not exist', verify.job_id USING ERRCODE = 'undefined_object';
    END IF;
    SELECT s.watermark INTO wm FROM sessionize.job_state s WHERE s.job_id = verify.job_id;
    SELECT format_type(a.atttypid, a.atttypmod) INTO STRICT usertype
    FROM pg_attribute a WHERE a.attrelid = j.source AND a.attname = j.user_column;
    target_rows := format('SELECT %I::text, session_start, last_event_at, session_end, event_count, closed FROM %s',
                          j.user_column, j.target);
    expected_rows := format('SELECT u::text, session_start, last_event_at, session_end, event_count, '
                            'coalesce(session_end <= %L::timestamptz, false) '
                            'FROM sessionize.sessionize(%L, %L, %L, %L) AS s(u %s, session_start timestamptz, '
                            'last_event_at timestamptz, session_end timestamptz, event_count bigint)',
                            wm, j.source, j.user_column, j.time_column, j.gap, usertype);
    RETURN QUERY EXECUTE format('(SELECT ''unexpected'', * FROM (%s EXCEPT ALL %s) d) '
                                'UNION ALL (SELECT ''missing'', * FROM (%s EXCEPT ALL %s) d) ORDER BY 2, 3, 1',
                                target_rows, expected_rows, expected_rows, target_rows);
END
$fn$;
COMMENT ON FUNCTION sessionize.verify(bigint) IS
'Compares a job''s target with a recomputation from scratch of the source''s sessions (as of the watermark for closed); returns the rows that differ: none when the job is exact';

-- ---------------------------------------------------------------------------
-- A job whose source or target is dropped goes with it, so that no job is
-- left pointing at a table that no longer exists.  SECURITY DEFINER: any
-- role that may drop the table may end the job that depends on it.
-- ---------------------------------------------------------------------------

CREATE FUNCTION sessionize._on_sql_drop()
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
        PERFORM sessionize._remove_capture(j.job_id,
            CASE WHEN j.dropped = j.source_oid
                   OR NOT EXISTS (SELECT 1 FROM pg_class WHERE oid = j.source_oid) THEN NULL
                 ELSE j.source_oid::regclass END);
        DELETE FROM sessionize.jobs WHERE job_id = j.job_id;
        RAISE NOTICE 'dropped sessionize job % along with %', j.job_id, j.object_identity;
    END LOOP;
END
$fn$;
COMMENT ON FUNCTION sessionize._on_sql_drop() IS
'Internal: drops the jobs whose source or target table was dropped';
REVOKE ALL ON FUNCTION sessionize._on_sql_drop() FROM PUBLIC;

CREATE EVENT TRIGGER sessionize_drop_jobs ON sql_drop
EXECUTE FUNCTION sessionize._on_sql_drop();
COMMENT ON EVENT TRIGGER sessionize_drop_jobs IS
'Drops the sessionize jobs whose source or target table is dropped';
