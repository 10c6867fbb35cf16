# Copyright (c) 2026, the sessionize developers
#
# A standby runs nothing: no launcher, no scheduler; its jobs' targets move
# only as the primary's runs are replayed.  Promoted, it starts the worker,
# which runs its jobs.

use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 1);
$primary->append_conf('postgresql.conf', q{
shared_preload_libraries = 'sessionize'
sessionize.naptime = '200ms'
log_min_messages = debug1
});
$primary->start;
$primary->safe_psql('postgres', q{
	CREATE EXTENSION sessionize;
	CREATE TABLE ev (u int, ts timestamptz);
	INSERT INTO ev SELECT i % 10, timestamptz '2026-01-01' + i * interval '1 minute' FROM generate_series(1, 1000) i;
	SELECT sessionize.create_job('ev', 'u', 'ts', interval '5 minutes',
	                             schedule_interval => interval '1 second');
});

sub caught_up
{
	my ($node) = @_;
	return $node->poll_query_until('postgres', q{
		SELECT total_runs > 0 AND pending_events = 0 AND NOT pending_rebuild AND last_error IS NULL
		FROM sessionize.job_status WHERE job_id = 1});
}

ok(caught_up($primary), 'the primary runs the job');

$primary->backup('base');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'base', has_streaming => 1);
$standby->start;

$primary->safe_psql('postgres', q{INSERT INTO ev VALUES (1, '2026-01-02'), (2, '2026-01-02 00:01')});
ok(caught_up($primary), 'the primary applies a change');
$primary->wait_for_catchup($standby);

is($standby->safe_psql('postgres', 'SELECT pg_is_in_recovery()'), 't', 'the standby is in recovery');
is($standby->safe_psql('postgres',
		"SELECT count(*) FROM pg_stat_activity WHERE backend_type LIKE 'sessionize%'"),
	'0', 'it runs no launcher and no scheduler');
ok(!$standby->log_contains('starting background worker process "sessionize'),
	'none was ever started there');
is($standby->safe_psql('postgres', 'SELECT total_runs FROM sessionize.job_state WHERE job_id = 1'),
	$primary->safe_psql('postgres', 'SELECT total_runs FROM sessionize.job_state WHERE job_id = 1'),
	'its job state is the primary\'s, replayed');
is($standby->safe_psql('postgres', 'SELECT count(*) FROM sessionize.verify(1)'), '0',
	'and so is the target');

# Promoted, it starts the worker, which runs the job.
$primary->stop;
$standby->promote;
ok($standby->poll_query_until('postgres',
		"SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'sessionize scheduler'"),
	'the promoted standby starts a scheduler');
$standby->safe_psql('postgres', q{INSERT INTO ev VALUES (3, '2026-01-03'), (1, '2026-01-01 00:00:30')});
ok(caught_up($standby), 'which runs the job');
is($standby->safe_psql('postgres', 'SELECT count(*) FROM sessionize.verify(1)'), '0', 'exactly');

$standby->stop;
done_testing();
