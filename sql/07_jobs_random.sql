-- Randomized differential test of incremental jobs: hundreds of random
-- mutation steps (in-order and late inserts, deletes, updates of time and
-- user, rolled-back writes, the odd TRUNCATE), run_job() every few steps,
-- and after each run the target must equal a recomputation from scratch,
-- both by verify() and by the plain-SQL reference of the README's Semantics;
-- with measures, their values too, against a plain-SQL GROUP BY.
SET timezone = 'UTC';

CREATE TABLE r_events (id bigserial, user_id int, ts timestamptz, amount int, page text);
CREATE INDEX ON r_events (user_id, ts);

-- the README's plain-SQL reference over r_events.
-- with measures, written as the GROUP BY writes them (pages distinct or not)
CREATE FUNCTION r_reference(gap interval, distinct_pages boolean DEFAULT true)
RETURNS TABLE (user_id int, session_start timestamptz, last_event_at timestamptz, event_count bigint,
               revenue bigint, pages bigint, top_page text, buys bigint, landing text, exit text)
LANGUAGE sql AS $$
SELECT user_id, min(ts), max(ts), count(*), sum(amount),
       CASE WHEN distinct_pages THEN count(DISTINCT page) ELSE count(page) END, max(page),
       count(*) FILTER (WHERE amount > 50),
       (array_agg(page ORDER BY ts, page))[1], (array_agg(page ORDER BY ts DESC, page DESC))[1]
FROM (SELECT user_id, ts, amount, page, sum(is_new) OVER (PARTITION BY user_id ORDER BY ts ROWS UNBOUNDED PRECEDING) AS n
      FROM (SELECT user_id, ts, amount, page,
                   CASE WHEN lag(ts) OVER w IS NULL OR ts - lag(ts) OVER w > gap THEN 1 ELSE 0 END AS is_new
            FROM r_events WHERE ts IS NOT NULL WINDOW w AS (PARTITION BY user_id ORDER BY ts)) f) g
GROUP BY user_id, n
$$;

-- One random mutation; returns what it did.
CREATE FUNCTION r_mutate(step int, now_minute int) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    r float8 := random();
BEGIN
    IF r < 0.35 THEN        -- in-order append around "now"
        INSERT INTO r_events (user_id, ts, amount, page)
        SELECT (random() * 30)::int, timestamptz '2026-01-01' + (now_minute + random() * 20) * interval '1 minute',
               (random() * 100)::int, 'p' || (random() * 5)::int
        FROM generate_series(1, 1 + (random() * 40)::int);
        RETURN 'append';
    ELSIF r < 0.55 THEN     -- late events anywhere in the past, some on exact minutes
        INSERT INTO r_events (user_id, ts, amount, page)
        SELECT CASE WHEN random() < 0.05 THEN NULL ELSE (random() * 30)::int END,
               CASE WHEN random() < 0.03 THEN NULL
                    ELSE timestamptz '2026-01-01' + (random() * now_minute)::int * interval '1 minute' END,
               CASE WHEN random() < 0.1 THEN NULL ELSE (random() * 100)::int END,
               CASE WHEN random() < 0.1 THEN NULL ELSE 'p' || (random() * 5)::int END
        FROM generate_series(1, 1 + (random() * 10)::int);
        RETURN 'late';
    ELSIF r < 0.70 THEN     -- deletes
        DELETE FROM r_events WHERE id IN (SELECT id FROM r_events ORDER BY random() LIMIT 1 + (random() * 8)::int);
        RETURN 'delete';
    ELSIF r < 0.80 THEN     -- move events in time
        UPDATE r_events SET ts = ts + ((random() - 0.5) * 30)::int * interval '1 minute'
        WHERE id IN (SELECT id FROM r_events ORDER BY random() LIMIT 1 + (random() * 5)::int);
        RETURN 'update time';
    ELSIF r < 0.87 THEN     -- move events to another user
        UPDATE r_events SET user_id = CASE WHEN random() < 0.1 THEN NULL ELSE (random() * 30)::int END
        WHERE id IN (SELECT id FROM r_events ORDER BY random() LIMIT 1 + (random() * 5)::int);
        RETURN 'update user';
    ELSIF r < 0.92 THEN     -- change what only measures read
        UPDATE r_events SET amount = CASE WHEN random() < 0.1 THEN NULL ELSE (random() * 100)::int END,
                            page = 'p' || (random() * 5)::int
        WHERE id IN (SELECT id FROM r_events ORDER BY random() LIMIT 1 + (random() * 5)::int);
        RETURN 'update measured';
    ELSIF r < 0.97 THEN     -- a write that rolls back
        BEGIN
            INSERT INTO r_events (user_id, ts) VALUES (1, timestamptz '2026-01-01' + now_minute * interval '1 minute');
            DELETE FROM r_events WHERE id IN (SELECT id FROM r_events ORDER BY random() LIMIT 5);
            RAISE EXCEPTION 'roll back';
        EXCEPTION WHEN raise_exception THEN
            NULL;
        END;
        RETURN 'rollback';
    ELSIF r < 0.985 THEN
        DELETE FROM r_events WHERE user_id = (random() * 30)::int;
        RETURN 'delete user';
    ELSE
        TRUNCATE r_events;
        RETURN 'truncate';
    END IF;
END $$;

-- sql_only: the target has row-level security, so run_job() applies
-- inserted events with its general SQL statement instead of probing the
-- target's index from C (see src/apply_inserts.c); both must agree.
-- measures: none (NULL); 'recompute', with count(DISTINCT), which runs
-- recompute from all of a changed session's events; 'merge', only measures
-- that runs merge with those of the new events when a session grows
CREATE FUNCTION r_run(seed float8, steps int, gap interval, lateness interval, sql_only boolean,
    measures text, OUT runs int, OUT bad_runs int, OUT ops text)
LANGUAGE plpgsql AS $$
DECLARE
    job bigint;
    done text[] := '{}';
    verify_diff bigint;
    reference_diff bigint;
BEGIN
    PERFORM setseed(seed);
    TRUNCATE r_events;
    INSERT INTO r_events (user_id, ts, amount, page)
    SELECT (random() * 30)::int, timestamptz '2026-01-01' + (random() * 100)::int * interval '1 minute',
           (random() * 100)::int, 'p' || (random() * 5)::int
    FROM generate_series(1, 300);
    job := sessionize.create_job('r_events', 'user_id', 'ts', gap, target => 'r_sessions',
                                 allowed_lateness => lateness,
                                 measures => CASE measures
                                     WHEN 'recompute' THEN
                                     'sum(amount) AS revenue, count(DISTINCT page) AS pages, max(page) AS top_page, '
                                     'count(*) FILTER (WHERE amount > 50) AS buys, first(page) AS landing, last(page) AS exit'
                                     WHEN 'merge' THEN
                                     'sum(amount) AS revenue, count(page) AS pages, max(page) AS top_page, '
                                     'count(*) FILTER (WHERE amount > 50) AS buys, first(page) AS landing, last(page) AS exit' END);
    IF sql_only THEN
        ALTER TABLE r_sessions ENABLE ROW LEVEL SECURITY;
    END IF;
    runs := 0;
    bad_runs := 0;
    FOR step IN 1 .. steps LOOP
        done := done || r_mutate(step, 100 + step * 3);
        IF random() < 0.4 OR step = steps THEN
            PERFORM sessionize.run_job(job);
            runs := runs + 1;
            SELECT count(*) INTO verify_diff FROM sessionize.verify(job);
            IF measures IS NOT NULL THEN
                EXECUTE 'SELECT count(*) FROM ('
                    '(SELECT user_id, session_start, last_event_at, event_count, revenue, pages, top_page, buys, landing, exit FROM r_sessions '
                    ' EXCEPT ALL SELECT * FROM r_reference($1, $2)) '
                    'UNION ALL '
                    '(SELECT * FROM r_reference($1, $2) '
                    ' EXCEPT ALL SELECT user_id, session_start, last_event_at, event_count, revenue, pages, top_page, buys, landing, exit FROM r_sessions)) d'
                INTO reference_diff USING gap, measures = 'recompute';
            ELSE
                SELECT count(*) INTO reference_diff FROM (
                    (SELECT user_id, session_start, last_event_at, event_count FROM r_sessions
                     EXCEPT ALL SELECT user_id, session_start, last_event_at, event_count FROM r_reference(gap))
                    UNION ALL
                    (SELECT user_id, session_start, last_event_at, event_count FROM r_reference(gap)
                     EXCEPT ALL SELECT user_id, session_start, last_event_at, event_count FROM r_sessions)) d;
            END IF;
            IF verify_diff <> 0 OR reference_diff <> 0 THEN
                bad_runs := bad_runs + 1;
                RAISE WARNING 'seed %, step %: % rows differ from verify(), % from the reference',
                    seed, step, verify_diff, reference_diff;
            END IF;
        END IF;
    END LOOP;
    SELECT string_agg(op || ' ' || n, ', ' ORDER BY op) INTO ops
    FROM (SELECT op, count(*) n FROM unnest(done) op GROUP BY op) o;
    PERFORM sessionize.drop_job(job, drop_target => true);
END $$;

-- (the runs' NOTICEs about full rebuilds are not of interest here)
SET client_min_messages = warning;
SELECT seed, gap, lateness, sql_only, measures, r.runs > 0 AS ran, r.bad_runs
FROM (VALUES (0.11, interval '5 minutes', interval '0', false, NULL),
             (0.22, interval '1 minute', interval '10 minutes', false, NULL),
             (0.33, interval '15 minutes', interval '0', false, NULL),
             (0.44, interval '90 seconds', interval '1 hour', false, NULL),
             (0.55, interval '7 minutes', interval '0', false, NULL),
             (0.66, interval '30 minutes', interval '5 minutes', false, NULL),
             (0.11, interval '5 minutes', interval '0', true, NULL),
             (0.44, interval '90 seconds', interval '1 hour', true, NULL),
             (0.66, interval '30 minutes', interval '5 minutes', true, NULL),
             (0.12, interval '5 minutes', interval '0', false, 'recompute'),
             (0.45, interval '90 seconds', interval '1 hour', false, 'recompute'),
             (0.67, interval '30 minutes', interval '5 minutes', false, 'recompute'),
             (0.13, interval '5 minutes', interval '0', false, 'merge'),
             (0.46, interval '90 seconds', interval '1 hour', false, 'merge'),
             (0.68, interval '30 minutes', interval '5 minutes', false, 'merge'),
             (0.47, interval '90 seconds', interval '1 hour', true, 'merge')) v(seed, gap, lateness, sql_only, measures),
     LATERAL r_run(seed, 120, gap, lateness, sql_only, measures) r;

-- Every kind of mutation was exercised.
SELECT count(DISTINCT op) AS kinds_of_mutation
FROM (SELECT regexp_replace(unnest(string_to_array(r.ops, ', ')), ' [0-9]+$', '') AS op
      FROM r_run(0.77, 150, interval '5 minutes', interval '0', false, 'merge') r) o;

RESET client_min_messages;
DROP FUNCTION r_run(float8, int, interval, interval, boolean, text), r_mutate(int, int), r_reference(interval, boolean);
DROP TABLE r_events;

-- The same over the other time types a job takes, and text users:
-- timestamp without time zone with text users (t_events_ts), and bigint
-- epoch milliseconds with int users (t_events_ms), each with a gap and a
-- lateness in its own kind.  The mutations are those above, written for
-- any table: t_time() turns a timestamptz expression into the table's
-- time, t_span() an interval into a span of it, t_user() an int into the
-- table's user.
CREATE TABLE t_events_ts (id bigserial, user_id text, ts timestamp, amount int, page text);
CREATE INDEX ON t_events_ts (user_id, ts);
CREATE TABLE t_events_ms (id bigserial, user_id int, ts bigint, amount int, page text);
CREATE INDEX ON t_events_ms (user_id, ts);

CREATE FUNCTION t_time(kind text, e text) RETURNS text LANGUAGE sql AS $$
    SELECT CASE kind WHEN 'timestamp' THEN format('((%s) AT TIME ZONE ''UTC'')', e)
                     ELSE format('(extract(epoch FROM %s) * 1000)::bigint', e) END
$$;
CREATE FUNCTION t_span(kind text, e text) RETURNS text LANGUAGE sql AS $$
    SELECT CASE kind WHEN 'timestamp' THEN format('(%s)', e)
                     ELSE format('(extract(epoch FROM %s) * 1000)::bigint', e) END
$$;
CREATE FUNCTION t_user(kind text, e text) RETURNS text LANGUAGE sql AS $$
    SELECT CASE kind WHEN 'timestamp' THEN format('(''u'' || (%s))', e) ELSE format('(%s)', e) END
$$;

-- the plain-SQL reference over a table: sessions and measures as
-- r_reference() computes them, with the gap as a literal of the table's kind
CREATE FUNCTION t_reference_sql(tbl text, kind text, gap interval, distinct_pages boolean) RETURNS text LANGUAGE sql AS $$
SELECT format($q$
SELECT user_id, min(ts) AS session_start, max(ts) AS last_event_at, count(*) AS event_count, sum(amount) AS revenue,
       count(%s page) AS pages, max(page) AS top_page, count(*) FILTER (WHERE amount > 50) AS buys,
       (array_agg(page ORDER BY ts, page))[1] AS landing, (array_agg(page ORDER BY ts DESC, page DESC))[1] AS exit
FROM (SELECT user_id, ts, amount, page, sum(is_new) OVER (PARTITION BY user_id ORDER BY ts ROWS UNBOUNDED PRECEDING) AS n
      FROM (SELECT user_id, ts, amount, page,
                   CASE WHEN lag(ts) OVER w IS NULL OR ts - lag(ts) OVER w > %s THEN 1 ELSE 0 END AS is_new
            FROM %I WHERE ts IS NOT NULL WINDOW w AS (PARTITION BY user_id ORDER BY ts)) f) g
GROUP BY user_id, n $q$, CASE WHEN distinct_pages THEN 'DISTINCT' ELSE '' END,
              t_span(kind, quote_literal(gap) || '::interval'), tbl)
$$;

CREATE FUNCTION t_mutate(tbl text, kind text, now_minute int) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    r float8 := random();
    base text := format('timestamptz ''2026-01-01'' + %s * interval ''1 minute''', now_minute);
BEGIN
    IF r < 0.35 THEN
        EXECUTE format('INSERT INTO %I (user_id, ts, amount, page) '
                       'SELECT %s, %s, (random() * 100)::int, ''p'' || (random() * 5)::int '
                       'FROM generate_series(1, 1 + (random() * 40)::int)',
                       tbl, t_user(kind, '(random() * 30)::int'),
                       t_time(kind, format('timestamptz ''2026-01-01'' + (%s + random() * 20) * interval ''1 minute''', now_minute)));
        RETURN 'append';
    ELSIF r < 0.55 THEN
        EXECUTE format('INSERT INTO %I (user_id, ts, amount, page) '
                       'SELECT CASE WHEN random() < 0.05 THEN NULL ELSE %s END, '
                       '       CASE WHEN random() < 0.03 THEN NULL ELSE %s END, '
                       '       CASE WHEN random() < 0.1 THEN NULL ELSE (random() * 100)::int END, '
                       '       CASE WHEN random() < 0.1 THEN NULL ELSE ''p'' || (random() * 5)::int END '
                       'FROM generate_series(1, 1 + (random() * 10)::int)',
                       tbl, t_user(kind, '(random() * 30)::int'),
                       t_time(kind, format('timestamptz ''2026-01-01'' + (random() * %s)::int * interval ''1 minute''', now_minute)));
        RETURN 'late';
    ELSIF r < 0.70 THEN
        EXECUTE format('DELETE FROM %1$I WHERE id IN (SELECT id FROM %1$I ORDER BY random() LIMIT 1 + (random() * 8)::int)', tbl);
        RETURN 'delete';
    ELSIF r < 0.80 THEN
        EXECUTE format('UPDATE %1$I SET ts = ts + %2$s '
                       'WHERE id IN (SELECT id FROM %1$I ORDER BY random() LIMIT 1 + (random() * 5)::int)',
                       tbl, t_span(kind, '((random() - 0.5) * 30)::int * interval ''1 minute'''));
        RETURN 'update time';
    ELSIF r < 0.87 THEN
        EXECUTE format('UPDATE %1$I SET user_id = CASE WHEN random() < 0.1 THEN NULL ELSE %2$s END '
                       'WHERE id IN (SELECT id FROM %1$I ORDER BY random() LIMIT 1 + (random() * 5)::int)',
                       tbl, t_user(kind, '(random() * 30)::int'));
        RETURN 'update user';
    ELSIF r < 0.92 THEN
        EXECUTE format('UPDATE %1$I SET amount = CASE WHEN random() < 0.1 THEN NULL ELSE (random() * 100)::int END, '
                       '  page = ''p'' || (random() * 5)::int '
                       'WHERE id IN (SELECT id FROM %1$I ORDER BY random() LIMIT 1 + (random() * 5)::int)', tbl);
        RETURN 'update measured';
    ELSIF r < 0.97 THEN
        BEGIN
            EXECUTE format('INSERT INTO %I (user_id, ts) VALUES (%s, %s)', tbl, t_user(kind, '1'), t_time(kind, base));
            EXECUTE format('DELETE FROM %1$I WHERE id IN (SELECT id FROM %1$I ORDER BY random() LIMIT 5)', tbl);
            RAISE EXCEPTION 'roll back';
        EXCEPTION WHEN raise_exception THEN
            NULL;
        END;
        RETURN 'rollback';
    ELSIF r < 0.985 THEN
        EXECUTE format('DELETE FROM %I WHERE user_id = %s', tbl, t_user(kind, '(random() * 30)::int'));
        RETURN 'delete user';
    ELSE
        EXECUTE format('TRUNCATE %I', tbl);
        RETURN 'truncate';
    END IF;
END $$;

-- measures: NULL, 'recompute' or 'merge', as for r_run()
CREATE FUNCTION t_run(tbl text, kind text, seed float8, steps int, gap interval, lateness interval,
    sql_only boolean, measures text, OUT runs int, OUT bad_runs int, OUT ops text)
LANGUAGE plpgsql AS $$
DECLARE
    job bigint;
    done text[] := '{}';
    verify_diff bigint;
    reference_diff bigint;
    cols text := 'user_id, session_start, last_event_at, event_count'
                 || CASE WHEN measures IS NOT NULL THEN ', revenue, pages, top_page, buys, landing, exit' ELSE '' END;
    m text := CASE measures
        WHEN 'recompute' THEN
        'sum(amount) AS revenue, count(DISTINCT page) AS pages, max(page) AS top_page, '
        'count(*) FILTER (WHERE amount > 50) AS buys, first(page) AS landing, last(page) AS exit'
        WHEN 'merge' THEN
        'sum(amount) AS revenue, count(page) AS pages, max(page) AS top_page, '
        'count(*) FILTER (WHERE amount > 50) AS buys, first(page) AS landing, last(page) AS exit' END;
BEGIN
    PERFORM setseed(seed);
    EXECUTE format('TRUNCATE %I', tbl);
    EXECUTE format('INSERT INTO %I (user_id, ts, amount, page) '
                   'SELECT %s, %s, (random() * 100)::int, ''p'' || (random() * 5)::int '
                   'FROM generate_series(1, 300)',
                   tbl, t_user(kind, '(random() * 30)::int'),
                   t_time(kind, 'timestamptz ''2026-01-01'' + (random() * 100)::int * interval ''1 minute'''));
    IF kind = 'bigint' THEN
        job := sessionize.create_job(tbl::regclass, 'user_id', 'ts', (extract(epoch FROM gap) * 1000)::bigint,
                                     target => 't_sessions',
                                     allowed_lateness => (extract(epoch FROM lateness) * 1000)::bigint,
                                     measures => m);
    ELSE
        job := sessionize.create_job(tbl::regclass, 'user_id', 'ts', gap, target => 't_sessions',
                                     allowed_lateness => lateness, measures => m);
    END IF;
    IF sql_only THEN
        ALTER TABLE t_sessions ENABLE ROW LEVEL SECURITY;
    END IF;
    runs := 0;
    bad_runs := 0;
    FOR step IN 1 .. steps LOOP
        done := done || t_mutate(tbl, kind, 100 + step * 3);
        IF random() < 0.4 OR step = steps THEN
            PERFORM sessionize.run_job(job);
            runs := runs + 1;
            SELECT count(*) INTO verify_diff FROM sessionize.verify(job);
            EXECUTE format('SELECT count(*) FROM ('
                           '(SELECT %1$s FROM t_sessions EXCEPT ALL SELECT %1$s FROM (%2$s) x) '
                           'UNION ALL (SELECT %1$s FROM (%2$s) x EXCEPT ALL SELECT %1$s FROM t_sessions)) d',
                           cols, t_reference_sql(tbl, kind, gap, measures IS DISTINCT FROM 'merge'))
            INTO reference_diff;
            IF verify_diff <> 0 OR reference_diff <> 0 THEN
                bad_runs := bad_runs + 1;
                RAISE WARNING '%, seed %, step %: % rows differ from verify(), % from the reference',
                    tbl, seed, step, verify_diff, reference_diff;
            END IF;
        END IF;
    END LOOP;
    SELECT string_agg(op || ' ' || n, ', ' ORDER BY op) INTO ops
    FROM (SELECT op, count(*) n FROM unnest(done) op GROUP BY op) o;
    PERFORM sessionize.drop_job(job, drop_target => true);
END $$;

SET client_min_messages = warning;
SELECT tbl, seed, gap, lateness, sql_only, measures, r.runs > 0 AS ran, r.bad_runs,
       r.ops LIKE '%append%' AND r.ops LIKE '%late%' AND r.ops LIKE '%delete%' AND r.ops LIKE '%update time%' AS mixed
FROM (VALUES ('t_events_ts', 'timestamp', 0.14, interval '5 minutes', interval '0', false, NULL),
             ('t_events_ts', 'timestamp', 0.48, interval '90 seconds', interval '1 hour', false, 'recompute'),
             ('t_events_ts', 'timestamp', 0.58, interval '7 minutes', interval '10 minutes', false, 'merge'),
             ('t_events_ts', 'timestamp', 0.69, interval '30 minutes', interval '5 minutes', true, 'merge'),
             ('t_events_ms', 'bigint', 0.15, interval '5 minutes', interval '0', false, NULL),
             ('t_events_ms', 'bigint', 0.49, interval '90 seconds', interval '1 hour', false, 'recompute'),
             ('t_events_ms', 'bigint', 0.59, interval '7 minutes', interval '10 minutes', false, 'merge'),
             ('t_events_ms', 'bigint', 0.70, interval '30 minutes', interval '5 minutes', true, 'merge'))
     v(tbl, kind, seed, gap, lateness, sql_only, measures),
     LATERAL t_run(tbl, kind, seed, 120, gap, lateness, sql_only, measures) r;
RESET client_min_messages;

DROP FUNCTION t_run(text, text, float8, int, interval, interval, boolean, text), t_mutate(text, text, int),
    t_reference_sql(text, text, interval, boolean), t_time(text, text), t_span(text, text), t_user(text, text);
DROP TABLE t_events_ts, t_events_ms;
