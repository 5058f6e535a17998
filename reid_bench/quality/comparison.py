"""The qualitative comparison of the SAN paper's Figs. 5 and 6: for a few test pairs, the source
image, the target pose, the real target image and each generator's image of that pair, side by side.

``reid-bench samples`` draws it from folders of generated images (``<from>___<to>.png``, as
``reid-bench generate`` and ``eval-generator`` write them). The pairs shown are ones every folder
holds, spread evenly over their sorted names, so the same pairs appear however many other pairs a
folder has. The target pose is drawn as the target's LIP parsing (in SynthPeople's palette) when
the dataset has one, else as its body mask from keypoints (PG2's); the figure's column title says
which.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping

import numpy as np

from reid_bench.data import load_dataset
from reid_bench.data.market import ReidDataset
from reid_bench.data.pose_maps import read_parsing
from reid_bench.data.synth import embedded_root
from reid_bench.data.vocabulary import colour_parsing
from reid_bench.errors import ReidBenchError
from reid_bench.figures import plot_image_grid
from reid_bench.quality.evaluate import target_mask
from reid_bench.quality.folder import GeneratedPair, read_generated_folder


def target_pose_picture(dataset: ReidDataset, target: str, size: tuple[int, int]) -> tuple[np.ndarray, str]:
    """(picture, what it shows) of ``target``'s pose at ``size`` (H, W): parsing colours or a mask."""
    parsing = dataset.parsing_path(target)
    if parsing is not None:
        labels = read_parsing(parsing, size)
        return colour_parsing(labels), "target parsing"
    return target_mask(dataset, target, size, "keypoints").astype(np.uint8) * 255, "target mask"


def shared_pairs(folders: Mapping[str, Path],
                 dataset: ReidDataset) -> dict[tuple[str, str], dict[str, GeneratedPair]]:
    """(source, target) -> {label: checked generated image} for the pairs every folder holds, by sorted name."""
    per_folder = {label: {(pair.source, pair.target): pair for pair in read_generated_folder(folder, dataset)}
                  for label, folder in folders.items()}
    common = set.intersection(*(set(pairs) for pairs in per_folder.values()))
    if not common:
        raise ReidBenchError(f"the folders {', '.join(str(f) for f in folders.values())} hold no pair in common; "
                             "generate the same pair list into each (e.g. the dataset's test pairs).")
    return {pair: {label: per_folder[label][pair] for label in folders} for pair in sorted(common)}


def evenly_spaced(count: int, total: int) -> list[int]:
    """``count`` indices spread evenly over ``range(total)`` (all of them when ``count >= total``)."""
    if count >= total:
        return list(range(total))
    return [round(i * (total - 1) / max(1, count - 1)) for i in range(count)]


def comparison_figure(data: str | os.PathLike | None, folders: Mapping[str, str | os.PathLike],
                      out: str | os.PathLike, count: int = 6) -> Path:
    """Draw ``count`` shared pairs of ``folders`` (label -> folder of generated images) into ``out``
    (PNG); ``data`` None is the embedded SynthPeople (rendered once into the cache)."""

    if not folders:
        raise ReidBenchError("give at least one LABEL=FOLDER of generated images.")
    if count < 1:
        raise ReidBenchError(f"the figure needs at least one pair, not {count}.")
    if data is None:

        data = embedded_root()
    dataset = load_dataset(data)
    pairs = shared_pairs({label: Path(folder) for label, folder in folders.items()}, dataset)
    keys = list(pairs)
    sources, poses, targets = [], [], []
    generated: dict[str, list[Path]] = {label: [] for label in folders}
    pose_kind = ""
    for source, target in (keys[i] for i in evenly_spaced(count, len(keys))):
        images = pairs[(source, target)]
        sources.append(dataset.image_path(source))
        picture, pose_kind = target_pose_picture(dataset, target, next(iter(images.values())).size)
        poses.append(picture)
        targets.append(dataset.image_path(target))
        for label, image in images.items():
            generated[label].append(image.path)
    columns = [sources, poses, targets, *generated.values()]
    titles = ["source", pose_kind, "target", *folders]
    return plot_image_grid(columns, out, titles=titles)
