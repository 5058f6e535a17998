"""Ranker base classes, the name registry, input checks and the shared linear-algebra helpers.

A ranker turns features into a query x gallery distance matrix (smaller = closer):
``create(name, **options).fit(features, pids, camids).distance(query, gallery)``.  Every learned
metric here is a squared Mahalanobis distance ``(x - z)' A (x - z)`` with ``A = P P'`` positive
semi-definite, so :class:`LinearMetricRanker` computes it as a squared Euclidean distance between
the projected features ``x P`` (one matrix product per set instead of one per pair).
"""

from __future__ import annotations

from typing import Callable

import numpy as np
from scipy.linalg import eigh

from reid_bench.errors import ReidBenchError

_REGISTRY: dict[str, Callable[..., "Ranker"]] = {}
_SHOW_ROWS = 8
_CHUNK_BYTES = 1 << 24


def register(name: str) -> Callable:
    """Class decorator adding a ranker to the registry under ``name`` (timm's ``@register_model``)."""

    def add(cls):
        if name in _REGISTRY:
            raise ValueError(f"ranker {name!r} is registered twice")
        _REGISTRY[name] = cls
        cls.name = name
        return cls

    return add


class Ranker:
    """``fit(features, pids, camids) -> self`` then ``distance(query, gallery) -> (nq, ng)`` array."""

    name = "ranker"
    learns = True  # whether fit learns from the training features (False: a fixed distance)

    def fit(self, features: np.ndarray, pids: np.ndarray, camids: np.ndarray) -> "Ranker":
        """Learn from training features; rankers without parameters only check the input."""
        check_labelled(features, pids, camids, "training")
        return self

    def distance(self, query: np.ndarray, gallery: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class LinearMetricRanker(Ranker):
    """Squared Mahalanobis distance ``|| (x - mean) P - (z - mean) P ||^2`` with learned ``P``.

    Subclasses set ``mean_`` (d,) and ``projection_`` (d, r) in ``fit``.
    """

    mean_: np.ndarray | None = None
    projection_: np.ndarray | None = None

    def transform(self, features: np.ndarray, what: str = "query") -> np.ndarray:
        """Project features into the learned space (float64)."""
        if self.projection_ is None:
            raise ReidBenchError(f"the {self.name} ranker must be fitted on training features before use")
        x = check_features(features, f"{what} features")
        if x.shape[1] != self.projection_.shape[0]:
            raise ReidBenchError(
                f"{what} features have {x.shape[1]} dimensions but the {self.name} ranker was fitted "
                f"on {self.projection_.shape[0]}"
            )
        return (x - self.mean_) @ self.projection_

    def distance(self, query: np.ndarray, gallery: np.ndarray) -> np.ndarray:
        dtype = output_dtype(query, gallery)
        q = self.transform(query, "query").astype(dtype, copy=False)
        g = self.transform(gallery, "gallery").astype(dtype, copy=False)
        return squared_euclidean(q, g)


def output_dtype(query: np.ndarray, gallery: np.ndarray) -> np.dtype:
    """float32 when both inputs are float32, else float64."""
    both32 = np.asarray(query).dtype == np.float32 and np.asarray(gallery).dtype == np.float32
    return np.dtype(np.float32 if both32 else np.float64)


def squared_euclidean(query: np.ndarray, gallery: np.ndarray) -> np.ndarray:
    """``|q - g|^2`` for every pair by ``|q|^2 + |g|^2 - 2 q.g``, in row chunks, clipped at 0.

    Both sets are first centred on the gallery mean (distances are translation invariant), which
    keeps the cancellation error of the expansion small for features far from the origin.
    """
    centre = gallery.mean(axis=0)
    q = query - centre
    g = gallery - centre
    g_sq = np.einsum("ij,ij->i", g, g)
    q_sq = np.einsum("ij,ij->i", q, q)
    out = np.empty((len(q), len(g)), dtype=np.result_type(q, g))
    rows = max(1, _CHUNK_BYTES // max(1, len(g) * out.itemsize))
    for s in range(0, len(q), rows):
        block = out[s : s + rows]
        np.matmul(q[s : s + rows], g.T, out=block)
        block *= -2
        block += q_sq[s : s + rows, None]
        block += g_sq[None, :]
        np.maximum(block, 0, out=block)
    return out


def describe_nonfinite(array: np.ndarray, what: str, allow_inf: bool = False, verb: str = "contain") -> str | None:
    """A sentence naming how many NaN (and inf, unless allowed) values ``array`` has and in which rows.

    Returns None when there are none.  Cheap when clean: one reduction pass without temporaries.
    """
    lo, hi = np.min(array), np.max(array)
    if not np.isnan(lo) and (allow_inf or (np.isfinite(lo) and np.isfinite(hi))):
        return None
    nan = np.isnan(array)
    bad = nan if allow_inf else ~np.isfinite(array)
    rows = np.flatnonzero(bad.reshape(len(array), -1).any(axis=1))
    shown = ", ".join(str(r) for r in rows[:_SHOW_ROWS]) + (", ..." if len(rows) > _SHOW_ROWS else "")
    parts = []
    if nan.any():
        parts.append(f"{int(nan.sum())} NaN")
    if not allow_inf and np.isinf(array).any():
        parts.append(f"{int(np.isinf(array).sum())} infinite")
    noun = "row" if len(rows) == 1 else "rows"
    return f"{what} {verb} {' and '.join(parts)} values ({noun} {shown})"


def check_features(features: np.ndarray, what: str) -> np.ndarray:
    """A non-empty, finite 2-D float array (float32 kept, anything else as float64)."""
    x = np.asarray(features)
    if x.ndim != 2:
        raise ReidBenchError(f"{what} must be a 2-D array (samples x dimensions), got shape {x.shape}")
    if x.shape[0] == 0 or x.shape[1] == 0:
        raise ReidBenchError(f"{what} are empty (shape {x.shape}); there is nothing to rank")
    if not np.issubdtype(x.dtype, np.number) or np.issubdtype(x.dtype, np.complexfloating):
        raise ReidBenchError(f"{what} must be real numbers, got dtype {x.dtype}")
    if x.dtype != np.float32:
        x = x.astype(np.float64)
    problem = describe_nonfinite(x, what)
    if problem:
        raise ReidBenchError(problem + "; check the feature extractor")
    return x


def check_labelled(features, pids, camids, what: str):
    """Check features with one pid and one camid per row; return them as arrays."""
    x = check_features(features, f"{what} features")
    pids, camids = np.asarray(pids).ravel(), np.asarray(camids).ravel()
    if not len(x) == len(pids) == len(camids):
        raise ReidBenchError(
            f"{what} features, pids and camids differ in length ({len(x)}, {len(pids)} and {len(camids)}); "
            "they need one entry per image"
        )
    return x, pids, camids


def check_trainable(pids: np.ndarray, camids: np.ndarray, ranker: str) -> None:
    """A metric needs two identities and one same-identity pair seen by two cameras."""
    ids = np.unique(pids)
    if len(ids) < 2:
        raise ReidBenchError(f"{ranker} needs training images of at least 2 identities, got {len(ids)}")
    _, pid_idx = np.unique(pids, return_inverse=True)
    _, cam_idx = np.unique(camids, return_inverse=True)
    n_cams = int(cam_idx.max()) + 1
    pid_cam = np.unique(pid_idx * n_cams + cam_idx)
    if len(np.unique(pid_cam // n_cams)) == len(pid_cam):
        raise ReidBenchError(
            f"{ranker} needs a positive pair across cameras (one identity seen by two cameras), but every "
            "training identity comes from a single camera; check the training camera ids"
        )


def fit_pca(features: np.ndarray, dims: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean (d,) and the top ``dims`` principal axes (d, dims) of ``features``, by eigh of the scatter.

    ``dims`` is capped at ``min(n - 1, d)`` and at the numerical rank of the scatter (axes whose
    variance is below 1e-10 of the largest carry no data: duplicated images leave such axes).
    Features that are the same for every image have no axis at all: one clear sentence.
    """
    x = np.asarray(features, dtype=np.float64)
    n, d = x.shape
    if not np.ptp(x, axis=0).any():
        raise ReidBenchError(f"the {n} training features are all identical, so there is no direction to learn a "
                             "metric in; check the feature extractor (a collapsed or untrained model gives these)")
    dims = max(1, min(int(dims), n - 1, d))
    mean = x.mean(axis=0)
    xc = x - mean
    vals, vecs = _top_eigh(xc.T @ xc if d <= n else xc @ xc.T, dims)
    keep = max(1, int(np.sum(vals > vals[0] * 1e-10)))
    vals, vecs = vals[:keep], vecs[:, :keep]
    if d > n:  # fewer samples than dimensions: eigenvectors of the Gram matrix, mapped back
        vecs = xc.T @ vecs / np.sqrt(vals)
    return mean, vecs


def _top_eigh(sym: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    n = len(sym)
    vals, vecs = eigh(sym, subset_by_index=[n - k, n - 1])
    return vals[::-1], vecs[:, ::-1]


def psd_factor(matrix: np.ndarray, floor: float = 0.0, clip_to: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Symmetrise ``matrix``, set eigenvalues ``<= floor`` to ``clip_to``; return (M, L) with M = L L'."""
    sym = (matrix + matrix.T) / 2
    vals, vecs = np.linalg.eigh(sym)
    vals = np.where(vals <= floor, clip_to, vals)
    return (vecs * vals) @ vecs.T, vecs * np.sqrt(vals)
