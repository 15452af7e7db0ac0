# Parallel aggregation of recsys.train_als: the planner splits the aggregate
# into partial aggregates in parallel workers (transition, serialise), and
# the leader deserialises and combines them before the final function trains.
# A model trained that way must match one trained from a serial scan.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('parallel');
$node->init;
$node->append_conf(
	'postgresql.conf', qq{
max_worker_processes = 8
max_parallel_workers = 8
});
$node->start;

$node->safe_psql('postgres', 'CREATE EXTENSION recsys');

# About 200k ratings of 1000 users on 1000 items: a rank-2 pattern around 3
# plus a little noise, everything derived from the ids (no random()), so each
# run sees the same data.  A pair is kept when its hash falls in one fifth.
$node->safe_psql(
	'postgres', q{
CREATE TABLE ratings (u bigint NOT NULL, i bigint NOT NULL, v real NOT NULL);
INSERT INTO ratings
SELECT u, i,
       (3.0
        + sin(u * 0.1) * cos(i * 0.07)
        + 0.5 * cos(u * 0.05) * sin(i * 0.13)
        + ((hashint8(u * 7919 + i) & 1023) / 1023.0 - 0.5) * 0.2)::real
FROM generate_series(1, 1000) AS u, generate_series(1, 1000) AS i
WHERE (hashint8(u * 1000 + i) & 1023) < 205;
ANALYZE ratings;
});

my $rows = $node->safe_psql('postgres', 'SELECT count(*) FROM ratings');
cmp_ok($rows, '>', 180000, "the ratings table has about 200k rows ($rows)");
cmp_ok($rows, '<', 220000, 'the ratings table is not much larger');
my ($pairs, $users, $items) = split /\|/,
  $node->safe_psql('postgres',
	'SELECT count(DISTINCT (u, i)), count(DISTINCT u), count(DISTINCT i) FROM ratings');

my $parallel_settings = q{
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET parallel_leader_participation = on;
};
my $serial_settings = q{
SET max_parallel_workers_per_gather = 0;
};

my $options = q{'{"factors": 8, "iterations": 5, "seed": 1}'};
my $train = "SELECT recsys.train_als(u, i, v, $options) FROM ratings";

# The plan: Finalize Aggregate over a Gather of Partial Aggregates.
my $plan = $node->safe_psql('postgres',
	$parallel_settings . "EXPLAIN (COSTS OFF) $train");
note "parallel plan:\n$plan";
like($plan, qr/\A\s*Finalize Aggregate\b/,
	'the plan is topped by a Finalize Aggregate');
like(
	$plan,
	qr/Gather.*\n.*Workers Planned: 2.*\n.*Partial Aggregate.*\n.*Parallel Seq Scan on ratings/s,
	'a Gather with 2 planned workers runs Partial Aggregates over a parallel scan');
my ($gather_at) = $plan =~ /^(.*?)Gather/m;
my ($partial_at) = $plan =~ /^(.*?)Partial Aggregate/m;
cmp_ok(length($partial_at), '>', length($gather_at),
	'the Partial Aggregate sits below the Gather');

my $serial_plan = $node->safe_psql('postgres',
	$serial_settings . "EXPLAIN (COSTS OFF) $train");
note "serial plan:\n$serial_plan";
unlike($serial_plan, qr/Gather|Partial/,
	'with max_parallel_workers_per_gather = 0 the plan is serial');

# Train in parallel, keeping the model: CREATE TABLE AS can run a parallel
# plan (INSERT ... SELECT cannot), and EXPLAIN ANALYZE both runs it and shows
# how many workers took part.
my $analyzed = $node->safe_psql('postgres',
	$parallel_settings
	  . "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
	     CREATE TABLE model_parallel AS
	     SELECT recsys.train_als(u, i, v, $options) AS m FROM ratings");
note "parallel run:\n$analyzed";
my ($launched) = $analyzed =~ /Workers Launched: (\d+)/;
ok(defined $launched, 'EXPLAIN ANALYZE reports the workers launched');
cmp_ok($launched // 0, '>=', 1, 'at least one parallel worker trained rows');
note 'fewer workers than planned were launched (busy machine?)'
  if defined $launched && $launched < 2;
like($analyzed, qr/Partial Aggregate \(actual rows=1 loops=(\d+)\)/,
	'the partial aggregates ran in the workers');
my ($loops) = $analyzed =~ /Partial Aggregate \(actual rows=1 loops=(\d+)\)/;
is($loops, ($launched // 0) + 1,
	'each worker and the leader ran a partial aggregate');

$node->safe_psql('postgres',
	$serial_settings
	  . "CREATE TABLE model_serial AS
	     SELECT recsys.train_als(u, i, v, $options) AS m FROM ratings");

my %info;
for my $kind (qw(parallel serial))
{
	my $row = $node->safe_psql(
		'postgres', qq{
SELECT j->>'algorithm', j->>'users', j->>'items', j->>'interactions',
       j->>'factors', j->>'iterations', jsonb_array_length(j->'loss'),
       j->>'skipped_rows', j->>'model_id', j->'loss'
FROM (SELECT recsys.model_info(m) AS j FROM model_$kind) s});
	my @f = split /\|/, $row;
	$info{$kind} = {
		users => $f[1],
		items => $f[2],
		interactions => $f[3],
		factors => $f[4],
		iterations => $f[5],
		losses => $f[6],
		skipped => $f[7],
		model_id => $f[8],
		loss => $f[9],
	};
	note "$kind model: $row";
	is($f[1], $users, "$kind model: every user is known");
	is($f[2], $items, "$kind model: every item is known");
	is($f[3], $pairs, "$kind model: one interaction per distinct pair");
	# The options travel with the partial states: a parallel model that fell
	# back to the defaults would have 64 factors and 15 iterations.
	is($f[4], 8, "$kind model: the factors option was applied");
	is($f[5], 5, "$kind model: the iterations option was applied");
	is($f[6], 5, "$kind model: one loss per iteration");
	is($f[7], 0, "$kind model: no rows skipped");
}

for my $key (qw(users items interactions factors iterations))
{
	is($info{parallel}{$key}, $info{serial}{$key},
		"parallel and serial models agree on $key");
}
isnt($info{parallel}{model_id}, $info{serial}{model_id},
	'each training gets its own model id');

# The interaction build sorts the rows, so the order in which the workers
# delivered them must not matter: the factors, hence predictions, agree.
my ($max_diff, $compared) = split /\|/,
  $node->safe_psql(
	'postgres', q{
SELECT max(abs(recsys.predict(p.m, s.u, s.i) - recsys.predict(q.m, s.u, s.i))),
       count(*)
FROM model_parallel p, model_serial q,
     (SELECT (g * 37) % 1000 + 1 AS u, (g * 101) % 1000 + 1 AS i
      FROM generate_series(1, 5000) AS g
      UNION ALL
      SELECT u, i FROM ratings WHERE (hashint8(u + 31 * i) & 63) = 0) s});
note "max |parallel - serial| over $compared pairs: $max_diff";
cmp_ok($compared, '>', 5000, 'predictions compared over a sample of pairs');
# Same rows, same seed, same threads, same machine: the same model, to the bit.
is($max_diff, 0, 'parallel and serial models predict the same ratings');

# The per-iteration training losses agree too.
my $max_loss_diff = $node->safe_psql(
	'postgres', q{
SELECT max(abs(a.l::float8 - b.l::float8))
FROM model_parallel p, model_serial q,
     jsonb_array_elements(recsys.model_info(p.m)->'loss') WITH ORDINALITY a(l, n),
     jsonb_array_elements(recsys.model_info(q.m)->'loss') WITH ORDINALITY b(l, n)
WHERE a.n = b.n});
is($max_loss_diff, 0, 'parallel and serial models report the same loss per iteration');

# Training error measured in SQL: both fit the data, and about equally well.
my %rmse;
for my $kind (qw(parallel serial))
{
	$rmse{$kind} = $node->safe_psql(
		'postgres', qq{
SELECT sqrt(avg((recsys.predict(m, u, i) - v) ^ 2))
FROM model_$kind, ratings});
	note "$kind training RMSE: $rmse{$kind}";
	my $last_loss = $node->safe_psql('postgres',
		"SELECT (recsys.model_info(m)->'loss'->>-1)::float8 FROM model_$kind");
	cmp_ok($rmse{$kind}, '<', 0.5,
		"$kind model fits the training data (RMSE $rmse{$kind})");
	cmp_ok(abs($rmse{$kind} - $last_loss), '<', 0.05,
		"$kind model: SQL RMSE is close to the last reported loss ($last_loss)");
}
cmp_ok(abs($rmse{parallel} - $rmse{serial}), '<', 1e-4,
	'parallel and serial models have the same training RMSE');

# The aggregate also runs in parallel when grouped, one model per group.
my $grouped = $node->safe_psql(
	'postgres', $parallel_settings . q{
SELECT count(*), sum((recsys.model_info(m)->>'users')::int)
FROM (SELECT u % 3 AS g, recsys.train_als(u, i, v, '{"factors": 4, "iterations": 2}') AS m
      FROM ratings GROUP BY u % 3) s});
is($grouped, "3|$users", 'grouped parallel training partitions the users');

$node->stop;
unlike(
	slurp_file($node->logfile),
	qr/terminated by signal|was terminated|PANIC/,
	'no server process crashed');

done_testing();
