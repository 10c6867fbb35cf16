# Copyright (c) 2026, the sessionize developers
#
# The background worker keeps jobs fresh with no run_job() call: it builds
# a new job's target, then follows inserts (late ones too), deletes and
# updates; it shows in pg_stat_activity; its settings change on SIGHUP, and
# only then; a job's NOTIFY channel gets a JSON payload after each run that
# changed sessions; jobs in two databases both run, or only the one that
# sessionize.databases lists; an inactive job is not run.
# Every target is compared with a recomputation (verify()).

use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

my $node = PostgreSQL::Test::Cluster->new('worker');
$node->init;
$node->append_conf('postgresql.conf', q{
shared_preload_libraries = 'sessionize'
sessionize.naptime = '200ms'
timezone = 'UTC'
});
$node->start;

ok($node->poll_query_until('postgres',
		"SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'sessionize launcher'"),
	'the launcher runs');

# A job over 20k events that exist before it: the worker builds its target.
$node->safe_psql('postgres', q{
	CREATE EXTENSION sessionize;
	CREATE TABLE ev (u int, ts timestamptz, note text);
	CREATE INDEX ON ev (u, ts);
	INSERT INTO ev SELECT i % 50, timestamptz '2026-01-01' + (i * 37 % 100000) * interval '1 second', 'x'
	FROM generate_series(1, 20000) i;
	SELECT sessionize.create_job('ev', 'u', 'ts', interval '5 minutes',
	                             schedule_interval => interval '1 second', notify => 'ev_sessions');
});

# caught up: nothing pending, and the target is the recomputation
sub caught_up
{
	my ($dbname, $job) = @_;
	return $node->poll_query_until($dbname, qq{
		SELECT total_runs > 0 AND pending_events = 0 AND NOT pending_rebuild
		FROM sessionize.job_status WHERE job_id = $job});
}

ok(caught_up('postgres', 1), 'the worker built the new job with no run_job() call');
is($node->safe_psql('postgres', 'SELECT count(*) FROM sessionize.verify(1)'), '0',
	'the built target equals a recomputation');
is($node->safe_psql('postgres', 'SELECT sum(event_count) FROM ev_sessions'), '20000',
	'every event is counted once');
is($node->safe_psql('postgres', q{
	SELECT status, runner, full_rebuild, events_inserted FROM sessionize.job_run_details
	ORDER BY run_id LIMIT 1}), 'succeeded|scheduler|t|20000', 'the history has the build');

is($node->safe_psql('postgres', q{
	SELECT application_name, datname FROM pg_stat_activity WHERE backend_type = 'sessionize scheduler'}),
	'sessionize scheduler|postgres', 'one scheduler, visible in pg_stat_activity');

# It follows: appends, late events, deletes, updates.
my $runs = $node->safe_psql('postgres', 'SELECT total_runs FROM sessionize.job_status WHERE job_id = 1');
$node->safe_psql('postgres', q{
	INSERT INTO ev SELECT i % 50, timestamptz '2026-01-02 04:00' + i * interval '7 seconds', 'new'
	FROM generate_series(1, 500) i;
	INSERT INTO ev VALUES (3, '2026-01-01 00:00:30', 'late'), (NULL, '2026-01-01 10:00', 'no user');
	DELETE FROM ev WHERE u = 7 AND ts < '2026-01-01 06:00';
	UPDATE ev SET ts = ts + interval '20 minutes' WHERE u = 9 AND ts < '2026-01-01 03:00';
});
ok(caught_up('postgres', 1), 'the worker applied inserts, deletes and updates');
is($node->safe_psql('postgres', 'SELECT count(*) FROM sessionize.verify(1)'), '0',
	'the target equals a recomputation');
ok($node->safe_psql('postgres', 'SELECT total_runs FROM sessionize.job_status WHERE job_id = 1') > $runs,
	'by runs of its own');
is($node->safe_psql('postgres', 'SELECT (SELECT sum(event_count) FROM ev_sessions) = (SELECT count(*) FROM ev)'),
	't', 'every event counted once');

# NOTIFY: a listener gets one payload per run that changed sessions, at
# commit.  An event far ahead in event time moves the watermark past every
# open session: the payload says how many closed, and their time range.
my $listener = $node->background_psql('postgres');
$listener->query_safe('LISTEN ev_sessions');
$node->safe_psql('postgres', q{
	CREATE TABLE open_before AS SELECT u, session_start FROM ev_sessions WHERE NOT closed;
	INSERT INTO ev VALUES (1, '2026-03-01', 'far ahead');
});
my $payload;
foreach my $try (1 .. 10 * $PostgreSQL::Test::Utils::timeout_default)
{
	my $out = $listener->query('SELECT 1');
	if ($out =~ /Asynchronous notification "ev_sessions" with payload "(.*)" received/)
	{
		$payload = $1;
		last;
	}
	usleep(100_000);
}
ok(defined $payload, 'the listener got a notification');
$payload //= '';
my $expected = $node->safe_psql('postgres', q{
	SELECT format('{"job_id": 1, "events_inserted": 1, "events_deleted": 0, "late_events": 0, '
	              '"sessions_inserted": 1, "sessions_updated": 0, "sessions_deleted": 0, '
	              '"sessions_closed": %s, "closed_first_start": %s, "closed_last_end": %s, '
	              '"watermark": %s, "full_rebuild": false}',
	              count(*), to_json(min(s.session_start)), to_json(max(s.session_end)),
	              (SELECT to_json(sessionize._job_time(watermark, NULL::timestamptz)) FROM sessionize.job_state WHERE job_id = 1))
	FROM ev_sessions s JOIN open_before o USING (u, session_start) WHERE s.closed});
is($payload, $expected, 'the payload: counts, closed sessions\' time range, watermark');
ok($node->safe_psql('postgres', 'SELECT count(*) FROM open_before') > 1, '(several sessions were open)');
$listener->quit;

# SIGHUP: the worker takes new settings.  With log_level = log, each run
# writes a line to the server log.
$node->safe_psql('postgres', q{ALTER SYSTEM SET sessionize.log_level = 'log'; SELECT pg_reload_conf()});
my $logged = 0;
foreach my $i (1 .. 20 * $PostgreSQL::Test::Utils::timeout_default)
{
	# (a run may come before the scheduler has read the new setting)
	$node->safe_psql('postgres',
		"INSERT INTO ev VALUES (2, timestamptz '2026-03-01' + $i * interval '1 second', 'hup')")
	  if $i % 5 == 1;
	if ($node->log_contains(qr/LOG:  sessionize job 1: \d+ events inserted/))
	{
		$logged = 1;
		last;
	}
	usleep(100_000);
}
ok($logged, 'after SIGHUP the scheduler logs its runs at the new level');

# Only SIGHUP: a setting changed in the files without one is not taken (the
# scheduler reads them once per signal, not at every look).
$node->safe_psql('postgres', q{ALTER SYSTEM SET sessionize.log_level = 'debug1'});
my $log_offset = -s $node->logfile;
$node->safe_psql('postgres', q{INSERT INTO ev VALUES (2, '2026-03-01 12:00', 'no hup')});
ok(caught_up('postgres', 1), 'a run after the files changed with no SIGHUP');
ok($node->log_contains(qr/LOG:  sessionize job 1: \d+ events inserted/, $log_offset),
	'with no SIGHUP the scheduler keeps its settings: it still logs its runs');
$node->safe_psql('postgres', q{ALTER SYSTEM SET sessionize.log_level = 'log'});

# sessionize.enabled = off stops the schedulers; on starts them again.
$node->safe_psql('postgres', q{ALTER SYSTEM SET sessionize.enabled = off; SELECT pg_reload_conf()});
ok($node->poll_query_until('postgres',
		"SELECT count(*) = 0 FROM pg_stat_activity WHERE backend_type = 'sessionize scheduler'"),
	'turned off, the scheduler is gone');
# (the last SIGHUP test's insert may still be pending: count from here)
my $pending = $node->safe_psql('postgres', 'SELECT pending_events FROM sessionize.job_status WHERE job_id = 1');
$node->safe_psql('postgres', q{INSERT INTO ev VALUES (4, '2026-03-02', 'while off')});
is($node->safe_psql('postgres', 'SELECT pending_events FROM sessionize.job_status WHERE job_id = 1'),
	$pending + 1, 'a change waits while the worker is off');
$node->safe_psql('postgres', q{ALTER SYSTEM SET sessionize.enabled = on; SELECT pg_reload_conf()});
ok(caught_up('postgres', 1), 'turned on again, it catches up');
is($node->safe_psql('postgres', 'SELECT count(*) FROM sessionize.verify(1)'), '0', 'exactly');

# Jobs in two databases both run, each database with its scheduler.
$node->safe_psql('postgres', 'CREATE DATABASE second');
$node->safe_psql('second', q{
	CREATE EXTENSION sessionize;
	CREATE TABLE clicks (user_id bigint, at timestamptz);
	INSERT INTO clicks SELECT i % 11, timestamptz '2026-01-01' + i * interval '1 minute' FROM generate_series(1, 3000) i;
	SELECT sessionize.create_job('clicks', 'user_id', 'at', interval '3 minutes',
	                             schedule_interval => interval '1 second');
});
ok(caught_up('second', 1), 'the job of the second database ran');
$node->safe_psql('second', q{INSERT INTO clicks VALUES (1, '2026-01-05'), (2, '2026-01-01 00:30:30')});
$node->safe_psql('postgres', q{INSERT INTO ev VALUES (5, '2026-03-03', 'both')});
ok(caught_up('second', 1) && caught_up('postgres', 1), 'both databases\' jobs follow their inserts');
is($node->safe_psql('second', 'SELECT count(*) FROM sessionize.verify(1)'), '0', 'second database exact');
is($node->safe_psql('postgres', 'SELECT count(*) FROM sessionize.verify(1)'), '0', 'first database exact');
is($node->safe_psql('postgres', q{
	SELECT string_agg(datname, ',' ORDER BY datname) FROM pg_stat_activity
	WHERE backend_type = 'sessionize scheduler'}), 'postgres,second', 'one scheduler per database');

# sessionize.databases: only the databases it lists have a scheduler.
$node->safe_psql('postgres', q{ALTER SYSTEM SET sessionize.databases = 'second'; SELECT pg_reload_conf()});
ok($node->poll_query_until('postgres', q{
	SELECT string_agg(datname, ',' ORDER BY datname) = 'second' FROM pg_stat_activity
	WHERE backend_type = 'sessionize scheduler'}), 'sessionize.databases: only the listed database has a scheduler');
$node->safe_psql('postgres', q{ALTER SYSTEM RESET sessionize.databases; SELECT pg_reload_conf()});
ok($node->poll_query_until('postgres', q{
	SELECT string_agg(datname, ',' ORDER BY datname) = 'postgres,second' FROM pg_stat_activity
	WHERE backend_type = 'sessionize scheduler'}), 'with the list empty again, every database has one');

# An inactive job is not scheduled (while an active one in the same
# database, written to after it, runs twice), and run_job() still runs it.
$node->safe_psql('postgres', q{
	CREATE TABLE ev2 (u int, ts timestamptz);
	SELECT sessionize.create_job('ev2', 'u', 'ts', interval '5 minutes',
	                             schedule_interval => interval '1 second');
});
ok(caught_up('postgres', 2), 'a second job in the first database');
$node->safe_psql('postgres', q{
	SELECT sessionize.alter_job(1, active => false);
	INSERT INTO ev VALUES (6, '2026-03-04', 'inactive');
});
foreach my $round (1, 2)
{
	$node->safe_psql('postgres', qq{INSERT INTO ev2 VALUES ($round, '2026-01-01')});
	caught_up('postgres', 2);
}
is($node->safe_psql('postgres', 'SELECT pending_events FROM sessionize.job_status WHERE job_id = 1'),
	'1', 'the inactive job was not run');
$node->safe_psql('postgres', 'SELECT sessionize.run_job(1)');
is($node->safe_psql('postgres', 'SELECT count(*) FROM sessionize.verify(1)'), '0',
	'run_job() runs an inactive job');

$node->stop;
done_testing();
