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
