-- Damaged or foreign bytes are rejected with a clean error before use.
\set VERBOSITY default
CREATE TABLE damaged AS SELECT model FROM models WHERE name = 'planted';

-- truncated
SELECT recsys.predict(substring(model from 1 for length(model) - 1), 1, 1) FROM damaged;
SELECT recsys.predict(substring(model from 1 for 200), 1, 1) FROM damaged;
SELECT recsys.predict(substring(model from 1 for 20), 1, 1) FROM damaged;
SELECT recsys.predict(''::bytea, 1, 1);
-- one byte changed in the payload, in the magic, in the version, in a size
SELECT recsys.predict(set_byte(model, 5000, (get_byte(model, 5000) + 1) % 256), 1, 1) FROM damaged;
SELECT recsys.predict(set_byte(model, 0, (get_byte(model, 0) + 1) % 256), 1, 1) FROM damaged;
SELECT recsys.predict(set_byte(model, 4, 99), 1, 1) FROM damaged;
SELECT recsys.predict(set_byte(model, 4, 0), 1, 1) FROM damaged;
SELECT recsys.predict(set_byte(model, 6, 200), 1, 1) FROM damaged;
SELECT recsys.predict(set_byte(model, 24, (get_byte(model, 24) + 8) % 256), 1, 1) FROM damaged;
SELECT recsys.predict(set_byte(model, 41, (get_byte(model, 41) + 1) % 256), 1, 1) FROM damaged;
-- extra bytes at the end
SELECT recsys.predict(model || '\x00'::bytea, 1, 1) FROM damaged;
-- not a model at all
SELECT recsys.predict('not a model, just some text that is long enough'::bytea, 1, 1);
SELECT recsys.model_info('\xdeadbeef'::bytea);
SELECT * FROM recsys.recommend('\x00000000000000000000000000000000000000000000000000000000000000000000000000'::bytea, 1);
\set VERBOSITY terse

-- The intact model still works afterwards, and answers as it does in a
-- new session, which decodes it afresh.
SELECT recsys.predict(model, 1, 1) AS after_the_errors FROM damaged \gset
\c
SELECT recsys.predict(model, 1, 1) = :'after_the_errors' AS still_works FROM damaged;
