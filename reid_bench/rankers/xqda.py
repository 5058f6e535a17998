"""XQDA: Cross-view Quadratic Discriminant Analysis.

Liao, Hu, Zhu and Li, "Person Re-identification by Local Maximal Occurrence Representation and
Metric Learning", CVPR 2015, Sec. 4, following the authors' ``XQDA.m``:

* ``S_I``, ``S_E``: covariances of intra-class (same identity) and extra-class feature differences,
  computed in closed form from class sums (:mod:`reid_bench.rankers.pairs`), never by enumerating
  pairs; ``S_I <- S_I + lambda I`` with ``lambda = 0.001`` (an absolute amount, so it depends on the
  feature scale, as in XQDA.m).
* The subspace ``W`` maximises the generalised Rayleigh quotient ``J(w) = w' S_E w / w' S_I w``: the
  generalised eigenvectors ``S_E w = l S_I w``, keeping those with ``l > 1`` (at most ``dims``).
* ``M = inv(W' S_I W) - inv(W' S_E W)`` and ``d(x, z) = (x - z)' W M W' (x - z)``.  With the
  eigenvectors normalised so that ``W' S_I W = I`` (then ``W' S_E W = diag(l)``), ``M`` is exactly
  ``diag(1 - 1/l)``, so features are projected with ``W diag(sqrt(1 - 1/l))`` and the distance is a
  squared Euclidean distance in ``r`` dimensions.
* When the feature dimension exceeds the number of training samples, XQDA.m first rewrites the
  samples in an orthonormal basis of their span (thin QR), which gives the same metric faster; so
  does this module (the span of the centred samples, which holds every pair difference).

Differences from XQDA.m: it takes the eigenvectors from ``svd(S_I \\ S_E)``, whose singular vectors
of the non-symmetric ``S_I^-1 S_E`` only approximate the generalised eigenvectors the paper
specifies; here they are solved exactly as a symmetric-definite problem (Cholesky of ``S_I``, then a
symmetric eigendecomposition).
If no eigenvalue exceeds 1 XQDA.m keeps one dimension with a negative-definite ``M`` (distances that
reverse the ranking); here that is an error.

Training pairs (``pairs=``): ``"split"`` (default) is Zheng et al.'s Market-1501 baseline
(``gen_train_sample_xqda.m``): each identity's images are split into two random halves paired
across cameras, and those halves are XQDA's two views, so ``S_I`` covers every same-identity
(half a, half b) pair and ``S_E`` every different-identity one (seeded by ``seed``).
``"cross_camera"``: every same-identity pair from different cameras is intra, every
different-identity pair is extra, over all training images (deterministic).
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import solve_triangular

from reid_bench.errors import ReidBenchError
from reid_bench.rankers.base import LinearMetricRanker, check_labelled, check_trainable, register
from reid_bench.rankers.pairs import cross_camera_scatter, two_view_scatter, zheng_split


@register("xqda")
class XQDA(LinearMetricRanker):
    """Attributes after ``fit``: ``W_`` (d, r), ``M_`` (r, r), ``eigenvalues_`` (r,), and ``in_cov_``
    (regularised) / ``ex_cov_``, the covariances in the space the eigenproblem was solved in: the
    feature space, or the QR basis ``basis_`` (d, n) when there are fewer samples than dimensions."""

    def __init__(self, regularizer: float = 0.001, dims: int | None = None, pairs: str = "split", seed: int = 0):
        if pairs not in ("split", "cross_camera"):
            raise ReidBenchError(f"unknown XQDA pairs {pairs!r}; use 'split' or 'cross_camera'")
        self.regularizer = float(regularizer)
        self.dims = dims
        self.pairs = pairs
        self.seed = seed

    def __repr__(self) -> str:
        return f"XQDA(regularizer={self.regularizer}, dims={self.dims}, pairs={self.pairs!r}, seed={self.seed})"

    def fit(self, features: np.ndarray, pids: np.ndarray, camids: np.ndarray) -> "XQDA":
        x, pids, camids = check_labelled(features, pids, camids, "training")
        check_trainable(pids, camids, "XQDA")
        x = x.astype(np.float64)
        self.mean_ = x.mean(axis=0)
        x = x - self.mean_
        if self.pairs == "split":
            a, b = zheng_split(pids, camids, np.random.default_rng(self.seed))
            used = np.r_[a, b]
        else:
            used = np.arange(len(x))
        self.basis_ = None
        if x.shape[1] > len(used):
            self.basis_, _ = np.linalg.qr(x[used].T)
            x = x @ self.basis_
        if self.pairs == "split":
            n_a = len(used) // 2
            intra, n_in, extra, n_ex = two_view_scatter(x[used[:n_a]], pids[used[:n_a]],
                                                        x[used[n_a:]], pids[used[n_a:]])
        else:
            intra, n_in, extra, n_ex = cross_camera_scatter(x, pids, camids)
        if n_in == 0 or n_ex == 0:
            raise ReidBenchError(
                "XQDA found no cross-camera same-identity image pairs to learn from; "
                "use pairs='cross_camera' or more images per identity"
            )
        self.in_cov_ = intra / n_in + self.regularizer * np.eye(len(intra))
        self.ex_cov_ = extra / n_ex
        # S_E w = l S_I w via S_I = C C': the symmetric problem C^-1 S_E C^-T u = l u, w = C^-T u
        chol = np.linalg.cholesky(self.in_cov_)
        reduced = solve_triangular(chol, solve_triangular(chol, self.ex_cov_, lower=True).T, lower=True)
        vals, vecs = np.linalg.eigh((reduced + reduced.T) / 2)
        keep = np.flatnonzero(vals > 1)[::-1]
        if self.dims is not None:
            keep = keep[: max(1, int(self.dims))]
        if len(keep) == 0:
            raise ReidBenchError(
                "XQDA found no direction where different identities vary more than same identities "
                f"(largest generalised eigenvalue {vals[-1]:.3g} <= 1); the features do not separate identities"
            )
        self.eigenvalues_ = vals[keep]
        v = solve_triangular(chol, vecs[:, keep], lower=True, trans="T")
        # W' S_I W = I and W' S_E W = diag(l), so M = inv(W' S_I W) - inv(W' S_E W) = diag(1 - 1/l)
        self.M_ = np.diag(1 - 1 / self.eigenvalues_)
        self.W_ = v if self.basis_ is None else self.basis_ @ v
        self.projection_ = self.W_ * np.sqrt(1 - 1 / self.eigenvalues_)
        return self
