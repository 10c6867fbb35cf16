-- Jobs on timestamp and bigint times: what create_job() and alter_job()
-- take as the gap and the lateness for each kind (and refuse, with their
-- SQLSTATEs), the target's types, the watermark in job_status, run_job()
-- and verify(), and the target against a plain-SQL
-- reference after appends, late events and deletes.  (07_jobs_random runs
-- random mutations over both kinds.)
SET timezone = 'UTC';
SET client_min_messages = warning;

CREATE TABLE tt_ms (user_id text, ts bigint, amount int);
CREATE INDEX ON tt_ms (user_id, ts);
CREATE TABLE tt_ts (user_id uuid, ts timestamp, amount int);
CREATE INDEX ON tt_ts (user_id, ts);

-- the README's plain-SQL reference over a table, the gap given as SQL of
-- the time's kind
CREATE FUNCTION tt_reference_diff(target text, source text, gap text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    ref text := format(
        'SELECT user_id, min(ts) AS session_start, max(ts) AS last_event_at, count(*) AS event_count, sum(amount) AS revenue '
        'FROM (SELECT user_id, ts, amount, sum(is_new) OVER (PARTITION BY user_id ORDER BY ts ROWS UNBOUNDED PRECEDING) AS n '
        '      FROM (SELECT user_id, ts, amount, CASE WHEN lag(ts) OVER w IS NULL OR ts - lag(ts) OVER w > %s THEN 1 ELSE 0 END AS is_new '
        '            FROM %I WHERE ts IS NOT NULL WINDOW w AS (PARTITION BY user_id ORDER BY ts)) f) g '
        'GROUP BY user_id, n', gap, source);
    n bigint;
BEGIN
    EXECUTE format('SELECT count(*) FROM ((SELECT user_id, session_start, last_event_at, event_count, revenue FROM %1$I '
                   'EXCEPT ALL %2$s) UNION ALL (%2$s EXCEPT ALL '
                   'SELECT user_id, session_start, last_event_at, event_count, revenue FROM %1$I)) d', target, ref)
    INTO n;
    RETURN n;
END $$;

INSERT INTO tt_ms SELECT 'u' || (i % 5), 1767225600000 + i * 60000, i FROM generate_series(1, 200) i;
INSERT INTO tt_ts SELECT ('00000000-0000-0000-0000-00000000000' || (i % 5))::uuid,
                         timestamp '2026-01-01' + i * interval '1 minute', i
FROM generate_series(1, 200) i;

-- the gap and the lateness of bigint times: integers, or literals read as such
SELECT sessionize.create_job('tt_ms', 'user_id', 'ts', 1800000, target => 'tt_ms_s',
                             allowed_lateness => '600000', measures => 'sum(amount) AS revenue') AS ms_job \gset
-- of timestamps: intervals, or literals read as such
SELECT sessionize.create_job('tt_ts', 'user_id', 'ts', '30 minutes', target => 'tt_ts_s',
                             allowed_lateness => interval '10 minutes', measures => 'sum(amount) AS revenue') AS ts_job \gset
SELECT job_id = :ms_job AS ms, time_type, gap, integer_gap, allowed_lateness, integer_allowed_lateness
FROM sessionize.jobs WHERE job_id IN (:ms_job, :ts_job) ORDER BY job_id;
-- the targets' times are of the source's type
SELECT attrelid::regclass AS target, attname, format_type(atttypid, atttypmod)
FROM pg_attribute WHERE attrelid IN ('tt_ms_s'::regclass, 'tt_ts_s'::regclass)
  AND attname IN ('user_id', 'session_start', 'last_event_at', 'session_end')
ORDER BY 1, attnum;

-- text and smallint values are read too
SELECT sessionize.alter_job(:ms_job, gap => '1800000'::text, allowed_lateness => 1000::smallint);
SELECT sessionize.alter_job(:ts_job, gap => '30 minutes'::text, allowed_lateness => '10 minutes'::varchar);
CREATE DOMAIN tt_millis AS bigint CHECK (VALUE >= 0);
SELECT sessionize.alter_job(:ms_job, gap => 1800000::tt_millis);
SELECT job_id = :ms_job AS ms, gap, integer_gap, allowed_lateness, integer_allowed_lateness
FROM sessionize.jobs WHERE job_id IN (:ms_job, :ts_job) ORDER BY job_id;
SELECT sessionize.alter_job(:ms_job, allowed_lateness => 600000);

-- the wrong kind, and values out of range
\set VERBOSITY terse
SELECT sessionize.create_job('tt_ms', 'user_id', 'ts', interval '30 minutes', target => 'x');
SELECT sessionize.create_job('tt_ms', 'user_id', 'ts', 1800000, target => 'x', allowed_lateness => interval '1 minute');
SELECT sessionize.create_job('tt_ts', 'user_id', 'ts', 1800000, target => 'x');
SELECT sessionize.create_job('tt_ms', 'user_id', 'ts', 1.5, target => 'x');
SELECT sessionize.create_job('tt_ms', 'user_id', 'ts', 'half an hour', target => 'x');
SELECT sessionize.create_job('tt_ms', 'user_id', 'ts', 0, target => 'x');
SELECT sessionize.create_job('tt_ms', 'user_id', 'ts', 1000, target => 'x', allowed_lateness => -1);
SELECT sessionize.create_job('tt_ms', 'user_id', 'ts', NULL::bigint, target => 'x');
-- no such time column, or one of a type no job takes: the body says so,
-- whatever the gap's type
SELECT sessionize.create_job('tt_ms', 'user_id', 'nope', 1800000::bigint, target => 'x');
SELECT sessionize.create_job('tt_ms', 'user_id', 'user_id', 1800000::bigint, target => 'x');
SELECT sessionize.create_job('tt_ms', 'user_id', 'user_id', interval '30 minutes', target => 'x');
SELECT sessionize.alter_job(:ms_job, gap => interval '1 hour');
SELECT sessionize.alter_job(:ts_job, gap => 3600000);
SELECT sessionize.alter_job(:ms_job, allowed_lateness => -5);
\set VERBOSITY default
SELECT sessionize.alter_job(:ms_job, gap => interval '1 hour');
SELECT count(*) AS left_behind FROM pg_class WHERE relname = 'x';

-- first runs build; the watermark is shown in the time's type
SELECT full_rebuild, watermark FROM sessionize.run_job(:ms_job);
SELECT full_rebuild, watermark FROM sessionize.run_job(:ts_job);
SELECT job_id = :ms_job AS ms, watermark, max_event_time, event_time_lag IS NULL AS no_lag,
       gap, integer_gap, integer_allowed_lateness
FROM sessionize.job_status WHERE job_id IN (:ms_job, :ts_job) ORDER BY job_id;
SELECT watermark = (SELECT max(ts) - 600000 FROM tt_ms) AS ms_watermark_in_ms
FROM sessionize.job_state WHERE job_id = :ms_job;
SELECT sessionize._job_time(watermark, NULL::timestamp) = (SELECT max(ts) - interval '10 minutes' FROM tt_ts)
       AS ts_watermark
FROM sessionize.job_state WHERE job_id = :ts_job;
SELECT tt_reference_diff('tt_ms_s', 'tt_ms', '1800000') AS ms_differences,
       tt_reference_diff('tt_ts_s', 'tt_ts', 'interval ''30 minutes''') AS ts_differences;

-- appends (the fast path), a late event bridging two sessions, deletes
INSERT INTO tt_ms VALUES ('u1', 1767225600000 + 300 * 60000, 1), ('u1', 1767225600000 + 340 * 60000, 2),
                         ('u9', 1767225600000 + 400 * 60000, 3);
SELECT events_inserted, sessions_inserted, sessions_updated, watermark FROM sessionize.run_job(:ms_job);
INSERT INTO tt_ms VALUES ('u1', 1767225600000 + 320 * 60000, 4);
DELETE FROM tt_ms WHERE user_id = 'u2' AND ts % 120000 = 0;
SELECT events_inserted, events_deleted, late_events, full_rebuild FROM sessionize.run_job(:ms_job);
INSERT INTO tt_ts VALUES ('00000000-0000-0000-0000-000000000001', timestamp '2026-01-01 05:00', 1),
                         ('00000000-0000-0000-0000-000000000001', timestamp '2026-01-01 05:40', 2);
SELECT events_inserted, watermark FROM sessionize.run_job(:ts_job);
INSERT INTO tt_ts VALUES ('00000000-0000-0000-0000-000000000001', timestamp '2026-01-01 05:20', 3),
                         (NULL, timestamp '2026-01-01 00:30', 4);
DELETE FROM tt_ts WHERE ts = timestamp '2026-01-01 02:00';
SELECT events_inserted, events_deleted, late_events, full_rebuild FROM sessionize.run_job(:ts_job);
SELECT tt_reference_diff('tt_ms_s', 'tt_ms', '1800000') AS ms_differences,
       tt_reference_diff('tt_ts_s', 'tt_ts', 'interval ''30 minutes''') AS ts_differences;
SELECT count(*) AS verify_differences FROM sessionize.verify(:ms_job);
SELECT count(*) AS verify_differences FROM sessionize.verify(:ts_job);
-- closed as of the watermark, compared in the time's type
SELECT count(*) AS wrongly_closed FROM tt_ms_s s, sessionize.job_state st
WHERE st.job_id = :ms_job AND s.closed IS DISTINCT FROM (s.session_end <= st.watermark);

-- verify() returns times as text in the time's type
UPDATE tt_ms_s SET event_count = event_count + 1 WHERE user_id = 'u9';
SELECT difference, user_key, session_start, last_event_at, session_end, event_count
FROM sessionize.verify(:ms_job);

-- a new gap of the right kind rebuilds
SELECT sessionize.alter_job(:ms_job, gap => 600000, allowed_lateness => 0);
SELECT full_rebuild FROM sessionize.run_job(:ms_job);
SELECT tt_reference_diff('tt_ms_s', 'tt_ms', '600000') AS ms_differences;
SELECT sessionize.alter_job(:ts_job, gap => '10 minutes');
SELECT full_rebuild FROM sessionize.run_job(:ts_job);
SELECT tt_reference_diff('tt_ts_s', 'tt_ts', 'interval ''10 minutes''') AS ts_differences;

-- a time column retyped away from the job's type breaks the job
ALTER TABLE tt_ms ALTER COLUMN ts TYPE numeric;
SELECT last_error FROM sessionize.job_state WHERE job_id = :ms_job;
\set VERBOSITY terse
SELECT sessionize.run_job(:ms_job);
\set VERBOSITY default

-- _job_time() builds only the three time types, in their range
\set VERBOSITY terse
SELECT sessionize._job_time(0, NULL::date);
SELECT sessionize._job_time(9223371331200000000 - 1, NULL::timestamptz) IS NOT NULL AS in_range;
SELECT sessionize._job_time(9223371331200000000, NULL::timestamp);
\set VERBOSITY default
SELECT sessionize._job_time(9223372036854775807, NULL::timestamptz) AS infinite,
       sessionize._job_time(-9223372036854775808, NULL::timestamp) AS minus_infinite,
       sessionize._job_time(NULL, NULL::bigint) IS NULL AS null_stays_null;

SELECT sessionize.drop_job(:ms_job, drop_target => true), sessionize.drop_job(:ts_job, drop_target => true);
DROP FUNCTION tt_reference_diff(text, text, text);
DROP TABLE tt_ms, tt_ts;
DROP DOMAIN tt_millis;
RESET client_min_messages;
