"""A toy Re-ID folder for the reid tests (Market-1501 layout), and checks of it.

Each identity wears an upper and a lower colour from a palette (a distinct pair per identity);
every image jitters position, brightness and noise, has two background blocks of palette colours,
and camera 2 adds a colour cast, so matching needs the body's colours, not the image's.
Train and test identities are disjoint.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
from PIL import Image

PALETTE = np.array([[220, 30, 30], [30, 180, 30], [40, 60, 220], [230, 220, 40], [240, 240, 240],
                    [20, 20, 20], [200, 60, 200], [40, 200, 210]], dtype=np.float32)
HEIGHT, WIDTH = 64, 32


def _person(rng: np.random.Generator, upper: np.ndarray, lower: np.ndarray, camid: int) -> Image.Image:
    image = rng.normal(128, 30, (HEIGHT, WIDTH, 3))
    for _ in range(2):  # background clutter in palette colours, which the body colours must beat
        y, x = rng.integers(0, HEIGHT - 16), rng.integers(0, WIDTH - 8)
        image[y:y + 16, x:x + 8] = PALETTE[rng.integers(len(PALETTE))]
    dy, dx = rng.integers(-3, 4, 2)
    top, left, right, waist, bottom = 6 + dy, 8 + dx, 24 + dx, 32 + dy, 60 + dy
    shade = rng.uniform(0.8, 1.2)
    image[top:waist, left:right] = upper * shade
    image[waist:bottom, left + 1:right - 1] = lower * shade
    if camid == 1:
        image = image * np.array([1.25, 0.9, 0.7])
    image += rng.normal(0, 12, image.shape)
    return Image.fromarray(np.clip(image, 0, 255).astype(np.uint8))


def make_toy_market(root: Path, train_ids: int = 8, test_ids: int = 8, per_camera: int = 3,
                    seed: int = 0) -> Path:
    """Write ``root`` in Market-1501 layout; returns ``root``.

    Train: ``per_camera`` images per camera (2 cameras). Test identities: 1 query in camera 1,
    ``per_camera`` gallery images in camera 2 and 1 in camera 1.
    """
    rng = np.random.default_rng(seed)
    # Identities come in swapped couples (red over blue, blue over red): colour alone does not
    # tell them apart, the arrangement does.
    couples = list(itertools.combinations(range(len(PALETTE)), 2))
    picked = rng.choice(len(couples), (train_ids + test_ids + 1) // 2, replace=False)
    pairs = [p for i in picked for p in (couples[i], couples[i][::-1])]
    chosen = range(train_ids + test_ids)
    folders = {name: root / name for name in ("bounding_box_train", "bounding_box_test", "query")}
    for folder in folders.values():
        folder.mkdir(parents=True, exist_ok=True)
    frame = itertools.count(1)
    for index, pair_index in enumerate(chosen):
        pid = index + 1
        upper, lower = (PALETTE[i] for i in pairs[pair_index])
        if index < train_ids:
            plan = [("bounding_box_train", c) for c in (0, 1) for _ in range(per_camera)]
        else:
            plan = [("query", 0), ("bounding_box_test", 0)] + [("bounding_box_test", 1)] * per_camera
        for folder, camid in plan:
            name = f"{pid:04d}_c{camid + 1}s1_{next(frame):06d}_00.jpg"
            _person(rng, upper, lower, camid).save(folders[folder] / name, quality=95)
    return root


def read_split(folder: Path) -> list[tuple[Path, int, int]]:
    """``(path, pid, camid)`` of a Market folder, camid 0-based (no dependency on reid_bench.data)."""
    return [(path, int(path.name[:4]), int(path.name[6]) - 1) for path in sorted(folder.glob("*.jpg"))]


def rank1(query: np.ndarray, gallery: np.ndarray, q: list, g: list) -> float:
    """Market rule: a gallery image of the query's pid and camera does not count."""
    distances = ((query[:, None, :] - gallery[None, :, :]) ** 2).sum(-1)
    hits = []
    for i, (_, pid, camid) in enumerate(q):
        valid = [j for j, (_, gp, gc) in enumerate(g) if not (gp == pid and gc == camid)]
        best = min(valid, key=lambda j: distances[i, j])
        hits.append(g[best][1] == pid)
    return float(np.mean(hits))


def test_toy_market_layout(tmp_path: Path) -> None:
    root = make_toy_market(tmp_path / "toy", train_ids=3, test_ids=2, per_camera=2)
    train = read_split(root / "bounding_box_train")
    assert len(train) == 3 * 2 * 2
    assert {pid for _, pid, _ in train} == {1, 2, 3}
    assert {camid for _, _, camid in train} == {0, 1}
    assert len(read_split(root / "query")) == 2
    assert len(read_split(root / "bounding_box_test")) == 2 * 3
    assert Image.open(train[0][0]).size == (WIDTH, HEIGHT)
