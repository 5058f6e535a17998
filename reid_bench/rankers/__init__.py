"""Rankers: features to a query x gallery distance matrix (smaller = closer).

``create(name, **options)`` builds one by name, ``names()`` lists them (timm's ``create_model`` /
``list_models``).  Any name with ``+rerank`` appended (``"xqda+rerank"``) is that ranker wrapped in
k-reciprocal re-ranking (options ``k1``, ``k2``, ``lambda_value`` go to the re-ranking, the rest to
the ranker).

==============  ==========================================================================
euclidean       Euclidean distance (``sqeuclidean``: squared; ``cosine``: 1 - cosine)
xqda            Cross-view Quadratic Discriminant Analysis (Liao et al., CVPR 2015)
kissme          KISS metric learning after PCA-200 (Koestinger et al., CVPR 2012)
lfda/nca/lmnn/  metric-learn 0.7 learners after PCA-64
rca
==============  ==========================================================================
"""

from __future__ import annotations

from reid_bench.errors import ReidBenchError
from reid_bench.rankers import euclidean, kissme, metric_learn_adapters, xqda  # noqa: F401  (registration)
from reid_bench.rankers.base import _REGISTRY, LinearMetricRanker, Ranker, register
from reid_bench.rankers.reranking import RERANK_SUFFIX, Reranked, rerank

__all__ = ["LinearMetricRanker", "Ranker", "Reranked", "create", "names", "register", "rerank"]

_RERANK_OPTIONS = ("k1", "k2", "lambda_value")


def names() -> list[str]:
    """Registered ranker names, sorted; each also works with ``+rerank`` appended."""
    return sorted(_REGISTRY)


def create(name: str, **options) -> Ranker:
    """Build the ranker registered as ``name`` with keyword ``options``."""
    base = name[: -len(RERANK_SUFFIX)] if name.endswith(RERANK_SUFFIX) else name
    if base not in _REGISTRY:
        raise ReidBenchError(f"unknown ranker {name!r}; choose from {', '.join(names())} (optionally with '+rerank')")
    rerank_options = {k: options.pop(k) for k in _RERANK_OPTIONS if k in options and base != name}
    try:
        ranker = _REGISTRY[base](**options)
    except TypeError as exc:
        raise ReidBenchError(f"bad options for ranker {base!r}: {exc}") from None
    return Reranked(ranker, **rerank_options) if base != name else ranker
