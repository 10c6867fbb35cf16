-- Install script of sessionize (sessionize--<version>.sql), built by the
-- Makefile from src/sql/: schema.sql (this part: the schema and the session
-- row type), window_forms.sh (prints the window forms), sessions.sql (the
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

