"""Identity preservation: does a generated image still show its person? (no external weights)

A Re-ID model trained on the real training split only (``reid-bench train-reid``) embeds the
images. Two measures:

1. **Retrieval** (``identity-rank1``, ``identity-mAP``, percentages): each generated image is a
   query, labelled with its pair's person id and the *source* image's camera, ranked by
   Euclidean distance against the real gallery of the test identities (``bounding_box_test/``,
   distractors kept, junk dropped) under the Market-1501 rules of
   :func:`reid_bench.evaluation.evaluate` (gallery images of the query's person and camera are
   removed, so the source image itself never counts as the match).
2. **Feature cosine to the target** (``identity-cosine``): the mean cosine similarity between
   each generated image's feature and its real target image's (the same person in the target
   pose), and, as its reference point, ``identity-cosine-source``: the same between the real
   source and the real target.

Copying the source image scores well on the first measure alone: a copy is a real photo of the
right person, so it retrieves that person's other-camera images about as well as a real query
does. The second tells the two apart: a copy of the source scores exactly
``identity-cosine-source``, a copy of the target scores 1, and a generator that really moved the
person into the target pose should land above the source's score. Neither measure checks the
pose itself (LPIPS and SSIM against the target do).

Rank-1 per query is recomputed here (nearest kept gallery image, ties to the lower gallery index
as the evaluator's default) so that it can be bootstrapped; its mean equals the evaluator's rank-1.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from reid_bench import evaluation, rankers
from reid_bench.errors import ReidBenchError
from reid_bench.reid import extract_features, load_checkpoint

PathFeatures = Callable[[Sequence[Path]], np.ndarray]  # image files -> (N, D) features
_CHUNK_ROWS = 1024


@dataclass(frozen=True)
class IdentityScores:
    rank1: float  # fraction of valid queries, from the evaluator
    mAP: float
    rank1_hits: np.ndarray  # (Q,) 1.0 where a valid query's nearest kept gallery image is its person
    average_precision: np.ndarray  # (Q,) per valid query, as the evaluator computes it
    cosine: np.ndarray  # (N,) generated vs real target, per pair
    source_cosine: np.ndarray  # (N,) real source vs real target, per pair


def _unit(features: np.ndarray) -> np.ndarray:
    features = np.asarray(features, dtype=np.float64)
    return features / np.maximum(np.linalg.norm(features, axis=1, keepdims=True), 1e-12)


def rowwise_cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(N,) cosine similarity between row i of ``a`` and row i of ``b``."""
    return np.sum(_unit(a) * _unit(b), axis=1)


def rank1_hits(distances: np.ndarray, q_pids: np.ndarray, g_pids: np.ndarray,
               q_camids: np.ndarray, g_camids: np.ndarray) -> np.ndarray:
    """(Q,) whether each query's nearest kept gallery image (Market rules) shows its person."""
    hits = np.zeros(len(q_pids), dtype=np.float64)
    for start in range(0, len(q_pids), _CHUNK_ROWS):
        rows = slice(start, start + _CHUNK_ROWS)
        removed = (g_pids[None] == -1) | ((g_pids[None] == q_pids[rows, None])
                                          & (g_camids[None] == q_camids[rows, None]))
        nearest = np.argmin(np.where(removed, np.inf, distances[rows]), axis=1)
        hits[rows] = g_pids[nearest] == q_pids[rows]
    return hits


def identity_scores(generated: np.ndarray, targets: np.ndarray, sources: np.ndarray,
                    q_pids: np.ndarray, q_camids: np.ndarray,
                    gallery: np.ndarray, g_pids: np.ndarray, g_camids: np.ndarray) -> IdentityScores:
    """Both measures from features: generated, target and source (N, D), one row per pair;
    gallery (G, D). ``q_pids``/``q_camids`` are each pair's person and source camera."""
    q_pids, q_camids = np.asarray(q_pids), np.asarray(q_camids)
    g_pids, g_camids = np.asarray(g_pids), np.asarray(g_camids)
    distances = rankers.create("euclidean").distance(generated, gallery)
    result = evaluation.evaluate(distances, q_pids, g_pids, q_camids, g_camids)
    hits = rank1_hits(distances, q_pids, g_pids, q_camids, g_camids)[result.valid_queries]
    return IdentityScores(
        rank1=float(result.rank1), mAP=float(result.mAP), rank1_hits=hits,
        average_precision=np.asarray(result.per_query_ap, dtype=np.float64),
        cosine=rowwise_cosine(generated, targets), source_cosine=rowwise_cosine(sources, targets),
    )


def reid_features(checkpoint: str | os.PathLike, device: str | None = None) -> tuple[PathFeatures, str]:
    """The features of a ``reid-bench train-reid`` checkpoint, and a description for the rows."""

    trained = load_checkpoint(checkpoint, device)
    if not trained.finished:
        raise ReidBenchError(f"{checkpoint} holds a partial Re-ID model ({trained.partial_note()}: its training did "
                             "not finish); rerun the same train-reid command to finish it before measuring identity "
                             "with it.")

    def features(paths: Sequence[Path]) -> np.ndarray:
        return extract_features(trained.model, [(path, 0, 0) for path in paths], trained.settings,
                                device=next(trained.model.parameters()).device)

    start = "ImageNet" if trained.pretrained else "random"
    described = (f"{trained.trainer}/{trained.backbone} ({start} init, {trained.epoch} epochs, "
                 f"config {trained.config_hash}) trained on real training images")
    return features, described
