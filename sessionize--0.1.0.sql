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
