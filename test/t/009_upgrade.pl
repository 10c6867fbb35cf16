# Copyright (c) 2026, the sessionize developers
#
# ALTER EXTENSION sessionize UPDATE from 0.1.0 gives what a fresh install of
# the current version has: the same objects, definitions, privileges,
# comments, event triggers (and whether they fire on replicas) and pg_dump
# configuration, with or without jobs; the jobs it converts have the change
# logs, capture triggers and catalog rows that create_job() of the current
# version makes.  And the background worker neither crashes nor spins on a
# 0.1.0 catalog: it waits, says why, and runs the jobs once updated.

use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('upgrade');
$node->init;
# (part 1 and 2 run their jobs themselves: the background worker stays off)
$node->append_conf('postgresql.conf', q{
shared_preload_libraries = 'sessionize'
sessionize.enabled = off
timezone = 'UTC'
});
$node->start;

my $version = $node->safe_psql('postgres',
	"SELECT default_version FROM pg_available_extensions WHERE name = 'sessionize'");

# "what it is": the same text from both databases, or a diff that says how
# they differ
sub same
{
	my ($got, $expected, $name) = @_;
	my $dir = PostgreSQL::Test::Utils::tempdir;
	if ($got eq $expected)
	{
		pass($name);
		return;
	}
	PostgreSQL::Test::Utils::append_to_file("$dir/expected", $expected);
	PostgreSQL::Test::Utils::append_to_file("$dir/got", $got);
	my ($diff) = run_command([ 'diff', '-u', "$dir/expected", "$dir/got" ]);
	fail($name);
	diag("fresh install (-) and updated (+) differ:\n$diff");
}

# pg_dump --binary-upgrade --schema-only dumps an extension's members one by
# one (as ALTER EXTENSION ... ADD), which a plain dump leaves out; OIDs,
# relfilenodes, transaction ids and pg_dump's random \restrict key differ
# between any two databases and are taken out.
my $no_statistics = (`pg_dump --help` =~ /--no-statistics/) ? '--no-statistics' : ();

sub extension_dump
{
	my ($dbname) = @_;
	my ($out, $err) = run_command(
		[ 'pg_dump', '--binary-upgrade', '--schema-only', $no_statistics // (),
		  '-d', $node->connstr($dbname) ]);
	die "pg_dump of $dbname failed: $err" if $out eq '';
	my @lines = grep {
		!/binary_upgrade_set_next|binary_upgrade_set_record_init_privs/
		  && !/^\\(un)?restrict /
		  && !/^SET relfrozenxid|^WHERE oid = '\d+'/
	} split /\n/, $out;
	s/'\{[\d,]*\}'/'{oids}'/ for @lines;
	return join("\n", @lines) . "\n";
}

# The catalog as the extension has it, object by object.
my %catalog_queries = (
	'members' => q{
		SELECT pg_describe_object(classid, objid, objsubid) FROM pg_depend
		WHERE refclassid = 'pg_extension'::regclass AND deptype = 'e'
		  AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'sessionize')
		ORDER BY 1},
	'functions, their ACLs, settings and comments' => q{
		SELECT p.oid::regprocedure, p.prokind, p.prosecdef, p.provolatile, p.proparallel,
		       p.proisstrict, p.proconfig, p.proacl, obj_description(p.oid, 'pg_proc'),
		       CASE WHEN p.prokind <> 'a' THEN md5(pg_get_functiondef(p.oid)) END
		FROM pg_proc p WHERE p.pronamespace = 'sessionize'::regnamespace
		ORDER BY p.oid::regprocedure::text COLLATE "C"},
	'event triggers and whether they fire' => q{
		SELECT evtname, evtevent, evtenabled, evttags, evtfoid::regprocedure,
		       obj_description(oid, 'pg_event_trigger')
		FROM pg_event_trigger ORDER BY evtname},
	'pg_dump configuration' => q{
		SELECT c.ord, c.tbl::regclass, e.extcondition[c.ord]
		FROM pg_extension e, unnest(e.extconfig) WITH ORDINALITY AS c(tbl, ord)
		WHERE e.extname = 'sessionize' ORDER BY c.ord},
	'relations, their ACLs and comments' => q{
		SELECT c.oid::regclass, c.relkind, c.relacl, obj_description(c.oid, 'pg_class')
		FROM pg_class c WHERE c.relnamespace = 'sessionize'::regnamespace
		ORDER BY c.oid::regclass::text COLLATE "C"},
	'triggers' => q{
		SELECT tgrelid::regclass, tgname, tgenabled, pg_get_triggerdef(oid)
		FROM pg_trigger WHERE NOT tgisinternal
		ORDER BY tgrelid::regclass::text COLLATE "C", tgname COLLATE "C"},
	'the extension' => q{
		SELECT extname, extowner::regrole, extnamespace::regnamespace, extrelocatable, extversion
		FROM pg_extension WHERE extname = 'sessionize'});

sub compare_catalogs
{
	my ($fresh, $updated, $label) = @_;
	foreach my $what (sort keys %catalog_queries)
	{
		same($node->safe_psql($updated, $catalog_queries{$what}),
			$node->safe_psql($fresh, $catalog_queries{$what}),
			"$label: $what");
	}
}

# =====================================================================
# 1. No jobs: the update makes what a fresh install makes.
# =====================================================================
$node->safe_psql('postgres', q{
	CREATE DATABASE fresh;
	CREATE DATABASE updated;
});
$node->safe_psql('fresh', 'CREATE EXTENSION sessionize');
$node->safe_psql('updated', q{
	CREATE EXTENSION sessionize VERSION '0.1.0';
	ALTER EXTENSION sessionize UPDATE;
});
is($node->safe_psql('updated', "SELECT extversion FROM pg_extension WHERE extname = 'sessionize'"),
	$version, "updated to the default version, $version");
same(extension_dump('updated'), extension_dump('fresh'),
	'schema-only dump of the extension\'s objects');
compare_catalogs('fresh', 'updated', 'no jobs');

# =====================================================================
# 2. Jobs: made by 0.1.0 (in the window before the update: this library,
#    0.1.0's catalog) and converted, or made by create_job() of the
#    current version; the same changes pending in both.
# =====================================================================
my $setup = q{
	SET timezone = 'UTC';
	CREATE TABLE ev (u text, ts timestamptz);
	CREATE TABLE pev (u int, ts timestamptz) PARTITION BY RANGE (ts);
	CREATE TABLE pev_jan PARTITION OF pev FOR VALUES FROM ('2026-01-01') TO ('2026-02-01');
	CREATE TABLE pev_feb PARTITION OF pev FOR VALUES FROM ('2026-02-01') TO ('2026-03-01') PARTITION BY HASH (u);
	CREATE TABLE pev_feb_0 PARTITION OF pev_feb FOR VALUES WITH (MODULUS 2, REMAINDER 0);
	CREATE TABLE pev_feb_1 PARTITION OF pev_feb FOR VALUES WITH (MODULUS 2, REMAINDER 1);
	GRANT SELECT, INSERT, DELETE, TRIGGER ON ev, pev TO job_owner;
	GRANT CREATE ON SCHEMA public TO job_owner;
	INSERT INTO ev SELECT 'user ' || i % 7, timestamptz '2026-01-01' + i * interval '4 minutes'
	FROM generate_series(1, 300) i;
	INSERT INTO pev SELECT i % 5, timestamptz '2026-01-31 12:00' + i * interval '6 minutes'
	FROM generate_series(1, 300) i;
	SET ROLE job_owner;
	SELECT sessionize.create_job('ev', 'u', 'ts', interval '10 minutes', allowed_lateness => interval '1 hour');
	SELECT sessionize.create_job('pev', 'u', 'ts', interval '20 minutes', schedule_interval => interval '1 minute');
	-- pending changes, through the parent (0.1.0 captured no other)
	INSERT INTO ev VALUES ('user 1', '2026-01-01 03:03'), ('user 9', '2026-01-02');
	DELETE FROM ev WHERE u = 'user 2' AND ts < '2026-01-01 05:00';
	INSERT INTO pev VALUES (1, '2026-01-31 23:59'), (2, '2026-02-01 00:01');
	DELETE FROM pev WHERE u = 3 AND ts > '2026-02-01 10:00';
	RESET ROLE;
};
$node->safe_psql('postgres', q{
	CREATE ROLE job_owner;
	CREATE DATABASE jobs_fresh;
	CREATE DATABASE jobs_updated;
});
$node->safe_psql('jobs_fresh', "CREATE EXTENSION sessionize; $setup");
$node->safe_psql('jobs_updated', "CREATE EXTENSION sessionize VERSION '0.1.0'; $setup");
$node->safe_psql('jobs_updated', 'ALTER EXTENSION sessionize UPDATE');

compare_catalogs('jobs_fresh', 'jobs_updated', 'jobs');
# the logs are no members of the extension: a plain dump has them
my $logs_dump = sub {
	my ($dbname) = @_;
	my ($out) = run_command([ 'pg_dump', '--schema-only', '--schema=sessionize',
							  '-d', $node->connstr($dbname) ]);
	return join("\n", grep { !/^\\(un)?restrict / } split /\n/, $out) . "\n";
};
my $fresh_logs = $logs_dump->('jobs_fresh');
like($fresh_logs, qr/CREATE TABLE sessionize\.job_1_log/, 'jobs: a plain dump has the change logs');
same($logs_dump->('jobs_updated'), $fresh_logs,
	'jobs: the change logs (columns, owner, grants, comments)');
my %job_queries = (
	'jobs' => q{
		SELECT job_id, source, user_column, time_column, user_type, target_user_column, gap, target,
		       allowed_lateness, schedule_interval, owner, active, notify_channel
		FROM sessionize.jobs ORDER BY job_id},
	'job_relations' => 'SELECT job_id, rel FROM sessionize.job_relations ORDER BY 1, 2::text',
	# (create_job() of 0.2.0 on a source with rows also logs rebuilds, 't':
	# the DDL event trigger sees its ALTER TABLE ... ENABLE TRIGGER; the
	# first run is a full build anyway)
	'pending entries' => q{
		SELECT 1, kind, u::text, lo, hi, n, late, gap FROM sessionize.job_1_log WHERE kind <> 't'
		UNION ALL SELECT 2, kind, u::text, lo, hi, n, late, gap FROM sessionize.job_2_log WHERE kind <> 't'
		ORDER BY 1, 2, 3, 4});
foreach my $what (sort keys %job_queries)
{
	same($node->safe_psql('jobs_updated', $job_queries{$what}),
		$node->safe_psql('jobs_fresh', $job_queries{$what}), "jobs: $what");
}

# and the jobs run alike
foreach my $db ('jobs_fresh', 'jobs_updated')
{
	$node->safe_psql($db, q{
		SELECT sessionize.run_job(1), sessionize.run_job(2);
		INSERT INTO pev_jan VALUES (4, '2026-01-31 12:01');
		INSERT INTO ev VALUES ('user 3', '2026-01-01 00:01');
		SELECT sessionize.run_job(1), sessionize.run_job(2);
	});
	is($node->safe_psql($db,
			'SELECT count(*) FROM sessionize.verify(1) UNION ALL SELECT count(*) FROM sessionize.verify(2)'),
		"0\n0", "$db: the jobs equal a recomputation");
}
same($node->safe_psql('jobs_updated', 'TABLE pev_sessions ORDER BY 1, 2'),
	$node->safe_psql('jobs_fresh', 'TABLE pev_sessions ORDER BY 1, 2'), 'jobs: the same sessions');

# For part 3: a template (which the background worker leaves alone) of a
# database with sessionize 0.1.0 and a job with a change pending.
$node->safe_psql('postgres', 'CREATE DATABASE window_template');
$node->safe_psql('window_template', q{
	CREATE EXTENSION sessionize VERSION '0.1.0';
	CREATE TABLE ev (u int, ts timestamptz);
	INSERT INTO ev SELECT i % 3, timestamptz '2026-01-01' + i * interval '5 minutes' FROM generate_series(1, 50) i;
	SELECT sessionize.create_job('ev', 'u', 'ts', interval '10 minutes', schedule_interval => interval '1 second');
	INSERT INTO ev VALUES (1, '2026-01-01 12:00');
});
$node->safe_psql('postgres', 'ALTER DATABASE window_template IS_TEMPLATE true');
$node->stop;

# =====================================================================
# 3. The background worker on a 0.1.0 catalog (new binaries, no update
#    yet): it says why it runs nothing, does not spin, and runs the job
#    once the database is updated.
# =====================================================================
$node->append_conf('postgresql.conf', q{
sessionize.enabled = on
sessionize.naptime = '200ms'
});
$node->start;
$node->safe_psql('postgres', 'CREATE DATABASE window_db TEMPLATE window_template');
my $waiting = qr/catalog of database "window_db" is that of version 0\.1\.0; its jobs do not run/;
ok($node->wait_for_log($waiting), 'the scheduler says why it runs no job');
sleep(3);
my $said = () = slurp_file($node->logfile) =~ /$waiting/g;
ok($said <= 2, "and does not spin (said so $said times in 3 s)");
is($node->safe_psql('window_db', 'SELECT count(*) FROM ev_sessions'), '0', 'it ran nothing');
$node->safe_psql('window_db', 'ALTER EXTENSION sessionize UPDATE');
ok($node->poll_query_until('window_db', q{
		SELECT total_runs > 0 AND pending_events = 0 AND NOT pending_rebuild
		FROM sessionize.job_status WHERE job_id = 1}),
	'after the update, the worker runs the job');
is($node->safe_psql('window_db', 'SELECT count(*) FROM sessionize.verify(1)'), '0',
	'and its target equals a recomputation');
is($node->safe_psql('window_db', 'SELECT sum(event_count) FROM ev_sessions'), '51',
	'every event counted once');

$node->stop;
done_testing();
