# A backend that trains and serves for a long time keeps its memory: a
# hundred trainings and a hundred thousand predictions leave its resident
# size where it was after the first few, and the cache of decoded models
# holds no more than recsys.model_cache_size, whatever it is asked to serve.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

plan skip_all => 'needs /proc/<pid>/status (Linux)' unless -r '/proc/self/status';

my $node = PostgreSQL::Test::Cluster->new('memory');
$node->init;
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION recsys');

$node->safe_psql(
	'postgres', q{
CREATE TABLE ratings (u bigint NOT NULL, i bigint NOT NULL, v real NOT NULL);
INSERT INTO ratings
SELECT u, i, (1 + (u * 7 + i * 3) % 5)::real
FROM generate_series(1, 300) AS u, generate_series(1, 200) AS i
WHERE (hashint8(u * 1000 + i) & 7) = 0;
CREATE TABLE rows (f real[] NOT NULL, label real NOT NULL);
INSERT INTO rows
SELECT ARRAY[sin(g), cos(g * 0.7), (g % 5)::real]::real[], ((g % 3) = 0)::int::real
FROM generate_series(1, 1000) AS g;
-- 2000 pairs to predict, in chunks of 50 statements
CREATE TABLE pairs AS
SELECT (g % 310) + 1 AS u, (g * 7 % 205) + 1 AS i FROM generate_series(1, 2000) AS g;
ANALYZE ratings, rows, pairs;
CREATE TABLE models (k int PRIMARY KEY, model bytea);
});

sub rss_kb
{
	my ($pid) = @_;
	open(my $fh, '<', "/proc/$pid/status") or return undef;
	my ($kb) = map { /^VmRSS:\s+(\d+) kB/ ? $1 : () } <$fh>;
	close $fh;
	return $kb;
}

my $s = $node->background_psql('postgres', on_error_stop => 0);
my $pid = $s->query_safe('SELECT pg_backend_pid()');

# A round: one training of each of five kinds, kept in a table, then 2000
# predictions with the model just trained.
my @kinds = (
	q{recsys.train_als(u, i, v, format('{"factors": 8, "iterations": 3, "seed": %s}', k)::jsonb) FROM ratings},
	q{recsys.train_bpr(u, i, format('{"factors": 8, "epochs": 3, "seed": %s}', k)::jsonb) FROM ratings},
	q{recsys.train_knn(u, i, v, '{"neighbors": 20}') FROM ratings},
	q{recsys.train_ease(u, i, '{"lambda": 50}') FROM ratings},
	q{recsys.train_als(u, i, v, format('{"feedback": "implicit", "factors": 8, "iterations": 2, "seed": %s}', k)::jsonb) FROM ratings},
);
my $k = 0;
my $predictions = 0;

sub round
{
	my $sums = '';
	for my $train (@kinds)
	{
		$k++;
		$s->query_safe("INSERT INTO models SELECT $k, " . ($train =~ s/, k\)/, $k)/r));
		$sums .= $s->query_safe(
			"SELECT count(recsys.predict(m.model, p.u, p.i)) FROM models m, pairs p WHERE m.k = $k") . ',';
		$predictions += 2000;
	}
	return $sums;
}

# Warm-up: four rounds, 20 trainings.
round() for 1 .. 4;
my $rss_warm = rss_kb($pid);
note "backend $pid: VmRSS $rss_warm kB after 20 trainings and $predictions predictions";
round() for 5 .. 20;
my $rss_end = rss_kb($pid);
note sprintf(
	"backend %d: VmRSS %d kB after %d trainings and %d predictions (%+.1f MB since the warm-up)",
	$pid, $rss_end, $k, $predictions, ($rss_end - $rss_warm) / 1024);
cmp_ok($k, '>=', 100, 'a hundred trainings');
cmp_ok($predictions, '>=', 100_000, 'a hundred thousand predictions');
cmp_ok($rss_end - $rss_warm, '<', 24 * 1024,
	'the backend grows by less than 24 MB after the warm-up');
$s->quit;

# --- The cache stays within recsys.model_cache_size.  Six models of several
# MB each (implicit ALS with 100 factors over 9,000 users and items), served
# alternately by a backend with an 8MB cache: its memory stays bounded by
# about one decoded model per query plus the cache, where all six would hold
# 20 MB and more.
$node->safe_psql(
	'postgres', q{
CREATE TABLE wide AS
SELECT u::bigint AS u, ((u * 7 + j * 13) % 3000 + 1)::bigint AS i
FROM generate_series(1, 6000) AS u, generate_series(1, 10) AS j;
CREATE TABLE big (k int, model bytea);
ALTER TABLE big ALTER COLUMN model SET STORAGE EXTERNAL;
INSERT INTO big
SELECT k, recsys.train_als(u, i, 1, format('{"feedback": "implicit", "factors": 100, "iterations": 1, "seed": %s}', k)::jsonb)
FROM wide, generate_series(1, 6) AS k GROUP BY k;
});
my $big_mb = $node->safe_psql('postgres',
	'SELECT round(avg(length(model)) / 1048576.0, 2) FROM big');
note "six models of $big_mb MB each";
cmp_ok($big_mb, '>', 2, 'the models are several megabytes');

my $probe = q{SELECT string_agg(recsys.predict(model, 5, 49)::text, ',' ORDER BY k) FROM big};
my $expected = $node->safe_psql('postgres', "SET recsys.model_cache_size = 0; $probe");

my $c = $node->background_psql('postgres');
$c->query_safe("SET recsys.model_cache_size = '8MB'");
my $cpid = $c->query_safe('SELECT pg_backend_pid()');
is($c->query_safe($probe), $expected, 'an 8MB cache: the answers are right');
my $rss_first = rss_kb($cpid);
my $max_rss = $rss_first;
for my $pass (1 .. 10)
{
	for my $kk (1 .. 6)
	{
		$c->query_safe("SELECT recsys.predict(model, 5, 49) FROM big WHERE k = $kk");
		my $r = rss_kb($cpid);
		$max_rss = $r if $r > $max_rss;
	}
	is($c->query_safe($probe), $expected, "an 8MB cache, pass $pass: the answers are right")
	  if $pass % 5 == 0;
}
my $cached = $c->query_safe(
	"SELECT count(*) || '|' || coalesce(sum(total_bytes), 0) FROM pg_backend_memory_contexts WHERE name = 'recsys model'");
my ($n_cached, $bytes_cached) = split /\|/, $cached;
note sprintf(
	"an 8MB cache: VmRSS %d kB after the first pass, at most %d kB over 60 loads (%+.1f MB); %d models kept in %.1f MB",
	$rss_first, $max_rss, ($max_rss - $rss_first) / 1024, $n_cached, $bytes_cached / 1048576);
cmp_ok($bytes_cached, '<=', 8 * 1048576 * 1.05,
	'an 8MB cache keeps decoded models within 8MB');
cmp_ok($n_cached, '<', 6, 'an 8MB cache does not keep all six models');
cmp_ok($max_rss - $rss_first, '<', 16 * 1024,
	'serving six models alternately does not grow the backend');
$c->quit;

$node->stop;
unlike(
	slurp_file($node->logfile),
	qr/terminated by signal|was terminated|PANIC|TRAP/,
	'no server process crashed');

done_testing();
