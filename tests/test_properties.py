"""Property tests (hypothesis) of the evaluator and every ranker over awkward inputs.

Random labels, ties, NaN and infinite values, constant features and single identities: each call
ends in a :class:`ReidBenchError` (one clear sentence) or a finite, correct result, never another
exception. The evaluator is checked against a plain per-query loop of the Market-1501 rules; the
rankers against the distances they promise (Euclidean and cosine exactly; every learned metric is
a squared distance after a projection, so it is finite, non-negative and zero from an image to
itself). Example counts stay small so the suite stays fast.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reid_bench import rankers
from reid_bench.errors import ReidBenchError
from reid_bench.evaluation import evaluate

# derandomize: the same examples on every run, so the suite is reproducible and keeps no example database
FEW = settings(max_examples=30, deadline=None, derandomize=True, database=None,
               suppress_health_check=[HealthCheck.too_slow])
RANKERS = ["euclidean", "cosine", "xqda", "kissme", "lfda", "nca", "lmnn", "rca", "euclidean+rerank",
           "kissme+rerank"]
LEARNED = {"xqda", "kissme", "lfda", "nca", "lmnn", "rca"}

# Values with many exact ties, some NaN and infinities, and a few ordinary floats.
VALUES = st.one_of(st.sampled_from([0.0, 1.0, 2.0, 0.5]), st.floats(-3, 3, allow_nan=False),
                   st.just(float("nan")), st.just(float("inf")))


def reference(distmat, q_pids, g_pids, q_camids, g_camids, max_rank):
    """CMC, mAP and mINP by the Market-1501 rules, one query at a time, ties broken by gallery index."""
    firsts, aps, inps = [], [], []
    for i in range(len(q_pids)):
        keep = (g_pids != -1) & ~((g_pids == q_pids[i]) & (g_camids == q_camids[i]))
        order = np.flatnonzero(keep)[np.argsort(distmat[i, keep], kind="stable")]
        hits = np.flatnonzero(g_pids[order] == q_pids[i])
        if len(hits) == 0:
            continue
        firsts.append(hits[0])
        aps.append(np.mean((np.arange(len(hits)) + 1) / (hits + 1)))
        inps.append(len(hits) / (hits[-1] + 1))
    if not firsts:
        return None
    cmc = np.array([np.mean(np.array(firsts) <= k) for k in range(max_rank)])
    return cmc, float(np.mean(aps)), float(np.mean(inps))


@st.composite
def evaluation_inputs(draw):
    nq, ng = draw(st.integers(1, 5)), draw(st.integers(1, 7))
    pid = st.sampled_from([-1, 0, 1, 2])
    cam = st.integers(0, 2)
    return (np.array(draw(st.lists(VALUES, min_size=nq * ng, max_size=nq * ng))).reshape(nq, ng),
            np.array(draw(st.lists(pid, min_size=nq, max_size=nq))),
            np.array(draw(st.lists(pid, min_size=ng, max_size=ng))),
            np.array(draw(st.lists(cam, min_size=nq, max_size=nq))),
            np.array(draw(st.lists(cam, min_size=ng, max_size=ng))),
            draw(st.integers(1, 8)))


@FEW
@given(evaluation_inputs())
def test_the_evaluator_is_right_or_says_why_not(case) -> None:
    distmat, q_pids, g_pids, q_camids, g_camids, max_rank = case
    expected = reference(distmat, q_pids, g_pids, q_camids, g_camids, max_rank)
    try:
        result = evaluate(distmat, q_pids, g_pids, q_camids, g_camids, max_rank=max_rank)
    except ReidBenchError as error:
        assert str(error)
        assert np.isnan(distmat).any() or expected is None  # refused only for NaN or no valid query
        return
    assert not np.isnan(distmat).any() and expected is not None
    cmc, mean_ap, minp = expected
    np.testing.assert_allclose(result.cmc, cmc)
    assert result.mAP == pytest.approx(mean_ap) and result.mINP == pytest.approx(minp)
    assert result.rank1 == pytest.approx(cmc[0])
    assert all(np.isfinite([result.rank1, result.rank5, result.rank10, result.mAP, result.mINP]))


@st.composite
def ranker_inputs(draw):
    """Features of 4-12 images (random, heavily tied, all the same, or with one NaN) of 1-3 identities."""
    n, d = draw(st.integers(4, 12)), draw(st.integers(1, 4))
    kind = draw(st.sampled_from(["random", "ties", "constant", "nan"]))
    values = st.sampled_from([0.0, 1.0, -1.0]) if kind == "ties" else st.floats(-2, 2, allow_nan=False)
    if kind == "constant":
        features = np.tile(draw(st.lists(values, min_size=d, max_size=d)), (n, 1))
    else:
        features = np.array(draw(st.lists(values, min_size=n * d, max_size=n * d))).reshape(n, d)
    if kind == "nan":
        features[draw(st.integers(0, n - 1)), draw(st.integers(0, d - 1))] = np.nan
    identities = draw(st.integers(1, 3))
    pids = np.array(draw(st.lists(st.integers(1, identities), min_size=n, max_size=n)))
    camids = np.array(draw(st.lists(st.integers(0, 2), min_size=n, max_size=n)))
    return features, pids, camids


@pytest.mark.parametrize("name", RANKERS)
def test_every_ranker_is_right_or_says_why_not(name: str) -> None:
    @FEW
    @given(ranker_inputs())
    def check(case) -> None:
        features, pids, camids = case
        query, gallery = features[: max(1, len(features) // 2)], features
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # metric-learn and numpy warn on degenerate fits; the result is checked
            try:
                distances = rankers.create(name).fit(features, pids, camids).distance(query, gallery)
            except ReidBenchError as error:
                assert str(error)
                return
        assert not np.isnan(features).any()  # NaN features are always refused
        assert distances.shape == (len(query), len(gallery)) and np.isfinite(distances).all()
        assert (distances >= -1e-6).all()
        scale = 1e-6 * max(1.0, float(np.abs(distances).max()))
        if name == "euclidean":
            direct = np.sqrt(((query[:, None, :] - gallery[None]) ** 2).sum(-1))
            np.testing.assert_allclose(distances, direct, atol=1e-6)
        elif name == "cosine":
            unit = gallery / np.linalg.norm(gallery, axis=1, keepdims=True)
            np.testing.assert_allclose(distances, 1 - unit[: len(query)] @ unit.T, atol=1e-6)
        elif name in LEARNED:  # squared distance after a projection: zero from an image to itself
            assert np.abs(np.diag(distances[:, : len(query)])).max() <= scale + 1e-6

    check()
