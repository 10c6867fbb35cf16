# Copyright (c) 2026, the sessionize developers
#
# A job on a pg_partman-managed, time-partitioned events table: the
# partitions run_maintenance() creates are captured (writes addressed to
# them count), and the partitions its retention drops or detaches take
# their events with them: the next run rebuilds the sessions from the
# events that are left.  Skipped where pg_partman is not installed (the
# Debian package exists for PostgreSQL 15 only).

use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('partman');
my $sharedir = `$ENV{PG_CONFIG} --sharedir` if $ENV{PG_CONFIG};
$sharedir = `pg_config --sharedir` unless $sharedir;
chomp $sharedir;
plan skip_all => "pg_partman is not installed in $sharedir"
  unless -f "$sharedir/extension/pg_partman.control";

$node->init;
# (this test runs its jobs itself: the background worker stays off)
$node->append_conf('postgresql.conf',
	"shared_preload_libraries = 'sessionize'\nsessionize.enabled = off");
$node->start;

# The plain-SQL reference of the README against the target: rows that differ.
my $diff = q{
	WITH ref AS (
		SELECT key, min(ts) AS session_start, max(ts) AS last_event_at, count(*) AS event_count
		FROM (SELECT key, ts, sum(is_new) OVER (PARTITION BY key ORDER BY ts ROWS UNBOUNDED PRECEDING) AS n
		      FROM (SELECT user_id AS key, ts,
		                   CASE WHEN lag(ts) OVER w IS NULL OR ts - lag(ts) OVER w > interval '30 minutes'
		                        THEN 1 ELSE 0 END AS is_new
		            FROM events WHERE ts IS NOT NULL WINDOW w AS (PARTITION BY user_id ORDER BY ts)) f) g
		GROUP BY key, n),
	got AS (SELECT user_id AS key, session_start, last_event_at, event_count FROM events_sessions)
	SELECT count(*) FROM ((SELECT * FROM ref EXCEPT ALL SELECT * FROM got)
	                      UNION ALL (SELECT * FROM got EXCEPT ALL SELECT * FROM ref)) d};
my $check = sub {
	my ($what) = @_;
	is($node->safe_psql('postgres', $diff), '0', "$what: target equals the plain-SQL reference");
	is($node->safe_psql('postgres', 'SELECT count(*) FROM sessionize.verify(1)'), '0', "$what: verify() is clean");
};

$node->safe_psql('postgres', q{
	CREATE EXTENSION sessionize;
	CREATE SCHEMA partman;
	CREATE EXTENSION pg_partman SCHEMA partman;
	CREATE TABLE events (user_id int, ts timestamptz NOT NULL, url text) PARTITION BY RANGE (ts);
	CREATE INDEX ON events (user_id, ts);
	SELECT partman.create_parent('public.events', 'ts', 'native', 'daily',
	                             p_premake := 2,
	                             p_start_partition := (date_trunc('day', now()) - interval '6 days')::text);
	-- six days of events, sessions crossing midnight included
	INSERT INTO events
	SELECT i % 9, date_trunc('day', now()) - interval '6 days' + i * interval '7 minutes', '/'
	FROM generate_series(0, 6 * 24 * 60 / 7) i;
	SELECT sessionize.create_job('events', 'user_id', 'ts', interval '30 minutes');
	SELECT sessionize.run_job(1);
});
$check->('first run');
my $captured = q{SELECT count(*) FROM sessionize.job_relations r JOIN pg_inherits i ON i.inhrelid = r.rel
                 WHERE r.job_id = 1 AND i.inhparent = 'events'::regclass};
my $partitions = q{SELECT count(*) FROM pg_inherits WHERE inhparent = 'events'::regclass};
is($node->safe_psql('postgres', $captured), $node->safe_psql('postgres', $partitions),
	'every partition pg_partman made is captured');

# maintenance with more premade partitions: new ones are captured, and
# writes addressed to one of them count
$node->safe_psql('postgres', q{
	UPDATE partman.part_config SET premake = 4 WHERE parent_table = 'public.events';
	SELECT partman.run_maintenance('public.events');
});
is($node->safe_psql('postgres', $captured), $node->safe_psql('postgres', $partitions),
	'partitions made by run_maintenance() are captured');
my $future = $node->safe_psql('postgres', q{
	SELECT c.oid::regclass FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
	WHERE i.inhparent = 'events'::regclass AND c.relname <> 'events_default'
	ORDER BY c.relname DESC LIMIT 1});
$node->safe_psql('postgres', qq{
	INSERT INTO $future (user_id, ts, url)
	SELECT 1, lower_bound + interval '1 hour' + g * interval '10 minutes', 'x'
	FROM (SELECT (regexp_match(pg_get_expr(relpartbound, oid), '''([^'']+)'''))[1]::timestamptz AS lower_bound
	      FROM pg_class WHERE oid = '$future'::regclass) b, generate_series(0, 3) g;
	INSERT INTO events VALUES (2, now() + interval '1 day', 'y');
});
is($node->safe_psql('postgres', 'SELECT full_rebuild FROM sessionize.run_job(1)'), 'f',
	'writes to new partitions are applied incrementally');
$check->('after writes to new partitions');

# retention that drops partitions: their events go, the sessions are rebuilt
# from what is left (a session that crossed the cut keeps its later part)
$node->safe_psql('postgres', q{
	UPDATE partman.part_config SET retention = '4 days', retention_keep_table = false
	WHERE parent_table = 'public.events';
	SELECT partman.run_maintenance('public.events');
});
ok($node->safe_psql('postgres', q{SELECT min(ts) > now() - interval '5 days' FROM events}) eq 't',
	'retention dropped the oldest partitions');
is($node->safe_psql('postgres', 'SELECT full_rebuild FROM sessionize.run_job(1)'), 't',
	'the run after retention rebuilds');
$check->('after retention dropped partitions');
is($node->safe_psql('postgres', q{SELECT count(*) FROM sessionize.job_relations r
                                  WHERE NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = r.rel)}),
	'0', 'no dropped partition is left in job_relations');

# retention that only detaches: the same, and the detached tables lose capture
$node->safe_psql('postgres', q{
	UPDATE partman.part_config SET retention = '3 days', retention_keep_table = true
	WHERE parent_table = 'public.events';
	SELECT partman.run_maintenance('public.events');
});
is($node->safe_psql('postgres', 'SELECT full_rebuild FROM sessionize.run_job(1)'), 't',
	'the run after a detaching retention rebuilds');
$check->('after retention detached partitions');
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
	WHERE t.tgfoid = 'sessionize.capture()'::regprocedure
	  AND NOT EXISTS (SELECT 1 FROM sessionize._source_tree('events') s WHERE s = c.oid)}),
	'0', 'detached partitions carry no capture triggers');

$node->stop;
done_testing();
