"""Dataset folders in the real layouts, small enough for the CPU, for the paper-preset tests.

- :func:`write_real_market`: a Market-1501-v15.09.15/ folder as a researcher has it, with real file
  names and real keypoint rows (every one copied from the vendored sample of PATN's
  ``market-annotation-train.csv``, tests/data/market1501/PROVENANCE.md) and PATN-style side files,
  but no ``parsing/``, no masks and no pairs files (``reid-bench data prepare`` makes those). The
  images are SynthPeople renders mapped onto the real names (one rendered training identity per
  real training identity, one rendered test identity per real test identity), so pixels and
  keypoints do not belong together; the tests use it for code paths, never for image quality.
  Query and gallery names are real bounding_box_test names from the vendored test pairs (the
  vendored sample holds no query names; Market-1501's name format is the same).
- :func:`write_deepfashion`: PATN's DeepFashion layout (``train/``, ``test/``,
  ``fasion-annotation-{train,test}.csv``, names like ``fashionWOMENDressesid0000000101_1front.jpg``)
  rendered by SynthPeople at DeepFashion's 256x176, with SynthPeople's exact keypoints, no pairs,
  and the exact parsing in a separate folder laid out as a human parser writes it (flat
  ``<stem>.png``), to be imported with ``data prepare --parsing``.

Neither holds anything from outside the repository.
"""

from __future__ import annotations

import json
import shutil
from collections import defaultdict
from pathlib import Path

import numpy as np

from reid_bench.data.formats import read_keypoints_csv, read_pairs_csv
from reid_bench.data.market import parse_market_name
from reid_bench.data.patn_pairs import takes_part
from reid_bench.data.synth import SynthConfig, render_dataset

MARKET_SAMPLE = Path(__file__).resolve().parent / "data" / "market1501"
VIEWS = ("1front", "2side", "3back", "4full")


def _rendered(root: Path, folder: str) -> dict[str, list[str]]:
    """Rendered image names of ``folder`` by person id (sorted), person images only."""
    by_pid: dict[str, list[str]] = defaultdict(list)
    for path in sorted((root / folder).iterdir()):
        pid = path.name.split("_")[0]
        if pid not in ("0000", "-1"):
            by_pid[pid].append(path.name)
    return dict(by_pid)


def _keypoint_lines(rows: dict[str, np.ndarray]) -> str:
    lines = ["name:keypoints_y:keypoints_x"]
    lines += [f"{name}: {json.dumps(p[:, 0].tolist())}: {json.dumps(p[:, 1].tolist())}" for name, p in rows.items()]
    return "\n".join(lines) + "\n"


def write_real_market(base: Path, identities: int = 4, per_id: int = 2, test_identities: int = 2) -> Path:
    """``base/Market-1501-v15.09.15/`` (module docstring): ``identities`` real training identities with
    ``per_id`` images each, from different cameras, whose keypoints pass PATN's pair rule, and ``test_identities`` test
    identities with one query and two gallery images from other cameras. Returns ``base``."""
    rows = read_keypoints_csv(MARKET_SAMPLE / "market-annotation-train.csv")
    chosen: dict[str, list[str]] = {}
    for name, points in rows.items():
        pid, camera = name.split("_")[0], name.split("_")[1][:2]
        room = pid in chosen or len(chosen) < identities
        other_camera = camera not in {taken.split("_")[1][:2] for taken in chosen.get(pid, [])}  # XQDA, KISSME
        if takes_part(name, points) and room and other_camera and len(chosen.get(pid, [])) < per_id:
            chosen.setdefault(pid, []).append(name)
    chosen = {pid: names for pid, names in chosen.items() if len(names) == per_id}
    assert len(chosen) == identities, "the vendored sample has fewer identities than asked for"
    tests: dict[int, list[str]] = defaultdict(list)
    for pair in read_pairs_csv(MARKET_SAMPLE / "market-pairs-test.csv"):
        for name in pair:
            pid, camid = parse_market_name(name, MARKET_SAMPLE)
            if pid > 0 and name not in tests[pid] and camid not in {parse_market_name(n, MARKET_SAMPLE)[1]
                                                                    for n in tests[pid]}:
                tests[pid].append(name)
    test_names = [names[:3] for names in tests.values() if len(names) >= 3][:test_identities]

    render = render_dataset(base / "render", SynthConfig(identities=2 * max(identities, test_identities), seed=4),
                            workers=1).root
    root = base / "Market-1501-v15.09.15"
    train_renders = list(_rendered(render, "bounding_box_train").values())
    gallery_renders = list(_rendered(render, "bounding_box_test").values())
    query_renders = _rendered(render, "query")
    for (pid, names), renders in zip(chosen.items(), train_renders):
        for name, rendered in zip(names, renders):
            (root / "bounding_box_train").mkdir(parents=True, exist_ok=True)
            shutil.copyfile(render / "bounding_box_train" / rendered, root / "bounding_box_train" / name)
    for names, renders in zip(test_names, gallery_renders):
        query = query_renders[renders[0].split("_")[0]]
        (root / "query").mkdir(parents=True, exist_ok=True)
        (root / "bounding_box_test").mkdir(parents=True, exist_ok=True)
        shutil.copyfile(render / "query" / query[0], root / "query" / names[0])
        for name, rendered in zip(names[1:], renders):
            shutil.copyfile(render / "bounding_box_test" / rendered, root / "bounding_box_test" / name)
    train = {name: rows[name] for names in chosen.values() for name in names}
    (root / "market-annotation-train.csv").write_text(_keypoint_lines(train))
    shutil.rmtree(render)
    return base


def write_deepfashion(base: Path, train_items: tuple[int, ...] = (2, 1), test_items: tuple[int, ...] = (2, 1)) -> Path:
    """``base/fashion_data/`` and ``base/schp/`` (module docstring): one training item per entry of
    ``train_items`` with that many views, likewise for the test items. Returns ``base``."""
    count = max(len(train_items), len(test_items))
    render = render_dataset(base / "render", SynthConfig(identities=2 * count, seed=5, size=(256, 176)),
                            workers=1).root
    root, parser = base / "fashion_data", base / "schp"
    annotations = {split: read_keypoints_csv(render / f"annotation-{split}.csv") for split in ("train", "test")}
    rows: dict[str, dict[str, np.ndarray]] = {"train": {}, "test": {}}
    item = 0
    splits = (("train", "bounding_box_train", train_items), ("test", "bounding_box_test", test_items))
    for split, folder, items in splits:
        persons = [[name for name in names if takes_part(name, annotations[split][name])]
                   for names in _rendered(render, folder).values()]
        for views, rendered in zip(items, persons):
            item += 1
            for view, source in zip(VIEWS[:views], rendered):
                name = f"fashionWOMENDressesid{item:08d}01_{view}.jpg"
                (root / split).mkdir(parents=True, exist_ok=True)
                parser.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(render / folder / source, root / split / name)
                parsing = render / "parsing" / folder / (Path(source).stem + ".png")
                shutil.copyfile(parsing, parser / f"{Path(name).stem}.png")
                rows[split][name] = annotations[split][source]
    for split, split_rows in rows.items():
        (root / f"fasion-annotation-{split}.csv").write_text(_keypoint_lines(split_rows))
    shutil.rmtree(render)
    return base
