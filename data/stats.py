"""Small statistics used by the monitors: is a change between two counts more than chance?

Registered counts are treated as Poisson variables.

*Two counts* ``a`` (now) and ``b`` (the same period a year earlier): under the hypothesis that
both come from the same rate, ``a`` given ``n = a + b`` is Binomial(n, 1/2) (the conditional
test for two Poisson counts). The two-sided p-value is the exact binomial tail, so 4 against 0
(p = 0.125) is *not* significant, where the normal approximation ``z = (a - b) / sqrt(a + b)``
(z = 2) would call it so. The exact test decides significance always, for every ``n``: it is
cheap (a few thousand terms at most, see ``_binomial_half_cdf``), it needs no threshold below
which the approximation is "too rough", and for large counts it agrees with the normal one.
``z`` is still reported: it gives the direction and orders changes by size in the texts.

*A count against an expected value* (a buurt against its gemeente's rate): ``count`` is
Poisson(expected); the two-sided p-value is twice the smaller exact tail (capped at 1).

Significant means ``p < ALPHA`` (5%, two-sided). Pure functions, no data access.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

#: Two-sided significance level.
ALPHA = 0.05

#: A term smaller than this fraction of the running sum ends a tail sum: the rest of the tail
#: (geometrically falling terms) cannot change the sum in double precision.
_TAIL_EPS = 1e-17


@dataclass(frozen=True)
class Change:
    current: int
    previous: int
    z: float | None
    significant: bool
    p: float | None = None

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
    """z-score of the change from ``previous`` to ``current`` (normal approximation, for
    display and ordering); None when either is missing or both are zero."""
    if current is None or previous is None or _missing(current) or _missing(previous):
        return None
    current, previous = float(current), float(previous)
    if current < 0 or previous < 0:
        raise ValueError("counts cannot be negative")
    if current + previous == 0:
        return None
    return (current - previous) / math.sqrt(current + previous)


def poisson_p(current, previous) -> float | None:
    """Exact two-sided p-value of the change from ``previous`` to ``current`` (conditional
    binomial test); None when either is missing or both are zero."""
    if current is None or previous is None or _missing(current) or _missing(previous):
        return None
    a, b = _count(current), _count(previous)
    n = a + b
    if n == 0:
        return None
    # Binomial(n, 1/2) is symmetric: the two-sided p-value is twice the smaller tail.
    return min(1.0, 2.0 * _binomial_half_cdf(min(a, b), n))


def poisson_change(current, previous) -> Change:
    """The change from ``previous`` to ``current`` with its significance (exact test)."""
    z = poisson_z(current, previous)
    p = poisson_p(current, previous)
    return Change(None if _missing(current) else current, None if _missing(previous) else previous,
                  z, p is not None and p < ALPHA, p)


def poisson_p_expected(count, expected) -> float | None:
    """Exact two-sided p-value of ``count`` against a Poisson mean ``expected`` (twice the
    smaller tail, capped at 1); None when either is missing or ``expected`` is not positive."""
    if count is None or expected is None or _missing(count) or _missing(expected):
        return None
    k, mu = _count(count), float(expected)
    if mu <= 0:
        return None
    lower = _poisson_tail(k, mu, down=True)                        # P(X <= k)
    upper = 1.0 if k == 0 else _poisson_tail(k, mu, down=False)    # P(X >= k)
    return min(1.0, 2.0 * min(lower, upper))


def _binomial_half_cdf(k: int, n: int) -> float:
    """P(X <= k) for X ~ Binomial(n, 1/2) and k <= n / 2: the terms fall from k downwards, so
    the sum stops once they no longer count."""
    log_term = math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1) - n * math.log(2)
    term, total = math.exp(log_term), 0.0
    for i in range(k, -1, -1):
        total += term
        if term == 0.0 or term < total * _TAIL_EPS:
            break
        term *= i / (n - i + 1)  # C(n, i-1) / C(n, i)
    return min(1.0, total)


def _poisson_tail(k: int, mu: float, *, down: bool) -> float:
    """P(X <= k) (down) or P(X >= k) for X ~ Poisson(mu), summed from k outwards. Where the
    tail holds the mode, its complement is summed instead, so the terms always fall."""
    if down and k >= mu:
        return 1.0 - (_poisson_tail(k + 1, mu, down=False))
    if not down and k <= mu:
        return 1.0 - (_poisson_tail(k - 1, mu, down=True) if k > 0 else 0.0)
    term = math.exp(k * math.log(mu) - mu - math.lgamma(k + 1))
    total, i = 0.0, k
    while True:
        total += term
        if term == 0.0 or term < total * _TAIL_EPS:
            break
        if down:
            if i == 0:
                break
            term *= i / mu       # P(i-1) / P(i)
            i -= 1
        else:
            i += 1
            term *= mu / i       # P(i) / P(i-1)
    return max(0.0, min(1.0, total))


def _count(value) -> int:
    """A count as an int; a negative or fractional value is a caller's error."""
    number = float(value)
    if number < 0:
        raise ValueError("counts cannot be negative")
    if number != int(number):
        raise ValueError(f"a count must be a whole number, not {value!r}")
    return int(number)


def _missing(value) -> bool:
    return value is None or bool(pd.isna(value))  # None, NaN or pandas <NA>
