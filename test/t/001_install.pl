# Copyright (c) 2026, the sessionize developers
#
# The extension installs and its functions work whether or not the library
# is in shared_preload_libraries.

use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $query = q{
SELECT string_agg(session_id::text, ',' ORDER BY t)
FROM (SELECT t, sessionize.session_id(t, 10::bigint) OVER (ORDER BY t) AS session_id
      FROM unnest(ARRAY[0, 5, 15, 26, 36, 60]::bigint[]) t) q};

foreach my $preload (0, 1)
{
	my $node = PostgreSQL::Test::Cluster->new($preload ? 'preloaded' : 'plain');
	$node->init;
	# (this test runs its jobs itself: the background worker stays off)
	$node->append_conf('postgresql.conf',
		"shared_preload_libraries = 'sessionize'\nsessionize.enabled = off")
	  if $preload;
	$node->start;

	my $label = $preload ? 'preloaded' : 'not preloaded';
	is($node->safe_psql('postgres', 'SHOW shared_preload_libraries'),
		$preload ? 'sessionize' : '', "library $label");

	$node->safe_psql('postgres', 'CREATE EXTENSION sessionize');
	is($node->safe_psql('postgres',
			"SELECT extversion FROM pg_extension WHERE extname = 'sessionize'"),
		'0.2.0', "extension installs ($label)");

	# the README's worked example (Semantics): 0, 5, 15 | 26, 36 | 60
	is($node->safe_psql('postgres', $query), '1,1,1,2,2,3',
		"window function works ($label)");

	# a job works end to end
	$node->safe_psql('postgres', q{
		CREATE TABLE ev (u int, ts timestamptz);
		INSERT INTO ev SELECT 1, timestamptz '2026-01-01' + m * interval '1 minute'
		FROM unnest(ARRAY[0, 5, 15, 26, 36, 60]) m;
		SELECT sessionize.create_job('ev', 'u', 'ts', interval '10 minutes');
		SELECT sessionize.run_job(1);
		INSERT INTO ev VALUES (1, '2026-01-01 00:20');
		SELECT sessionize.run_job(1);
	});
	is($node->safe_psql('postgres', 'SELECT count(*) FROM ev_sessions'), '2',
		"job merges a bridging event ($label)");
	is($node->safe_psql('postgres', 'SELECT count(*) FROM sessionize.verify(1)'), '0',
		"job target equals recomputation ($label)");

	# a long full build reports its progress, a NOTICE per million rows
	if ($preload)
	{
		$node->safe_psql('postgres', q{
			CREATE TABLE big (u int, ts timestamptz);
			INSERT INTO big SELECT i % 1000, timestamptz '2026-01-01' + i * interval '1 second'
			FROM generate_series(1, 1000001) i;
			SELECT sessionize.create_job('big', 'u', 'ts', interval '10 minutes');
		});
		my ($stdout, $stderr);
		$node->psql('postgres', 'SELECT sessionize.run_job(2)',
			stdout => \$stdout, stderr => \$stderr);
		like($stderr, qr/NOTICE:  job 2: 1000000 rows of big read/,
			'full build reports progress');
		is($node->safe_psql('postgres', 'SELECT count(*) FROM sessionize.verify(2)'), '0',
			'full build of a million rows is exact');
	}

	$node->stop;
}

done_testing();
