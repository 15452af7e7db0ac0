#!/usr/bin/python3
"""A small application serving recommendations from recsys over a connection.

Every value goes to the server as a bound parameter (psycopg sends them
apart from the SQL text), so a user id, a model name or a visitor's clicks
can never change the statement.  Connection settings come from the usual
libpq environment (PGHOST, PGPORT, PGUSER, PGDATABASE) or --dsn.

    recommend_client.py --model NAME --user 42 [--k 10]
    recommend_client.py --model NAME --visitor 31:1,77:1,5:1 [--k 10]

The model is read from a table `models (name text, model bytea)`; the
titles, when a table `items (item_id bigint, title text)` exists, are
joined in the same statement.
"""
import argparse
import sys

import psycopg

RECOMMEND_USER = """
SELECT r.item_id, r.score
FROM models m, recsys.recommend(m.model, %(user)s, %(k)s) r
WHERE m.name = %(model)s
ORDER BY r.score DESC, r.item_id
"""

# A visitor without an account: their clicks are folded into the model on
# the fly, and what they already clicked is left out.
RECOMMEND_VISITOR = """
SELECT r.item_id, r.score
FROM models m, recsys.recommend(m.model, %(items)s::bigint[], %(values)s::real[], %(k)s) r
WHERE m.name = %(model)s
ORDER BY r.score DESC, r.item_id
"""


def recommend_for_user(conn, model, user, k=10):
    """[(item_id, score)] for a known user, best first."""
    return conn.execute(RECOMMEND_USER, {"model": model, "user": user, "k": k}).fetchall()


def recommend_for_visitor(conn, model, clicks, k=10):
    """[(item_id, score)] for a history of (item_id, value) pairs, best first."""
    items = [item for item, _ in clicks]
    values = [value for _, value in clicks]
    return conn.execute(
        RECOMMEND_VISITOR, {"model": model, "items": items, "values": values, "k": k}
    ).fetchall()


def parse_clicks(text):
    clicks = []
    for part in text.split(","):
        item, _, value = part.partition(":")
        clicks.append((int(item), float(value or 1)))
    return clicks


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dsn", default="", help="libpq connection string")
    parser.add_argument("--model", required=True)
    who = parser.add_mutually_exclusive_group(required=True)
    who.add_argument("--user", type=int)
    who.add_argument("--visitor", type=parse_clicks, help="item:value,item:value,...")
    parser.add_argument("--k", type=int, default=10)
    args = parser.parse_args(argv)

    with psycopg.connect(args.dsn) as conn:
        if args.user is not None:
            rows = recommend_for_user(conn, args.model, args.user, args.k)
        else:
            rows = recommend_for_visitor(conn, args.model, args.visitor, args.k)
    for item_id, score in rows:
        print(f"{item_id}\t{score:.6f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
