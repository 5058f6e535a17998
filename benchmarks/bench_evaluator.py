"""Time reid_bench.evaluation.evaluate against torchreid's Python evaluator and a bare np.argsort.

One Market-1501-sized random case: 3,368 queries of 750 identities; a gallery of 13,119 images of
751 identities, 2,793 distractors (pid 0) and 3,819 junk images (pid -1), 6 cameras — the layout of
Market-1501's query/ and bounding_box_test/.  Distances are float32, uniform noise with true
matches pulled closer.  torchreid's loaders drop junk images before evaluating, so torchreid and the
np.argsort anchor get the 15,912 non-junk columns, while ours gets all 19,731 and drops junk
itself; the results must agree (printed).  All three run in this one process, one after another.

    python benchmarks/bench_evaluator.py [--quick]
"""

from __future__ import annotations

import argparse
import platform
import time
import warnings

import numpy as np

from reid_bench.evaluation import evaluate

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from torchreid.reid.metrics.rank import evaluate_rank


def market_like(scale: float, seed: int = 0):
    rng = np.random.default_rng(seed)
    n_ids, n_cams = max(20, int(751 * scale)), 6
    n_query, n_gal = int(3368 * scale), int(13119 * scale)
    n_distract, n_junk = int(2793 * scale), int(3819 * scale)
    q_pids = rng.integers(1, n_ids, n_query)
    g_pids = np.r_[rng.integers(1, n_ids + 1, n_gal), np.zeros(n_distract, int), -np.ones(n_junk, int)]
    g_pids = g_pids[rng.permutation(len(g_pids))]
    q_cams, g_cams = rng.integers(0, n_cams, n_query), rng.integers(0, n_cams, len(g_pids))
    dist = rng.random((n_query, len(g_pids)), dtype=np.float32)
    same = q_pids[:, None] == g_pids[None, :]
    dist[same] -= (0.6 * rng.random(int(same.sum()))).astype(np.float32)
    return dist, q_pids, g_pids, q_cams, g_cams


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a case 1/8 of Market-1501's size")
    args = parser.parse_args()
    dist, q_pids, g_pids, q_cams, g_cams = market_like(0.125 if args.quick else 1.0)
    kept = g_pids != -1
    dist_kept = np.ascontiguousarray(dist[:, kept])
    print(f"{platform.processor() or platform.machine()}, {time.strftime('%Y-%m-%d')}")
    print(f"queries {dist.shape[0]}, gallery {dist.shape[1]} ({int(kept.sum())} without junk), float32")

    t_ours, ours = timed(lambda: evaluate(dist, q_pids, g_pids, q_cams, g_cams, max_rank=50))
    t_argsort, _ = timed(lambda: np.argsort(dist_kept, axis=1))
    t_torchreid, (cmc, mAP) = timed(
        lambda: evaluate_rank(dist_kept, q_pids, g_pids[kept], q_cams, g_cams[kept], 50, False, use_cython=False)
    )
    print(f"ours (all columns, drops junk)        {t_ours:8.2f} s")
    print(f"np.argsort(distmat, axis=1)           {t_argsort:8.2f} s   ours is {t_argsort / t_ours:5.1f}x faster")
    print(f"torchreid evaluate_rank (python)      {t_torchreid:8.2f} s   ours is {t_torchreid / t_ours:5.1f}x faster")
    print(f"agreement: |mAP diff| {abs(mAP - ours.mAP):.2e}, max |CMC diff| {np.abs(cmc - ours.cmc).max():.2e}")
    print(f"rank-1 {ours.rank1:.4f}, mAP {ours.mAP:.4f}, mINP {ours.mINP:.4f}, valid queries {ours.num_valid}")


if __name__ == "__main__":
    main()
