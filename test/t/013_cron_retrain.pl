# Scheduled retraining with pg_cron, as README's recipe does it: a job
# retrains a model and swaps it in with INSERT ... ON CONFLICT DO UPDATE,
# keeping the previous version in a history table for rollback, while a
# reader keeps serving.  pg_cron runs a job at most once a minute, so the
# test waits for the first run.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('cron');
$node->init;
$node->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'pg_cron'
cron.database_name = 'postgres'
# jobs run in background workers: the test's server listens on no TCP port
cron.use_background_workers = on
max_worker_processes = 16
});
$node->start;

$node->safe_psql('postgres', 'CREATE EXTENSION pg_cron');
$node->safe_psql('postgres', 'CREATE EXTENSION recsys');
$node->safe_psql(
	'postgres', q{
CREATE TABLE ratings AS
SELECT u::bigint AS user_id, (u % 4 * 10 + (u * 7 + j * 3) % 10)::bigint AS item_id,
       (1 + (u + j) % 5)::real AS rating
FROM generate_series(1, 200) u, generate_series(1, 8) j;
CREATE TABLE models (
    name text PRIMARY KEY,
    model bytea NOT NULL,
    trained_at timestamptz NOT NULL DEFAULT now());
ALTER TABLE models ALTER COLUMN model SET STORAGE EXTERNAL;
CREATE TABLE model_history (
    name text NOT NULL,
    model bytea NOT NULL,
    trained_at timestamptz NOT NULL,
    replaced_at timestamptz NOT NULL DEFAULT now());
INSERT INTO models (name, model)
SELECT 'movies', recsys.train_als(user_id, item_id, rating, '{"factors": 8, "seed": 1}') FROM ratings;
});
my $first_id = $node->safe_psql('postgres',
	"SELECT recsys.model_info(model) ->> 'model_id' FROM models WHERE name = 'movies'");

# The recipe: the old version goes to the history, the new one replaces it,
# in one transaction (a cron job's command runs as one).
my $retrain = q{
WITH old AS (
    INSERT INTO model_history (name, model, trained_at)
    SELECT name, model, trained_at FROM models WHERE name = 'movies')
INSERT INTO models (name, model)
SELECT 'movies', recsys.train_als(user_id, item_id, rating, '{"factors": 8, "seed": 2}')
FROM ratings
ON CONFLICT (name) DO UPDATE SET model = excluded.model, trained_at = now()};
$node->safe_psql('postgres',
	"SELECT cron.schedule('retrain-movies', '* * * * *', \$job\$$retrain\$job\$)");

# The same as one call of recsys.retrain, which also evaluates the new
# model on held-out pairs and numbers the versions in its history table.
$node->safe_psql(
	'postgres', q{
CREATE TABLE retrain_history (name text, version int, model bytea, trained_at timestamptz,
                              info jsonb, PRIMARY KEY (name, version));
SELECT cron.schedule('retrain-ease', '* * * * *', $job$
CALL recsys.retrain('models', 'movies_ease',
                    'SELECT recsys.train_ease(user_id, item_id) FROM ratings WHERE (user_id + item_id) % 5 <> 0',
                    holdout_query => 'SELECT user_id, item_id FROM ratings WHERE (user_id + item_id) % 5 = 0',
                    history => 'retrain_history', keep => 3)
$job$);
});

# A reader serving all along: each query's answer comes from a whole model.
my $reader = $node->background_psql('postgres', on_error_stop => 0);
my $served = 0;
my $errors = 0;
my $deadline = time + 150;
my $ran = 0;
while (time < $deadline)
{
	my $out = $reader->query(
		"SELECT count(*) FROM models m, recsys.recommend(m.model, 7, 5) WHERE m.name = 'movies'");
	if (defined $out && $out eq '5') { $served++ }
	else { $errors++ }
	$ran = $node->safe_psql('postgres',
		"SELECT count(DISTINCT jobid) FROM cron.job_run_details WHERE status = 'succeeded'");
	last if $ran >= 2;
	sleep 1;
}
is($ran, 2, 'both scheduled retrainings ran and succeeded');
# a few more reads after the swap
for (1 .. 5)
{
	my $out = $reader->query(
		"SELECT count(*) FROM models m, recsys.recommend(m.model, 7, 5) WHERE m.name = 'movies'");
	if (defined $out && $out eq '5') { $served++ }
	else { $errors++ }
}
$reader->quit;
is($errors, 0, "serving never failed across the swap ($served queries answered)");

my $new_id = $node->safe_psql('postgres',
	"SELECT recsys.model_info(model) ->> 'model_id' FROM models WHERE name = 'movies'");
isnt($new_id, $first_id, 'the served model is the retrained one');
is( $node->safe_psql(
		'postgres',
		"SELECT string_agg(recsys.model_info(model) ->> 'model_id', ',' ORDER BY replaced_at)
		 FROM (SELECT * FROM model_history ORDER BY replaced_at LIMIT 1) h"),
	$first_id,
	'the replaced model is kept in the history');
is( $node->safe_psql(
		'postgres',
		"SELECT (recsys.model_info(model) -> 'options' ->> 'seed') FROM models WHERE name = 'movies'"),
	'2',
	'the new model has the job\'s options');

is( $node->safe_psql(
		'postgres', q{
SELECT h.version, h.info ->> 'algorithm', h.info -> 'holdout' ->> 'users',
       (h.info -> 'holdout' ->> 'hit_rate')::float8 > 0.5, m.model = h.model
FROM retrain_history h JOIN models m USING (name)
ORDER BY h.version LIMIT 1}),
	'1|ease|200|t|t',
	'recsys.retrain stored version 1, evaluated on the held-out users, and serves it');

# The same call by hand reports what it did in one NOTICE.
my ($ret, $out, $err) = $node->psql(
	'postgres', q{
CALL recsys.retrain('models', 'movies_ease',
                    'SELECT recsys.train_ease(user_id, item_id) FROM ratings WHERE (user_id + item_id) % 5 <> 0',
                    holdout_query => 'SELECT user_id, item_id FROM ratings WHERE (user_id + item_id) % 5 = 0',
                    history => 'retrain_history', keep => 3)});
is($ret, 0, 'retrain called by hand succeeds');
like(
	$err,
	qr/NOTICE:  ease model 'movies_ease' version (\d+) trained on \d+ interactions in [0-9.]+ s; held out: 200 users, hit_rate\@10 1\.0000, ndcg\@10 0\.\d{4}/,
	'its NOTICE names the model, the version, the rows, the time and the held-out metrics');

# Rollback: the previous version back in one statement.
$node->safe_psql(
	'postgres', q{
SELECT cron.unschedule('retrain-movies');
SELECT cron.unschedule('retrain-ease');
UPDATE models m SET model = h.model, trained_at = h.trained_at
FROM (SELECT model, trained_at FROM model_history WHERE name = 'movies'
      ORDER BY replaced_at LIMIT 1) h
WHERE m.name = 'movies'});
is( $node->safe_psql('postgres',
		"SELECT recsys.model_info(model) ->> 'model_id' FROM models WHERE name = 'movies'"),
	$first_id,
	'rolling back restores the first model');

$node->stop;
done_testing();
