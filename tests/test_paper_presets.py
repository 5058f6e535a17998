"""The paper presets end to end, shrunk, on the CPU: the first day of a researcher with a GPU.

Each test takes a folder in the real layout (tests/paper_fixtures.py), prepares it with
``reid-bench data prepare`` and runs ``reid-bench run`` under the paper preset with overrides of
length only (``generator.steps``, ``--reid-epochs``, ``reid.fixbase_epochs``): the paper's SAN (64
channels, 5 blocks, its loss weights and image size), the perceptual term, ResNet-50 at the
preset's input size, the Re-ID recipe, evaluation and result rows.

- ``market``: the issue's Market-1501 folder (real names and keypoint rows, no parsing), parsing
  drawn from the keypoints, under two gloo processes (``reid-bench --nproc 2``), IDE with its three
  protocols, ResNet-50 from random weights (no ImageNet file offline; recorded ``pretrained=false``).
- ``deepfashion``: PATN's DeepFashion layout, a parser's PNGs imported, in one process, Siamese,
  ResNet-50 from a STAND-IN weights file so that the fixbase epoch (backbone frozen) runs.

The two trainers are split between the presets to keep the suite short; each runs its full code
path once. VGG-19 and ResNet-50 are STAND-INS (random tensors of torchvision's shapes, given by
path): they test the code path, never a number.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torchvision
from generators_fixtures import write_stand_in_vgg
from paper_fixtures import write_deepfashion, write_real_market

from reid_bench.cli import main
from reid_bench.records import read_run_record
from reid_bench.reid.train import read_checkpoint
from reid_bench.results import read_rows

pytestmark = pytest.mark.usefixtures("no_vgg")


@pytest.fixture(scope="module")
def stand_ins(tmp_path_factory) -> dict[str, Path]:
    """STAND-IN weights files: VGG-19's first two convs (relu1_2) and a whole ResNet-50, random."""
    folder = tmp_path_factory.mktemp("stand-ins")
    torch.manual_seed(0)
    resnet = {key: value.half() if value.is_floating_point() else value
              for key, value in torchvision.models.resnet50(weights=None).state_dict().items()}
    torch.save(resnet, folder / "stand-in-resnet50.pth")
    return {"vgg": write_stand_in_vgg(folder / "stand-in-vgg19.pth", 2), "resnet50": folder / "stand-in-resnet50.pth"}


def _generator_record(cache: Path) -> dict:
    (path,) = (cache / "generators").glob("san-*/run.json")
    return read_run_record(path)


def test_market_preset_under_two_gloo_processes(tmp_path: Path, stand_ins: dict[str, Path], capsys) -> None:
    base = write_real_market(tmp_path / "market")
    assert main(["data", "prepare", str(base), "--parsing", "keypoints"]) == 0
    assert re.search(r"\n  san +ready: 8 training pairs\n", capsys.readouterr().out)
    cache, out = tmp_path / "cache", tmp_path / "out"
    env = {**os.environ, "REID_BENCH_CACHE": str(cache), "TORCH_HOME": str(tmp_path / "torch")}
    command = [sys.executable, "-m", "reid_bench", "--nproc", "2", "run", "--generator", "san", "--factor", "2",
               "--data", str(base), "--preset", "market", "--set", "generator.steps=1", "--reid-epochs", "1",
               "--trainers", "ide", "--vgg-weights", str(stand_ins["vgg"]), "--out", str(out)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("preset: market") == 1  # rank 0 alone prints
    assert done.stdout.count("san augmentation, K=2") == 1  # and reports once

    rows = read_rows(out / "results.csv")  # rank 0 alone writes: each row once
    assert sorted((row.generator, row.ranker) for row in rows) == sorted(
        (generator, ranker) for generator in ("none", "san") for ranker in ("euclidean", "xqda", "kissme"))
    for row in rows:
        assert (row.dataset, row.preset, row.trainer, row.pretrained, row.n_real) == ("market1501", "market", "ide",
                                                                                      False, 8)
        if row.generator == "san":
            assert (row.n_generated, row.perceptual) == (8, "on (relu1_2)")
            assert row.recipe == "parsing=keypoints;mask=keypoints"  # the stand-in parsing, never silently
        else:
            assert (row.n_generated, row.recipe) == (0, "n/a")

    generator = _generator_record(cache)
    options, settings = generator["config"]["options"], generator["config"]["settings"]
    assert (options["channels"], options["blocks"], options["alpha"], options["beta"], options["gamma"]) == (
        64, 5, 10.0, 15.0, 5.0)
    assert (settings["image_size"], settings["batch_size"], settings["epoch_pairs"]) == ([128, 64], 32, 4000)
    assert generator["config"]["inputs"] == {"parsing": "keypoints", "mask": "keypoints"}
    assert generator["environment"]["processes"] == 2 and generator["outcome"]["finished_step"] == 1
    for path in (cache / "reid").glob("*/run.json"):
        record = read_run_record(path)
        reid = record["config"]["settings"]
        assert (record["config"]["backbone"], reid["height"], reid["width"]) == ("resnet50", 256, 128)
        assert record["config"]["pretrained"] is False and record["environment"]["processes"] == 2


def test_deepfashion_preset_with_a_fixbase_epoch(tmp_path: Path, stand_ins: dict[str, Path], monkeypatch,
                                                 capsys) -> None:
    monkeypatch.setenv("REID_BENCH_CACHE", str(tmp_path / "cache"))
    base = write_deepfashion(tmp_path / "fashion")
    root = base / "fashion_data"
    assert main(["data", "prepare", str(root), "--parsing", str(base / "schp")]) == 0
    assert "parsing: imported from" in capsys.readouterr().out
    out = tmp_path / "out"
    assert main(["run", "--generator", "san", "--factor", "2", "--data", str(root), "--preset", "deepfashion",
                 "--set", "generator.steps=1", "--reid-epochs", "1", "--set", "reid.fixbase_epochs=1",
                 "--trainers", "siamese", "--vgg-weights", str(stand_ins["vgg"]),
                 "--backbone-weights", str(stand_ins["resnet50"]), "--out", str(out), "--no-estimate"]) == 0
    ran = capsys.readouterr().out
    assert "san augmentation, K=2" in ran and "estimated time" not in ran  # the paper sizes' steps are not timed

    rows = read_rows(out / "results.csv")
    assert sorted(row.generator for row in rows) == ["none", "san"]
    for row in rows:
        assert (row.dataset, row.preset, row.trainer, row.ranker) == ("deepfashion", "deepfashion", "siamese",
                                                                      "euclidean")
        assert row.pretrained is True  # the STAND-IN file given by path, as a real ImageNet file would be
    assert next(row for row in rows if row.generator == "san").recipe == "default"  # a parser's parsing

    generator = _generator_record(tmp_path / "cache")
    options, settings = generator["config"]["options"], generator["config"]["settings"]
    assert (options["channels"], options["blocks"], options["alpha"], options["beta"], options["gamma"]) == (
        64, 5, 15.0, 1.0, 5.0)
    assert (settings["image_size"], settings["batch_size"]) == ([256, 256], 8)
    checkpoints = list((tmp_path / "cache" / "reid").glob("*/checkpoint.pt"))
    assert len(checkpoints) == 2
    for path in checkpoints:
        state = read_checkpoint(path)
        assert state["frozen_epochs"] == 1 and state["pretrained"] is True  # fixbase: the backbone was frozen
        assert (state["settings"]["height"], state["settings"]["width"]) == (256, 176)
