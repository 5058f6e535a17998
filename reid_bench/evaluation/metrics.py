"""Re-ID evaluation under the Market-1501 protocol: CMC, mAP and mINP from a distance matrix.

Protocol (Zheng et al., "Scalable Person Re-identification: A Benchmark", ICCV 2015, Sec. 3-4, and
torchreid's ``eval_market1501``): for each query, gallery items with the query's pid *and* camera
are removed, gallery items with pid ``-1`` are junk and removed too (as the official Market-1501
MATLAB code does), and a query with no remaining true match is left out.  Pid ``0`` (distractors)
is an ordinary non-matching identity.  Among the kept gallery items, sorted by distance, a query
whose true matches sit at 1-based positions ``r_1 < ... < r_n`` gets

* CMC: ``cmc[k] = 1`` if ``r_1 <= k + 1``, averaged over valid queries;
* AP ``"standard"`` (torchreid, information-retrieval AP): ``(1/n) sum_i i / r_i``;
* AP ``"matlab"``: the trapezoidal AP of the official Market-1501 evaluation, ``compute_AP.m`` of
  zhunzhong07/IDE-baseline-Market-1501 (``market_evaluation/utils/compute_AP.m``): it walks the
  ranked list skipping junk, and at each true match adds ``(recall - old_recall) *
  (old_precision + precision) / 2`` with ``old_precision = 1`` before the first item, i.e.
  ``(1/n) sum_i ((i-1)/(r_i-1) + i/r_i) / 2`` with ``(i-1)/(r_i-1) := 1`` when ``r_i = 1``;
* INP (Ye et al., "Deep Learning for Person Re-identification: A Survey and Outlook", TPAMI 2021,
  Eq. 1): ``n / r_n``; mINP is its mean over valid queries.

Differences from torchreid 0.2.5 ``evaluate_rank(..., use_cython=False)``:

* torchreid's evaluator keeps gallery pid ``-1`` as an ordinary non-match (its dataset loaders drop
  junk images before evaluation).  Here they are removed, so our result equals torchreid's on the
  distance matrix without the ``-1`` columns.
* torchreid shortens the CMC to the gallery size when ``num_gallery < max_rank``; here ``cmc`` always
  has ``max_rank`` entries (ranks past the last kept item are 1, as every valid query has a match).
* torchreid 0.2.5 returns no mINP.
* Ties.  torchreid orders each row with ``np.argsort`` (an unstable quicksort), so the position of
  a true match among gallery items at *exactly* the same distance depends on the sort's internals.
  ``ties="index"`` (default) resolves ties by gallery index (lower index first, the order of a
  stable sort); ``ties="argsort"`` reproduces ``np.argsort(distmat, axis=1)``'s order on the matrix
  as given, and so torchreid's numbers exactly when it has no junk columns (with junk columns
  torchreid sorts a narrower matrix, whose quicksort may order ties differently).  With distinct
  distances all of these agree.

Speed: the ``"index"`` path never sorts indices.  Per chunk of queries it sorts the distance
*values* (``np.sort``, vectorised, far cheaper than ``argsort``), finds each true match's position
by binary search of its distance in the sorted row, and subtracts the removed same-camera items
below it; rows where a true match's distance occurs more than once fall back to a stable argsort.
Memory is bounded by the chunk (about 4 MB of distances at a time).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reid_bench.errors import ReidBenchError
from reid_bench.rankers.base import describe_nonfinite

__all__ = ["EvaluationResult", "evaluate"]

_CHUNK_BYTES = 1 << 22


@dataclass(frozen=True)
class EvaluationResult:
    """Ranking quality over the valid queries; every figure is a fraction in [0, 1].

    ``cmc[k]`` is the fraction of valid queries with a true match within the top ``k + 1``;
    ``rank1``/``rank5``/``rank10`` are exact whatever ``max_rank`` was.  ``per_query_ap[i]`` belongs
    to query ``valid_queries[i]`` (an index into the query set).
    """

    cmc: np.ndarray
    rank1: float
    rank5: float
    rank10: float
    mAP: float
    mINP: float
    per_query_ap: np.ndarray
    valid_queries: np.ndarray
    num_valid: int


def evaluate(
    distmat: np.ndarray,
    q_pids: np.ndarray,
    g_pids: np.ndarray,
    q_camids: np.ndarray,
    g_camids: np.ndarray,
    max_rank: int = 50,
    ap: str = "standard",
    ties: str = "index",
) -> EvaluationResult:
    """Evaluate a query x gallery distance matrix (smaller = closer) under the Market-1501 rules.

    ``ap`` is ``"standard"`` or ``"matlab"`` (see the module docstring); ``ties`` is ``"index"`` or
    ``"argsort"``.  Raises :class:`ReidBenchError` on malformed input or when no query has a true
    match left after the same-camera removal.
    """
    if ap not in ("standard", "matlab"):
        raise ReidBenchError(f"unknown AP mode {ap!r}; use 'standard' or 'matlab'")
    if ties not in ("index", "argsort"):
        raise ReidBenchError(f"unknown tie rule {ties!r}; use 'index' or 'argsort'")
    if int(max_rank) < 1:
        raise ReidBenchError(f"max_rank must be at least 1, got {max_rank}")
    distmat, q_pids, g_pids, q_camids, g_camids = _check_inputs(
        distmat, q_pids, g_pids, q_camids, g_camids
    )

    keep_cols = np.flatnonzero(g_pids != -1)
    if len(keep_cols) == 0:
        raise ReidBenchError("every gallery image has pid -1 (junk), so no query can be evaluated; "
                             "check the gallery labels")
    same_pid = _SamePid(g_pids[keep_cols], g_camids[keep_cols])
    rows_per_chunk = max(1, _CHUNK_BYTES // (distmat.shape[1] * distmat.itemsize))
    query_ids, ranks = [], []
    for start in range(0, distmat.shape[0], rows_per_chunk):
        rows = slice(start, start + rows_per_chunk)
        if ties == "argsort":
            q, r = _ranks_argsort(distmat[rows], q_pids[rows], q_camids[rows], g_pids, g_camids)
        else:
            block = distmat[rows] if len(keep_cols) == len(g_pids) else np.take(distmat[rows], keep_cols, axis=1)
            q, r = _ranks_index(block, q_pids[rows], q_camids[rows], same_pid)
        query_ids.append(q + start)
        ranks.append(r)
    query_ids = np.concatenate(query_ids)
    ranks = np.concatenate(ranks)
    if len(query_ids) == 0:
        raise ReidBenchError(_no_valid_query_reason(q_pids, g_pids, q_camids, g_camids))
    return _summarise(query_ids, ranks, int(max_rank), ap)


def _check_inputs(distmat, q_pids, g_pids, q_camids, g_camids):
    distmat = np.asarray(distmat)
    q_pids, g_pids = np.asarray(q_pids).ravel(), np.asarray(g_pids).ravel()
    q_camids, g_camids = np.asarray(q_camids).ravel(), np.asarray(g_camids).ravel()
    if distmat.ndim != 2:
        raise ReidBenchError(f"the distance matrix must be 2-D (query x gallery), got shape {distmat.shape}")
    if distmat.shape[0] == 0 or distmat.shape[1] == 0:
        side = "query" if distmat.shape[0] == 0 else "gallery"
        raise ReidBenchError(f"the {side} set is empty (distance matrix shape {distmat.shape}); nothing to evaluate")
    if len(q_pids) != len(q_camids) or len(g_pids) != len(g_camids):
        raise ReidBenchError(
            f"pids and camids differ in length ({len(q_pids)} query pids vs {len(q_camids)} query camids, "
            f"{len(g_pids)} gallery pids vs {len(g_camids)} gallery camids)"
        )
    if distmat.shape != (len(q_pids), len(g_pids)):
        raise ReidBenchError(
            f"the distance matrix has shape {distmat.shape} but there are {len(q_pids)} query and "
            f"{len(g_pids)} gallery labels; it must be (num_query, num_gallery)"
        )
    if not np.issubdtype(distmat.dtype, np.floating):
        distmat = distmat.astype(np.float64)
    problem = describe_nonfinite(distmat, "the distance matrix", allow_inf=True, verb="contains")
    if problem:
        raise ReidBenchError(problem + "; check the ranker's input features")
    return np.ascontiguousarray(distmat), q_pids, g_pids, q_camids, g_camids


def _no_valid_query_reason(q_pids, g_pids, q_camids, g_camids) -> str:
    cams = np.union1d(q_camids, g_camids)
    if len(cams) == 1:
        return (
            f"all query and gallery images have camera id {cams[0].item()!r}, so the Market-1501 rule (drop "
            "gallery images of the query's person taken by the query's camera) discards every true "
            "match; pass the real camera ids (a common pitfall when camids are not parsed)"
        )
    if np.isin(q_pids[q_pids != -1], g_pids).any():
        return (
            "every true match was taken by the same camera as its query, so the Market-1501 rule "
            "discards them all; check that the camera ids are right"
        )
    return "no query identity appears in the gallery, so no query can be evaluated; check the pids"


class _SamePid:
    """Gallery indices grouped by pid, to list each query's same-pid items without a full scan."""

    def __init__(self, g_pids: np.ndarray, g_camids: np.ndarray):
        self.order = np.argsort(g_pids, kind="stable")
        self.sorted_pids = g_pids[self.order]
        self.g_camids = g_camids

    def lookup(self, q_pids, q_camids):
        """Padded (B, M) gallery indices of same-pid items, with masks for true match / removed."""
        lo = np.searchsorted(self.sorted_pids, q_pids, side="left")
        count = np.searchsorted(self.sorted_pids, q_pids, side="right") - lo
        width = max(1, int(count.max(initial=0)))
        slot = np.arange(width)
        present = slot < count[:, None]
        idx = self.order[np.where(present, lo[:, None] + slot, 0).clip(max=len(self.order) - 1)]
        same_cam = self.g_camids[idx] == q_camids[:, None]
        return idx, present & ~same_cam, present & same_cam


def _ranks_index(block, q_pids, q_camids, same_pid):
    """0-based positions of the true matches among kept items, ties broken by gallery index.

    Returns flat ``(query, rank)`` arrays, ranks ascending within each query.
    """
    idx, good, removed = same_pid.lookup(q_pids, q_camids)
    vals = np.take_along_axis(block, idx, axis=1)
    inf = np.array(np.inf, dtype=block.dtype)
    good_d = np.sort(np.where(good, vals, inf), axis=1)
    removed_d = np.where(removed, vals, inf)
    n_good = good.sum(axis=1)
    slot_ok = np.arange(good_d.shape[1]) < n_good[:, None]

    sorted_rows = np.sort(block, axis=1)
    below = np.empty(good_d.shape, dtype=np.int64)
    upto = np.empty_like(below)
    for i, (row, needles) in enumerate(zip(sorted_rows, good_d)):
        below[i] = np.searchsorted(row, needles, side="left")
        upto[i] = np.searchsorted(row, needles, side="right")
    # position among kept = (# all items below) - (# removed items below); goods below = own slot
    removed_below = (removed_d[:, None, :] < good_d[:, :, None]).sum(axis=2)
    ranks = below - removed_below

    tied = ((upto - below > 1) & slot_ok).any(axis=1)
    if tied.any():
        t_rows = np.flatnonzero(tied)
        t_good = np.zeros((len(t_rows), block.shape[1]), dtype=bool)
        t_kept = np.ones_like(t_good)
        r, c = np.nonzero(good[t_rows])
        t_good[r, idx[t_rows][r, c]] = True
        r, c = np.nonzero(removed[t_rows])
        t_kept[r, idx[t_rows][r, c]] = False
        tq, tr = _ranks_by_sort(block[t_rows], t_good, t_kept, "stable")
        slot_ok = slot_ok & ~tied[:, None]
    q = np.broadcast_to(np.arange(len(block))[:, None], ranks.shape)[slot_ok]
    r = ranks[slot_ok]
    if tied.any():
        q, r = np.concatenate([q, t_rows[tq]]), np.concatenate([r, tr])
        order = np.lexsort((r, q))
        q, r = q[order], r[order]
    return q, r


def _ranks_argsort(block, q_pids, q_camids, g_pids, g_camids):
    """Like :func:`_ranks_index` but in ``np.argsort(distmat, axis=1)``'s order (torchreid's)."""
    same = g_pids[None, :] == q_pids[:, None]
    same_cam = g_camids[None, :] == q_camids[:, None]
    junk = g_pids[None, :] == -1
    good = same & ~same_cam & ~junk
    kept = ~(same & same_cam) & ~junk
    return _ranks_by_sort(block, good, kept, "quicksort")


def _ranks_by_sort(block, good, kept, kind):
    order = np.argsort(block, axis=1, kind=kind)
    good_sorted = np.take_along_axis(good, order, axis=1)
    position = np.cumsum(np.take_along_axis(kept, order, axis=1), axis=1) - 1
    q, col = np.nonzero(good_sorted)
    return q, position[q, col]


def _summarise(query_ids, ranks, max_rank, ap_mode) -> EvaluationResult:
    valid, start, n_good = np.unique(query_ids, return_index=True, return_counts=True)
    k = np.arange(len(ranks)) - np.repeat(start, n_good)  # 0-based index of the match in its query
    precision = (k + 1) / (ranks + 1.0)
    if ap_mode == "matlab":
        before = np.where(ranks > 0, k / np.maximum(ranks, 1), 1.0)
        precision = (before + precision) / 2.0
    ap = np.add.reduceat(precision, start) / n_good
    first = ranks[start]
    last = ranks[start + n_good - 1]
    cmc = np.cumsum(np.bincount(np.minimum(first, max_rank), minlength=max_rank + 1)[:max_rank]) / len(valid)
    return EvaluationResult(
        cmc=cmc,
        rank1=float(np.mean(first < 1)),
        rank5=float(np.mean(first < 5)),
        rank10=float(np.mean(first < 10)),
        mAP=float(ap.mean()),
        mINP=float(np.mean(n_good / (last + 1.0))),
        per_query_ap=ap,
        valid_queries=valid,
        num_valid=len(valid),
    )
