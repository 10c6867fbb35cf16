-- The measures of the sessions a run writes for inserted events
-- (src/apply_inserts.c, with the spans of src/measures_build.c): computed
-- natively, reading a grown session's new events (or, for a measure that
-- does not merge or a session that does not merge, all its events) and a
-- new session's events through the source's (user, time) index; each run
-- compared with a plain-SQL GROUP BY over the same rows.  Then each reason
-- a run leaves them to SQL (no index it can read, a measure it does not
-- compute, row-level security, the hash memory limit), whose result must
-- be the same.  The DEBUG lines say which way a run took, and how many
-- sessions and events it read.
SET client_min_messages = notice;
SELECT setval(pg_get_serial_sequence('sessionize.jobs', 'job_id'), 1900, false) IS NOT NULL AS ids_from_1900;
CREATE SCHEMA ma;

-- text users (and NULL), times with ties, NULLs in every measured column
CREATE TABLE ma.ev (uid text, ts timestamptz, page text, amount numeric, qty int, big bigint, ok boolean);
CREATE INDEX ev_uid_ts ON ma.ev (uid, ts);
INSERT INTO ma.ev
SELECT CASE WHEN i % 23 = 0 THEN NULL ELSE 'u' || (i % 12) END,
       timestamptz '2026-04-01' + (i / 2) * interval '3 minutes' + CASE WHEN i % 9 = 0 THEN interval '1 hour' ELSE interval '0' END,
       CASE WHEN i % 7 = 0 THEN NULL ELSE '/p/' || (hashint4(i) & 7) END,
       CASE WHEN i % 11 = 0 THEN NULL ELSE round(((hashint4(i) & 9999) / 100.0)::numeric, 2) END,
       CASE WHEN i % 13 = 0 THEN NULL ELSE hashint4(i) % 1000 END,
       CASE WHEN i % 17 = 0 THEN NULL ELSE 4611686018427387904 + i END,
       CASE WHEN i % 19 = 0 THEN NULL ELSE hashint4(i) % 5 <> 0 END
FROM generate_series(1, 600) i;

\set merging 'count(*) AS n, count(page) AS pages_seen, sum(amount) AS revenue, sum(qty) AS units, sum(big) AS bigs, min(page) AS low_page, max(amount) AS top, bool_and(ok) AS all_ok, bool_or(ok) AS any_ok, first(page) AS landing, last(page) AS exit, count(*) FILTER (WHERE ok) AS oks'

-- The reference: sessions by LAG and a running count, then GROUP BY with
-- the same aggregates (and count(DISTINCT page)); first and last by
-- array_agg ordered by time, then value (NULL last), as first() and
-- last() break ties.
CREATE FUNCTION ma.reference() RETURNS TABLE (uid text, session_start timestamptz, last_event_at timestamptz,
    event_count bigint, n bigint, pages_seen bigint, revenue numeric, units bigint, bigs numeric, low_page text,
    top numeric, all_ok boolean, any_ok boolean, landing text, exit text, oks bigint, pages bigint)
LANGUAGE sql AS $$
    SELECT uid, min(ts), max(ts), count(*), count(*), count(page), sum(amount), sum(qty), sum(big), min(page),
           max(amount), bool_and(ok), bool_or(ok),
           (array_agg(page ORDER BY ts, page NULLS LAST))[1],
           (array_agg(page ORDER BY ts DESC, page DESC NULLS FIRST))[1],
           count(*) FILTER (WHERE ok), count(DISTINCT page)
    FROM (SELECT *, count(*) FILTER (WHERE gap_before) OVER (PARTITION BY uid ORDER BY ts) AS s
          FROM (SELECT *, lag(ts) OVER (PARTITION BY uid ORDER BY ts) IS NULL
                          OR ts - lag(ts) OVER (PARTITION BY uid ORDER BY ts) > interval '10 minutes' AS gap_before
                FROM ma.ev WHERE ts IS NOT NULL) a) b
    GROUP BY uid, s
$$;
-- rows of a target (with or without pages) that the reference lacks, and
-- the other way round
CREATE FUNCTION ma.differences(target regclass) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  d bigint;
  cols text := 'uid, session_start, last_event_at, event_count, n, pages_seen, revenue, units, bigs, low_page, top, all_ok, any_ok, landing, exit, oks';
BEGIN
  IF EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = target AND attname = 'pages') THEN
    cols := cols || ', pages';
  END IF;
  EXECUTE format($q$
    SELECT count(*) FROM ((SELECT %1$s FROM %2$s EXCEPT ALL SELECT %1$s FROM ma.reference())
                          UNION ALL
                          (SELECT %1$s FROM ma.reference() EXCEPT ALL SELECT %1$s FROM %2$s)) d$q$,
                 cols, target) INTO d;
  RETURN d;
END $$;

-- Two jobs: one whose measures all merge, one with count(DISTINCT), which
-- does not
SELECT sessionize.create_job('ma.ev', 'uid', 'ts', interval '10 minutes', target => 'ma.merging',
                             measures => :'merging') AS mjob \gset
SELECT sessionize.create_job('ma.ev', 'uid', 'ts', interval '10 minutes', target => 'ma.recomputing',
                             measures => :'merging' || ', count(DISTINCT page) AS pages') AS rjob \gset
SELECT full_rebuild FROM sessionize.run_job(:mjob);
SELECT full_rebuild FROM sessionize.run_job(:rjob);
SELECT ma.differences('ma.merging') AS merging_differences, ma.differences('ma.recomputing') AS recomputing_differences;
-- a first append (its statements' first planning would add catalog
-- lookups of its own to the DEBUG lines below)
INSERT INTO ma.ev SELECT 'u4', max(ts) + interval '1 minute', '/first', 1, 1, 1, true FROM ma.ev WHERE uid = 'u4';
INSERT INTO ma.ev VALUES ('u42', '2026-04-03', '/first', 1, 1, 1, true);
SELECT (SELECT sessions_updated FROM sessionize.run_job(:mjob)) AS merging_updated,
       (SELECT sessions_inserted FROM sessionize.run_job(:rjob)) AS recomputing_inserted;
SELECT ma.differences('ma.merging') AS merging_differences, ma.differences('ma.recomputing') AS recomputing_differences;

-- A stored value set wrong by hand: a merge keeps it wrong (it reads only
-- the new events), a recomputation repairs it
UPDATE ma.merging SET revenue = revenue + 1000
WHERE uid = 'u1' AND session_start = (SELECT max(session_start) FROM ma.merging WHERE uid = 'u1');
UPDATE ma.recomputing SET revenue = revenue + 1000
WHERE uid = 'u1' AND session_start = (SELECT max(session_start) FROM ma.recomputing WHERE uid = 'u1');

-- Appends: two events grow u1's last session, one grows the NULL user's,
-- one (with NULL columns) starts a new session of u2, a new user u99 gets
-- a session of three, and u3 gets an event between its last two
-- sessions that joins them (so its session is recomputed, not merged)
SELECT max(ts) AS u1_last FROM ma.ev WHERE uid = 'u1' \gset
SELECT max(ts) AS null_last FROM ma.ev WHERE uid IS NULL \gset
SELECT max(ts) AS u2_last FROM ma.ev WHERE uid = 'u2' \gset
SELECT count(*) AS u3_sessions_before FROM ma.merging WHERE uid = 'u3';
SELECT s1.last_event_at + (s2.session_start - s1.last_event_at) / 2 AS u3_bridge
FROM ma.merging s1 JOIN ma.merging s2 ON s2.uid = s1.uid AND s2.session_start > s1.session_start
WHERE s1.uid = 'u3' AND s2.session_start - s1.last_event_at <= interval '20 minutes'
ORDER BY s1.session_start DESC LIMIT 1 \gset
INSERT INTO ma.ev VALUES
    ('u1', :'u1_last'::timestamptz + interval '4 minutes', '/new/a', 5.25, 3, 7, true),
    ('u1', :'u1_last'::timestamptz + interval '9 minutes', '/new/b', 1.75, NULL, 1, false),
    (NULL, :'null_last'::timestamptz + interval '1 minute', '/new/n', 100.5, 1, 2, true),
    ('u2', :'u2_last'::timestamptz + interval '2 hours', NULL, NULL, NULL, NULL, NULL),
    ('u99', '2026-04-02 10:00', '/x', 1, 1, 1, true),
    ('u99', '2026-04-02 10:05', '/y', 2, 2, 2, false),
    ('u99', '2026-04-02 10:05', '/w', 3, 3, 3, NULL),
    ('u3', :'u3_bridge', '/bridge', 9, 9, 9, true);
SET client_min_messages = debug1;
SELECT events_inserted, sessions_inserted, sessions_updated, sessions_deleted FROM sessionize.run_job(:mjob);
SELECT events_inserted, sessions_inserted, sessions_updated, sessions_deleted FROM sessionize.run_job(:rjob);
SET client_min_messages = notice;
-- the merge kept u1's 1000 (and nothing else is wrong); the recomputation did not
SELECT m.revenue - r.revenue AS merging_off_by, c.revenue - r.revenue AS recomputing_off_by
FROM ma.merging m JOIN ma.recomputing c USING (uid, session_start)
JOIN ma.reference() r USING (uid, session_start)
WHERE m.uid = 'u1' AND m.session_start = (SELECT max(session_start) FROM ma.merging WHERE uid = 'u1');
UPDATE ma.merging SET revenue = revenue - 1000
WHERE uid = 'u1' AND session_start = (SELECT max(session_start) FROM ma.merging WHERE uid = 'u1');
SELECT ma.differences('ma.merging') AS merging_differences, ma.differences('ma.recomputing') AS recomputing_differences;
SELECT count(*) AS u3_sessions_after FROM ma.merging WHERE uid = 'u3';
SELECT uid, event_count, revenue, low_page, landing, exit, all_ok, any_ok, pages
FROM ma.recomputing WHERE uid = 'u99';
SELECT count(*) AS verify_differences FROM sessionize.verify(:mjob);
SELECT count(*) AS verify_differences FROM sessionize.verify(:rjob);

-- Many appends at once, over many batches (a build with assertions
-- writes 7 rows a statement): every user's last session grows, and new
-- sessions start.  What each run counts is the sum over its batches, the
-- same with measures or without (a job without any).
SELECT sessionize.create_job('ma.ev', 'uid', 'ts', interval '10 minutes', target => 'ma.plain') AS pjob \gset
SELECT full_rebuild FROM sessionize.run_job(:pjob);
INSERT INTO ma.ev
SELECT uid, last + k * interval '2 minutes' + CASE WHEN k = 3 THEN interval '1 hour' ELSE interval '0' END,
       '/more/' || k, k * 1.5, k, k, k % 2 = 0
FROM (SELECT uid, max(ts) AS last FROM ma.ev GROUP BY uid) l, generate_series(1, 4) k;
SELECT 'merging' AS job, events_inserted, sessions_inserted, sessions_updated FROM sessionize.run_job(:mjob)
UNION ALL
SELECT 'recomputing', events_inserted, sessions_inserted, sessions_updated FROM sessionize.run_job(:rjob)
UNION ALL
SELECT 'no measures', events_inserted, sessions_inserted, sessions_updated FROM sessionize.run_job(:pjob);
SELECT count(*) AS verify_differences FROM sessionize.verify(:pjob);
SELECT sessionize.drop_job(:pjob, drop_target => true);
SELECT ma.differences('ma.merging') AS merging_differences, ma.differences('ma.recomputing') AS recomputing_differences;

-- No index it can read: the statement computes them with SQL, the same
-- result.  An index on (ts, uid), one whose user collation is not the
-- column's, a partial one (it lacks rows), one with the time as an
-- included column (not a key), do not serve.
DROP INDEX ma.ev_uid_ts;
CREATE INDEX ev_ts_uid ON ma.ev (ts, uid);
CREATE INDEX ev_uid_c_ts ON ma.ev (uid COLLATE "C", ts);
CREATE INDEX ev_uid_ts_partial ON ma.ev (uid, ts) WHERE page IS NOT NULL;
CREATE INDEX ev_uid_incl_ts ON ma.ev (uid) INCLUDE (ts);
INSERT INTO ma.ev SELECT uid, max(ts) + interval '1 minute', '/late', 1, 1, 1, true FROM ma.ev GROUP BY uid;
SET client_min_messages = debug1;
SELECT events_inserted FROM sessionize.run_job(:rjob);
SET client_min_messages = notice;
SELECT ma.differences('ma.recomputing') AS recomputing_differences;
-- a descending time serves as well as an ascending one
CREATE INDEX ev_uid_ts_desc ON ma.ev (uid, ts DESC);
INSERT INTO ma.ev SELECT uid, max(ts) + interval '1 minute', '/desc', 2, 2, 2, false FROM ma.ev GROUP BY uid;
SET client_min_messages = debug1;
SELECT events_inserted FROM sessionize.run_job(:rjob);
SET client_min_messages = notice;
SELECT ma.differences('ma.recomputing') AS recomputing_differences;
SELECT sessionize.drop_job(:mjob, drop_target => true);

-- A measure it does not compute: SQL for the whole list
SELECT sessionize.alter_job(:rjob, measures => :'merging' || ', count(DISTINCT page) AS pages, string_agg(page, '','' ORDER BY page) AS all_pages');
SELECT full_rebuild FROM sessionize.run_job(:rjob);
INSERT INTO ma.ev SELECT uid, max(ts) + interval '1 minute', '/agg', 3, 3, 3, true FROM ma.ev GROUP BY uid;
SET client_min_messages = debug1;
SELECT events_inserted FROM sessionize.run_job(:rjob);
SET client_min_messages = notice;
SELECT ma.differences('ma.recomputing') AS recomputing_differences,
       (SELECT count(*) FROM ma.recomputing s
        WHERE all_pages IS DISTINCT FROM (SELECT string_agg(page, ',' ORDER BY page) FROM ma.ev e
                                          WHERE e.uid IS NOT DISTINCT FROM s.uid
                                            AND e.ts BETWEEN s.session_start AND s.last_event_at)) AS all_pages_wrong;
SELECT sessionize.alter_job(:rjob, measures => :'merging' || ', count(DISTINCT page) AS pages');
SELECT full_rebuild FROM sessionize.run_job(:rjob);

-- A session whose distinct values pass the hash memory limit (64 kB
-- here): that batch is computed with SQL, the same result
ALTER TABLE ma.ev ALTER COLUMN page SET STORAGE EXTERNAL;
INSERT INTO ma.ev SELECT 'u5', max(ts) + k * interval '1 minute', repeat(k::text, 30000), k, k, k, true
FROM ma.ev, generate_series(1, 4) k WHERE uid = 'u5' GROUP BY k;
SET work_mem = '64kB';
SET hash_mem_multiplier = 1;
SET client_min_messages = debug1;
SELECT events_inserted FROM sessionize.run_job(:rjob);
SET client_min_messages = notice;
-- wide values over many sessions: a batch is written each time its values
-- pass the limit
INSERT INTO ma.ev SELECT uid, max(ts) + interval '1 minute', repeat(coalesce(uid, 'n'), 5000), 5, 5, 5, true
FROM ma.ev GROUP BY uid;
SELECT events_inserted FROM sessionize.run_job(:rjob);
SELECT ma.differences('ma.recomputing') AS recomputing_differences;
RESET work_mem;
RESET hash_mem_multiplier;
SELECT ma.differences('ma.recomputing') AS recomputing_differences;
SELECT count(*) AS verify_differences FROM sessionize.verify(:rjob);
SELECT sessionize.drop_job(:rjob, drop_target => true);

-- Row-level security that applies to the job owner (a table owner under
-- FORCE; a superuser bypasses it): SQL, which applies it
CREATE ROLE regress_ma_owner;
GRANT USAGE, CREATE ON SCHEMA ma TO regress_ma_owner;
CREATE TABLE ma.sec (uid int, ts timestamptz, amount int);
CREATE INDEX ON ma.sec (uid, ts);
ALTER TABLE ma.sec OWNER TO regress_ma_owner;
INSERT INTO ma.sec SELECT i % 3, timestamptz '2026-04-01' + i * interval '4 minutes', i FROM generate_series(1, 30) i;
SET ROLE regress_ma_owner;
SELECT sessionize.create_job('ma.sec', 'uid', 'ts', interval '10 minutes',
    measures => 'sum(amount) AS total, count(DISTINCT amount % 4) AS kinds') AS sjob \gset
SELECT full_rebuild FROM sessionize.run_job(:sjob);
INSERT INTO ma.sec SELECT uid, max(ts) + interval '1 minute', 100 FROM ma.sec GROUP BY uid;
-- (forced after each insert: a writer under row-level security is not
-- captured row by row, and its statement would make the next run rebuild)
ALTER TABLE ma.sec ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE POLICY all_rows ON ma.sec USING (true);
SELECT events_inserted, sessions_updated FROM sessionize.run_job(:sjob);
-- (the same again, shown: the first run's statements looked up catalog
-- entries of their own, whose DEBUG lines differ between versions)
ALTER TABLE ma.sec NO FORCE ROW LEVEL SECURITY;
INSERT INTO ma.sec SELECT uid, max(ts) + interval '1 minute', 200 FROM ma.sec GROUP BY uid;
ALTER TABLE ma.sec FORCE ROW LEVEL SECURITY;
SET client_min_messages = debug1;
SELECT events_inserted, sessions_updated FROM sessionize.run_job(:sjob);
SET client_min_messages = notice;
SELECT count(*) AS verify_differences FROM sessionize.verify(:sjob);
SELECT sessionize.drop_job(:sjob, drop_target => true);
RESET ROLE;

-- More measures than one statement's arrays can carry (94 at most, with
-- the six of the sessions): SQL
CREATE TABLE ma.wide (uid int, ts timestamptz, x int);
CREATE INDEX ON ma.wide (uid, ts);
INSERT INTO ma.wide SELECT i % 2, timestamptz '2026-04-01' + i * interval '1 minute', i FROM generate_series(1, 10) i;
SELECT string_agg(format('sum(x + %s) AS s%s', k, k), ', ') AS m94 FROM generate_series(1, 94) k \gset
SELECT sessionize.create_job('ma.wide', 'uid', 'ts', interval '10 minutes', target => 'ma.wide94', measures => :'m94') AS w94 \gset
SELECT sessionize.create_job('ma.wide', 'uid', 'ts', interval '10 minutes', target => 'ma.wide95',
                             measures => :'m94' || ', max(x) AS top') AS w95 \gset
SELECT (SELECT full_rebuild FROM sessionize.run_job(:w94)) AS built94, (SELECT full_rebuild FROM sessionize.run_job(:w95)) AS built95;
INSERT INTO ma.wide SELECT uid, max(ts) + interval '1 minute', 100 FROM ma.wide GROUP BY uid;
SET client_min_messages = debug1;
SELECT events_inserted, sessions_updated FROM sessionize.run_job(:w94);
SELECT events_inserted, sessions_updated FROM sessionize.run_job(:w95);
SET client_min_messages = notice;
SELECT count(*) AS verify_differences FROM sessionize.verify(:w94);
SELECT count(*) AS verify_differences FROM sessionize.verify(:w95);
SELECT s94, s1, top FROM ma.wide95 ORDER BY uid;
SELECT sessionize.drop_job(:w94, drop_target => true);
SELECT sessionize.drop_job(:w95, drop_target => true);

-- bigint and timestamp times, int users: appends computed natively
CREATE TABLE ma.clicks (uid int, ms bigint, ts timestamp, amount numeric, page text);
CREATE INDEX ON ma.clicks (uid, ms);
CREATE INDEX ON ma.clicks (uid, ts);
INSERT INTO ma.clicks
SELECT i % 5, 1000 * (i * 60 + (i % 4) * 900), timestamp '2026-04-01' + (i * 60 + (i % 4) * 900) * interval '1 second',
       i % 10, '/c/' || (i % 3)
FROM generate_series(1, 200) i;
SELECT sessionize.create_job('ma.clicks', 'uid', 'ms', 600000, target => 'ma.clicks_by_ms',
    measures => 'sum(amount) AS revenue, count(DISTINCT page) AS pages, first(page) AS landing, last(page) AS exit') AS bjob \gset
SELECT sessionize.create_job('ma.clicks', 'uid', 'ts', interval '10 minutes', target => 'ma.clicks_by_ts',
    measures => 'sum(amount) AS revenue, max(page) AS top_page, first(page) AS landing, last(page) AS exit') AS tjob \gset
SELECT full_rebuild FROM sessionize.run_job(:bjob);
SELECT full_rebuild FROM sessionize.run_job(:tjob);
INSERT INTO ma.clicks
SELECT uid, max(ms) + k * 120000, max(ts) + k * interval '2 minutes', k, '/n/' || k
FROM ma.clicks, generate_series(1, 3) k GROUP BY uid, k;
SET client_min_messages = debug1;
SELECT events_inserted, sessions_updated FROM sessionize.run_job(:bjob);
SELECT events_inserted, sessions_updated FROM sessionize.run_job(:tjob);
SET client_min_messages = notice;
SELECT count(*) AS verify_differences FROM sessionize.verify(:bjob);
SELECT count(*) AS verify_differences FROM sessionize.verify(:tjob);
-- An index whose first two keys are the user and the time serves, more
-- keys after them (an expression too) or not; one whose time is ordered
-- by another operator class does not (here a reversed one, whose >= is
-- bigint's <=)
DROP INDEX ma.clicks_uid_ms_idx;
CREATE FUNCTION ma.reverse_cmp(bigint, bigint) RETURNS int LANGUAGE sql IMMUTABLE STRICT
AS 'SELECT pg_catalog.btint8cmp($2, $1)';
CREATE OPERATOR CLASS ma.int8_reverse_ops FOR TYPE bigint USING btree AS
    OPERATOR 1 pg_catalog.> , OPERATOR 2 pg_catalog.>= , OPERATOR 3 pg_catalog.= ,
    OPERATOR 4 pg_catalog.<= , OPERATOR 5 pg_catalog.< , FUNCTION 1 ma.reverse_cmp(bigint, bigint);
CREATE INDEX clicks_reversed ON ma.clicks (uid, ms ma.int8_reverse_ops);
INSERT INTO ma.clicks SELECT uid, max(ms) + 60000, NULL, 1, '/r' FROM ma.clicks GROUP BY uid;
SET client_min_messages = debug1;
SELECT events_inserted, sessions_updated FROM sessionize.run_job(:bjob);
SET client_min_messages = notice;
CREATE INDEX clicks_expression ON ma.clicks (uid, ms, lower(page));
INSERT INTO ma.clicks SELECT uid, max(ms) + 60000, NULL, 2, '/e' FROM ma.clicks GROUP BY uid;
SET client_min_messages = debug1;
SELECT events_inserted, sessions_updated FROM sessionize.run_job(:bjob);
SET client_min_messages = notice;
DROP INDEX ma.clicks_expression;
CREATE INDEX clicks_three ON ma.clicks (uid, ms, page);
INSERT INTO ma.clicks SELECT uid, max(ms) + 60000, NULL, 3, '/t' FROM ma.clicks GROUP BY uid;
SET client_min_messages = debug1;
SELECT events_inserted, sessions_updated FROM sessionize.run_job(:bjob);
SET client_min_messages = notice;
SELECT count(*) AS verify_differences FROM sessionize.verify(:bjob);
SELECT sessionize.drop_job(:bjob, drop_target => true);
SELECT sessionize.drop_job(:tjob, drop_target => true);
-- an index on the user and another column of the time's type does not
-- serve, whichever column comes first in the table
CREATE TABLE ma.seqs (uid bigint, seq bigint, ms bigint, amount int);
CREATE INDEX ON ma.seqs (uid, seq);
INSERT INTO ma.seqs SELECT i % 3, 1000 - i, i * 60000, i FROM generate_series(1, 30) i;
SELECT sessionize.create_job('ma.seqs', 'uid', 'ms', 600000, measures => 'sum(amount) AS total, max(amount) AS top') AS qjob \gset
SELECT full_rebuild FROM sessionize.run_job(:qjob);
INSERT INTO ma.seqs SELECT uid, 0, max(ms) + 60000, 100 FROM ma.seqs GROUP BY uid;
SET client_min_messages = debug1;
SELECT events_inserted, sessions_updated FROM sessionize.run_job(:qjob);
SET client_min_messages = notice;
SELECT count(*) AS verify_differences FROM sessionize.verify(:qjob);
SELECT sessionize.drop_job(:qjob, drop_target => true);

DROP SCHEMA ma CASCADE;
DROP ROLE regress_ma_owner;
