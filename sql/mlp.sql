-- train_mlp and predict(model, features): a rule no linear model can learn,
-- regression, every optimiser, early stopping, and every input error.
-- Features are uniform in [-1, 1], generated deterministically from hashes.
CREATE TABLE xor_like AS
SELECT i, ARRAY[x1, x2, x3]::real[] AS features,
       (x1 * x2 + x3 * x3 - 1.0 / 3 > 0)::int::real AS label,
       (sin(2 * x1) + x2 * x2)::real AS target,
       (x1 + x2 > 0)::int::real AS separable,
       i > 4000 AS held_out
FROM (SELECT i,
             (abs(hashint8(i * 3 + 1)) % 100000) / 50000.0 - 1 AS x1,
             (abs(hashint8(i * 3 + 2)) % 100000) / 50000.0 - 1 AS x2,
             (abs(hashint8(i * 3 + 3)) % 100000) / 50000.0 - 1 AS x3
      FROM generate_series(1, 6000) i) s;

CREATE TABLE mlp_models (name text PRIMARY KEY, model bytea);
-- the reference network: every option at its default
INSERT INTO mlp_models SELECT 'default', recsys.train_mlp(features, label) FROM xor_like WHERE NOT held_out;
-- no hidden layer: logistic regression
INSERT INTO mlp_models SELECT 'linear', recsys.train_mlp(features, label, '{"hidden": []}')
FROM xor_like WHERE NOT held_out;

-- The network learns the rule; a linear model cannot.
SELECT name, avg(((recsys.predict(model, features) > 0.5)::int = label)::int) > 0.9 AS accurate,
       avg(((recsys.predict(model, features) > 0.5)::int = label)::int) < 0.75 AS near_chance
FROM xor_like, mlp_models WHERE held_out GROUP BY name ORDER BY name;

-- Probabilities lie in (0, 1).
SELECT bool_and(recsys.predict(model, features) > 0 AND recsys.predict(model, features) < 1) AS probabilities
FROM xor_like, mlp_models WHERE held_out AND name = 'default';

-- Regression with squared error and a linear output fits a smooth target.
INSERT INTO mlp_models
SELECT 'mse', recsys.train_mlp(features, target, '{"loss": "mse", "epochs": 30}')
FROM xor_like WHERE NOT held_out;
SELECT sqrt(avg((recsys.predict(model, features) - target) ^ 2)) < 0.25 * stddev(target) AS fits
FROM xor_like, mlp_models WHERE held_out AND name = 'mse';

-- SGD with momentum and full-batch gradient descent converge on an easy problem.
INSERT INTO mlp_models
SELECT 'sgd', recsys.train_mlp(features, separable, '{"optimizer": "sgd", "learning_rate": 0.05, "hidden": [16]}')
FROM xor_like WHERE NOT held_out;
INSERT INTO mlp_models
SELECT 'gd', recsys.train_mlp(features, separable,
                              '{"optimizer": "gd", "learning_rate": 0.5, "epochs": 300, "hidden": [8], "activation": "tanh"}')
FROM xor_like WHERE NOT held_out;
SELECT name, avg(((recsys.predict(model, features) > 0.5)::int = separable)::int) > 0.95 AS accurate
FROM xor_like, mlp_models WHERE held_out AND name IN ('sgd', 'gd') GROUP BY name ORDER BY name;

-- A validation split with early stopping: losses per epoch for both, and
-- training stops before the 200 epochs asked.
SELECT jsonb_array_length(info -> 'loss') = (info ->> 'epochs')::int AS loss_per_epoch,
       jsonb_array_length(info -> 'validation_loss') = (info ->> 'epochs')::int AS validation_per_epoch,
       (info ->> 'epochs')::int < 200 AS stopped_early
FROM (SELECT recsys.model_info(recsys.train_mlp(features, label,
        '{"validation_fraction": 0.2, "patience": 2, "epochs": 200, "hidden": [32, 16], "activation": "sigmoid"}')) AS info
      FROM xor_like WHERE NOT held_out) s;

-- "tune" searches the learning rate and the penalty on the network's own
-- held-out fifth, then trains for the epochs its validation loss was best
-- in: in the default 10 epochs the default learning rate leaves this
-- regression short of the fit 30 epochs reach above.
INSERT INTO mlp_models
SELECT 'mse 10 epochs', recsys.train_mlp(features, target, '{"loss": "mse"}')
FROM xor_like WHERE NOT held_out;
INSERT INTO mlp_models
SELECT 'mse tuned', recsys.train_mlp(features, target, '{"loss": "mse", "tune": true}')
FROM xor_like WHERE NOT held_out;
SELECT t ->> 'metric' AS metric, (t ->> 'held_out')::int AS held_out,
       jsonb_array_length(t -> 'trials') AS trials,
       (t -> 'chosen' ->> 'learning_rate')::float8 > 0.001 AS faster,
       (t -> 'chosen' ->> 'epochs')::int = (recsys.model_info(model) ->> 'epochs')::int AS epochs_as_chosen,
       recsys.model_info(model) -> 'options' -> 'validation_fraction' AS validation_fraction
FROM mlp_models, LATERAL (SELECT recsys.model_info(model) -> 'tuning' AS t) x
WHERE name = 'mse tuned';
SELECT (SELECT sqrt(avg((recsys.predict(model, features) - target) ^ 2))
        FROM xor_like, mlp_models WHERE held_out AND name = 'mse tuned')
       < 0.8 * (SELECT sqrt(avg((recsys.predict(model, features) - target) ^ 2))
                FROM xor_like, mlp_models WHERE held_out AND name = 'mse 10 epochs') AS tuned_better;

-- model_info describes the network.
SELECT info ->> 'algorithm' AS algorithm, info -> 'features' AS features, info -> 'layers' AS layers,
       info -> 'epochs' AS epochs, info -> 'rows' AS rows, info -> 'options' AS options
FROM (SELECT recsys.model_info(model) AS info FROM mlp_models WHERE name = 'default') s;

-- Parallel workers collect feature rows too (Partial Aggregate under Gather).
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
EXPLAIN (COSTS OFF) SELECT recsys.train_mlp(features, label) FROM xor_like WHERE NOT held_out;
CREATE TABLE parallel_mlp AS
SELECT recsys.train_mlp(features, label) AS model FROM xor_like WHERE NOT held_out;
RESET max_parallel_workers_per_gather;
RESET min_parallel_table_scan_size;
RESET parallel_tuple_cost;
RESET parallel_setup_cost;
SELECT recsys.model_info(model) -> 'rows' AS rows,
       avg(((recsys.predict(model, features) > 0.5)::int = label)::int) > 0.9 AS accurate
FROM parallel_mlp, xor_like WHERE held_out GROUP BY 1;

-- No rows: no model; rows with a NULL are skipped and counted.
SELECT recsys.train_mlp(features, label) IS NULL AS no_model FROM xor_like WHERE false;
SELECT recsys.model_info(recsys.train_mlp(f, l, '{"epochs": 1}')) -> 'skipped_rows' AS skipped
FROM (VALUES (ARRAY[1, 2]::real[], 1::real), (NULL, 0), (ARRAY[0, 1]::real[], NULL),
             (ARRAY[3, 1]::real[], 0)) t(f, l);

-- Errors.
\set VERBOSITY default
SELECT recsys.train_mlp(f, 1) FROM (VALUES (ARRAY[1, 2]::real[]), (ARRAY[1, 2, 3]::real[])) t(f);
SELECT recsys.train_mlp(f, 1) FROM (VALUES (ARRAY[1, NULL]::real[])) t(f);
SELECT recsys.train_mlp(f, 1) FROM (VALUES (ARRAY[1, 'NaN']::real[])) t(f);
SELECT recsys.train_mlp(f, 1) FROM (VALUES ('{}'::real[])) t(f);
SELECT recsys.train_mlp(f, 2) FROM (VALUES (ARRAY[1, 2]::real[])) t(f);
SELECT recsys.train_mlp(f, 1, '{"hidden": [0]}') FROM (VALUES (ARRAY[1, 2]::real[])) t(f);
SELECT recsys.train_mlp(f, 1, '{"hidden": 128}') FROM (VALUES (ARRAY[1, 2]::real[])) t(f);
SELECT recsys.train_mlp(f, 1, '{"layers": [8]}') FROM (VALUES (ARRAY[1, 2]::real[])) t(f);
SELECT recsys.train_mlp(f, 1, '{"optimizer": "rmsprop"}') FROM (VALUES (ARRAY[1, 2]::real[])) t(f);
SELECT recsys.train_mlp(f, 1, '{"batch_size": 0}') FROM (VALUES (ARRAY[1, 2]::real[])) t(f);
SELECT recsys.predict(model, ARRAY[1, 2]::real[]) FROM mlp_models WHERE name = 'default';
SELECT recsys.predict(model, ARRAY[1, 2, NULL]::real[]) FROM mlp_models WHERE name = 'default';
SELECT recsys.predict(model, ARRAY[1, 2, 'Infinity']::real[]) FROM mlp_models WHERE name = 'default';
SELECT recsys.predict(model, 1, 2) FROM mlp_models WHERE name = 'default';
SELECT * FROM mlp_models, recsys.recommend(model, 1) WHERE name = 'default';
SELECT recsys.predict(model, ARRAY[1, 2, 3]::real[]) FROM cluster_models WHERE name = 'implicit';
\set VERBOSITY terse
