"""The significance tests of data.stats: exact tests, checked against known values and against
scipy's implementations (an independent oracle)."""
from __future__ import annotations

import math

import pytest
from scipy.stats import binomtest, poisson

from data.stats import ALPHA, poisson_change, poisson_p, poisson_p_expected, poisson_z


def test_four_against_zero_is_not_significant():
    # the case of issue #15: z = 2 would pass 1.96, the exact test gives p = 2 * 0.5^4
    change = poisson_change(4, 0)
    assert change.z == pytest.approx(2.0)
    assert change.p == pytest.approx(0.125)
    assert not change.significant
    assert change.label == "binnen normale schommeling"


def test_thirty_against_ten_is_significant():
    change = poisson_change(30, 10)
    assert change.p == pytest.approx(binomtest(30, 40, 0.5).pvalue)
    assert change.p == pytest.approx(0.00222, abs=1e-5)
    assert change.significant and change.label == "significante stijging"
    assert poisson_change(10, 30).label == "significante daling"


def test_ties_and_nothing_to_compare():
    for n in (0, 1, 7, 500, 100_000):
        if n:
            change = poisson_change(n, n)
            assert change.p == 1.0 and change.z == 0 and not change.significant
    none = poisson_change(0, 0)
    assert none.p is None and none.z is None and not none.significant
    assert none.label == "geen vergelijking mogelijk"
    assert poisson_change(None, 3).p is None and poisson_change(3, float("nan")).p is None


def test_smallest_significant_increase_from_zero():
    # from 0 a rise is significant only from 6 on: p = 2 * 0.5^n < 0.05 needs n >= 6
    assert not poisson_change(5, 0).significant and poisson_p(5, 0) == pytest.approx(0.0625)
    assert poisson_change(6, 0).significant and poisson_p(6, 0) == pytest.approx(0.03125)


@pytest.mark.parametrize("n", [1, 2, 5, 13, 40, 117, 400])
def test_binomial_p_equals_scipy_for_every_split(n):
    for a in range(n + 1):
        expected = binomtest(a, n, 0.5).pvalue
        assert poisson_p(a, n - a) == pytest.approx(expected, rel=1e-9, abs=1e-300), (a, n)
        assert poisson_change(a, n - a).significant == (expected < ALPHA)


@pytest.mark.parametrize("a,b", [(50_000, 49_000), (120_000, 119_000), (120_000, 119_100),
                                 (2_000, 1_800), (100_000, 3)])
def test_large_counts_equal_scipy_and_agree_with_normal(a, b):
    expected = binomtest(a, a + b, 0.5).pvalue
    assert poisson_p(a, b) == pytest.approx(expected, rel=1e-7, abs=1e-300)
    # for large counts the normal approximation and the exact test agree on the decision
    if 1e-6 < expected and abs(abs(poisson_z(a, b)) - 1.96) > 0.05:
        assert (abs(poisson_z(a, b)) >= 1.96) == (expected < ALPHA)


def test_counts_must_be_whole_and_non_negative():
    with pytest.raises(ValueError):
        poisson_p(-1, 3)
    with pytest.raises(ValueError):
        poisson_change(2.5, 3)
    assert poisson_p(4.0, 0) == pytest.approx(0.125)  # a whole float is a count


@pytest.mark.parametrize("mu", [0.2, 1.0, 2.5, 7.3, 31.0, 480.0])
def test_poisson_against_expected_equals_scipy(mu):
    for k in range(0, int(mu * 3) + 12):
        expected = min(1.0, 2 * min(poisson.cdf(k, mu), poisson.sf(k - 1, mu)))
        assert poisson_p_expected(k, mu) == pytest.approx(expected, rel=1e-8, abs=1e-300), (k, mu)


def test_poisson_against_expected_known_values():
    # 6 where 2.5 are expected: z = 2.2 but p = 2 * P(X >= 6) = 0.084, not significant
    assert (6 - 2.5) / math.sqrt(2.5) > 1.96
    assert poisson_p_expected(6, 2.5) == pytest.approx(0.0840, abs=1e-4)
    assert poisson_p_expected(0, 5.0) == pytest.approx(2 * math.exp(-5))
    assert poisson_p_expected(3, 0) is None and poisson_p_expected(None, 3) is None
