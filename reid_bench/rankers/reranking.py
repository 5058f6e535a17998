"""k-reciprocal re-ranking (Zhong, Zheng, Cao and Li, "Re-ranking Person Re-identification with
k-reciprocal Encoding", CVPR 2017), as torchreid's ``re_ranking`` computes it.

With ``N = nq + ng`` probes-and-gallery items and ``d`` the squared distances, each row divided by
its maximum (torchreid's normalisation):

* ``R(p, k)``: the k-reciprocal neighbours of ``p`` among its ``k1 + 1`` nearest (Eq. 4);
* ``R*(p, k1)``: ``R(p, k1)`` plus ``R(q, round(k1/2))`` of every ``q`` in it that shares more than
  2/3 of its members with ``R(p, k1)`` (Eq. 6);
* ``V_p``: weights ``exp(-d(p, g))`` on ``R*``, normalised to sum 1 (Eq. 7-8); local query
  expansion averages ``V`` over the ``k2`` nearest (Eq. 11);
* Jaccard distance ``d_J = 1 - sum min(V_p, V_g) / sum max(V_p, V_g)``, computed as torchreid does
  as ``1 - m / (2 - m)`` with ``m = sum min`` (Eq. 10);
* final ``d* = (1 - lambda) d_J + lambda d`` (Eq. 12).

The given distances are squared first, as torchreid does (the original code squared Euclidean
distances of features; torchreid's own distance matrices are already squared Euclidean, so in
practice it works on their squares) — so any non-negative distance works, only its scale changes
the weights ``exp(-d)``.

Same numbers as torchreid, different machinery: only the ``k1 + 1`` nearest neighbours of each row
are found (``torch.topk`` on row chunks, never a full argsort), the reciprocal tests and the
expansion are vectorised over rows, ``V`` is a sparse float32 matrix, query expansion is a sparse
product, and ``sum min(V_p, V_g)`` is accumulated over the non-zeros that ``V_p`` and ``V_g`` share
(a sparse join) instead of a Python loop.  The ``N x N`` matrix is never held: it is rebuilt in row
chunks from the three input blocks.  Only ties at the k-th neighbour can make the two differ (the
order among exactly equal distances is the sort's choice in both), and a row of zero distances (an
item with every other at its own point): torchreid divides it by its maximum, 0, into NaN, here it
stays zeros.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy import sparse

from reid_bench.errors import ReidBenchError
from reid_bench.rankers.base import Ranker, describe_nonfinite

RERANK_SUFFIX = "+rerank"
_CHUNK_BYTES = 1 << 25
_JOIN_ITEMS = 1 << 22
_JOIN_ROWS = 256


def rerank(
    q_g: np.ndarray,
    q_q: np.ndarray,
    g_g: np.ndarray,
    k1: int = 20,
    k2: int = 6,
    lambda_value: float = 0.3,
) -> np.ndarray:
    """Re-ranked query x gallery distances (float32) from the q-g, q-q and g-g distance matrices."""
    blocks = _Blocks(q_g, q_q, g_g)
    n = blocks.n
    if int(k1) < 1 or int(k2) < 1:
        raise ReidBenchError(f"re-ranking needs k1 >= 1 and k2 >= 1, got k1={k1}, k2={k2}")
    k = min(int(k1) + 1, n)
    k_half = min(int(np.around(k1 / 2.0)) + 1, n)
    kq = min(int(k2), n)

    nearest = np.empty((n, max(k, kq)), dtype=np.int64)
    for rows, dist in blocks.chunks():
        found = torch.topk(torch.from_numpy(dist), nearest.shape[1], dim=1, largest=False, sorted=True)
        nearest[rows] = found.indices.numpy()

    recip = _reciprocal(nearest[:, :k], k)
    recip_half = _reciprocal(nearest[:, :k_half], k_half)
    members = np.where(recip, nearest[:, :k], -1)  # R(p, k1), padded with -1
    members_half = np.where(recip_half, nearest[:, :k_half], -1)
    size_half = recip_half.sum(axis=1)

    final = np.empty((blocks.nq, blocks.ng), dtype=np.float32)
    v_rows, v_cols, v_vals = [], [], []
    for rows, dist in blocks.chunks():
        expansion = _expand(members[rows], members_half, size_half)
        r, c = np.nonzero(expansion >= 0)
        cols = expansion[r, c]
        weight = np.exp(-dist[r, cols])
        total = np.bincount(r, weights=weight, minlength=len(dist)).astype(np.float32)
        v_rows.append(r + rows.start)
        v_cols.append(cols)
        v_vals.append((weight / total[r]).astype(np.float32))
        q_part = slice(rows.start, min(rows.stop, blocks.nq))
        if q_part.start < q_part.stop:
            final[q_part] = dist[: q_part.stop - q_part.start, blocks.nq :] * np.float32(lambda_value)
    v = sparse.csr_matrix(
        (np.concatenate(v_vals), (np.concatenate(v_rows), np.concatenate(v_cols))), shape=(n, n), dtype=np.float32
    )
    if k2 != 1:
        expand = sparse.csr_matrix(
            (np.ones(n * kq, dtype=np.float32), nearest[:, :kq].ravel(), np.arange(0, n * kq + 1, kq)), shape=(n, n)
        )
        v = (expand @ v).tocsr()
        v.data /= np.float32(kq)
    _add_jaccard(final, v, blocks.nq, np.float32(1 - lambda_value))
    return final


class _Blocks:
    """Rows of torchreid's ``original_dist``: the (q+g) x (q+g) squared distances, transposed, each
    row divided by its maximum (float32), rebuilt chunk by chunk from the three input blocks."""

    def __init__(self, q_g, q_q, g_g):
        self.q_g, self.q_q, self.g_g = (np.asarray(a) for a in (q_g, q_q, g_g))
        self.nq, self.ng = self.q_g.shape if self.q_g.ndim == 2 else (0, 0)
        if self.q_g.ndim != 2 or self.nq == 0 or self.ng == 0:
            raise ReidBenchError("re-ranking needs a non-empty query x gallery distance matrix, "
                                 f"got shape {self.q_g.shape}")
        if self.q_q.shape != (self.nq, self.nq) or self.g_g.shape != (self.ng, self.ng):
            raise ReidBenchError(
                f"re-ranking got q-g {self.q_g.shape}, q-q {self.q_q.shape} and g-g {self.g_g.shape} distances; "
                f"they must be ({self.nq}, {self.ng}), ({self.nq}, {self.nq}) and ({self.ng}, {self.ng})"
            )
        for name, block in (("q-g", self.q_g), ("q-q", self.q_q), ("g-g", self.g_g)):
            problem = describe_nonfinite(block, f"the {name} distance matrix", verb="contains")
            if problem:
                raise ReidBenchError(problem + "; check the ranker's input features")
        self.n = self.nq + self.ng
        self.dtype = np.result_type(self.q_g, self.q_q, self.g_g)
        self.rows = max(1, _CHUNK_BYTES // (self.n * 4))

    def chunks(self):
        for start in range(0, self.n, self.rows):
            stop = min(start + self.rows, self.n)
            parts = []
            if start < self.nq:
                top = slice(start, min(stop, self.nq))
                parts.append(np.concatenate([self.q_q[:, top].T, self.q_g[top]], axis=1))
            if stop > self.nq:
                bottom = slice(max(start, self.nq) - self.nq, stop - self.nq)
                parts.append(np.concatenate([self.q_g[:, bottom].T, self.g_g[:, bottom].T], axis=1))
            dist = np.concatenate(parts).astype(self.dtype, copy=False)
            dist = np.power(dist, 2).astype(np.float32)
            peak = dist.max(axis=1, keepdims=True)
            np.divide(dist, peak, out=dist, where=peak > 0)  # a row of zeros stays zeros
            yield slice(start, stop), dist


def _reciprocal(nearest: np.ndarray, k: int) -> np.ndarray:
    """mask[p, t]: p is among the k nearest of its own t-th nearest neighbour."""
    own = np.arange(len(nearest))[:, None]
    mask = np.zeros(nearest.shape, dtype=bool)
    for s in range(0, len(nearest), 4096):
        back = nearest[nearest[s : s + 4096]][:, :, :k]
        mask[s : s + 4096] = (back == own[s : s + 4096, :, None]).any(axis=2)
    return mask


def _expand(members: np.ndarray, members_half: np.ndarray, size_half: np.ndarray) -> np.ndarray:
    """R*(p): padded (-1) unique indices of each row's k-reciprocal set after expansion (Eq. 6)."""
    cand = members  # (B, k); each candidate q in R(p) brings R(q, k1/2)
    half = np.where(cand[:, :, None] >= 0, members_half[cand], -1)  # (B, k, kh)
    inside = ((half[:, :, :, None] == members[:, None, None, :]) & (half[:, :, :, None] >= 0)).any(axis=3)
    size = np.where(cand >= 0, size_half[cand], 0)
    take = inside.sum(axis=2) > 2.0 / 3 * size
    half = np.where(take[:, :, None], half, -1)
    pool = np.sort(np.concatenate([members, half.reshape(len(members), -1)], axis=1), axis=1)
    pool[:, 1:][pool[:, 1:] == pool[:, :-1]] = -1
    return pool


def _add_jaccard(final: np.ndarray, v: sparse.csr_matrix, nq: int, scale: np.float32) -> None:
    """final += scale * (1 - m / (2 - m)), m[p, g] = sum_j min(V[p, j], V[nq + g, j])."""
    ng = final.shape[1]
    gallery = v[nq:].tocsc()
    col_start, col_len = gallery.indptr[:-1], np.diff(gallery.indptr)
    row_items = np.diff(v.indptr[: nq + 1])
    done = np.r_[0, np.cumsum(col_len[v.indices[: v.indptr[nq]]])][v.indptr[: nq + 1]]  # join size up to row
    start = 0
    while start < nq:
        stop = int(np.searchsorted(done, done[start] + _JOIN_ITEMS, side="right")) - 1
        stop = min(max(stop, start + 1), start + _JOIN_ROWS, nq)
        lo, hi = v.indptr[start], v.indptr[stop]
        q_row = np.repeat(np.arange(stop - start), row_items[start:stop])
        cols, vals = v.indices[lo:hi], v.data[lo:hi]
        lens = col_len[cols]
        first = np.repeat(col_start[cols] - np.cumsum(np.r_[0, lens[:-1]]), lens) + np.arange(lens.sum())
        joined = np.minimum(np.repeat(vals, lens), gallery.data[first])
        target = np.repeat(q_row, lens) * ng + gallery.indices[first]
        m = np.bincount(target, weights=joined, minlength=(stop - start) * ng).astype(np.float32).reshape(-1, ng)
        jaccard = 1 - m / (2 - m)
        final[start:stop] += jaccard * scale
        start = stop


class Reranked(Ranker):
    """Any ranker followed by k-reciprocal re-ranking, with its q-q and g-g distances."""

    def __init__(self, ranker: Ranker, k1: int = 20, k2: int = 6, lambda_value: float = 0.3):
        self.ranker = ranker
        self.k1, self.k2, self.lambda_value = k1, k2, lambda_value
        self.name = ranker.name + RERANK_SUFFIX
        self.learns = ranker.learns

    def __repr__(self) -> str:
        return f"Reranked({self.ranker!r}, k1={self.k1}, k2={self.k2}, lambda_value={self.lambda_value})"

    def fit(self, features: np.ndarray, pids: np.ndarray, camids: np.ndarray) -> "Reranked":
        self.ranker.fit(features, pids, camids)
        return self

    def distance(self, query: np.ndarray, gallery: np.ndarray) -> np.ndarray:
        d = self.ranker.distance
        return rerank(d(query, gallery), d(query, query), d(gallery, gallery), self.k1, self.k2, self.lambda_value)
