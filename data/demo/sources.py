"""Generated gemeente sources for the demo (deterministic): "BOA-registraties" per wijk and
"Overlastmeldingen" per buurt, monthly, for the largest demo gemeente (Havenstad)."""
from __future__ import annotations

from datetime import date, datetime

import numpy as np
import pandas as pd

DEMO_SOURCES = {
    "boa": ("BOA-registraties", "registraties van boa's (handhaving openbare ruimte), per wijk",
            "wijk", {"afval": 9.0, "parkeren": 14.0, "overlast": 5.0, "jeugd": 2.5}),
    "overlast": ("Overlastmeldingen", "meldingen van overlast bij de gemeente, per buurt",
                 "buurt", {"geluid": 1.6, "jeugd": 0.9, "verward gedrag": 0.4}),
}


def write_demo_sources(con, gm_code: str, today: date, *, seed: int, months: int = 36) -> int:
    """Write the demo sources of ``gm_code`` (its last ``months`` complete months)."""
    end = date(today.year, today.month, 1)
    starts = pd.date_range(end=pd.Timestamp(end) - pd.DateOffset(months=1), periods=months,
                           freq="MS").date
    rng = np.random.default_rng(np.random.SeedSequence([seed, 1717]))
    total = 0
    for source, (title, description, level, rates) in DEMO_SOURCES.items():
        areas = [r[0] for r in con.execute(
            "SELECT code FROM areas WHERE level = ? AND gm_code = ? ORDER BY code",
            [level, gm_code]).fetchall()]
        weight = rng.gamma(2.0, 0.5, size=len(areas))
        rows = []
        for i, start in enumerate(starts):
            season = 1 + 0.25 * np.sin(2 * np.pi * (start.month - 4) / 12)
            trend = 1 + 0.15 * i / months
            for category, rate in rates.items():
                counts = rng.poisson(rate * weight * season * trend)
                rows += [(gm_code, source, code, level, start, category, int(n), None, None)
                         for code, n in zip(areas, counts)]
        frame = pd.DataFrame(rows, columns=["owner", "source", "area_code", "level",
                                            "period_start", "category", "count", "lon", "lat"])
        con.register("_demo_source", frame)
        try:
            con.execute("INSERT INTO gemeente_source_counts SELECT owner, source, area_code, level,"
                        " period_start::DATE, category, count, lon::DOUBLE, lat::DOUBLE"
                        " FROM _demo_source")
        finally:
            con.unregister("_demo_source")
        con.execute("INSERT OR REPLACE INTO gemeente_sources VALUES"
                    " (?, ?, ?, ?, 'month', ?, ?, ?, 'demo', NULL)",
                    [gm_code, source, title, description, starts[0], starts[-1],
                     datetime(today.year, today.month, today.day)])  # deterministic
        total += len(rows)
    return total
