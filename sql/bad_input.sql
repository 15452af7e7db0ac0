-- Bad input, function by function: every case is a result or an ERROR with
-- its SQLSTATE, never a crash.  Each query runs through outcome(), which
-- returns its first value or the error it raised.
CREATE FUNCTION pg_temp.outcome(query text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    result text;
BEGIN
    EXECUTE query INTO result;
    RETURN 'ok: ' || coalesce(result, 'NULL');
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;

CREATE TABLE bi_rows AS
SELECT u::bigint AS u, (u % 4 * 10 + (u * 7 + j * 3) % 10)::bigint AS i, (1 + (u + j) % 5)::real AS v
FROM generate_series(0, 59) u, generate_series(1, 6) j;
CREATE TABLE bi_models (name text PRIMARY KEY, model bytea);
INSERT INTO bi_models SELECT 'als', recsys.train_als(u, i, v, '{"factors": 4}') FROM bi_rows;
INSERT INTO bi_models SELECT 'implicit', recsys.train_als(u, i, 1, '{"factors": 4, "feedback": "implicit"}') FROM bi_rows;
INSERT INTO bi_models SELECT 'knn', recsys.train_knn(u, i, 1) FROM bi_rows;
INSERT INTO bi_models SELECT 'ncf', recsys.train_ncf(u, i, '{"epochs": 20, "learning_rate": 0.01}') FROM bi_rows;
INSERT INTO bi_models
SELECT 'mlp', recsys.train_mlp(ARRAY[u, i]::real[], (v > 3)::int::real, '{"epochs": 1}') FROM bi_rows;

SELECT n, what, pg_temp.outcome(q) AS outcome
FROM (VALUES
  (1, 'train_als: a NaN value',
      $q$SELECT length(recsys.train_als(u, i, 'NaN')) FROM bi_rows$q$),
  (2, 'train_als: an infinite value',
      $q$SELECT length(recsys.train_als(u, i, 'Infinity')) FROM bi_rows$q$),
  (3, 'train_als: no rows',
      $q$SELECT recsys.train_als(u, i, v) FROM bi_rows WHERE false$q$),
  (4, 'train_als: ids at the ends of bigint',
      $q$SELECT length(recsys.train_als(x, -x, 1, '{"factors": 2}')) > 0
         FROM (VALUES (9223372036854775807), (-9223372036854775807)) t(x)$q$),
  (5, 'train_als: a NULL id is skipped',
      $q$SELECT recsys.model_info(recsys.train_als(CASE WHEN u = 0 THEN NULL ELSE u END, i, v)) -> 'skipped_rows' FROM bi_rows$q$),
  (6, 'train_als: duplicate pairs are averaged',
      $q$SELECT recsys.model_info(recsys.train_als(u, i, v)) -> 'duplicate_rows' FROM (SELECT * FROM bi_rows UNION ALL SELECT * FROM bi_rows) s$q$),
  (7, 'train_als: an unknown option',
      $q$SELECT recsys.train_als(u, i, v, '{"factor": 8}') FROM bi_rows$q$),
  (8, 'train_als: an option of the wrong type',
      $q$SELECT recsys.train_als(u, i, v, '{"factors": "8"}') FROM bi_rows$q$),
  (9, 'train_als: an option out of range',
      $q$SELECT recsys.train_als(u, i, v, '{"factors": 0}') FROM bi_rows$q$),
  (10, 'train_als: options that are not an object',
      $q$SELECT recsys.train_als(u, i, v, '[1, 2]') FROM bi_rows$q$),
  (11, 'train_als: a fractional integer option',
      $q$SELECT recsys.train_als(u, i, v, '{"iterations": 2.5}') FROM bi_rows$q$),
  (12, 'train_bpr: a learning rate of 0',
      $q$SELECT recsys.train_bpr(u, i, '{"learning_rate": 0}') FROM bi_rows$q$),
  (13, 'train_knn: a negative implicit value',
      $q$SELECT recsys.train_knn(u, i, -v) FROM bi_rows$q$),
  (14, 'train_ease: lambda 0',
      $q$SELECT recsys.train_ease(u, i, '{"lambda": 0}') FROM bi_rows$q$),
  (15, 'train_ncf: an odd first layer',
      $q$SELECT recsys.train_ncf(u, i, '{"layers": [7]}') FROM bi_rows$q$),
  (16, 'train_mlp: feature arrays of different lengths',
      $q$SELECT recsys.train_mlp(CASE WHEN u = 3 THEN ARRAY[1, 2, 3] ELSE ARRAY[1, 2] END::real[], 1) FROM bi_rows$q$),
  (17, 'train_mlp: a NULL feature',
      $q$SELECT recsys.train_mlp(ARRAY[1, NULL]::real[], 1) FROM bi_rows$q$),
  (18, 'train_mlp: a NaN feature',
      $q$SELECT recsys.train_mlp(ARRAY[1, 'NaN']::real[], 1) FROM bi_rows$q$),
  (19, 'train_mlp: a label other than 0 or 1 for cross-entropy',
      $q$SELECT recsys.train_mlp(ARRAY[u, i]::real[], v) FROM bi_rows$q$),
  (20, 'predict(model, features): a vector of the wrong length',
      $q$SELECT recsys.predict(model, ARRAY[1, 2, 3]::real[]) FROM bi_models WHERE name = 'mlp'$q$),
  (21, 'predict(model, user, item) with a feature model',
      $q$SELECT recsys.predict(model, 1, 1) FROM bi_models WHERE name = 'mlp'$q$),
  (22, 'predict(model, features) with a factor model',
      $q$SELECT recsys.predict(model, ARRAY[1, 2]::real[]) FROM bi_models WHERE name = 'als'$q$),
  (23, 'recommend: k = 0',
      $q$SELECT count(*) FROM bi_models, recsys.recommend(model, 1, 0) WHERE name = 'als'$q$),
  (24, 'recommend: k larger than the catalogue',
      $q$SELECT count(*) FROM bi_models, recsys.recommend(model, 1, 1000000, false) WHERE name = 'als'$q$),
  (25, 'recommend: an unknown user of a ranking model',
      $q$SELECT count(*) FROM bi_models, recsys.recommend(model, -42, 3) WHERE name = 'implicit'$q$),
  (26, 'recommend(history): arrays of different lengths',
      $q$SELECT count(*) FROM bi_models, recsys.recommend(model, ARRAY[1, 2]::bigint[], ARRAY[1]::real[]) WHERE name = 'als'$q$),
  (27, 'recommend(history): a NULL item',
      $q$SELECT count(*) FROM bi_models, recsys.recommend(model, ARRAY[1, NULL]::bigint[], ARRAY[1, 1]::real[]) WHERE name = 'als'$q$),
  (28, 'recommend(history): a NaN value',
      $q$SELECT count(*) FROM bi_models, recsys.recommend(model, ARRAY[1]::bigint[], ARRAY['NaN']::real[]) WHERE name = 'als'$q$),
  (29, 'recommend(history): a negative implicit value',
      $q$SELECT count(*) FROM bi_models, recsys.recommend(model, ARRAY[1]::bigint[], ARRAY[-1]::real[]) WHERE name = 'implicit'$q$),
  (30, 'recommend(history): a two-dimensional array',
      $q$SELECT count(*) FROM bi_models, recsys.recommend(model, ARRAY[[1]]::bigint[], ARRAY[[1]]::real[]) WHERE name = 'als'$q$),
  (31, 'similar_items of an ncf model',
      $q$SELECT count(*) FROM bi_models, recsys.similar_items(model, 1) WHERE name = 'ncf'$q$),
  (32, 'explain of an ncf model',
      $q$SELECT count(*) FROM bi_models, recsys.explain(model, 1, 1) WHERE name = 'ncf'$q$),
  (33, 'explain: k = 0',
      $q$SELECT count(*) FROM bi_models, recsys.explain(model, 1, 1, 0) WHERE name = 'als'$q$),
  (34, 'user_vector of an item-kNN model',
      $q$SELECT recsys.user_vector(model, 1) FROM bi_models WHERE name = 'knn'$q$),
  (35, 'a bytea that is not a model',
      $q$SELECT recsys.predict('\x0102030405'::bytea, 1, 1)$q$),
  (36, 'a model of a future format version',
      $q$SELECT recsys.predict(set_byte(model, 4, 99), 1, 1) FROM bi_models WHERE name = 'als'$q$),
  (37, 'a model of an unknown kind',
      $q$SELECT recsys.model_info(set_byte(model, 6, 99)) FROM bi_models WHERE name = 'als'$q$),
  (38, 'a model cut in half',
      $q$SELECT recsys.predict(substring(model from 1 for length(model) / 2), 1, 1) FROM bi_models WHERE name = 'als'$q$),
  (39, 'a model with a byte more',
      $q$SELECT recsys.predict(model || '\x00'::bytea, 1, 1) FROM bi_models WHERE name = 'knn'$q$),
  (40, 'a changed payload byte, the intact model cached',
      $q$SELECT array_agg(d) = (SELECT array_agg(r) FROM bi_models, recsys.recommend(model, 1, 3) r WHERE name = 'ncf')
         FROM bi_models, recsys.recommend(set_byte(model, length(model) - 20, get_byte(model, length(model) - 20) # 1), 1, 3) d
         WHERE name = 'ncf'$q$),
  (41, 'ndcg: k = 0',
      $q$SELECT recsys.ndcg(ARRAY[1, 2]::bigint[], ARRAY[1]::bigint[], 0)$q$),
  (42, 'ndcg: a NULL element',
      $q$SELECT recsys.ndcg(ARRAY[1, NULL]::bigint[], ARRAY[1]::bigint[], 10)$q$),
  (43, 'hit_rate: nothing relevant',
      $q$SELECT recsys.hit_rate(ARRAY[1]::bigint[], '{}'::bigint[], 10)$q$)
) AS cases(n, what, q)
ORDER BY n;

-- A model truncated at every section boundary (the header's section table:
-- 32 slots of offset and size, from byte 112) is rejected, for each kind.
-- (An MLP model has 7 or 8 distinct boundaries inside it, depending on
-- whether its last section ends the value, which the length of its
-- description decides.)
SELECT m.name, count(*) >= 7 AS many_cuts,
       bool_and(pg_temp.outcome(format('SELECT recsys.model_info(%L::bytea)',
                                       substring(m.model from 1 for c.cut::int))) LIKE '22P03:%') AS all_rejected
FROM bi_models m,
     LATERAL (SELECT DISTINCT cut
              FROM generate_series(0, 31) s,
                   LATERAL (SELECT sum(get_byte(m.model, 112 + 16 * s + k)::bigint << (8 * k)) AS off,
                                   sum(get_byte(m.model, 120 + 16 * s + k)::bigint << (8 * k)) AS size
                            FROM generate_series(0, 5) k) ref,
                   LATERAL (VALUES (ref.off), (ref.off + ref.size)) AS b(cut)
              WHERE ref.off > 0 AND cut < length(m.model)) c
GROUP BY m.name ORDER BY m.name;

-- Every model still works afterwards.
SELECT name, recsys.model_info(model) ->> 'algorithm' AS algorithm FROM bi_models ORDER BY name;

-- Case 40 again in a new backend, whose cache has not decoded the intact
-- model: the changed byte breaks the checksum.
\c
SELECT recsys.recommend(set_byte(model, length(model) - 20, get_byte(model, length(model) - 20) # 1), 1, 3)
FROM bi_models WHERE name = 'ncf';
