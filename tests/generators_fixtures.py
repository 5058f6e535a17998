"""Synthetic sample dicts (DESIGN.md) for the generator tests: random batches, and
synthetic-but-structured pose-transfer pairs.

Each pair shows one "person" (a face, an upper-clothes block and a pants block in per-person
colours on a grey background) at two horizontal positions; the parsing and mask are exact.
"""

from __future__ import annotations

import torch
from conftest import STANDING_POSE
from torch.utils.data import Dataset

LABELS = {"face": 13, "upper": 5, "pants": 9}


def person(height: int, width: int, left: int, colours: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(image (3,H,W) in [-1,1], label map (H,W)) of a person whose body starts at column ``left``."""
    labels = torch.zeros(height, width, dtype=torch.long)
    body = max(2, width // 3)
    rows = [(0.05, 0.25, "face"), (0.25, 0.6, "upper"), (0.6, 0.95, "pants")]
    for top, bottom, part in rows:
        labels[int(top * height):int(bottom * height), left:left + body] = LABELS[part]
    image = torch.full((3, height, width), 0.2)
    for index, part in enumerate(("face", "upper", "pants")):
        image[:, labels == LABELS[part]] = colours[index].view(3, 1)
    return image, labels


def sample(index: int, height: int = 32, width: int = 16) -> dict:
    generator = torch.Generator().manual_seed(index)
    colours = torch.rand(3, 3, generator=generator) * 2 - 1
    body = max(2, width // 3)
    lefts = torch.randint(0, width - body + 1, (2,), generator=generator).tolist()
    item = {"pid": index, "src_name": f"{index:04d}_a.jpg", "tgt_name": f"{index:04d}_b.jpg"}
    for prefix, left in zip(("src", "tgt"), lefts):
        image, labels = person(height, width, left, colours)
        parsing = torch.nn.functional.one_hot(labels, 20).permute(2, 0, 1).float()
        item.update({f"{prefix}_image": image, f"{prefix}_parsing": parsing,
                     f"{prefix}_mask": (labels > 0).float().unsqueeze(0)})
    return item


def random_batch(batch: int, height: int, width: int) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    items = {}
    for prefix in ("src", "tgt"):
        labels = torch.randint(0, 20, (batch, height, width), generator=generator)
        items[f"{prefix}_image"] = torch.rand(batch, 3, height, width, generator=generator) * 2 - 1
        items[f"{prefix}_parsing"] = torch.nn.functional.one_hot(labels, 20).permute(0, 3, 1, 2).float()
        items[f"{prefix}_mask"] = (labels > 0).float().unsqueeze(1)
    return items


class SyntheticPairs(Dataset):
    def __init__(self, count: int = 8, height: int = 32, width: int = 16) -> None:
        self.items = [sample(i, height, width) for i in range(count)]

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> dict:
        return self.items[index]

# tests/conftest.py's standing person on a 128x64 image, (y, x) in COCO-OpenPose order, as a tensor.
STANDING = torch.from_numpy(STANDING_POSE).float()
