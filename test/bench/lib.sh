# test/bench/lib.sh: a throwaway PostgreSQL 15 cluster for the benchmarks.
# Source it, then call bench_cluster NAME PORT [postgresql.conf lines...].
# It also defines verdict, ratio and j, the helpers of the scripts that
# print ratios against targets (at the end of this file).
# It sets BINDIR and DIR, defines as_pg (run as the postgres user when
# root) and sql (run SQL from an argument, statements one by one, notices
# hidden), and removes the cluster at exit (also on HUP, INT, TERM).
# SESSIONIZE_PG_BINDIR picks another PostgreSQL, as for test/run.

BINDIR=${SESSIONIZE_PG_BINDIR:-/usr/lib/postgresql/15/bin}

as_pg() {
	if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

bench_cluster() { # name port [conf lines...]
	local name=$1 port=$2 line
	shift 2
	DIR=$(mktemp -d "/tmp/sessionize-bench-$name.XXXXXX")
	[ "$(id -u)" = 0 ] && chown postgres "$DIR"
	trap 'as_pg "$BINDIR/pg_ctl" -D "$DIR/data" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$DIR"' EXIT
	# a signal ends the script through exit, so that the EXIT trap runs
	trap 'exit 129' HUP
	trap 'exit 130' INT
	trap 'exit 143' TERM
	as_pg "$BINDIR/initdb" -D "$DIR/data" -A trust --no-sync >/dev/null
	{
		echo "port = $port"
		echo "unix_socket_directories = '$DIR'"
		echo "listen_addresses = ''"
		echo "shared_preload_libraries = 'sessionize'"
		echo "jit = off"
		echo "synchronous_commit = off"
		echo "max_parallel_workers_per_gather = 0"
		for line in "$@"; do echo "$line"; done
	} >>"$DIR/data/postgresql.conf"
	as_pg "$BINDIR/pg_ctl" -D "$DIR/data" -l "$DIR/log" -w start >/dev/null
	BENCH_PORT_IN_USE=$port
}

sql() {
	printf '%s\n' "$1" | as_pg env PGOPTIONS='-c client_min_messages=warning' \
		"$BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -h "$DIR" -p "$BENCH_PORT_IN_USE" -U postgres -d postgres -At
}

# The best plain-SQL way to sessionize events(user_id, event_ts) with the gap
# $GAP (functions.sh's 4b): LAG, then only the rows that start or end a
# session, whose ends come from the next kept row.  One row per session:
# user_id, session_start, last_event_at, event_count.
bench_sql_boundaries() {
	cat <<SQL
SELECT user_id, session_start, last_event_at, event_count FROM (
  SELECT user_id, event_ts AS session_start, is_new,
         CASE WHEN is_last THEN event_ts
              WHEN lead(is_new) OVER w2 THEN lead(prev_ts) OVER w2
              ELSE lead(event_ts) OVER w2 END AS last_event_at,
         CASE WHEN is_last THEN 1
              WHEN lead(is_new) OVER w2 THEN lead(rn) OVER w2 - rn
              ELSE lead(rn) OVER w2 - rn + 1 END AS event_count
  FROM (SELECT user_id, event_ts, prev_ts, rn, is_last,
               prev_ts IS NULL OR event_ts - prev_ts > $GAP AS is_new
        FROM (SELECT user_id, event_ts, lag(event_ts) OVER w AS prev_ts, row_number() OVER w AS rn,
                     lead(false, 1, true) OVER w AS is_last
              FROM events WHERE event_ts IS NOT NULL
              WINDOW w AS (PARTITION BY user_id ORDER BY event_ts)) e) b
  WHERE is_new OR is_last
  WINDOW w2 AS (PARTITION BY user_id ORDER BY event_ts)) s
WHERE is_new
SQL
}

# The statements that fill TABLE(user_id int, event_ts timestamptz), made
# here, with n events over u users: per user, gaps 85% short (exponential,
# mean 90 s) and 15% long (exponential, mean 8 h), fixed seed, rows in time
# order, as an append-only event log would have them.
bench_events_sql() { # table n u
	cat <<SQL
CREATE TABLE $1 (user_id int, event_ts timestamptz);
SELECT setseed(0.42) \\g /dev/null
INSERT INTO $1 (user_id, event_ts)
SELECT user_id, timestamptz '2026-01-01' + sum(gap) OVER (PARTITION BY user_id ORDER BY i) * interval '1 second'
FROM (SELECT i, (i % $3)::int AS user_id,
             CASE WHEN random() < 0.85 THEN -90 * ln(1 - random()) ELSE -28800 * ln(1 - random()) END AS gap
      FROM generate_series(1, $2) i) g
ORDER BY 2;
SQL
}

# The helpers of the scripts that print ratios against their targets:
# verdict VALUE OP TARGET prints PASS or MISS (OP an awk comparison),
# ratio A B prints A / B with three decimals, j joins its arguments with
# commas (for an SQL array).
verdict() { # value op target
	if awk -v v="$1" -v t="$3" "BEGIN { exit !(v $2 t) }"; then echo PASS; else echo MISS; fi
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }
j() { local IFS=,; echo "$*"; }
