"""Rankers: registry, plain distances, XQDA, KISSME, metric-learn adapters, training pairs, bad input."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest
from scipy.linalg import eigh
from scipy.spatial.distance import cdist

from reid_bench.errors import ReidBenchError
from reid_bench.evaluation import evaluate
from reid_bench.rankers import LinearMetricRanker, Reranked, create, names
from reid_bench.rankers.kissme import EIG_FLOOR
from reid_bench.rankers.pairs import cross_camera_scatter, sample_negative_pairs, two_view_scatter, zheng_split


def labelled(rng, n_ids=12, per_id=6, dims=10, n_cams=3, spread=3.0):
    """Features of ``n_ids`` identities (Gaussian clusters), cameras cycling per identity."""
    centres = rng.normal(size=(n_ids, dims)) * spread
    pids = np.repeat(np.arange(n_ids), per_id)
    camids = np.tile(np.arange(per_id) % n_cams, n_ids)
    return centres[pids] + rng.normal(size=(len(pids), dims)), pids, camids


def hidden_identity_case(rng, n_ids, per_id=4, dims=8):
    """Identities differ along one weak direction; a shared nuisance direction varies far more.

    Euclidean distance is dominated by the nuisance (e.g. lighting), so it ranks badly; XQDA learns
    that intra-identity differences are large along the nuisance and suppresses it.
    """
    pids = np.repeat(np.arange(n_ids), per_id)
    camids = np.tile(np.arange(per_id) % 2, n_ids)
    x = rng.normal(size=(len(pids), dims)) * 0.05
    x[:, 0] += rng.normal(size=n_ids)[pids]  # identity signal
    x[:, 1] += rng.normal(size=len(pids)) * 20  # per-image nuisance
    return x, pids, camids


def all_pairs_scatter(x, pids, camids, intra_rule):
    """Explicit enumeration over unordered pairs: (intra sum, count, extra sum, count)."""
    d = x.shape[1]
    s_in, s_ex, n_in, n_ex = np.zeros((d, d)), np.zeros((d, d)), 0, 0
    for a, b in itertools.combinations(range(len(x)), 2):
        diff = np.outer(x[a] - x[b], x[a] - x[b])
        if pids[a] != pids[b]:
            s_ex, n_ex = s_ex + diff, n_ex + 1
        elif intra_rule(a, b):
            s_in, n_in = s_in + diff, n_in + 1
    return s_in, n_in, s_ex, n_ex


# ---------------------------------------------------------------- registry


def test_registry_names_and_create():
    assert names() == ["cosine", "euclidean", "kissme", "lfda", "lmnn", "nca", "rca", "sqeuclidean", "xqda"]
    for name in names():
        ranker = create(name)
        assert ranker.name == name
        assert isinstance(create(name + "+rerank"), Reranked)
    assert create("xqda", dims=3).dims == 3


@pytest.mark.parametrize("name, options, message", [
    ("mahalanobis", {}, "unknown ranker 'mahalanobis'; choose from cosine, euclidean"),
    ("xqda", {"lambda": 1}, "bad options for ranker 'xqda'"),
    ("xqda", {"pairs": "all"}, "unknown XQDA pairs"),
])
def test_registry_errors(name, options, message):
    with pytest.raises(ReidBenchError, match=message):
        create(name, **options)


# ---------------------------------------------------------------- plain distances


@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-9), (np.float32, 2e-3)])
def test_plain_distances_match_scipy(dtype, tol):
    rng = np.random.default_rng(0)
    q, g = (rng.normal(size=(21, 7)) + 5).astype(dtype), (rng.normal(size=(33, 7)) + 5).astype(dtype)
    for name, metric in (("euclidean", "euclidean"), ("sqeuclidean", "sqeuclidean"), ("cosine", "cosine")):
        ranker = create(name).fit(q, np.arange(len(q)), np.zeros(len(q)))
        got = ranker.distance(q, g)
        assert got.dtype == dtype and got.shape == (len(q), len(g))
        np.testing.assert_allclose(got, cdist(q.astype(float), g.astype(float), metric), atol=tol, rtol=tol)
    self_distance = np.diag(create("euclidean").distance(q, q))  # sqrt of the expansion's rounding
    np.testing.assert_allclose(self_distance, 0, atol=1e-6 if dtype == np.float64 else 1e-2)


def test_cosine_rejects_zero_vectors():
    with pytest.raises(ReidBenchError, match=r"gallery features have 1 all-zero rows \(rows 2\)"):
        create("cosine").distance(np.ones((2, 3)), np.eye(3) * [1, 1, 0])


# ---------------------------------------------------------------- training pairs


def test_zheng_split_pairs_same_identity_across_cameras():
    rng = np.random.default_rng(1)
    pids = rng.integers(0, 20, 300)
    camids = rng.integers(0, 4, 300)
    a, b = zheng_split(pids, camids, np.random.default_rng(0))
    assert len(a) == len(b) > 50
    assert (pids[a] == pids[b]).all() and (camids[a] != camids[b]).all()
    assert len(np.unique(np.r_[a, b])) == 2 * len(a)
    for pid in np.unique(pids):  # at most floor(n/2) pairs per identity
        assert (pids[a] == pid).sum() <= (pids == pid).sum() // 2
    again = zheng_split(pids, camids, np.random.default_rng(0))
    assert all((x == y).all() for x, y in zip((a, b), again))


def test_cross_camera_scatter_equals_enumeration():
    rng = np.random.default_rng(2)
    x, pids, camids = rng.normal(size=(40, 3)), rng.integers(0, 6, 40), rng.integers(0, 3, 40)
    expected = all_pairs_scatter(x, pids, camids, lambda a, b: camids[a] != camids[b])
    for got, want in zip(cross_camera_scatter(x, pids, camids), expected):
        np.testing.assert_allclose(got, want, atol=1e-9)


def test_two_view_scatter_equals_enumeration():
    rng = np.random.default_rng(3)
    xa, xb = rng.normal(size=(15, 3)), rng.normal(size=(11, 3))
    la, lb = rng.integers(0, 4, 15), rng.integers(0, 4, 11)
    s_in, s_ex, n_in, n_ex = np.zeros((3, 3)), np.zeros((3, 3)), 0, 0
    for i, j in itertools.product(range(15), range(11)):
        diff = np.outer(xa[i] - xb[j], xa[i] - xb[j])
        if la[i] == lb[j]:
            s_in, n_in = s_in + diff, n_in + 1
        else:
            s_ex, n_ex = s_ex + diff, n_ex + 1
    for got, want in zip(two_view_scatter(xa, la, xb, lb), (s_in, n_in, s_ex, n_ex)):
        np.testing.assert_allclose(got, want, atol=1e-9)


def test_negative_pairs_differ_in_identity_and_camera():
    pids, camids = np.repeat(np.arange(10), 5), np.tile(np.arange(5), 10)
    a, b = sample_negative_pairs(pids, camids, 5000, np.random.default_rng(0))
    assert len(a) == len(b) == 5000
    assert (pids[a] != pids[b]).all() and (camids[a] != camids[b]).all()


# ---------------------------------------------------------------- XQDA


@pytest.mark.parametrize("pairs", ["split", "cross_camera"])
def test_xqda_solves_its_generalised_eigenproblem(pairs):
    rng = np.random.default_rng(4)
    x, pids, camids = labelled(rng, n_ids=15, per_id=8, dims=6)
    model = create("xqda", pairs=pairs).fit(x, pids, camids)
    w, lam = model.W_, model.eigenvalues_
    assert model.basis_ is None and (lam > 1).all() and (np.diff(lam) <= 0).all()
    np.testing.assert_allclose(model.ex_cov_ @ w, model.in_cov_ @ w * lam, atol=1e-9)
    # M = inv(W' S_I W) - inv(W' S_E W), and the distance is (x - z)' W M W' (x - z)
    m = np.linalg.inv(w.T @ model.in_cov_ @ w) - np.linalg.inv(w.T @ model.ex_cov_ @ w)
    np.testing.assert_allclose(model.M_, m, atol=1e-9)
    diff = (x[:5, None, :] - x[None, :9, :]) @ w
    np.testing.assert_allclose(model.distance(x[:5], x[:9]), np.einsum("qgi,ij,qgj->qg", diff, m, diff), atol=1e-8)


def test_xqda_covariances_are_xqda_m_closed_forms():
    rng = np.random.default_rng(5)
    x, pids, camids = labelled(rng, n_ids=6, per_id=5, dims=4)
    model = create("xqda", pairs="cross_camera", regularizer=0.01).fit(x, pids, camids)
    s_in, n_in, s_ex, n_ex = all_pairs_scatter(x, pids, camids, lambda a, b: camids[a] != camids[b])
    np.testing.assert_allclose(model.in_cov_, s_in / n_in + 0.01 * np.eye(4), atol=1e-9)
    np.testing.assert_allclose(model.ex_cov_, s_ex / n_ex, atol=1e-9)


def test_xqda_qr_shortcut_gives_the_full_space_metric():
    """More dimensions than samples: XQDA.m's QR basis gives the same metric as the full space."""
    rng = np.random.default_rng(6)
    x, pids, camids = labelled(rng, n_ids=5, per_id=4, dims=40)
    model = create("xqda", pairs="cross_camera").fit(x, pids, camids)
    assert model.basis_ is not None
    s_in, n_in, s_ex, n_ex = all_pairs_scatter(x, pids, camids, lambda a, b: camids[a] != camids[b])

    lam, v = eigh(s_ex / n_ex, s_in / n_in + 0.001 * np.eye(40))
    v = v[:, lam > 1]
    m = np.linalg.inv(v.T @ (s_in / n_in + 0.001 * np.eye(40)) @ v) - np.linalg.inv(v.T @ (s_ex / n_ex) @ v)
    q, g = rng.normal(size=(3, 40)), rng.normal(size=(7, 40))
    diff = (q[:, None, :] - g[None, :, :]) @ v
    full = np.einsum("qgi,ij,qgj->qg", diff, m, diff)
    np.testing.assert_allclose(model.distance(q, g), full, rtol=1e-6, atol=1e-8)


def test_xqda_finds_identities_hidden_by_nuisance_where_euclidean_fails():
    rng = np.random.default_rng(7)
    train = hidden_identity_case(rng, 60)
    test_x, test_pids, test_cams = hidden_identity_case(rng, 40, per_id=2)
    query, gallery = test_cams == 0, test_cams == 1
    scores = {}
    for name in ("euclidean", "xqda", "kissme"):
        ranker = create(name, pca_dims=8) if name == "kissme" else create(name)
        d = ranker.fit(*train).distance(test_x[query], test_x[gallery])
        result = evaluate(d, test_pids[query], test_pids[gallery], test_cams[query], test_cams[gallery])
        scores[name] = result.rank1
    assert scores["euclidean"] < 0.2
    assert scores["xqda"] > 0.5 and scores["kissme"] > 0.5


def test_xqda_is_seeded_and_dims_cap_the_subspace():
    rng = np.random.default_rng(8)
    x, pids, camids = labelled(rng, n_ids=20, per_id=6)
    a = create("xqda", seed=3).fit(x, pids, camids)
    b = create("xqda", seed=3).fit(x, pids, camids)
    np.testing.assert_array_equal(a.distance(x, x), b.distance(x, x))
    assert create("xqda", dims=2).fit(x, pids, camids).W_.shape == (10, 2)


# ---------------------------------------------------------------- KISSME


def test_kissme_metric_is_psd_and_distance_is_mahalanobis_in_pca_space():
    rng = np.random.default_rng(9)
    x, pids, camids = labelled(rng, n_ids=30, per_id=6, dims=12)
    model = create("kissme", pca_dims=5).fit(x, pids, camids)
    assert model.components_.shape == (12, 5) and model.M_.shape == (5, 5)
    np.testing.assert_allclose(model.M_, model.M_.T)
    assert np.linalg.eigvalsh(model.M_).min() >= EIG_FLOOR * (1 - 1e-6)
    z = (x - model.mean_) @ model.components_
    diff = z[:4, None, :] - z[None, :, :]
    np.testing.assert_allclose(model.distance(x[:4], x), np.einsum("qgi,ij,qgj->qg", diff, model.M_, diff), atol=1e-8)
    assert model.n_pairs_ == 30 * (15 - 3)  # C(6,2) pairs per id minus 3 same-camera ones


def test_kissme_clips_a_non_psd_metric():
    """Too few negatives for the dimension: inv(S_S) - inv(S_D) is indefinite before clipping."""
    rng = np.random.default_rng(10)
    x, pids, camids = labelled(rng, n_ids=3, per_id=6, dims=8, spread=0.1)
    x[:, 0] *= 100
    model = create("kissme", pca_dims=6).fit(x, pids, camids)
    eig = np.linalg.eigvalsh(model.M_)
    assert eig.min() == pytest.approx(EIG_FLOOR, rel=1e-3)
    assert (model.distance(x, x) >= 0).all()


# ---------------------------------------------------------------- metric-learn


@pytest.mark.parametrize("name", ["lfda", "nca", "lmnn", "rca"])
def test_metric_learn_adapters_learn_a_useful_projection(name):
    rng = np.random.default_rng(11)
    x, pids, camids = labelled(rng, n_ids=10, per_id=8, dims=12, spread=2.0)
    model = create(name, pca_dims=6).fit(x, pids, camids)
    assert isinstance(model, LinearMetricRanker) and model.projection_.shape == (12, 6)
    d = model.distance(x, x)
    assert d.shape == (80, 80) and (d >= 0).all()
    np.fill_diagonal(d, np.inf)
    assert (pids[d.argmin(axis=1)] == pids).mean() > 0.8


def test_metric_learn_cap_keeps_whole_identities():
    rng = np.random.default_rng(12)
    x, pids, camids = labelled(rng, n_ids=20, per_id=5, dims=8)
    model = create("nca", pca_dims=4, max_samples=30, max_iter=5).fit(x, pids, camids)
    assert model.learner_.n_iter_ <= 5
    assert create("nca").max_samples == 2000 and create("lfda").max_samples is None


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize("name", ["xqda", "kissme", "euclidean", "lfda"])
def test_nan_and_inf_features_are_reported(name):
    rng = np.random.default_rng(13)
    x, pids, camids = labelled(rng)
    bad = x.copy()
    bad[[4, 9, 12], 1] = np.nan
    with pytest.raises(ReidBenchError, match=r"training features contain 3 NaN values \(rows 4, 9, 12\); "
                                             r"check the feature extractor"):
        create(name).fit(bad, pids, camids)
    ranker = create(name, **({"pca_dims": 5} if name in ("kissme", "lfda") else {})).fit(x, pids, camids)
    bad = x[:5].copy()
    bad[2, 0] = np.inf
    with pytest.raises(ReidBenchError, match=r"query features contain 1 infinite values \(row 2\)"):
        ranker.distance(bad, x)
    with pytest.raises(ReidBenchError, match=r"gallery features are empty"):
        ranker.distance(x, x[:0])
    with pytest.raises(ReidBenchError, match=r"query features are empty"):
        ranker.distance(x[:0], x)


def test_mismatched_lengths_and_dimensions():
    rng = np.random.default_rng(14)
    x, pids, camids = labelled(rng)
    with pytest.raises(ReidBenchError, match=r"differ in length \(72, 71 and 72\)"):
        create("xqda").fit(x, pids[:-1], camids)
    with pytest.raises(ReidBenchError, match=r"differ in length \(72, 72 and 70\)"):
        create("euclidean").fit(x, pids, camids[:-2])
    model = create("xqda").fit(x, pids, camids)
    with pytest.raises(ReidBenchError, match="have 9 dimensions but the xqda ranker was fitted on 10"):
        model.distance(x[:, :9], x[:, :9])
    with pytest.raises(ReidBenchError, match="query features have 9 dimensions but gallery features have 10"):
        create("euclidean").distance(x[:, :9], x)
    with pytest.raises(ReidBenchError, match="must be fitted"):
        create("kissme").distance(x, x)


@pytest.mark.parametrize("name", ["xqda", "kissme"])
def test_learned_metrics_need_two_identities_and_a_cross_camera_pair(name):
    rng = np.random.default_rng(15)
    x, pids, camids = labelled(rng)
    with pytest.raises(ReidBenchError, match="at least 2 identities, got 1"):
        create(name).fit(x, np.zeros(len(x), int), camids)
    with pytest.raises(ReidBenchError, match="positive pair across cameras"):
        create(name).fit(x, pids, np.zeros(len(x), int))
    with pytest.raises(ReidBenchError, match="positive pair across cameras"):
        create(name).fit(x, pids, pids % 3)  # each identity seen by one camera only


def test_kissme_stays_finite_on_a_small_set_of_duplicated_images():
    """A weak generator's augmentation holds near-copies: the plain similar-pair inverse overflows."""
    rng = np.random.default_rng(0)
    pids = np.repeat(np.arange(8), 6)
    camids = np.tile(np.arange(3), 16)
    centres = rng.normal(size=(8, 256))
    real = centres[pids] + 0.3 * rng.normal(size=(48, 256))
    real /= np.linalg.norm(real, axis=1, keepdims=True)
    features = np.vstack([real, real]).astype(np.float32)  # every image twice (the identity generator)
    ranker = create("kissme").fit(features, np.r_[pids, pids], np.r_[camids, camids])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        distances = ranker.distance(real.astype(np.float32), real.astype(np.float32))
    assert np.isfinite(distances).all() and distances.max() < 1e9  # ridged: no near-singular blow-up
    assert ranker.components_.shape[1] == 47  # PCA keeps the 47 axes the 48 distinct images span
    nearest_other = np.where(np.eye(48, dtype=bool), np.inf, distances).argmin(1)
    assert (pids[nearest_other] == pids).mean() > 0.9
