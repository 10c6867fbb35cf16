#!/usr/bin/env bash
# test/bench/functions.sh: the session functions against the plain-SQL way.
#
# Generates BENCH_EVENTS events (10M) over BENCH_USERS users (100k): per
# user, inter-event gaps are 85% short (exponential, mean 90 s) and 15% long
# (mean 8 h); rows are appended in time order, like a real event log.  Gap
# 30 minutes.  Times each query (median of BENCH_RUNS, after one warm-up)
# on one core (max_parallel_workers_per_gather = 0), then the aggregates
# with 2 parallel workers, and prints the ratios next to the issue's targets.
#
# Usage: test/bench/functions.sh   (as root or as a user who can run initdb)
# Settings: BENCH_EVENTS, BENCH_USERS, BENCH_RUNS (3), BENCH_PORT (5488),
#           BENCH_WORK_MEM (server default, 4MB).
# It starts and removes its own throwaway cluster.

set -euo pipefail

EVENTS=${BENCH_EVENTS:-10000000}
USERS=${BENCH_USERS:-100000}
RUNS=${BENCH_RUNS:-3}
PORT=${BENCH_PORT:-5488}
GAP="interval '30 minutes'"

. "$(dirname "$0")/lib.sh"
conf=("shared_buffers = 2GB" "max_worker_processes = 8" "max_parallel_workers = 4")
[ -n "${BENCH_WORK_MEM:-}" ] && conf+=("work_mem = '$BENCH_WORK_MEM'")
bench_cluster functions "$PORT" "${conf[@]}"

echo "sessionize function benchmark: $EVENTS events, $USERS users, gap 30 minutes, median of $RUNS"
t0=$(date +%s)
sql "CREATE EXTENSION sessionize;
SELECT setseed(0.42);
CREATE TABLE events AS
SELECT user_id, timestamptz '2026-01-01' + sum(gap) OVER (PARTITION BY user_id ORDER BY i) * interval '1 second' AS event_ts
FROM (SELECT i, (i % $USERS)::int AS user_id,
             CASE WHEN random() < 0.85 THEN -90 * ln(1 - random()) ELSE -28800 * ln(1 - random()) END AS gap
      FROM generate_series(1, $EVENTS) i) g
ORDER BY event_ts;
VACUUM ANALYZE events;
SELECT count(*) FROM events \g /dev/null"
echo "generated in $(($(date +%s) - t0)) s ($(sql "SELECT pg_size_pretty(pg_table_size('events'))"))"
echo

declare -A Q
Q[scan]="SELECT count(*) FROM events"
Q[window_floor]="SELECT max(c) FROM (SELECT count(*) OVER (PARTITION BY user_id ORDER BY event_ts) AS c FROM events) q"
Q[group_floor]="SELECT count(*) FROM (SELECT user_id, min(event_ts), max(event_ts), count(*) FROM events GROUP BY user_id) q"
Q[sql_lag_sum]="SELECT count(*) FROM (
  SELECT user_id, min(event_ts), max(event_ts), count(*)
  FROM (SELECT user_id, event_ts, sum(is_new) OVER (PARTITION BY user_id ORDER BY event_ts ROWS UNBOUNDED PRECEDING) AS n
        FROM (SELECT user_id, event_ts,
                     CASE WHEN lag(event_ts) OVER w IS NULL OR event_ts - lag(event_ts) OVER w > $GAP THEN 1 ELSE 0 END AS is_new
              FROM events WHERE event_ts IS NOT NULL WINDOW w AS (PARTITION BY user_id ORDER BY event_ts)) f) g
  GROUP BY user_id, n) q"
Q[sql_boundaries]="SELECT count(*) FROM (
  SELECT user_id, event_ts AS session_start,
         coalesce(lead(prev_ts) OVER w2, user_last) AS last_event_at,
         coalesce(lead(rn) OVER w2, user_n + 1) - rn AS event_count
  FROM (SELECT * FROM (
          SELECT user_id, event_ts, lag(event_ts) OVER w AS prev_ts, row_number() OVER w AS rn,
                 max(event_ts) OVER (PARTITION BY user_id) AS user_last,
                 count(*) OVER (PARTITION BY user_id) AS user_n
          FROM events WHERE event_ts IS NOT NULL
          WINDOW w AS (PARTITION BY user_id ORDER BY event_ts)) e
        WHERE prev_ts IS NULL OR event_ts - prev_ts > $GAP) b
  WINDOW w2 AS (PARTITION BY user_id ORDER BY event_ts)) q"
Q[sql_per_event]="SELECT max(n) FROM (
  SELECT sum(is_new) OVER (PARTITION BY user_id ORDER BY event_ts ROWS UNBOUNDED PRECEDING) AS n
  FROM (SELECT user_id, event_ts,
               CASE WHEN lag(event_ts) OVER w IS NULL OR event_ts - lag(event_ts) OVER w > $GAP THEN 1 ELSE 0 END AS is_new
        FROM events WHERE event_ts IS NOT NULL WINDOW w AS (PARTITION BY user_id ORDER BY event_ts)) f) q"
Q[sessions_agg]="SELECT count(*) FROM (
  SELECT user_id, s.* FROM (SELECT user_id, sessionize.sessions(event_ts, $GAP) AS ss FROM events GROUP BY user_id) g,
  unnest(g.ss) AS s) q"
Q[session_id]="SELECT max(s) FROM (SELECT sessionize.session_id(event_ts, $GAP) OVER (PARTITION BY user_id ORDER BY event_ts) AS s FROM events) q"
Q[srf]="SELECT count(*) FROM sessionize.sessionize('events', 'user_id', 'event_ts', $GAP)
  AS s(user_id int, session_start timestamptz, last_event_at timestamptz, session_end timestamptz, event_count bigint)"

# median seconds of a query: one warm-up, then $RUNS timed runs in one session
time_query() { # query [settings]
	local out
	out=$( {
		echo "${2:-}"
		echo "\\timing on"
		for _ in $(seq 0 "$RUNS"); do echo "$1;"; done
	} | as_pg "$BINDIR/psql" -X -q -h "$DIR" -p "$PORT" -U postgres -d postgres -At 2>&1 | grep '^Time:' | tail -n "$RUNS" |
		awk '{print $2}' | sort -n)
	echo "$out" | awk -v n="$RUNS" 'NR == int((n + 1) / 2) { printf "%.3f", $1 / 1000 }'
}

# The sessions agree before anything is timed.
c_lag=$(sql "${Q[sql_lag_sum]}")
c_bound=$(sql "${Q[sql_boundaries]}")
c_agg=$(sql "${Q[sessions_agg]}")
c_srf=$(sql "${Q[srf]}")
c_id=$(sql "SELECT sum(m) FROM (SELECT max(s) m FROM (SELECT user_id, sessionize.session_id(event_ts, $GAP) OVER (PARTITION BY user_id ORDER BY event_ts) AS s FROM events) x GROUP BY user_id) y")
if [ "$c_lag" = "$c_bound" ] && [ "$c_lag" = "$c_agg" ] && [ "$c_lag" = "$c_srf" ] && [ "$c_lag" = "$c_id" ]; then
	echo "sessions: $c_lag in every form (OK)"
else
	echo "MISMATCH: lag/sum $c_lag, boundaries $c_bound, sessions() $c_agg, sessionize() $c_srf, session_id() $c_id"
	exit 1
fi
echo

declare -A T
for k in scan window_floor group_floor sql_lag_sum sql_boundaries sql_per_event sessions_agg session_id srf; do
	T[$k]=$(time_query "${Q[$k]}")
	printf '  %-16s %8s s\n' "$k" "${T[$k]}"
done
PAR="SET max_parallel_workers_per_gather = 2; SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0;"
T[group_floor_par]=$(time_query "${Q[group_floor]}" "$PAR")
T[sessions_agg_par]=$(time_query "${Q[sessions_agg]}" "$PAR")
printf '  %-16s %8s s\n' "group_floor, 2 workers" "${T[group_floor_par]}"
printf '  %-16s %8s s\n' "sessions(), 2 workers" "${T[sessions_agg_par]}"

best_sql=${T[sql_lag_sum]}
best_name="LAG + running SUM + GROUP BY"
if awk -v a="${T[sql_boundaries]}" -v b="$best_sql" 'BEGIN { exit !(a < b) }'; then
	best_sql=${T[sql_boundaries]}
	best_name="LAG, boundary rows only"
fi

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
verdict() { if awk -v v="$1" -v t="$3" "BEGIN { exit !(v $2 t) }"; then echo PASS; else echo MISS; fi; }

r1=$(ratio "$best_sql" "${T[sessions_agg]}")
r2=$(ratio "${T[sessions_agg]}" "${T[group_floor]}")
r3=$(ratio "$best_sql" "${T[srf]}")
r4=$(ratio "${T[sql_per_event]}" "${T[session_id]}")
r5=$(ratio "${T[session_id]}" "${T[window_floor]}")
p1=$(ratio "${T[group_floor]}" "${T[group_floor_par]}")
p2=$(ratio "${T[sessions_agg]}" "${T[sessions_agg_par]}")

cat <<EOF

| query (one core unless noted) | median s |
|---|---:|
| bare sequential scan | ${T[scan]} |
| \`count(*) OVER (PARTITION BY user_id ORDER BY event_ts)\` (window floor) | ${T[window_floor]} |
| \`GROUP BY user_id\` with min, max, count (grouping floor) | ${T[group_floor]} |
| plain SQL: LAG + running SUM + GROUP BY | ${T[sql_lag_sum]} |
| plain SQL: LAG, boundary rows only | ${T[sql_boundaries]} |
| plain SQL: per-event session number (LAG + running SUM) | ${T[sql_per_event]} |
| \`sessionize.sessions()\` + unnest | ${T[sessions_agg]} |
| \`sessionize.session_id()\` as a window | ${T[session_id]} |
| \`sessionize.sessionize()\` | ${T[srf]} |
| grouping floor, 2 parallel workers | ${T[group_floor_par]} (${p1}x) |
| \`sessions()\`, 2 parallel workers | ${T[sessions_agg_par]} (${p2}x) |

| ratio | value | target | |
|---|---:|---|---|
| best plain SQL ($best_name) / \`sessions()\` | ${r1}x | >= 4.5x | $(verdict "$r1" '>=' 4.5) |
| \`sessions()\` / grouping floor | ${r2}x | <= 1.3x | $(verdict "$r2" '<=' 1.3) |
| best plain SQL / \`sessionize()\` | ${r3}x | >= 8x | $(verdict "$r3" '>=' 8) |
| plain per-event / \`session_id()\` | ${r4}x | >= 1.2x | $(verdict "$r4" '>=' 1.2) |
| \`session_id()\` / window floor | ${r5}x | <= 1.1x | $(verdict "$r5" '<=' 1.1) |
EOF
echo
echo "plans (one core):"
sql "EXPLAIN (COSTS OFF) ${Q[sessions_agg]}" | sed 's/^/  /'
sql "EXPLAIN (COSTS OFF) ${Q[group_floor]}" | sed 's/^/  /'
echo "plan (2 workers):"
sql "$PAR EXPLAIN (COSTS OFF) ${Q[sessions_agg]}" | sed 's/^/  /'
echo "total $(($(date +%s) - t0)) s"
