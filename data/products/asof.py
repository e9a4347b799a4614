"""Products count what was registered up to and including their peildatum (issue 16 part 5).

A product's text says "registratiedatum niet later dan de peildatum", and a November report
made again in January must give the same numbers as the one made on 1 December. Rather than
give every query a date parameter, :func:`as_of` opens a connection (a cursor of the store's
read-only connection: its own temporary catalogue) on which ``incidents`` holds only the
registrations up to the end of the peildatum and ``counts`` derives its incident months from
those (imported open data stay as they are); ``group_counts`` and ``area_group_counts`` are
empty there, so trend and map queries fall back to ``counts`` and the incidents. Every builder
reads through it unchanged (``data.products.build``).
"""
from __future__ import annotations

from contextlib import contextmanager
from datetime import date, timedelta

from data.incidents import DERIVED_COUNTS_SQL
from data.sql import ident, literal


@contextmanager
def as_of(con, reference: date, gemeenten=()):
    """A connection on which the database reads as it stood at the end of ``reference``; its
    incidents are those of ``gemeenten`` (the product's scope: every query of a builder is
    scoped anyway, and a national database then derives its counts from a few gemeenten)."""
    view = con.cursor()
    try:
        catalog = view.execute("SELECT current_database()").fetchone()[0]
        main = f"{ident(catalog)}.main"
        until = (reference + timedelta(days=1)).isoformat()
        codes = ", ".join(literal(code) for code in sorted(gemeenten))
        view.execute(f"CREATE TEMP VIEW incidents AS SELECT * FROM {main}.incidents"
                     f" WHERE registered_at < TIMESTAMP '{until}'"
                     f" AND gm_code IN ({codes or 'NULL'})")
        view.execute(f"CREATE TEMP TABLE counts AS SELECT * FROM {main}.counts"
                     " WHERE source <> 'incidents'")
        view.execute(f"INSERT INTO counts {DERIVED_COUNTS_SQL}")
        for derived in ("group_counts", "area_group_counts"):  # empty: counted from the above
            view.execute(f"CREATE TEMP TABLE {derived} AS SELECT * FROM {main}.{derived} LIMIT 0")
        yield view
    finally:
        view.close()
