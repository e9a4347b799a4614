"""Small statistics used by the monitors: is a change between two counts more than chance?

Registered counts are treated as Poisson variables. For two counts ``a`` (now) and ``b`` (the
same period a year earlier) the difference has variance ``a + b`` under the hypothesis that
both come from the same rate, so ``z = (a - b) / sqrt(a + b)``; ``|z| >= 1.96`` is significant
at the 5% level (two-sided). Pure functions, no data access.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

#: Two-sided 5% critical value of the standard normal distribution.
Z_CRITICAL = 1.96


@dataclass(frozen=True)
class Change:
    current: int
    previous: int
    z: float | None
    significant: bool

    @property
    def pct(self) -> float | None:
        if not self.previous:
            return None
        return (self.current - self.previous) / self.previous * 100.0

    @property
    def label(self) -> str:
        """Dutch wording for hover texts and tables."""
        if self.z is None:
            return "geen vergelijking mogelijk"
        if not self.significant:
            return "binnen normale schommeling"
        return "significante stijging" if self.z > 0 else "significante daling"


def poisson_z(current, previous) -> float | None:
    """z-score of the change from ``previous`` to ``current``; None when either is missing or
    both are zero (nothing to compare)."""
    if current is None or previous is None or _missing(current) or _missing(previous):
        return None
    current, previous = float(current), float(previous)
    if current < 0 or previous < 0:
        raise ValueError("counts cannot be negative")
    if current + previous == 0:
        return None
    return (current - previous) / math.sqrt(current + previous)


def poisson_change(current, previous) -> Change:
    """The change from ``previous`` to ``current`` with its significance."""
    z = poisson_z(current, previous)
    return Change(None if _missing(current) else current, None if _missing(previous) else previous,
                  z, z is not None and abs(z) >= Z_CRITICAL)


def _missing(value) -> bool:
    return value is None or bool(pd.isna(value))  # None, NaN or pandas <NA>
