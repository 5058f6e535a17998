"""k-reciprocal re-ranking against torchreid's re_ranking, the wrapper, and bad input."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import reid_bench.rankers.reranking as module
from reid_bench.errors import ReidBenchError
from reid_bench.rankers import Reranked, create, rerank

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # torchreid's "Cython evaluation ... is unavailable"
    from torchreid.reid.utils.rerank import re_ranking


def distances(rng, n_query, n_gallery, dims=16, dtype=np.float64, clusters=0):
    """Euclidean distances of random features (optionally clustered, so neighbourhoods overlap)."""
    centres = rng.normal(size=(max(clusters, 1), dims)) * (3.0 if clusters else 0.0)
    q = centres[rng.integers(0, len(centres), n_query)] + rng.normal(size=(n_query, dims))
    g = centres[rng.integers(0, len(centres), n_gallery)] + rng.normal(size=(n_gallery, dims))
    ranker = create("euclidean")
    q, g = q.astype(dtype), g.astype(dtype)
    return ranker.distance(q, g), ranker.distance(q, q), ranker.distance(g, g)


@pytest.mark.parametrize(
    "k1, k2, lambda_value",
    [(20, 6, 0.3), (5, 3, 0.3), (7, 1, 0.5), (20, 6, 0.0), (3, 30, 0.8)],
)
def test_equals_torchreid(k1, k2, lambda_value):
    rng = np.random.default_rng(k1 * 100 + k2)
    for trial in range(4):
        n_query, n_gallery = int(rng.integers(3, 60)), int(rng.integers(20, 200))
        q_g, q_q, g_g = distances(rng, n_query, n_gallery, clusters=int(rng.integers(0, 8)))
        expected = re_ranking(q_g, q_q, g_g, k1=k1, k2=k2, lambda_value=lambda_value)
        ours = rerank(q_g, q_q, g_g, k1=k1, k2=k2, lambda_value=lambda_value)
        assert ours.dtype == np.float32 and ours.shape == (n_query, n_gallery)
        np.testing.assert_allclose(ours, expected, atol=1e-5, rtol=0)


def test_equals_torchreid_on_float32_with_more_items_than_a_chunk(monkeypatch):
    monkeypatch.setattr(module, "_CHUNK_BYTES", 40 * 4 * 330)  # 40-row chunks
    monkeypatch.setattr(module, "_JOIN_ITEMS", 500)  # many small Jaccard joins
    rng = np.random.default_rng(7)
    q_g, q_q, g_g = distances(rng, 80, 250, dtype=np.float32, clusters=10)
    np.testing.assert_allclose(rerank(q_g, q_q, g_g), re_ranking(q_g, q_q, g_g, 20, 6, 0.3), atol=1e-5, rtol=0)


def test_reranked_ranker_uses_its_own_q_q_and_g_g_distances():
    rng = np.random.default_rng(8)
    q, g = rng.normal(size=(12, 6)), rng.normal(size=(50, 6))
    for name in ("euclidean", "cosine"):
        base = create(name)
        d = base.distance
        expected = re_ranking(d(q, g), d(q, q), d(g, g), 20, 6, 0.3)
        via_name = create(name + "+rerank").fit(g, np.arange(50) % 5, np.arange(50) % 2)
        np.testing.assert_allclose(via_name.distance(q, g), expected, atol=1e-5, rtol=0)
        np.testing.assert_allclose(Reranked(base, k1=20).distance(q, g), expected, atol=1e-5, rtol=0)
        assert via_name.name == name + "+rerank"


def test_rerank_options_go_to_the_reranking():
    ranker = create("xqda+rerank", k1=10, k2=3, lambda_value=0.5, dims=4)
    assert (ranker.k1, ranker.k2, ranker.lambda_value) == (10, 3, 0.5)
    assert ranker.ranker.dims == 4


def test_bad_input():
    rng = np.random.default_rng(9)
    q_g, q_q, g_g = distances(rng, 5, 20)
    with pytest.raises(ReidBenchError, match=r"must be \(5, 20\), \(5, 5\) and \(20, 20\)"):
        rerank(q_g, q_q[:4, :4], g_g)
    with pytest.raises(ReidBenchError, match="non-empty"):
        rerank(q_g[:0], q_q[:0, :0], g_g)
    bad = g_g.copy()
    bad[3, 4] = np.nan
    with pytest.raises(ReidBenchError, match=r"g-g distance matrix contains 1 NaN values \(row 3\)"):
        rerank(q_g, q_q, bad)
    with pytest.raises(ReidBenchError, match="k1 >= 1"):
        rerank(q_g, q_q, g_g, k1=0)
