# README's SQL, run as written: every ```sql block of README.md, in order,
# on MovieTweetings as the demo loads it, plus the few tables a recipe
# names (clicks, purchases, session_clicks, ...) made from the same
# ratings.  A block fails the test if any of its statements fails.  A block
# that shows another way to do what an earlier one did (it creates a table
# of the same name) runs in a transaction that drops the earlier table
# first and is rolled back, so the two do not collide; a block that needs what Debian 12 does not package
# (pgvector with HNSW) is skipped, and says so.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $readme = slurp_file('README.md');
my @blocks;
while ($readme =~ /^```sql\n(.*?)^```$/msg)
{
	my $sql = $1;
	my $line = 1 + (() = substr($readme, 0, $-[0]) =~ /\n/g);
	push @blocks, [ $line, $sql ];
}
cmp_ok(scalar(@blocks), '>=', 25, 'README has its SQL examples (' . scalar(@blocks) . ')');

my $node = PostgreSQL::Test::Cluster->new('readme');
$node->init;
$node->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'pg_cron'
cron.database_name = 'postgres'
});
$node->start;

# The demo's tables (movies, ratings, ratings_train, ratings_test), cut to
# the 1,500 most rated movies and a sixth of the users (with the users the
# examples name) so that every example trains in a second or two.
my ($ret, $out, $err) = $node->psql('postgres', undef,
	extra_params => [ '-v', 'ON_ERROR_STOP=1', '-f', 'test/demo/load.sql' ]);
is($ret, 0, 'the demo data loads') or diag $err;
$node->safe_psql(
	'postgres', q{
CREATE EXTENSION pg_cron;
CREATE TEMP TABLE kept AS
SELECT movie_id FROM ratings GROUP BY movie_id ORDER BY count(*) DESC, movie_id LIMIT 1500;
DELETE FROM ratings
WHERE movie_id NOT IN (SELECT movie_id FROM kept) OR (user_id % 6 <> 0 AND user_id NOT IN (42, 4396));
DELETE FROM ratings_train t WHERE NOT EXISTS
  (SELECT FROM ratings r WHERE r.user_id = t.user_id AND r.movie_id = t.movie_id);
DELETE FROM ratings_test t WHERE NOT EXISTS
  (SELECT FROM ratings r WHERE r.user_id = t.user_id AND r.movie_id = t.movie_id);
ALTER TABLE movies ADD COLUMN in_stock bool NOT NULL DEFAULT true;
UPDATE movies SET in_stock = movie_id % 3 <> 0;

-- what the recipes call their tables
CREATE TABLE clicks AS SELECT user_id, movie_id AS item_id FROM ratings;
CREATE TABLE purchases AS SELECT user_id, movie_id AS item_id FROM ratings WHERE rating >= 8;
CREATE TABLE listens AS SELECT user_id, movie_id AS item_id, rating AS plays FROM ratings;
CREATE TABLE impressions AS
SELECT (user_id % 80)::real AS age, (movie_id % 1000)::real AS income,
       (rating)::real AS visits, rating >= 8 AS clicked
FROM ratings;
CREATE TABLE listings AS
SELECT ARRAY[rating, movie_id % 7, user_id % 5]::real[] AS features, (movie_id % 100)::real AS price
FROM ratings WHERE user_id % 10 = 0;
CREATE TABLE products AS SELECT movie_id AS id, title, in_stock FROM movies;
CREATE TABLE session_clicks AS
SELECT 'session-' || user_id AS session, movie_id AS item_id FROM ratings WHERE user_id % 50 = 0;
CREATE TABLE users AS
SELECT DISTINCT user_id, user_id % 4 = 0 AS active,
       ARRAY['country:' || (ARRAY['FR', 'DE', 'US', 'BR'])[user_id % 4 + 1],
             'age:' || (ARRAY['18-24', '25-34', '35-49'])[user_id % 3 + 1]] AS tags
FROM ratings;
CREATE TABLE new_items AS
SELECT 10000000 + movie_id AS item_id, ARRAY(SELECT 'genre:' || g FROM unnest(genres) g) AS tags
FROM movies WHERE movie_id % 20 = 0;
CREATE TABLE held_out AS SELECT user_id, movie_id FROM ratings_test;
CREATE TABLE views AS SELECT user_id, movie_id AS item_id, rated_at AS viewed_at FROM ratings;
CREATE TABLE candidates AS SELECT movie_id AS item_id FROM movies WHERE movie_id % 5 = 0;
ANALYZE;
});

# The first example creates the extension; everything after uses it.
my %created;
my $blocks_run = 0;
for my $block (@blocks)
{
	my ($line, $sql) = @$block;
	if ($sql =~ /CREATE EXTENSION vector/)
	{
		note "README line $line: skipped, pgvector with HNSW is not packaged for Debian 12";
		next;
	}
	my @tables = $sql =~ /CREATE TABLE (\w+)/g;
	my @again = grep { $created{$_} } @tables;
	$created{$_} = 1 for @tables;
	# in its own transaction, without the earlier block's tables, undone
	my $script = @again ? "BEGIN;\nDROP TABLE " . join(', ', @again) . ";\n$sql\n;ROLLBACK;\n" : $sql;
	my $alternative = @again > 0;
	note "README line $line: another way to do an earlier block's work, rolled back"
	  if $alternative;
	my ($r, $o, $e) = $node->psql('postgres', $script,
		extra_params => [ '-v', 'ON_ERROR_STOP=1' ]);
	is($r, 0, "README line $line runs") or diag "$e\n--- block:\n$sql";
	$blocks_run++;
	# the models the recipes name before "Evaluating" trains them
	$node->safe_psql('postgres', q{
INSERT INTO models (name, model)
SELECT 'shop', recsys.train_als(user_id, item_id, 1, '{"feedback": "implicit"}') FROM clicks
UNION ALL
SELECT 'knn', recsys.train_knn(user_id, movie_id, 1) FROM ratings;
}) if $line == $blocks[0][0];
}
cmp_ok($blocks_run, '>=', 24, "README blocks run: $blocks_run");

$node->stop;
done_testing();
