# Corrupt, truncated and foreign model values must give a clean ERROR with a
# known SQLSTATE, or an answer, from every serving function: never a crash.
# The model format promises that every value is validated (sizes against the
# length, a CRC-32C of every byte, ids sorted, indices in range) before use.
#
# Most variants are made inside the server from the stored models, with a
# fixed seed, so thousands of them go through one statement.  Those break the
# checksum, which alone rejects them; so a second set, made here, carries a
# recomputed CRC-32C, and reaches the validation of every field behind it.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('corruption');
$node->init;
$node->start;

$node->safe_psql('postgres', 'CREATE EXTENSION recsys');
my $postmaster_started =
  $node->safe_psql('postgres', 'SELECT pg_postmaster_start_time()');

# Small data: 60 users, 40 items, a third of the pairs rated; feature rows
# for the network; the pairs again as events in an order for the sequence
# model, some seen twice, most users' last events more than its max_length.
# Every model is a few kilobytes.
$node->safe_psql(
	'postgres', q{
CREATE TABLE ratings (u bigint NOT NULL, i bigint NOT NULL, v real NOT NULL);
INSERT INTO ratings
SELECT u, i, (1 + (u * 7 + i * 3) % 5)::real
FROM generate_series(1, 60) AS u, generate_series(1, 40) AS i
WHERE (hashint8(u * 1000 + i) & 3) = 0 OR (u + i) % 7 = 0;
CREATE TABLE rows (f real[] NOT NULL, label real NOT NULL);
INSERT INTO rows
SELECT ARRAY[sin(g), cos(g * 0.7), (g % 5)::real]::real[], ((g % 3) = 0)::int::real
FROM generate_series(1, 300) AS g;
CREATE TABLE models (kind text PRIMARY KEY, model bytea NOT NULL);
INSERT INTO models
SELECT 'als', recsys.train_als(u, i, v, '{"factors": 4, "iterations": 3, "seed": 1}') FROM ratings
UNION ALL
SELECT 'implicit_als', recsys.train_als(u, i, v, '{"feedback": "implicit", "factors": 4, "iterations": 3}') FROM ratings
UNION ALL
SELECT 'bpr', recsys.train_bpr(u, i, '{"factors": 4, "epochs": 3, "threads": 1}') FROM ratings
UNION ALL
SELECT 'knn', recsys.train_knn(u, i, v, '{"neighbors": 10}') FROM ratings
UNION ALL
SELECT 'ease', recsys.train_ease(u, i, '{"lambda": 50}') FROM ratings
UNION ALL
SELECT 'ease_pruned', recsys.train_ease(u, i, '{"lambda": 50, "prune": 5}') FROM ratings
UNION ALL
SELECT 'hybrid', recsys.train_hybrid(u, i, 1, ARRAY['g' || u % 3], ARRAY['t' || i % 5, 'c' || i % 2],
                                     '{"factors": 4, "epochs": 2}') FROM ratings
UNION ALL
SELECT 'ncf', recsys.train_ncf(u, i, '{"factors": 4, "layers": [8, 4], "epochs": 2}') FROM ratings
UNION ALL
SELECT 'sequence', recsys.train_sequence(u, i, at, '{"factors": 4, "heads": 2, "max_length": 5, "epochs": 2}')
FROM (SELECT u, i, (u * 7 + i * 13) % 17 AS at FROM ratings
      UNION ALL SELECT u, i, 100 FROM ratings WHERE i % 5 = 0) events
UNION ALL
SELECT 'mlp', recsys.train_mlp(f, label, '{"hidden": [8], "epochs": 2}') FROM rows;
});

my %size = split /[|\n]/,
  $node->safe_psql('postgres',
	'SELECT kind, length(model) FROM models ORDER BY kind');
note 'model sizes: ' . join(', ', map { "$_ $size{$_}" } sort keys %size);
is(scalar(keys %size), 10, 'a model of each kind is trained');

# Each call in a subtransaction: 'ok' for an answer, else the SQLSTATE.
# A user and an item that the models know are asked about; the sequence
# model is also served from a history, most recent first, with a repeat.
$node->safe_psql(
	'postgres', q{
CREATE FUNCTION attempt(fn text, m bytea) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    CASE fn
    WHEN 'predict' THEN PERFORM recsys.predict(m, 3, 5);
    WHEN 'recommend' THEN PERFORM count(*) FROM recsys.recommend(m, 3, 5);
    WHEN 'explain' THEN PERFORM count(*) FROM recsys.explain(m, 3, 5);
    WHEN 'model_info' THEN PERFORM recsys.model_info(m)::text;
    WHEN 'predict_features' THEN PERFORM recsys.predict(m, ARRAY[0.5, 0.5, 1]::real[]);
    WHEN 'predict_tags' THEN PERFORM recsys.predict(m, 3, ARRAY['t1', 'c0']);
    WHEN 'recommend_tags' THEN PERFORM count(*) FROM recsys.recommend(m, ARRAY['g1'], 5);
    WHEN 'explain_features' THEN PERFORM count(*) FROM recsys.explain_features(m, 3, 5);
    WHEN 'predict_history' THEN PERFORM recsys.predict(m, ARRAY[8, 5, 3, 5]::bigint[], 5);
    WHEN 'recommend_history' THEN PERFORM count(*) FROM recsys.recommend(m, ARRAY[8, 5, 3, 5]::bigint[], 5);
    WHEN 'explain_history' THEN PERFORM count(*) FROM recsys.explain(m, ARRAY[8, 5, 3, 5]::bigint[], 5, 3);
    END CASE;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE;
END $$;
CREATE TABLE fns (fn text);
INSERT INTO fns VALUES ('predict'), ('recommend'), ('explain'), ('model_info'), ('predict_features'),
                       ('predict_tags'), ('recommend_tags'), ('explain_features'),
                       ('predict_history'), ('recommend_history'), ('explain_history');
});

# What the intact models answer, to know which errors a kind gives anyway
# (explain of an NCF model, predict(u, i) of a network...).
my $intact = $node->safe_psql(
	'postgres', q{
SELECT string_agg(kind || ':' || fn || '=' || attempt(fn, model), ' ' ORDER BY kind, fn)
FROM models, fns});
note "intact models: $intact";
unlike($intact, qr/:(?:predict|recommend|model_info)=(?!ok|0A000)/,
	'the intact models are served');
like($intact, qr/mlp:predict_features=ok/,
	'the intact network is served');
like($intact,
	qr/sequence:explain_history=ok .*sequence:predict_history=ok .*sequence:recommend_history=ok/,
	'the intact sequence model is served from a history');
like($intact, qr/als:explain_history=0A000 .*als:predict_history=0A000/,
	'the history functions of sequence models refuse another kind (0A000)');

# --- Variants made in the server, with a fixed seed.  Each keeps its kind and
# how it was made; variants equal to their model are dropped.
my $header = 624;    # sizeof(rs_model_header), format version 2
$node->safe_psql(
	'postgres', qq{
SELECT setseed(0.3141);
CREATE TABLE variants (kind text, how text, v bytea);
-- random bytes, in blocks of 16 (md5 gives 16 bytes)
CREATE FUNCTION noise(n int) RETURNS bytea LANGUAGE sql AS \$\$
    SELECT substr(coalesce(string_agg(decode(md5(random()::text), 'hex'), ''::bytea), ''::bytea), 1, n)
    FROM generate_series(0, n / 16)
\$\$ VOLATILE;
-- truncations: every length up to the end of the header region and past it
-- (in steps of 1 up to 64, then on every 8-byte boundary), then random ones
INSERT INTO variants
SELECT kind, 'truncated', substr(model, 1, n)
FROM models, generate_series(0, $header + 16) AS n
WHERE n < length(model) AND (n < 64 OR n % 8 = 0);
INSERT INTO variants
SELECT kind, 'truncated', substr(model, 1, (random() * (length(model) - 1))::int)
FROM models, generate_series(1, 20);
INSERT INTO variants
SELECT kind, 'truncated', substr(model, 1, length(model) - d)
FROM models, unnest(ARRAY[1, 4, 7, 8, 9]) AS d;
-- one bit flipped in every byte of the header, a random bit of each
INSERT INTO variants
SELECT kind, 'header bit', set_bit(model, b * 8 + (random() * 7)::int,
                                   1 - get_bit(model, b * 8 + (random() * 7)::int))
FROM models, generate_series(0, $header - 1) AS b;
-- and random bits anywhere
INSERT INTO variants
SELECT kind, 'random bit', set_bit(model, p, 1 - get_bit(model, p))
FROM (SELECT kind, model, (random() * (length(model) * 8 - 1))::int AS p
      FROM models, generate_series(1, 40)) s;
-- two 64-byte blocks swapped (sections end up at each other's offsets)
INSERT INTO variants
SELECT kind, 'blocks swapped',
       overlay(overlay(model placing substr(model, b + 1, 64) from a + 1)
               placing substr(model, a + 1, 64) from b + 1)
FROM (SELECT kind, model,
             64 * (random() * (length(model) / 64 - 2))::int AS a,
             64 * (random() * (length(model) / 64 - 2))::int AS b
      FROM models, generate_series(1, 15)) s
WHERE a + 64 <= b;
-- every 64-byte block after the header shuffled
INSERT INTO variants
SELECT kind, 'blocks shuffled',
       substr(model, 1, $header)
       || (SELECT string_agg(substr(model, o + 1, 64), ''::bytea ORDER BY random())
           FROM generate_series($header, length(model) - 1, 64) AS o)
FROM models, generate_series(1, 5);
-- random bytes of the model's length; and the model's header on them
INSERT INTO variants
SELECT kind, 'random bytes', noise(length(model)) FROM models, generate_series(1, 5);
INSERT INTO variants
SELECT kind, 'header on noise', substr(model, 1, $header) || noise(length(model) - $header)
FROM models, generate_series(1, 5);
-- another kind's model behind this one's header
INSERT INTO variants
SELECT a.kind, 'foreign payload', substr(a.model, 1, $header) || substr(b.model, $header + 1)
FROM models a JOIN models b ON a.kind <> b.kind;
DELETE FROM variants v USING models m WHERE v.kind = m.kind AND v.v = m.model;
});

# --- Variants with a valid checksum, made here: the CRC-32C of every byte but
# the checksum's own four (at offset 32) is written back.
my @crc_table;
for my $n (0 .. 255)
{
	my $c = $n;
	$c = ($c & 1) ? (($c >> 1) ^ 0x82F63B78) : ($c >> 1) for 1 .. 8;
	$crc_table[$n] = $c;
}

sub crc32c
{
	my ($bytes) = @_;
	my $crc = 0xFFFFFFFF;
	$crc = $crc_table[ ($crc ^ $_) & 0xFF ] ^ ($crc >> 8)
	  for unpack('C*', $bytes);
	return $crc ^ 0xFFFFFFFF;
}

sub with_checksum
{
	my ($m) = @_;
	substr($m, 32, 4) = pack('V', crc32c(substr($m, 0, 32) . substr($m, 36)));
	return $m;
}

my %model = map {
	my ($kind, $hex) = split /\|/;
	($kind => pack('H*', substr($hex, 2)))
  } split /\n/,
  $node->safe_psql('postgres', 'SELECT kind, model FROM models ORDER BY kind');
# The recomputed checksum of an intact model is the one it has.
is(unpack('H*', with_checksum($model{als})),
	unpack('H*', $model{als}), 'the checksum is computed as the server does');

srand(2718);
my @checked;    # [kind, how, bytes]
for my $kind (sort keys %model)
{
	my $m = $model{$kind};
	my $len = length $m;
	# Every 4-byte field of the header after the checksum set to values that
	# should be refused: 0, -1, huge, one off the length.  The fields of the
	# shape and parameters (up to offset 112) get each value, the section
	# table (offsets and sizes) one of them; and a bit flipped in a third.
	for (my $off = 36; $off < $header; $off += 4)
	{
		my @values = (0, 0xFFFFFFFF, 0x7FFFFFFF, $len + 1, 0x80000000);
		@values = ($values[ int(rand(@values)) ]) if $off >= 112;
		for my $value (@values)
		{
			my $v = $m;
			substr($v, $off, 4) = pack('V', $value);
			push @checked, [ $kind, 'field set', with_checksum($v) ]
			  if $v ne $m;
		}
		next if rand() > 0.33;
		my $v = $m;
		vec($v, $off * 8 + int(rand(32)), 1) ^= 1;
		push @checked, [ $kind, 'field bit', with_checksum($v) ];
	}
	# Bits flipped in the payload: ids out of order, indices out of range,
	# odd floats.
	for (1 .. 30)
	{
		my $v = $m;
		vec($v, $header * 8 + int(rand(($len - $header) * 8)), 1) ^= 1;
		push @checked, [ $kind, 'payload bit', with_checksum($v) ];
	}
	# Whole payload words set to 0xFF..: NaN factors, huge indices.
	for (1 .. 10)
	{
		my $v = $m;
		substr($v, $header + 8 * int(rand(($len - $header) / 8 - 1)), 8) =
		  "\xff" x 8;
		push @checked, [ $kind, 'payload word', with_checksum($v) ];
	}
	# Another kind's header on this payload, the length fixed up.
	for my $other (sort keys %model)
	{
		next if $other eq $kind;
		my $v = substr($model{$other}, 0, $header) . substr($m, $header);
		substr($v, 24, 8) = pack('Q<', length $v);
		push @checked, [ $kind, 'foreign header', with_checksum($v) ];
	}
}
# Sent as hex literals, in batches.
$node->safe_psql('postgres',
	"CREATE TABLE checked_variants (kind text, how text, v bytea)");
while (my @batch = splice(@checked, 0, 200))
{
	$node->safe_psql('postgres',
		'INSERT INTO checked_variants VALUES '
		  . join(',',
			map { "('$_->[0]', '$_->[1]', '\\x" . unpack('H*', $_->[2]) . "')" }
			  @batch));
}

my ($n_variants, $n_checked) = split /\|/,
  $node->safe_psql('postgres',
	'SELECT (SELECT count(*) FROM variants), (SELECT count(*) FROM checked_variants)');
note "$n_variants variants made in the server, $n_checked with a valid checksum";
cmp_ok($n_variants + $n_checked, '>=', 1000, 'at least 1000 variants');

# The functions a kind is served by; the network also by predict(u, i),
# which must refuse it; the sequence model also from a history.
my $calls = q{
CREATE TABLE outcomes AS
SELECT '%s'::text AS variant_set, v.kind, v.how, f.fn, attempt(f.fn, v.v) AS outcome
FROM %s v JOIN fns f
  ON (f.fn <> 'predict_features' OR v.kind = 'mlp')
 AND (f.fn NOT LIKE '%%\_history' OR v.kind = 'sequence')};

# A new session, that never decoded the intact models: nothing can come from
# the cache of decoded models.
$node->safe_psql('postgres', sprintf($calls, 'unchecked', 'variants'));
$node->safe_psql('postgres',
	sprintf($calls =~ s/CREATE TABLE outcomes AS/INSERT INTO outcomes/r,
		'checked', 'checked_variants'));

# A session that has every intact model decoded: a damaged copy whose
# identity (id, length, checksum) is intact may be answered from the cache,
# by design.  The answers come from the intact model, so they are results too.
$node->safe_psql(
	'postgres',
	q{SELECT count(attempt(fn, model)) FROM models, fns; }
	  . sprintf(
		$calls =~ s/CREATE TABLE outcomes AS/INSERT INTO outcomes/r,
		'unchecked, cached', 'variants'));

my $distribution = $node->safe_psql(
	'postgres', q{
SELECT variant_set, outcome, count(*) FROM outcomes GROUP BY 1, 2 ORDER BY 1, 2});
note "outcomes (variant set | outcome | calls):\n$distribution";
my $by_how = $node->safe_psql(
	'postgres', q{
SELECT variant_set, how, string_agg(outcome || ' ' || n, ', ' ORDER BY outcome)
FROM (SELECT variant_set, how, outcome, count(*) AS n FROM outcomes GROUP BY 1, 2, 3) s
GROUP BY 1, 2 ORDER BY 1, 2});
note "by variant:\n$by_how";

my $total = $node->safe_psql('postgres', 'SELECT count(*) FROM outcomes');
note "$total calls in all";
cmp_ok($total, '>=', 4000, 'every variant went through every function');
# Variants of the sequence model with a valid checksum reached its history
# functions: some refused, others (a changed weight) answered.
my ($seq_refused, $seq_answered) = split /\|/,
  $node->safe_psql(
	'postgres', q{
SELECT count(*) FILTER (WHERE outcome = '22P03'), count(*) FILTER (WHERE outcome = 'ok')
FROM outcomes WHERE kind = 'sequence' AND fn LIKE '%\_history' AND variant_set = 'checked'});
note "sequence model's history functions on variants with a valid checksum: "
  . "$seq_refused refused, $seq_answered answered";
cmp_ok($seq_refused, '>', 100, 'damaged sequence models are refused from a history');
cmp_ok($seq_answered, '>', 10, 'sequence models with a changed payload still answer');

# Known outcomes: an answer; invalid recsys model (22P03); a bad argument
# (22023), such as a feature vector of the wrong length for a damaged
# network (2202E); a function the model's kind does not support (0A000).
my $unexpected = $node->safe_psql(
	'postgres', q{
SELECT string_agg(DISTINCT kind || ' ' || how || ' ' || fn || ': ' || outcome, '; ')
FROM outcomes WHERE outcome NOT IN ('ok', '22P03', '22023', '2202E', '0A000')});
is($unexpected, '', 'every call answers or raises a known SQLSTATE');

# Without the cache, a variant whose checksum does not match is never
# answered.
is( $node->safe_psql(
		'postgres', q{
SELECT count(*) FROM outcomes WHERE variant_set = 'unchecked' AND outcome = 'ok'}),
	'0', 'a variant with a broken checksum is always refused');
cmp_ok(
	$node->safe_psql(
		'postgres',
		q{SELECT count(*) FROM outcomes WHERE variant_set = 'unchecked' AND outcome = '22P03'}
	),
	'>',
	$n_variants * 3,
	'... mostly as an invalid recsys model (22P03)');
# A truncated value at least is always refused, cache or not: its length is
# not the model's.
is( $node->safe_psql(
		'postgres', q{
SELECT count(*) FROM outcomes WHERE how = 'truncated' AND outcome = 'ok'}),
	'0', 'a truncated model is always refused');

# The error names the model as invalid, with a reason.
my ($ret, $out, $err) = $node->psql('postgres',
	q{SELECT recsys.predict(substr(model, 1, 100), 3, 5) FROM models WHERE kind = 'als'});
like($err, qr/ERROR:  invalid recsys model\nDETAIL:  .*: \S/,
	'the error says the model is invalid and why');

# The sequence model's own sections made inconsistent under a valid
# checksum: every function that serves it refuses each with its reason.
# Section s's offset and size are at 112 + 16 s (model.h): MLP_SIZES is 12,
# MLP_WEIGHTS 13, SEQUENCE_PTR 28, SEQUENCE_ITEMS 29.
{
	my $m = $model{sequence};
	my $section = sub { unpack('Q<Q<', substr($m, 112 + 16 * $_[0], 16)) };
	my ($sizes_at) = $section->(12);
	my ($weights_at, $weights_size) = $section->(13);
	my ($ptr_at) = $section->(28);
	my ($items_at, $items_size) = $section->(29);
	my ($n_users, $n_items) = unpack('l<l<', substr($m, 40, 8));
	my @shape = unpack('l<4', substr($m, $sizes_at, 16));
	is(join(',', @shape), '4,2,2,5',
		'the sequence model stores factors, blocks, heads and max_length');
	my @ptr = unpack('Q<' x ($n_users + 1), substr($m, $ptr_at, 8 * ($n_users + 1)));
	is($ptr[$n_users], $items_size / 4, 'its stored events are indexed per user');
	# a user with max_length stored events, followed by one with some
	my ($full) =
	  grep { $ptr[ $_ + 1 ] - $ptr[$_] == 5 && $ptr[ $_ + 2 ] > $ptr[ $_ + 1 ] }
	  0 .. $n_users - 2;
	ok(defined $full, 'a user of the sequence model keeps max_length events');
	$full //= 0;
	my @cases = (
		[   'a stored item out of range',
			sub { substr($_[0], $items_at + 4 * 3, 4) = pack('l<', $n_items) },
			'its stored sequences refer to items it does not have'
		],
		[   'a stored item below 0',
			sub { substr($_[0], $items_at, 4) = pack('l<', -1) },
			'its stored sequences refer to items it does not have'
		],
		[   'a sequence longer than max_length',
			sub {
				substr($_[0], $ptr_at + 8 * ($full + 1), 8) =
				  pack('Q<', $ptr[ $full + 1 ] + 1);
			},
			'its stored sequences are inconsistent'
		],
		[   'the weights a float short',
			sub { substr($_[0], 112 + 16 * 13 + 8, 8) = pack('Q<', $weights_size - 4) },
			"a section's size does not match the model's dimensions"
		],
		[   'three heads of four factors',
			sub { substr($_[0], $sizes_at + 8, 4) = pack('l<', 3) },
			"its network's layer sizes are out of range"
		],
		[   'one block for the weights of two',
			sub { substr($_[0], $sizes_at + 4, 4) = pack('l<', 1) },
			"a section's size does not match the model's dimensions"
		],
		[   'three sizes',
			sub { substr($_[0], 112 + 16 * 12 + 8, 8) = pack('Q<', 12) },
			'its network has an unsupported number of layers'
		],);
	my @served = (
		'SELECT recsys.predict(%s, ARRAY[8, 5, 3]::bigint[], 5)',
		'SELECT count(*) FROM recsys.recommend(%s, ARRAY[8, 5, 3]::bigint[], 5)',
		'SELECT count(*) FROM recsys.explain(%s, ARRAY[8, 5, 3]::bigint[], 5, 3)',
		'SELECT count(*) FROM recsys.recommend(%s, 3, 5)',
		'SELECT recsys.model_info(%s)');
	for my $case (@cases)
	{
		my ($what, $edit, $reason) = @$case;
		my $v = $m;
		$edit->($v);
		$v = with_checksum($v);
		my $literal = "'\\x" . unpack('H*', $v) . "'::bytea";
		for my $sql (@served)
		{
			my ($ret, $out, $err) = $node->psql('postgres', sprintf($sql, $literal));
			like(
				$err,
				qr/ERROR:  invalid recsys model\nDETAIL:  .*\Q$reason\E/,
				"sequence model, $what: " . sprintf($sql, 'model') . ' refused');
		}
	}
}

# The intact models still answer as before.
is( $node->safe_psql(
		'postgres', q{
SELECT string_agg(kind || ':' || fn || '=' || attempt(fn, model), ' ' ORDER BY kind, fn)
FROM models, fns}),
	$intact,
	'the intact models answer as before');

is($node->safe_psql('postgres', 'SELECT pg_postmaster_start_time()'),
	$postmaster_started, 'the server never restarted');
$node->stop;
unlike(
	slurp_file($node->logfile),
	qr/terminated by signal|was terminated|PANIC|TRAP/,
	'no server process crashed');

done_testing();
