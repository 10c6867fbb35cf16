# Copyright (c) 2026, the sessionize developers
#
# Every change is applied exactly once, also across crashes: a server that
# dies in the middle of a run_job() transaction, or right after one
# committed, comes back with a job whose next run leaves the target equal
# to a recomputation.

use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('crash');
$node->init;
# (this test runs its jobs itself: the background worker stays off)
$node->append_conf('postgresql.conf',
	"shared_preload_libraries = 'sessionize'\nsessionize.enabled = off");
$node->start;

$node->safe_psql('postgres', q{
	CREATE EXTENSION sessionize;
	CREATE TABLE ev (u int, ts timestamptz);
	CREATE INDEX ON ev (u, ts);
	INSERT INTO ev SELECT i % 13, timestamptz '2026-01-01' + (i * 7 % 900) * interval '1 minute'
	FROM generate_series(1, 2000) i;
	SELECT sessionize.create_job('ev', 'u', 'ts', interval '10 minutes');
	SELECT sessionize.run_job(1);
});

# Changes, then a run that is still open when the server dies.
$node->safe_psql('postgres', q{
	INSERT INTO ev SELECT i % 13, timestamptz '2026-01-01' + (i * 11 % 1200) * interval '1 minute'
	FROM generate_series(1, 300) i;
	DELETE FROM ev WHERE u = 3 AND ts < '2026-01-01 05:00';
});
my $runner = $node->background_psql('postgres');
$runner->query_safe('BEGIN');
$runner->query_safe('SELECT sessionize.run_job(1)');
$node->stop('immediate');
$runner->{run}->finish;
$node->start;

is($node->safe_psql('postgres', 'SELECT count(*) > 0 FROM sessionize.job_1_log'), 't',
	'the changes of the uncommitted run are still logged after the crash');
$node->safe_psql('postgres', 'SELECT sessionize.run_job(1)');
is($node->safe_psql('postgres', 'SELECT count(*) FROM sessionize.verify(1)'), '0',
	'the next run applies them exactly once');

# A run that committed just before the crash is not applied again.
$node->safe_psql('postgres', q{
	UPDATE ev SET ts = ts + interval '3 minutes' WHERE u = 5;
	INSERT INTO ev VALUES (7, '2026-01-01 00:04'), (NULL, '2026-01-01 01:00');
	SELECT sessionize.run_job(1);
});
my $runs = $node->safe_psql('postgres', 'SELECT total_runs FROM sessionize.job_state WHERE job_id = 1');
$node->stop('immediate');
$node->start;
is($node->safe_psql('postgres', 'SELECT total_runs FROM sessionize.job_state WHERE job_id = 1'),
	$runs, 'the committed run and its bookkeeping survived');
is($node->safe_psql('postgres', 'SELECT count(*) FROM sessionize.job_1_log'), '0',
	'nothing is left to apply twice');
$node->safe_psql('postgres', 'SELECT sessionize.run_job(1)');
is($node->safe_psql('postgres', 'SELECT count(*) FROM sessionize.verify(1)'), '0',
	'target still exact');

# A writer that dies with its transaction open leaves nothing.
my $writer = $node->background_psql('postgres');
$writer->query_safe('BEGIN');
$writer->query_safe(q{INSERT INTO ev VALUES (1, '2026-01-01 02:02')});
$node->stop('immediate');
$writer->{run}->finish;
$node->start;
my $r = $node->safe_psql('postgres', 'SELECT events_inserted FROM sessionize.run_job(1)');
is($r, '0', 'an uncommitted write lost in a crash changes nothing');
is($node->safe_psql('postgres', 'SELECT count(*) FROM sessionize.verify(1)'), '0',
	'target exact after all crashes');

$node->stop;
done_testing();
