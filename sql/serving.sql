-- predict and recommend: fallbacks for unknown ids, ordering, k, exclusion
-- of seen items, agreement between the two.
CREATE TABLE models (name text PRIMARY KEY, model bytea);
SELECT clock_timestamp() AS before_training \gset
INSERT INTO models
SELECT 'planted', recsys.train_als(user_id, item_id, rating, '{"factors": 8, "iterations": 8}')
FROM planted WHERE NOT held_out;

-- The model is large enough to be stored out of line (TOAST).
SELECT pg_column_size(model) > 8000 AS toasted, length(model) > 100000 AS large
FROM models WHERE name = 'planted';

-- Unknown ids fall back to what the model knows: the global mean plus the
-- known bias plus a newcomer's expected bias.
SELECT abs(recsys.predict(model, -1, -1)
           - ((info ->> 'global_mean')::float8 + (info ->> 'new_user_bias')::float8
              + (info ->> 'new_item_bias')::float8)) < 1e-9 AS both_unknown,
       recsys.predict(model, -1, 5) = recsys.predict(model, 99999, 5) AS same_for_any_new_user,
       recsys.predict(model, 7, -1) = recsys.predict(model, 7, 99999) AS same_for_any_new_item,
       recsys.predict(model, -1, 5) <> recsys.predict(model, -1, 6) AS item_bias_used,
       recsys.predict(model, 7, -1) <> recsys.predict(model, 8, -1) AS user_bias_used
FROM (SELECT model, recsys.model_info(model) AS info FROM models WHERE name = 'planted') s;

-- recommend returns k rows, best first, none the user had in training.
SELECT count(*) AS k,
       bool_and(r.item_id NOT IN (SELECT item_id FROM planted WHERE user_id = 7 AND NOT held_out)) AS unseen
FROM models m, recsys.recommend(m.model, 7, 15) r WHERE m.name = 'planted';

SELECT bool_and(score >= next_score) AS best_first
FROM (SELECT score, lead(score) OVER (ORDER BY ordinality) AS next_score
      FROM models m, recsys.recommend(m.model, 7, 50) WITH ORDINALITY r
      WHERE m.name = 'planted') s
WHERE next_score IS NOT NULL;

-- Its scores are the model's predictions, and its top 10 is the top 10 of
-- ORDER BY predict over the unseen items.
SELECT bool_and(abs(r.score - recsys.predict(m.model, 7, r.item_id)) < 1e-4) AS scores_are_predictions
FROM models m, recsys.recommend(m.model, 7, 10) r WHERE m.name = 'planted';

SELECT array_agg(r.item_id ORDER BY r.score DESC) =
       (SELECT array_agg(item_id) FROM (
            SELECT i.item_id FROM generate_series(1::bigint, 300) i(item_id), models m2
            WHERE m2.name = 'planted'
              AND i.item_id NOT IN (SELECT item_id FROM planted WHERE user_id = 7 AND NOT held_out)
            ORDER BY recsys.predict(m2.model, 7, i.item_id) DESC LIMIT 10) t) AS same_as_order_by_predict
FROM models m, recsys.recommend(m.model, 7, 10) r WHERE m.name = 'planted';

-- exclude_seen => false may return training items; k beyond the catalogue
-- returns every item once.
SELECT count(*) AS all_items, count(DISTINCT item_id) AS distinct_items
FROM models m, recsys.recommend(m.model, 7, 1000, false) r WHERE m.name = 'planted';
SELECT count(*) AS unseen_items
FROM models m, recsys.recommend(m.model, 7, 1000) r WHERE m.name = 'planted';

-- An unknown user gets the items with the highest bias (their baseline).
SELECT array_agg(r.item_id ORDER BY r.score DESC) =
       (SELECT array_agg(item_id) FROM (
            SELECT i.item_id FROM generate_series(1::bigint, 300) i(item_id), models m2
            WHERE m2.name = 'planted'
            ORDER BY recsys.predict(m2.model, -42, i.item_id) DESC, i.item_id LIMIT 5) t) AS by_item_bias
FROM models m, recsys.recommend(m.model, -42, 5) r WHERE m.name = 'planted';

-- k < 1 is an error; NULL arguments give no rows (STRICT).
SELECT * FROM models m, recsys.recommend(m.model, 7, 0) WHERE m.name = 'planted';
SELECT * FROM models m, recsys.recommend(m.model, 7, -5) WHERE m.name = 'planted';
SELECT count(*) FROM models m, recsys.recommend(m.model, NULL::bigint, 5) WHERE m.name = 'planted';
SELECT recsys.predict(NULL, 1, 1) IS NULL AS null_model;

-- recommend scores all items at once (a matrix product), predict one pair
-- at a time (a dot product): the same scores, to float rounding.
SELECT count(*) AS rows,
       max(abs(r.score - recsys.predict(m.model, u.user_id, r.item_id))) < 1e-4 AS agree
FROM models m, generate_series(1::bigint, 50) u(user_id),
     recsys.recommend(m.model, u.user_id, 300) r
WHERE m.name = 'planted';

-- Two models in one query are kept apart.
INSERT INTO models
SELECT 'other', recsys.train_als(user_id, item_id, (rating * 2)::real, '{"factors": 4, "iterations": 3}')
FROM planted WHERE NOT held_out;
SELECT bool_and(abs(recsys.predict(b.model, p.user_id, p.item_id)
                    - 2 * recsys.predict(a.model, p.user_id, p.item_id)) < 2.0) AS roughly_double,
       bool_or(recsys.predict(b.model, p.user_id, p.item_id)
               <> recsys.predict(a.model, p.user_id, p.item_id)) AS different
FROM planted p, models a, models b
WHERE a.name = 'planted' AND b.name = 'other' AND p.held_out AND p.user_id < 50;

-- model_info describes the model.
SELECT array_agg(k ORDER BY k) AS keys
FROM models m, jsonb_object_keys(recsys.model_info(m.model)) k WHERE m.name = 'planted';
SELECT info ->> 'algorithm' AS algorithm, info -> 'format_version' AS format_version,
       info -> 'factors' AS factors, info -> 'users' AS users, info -> 'items' AS items,
       info -> 'interactions' AS interactions, jsonb_array_length(info -> 'loss') AS losses,
       info ->> 'model_id' ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' AS uuid_shaped,
       (info ->> 'created')::timestamptz BETWEEN :'before_training' AND now() AS created
FROM (SELECT recsys.model_info(model) AS info FROM models WHERE name = 'planted') s;

-- Every model gets its own id.
SELECT count(DISTINCT recsys.model_info(model) ->> 'model_id') AS distinct_ids FROM models;
