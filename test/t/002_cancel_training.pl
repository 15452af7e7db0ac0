# A long recsys.train_als must stop promptly when the query is cancelled
# (statement_timeout, pg_cancel_backend) or the backend is terminated
# (pg_terminate_backend), without crashing the server, without leaving
# training threads behind, and leaving the session usable.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);

# A cancel is checked between chunks of work of milliseconds, and README
# promises a stop within about a second: the bound is that promise with a
# margin for a loaded two-core machine.  The measured times are reported.
my $stop_bound = 3;

my $node = PostgreSQL::Test::Cluster->new('cancel');
$node->init;
$node->append_conf('postgresql.conf', "log_min_messages = info\n");
$node->start;

$node->safe_psql('postgres', 'CREATE EXTENSION recsys');

# 200k ratings of 2000 users on 1000 items.  With 256 factors each iteration
# solves 3000 dense 256x256 systems, so 1000 iterations take many minutes.
$node->safe_psql(
	'postgres', q{
CREATE TABLE big (u bigint NOT NULL, i bigint NOT NULL, v real NOT NULL);
INSERT INTO big
SELECT u, i, (1 + ((hashint8(u * 7919 + i) & 1023) / 256.0))::real
FROM generate_series(1, 2000) AS u, generate_series(1, 1000) AS i
WHERE (hashint8(u * 1000 + i) & 1023) < 103;
CREATE TABLE small (u bigint NOT NULL, i bigint NOT NULL, v real NOT NULL);
INSERT INTO small
SELECT u, i, (1 + (u * i) % 5)::real
FROM generate_series(1, 50) AS u, generate_series(1, 40) AS i
WHERE (u + i) % 3 <> 0;
ANALYZE big, small;
});

sub long_training
{
	my ($extra) = @_;
	$extra = defined $extra ? ", $extra" : '';
	return
	  "SELECT length(recsys.train_als(u, i, v, "
	  . "'{\"factors\": 256, \"iterations\": 1000, \"seed\": 7$extra}')) FROM big";
}

my $short_training = q{
SELECT recsys.predict(m, 1, 1) BETWEEN 0 AND 10,
       (recsys.model_info(m)->>'iterations')::int,
       (SELECT count(*) FROM recsys.recommend(m, 1, 5))
FROM (SELECT recsys.train_als(u, i, v, '{"factors": 4, "iterations": 3, "seed": 1}') AS m
      FROM small) s};

# Threads of a process, to see that training leaves none behind.
sub thread_count
{
	my ($pid) = @_;
	opendir(my $dh, "/proc/$pid/task") or return undef;
	my $n = grep { !/^\./ } readdir($dh);
	closedir($dh);
	return $n;
}

# Waits until $re shows up in a background session's stderr.
sub wait_stderr
{
	my ($session, $re) = @_;
	$session->{timeout}->start;
	return pump_until($session->{run}, $session->{timeout},
		\$session->{stderr}, $re);
}

my $postmaster_started =
  $node->safe_psql('postgres', 'SELECT pg_postmaster_start_time()');

# --- Verbose training reports each iteration as a NOTICE.
{
	my ($stdout, $stderr);
	$node->psql(
		'postgres',
		q{SELECT length(recsys.train_als(u, i, v,
		    '{"factors": 4, "iterations": 4, "verbose": true}')) > 0 FROM small},
		stdout => \$stdout,
		stderr => \$stderr);
	is($stdout, 't', 'verbose training returns a model');
	my @notices =
	  $stderr =~ /^(?:psql:\S+: )?NOTICE:  iteration (\d+) of \d+: loss [-+.0-9eE]+, [.0-9]+ s; [.0-9]+ s elapsed, about [.0-9]+ s left$/mg;
	is_deeply(\@notices, [ 1 .. 4 ],
		'verbose training emits one "iteration N: loss" NOTICE per iteration');
	like($stderr,
		qr/^(?:psql:\S+: )?NOTICE:  regularization [-+.0-9eE]+ chosen by the held-out RMSE [.0-9]+ of \d+ ratings, \d+ weights tried in [.0-9]+ s$/m,
		'verbose training says which regularization it measured, when none is given');
	note "verbose output:\n$stderr";
}

# The session that trains and gets cancelled; it must survive it all.
my $victim = $node->background_psql('postgres', on_error_stop => 0);
$victim->query_safe('\set VERBOSITY verbose');
my $pid = $victim->query_safe('SELECT pg_backend_pid()');
# Load the library (and whatever threads it starts) before counting threads.
is($victim->query_safe($short_training), 't|3|5',
	'a short training works before any cancel');
my $threads_idle = thread_count($pid);
note "backend $pid has $threads_idle threads when idle"
  if defined $threads_idle;

# --- (a) statement_timeout, with one training thread and with every core.
for my $threads (1, 0)
{
	my $label = $threads ? "$threads training thread" : 'every core';
	$victim->{stderr} = '';
	$victim->query_safe("SET statement_timeout = '1s'");
	my $started = time;
	my (undef, $failed) =
	  $victim->query(long_training("\"threads\": $threads, \"verbose\": true"));
	my $elapsed = time - $started;
	my $stderr = $victim->{stderr};
	$victim->{stderr} = '';
	$victim->query_safe('RESET statement_timeout');

	ok($failed, "statement_timeout ($label): the training fails");
	like(
		$stderr,
		qr/ERROR:  57014: canceling statement due to statement timeout/,
		"statement_timeout ($label): canceled by the timeout, SQLSTATE 57014");
	unlike($stderr, qr/due to user request/,
		"statement_timeout ($label): reported as a timeout, not a user cancel");
	my @done = $stderr =~ /iteration (\d+): loss/g;
	note sprintf(
		"statement_timeout (%s) stopped the training after %.2f s, %d iterations done",
		$label, $elapsed, scalar @done);
	cmp_ok($elapsed - 1, '<', $stop_bound,
		"statement_timeout ($label): the training stops within $stop_bound s of the timeout");
	cmp_ok($elapsed, '>=', 0.9,
		"statement_timeout ($label): not before the timeout");
	is($victim->query_safe('SELECT pg_backend_pid()'),
		$pid, "statement_timeout ($label): the session is still connected");
	is(thread_count($pid), $threads_idle,
		"statement_timeout ($label): no training thread is left behind")
	  if defined $threads_idle;
}

# --- (b) pg_cancel_backend from another session, once training is under way:
# the verbose NOTICE of the first iteration shows the fit itself is running.
{
	$victim->{stderr} = '';
	$victim->{stdin} .=
	  long_training('"threads": 2, "verbose": true') . ";\n";
	ok(wait_stderr($victim, qr/NOTICE:  00000: iteration 1 of \d+: loss/),
		'pg_cancel_backend: the long training reached its first iteration');
	my $threads_busy = thread_count($pid);
	note "backend $pid has $threads_busy threads while training"
	  if defined $threads_busy;
	cmp_ok($threads_busy, '>', $threads_idle,
		'pg_cancel_backend: training runs extra threads')
	  if defined $threads_idle;
	is( $node->safe_psql(
			'postgres',
			"SELECT state FROM pg_stat_activity WHERE pid = $pid AND query LIKE '%train_als%'"
		),
		'active',
		'pg_cancel_backend: pg_stat_activity shows the training as active');

	my $started = time;
	is($node->safe_psql('postgres', "SELECT pg_cancel_backend($pid)"),
		't', 'pg_cancel_backend: the cancel request is sent');
	ok( wait_stderr(
			$victim,
			qr/ERROR:  57014: canceling statement due to user request/),
		'pg_cancel_backend: the training fails with "canceling statement due to user request"'
	);
	my $elapsed = time - $started;
	note sprintf("pg_cancel_backend stopped the training after %.2f s",
		$elapsed);
	cmp_ok($elapsed, '<', $stop_bound,
		"pg_cancel_backend: the training stops within $stop_bound s");
	$victim->{stderr} = '';

	ok( $node->poll_query_until(
			'postgres',
			"SELECT state = 'idle' FROM pg_stat_activity WHERE pid = $pid"),
		'pg_cancel_backend: the session goes back to idle');
}

# --- (c) the same backend is healthy after both cancels.
is($victim->query_safe('SELECT pg_backend_pid()'),
	$pid, 'after the cancels: the same backend serves the session');
is(thread_count($pid), $threads_idle,
	'after the cancels: no training thread is left behind')
  if defined $threads_idle;
is($victim->query_safe($short_training),
	't|3|5', 'after the cancels: a short training, predict and recommend work');
is($victim->query_safe('SELECT count(*) FROM big'),
	$node->safe_psql('postgres', 'SELECT count(*) FROM big'),
	'after the cancels: ordinary queries work');
$victim->quit;

# --- (d) pg_terminate_backend ends a training session, not the server.
{
	my $doomed = $node->background_psql('postgres', on_error_stop => 0);
	my $doomed_pid = $doomed->query_safe('SELECT pg_backend_pid()');
	$doomed->{stderr} = '';
	$doomed->{stdin} .=
	  long_training('"threads": 2, "verbose": true') . ";\n";
	ok(wait_stderr($doomed, qr/NOTICE:  iteration 1 of \d+: loss/),
		'pg_terminate_backend: the long training reached its first iteration');

	my $started = time;
	is($node->safe_psql('postgres', "SELECT pg_terminate_backend($doomed_pid)"),
		't', 'pg_terminate_backend: the request is sent');
	ok( $node->poll_query_until(
			'postgres',
			"SELECT count(*) = 0 FROM pg_stat_activity WHERE pid = $doomed_pid"),
		'pg_terminate_backend: the backend exits');
	my $elapsed = time - $started;
	note sprintf("pg_terminate_backend ended the backend after %.2f s",
		$elapsed);
	cmp_ok($elapsed, '<', $stop_bound,
		"pg_terminate_backend: the backend exits within $stop_bound s");
	wait_stderr($doomed,
		qr/terminating connection due to administrator command/);
	like(
		$doomed->{stderr},
		qr/FATAL:  terminating connection due to administrator command/,
		'pg_terminate_backend: the client is told why');
	$doomed->{run}->finish;
}

is($node->safe_psql('postgres', $short_training),
	't|3|5', 'a new session trains and serves after all that');
is($node->safe_psql('postgres', 'SELECT pg_postmaster_start_time()'),
	$postmaster_started, 'the server never restarted');

$node->stop;
my $log = slurp_file($node->logfile);
like(
	$log,
	qr/ERROR:  canceling statement due to statement timeout/,
	'the server log records the timeouts');
unlike(
	$log,
	qr/terminated by signal|server process .* was terminated|PANIC|TRAP/,
	'no server process crashed');

done_testing();
