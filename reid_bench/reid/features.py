"""Feature extraction: batched, optional flip averaging and L2 normalisation.

The feature of an image is the network's ``embed`` output (pool5, or after the BN-neck); with
``flip_test`` it is the mean of the image's and its mirror image's features, then L2-normalised
when ``normalize_features`` is on (both common Re-ID test-time practice, e.g. Luo et al. 2019).
On CUDA the batches run under ``torch.autocast`` (float16) with pinned-memory worker loading;
on CPU everything runs in the main process in float32, so the result is deterministic.
"""

from __future__ import annotations

import os
from typing import Any, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader
from tqdm import tqdm

from reid_bench.reid.config import ReidSettings
from reid_bench.reid.models import ReidNet
from reid_bench.reid.transforms import ImageDataset, as_triplets, test_transform


def pick_device(name: str | None = None) -> torch.device:
    """``name`` if given, else CUDA when available, else CPU."""
    if name:
        return torch.device(name)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def loader_options(device: torch.device) -> dict[str, Any]:
    """DataLoader workers and pinned memory on CUDA; the main process on CPU."""
    if device.type != "cuda":
        return {"num_workers": 0}
    return {"num_workers": min(8, os.cpu_count() or 1), "pin_memory": True}


@torch.inference_mode()
def extract_features(model: ReidNet, records: Sequence[Any], settings: ReidSettings, *,
                     device: torch.device | None = None, progress: bool = False,
                     desc: str = "features") -> np.ndarray:
    """An ``(N, D)`` float32 array, one row per record, in the records' order."""
    device = device or pick_device()
    dataset = ImageDataset(as_triplets(records), test_transform(settings))
    loader = DataLoader(dataset, batch_size=settings.feature_batch, shuffle=False, **loader_options(device))
    was_training = model.training
    model.eval().to(device)
    use_amp = settings.amp and device.type == "cuda"
    rows = []
    try:
        for images, _, _ in tqdm(loader, desc=desc, unit="batch", disable=not progress, leave=False):
            images = images.to(device, non_blocking=True)
            with torch.autocast(device_type=device.type, dtype=torch.float16, enabled=use_amp):
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
