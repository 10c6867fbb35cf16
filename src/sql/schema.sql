-- Install script of sessionize (sessionize--<version>.sql), built by the
-- Makefile from src/sql/: schema.sql (this part: the schema and the session
-- row types), window_forms.sh (prints the window forms), sessions.sql (the
-- grouping and set-returning forms, partial states, merging) and jobs.sql
-- (incremental jobs).  Edit those, never the built script.
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
