#!/usr/bin/env bash
# src/sql/window_forms.sh: prints the install script's part for the window
# forms, session_id() and session_start(): 24 aggregates (2 functions x 3
# time types x 4 rule sets) and their support functions, which differ only
# in the types and the rules they name.  The Makefile runs it to build
# sessionize--<version>.sql; edit this generator, not its output.
set -euo pipefail

cat <<'SQL'
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

SQL

# one final function of session_start() per time type: type, suffix
for tt in "timestamptz tz" "timestamp ts" "bigint int"; do
	set -- $tt
	cat <<SQL
CREATE FUNCTION sessionize.session_start_$2_finalfn(internal)
RETURNS $1
AS 'MODULE_PATHNAME', 'session_window_start_final'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION sessionize.session_start_$2_finalfn(internal) IS
'Final function of sessionize.session_start() on $1; not for direct use';

SQL
done

# per time type (its type, the type of its durations, the suffix of its
# final function) and rule set (the arguments after the gap, the words that
# describe them): one transition function and the two aggregates
for tt in "timestamptz interval tz" "timestamp interval ts" "bigint bigint int"; do
	set -- $tt
	ts_type=$1 dur_type=$2 suffix=$3
	for rules in "" "max_duration" "starts_session" "max_duration starts_session"; do
		args="ts $ts_type, gap $dur_type"
		types="$ts_type, $dur_type"
		for r in $rules; do
			case $r in
			max_duration) args="$args, max_duration $dur_type" types="$types, $dur_type" ;;
			starts_session) args="$args, starts_session boolean" types="$types, boolean" ;;
			esac
		done
		case $rules in
		"") what="the gap rule alone" ;;
		max_duration) what="max_duration: an event that would make its session longer than max_duration starts a new one" ;;
		starts_session) what="starts_session: a row whose flag is true starts a new session (unless it ties with the previous event)" ;;
		*) what="max_duration and starts_session" ;;
		esac
		cat <<SQL
CREATE FUNCTION sessionize.session_window_transfn(internal, $types)
RETURNS internal
AS 'MODULE_PATHNAME', 'session_window_trans'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION sessionize.session_window_transfn(internal, $types) IS
'Transition function of sessionize.session_id() and sessionize.session_start(); not for direct use';

CREATE AGGREGATE sessionize.session_id($args) (
    SFUNC = sessionize.session_window_transfn,
    STYPE = internal,
    FINALFUNC = sessionize.session_id_finalfn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE sessionize.session_id($types) IS
'Window function: 1-based number of the row''s session within its partition ($what); use OVER (PARTITION BY key ORDER BY ts)';

CREATE AGGREGATE sessionize.session_start($args) (
    SFUNC = sessionize.session_window_transfn,
    STYPE = internal,
    FINALFUNC = sessionize.session_start_${suffix}_finalfn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE sessionize.session_start($types) IS
'Window function: time of the first event of the row''s session ($what); with the key, the session''s stable identity; use OVER (PARTITION BY key ORDER BY ts)';

SQL
	done
done
