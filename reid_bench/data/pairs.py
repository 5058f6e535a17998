"""The pose-transfer training and test pairs as a torch Dataset (DESIGN.md, "Sample dict").

Each item is one (source, target) pair of the same person from ``*pairs-{train,test}.csv``, the
pairs PATN (Zhu et al., CVPR 2019) and the methods after it (GFLA, SAN) train and test on:

- always: ``src_image``/``tgt_image`` (3, H, W) float32 in [-1, 1], ``pid`` (int: the relabelled
  train pid for a train image, the original pid otherwise, -1 for an image outside the Re-ID
  splits such as Market's junk), ``src_name``/``tgt_name``;
- ``"parsing"``: ``*_parsing`` (20, H, W) float32 one-hot LIP labels;
- ``"mask"``: ``*_mask`` (1, H, W) float32 body mask: the image's ``masks/`` PNG where there is one
  (``reid-bench data prepare``'s Mask R-CNN mask, or the dataset's own), else ``parsing > 0`` where it
  has a parsing PNG, else a keypoint mask: ``data prepare``'s ``masks/`` PNG drawn from keypoints, or
  PG2's mask drawn from them here (:func:`body_mask_from_keypoints`, the same mask);
- ``"keypoints"``: ``*_keypoints`` (18, 2) float32 (y, x), -1 = missing;
- ``"heatmap"``: ``*_heatmap`` (18, H, W) float32 Gaussian heatmaps, sigma 6 (PG2, PATN).

Only what ``needs`` asks for is loaded or computed. With ``image_size=(H, W)`` images are resized
bilinearly, parsing by nearest neighbour, and keypoints scaled by (H / file height, W / file width)
before heatmaps and masks are drawn at the new size. Pairs whose images lack what is needed (no
keypoint row or all points -1, no parsing PNG, neither for a mask) are left out when the Dataset
is built and counted in ``skipped`` (per reason in ``skipped_reasons``). ``pairs`` given as a list of
(source, target) names replaces the split's CSV (augmentation chooses its own pairs). With
:meth:`PoseTransferPairs.keep_loaded` each image's decoded uint8 pixels, labels and mask are kept
at their first read (an image is in many pairs and the GAN loop reads every pair many times); the
items are the same tensors as without it. A pair naming an image
that does not exist, or a corrupt file, raises :class:`~reid_bench.errors.ReidBenchError`. Given ``who``
(the generator's name, as messages print it), a split without its pairs CSV, or whose every pair was left
out, raises the one sentence of :mod:`reid_bench.data.inputs` saying what is missing, for how many
images, and the command that makes it.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from reid_bench.data.formats import read_pairs_csv
from reid_bench.data.inputs import SPLIT_WORDS, missing_message, missing_pairs_message
from reid_bench.data.label_files import png_source, read_mask
from reid_bench.data.market import ReidDataset
from reid_bench.data.pose_maps import (
    body_mask_from_keypoints,
    keypoint_heatmaps,
    parsing_one_hot,
    read_parsing,
    visible,
)
from reid_bench.errors import ReidBenchError

NEEDS = frozenset({"parsing", "mask", "keypoints", "heatmap"})
MISSING = -1.0


class _Decoded(NamedTuple):
    """One image's files, decoded and at the pairs' size: what :meth:`PoseTransferPairs.keep_loaded` keeps."""

    rgb: np.ndarray  # (H, W, 3) uint8
    labels: np.ndarray | None  # (H, W) uint8 LIP labels
    mask: np.ndarray | None  # (H, W) bool, where a masks/ PNG or parsing gives one
    keypoints: np.ndarray | None  # (18, 2) float32 at the pairs' size, MISSING where not visible


class _Image(NamedTuple):
    name: str
    path: Path
    pid: int
    keypoints: np.ndarray | None
    parsing: Path | None
    mask: Path | None = None  # a masks/ PNG


def read_image(path: Path) -> Image.Image:
    """The RGB image at ``path``; ReidBenchError if it cannot be decoded."""
    try:
        with Image.open(path) as image:
            return image.convert("RGB")
    except (OSError, SyntaxError) as error:
        raise ReidBenchError(
            f"{path} cannot be decoded ({error}); replace or delete it (`reid-bench data check` lists such files)."
        ) from None


class PoseTransferPairs(Dataset):
    """(source, target) pairs of one split, yielding DESIGN.md's sample dict (see module docstring)."""

    def __init__(
        self,
        dataset: ReidDataset,
        split: str = "train",
        needs: frozenset[str] | set[str] = frozenset(),
        image_size: tuple[int, int] | None = None,
        pairs: list[tuple[str, str]] | None = None,
        who: str | None = None,
    ) -> None:
        unknown = set(needs) - NEEDS
        if unknown:
            raise ValueError(f"unknown needs {sorted(unknown)}; choose from {sorted(NEEDS)}")
        self.dataset = dataset
        self.split = split
        self.needs = frozenset(needs)
        self.image_size = tuple(image_size) if image_size is not None else None
        if pairs is None:
            path = dataset.pairs_path(split)
            if path is None:
                raise ReidBenchError(missing_pairs_message(dataset, split, who or "pose transfer"))
            pairs = read_pairs_csv(path)
        self.kept: dict[str, _Decoded] | None = None
        self.skipped_reasons: Counter[str] = Counter()
        self.pairs: list[tuple[_Image, _Image]] = []
        seen: dict[str, _Image] = {}  # an image is in many pairs: look up its files once
        for source, target in pairs:
            images = tuple(seen[name] if name in seen else seen.setdefault(name, self._image(name))
                           for name in (source, target))
            reason = next((r for r in map(self._lacks, images) if r), None)
            if reason:
                self.skipped_reasons[reason] += 1
            else:
                self.pairs.append(images)
        if who is not None and not self.pairs and self.skipped:
            message = missing_message(dataset, split, self.needs, who)
            raise ReidBenchError(message or f"{who}: every {SPLIT_WORDS.get(split, split)} pair was left out "
                                            f"({self.skipped_note()}).")

    def skipped_note(self) -> str:
        """``1,234 of 263,632 pairs left out (no parsing 1,200, no keypoints 34)``, or empty."""
        if not self.skipped:
            return ""
        reasons = ", ".join(f"{reason} {count:,}" for reason, count in self.skipped_reasons.most_common())
        return f"{self.skipped:,} of {self.skipped + len(self.pairs):,} pairs left out ({reasons})"

    def decoded_bytes(self) -> int:
        """What :meth:`keep_loaded` would hold once every image was read: 5 bytes a pixel (41 kB an image
        at 128x64; Market-1501's 12,936 training images: 0.5 GB)."""
        images = {image.name: image for pair in self.pairs for image in pair}
        if not images:
            return 0
        height, width = self.image_size or self._decode(next(iter(images.values()))).rgb.shape[:2]
        return len(images) * height * width * 5

    def keep_loaded(self) -> None:
        """Keep each image's decoded files from its first read on, for a loop that reads the pairs in its
        own process (``generators.training`` asks :func:`reid_bench.accel.keeps_decoded` first)."""
        if self.kept is None:
            self.kept = {}

    @property
    def skipped(self) -> int:
        """How many pairs of the CSV were left out because an image lacks what ``needs`` asks for."""
        return sum(self.skipped_reasons.values())

    def _image(self, name: str) -> _Image:
        split = self.dataset.image_split(name)
        record = self.dataset.record(name)
        mask = self.dataset.mask_path(name) if "mask" in self.needs else None
        parsing = self.dataset.parsing_path(name) if self.needs & {"parsing", "mask"} else None
        if mask is not None and parsing is not None and png_source(mask) == "keypoints":
            mask = None  # a keypoint mask is the fallback of an image without parsing (reid_bench.data.inputs)
        if "parsing" not in self.needs and mask is not None:
            parsing = None
        wants_keypoints = bool(self.needs & {"keypoints", "heatmap"}) or (
            "mask" in self.needs and parsing is None and mask is None)
        keypoints = self.dataset.keypoints(split).get(name) if wants_keypoints else None
        if keypoints is not None and not visible(keypoints).any():
            keypoints = None
        pid = record.pid if record is not None else -1
        return _Image(name, self.dataset.image_path(name), pid, keypoints, parsing, mask)

    def _lacks(self, image: _Image) -> str | None:
        if "parsing" in self.needs and image.parsing is None:
            return "no parsing"
        if self.needs & {"keypoints", "heatmap"} and image.keypoints is None:
            return "no keypoints"
        if "mask" in self.needs and image.mask is None and image.parsing is None and image.keypoints is None:
            return "no mask, parsing or keypoints for a mask"
        return None

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, index: int) -> dict:
        source, target = self.pairs[index]
        item: dict = {"pid": source.pid, "src_name": source.name, "tgt_name": target.name}
        for prefix, image in (("src", source), ("tgt", target)):
            item.update({f"{prefix}_{key}": value for key, value in self._load(image).items()})
        return item

    def _decoded(self, image: _Image) -> _Decoded:
        if self.kept is None:
            return self._decode(image)
        if image.name not in self.kept:
            self.kept[image.name] = self._decode(image)
        return self.kept[image.name]

    def _decode(self, image: _Image) -> _Decoded:
        rgb = read_image(image.path)
        file_size = (rgb.height, rgb.width)
        height, width = self.image_size or file_size
        if (height, width) != file_size:
            rgb = rgb.resize((width, height), Image.BILINEAR)
        labels = None
        if image.parsing is not None:
            labels = read_parsing(image.parsing, file_size)
            if (height, width) != file_size:
                labels = np.asarray(Image.fromarray(labels).resize((width, height), Image.NEAREST))
        keypoints = None
        if image.keypoints is not None:
            scale = np.array([height / file_size[0], width / file_size[1]])
            shown = visible(image.keypoints)[:, None]
            keypoints = np.where(shown, image.keypoints * scale, MISSING).astype(np.float32)
        mask = None
        if "mask" in self.needs:
            if image.mask is not None:
                mask = read_mask(image.mask, file_size)
                if (height, width) != file_size:
                    mask = np.asarray(Image.fromarray(mask).resize((width, height), Image.NEAREST))
            elif labels is not None:
                mask = labels > 0
        return _Decoded(np.asarray(rgb), labels, mask, keypoints)

    def _load(self, image: _Image) -> dict[str, torch.Tensor]:
        decoded = self._decoded(image)
        height, width = decoded.rgb.shape[:2]
        pixels = decoded.rgb.astype(np.float32) / 127.5 - 1.0
        out = {"image": torch.from_numpy(pixels.transpose(2, 0, 1).copy())}
        if "parsing" in self.needs:
            out["parsing"] = torch.from_numpy(parsing_one_hot(decoded.labels))
        if "mask" in self.needs:
            mask = decoded.mask
            if mask is None:
                mask = body_mask_from_keypoints(decoded.keypoints, height, width)
            out["mask"] = torch.from_numpy(mask[None].astype(np.float32))
        if "keypoints" in self.needs:
            out["keypoints"] = torch.from_numpy(decoded.keypoints)
        if "heatmap" in self.needs:
            out["heatmap"] = torch.from_numpy(keypoint_heatmaps(decoded.keypoints, height, width))
        return out
