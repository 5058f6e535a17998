"""Pose-transfer pairs by PATN's rule, for a folder that has keypoints but no ``*pairs-*.csv``.

PATN (Zhu et al., CVPR 2019) made the Market-1501 and DeepFashion pair lists that PG2's successors
(Def-GAN, GFLA, SAN) train and test on with its ``tool/create_pairs_dataset.py``
(tengteng95/Pose-Transfer); read from that script, the rule is:

- an image takes part when both shoulders and both hips are visible (``Rsho``, ``Lsho``, ``Rhip``,
  ``Lhip``: neither coordinate is -1) and it is no distractor (its name starts with neither ``-1``
  nor ``0000``, Market-1501's junk and distractor ids);
- the person of an image is its name up to the first ``_`` (Market-1501's person id). On
  DeepFashion, whose category names can hold a ``_`` (``fashionWOMENBlouses_Shirtsid0000035501_4full``),
  that would join every item of a category, so there the person is the name without its view
  suffix: the item id with its outfit number (:func:`fashion_person_of`), one set of clothes;
- every ordered pair of two different images of one person is a pair (``itertools.permutations``),
  persons in the order they first appear in the keypoint file, images in file order;
- the test list is then sampled down to 12,000 pairs with seed 0, as pandas'
  ``DataFrame.sample(n=12000, random_state=0)`` does: the first 12,000 of numpy's
  ``RandomState(0).permutation`` of the pairs, in that order (checked against pandas 3).

On PATN's ``market-annotation-train.csv`` (12,936 rows) this gives exactly PATN's 263,632 training
pairs. Two differences, both stated: rows naming an image the split folder does not hold are left
out (PATN's script reads the keypoint file alone), and the train pairs come from the train
keypoints (PATN's released script reads ``market-annotation-test.csv`` for both lists, a slip the
pair files it published do not share).
"""

from __future__ import annotations

import json
from itertools import permutations
from pathlib import Path
from typing import Callable, Iterable, Mapping

import numpy as np

from reid_bench.data.pose_maps import visible
from reid_bench.data.vocabulary import KEYPOINT_NAMES
from reid_bench.storage import atomic_path

PATN_TEST_PAIRS = 12000
PATN_TEST_SEED = 0
REQUIRED_POINTS = tuple(KEYPOINT_NAMES.index(name) for name in ("Rhip", "Lhip", "Lsho", "Rsho"))
DISTRACTOR_PREFIXES = ("-1", "0000")
RECORD_NAME = "reid-bench-prepare.json"  # in a dataset's root: the pairs files reid-bench data prepare made


def takes_part(name: str, keypoints: np.ndarray) -> bool:
    """Whether an image enters PATN's pairs: both shoulders and hips visible, not a distractor."""
    return bool(visible(keypoints)[list(REQUIRED_POINTS)].all()) and not name.startswith(DISTRACTOR_PREFIXES)


def person_of(name: str) -> str:
    """PATN's person key: the name up to the first ``_``."""
    return name.split("_")[0]


def fashion_person_of(name: str) -> str:
    """A DeepFashion person: the name without its view suffix (item id and outfit number)."""
    return name.rsplit("_", 1)[0]


def patn_pairs(keypoints: Mapping[str, np.ndarray], names: Iterable[str] | None = None,
               person: Callable[[str], str] = person_of) -> list[tuple[str, str]]:
    """Every ordered pair within a person of the images that take part (module docstring).

    ``keypoints`` is a keypoint file's rows in file order; ``names`` (if given) the images that
    exist, the others being left out; ``person`` keys an image's person (:func:`fashion_person_of` on
    DeepFashion).
    """
    present = set(names) if names is not None else None
    persons: dict[str, list[str]] = {}
    for name, points in keypoints.items():
        if (present is None or name in present) and takes_part(name, points):
            persons.setdefault(person(name), []).append(name)
    return [pair for images in persons.values() for pair in permutations(images, 2)]


def sample_pairs(pairs: list[tuple[str, str]], count: int = PATN_TEST_PAIRS,
                 seed: int = PATN_TEST_SEED) -> list[tuple[str, str]]:
    """``count`` of ``pairs`` as ``DataFrame.sample(n=min(count, len(pairs)), random_state=seed)`` picks
    them: in the sampled order, so even a list of fewer than ``count`` pairs comes back shuffled."""
    return [pairs[i] for i in np.random.RandomState(seed).permutation(len(pairs))[:count]]


def note_made(root: Path, key: str, value: dict) -> None:
    """Add ``key`` (e.g. ``pairs-train``) to the root's ``reid-bench-prepare.json`` (atomically)."""
    path = Path(root) / RECORD_NAME
    record = json.loads(path.read_text()) if path.is_file() else {}
    record[key] = value
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")


def prepared_record(root: Path) -> dict:
    """What ``reid-bench-prepare.json`` in ``root`` says ``data prepare`` made (empty without it)."""
    path = Path(root) / RECORD_NAME
    return json.loads(path.read_text()) if path.is_file() else {}
