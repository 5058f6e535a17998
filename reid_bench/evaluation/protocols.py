"""Trained model to result rows and CMC curves: features of train / query / gallery, each ranker.

Every ranker is fitted on the features of the images the model itself trained on, which its
checkpoint lists (``TrainedModel.training_records``: the real training split, plus the generated
images of an augmented run), so ``reid-bench run`` and ``reid-bench evaluate`` fit XQDA and
KISSME on the same images and write the same rows for one model (Euclidean only checks them).
Each ranker then ranks the query against the gallery; CMC, mAP and mINP follow
Market-1501's rules (:func:`reid_bench.evaluation.evaluate`). ``wall_s`` of a row is the model's
training time (summed over resumed runs) plus feature extraction plus that ranker's fit and rank.
``processor`` is where the model trained (:func:`row_processor`).

``ranker_fit="real"`` fits them on the model's real training images alone instead: generated images
then shape the network but not the metric (the ``identity`` control shows why one would: copies of
the real images, composited onto other scenes, cost XQDA 6 rank-1 points when they enter its
covariances; results/synthpeople-quick/README.md). Such rows of a model that trained on generated
images say ``fit=real`` in their recipe and ``:fit-real`` after their config hash, so the two fits
of one model never share a key; a ranker that learns nothing (Euclidean) has one row either way.

A partial model (a checkpoint of a run that did not finish, e.g. one killed mid-training) is refused
unless ``allow_partial``; its rows then carry ``<config hash>:partial-<epoch>of<epochs>`` as their
config hash, so they never share a key with the finished model's rows, and neither hides the other.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any, Sequence

import numpy as np

from reid_bench import evaluation, rankers
from reid_bench.accel import pick_device
from reid_bench.errors import ReidBenchError
from reid_bench.presets import RANKER_FITS
from reid_bench.rankers import Ranker
from reid_bench.records import commit_label, processor_name
from reid_bench.reid.features import extract_features
from reid_bench.reid.train import TrainedModel
from reid_bench.reid.transforms import as_triplets


def _labels(records: Sequence[Any]) -> tuple[np.ndarray, np.ndarray]:
    triplets = as_triplets(records)
    return np.array([t.pid for t in triplets]), np.array([t.camid for t in triplets])


def fit_records(trained: TrainedModel, ranker_fit: str) -> list[Any]:
    """The images the rankers of ``trained`` learn from under ``ranker_fit`` (module docstring)."""
    if ranker_fit not in RANKER_FITS:
        raise ReidBenchError(f"ranker fit {ranker_fit!r} is not one of {', '.join(RANKER_FITS)}.")
    records = list(trained.training_records)
    return records if ranker_fit == "trained" else [t for t in as_triplets(records) if not t.generated]


def fit_mark(ranker: Ranker, ranker_fit: str, generated: bool) -> str:
    """What a row's config hash gets after it for its ranker fit: ``:fit-real`` when ``ranker`` learns, the
    fit is ``real`` and the model trained on generated images (``generated``), else nothing."""
    return ":fit-real" if ranker_fit == "real" and ranker.learns and generated else ""


def fits_real_only(trained: TrainedModel, ranker: Ranker, ranker_fit: str) -> bool:
    """Whether ``ranker``'s rows of ``trained`` differ from the default fit (:func:`fit_mark`)."""
    return bool(fit_mark(ranker, ranker_fit, any(t.generated for t in as_triplets(trained.training_records))))


def evaluate_trained(trained: TrainedModel, dataset: Any, ranker_names: Sequence[str], *,
                     device: str | None = None, progress: bool = False, allow_partial: bool = False,
                     ranker_fit: str = "trained") -> tuple[list[dict[str, Any]], dict[str, np.ndarray]]:
    """Result rows (one per ranker, DESIGN.md "Results row") and CMC curves (ranker -> fractions).

    ``dataset`` has ``.query``, ``.gallery`` and ``.kind``; rankers fit on :func:`fit_records` of
    ``ranker_fit``. A partial model is refused unless ``allow_partial`` (module docstring).
    """
    if not trained.finished and not allow_partial:
        raise ReidBenchError(f"{trained.path} holds a partial model ({trained.partial_note()}: its training did not "
                             "finish); rerun the same train-reid command to finish it, or pass --allow-partial "
                             "to evaluate it as it is.")
    started = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    chosen = [rankers.create(name) for name in ranker_names]  # unknown names fail before extraction
    clock = time.perf_counter()
    dev = pick_device(device)
    splits = {"train": fit_records(trained, ranker_fit), "query": dataset.query, "gallery": dataset.gallery}
    features = {split: extract_features(trained.model, records, trained.settings, device=dev, progress=progress,
                                        desc=f"features {split}")
                for split, records in splits.items()}
    labels = {split: _labels(records) for split, records in splits.items()}
    extraction_s = time.perf_counter() - clock
    meta, commit = trained.meta, commit_label()
    rows, curves = [], {}
    for name, ranker in zip(ranker_names, chosen):
        clock = time.perf_counter()
        ranker.fit(features["train"], *labels["train"])
        distances = ranker.distance(features["query"], features["gallery"])
        result = evaluation.evaluate(distances, labels["query"][0], labels["gallery"][0],
                                     labels["query"][1], labels["gallery"][1])
        curves[name] = result.cmc
        rows.append({
            "dataset": getattr(dataset, "kind", meta.get("dataset", "unknown")),
            "generator": meta.get("generator", "none"), "factor": meta.get("factor", 1),
            "trainer": trained.trainer, "ranker": name, "seed": trained.seed,
            "rank1": _percent(result.rank1), "rank5": _percent(result.rank5),
            "rank10": _percent(result.rank10), "mAP": _percent(result.mAP), "mINP": _percent(result.mINP),
            "n_real": meta.get("n_real", len(trained.training_records)), "n_generated": meta.get("n_generated", 0),
            "preset": trained.settings.preset, "pretrained": str(trained.pretrained).lower(),
            "perceptual": meta.get("perceptual", "n/a"), "recipe": row_recipe(trained, ranker, ranker_fit),
            "processor": row_processor(trained, dev), "config_hash": row_hash(trained, ranker, ranker_fit),
            "commit": commit, "started": started,
            "wall_s": round(trained.train_wall_s + extraction_s + time.perf_counter() - clock, 1),
        })
    return rows, curves


def row_processor(trained: TrainedModel, device: Any) -> str:
    """The ``processor`` of ``trained``'s rows evaluated on ``device``: where it trained, and where its features
    were computed when that is another processor (features under bf16 autocast depend on it too)."""
    here = processor_name(device)
    return trained.processor if trained.processor == here else f"{trained.processor}; evaluated on {here}"


def row_hash(trained: TrainedModel, ranker: Ranker | None = None, ranker_fit: str = "trained") -> str:
    """The ``config_hash`` of ``trained``'s rows of ``ranker``: its config hash, marked when the model is
    partial and when the ranker fits on the real images alone (:func:`fits_real_only`)."""
    key = trained.config_hash
    if not trained.finished:
        key += f":partial-{trained.epoch}of{trained.settings.epochs}"
    if ranker is not None:
        key += fit_mark(ranker, ranker_fit, any(t.generated for t in as_triplets(trained.training_records)))
    return key


def row_recipe(trained: TrainedModel, ranker: Ranker, ranker_fit: str) -> str:
    """The ``recipe`` of ``trained``'s row of ``ranker``: the model's, with ``fit=real`` when that applies."""
    recipe = trained.meta.get("recipe", "n/a")
    if not fits_real_only(trained, ranker, ranker_fit):
        return recipe
    return "fit=real" if recipe in ("n/a", "default") else f"{recipe};fit=real"


def _percent(fraction: float) -> float:
    return round(100.0 * float(fraction), 2)
