"""Input pipeline: records, image datasets and the train / test transforms.

A record is anything with ``path``, ``pid`` and ``camid`` attributes (``reid_bench.data``'s
``ImageRecord``) or a ``(path, pid, camid)`` tuple, as torchreid reduces every dataset to.
Train transform, as torchreid's ``build_transforms`` with ``transforms: ['random_flip']``: resize
to HxW, random horizontal flip, ImageNet normalisation, then optional random erasing (Zhong et
al., AAAI 2020; torchvision's, filling with 0 = the mean colour after normalisation, where
torchreid fills with the ImageNet mean: the same thing). Test transform: resize and normalise.

Each transform is two stages (:class:`Transform`): ``load``, deterministic (resize, then the
image's uint8 pixels), and ``augment``, drawn anew at every read (flip, the float conversion,
normalisation, erasing). The pixels are the same as ``Resize -> RandomHorizontalFlip -> ToTensor
-> Normalize`` on the PIL image, and the random draws the same ones in the same order, so a
training set may keep its loaded images in memory (:class:`ImageDataset`'s ``keep_loaded``) and
skip the JPEG decode of every later epoch without changing one result.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, NamedTuple, Sequence

import torch
from PIL import Image
from torch.utils.data import Dataset
from torchvision import transforms as T

from reid_bench.accel import keeps_decoded
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


class Transform(NamedTuple):
    """``load`` (PIL image -> resized uint8 CHW tensor, deterministic), then ``augment`` (-> the network's
    float input, random draws allowed); calling it does both."""

    load: Callable[[Image.Image], torch.Tensor]
    augment: Callable[[torch.Tensor], torch.Tensor]

    def __call__(self, image: Image.Image) -> torch.Tensor:
        return self.augment(self.load(image))


def _load(settings: ReidSettings) -> Callable[[Image.Image], torch.Tensor]:
    return T.Compose([T.Resize((settings.height, settings.width)), T.PILToTensor()])


def _normalise() -> list[Callable]:
    return [T.ConvertImageDtype(torch.float32), T.Normalize(IMAGENET_MEAN, IMAGENET_STD)]  # ToTensor's /255


def train_transform(settings: ReidSettings) -> Transform:
    steps: list[Callable] = [T.RandomHorizontalFlip()] if settings.random_flip else []
    steps += _normalise()
    if settings.random_erase > 0:
        steps.append(T.RandomErasing(p=settings.random_erase))
    return Transform(_load(settings), T.Compose(steps))


def test_transform(settings: ReidSettings) -> Transform:
    return Transform(_load(settings), T.Compose(_normalise()))


def read_image(path: Path) -> Image.Image:
    try:
        with Image.open(path) as image:
            return image.convert("RGB")
    except (OSError, ValueError) as error:
        raise ReidBenchError(f"image {path} could not be read ({error}).") from None


class ImageDataset(Dataset):
    """``(image tensor, label, camid, generated)`` per record; ``labels`` defaults to the records' pids.

    With ``keep_loaded`` each image's ``transform.load`` output is kept at its first read and reused
    by later ones (for a training set read every epoch in the loading process; ``train_reid``
    decides, :func:`worth_keeping`): the same tensors as without it, without decoding again."""

    def __init__(self, records: Sequence[Triplet], transform: Transform,
                 labels: Sequence[int] | None = None, keep_loaded: bool = False) -> None:
        self.records = list(records)
        self.transform = transform
        self.labels = list(labels) if labels is not None else [r.pid for r in self.records]
        self.loaded: list[torch.Tensor | None] | None = [None] * len(self.records) if keep_loaded else None

    def __len__(self) -> int:
        return len(self.records)

    def _pixels(self, index: int) -> torch.Tensor:
        if self.loaded is None:
            return self.transform.load(read_image(self.records[index].path))
        kept = self.loaded[index]
        if kept is None:
            kept = self.loaded[index] = self.transform.load(read_image(self.records[index].path))
        return kept

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int, int, bool]:
        record = self.records[index]
        return self.transform.augment(self._pixels(index)), self.labels[index], record.camid, record.generated


def worth_keeping(count: int, settings: ReidSettings, workers: int) -> bool:
    """Whether a training set of ``count`` images keeps its loaded uint8 pixels (:class:`ImageDataset`), by
    :func:`reid_bench.accel.keeps_decoded` (SynthPeople's quick run with K = 3: 131 MB; Market-1501's
    12,936 images at 256x128: 1.3 GB, with K = 3 too large to keep)."""
    return keeps_decoded(count * 3 * settings.height * settings.width, workers)


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
