# recsys needs no privilege beyond owning a database: it is a trusted
# extension, its functions run as the caller (SECURITY INVOKER), its install
# script resolves nothing through the caller's search_path, and it neither
# writes files nor opens connections.

use strict;
use warnings;

use File::Find;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('privilege');
$node->init;
# No autovacuum: the data directory must only change when the test says so.
$node->append_conf(
	'postgresql.conf', q{
autovacuum = off
track_functions = all
});
$node->start;

# alice owns a database and nothing else; mallory is another user of it.
$node->safe_psql(
	'postgres', q{
CREATE ROLE alice LOGIN;
CREATE ROLE mallory LOGIN;
CREATE DATABASE shop OWNER alice;
});

sub as_alice
{
	my ($sql, %params) = @_;
	return $node->safe_psql('shop', $sql, extra_params => [ '-U', 'alice' ], %params);
}

is(as_alice('SELECT rolsuper OR rolcreaterole OR rolcreatedb FROM pg_roles WHERE rolname = current_user'),
	'f', 'alice has no special attribute');

# mallory's trap: a schema shadowing what an extension script or its SQL
# could name without a schema: the types recsys's functions take and return
# (as domains whose check fires), comparison operators, and functions named
# like the built-ins recsys uses.  Each records its call in evil.calls.
$node->safe_psql(
	'shop', q{
CREATE SCHEMA evil AUTHORIZATION mallory;
SET ROLE mallory;
CREATE TABLE evil.calls (what text, who name DEFAULT current_user);
GRANT INSERT, SELECT ON evil.calls TO PUBLIC;
GRANT USAGE ON SCHEMA evil TO PUBLIC;
CREATE FUNCTION evil.tripwire(what text) RETURNS bool
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog AS $$
BEGIN
    INSERT INTO evil.calls (what) VALUES (what);
    RETURN true;
END $$;
CREATE DOMAIN evil.bytea AS pg_catalog.bytea CHECK (evil.tripwire('domain bytea'));
CREATE DOMAIN evil.jsonb AS pg_catalog.jsonb CHECK (evil.tripwire('domain jsonb'));
CREATE DOMAIN evil.float8 AS pg_catalog.float8 CHECK (evil.tripwire('domain float8'));
CREATE DOMAIN evil.int4 AS pg_catalog.int4 CHECK (evil.tripwire('domain int4'));
CREATE DOMAIN evil.bool AS pg_catalog.bool CHECK (evil.tripwire('domain bool'));
CREATE DOMAIN evil.text AS pg_catalog.text CHECK (evil.tripwire('domain text'));
});
# Operators on every type recsys deals in, and functions by the names of the
# built-ins its C code calls (jsonb_delete, numeric_float8), of the ones its
# SQL surface could use (length, array_length, float8, int8), and of its own
# functions, unqualified.
my @types = qw(bigint integer real float8 text bytea jsonb bigint[] real[]);
my $trap = "SET ROLE mallory;\n";
my %op_names = ('=' => 'eq', '<>' => 'ne', '<' => 'lt', '>' => 'gt', '<=' => 'le', '>=' => 'ge');
for my $op (sort keys %op_names)
{
	for my $type (@types)
	{
		(my $fname = "$op_names{$op}_$type") =~ s/\[\]/_array/g;
		$trap .= qq{
CREATE FUNCTION evil.$fname(a $type, b $type) RETURNS bool
LANGUAGE sql VOLATILE SET search_path = pg_catalog
AS \$\$ SELECT evil.tripwire('$op($type, $type)') AND a OPERATOR(pg_catalog.$op) b \$\$;
CREATE OPERATOR evil.$op (LEFTARG = $type, RIGHTARG = $type, FUNCTION = evil.$fname);
};
	}
}
for my $f (
	'jsonb_delete(jsonb, text) RETURNS jsonb',
	'numeric_float8(numeric) RETURNS float8',
	'float8(numeric) RETURNS float8',
	'int8(integer) RETURNS bigint',
	'length(bytea) RETURNS integer',
	'array_length(anyarray, integer) RETURNS integer',
	'predict(bytea, integer, integer) RETURNS float8',
	'recommend(bytea, integer, integer) RETURNS SETOF record',
	'model_info(bytea) RETURNS jsonb')
{
	my ($name) = $f =~ /^(\w+)/;
	my $return = $f =~ /SETOF/ ? 'RETURN' : 'RETURN NULL';
	$trap .= qq{
CREATE FUNCTION evil.$f
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog
AS \$\$ BEGIN PERFORM evil.tripwire('function $name'); $return; END \$\$;
};
}
$node->safe_psql('shop', $trap);

# alice's data, in plain SQL.
as_alice(
	q{
CREATE TABLE ratings (u bigint NOT NULL, i bigint NOT NULL, v real NOT NULL);
INSERT INTO ratings
SELECT u, i, (1 + (u * 7 + i * 3) % 5)::real
FROM generate_series(1, 60) AS u, generate_series(1, 40) AS i
WHERE (u + i) % 3 = 0;
CREATE TABLE examples (features real[] NOT NULL, label real NOT NULL);
INSERT INTO examples
SELECT ARRAY[(g % 5) / 5.0, (g % 3) / 3.0]::real[], (g % 5 > 2)::int
FROM generate_series(1, 200) AS g;
CREATE TABLE models (name text PRIMARY KEY, model bytea NOT NULL);
});

# From here on alice works with mallory's schema first in her search_path,
# before pg_catalog, and writes every operator and type she uses herself
# with its schema.
my $hostile = "SET search_path = evil, pg_catalog, public;\n";

# The trap works: an unqualified comparison in that search_path is mallory's.
$node->safe_psql('shop',
	"SET search_path = evil, pg_catalog, public; SELECT 1::bigint = 1::bigint");
is($node->safe_psql('shop', 'SELECT string_agg(what, \',\') FROM evil.calls'),
	'=(bigint, bigint)', 'the trap fires on an unqualified comparison');
$node->safe_psql('shop', 'TRUNCATE evil.calls');

# The upgrade scripts run in the same conditions: install the first version,
# update through every script, and drop it again.
is( as_alice(
		$hostile . q{
CREATE EXTENSION recsys VERSION '0.1.0';
ALTER EXTENSION recsys UPDATE;
SELECT extversion FROM pg_extension WHERE extname = 'recsys';
DROP EXTENSION recsys;}),
	$node->safe_psql('shop',
		q{SELECT default_version FROM pg_available_extensions WHERE name = 'recsys'}),
	'alice installs the first version and updates it to the default one');
is($node->safe_psql('shop', 'SELECT count(*) FROM evil.calls'),
	0, "installing and updating called none of mallory's objects");

as_alice($hostile . 'CREATE EXTENSION recsys');
is( as_alice(
		q{SELECT extowner::regrole FROM pg_extension WHERE extname = 'recsys'}),
	'alice',
	'a database owner without superuser creates the trusted extension');

# The extension's functions, from its membership.
my $functions = q{
FROM (SELECT p.* FROM pg_proc p JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid
      WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
        AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'recsys')) p
WHERE true};
my $n_functions = as_alice("SELECT count(*) $functions");
cmp_ok($n_functions, '>=', 40, "the extension has its functions ($n_functions)");
is(as_alice("SELECT count(*) $functions AND p.prosecdef"),
	0, 'every recsys function is SECURITY INVOKER');
is(as_alice("SELECT count(*) $functions AND p.proconfig IS NOT NULL"),
	0, 'no recsys function sets a configuration parameter');
is( as_alice(
		"SELECT string_agg(DISTINCT p.pronamespace::regnamespace::text, ',') $functions"),
	'recsys',
	'every recsys function is in schema recsys');
# The types the script named unqualified are the built-in ones, not
# mallory's domains.
is( as_alice(
		qq{SELECT string_agg(DISTINCT format('%s: %s', p.oid::regprocedure, t.oid::regtype), ', ')
FROM (SELECT p.* $functions) p
CROSS JOIN LATERAL unnest(p.proargtypes::oid[] || p.prorettype) a(t) JOIN pg_type t ON t.oid = a.t
WHERE t.typnamespace <> 'pg_catalog'::regnamespace}
	),
	'',
	'every argument and result type of a recsys function is a built-in type');
is( as_alice(
		q{SELECT count(*) FROM pg_aggregate a JOIN pg_proc p ON p.oid = a.aggfnoid
		  WHERE p.pronamespace = 'recsys'::regnamespace
		    AND (SELECT pronamespace FROM pg_proc WHERE oid = a.aggtransfn) <> 'recsys'::regnamespace}),
	0,
	"every recsys aggregate's transition function is recsys's");

# Training: every aggregate, as alice, in the hostile search_path.
as_alice(
	$hostile . q{
INSERT INTO models SELECT 'als', recsys.train_als(u, i, v, '{"factors": 4, "iterations": 3}') FROM ratings;
INSERT INTO models SELECT 'plain', recsys.train_als(u, i, v) FROM ratings;
INSERT INTO models SELECT 'bpr', recsys.train_bpr(u, i, '{"factors": 4, "epochs": 2}') FROM ratings;
INSERT INTO models SELECT 'bpr_plain', recsys.train_bpr(u, i) FROM ratings;
INSERT INTO models SELECT 'knn', recsys.train_knn(u, i, v, '{"neighbors": 5}') FROM ratings;
INSERT INTO models SELECT 'knn_plain', recsys.train_knn(u, i, v) FROM ratings;
INSERT INTO models SELECT 'ease', recsys.train_ease(u, i, '{"lambda": 10}') FROM ratings;
INSERT INTO models SELECT 'ease_plain', recsys.train_ease(u, i) FROM ratings;
INSERT INTO models SELECT 'ncf', recsys.train_ncf(u, i, '{"factors": 4, "layers": [8, 4], "epochs": 1}') FROM ratings;
INSERT INTO models SELECT 'ncf_plain', recsys.train_ncf(u, i) FROM ratings;
INSERT INTO models SELECT 'hybrid', recsys.train_hybrid(u, i, v, '{g1}'::pg_catalog.text[], '{t1, t2}'::pg_catalog.text[],
                                                         '{"factors": 4, "epochs": 2}') FROM ratings;
INSERT INTO models SELECT 'hybrid_plain', recsys.train_hybrid(u, i, v, '{g1}'::pg_catalog.text[], '{t1, t2}'::pg_catalog.text[]) FROM ratings;
INSERT INTO models SELECT 'sequence', recsys.train_sequence(u, i, i, '{"factors": 4, "epochs": 2}') FROM ratings;
INSERT INTO models SELECT 'sequence_plain', recsys.train_sequence(u, i, pg_catalog.to_timestamp(u OPERATOR(pg_catalog.*) i)) FROM ratings;
INSERT INTO models SELECT 'mlp', recsys.train_mlp(features, label, '{"hidden": [4], "epochs": 2}') FROM examples;
INSERT INTO models SELECT 'mlp_plain', recsys.train_mlp(features, label) FROM examples;
CREATE TABLE public.history (name pg_catalog.text, version pg_catalog.int4, model pg_catalog.bytea,
                             trained_at pg_catalog.timestamptz, info pg_catalog.jsonb);
CALL recsys.retrain('models', 'retrained',
                    $$SELECT recsys.train_als(u, i, v, '{"factors": 4, "iterations": 3}') FROM ratings$$,
                    'SELECT u, i FROM ratings WHERE u OPERATOR(pg_catalog.<) 5', 'history', 2);
});
is( as_alice(
		q{SELECT string_agg(name || ':' || (recsys.model_info(model)->>'algorithm'), ',' ORDER BY name) FROM models}
	),
	'als:als,bpr:bpr,bpr_plain:bpr,ease:ease,ease_plain:ease,hybrid:hybrid,hybrid_plain:hybrid,'
	  . 'knn:knn,knn_plain:knn,'
	  . 'mlp:mlp,mlp_plain:mlp,ncf:ncf,ncf_plain:ncf,plain:als,retrained:als,'
	  . 'sequence:sequence,sequence_plain:sequence',
	'alice trains every kind of model');

# Serving and metrics, every function, with answers checked.
my $model = q{(SELECT model FROM models WHERE name OPERATOR(pg_catalog.=) 'als')};
my $hybrid = q{(SELECT model FROM models WHERE name OPERATOR(pg_catalog.=) 'hybrid')};
my $sequence = q{(SELECT model FROM models WHERE name OPERATOR(pg_catalog.=) 'sequence')};
my %served = (
	'predict' => "SELECT recsys.predict($model, 3, 3) OPERATOR(pg_catalog.>) 0",
	'predict, features' =>
	  "SELECT recsys.predict((SELECT model FROM models WHERE name OPERATOR(pg_catalog.=) 'mlp'), '{0.2, 0.5}') OPERATOR(pg_catalog.>) 0",
	'recommend' => "SELECT count(DISTINCT item_id) FROM recsys.recommend($model, 3, 5)",
	'recommend, history' =>
	  "SELECT count(DISTINCT item_id) FROM recsys.recommend($model, '{3, 6, 9}'::bigint[], '{5, 1, 4}'::real[], 5)",
	'recommend, items' =>
	  "SELECT count(DISTINCT item_id) FROM recsys.recommend((SELECT model FROM models WHERE name OPERATOR(pg_catalog.=) 'bpr'), '{3, 6, 9}'::bigint[], 5)",
	'similar_items' => "SELECT count(*) FROM recsys.similar_items($model, 3, 5)",
	'explain' => "SELECT count(*) OPERATOR(pg_catalog.>) 0 FROM recsys.explain($model, 3, 6, 5)",
	'user_vector' => "SELECT pg_catalog.array_length(recsys.user_vector($model, 3), 1)",
	'item_vector' => "SELECT pg_catalog.array_length(recsys.item_vector($model, 3), 1)",
	'model_info' => "SELECT recsys.model_info($model)->>'users'",
	'ndcg' => "SELECT round(recsys.ndcg('{1, 2, 3}', '{2}', 3)::numeric, 6)",
	'precision_at_k' => "SELECT round(recsys.precision_at_k('{1, 2, 3}', '{2, 3}', 3)::numeric, 6)",
	'recall_at_k' => "SELECT recsys.recall_at_k('{1, 2, 3}', '{2, 3}', 3)",
	'hit_rate' => "SELECT recsys.hit_rate('{1, 2, 3}', '{4}', 3)",
	'average_precision' => "SELECT recsys.average_precision('{1, 2, 3}', '{2}', 3)",
	'evaluate' => "SELECT users FROM recsys.evaluate($model, '{3, 4, 4}', '{3, 5, 6}', 5)",
	'recommend_batch' =>
	  "SELECT count(DISTINCT user_id) FROM recsys.recommend_batch($model, '{3, 6, 9}'::bigint[], 5)",
	'retrain history' =>
	  "SELECT (info OPERATOR(pg_catalog.->) 'holdout' OPERATOR(pg_catalog.->>) 'users') FROM history",
	'predict, item tags' => "SELECT recsys.predict($hybrid, 3, '{t1}'::pg_catalog.text[]) IS NOT NULL",
	'recommend, user tags' =>
	  "SELECT count(DISTINCT item_id) FROM recsys.recommend($hybrid, '{g1}'::pg_catalog.text[], 5)",
	'recommend, user tags and history' =>
	  "SELECT count(DISTINCT item_id) FROM recsys.recommend($hybrid, '{g1}'::pg_catalog.text[], '{3, 6, 9}'::bigint[], '{1, 1, 1}'::real[], 5)",
	'user_vector, tags' =>
	  "SELECT pg_catalog.array_length(recsys.user_vector($hybrid, '{g1}'::pg_catalog.text[]), 1)",
	'item_vector, tags' =>
	  "SELECT pg_catalog.array_length(recsys.item_vector($hybrid, '{t1, t2}'::pg_catalog.text[]), 1)",
	'explain_features' =>
	  "SELECT count(feature) FROM recsys.explain_features($hybrid, 3, 3, 5)",
	# a sequence model from a history, most recent first: predict scores an
	# item as recommend does, recommend leaves the history out, explain's
	# weights over the history add up to 1
	'predict, history' =>
	  "SELECT count(*) FROM recsys.recommend($sequence, '{9, 6, 3}'::bigint[], 5) r
	   WHERE pg_catalog.abs(r.score OPERATOR(pg_catalog.-) recsys.predict($sequence, '{9, 6, 3}'::bigint[], r.item_id))
	         OPERATOR(pg_catalog.<) 0.0001::pg_catalog.float8",
	'recommend, sequence history' =>
	  "SELECT count(DISTINCT item_id) FROM recsys.recommend($sequence, '{9, 6, 3}'::bigint[], 5)
	   WHERE item_id OPERATOR(pg_catalog.<>) ALL ('{9, 6, 3}'::bigint[])",
	'explain, history' =>
	  "SELECT count(*) OPERATOR(pg_catalog.||) ':' OPERATOR(pg_catalog.||)
	          pg_catalog.round(pg_catalog.sum(weight)::pg_catalog.numeric, 4)
	   FROM recsys.explain($sequence, '{9, 6, 3}'::bigint[], 12)",
	'recommend, sequence user' =>
	  "SELECT count(DISTINCT item_id) FROM recsys.recommend($sequence, 3, 5)",);
my %expected = (
	'predict' => 't',
	'predict, features' => 't',
	'recommend' => 5,
	'recommend, history' => 5,
	'recommend, items' => 5,
	'similar_items' => 5,
	'explain' => 't',
	'user_vector' => 4,
	'item_vector' => 4,
	'model_info' => 60,
	'ndcg' => '0.630930',          # 1 / log2(3)
	'precision_at_k' => '0.666667',
	'recall_at_k' => 1,
	'hit_rate' => 0,
	'average_precision' => 0.5,
	'evaluate' => 2,
	'recommend_batch' => 3,
	'retrain history' => 4,
	'predict, item tags' => 't',
	'recommend, user tags' => 5,
	'recommend, user tags and history' => 5,
	'user_vector, tags' => 4,
	'item_vector, tags' => 4,
	'explain_features' => 2,
	'predict, history' => 5,
	'recommend, sequence history' => 5,
	'explain, history' => '3:1.0000',
	'recommend, sequence user' => 5,);

# The data directory's files, except those the server rewrites on its own.
my $pgdata = $node->data_dir;
sub data_files
{
	my %files;
	find(
		{
			wanted => sub {
				return if -d $_;
				my $rel = $File::Find::name =~ s/^\Q$pgdata\E\/?//r;
				return
				  if $rel =~
				  m{^(pg_wal|pg_stat_tmp|pg_stat|pg_xact|pg_subtrans|pg_multixact|pg_logical|pg_notify|log)/}
				  || $rel =~ /pg_internal\.init/;
				$files{$rel} = 1;
			},
			no_chdir => 1
		},
		$pgdata);
	return join("\n", sort keys %files);
}
$node->safe_psql('shop', 'VACUUM; CHECKPOINT');
my $files_before = data_files();

for my $what (sort keys %served)
{
	is(as_alice($hostile . $served{$what}),
		$expected{$what}, "alice serves: $what");
}

is($node->safe_psql('shop', 'SELECT count(*) FROM evil.calls'),
	0, "none of mallory's objects was called");
note $node->safe_psql('shop', 'SELECT string_agg(what, \', \') FROM evil.calls');

# Every recsys function that is not an aggregate's support was called, and
# in doing so created no file in the data directory.  (A backend reports
# its function calls when it exits, so wait for the last one.)
my $uncalled = qq{SELECT string_agg(p.proname, ', ' ORDER BY p.proname) $functions
  AND p.prokind = 'f' AND p.proname !~ '^_'
  AND NOT EXISTS (SELECT FROM pg_stat_user_functions f WHERE f.funcid = p.oid AND f.calls > 0)};
$node->poll_query_until('shop', "SELECT ($uncalled) IS NULL");
is( as_alice(
		qq{SELECT string_agg(p.proname, ', ' ORDER BY p.proname) $functions
  AND p.prokind = 'f' AND p.proname !~ '^_'
  AND NOT EXISTS (SELECT FROM pg_stat_user_functions f WHERE f.funcid = p.oid AND f.calls > 0)}
	),
	'',
	'every recsys function was called');
is(data_files(), $files_before,
	'calling every recsys function created no file in the data directory');

# The library links no call that opens a file, a socket or a process.
my $library = $node->config_data('--pkglibdir') . '/recsys.so';
my $imports = eval { (run_command([ 'nm', '-D', '--undefined-only', $library ]))[0] };
SKIP:
{
	skip 'nm is not available', 2 unless $imports;
	my @opening = grep {
		/^(open|open64|openat|fopen|fopen64|creat|socket|connect|bind|system|popen|fork|vfork|execv\w*|execl\w*|posix_spawn\w*|dlopen|AllocateFile|OpenTransientFile|PathNameOpenFile|PQconnect\w*)$/
	} map { (split /\s+/)[-1] =~ s/@.*//r } split /\n/, $imports;
	like($imports, qr/\bpalloc\b/, 'nm lists what the library imports');
	is(join(',', @opening), '',
		'the library imports nothing that opens files, sockets or processes');
}

# A schema named recsys that another user created first.  The control file
# names the schema, and CREATE EXTENSION installs into an existing one
# rather than refusing it; its owner (mallory) could then add objects
# there, such as an overload of recsys.predict taking integers that a call
# with integer literals would prefer.  The last script of every install
# refuses such a schema, so the extension is never created in it.
$node->safe_psql(
	'postgres', q{
CREATE DATABASE shop2 OWNER alice;
});
$node->safe_psql(
	'shop2', q{
GRANT CREATE ON DATABASE shop2 TO mallory;
SET ROLE mallory;
CREATE SCHEMA recsys;
GRANT USAGE ON SCHEMA recsys TO PUBLIC;
CREATE FUNCTION recsys.predict(bytea, integer, integer) RETURNS float8
LANGUAGE sql AS 'SELECT 42::float8';
});
my ($ret, $out, $err) = $node->psql('shop2', 'CREATE EXTENSION recsys',
	extra_params => [ '-U', 'alice' ]);
isnt($ret, 0, 'CREATE EXTENSION refuses a schema recsys that another role owns');
like($err, qr/schema "recsys" is owned by role mallory, not by the extension's owner alice/,
	'and says whose schema it is');
is($node->safe_psql('shop2', q{SELECT count(*) FROM pg_extension WHERE extname = 'recsys'}),
	0, 'nothing of the extension is left');
# Once that schema is gone, alice creates the extension there as usual.
$node->safe_psql('shop2', 'DROP SCHEMA recsys CASCADE');
$node->psql('shop2', 'CREATE EXTENSION recsys', extra_params => [ '-U', 'alice' ]);
is( $node->safe_psql(
		'shop2',
		q{SELECT extversion IS NOT NULL, (SELECT nspowner::regrole FROM pg_namespace WHERE nspname = 'recsys')
		  FROM pg_extension WHERE extname = 'recsys'}),
	't|alice',
	'without the foreign schema the extension installs, in a schema alice owns');

$node->stop;
unlike(
	slurp_file($node->logfile),
	qr/terminated by signal|was terminated|PANIC|TRAP/,
	'no server process crashed');

done_testing();
