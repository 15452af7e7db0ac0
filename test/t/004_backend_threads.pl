# A backend that has loaded recsys runs on its own thread only, outside
# training: OpenBLAS's workers, started when the library loads with the
# backend's signal mask, are stopped (the kernel could otherwise hand them
# the backend's signals while the backend blocks them), and the training
# thread pool is gone when the aggregate returns.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

plan skip_all => 'needs /proc/self/task (Linux)' unless -d '/proc/self/task';

my $node = PostgreSQL::Test::Cluster->new('threads');
$node->init;
$node->start;

$node->safe_psql('postgres', 'CREATE EXTENSION recsys');
$node->safe_psql(
	'postgres', q{
CREATE TABLE ratings AS
SELECT u::bigint AS u, i::bigint AS i, (1 + (u * 7 + i * 3) % 5)::real AS v
FROM generate_series(1, 300) AS u, generate_series(1, 200) AS i
WHERE (u + i) % 3 = 0;
});

my $threads = q{SELECT count(*) FROM pg_ls_dir('/proc/self/task')};

# One session: load the library, serve, train on two threads, serve again.
my $counts = $node->safe_psql(
	'postgres', qq{
$threads;
LOAD 'recsys';
$threads;
CREATE TABLE models AS
SELECT recsys.train_als(u, i, v, '{"factors": 8, "iterations": 3, "threads": 2}') AS m
FROM ratings;
$threads;
SELECT count(*) > 0 FROM models, recsys.recommend(m, 1, 5);
SELECT recsys.predict(m, 1, 2) IS NOT NULL FROM models;
$threads;
});

is($counts, "1\n1\n1\nt\nt\n1",
	'one thread before and after loading recsys, after training on two threads and after serving');

done_testing();
