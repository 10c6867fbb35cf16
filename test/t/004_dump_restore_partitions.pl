# Copyright (c) 2026, the sessionize developers
#
# pg_dump and restore renumber columns: a restored table has no dropped
# columns, and a partition may number its columns differently from its
# parent.  Jobs name their columns, so after a restore capture still reads
# the right columns (no event moved to another column's value), through
# the parent and addressed to each partition, and run_job() keeps the
# target equal to a plain-SQL recomputation.

use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('dump_parts');
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
		                   CASE WHEN lag(ts) OVER w IS NULL OR ts - lag(ts) OVER w > interval '10 minutes'
		                        THEN 1 ELSE 0 END AS is_new
		            FROM clicks WHERE ts IS NOT NULL WINDOW w AS (PARTITION BY user_id ORDER BY ts)) f) g
		GROUP BY key, n),
	got AS (SELECT user_id AS key, session_start, last_event_at, event_count FROM clicks_sessions)
	SELECT count(*) FROM ((SELECT * FROM ref EXCEPT ALL SELECT * FROM got)
	                      UNION ALL (SELECT * FROM got EXCEPT ALL SELECT * FROM ref)) d};

$node->safe_psql('postgres', q{
	SET timezone = 'UTC';
	CREATE EXTENSION sessionize;
	-- dropped columns before the job's columns, in the parent and a partition
	CREATE TABLE clicks (a int, b bigint, user_id int, c text, ts timestamptz, url text) PARTITION BY RANGE (ts);
	ALTER TABLE clicks DROP COLUMN a, DROP COLUMN c;
	CREATE TABLE clicks_jan PARTITION OF clicks FOR VALUES FROM ('2026-01-01') TO ('2026-02-01');
	CREATE TABLE clicks_feb (z int, url text, ts timestamptz, b bigint, user_id int);
	ALTER TABLE clicks_feb DROP COLUMN z;
	ALTER TABLE clicks ATTACH PARTITION clicks_feb FOR VALUES FROM ('2026-02-01') TO ('2026-03-01');
	CREATE INDEX ON clicks (user_id, ts);
	INSERT INTO clicks (b, user_id, ts, url)
	SELECT 2030, i % 7, timestamptz '2026-01-31 12:00' + (i * 13 % 1500) * interval '1 minute', 'u'
	FROM generate_series(1, 600) i;
	SELECT sessionize.create_job('clicks', 'user_id', 'ts', interval '10 minutes');
	SELECT sessionize.run_job(1);
	-- changes not yet applied when the dump is taken
	INSERT INTO clicks_feb (user_id, ts, b) VALUES (1, '2026-02-01 03:33', 2030);
	DELETE FROM clicks_jan WHERE user_id = 3 AND ts > '2026-01-31 20:00';
});
my $watermark = $node->safe_psql('postgres',
	'SELECT watermark FROM sessionize.job_state WHERE job_id = 1');

my $dumpfile = $node->basedir . '/dump.sql';
$node->command_ok([ 'pg_dump', '-d', $node->connstr('postgres'), '-f', $dumpfile ],
	'pg_dump succeeds');
$node->safe_psql('postgres', 'CREATE DATABASE restored');
$node->command_ok(
	[ 'psql', '-X', '-v', 'ON_ERROR_STOP=1', '-q', '-d', $node->connstr('restored'), '-f', $dumpfile ],
	'restore succeeds');

# the restore renumbered the columns
isnt($node->safe_psql('restored', q{SELECT attnum FROM pg_attribute WHERE attrelid = 'clicks'::regclass AND attname = 'user_id'}),
	$node->safe_psql('postgres', q{SELECT attnum FROM pg_attribute WHERE attrelid = 'clicks'::regclass AND attname = 'user_id'}),
	'the user column has another number after the restore');
is($node->safe_psql('restored', 'SELECT watermark FROM sessionize.job_state WHERE job_id = 1'),
	$watermark, 'watermark restored');
is($node->safe_psql('restored', q{SELECT string_agg(rel::text, ',' ORDER BY rel::text) FROM sessionize.job_relations}),
	'clicks,clicks_feb,clicks_jan', 'captured relations restored');
is($node->safe_psql('restored', q{
	SELECT string_agg(tgrelid::regclass::text || ':' || tgenabled::text, ',' ORDER BY tgrelid::regclass::text, tgenabled)
	FROM pg_trigger WHERE tgfoid = 'sessionize.capture()'::regprocedure AND tgname LIKE '%_row'}),
	'clicks_feb:R,clicks_feb:R,clicks_feb:R,clicks_jan:R,clicks_jan:R,clicks_jan:R',
	'replica row triggers restored with their enabled state');

# writes after the restore: through the parent and to each partition;
# the b column holds 2030, which must never be read as a time
$node->safe_psql('restored', q{
	INSERT INTO clicks (user_id, ts, b) VALUES (2, '2026-01-31 12:01', 2030), (5, '2026-02-02', 2030);
	INSERT INTO clicks_jan (user_id, ts, b) VALUES (4, '2026-01-31 13:00', 2030);
	INSERT INTO clicks_feb (user_id, ts, b) VALUES (4, '2026-02-01 00:05', 2030);
	UPDATE clicks_feb SET ts = ts + interval '3 minutes' WHERE user_id = 6;
	DELETE FROM clicks_jan WHERE user_id = 0 AND ts < '2026-01-31 14:00';
});
my $run = $node->safe_psql('restored',
	'SELECT events_inserted > 0, events_deleted > 0, full_rebuild FROM sessionize.run_job(1)');
is($run, 't|t|f', 'the restored job applies the pending and new changes incrementally');
is($node->safe_psql('restored', $diff), '0', 'target equals the plain-SQL reference after restore');
is($node->safe_psql('restored', 'SELECT count(*) FROM sessionize.verify(1)'), '0', 'verify() is clean');
is($node->safe_psql('restored', q{SELECT sessionize._job_time(max_event_time, NULL::timestamptz) < '2026-03-01' FROM sessionize.job_state WHERE job_id = 1}),
	't', 'no other column was read as the event time');

# a partition created after the restore is captured too
$node->safe_psql('restored', q{
	CREATE TABLE clicks_mar PARTITION OF clicks FOR VALUES FROM ('2026-03-01') TO ('2026-04-01');
	INSERT INTO clicks_mar (user_id, ts) VALUES (1, '2026-03-01 00:00'), (1, '2026-03-01 00:10');
	SELECT sessionize.run_job(1);
});
is($node->safe_psql('restored', $diff), '0', 'a partition created after the restore is captured');

$node->stop;
done_testing();
