# A model is an ordinary bytea value, so streaming replication carries it:
# a hot standby serves exactly what the primary serves.  Training is a
# read-only aggregate, so it runs on a standby too; storing its result there
# fails like any other write.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 1);
$primary->start;
$primary->backup('backup');

my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'backup', has_streaming => 1);
$standby->start;

# Everything after the backup reaches the standby through WAL: the
# extension, the data, the models (one stored out of line, one in line).
$primary->safe_psql(
	'postgres', q{
CREATE EXTENSION recsys;
CREATE TABLE ratings (u bigint NOT NULL, i bigint NOT NULL, v real NOT NULL);
INSERT INTO ratings
SELECT u, i,
       (3 + sin(u * 0.3) * cos(i * 0.2)
          + ((hashint8(u * 7919 + i) & 255) / 255.0 - 0.5) * 0.5)::real
FROM generate_series(1, 300) AS u, generate_series(1, 200) AS i
WHERE (hashint8(u * 1000 + i) & 3) = 0;
CREATE TABLE models (name text PRIMARY KEY, model bytea NOT NULL);
INSERT INTO models
SELECT 'als', recsys.train_als(u, i, v, '{"factors": 16, "iterations": 10}') FROM ratings;
INSERT INTO models
SELECT 'bpr', recsys.train_bpr(u, i, '{"factors": 8, "epochs": 5}') FROM ratings WHERE v > 3;
INSERT INTO models
SELECT 'small', recsys.train_als(u, i, v, '{"factors": 2, "iterations": 3}')
FROM ratings WHERE u <= 8 AND i <= 6;
});
$primary->wait_for_catchup($standby);

is($standby->safe_psql('postgres', 'SELECT pg_is_in_recovery()'),
	't', 'the standby is in recovery');

# What a reader sees of each model: its bytes, predictions over pairs
# (known and unknown ids), the top-10 lists of several users with scores.
# float8 output is exact, so equal text means equal values.
my %queries = (
	bytes => q{SELECT string_agg(name || ':' || md5(model), ',' ORDER BY name) FROM models},
	info => q{SELECT string_agg(name || ':' || (recsys.model_info(model) - 'training_seconds'
	                                             - 'created_at')::text, E'\n' ORDER BY name) FROM models},
	predictions => q{
SELECT string_agg(name || ':' || u || ':' || i || ':' || coalesce(recsys.predict(model, u, i)::text, 'null'),
                  ',' ORDER BY name, u, i)
FROM models, generate_series(1, 305, 13) AS u, generate_series(1, 205, 17) AS i},
	recommendations => q{
SELECT string_agg(name || ':' || u || ':' || r.item_id || ':' || r.score, ',' ORDER BY name, u, r.ord)
FROM models, generate_series(1, 300, 37) AS u,
     LATERAL recsys.recommend(model, u, 10) WITH ORDINALITY AS r(item_id, score, ord)},);

for my $what (sort keys %queries)
{
	my $on_primary = $primary->safe_psql('postgres', $queries{$what});
	my $on_standby = $standby->safe_psql('postgres', $queries{$what});
	isnt($on_primary, '', "the primary answers ($what)");
	is($on_standby, $on_primary, "the standby's $what are the primary's");
}
my $listed = $standby->safe_psql('postgres',
	q{SELECT count(*) FROM models, generate_series(1, 300, 37) AS u,
	  LATERAL recsys.recommend(model, u, 10)});
cmp_ok($listed, '>=', 2 * 9 * 10,
	"the standby recommends full lists from the large models ($listed rows)");

# A model replaced on the primary: the standby serves the new one once it
# has replayed the change.
my $old = $standby->safe_psql('postgres',
	"SELECT recsys.model_info(model)->>'model_id' FROM models WHERE name = 'als'");
$primary->safe_psql('postgres',
	q{UPDATE models SET model = (SELECT recsys.train_als(u, i, v, '{"factors": 16, "iterations": 10, "seed": 7}') FROM ratings)
	  WHERE name = 'als'});
$primary->wait_for_catchup($standby);
my $new = $primary->safe_psql('postgres',
	"SELECT recsys.model_info(model)->>'model_id' FROM models WHERE name = 'als'");
isnt($new, $old, 'the primary has a new model');
is( $standby->safe_psql(
		'postgres',
		"SELECT recsys.model_info(model)->>'model_id' FROM models WHERE name = 'als'"),
	$new,
	'after replay, the standby serves the new model');
is( $standby->safe_psql('postgres', $queries{predictions}),
	$primary->safe_psql('postgres', $queries{predictions}),
	"after replay, the standby's predictions are the primary's");

# Training on the standby: the aggregate only reads.  One thread and a seed
# make training reproducible, so the standby's model answers exactly like
# the same training on the primary.
my $train = q{SELECT recsys.train_als(u, i, v, '{"factors": 8, "iterations": 5, "threads": 1, "seed": 3}') FROM ratings};
my $use = qq{
WITH s(m) AS MATERIALIZED ($train)
SELECT (SELECT string_agg(coalesce(recsys.predict(m, u, i)::text, 'null'), ',' ORDER BY u, i)
        FROM generate_series(1, 300, 29) AS u, generate_series(1, 200, 31) AS i)
       || '/' || (SELECT string_agg(item_id::text, ',') FROM recsys.recommend(m, 5, 5))
FROM s};
my ($ret, $stdout, $stderr) = $standby->psql('postgres', $use);
is($ret, 0, 'training on the standby succeeds');
is($stderr, '', 'training on the standby raises nothing');
like($stdout, qr/^[0-9.e+-]+(,[0-9.e+-]+)+\/\d+(,\d+){4}$/,
	'the model trained on the standby predicts and recommends there');
is($stdout, $primary->safe_psql('postgres', $use),
	"the standby's model answers like the primary's from the same training");
like( $standby->safe_psql('postgres', "SELECT recsys.model_info(m)->>'algorithm' FROM ($train) s(m)"),
	qr/^als$/, 'model_info describes the model trained on the standby');

# Storing a model on the standby fails as any write does there: SQLSTATE
# 25006 (read_only_sql_transaction).
for my $write (
	"INSERT INTO models SELECT 'standby', m FROM ($train) s(m)",
	"UPDATE models SET model = ($train) WHERE name = 'als'",
	"CREATE TABLE standby_models AS SELECT m FROM ($train) s(m)")
{
	($ret, $stdout, $stderr) =
	  $standby->psql('postgres', "\\set VERBOSITY sqlstate\n$write");
	isnt($ret, 0, 'writing a model on the standby fails: ' . substr($write, 0, 30));
	like($stderr, qr/ERROR:\s+25006/,
		'... with SQLSTATE 25006: ' . substr($write, 0, 30));
}
is($standby->safe_psql('postgres', 'SELECT count(*) FROM models'),
	3, 'the standby still has the three models');

$standby->stop;
$primary->stop;
for my $node ($primary, $standby)
{
	unlike(
		slurp_file($node->logfile),
		qr/terminated by signal|was terminated|PANIC|TRAP/,
		'no server process crashed on the ' . $node->name);
}

done_testing();
