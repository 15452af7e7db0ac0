# ALTER EXTENSION recsys UPDATE from every released version: the updated
# extension must have exactly the objects, signatures, properties and
# comments of a fresh install of the current version (its full script,
# sql/recsys--<version>.sql), and models stored before the update must give
# the same answers after it.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('upgrade');
$node->init;
$node->start;

my $current = $node->safe_psql('postgres',
	"SELECT default_version FROM pg_available_extensions WHERE name = 'recsys'");
my @released = grep { $_ ne $current } split /\n/,
  $node->safe_psql('postgres',
	"SELECT version FROM pg_available_extension_versions WHERE name = 'recsys' ORDER BY version");
ok(scalar(@released) >= 2, "released versions before $current: @released");

# Everything that makes up the extension as the catalogs describe it: each
# member's identity, the properties of functions and aggregates, comments.
my $describe = q{
SELECT string_agg(line, E'\n' ORDER BY line) FROM (
  SELECT pg_describe_object(d.classid, d.objid, 0)
         || coalesce(' | ' || p.prokind::text || p.provolatile::text || p.proparallel::text
                     || p.proisstrict::text || p.prosecdef::text || ' cost ' || p.procost
                     || ' rows ' || p.prorows || ' support ' || p.prosupport::regproc::text
                     || ' ' || coalesce(pg_get_function_result(p.oid), ''), '')
         || coalesce(' | ' || a.aggtransfn::text || ' ' || a.aggfinalfn::text || ' '
                     || a.aggcombinefn::text || ' ' || a.aggserialfn::text || ' '
                     || a.aggdeserialfn::text || ' ' || a.aggfinalmodify::text, '')
         || ' | ' || coalesce(obj_description(d.objid, c.relname), '(no comment)') AS line
  FROM pg_depend d
  JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'recsys'
  JOIN pg_class c ON c.oid = d.classid
  LEFT JOIN pg_proc p ON d.classid = 'pg_proc'::regclass AND p.oid = d.objid
  LEFT JOIN pg_aggregate a ON d.classid = 'pg_proc'::regclass AND a.aggfnoid = d.objid
  WHERE d.deptype = 'e'
) s};

$node->safe_psql('postgres', 'CREATE DATABASE fresh');
$node->safe_psql('fresh', 'CREATE EXTENSION recsys');
my $fresh = $node->safe_psql('fresh', $describe);
like($fresh, qr/train_ease/, 'a fresh install has the current functions');

# Ratings from the ids alone, so every database holds the same rows.
my $ratings = q{
CREATE TABLE ratings AS
SELECT u::bigint AS u, i::bigint AS i, (1 + (u * 7 + i * 3) % 5)::real AS v
FROM generate_series(1, 60) u, generate_series(1, 40) i
WHERE (u * 13 + i * 7) % 5 = 0};
my $answers = q{
SELECT string_agg(u || ' ' || i || ' ' || recsys.predict(m.model, u, i), ',' ORDER BY u, i)
       || ' / ' || (SELECT string_agg(item_id::text, ',' ORDER BY score DESC, item_id)
                    FROM models m2, recsys.recommend(m2.model, 7, 5))
FROM models m, generate_series(1, 61, 5) u, generate_series(1, 41, 4) i};

for my $version (@released)
{
	my $db = 'from_' . ($version =~ s/\./_/gr);
	$node->safe_psql('postgres', "CREATE DATABASE $db");
	$node->safe_psql($db, "CREATE EXTENSION recsys VERSION '$version'");
	is($node->safe_psql($db, "SELECT extversion FROM pg_extension WHERE extname = 'recsys'"),
		$version, "$version installs");

	# a model stored under the old version (train_als exists in every one)
	$node->safe_psql($db, $ratings);
	$node->safe_psql($db,
		"CREATE TABLE models AS SELECT recsys.train_als(u, i, v, '{\"factors\": 4, \"seed\": 3}') AS model FROM ratings"
	);
	my $before = $node->safe_psql($db, $answers);

	$node->safe_psql($db, 'ALTER EXTENSION recsys UPDATE');
	is($node->safe_psql($db, "SELECT extversion FROM pg_extension WHERE extname = 'recsys'"),
		$current, "$version updates to $current");
	is($node->safe_psql($db, $describe), $fresh,
		"$version updated has the objects, properties and comments of a fresh $current");
	is($node->safe_psql($db, $answers), $before,
		"a model stored under $version answers the same after the update");

	# the functions the update added work on the old data and the old model
	is( $node->safe_psql(
			$db,
			"SELECT count(*) FROM recsys.recommend((SELECT recsys.train_ease(u, i) FROM ratings), 7, 3)"
		),
		'3',
		"train_ease, added after $version, works after the update");
	is( $node->safe_psql(
			$db,
			q{SELECT users FROM models, recsys.evaluate(model, '{7, 8, 9}', '{1, 2, 3}')}),
		'3',
		"evaluate, added after $version, scores a model stored under $version");
}

$node->stop;
done_testing();
