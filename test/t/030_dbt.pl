# Copyright (c) 2026, the sessionize developers
#
# The dbt package (dbt/) with real dbt-core and dbt-postgres: the
# integration project (dbt/integration_tests) is seeded and built against a
# throwaway cluster; then new and late events arrive (some bridging two
# sessions, one deleted) and it is built again; then a job's measures are
# changed with --vars (written otherwise, which must not rebuild nor wait
# for a transaction that has read the target; removed; restored); then
# `dbt seed --full-refresh` drops and recreates the sources (which drops
# the jobs; the new ones must take their targets over, measure columns
# included, using no job id but their own) and `--full-refresh` rebuilds the job-backed model.
# After each build every sessions model must equal the README's plain-SQL
# reference over the events, the jobs with measures (on timestamptz,
# timestamp and bigint epoch-millisecond times) a plain-SQL GROUP BY with
# the same aggregates, and the jobs must pass verify().  A naive
# is_incremental() model must go wrong on the late events, as the README
# says.
#
# dbt comes from a virtualenv outside the tree (test/lib.sh,
# ensure_dbt_venv: made by test/run, or here when its directory is
# writable); without one the test is skipped and says why.

use strict;
use warnings;
use Cwd qw(abs_path);
use File::Basename qw(dirname);
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $top = abs_path(dirname(__FILE__) . '/../..');

# the virtualenv: made or checked by test/lib.sh
my $venv = `bash -c '. "\$1/test/lib.sh" >/dev/null && ensure_dbt_venv' bash '$top' 2>&1`;
chomp $venv;
plan skip_all => "no virtualenv with dbt-core and dbt-postgres: $venv"
  if $? != 0;
$venv = (split /\n/, $venv)[-1];
my $dbt = "$venv/bin/dbt";

my $node = PostgreSQL::Test::Cluster->new('dbt');
$node->init;
$node->start;
my $db = 'analytics';
$node->safe_psql('postgres', "CREATE DATABASE $db");
$node->safe_psql($db, 'CREATE EXTENSION sessionize');
my $role = $node->safe_psql($db, 'SELECT current_user');

# a copy of the package and its integration project, and a profile that
# points at the cluster's unix socket
# (absolute: tempdir() is relative where TESTDIR is, as with PostgreSQL 16's
# PGXS, and dbt runs in the project's directory)
my $work = abs_path(PostgreSQL::Test::Utils::tempdir('dbt'));
system('cp', '-a', "$top/dbt", "$work/dbt") == 0 or die "cannot copy $top/dbt";
system('rm', '-rf', map { "$work/dbt/integration_tests/$_" } qw(target dbt_packages logs package-lock.yml));
my $project = "$work/dbt/integration_tests";
open(my $fh, '>', "$work/profiles.yml") or die $!;
print $fh <<"EOF";
sessionize_integration_tests:
  target: test
  outputs:
    test:
      type: postgres
      host: "@{[ $node->host ]}"
      port: @{[ $node->port ]}
      user: "$role"
      password: ""
      dbname: $db
      schema: dbt_test
      threads: 2
EOF
close $fh;

# dbt ARGS...: runs dbt in the project; returns (success, output)
sub dbt
{
	my @args = @_;
	local $ENV{DBT_PROFILES_DIR} = $work;
	local $ENV{HOME} = $work;
	local $ENV{DO_NOT_TRACK} = '1';
	local $ENV{DBT_SEND_ANONYMOUS_USAGE_STATS} = 'false';
	local $ENV{DBT_USE_COLORS} = 'false';
	local $ENV{DBT_PARTIAL_PARSE} = 'false';
	my $out = '';
	my $ok = IPC::Run::run([ $dbt, @args, '--project-dir', $project ],
		'<', \undef, '>&', \$out, init => sub { chdir $project or die $! });
	print "# dbt @args\n$out\n";
	return ($ok, $out);
}

sub dbt_ok
{
	my ($what, @args) = @_;
	my ($ok, $out) = dbt(@args);
	ok($ok, "dbt @args: $what") or diag($out);
	return $out;
}

sub compiled
{
	my ($model) = @_;
	return slurp_file("$project/target/compiled/sessionize_integration_tests/models/$model.sql");
}

# The README's plain-SQL reference (Semantics) over the events, against the
# sessions of a model: the number of rows that differ, both ways.
sub differences
{
	my ($model) = @_;
	# sessions_from_view has the times of a timestamp (UTC) view
	my $times = $model eq 'sessions_from_view'
	  ? q{session_start AT TIME ZONE 'UTC', last_event_at AT TIME ZONE 'UTC', event_count}
	  : q{session_start, last_event_at, event_count};
	return $node->safe_psql($db, qq{
		WITH ref AS (
			SELECT key, min(ts) AS session_start, max(ts) AS last_event_at, count(*) AS event_count
			FROM (SELECT key, ts, sum(is_new) OVER (PARTITION BY key ORDER BY ts ROWS UNBOUNDED PRECEDING) AS n
			      FROM (SELECT user_id AS key, event_ts AS ts,
			                   CASE WHEN lag(event_ts) OVER w IS NULL
			                          OR event_ts - lag(event_ts) OVER w > interval '30 minutes'
			                        THEN 1 ELSE 0 END AS is_new
			            FROM dbt_test.events WHERE event_ts IS NOT NULL
			            WINDOW w AS (PARTITION BY user_id ORDER BY event_ts)) f) g
			GROUP BY key, n),
		got AS (SELECT user_id, $times FROM dbt_test.$model)
		SELECT count(*) FROM ((SELECT * FROM ref EXCEPT ALL SELECT * FROM got)
		                      UNION ALL (SELECT * FROM got EXCEPT ALL SELECT * FROM ref)) d});
}

my @models = qw(sessions_from_table sessions_from_view sessions_from_ephemeral
  sessions_from_cte sessions_from_window sessions_job);

# check_models(WHEN, MODELS...): the models (default all) equal the
# reference, and the job is exact
sub check_models
{
	my ($when, @which) = @_;
	@which = @models unless @which;
	foreach my $model (@which)
	{
		is(differences($model), '0', "$when: $model equals the plain-SQL reference");
	}
	is($node->safe_psql($db, q{
		SELECT count(*) FROM sessionize.jobs j, sessionize.verify(j.job_id) v
		WHERE j.target = 'dbt_test.sessions_job'::regclass}), '0',
		"$when: verify() of the job is clean");
}

# The jobs with measures and other time types: their source, columns, gap
# (an SQL expression of the times' kind) and measures, each as its target
# column and the plain-SQL aggregate that computes it over the session's
# events (ts: the time; first and last break ties by the smallest and the
# largest value, NULL counting as the largest, as the README says).
sub first_of { my ($c) = @_; return "(array_agg($c ORDER BY ts, $c NULLS LAST))[1]"; }
sub last_of  { my ($c) = @_; return "(array_agg($c ORDER BY ts DESC, $c DESC NULLS FIRST))[1]"; }
my @default_measures = (
	[ checkouts    => q{count(*) FILTER (WHERE url = '/checkout')} ],
	[ landing_page => first_of('url') ],
	[ exit_page    => last_of('url') ],
	[ pages        => 'count(DISTINCT url)' ]);
my %measure_jobs = (
	sessions_job_measures => { source => 'events', user => 'user_id', time => 'event_ts',
		gap => q{interval '30 minutes'}, time_type => 'timestamp with time zone',
		measures => \@default_measures },
	clicks_ms_job => { source => 'clicks_ms', user => 'visitor', time => 'at_ms',
		gap => '1800000', time_type => 'bigint',
		measures => [ [ revenue => 'sum(amount)' ], [ landing_page => first_of('page') ],
			[ exit_page => last_of('page') ] ] },
	events_local_job => { source => 'events_local', user => 'user_id', time => 'event_time',
		gap => q{interval '30 minutes'}, time_type => 'timestamp without time zone',
		measures => [] });

# measure_differences(MODEL, MEASURES): the rows of the job model that
# differ, both ways, from a GROUP BY over its source's sessions computed
# in plain SQL (LAG, a running SUM) with the measures given (default: the
# model's)
sub measure_differences
{
	my ($model, $measures) = @_;
	my $j = $measure_jobs{$model};
	$measures //= $j->{measures};
	my $ref_m = join('', map { ", $_->[1]" } @$measures);
	my $got_m = join('', map { ", $_->[0]" } @$measures);
	return $node->safe_psql($db, qq{
		WITH f AS (
			SELECT e.*, e.$j->{user} AS key, e.$j->{time} AS ts,
			       CASE WHEN lag(e.$j->{time}) OVER w IS NULL OR e.$j->{time} - lag(e.$j->{time}) OVER w > $j->{gap}
			            THEN 1 ELSE 0 END AS is_new
			FROM dbt_test.$j->{source} e WHERE e.$j->{time} IS NOT NULL
			WINDOW w AS (PARTITION BY e.$j->{user} ORDER BY e.$j->{time})),
		-- (RANGE: events at the same time are in the same session)
		g AS (SELECT f.*, sum(is_new) OVER (PARTITION BY key ORDER BY ts) AS n FROM f),
		ref AS (SELECT key, min(ts), max(ts), max(ts) + $j->{gap}, count(*) $ref_m FROM g GROUP BY key, n),
		got AS (SELECT $j->{user}, session_start, last_event_at, session_end, event_count $got_m
		        FROM dbt_test.$model)
		SELECT count(*) FROM ((SELECT * FROM ref EXCEPT ALL SELECT * FROM got)
		                      UNION ALL (SELECT * FROM got EXCEPT ALL SELECT * FROM ref)) d});
}

# the columns of a model's table ("a,b,..."), and its number of columns
# counting dropped ones
sub columns_of
{
	my ($model) = @_;
	return $node->safe_psql($db, qq{
		SELECT string_agg(attname, ',' ORDER BY attnum) FROM pg_attribute
		WHERE attrelid = 'dbt_test.$model'::regclass AND attnum > 0 AND NOT attisdropped});
}
sub attnums_of
{
	my ($model) = @_;
	return $node->safe_psql($db, qq{
		SELECT count(*) FROM pg_attribute WHERE attrelid = 'dbt_test.$model'::regclass AND attnum > 0});
}
my $fixed_columns = 'session_start,last_event_at,session_end,event_count,closed';

# check_measure_jobs(WHEN): each of those jobs equals its reference, has
# its measure columns and times of its type, and passes verify()
sub check_measure_jobs
{
	my ($when) = @_;
	foreach my $model (sort keys %measure_jobs)
	{
		my $j = $measure_jobs{$model};
		is(measure_differences($model), '0',
			"$when: $model equals its plain-SQL GROUP BY reference, measures included");
		is(columns_of($model), join(',', $j->{user}, $fixed_columns, map { $_->[0] } @{ $j->{measures} }),
			"$when: $model has the columns of its measures");
		is($node->safe_psql($db, qq{
			SELECT format_type(atttypid, atttypmod) FROM pg_attribute
			WHERE attrelid = 'dbt_test.$model'::regclass AND attname = 'session_end'}),
			$j->{time_type}, "$when: $model has times of its source's type");
		is($node->safe_psql($db, qq{
			SELECT count(*) FROM sessionize.jobs j, sessionize.verify(j.job_id) v
			WHERE j.target = 'dbt_test.$model'::regclass}), '0', "$when: verify() of $model is clean");
	}
	cmp_ok($node->safe_psql($db, q{SELECT count(*) FROM dbt_test.clicks_ms_job WHERE revenue IS NOT NULL}),
		'>', 0, "$when: the bigint job has revenue");
}
sub job_of
{
	my ($model) = @_;
	return $node->safe_psql($db, "SELECT job_id FROM sessionize.jobs WHERE target = to_regclass('dbt_test.$model')");
}

my $job_of_model = q{SELECT job_id FROM sessionize.jobs WHERE target = to_regclass('dbt_test.sessions_job')};
my $target_oid = q{SELECT to_regclass('dbt_test.sessions_job')::oid};

# 1. compile before anything exists: the macros must not need the catalog
dbt_ok('the package installs from ../', 'deps');
dbt_ok('compiles before the tables exist', 'compile');
like(compiled('sessions_from_table'), qr/sessionize\.sessions\(/,
	'without the table, sessions() falls back to the aggregate');

# 2. the first build: seed, every model, the package's generic tests
dbt_ok('first build (seed, models, generic tests)', 'build');
like(compiled('sessions_from_table'), qr/sessionize\.sessionize\('"dbt_test"\."events"'::regclass/,
	'on a table, sessions() calls sessionize()');
like(compiled('sessions_from_view'), qr/timestamp without time zone/,
	'on a timestamp view, the column definition list has its types');
like(compiled('sessions_from_ephemeral'), qr/sessionize\.sessions\(/,
	'on an ephemeral model, sessions() uses the aggregate');
like(compiled('sessions_from_cte'), qr/from "clicks"/,
	'on a CTE, sessions() reads the CTE by its quoted name');
check_models('first build');
check_measure_jobs('first build');
my %mjob = map { $_ => job_of($_) } keys %measure_jobs;
is(differences('naive_incremental_sessions'), '0',
	'first build: the naive incremental model, built in full, equals the reference');
my $job = $node->safe_psql($db, $job_of_model);
isnt($job, '', 'the sessionize_job model has a job');
# names that need quoting (capitals, a space, a quote) went through too
# (their generic tests ran in the build); the job on them is exact
is($node->safe_psql($db, q{SELECT count(*) FROM sessionize.jobs j, sessionize.verify(j.job_id)
                           WHERE j.target = 'dbt_test.odd_names_job'::regclass}), '0',
	'a job on columns named "Visitor Id" and "Seen at\'s" is exact');
is($node->safe_psql($db, q{SELECT count(*) FROM dbt_test.odd_names_sessions}),
	$node->safe_psql($db, q{SELECT count(*) FROM dbt_test.odd_names_job}),
	'sessions() and the job agree on them');

# 3. new and late events, as an application writes them
my $sessions_before = $node->safe_psql($db, 'SELECT count(*) FROM dbt_test.sessions_job');
my $bridges = $node->safe_psql($db, q{
	-- an event in the middle of each idle period of 30 to 60 minutes bridges two sessions
	CREATE TABLE bridges AS
	SELECT user_id, last_event_at + (next_start - last_event_at) / 2 AS ts
	FROM (SELECT user_id, last_event_at,
	             lead(session_start) OVER (PARTITION BY user_id ORDER BY session_start) AS next_start
	      FROM dbt_test.sessions_job) s
	WHERE next_start - last_event_at <= interval '60 minutes';
	SELECT count(*) FROM bridges});
cmp_ok($bridges, '>', 0, 'the seed has sessions that a late event bridges');
$node->safe_psql($db, q{
	INSERT INTO dbt_test.events (user_id, event_ts, url) SELECT user_id, ts, '/late-bridge' FROM bridges;
	-- late events inside sessions, and one long before everything
	INSERT INTO dbt_test.events (user_id, event_ts, url)
	SELECT user_id, session_start + interval '1 second', '/late'
	FROM dbt_test.sessions_job WHERE event_count > 2 AND user_id % 3 = 0;
	INSERT INTO dbt_test.events VALUES (1, '2026-02-20 12:00+00', '/very-late');
	-- new events: one extends each user's latest session, one starts another
	INSERT INTO dbt_test.events (user_id, event_ts, url)
	SELECT user_id, max(event_ts) + interval '10 minutes', '/next' FROM dbt_test.events GROUP BY user_id;
	INSERT INTO dbt_test.events (user_id, event_ts, url)
	SELECT user_id, max(event_ts) + interval '2 hours', '/again' FROM dbt_test.events GROUP BY user_id;
	-- a new user, and a deleted event
	INSERT INTO dbt_test.events VALUES (99, '2026-03-03 09:00+00', '/'), (99, '2026-03-03 09:20+00', '/a');
	DELETE FROM dbt_test.events WHERE ctid = (SELECT min(ctid) FROM dbt_test.events WHERE user_id = 2);
});

# the same kinds of change for the bigint and timestamp jobs' sources, and
# an update of a measure's column
my $bridges_ms = $node->safe_psql($db, q{
	CREATE TABLE bridges_ms AS
	SELECT visitor, last_event_at + (next_start - last_event_at) / 2 AS at_ms
	FROM (SELECT visitor, last_event_at,
	             lead(session_start) OVER (PARTITION BY visitor ORDER BY session_start) AS next_start
	      FROM dbt_test.clicks_ms_job) s
	WHERE next_start - last_event_at <= 3600000;
	SELECT count(*) FROM bridges_ms});
cmp_ok($bridges_ms, '>', 0, 'the bigint seed has sessions that a late event bridges');
$node->safe_psql($db, q{
	INSERT INTO dbt_test.clicks_ms SELECT visitor, at_ms, '/late-bridge', 7 FROM bridges_ms;
	-- ties with the first and last events of sessions
	INSERT INTO dbt_test.clicks_ms SELECT visitor, session_start, '/', 1 FROM dbt_test.clicks_ms_job WHERE event_count > 1;
	INSERT INTO dbt_test.clicks_ms SELECT visitor, last_event_at, '/zz', NULL FROM dbt_test.clicks_ms_job WHERE event_count = 1;
	INSERT INTO dbt_test.clicks_ms SELECT visitor, max(at_ms) + 600000, '/next', 3 FROM dbt_test.clicks_ms GROUP BY visitor;
	UPDATE dbt_test.clicks_ms SET amount = amount + 1000 WHERE page = '/checkout';
	DELETE FROM dbt_test.clicks_ms WHERE ctid = (SELECT min(ctid) FROM dbt_test.clicks_ms WHERE visitor = 'v2');
	INSERT INTO dbt_test.events_local (user_id, event_time, url)
	SELECT user_id, last_event_at + (next_start - last_event_at) / 2, '/late-bridge'
	FROM (SELECT user_id, last_event_at,
	             lead(session_start) OVER (PARTITION BY user_id ORDER BY session_start) AS next_start
	      FROM dbt_test.events_local_job) s
	WHERE next_start - last_event_at <= interval '60 minutes';
	INSERT INTO dbt_test.events_local
	SELECT user_id, max(event_time) + interval '5 minutes', '/next' FROM dbt_test.events_local GROUP BY user_id;
	INSERT INTO dbt_test.events_local VALUES (1, '2026-02-28 12:00', '/very-late');
});

# 4. build again (the seed stays as the application left it): the job
# applies the changes incrementally
my $out = dbt_ok('second build, after new and late events', 'build', '--exclude-resource-type', 'seed');
like($out, qr/sessionize: job $job of \S+: incremental, .*\(late [1-9]/,
	'the job ran incrementally and counted late events');
is($node->safe_psql($db, $job_of_model), $job, 'the same job keeps the model');
check_models('after new and late events');
like($out, qr/sessionize: job $mjob{clicks_ms_job} of \S+: incremental, .*\(late [1-9]/,
	'the bigint job ran incrementally and counted late events');
like($out, qr/sessionize: job $mjob{events_local_job} of \S+: incremental, .*\(late [1-9]/,
	'the timestamp job ran incrementally and counted late events');
like($out, qr/sessionize: job $mjob{sessions_job_measures} of \S+: incremental/,
	'the job with measures ran incrementally');
is(job_of($_), $mjob{$_}, "the same job keeps $_") foreach sort keys %measure_jobs;
check_measure_jobs('after new and late events');
# (user 2 lost an event, which may have ended a session)
is($node->safe_psql($db, q{
	SELECT count(*) FROM dbt_test.sessions_job s JOIN bridges b
	  ON b.user_id = s.user_id AND b.ts > s.session_start AND b.ts < s.last_event_at
	 WHERE b.user_id <> 2}),
	$node->safe_psql($db, 'SELECT count(*) FROM bridges WHERE user_id <> 2'),
	'every bridging event joined the sessions before and after it');
my $naive = differences('naive_incremental_sessions');
cmp_ok($naive, '>', 0, 'the naive is_incremental() max-timestamp model differs from the reference');
note("the naive model: $naive rows differ from the reference's "
	  . $node->safe_psql($db, 'SELECT count(*) FROM dbt_test.sessions_job'));

# 4b. other measures (--vars): the same job, altered, rebuilds with them
my $jm = $mjob{sessions_job_measures};
my @other_measures = ([ user_sum => 'sum(user_id)' ], [ exit_page => last_of('url') ]);
$out = dbt_ok('build with other measures', 'build', '--exclude-resource-type', 'seed',
	'--select', 'sessions_job_measures', '--vars', '{job_measures: "sum(user_id) AS user_sum, last(url) AS exit_page"}');
like($out, qr/sessionize: job $jm: new measures/, 'the new measures were set');
like($out, qr/sessionize: job $jm of \S+: full build/, 'the job rebuilt with them');
is(job_of('sessions_job_measures'), $jm, 'the same job keeps the model');
is(columns_of('sessions_job_measures'), "user_id,$fixed_columns,user_sum,exit_page",
	'the target has the new measure columns only');
is(measure_differences('sessions_job_measures', \@other_measures), '0',
	'with the new measures, the model equals its plain-SQL reference');

# 4c. the same measures written otherwise: no alter_job(), no rebuild; a
# new event is applied incrementally.  The comparison only reads the
# catalog, so the run takes no lock that a reader of the target waits for
# or makes wait: an open transaction that has read the target (ACCESS
# SHARE) does not hold it up (lock_timeout turns a wait into a failure).
my $attnums = attnums_of('sessions_job_measures');
$node->safe_psql($db, q{INSERT INTO dbt_test.events VALUES (5, '2026-03-05 10:00+00', '/checkout')});
my $reader = $node->background_psql($db);
$reader->query_safe('BEGIN; SELECT count(*) FROM dbt_test.sessions_job_measures');
{
	local $ENV{PGOPTIONS} = '-c lock_timeout=5s';
	$out = dbt_ok('build with the same measures written otherwise, while a transaction reads the target',
		'build', '--exclude-resource-type', 'seed', '--select', 'sessions_job_measures',
		'--vars', '{job_measures: "SUM( user_id )  as user_sum,LAST(url) AS \"exit_page\""}');
}
$reader->query_safe('COMMIT');
$reader->quit;
unlike($out, qr/lock timeout/, 'the run did not wait for the reader of the target');
unlike($out, qr/sessionize: job $jm: new measures/, 'the same measures are not set again');
like($out, qr/sessionize: job $jm of \S+: incremental, events \+1 /, 'the run was incremental');
is(attnums_of('sessions_job_measures'), $attnums, 'no column of the target was dropped or added');
is(measure_differences('sessions_job_measures', \@other_measures), '0',
	'the model still equals its plain-SQL reference');

# 4d. no measures: the measure columns go
$out = dbt_ok('build without measures', 'build', '--exclude-resource-type', 'seed',
	'--select', 'sessions_job_measures', '--vars', '{job_measures: ""}');
like($out, qr/sessionize: job $jm: no measures/, 'the measures were removed');
is(columns_of('sessions_job_measures'), "user_id,$fixed_columns", 'the target has no measure columns');
is($node->safe_psql($db, "SELECT count(*) FROM sessionize.job_measures WHERE job_id = $jm"), '0',
	'the job has no measures');
is(measure_differences('sessions_job_measures', []), '0', 'without measures, the model equals its reference');

# 4e. the model's own measures again
$out = dbt_ok('build with the measures back', 'build', '--exclude-resource-type', 'seed',
	'--select', 'sessions_job_measures');
like($out, qr/sessionize: job $jm: new measures/, 'the measures were set again');
is(job_of('sessions_job_measures'), $jm, 'the same job still keeps the model');
check_measure_jobs('with the measures back');

# 5. dbt seed --full-refresh drops and recreates the source, and the
# extension drops the job with it; the next build makes a new job that
# takes over the target (so views on it survive)
my $oid = $node->safe_psql($db, $target_oid);
my %moid = map { $_ => $node->safe_psql($db, "SELECT to_regclass('dbt_test.$_')::oid") } keys %measure_jobs;
dbt_ok('the seed is recreated', 'seed', '--full-refresh');
is($node->safe_psql($db, $job_of_model), '', 'dropping the source dropped the job');
# the job ids the build uses: one per new job, none for anything else (the
# measure columns' types are learnt with parse_measures(), not a job)
my $job_ids = q{SELECT last_value FROM pg_sequences
                WHERE (schemaname, sequencename) = (SELECT n.nspname, c.relname
                       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                       WHERE c.oid = pg_get_serial_sequence('sessionize.jobs', 'job_id')::regclass)};
my $ids_before = $node->safe_psql($db, $job_ids);
$out = dbt_ok('build after the source was recreated', 'build', '--exclude-resource-type', 'seed');
is($node->safe_psql($db, $job_ids) - $ids_before,
	$node->safe_psql($db, "SELECT count(*) FROM sessionize.jobs WHERE job_id > $ids_before"),
	'the build used a job id for each new job and for nothing else');
cmp_ok($node->safe_psql($db, "SELECT count(*) FROM sessionize.jobs WHERE job_id > $ids_before"),
	'>=', 1 + scalar(keys %measure_jobs), '(new jobs keep the job-backed models)');
like($out, qr/sessionize: job \d+ of \S+: full build/, 'a new job built the target');
my $job2 = $node->safe_psql($db, $job_of_model);
isnt($job2, '', 'a new job keeps the model');
isnt($job2, $job, 'it is not the old one');
is($node->safe_psql($db, $target_oid), $oid, 'the new job took over the existing target table');
check_models('after the source was recreated');
foreach my $model (sort keys %measure_jobs)
{
	my $new = job_of($model);
	ok($new ne '' && $new ne $mjob{$model}, "a new job keeps $model");
	is($node->safe_psql($db, "SELECT to_regclass('dbt_test.$model')::oid"), $moid{$model},
		"the new job took over the existing target of $model, measure columns included");
}
check_measure_jobs('after the sources were recreated');

# late events once more, through the new job
$node->safe_psql($db, q{
	INSERT INTO dbt_test.events (user_id, event_ts, url) SELECT user_id, ts, '/late-bridge' FROM bridges});
$out = dbt_ok('build after late events for the new job', 'build', '--exclude-resource-type', 'seed',
	'--select', 'sessions_job');
like($out, qr/sessionize: job $job2 of \S+: incremental/, 'the new job ran incrementally');
check_models('after late events for the new job', 'sessions_job');

# 6. another gap: the same job, altered, rebuilds with it (the generic
# tests, run by build, read the job's gap)
$out = dbt_ok('build with another gap', 'build', '--exclude-resource-type', 'seed', '--select', 'sessions_job',
	'--vars', '{sessions_job_gap: 3 hours}');
like($out, qr/sessionize: job $job2 of \S+: full build/, 'the job rebuilt with the new gap');
is($node->safe_psql($db, "SELECT gap FROM sessionize.jobs WHERE job_id = $job2"), '03:00:00',
	'the job has the new gap');
is($node->safe_psql($db, "SELECT count(*) FROM sessionize.verify($job2)"), '0',
	'with the new gap, verify() is clean');
cmp_ok(differences('sessions_job'), '>', 0, 'with the new gap, the sessions differ from the 30-minute reference');

# 7. --full-refresh re-creates the job and its target (the gap back at 30 minutes)
dbt_ok('full refresh', 'build', '--full-refresh', '--exclude-resource-type', 'seed', '--select', 'sessions_job');
my $job3 = $node->safe_psql($db, $job_of_model);
ok($job3 ne '' && $job3 ne $job2, '--full-refresh made a new job');
isnt($node->safe_psql($db, $target_oid), $oid, '--full-refresh made a new target table');
check_models('after --full-refresh', 'sessions_job');

$node->stop;
done_testing();
