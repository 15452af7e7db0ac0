#!/usr/bin/python3
"""Runs test/clients/recommend_client.py against a server (libpq environment).

Checks that the client's answers are the server's (the same rows as the SQL
it stands for), that a visitor's clicks fold in, that hostile input stays
data, and that errors reach the caller as psycopg exceptions with their
SQLSTATE.  Exits non-zero on the first failure.
"""
import os
import subprocess
import sys

import psycopg

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import recommend_client as client  # noqa: E402

SETUP = """
DROP TABLE IF EXISTS client_ratings, models;
-- 30 items: the data-scaled penalty is small for so tiny a catalogue
-- (README, Tuning), so the model's settings are given
CREATE TABLE client_ratings AS
SELECT u::bigint AS user_id, (u % 3 * 10 + (u * 7 + j * 3) % 10)::bigint AS item_id, 1::real AS value
FROM generate_series(1, 90) u, generate_series(1, 6) j;
CREATE TABLE models (name text PRIMARY KEY, model bytea NOT NULL);
INSERT INTO models
SELECT 'it''s implicit', recsys.train_als(user_id, item_id, value,
                                          '{"feedback": "implicit", "factors": 8, "seed": 1,
                                            "alpha": 40, "regularization": 400}')
FROM client_ratings;
"""


def check(condition, what):
    if not condition:
        raise SystemExit(f"FAILED: {what}")
    print(f"ok - {what}")


def main():
    with psycopg.connect("", autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS recsys")
        conn.execute(SETUP)
        model = "it's implicit"     # a quote in the name: bound, never spliced

        rows = client.recommend_for_user(conn, model, 4, 5)
        direct = conn.execute(
            "SELECT item_id, score FROM models m, recsys.recommend(m.model, 4, 5) "
            "WHERE m.name = 'it''s implicit' ORDER BY score DESC, item_id").fetchall()
        check(len(rows) == 5 and rows == direct, "a user's top 5 equals the SQL it stands for")
        seen = {r[0] for r in conn.execute(
            "SELECT item_id FROM client_ratings WHERE user_id = 4").fetchall()}
        check(not seen & {r[0] for r in rows}, "nothing the user has seen is recommended")
        check(all(rows[i][1] >= rows[i + 1][1] for i in range(len(rows) - 1)), "best first")

        # user 4 is in class 1 (items 10..19): a visitor clicking class 2 gets class 2
        clicks = [(20, 1.0), (23, 1.0), (27, 1.0)]
        visitor = client.recommend_for_visitor(conn, model, clicks, 5)
        check(len(visitor) == 5, "a visitor with three clicks gets five items")
        check(all(20 <= item <= 29 for item, _ in visitor),
              f"the visitor's items are of the class they clicked: {[i for i, _ in visitor]}")
        check(not {20, 23, 27} & {item for item, _ in visitor}, "their clicks are left out")

        check(client.recommend_for_user(conn, "no such model", 4) == [], "an unknown model: no rows")
        check(client.recommend_for_user(conn, "x' OR '1'='1", 4) == [],
              "a model name that would be an injection is only a name")
        try:
            client.recommend_for_user(conn, model, 4, 0)
            check(False, "k = 0 is refused")
        except psycopg.Error as e:
            check(e.sqlstate == "22023", f"k = 0: SQLSTATE {e.sqlstate}, {e.diag.message_primary}")
        try:
            client.recommend_for_visitor(conn, model, [(20, 1.0), (21, float("nan"))])
            check(False, "a NaN click is refused")
        except psycopg.Error as e:
            check(e.sqlstate is not None and e.sqlstate.startswith("22"),
                  f"a NaN click: SQLSTATE {e.sqlstate}")
        check(conn.execute("SELECT count(*) FROM models").fetchone()[0] == 1,
              "the models table is intact")

    # and the command line prints what the function returns
    out = subprocess.run([sys.executable, client.__file__, "--model", model, "--user", "4",
                          "--k", "5"], check=True, capture_output=True, text=True).stdout
    check([int(line.split("\t")[0]) for line in out.splitlines()] == [r[0] for r in rows],
          "the command line prints the same list")
    print("recommend_client: all checks passed")


if __name__ == "__main__":
    main()
