#!/usr/bin/env bash
# test/bench/functions.sh: the session functions against the plain-SQL way.
#
# Generates BENCH_EVENTS events (10M) over BENCH_USERS users (100k) in
# events(user_id int, event_ts timestamptz): per user, inter-event gaps are
# 85% short (exponential, mean 90 s) and 15% long (exponential, mean 8 h),
# fixed seed; rows are inserted in time order, like an append-only event log.
# Session gap 30 minutes.  Checks once that every form finds the same
# sessions, then times each query (median of BENCH_RUNS runs after one
# warm-up, psql \timing, one session per query) on one core
# (max_parallel_workers_per_gather = 0), then the grouping floor and
# sessions() with 2 parallel workers, and prints the ratios next to the
# targets, the plans, and the tables again in Markdown for the README.
#
# Only a count reaches the client, but a bare "SELECT count(*) FROM (q) q"
# would let the planner drop every aggregate and window function whose
# output nobody reads (it does: EXPLAIN VERBOSE shows NULL::bigint in their
# place, and lead() windows vanish from the plan).  So each wrapper reads
# the computed columns: session-producing queries are counted WHERE
# last_event_at >= session_start AND event_count > 0 (true of every
# session), per-event queries as count(<computed column>).
#
# Usage: test/bench/functions.sh   (as root or as a user who can run initdb)
# Settings: BENCH_EVENTS (10000000), BENCH_USERS (100000), BENCH_RUNS (3),
#           BENCH_PORT (5488), BENCH_WORK_MEM (unset: the server default, 4MB),
#           BENCH_QUERIES (unset: all; else the keys to time, e.g.
#           "scan group_floor sql_boundaries sessions_agg srf"; the check
#           and the ratios then cover only those), BENCH_PARALLEL (1: also
#           time the floor and sessions() with 2 workers; 0: not),
#           BENCH_ANALYZE (0; 1: also print EXPLAIN ANALYZE of the floor
#           and sessions() with 2 workers, to see where their time goes).
# Next to each time: the backend's peak resident memory (VmHWM) over the
# bare scan's (both touch the same shared buffers, so the difference is
# about the query's own memory; needs the scan among the queries), and
# the temporary file bytes one run wrote (pg_stat_database).
# It starts its own throwaway cluster (shared_buffers = 2GB, so the table
# stays cached; jit off) in a temporary directory and removes it at exit.

set -euo pipefail

EVENTS=${BENCH_EVENTS:-10000000}
USERS=${BENCH_USERS:-100000}
RUNS=${BENCH_RUNS:-3}
PORT=${BENCH_PORT:-5488}
WORK_MEM=${BENCH_WORK_MEM:-}
PARALLEL=${BENCH_PARALLEL:-1}
GAP="interval '30 minutes'"

for v in EVENTS USERS RUNS PORT; do
	if ! [[ ${!v} =~ ^[1-9][0-9]*$ ]]; then
		echo "BENCH_$v must be a positive integer, not '${!v}'" >&2
		exit 2
	fi
done
if [ -n "$WORK_MEM" ] && ! [[ $WORK_MEM =~ ^[0-9]+[[:space:]]*(kB|MB|GB)?$ ]]; then
	echo "BENCH_WORK_MEM must look like 64MB, not '$WORK_MEM'" >&2
	exit 2
fi

script_start=$(date +%s.%N)
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

. "$(dirname "$0")/lib.sh"
conf=("shared_buffers = 2GB" "max_worker_processes = 8" "max_parallel_workers = 4"
	# throwaway data: no fsync, and no checkpoint in the middle of a timing
	"fsync = off" "max_wal_size = 8GB" "checkpoint_timeout = 1h")
[ -n "$WORK_MEM" ] && conf+=("work_mem = '$WORK_MEM'")
bench_cluster functions "$PORT" "${conf[@]}"

echo "sessionize function benchmark: $EVENTS events, $USERS users, gap 30 minutes, median of $RUNS runs"
echo "server: $(sql "SELECT 'PostgreSQL ' || current_setting('server_version') || ', shared_buffers ' || current_setting('shared_buffers')
                         || ', work_mem ' || current_setting('work_mem') || ', jit ' || current_setting('jit')
                         || ', max_parallel_workers_per_gather ' || current_setting('max_parallel_workers_per_gather')")"
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at start"

# --------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------
t0=$(now)
sql "CREATE EXTENSION sessionize;
$(bench_events_sql events "$EVENTS" "$USERS")
VACUUM ANALYZE events;
CHECKPOINT;"
echo "generated in $(elapsed "$t0") s: $(sql "SELECT pg_size_pretty(pg_table_size('events'))"), $(sql "SELECT count(*) FROM events") rows"

# --------------------------------------------------------------------------
# Queries
# --------------------------------------------------------------------------
# session-producing queries give user_id, session_start, last_event_at,
# event_count; sess_count() counts them so that every column is computed
sess_count() { echo "SELECT count(*) FROM ($1) q WHERE q.last_event_at >= q.session_start AND q.event_count > 0"; }

declare -A Q NAME
ALL_KEYS=(scan window_floor group_floor sql_lag_sum sql_boundaries sql_per_event sessions_agg session_id srf)
if [ -n "${BENCH_QUERIES:-}" ]; then
	KEYS=()
	for k in "${ALL_KEYS[@]}"; do
		[[ " $BENCH_QUERIES " == *" $k "* ]] && KEYS+=("$k")
	done
	for k in $BENCH_QUERIES; do
		[[ " ${ALL_KEYS[*]} " == *" $k "* ]] || { echo "BENCH_QUERIES: unknown query '$k' (known: ${ALL_KEYS[*]})" >&2; exit 2; }
	done
else
	KEYS=("${ALL_KEYS[@]}")
fi
has() { [[ " ${KEYS[*]} " == *" $1 "* ]]; }

NAME[scan]="1. bare sequential scan"
Q[scan]="SELECT count(*) FROM events"

NAME[window_floor]="2. count(*) OVER (window floor)"
Q[window_floor]="SELECT count(c) FROM (SELECT count(*) OVER (PARTITION BY user_id ORDER BY event_ts) AS c FROM events) q"

NAME[group_floor]="3. GROUP BY min/max/count (floor)"
Q[group_floor]=$(sess_count "SELECT user_id, min(event_ts) AS session_start, max(event_ts) AS last_event_at, count(*) AS event_count
  FROM events GROUP BY user_id")

# the README's plain-SQL reference (Semantics), word for word (key = user_id, ts = event_ts)
NAME[sql_lag_sum]="4a. SQL: LAG + SUM + GROUP BY"
SQL_LAG_SUM="SELECT user_id, min(event_ts) AS session_start, max(event_ts) AS last_event_at, count(*) AS event_count
FROM (SELECT user_id, event_ts, sum(is_new) OVER (PARTITION BY user_id ORDER BY event_ts ROWS UNBOUNDED PRECEDING) AS n
      FROM (SELECT user_id, event_ts,
                   CASE WHEN lag(event_ts) OVER w IS NULL OR event_ts - lag(event_ts) OVER w > $GAP THEN 1 ELSE 0 END AS is_new
            FROM events WHERE event_ts IS NOT NULL WINDOW w AS (PARTITION BY user_id ORDER BY event_ts)) f) g
GROUP BY user_id, n"
Q[sql_lag_sum]=$(sess_count "$SQL_LAG_SUM")

# Boundary rows only: one sort, one window pass computing lag, row_number
# and "is the user's last row" over every row; then only the session starts
# and each user's last row (about 15% of the rows) go through a second
# window (same order, no second sort), where a start finds its session's
# end in the next kept row: the event before the next start, or the user's
# last row.  The fastest correct variant found; it beat one that takes the
# user's last time and count from whole-partition max()/count() windows
# (about 15% slower) and one that keeps session starts and ends (about 8%).
NAME[sql_boundaries]="4b. SQL: LAG, boundary rows only"
SQL_BOUNDARIES=$(bench_sql_boundaries)
Q[sql_boundaries]=$(sess_count "$SQL_BOUNDARIES")

NAME[sql_per_event]="5. SQL per event: LAG + SUM"
Q[sql_per_event]="SELECT count(n) FROM (
  SELECT user_id, event_ts, sum(is_new) OVER (PARTITION BY user_id ORDER BY event_ts ROWS UNBOUNDED PRECEDING) AS n
  FROM (SELECT user_id, event_ts,
               CASE WHEN lag(event_ts) OVER w IS NULL OR event_ts - lag(event_ts) OVER w > $GAP THEN 1 ELSE 0 END AS is_new
        FROM events WHERE event_ts IS NOT NULL WINDOW w AS (PARTITION BY user_id ORDER BY event_ts)) f) q"

NAME[sessions_agg]="6. sessions() + unnest"
SESSIONS_AGG="SELECT g.user_id, s.session_start, s.last_event_at, s.event_count
  FROM (SELECT user_id, sessionize.sessions(event_ts, $GAP) AS ss FROM events GROUP BY user_id) g,
       unnest(g.ss) AS s"
Q[sessions_agg]=$(sess_count "$SESSIONS_AGG")

NAME[session_id]="7. session_id() OVER"
SESSION_ID="SELECT user_id, event_ts, sessionize.session_id(event_ts, $GAP) OVER (PARTITION BY user_id ORDER BY event_ts) AS s
  FROM events"
Q[session_id]="SELECT count(s) FROM ($SESSION_ID) q"

NAME[srf]="8. sessionize() SRF"
SRF="SELECT * FROM sessionize.sessionize('events', 'user_id', 'event_ts', $GAP)
  AS s(user_id int, session_start timestamptz, last_event_at timestamptz, session_end timestamptz, event_count bigint)"
Q[srf]=$(sess_count "$SRF")

PAR_BASE="SET max_parallel_workers_per_gather = 2;"
PAR_COSTS="SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0;"

# --------------------------------------------------------------------------
# The sessions agree (once, before any timing)
# --------------------------------------------------------------------------
# the same sessions give the same count, events, and sums of start and last
# times (exact numerics)
fingerprint() {
	sql "SELECT count(*) || ' sessions, ' || sum(event_count) || ' events, start sum '
	            || sum(extract(epoch FROM session_start)) || ', last sum ' || sum(extract(epoch FROM last_event_at))
	     FROM ($1) q"
}
echo
t0=$(now)
# the sessions of every selected session-producing query, and 7's numbers
declare -A FP
ref=""
for k in sql_lag_sum sql_boundaries sessions_agg srf; do
	has "$k" || continue
	case $k in
	sql_lag_sum) FP[$k]=$(fingerprint "$SQL_LAG_SUM") ;;
	sql_boundaries) FP[$k]=$(fingerprint "$SQL_BOUNDARIES") ;;
	sessions_agg) FP[$k]=$(fingerprint "$SESSIONS_AGG") ;;
	srf) FP[$k]=$(fingerprint "$SRF") ;;
	esac
	[ -z "$ref" ] && ref=$k
done
ok=1
c_lag=""
if [ -n "$ref" ]; then
	c_lag=${FP[$ref]%% *}
	for k in "${!FP[@]}"; do [ "${FP[$k]}" = "${FP[$ref]}" ] || ok=0; done
	[[ ${FP[$ref]} == "$c_lag sessions, $EVENTS events,"* ]] || ok=0
fi
if has session_id; then
	c_id=$(sql "SELECT sum(m) FROM (SELECT max(s) AS m FROM ($SESSION_ID) x GROUP BY user_id) y")
	if [ -z "$c_lag" ]; then c_lag=$c_id; elif [ "$c_id" != "$c_lag" ]; then ok=0; fi
fi
if [ "$ok" = 1 ]; then
	also=""
	[ -n "${c_id:-}" ] && also=" and the session numbers of session_id()"
	echo "check: OK: ${c_lag:-?} sessions of $EVENTS events from ${!FP[*]}$also, the same counts and time sums ($(elapsed "$t0") s)"
else
	echo "check: MISMATCH"
	for k in "${!FP[@]}"; do echo "  $k: ${FP[$k]}"; done
	[ -n "${c_id:-}" ] && echo "  session_id, sum of max: $c_id sessions"
	exit 1
fi

# --------------------------------------------------------------------------
# Timings
# --------------------------------------------------------------------------
# median of the runs
median() { tr ' ' '\n' | sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) m = v[(NR + 1) / 2]; else m = (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.3f", m }'; }

# One session per query: settings, one warm-up, then $RUNS timed runs.
# Sets RUNS_OF[key] (the runs' seconds) and T[key] (their median).
declare -A T RUNS_OF HWM TEMP
temp_bytes() { sql "SELECT temp_bytes FROM pg_stat_database WHERE datname = current_database()"; }
time_query() { # key query [settings]
	local out times i tb0
	tb0=$(temp_bytes)
	out=$( {
		echo "${3:-}"
		echo "$2;"
		echo "\\timing on"
		for ((i = 0; i < RUNS; i++)); do echo "$2;"; done
		echo "\\timing off"
		echo "SELECT 'hwm ' || (regexp_match(pg_read_file('/proc/self/status'), 'VmHWM:\\s+(\\d+) kB'))[1];"
	} | as_pg "$BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -h "$DIR" -p "$PORT" -U postgres -d postgres -At 2>&1) || {
		echo "query $1 failed:" >&2
		echo "$out" >&2
		exit 1
	}
	times=$(echo "$out" | awk '/^Time: / { printf "%.3f ", $2 / 1000 }')
	times=${times% }
	if [ "$(wc -w <<<"$times")" != "$RUNS" ]; then
		echo "query $1: expected $RUNS timings, got: $out" >&2
		exit 1
	fi
	RUNS_OF[$1]=$times
	T[$1]=$(median <<<"$times")
	HWM[$1]=$(echo "$out" | awk '/^hwm / { print $2 }')
	# (the session's statistics reach pg_stat_database when it ends)
	sleep 0.5
	TEMP[$1]=$(awk -v a="$tb0" -v b="$(temp_bytes)" -v n=$((RUNS + 1)) 'BEGIN { printf "%.0f", (b - a) / n / 1048576 }')
}
# peak memory over the bare scan's, in MB
mem_over_scan() { if [ -n "${HWM[scan]:-}" ]; then awk -v a="${HWM[$1]}" -v b="${HWM[scan]}" 'BEGIN { printf "%.0f", (a - b) / 1024 }'; else echo "?"; fi; }

echo
echo "timing (seconds; median of $RUNS after a warm-up; the runs in brackets):"
t0=$(now)
for k in "${KEYS[@]}"; do
	time_query "$k" "${Q[$k]}"
	printf '  %-46s %8s   [%s]  peak %s MB over the scan, temp %s MB a run\n' "${NAME[$k]}" "${T[$k]}" "${RUNS_OF[$k]}" \
		"$(mem_over_scan "$k")" "${TEMP[$k]}"
done
# is the table served from shared buffers?
bufs=$(sql "EXPLAIN (ANALYZE, BUFFERS, TIMING OFF, COSTS OFF) ${Q[scan]}" | grep -m1 'Buffers:' | sed 's/^ *//')
echo "  (bare scan: $bufs)"

# Parallel: 2 workers; zero parallel costs only if the plan needs them.
PAR=$PAR_BASE
if [ "$PARALLEL" != 1 ]; then
	:
elif ! sql "$PAR EXPLAIN (COSTS OFF) ${Q[sessions_agg]}" | grep -q 'Partial' ||
	! sql "$PAR EXPLAIN (COSTS OFF) ${Q[group_floor]}" | grep -q 'Partial'; then
	PAR="$PAR_BASE $PAR_COSTS"
fi
[ "$PARALLEL" = 1 ] && echo "  parallel settings: $PAR"
for k in group_floor sessions_agg; do
	{ [ "$PARALLEL" = 1 ] && has "$k"; } || continue
	time_query "${k}_par" "${Q[$k]}" "$PAR"
	printf '  %-46s %8s   [%s]\n' "${NAME[$k]}, 2 workers" "${T[${k}_par]}" "${RUNS_OF[${k}_par]}"
done
echo "  (timings took $(elapsed "$t0") s; load average $(cut -d' ' -f1-3 /proc/loadavg) now)"

# --------------------------------------------------------------------------
# Ratios
# --------------------------------------------------------------------------
BEST=sql_lag_sum
if [ -z "${T[sql_lag_sum]:-}" ] || { [ -n "${T[sql_boundaries]:-}" ] &&
	awk -v a="${T[sql_boundaries]}" -v b="${T[sql_lag_sum]}" 'BEGIN { exit !(a < b) }'; }; then BEST=sql_boundaries; fi

# (n/a when a query was not timed, see BENCH_QUERIES)
ratio() { if [ -z "$1" ] || [ -z "$2" ]; then echo n/a; return; fi
	awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "inf" }'; }
# on the printed (rounded) value, so that what is shown is what is judged
verdict() { if [ "$1" = n/a ]; then echo -; elif awk -v v="$1" -v t="$3" "BEGIN { exit !(v $2 t) }"; then echo PASS; else echo MISS; fi; }

R_NAME=("best plain SQL / sessions()" "sessions() / GROUP BY floor" "best plain SQL / sessionize() SRF"
	"plain per-event / session_id()" "session_id() / count(*) OVER")
R_VAL=("$(ratio "${T[$BEST]:-}" "${T[sessions_agg]:-}")" "$(ratio "${T[sessions_agg]:-}" "${T[group_floor]:-}")"
	"$(ratio "${T[$BEST]:-}" "${T[srf]:-}")" "$(ratio "${T[sql_per_event]:-}" "${T[session_id]:-}")"
	"$(ratio "${T[session_id]:-}" "${T[window_floor]:-}")")
R_OP=('>=' '<=' '>=' '>=' '<=')
R_TGT=(4.5 1.3 8 1.2 1.1)
SPEED_FLOOR=$(ratio "${T[group_floor]:-}" "${T[group_floor_par]:-}")
SPEED_AGG=$(ratio "${T[sessions_agg]:-}" "${T[sessions_agg_par]:-}")
# issue 12: at 50M events over 2M users, sessionize() within 5x a bare scan
R_NAME+=("sessionize() SRF / bare scan")
R_VAL+=("$(ratio "${T[srf]:-}" "${T[scan]:-}")")
R_OP+=('<=')
R_TGT+=(5)

echo
printf '%-40s %10s %8s %8s\n' "query (one core unless noted)" "median s" "peak MB" "temp MB"
printf '%-40s %10s %8s %8s\n' "----------------------------------------" "----------" "--------" "--------"
for k in "${KEYS[@]}"; do
	mark=""
	[ "$k" = "$BEST" ] && mark="  <- best plain SQL"
	printf '%-40s %10s %8s %8s%s\n' "${NAME[$k]}" "${T[$k]}" "$(mem_over_scan "$k")" "${TEMP[$k]}" "$mark"
done
[ -n "${T[group_floor_par]:-}" ] && printf '%-40s %10s  (%sx vs 1 core)\n' "3. floor, 2 workers" "${T[group_floor_par]}" "$SPEED_FLOOR"
[ -n "${T[sessions_agg_par]:-}" ] && printf '%-40s %10s  (%sx vs 1 core)\n' "6. sessions(), 2 workers" "${T[sessions_agg_par]}" "$SPEED_AGG"
echo
printf '%-36s %8s   %-8s %s\n' "ratio" "value" "target" ""
printf '%-36s %8s   %-8s %s\n' "------------------------------------" "--------" "--------" "----"
for i in "${!R_NAME[@]}"; do
	printf '%-36s %8s   %-8s %s\n' "${R_NAME[$i]}" "${R_VAL[$i]}$([ "${R_VAL[$i]}" = n/a ] || echo x)" "${R_OP[$i]} ${R_TGT[$i]}x" \
		"$(verdict "${R_VAL[$i]}" "${R_OP[$i]}" "${R_TGT[$i]}")"
done
echo "(best plain SQL: ${NAME[$BEST]})"

# --------------------------------------------------------------------------
# Plans
# --------------------------------------------------------------------------
plan() { # title query [settings]
	echo
	echo "plan: $1"
	sql "${3:-} EXPLAIN (COSTS OFF) $2" | sed 's/^/  /'
}
for k in sessions_agg group_floor; do
	has "$k" || continue
	plan "${NAME[$k]}, one core" "${Q[$k]}"
	[ "$PARALLEL" = 1 ] || continue
	plan "${NAME[$k]}, 2 workers" "${Q[$k]}" "$PAR"
	p=$(sql "$PAR EXPLAIN (COSTS OFF) ${Q[$k]}")
	if grep -q 'Partial' <<<"$p" && grep -q 'Finalize' <<<"$p" && grep -q 'Gather' <<<"$p"; then
		echo "${NAME[$k]}, 2 workers: parallel partial aggregation (Partial ... under Gather, then Finalize)"
	else
		echo "${NAME[$k]}, 2 workers: NOT a parallel partial aggregation"
	fi
	if [ "${BENCH_ANALYZE:-0}" = 1 ]; then
		echo
		echo "EXPLAIN ANALYZE: ${NAME[$k]}, 2 workers"
		sql "$PAR EXPLAIN (ANALYZE, VERBOSE, BUFFERS, COSTS OFF) ${Q[$k]}" | sed 's/^/  /'
	fi
done

# --------------------------------------------------------------------------
# Markdown, for the README
# --------------------------------------------------------------------------
md_name() {
	case $1 in
	scan) echo 'bare sequential scan' ;;
	window_floor) echo '`count(*) OVER (PARTITION BY user_id ORDER BY event_ts)` (window floor)' ;;
	group_floor) echo '`GROUP BY user_id` with min, max, count (grouping floor)' ;;
	sql_lag_sum) echo 'plain SQL: LAG + running SUM + GROUP BY (the README reference)' ;;
	sql_boundaries) echo 'plain SQL: LAG, boundary rows only + lead()' ;;
	sql_per_event) echo 'plain SQL: per-event session number (LAG + running SUM)' ;;
	sessions_agg) echo '`sessionize.sessions()` + unnest' ;;
	session_id) echo '`sessionize.session_id()` as a window' ;;
	srf) echo '`sessionize.sessionize()`' ;;
	esac
}
md_ratio() { sed -e 's/sessions()/`sessions()`/; s/sessionize() SRF \/ bare/`sessionize()` \/ bare/; s/sessionize() SRF/`sessionize()`/; s/session_id()/`session_id()`/; s/count(\*) OVER/`count(*) OVER`/' <<<"$1"; }
echo
echo "Markdown:"
echo
echo "$EVENTS events over $USERS users, gap 30 minutes, $c_lag sessions; median of $RUNS runs, work_mem $(sql "SHOW work_mem"); load average $(cut -d' ' -f1-3 /proc/loadavg) at the end."
echo
echo "| query (one core unless noted) | median s | peak MB over the scan | temp MB a run |"
echo "|---|---:|---:|---:|"
for k in "${KEYS[@]}"; do echo "| $(md_name "$k") | ${T[$k]} | $(mem_over_scan "$k") | ${TEMP[$k]} |"; done
[ -n "${T[group_floor_par]:-}" ] && echo "| grouping floor, 2 parallel workers | ${T[group_floor_par]} (${SPEED_FLOOR}x) | | |"
[ -n "${T[sessions_agg_par]:-}" ] && echo "| \`sessions()\`, 2 parallel workers | ${T[sessions_agg_par]} (${SPEED_AGG}x) | | |"
echo
echo "| ratio | value | target | |"
echo "|---|---:|---|---|"
for i in "${!R_NAME[@]}"; do
	n=$(md_ratio "${R_NAME[$i]}")
	[ "$i" = 0 ] && n=${n/best plain SQL/best plain SQL ($(md_name "$BEST" | sed 's/^plain SQL: //'))}
	echo "| $n | ${R_VAL[$i]}$([ "${R_VAL[$i]}" = n/a ] || echo x) | ${R_OP[$i]} ${R_TGT[$i]}x | $(verdict "${R_VAL[$i]}" "${R_OP[$i]}" "${R_TGT[$i]}") |"
done
echo
echo "total wall time $(elapsed "$script_start") s"
