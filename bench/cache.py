"""Per-request reads with and without Redis: session validation, the scope, the dataset badge.

    .venv/bin/python bench/cache.py --db instance/veiligheidsbeeld.duckdb \
        [--redis redis://127.0.0.1:6379/14] [--user burgemeester] [-n 300]

Builds the app twice on the given database (a demo database works: `python -m dashboard demo`),
once embedded and once with DASHBOARD_REDIS_URL, and prints the median and p95 in ms of each
read as one request does it. Prints numbers; asserts nothing. The Redis database is emptied.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def timed(fn, n: int) -> tuple[float, float]:
    fn()
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    return statistics.median(times), times[max(0, int(len(times) * 0.95) - 1)]


def measure(db: Path, redis_url: str, user_name: str, n: int) -> dict:
    import flask
    import flask_login

    from dashboard import create_app
    from dashboard.auth import scope_memo
    from dashboard.caching import cached
    from data.accounts import get_profile, get_user, user_for_session
    from data.cache import configure
    from data.queries.overview import dataset_summary
    from data.scope import resolve_scope

    app = create_app({"db": db, "redis_url": redis_url, "tile_url": ""}).server
    state, store = app.config["VB_STATE"], app.config["VB_STORE"]
    user = get_user(state, user_name)
    out = {}
    with app.test_request_context("/"):
        flask_login.login_user(user)
        scope = resolve_scope(user, con=store.read(), profile_for=lambda c: get_profile(state, c))
        out["session (user_for_session)"] = timed(lambda: user_for_session(state, user.get_id()), n)
        out["scope, uncached"] = timed(lambda: resolve_scope(
            user, con=store.read(), profile_for=lambda c: get_profile(state, c)), n)
        out["scope, cached"] = timed(lambda: resolve_scope(
            user, con=store.read(), profile_for=lambda c: get_profile(state, c),
            memo=scope_memo), n)
        out["dataset_summary, uncached"] = timed(
            lambda: dataset_summary(store.read(), scope=scope), n)
        out["dataset_summary, cached"] = timed(lambda: cached(
            "dataset-summary", lambda: dataset_summary(store.read(), scope=scope), scope=scope), n)
        flask.g.pop("vb_scope", None)
    configure(state, "")
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/14")
    parser.add_argument("--user", default="burgemeester")
    parser.add_argument("-n", type=int, default=300)
    args = parser.parse_args()
    import os

    import redis

    redis.Redis.from_url(args.redis).flushdb()
    print(f"load average {os.getloadavg()[0]:.2f}; {args.n} calls each; ms median / p95")
    for label, url in (("embedded", ""), ("redis", args.redis)):
        for name, (median, p95) in measure(args.db, url, args.user, args.n).items():
            print(f"{label:9} {name:30} {median:7.3f} {p95:7.3f}")
    redis.Redis.from_url(args.redis).flushdb()


if __name__ == "__main__":
    main()
