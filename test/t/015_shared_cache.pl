# One decoded copy of a model per server: with recsys in
# shared_preload_libraries, the first backend to use a model copies it into
# shared memory and every other backend serves that copy.  Checked here:
# answers are exactly those of a server without the shared cache, for every
# kind and for a model that keeps a compact history; backends that use a
# model hold no private copy of it; a model replaced while readers hold the
# old one leaves them serving it; more models than the directory has slots
# cycle through it; and a backend that crashes takes nothing with it - the
# restarted server serves the same answers.

use strict;
use warnings;

use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $shared = PostgreSQL::Test::Cluster->new('shared');
$shared->init;
$shared->append_conf('postgresql.conf',
	"shared_preload_libraries = 'recsys'\nrecsys.shared_cache_size = '32MB'\n"
	  . "restart_after_crash = on\n");
$shared->start;
my $private = PostgreSQL::Test::Cluster->new('private');
$private->init;
$private->start;

my $setup = q{
CREATE EXTENSION recsys;
CREATE TABLE ratings (u bigint NOT NULL, i bigint NOT NULL, v real NOT NULL);
INSERT INTO ratings
SELECT u, i,
       (3 + sin(u * 0.3) * cos(i * 0.2)
          + ((hashint8(u * 7919 + i) & 255) / 255.0 - 0.5) * 0.5)::real
FROM generate_series(1, 400) AS u, generate_series(1, 300) AS i
WHERE (hashint8(u * 1000 + i) & 3) = 0;
CREATE TABLE probe AS
SELECT u, i FROM generate_series(1, 402, 7) AS u, generate_series(1, 302, 11) AS i;
CREATE TABLE models (name text PRIMARY KEY, model bytea NOT NULL);
};
$_->safe_psql('postgres', $setup) for ($shared, $private);

# The models are trained once, on the shared server, and copied to the
# other as bytes: both serve the same values.
$shared->safe_psql(
	'postgres', q{
INSERT INTO models
SELECT 'als', recsys.train_als(u, i, v, '{"factors": 16, "iterations": 5, "seed": 1}') FROM ratings
UNION ALL
SELECT 'implicit', recsys.train_als(u, i, 1, '{"feedback": "implicit", "factors": 16, "iterations": 5, "seed": 2}') FROM ratings
UNION ALL
SELECT 'bpr', recsys.train_bpr(u, i, '{"factors": 8, "epochs": 5, "threads": 1, "seed": 3}') FROM ratings
UNION ALL
SELECT 'knn', recsys.train_knn(u, i, v, '{"feedback": "explicit"}') FROM ratings
UNION ALL
SELECT 'ease', recsys.train_ease(u, i) FROM ratings
UNION ALL
SELECT 'hybrid', recsys.train_hybrid(u, i, 1, ARRAY['g' || u % 3], ARRAY['t' || i % 5],
                                     '{"factors": 8, "epochs": 5, "threads": 1}') FROM ratings
UNION ALL
SELECT 'sequence', recsys.train_sequence(u, i, hashint8(u * 31 + i)::bigint,
                                         '{"factors": 8, "max_length": 20, "epochs": 3, "threads": 1}') FROM ratings;
});
my $copied = $shared->safe_psql('postgres',
	q{SELECT string_agg(format('(%L, %L::bytea)', name, model), ',') FROM models});
$private->safe_psql('postgres', "INSERT INTO models VALUES $copied");

# What a session answers with every model: predictions, a user's top 5 with
# and without their history, an explanation.  The sequence model, which
# explains a history rather than a user, is also served from a history (most
# recent first, with a repeat): its attention, a prediction for every probed
# item, its top 5.
my $probe = q{
SELECT m.name,
       (SELECT md5(string_agg(recsys.predict(m.model, p.u, p.i)::text, ',' ORDER BY p.u, p.i))
        FROM probe p),
       (SELECT string_agg(r.item_id || ':' || r.score, ',') FROM recsys.recommend(m.model, 7, 5) r),
       (SELECT string_agg(r.item_id || ':' || r.score, ',')
        FROM recsys.recommend(m.model, 7, 5, exclude_seen => false) r),
       CASE WHEN m.name = 'sequence' THEN
         (SELECT string_agg(e.item_id || ':' || e.position || ':' || e.weight, ',')
          FROM recsys.explain(m.model, '{11, 7, 3, 7, 250}'::bigint[], 11, 3) e)
         || '|' ||
         (SELECT md5(string_agg(recsys.predict(m.model, '{11, 7, 3, 7, 250}'::bigint[], p.i)::text,
                                ',' ORDER BY p.i))
          FROM (SELECT DISTINCT i FROM probe) p)
         || '|' ||
         (SELECT string_agg(r.item_id || ':' || r.score, ',')
          FROM recsys.recommend(m.model, '{11, 7, 3, 7, 250}'::bigint[], 5) r)
       ELSE
         (SELECT string_agg(e.item_id || ':' || e.contribution, ',')
          FROM recsys.explain(m.model, 7, 11, 3) e)
       END
FROM models m ORDER BY m.name};
my $expected = $private->safe_psql('postgres', $probe);
like($expected, qr/^als\|[0-9a-f]{32}\|/, 'the private server answers the probe');
like($expected, qr/^sequence\|[0-9a-f]{32}\|(?:\d+:[-.e\d]+,){4}\d+:[-.e\d]+\|.*\|(?:\d+:\d+:[-.e\d]+,){2}\d+:\d+:[-.e\d]+\|[0-9a-f]{32}\|(?:\d+:[-.e\d]+,){4}\d+:[-.e\d]+$/m,
	'... and with the sequence model, from its users and from a history');

is( $shared->safe_psql(
		'postgres',
		q{SELECT size >= 32 * 1024 * 1024 FROM pg_shmem_allocations WHERE name = 'recsys shared models'}),
	't',
	'the shared cache is reserved at server start');
is( $private->safe_psql(
		'postgres',
		q{SELECT count(*) FROM pg_shmem_allocations WHERE name = 'recsys shared models'}),
	'0',
	'without preloading there is no shared cache');

# Private model memory of a session: the contexts of decoded copies, and
# those of entries that use the server's copy.
my $memory = q{
SELECT coalesce(sum(total_bytes) FILTER (WHERE name = 'recsys model'), 0) || '|' ||
       count(*) FILTER (WHERE name = 'recsys shared model')
FROM pg_backend_memory_contexts};

my @readers = map { $shared->background_psql('postgres') } 1 .. 4;
for my $k (0 .. $#readers)
{
	is($readers[$k]->query_safe($probe),
		$expected, "reader $k answers as a server without the shared cache");
	is($readers[$k]->query_safe($memory),
		'0|7', "reader $k holds no private copy of the seven models");
}
my $private_memory =
  (split /\n/, $private->safe_psql('postgres', "$probe; $memory"))[-1];
my ($private_bytes) = split /\|/, $private_memory;
cmp_ok($private_bytes, '>', 100_000,
	'a server without the shared cache decodes a private copy');

# Replaced while readers hold the old model: they keep serving it until
# they see the new one, which every reader then serves from one copy.
my $old = $shared->safe_psql('postgres',
	q{SELECT md5(string_agg(recsys.predict(model, p.u, p.i)::text, ',' ORDER BY p.u, p.i))
	  FROM models, probe p WHERE name = 'als'});
$shared->safe_psql(
	'postgres', q{
CREATE TABLE retired AS SELECT model FROM models WHERE name = 'als';
UPDATE models SET model = (SELECT recsys.train_als(u, i, v, '{"factors": 16, "iterations": 5, "seed": 9}') FROM ratings)
WHERE name = 'als';
});
my $new_bytes = $shared->safe_psql('postgres',
	q{SELECT format('%L::bytea', model) FROM models WHERE name = 'als'});
$private->safe_psql('postgres', "UPDATE models SET model = $new_bytes WHERE name = 'als'");
$expected = $private->safe_psql('postgres', $probe);
for my $k (0 .. $#readers)
{
	is($readers[$k]->query_safe($probe),
		$expected, "reader $k serves the retrained model");
	is( $readers[$k]->query_safe(
			q{SELECT md5(string_agg(recsys.predict(model, p.u, p.i)::text, ',' ORDER BY p.u, p.i))
			  FROM retired, probe p}),
		$old,
		"reader $k still serves the replaced model as it was");
}

# Four new connections use a model nobody has loaded, at once: whichever
# copies it in first, the others wait for its copy rather than keep one
# of their own.
$shared->safe_psql('postgres',
	q{CREATE TABLE fresh AS SELECT recsys.train_als(u, i, v, '{"factors": 256, "iterations": 2}') AS model FROM ratings});
my @outputs = ('') x 4;
my @clients = map {
	IPC::Run::start(
		[
			'psql', '-XAtq', '-d', $shared->connstr('postgres'),
			'-c', q{SELECT recsys.predict(model, 7, 11) IS NOT NULL FROM fresh},
			'-c', $memory
		],
		'>', \$outputs[$_])
} 0 .. 3;
$_->finish for @clients;
is_deeply(\@outputs, [("t\n0|1\n") x 4],
	'four connections loading one model at once hold no private copy of it');

# More models than the directory's 64 slots, each used once with no
# private cache to hold it: the least recently used are let go of, and
# every answer is still its own model's.
$shared->safe_psql(
	'postgres', q{
CREATE TABLE many AS
SELECT s AS seed, recsys.train_als(u, i, v, jsonb_build_object('factors', 2, 'iterations', 1, 'seed', s)) AS model
FROM ratings, generate_series(1, 70) s WHERE u <= 40 GROUP BY s;
});
my $many_bytes = $shared->safe_psql('postgres',
	q{SELECT string_agg(format('(%s, %L::bytea)', seed, model), ',') FROM many});
$private->safe_psql('postgres',
	"CREATE TABLE many (seed int, model bytea); INSERT INTO many VALUES $many_bytes");
my $many_probe = q{
SET recsys.model_cache_size = 0;
SELECT md5(string_agg(p::text, ',' ORDER BY seed))
FROM many, LATERAL (SELECT recsys.predict(model, 3, 5) AS p) x;
SELECT md5(string_agg(p::text, ',' ORDER BY seed))
FROM many, LATERAL (SELECT recsys.predict(model, 3, 5) AS p) x};
my $many_expected = $private->safe_psql('postgres', $many_probe);
is($readers[0]->query_safe($many_probe),
	$many_expected, 'seventy models through 64 slots, twice: every answer its own model\'s');
is($readers[1]->query_safe($probe),
	$expected, 'the seven models still answer after the others cycled through');

# A backend that crashes while it holds shared models: the server restarts,
# shared memory with it, and serves the same answers.
my $victim = $readers[2]->query_safe('SELECT pg_backend_pid()');
$_->quit for @readers[0, 1, 3];
kill 'KILL', $victim;
$readers[2]->{run}->finish;	# psql ends with its lost connection
ok($shared->poll_query_until('postgres', 'SELECT 1', '1'),
	'the server accepts connections after the crash');
is($shared->safe_psql('postgres', $probe),
	$expected, 'after the crash: the same answers');
is((split /\n/, $shared->safe_psql('postgres', "$probe; $memory"))[-1],
	'0|7', 'after the crash: served from shared memory again');

$shared->stop;
$private->stop;
like(slurp_file($shared->logfile),
	qr/terminated by signal 9/, 'the crash was a crash');

done_testing();
