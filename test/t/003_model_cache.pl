# Serving from a table of models while the model is replaced: readers keep
# answering from the committed model, pick up the new one at their next
# statement after the commit, and the per-backend cache of decoded models
# (recsys.model_cache_size) never changes an answer, only its cost.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('cache');
$node->init;
$node->start;

$node->safe_psql('postgres', 'CREATE EXTENSION recsys');

# 400 users, 300 items, about a quarter of the pairs rated: a model of some
# hundred kilobytes, stored out of line.  "tiny" makes models small enough to
# be stored in line.
$node->safe_psql(
	'postgres', q{
CREATE TABLE ratings (u bigint NOT NULL, i bigint NOT NULL, v real NOT NULL);
INSERT INTO ratings
SELECT u, i,
       (3 + sin(u * 0.3) * cos(i * 0.2)
          + ((hashint8(u * 7919 + i) & 255) / 255.0 - 0.5) * 0.5)::real
FROM generate_series(1, 400) AS u, generate_series(1, 300) AS i
WHERE (hashint8(u * 1000 + i) & 3) = 0;
CREATE TABLE tiny (u bigint NOT NULL, i bigint NOT NULL, v real NOT NULL);
INSERT INTO tiny
SELECT u, i, (1 + (u * 3 + i) % 5)::real
FROM generate_series(1, 8) AS u, generate_series(1, 6) AS i
WHERE (u + i) % 4 <> 0;
-- Pairs to probe: known users and items, and a few unknown ones.
CREATE TABLE probe AS
SELECT u, i FROM generate_series(1, 402, 7) AS u, generate_series(1, 302, 11) AS i;
CREATE TABLE models (
    name text PRIMARY KEY,
    model bytea NOT NULL,
    trained_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE archive (seed int PRIMARY KEY, model bytea NOT NULL);
ANALYZE ratings, tiny, probe;
});

sub training
{
	my ($seed, $iterations) = @_;
	$iterations //= 5;
	return "SELECT recsys.train_als(u, i, v, '{\"factors\": 16, "
	  . "\"iterations\": $iterations, \"seed\": $seed}') FROM ratings";
}

# Train the models the test serves, keeping each in the archive.
for my $seed (1 .. 8)
{
	$node->safe_psql('postgres',
		"INSERT INTO archive SELECT $seed, m FROM (" . training($seed) . ") s(m)");
}
$node->safe_psql(
	'postgres', q{
INSERT INTO models (name, model) SELECT 'movies', model FROM archive WHERE seed = 1;
INSERT INTO models (name, model)
SELECT 'tiny' || k, recsys.train_als(u, i, v, format('{"factors": 2, "iterations": 3, "seed": %s}', k)::jsonb)
FROM tiny, generate_series(1, 3) AS k GROUP BY k;
});

my ($model_bytes, $tiny_bytes) = split /\|/,
  $node->safe_psql('postgres',
	"SELECT max(length(model)) FILTER (WHERE name = 'movies'), max(length(model)) FILTER (WHERE name LIKE 'tiny%') FROM models"
  );
note "model size: $model_bytes bytes; tiny models: up to $tiny_bytes bytes";
cmp_ok($model_bytes, '>', 100_000, 'the served model is stored out of line');
# in line: the row stays under the TOAST threshold of about 2 kB
cmp_ok($tiny_bytes, '<', 1900, 'the tiny models are stored in line');

# What a reader sees: the model's id, a digest of predictions over the probe
# pairs (float8 output is exact, so equal models give equal text), and a
# top-5 with scores.
my $probe = q{
SELECT recsys.model_info(m.model)->>'model_id',
       (SELECT md5(string_agg(recsys.predict(m.model, p.u, p.i)::text, ',' ORDER BY p.u, p.i))
        FROM probe p),
       (SELECT string_agg(r.item_id || ':' || r.score, ',') FROM recsys.recommend(m.model, 7, 5) r)
FROM models m WHERE m.name = 'movies'};

# The reference: a new session (hence an empty cache) per model.
my %expected;
for my $seed (1 .. 8)
{
	$expected{$seed} = $node->safe_psql('postgres',
		$probe =~ s/FROM models m WHERE m.name = 'movies'/FROM archive m WHERE m.seed = $seed/r);
}
my %id_of = map { (split /\|/, $expected{$_})[0] => $_ } keys %expected;
is(scalar(keys %id_of), 8, 'every training has its own model id');

# Readers: one with the default cache, one without a cache.
my %readers = (
	cached => $node->background_psql('postgres', on_error_stop => 0),
	uncached => $node->background_psql('postgres', on_error_stop => 0),);
$readers{uncached}->query_safe('SET recsys.model_cache_size = 0');

# Checks that every reader answers with the model trained with $seed.
sub readers_see
{
	my ($seed, $what) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	for my $name (sort keys %readers)
	{
		my $got = $readers{$name}->query_safe($probe);
		my ($id) = split /\|/, $got;
		is($id_of{$id} // 'an unknown model', $seed,
			"$what: the $name reader serves model $seed");
		is($got, $expected{$seed},
			"$what: the $name reader's answers are model ${seed}'s");
	}
}

readers_see(1, 'initially');
# Set before the library was loaded, the setting still applies once it is.
is($readers{cached}->query_safe('SHOW recsys.model_cache_size'),
	'256MB', 'the default model cache is 256MB');
is($readers{uncached}->query_safe('SHOW recsys.model_cache_size'),
	'0', 'the model cache can be turned off');
readers_see(1, 'again');

# Rounds of replacement.  The writer trains and upserts in a transaction;
# the readers keep serving meanwhile and until the commit, then switch.
my $writer = $node->background_psql('postgres');
my $previous = 1;
for my $seed (2, 3, 4)
{
	my $round = "round $seed";
	$writer->query_safe('BEGIN');
	# Send the upsert without waiting; a longer training gives the readers
	# time to serve while it runs.
	$writer->{stdout} = '';
	$writer->{stdin} .=
	    "INSERT INTO models (name, model) SELECT 'movies', m FROM ("
	  . training($seed + 100, 40)
	  . ") s(m) ON CONFLICT (name) DO UPDATE SET model = excluded.model, trained_at = now();\n"
	  . "\\echo upserted\n";
	my $served = 0;
	my $all_old = 1;
	do
	{
		for my $name (sort keys %readers)
		{
			$all_old = 0
			  unless $readers{$name}->query_safe($probe) eq
			  $expected{$previous};
			$served++;
		}
		$writer->{run}->pump_nb;
	} until ($writer->{stdout} =~ /upserted/ || $served > 2000);
	note "$round: the readers answered $served queries during the training";
	like($writer->{stdout}, qr/upserted/, "$round: the writer upserted the model");
	$writer->{stdout} = '';
	is($writer->{stderr}, '', "$round: the upsert raised nothing");
	ok($all_old, "$round: while training, readers served the old model");

	# Uncommitted: still the old model.  Then in the writer's own
	# transaction, the new one.
	readers_see($previous, "$round, uncommitted");
	my $new_info = $writer->query_safe(
		"SELECT recsys.model_info(model)->>'model_id' FROM models WHERE name = 'movies'");
	ok(!exists $id_of{$new_info}, "$round: the writer sees its new model");

	# A repeatable-read reader keeps its snapshot's model across the commit.
	my $rr = $readers{cached};
	$rr->query_safe('BEGIN ISOLATION LEVEL REPEATABLE READ');
	is($rr->query_safe($probe), $expected{$previous},
		"$round: a repeatable-read transaction serves the old model");

	$writer->query_safe('COMMIT');

	is($rr->query_safe($probe), $expected{$previous},
		"$round: after the commit, the repeatable-read snapshot still serves the old model"
	);
	$rr->query_safe('COMMIT');

	# Put the archived model of this seed in place, so its answers are known;
	# this is a new value of the row, with the model of a different training.
	$expected{new} = $node->safe_psql('postgres', $probe);
	my ($committed_id) = split /\|/, $expected{new};
	is($committed_id, $new_info, "$round: the committed model is the writer's");
	for my $name (sort keys %readers)
	{
		is($readers{$name}->query_safe($probe),
			$expected{new},
			"$round: after the commit, the $name reader serves the new model");
	}
	$node->safe_psql('postgres',
		"UPDATE models SET model = a.model FROM archive a WHERE a.seed = $seed AND name = 'movies'"
	);
	readers_see($seed, "$round, archived model put back");
	$previous = $seed;
}

# After VACUUM removed the old row versions and their TOAST values.
$node->safe_psql('postgres', 'VACUUM models');
readers_see($previous, 'after VACUUM');

# An earlier model put back (its id is in the cached reader's cache already).
$node->safe_psql('postgres',
	"UPDATE models SET model = a.model FROM archive a WHERE a.seed = 1 AND name = 'movies'");
readers_see(1, 'the first model restored');

# One statement switching between models on every row: the call site moves
# between out-of-line and in-line values of different models.
my $switching = q{
SELECT md5(string_agg(name || ':' || recsys.predict(model, g % 12, g % 9)
                      || ':' || (SELECT string_agg(item_id::text, ',')
                                 FROM recsys.recommend(model, g % 10, 3)),
                      ',' ORDER BY g, name))
FROM (SELECT g, name, model FROM models, generate_series(1, 200) AS g
      ORDER BY g, name OFFSET 0) s};
my $switching_expected = $node->safe_psql('postgres', $switching);
for my $name (sort keys %readers)
{
	is($readers{$name}->query_safe($switching),
		$switching_expected,
		"alternating models row by row: the $name reader's answers are right");
}
is( $node->safe_psql(
		'postgres', "SET recsys.model_cache_size = 0; $switching"),
	$switching_expected,
	'alternating models row by row: right without a cache from the start');

# The cache holds decoded models in "recsys model" memory contexts.
sub cached_models
{
	my ($session) = @_;
	return split /\|/,
	  $session->query_safe(
		"SELECT count(*), coalesce(sum(total_bytes), 0) FROM pg_backend_memory_contexts WHERE name = 'recsys model'"
	  );
}
my ($n_cached) = cached_models($readers{cached});
cmp_ok($n_cached, '>=', 4,
	"the cached reader keeps the models it served ($n_cached)");
my ($n_uncached) = cached_models($readers{uncached});
is($n_uncached, 0,
	'with recsys.model_cache_size = 0 no model stays decoded between queries');

# A budget of 1MB holds a few of the eight archived models, least recently
# used out first, and answers stay right.
my $all_models = q{
SELECT md5(string_agg(recsys.predict(model, 5, 5)::text || '/' || recsys.predict(model, 401, 3), ',' ORDER BY seed))
FROM archive};
my $all_expected = $node->safe_psql('postgres', $all_models);
my $budget = $node->background_psql('postgres');
$budget->query_safe("SET recsys.model_cache_size = '1MB'");
for my $pass (1 .. 3)
{
	is($budget->query_safe($all_models),
		$all_expected, "a 1MB cache, pass $pass: the answers are right");
	my ($n, $bytes) = cached_models($budget);
	note "a 1MB cache, pass $pass: $n models kept in $bytes bytes";
	cmp_ok($n, '>=', 1, "a 1MB cache, pass $pass: some models stay decoded");
	cmp_ok($n, '<', 8, "a 1MB cache, pass $pass: not all eight stay decoded");
	cmp_ok($bytes, '<=', 1.25 * 1024 * 1024,
		"a 1MB cache, pass $pass: the decoded models fit about 1MB");
}
# Shrinking the budget evicts at the next use.
$budget->query_safe('SET recsys.model_cache_size = 0');
is($budget->query_safe($all_models),
	$all_expected, 'the cache turned off mid-session: the answers are right');
is((cached_models($budget))[0], 0,
	'the cache turned off mid-session: the decoded models are freed');
$budget->quit;

# The same model stored every way a large bytea can be: out of line
# uncompressed (EXTERNAL) or compressed (EXTENDED, MAIN).  The copies are new
# values ("|| ''"), so that each column's storage applies rather than the
# archive's compressed form.
$node->safe_psql(
	'postgres', q{
CREATE TABLE stored (how text, model bytea);
ALTER TABLE stored ALTER COLUMN model SET STORAGE EXTERNAL;
INSERT INTO stored SELECT 'external', model || '\x'::bytea FROM archive WHERE seed = 2;
ALTER TABLE stored ALTER COLUMN model SET STORAGE EXTENDED;
INSERT INTO stored SELECT 'extended', model || '\x'::bytea FROM archive WHERE seed = 2;
ALTER TABLE stored ALTER COLUMN model SET STORAGE MAIN;
INSERT INTO stored SELECT 'main', model || '\x'::bytea FROM archive WHERE seed = 2;
});
# Whether pglz finds the factors worth compressing depends on the model; an
# EXTERNAL column never compresses.
like( $node->safe_psql(
		'postgres',
		q{SELECT string_agg(how || ':' || coalesce(pg_column_compression(model), 'none'), ',' ORDER BY how) FROM stored}
	),
	qr/^extended:(pglz|none),external:none,main:(pglz|none)$/,
	'the copies are stored compressed or not as their column allows');
# ... and a copy made in memory by the query itself.  Every copy has the
# same identity, so each is read by a query of its own: the uncached reader
# decodes each one from its own storage.
my $reference = (split /\|/, $expected{2})[1];
for my $how ('extended', 'external', 'main', 'in memory')
{
	my $stored_probe = qq{
SELECT md5(string_agg(recsys.predict(s.model, p.u, p.i)::text, ',' ORDER BY p.u, p.i))
FROM probe p,
     (SELECT how, model FROM stored
      UNION ALL
      SELECT 'in memory', model || '\\x'::bytea FROM archive WHERE seed = 2) s
WHERE s.how = '$how'};
	is($readers{$_}->query_safe($stored_probe),
		$reference, "storage $how: the $_ reader's answers are the model's")
	  for sort keys %readers;
}

# A value whose payload was damaged after its identity was cached.  Served
# fresh, it is rejected; a backend that holds the intact model decoded
# answers from it (the identity is checked, the payload is not read again),
# never from the damaged bytes.
my $damaged = q{
SELECT recsys.predict(set_byte(model, 5000, (get_byte(model, 5000) + 1) % 256), 7, 7)
FROM archive WHERE seed = 3};
my $intact = $node->safe_psql('postgres',
	'SELECT recsys.predict(model, 7, 7) FROM archive WHERE seed = 3');
my ($ret, $out, $err) = $node->psql('postgres', $damaged);
like($err, qr/invalid recsys model/, 'a damaged model is rejected when decoded');
$readers{cached}->query_safe('SELECT recsys.predict(model, 7, 7) FROM archive WHERE seed = 3');
($out, $ret) = $readers{cached}->query($damaged);
my $cached_err = $readers{cached}->{stderr};
$readers{cached}->{stderr} = '';
is($ret, 0, 'a damaged copy of a cached model is not an error') or diag $cached_err;
is($out, $intact,
	'a damaged copy of a cached model is answered by the intact model, not by its bytes');

$_->quit for values %readers;
$writer->quit;

$node->stop;
unlike(
	slurp_file($node->logfile),
	qr/terminated by signal|was terminated|PANIC|TRAP/,
	'no server process crashed');

done_testing();
