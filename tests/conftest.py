"""Shared fixtures: tiny hand-made dataset folders written with PIL (no real data needed)."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image

from reid_bench import accel
from reid_bench.data.synth import SynthConfig, render_dataset

MARKET_SAMPLE = Path(__file__).resolve().parent / "data" / "market1501"  # see its PROVENANCE.md
FULL_MARKET = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "market1501"
SIZE = (128, 64)  # (H, W), Market-1501's size

# A standing person on a 128x64 image, (y, x) in COCO-OpenPose order.
STANDING_POSE = np.array([
    [14, 32], [26, 32], [26, 22], [44, 20], [60, 20], [26, 42], [44, 44], [60, 44], [64, 26],
    [88, 26], [112, 26], [64, 38], [88, 38], [112, 38], [12, 34], [12, 30], [14, 37], [14, 27],
])
NO_POSE = np.full((18, 2), -1)

MARKET_TRAIN = [
    "0002_c1s1_000101_01.jpg", "0002_c2s1_000201_01.jpg", "0007_c1s1_000301_01.jpg",
    "0007_c3s1_000401_01.jpg", "0011_c2s1_000501_01.jpg", "0011_c6s1_000601_01.jpg",
]
MARKET_QUERY = ["0003_c1s1_001001_00.jpg", "0005_c2s1_001101_00.jpg"]
MARKET_TEST = [
    "0003_c2s1_002001_01.jpg", "0003_c4s1_002101_02.jpg", "0005_c1s1_002201_01.jpg",
    "0005_c5s1_002301_01.jpg", "0000_c1s1_002401_03.jpg", "-1_c3s1_002501_04.jpg",
]
NO_POSE_IMAGE = "0011_c6s1_000601_01.jpg"  # its keypoint row is all -1
NO_PARSING_IMAGE = "0005_c5s1_002301_01.jpg"  # it has no parsing PNG
MARKET_PAIRS = {
    "train": [(MARKET_TRAIN[0], MARKET_TRAIN[1]), (MARKET_TRAIN[2], MARKET_TRAIN[3]),
              (MARKET_TRAIN[4], MARKET_TRAIN[5])],
    "test": [(MARKET_TEST[0], MARKET_TEST[1]), (MARKET_TEST[2], MARKET_TEST[3])],
}


def write_image(path: Path, size: tuple[int, int] = SIZE, seed: int = 0) -> Path:
    """A noisy RGB JPEG of ``size`` (H, W)."""
    pixels = np.random.default_rng(seed).integers(0, 256, size=(*size, 3), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path, quality=90)
    return path


def parsing_labels(size: tuple[int, int] = SIZE) -> np.ndarray:
    """A crude LIP label map: face (13), upper clothes (5), pants (9) on background (0)."""
    h, w = size
    labels = np.zeros(size, dtype=np.uint8)
    labels[h // 26 : h // 5, w * 2 // 5 : w * 3 // 5] = 13
    labels[h // 5 : h // 2, w // 3 : w * 2 // 3] = 5
    labels[h // 2 : h * 9 // 10, w // 3 : w * 2 // 3] = 9
    return labels


def write_parsing(path: Path, labels: np.ndarray | None = None) -> Path:
    """A palettised PNG whose pixel values are the given labels."""
    png = Image.fromarray(parsing_labels() if labels is None else labels)  # "L", made "P" below
    png.putpalette([v for i in range(256) for v in (i * 12 % 256, i * 40 % 256, i * 90 % 256)])
    path.parent.mkdir(parents=True, exist_ok=True)
    png.save(path)
    return path


def write_keypoints_csv(path: Path, rows: dict[str, np.ndarray]) -> Path:
    lines = ["name:keypoints_y:keypoints_x"]
    lines += [f"{n}: {json.dumps(kp[:, 0].tolist())}: {json.dumps(kp[:, 1].tolist())}" for n, kp in rows.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def write_pairs_csv(path: Path, pairs: list[tuple[str, str]]) -> Path:
    path.write_text("from,to\n" + "".join(f"{a},{b}\n" for a, b in pairs))
    return path


def write_market(root: Path) -> Path:
    """The tiny Market-layout dataset described by the constants above; returns ``root``."""
    folders = {"bounding_box_train": MARKET_TRAIN, "query": MARKET_QUERY, "bounding_box_test": MARKET_TEST}
    for seed, (folder, names) in enumerate(folders.items()):
        for i, name in enumerate(names):
            write_image(root / folder / name, seed=10 * seed + i)
            if folder != "query" and name != NO_PARSING_IMAGE:
                write_parsing(root / "parsing" / folder / (Path(name).stem + ".png"))
    (root / "bounding_box_train" / "Thumbs.db").write_bytes(b"not an image")
    poses = {name: (NO_POSE if name == NO_POSE_IMAGE else STANDING_POSE) for name in MARKET_TRAIN}
    write_keypoints_csv(root / "market-annotation-train.csv", poses)
    write_keypoints_csv(root / "market-annotation-test.csv", {n: STANDING_POSE for n in MARKET_TEST})
    write_keypoints_csv(root / "market-annotation-query.csv", {n: STANDING_POSE for n in MARKET_QUERY})
    for split, pairs in MARKET_PAIRS.items():
        write_pairs_csv(root / f"market-pairs-{split}.csv", pairs)
    return root


@pytest.fixture
def real_market() -> Path:
    """The vendored sample of the real Market-1501 side files: every training keypoint row of 120
    identities and the first 1,000 standard test pairs (tests/data/market1501/PROVENANCE.md)."""
    return MARKET_SAMPLE


@pytest.fixture
def full_market() -> Path:
    """The full real side files (12,936 keypoint rows, 12,000 test pairs) in ../shared beside the clone."""
    if not (FULL_MARKET / "market-annotation-train.csv").is_file():
        pytest.skip(f"needs the full real Market-1501 side files in {FULL_MARKET} (PATN's "
                    "market-annotation-train.csv and market-pairs-test.csv; see tests/data/market1501/PROVENANCE.md); "
                    "the vendored sample covers every other test")
    return FULL_MARKET


@pytest.fixture
def market_dir(tmp_path: Path) -> Path:
    """A tiny complete Market-1501-layout folder: images, parsing, keypoints and pairs."""
    return write_market(tmp_path / "market")


@pytest.fixture
def data_files() -> SimpleNamespace:
    """The writers and constants above, for tests that build or spoil their own folders."""
    return SimpleNamespace(
        SIZE=SIZE, STANDING_POSE=STANDING_POSE, NO_POSE=NO_POSE, MARKET_TRAIN=MARKET_TRAIN,
        MARKET_QUERY=MARKET_QUERY, MARKET_TEST=MARKET_TEST, MARKET_PAIRS=MARKET_PAIRS,
        NO_POSE_IMAGE=NO_POSE_IMAGE, NO_PARSING_IMAGE=NO_PARSING_IMAGE,
        write_image=write_image, write_parsing=write_parsing, parsing_labels=parsing_labels,
        write_keypoints_csv=write_keypoints_csv, write_pairs_csv=write_pairs_csv, write_market=write_market,
    )


@pytest.fixture(autouse=True)
def portable_precision(monkeypatch) -> None:
    """Every test runs ``amp="auto"`` in fp32, whatever the CPU: on a CPU with native bf16 (AMX,
    AVX512-BF16) ``auto`` would pick bf16, and results would depend on the machine. The bf16 path
    is tested explicitly (``amp="bf16"``) in test_accel.py."""

    monkeypatch.setattr(accel, "native_cpu_bf16", lambda: False)


@pytest.fixture
def one_thread():
    """Tiny convolutions run faster on one thread, whatever else the machine is doing."""

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def no_vgg(tmp_path: Path, monkeypatch) -> None:
    """An empty torch hub cache, as on a machine without VGG-19."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))


@pytest.fixture(scope="session")
def people(tmp_path_factory) -> Path:
    """A tiny SynthPeople render (4 identities), shared by the generator tests."""

    return render_dataset(tmp_path_factory.mktemp("synth") / "people", SynthConfig(identities=4), workers=1).root
