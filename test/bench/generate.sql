-- Interaction data of a given shape for the benchmarks, deterministic from a
-- seed: long-tailed popularity on both sides, as rating data has.
--
-- Each candidate row draws a user and an item rank by power transforms of a
-- uniform number: user = ceil(users * u^1.6), item = ceil(items * v^2.5),
-- i.e. popularity falling with rank like rank^-0.375 for users and rank^-0.6
-- for items (the most active user of the ML-20M shape has ~8,000 rows, the
-- most popular item is seen by most users, the median item by ~500).
-- Repeated pairs are merged, so a shape asks for a few more candidates
-- than the interactions it wants.  Ratings are 1..5, uniform.

CREATE FUNCTION bench_uniform(r bigint, stream int, seed int) RETURNS float8
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN (hashint8extended(r * 4 + stream, seed) & 9007199254740991)::float8 / 9007199254740992;

CREATE FUNCTION bench_interactions(users int, items int, candidates bigint, seed int)
RETURNS TABLE (user_id bigint, item_id bigint, value real)
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT u, i, (1 + floor(5 * bench_uniform(u * 1000003 + i, 2, seed)))::real
    FROM (SELECT 1 + floor(users * bench_uniform(r, 0, seed) ^ 1.6)::bigint AS u,
                 1 + floor(items * bench_uniform(r, 1, seed) ^ 2.5)::bigint AS i
          FROM generate_series(1, candidates) r) c
    GROUP BY u, i;
END;
