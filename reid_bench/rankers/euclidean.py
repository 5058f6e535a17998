"""Parameter-free rankers: Euclidean, squared Euclidean and cosine distance.

The plain-feature baseline of the Market-1501 benchmark (Zheng et al., ICCV 2015) and of IDE
(Zheng et al., "Person Re-identification: Past, Present and Future", 2016): rank the gallery by
Euclidean distance between features.  Computed with matrix products (``|q|^2 + |g|^2 - 2 q.g``) in
row chunks, not a pairwise loop; in float32 the expansion loses about 1e-3 relative accuracy for
near-identical vectors, which does not change rankings of distinct images.
"""

from __future__ import annotations

import numpy as np

from reid_bench.errors import ReidBenchError
from reid_bench.rankers.base import Ranker, check_features, output_dtype, register, squared_euclidean


def _pair(query, gallery):
    dtype = output_dtype(query, gallery)
    q = check_features(query, "query features").astype(dtype, copy=False)
    g = check_features(gallery, "gallery features").astype(dtype, copy=False)
    if q.shape[1] != g.shape[1]:
        raise ReidBenchError(f"query features have {q.shape[1]} dimensions but gallery features have {g.shape[1]}")
    return q, g


@register("sqeuclidean")
class SquaredEuclidean(Ranker):
    """``|q - g|^2``."""

    learns = False

    def distance(self, query: np.ndarray, gallery: np.ndarray) -> np.ndarray:
        return squared_euclidean(*_pair(query, gallery))


@register("euclidean")
class Euclidean(Ranker):
    """``|q - g|``, the true Euclidean distance."""

    learns = False

    def distance(self, query: np.ndarray, gallery: np.ndarray) -> np.ndarray:
        return np.sqrt(squared_euclidean(*_pair(query, gallery)))


@register("cosine")
class Cosine(Ranker):
    """``1 - cos(q, g)``; a feature vector of all zeros has no direction and is rejected."""

    learns = False

    def distance(self, query: np.ndarray, gallery: np.ndarray) -> np.ndarray:
        q, g = _pair(query, gallery)
        q = _unit_rows(q, "query")
        g = _unit_rows(g, "gallery")
        out = q @ g.T
        np.subtract(1, out, out=out)
        return out


def _unit_rows(x: np.ndarray, what: str) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1)
    zero = np.flatnonzero(norms == 0)
    if len(zero):
        shown = ", ".join(str(r) for r in zero[:8]) + (", ..." if len(zero) > 8 else "")
        raise ReidBenchError(
            f"{what} features have {len(zero)} all-zero rows (rows {shown}); cosine distance is undefined for them"
        )
    return x / norms[:, None].astype(x.dtype)
