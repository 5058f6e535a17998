"""Feature extraction: batched, optional flip averaging and L2 normalisation.

The feature of an image is the network's ``embed`` output (pool5, or after the BN-neck); with
``flip_test`` it is the mean of the image's and its mirror image's features, then L2-normalised
when ``normalize_features`` is on (both common Re-ID test-time practice, e.g. Luo et al. 2019).
Batches run under the settings' mixed precision and memory format (:mod:`reid_bench.accel`:
bf16/fp16 autocast on CUDA with pinned-memory worker loading; bf16 on a CPU with native bf16,
in the main process); features are returned as float32.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader
from tqdm import tqdm

from reid_bench import accel
from reid_bench.presets import ReidSettings
from reid_bench.reid.models import ReidNet
from reid_bench.reid.transforms import ImageDataset, as_triplets, test_transform


@torch.inference_mode()
def extract_features(model: ReidNet, records: Sequence[Any], settings: ReidSettings, *,
                     device: torch.device | None = None, progress: bool = False,
                     desc: str = "features") -> np.ndarray:
    """An ``(N, D)`` float32 array, one row per record, in the records' order."""
    device = device or accel.pick_device()
    dataset = ImageDataset(as_triplets(records), test_transform(settings))
    loader = DataLoader(dataset, batch_size=settings.feature_batch, shuffle=False,
                        **accel.loader_options(device))
    was_training = model.training
    model.eval().to(device)
    precision = accel.resolve_amp(settings.amp, device)
    rows = []
    try:
        for images, *_ in tqdm(loader, desc=desc, unit="batch", disable=not progress, leave=False):
            images = accel.to_device(images, device, settings.channels_last)
            with accel.autocast(device, precision):
                features = model.embed(images).float()
                if settings.flip_test:
                    features = (features + model.embed(images.flip(3)).float()) / 2
            if settings.normalize_features:
                features = F.normalize(features, dim=1)
            rows.append(features.cpu())
    finally:
        model.train(was_training)
    if not rows:
        return np.zeros((0, 0), dtype=np.float32)
    return torch.cat(rows).numpy().astype(np.float32, copy=False)


def class_index(training_records: Sequence[Any]) -> dict[int, int]:
    """Person id -> classifier output index of a model trained on ``training_records`` (sorted pids,
    as :func:`reid_bench.reid.train.train_reid` relabels them)."""
    return {pid: index for index, pid in enumerate(sorted({t.pid for t in as_triplets(training_records)}))}


@torch.inference_mode()
def source_probabilities(model: ReidNet, records: Sequence[Any], settings: ReidSettings, index: dict[int, int], *,
                         device: torch.device | None = None, progress: bool = False) -> np.ndarray:
    """(N,) the softmax probability ``model``'s classifier gives each record's own person (``index``:
    :func:`class_index` of the model's training records); 0 for a person it never saw."""
    device = device or accel.pick_device()
    triplets = as_triplets(records)
    dataset = ImageDataset(triplets, test_transform(settings))
    loader = DataLoader(dataset, batch_size=settings.feature_batch, shuffle=False, **accel.loader_options(device))
    was_training = model.training
    model.eval().to(device)
    precision = accel.resolve_amp(settings.amp, device)
    scores = []
    try:
        for images, pids, *_ in tqdm(loader, desc="source confidence", unit="batch", disable=not progress,
                                     leave=False):
            images = accel.to_device(images, device, settings.channels_last)
            with accel.autocast(device, precision):
                probabilities = F.softmax(model.head(model.backbone(images)).float(), dim=1)
            columns = torch.tensor([index.get(int(pid), -1) for pid in pids], device=probabilities.device)
            chosen = probabilities.gather(1, columns.clamp(min=0)[:, None])[:, 0]
            scores.append(torch.where(columns >= 0, chosen, torch.zeros_like(chosen)).cpu())
    finally:
        model.train(was_training)
    return torch.cat(scores).numpy() if scores else np.zeros(0, dtype=np.float32)
