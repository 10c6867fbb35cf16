#!/usr/bin/env bash
# test/bench/worker.sh: what keeping a job fresh with the background worker
# costs writers, and how fresh its sessions are.
#
# Two phases of the same load, BENCH_SECONDS each: BENCH_CLIENTS pgbench
# clients insert events, 1 to 100 per transaction (uniform), users uniform
# over BENCH_USERS, event time now() except for 5% of the events, late by
# up to a day (uniform).  Phase 1: into a table without a job.  Phase 2:
# into a table with a job that the worker runs at its default schedule
# (schedule_interval 10 s).  Commits are durable (synchronous_commit = on).
# Prints, per phase: events inserted, events per second (wall clock) and
# per CPU-second of the server's processes (all of them: backends,
# background writer, WAL writer, the worker; not pgbench); for phase 2 also
# the freshness of the events, p50 and p99, and that verify() is clean.
#
# Freshness of an event: from its commit (track_commit_timestamp) to the
# commit of the run that applied it (the xmin of the run's history row),
# taking as that run the first one that started after the event's commit:
# an upper bound, since a run also applies what commits while it reads the
# log.
#
# Usage: test/bench/worker.sh        (as root or as a user who can run initdb)
# Settings: BENCH_SECONDS (90), BENCH_CLIENTS (4), BENCH_USERS (100000),
#           BENCH_PORT (5488); SESSIONIZE_PG_BINDIR picks the PostgreSQL.
#           It starts and removes its own throwaway cluster.

set -euo pipefail

DURATION=${BENCH_SECONDS:-90}
CLIENTS=${BENCH_CLIENTS:-4}
USERS=${BENCH_USERS:-100000}
PORT=${BENCH_PORT:-5488}
. "$(dirname "$0")/lib.sh"
bench_cluster worker "$PORT" "shared_buffers = 512MB" "synchronous_commit = on" \
	"track_commit_timestamp = on" "max_wal_size = 4GB" "checkpoint_timeout = 15min" \
	"sessionize.naptime = '5s'"

ticks=$(getconf CLK_TCK)
# CPU seconds used so far by the server: the postmaster, its live children,
# and (through the postmaster's cutime/cstime) the children that exited
cpu_seconds() {
	local pm total=0 pid f
	pm=$(head -n 1 "$DIR/data/postmaster.pid")
	f=($(sed 's/^.*) //' "/proc/$pm/stat"))
	total=$((f[11] + f[12] + f[13] + f[14]))
	for pid in $(pgrep -P "$pm"); do
		if [ -r "/proc/$pid/stat" ]; then
			f=($(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null || echo))
			[ ${#f[@]} -gt 12 ] && total=$((total + f[11] + f[12]))
		fi
	done
	echo "scale=3; $total / $ticks" | bc
}

sql "CREATE EXTENSION sessionize"
for t in plain_events job_events; do
	sql "CREATE TABLE $t (user_id int, ts timestamptz, payload text);
	     CREATE INDEX ON $t (user_id, ts);"
	cat >"$DIR/$t.sql" <<EOF
\\set n random(1, 100)
INSERT INTO $t (user_id, ts, payload)
SELECT (random() * $USERS)::int,
       now() - CASE WHEN random() < 0.05 THEN random() * interval '1 day' ELSE interval '0' END, 'e'
FROM generate_series(1, :n);
EOF
done
chmod a+r "$DIR"/*.sql
job=$(sql "SELECT sessionize.create_job('job_events', 'user_id', 'ts', interval '30 minutes')")

echo "sessionize worker benchmark: $CLIENTS clients, $DURATION s per phase, 1-100 events per transaction,"
echo "$USERS users, 5% of events late by up to a day; durable commits; machine load before: $(cut -d' ' -f1-3 /proc/loadavg)"

# phase TABLE: runs the load; sets EVENTS, WALL, CPU
phase() {
	local c0 c1 t0 t1
	c0=$(cpu_seconds)
	t0=$(date +%s.%N)
	as_pg "$BINDIR/pgbench" -n -h "$DIR" -p "$PORT" -U postgres -c "$CLIENTS" -j "$CLIENTS" \
		-T "$DURATION" -f "$DIR/$1.sql" postgres >"$DIR/pgbench-$1.log" 2>&1 ||
		{ cat "$DIR/pgbench-$1.log"; exit 1; }
	t1=$(date +%s.%N)
	# the clients' backends gone and reaped: their CPU is the postmaster's cutime
	until [ "$(sql "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'")" = 1 ]; do
		sleep 0.1
	done
	sleep 1
	c1=$(cpu_seconds)
	EVENTS=$(sql "SELECT count(*) FROM $1")
	WALL=$(echo "$t1 - $t0" | bc)
	CPU=$(echo "$c1 - $c0" | bc)
}

phase plain_events
p_events=$EVENTS p_wall=$WALL p_cpu=$CPU
echo "load average after phase 1: $(cut -d' ' -f1-3 /proc/loadavg)"

phase job_events
j_events=$EVENTS j_wall=$WALL j_cpu=$CPU
# the worker catches up on what the last seconds wrote; its CPU counts
c0=$(cpu_seconds)
t0=$(date +%s)
until [ "$(sql "SELECT pending_events = 0 AND NOT pending_rebuild FROM sessionize.job_status WHERE job_id = $job")" = t ]; do
	sleep 0.2
	[ $(($(date +%s) - t0)) -lt 600 ] || { echo "the job did not catch up in 10 minutes" >&2; exit 1; }
done
catchup=$(($(date +%s) - t0))
j_cpu=$(echo "$j_cpu + $(cpu_seconds) - $c0" | bc)
echo "load average after phase 2: $(cut -d' ' -f1-3 /proc/loadavg)"

read -r p50 p99 runs <<<"$(sql "
WITH tx AS (SELECT pg_xact_commit_timestamp(xmin) AS committed, count(*) AS n
            FROM job_events GROUP BY xmin::text::bigint, pg_xact_commit_timestamp(xmin)),
runs AS (SELECT started_at, pg_xact_commit_timestamp(xmin) AS applied
         FROM sessionize.job_run_details WHERE job_id = $job AND status = 'succeeded'),
f AS (SELECT extract(epoch FROM (SELECT min(r.applied) FROM runs r WHERE r.started_at > tx.committed)
                                - tx.committed) AS s, n
      FROM tx)
SELECT round(percentile_disc(0.5) WITHIN GROUP (ORDER BY s)::numeric, 2),
       round(percentile_disc(0.99) WITHIN GROUP (ORDER BY s)::numeric, 2),
       (SELECT count(*) FROM runs)
FROM f, generate_series(1, f.n)" | tr '|' ' ')"
read -r run_avg run_max events_per_run <<<"$(sql "
SELECT round(avg(extract(epoch FROM finished_at - started_at))::numeric, 2),
       round(max(extract(epoch FROM finished_at - started_at))::numeric, 2),
       round(avg(events_inserted + events_deleted))
FROM sessionize.job_run_details WHERE job_id = $job AND status = 'succeeded' AND NOT full_rebuild" | tr '|' ' ')"
differences=$(sql "SELECT count(*) FROM sessionize.verify($job)")
sessions=$(sql "SELECT count(*) FROM job_events_sessions")

rate() { echo "scale=0; $1 / $2" | bc; }
printf '\n%-44s %14s %14s\n' "" "no job" "job + worker"
printf '%-44s %14s %14s\n' "events inserted" "$p_events" "$j_events"
printf '%-44s %14s %14s\n' "events per second (wall clock)" "$(rate "$p_events" "$p_wall")" "$(rate "$j_events" "$j_wall")"
printf '%-44s %14s %14s\n' "server CPU seconds (job: with catch-up)" "$p_cpu" "$j_cpu"
printf '%-44s %14s %14s\n' "events per server CPU-second" "$(rate "$p_events" "$p_cpu")" "$(rate "$j_events" "$j_cpu")"
echo
echo "job: $runs runs, $sessions sessions; caught up ${catchup} s after the load stopped"
echo "incremental runs: ${events_per_run} events each on average, ${run_avg} s on average, ${run_max} s at most"
echo "freshness (event commit -> the commit of the run that applied it, upper bound): p50 ${p50} s, p99 ${p99} s"
echo "verify(): $differences rows differ from a recomputation"
