-- Installing the extension, and the promises its catalogue entries make.
CREATE EXTENSION recsys;

SELECT extname, extversion, extrelocatable, n.nspname AS schema
FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
WHERE extname = 'recsys';

-- Every function and aggregate has a comment (psql \df+ shows it).
SELECT p.oid::regprocedure AS missing_comment
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = 'recsys' AND obj_description(p.oid, 'pg_proc') IS NULL;

-- Serving functions are immutable, strict and parallel safe, with a cost
-- that tells the planner what a call takes; trainers are parallel safe
-- aggregates.
SELECT p.proname, p.prokind, p.provolatile, p.proisstrict, p.proparallel, p.procost
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = 'recsys' AND p.proname NOT LIKE '\_%'
ORDER BY 1, p.pronargs, pg_get_function_identity_arguments(p.oid);

-- recsys.max_threads defaults to the machine's cores: the tests that train
-- on a given number of threads must not depend on the machine they run on.
ALTER DATABASE :"DBNAME" SET recsys.max_threads = 64;
