-- Model digests: trains every model kind (and each variant of its layout)
-- with a fixed seed on one thread, and prints an MD5 of each model's bytes
-- less what differs between two identical trainings: the random model id,
-- the checksum, the total size, and the description (timings, creation
-- time), whose length moves the sections after it.  Two builds that train
-- the same bytes print the same digests on the same machine; use it to
-- check that a change to the code's structure changed no arithmetic:
--
--   make model-digests > before.txt; (change); make model-digests | diff before.txt -
--
-- Digests differ between CPUs (OpenBLAS picks kernels per CPU), so they are
-- compared on one machine, never against stored values.
\set ON_ERROR_STOP on
SET client_min_messages = warning;
SET recsys.threads = 1;
CREATE EXTENSION IF NOT EXISTS recsys;

CREATE TEMP TABLE raw_lines (line text);
\copy raw_lines FROM 'test/data/movietweetings-100k/ratings.dat' WITH (FORMAT csv, DELIMITER E'\x01', QUOTE E'\x02')
CREATE TEMP TABLE ratings AS
SELECT split_part(line, '::', 1)::bigint AS user_id,
       split_part(line, '::', 2)::bigint AS item_id,
       split_part(line, '::', 3)::real AS rating,
       split_part(line, '::', 4)::bigint AS rated_at
FROM raw_lines;

-- A little-endian unsigned 64-bit integer at a 0-based byte offset.
CREATE FUNCTION pg_temp.u64(model bytea, at int) RETURNS numeric
LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT sum(get_byte(model, at + b)::numeric * 256::numeric ^ b) FROM generate_series(0, 7) b
$$;

-- The header from its shape on (byte 40, past the identity fields and the
-- header size), then every section but the description (slot 8), in order.
CREATE FUNCTION pg_temp.digest(model bytea) RETURNS text
LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT md5(substring(model FROM 41 FOR 72) || coalesce(string_agg(
               substring(model FROM pg_temp.u64(model, 112 + 16 * s)::int + 1
                         FOR pg_temp.u64(model, 120 + 16 * s)::int), ''::bytea ORDER BY s), ''))
    FROM generate_series(0, 31) s
    WHERE s <> 8 AND pg_temp.u64(model, 112 + 16 * s) > 0
$$;

CREATE TEMP TABLE models (kind text, model bytea);
INSERT INTO models
SELECT 'als', recsys.train_als(user_id, item_id, rating, '{"seed": 7, "iterations": 8}') FROM ratings
UNION ALL
SELECT 'als cholesky implicit', recsys.train_als(user_id, item_id, rating,
       '{"feedback": "implicit", "solver": "cholesky", "seed": 7, "iterations": 4}') FROM ratings
UNION ALL
SELECT 'als cg implicit', recsys.train_als(user_id, item_id, rating,
       '{"feedback": "implicit", "seed": 7, "iterations": 4}') FROM ratings
UNION ALL
SELECT 'bpr', recsys.train_bpr(user_id, item_id, '{"seed": 7, "epochs": 5}') FROM ratings
UNION ALL
SELECT 'knn implicit', recsys.train_knn(user_id, item_id, 1.0::real) FROM ratings
UNION ALL
SELECT 'knn explicit', recsys.train_knn(user_id, item_id, rating,
       '{"feedback": "explicit", "similarity": "adjusted_cosine"}') FROM ratings
UNION ALL
SELECT 'ease dense', recsys.train_ease(user_id, item_id, '{"max_items": 1500}') FROM ratings
UNION ALL
SELECT 'ease pruned', recsys.train_ease(user_id, item_id, '{"max_items": 1500, "prune": 20}') FROM ratings
UNION ALL
SELECT 'ncf', recsys.train_ncf(user_id, item_id,
       '{"seed": 7, "epochs": 2, "layers": [16, 8]}') FROM ratings
UNION ALL
SELECT 'mlp', recsys.train_mlp(ARRAY[user_id % 97, item_id % 89, rating]::real[],
       (rating >= 8)::int::real, '{"seed": 7, "epochs": 3, "hidden": [16, 8]}') FROM ratings
UNION ALL
SELECT 'sequence', recsys.train_sequence(user_id, item_id, rated_at,
       '{"seed": 7, "epochs": 2, "factors": 16}') FROM ratings;

SELECT kind, pg_temp.digest(model) AS digest FROM models ORDER BY kind;
