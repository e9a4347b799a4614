"""Map classes (callbacks/kaart_values.py ``class_breaks``): round, non-overlapping breaks, no
impossible values, decreases apart from increases, few classes for few or nearly equal values.
Pure functions, no server; the browser's classification of the same classes is checked in
tests/test_kaart_mayor.py."""
from __future__ import annotations

import random

import pandas as pd
import pytest

from callbacks.kaart_values import NOISE, UNIT, class_breaks, nice_round, quantile
from data.scope import Scope
from layouts import kaart as view

#: Twelve wijken, registrations per 1,000 inhabitants (spread like the demo's Havenstad).
WIJKEN = [47.7, 50.2, 52.9, 54.4, 55.1, 56.3, 58.8, 59.4, 63.0, 72.5, 80.1, 94.8]


def _significant(value: float) -> int:
    digits = f"{value:.6f}".replace(".", "").replace("-", "").strip("0")
    return len(digits)


def test_rates_get_round_lower_inclusive_classes():
    classes = class_breaks(WIJKEN, "per_1000")
    assert 3 <= len(classes.labels) <= 5
    assert all(_significant(b) <= 2 for b in classes.breaks), classes.breaks
    assert classes.breaks == sorted(set(classes.breaks))
    first, second = classes.breaks[:2]
    # "minder dan 54", "54 tot 60", ..., "70 of meer": each bound belongs to one class only.
    shown = [f"{b:g}".replace(".", ",") for b in classes.breaks]
    assert classes.labels[0] == f"minder dan {shown[0]}"
    assert classes.labels[1] == f"{shown[0]} tot {shown[1]}"
    assert classes.labels[-1] == f"{shown[-1]} of meer"
    assert classes.index(first) == 1 and classes.index(first - 0.1) == 0
    assert classes.index(second) == 2
    assert len(classes.colors) == len(classes.labels)
    # every class holds at least one wijk
    assert {classes.index(v) for v in WIJKEN} == set(range(len(classes.labels)))


def test_counts_round_to_whole_numbers_with_thousands_separator():
    values = [149, 310, 355, 380, 410, 450, 520, 800, 1200, 1400, 2600, 3039]
    classes = class_breaks(values, "count")
    assert all(float(b).is_integer() and _significant(b) <= 2 for b in classes.breaks)
    assert any("." in label for label in classes.labels)  # 1.500, not 1500
    assert not any("," in label for label in classes.labels)


def test_nearly_equal_values_are_one_class():
    """The issue's example: 2,1 / 2,2 / 2,3 per 1,000 are noise, not five colours."""
    classes = class_breaks([2.1, 2.2, 2.2, 2.3, 2.1, 2.2], "per_1000")
    assert classes.breaks == [] and classes.labels == ["2,1 – 2,3"]
    assert len(classes.colors) == 1
    # ... while a real spread around the same level is split.
    assert len(class_breaks([1.0, 2.2, 3.5, 6.0], "per_1000").breaks) >= 2


def test_few_values_give_few_classes():
    assert class_breaks([67.1], "per_1000").labels == ["67,1"]
    assert class_breaks([12, 12, 12], "count").labels == ["12"]
    assert len(class_breaks([3, 40], "count").labels) == 2
    assert len(class_breaks([3, 40, 41], "count").labels) <= 3
    empty = class_breaks([], "count")
    assert empty.labels == ["alle waarden"] and empty.breaks == []


def test_changes_diverge_around_zero_and_never_go_below_minus_100():
    values = [-100.0, -100.0, -75.0, -50.0, -20.0, 0.0, 0.0, 10.0, 60.0, 160.0, 300.0, 500.0]
    classes = class_breaks(values, "change")
    assert classes.labels[2] == "gelijk (0%)"
    assert classes.index(0.0) == 2
    assert classes.index(-0.1) == 1 and classes.index(0.1) == 3
    assert classes.index(-100.0) == 0 and classes.index(500.0) == 4
    # no class of a decrease of 100% or more beyond the possible; no "≤ -200%"
    down = -classes.breaks[0]
    assert 0 < down < 100
    assert not any("-1" in label or "−1" in label or "-2" in label for label in classes.labels)
    assert all(("daling" in label) == (i < 2) for i, label in enumerate(classes.labels))
    assert all(("stijging" in label) == (i > 2) for i, label in enumerate(classes.labels))
    # blue for decreases, red for increases (the diverging palette around the neutral middle)
    assert classes.colors == list(view.DIVERGING)


def test_small_changes_get_a_small_round_threshold_and_the_legend_only_used_classes():
    values = [-4.5, -3.0, -1.2, 0.8, 2.0, 3.9, 12.9]
    classes = class_breaks(values, "change")
    assert classes.breaks[-1] in (2.0, 2.5, 5.0)
    assert classes.breaks[0] == -classes.breaks[-1]
    legend = classes.legend(values)
    assert "gelijk (0%)" not in [label for _, label in legend]  # no wijk is exactly 0%
    assert len(legend) == 4
    # only increases: the legend shows no decrease classes
    assert all("stijging" in label for _, label in class_breaks([5, 8], "change").legend([5, 8]))


@pytest.mark.parametrize("measure", ["count", "per_1000"])
def test_random_data_always_gives_valid_classes(measure):
    rng = random.Random(15)
    for _ in range(400):
        shape = rng.choice(["uniform", "skewed", "flat", "few"])
        n = rng.randint(1, 300)
        if shape == "uniform":
            values = [rng.uniform(0, rng.choice([1, 10, 1000])) for _ in range(n)]
        elif shape == "skewed":
            values = [rng.expovariate(1 / rng.choice([0.5, 5, 200])) for _ in range(n)]
        elif shape == "flat":
            level = rng.uniform(1, 100)
            values = [level * rng.uniform(0.97, 1.03) for _ in range(n)]
        else:
            values = [rng.choice([0, 1, 2, 5]) for _ in range(n)]
        unit = UNIT[measure]
        values = [round(v / unit) * unit for v in values]
        classes = class_breaks(values, measure)
        low, high = min(values), max(values)
        b = classes.breaks
        assert len(classes.labels) == len(classes.colors) == len(b) + 1 <= 5
        assert b == sorted(set(b))
        assert all(low < x <= high for x in b), (values, b)
        noise = max(unit, NOISE * abs(quantile(sorted(values), 0.5)))
        assert all(y - x >= noise - 1e-9 for x, y in zip([low] + b, b)), (b, noise)
        assert {classes.index(v) for v in values} == set(range(len(b) + 1)), (values, b)
        if shape == "flat" and high - low < noise:
            assert len(classes.labels) == 1


def test_nice_round_prefers_the_coarsest_step_within_tolerance():
    assert nice_round(183, 30, 1) == 200
    assert nice_round(183, 10, 1) == 180
    assert nice_round(2.37, 0.1, 0.1) == 2.4
    assert nice_round(2.37, 0.01, 0.1) == 2.4  # never finer than the unit


@pytest.mark.parametrize("missing", [None, float("nan"), pd.NA, "", " "])
def test_an_area_without_a_name_is_shown_by_its_code_never_as_nan(missing):
    """Boundaries without a name (the national buurten have some) are listed and tooltipped
    by their code: pandas reads a missing name as NaN, which is truthy and printed "nan"."""
    from callbacks.kaart_values import hideout, table

    frame = pd.DataFrame({"code": ["BU1", "BU2"], "name": pd.Series([missing, "Oost"],
                                                                    dtype=object),
                          "value": [3.0, 5.0], "count": [3, 5]})
    scope = Scope(frozenset({"GM1"}), 3, "Test")
    _header, rows, _codes = table(frame, "count", scope)
    assert [row[0] for row in rows] == ["Oost", "BU1"]
    tips = hideout(frame, "count", scope)["tips"]
    assert tips["BU1"][0] == "BU1" and tips["BU2"][0] == "Oost"
