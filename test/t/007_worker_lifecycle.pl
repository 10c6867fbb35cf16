# Copyright (c) 2026, the sessionize developers
#
# The worker survives what happens to servers: a scheduler terminated with
# pg_terminate_backend() comes back and carries on; one killed with -9 in
# the middle of a run takes the server through crash recovery, after which
# the run is recorded as crashed and the job's changes are applied exactly
# once; the launcher terminated comes back with its schedulers, even when
# a scheduler of the earlier launcher does not stop; the extension dropped
# and created again while the worker runs is taken up quietly; DROP
# DATABASE is not refused because of a scheduler, and stops no other
# database's; a database without the extension gets no new scheduler at
# every naptime.  With no background worker slot free, a database's
# scheduler is tried again after sessionize.naptime, not at each wake-up of
# the launcher.  A DROP DATABASE that is refused lets the database's
# scheduler come back when its hold ends (not before, even for a new job;
# holding another database does not end it), however long the naptime.

use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

my $node = PostgreSQL::Test::Cluster->new('lifecycle');
$node->init;
$node->append_conf('postgresql.conf', q{
shared_preload_libraries = 'sessionize'
sessionize.naptime = '200ms'
sessionize.max_retry_backoff = '1s'
# (the kill -9 below takes the server through crash recovery)
restart_after_crash = on
timezone = 'UTC'
});
$node->start;

my $setup = q{
	CREATE EXTENSION sessionize;
	CREATE TABLE ev (u int, ts timestamptz);
	CREATE INDEX ON ev (u, ts);
	INSERT INTO ev SELECT i % 20, timestamptz '2026-01-01' + (i * 7 % 5000) * interval '1 minute'
	FROM generate_series(1, 5000) i;
	SELECT sessionize.create_job('ev', 'u', 'ts', interval '10 minutes',
	                             schedule_interval => interval '1 second');
};
$node->safe_psql('postgres', $setup);

sub caught_up
{
	my ($dbname) = @_;
	return $node->poll_query_until($dbname // 'postgres', q{
		SELECT total_runs > 0 AND pending_events = 0 AND NOT pending_rebuild AND last_error IS NULL
		FROM sessionize.job_status WHERE job_id = (SELECT max(job_id) FROM sessionize.jobs)});
}

sub exact
{
	my ($what) = @_;
	is($node->safe_psql('postgres', q{
		SELECT (SELECT count(*) FROM sessionize.verify((SELECT max(job_id) FROM sessionize.jobs)))
		       + abs((SELECT coalesce(sum(event_count), 0) FROM ev_sessions) - (SELECT count(*) FROM ev))}),
		'0', $what);
}

sub scheduler_pid
{
	my ($dbname) = @_;
	return $node->safe_psql('postgres', qq{
		SELECT pid FROM pg_stat_activity
		WHERE backend_type = 'sessionize scheduler' AND datname = '$dbname'});
}

ok(caught_up(), 'the worker built the job');
exact('target exact');

# pg_terminate_backend(): the scheduler comes back and carries on.
my $pid = scheduler_pid('postgres');
ok($pid, 'a scheduler runs');
$node->safe_psql('postgres', "SELECT pg_terminate_backend($pid)");
ok($node->poll_query_until('postgres', qq{
	SELECT count(*) = 1 FROM pg_stat_activity
	WHERE backend_type = 'sessionize scheduler' AND pid <> $pid}),
	'a terminated scheduler is started again');
$node->safe_psql('postgres', q{INSERT INTO ev VALUES (1, '2026-01-05'), (2, '2026-01-01 00:03')});
ok(caught_up(), 'and carries on');
exact('target exact after the restart');

# kill -9 in the middle of a run.  The run waits for a lock on the target
# that another session holds, after it has committed its 'running' row.
my $holder = $node->background_psql('postgres');
$holder->query_safe('BEGIN; LOCK TABLE ev_sessions IN ACCESS EXCLUSIVE MODE');
$node->safe_psql('postgres', q{
	INSERT INTO ev SELECT i % 20, timestamptz '2026-01-04' + i * interval '1 minute' FROM generate_series(1, 300) i;
	DELETE FROM ev WHERE u = 3 AND ts < '2026-01-02';
});
ok($node->poll_query_until('postgres', q{
	SELECT EXISTS (SELECT 1 FROM sessionize.job_run_details WHERE status = 'running')
	   AND EXISTS (SELECT 1 FROM pg_stat_activity
	               WHERE backend_type = 'sessionize scheduler' AND wait_event_type = 'Lock')}),
	'a run is in progress, waiting');
$pid = scheduler_pid('postgres');
my $failures_before = $node->safe_psql('postgres',
	'SELECT total_failures FROM sessionize.job_state WHERE job_id = 1');
kill 'KILL', $pid;
$holder->{run}->finish;
ok($node->poll_query_until('postgres', q{
	SELECT count(*) = 1 FROM sessionize.job_run_details WHERE status = 'crashed'}),
	'after crash recovery, the interrupted run is recorded as crashed');
ok($node->log_contains('was terminated by signal 9'), '(the server went through crash recovery)');
is($node->safe_psql('postgres', q{
	SELECT finished_at IS NOT NULL, message FROM sessionize.job_run_details WHERE status = 'crashed'}),
	't|the run was interrupted: the scheduler or the server stopped during it', 'with a message');
ok(caught_up(), 'the job runs again');
exact('its changes applied exactly once: nothing lost, nothing doubled');
is($node->safe_psql('postgres', 'SELECT total_failures FROM sessionize.job_state WHERE job_id = 1'),
	$failures_before + 1, 'the crash counts as a failure of the job');

# The launcher terminated: it comes back (after its restart time), and so
# do the schedulers it had, even when a scheduler of the earlier launcher
# does not stop: here one is stopped with SIGSTOP, so that it cannot take
# its SIGTERM.  The new launcher waits for it at most 100 times 100 ms,
# then frees its slot and starts schedulers again.  The scheduler is
# stopped while it sleeps (waiting on its latch), holding no lock.
my $stuck;
foreach my $try (1 .. 100)
{
	$stuck = scheduler_pid('postgres');
	kill 'STOP', $stuck;
	last if $node->safe_psql('postgres', qq{
		SELECT wait_event_type = 'Extension' FROM pg_stat_activity WHERE pid = $stuck}) eq 't';
	kill 'CONT', $stuck;
	usleep(100_000);
}
my $launcher = $node->safe_psql('postgres',
	"SELECT pid FROM pg_stat_activity WHERE backend_type = 'sessionize launcher'");
$node->safe_psql('postgres', "SELECT pg_terminate_backend($launcher)");
ok($node->poll_query_until('postgres', qq{
	SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'sessionize launcher' AND pid <> $launcher}),
	'the launcher comes back');
$node->safe_psql('postgres', q{INSERT INTO ev VALUES (4, '2026-01-06')});
ok(caught_up(), 'with a scheduler that runs the job');
is($node->safe_psql('postgres', qq{
	SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'sessionize scheduler' AND pid <> $stuck}),
	'1', 'a new one, while the stuck one of the earlier launcher still hangs');
exact('target exact');
kill 'CONT', $stuck;
ok($node->poll_query_until('postgres', qq{SELECT count(*) = 0 FROM pg_stat_activity WHERE pid = $stuck}),
	'let go, the stuck scheduler takes its SIGTERM');

# DROP EXTENSION while the worker runs, then CREATE EXTENSION again.
my $offset = -s $node->logfile;
$node->safe_psql('postgres', 'DROP EXTENSION sessionize CASCADE');
ok($node->poll_query_until('postgres', q{
	SELECT count(*) = 0 FROM pg_stat_activity WHERE backend_type = 'sessionize scheduler'}),
	'with the extension dropped, the scheduler leaves');
$node->safe_psql('postgres', 'DROP TABLE ev_sessions');
$node->safe_psql('postgres', q{
	CREATE EXTENSION sessionize;
	SELECT sessionize.create_job('ev', 'u', 'ts', interval '10 minutes',
	                             schedule_interval => interval '1 second');
});
ok(caught_up(), 'created again, the new job is built by the worker');
exact('target exact');
my $log = slurp_file($node->logfile, $offset);
unlike($log, qr/ERROR|FATAL/, 'and no error came of it in the server log');

# DROP DATABASE of a database with a scheduler is not refused.
$node->safe_psql('postgres', 'CREATE DATABASE doomed');
$node->safe_psql('doomed', $setup);
ok(caught_up('doomed'), 'a job in another database');
ok(scheduler_pid('doomed'), 'with its scheduler');
my ($ret, $stdout, $stderr) = $node->psql('postgres', 'DROP DATABASE doomed');
is($ret, 0, 'DROP DATABASE stops the scheduler and succeeds');
is($stderr, '', 'with no error');
$node->safe_psql('postgres', q{INSERT INTO ev VALUES (5, '2026-01-07')});
ok(caught_up(), 'the other database is still served');

# DROP DATABASE stops the scheduler of that database only, not one of a
# database with a higher oid.  lo's scheduler runs before hi is created, so
# hi's takes a later slot in shared memory (a scheduler takes the lowest
# free one), where a scan for lo's that matched higher oids too would find
# it last.
$node->safe_psql('postgres', 'CREATE DATABASE lo');
$node->safe_psql('lo', $setup);
ok(caught_up('lo'), 'a job in lo, run by its scheduler');
$node->safe_psql('postgres', 'CREATE DATABASE hi');
is($node->safe_psql('postgres',
		q{SELECT (SELECT oid FROM pg_database WHERE datname = 'lo') < (SELECT oid FROM pg_database WHERE datname = 'hi')}),
	't', '(lo has the lower oid)');
$node->safe_psql('hi', $setup);
ok(caught_up('hi'), 'a job in hi, run by its scheduler');
my $hi_pid = scheduler_pid('hi');
ok($hi_pid, "hi's scheduler runs");
($ret, $stdout, $stderr) = $node->psql('postgres', 'DROP DATABASE lo');
is($ret, 0, 'DROP DATABASE lo stops its scheduler and succeeds');
is($stderr, '', 'with no error');
is(scheduler_pid('hi'), $hi_pid, "hi's scheduler was left running");
$node->safe_psql('hi', q{INSERT INTO ev VALUES (5, '2026-01-07')});
ok(caught_up('hi'), 'and carries on');

# A database without the extension: its scheduler finds none and exits, and
# the launcher starts one there again only after a minute (or when a job is
# created there), not at every naptime.  The scheduler says so at DEBUG1,
# set for that database before it allows connections.
$offset = -s $node->logfile;
$node->safe_psql('postgres', q{
	CREATE DATABASE noext ALLOW_CONNECTIONS false;
	ALTER DATABASE noext SET log_min_messages = 'debug1';
	ALTER DATABASE noext ALLOW_CONNECTIONS true;
});
my $no_extension = qr/extension sessionize is not installed in database "noext"; exiting/;
ok($node->wait_for_log($no_extension, $offset), 'in a database without the extension, the scheduler exits');
usleep(2_000_000);
my $looks = () = slurp_file($node->logfile, $offset) =~ /$no_extension/g;
is($looks, 1, 'and no other is started there within 2 seconds (naptime 200 ms)');

$node->stop;

# With no background worker slot free for a scheduler, the launcher logs it
# and tries again after sessionize.naptime, not at each wake-up.  Here one
# scheduler fits (max_worker_processes: the launcher and one more), the
# naptime is an hour, database a has the scheduler and b was refused one.
# When a's scheduler stops, neither gets one before the naptime has passed;
# a job created in b asks for b's scheduler, which then starts at once.
my $busy = PostgreSQL::Test::Cluster->new('busy');
$busy->init;
$busy->append_conf('postgresql.conf', q{
shared_preload_libraries = 'sessionize'
sessionize.naptime = '1h'
sessionize.databases = 'a,b'
max_worker_processes = 2
max_logical_replication_workers = 0
max_parallel_workers = 0
timezone = 'UTC'
});
$busy->start;
my $job = q{
	CREATE EXTENSION IF NOT EXISTS sessionize;
	CREATE TABLE IF NOT EXISTS ev (u int, ts timestamptz);
	SELECT sessionize.create_job('ev', 'u', 'ts', interval '10 minutes');
};
sub schedulers
{
	return $busy->safe_psql('postgres', q{
		SELECT coalesce(string_agg(datname, ',' ORDER BY datname), '') FROM pg_stat_activity
		WHERE backend_type = 'sessionize scheduler'});
}
$busy->safe_psql('postgres', 'CREATE DATABASE a');
$busy->safe_psql('postgres', 'CREATE DATABASE b');
$busy->safe_psql('a', $job);
ok($busy->poll_query_until('postgres', q{
	SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'sessionize scheduler' AND datname = 'a'}),
	'a job created in a starts its scheduler');
$busy->safe_psql('b', $job);
ok($busy->wait_for_log(
		qr/could not start a scheduler for database "b": no background worker slot free/, 0),
	'b gets none: no background worker slot is free');
# (time for the launcher to take b's wake-up request, and to fail again)
usleep(1_000_000);
my $a_pid = $busy->safe_psql('postgres', q{
	SELECT pid FROM pg_stat_activity WHERE backend_type = 'sessionize scheduler' AND datname = 'a'});
$busy->safe_psql('postgres', "SELECT pg_terminate_backend($a_pid)");
ok($busy->poll_query_until('postgres', qq{SELECT count(*) = 0 FROM pg_stat_activity WHERE pid = $a_pid}),
	"a's scheduler stopped");
usleep(2_000_000);
is(schedulers(), '', 'the launcher, woken by that, starts none before the naptime has passed');
$busy->safe_psql('b', q{
	CREATE TABLE ev2 (u int, ts timestamptz);
	SELECT sessionize.create_job('ev2', 'u', 'ts', interval '10 minutes');
});
ok($busy->poll_query_until('postgres', q{
	SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'sessionize scheduler' AND datname = 'b'}),
	'a job created in b starts its scheduler at once');

# A DROP DATABASE that is refused (another session is connected to b) has
# stopped b's scheduler first, and held b free of one for 10 seconds: the
# scheduler comes back when that hold ends, not after the naptime (an hour).
my $b_pid = $busy->safe_psql('postgres', q{
	SELECT pid FROM pg_stat_activity WHERE backend_type = 'sessionize scheduler' AND datname = 'b'});
my $connected = $busy->background_psql('b');
$connected->query_safe('SELECT 1');
my $refused_at = time;
($ret, $stdout, $stderr) = $busy->psql('postgres', 'DROP DATABASE b');
isnt($ret, 0, 'DROP DATABASE b is refused');
like($stderr, qr/database "b" is being accessed by other users/, 'for the session connected to b');
is($busy->safe_psql('postgres', "SELECT count(*) FROM pg_stat_activity WHERE pid = $b_pid"),
	'0', "it had stopped b's scheduler");
$connected->quit;
my $back = 0;
while (time < $refused_at + 30)
{
	$back = $busy->safe_psql('postgres', q{
		SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'sessionize scheduler' AND datname = 'b'});
	last if $back;
	usleep(200_000);
}
is($back, '1', "b's scheduler is back within 30 seconds: when the hold ends, not after the naptime");

# A database held keeps its scheduler away even when a job is created there
# meanwhile, and holding another database does not end that hold.  Here a
# (no scheduler, and the lower oid) is held first, by a refused DROP
# DATABASE (in a transaction block), then b; a job created in a during its
# hold gets a's scheduler only when the hold ends.
is($busy->safe_psql('postgres',
		q{SELECT (SELECT oid FROM pg_database WHERE datname = 'a') < (SELECT oid FROM pg_database WHERE datname = 'b')}),
	't', '(a has the lower oid)');
($ret, $stdout, $stderr) = $busy->psql('postgres', "BEGIN;\nDROP DATABASE a;");
like($stderr, qr/DROP DATABASE cannot run inside a transaction block/, 'DROP DATABASE a is refused');
my $held_at = time;
($ret, $stdout, $stderr) = $busy->psql('postgres', "BEGIN;\nDROP DATABASE b;");
like($stderr, qr/DROP DATABASE cannot run inside a transaction block/, 'then DROP DATABASE b');
$busy->safe_psql('a', q{
	CREATE TABLE ev3 (u int, ts timestamptz);
	SELECT sessionize.create_job('ev3', 'u', 'ts', interval '10 minutes');
});
usleep(2_000_000);
is(schedulers(), '', 'a job created in a, held, starts no scheduler there at once (2 seconds)');
$back = 0;
while (time < $held_at + 30)
{
	$back = $busy->safe_psql('postgres', q{
		SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'sessionize scheduler' AND datname = 'a'});
	last if $back;
	usleep(200_000);
}
is($back, '1', "a's scheduler starts when the hold ends");
$busy->stop;
done_testing();
