-- Data sets of known, different shapes for checking defaults (make
-- bench-defaults): planted taste clusters at several densities, popularity
-- skews and noise levels, deterministic from a seed.  Needs generate.sql
-- (bench_uniform).
--
-- Items belong to 20 clusters (item mod 20); each user likes two of them,
-- the first 70 % of the time.  A user's interactions, 2 + 3 (per_user - 2)
-- w^2 for a uniform w (mean per_user, long-tailed), are drawn from a liked
-- cluster, or with probability `noise` from the whole catalogue; inside
-- either, item rank = size * v^skew, so a larger skew is a steeper
-- popularity.  Repeated pairs merge, so there are a little fewer
-- interactions than drawn.
CREATE FUNCTION planted_clicks(users int, items int, per_user int, skew float8,
                               noise float8, seed int)
RETURNS TABLE (user_id bigint, item_id bigint, value real)
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT u, i, 1::real
    FROM (SELECT u,
                 CASE WHEN bench_uniform(u * 100003 + r, 0, seed) < noise
                      THEN floor(items * bench_uniform(u * 100003 + r, 1, seed) ^ skew)::bigint
                      ELSE floor(20 * bench_uniform(u, CASE WHEN bench_uniform(u * 100003 + r, 2, seed) < 0.7
                                                            THEN 1 ELSE 2 END, seed + 1))::bigint
                           + 20 * floor((items / 20) * bench_uniform(u * 100003 + r, 3, seed) ^ skew)::bigint
                 END AS i
          FROM generate_series(1::bigint, users) u,
               generate_series(1, 2 + floor(3 * (per_user - 2) * bench_uniform(u, 0, seed + 1) ^ 2)::int) r) c
    GROUP BY u, i;
END;

-- name_train and name_test from table name: one interaction of each user
-- with three or more is held out, chosen by a hash.
CREATE PROCEDURE split_one_per_user(name text)
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format($q$CREATE TABLE %I AS
        SELECT user_id, item_id
        FROM (SELECT user_id, item_id, count(*) OVER w AS n,
                     row_number() OVER (w ORDER BY hashint8(user_id * 7919 + item_id)) AS k
              FROM %I WINDOW w AS (PARTITION BY user_id)) s
        WHERE n >= 3 AND k = 1$q$, name || '_test', name);
    EXECUTE format($q$CREATE TABLE %I AS
        SELECT d.* FROM %I d
        WHERE NOT EXISTS (SELECT FROM %I t WHERE t.user_id = d.user_id AND t.item_id = d.item_id)$q$,
        name || '_train', name, name || '_test');
    EXECUTE format('ANALYZE %I', name || '_train');
END $$;

-- NDCG@10 on name_test of a model trained by trainer with options on name_train.
CREATE FUNCTION held_out_ndcg(name text, trainer text, options jsonb) RETURNS float8
LANGUAGE plpgsql AS $$
DECLARE
    model bytea;
    ndcg float8;
BEGIN
    EXECUTE format('SELECT recsys.%I(user_id, item_id%s, $1) FROM %I', trainer,
                   CASE WHEN trainer IN ('train_als', 'train_knn') THEN ', value' ELSE '' END,
                   name || '_train')
        INTO model USING options;
    EXECUTE format('SELECT e.ndcg FROM recsys.evaluate($1, (SELECT array_agg(user_id) FROM %1$I),
                                                       (SELECT array_agg(item_id) FROM %1$I), 10) e',
                   name || '_test')
        INTO ndcg USING model;
    RETURN ndcg;
END $$;

-- Planted ratings: 3 + b_u + b_i + scale * p_u . q_i / sqrt(rank), factors
-- and biases (deviation `bias`) normal, plus noise uniform in +-noise; a
-- pair is rated with probability density * skew * (item / items)^(skew - 1),
-- so skew 1 is flat popularity and a larger one steeper.
CREATE FUNCTION planted_normal(r bigint, stream int, seed int) RETURNS float8
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN sqrt(-2 * ln(greatest(bench_uniform(r, stream, seed), 1e-12)))
       * cos(2 * pi() * bench_uniform(r, stream + 1000, seed));

CREATE FUNCTION planted_ratings(users int, items int, rank int, density float8, scale float8,
                                bias float8, noise float8, skew float8, seed int)
RETURNS TABLE (user_id bigint, item_id bigint, value real)
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    WITH p AS (SELECT u, array_agg(planted_normal(u * 1000 + j, 1, seed) ORDER BY j) AS v,
                      bias * planted_normal(u, 3, seed) AS b
               FROM generate_series(1, users) u, generate_series(1, rank) j GROUP BY u),
         q AS (SELECT i, array_agg(planted_normal(i * 1000 + j, 5, seed) ORDER BY j) AS v,
                      bias * planted_normal(i, 7, seed) AS b
               FROM generate_series(1, items) i, generate_series(1, rank) j GROUP BY i),
         rated AS (SELECT u, i FROM generate_series(1, users) u, generate_series(1, items) i
                   WHERE bench_uniform(u * 100003 + i, 9, seed)
                         < density * skew * ((i::float8 / items) ^ (skew - 1)))
    SELECT rated.u, rated.i,
           (3 + p.b + q.b + scale * (SELECT sum(x * y) FROM unnest(p.v, q.v) t(x, y)) / sqrt(rank)
            + noise * (2 * bench_uniform(rated.u * 100003 + rated.i, 11, seed) - 1))::real
    FROM rated JOIN p ON p.u = rated.u JOIN q ON q.i = rated.i;
END;

-- name_train and name_test from table name: a tenth of the ratings held
-- out, chosen by a hash.
CREATE PROCEDURE split_ratings(name text)
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('CREATE TABLE %I AS SELECT * FROM %I WHERE hashint8(user_id * 7919 + item_id) %% 10 = 0',
                   name || '_test', name);
    EXECUTE format('CREATE TABLE %I AS SELECT * FROM %I WHERE hashint8(user_id * 7919 + item_id) %% 10 <> 0',
                   name || '_train', name);
END $$;

-- RMSE on name_test of explicit ALS trained with options on name_train,
-- and the regularization it trained with.
CREATE FUNCTION held_out_rmse(name text, options jsonb, OUT rmse float8, OUT regularization float8)
LANGUAGE plpgsql AS $$
DECLARE
    model bytea;
BEGIN
    EXECUTE format('SELECT recsys.train_als(user_id, item_id, value, $1) FROM %I', name || '_train')
        INTO model USING options;
    EXECUTE format('SELECT sqrt(avg((recsys.predict($1, user_id, item_id) - value) ^ 2)) FROM %I',
                   name || '_test')
        INTO rmse USING model;
    regularization := (recsys.model_info(model)->'options'->>'regularization')::float8;
END $$;
