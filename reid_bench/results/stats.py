"""Mean ± standard deviation over seeds and the paired t-test used by ``compare`` and the tables.

The standard deviation is the sample one (``ddof=1``), as seed spreads are usually reported; it is
undefined for a single seed, and then printed as ``n=1`` alone. The paired test is Student's paired
t-test over seeds (:func:`scipy.stats.ttest_rel`), two-sided.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Sequence

import numpy as np
from scipy import stats


@dataclasses.dataclass(frozen=True)
class Stat:
    """Mean, sample standard deviation (``nan`` when ``n < 2``) and count of some values."""

    mean: float
    std: float
    n: int

    def text(self, digits: int = 2, with_n: bool = True) -> str:
        """``"75.10 ± 0.40 (n=3)"``; ``"75.10 (n=1)"`` for one value."""
        body = f"{self.mean:.{digits}f}"
        if self.n >= 2:
            body += f" ± {self.std:.{digits}f}"
        return f"{body} (n={self.n})" if with_n else body


def summarize(values: Sequence[float]) -> Stat:
    """:class:`Stat` of ``values`` (at least one)."""
    array = np.asarray(values, dtype=float)
    if array.size == 0:
        raise ValueError("summarize needs at least one value")
    std = float(array.std(ddof=1)) if array.size >= 2 else math.nan
    return Stat(float(array.mean()), std, int(array.size))


def paired_p_value(a: Sequence[float], b: Sequence[float]) -> float | None:
    """Two-sided p-value of the paired t-test of ``a`` against ``b``.

    ``None`` when it is undefined: fewer than two pairs, or every pair differing by the same amount.
    """
    a_arr, b_arr = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a_arr.size != b_arr.size:
        raise ValueError("paired_p_value needs as many values in a as in b")
    difference = a_arr - b_arr
    if difference.size < 2 or np.ptp(difference) == 0:
        return None
    return float(stats.ttest_rel(a_arr, b_arr).pvalue)


def p_text(p: float | None) -> str:
    """``"p=0.012"``, ``"p<0.001"`` or ``"p n/a"``."""
    if p is None:
        return "p n/a"
    return "p<0.001" if p < 0.001 else f"p={p:.3f}"
