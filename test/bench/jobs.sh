#!/usr/bin/env bash
# test/bench/jobs.sh: what an incremental job's run costs, against its first,
# full run, and what change capture costs writers.
#
# Prints, each a median of BENCH_RUNS runs on generated data (10k users,
# gaps 85% short (exponential, mean 90 s) and 15% long (mean 8 h), rows
# appended in time order, an index on (user, time)):
#   - the first, full run of a job on 2M events;
#   - a run after appending 1% new events (touches most users' latest session);
#   - a run after 0.1% late events scattered over all of history;
#   - the same 20k-event append on 200k and on 2M events of history;
#   - inserting 200k rows into a table with a job and into one without.
# and the targets of the issue next to them.
#
# Usage: test/bench/jobs.sh            (as root or as a user who can run initdb)
# Settings: BENCH_EVENTS (2000000), BENCH_USERS (10000), BENCH_RUNS (3),
#           BENCH_PORT (5487), BENCH_WORK_MEM (unset: the server default,
#           4MB), BENCH_ONLY_FIRST (1: only the first run, the 1% append run
#           and the 0.1% late run, skipping the history and writer parts,
#           for runs at scale).  It starts and removes its own throwaway
#           cluster.
# Also times sessionize() on the same table before its first run, and what
# writing its sessions costs at the least (CREATE TABLE AS, then the job's
# two indexes built after the load), the floor of any first run (issue 12:
# the first run within 1.5x of it).

set -euo pipefail

EVENTS=${BENCH_EVENTS:-2000000}
USERS=${BENCH_USERS:-10000}
RUNS=${BENCH_RUNS:-3}
PORT=${BENCH_PORT:-5487}
WORK_MEM=${BENCH_WORK_MEM:-}
ONLY_FIRST=${BENCH_ONLY_FIRST:-0}
. "$(dirname "$0")/lib.sh"
# the script runs each job itself: the background worker must not run one
# between its steps (taking an append before the timed run, or the CPU)
conf=("shared_buffers = 1GB" "sessionize.enabled = off")
# at scale: no checkpoint in the middle of a run
[ "$ONLY_FIRST" = 1 ] && conf+=("max_wal_size = 8GB" "checkpoint_timeout = 1h")
[ -n "$WORK_MEM" ] && conf+=("work_mem = '$WORK_MEM'")
bench_cluster jobs "$PORT" "${conf[@]}"

sql "CREATE EXTENSION sessionize"
sql "
CREATE FUNCTION bench_time(q text) RETURNS float8 LANGUAGE plpgsql AS \$\$
DECLARE t0 timestamptz := clock_timestamp();
BEGIN EXECUTE q; RETURN extract(epoch FROM clock_timestamp() - t0); END \$\$;
-- n events of u users, each user's times a random walk of the issue's gaps,
-- starting at 'from'
CREATE FUNCTION bench_events(n bigint, u int, seed float8, t_from timestamptz)
RETURNS TABLE (user_id int, event_ts timestamptz) LANGUAGE sql AS \$\$
SELECT user_id, t_from + sum(gap) OVER (PARTITION BY user_id ORDER BY i) * interval '1 second'
FROM (SELECT i, (i % u)::int AS user_id,
             CASE WHEN random() < 0.85 THEN -90 * ln(1 - random()) ELSE -28800 * ln(1 - random()) END AS gap
      FROM (SELECT setseed(seed)) s, generate_series(1, n) i) g
\$\$;
CREATE FUNCTION bench_median(v float8[]) RETURNS float8 LANGUAGE sql AS \$\$
SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY x) FROM unnest(v) x \$\$;"

median() { sql "SELECT round(bench_median(ARRAY[$1])::numeric, 3)"; }

# A source table of n events in time order, its job, and its first run.
# Prints the first run's seconds.
make_source() { # name events seed
	sql "DROP TABLE IF EXISTS $1, ${1}_sessions CASCADE;
	     CREATE TABLE $1 (user_id int, event_ts timestamptz, payload text);
	     INSERT INTO $1 (user_id, event_ts) SELECT * FROM bench_events($2, $USERS, $3, '2026-01-01') ORDER BY 2;
	     CREATE INDEX ON $1 (user_id, event_ts);
	     VACUUM ANALYZE $1;"
	# sessionize() on the same table, for comparison (SRF_TIME)
	SRF_TIME=$(sql "SELECT bench_time('SELECT count(*) FROM sessionize.sessionize(''$1'', ''user_id'', ''event_ts'', interval ''30 minutes'')
	    AS s(user_id int, session_start timestamptz, last_event_at timestamptz, session_end timestamptz, event_count bigint)')" | tail -n 1)
	echo "$SRF_TIME" >>"$DIR/srf_times"
	# what writing those sessions costs at the least, as a first run must:
	# into a table without indexes, then with the job's two indexes built
	# after the load (a first run maintains them row by row)
	sql "SELECT bench_time('CREATE TABLE bench_write_floor AS SELECT *, false AS closed FROM sessionize.sessionize(''$1'', ''user_id'', ''event_ts'', interval ''30 minutes'')
	    AS s(user_id int, session_start timestamptz, last_event_at timestamptz, session_end timestamptz, event_count bigint)')" | tail -n 1 >>"$DIR/write_times"
	sql "SELECT bench_time('CREATE UNIQUE INDEX ON bench_write_floor (user_id, session_start); CREATE INDEX ON bench_write_floor (session_start) WHERE NOT closed')" | tail -n 1 >>"$DIR/index_times"
	sql "DROP TABLE bench_write_floor"
	sql "SELECT bench_time(format('SELECT sessionize.run_job(%s)',
	         sessionize.create_job('$1', 'user_id', 'event_ts', interval '30 minutes')))" | tail -n 1
}

job_of() { sql "SELECT job_id FROM sessionize.jobs WHERE source = '$1'::regclass"; }
run_job() { sql "SELECT bench_time('SELECT sessionize.run_job($(job_of "$1"))')"; }
check() {
	local d
	d=$(sql "SELECT count(*) FROM sessionize.verify($(job_of "$1"))")
	if [ "$d" != 0 ]; then echo "MISMATCH: $1's target differs from a recomputation in $d rows" >&2; exit 1; fi
}

# Append n events, each user's continuing its own walk from its latest
# event (so most land in the user's latest session), in time order, in one
# statement.
append() { # table n seed
	sql "CREATE TEMP TABLE new_events AS
	     SELECT b.user_id, l.last_ts + (b.event_ts - '2026-01-01') AS event_ts
	     FROM bench_events($2, $USERS, $3, '2026-01-01') b
	     JOIN (SELECT user_id, max(event_ts) AS last_ts FROM $1 GROUP BY user_id) l USING (user_id);
	     INSERT INTO $1 (user_id, event_ts) SELECT * FROM new_events ORDER BY 2;
	     DROP TABLE new_events"
}
# n late events at random times over all of history.
late() { # table n seed
	sql "SELECT setseed($3) \\g /dev/null
	     INSERT INTO $1 (user_id, event_ts)
	     SELECT (random() * ($USERS - 1))::int, lo + random() * (hi - lo)
	     FROM (SELECT min(event_ts) lo, max(event_ts) hi FROM $1) b, generate_series(1, $2)" >/dev/null
}

echo "sessionize job benchmark: $EVENTS events, $USERS users, median of $RUNS runs, work_mem $(sql "SHOW work_mem")"
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at start"
echo

t0=$(date +%s)
full=(); append1=(); late01=()
for r in $(seq 1 "$RUNS"); do
	full+=("$(make_source big "$EVENTS" 0.$r)")
	check big
	append big $((EVENTS / 100)) 0.5$r >/dev/null
	append1+=("$(run_job big)")
	check big
	late big $((EVENTS / 1000)) 0.7$r
	late01+=("$(run_job big)")
	check big
done
small_events=$((EVENTS / 10))
small=(); large=(); with=(); without=()
if [ "$ONLY_FIRST" != 1 ]; then
make_source hist_small "$small_events" 0.9 >/dev/null
make_source hist_large "$EVENTS" 0.9 >/dev/null
for r in $(seq 1 "$RUNS"); do
	append hist_small 20000 0.3$r >/dev/null
	small+=("$(run_job hist_small)")
	append hist_large 20000 0.3$r >/dev/null
	large+=("$(run_job hist_large)")
done
check hist_small
check hist_large

# Writers: 200k rows into a table with a job and into an identical one without.
sql "DROP TABLE IF EXISTS staging; CREATE TABLE staging AS
     SELECT user_id, event_ts FROM bench_events(200000, $USERS, 0.42, '2027-01-01') ORDER BY 2"
with=(); without=()
for r in $(seq 1 "$RUNS"); do
	for t in w_job w_plain; do
		sql "DROP TABLE IF EXISTS $t, ${t}_sessions CASCADE;
		     CREATE TABLE $t (user_id int, event_ts timestamptz, payload text);
		     CREATE INDEX ON $t (user_id, event_ts);" >/dev/null
	done
	sql "SELECT sessionize.create_job('w_job', 'user_id', 'event_ts', interval '30 minutes')" >/dev/null
	sql "CHECKPOINT" >/dev/null
	without+=("$(sql "SELECT bench_time('INSERT INTO w_plain (user_id, event_ts) SELECT * FROM staging')")")
	sql "CHECKPOINT" >/dev/null
	with+=("$(sql "SELECT bench_time('INSERT INTO w_job (user_id, event_ts) SELECT * FROM staging')")")
done
sql "SELECT sessionize.run_job(job_id) FROM sessionize.jobs WHERE source = 'w_job'::regclass" >/dev/null 2>&1
check w_job
fi

mapfile -t srf_times <"$DIR/srf_times"
m_srf=$(median "$(j "${srf_times[@]}")")
mapfile -t write_times <"$DIR/write_times"
m_write=$(median "$(j "${write_times[@]}")")
mapfile -t index_times <"$DIR/index_times"
m_index=$(median "$(j "${index_times[@]}")")
m_full=$(median "$(j "${full[@]}")")
m_append=$(median "$(j "${append1[@]}")")
m_late=$(median "$(j "${late01[@]}")")
if [ "$ONLY_FIRST" != 1 ]; then
	m_small=$(median "$(j "${small[@]}")")
	m_large=$(median "$(j "${large[@]}")")
	m_with=$(median "$(j "${with[@]}")")
	m_without=$(median "$(j "${without[@]}")")
fi


r_append=$(ratio "$m_append" "$m_full")
r_late=$(ratio "$m_late" "$m_full")
r_srf=$(ratio "$m_full" "$m_srf")

printf '%-58s %10s\n' "measurement" "seconds"
printf '%-58s %10s\n' "sessionize() on the same table" "$m_srf"
printf '%-58s %10s\n' "  its sessions written to a table (CREATE TABLE AS)" "$m_write"
printf '%-58s %10s\n' "  then the job's two indexes built on that table" "$m_index"
printf '%-58s %10s\n' "first (full) run, $EVENTS events" "$m_full"
printf '%-58s %10s\n' "run after a 1% append ($((EVENTS / 100)) events)" "$m_append"
printf '%-58s %10s\n' "run after 0.1% late events ($((EVENTS / 1000)) events)" "$m_late"
if [ "$ONLY_FIRST" != 1 ]; then
	printf '%-58s %10s\n' "20k-event append, $small_events events of history" "$m_small"
	printf '%-58s %10s\n' "20k-event append, $EVENTS events of history" "$m_large"
	printf '%-58s %10s\n' "insert 200k rows, table without a job" "$m_without"
	printf '%-58s %10s\n' "insert 200k rows, table with a job" "$m_with"
fi
echo
printf '%-44s %8s %10s %6s\n' "ratio" "value" "target" ""
printf '%-44s %8s %10s %6s\n' "first run / sessionize()" "$r_srf" "<= 1.5" "$(verdict "$r_srf" '<=' 1.5)"
printf '%-44s %8s\n' "  (CREATE TABLE AS / sessionize())" "$(ratio "$m_write" "$m_srf")"
printf '%-44s %8s\n' "  (CREATE TABLE AS + indexes / sessionize())" "$(ratio "$(awk -v a="$m_write" -v b="$m_index" 'BEGIN { print a + b }')" "$m_srf")"
printf '%-44s %8s %10s %6s\n' "1% append run / full run" "$r_append" "<= 0.10" "$(verdict "$r_append" '<=' 0.10)"
printf '%-44s %8s %10s %6s\n' "0.1% late run / full run" "$r_late" "<= 0.10" "$(verdict "$r_late" '<=' 0.10)"
if [ "$ONLY_FIRST" != 1 ]; then
	r_hist=$(ratio "$m_large" "$m_small")
	r_write=$(ratio "$m_with" "$m_without")
	printf '%-44s %8s %10s %6s\n' "append run, 10x history / 1x history" "$r_hist" "<= 1.5" "$(verdict "$r_hist" '<=' 1.5)"
	printf '%-44s %8s %10s %6s\n' "insert with job / without" "$r_write" "<= 1.15" "$(verdict "$r_write" '<=' 1.15)"
fi
echo
echo "(all targets verified exact with sessionize.verify(); total $(($(date +%s) - t0)) s; load average $(cut -d' ' -f1-3 /proc/loadavg) at the end)"
