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
