"""Datasets: read a folder, its keypoints, parsing and pairs; build masks and heatmaps; check it.

One entry point, :func:`load_dataset`, recognises the layout of a folder:

- Market-1501 (``bounding_box_train/``, ``bounding_box_test/``, ``query/``, flat or inside
  ``Market-1501-v15.09.15/``), :mod:`reid_bench.data.market`;
- SynthPeople, the same layout with ``synthpeople.json`` in its root;
- DeepFashion In-shop as PATN ships it (``train/`` and ``test/``, flat or inside
  ``fashion_data/``), :mod:`reid_bench.data.deepfashion`.

:class:`PoseTransferPairs` (the torch Dataset of pose-transfer pairs) is imported on first use,
so reading and checking a folder does not import torch.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reid_bench.data.deepfashion import DEEPFASHION_FOLDERS, read_deepfashion
from reid_bench.data.formats import read_keypoints_csv, read_pairs_csv
from reid_bench.data.market import MARKET_FOLDERS, ImageRecord, ReidDataset, read_market
from reid_bench.data.pairs import PoseTransferPairs
from reid_bench.data.pose_maps import body_mask_from_keypoints, keypoint_heatmaps, parsing_one_hot
from reid_bench.errors import ReidBenchError

if TYPE_CHECKING:
    from reid_bench.data.pairs import PoseTransferPairs

__all__ = [
    "ImageRecord",
    "PoseTransferPairs",
    "ReidDataset",
    "body_mask_from_keypoints",
    "keypoint_heatmaps",
    "load_dataset",
    "parsing_one_hot",
    "read_keypoints_csv",
    "read_pairs_csv",
]

MARKET_SUBFOLDER = "Market-1501-v15.09.15"
DEEPFASHION_SUBFOLDER = "fashion_data"
SYNTHPEOPLE_MARKER = "synthpeople.json"


def load_dataset(root: str | os.PathLike) -> ReidDataset:
    """Read the dataset folder ``root`` (Market-1501, SynthPeople or DeepFashion layout)."""
    given = Path(root).expanduser()
    if not given.is_dir():
        raise ReidBenchError(
            f"{given} is not a folder; give a dataset folder, or render one with `reid-bench data synth --out DIR`."
        )
    base = given / MARKET_SUBFOLDER if (given / MARKET_SUBFOLDER).is_dir() else given
    if any((base / folder).is_dir() for folder in MARKET_FOLDERS.values()):
        kind = "synthpeople" if (base / SYNTHPEOPLE_MARKER).is_file() else "market1501"
        return read_market(base, kind)
    base = given / DEEPFASHION_SUBFOLDER if (given / DEEPFASHION_SUBFOLDER).is_dir() else given
    if any((base / folder).is_dir() for folder in DEEPFASHION_FOLDERS.values()):
        return read_deepfashion(base)
    raise ReidBenchError(
        f"{given} holds neither the Market-1501 layout (bounding_box_train/, bounding_box_test/, query/) "
        "nor PATN's DeepFashion layout (train/, test/); give the dataset folder, or render SynthPeople "
        "with `reid-bench data synth --out DIR`."
    )


def __getattr__(name: str) -> Any:
    if name == "PoseTransferPairs":

        return PoseTransferPairs
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
