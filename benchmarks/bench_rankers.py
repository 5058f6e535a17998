"""Fit and distance times of the rankers at Market-1501 size, beside scikit-learn anchors.

Training features: 12,936 x 2,048 float32 of 751 identities over 6 cameras (Market-1501's
bounding_box_train); query 3,368 and gallery 15,913 images (query/ and bounding_box_test/ without
junk).  Features are random but structured like CNN features: an identity component, a shared
per-image nuisance component of larger variance in a low-dimensional subspace, and noise, all
non-negative after a ReLU.  Anchors, run in this same process on the same arrays:

* fit: scikit-learn's ``LinearDiscriminantAnalysis(solver="eigen")`` (within/between-class scatter
  plus a generalised eigenproblem — the classical relative of XQDA) and ``PCA(200)`` (KISSME's
  first step);
* distance: ``sklearn.metrics.pairwise.euclidean_distances(query, gallery)`` on the raw features.

Rank-1 / mAP of each ranker on this synthetic case are printed as a sanity check, not a result.

    python benchmarks/bench_rankers.py [--quick] [--rankers euclidean,xqda,kissme,...]
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np
from bench_evaluator import timed
from sklearn.decomposition import PCA
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.metrics.pairwise import euclidean_distances

from reid_bench.evaluation import evaluate
from reid_bench.rankers import create


def market_like(scale: float, seed: int = 0):
    rng = np.random.default_rng(seed)
    dims, n_ids, n_cams = 2048, max(20, int(751 * scale)), 6
    ids = rng.normal(size=(2 * n_ids, 64)).astype(np.float32) @ (rng.normal(size=(64, dims)).astype(np.float32) / 8)
    nuisance_basis = rng.normal(size=(16, dims)).astype(np.float32)

    def images(pids):
        n = len(pids)
        x = ids[pids] + rng.normal(size=(n, 16)).astype(np.float32) @ nuisance_basis
        x += rng.normal(size=(n, dims)).astype(np.float32) * 0.5
        return np.maximum(x, 0), rng.integers(0, n_cams, n)

    train_pids = rng.integers(0, n_ids, int(12936 * scale))
    test_ids = n_ids + rng.integers(0, n_ids, int(13119 * scale))
    q_pids = n_ids + rng.integers(0, n_ids, int(3368 * scale))
    g_pids = np.r_[test_ids, -1 - rng.integers(0, n_ids, int(2794 * scale))]  # distractors: unseen ids
    train = (*images(train_pids), train_pids)
    query, gallery = images(q_pids), images(np.abs(g_pids))
    g_pids = np.where(g_pids < 0, 0, g_pids)
    return (train[0], train[2], train[1]), (query[0], q_pids, query[1]), (gallery[0], g_pids, gallery[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a case 1/8 of Market-1501's size")
    parser.add_argument("--rankers", default="euclidean,cosine,xqda,kissme,lfda,rca,nca,lmnn")
    args = parser.parse_args()

    (x, pids, cams), (q, q_pids, q_cams), (g, g_pids, g_cams) = market_like(0.125 if args.quick else 1.0)
    print(f"{platform.processor() or platform.machine()}, {time.strftime('%Y-%m-%d')}")
    print(f"train {x.shape} ({len(np.unique(pids))} ids), query {q.shape}, gallery {g.shape}, float32")
    t_lda, _ = timed(lambda: LinearDiscriminantAnalysis(solver="eigen", shrinkage=1e-3).fit(x, pids))
    t_pca, _ = timed(lambda: PCA(200, random_state=0).fit(x))
    t_dist, _ = timed(lambda: euclidean_distances(q, g))
    print(f"anchor fit: sklearn LDA(eigen) {t_lda:7.2f} s, sklearn PCA(200) {t_pca:7.2f} s")
    print(f"anchor distance: sklearn euclidean_distances {t_dist:7.2f} s")
    print(f"{'ranker':12s} {'fit s':>8s} {'vs LDA':>7s} {'vs PCA':>7s} "
          f"{'dist s':>8s} {'vs skl':>7s} {'rank-1':>7s} {'mAP':>7s}")
    for name in args.rankers.split(","):
        ranker = create(name)
        t_fit, _ = timed(lambda: ranker.fit(x, pids, cams))
        t_d, d = timed(lambda: ranker.distance(q, g))
        r = evaluate(d, q_pids, g_pids, q_cams, g_cams)
        print(
            f"{name:12s} {t_fit:8.2f} {t_fit / t_lda:7.2f} {t_fit / t_pca:7.2f} {t_d:8.2f} {t_d / t_dist:7.2f} "
            f"{r.rank1:7.3f} {r.mAP:7.3f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
