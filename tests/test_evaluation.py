"""reid_bench.evaluation against torchreid's Python evaluator, by hand, and on bad input."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import reid_bench.evaluation.metrics as module
from reid_bench.errors import ReidBenchError
from reid_bench.evaluation import evaluate

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # "Cython evaluation ... is unavailable"
    from torchreid.reid.metrics.rank import evaluate_rank


def torchreid(distmat, q_pids, g_pids, q_cams, g_cams, max_rank):
    return evaluate_rank(distmat, q_pids, g_pids, q_cams, g_cams, max_rank, use_metric_cuhk03=False, use_cython=False)


def random_case(rng, n_query=40, n_gallery=200, n_ids=25, n_cams=4, junk=0, integer_distances=False):
    """Queries of ids 1..n_ids (some absent from the gallery), gallery with distractors (pid 0)."""
    q_pids = rng.integers(1, n_ids + 6, n_query)  # ids above n_ids have no gallery image
    g_pids = np.r_[rng.integers(1, n_ids + 1, n_gallery - n_gallery // 8), np.zeros(n_gallery // 8, int)]
    g_pids = np.r_[g_pids, -np.ones(junk, int)][rng.permutation(n_gallery + junk)]
    q_cams, g_cams = rng.integers(0, n_cams, n_query), rng.integers(0, n_cams, n_gallery + junk)
    if integer_distances:
        distmat = rng.integers(0, 6, (n_query, n_gallery + junk)).astype(np.float32)
    else:
        distmat = rng.random((n_query, n_gallery + junk)).astype(np.float32)
    return distmat, q_pids, g_pids, q_cams, g_cams


def assert_same(ours, cmc, mAP):
    np.testing.assert_allclose(ours.cmc[: len(cmc)], cmc, atol=1e-6)
    assert ours.mAP == pytest.approx(mAP, abs=1e-6)


@pytest.mark.parametrize("ties", ["index", "argsort"])
def test_equals_torchreid_on_random_distinct_distances(ties):
    rng = np.random.default_rng(0)
    for _ in range(25):
        n_query, n_gallery = rng.integers(5, 60), rng.integers(60, 400)
        case = random_case(rng, n_query, n_gallery, n_ids=int(rng.integers(5, 40)), n_cams=int(rng.integers(2, 7)))
        cmc, mAP = torchreid(*case, max_rank=20)
        ours = evaluate(*case, max_rank=20, ties=ties)
        assert_same(ours, cmc, mAP)
        assert ours.rank1 == pytest.approx(cmc[0], abs=1e-6)
        assert ours.rank5 == pytest.approx(cmc[4], abs=1e-6)
        assert ours.rank10 == pytest.approx(cmc[9], abs=1e-6)


def test_float64_and_large_chunks_agree_with_torchreid():
    rng = np.random.default_rng(1)
    case = list(random_case(rng, n_query=300, n_gallery=3000, n_ids=200, n_cams=6))
    case[0] = case[0].astype(np.float64) + rng.random(case[0].shape) * 1e-3
    cmc, mAP = torchreid(*case, max_rank=50)
    assert_same(evaluate(*case), cmc, mAP)


def test_argsort_ties_reproduce_torchreid_exactly():
    rng = np.random.default_rng(2)
    for _ in range(20):
        case = random_case(rng, int(rng.integers(5, 50)), int(rng.integers(60, 300)), integer_distances=True)
        cmc, mAP = torchreid(*case, max_rank=20)
        assert_same(evaluate(*case, max_rank=20, ties="argsort"), cmc, mAP)


def test_index_ties_follow_a_stable_order():
    """With ties, ``ties="index"`` equals torchreid on distances replaced by stable-sort positions."""
    rng = np.random.default_rng(3)
    for _ in range(20):
        distmat, *labels = random_case(rng, int(rng.integers(5, 50)), int(rng.integers(60, 300)),
                                       integer_distances=True)
        stable_position = np.argsort(np.argsort(distmat, axis=1, kind="stable"), axis=1).astype(np.float64)
        cmc, mAP = torchreid(stable_position, *labels, max_rank=20)
        assert_same(evaluate(distmat, *labels, max_rank=20), cmc, mAP)


def test_junk_is_dropped_like_torchreid_loaders_do():
    """Gallery pid -1 is removed: same result as torchreid on the matrix without those columns."""
    rng = np.random.default_rng(4)
    for _ in range(10):
        distmat, q_pids, g_pids, q_cams, g_cams = random_case(rng, 30, 200, junk=40)
        kept = g_pids != -1
        cmc, mAP = torchreid(distmat[:, kept], q_pids, g_pids[kept], q_cams, g_cams[kept], max_rank=20)
        for ties in ("index", "argsort"):
            assert_same(evaluate(distmat, q_pids, g_pids, q_cams, g_cams, max_rank=20, ties=ties), cmc, mAP)


def reference_per_query(distmat, q_pids, g_pids, q_cams, g_cams, ap_mode):
    """Slow loop: (valid query indices, AP, INP), walking each stable-sorted row as compute_AP.m does."""
    valid, aps, inps = [], [], []
    for q in range(len(q_pids)):
        order = np.argsort(distmat[q], kind="stable")
        junk = (g_pids[order] == -1) | ((g_pids[order] == q_pids[q]) & (g_cams[order] == q_cams[q]))
        good = (g_pids[order] == q_pids[q]) & ~junk
        n_good = good.sum()
        if n_good == 0:
            continue
        ap, hits, position, old_precision = 0.0, 0, 0, 1.0
        for is_good in good[~junk]:
            position += 1
            hits += is_good
            precision = hits / position
            if is_good:
                ap += (old_precision + precision) / 2 / n_good if ap_mode == "matlab" else precision / n_good
                last = position
            old_precision = precision
            if hits == n_good:
                break
        valid.append(q)
        aps.append(ap)
        inps.append(n_good / last)
    return np.array(valid), np.array(aps), np.array(inps)


@pytest.mark.parametrize("ap_mode", ["standard", "matlab"])
def test_per_query_ap_and_minp_match_a_reference_loop(ap_mode):
    rng = np.random.default_rng(5)
    for _ in range(10):
        case = random_case(rng, 30, 150, junk=10)
        valid, aps, inps = reference_per_query(*case, ap_mode)
        ours = evaluate(*case, ap=ap_mode)
        np.testing.assert_array_equal(ours.valid_queries, valid)
        np.testing.assert_allclose(ours.per_query_ap, aps, atol=1e-12)
        assert ours.num_valid == len(valid)
        assert ours.mAP == pytest.approx(aps.mean(), abs=1e-12)
        assert ours.mINP == pytest.approx(inps.mean(), abs=1e-12)


def hand_case():
    """Query 0 (pid 1, camera 0) and query 1 (pid 2, camera 0); junk, a same-camera match, a distractor."""
    #            pid  cam  d(q0)  d(q1)
    gallery = [(1, 1, 0.10, 0.50),  # q0: true match
               (2, 1, 0.20, 0.30),  # q1: true match
               (1, 0, 0.15, 0.90),  # q0: same person, same camera -> removed
               (1, 2, 0.30, 0.10),  # q0: true match
               (-1, 1, 0.05, 0.05),  # junk -> removed for both
               (0, 2, 0.40, 0.20),  # distractor
               (2, 2, 0.60, 0.40)]  # q1: true match
    g_pids, g_cams, d0, d1 = (np.array(c) for c in zip(*gallery))
    return np.stack([d0, d1]), np.array([1, 2]), g_pids, np.array([0, 0]), g_cams


def test_matlab_and_standard_ap_by_hand():
    # q0 kept order: 0.10 match, 0.20, 0.30 match, 0.40 -> matches at r = 1, 3
    #   standard (1/1 + 2/3) / 2 = 0.833333...
    #   matlab: r=1: (1 + 1/1)/2 = 1; r=3: (1/2 + 2/3)/2 = 0.583333...; AP = (1 + 0.583333) / 2 = 0.791666...
    # q1 kept order: 0.10 (pid 1), 0.20 (pid 0), 0.30 match, 0.40 match, 0.50 -> matches at r = 3, 4
    #   standard (1/3 + 2/4) / 2 = 0.416666...
    #   matlab: r=3: (0/2 + 1/3)/2 = 0.166666...; r=4: (1/3 + 2/4)/2 = 0.416666...; AP = 0.291666...
    standard = evaluate(*hand_case(), max_rank=5)
    matlab = evaluate(*hand_case(), max_rank=5, ap="matlab")
    np.testing.assert_allclose(standard.per_query_ap, [0.8333333333333334, 0.4166666666666667])
    np.testing.assert_allclose(matlab.per_query_ap, [0.7916666666666667, 0.2916666666666667])
    np.testing.assert_allclose(standard.cmc, [0.5, 0.5, 1.0, 1.0, 1.0])
    # INP: q0 2 matches, last at 3 -> 2/3; q1 2 matches, last at 4 -> 1/2
    assert standard.mINP == pytest.approx((2 / 3 + 1 / 2) / 2)
    assert matlab.cmc.tolist() == standard.cmc.tolist()


def test_cmc_has_max_rank_entries_even_for_a_small_gallery():
    result = evaluate(*hand_case(), max_rank=50)
    assert result.cmc.shape == (50,)
    assert result.cmc[-1] == 1.0


def test_queries_without_a_match_are_left_out():
    distmat, q_pids, g_pids, q_cams, g_cams = hand_case()
    result = evaluate(np.vstack([distmat, distmat[:1]]), np.r_[q_pids, 7], g_pids, np.r_[q_cams, 0], g_cams)
    assert result.valid_queries.tolist() == [0, 1]
    assert result.num_valid == 2


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda c: c.__setitem__(0, np.where(np.eye(2, 7, 2) > 0, np.nan, c[0])), r"2 NaN values \(rows 0, 1\)"),
        (lambda c: c.__setitem__(0, c[0][:0]), "query set is empty"),
        (lambda c: c.__setitem__(0, c[0][:, :0]), "gallery set is empty"),
        (lambda c: (c.__setitem__(2, c[2][:-1]), c.__setitem__(4, c[4][:-1])),
         r"has shape \(2, 7\) but there are 2 query and 6 gallery"),
        (lambda c: c.__setitem__(3, c[3][:1]), "pids and camids differ in length"),
        (lambda c: c.__setitem__(0, c[0][0]), "must be 2-D"),
        (lambda c: (c.__setitem__(3, np.zeros(2, int)), c.__setitem__(4, np.zeros(7, int))), "camera id 0"),
        (lambda c: c.__setitem__(1, np.array([8, 9])), "no query identity appears in the gallery"),
        (lambda c: c.__setitem__(2, -np.ones(7, int)), "every gallery image has pid -1"),
    ],
)
def test_bad_input_raises_one_clear_sentence(mutate, message):
    case = list(hand_case())
    mutate(case)
    with pytest.raises(ReidBenchError, match=message):
        evaluate(*case)


def test_same_camera_matches_only_is_explained():
    distmat, q_pids, g_pids, q_cams, g_cams = hand_case()
    g_cams = np.where(g_pids == 1, 0, g_cams)  # every pid-1 image from camera 0, like the query
    with pytest.raises(ReidBenchError, match="same camera as its query"):
        evaluate(distmat[:1], q_pids[:1], g_pids, q_cams[:1], g_cams)


@pytest.mark.parametrize("option", [{"ap": "voc"}, {"ties": "random"}, {"max_rank": 0}])
def test_bad_options(option):
    with pytest.raises(ReidBenchError):
        evaluate(*hand_case(), **option)


@pytest.mark.parametrize("ties", ["index", "argsort"])
def test_many_small_chunks_give_the_same_result(monkeypatch, ties):
    rng = np.random.default_rng(6)
    case = random_case(rng, 70, 300, junk=20, integer_distances=True)
    whole = evaluate(*case, ties=ties)
    monkeypatch.setattr(module, "_CHUNK_BYTES", 7 * 320 * 4)  # 7 query rows at a time
    chunked = evaluate(*case, ties=ties)
    np.testing.assert_array_equal(chunked.per_query_ap, whole.per_query_ap)
    np.testing.assert_array_equal(chunked.cmc, whole.cmc)
    if ties == "argsort":  # without junk: torchreid sorts exactly the rows we sort
        case = random_case(rng, 70, 300, integer_distances=True)
        assert_same(evaluate(*case, ties=ties), *torchreid(*case, max_rank=50))
