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
'Grouping aggregate: the sessions of the events behind a set of session summaries (start, last event, count), in any order, merging those that overlap or lie within the gap; skips rows whose times are both NULL, rejects summaries of no possible events';


-- ---------------------------------------------------------------------------
-- timestamp and bigint times: sessions(), merge_sessions() and sessionize()
-- for timestamp times (gap interval) and bigint epochs (gap bigint, in the
-- same unit).  The same C functions as the timestamptz forms: the gap's type
-- says which kind of times they are given; a final function per row type.
-- ---------------------------------------------------------------------------

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
