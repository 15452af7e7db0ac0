-- recsys 0.5.0 -> 0.6.0
\echo Use "ALTER EXTENSION recsys UPDATE TO '0.6.0'" to load this file. \quit

-- A history of items alone, as clicks are: each counts as one interaction.
-- (With both recommend(model, user_id bigint, ...) and this, a bare NULL or
-- an untyped parameter in the second place is ambiguous: write NULL::bigint
-- or $2::bigint.)
CREATE FUNCTION recsys.recommend(model bytea, item_ids bigint[], k int DEFAULT 10)
RETURNS TABLE (item_id bigint, score float8)
AS 'MODULE_PATHNAME', 'recsys_recommend_items'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 10 COST 10000 SUPPORT recsys._rows_support;

COMMENT ON FUNCTION recsys.recommend(bytea, bigint[], int) IS
'the k best items for a user given by the items of a history alone, each counting as one interaction (as recommend(model, item_ids, values, k) with every value 1); not for models of ratings; the history''s items are left out';
