"""DeepFashion In-shop Clothes Retrieval, as PATN ships it, mapped onto :class:`ReidDataset`.

DeepFashion (Liu et al., CVPR 2016), In-shop benchmark, in the layout PATN (Zhu et al., CVPR
2019) prepares with its ``generate_fashion_datasets.py``: a root (``fashion_data/`` or the folder
given) with ``train/`` and ``test/`` folders of images such as
``fashionMENDenimid0000008001_1front.jpg`` (176x256 after PATN's crop, or 256x256), keypoints in
``fasion-annotation-{train,test}.csv`` (any ``*annotation-{train,test}.csv``) and pairs in
``fasion-pairs-{train,test}.csv``. The person (item) id is the 8 digits after ``id``
(``id00000080`` above); the digits after it number the outfit and the view.

DeepFashion has no cameras and no query/gallery split of its own, so this reader makes them:

- train: every image of ``train/``, pids relabelled 0..N-1 in sorted order of the id, camid the view
  number - 1 (``_1front`` 0, ``_2side`` 1, ``_3back`` 2, ``_4full`` 3, ...; 0 without one): XQDA and
  KISSME learn from same-identity pairs across cameras (Market-1501's baseline,
  :mod:`reid_bench.rankers.pairs`), which one camera for all would leave empty, so in training a
  view stands in for a camera;
- query: for each id of ``test/`` with at least two images, its first image in name order
  (usually the ``01_1front`` view), camid 0;
- gallery: every other image of ``test/`` (including ids with a single image, which act as
  distractors), camid 1 — so Market's rule "a gallery image of the query's id from the query's
  camera is not a match" never removes a true match.

Keypoint and pair splits are ``train`` (``train/``) and ``test`` (``test/``); there is no
``query`` annotation file.
"""

from __future__ import annotations

import re
from itertools import groupby
from pathlib import Path

from reid_bench.data.market import ImageRecord, ReidDataset, list_images, relabel
from reid_bench.errors import ReidBenchError

DEEPFASHION_FOLDERS = {"train": "train", "test": "test"}
ITEM_ID = re.compile(r"id(\d{8})")
VIEW = re.compile(r"_(\d+)[A-Za-z]*\.[A-Za-z]+$")  # _1front.jpg, _7additional.jpg
QUERY_CAMID, GALLERY_CAMID = 0, 1


def parse_deepfashion_name(name: str, folder: Path) -> int:
    """The item id of a PATN DeepFashion file name; ReidBenchError if it has none."""
    match = ITEM_ID.search(name)
    if match is None:
        raise ReidBenchError(
            f"{folder / name}: file name does not parse; PATN's DeepFashion names hold the item id "
            "as 'id' and 8 digits, e.g. fashionMENDenimid0000008001_1front.jpg."
        )
    return int(match.group(1))


def view_camid(name: str) -> int:
    """The view number - 1 of a PATN DeepFashion name (``..._2side.jpg`` -> 1); 0 without one."""
    match = VIEW.search(name)
    return max(0, int(match.group(1)) - 1) if match else 0


def _read_folder(folder: Path, camid: int | None) -> list[ImageRecord]:
    """The images of ``folder``, camid ``camid`` (None: :func:`view_camid`)."""
    return [ImageRecord(folder / n, parse_deepfashion_name(n, folder), view_camid(n) if camid is None else camid, n)
            for n in list_images(folder)]


def is_deepfashion(root: Path) -> bool:
    """True if ``root`` holds ``train/`` and ``test/`` (PATN's DeepFashion layout)."""
    return all((root / folder).is_dir() for folder in DEEPFASHION_FOLDERS.values())


def read_deepfashion(root: Path) -> ReidDataset:
    """Read PATN's DeepFashion layout in ``root`` (the folder holding ``train/`` and ``test/``)."""
    if not is_deepfashion(root):
        raise ReidBenchError(f"{root} lacks train/ or test/; PATN's DeepFashion layout needs both.")
    train, num_train_pids = relabel(_read_folder(root / DEEPFASHION_FOLDERS["train"], None))
    query: list[ImageRecord] = []
    gallery: list[ImageRecord] = []
    test = sorted(_read_folder(root / DEEPFASHION_FOLDERS["test"], GALLERY_CAMID), key=lambda r: (r.pid, r.name))
    for _, group in groupby(test, key=lambda r: r.pid):
        images = list(group)
        if len(images) > 1:
            query.append(images[0]._replace(camid=QUERY_CAMID))
            images = images[1:]
        gallery.extend(images)
    return ReidDataset(
        root=root,
        kind="deepfashion",
        train=train,
        query=query,
        gallery=gallery,
        num_train_pids=num_train_pids,
        folders=dict(DEEPFASHION_FOLDERS),
    )
