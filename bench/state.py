"""State-database benchmark: the same state operations on SQLite and on PostgreSQL, and the
speed of ``state migrate``. Prints median and p95 per operation and rows/s of the copy.
Asserts nothing.

    .venv/bin/python bench/state.py                     # PostgreSQL at 127.0.0.1:5432
    .venv/bin/python bench/state.py --n 2000 --log-rows 200000

A fresh database is created on the PostgreSQL server for the run and dropped afterwards
(``--admin`` names the server's maintenance database).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def timings(fn, n: int) -> dict:
    out = []
    for i in range(n):
        start = time.perf_counter()
        fn(i)
        out.append((time.perf_counter() - start) * 1000)
    out.sort()
    return {"median_ms": round(statistics.median(out), 3),
            "p95_ms": round(out[int(len(out) * 0.95) - 1], 3)}


def operations(state, n: int) -> dict:
    from data import protocol
    from data.accounts import add_user, get_user, user_for_session
    from data.scope import Scope

    user = add_user(state, "bench", "analist", "een-lang-wachtwoord-2026", eenheden=["E01"])
    scope = Scope(frozenset({"GM0363"}), 2)
    session = user.get_id()
    return {
        "protocol.record": timings(lambda i: protocol.record(
            state, user=user, scope=scope, view="bench", filters={"i": i}, rows=i,
            client="bench"), n),
        "user_for_session": timings(lambda i: user_for_session(state, session), n),
        "get_user": timings(lambda i: get_user(state, "bench"), n),
        "protocol.search(100)": timings(lambda i: protocol.search(state, user="bench",
                                                                  limit=100), max(1, n // 10)),
    }


def main() -> int:
    import psycopg

    from data.state import StateDB
    from data.state.copy import copy_to_postgres

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--admin", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--n", type=int, default=1000, help="calls per operation")
    parser.add_argument("--log-rows", type=int, default=100_000,
                        help="protocol rows in the SQLite state that is migrated")
    args = parser.parse_args()
    names = ["vbbench_" + uuid.uuid4().hex[:8] for _ in range(2)]
    base = args.admin.rsplit("/", 1)[0]
    with psycopg.connect(args.admin, autocommit=True) as con:
        for name in names:
            con.execute(f"CREATE DATABASE {name}")
    result = {"load_average": os.getloadavg()}
    try:
        with tempfile.TemporaryDirectory() as folder:
            result["sqlite"] = operations(StateDB(Path(folder) / "a.sqlite"), args.n)
            result["postgresql"] = operations(StateDB(f"{base}/{names[0]}"), args.n)
            source = StateDB(Path(folder) / "b.sqlite")
            with source.transaction() as tx:
                tx.executemany(
                    "INSERT INTO protocol_log (at, user, role, scope, view, filters, level, rows,"
                    " client, outcome) VALUES (?, 'u', 'analist', '[]', 'bench', '{}', 2, ?,"
                    " 'bench', 'ok')", [("2026-01-01T00:00:00", i) for i in range(args.log_rows)])
            start = time.perf_counter()
            counts = copy_to_postgres(Path(folder) / "b.sqlite", f"{base}/{names[1]}")
            seconds = time.perf_counter() - start
            result["migrate"] = {"rows": sum(counts.values()), "seconds": round(seconds, 2),
                                 "rows_per_s": round(sum(counts.values()) / seconds)}
    finally:
        with psycopg.connect(args.admin, autocommit=True) as con:
            for name in names:
                con.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
