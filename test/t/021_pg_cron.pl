# Copyright (c) 2026, the sessionize developers
#
# The pg_cron recipe of the README, for teams that preload no sessionize
# worker: a cron job calls sessionize.run_due_jobs() every minute (pg_cron
# 1.4, Debian 12's, schedules by the minute), which builds and then keeps
# the job's target; cron.job_run_details records the calls.  Skipped where
# pg_cron is not installed (the Debian package exists for PostgreSQL 15).

use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $sharedir = `pg_config --sharedir`;
chomp $sharedir;
plan skip_all => "pg_cron is not installed in $sharedir"
  unless -f "$sharedir/extension/pg_cron.control";

my $node = PostgreSQL::Test::Cluster->new('cron');
$node->init;
# pg_cron only: sessionize is not preloaded, so no sessionize worker runs
$node->append_conf('postgresql.conf', q{
shared_preload_libraries = 'pg_cron'
cron.database_name = 'postgres'
cron.use_background_workers = on
max_worker_processes = 16
timezone = 'UTC'
});
$node->start;

$node->safe_psql('postgres', q{
	CREATE EXTENSION sessionize;
	CREATE EXTENSION pg_cron;
	CREATE TABLE clicks (user_id int, ts timestamptz);
	CREATE INDEX ON clicks (user_id, ts);
	INSERT INTO clicks SELECT i % 13, timestamptz '2026-01-01' + (i * 17 % 5000) * interval '1 minute'
	FROM generate_series(1, 3000) i;
	SELECT sessionize.create_job('clicks', 'user_id', 'ts', interval '30 minutes',
	                             schedule_interval => interval '1 second');
	SELECT cron.schedule('sessionize', '* * * * *', 'SELECT count(*) FROM sessionize.run_due_jobs()');
});
is($node->safe_psql('postgres',
		q{SELECT count(*) FROM pg_stat_activity WHERE backend_type LIKE 'sessionize%'}),
	'0', 'no sessionize worker runs');

# the first cron call builds the target (within a minute and a bit)
ok($node->poll_query_until('postgres',
		q{SELECT total_runs > 0 AND last_successful_finish IS NOT NULL FROM sessionize.job_status WHERE job_id = 1},
		't'),
	'a run_due_jobs() call from pg_cron ran the job');
is($node->safe_psql('postgres', 'SELECT count(*) FROM sessionize.verify(1)'), '0',
	'the target equals a recomputation');

# changes, late ones included, are applied by a later call
$node->safe_psql('postgres', q{
	INSERT INTO clicks VALUES (1, '2026-01-01 00:31'), (2, '2026-01-04 12:00'), (99, '2026-01-02');
	DELETE FROM clicks WHERE user_id = 5 AND ts < '2026-01-02';
});
my $runs = $node->safe_psql('postgres', q{SELECT total_runs FROM sessionize.job_status WHERE job_id = 1});
ok($node->poll_query_until('postgres',
		qq{SELECT total_runs > $runs FROM sessionize.job_status WHERE job_id = 1}, 't'),
	'a later call applied the changes');
is($node->safe_psql('postgres', 'SELECT count(*) FROM sessionize.verify(1)'), '0',
	'the target equals a recomputation after new, late and deleted events');
is($node->safe_psql('postgres',
		q{SELECT count(*) FILTER (WHERE status = 'succeeded') > 0 AND count(*) FILTER (WHERE status = 'failed') = 0
		  FROM cron.job_run_details}),
	't', 'cron.job_run_details records the calls as succeeded');

$node->stop;
done_testing();
