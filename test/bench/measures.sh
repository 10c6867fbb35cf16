#!/usr/bin/env bash
# test/bench/measures.sh: what per-session measures cost a job (issue 10).
#
# On generated web-shop events (BENCH_EVENTS over BENCH_USERS users, the
# gaps of jobs.sh, rows in time order, an index on (user, time); each event
# has a page, an amount and a kind, 5% of them purchases), prints the
# median of BENCH_RUNS runs of:
#   - a job's first (full) run without measures, and its run after a 1%
#     append (what an append run costs before any measure: the floor of
#     the append ratios below);
#   - the first run of a job with the issue's six measures
#       sum(amount) AS revenue, count(*) FILTER (WHERE kind = 'buy') AS
#       purchases, count(DISTINCT page_url) AS pages, first(page_url) AS
#       landing_page, last(page_url) AS exit_page, max(amount) AS top_amount
#     and its run after a 1% append (count DISTINCT does not merge: the
#     sessions the append grows are recomputed from all their events);
#   - the same for the five that merge (all but count DISTINCT): its first
#     run, and its run after a 1% append (grown sessions merged from the new
#     events alone);
#   - the plain-SQL way a dbt model computes the same table (LAG, a running
#     SUM, then GROUP BY with the same aggregates, (array_agg(x ORDER BY
#     ts))[1] for first and last), written with CREATE TABLE AS;
#   - the floor of any design that evaluates the measures with PostgreSQL's
#     own aggregates: a GroupAggregate of the six measures over events
#     already grouped by session (a copy carrying each event's session
#     start, in (user, session start) order, read through an index on
#     them: no sort, no window, the plan is checked), written with CREATE
#     TABLE AS; it does less than a job's first run (no sessions computed,
#     no target indexed), and its table is checked equal to the job's;
#   - two parts of a first run that the floor leaves out: computing the
#     sessions (sessionize() of the events, counted, not written), and the
#     target's two indexes, built on the floor's table;
# and the issue's targets next to the ratios, with those of the sum of the
# last three (the least a first run that evaluates the measures with
# PostgreSQL's aggregates could take: why the one-pass build computes them
# natively) against the same targets.  Each timed statement starts after a
# CHECKPOINT, so that none pays for the writes of the copies before it.
# Every job's target is checked with sessionize.verify() after its runs.
#
# Usage: test/bench/measures.sh  (as root or as a user who can run initdb)
# Settings: BENCH_EVENTS (2000000), BENCH_USERS (10000), BENCH_RUNS (3),
#           BENCH_PORT (5489).  It starts and removes its own cluster.

set -euo pipefail
shopt -s inherit_errexit

EVENTS=${BENCH_EVENTS:-2000000}
USERS=${BENCH_USERS:-10000}
RUNS=${BENCH_RUNS:-3}
PORT=${BENCH_PORT:-5489}
. "$(dirname "$0")/lib.sh"
# the script runs each job itself: the background worker must not run one
# between its steps (taking an append before the timed run, or the CPU)
bench_cluster measures "$PORT" "shared_buffers = 1GB" "sessionize.enabled = off"

SIX="sum(amount) AS revenue, count(*) FILTER (WHERE kind = ''buy'') AS purchases, count(DISTINCT page_url) AS pages, first(page_url) AS landing_page, last(page_url) AS exit_page, max(amount) AS top_amount"
FIVE="sum(amount) AS revenue, count(*) FILTER (WHERE kind = ''buy'') AS purchases, first(page_url) AS landing_page, last(page_url) AS exit_page, max(amount) AS top_amount"

sql "CREATE EXTENSION sessionize"
sql "
CREATE FUNCTION bench_time(q text) RETURNS float8 LANGUAGE plpgsql AS \$\$
DECLARE t0 timestamptz := clock_timestamp();
BEGIN EXECUTE q; RETURN extract(epoch FROM clock_timestamp() - t0); END \$\$;
CREATE FUNCTION bench_median(v float8[]) RETURNS float8 LANGUAGE sql AS \$\$
SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY x) FROM unnest(v) x \$\$;"
# the events, once: each table below is a copy
sql "$(bench_events_sql events0 "$EVENTS" "$USERS")"
sql "CREATE TABLE events AS
     SELECT user_id, event_ts, '/p/' || (hashint4(user_id # (extract(epoch FROM event_ts))::int) & 63) AS page_url,
            ((hashint4((extract(epoch FROM event_ts))::int) & 9999) / 100.0)::numeric(10, 2) AS amount,
            CASE WHEN hashint4(user_id + (extract(epoch FROM event_ts))::int) % 20 = 0 THEN 'buy' ELSE 'view' END AS kind
     FROM events0 ORDER BY event_ts;
     DROP TABLE events0"

median() { sql "SELECT round(bench_median(ARRAY[$1])::numeric, 3)"; }

# A copy of the events, its job (measures: '' for none) and its first run's seconds.
first_run() { # table measures
	sql "DROP TABLE IF EXISTS $1, ${1}_sessions CASCADE;
	     CREATE TABLE $1 AS TABLE events;
	     CREATE INDEX ON $1 (user_id, event_ts);
	     VACUUM ANALYZE $1;
	     CHECKPOINT;"
	sql "SELECT bench_time(format('SELECT sessionize.run_job(%s)',
	         sessionize.create_job('$1', 'user_id', 'event_ts', interval '30 minutes', measures => '$2')))"
}
job_of() { sql "SELECT job_id FROM sessionize.jobs WHERE source = '$1'::regclass"; }
# Append 1% new events, each user's continuing from its latest event (most
# land in the user's latest session), then time the job's run.
append_run() { # table seed
	sql "SELECT setseed($2) \\g /dev/null
	     INSERT INTO $1
	     SELECT n.user_id, l.last_ts + (n.event_ts - timestamptz '2026-01-01'), '/p/' || (random() * 63)::int,
	            (random() * 100)::numeric(10, 2), CASE WHEN random() < 0.05 THEN 'buy' ELSE 'view' END
	     FROM (SELECT * FROM events ORDER BY event_ts LIMIT $((EVENTS / 100))) n
	     JOIN (SELECT user_id, max(event_ts) AS last_ts FROM $1 GROUP BY user_id) l USING (user_id)
	     ORDER BY 2" >/dev/null
	sql "CHECKPOINT"
	sql "SELECT bench_time('SELECT sessionize.run_job($(job_of "$1"))')"
}
check() {
	local d
	d=$(sql "SELECT count(*) FROM sessionize.verify($(job_of "$1"))")
	if [ "$d" != 0 ]; then echo "MISMATCH: $1's target differs from a recomputation in $d rows" >&2; exit 1; fi
}
floor_sql() {
	cat <<SQL
CREATE TABLE floor_sessions AS
SELECT user_id, ss AS session_start, max(event_ts) AS last_event_at, count(*) AS event_count,
       sum(amount) AS revenue, count(*) FILTER (WHERE kind = 'buy') AS purchases,
       count(DISTINCT page_url) AS pages, sessionize.first(page_url, event_ts) AS landing_page,
       sessionize.last(page_url, event_ts) AS exit_page, max(amount) AS top_amount
FROM events_grouped GROUP BY user_id, ss
SQL
}
# the floor's plan: the grouped copy read in order, nothing sorted, no hash
FLOOR_SET="SET enable_seqscan = off; SET enable_bitmapscan = off; SET enable_sort = off; SET enable_hashagg = off;"
dbt_sql() {
	cat <<SQL
CREATE TABLE dbt_sessions AS
SELECT user_id, min(event_ts) AS session_start, max(event_ts) AS last_event_at, count(*) AS event_count,
       sum(amount) AS revenue, count(*) FILTER (WHERE kind = 'buy') AS purchases,
       count(DISTINCT page_url) AS pages,
       (array_agg(page_url ORDER BY event_ts))[1] AS landing_page,
       (array_agg(page_url ORDER BY event_ts DESC))[1] AS exit_page, max(amount) AS top_amount
FROM (SELECT *, sum(is_new) OVER (PARTITION BY user_id ORDER BY event_ts ROWS UNBOUNDED PRECEDING) AS session_number
      FROM (SELECT *, CASE WHEN lag(event_ts) OVER w IS NULL
                            OR event_ts - lag(event_ts) OVER w > interval '30 minutes' THEN 1 ELSE 0 END AS is_new
            FROM events_dbt WINDOW w AS (PARTITION BY user_id ORDER BY event_ts)) a) b
GROUP BY user_id, session_number
SQL
}

echo "sessionize measures benchmark: $EVENTS events, $USERS users, median of $RUNS runs, work_mem $(sql "SHOW work_mem")"
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at start"
echo

t0=$(date +%s)
plain=(); plain_append=(); six=(); six_append=(); five=(); five_append=(); dbt=(); floor=(); srf=(); idx=()
sql "CREATE TABLE events_dbt AS TABLE events; CREATE INDEX ON events_dbt (user_id, event_ts); VACUUM ANALYZE events_dbt"
sql "CREATE TABLE events_grouped AS
     SELECT e.*, sessionize.session_start(event_ts, interval '30 minutes') OVER (PARTITION BY user_id ORDER BY event_ts) AS ss
     FROM events e ORDER BY user_id, event_ts;
     CREATE INDEX ON events_grouped (user_id, ss); VACUUM ANALYZE events_grouped"
plan=$(sql "$FLOOR_SET EXPLAIN (COSTS OFF) $(floor_sql | sed 1d)")
if grep -q Sort <<<"$plan" || ! grep -q 'Index Scan' <<<"$plan"; then
	echo "the floor's plan is not a GroupAggregate over an index scan:" >&2; echo "$plan" >&2; exit 1
fi
for r in $(seq 1 "$RUNS"); do
	plain+=("$(first_run plain '')")
	check plain
	plain_append+=("$(append_run plain 0.1$r)")
	check plain
	six+=("$(first_run six "$SIX")")
	check six
	six_append+=("$(append_run six 0.1$r)")
	check six
	five+=("$(first_run five "$FIVE")")
	check five
	five_append+=("$(append_run five 0.1$r)")
	check five
	sql "DROP TABLE IF EXISTS dbt_sessions"
	sql "CHECKPOINT"
	dbt+=("$(sql "SELECT bench_time(\$q\$$(dbt_sql)\$q\$)")")
	sql "DROP TABLE IF EXISTS floor_sessions"
	sql "CHECKPOINT"
	floor+=("$(sql "$FLOOR_SET SELECT bench_time(\$q\$$(floor_sql)\$q\$)")")
	idx+=("$(sql "SELECT bench_time('CREATE UNIQUE INDEX ON floor_sessions (user_id, session_start)')
	             + bench_time('CREATE INDEX ON floor_sessions (session_start) WHERE last_event_at IS NOT NULL')")")
	srf+=("$(sql "SELECT bench_time(\$q\$SELECT count(*) FROM sessionize.sessionize('events', 'user_id', 'event_ts', interval '30 minutes')
	             AS s(user_id int, session_start timestamptz, last_event_at timestamptz, session_end timestamptz, event_count bigint)\$q\$)")")
done
# the dbt model's table and the floor's equal the six-measure job's (before its append)
first_run cmp "$SIX" >/dev/null
# rows in which a table of the six measures differs from the job's
differs_from_job() { # table
	local cols="user_id, session_start, last_event_at, event_count, revenue, purchases, pages, landing_page, exit_page, top_amount"
	sql "SELECT count(*) FROM ((SELECT $cols FROM cmp_sessions EXCEPT ALL SELECT * FROM $1)
	     UNION ALL (SELECT * FROM $1 EXCEPT ALL SELECT $cols FROM cmp_sessions)) d"
}
d=$(differs_from_job dbt_sessions)
if [ "$d" != 0 ]; then echo "MISMATCH: the dbt model's table differs from the job's in $d rows (ties in first/last?)" >&2; fi
d=$(differs_from_job floor_sessions)
if [ "$d" != 0 ]; then echo "MISMATCH: the floor's table differs from the job's in $d rows" >&2; exit 1; fi

m_plain=$(median "$(j "${plain[@]}")")
m_plain_append=$(median "$(j "${plain_append[@]}")")
m_six=$(median "$(j "${six[@]}")")
m_six_append=$(median "$(j "${six_append[@]}")")
m_five=$(median "$(j "${five[@]}")")
m_five_append=$(median "$(j "${five_append[@]}")")
m_dbt=$(median "$(j "${dbt[@]}")")
m_floor=$(median "$(j "${floor[@]}")")
m_srf=$(median "$(j "${srf[@]}")")
m_idx=$(median "$(j "${idx[@]}")")


printf '%-60s %10s\n' "measurement" "seconds"
printf '%-60s %10s\n' "first run, no measures" "$m_plain"
printf '%-60s %10s\n' "  run after a 1% append" "$m_plain_append"
printf '%-60s %10s\n' "first run, six measures" "$m_six"
printf '%-60s %10s\n' "  run after a 1% append ($((EVENTS / 100)) events)" "$m_six_append"
printf '%-60s %10s\n' "first run, the five that merge" "$m_five"
printf '%-60s %10s\n' "  run after a 1% append" "$m_five_append"
printf '%-60s %10s\n' "plain SQL as a dbt model writes it (CREATE TABLE AS)" "$m_dbt"
printf '%-60s %10s\n' "floor: PostgreSQL's GroupAggregate of the six, input grouped" "$m_floor"
printf '%-60s %10s\n' "  not in the floor: the sessions (sessionize(), counted)" "$m_srf"
printf '%-60s %10s\n' "  not in the floor: the target's two indexes" "$m_idx"
echo
r_first=$(ratio "$m_six" "$m_plain")
r_merge=$(ratio "$m_five_append" "$m_five")
r_distinct=$(ratio "$m_six_append" "$m_six")
r_dbt=$(ratio "$m_dbt" "$m_six")
printf '%-50s %8s %10s %6s\n' "ratio" "value" "target" ""
printf '%-50s %8s %10s %6s\n' "six measures first run / no measures first run" "$r_first" "<= 2" "$(verdict "$r_first" '<=' 2)"
printf '%-50s %8s %10s %6s\n' "1% append / first run, measures that merge" "$r_merge" "<= 0.10" "$(verdict "$r_merge" '<=' 0.10)"
printf '%-50s %8s %10s %6s\n' "1% append / first run, with count DISTINCT" "$r_distinct" "<= 0.20" "$(verdict "$r_distinct" '<=' 0.20)"
printf '%-50s %8s %10s %6s\n' "dbt model / six measures first run" "$r_dbt" ">= 3" "$(verdict "$r_dbt" '>=' 3)"
# the least a first run that evaluates the measures with PostgreSQL's
# aggregates could take: the floor, the sessions and the indexes
least=$(awk -v a="$m_floor" -v b="$m_srf" -v c="$m_idx" 'BEGIN { printf "%.3f", a + b + c }')
r_least=$(ratio "$least" "$m_plain")
r_dbt_least=$(ratio "$m_dbt" "$least")
printf '%-50s %8s %10s %6s\n' "least (floor + sessions + indexes) / no measures" "$r_least" "<= 2" "$(verdict "$r_least" '<=' 2)"
printf '%-50s %8s %10s %6s\n' "dbt model / least" "$r_dbt_least" ">= 3" "$(verdict "$r_dbt_least" '>=' 3)"
# an append run with no measure at all, against the first runs with
# measures: what is left of the append targets for the measures' own work
r_plain_merge=$(ratio "$m_plain_append" "$m_five")
r_plain_distinct=$(ratio "$m_plain_append" "$m_six")
printf '%-50s %8s %10s %6s\n' "no-measure append / five-measure first run" "$r_plain_merge" "<= 0.10" "$(verdict "$r_plain_merge" '<=' 0.10)"
printf '%-50s %8s %10s %6s\n' "no-measure append / six-measure first run" "$r_plain_distinct" "<= 0.20" "$(verdict "$r_plain_distinct" '<=' 0.20)"
echo
echo "(all targets verified exact with sessionize.verify(); total $(($(date +%s) - t0)) s; load average $(cut -d' ' -f1-3 /proc/loadavg) at the end)"
