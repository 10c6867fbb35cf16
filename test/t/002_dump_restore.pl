# Copyright (c) 2026, the sessionize developers
#
# pg_dump keeps jobs: after a dump and restore into a new database, the job
# exists with its watermark, change capture still works, and run_job()
# keeps the target exact.

use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('dump');
$node->init;
# (this test runs its jobs itself: the background worker stays off)
$node->append_conf('postgresql.conf',
	"shared_preload_libraries = 'sessionize'\nsessionize.enabled = off");
$node->start;

$node->safe_psql('postgres', q{
	CREATE EXTENSION sessionize;
	CREATE TABLE clicks (user_id int, ts timestamptz);
	CREATE INDEX ON clicks (user_id, ts);
	INSERT INTO clicks SELECT i % 7, timestamptz '2026-01-01' + (i * 13 % 500) * interval '1 minute'
	FROM generate_series(1, 400) i;
	SELECT sessionize.create_job('clicks', 'user_id', 'ts', interval '10 minutes');
	SELECT sessionize.run_job(1);
	-- a change not yet applied when the dump is taken
	INSERT INTO clicks VALUES (1, '2026-01-01 03:33');
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

is($node->safe_psql('restored', 'SELECT count(*) FROM sessionize.jobs'), '1', 'job restored');
is($node->safe_psql('restored', 'SELECT watermark FROM sessionize.job_state WHERE job_id = 1'),
	$watermark, 'watermark restored');

# capture works after the restore, and the pending change was kept
$node->safe_psql('restored', q{
	INSERT INTO clicks VALUES (2, '2026-01-01 00:01'), (3, '2026-01-01 09:00');
	DELETE FROM clicks WHERE user_id = 4;
	SELECT sessionize.run_job(1);
});
is($node->safe_psql('restored', 'SELECT count(*) FROM sessionize.verify(1)'), '0',
	'target exact after restore and new changes');
is($node->safe_psql('restored', q{SELECT nextval(pg_get_serial_sequence('sessionize.jobs', 'job_id')) > 1}),
	't', 'job id sequence restored');

$node->stop;
done_testing();
