"""Percentile bootstrap confidence intervals over pairs (Efron & Tibshirani, "An Introduction to
the Bootstrap", 1993, Sec. 13.3).

The pairs are resampled with replacement ``resamples`` times (1,000 by default) from a seeded
``numpy.random.default_rng(seed)``; the statistic (the mean) is recomputed on each resample and
the interval is its ``(1 - level) / 2`` and ``(1 + level) / 2`` percentiles (numpy's linear
interpolation; where some resampled means are infinite, as PSNR's are when a generated image
equals its target, the nearest order statistics outside the interval instead). With the same
seed and number of pairs every metric sees the same resamples, so the intervals of metrics over
the same pairs are paired.
"""

from __future__ import annotations

import numpy as np

RESAMPLES = 1000
LEVEL = 0.95
_CHUNK_ELEMENTS = 1 << 22  # resample indices held at once (32 MB of int64)


def resampled_means(values: np.ndarray, resamples: int = RESAMPLES, seed: int = 0) -> np.ndarray:
    """(resamples,) means of ``values`` resampled with replacement."""
    values = np.asarray(values, dtype=np.float64).ravel()
    n = len(values)
    if n == 0:
        raise ValueError("cannot bootstrap an empty set of values")
    rng = np.random.default_rng(seed)
    rows = max(1, _CHUNK_ELEMENTS // n)
    means = np.empty(resamples)
    for start in range(0, resamples, rows):
        stop = min(resamples, start + rows)
        means[start:stop] = values[rng.integers(0, n, size=(stop - start, n))].mean(axis=1)
    return means


def percentile_interval(values: np.ndarray, resamples: int = RESAMPLES, seed: int = 0,
                        level: float = LEVEL) -> tuple[float, float]:
    """The percentile bootstrap interval of the mean of ``values`` (one value per pair)."""
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    means = resampled_means(values, resamples, seed)
    quantiles = (50 * (1 - level), 50 * (1 + level))
    if np.isfinite(means).all():
        low, high = np.percentile(means, quantiles)
    else:  # e.g. PSNR with an identical pair (inf): order statistics, no interpolation with inf
        low = np.percentile(means, quantiles[0], method="lower")
        high = np.percentile(means, quantiles[1], method="higher")
    return float(low), float(high)
