#!/usr/bin/env bash
# test/bench/srf_memory.sh: peak memory and time of sessionize() on rows in
# time order and shuffled, next to GROUP BY with min/max/count.
#
# Generates BENCH_EVENTS events (12M) over BENCH_USERS users (100k) as
# test/bench/functions.sh does (rows in time order), and a copy of the same
# rows in random order.  For each table and each work_mem of
# BENCH_WORK_MEMS ("1MB 4MB"), runs in a fresh session, one at a time: a
# bare count(*), GROUP BY user_id with min/max/count, and sessionize(); and
# reports the backend's peak resident memory (VmHWM of /proc/self/status,
# read through pg_read_file(), so the cluster's superuser runs it) at the
# end of the query, its growth over the session's start, the time, and the
# temporary files the query wrote (pg_stat_database).  shared_buffers stays
# at 128MB, so that the scans go through a small ring of buffers and the
# peak is the backend's own memory (plus the shared memory every query
# touches: compare with the bare count).
#
# With BENCH_BASELINE_SO (a sessionize.so of another version, linked with
# -Wl,-Bsymbolic so that it calls its own functions, not the preloaded
# library's), its sessionize() is measured too, as base_sessionize(), and
# timed against ours on the ordered table at each work_mem: BENCH_RUNS runs
# each, alternating, medians and their ratio.  To build one from a commit:
#   git archive <commit> | tar -C /tmp/base -xf - && make -C /tmp/base PG_LDFLAGS=-Wl,-Bsymbolic
#
# Usage: test/bench/srf_memory.sh   (as root or as a user who can run initdb)
# Settings: BENCH_EVENTS (12000000), BENCH_USERS (100000), BENCH_PORT (5489),
#           BENCH_WORK_MEMS ("1MB 4MB"), BENCH_RUNS (5), BENCH_BASELINE_SO,
#           SESSIONIZE_PG_BINDIR (the PostgreSQL to use).
# hash_mem_multiplier is the server's default (2): the hash limit is twice
# work_mem.

set -euo pipefail

EVENTS=${BENCH_EVENTS:-12000000}
USERS=${BENCH_USERS:-100000}
PORT=${BENCH_PORT:-5489}
WORK_MEMS=${BENCH_WORK_MEMS:-1MB 4MB}
RUNS=${BENCH_RUNS:-5}
BASE_SO=${BENCH_BASELINE_SO:-}
GAP="interval '30 minutes'"

for v in EVENTS USERS PORT RUNS; do
	if ! [[ ${!v} =~ ^[1-9][0-9]*$ ]]; then
		echo "BENCH_$v must be a positive integer, not '${!v}'" >&2
		exit 2
	fi
done
for wm in $WORK_MEMS; do
	if ! [[ $wm =~ ^[0-9]+(kB|MB|GB)$ ]]; then
		echo "BENCH_WORK_MEMS must be a list like '1MB 4MB', not '$WORK_MEMS'" >&2
		exit 2
	fi
done
if [ -n "$BASE_SO" ] && [ ! -r "$BASE_SO" ]; then
	echo "BENCH_BASELINE_SO: cannot read $BASE_SO" >&2
	exit 2
fi

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

. "$(dirname "$0")/lib.sh"
bench_cluster srf_memory "$PORT" "fsync = off" "max_wal_size = 8GB" "checkpoint_timeout = 1h"
if [ -n "$BASE_SO" ]; then
	# the cluster's user must be able to read it
	cp "$BASE_SO" "$DIR/sessionize_base.so"
	chmod 644 "$DIR/sessionize_base.so"
	[ "$(id -u)" = 0 ] && chown postgres "$DIR/sessionize_base.so"
fi

echo "sessionize() memory benchmark: $EVENTS events, $USERS users, gap 30 minutes"
echo "server: $(sql "SELECT 'PostgreSQL ' || current_setting('server_version') || ', shared_buffers ' || current_setting('shared_buffers')
                         || ', hash_mem_multiplier ' || current_setting('hash_mem_multiplier') || ', jit ' || current_setting('jit')")"
echo "machine: $(nproc) cores, $(uptime | sed 's/.*load average/load average/') at start"

t0=$(now)
sql "CREATE EXTENSION sessionize;
$(bench_events_sql events_ordered "$EVENTS" "$USERS")
CREATE TABLE events_shuffled AS SELECT * FROM events_ordered ORDER BY random();
VACUUM ANALYZE events_ordered;
VACUUM ANALYZE events_shuffled;
CHECKPOINT;"
# a restart empties shared buffers: every query starts from the same state
as_pg "$BINDIR/pg_ctl" -D "$DIR/data" -l "$DIR/log" -w restart >/dev/null
if [ -n "$BASE_SO" ]; then
	sql "CREATE FUNCTION base_sessionize(regclass, name, name, interval) RETURNS SETOF record
	     AS '$DIR/sessionize_base.so', 'sessionize_relation' LANGUAGE C STRICT"
fi
echo "generated in $(elapsed "$t0") s: $(sql "SELECT pg_size_pretty(pg_table_size('events_ordered'))") a table"

srf() { # function table
	echo "SELECT count(*) FROM $1('$2', 'user_id', 'event_ts', $GAP)
	  AS s(user_id int, session_start timestamptz, last_event_at timestamptz, session_end timestamptz, event_count bigint)
	  WHERE s.last_event_at >= s.session_start AND s.event_count > 0"
}
group() {
	echo "SELECT count(*) FROM (SELECT user_id, min(event_ts) AS a, max(event_ts) AS b, count(*) AS n FROM $1 GROUP BY user_id) q
	  WHERE q.b >= q.a AND q.n > 0"
}

temp_files() { sql "SELECT temp_files || ' ' || temp_bytes FROM pg_stat_database WHERE datname = current_database()"; }

# measure WORK_MEM QUERY: in a fresh session; prints "peak_kB growth_kB ms result"
measure() {
	local out
	out=$(printf '%s\n' "SET work_mem = '$1';" \
		"SELECT 'start ' || (regexp_match(pg_read_file('/proc/self/status'), 'VmHWM:\\s+(\\d+) kB'))[1];" \
		'\timing on' "$2;" '\timing off' \
		"SELECT 'peak ' || (regexp_match(pg_read_file('/proc/self/status'), 'VmHWM:\\s+(\\d+) kB'))[1];" |
		as_pg "$BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -h "$DIR" -p "$PORT" -U postgres -d postgres -At 2>&1) || {
		echo "query failed: $2" >&2
		echo "$out" >&2
		exit 1
	}
	awk '/^start / { s = $2 } /^peak / { p = $2 } /^Time: / { t = $2 } /^[0-9]+$/ { r = $1 }
	     END { printf "%d %d %.0f %s\n", p, p - s, t, r }' <<<"$out"
}

declare -A ROW
KINDS=(count group srf)
[ -n "$BASE_SO" ] && KINDS+=(base)
kind_name() {
	case $1 in
	count) echo 'bare count(*)' ;;
	group) echo 'GROUP BY min/max/count' ;;
	srf) echo 'sessionize()' ;;
	base) echo 'sessionize(), baseline' ;;
	esac
}

echo
printf '%-9s %-8s %-24s %9s %9s %9s %11s %10s\n' table work_mem query "peak MB" "growth MB" "time s" "temp files" "temp MB"
for tbl in ordered shuffled; do
	for wm in $WORK_MEMS; do
		for k in "${KINDS[@]}"; do
			case $k in
			count) q="SELECT count(*) FROM events_$tbl" ;;
			group) q=$(group "events_$tbl") ;;
			srf) q=$(srf sessionize.sessionize "events_$tbl") ;;
			base) q=$(srf base_sessionize "events_$tbl") ;;
			esac
			read -r tf0 tb0 <<<"$(temp_files)"
			read -r peak growth ms result <<<"$(measure "$wm" "$q")"
			read -r tf1 tb1 <<<"$(temp_files)"
			ROW[$tbl,$wm,$k]=$(awk -v p="$peak" -v g="$growth" -v t="$ms" -v f=$((tf1 - tf0)) -v b=$((tb1 - tb0)) \
				'BEGIN { printf "%.1f %.1f %.2f %d %.0f", p / 1024, g / 1024, t / 1000, f, b / 1048576 }')
			read -r a b c d e <<<"${ROW[$tbl,$wm,$k]}"
			printf '%-9s %-8s %-24s %9s %9s %9s %11s %10s   (%s rows)\n' "$tbl" "$wm" "$(kind_name "$k")" "$a" "$b" "$c" "$d" "$e" "$result"
		done
	done
done
echo "(load average $(cut -d' ' -f1-3 /proc/loadavg) now)"

# the same sessions from ours and the baseline, shuffled and ordered
if [ -n "$BASE_SO" ]; then
	fp() { sql "SELECT count(*) || ' ' || sum(event_count) || ' ' || sum(extract(epoch FROM session_start)) || ' ' || sum(extract(epoch FROM last_event_at))
	            FROM $1('$2', 'user_id', 'event_ts', $GAP)
	            AS s(user_id int, session_start timestamptz, last_event_at timestamptz, session_end timestamptz, event_count bigint)"; }
	for tbl in ordered shuffled; do
		if [ "$(fp sessionize.sessionize "events_$tbl")" = "$(fp base_sessionize "events_$tbl")" ]; then
			echo "check: events_$tbl: the same sessions from both versions"
		else
			echo "check: events_$tbl: MISMATCH between the versions"
			exit 1
		fi
	done

	# ordered rows, alternating runs in one session per work_mem; wall
	# time, and the backend's CPU time (utime + stime of /proc/self/stat,
	# in clock ticks), which other work on the machine disturbs less
	cpu="SELECT 'cpu ' || (f[12]::bigint + f[13]::bigint) FROM string_to_array(split_part(pg_read_file('/proc/self/stat'), ') ', 2), ' ') f;"
	tick=$(getconf CLK_TCK)
	echo
	echo "timing on events_ordered, $RUNS runs each, alternating (seconds; medians, and the fastest runs):"
	for wm in $WORK_MEMS; do
		out=$( {
			echo "SET work_mem = '$wm';"
			echo "$(srf sessionize.sessionize events_ordered);"
			echo "$(srf base_sessionize events_ordered);"
			for ((i = 0; i < RUNS; i++)); do
				for f in sessionize.sessionize base_sessionize; do
					echo "$cpu"
					echo '\timing on'
					echo "$(srf $f events_ordered);"
					echo '\timing off'
					echo "$cpu"
				done
			done
		} | as_pg "$BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -h "$DIR" -p "$PORT" -U postgres -d postgres -At 2>&1)
		awk -v wm="$wm" -v tick="$tick" '
			/^Time: / { n++; if (n % 2) a[++i] = $2 / 1000; else b[i] = $2 / 1000 }
			/^cpu / { c++; if (c % 2) { prev = $2 } else { m++; if (m % 2) ca[++j] = ($2 - prev) / tick; else cb[j] = ($2 - prev) / tick } }
			function median(v, k,    j, x, t, y) {
				for (j = 1; j <= k; j++) x[j] = v[j]
				for (j = 1; j <= k; j++) for (t = j + 1; t <= k; t++) if (x[t] < x[j]) { y = x[j]; x[j] = x[t]; x[t] = y }
				return (k % 2) ? x[(k + 1) / 2] : (x[k / 2] + x[k / 2 + 1]) / 2
			}
			function least(v, k,    j, m) { m = v[1]; for (j = 2; j <= k; j++) if (v[j] < m) m = v[j]; return m }
			function show(what, x, y, k,    j) {
				printf "  work_mem %-6s %-9s ours %.3f  baseline %.3f  ratio %.3f (fastest runs: %.3f, %.3f, ratio %.3f)\n", wm, what, median(x, k), median(y, k), median(x, k) / median(y, k), least(x, k), least(y, k), least(x, k) / least(y, k)
				printf "    ours ["
				for (j = 1; j <= k; j++) printf "%s%.3f", (j > 1 ? " " : ""), x[j]
				printf "]  baseline ["
				for (j = 1; j <= k; j++) printf "%s%.3f", (j > 1 ? " " : ""), y[j]
				print "]"
			}
			END { show("wall", a, b, i); show("CPU", ca, cb, j) }' <<<"$out"
	done
	echo "(load average $(cut -d' ' -f1-3 /proc/loadavg) now)"
fi

# Markdown, for the README
echo
echo "Markdown:"
echo
echo "$EVENTS events over $USERS users; peak resident memory of the backend (VmHWM) at the end of each query, run alone in a fresh session; hash_mem_multiplier 2."
echo
echo "| rows | work_mem | query | peak MB | growth MB | seconds | temp files |"
echo "|---|---|---|---:|---:|---:|---:|"
for tbl in ordered shuffled; do
	for wm in $WORK_MEMS; do
		for k in "${KINDS[@]}"; do
			read -r a b c d e <<<"${ROW[$tbl,$wm,$k]}"
			echo "| $tbl | $wm | $(kind_name "$k") | $a | $b | $c | $d |"
		done
	done
done
