"""Identity preservation on hand-made features: true pairs rank above shuffled ones."""

from __future__ import annotations

import numpy as np
import pytest

from reid_bench import evaluation
from reid_bench.quality.identity import identity_scores, rank1_hits, rowwise_cosine

PEOPLE, PER_PERSON, DIM = 12, 4, 32


def _world(seed: int = 0):
    """Per-person feature centres; a gallery of 4 images per person over 2 cameras; one real
    source and one real target image per person, each seen by another camera than the other."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(PEOPLE, DIM))
    pids = np.arange(1, PEOPLE + 1)

    def images(count: int) -> np.ndarray:
        return np.repeat(centres, count, axis=0) + 0.6 * rng.normal(size=(PEOPLE * count, DIM))

    gallery = images(PER_PERSON)
    g_pids = np.repeat(pids, PER_PERSON)
    g_camids = np.tile([0, 1, 0, 1], PEOPLE)
    return rng, centres, pids, gallery, g_pids, g_camids, images(1), images(1)


def test_true_pairs_score_above_shuffled_pairs() -> None:
    rng, centres, pids, gallery, g_pids, g_camids, sources, targets = _world()
    faithful = targets + 0.2 * rng.normal(size=targets.shape)  # the person, in the target's look
    shuffled = np.roll(faithful, 1, axis=0)  # someone else
    camids = np.zeros(PEOPLE, dtype=int)
    good = identity_scores(faithful, targets, sources, pids, camids, gallery, g_pids, g_camids)
    bad = identity_scores(shuffled, targets, sources, pids, camids, gallery, g_pids, g_camids)
    assert good.rank1 > 0.8 and bad.rank1 < 0.2
    assert good.mAP > bad.mAP
    assert good.cosine.mean() > 0.9 > bad.cosine.mean()
    assert np.array_equal(good.source_cosine, bad.source_cosine)  # the reference does not depend on the images


def test_copying_the_source_scores_its_own_cosine_and_a_real_query_rank1() -> None:
    _, _, pids, gallery, g_pids, g_camids, sources, targets = _world(1)
    copied = identity_scores(sources, targets, sources, pids, np.zeros(PEOPLE, int), gallery, g_pids, g_camids)
    assert copied.cosine == pytest.approx(copied.source_cosine)
    assert copied.rank1 > 0.8  # a real photo of the person retrieves them: rank-1 alone is fooled
    exact = identity_scores(targets, targets, sources, pids, np.zeros(PEOPLE, int), gallery, g_pids, g_camids)
    assert exact.cosine == pytest.approx(np.ones(PEOPLE))


def test_per_query_hits_agree_with_the_evaluator() -> None:
    rng = np.random.default_rng(2)
    distances = rng.random((40, 60)).astype(np.float32)
    distances[:, 7] = distances[:, 8]  # a tie: the lower gallery index wins, as the evaluator's default
    q_pids, q_camids = rng.integers(1, 6, 40), rng.integers(0, 3, 40)
    g_pids, g_camids = rng.integers(0, 6, 60), rng.integers(0, 3, 60)
    g_pids[:3] = -1  # junk
    result = evaluation.evaluate(distances, q_pids, g_pids, q_camids, g_camids)
    hits = rank1_hits(distances, q_pids, g_pids, q_camids, g_camids)[result.valid_queries]
    assert hits.mean() == pytest.approx(result.rank1)
    assert len(result.per_query_ap) == len(hits)


def test_rowwise_cosine() -> None:
    a = np.array([[1.0, 0.0], [0.0, 2.0], [3.0, 4.0]])
    b = np.array([[2.0, 0.0], [1.0, 0.0], [-3.0, -4.0]])
    assert rowwise_cosine(a, b) == pytest.approx([1.0, 0.0, -1.0])
