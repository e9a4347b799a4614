"""When and how synthetic incidents happen, per crime or incident type.

Rough, plausible shapes from published police figures and criminological common knowledge
(burglary peaks in the dark months and on weekday daytime and dark evenings, violence on
Friday and Saturday nights, bicycle theft in summer, raids early on weekday mornings). They are
meant to make the demo look and behave like real data, not to model any real place.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from data.catalog import crime_types

# -- share of attempts ---------------------------------------------------------------------------
ATTEMPT_SHARE = {
    "1.1.1": 0.37, "1.1.2": 0.15, "2.5.1": 0.20, "1.4.7": 0.25, "1.4.2": 0.70, "1.4.6": 0.12,
    "1.2.2": 0.08, "1.2.1": 0.05, "2.5.2": 0.04, "2.4.2": 0.05, "1.6.1": 0.05,
}
DEFAULT_ATTEMPT_SHARE = 0.02  # other crimes; non-crime incidents have no attempts

# -- seasonality: relative level per calendar month (Jan..Dec), normalised to mean 1 ----------
SEASONS = {
    "flat": [1.0] * 12,
    "dark": [1.30, 1.05, 0.90, 0.78, 0.70, 0.66, 0.72, 0.78, 0.88, 1.08, 1.45, 1.70],
    "summer": [0.70, 0.72, 0.85, 1.00, 1.15, 1.22, 1.25, 1.25, 1.18, 1.00, 0.88, 0.80],
    "warm": [0.90, 0.88, 0.95, 1.00, 1.07, 1.08, 1.06, 1.06, 1.02, 0.98, 0.96, 1.04],
    "newyear": [2.4, 0.3, 0.2, 0.2, 0.2, 0.25, 0.2, 0.2, 0.2, 0.3, 1.4, 6.5],
    "fire": [1.45, 0.90, 0.90, 0.95, 1.00, 1.00, 1.00, 0.95, 0.90, 0.95, 1.05, 1.55],
    "shopping": [0.95, 0.88, 0.95, 0.95, 1.00, 0.95, 0.95, 0.97, 0.95, 1.00, 1.10, 1.35],
}
SEASON_OF = {
    "1.1.1": "dark", "1.1.2": "dark", "2.5.1": "dark", "1.4.7": "dark",
    "1.2.3": "summer", "1.5.2": "summer", "1.3.1": "summer", "N05": "summer",
    "1.4.3": "warm", "1.4.5": "warm", "1.4.4": "warm", "2.2.1": "warm", "3.6.4": "warm",
    "N01": "warm", "N07": "warm", "N04": "warm", "2.1.1": "warm",
    "2.6.9": "newyear", "1.6.1": "fire", "2.5.2": "shopping", "1.2.4": "shopping",
}

# -- weekday x hour profiles ---------------------------------------------------------------------
#: Profile class per type; types not listed use "day".
TIME_CLASS = {
    **dict.fromkeys(("1.4.3", "1.4.5", "2.2.1", "3.6.4", "N07", "3.5.2", "1.4.6", "1.4.2"),
                    "night"),
    **dict.fromkeys(("N01", "2.1.1", "N04"), "evening"),
    **dict.fromkeys(("1.1.1", "1.1.2"), "burglary"),
    **dict.fromkeys(("2.5.1", "1.2.1", "1.2.2", "1.2.5", "1.4.7"), "business"),
    **dict.fromkeys(("2.5.2", "1.2.4"), "shop"),
    **dict.fromkeys(("1.3.1", "N05", "3.5.5"), "traffic"),
    **dict.fromkeys(("3.9.1", "3.9.2", "3.9.3", "3.7.1", "3.7.2", "3.7.3", "3.7.4", "2.7.2",
                     "2.7.3", "3.1.2", "1.6.3", "2.6.1", "2.6.2", "2.6.3", "2.6.4", "2.6.5",
                     "2.6.7", "2.6.8", "2.6.10", "2.6.11", "2.6.12", "2.6.13", "2.6.14",
                     "3.3.2", "3.3.5", "3.4.2", "3.2.1", "3.2.2"), "office"),
    "N06": "raid",
}
TIME_CLASSES = ("day", "night", "evening", "burglary", "business", "shop", "traffic", "office",
                "raid")

_DAY_HOURS = np.array([0.5, 0.35, 0.25, 0.2, 0.2, 0.25, 0.4, 0.7, 0.9, 1.0, 1.05, 1.1,
                       1.15, 1.15, 1.15, 1.2, 1.3, 1.35, 1.35, 1.3, 1.2, 1.05, 0.9, 0.7])
_NIGHT_HOURS = np.array([3.0, 2.6, 2.1, 1.5, 0.8, 0.4, 0.3, 0.35, 0.5, 0.6, 0.7, 0.8,
                         0.9, 0.95, 1.0, 1.05, 1.1, 1.2, 1.3, 1.4, 1.6, 2.0, 2.5, 2.9])
_EVENING_HOURS = np.array([1.0, 0.6, 0.3, 0.2, 0.1, 0.1, 0.1, 0.15, 0.25, 0.35, 0.45, 0.55,
                           0.65, 0.8, 1.0, 1.3, 1.6, 2.0, 2.6, 3.0, 3.2, 3.0, 2.3, 1.5])


def time_weights(kind: str, month: int) -> np.ndarray:
    """Relative weight of each (weekday 0=Mon..6=Sun, hour 0..23) for a calendar month 1..12."""
    w = np.ones((7, 24))
    if kind == "day":
        w *= _DAY_HOURS
        w[5:] *= 0.9
    elif kind == "night":
        w *= _NIGHT_HOURS
        # Friday and Saturday nights (the evening and the small hours after it).
        for evening, morning in ((4, 5), (5, 6)):
            w[evening, 20:] *= 3.2
            w[morning, :6] *= 3.2
        w[3, 21:] *= 1.3  # Thursday: student night
        w[4, :6] *= 1.3
    elif kind == "evening":
        w *= _EVENING_HOURS
        w[4:6] *= 1.4
        w[5:7, :3] *= 1.4
    elif kind == "burglary":
        dark = {1: 2.2, 2: 1.9, 3: 1.4, 4: 1.0, 5: 0.8, 6: 0.7, 7: 0.7, 8: 0.8, 9: 1.1,
                10: 1.6, 11: 2.2, 12: 2.4}[month]
        hours = np.full(24, 0.35)
        hours[8:17] = 1.6  # nobody home on weekdays
        hours[17:22] = 1.0 * dark  # dark evenings
        hours[22:] = 0.5
        w *= hours
        w[5:] *= 0.6
    elif kind == "business":
        hours = np.full(24, 0.6)
        hours[:6] = 2.0
        hours[22:] = 1.6
        w *= hours
        w[5:] *= 1.5
    elif kind == "shop":
        hours = np.zeros(24) + 0.02
        hours[9:18] = 1.0
        hours[12:17] = 1.3
        w *= hours
        w[3:5, 18:21] = 0.6  # late-night shopping
        w[5] *= 1.35
        w[6] = 0.02
        w[6, 12:17] = 0.8
    elif kind == "traffic":
        hours = _DAY_HOURS.copy()
        hours[7:9] *= 1.8
        hours[16:19] *= 1.7
        w *= hours
        w[5:, 7:9] /= 1.8
    elif kind == "office":
        hours = np.full(24, 0.15)
        hours[8:18] = 1.0
        hours[18:23] = 0.45
        w *= hours
        w[5:] *= 0.35
    elif kind == "raid":
        hours = np.full(24, 0.03)
        hours[5:8] = 3.0
        hours[8:17] = 0.3
        w *= hours
        w[5:] *= 0.1
    else:
        raise ValueError(kind)
    return w


# -- registration delay --------------------------------------------------------------------------
#: Mixtures of log-normal delays: (share, median in seconds, sigma).
DELAYS = {
    "quick": ((0.80, 20 * 60, 0.8), (0.17, 4 * 3600, 1.0), (0.03, 3 * 86400, 0.8)),
    "default": ((0.45, 45 * 60, 1.0), (0.35, 10 * 3600, 1.0), (0.15, 3 * 86400, 0.8),
                (0.05, 21 * 86400, 0.5)),
    "burglary": ((0.30, 20 * 60, 0.8), (0.55, 5 * 3600, 0.9), (0.12, 2 * 86400, 0.8),
                 (0.03, 14 * 86400, 0.5)),
    "late": ((0.15, 3600, 1.0), (0.30, 86400, 1.0), (0.35, 7 * 86400, 0.7),
             (0.20, 30 * 86400, 0.5)),
}
DELAY_OF = {
    **dict.fromkeys(("1.1.1", "1.1.2", "2.5.1"), "burglary"),
    **dict.fromkeys(("3.9.1", "3.9.2", "3.9.3", "3.7.4", "3.7.3", "1.4.1", "1.6.3", "3.2.1",
                     "3.2.2", "3.1.2", "1.6.2", "2.6.1", "2.6.2", "2.6.4", "2.6.13"), "late"),
    **dict.fromkeys(("1.4.3", "1.4.5", "1.4.2", "1.4.6", "1.4.7", "1.3.1", "3.5.2", "3.6.4",
                     "2.1.1", "2.6.9", "1.6.1"), "quick"),
}

# -- trend ---------------------------------------------------------------------------------------
#: Yearly relative change per type; other types draw a small random trend from the seed.
TRENDS = {"1.1.1": -0.04, "1.1.2": -0.03, "3.7.4": 0.09, "3.9.1": 0.05, "1.2.3": -0.02,
          "2.5.2": 0.04, "N02": 0.05, "1.4.4": 0.02, "3.1.1": 0.03}

# -- groups for persistent local variation ----------------------------------------------------
EFFECT_GROUP = {
    **dict.fromkeys(("1.1.1", "1.1.2"), "inbraak"),
    **dict.fromkeys(("1.4.1", "1.4.2", "1.4.3", "1.4.4", "1.4.5", "1.4.6", "1.4.7", "3.6.4"),
                    "geweld"),
    **dict.fromkeys(("1.2.1", "1.2.2", "1.2.3", "1.2.4", "1.2.5", "2.5.1", "2.5.2", "1.6.2"),
                    "diefstal"),
    **dict.fromkeys(("2.2.1", "N01", "N03", "N04", "N07", "2.1.1"), "overlast"),
}
EFFECT_GROUPS = ("overig", "inbraak", "geweld", "diefstal", "overlast")


@dataclass(frozen=True)
class TypeTable:
    """Per-type parameters as arrays indexed like ``codes``."""

    codes: tuple[str, ...]
    rate: np.ndarray  # national registrations per 100,000 inhabitants per year
    incident: np.ndarray  # bool: non-crime incident type
    high_impact: np.ndarray  # bool: High Impact Crime or raid
    attempt: np.ndarray
    season: np.ndarray  # (T, 12)
    time_class: np.ndarray  # index into TIME_CLASSES
    delay_class: np.ndarray  # index into DELAY_CLASSES
    trend: np.ndarray
    effect_group: np.ndarray  # index into EFFECT_GROUPS

    def index(self, code: str) -> int:
        return self.codes.index(code)


DELAY_CLASSES = tuple(DELAYS)


def type_table(rng: np.random.Generator) -> TypeTable:
    """Every crime and incident type of the catalog except the total, with its parameters."""
    types = [t for t in crime_types() if t.kind in ("misdrijf", "incident")]
    codes = tuple(t.code for t in types)
    incident = np.array([t.kind == "incident" for t in types])
    season = np.array([SEASONS[SEASON_OF.get(c, "flat")] for c in codes], dtype=float)
    season /= season.mean(axis=1, keepdims=True)
    random_trend = rng.normal(-0.01, 0.02, len(codes))
    delay = [DELAY_OF.get(c, "quick" if inc else "default") for c, inc in zip(codes, incident)]
    return TypeTable(
        codes=codes,
        rate=np.array([t.rate_per_100k for t in types]),
        incident=incident,
        high_impact=np.array([t.high_impact or t.code == "N06" for t in types]),
        attempt=np.array([0.0 if inc else ATTEMPT_SHARE.get(c, DEFAULT_ATTEMPT_SHARE)
                          for c, inc in zip(codes, incident)]),
        season=season,
        time_class=np.array([TIME_CLASSES.index(TIME_CLASS.get(c, "day")) for c in codes]),
        delay_class=np.array([DELAY_CLASSES.index(d) for d in delay]),
        trend=np.array([TRENDS.get(c, random_trend[i]) for i, c in enumerate(codes)]),
        effect_group=np.array([EFFECT_GROUPS.index(EFFECT_GROUP.get(c, "overig")) for c in codes]),
    )


# -- hot spots (demo region) ---------------------------------------------------------------------
#: Extra yearly registrations at each hot spot as a share of its gemeente's expected count.
HOTSPOT_SHARES = {
    "uitgaan": {"1.4.3": 0.30, "1.4.5": 0.15, "1.4.4": 0.06, "2.2.1": 0.06, "3.6.4": 0.25,
                "N07": 0.08, "1.2.4": 0.15, "3.5.2": 0.05, "2.1.1": 0.15, "N01": 0.04},
    "station": {"1.2.3": 0.18, "1.2.4": 0.15, "1.4.6": 0.20, "N02": 0.08, "N04": 0.15,
                "3.1.1": 0.12},
    "winkel": {"2.5.2": 0.30, "1.2.4": 0.10, "1.2.1": 0.05, "N01": 0.05},
}
#: Burglary level of the burglary-prone wijk relative to the rest of its gemeente.
BURGLARY_WIJK_FACTOR = 2.2
