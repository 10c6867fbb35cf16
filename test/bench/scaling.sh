#!/usr/bin/env bash
# test/bench/scaling.sh: how sessionize() scales with events, users and
# work_mem, next to a bare scan and the best plain SQL, time and memory.
#
# For each number of events in BENCH_SIZES ("1000000 10000000 50000000")
# and of users in BENCH_USER_COUNTS ("10000 100000 2000000"), generates
# events(user_id int, event_ts timestamptz) as test/bench/functions.sh does
# (per user, gaps 85% exponential with mean 90 s, 15% with mean 8 h; rows
# in time order; fixed seed), then, for each work_mem of BENCH_WORK_MEMS
# ("4MB 64MB"), runs each query once in a fresh session, one at a time, on
# one core: a bare count(*) (after one untimed scan, so that the table is
# in the OS cache), the best plain SQL of functions.sh (LAG, boundary rows
# only + lead()), and sessionize(), gap 30 minutes.  For each it reports
# the time, the growth of the backend's peak resident memory (VmHWM of
# /proc/self/status, read through pg_read_file()) during the query, and the
# temporary file bytes it wrote (pg_stat_database).  shared_buffers stays
# at 128MB, and each session first scans the table untimed, so that the
# shared buffers it maps count before the query starts: the growth is the
# backend's own memory (the scan's own is about nothing).  hash_mem_multiplier is the default
# (2).  One run per cell: the times are rough on a shared machine; the
# load average is printed with each row.  The SQL and sessionize() must
# find the same number of sessions, or the script stops.
#
# Usage: test/bench/scaling.sh   (as root or as a user who can run initdb)
# Settings: BENCH_SIZES, BENCH_USER_COUNTS, BENCH_WORK_MEMS (see above),
#           BENCH_PORT (5490), BENCH_SKIP_SQL_ABOVE (unset: time the plain
#           SQL everywhere; else skip it above that many events),
#           SESSIONIZE_PG_BINDIR (the PostgreSQL to use).

set -euo pipefail

SIZES=${BENCH_SIZES:-1000000 10000000 50000000}
USER_COUNTS=${BENCH_USER_COUNTS:-10000 100000 2000000}
WORK_MEMS=${BENCH_WORK_MEMS:-4MB 64MB}
PORT=${BENCH_PORT:-5490}
SKIP_SQL_ABOVE=${BENCH_SKIP_SQL_ABOVE:-}
GAP="interval '30 minutes'"

for v in $SIZES $USER_COUNTS $PORT $SKIP_SQL_ABOVE; do
	if ! [[ $v =~ ^[1-9][0-9]*$ ]]; then
		echo "BENCH_SIZES, BENCH_USER_COUNTS, BENCH_PORT and BENCH_SKIP_SQL_ABOVE take positive integers, not '$v'" >&2
		exit 2
	fi
done
for wm in $WORK_MEMS; do
	if ! [[ $wm =~ ^[0-9]+(kB|MB|GB)$ ]]; then
		echo "BENCH_WORK_MEMS must be a list like '4MB 64MB', not '$WORK_MEMS'" >&2
		exit 2
	fi
done

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
script_start=$(now)

. "$(dirname "$0")/lib.sh"
bench_cluster scaling "$PORT" "fsync = off" "max_wal_size = 8GB" "checkpoint_timeout = 1h"
sql "CREATE EXTENSION sessionize"

echo "sessionize scaling benchmark: events $SIZES; users $USER_COUNTS; work_mem $WORK_MEMS; gap 30 minutes; one run each"
echo "server: $(sql "SELECT 'PostgreSQL ' || current_setting('server_version') || ', shared_buffers ' || current_setting('shared_buffers')
                         || ', hash_mem_multiplier ' || current_setting('hash_mem_multiplier') || ', jit ' || current_setting('jit')
                         || ', max_parallel_workers_per_gather ' || current_setting('max_parallel_workers_per_gather')")"
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at start"

scan_q="SELECT count(*) FROM events"
# test/bench/functions.sh's 4b, counted as it counts sessions
sql_q="SELECT count(*) FROM ($(bench_sql_boundaries)) q WHERE q.last_event_at >= q.session_start AND q.event_count > 0"
srf_q="SELECT count(*) FROM sessionize.sessionize('events', 'user_id', 'event_ts', $GAP)
  AS s(user_id int, session_start timestamptz, last_event_at timestamptz, session_end timestamptz, event_count bigint)
  WHERE s.last_event_at >= s.session_start AND s.event_count > 0"

temp_bytes() { sql "SELECT temp_bytes FROM pg_stat_database WHERE datname = current_database()"; }

# measure WORK_MEM QUERY: in a fresh session; prints "seconds growth_MB temp_MB result"
measure() {
	local out tb0 tb1
	tb0=$(temp_bytes)
	out=$(printf '%s\n' "SET work_mem = '$1';" "SELECT count(*) AS untimed FROM events \\g /dev/null" \
		"SELECT 'start ' || (regexp_match(pg_read_file('/proc/self/status'), 'VmHWM:\\s+(\\d+) kB'))[1];" \
		'\timing on' "$2;" '\timing off' \
		"SELECT 'peak ' || (regexp_match(pg_read_file('/proc/self/status'), 'VmHWM:\\s+(\\d+) kB'))[1];" |
		as_pg "$BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -h "$DIR" -p "$PORT" -U postgres -d postgres -At 2>&1) || {
		echo "query failed: $2" >&2
		echo "$out" >&2
		exit 1
	}
	# (the session's statistics reach pg_stat_database when it ends)
	sleep 0.5
	tb1=$(temp_bytes)
	awk -v tb=$((tb1 - tb0)) '/^start / { s = $2 } /^peak / { p = $2 } /^Time: / { t = $2 } /^[0-9]+$/ { r = $1 }
	     END { printf "%.3f %.1f %.0f %s\n", t / 1000, (p - s) / 1024, tb / 1048576, r }' <<<"$out"
}

ROWS=()
echo
printf '%10s %9s %8s | %8s %8s %8s | %7s %7s | %6s %6s %6s | %7s %7s | %s\n' \
	events users work_mem "scan s" "SQL s" "srf s" "SQL/srf" "srf/scn" "scn MB" "SQL MB" "srf MB" "SQL tmp" "srf tmp" "load"
for events in $SIZES; do
	for users in $USER_COUNTS; do
		t0=$(now)
		sql "DROP TABLE IF EXISTS events;
		$(bench_events_sql events "$events" "$users")
		VACUUM ANALYZE events;
		CHECKPOINT;"
		echo "  ($events events over $users users generated in $(elapsed "$t0") s, $(sql "SELECT pg_size_pretty(pg_table_size('events'))"))"
		measure 4MB "$scan_q" >/dev/null # into the OS cache
		for wm in $WORK_MEMS; do
			read -r scan_s scan_mb _ _ <<<"$(measure "$wm" "$scan_q")"
			if [ -n "$SKIP_SQL_ABOVE" ] && [ "$events" -gt "$SKIP_SQL_ABOVE" ]; then
				sql_s=- sql_mb=- sql_tmp=- sql_n=-
			else
				read -r sql_s sql_mb sql_tmp sql_n <<<"$(measure "$wm" "$sql_q")"
			fi
			read -r srf_s srf_mb srf_tmp srf_n <<<"$(measure "$wm" "$srf_q")"
			if [ "$sql_n" != - ] && [ "$sql_n" != "$srf_n" ]; then
				echo "MISMATCH: $events events, $users users, work_mem $wm: plain SQL $sql_n sessions, sessionize() $srf_n" >&2
				exit 1
			fi
			r1=$(awk -v a="$sql_s" -v b="$srf_s" 'BEGIN { if (a == "-") print "-"; else printf "%.1f", a / b }')
			r2=$(awk -v a="$srf_s" -v b="$scan_s" 'BEGIN { printf "%.1f", a / b }')
			load=$(cut -d' ' -f1 /proc/loadavg)
			printf '%10s %9s %8s | %8s %8s %8s | %7s %7s | %6s %6s %6s | %7s %7s | %s\n' \
				"$events" "$users" "$wm" "$scan_s" "$sql_s" "$srf_s" "$r1" "$r2" "$scan_mb" "$sql_mb" "$srf_mb" "$sql_tmp" "$srf_tmp" "$load"
			x1=${r1}x
			[ "$r1" = - ] && x1=-
			ROWS+=("| $events | $users | $wm | $scan_s | $sql_s | $srf_s | $x1 | ${r2}x | $scan_mb / $sql_mb / $srf_mb | $sql_tmp / $srf_tmp | $load |")
		done
	done
done

echo
echo "Markdown:"
echo
echo "One run per cell, one core; peak = growth of the backend's VmHWM during the query, after an untimed scan in the same session (MB); temp = temporary file MB written; load = 1-minute load average after the row."
echo
echo "| events | users | work_mem | scan s | best plain SQL s | \`sessionize()\` s | SQL / \`sessionize()\` | \`sessionize()\` / scan | peak MB scan / SQL / \`sessionize()\` | temp MB SQL / \`sessionize()\` | load |"
echo "|---:|---:|---|---:|---:|---:|---:|---:|---|---|---:|"
for r in "${ROWS[@]}"; do echo "$r"; done
echo
echo "total wall time $(elapsed "$script_start") s; load average $(cut -d' ' -f1-3 /proc/loadavg) at the end"
