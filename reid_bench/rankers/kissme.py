"""KISSME: "Keep It Simple and Straightforward" metric learning.

Koestinger, Hirzer, Wohlhart, Roth and Bischof, "Large Scale Metric Learning from Equivalence
Constraints", CVPR 2012, Eq. 15-16: with ``S_S`` and ``S_D`` the covariances of the differences of
similar and dissimilar pairs, ``M = inv(S_S) - inv(S_D)`` and ``d(x, z) = (x - z)' M (x - z)``.
Set up as Zheng et al.'s Market-1501 baseline (``KISSME/market_demo.m`` with the KISSME toolbox):

* PCA to 200 dimensions fitted on the training features (``params.numCoeffs = 200``);
* positives: every same-identity pair from different cameras (closed form, see
  :mod:`reid_bench.rankers.pairs`); negatives: as many random pairs of different identities and
  different cameras, drawn with ``seed``;
* "covariances" as in the toolbox's ``SOPD``: second moments of the differences, sum / count;
* the toolbox's ``validateCovMatrix`` makes ``M`` positive definite by setting eigenvalues
  ``<= 1e-10`` to ``1e-6``; here that clipping is always applied (it changes nothing when ``M``
  already has no such eigenvalue, where the toolbox skips it after a Cholesky test).

Departure: both covariances get a ridge of ``regularizer`` times their mean eigenvalue before
inversion. At Market-1501 size (12,936 images) the covariances are well conditioned and the ridge
(1e-3 of the mean variance) changes nothing that matters; on small training sets, or ones holding
near-copies of images (a weak generator's augmentation), the similar-pair covariance is singular in
some PCA directions and its plain inverse overflows.

The distance is the squared Mahalanobis distance in the PCA space, computed as a squared Euclidean
distance after projecting with a factor ``L`` of ``M = L L'``.
"""

from __future__ import annotations

import numpy as np

from reid_bench.errors import ReidBenchError
from reid_bench.rankers.base import LinearMetricRanker, check_labelled, check_trainable, fit_pca, psd_factor, register
from reid_bench.rankers.pairs import cross_camera_scatter, pair_scatter, sample_negative_pairs

EIG_ZERO = 1e-10
EIG_FLOOR = 1e-6


@register("kissme")
class KISSME(LinearMetricRanker):
    """Attributes after ``fit``: ``components_`` (d, p) PCA axes, ``M_`` (p, p) PSD metric,
    ``n_pairs_`` positives (= negatives) used."""

    def __init__(self, pca_dims: int = 200, seed: int = 0, regularizer: float = 1e-3):
        self.pca_dims = int(pca_dims)
        self.seed = seed
        self.regularizer = float(regularizer)

    def __repr__(self) -> str:
        return f"KISSME(pca_dims={self.pca_dims}, seed={self.seed}, regularizer={self.regularizer})"

    def fit(self, features: np.ndarray, pids: np.ndarray, camids: np.ndarray) -> "KISSME":
        x, pids, camids = check_labelled(features, pids, camids, "training")
        check_trainable(pids, camids, "KISSME")
        self.mean_, self.components_ = fit_pca(x, self.pca_dims)
        z = (x - self.mean_) @ self.components_
        positive, n_pos, _, _ = cross_camera_scatter(z, pids, camids)
        a, b = sample_negative_pairs(pids, camids, n_pos, np.random.default_rng(self.seed))
        negative = pair_scatter(z, a, b)
        try:
            m = np.linalg.inv(self._ridged(positive / n_pos)) - np.linalg.inv(self._ridged(negative / n_pos))
        except np.linalg.LinAlgError:
            raise ReidBenchError(
                f"KISSME's pair covariance is singular ({n_pos} positive pairs in {z.shape[1]} PCA dimensions); "
                "lower pca_dims or add training images"
            ) from None
        self.n_pairs_ = n_pos
        self.M_, factor = psd_factor(m, floor=EIG_ZERO, clip_to=EIG_FLOOR)
        self.projection_ = self.components_ @ factor
        return self

    def _ridged(self, covariance: np.ndarray) -> np.ndarray:
        ridge = self.regularizer * np.trace(covariance) / len(covariance)
        return covariance + ridge * np.eye(len(covariance))
