"""Input pipeline: records, image datasets and the train / test transforms.

A record is anything with ``path``, ``pid`` and ``camid`` attributes (``reid_bench.data``'s
``ImageRecord``) or a ``(path, pid, camid)`` tuple, as torchreid reduces every dataset to.
Train transform, as torchreid's ``build_transforms`` with ``transforms: ['random_flip']``: resize
to HxW, random horizontal flip, ImageNet normalisation, then optional random erasing (Zhong et
al., AAAI 2020; torchvision's, filling with 0 = the mean colour after normalisation, where
torchreid fills with the ImageNet mean: the same thing). Test transform: resize and normalise.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, NamedTuple, Sequence

import torch
from PIL import Image
from torch.utils.data import Dataset
from torchvision import transforms as T

from reid_bench.errors import ReidBenchError
from reid_bench.presets import ReidSettings

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class Triplet(NamedTuple):
    path: Path
    pid: int
    camid: int
    generated: bool = False  # drawn by a generator (the augmented arm's images)


def as_triplets(records: Sequence[Any]) -> list[Triplet]:
    """Normalise ImageRecord-like objects or ``(path, pid, camid[, generated])`` tuples to :class:`Triplet`."""
    out = []
    for record in records:
        if hasattr(record, "path"):
            out.append(Triplet(Path(record.path), int(record.pid), int(record.camid),
                               bool(getattr(record, "generated", False))))
        else:
            path, pid, camid = record[:3]
            out.append(Triplet(Path(path), int(pid), int(camid), bool(record[3]) if len(record) > 3 else False))
    return out


def train_transform(settings: ReidSettings) -> Callable[[Image.Image], torch.Tensor]:
    steps: list[Callable] = [T.Resize((settings.height, settings.width))]
    if settings.random_flip:
        steps.append(T.RandomHorizontalFlip())
    steps += [T.ToTensor(), T.Normalize(IMAGENET_MEAN, IMAGENET_STD)]
    if settings.random_erase > 0:
        steps.append(T.RandomErasing(p=settings.random_erase))
    return T.Compose(steps)


def test_transform(settings: ReidSettings) -> Callable[[Image.Image], torch.Tensor]:
    return T.Compose([T.Resize((settings.height, settings.width)), T.ToTensor(),
                      T.Normalize(IMAGENET_MEAN, IMAGENET_STD)])


def read_image(path: Path) -> Image.Image:
    try:
        with Image.open(path) as image:
            return image.convert("RGB")
    except (OSError, ValueError) as error:
        raise ReidBenchError(f"image {path} could not be read ({error}).") from None


class ImageDataset(Dataset):
    """``(image tensor, label, camid, generated)`` per record; ``labels`` defaults to the records' pids."""

    def __init__(self, records: Sequence[Triplet], transform: Callable,
                 labels: Sequence[int] | None = None) -> None:
        self.records = list(records)
        self.transform = transform
        self.labels = list(labels) if labels is not None else [r.pid for r in self.records]

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int, int, bool]:
        record = self.records[index]
        return self.transform(read_image(record.path)), self.labels[index], record.camid, record.generated


class PairDataset(Dataset):
    """Siamese pairs ``(image_a, image_b, label_a, label_b, same, generated_a, generated_b)`` from index
    pairs of a dataset."""

    def __init__(self, images: ImageDataset, pairs: Sequence[tuple[int, int]]) -> None:
        self.images = images
        self.pairs = list(pairs)

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor, int, int, int, bool, bool]:
        a, b = self.pairs[index]
        image_a, label_a, _, generated_a = self.images[a]
        image_b, label_b, _, generated_b = self.images[b]
        return image_a, image_b, label_a, label_b, int(label_a == label_b), generated_a, generated_b
