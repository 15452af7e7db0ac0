# Serving under load while the model is retrained and swapped: eight pgbench
# clients call recommend and predict on the model read from a table, while
# another session retrains it and upserts the new model five times, each in
# its own transaction.  No client may fail, no statement may serve a model
# that was not yet committed when it ran, none that started after a commit
# may serve an older model than the one committed (the caches key on the
# model id, so a stale decoded model would show here), and every answer must
# be the one the logged model gives.  The server has recsys preloaded, so the
# clients serve every model from the one copy in shared memory that the
# first of them made, while the swaps free the ones nobody holds any more.

use strict;
use warnings;

use IPC::Run;
use Time::HiRes qw(time);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('concurrency');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'recsys'");
$node->start;

$node->safe_psql('postgres', 'CREATE EXTENSION recsys');

# 300 users, 200 items, a quarter of the pairs rated: a model that trains in
# a few tens of milliseconds on one thread, so that five trainings fit the
# run even with eight clients taking most of the cores and recsys's portable
# kernels (a training of 32 factors and 80 iterations took several seconds
# there, and the run ended before its last swaps).
$node->safe_psql(
	'postgres', q{
CREATE TABLE ratings (u bigint NOT NULL, i bigint NOT NULL, v real NOT NULL);
INSERT INTO ratings
SELECT u, i,
       (3 + sin(u * 0.3) * cos(i * 0.2)
          + ((hashint8(u * 7919 + i) & 255) / 255.0 - 0.5) * 0.5)::real
FROM generate_series(1, 300) AS u, generate_series(1, 200) AS i
WHERE (hashint8(u * 1000 + i) & 3) = 0;
ANALYZE ratings;
CREATE TABLE models (
    name text PRIMARY KEY,
    model bytea NOT NULL,
    trained_at timestamptz NOT NULL DEFAULT now());
-- Every model ever served, by the number of its swap (0: the first).
CREATE TABLE archive (swap int PRIMARY KEY, model bytea NOT NULL);
-- What each pgbench statement served: when it started (the snapshot is
-- taken after that), when its select list ran (after the snapshot), the
-- model's id and its answers.
CREATE UNLOGGED TABLE served (
    client int NOT NULL,
    started_at timestamptz NOT NULL,
    ran_at timestamptz NOT NULL,
    model_id text NOT NULL,
    u bigint NOT NULL,
    i bigint NOT NULL,
    prediction float8,
    top5 text);
});

sub training
{
	my ($seed) = @_;
	return "SELECT recsys.train_als(u, i, v, '{\"factors\": 16, "
	  . "\"iterations\": 10, \"threads\": 1, \"seed\": $seed}') FROM ratings";
}

$node->safe_psql(
	'postgres',
	"INSERT INTO models (name, model) SELECT 'movies', m FROM ("
	  . training(1)
	  . ") s(m);
	 INSERT INTO archive SELECT 0, model FROM models;");

# Simple protocol: statement_timestamp() is set before the statement's
# snapshot is taken, so it bounds the snapshot from below; clock_timestamp()
# in the select list bounds it from above.
my $script = q{
\set u random(1, 310)
\set i random(1, 210)
INSERT INTO served
SELECT :client_id, statement_timestamp(), clock_timestamp(),
       recsys.model_info(m.model)->>'model_id', :u, :i,
       recsys.predict(m.model, :u, :i),
       (SELECT string_agg(r.item_id || ':' || r.score, ',')
        FROM recsys.recommend(m.model, :u, 5) r)
FROM models m WHERE m.name = 'movies';
};
my $script_file = $node->basedir . '/serve.sql';
open my $fh, '>', $script_file or die "could not write $script_file: $!";
print $fh $script;
close $fh;

my ($bench_out, $bench_err) = ('', '');
my $bench = IPC::Run::start(
	[
		'pgbench', '-n', '-M', 'simple', '-c', '8', '-j', '2', '-T', '16',
		'-h', $node->host, '-p', $node->port, '-f', $script_file, 'postgres'
	],
	'>', \$bench_out, '2>', \$bench_err);

# The swapper: wait a little so that the clients serve the first model, then
# retrain and upsert five times, a few seconds apart.  For each swap, the time
# just before COMMIT was sent and the time just after it returned.
my $swapper = $node->background_psql('postgres');
my @swaps;
sleep 1;
for my $swap (1 .. 5)
{
	my $started = time;
	$swapper->query_safe('BEGIN');
	$swapper->query_safe(
		"INSERT INTO models (name, model) SELECT 'movies', m FROM ("
		  . training(100 + $swap)
		  . ") s(m) ON CONFLICT (name) DO UPDATE SET model = excluded.model, trained_at = now()"
	);
	$swapper->query_safe(
		"INSERT INTO archive SELECT $swap, model FROM models WHERE name = 'movies'");
	my $id = $swapper->query_safe(
		"SELECT recsys.model_info(model)->>'model_id' FROM models WHERE name = 'movies'");
	my $before = $swapper->query_safe('SELECT clock_timestamp()');
	$swapper->query_safe('COMMIT');
	my $after = $swapper->query_safe('SELECT clock_timestamp()');
	push @swaps, [ $swap, $id, $before, $after ];
	note "swap $swap: model $id committed between $before and $after, "
	  . sprintf("%.1fs after the swap began", time - $started);
	sleep 1;
}
$swapper->quit;

$bench->finish;
my $bench_status = $?;
note "pgbench:\n$bench_out";
is($bench_status, 0, 'pgbench exits with success');
is($bench_err =~ s/^pgbench \(\d[^\n]*\n//r, '', 'pgbench reports no error');
like($bench_out, qr/^number of failed transactions: 0 \(/m,
	'no transaction failed');
my ($processed) =
  $bench_out =~ /^number of transactions actually processed: (\d+)/m;
cmp_ok($processed // 0, '>', 0, "the clients served ($processed statements)");

$node->safe_psql(
	'postgres',
	"CREATE TABLE swaps (swap int PRIMARY KEY, model_id text NOT NULL, "
	  . "committing timestamptz NOT NULL, visible timestamptz NOT NULL);\n"
	  . join('',
		map { "INSERT INTO swaps VALUES ($_->[0], '$_->[1]', '$_->[2]', '$_->[3]');\n" }
		  @swaps)
	  . "INSERT INTO swaps SELECT 0, recsys.model_info(model)->>'model_id', '-infinity', '-infinity' FROM archive WHERE swap = 0;"
);

is( $node->safe_psql(
		'postgres',
		'SELECT count(DISTINCT model_id) FROM swaps a JOIN archive USING (swap) '
		  . "WHERE recsys.model_info(model)->>'model_id' = a.model_id"),
	6,
	'six models, each with its own id, archived under it');
is($node->safe_psql('postgres', 'SELECT count(*) FROM served'),
	$processed, 'every statement logged what it served');
is( $node->safe_psql(
		'postgres',
		'SELECT count(*) FROM served WHERE model_id NOT IN (SELECT model_id FROM swaps)'
	),
	0,
	'every statement served one of the committed models');

# The model each statement had to serve, by its timing.  A statement that
# started after a commit returned takes its snapshot later and must see at
# least that swap; one whose select list ran before COMMIT was sent cannot
# see that swap or any later one.
my $stale = $node->safe_psql(
	'postgres', q{
SELECT count(*), string_agg(DISTINCT s.client::text, ',')
FROM served s JOIN swaps got USING (model_id)
WHERE got.swap < (SELECT max(swap) FROM swaps w WHERE w.visible < s.started_at)});
is($stale, '0|',
	'no statement that started after a commit served an older model');
is( $node->safe_psql(
		'postgres', q{
SELECT count(*) FROM served s JOIN swaps got USING (model_id)
WHERE got.committing > s.ran_at}),
	0,
	'no statement served a model before it was committed');

# Every client picked up every model: between two swaps, each client served
# the new one, and after the last one, the last.
my $missed = $node->safe_psql(
	'postgres', q{
SELECT count(*) FROM generate_series(1, 8) c, swaps w
WHERE NOT EXISTS (SELECT FROM served s WHERE s.client = c - 1 AND s.model_id = w.model_id
                  AND s.started_at > w.visible)});
is($missed, 0, 'each of the eight clients served each of the six models after its commit');

# The answers are the logged model's: recomputed afterwards in one session
# without a private cache, from the archived bytes (the server's shared
# copies answer as a private decode does: 015_shared_cache).
my $wrong = $node->safe_psql(
	'postgres', q{
SET recsys.model_cache_size = 0;
SELECT count(*) FROM served s JOIN swaps USING (model_id) JOIN archive a USING (swap)
WHERE s.prediction IS DISTINCT FROM recsys.predict(a.model, s.u, s.i)
   OR s.top5 IS DISTINCT FROM (SELECT string_agg(r.item_id || ':' || r.score, ',')
                               FROM recsys.recommend(a.model, s.u, 5) r)});
is($wrong, 0, "every answer served is the logged model's answer");

# Different models answer differently, so the check above has teeth.  (The
# trainings converge close together: one pair may get the same float8 from
# two models, a few dozen pairs do not.)
is( $node->safe_psql(
		'postgres', q{
SELECT count(DISTINCT (SELECT string_agg(recsys.predict(model, u, u + 3)::text, ',' ORDER BY u)
                       FROM generate_series(1, 300, 7) AS u))
FROM archive}),
	6,
	'the six models give six different sets of predictions');

note $node->safe_psql(
	'postgres', q{
SELECT string_agg(format('swap %s: %s statements', swap, n), '; ' ORDER BY swap)
FROM (SELECT swap, count(*) AS n FROM served JOIN swaps USING (model_id) GROUP BY swap) x});

$node->stop;
unlike(
	slurp_file($node->logfile),
	qr/terminated by signal|was terminated|PANIC|TRAP/,
	'no server process crashed');

done_testing();
