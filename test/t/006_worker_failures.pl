# Copyright (c) 2026, the sessionize developers
#
# One bad job never stops the others, and a job runs with its owner's
# rights, not the worker's: a job of a NOLOGIN, non-superuser role runs as
# that role (a trigger on its target records who wrote), and fails with
# SQLSTATE 42501 in last_error when the role loses SELECT on the source; a
# job whose source lost its time column fails with 42703.  Both are
# retried with exponential backoff and recorded in the history, while a
# healthy job in the same database keeps up; repaired, they catch up.

use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('failures');
$node->init;
$node->append_conf('postgresql.conf', q{
shared_preload_libraries = 'sessionize'
sessionize.naptime = '200ms'
sessionize.max_retry_backoff = '4s'
timezone = 'UTC'
});
$node->start;

$node->safe_psql('postgres', q{
	CREATE EXTENSION sessionize;
	CREATE ROLE alice NOLOGIN;
	CREATE SCHEMA a AUTHORIZATION alice;

	-- the healthy job, the superuser's
	CREATE TABLE good (u int, ts timestamptz);
	SELECT sessionize.create_job('good', 'u', 'ts', interval '5 minutes',
	                             schedule_interval => interval '1 second');

	-- alice's job over a table she may read, with a target whose trigger
	-- records which role writes it
	CREATE TABLE shared_ev (u int, ts timestamptz);
	INSERT INTO shared_ev SELECT i % 5, timestamptz '2026-01-01' + i * interval '1 minute'
	FROM generate_series(1, 100) i;
	GRANT SELECT, TRIGGER ON shared_ev TO alice;
	SET ROLE alice;
	CREATE TABLE a.writers (who name, at timestamptz DEFAULT clock_timestamp());
	BEGIN;
	SELECT sessionize.create_job('shared_ev', 'u', 'ts', interval '5 minutes', target => 'a.sessions',
	                             schedule_interval => interval '1 second');
	CREATE FUNCTION a.note_writer() RETURNS trigger LANGUAGE plpgsql
	AS $$ BEGIN INSERT INTO a.writers (who) VALUES (current_user); RETURN NULL; END $$;
	CREATE TRIGGER note_writer AFTER INSERT OR UPDATE OR DELETE ON a.sessions
	FOR EACH STATEMENT EXECUTE FUNCTION a.note_writer();
	COMMIT;
	RESET ROLE;

	-- a job whose source will lose its time column
	CREATE TABLE doomed (u int, ts timestamptz);
	INSERT INTO doomed VALUES (1, '2026-01-01');
	SELECT sessionize.create_job('doomed', 'u', 'ts', interval '5 minutes',
	                             schedule_interval => interval '1 second');
});

sub caught_up
{
	my ($job) = @_;
	return $node->poll_query_until('postgres', qq{
		SELECT total_runs > 0 AND pending_events = 0 AND NOT pending_rebuild AND last_error IS NULL
		FROM sessionize.job_status WHERE job_id = $job});
}

ok(caught_up(2), "the NOLOGIN role's job was built");
is($node->safe_psql('postgres', 'SELECT count(*) FROM sessionize.verify(2)'), '0', 'exactly');
is($node->safe_psql('postgres', 'SELECT string_agg(DISTINCT who, \',\') FROM a.writers'), 'alice',
	'the worker wrote the target as the job owner');

# alice loses SELECT; writes go on; her job fails with 42501, with backoff.
$node->safe_psql('postgres', q{
	REVOKE SELECT ON shared_ev FROM alice;
	INSERT INTO shared_ev VALUES (1, '2026-01-02');
});
ok($node->poll_query_until('postgres', q{
	SELECT consecutive_failures >= 2 FROM sessionize.job_status WHERE job_id = 2}),
	'her job fails, and is tried again');
is($node->safe_psql('postgres', q{
	SELECT last_error, total_failures >= 2,
	       next_start - last_error_at = least(interval '1 second' * 2 ^ consecutive_failures,
	                                          interval '4 seconds')
	FROM sessionize.job_status WHERE job_id = 2}),
	'42501: permission denied for table shared_ev|t|t',
	'42501 in last_error; the next try waits schedule_interval * 2^failures, capped');
is($node->safe_psql('postgres', q{
	SELECT DISTINCT status || ': ' || message FROM sessionize.job_run_details
	WHERE job_id = 2 AND status <> 'succeeded'}),
	'failed: 42501: permission denied for table shared_ev', 'the failures are in the history');
ok($node->log_contains('LOG:  sessionize job 2 failed: 42501: permission denied for table shared_ev'),
	'and in the server log');

# The doomed job loses its time column: 42703, with backoff too.
$node->safe_psql('postgres', 'ALTER TABLE doomed DROP COLUMN ts');
ok($node->poll_query_until('postgres', q{
	SELECT last_error LIKE '42703: column "ts" of relation public.doomed does not exist'
	       AND consecutive_failures >= 2
	FROM sessionize.job_status WHERE job_id = 3}),
	'a job whose source lost a column fails with 42703, again and again');

# Meanwhile the healthy job keeps up, run after run.
foreach my $i (1 .. 5)
{
	$node->safe_psql('postgres', qq{
		INSERT INTO good SELECT g % 7, timestamptz '2026-01-01' + ($i * 1000 + g) * interval '10 seconds'
		FROM generate_series(1, 200) g});
	ok(caught_up(1), "the healthy job keeps up ($i)");
}
is($node->safe_psql('postgres', 'SELECT count(*) FROM sessionize.verify(1)'), '0', 'exactly');
is($node->safe_psql('postgres', q{
	SELECT total_failures FROM sessionize.job_status WHERE job_id = 1}), '0', 'with no failure');

# Repaired, both catch up; the errors are cleared.
$node->safe_psql('postgres', q{
	GRANT SELECT ON shared_ev TO alice;
	ALTER TABLE doomed ADD COLUMN ts timestamptz;
	INSERT INTO doomed VALUES (2, '2026-01-03');
});
ok(caught_up(2), "alice's job recovers");
ok(caught_up(3), 'the repaired job recovers');
is($node->safe_psql('postgres',
		'SELECT (SELECT count(*) FROM sessionize.verify(2)) + (SELECT count(*) FROM sessionize.verify(3))'),
	'0', 'both exact');
is($node->safe_psql('postgres', q{
	SELECT consecutive_failures, last_error IS NULL FROM sessionize.job_status WHERE job_id = 2}),
	'0|t', 'consecutive failures reset');
is($node->safe_psql('postgres', 'SELECT string_agg(DISTINCT who, \',\') FROM a.writers'), 'alice',
	'only ever as alice');

$node->stop;
done_testing();
