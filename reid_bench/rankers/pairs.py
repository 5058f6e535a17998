"""Training pairs for XQDA and KISSME, and their difference scatter matrices in closed form.

Both metrics need ``sum (x_a - x_b)(x_a - x_b)'`` over sets of same-identity ("intra", "positive")
and different-identity ("extra", "negative") pairs.  Enumerating the pairs is quadratic in the
images per identity; the sums have closed forms in per-group sums instead.  For the unordered
pairs inside a group ``G`` with ``n`` members and sum ``s``:
``sum_{a<b in G} (x_a - x_b)(x_a - x_b)' = n sum_{i in G} x_i x_i' - s s'``, so summing over groups is
``X' diag(n_group(i)) X - S' S`` with ``S`` the group sums.  XQDA.m (Liao et al., CVPR 2015, the
authors' code) does the same for ordered (gallery, probe) pairs of two views.

Pair sets, as in Zheng et al.'s Market-1501 baseline code (IDE-baseline-Market-1501 /
Market-1501_baseline, MATLAB):

* :func:`zheng_split` — ``gen_train_sample_xqda.m``: each identity's images are shuffled, split
  into two halves of ``floor(n/2)`` (an odd one out is dropped), paired index by index, and a pair
  is kept only if its two images come from different cameras; the kept halves are XQDA's two views.
* KISSME positives — every same-identity pair from different cameras
  (:func:`cross_camera_scatter`); negatives — random pairs of different identities *and* different
  cameras, as many as positives (:func:`sample_negative_pairs`; the baseline draws 150,000 random
  pairs and keeps the first valid ones, here the draw repeats until there are enough).
"""

from __future__ import annotations

import numpy as np
from scipy import sparse

_CHUNK_ROWS = 1 << 16


def zheng_split(pids: np.ndarray, camids: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Index arrays ``(view_a, view_b)`` of equal length: cross-camera same-identity image pairs."""
    order = np.lexsort((rng.random(len(pids)), pids))  # shuffled within each identity
    sorted_pids = pids[order]
    starts = np.flatnonzero(np.r_[True, sorted_pids[1:] != sorted_pids[:-1]])
    counts = np.diff(np.r_[starts, len(pids)])
    half = counts // 2
    within = np.arange(len(pids)) - np.repeat(starts, counts)
    first = within < np.repeat(half, counts)
    second = (within >= np.repeat(half, counts)) & (within < np.repeat(2 * half, counts))
    a, b = order[first], order[second]
    cross = camids[a] != camids[b]
    return a[cross], b[cross]


def _group_sums(x: np.ndarray, groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-group sums (G, d) and sizes (G,) for integer group labels 0..G-1."""
    onehot = sparse.csr_matrix((np.ones(len(groups)), (groups, np.arange(len(groups)))),
                               shape=(groups.max() + 1, len(groups)))
    return np.asarray(onehot @ x), np.bincount(groups)


def _n_pairs(sizes: np.ndarray) -> int:
    return int((sizes * (sizes - 1) // 2).sum())


def _weighted_gram(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``X' diag(w) X`` for ``w >= 0``, as ``Y' Y`` with ``Y = diag(sqrt(w)) X`` (BLAS syrk: half the work)."""
    y = x * np.sqrt(w)[:, None]
    return y.T @ y


def cross_camera_scatter(x: np.ndarray, pids: np.ndarray,
                         camids: np.ndarray) -> tuple[np.ndarray, int, np.ndarray, int]:
    """Difference scatter over unordered pairs: (intra sum, #intra, extra sum, #extra).

    Intra pairs: same pid, different camera.  Extra pairs: different pid (any camera).
    """
    _, pid = np.unique(pids, return_inverse=True)
    _, cam = np.unique(camids, return_inverse=True)
    _, pid_cam = np.unique(pid * (cam.max() + 1) + cam, return_inverse=True)
    s_p, n_p = _group_sums(x, pid)
    s_pc, n_pc = _group_sums(x, pid_cam)
    total = x.sum(axis=0)
    n = len(x)
    intra = _weighted_gram(x, (n_p[pid] - n_pc[pid_cam]).astype(float)) - s_p.T @ s_p + s_pc.T @ s_pc
    extra = _weighted_gram(x, (n - n_p[pid]).astype(float)) - np.outer(total, total) + s_p.T @ s_p
    n_intra = _n_pairs(n_p) - _n_pairs(n_pc)
    n_extra = n * (n - 1) // 2 - _n_pairs(n_p)
    return intra, n_intra, extra, n_extra


def two_view_scatter(
    xa: np.ndarray, la: np.ndarray, xb: np.ndarray, lb: np.ndarray
) -> tuple[np.ndarray, int, np.ndarray, int]:
    """XQDA.m's closed form over ordered (view a, view b) pairs: (intra sum, #intra, extra sum, #extra)."""
    labels, inverse = np.unique(np.r_[la, lb], return_inverse=True)
    ia, ib = inverse[: len(la)], inverse[len(la) :]
    g = np.zeros((len(labels), xa.shape[1]))
    p = np.zeros_like(g)
    np.add.at(g, ia, xa)
    np.add.at(p, ib, xb)
    n_a, n_b = np.bincount(ia, minlength=len(labels)), np.bincount(ib, minlength=len(labels))
    intra = _weighted_gram(xa, n_b[ia].astype(float)) + _weighted_gram(xb, n_a[ib].astype(float)) - g.T @ p - p.T @ g
    sa, sb = xa.sum(axis=0), xb.sum(axis=0)
    every = len(xb) * (xa.T @ xa) + len(xa) * (xb.T @ xb) - np.outer(sa, sb) - np.outer(sb, sa)
    n_intra = int((n_a * n_b).sum())
    return intra, n_intra, every - intra, len(xa) * len(xb) - n_intra


def sample_negative_pairs(
    pids: np.ndarray, camids: np.ndarray, count: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """``count`` random index pairs of different identities and different cameras."""
    a_parts, b_parts, found = [], [], 0
    while found < count:
        draw = max(1024, 2 * (count - found))
        a, b = rng.integers(0, len(pids), size=(2, draw))
        ok = (pids[a] != pids[b]) & (camids[a] != camids[b])
        a_parts.append(a[ok])
        b_parts.append(b[ok])
        found += int(ok.sum())
    return np.concatenate(a_parts)[:count], np.concatenate(b_parts)[:count]


def pair_scatter(x: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``sum_i (x[a_i] - x[b_i])(x[a_i] - x[b_i])'``, in chunks of pairs."""
    out = np.zeros((x.shape[1], x.shape[1]))
    for s in range(0, len(a), _CHUNK_ROWS):
        diff = x[a[s : s + _CHUNK_ROWS]] - x[b[s : s + _CHUNK_ROWS]]
        out += diff.T @ diff
    return out
