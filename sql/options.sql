-- Options of train_als: every invalid key, type and range is an error that
-- names the key; NULL rows are skipped and counted; empty input gives NULL.
CREATE TABLE tiny AS
SELECT u::bigint AS user_id, i::bigint AS item_id, ((u * i) % 5 + 1)::real AS value
FROM generate_series(1, 20) u, generate_series(1, 10) i;

\set VERBOSITY default
SELECT recsys.train_als(user_id, item_id, value, '{"factor": 8}') FROM tiny;
SELECT recsys.train_als(user_id, item_id, value, '{"factors": "8"}') FROM tiny;
SELECT recsys.train_als(user_id, item_id, value, '{"factors": 8.5}') FROM tiny;
SELECT recsys.train_als(user_id, item_id, value, '{"factors": 0}') FROM tiny;
SELECT recsys.train_als(user_id, item_id, value, '{"factors": 5000}') FROM tiny;
SELECT recsys.train_als(user_id, item_id, value, '{"iterations": 0}') FROM tiny;
SELECT recsys.train_als(user_id, item_id, value, '{"iterations": null}') FROM tiny;
SELECT recsys.train_als(user_id, item_id, value, '{"regularization": 0}') FROM tiny;
SELECT recsys.train_als(user_id, item_id, value, '{"regularization": -1}') FROM tiny;
SELECT recsys.train_als(user_id, item_id, value, '{"regularization": "strong"}') FROM tiny;
SELECT recsys.train_als(user_id, item_id, value, '{"bias_regularization": 0}') FROM tiny;
SELECT recsys.train_als(user_id, item_id, value, '{"prior_count": -1}') FROM tiny;
SELECT recsys.train_als(user_id, item_id, value, '{"seed": -1}') FROM tiny;
SELECT recsys.train_als(user_id, item_id, value, '{"threads": 2000}') FROM tiny;
SELECT recsys.train_als(user_id, item_id, value, '{"verbose": 1}') FROM tiny;
SELECT recsys.train_als(user_id, item_id, value, '{"feedback": "sometimes"}') FROM tiny;
SELECT recsys.train_als(user_id, item_id, value, '{"feedback": 1}') FROM tiny;
SELECT recsys.train_als(user_id, item_id, value, '[1, 2]') FROM tiny;
\set VERBOSITY terse

-- Valid options are used, and reported with the defaults of the others.
SELECT (recsys.model_info(recsys.train_als(user_id, item_id, value,
        '{"factors": 3, "iterations": 4, "regularization": 0.5, "seed": 7, "feedback": "explicit"}'))
        -> 'options') - 'threads' AS options
FROM tiny;

-- A NULL options value means the defaults.
SELECT recsys.model_info(recsys.train_als(user_id, item_id, value, NULL)) -> 'options' -> 'factors'
FROM tiny;

-- Empty input: no model.
SELECT recsys.train_als(user_id, item_id, value) IS NULL AS no_model FROM tiny WHERE false;

-- Rows with a NULL are skipped and counted; only NULLs: no model.
SELECT info -> 'skipped_rows' AS skipped, info -> 'interactions' AS interactions,
       info -> 'users' AS users, info -> 'items' AS items
FROM (SELECT recsys.model_info(recsys.train_als(u, i, v, '{"factors": 2, "iterations": 2}')) AS info
      FROM (VALUES (1::bigint, 1::bigint, 1::real), (NULL, 1, 1), (1, NULL, 1),
                   (1, 2, NULL), (2, 1, 3)) t(u, i, v)) s;
SELECT recsys.train_als(u, i, v) IS NULL AS no_model
FROM (VALUES (NULL::bigint, 1::bigint, 1::real)) t(u, i, v);

-- Repeated (user, item) pairs are averaged into one interaction.
SELECT info -> 'interactions' AS interactions, info -> 'duplicate_rows' AS duplicates,
       round(recsys.predict(m, 1, 1)::numeric, 1) AS between_the_repeats
FROM (SELECT m, recsys.model_info(m) AS info
      FROM (SELECT recsys.train_als(u, i, v, '{"factors": 1, "bias_regularization": 0.0001, "regularization": 100}') AS m
            FROM (VALUES (1::bigint, 1::bigint, 2::real), (1, 1, 4), (1, 1, 6)) t(u, i, v)) s) s;

-- Values must be finite; the hint's filter leaves out NaN and both
-- infinities and keeps the rest.
\set VERBOSITY default
SELECT recsys.train_als(u, i, v) FROM (VALUES (1::bigint, 1::bigint, 'NaN'::real)) t(u, i, v);
SELECT recsys.train_als(u, i, v) FROM (VALUES (1::bigint, 2::bigint, '-Infinity'::real)) t(u, i, v);
\set VERBOSITY terse
SELECT recsys.model_info(recsys.train_als(u, i, value, '{"factors": 1}')) -> 'interactions' AS kept
FROM (VALUES (1::bigint, 1::bigint, 'NaN'::real), (1, 2, 'Infinity'), (2, 1, '-Infinity'),
             (2, 2, 3), (3, 1, 4)) t(u, i, value)
WHERE value > '-Infinity' AND value < 'Infinity';

-- Training is deterministic for a seed and does not depend on the thread count.
SELECT count(*) AS pairs,
       max(abs(recsys.predict(a, user_id, item_id) - recsys.predict(b, user_id, item_id))) = 0 AS identical
FROM tiny,
     (SELECT recsys.train_als(user_id, item_id, value, '{"factors": 4, "seed": 3, "threads": 1}') AS a FROM tiny) x,
     (SELECT recsys.train_als(user_id, item_id, value, '{"factors": 4, "seed": 3, "threads": 2}') AS b FROM tiny) y;

