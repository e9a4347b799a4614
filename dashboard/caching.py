"""The application's shared cache (Flask-Caching) and cached reads keyed by data version.

``DASHBOARD_REDIS_URL`` set: Flask-Caching's RedisCache, shared by every worker and app host
(keys under ``vb:cache:``; values are pickled, so Redis must be as trusted as the state
database). Not set: a per-process SimpleCache. Every key holds the data version and the scope
fingerprint (``data/cache.py`` :func:`cache_key`), so an import or another user's scope never
meets a stale or foreign entry; old versions' entries simply expire.
"""
from __future__ import annotations

import flask
from flask_caching import Cache

from data.cache import cache_key, memo

#: Seconds a cached value lives (a new data version uses new keys anyway).
TIMEOUT = 3600
THRESHOLD = 300


def init_cache(server: flask.Flask, settings) -> Cache:
    if settings.redis_url:
        config = {"CACHE_TYPE": "RedisCache", "CACHE_REDIS_URL": settings.redis_url,
                  "CACHE_KEY_PREFIX": "vb:cache:", "CACHE_DEFAULT_TIMEOUT": TIMEOUT}
    else:
        # At most THRESHOLD entries per worker, so that its memory stays bounded.
        config = {"CACHE_TYPE": "SimpleCache", "CACHE_THRESHOLD": THRESHOLD,
                  "CACHE_DEFAULT_TIMEOUT": TIMEOUT}
    cache = Cache(server, config=config)
    server.config["VB_CACHE"] = cache
    return cache


def cached(name: str, compute, *, scope, extra=()):
    """``compute()``, cached under its name, the current data version, ``scope`` and
    ``extra`` (``scope=None`` only for values no user's scope enters; then ``extra`` names
    what they depend on)."""
    app = flask.current_app
    key = cache_key(name, scope=scope, version=app.config["VB_STORE"].version(), extra=extra)
    return memo(app.config.get("VB_CACHE"), key, compute)
