"""Percentile bootstrap intervals: contain the estimate, are seeded, shrink with more pairs."""

from __future__ import annotations

import numpy as np
import pytest

from reid_bench.quality.bootstrap import percentile_interval, resampled_means


def test_interval_contains_the_point_estimate() -> None:
    rng = np.random.default_rng(0)
    for values in (rng.normal(0.3, 0.1, 50), rng.exponential(2.0, 400), rng.integers(0, 2, 120).astype(float)):
        low, high = percentile_interval(values)
        assert low <= values.mean() <= high
        assert low < high


def test_same_seed_same_interval_and_other_seed_differs() -> None:
    values = np.random.default_rng(1).normal(size=200)
    assert percentile_interval(values, seed=3) == percentile_interval(values, seed=3)
    assert percentile_interval(values, seed=3) != percentile_interval(values, seed=4)


def test_interval_shrinks_with_more_pairs() -> None:
    rng = np.random.default_rng(2)
    small, large = percentile_interval(rng.normal(size=50)), percentile_interval(rng.normal(size=5000))
    assert (large[1] - large[0]) < (small[1] - small[0]) / 5


def test_resamples_count_and_a_constant_has_a_zero_width_interval() -> None:
    assert resampled_means(np.arange(10.0), resamples=37).shape == (37,)
    assert percentile_interval(np.full(30, 0.25)) == pytest.approx((0.25, 0.25))


def test_infinite_values_give_order_statistics() -> None:
    values = np.array([30.0] * 99 + [np.inf])  # PSNR with one identical pair
    low, high = percentile_interval(values)
    assert low == pytest.approx(30.0) and high == np.inf


def test_bad_input() -> None:
    with pytest.raises(ValueError, match="empty"):
        percentile_interval(np.array([]))
    with pytest.raises(ValueError, match="level"):
        percentile_interval(np.ones(3), level=1.5)
