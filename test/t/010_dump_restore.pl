# Models are ordinary bytea values, so pg_dump carries them: a database with
# the extension, its data and a table of models of every kind, dumped in the
# custom format and restored into a new database, has the same extension
# version, byte-identical models and identical answers.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('dump');
$node->init;
$node->start;
my $bindir = $node->config_data('--bindir');

$node->safe_psql('postgres', 'CREATE DATABASE source');
$node->safe_psql(
	'source', q{
CREATE EXTENSION recsys;
CREATE TABLE ratings (u bigint NOT NULL, i bigint NOT NULL, v real NOT NULL);
INSERT INTO ratings
SELECT u, i,
       (3 + sin(u * 0.3) * cos(i * 0.2)
          + ((hashint8(u * 7919 + i) & 255) / 255.0 - 0.5) * 0.5)::real
FROM generate_series(1, 200) AS u, generate_series(1, 150) AS i
WHERE (hashint8(u * 1000 + i) & 3) = 0;
CREATE TABLE examples (features real[] NOT NULL, label real NOT NULL);
INSERT INTO examples
SELECT ARRAY[sin(g * 0.1), cos(g * 0.3), (g % 7) / 7.0]::real[],
       (sin(g * 0.1) + cos(g * 0.3) > 0)::int
FROM generate_series(1, 500) AS g;
CREATE TABLE models (name text PRIMARY KEY, model bytea NOT NULL);
INSERT INTO models
SELECT 'als', recsys.train_als(u, i, v, '{"factors": 16, "iterations": 5}') FROM ratings
UNION ALL
SELECT 'implicit', recsys.train_als(u, i, 1, '{"feedback": "implicit", "factors": 8, "iterations": 5}')
FROM ratings WHERE v > 3
UNION ALL
SELECT 'bpr', recsys.train_bpr(u, i, '{"factors": 8, "epochs": 3}') FROM ratings WHERE v > 3
UNION ALL
SELECT 'knn', recsys.train_knn(u, i, v, '{"neighbors": 20}') FROM ratings
UNION ALL
SELECT 'ease', recsys.train_ease(u, i) FROM ratings WHERE v > 3
UNION ALL
SELECT 'ncf', recsys.train_ncf(u, i, '{"factors": 4, "epochs": 1}') FROM ratings WHERE v > 3
UNION ALL
SELECT 'mlp', recsys.train_mlp(features, label, '{"hidden": [8], "epochs": 3}') FROM examples
UNION ALL
SELECT 'small', recsys.train_als(u, i, v, '{"factors": 2, "iterations": 3}')
FROM ratings WHERE u <= 8 AND i <= 6;
});

# What the models are and what they answer; float8 output is exact, so
# equal text means equal values.
my %queries = (
	version => q{SELECT extversion FROM pg_extension WHERE extname = 'recsys'},
	bytes =>
	  q{SELECT string_agg(name || ':' || length(model) || ':' || md5(model), ',' ORDER BY name) FROM models},
	info => q{SELECT string_agg(name || ':' || recsys.model_info(model)::text, E'\n' ORDER BY name) FROM models},
	predictions => q{
SELECT string_agg(name || ':' || u || ':' || i || ':' || coalesce(recsys.predict(model, u, i)::text, 'null'),
                  ',' ORDER BY name, u, i)
FROM models, generate_series(1, 205, 11) AS u, generate_series(1, 155, 13) AS i
WHERE name <> 'mlp'},
	recommendations => q{
SELECT string_agg(name || ':' || u || ':' || r.item_id || ':' || r.score, ',' ORDER BY name, u, r.ord)
FROM models, generate_series(1, 200, 23) AS u,
     LATERAL recsys.recommend(model, u, 10) WITH ORDINALITY AS r(item_id, score, ord)
WHERE name <> 'mlp'},
	features => q{
SELECT string_agg(recsys.predict(model, features)::text, ',' ORDER BY label, features)
FROM models, (SELECT * FROM examples LIMIT 50) e WHERE name = 'mlp'},);

my %before;
for my $what (sort keys %queries)
{
	$before{$what} = $node->safe_psql('source', $queries{$what});
	isnt($before{$what}, '', "the source database answers ($what)");
}
is(scalar(split /,/, $before{bytes}), 8, 'the source holds eight models');
like($before{info}, qr/"algorithm": "$_"/, "a model of kind $_ is dumped")
  for qw(als implicit_als bpr knn ease ncf mlp);

my $dump = $node->basedir . '/source.dump';
$node->command_ok(
	[ "$bindir/pg_dump", '-Fc', '-f', $dump, '-d', $node->connstr('source') ],
	'pg_dump -Fc dumps the database');
$node->safe_psql('postgres', 'CREATE DATABASE restored');
$node->command_ok(
	[
		"$bindir/pg_restore", '--exit-on-error', '-d',
		$node->connstr('restored'), $dump
	],
	'pg_restore restores it into a new database');

# The restored models are values read back from the dump, decoded afresh in
# new sessions.
for my $what (sort keys %queries)
{
	is($node->safe_psql('restored', $queries{$what}),
		$before{$what}, "the restored database's $what are the source's");
}

# The restored extension is the extension, not loose objects: its members
# are the source's.
my $members = q{
SELECT string_agg(pg_describe_object(classid, objid, objsubid), E'\n' ORDER BY 1)
FROM pg_depend
WHERE refclassid = 'pg_extension'::regclass AND deptype = 'e'
  AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'recsys')};
my $source_members = $node->safe_psql('source', $members);
like($source_members, qr/function recsys\.predict/, 'the source extension has members');
is($node->safe_psql('restored', $members),
	$source_members, 'the restored extension has the same members');

# The restored database trains too, and its new model serves.
like( $node->safe_psql(
		'restored', q{
SELECT recsys.predict(m, 3, 4) FROM (SELECT recsys.train_als(u, i, v, '{"factors": 4, "iterations": 2}') FROM ratings) s(m)}
	),
	qr/^[0-9.]+(e[+-]\d+)?$/,
	'the restored database trains and serves a new model');

$node->stop;
unlike(
	slurp_file($node->logfile),
	qr/terminated by signal|was terminated|PANIC|TRAP/,
	'no server process crashed');

done_testing();
