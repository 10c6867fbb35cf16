# Copyright (c) 2026, the sessionize developers
#
# pg_dump keeps jobs: after a dump and restore into a new database, the jobs
# exist with their watermarks and measures, change capture still works, and
# run_job() keeps the targets exact.

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
	-- a job with measures: its target has their columns, job_measures their text
	CREATE TABLE views (user_id int, ts timestamptz, page text, amount numeric);
	CREATE INDEX ON views (user_id, ts);
	INSERT INTO views SELECT i % 5, timestamptz '2026-01-01' + (i * 11 % 300) * interval '1 minute',
	                         'p' || (i % 4), i % 9
	FROM generate_series(1, 200) i;
	SELECT sessionize.create_job('views', 'user_id', 'ts', interval '10 minutes',
	    measures => 'first(page) AS landing_page, sum(amount) AS revenue, count(DISTINCT page) AS pages');
	SELECT sessionize.run_job(2);
	-- changes not yet applied when the dump is taken
	INSERT INTO clicks VALUES (1, '2026-01-01 03:33');
	INSERT INTO views VALUES (1, '2026-01-01 02:02', 'late', 100);
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

is($node->safe_psql('restored', 'SELECT count(*) FROM sessionize.jobs'), '2', 'jobs restored');
is($node->safe_psql('restored',
		'SELECT string_agg(column_name || coalesce(merge, \'-\'), \',\' ORDER BY position) FROM sessionize.job_measures WHERE job_id = 2'),
	'landing_pagefirst,revenuesum,pages-', 'measures restored');
is($node->safe_psql('restored', 'SELECT watermark FROM sessionize.job_state WHERE job_id = 1'),
	$watermark, 'watermark restored');

# capture works after the restore, and the pending change was kept
$node->safe_psql('restored', q{
	INSERT INTO clicks VALUES (2, '2026-01-01 00:01'), (3, '2026-01-01 09:00');
	DELETE FROM clicks WHERE user_id = 4;
	SELECT sessionize.run_job(1);
	INSERT INTO views VALUES (2, '2026-01-01 00:01', 'new', 1), (3, '2026-01-01 09:00', 'new', 2);
	UPDATE views SET amount = amount + 1 WHERE user_id = 1;
	SELECT sessionize.run_job(2);
});
is($node->safe_psql('restored', 'SELECT count(*) FROM sessionize.verify(1)'), '0',
	'target exact after restore and new changes');
is($node->safe_psql('restored', 'SELECT count(*) FROM sessionize.verify(2)'), '0',
	'target with measures exact after restore and new changes');
is($node->safe_psql('restored', q{
	SELECT count(*) FROM views_sessions s
	WHERE s.revenue IS DISTINCT FROM (SELECT sum(amount) FROM views v
	                                  WHERE v.user_id = s.user_id AND v.ts BETWEEN s.session_start AND s.last_event_at)}),
	'0', 'revenue of every restored session equals a sum over its events');
is($node->safe_psql('restored', q{SELECT nextval(pg_get_serial_sequence('sessionize.jobs', 'job_id')) > 1}),
	't', 'job id sequence restored');

$node->stop;
done_testing();
