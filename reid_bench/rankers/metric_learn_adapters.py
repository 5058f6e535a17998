"""metric-learn 0.7 learners as rankers, each after PCA (default 64 dimensions).

* ``lfda`` — Local Fisher Discriminant Analysis (Sugiyama, JMLR 2007), ``metric_learn.LFDA``;
* ``nca`` — Neighbourhood Components Analysis (Goldberger et al., NIPS 2004), ``metric_learn.NCA``;
* ``lmnn`` — Large Margin Nearest Neighbour (Weinberger and Saul, JMLR 2009), ``metric_learn.LMNN``;
* ``rca`` — Relevant Component Analysis (Bar-Hillel et al., JMLR 2005), ``metric_learn.RCA_Supervised``.

Each learner is fitted on the PCA features and the pids (cameras are not used) and learns a linear
map ``L`` (``components_``); the distance is ``|L (x - z)|^2`` in the PCA space.  Defaults that keep
a Market-size fit (12,936 images, 751 identities) to about a minute on two CPU cores, and the
simplification each one implies:

* ``max_samples`` (``nca``: 2,000, ``lmnn``: 1,500; others all images): NCA keeps n x n matrices per
  iteration and LMNN searches impostors among all pairs, so they are fitted on a seeded random
  subset of whole identities (about 115 and 85 of Market-1501's 751);
* ``nca``: ``max_iter=50``; ``lmnn``: ``max_iter=50``, ``n_neighbors=3``;
* ``rca``: chunklets of 2 images of one identity, as many as fit (every identity's images paired
  up; metric-learn's default is 100 chunklets in total), drawn with ``seed``.
"""

from __future__ import annotations

import warnings

import metric_learn
import numpy as np

from reid_bench.errors import ReidBenchError
from reid_bench.rankers.base import LinearMetricRanker, check_labelled, fit_pca, register


class MetricLearnRanker(LinearMetricRanker):
    """PCA to ``pca_dims``, then a metric-learn learner on (PCA features, pids)."""

    default_max_samples: int | None = None

    def __init__(self, pca_dims: int = 64, max_samples: int | None = -1, seed: int = 0, **learner_options):
        self.pca_dims = int(pca_dims)
        self.max_samples = self.default_max_samples if max_samples == -1 else max_samples
        self.seed = seed
        self.learner_options = learner_options

    def __repr__(self) -> str:
        return f"{type(self).__name__}(pca_dims={self.pca_dims}, max_samples={self.max_samples}, seed={self.seed})"

    def learner(self, pids: np.ndarray, rng: np.random.Generator):
        """The unfitted metric-learn estimator for these training pids."""
        raise NotImplementedError

    def fit(self, features: np.ndarray, pids: np.ndarray, camids: np.ndarray) -> "MetricLearnRanker":
        x, pids, camids = check_labelled(features, pids, camids, "training")
        if len(np.unique(pids)) < 2:
            raise ReidBenchError(f"{self.name} needs training images of at least 2 identities, "
                                 f"got {len(np.unique(pids))}")
        rng = np.random.default_rng(self.seed)
        if self.max_samples is not None and len(x) > self.max_samples:
            keep = _whole_identities(pids, self.max_samples, rng)
            x, pids = x[keep], pids[keep]
        self.mean_, components = fit_pca(x, self.pca_dims)
        z = (x - self.mean_) @ components
        learner = self.learner(pids, rng)
        try:
            with warnings.catch_warnings():
                # metric-learn 0.7 on scikit-learn 1.7 ('force_all_finite' renamed) and LFDA's
                # note that it solves a full eigenproblem when n_components = d: noise for users
                warnings.simplefilter("ignore", FutureWarning)
                warnings.filterwarnings("ignore", "k >= N for N", RuntimeWarning)
                learner.fit(z, pids)
        except (ValueError, np.linalg.LinAlgError) as exc:
            raise ReidBenchError(f"metric-learn's {type(learner).__name__} could not fit these features: {exc}; give "
                                 "it more training images per identity, or use another ranker") from None
        if not np.isfinite(learner.components_).all():
            raise ReidBenchError(f"metric-learn's {type(learner).__name__} learned a non-finite projection on these "
                                 "features (too few or too similar images per identity); use another ranker")
        self.learner_ = learner
        self.projection_ = components @ learner.components_.T
        return self


def _whole_identities(pids: np.ndarray, limit: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of randomly chosen identities, all their images, up to about ``limit`` images."""
    ids, counts = np.unique(pids, return_counts=True)
    perm = rng.permutation(len(ids))
    take = perm[: max(2, int(np.searchsorted(np.cumsum(counts[perm]), limit, side="right")))]
    return np.flatnonzero(np.isin(pids, ids[take]))


@register("lfda")
class LFDA(MetricLearnRanker):
    def learner(self, pids, rng):
        options = {"embedding_type": "weighted"} | self.learner_options
        return metric_learn.LFDA(**options)


@register("nca")
class NCA(MetricLearnRanker):
    default_max_samples = 2000

    def learner(self, pids, rng):
        options = {"max_iter": 50, "random_state": int(rng.integers(2**31))} | self.learner_options
        return metric_learn.NCA(**options)


@register("lmnn")
class LMNN(MetricLearnRanker):
    default_max_samples = 1500

    def learner(self, pids, rng):
        options = {"max_iter": 50, "n_neighbors": 3, "random_state": int(rng.integers(2**31))} | self.learner_options
        return metric_learn.LMNN(**options)


@register("rca")
class RCA(MetricLearnRanker):
    def learner(self, pids, rng):
        _, counts = np.unique(pids, return_counts=True)
        options = {
            "n_chunks": int((counts // 2).sum()),
            "chunk_size": 2,
            "random_state": int(rng.integers(2**31)),
        } | self.learner_options
        return metric_learn.RCA_Supervised(**options)
