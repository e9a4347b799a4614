"""Small-count suppression (data/suppression.py).

The central test plays the attacker: for the real buurt geography of the Netherlands, with
synthetic counts per buurt, it takes exactly what a detail-1 user is shown (gemeente totals, the
wijk layer and the buurt layer) and computes with linear programming the smallest and largest
value every hidden cell can have. No hidden cell may be pinned down. Two deliberately weaker
schemes are attacked as well, to show that the attacker does find leaks when there are any.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import linprog

from data.scope import Scope
from data.suppression import (BELOW_GEMEENTE, PARENT_LEVEL, applies, hidden_totals, mark,
                              suppress, suppress_hierarchy)

GM = frozenset({"GM0001"})


def scope(detail=1, threshold=5):
    return Scope(gemeenten=GM, detail=detail, threshold=threshold, label="test")


def frame(counts, parents=None, codes=None):
    codes = codes or [f"BU{i:04d}" for i in range(len(counts))]
    parents = parents or ["WK01"] * len(counts)
    return pd.DataFrame({"code": codes, "parent_code": parents, "count": counts})


def hidden_codes(result):
    return set(result.loc[result["suppressed"], "code"])


# -- unit tests --------------------------------------------------------------------------------


def test_applies_and_mark():
    assert all(applies(scope(1), level) for level in BELOW_GEMEENTE)
    assert applies(scope(2), "buurt")
    assert not applies(scope(3), "buurt")
    assert not applies(scope(1), "gemeente") and not applies(scope(1), "regio")
    assert mark(scope(threshold=5)) == "<5" and mark(scope(threshold=10)) == "<10"
    assert PARENT_LEVEL["buurt"] == "wijk" and PARENT_LEVEL["pc6"] == "pc4"


def test_small_counts_are_hidden_and_zero_stays_zero():
    result = suppress(frame([0, 1, 4, 0, 5, 30]), scope=scope(), level="buurt")
    assert result["count"].dtype == "Int64"
    assert hidden_codes(result) == {"BU0001", "BU0002"}  # 1 + 4 = 5 >= threshold: enough
    assert result["count"].isna().tolist() == result["suppressed"].tolist()
    assert result.loc[[0, 3, 4, 5], "count"].tolist() == [0, 0, 5, 30]
    assert not result["total_hidden"].any()


def test_secondary_takes_the_smallest_nonzero_sibling_and_leaves_the_rest():
    result = suppress(frame([3, 0, 0, 12, 7, 40]), scope=scope(), level="buurt")
    assert hidden_codes(result) == {"BU0000", "BU0004"}  # 3 alone; 7 is the smallest non-zero
    assert result.loc[[1, 2, 3, 5], "count"].tolist() == [0, 0, 12, 40]


def test_secondary_until_the_hidden_sum_reaches_the_threshold():
    # Two hidden cells holding 1 + 1 = 2: the total minus the rest would reveal a sum below 5.
    result = suppress(frame([1, 1, 6, 9]), scope=scope(), level="buurt")
    assert hidden_codes(result) == {"BU0000", "BU0001", "BU0002"}
    # Primary cells alone may be enough.
    assert hidden_codes(suppress(frame([2, 3, 9]), scope=scope(), level="buurt")) == {
        "BU0000", "BU0001"}


def test_a_zero_is_hidden_only_when_no_nonzero_sibling_is_left():
    result = suppress(frame([4, 0, 0, 8, 3], codes=["E", "B", "A", "D", "C"]),
                      scope=scope(), level="buurt")
    assert hidden_codes(result) == {"E", "C"}  # 4 + 3 >= 5 without touching zeros
    result = suppress(frame([3, 0, 0], codes=["C", "B", "A"]), scope=scope(), level="buurt")
    assert hidden_codes(result) == {"A", "B", "C"} and result["total_hidden"].all()


def test_a_set_that_cannot_be_protected_hides_its_total():
    counts = frame([2, 0, 1, 0, 9, 30], parents=["W1", "W1", "W2", "W2", "W3", "W3"])
    result = suppress(counts, scope=scope(), level="buurt")
    assert hidden_codes(result) == {"BU0000", "BU0001", "BU0002", "BU0003"}
    assert hidden_totals(result)["parent_code"].tolist() == ["W1", "W2"]
    assert result["total_hidden"].tolist() == [True] * 4 + [False] * 2


def test_detail_3_and_gemeente_level_are_exact():
    counts = frame([0, 1, 2, 7])
    for result in (suppress(counts, scope=scope(3), level="buurt"),
                   suppress(counts, scope=scope(1), level="gemeente")):
        assert result["count"].tolist() == [0, 1, 2, 7]
        assert result["count"].dtype == counts["count"].dtype
        assert not result["suppressed"].any() and not result["total_hidden"].any()
    assert counts.columns.tolist() == ["code", "parent_code", "count"]  # input untouched


def test_detail_2_is_suppressed_like_detail_1():
    counts = frame([0, 1, 2, 7, 3, 50])
    assert suppress(counts, scope=scope(2), level="pc6").equals(
        suppress(counts, scope=scope(1), level="pc6"))


def test_threshold_comes_from_the_scope():
    counts = frame([0, 4, 7, 9, 30])
    assert hidden_codes(suppress(counts, scope=scope(threshold=5), level="wijk")) == {
        "BU0001", "BU0002"}
    assert hidden_codes(suppress(counts, scope=scope(threshold=10), level="wijk")) == {
        "BU0001", "BU0002", "BU0003"}


def test_deterministic_ties_by_code_and_independent_of_row_order():
    counts = frame([3, 7, 7, 7, 20], codes=["BU9", "BU5", "BU2", "BU7", "BU1"])
    result = suppress(counts, scope=scope(), level="buurt")
    assert hidden_codes(result) == {"BU9", "BU2"}
    rng = np.random.default_rng(7)
    for _ in range(5):
        shuffled = counts.sample(frac=1, random_state=rng.integers(1 << 31))
        again = suppress(shuffled, scope=scope(), level="buurt")
        assert hidden_codes(again) == {"BU9", "BU2"}
        assert again.index.tolist() == shuffled.index.tolist()  # rows stay where they were


def test_periods_and_types_are_separate_sibling_sets():
    counts = pd.DataFrame({
        "code": ["A", "B", "C"] * 4,
        "parent_code": "WK01",
        "period": ["2024"] * 6 + ["2025"] * 6,
        "type": (["inbraak"] * 3 + ["geweld"] * 3) * 2,
        "count": [3, 8, 20, 9, 9, 9, 0, 8, 20, 9, 2, 2],
    })
    result = suppress(counts, scope=scope(), level="buurt",
                      groups=("parent_code", "period", "type"))
    assert result["suppressed"].tolist() == [True, True, False, False, False, False,
                                             False, False, False, True, True, True]
    # Without the period and type columns the twelve rows would wrongly be one set.
    with pytest.raises(KeyError):
        suppress(counts, scope=scope(), level="buurt", groups=("parent_code", "month"))


def test_only_counts_can_be_suppressed():
    with pytest.raises(ValueError):
        suppress(frame([1.5, 3.0]), scope=scope(), level="buurt")
    with pytest.raises(ValueError):
        suppress(frame([1, None]), scope=scope(), level="buurt")


def _layers():
    """Two wijken of one gemeente and their buurten, for the hierarchy unit tests."""
    buurten = pd.DataFrame({
        "code": ["B1", "B2", "B3", "B4", "B5", "B6", "B7"],
        "parent_code": ["W1", "W1", "W2", "W2", "W3", "W3", "W3"],
        "count": [3, 0, 30, 20, 0, 0, 0],
    })
    wijken = (buurten.groupby("parent_code", as_index=False)["count"].sum()
              .rename(columns={"parent_code": "code"}).assign(parent_code="GM0001"))
    return buurten, wijken


def test_hierarchy_hides_a_buurt_inside_every_hidden_wijk():
    buurten, wijken = _layers()  # W1 = 3, W2 = 50, W3 = 0
    shown_buurten, shown_wijken = suppress_hierarchy(buurten, wijken, scope=scope(),
                                                     child_level="buurt")
    # W1 is small; W3 (zero) stays; W2 is the only non-zero sibling left.
    assert hidden_codes(shown_wijken) == {"W1", "W2"}
    # W1 = B1 + B2, so B1 hidden; W2 = B3 + B4 would give W2 back: its smallest (B4) hidden;
    # then B1 + B4 = 23 >= 5 is the hidden sum of the hidden wijken.
    assert hidden_codes(shown_buurten) == {"B1", "B4"}
    assert shown_buurten["total_hidden"].tolist() == [True, True, True, True, False, False, False]


def test_hierarchy_hides_a_zero_buurt_of_a_hidden_zero_wijk():
    buurten = pd.DataFrame({"code": ["B1", "B2", "B3"], "parent_code": ["W1", "W2", "W2"],
                            "count": [2, 0, 0]})
    wijken = pd.DataFrame({"code": ["W1", "W2"], "parent_code": "GM0001", "count": [2, 0]})
    shown_buurten, shown_wijken = suppress_hierarchy(buurten, wijken, scope=scope(),
                                                     child_level="buurt")
    assert hidden_codes(shown_wijken) == {"W1", "W2"}
    assert shown_wijken["total_hidden"].all()  # the gemeente total itself is below 5
    assert hidden_codes(shown_buurten) == {"B1", "B2", "B3"}


def test_hierarchy_hides_a_buurt_inside_a_hidden_wijk_even_without_small_buurten():
    # 3 registrations of W1 have no buurt (no row says so), so no buurt count is small; still
    # W2 = B2 + B3 would give W2 and with it W1 = gemeente - W2 away: one buurt of each hidden.
    buurten = pd.DataFrame({"code": ["B1", "B2", "B3"], "parent_code": ["W1", "W2", "W2"],
                            "count": [0, 20, 20]})
    wijken = pd.DataFrame({"code": ["W1", "W2"], "parent_code": "GM0001", "count": [3, 40]})
    shown_buurten, shown_wijken = suppress_hierarchy(buurten, wijken, scope=scope(),
                                                     child_level="pc6")
    assert hidden_codes(shown_wijken) == {"W1", "W2"}
    assert hidden_codes(shown_buurten) == {"B1", "B2"}


def test_hierarchy_hides_a_parent_whose_children_cannot_be_protected():
    # Inconsistent input (children do not add up to the parent) is still handled safely.
    buurten = pd.DataFrame({"code": ["B1", "B2"], "parent_code": ["W1", "W2"], "count": [3, 40]})
    wijken = pd.DataFrame({"code": ["W1", "W2"], "parent_code": "GM0001", "count": [9, 40]})
    shown_buurten, shown_wijken = suppress_hierarchy(buurten, wijken, scope=scope(),
                                                     child_level="buurt")
    assert hidden_codes(shown_wijken) == {"W1", "W2"}
    assert shown_buurten["suppressed"].all()


def test_hierarchy_exact_for_detail_3_and_rejects_bad_input():
    buurten, wijken = _layers()
    shown_buurten, shown_wijken = suppress_hierarchy(buurten, wijken, scope=scope(3),
                                                     child_level="buurt")
    assert shown_buurten["count"].tolist() == buurten["count"].tolist()
    assert not shown_buurten["suppressed"].any() and not shown_wijken["suppressed"].any()
    with pytest.raises(ValueError):
        suppress_hierarchy(wijken, wijken, scope=scope(), child_level="wijk")
    with pytest.raises(ValueError):
        suppress_hierarchy(buurten.assign(parent_code="W9"), wijken, scope=scope(),
                           child_level="buurt")


# -- the attacker, on the real geography -------------------------------------------------------

#: Synthetic crime types: lognormal Poisson means per buurt (many small counts and zeros).
TYPES = {"zeldzaam": (-0.8, 1.3), "gemiddeld": (0.7, 1.1), "vaak": (2.2, 1.0)}
THRESHOLDS = (5, 10)
#: Gemeenten always attacked (the largest ones), on top of the deterministic sample.
LARGE = ("GM0363", "GM0599", "GM0518", "GM0344", "GM0855")
SAMPLE = 50


@pytest.fixture(scope="module")
def geography(shared_data):
    codes = pd.read_csv(shared_data / "wijken_en_buurten_2024_codes.csv", dtype=str)
    buurten = codes[codes["soort"] == "Buurt"][["code", "wk_code", "gm_code"]]
    assert len(buurten) > 10_000 and buurten["wk_code"].notna().all()
    return buurten.reset_index(drop=True)


@pytest.fixture(scope="module")
def layers(geography):
    """Synthetic counts per buurt and type (fixed seed), added up to wijken and gemeenten."""
    rng = np.random.default_rng(20240601)
    frames = []
    for name, (mu, sigma) in TYPES.items():
        means = rng.lognormal(mu, sigma, len(geography))
        means[rng.random(len(geography)) < 0.08] = 0  # buurten where nothing ever happens
        frames.append(geography.assign(type=name, count=rng.poisson(means)))
    buurten = pd.concat(frames, ignore_index=True).rename(columns={"wk_code": "parent_code"})
    wijken = (buurten.groupby(["parent_code", "gm_code", "type"], as_index=False)["count"].sum()
              .rename(columns={"parent_code": "code", "gm_code": "parent_code"}))
    gemeenten = buurten.groupby(["gm_code", "type"])["count"].sum()
    small = buurten["count"].between(1, 9).mean()
    assert 0.25 < small and (buurten["count"] == 0).mean() > 0.15  # the data is demanding
    return buurten.drop(columns="gm_code"), wijken, gemeenten


@pytest.fixture(scope="module")
def attacked(geography):
    """The gemeenten attacked: the largest ones and a deterministic sample of the rest."""
    everyone = sorted(geography["gm_code"].unique())
    rng = np.random.default_rng(42)
    sample = rng.choice([g for g in everyone if g not in LARGE], SAMPLE, replace=False)
    return sorted({*LARGE, *sample})


def _bounds(wijken: pd.DataFrame, buurten: pd.DataFrame, total: int, required: float):
    """How far every hidden cell of one gemeente and type can move (see :func:`_widths`), given
    only what is shown: the exact gemeente ``total``, the shown wijk and buurt counts, that
    wijken add up to the gemeente and buurten to their wijk, and that counts are >= 0.
    Returns the widths and the cells, as ("wijk" | "buurt", code)."""
    cells = ([("wijk", c) for c in wijken.loc[wijken["count"].isna(), "code"]]
             + [("buurt", c) for c in buurten.loc[buurten["count"].isna(), "code"]])
    if not cells:
        return np.zeros(0), []
    column = {cell: i for i, cell in enumerate(cells)}
    equations, rhs = [], []

    def equation(terms, constant):
        """sum(sign * cell) = constant, shown cells already moved to the right-hand side."""
        row = np.zeros(len(cells))
        for (level, code), sign, count in terms:
            if pd.isna(count):
                row[column[(level, code)]] += sign
            else:
                constant -= sign * count
        if row.any():
            equations.append(row)
            rhs.append(constant)
        else:  # nothing hidden in it: what is shown must be consistent
            assert constant == 0

    shown_wijken = list(zip(wijken["code"], wijken["count"]))
    equation([(("wijk", code), 1, count) for code, count in shown_wijken], total)
    inside = buurten.groupby("parent_code")
    for wijk, count in shown_wijken:
        shown = inside.get_group(wijk) if wijk in inside.groups else buurten.iloc[:0]
        equation([(("wijk", wijk), -1, count)]
                 + [(("buurt", c), 1, n) for c, n in zip(shown["code"], shown["count"])], 0)
    return _widths(np.array(equations), np.array(rhs), required), cells


def _widths(equations: np.ndarray, rhs: np.ndarray, required: float) -> np.ndarray:
    """How far each variable can move over {x >= 0 : equations @ x = rhs}: max - min, found by
    linear programming. Every LP solution is a feasible point, so the spread seen so far is a
    lower bound: a variable whose spread reaches ``required`` is safe without an LP of its own.
    Below that, the width returned is exact (its own minimum and maximum solved)."""
    size = equations.shape[1]
    low, high = np.full(size, np.inf), np.full(size, -np.inf)

    def solve(objective):
        nonlocal low, high
        result = linprog(objective, A_eq=equations, b_eq=rhs, bounds=(0, None), method="highs")
        assert result.status == 0, result.message
        low, high = np.minimum(low, result.x), np.maximum(high, result.x)

    # Push all still-doubtful variables down together, then up, while that proves some safe.
    doubtful = np.ones(size, bool)
    while doubtful.any():
        solve(doubtful.astype(float))
        solve(-doubtful.astype(float))
        still = doubtful & (high - low < required)
        if still.sum() == doubtful.sum():
            break
        doubtful = still
    for i in np.flatnonzero(doubtful):  # the rest one by one: exact minimum and maximum
        for sign in (1.0, -1.0):
            if high[i] - low[i] < required:
                solve(np.eye(size)[i] * sign)
    return high - low


def _whole_gemeente(wijken: pd.DataFrame, buurten: pd.DataFrame) -> set:
    """Cells whose area is the whole gemeente (its only wijk, that wijk's only buurt): their
    count is the gemeente figure, which the user may see."""
    if len(wijken) != 1:
        return set()
    whole = {("wijk", wijken["code"].iloc[0])}
    if len(buurten) == 1:
        whole.add(("buurt", buurten["code"].iloc[0]))
    return whole


def _attack(shown_buurten, shown_wijken, gemeenten, attacked, threshold, stop_after=None):
    """Attack every (gemeente, type); return the cells pinned to a width below 1 and, for
    gemeenten whose total is at least the threshold, those with a width below the threshold.
    ``stop_after``: return as soon as that many cells are exposed."""
    exposed, narrow, checked = [], [], 0
    wijken_by = dict(tuple(shown_wijken.groupby(["parent_code", "type"])))
    buurten_with_gm = shown_buurten.merge(
        shown_wijken[["code", "type", "parent_code"]].rename(
            columns={"code": "parent_code", "parent_code": "gm_code"}),
        on=["parent_code", "type"])
    buurten_by = dict(tuple(buurten_with_gm.groupby(["gm_code", "type"])))
    for gm in attacked:
        for kind in TYPES:
            wijken, buurten = wijken_by[(gm, kind)], buurten_by[(gm, kind)]
            total = int(gemeenten[(gm, kind)])
            whole = _whole_gemeente(wijken, buurten)
            required = threshold if total >= threshold else 1
            widths, cells = _bounds(wijken, buurten, total, required)
            for cell, width in zip(cells, widths):
                checked += 1
                if cell in whole:
                    continue
                if width < 1 - 1e-6:
                    exposed.append((gm, kind, cell, width))
                elif width < required - 1e-6:
                    narrow.append((gm, kind, cell, width))
            if stop_after and len(exposed) >= stop_after:
                return exposed, narrow, checked
    return exposed, narrow, checked


@pytest.mark.parametrize("threshold", THRESHOLDS)
def test_no_hidden_cell_can_be_recomputed(layers, attacked, threshold):
    buurten, wijken, gemeenten = layers
    user = Scope(gemeenten=frozenset(wijken["parent_code"]), detail=1, threshold=threshold)
    shown_buurten, shown_wijken = suppress_hierarchy(buurten, wijken, scope=user,
                                                     child_level="buurt", groups=("type",))

    # What is shown is the truth wherever it is shown, and every small count is hidden.
    for shown, true in ((shown_buurten, buurten), (shown_wijken, wijken)):
        visible = shown["count"].notna()
        assert (shown.loc[visible, "count"] == true.loc[visible, "count"]).all()
        assert not (visible & true["count"].between(1, threshold - 1)).any()
        assert (shown.loc[visible, "count"] == 0).any()  # zero stays zero
    hidden_share = shown_buurten["suppressed"].mean()
    assert 0.2 < hidden_share < 0.9, hidden_share  # the attack has work to do

    exposed, narrow, checked = _attack(shown_buurten, shown_wijken, gemeenten, attacked,
                                       threshold)
    assert checked > 2000
    assert not exposed, f"{len(exposed)} hidden cells recomputable, e.g. {exposed[:5]}"
    # Stronger: where the gemeente total is not itself small, every hidden cell can lie
    # anywhere in a range at least `threshold` wide (no small sum is revealed either).
    assert not narrow, f"{len(narrow)} hidden cells narrowed down, e.g. {narrow[:5]}"


def test_sibling_rule_holds_for_every_gemeente(layers):
    """Cheap structural check over all gemeenten: under every shown total, the hidden cells
    are none or at least two holding at least the threshold."""
    buurten, wijken, gemeenten = layers
    for threshold in THRESHOLDS:
        user = Scope(gemeenten=frozenset(wijken["parent_code"]), detail=1, threshold=threshold)
        shown_buurten, shown_wijken = suppress_hierarchy(buurten, wijken, scope=user,
                                                         child_level="buurt", groups=("type",))
        true_buurten = buurten.assign(hidden=shown_buurten["suppressed"],
                                      wijk_hidden=shown_buurten["total_hidden"])
        under_shown = true_buurten[~true_buurten["wijk_hidden"]]
        sets = under_shown[under_shown["hidden"]].groupby(["parent_code", "type"])["count"]
        assert (sets.size() >= 2).all() and (sets.sum() >= threshold).all()
        # Every hidden wijk keeps at least one hidden buurt.
        hidden_wijken = shown_wijken.loc[shown_wijken["suppressed"], ["code", "type"]]
        with_hidden_buurt = true_buurten[true_buurten["hidden"]][["parent_code", "type"]]
        assert len(hidden_wijken.merge(with_hidden_buurt.drop_duplicates(),
                                       left_on=["code", "type"],
                                       right_on=["parent_code", "type"])) == len(hidden_wijken)
        # Wijk sets under the gemeente total: protected unless the gemeente total is small.
        true_wijken = wijken.assign(hidden=shown_wijken["suppressed"])
        sets = true_wijken[true_wijken["hidden"]].groupby(["parent_code", "type"])["count"]
        protected = (sets.size() >= 2) & (sets.sum() >= threshold)
        small = gemeenten.reindex(protected.index).lt(threshold)
        assert (protected | small).all()


def test_attacker_finds_leaks_in_weaker_schemes(layers, attacked):
    """The attack is not vacuous: primary suppression alone, and each layer suppressed on its
    own without the hierarchy, both let it recompute hidden cells."""
    buurten, wijken, gemeenten = layers
    user = Scope(gemeenten=frozenset(wijken["parent_code"]), detail=1, threshold=5)

    def primary_only(frame):
        small = frame["count"].between(1, 4)
        return frame.assign(count=frame["count"].astype("Int64").mask(small), suppressed=small)

    exposed, _, _ = _attack(primary_only(buurten), primary_only(wijken), gemeenten,
                            attacked, 5, stop_after=25)
    assert len(exposed) >= 25

    separate_buurten = suppress(buurten, scope=user, level="buurt",
                                groups=("parent_code", "type"))
    separate_wijken = suppress(wijken, scope=user, level="wijk", groups=("parent_code", "type"))
    exposed, _, _ = _attack(separate_buurten, separate_wijken, gemeenten, attacked, 5,
                            stop_after=1)
    assert exposed, "separate layers should leak through the wijk/buurt sums"
