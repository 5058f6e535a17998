"""Shared services that several layers rely on: one seed schedule, one parsing palette, one fit set
for the rankers of a model, and a wheel that carries its package data."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from reid_bench import seeds
from reid_bench.data.synth import SynthConfig, render_dataset
from reid_bench.data.vocabulary import LIP_PALETTE, NUM_PARSING_LABELS, colour_parsing
from reid_bench.generators.samples import render_parsing
from reid_bench.generators.training import StepBatchSampler
from reid_bench.reid.train import seed_for_epoch

REPO = Path(__file__).resolve().parents[1]


def test_both_training_loops_follow_the_one_seed_schedule() -> None:
    assert seed_for_epoch(7, 3) == seeds.derived(7, 3) == 7 * 1_000_003 + 3
    assert seeds.derived(2**62, 1) < 2**63 and seeds.for_rank(5, 0) == 5 != seeds.for_rank(5, 1)
    sampler = StepBatchSampler(size=20, batch_size=4, seed=7, start=5, total=10)  # epoch 1 of 5 steps each
    expected = torch.randperm(20, generator=torch.Generator().manual_seed(seeds.derived(7, 1))).tolist()
    assert [index for batch in sampler for index in batch] == expected


def test_every_parsing_picture_uses_lip_palette(tmp_path: Path) -> None:
    labels = np.arange(NUM_PARSING_LABELS, dtype=np.uint8).reshape(4, 5)
    assert (colour_parsing(labels) == LIP_PALETTE[labels]).all()
    one_hot = torch.nn.functional.one_hot(torch.from_numpy(labels).long(), NUM_PARSING_LABELS).permute(2, 0, 1)
    grid_colours = ((render_parsing(one_hot[None].float())[0] + 1) * 127.5).round().permute(1, 2, 0).numpy()
    assert (grid_colours == LIP_PALETTE[labels]).all()  # the training loop's sample grids
    root = render_dataset(tmp_path / "synth", SynthConfig(identities=4), workers=1).root
    png = next((root / "parsing" / "bounding_box_train").glob("*.png"))
    with Image.open(png) as image:  # SynthPeople's parsing PNGs carry the same palette
        palette = np.array(image.getpalette()[: 3 * NUM_PARSING_LABELS]).reshape(-1, 3)
    assert (palette == LIP_PALETTE).all()


def test_a_built_wheel_carries_published_csv_and_tables_shows_its_rows(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(wheels), str(REPO)],
                   check=True, capture_output=True, timeout=600)
    (wheel,) = wheels.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        archive.extractall(tmp_path / "site")
    assert "reid_bench/results/published.csv" in names
    assert {"reid_bench/generators/san.py", "reid_bench/baselines/pg2.py"} <= names  # one namespace
    assert not any(name.startswith(("generators/", "baselines/")) for name in names)
    results = tmp_path / "results"
    results.mkdir()
    (results / "results.csv").write_text(
        "dataset,generator,factor,trainer,ranker,seed,rank1,rank5,rank10,mAP,mINP,n_real,n_generated,preset,"
        "pretrained,perceptual,recipe,config_hash,commit,started,wall_s\n"
        "market1501,none,1,ide,euclidean,1,70.0,80.0,90.0,50.0,20.0,100,0,market,true,n/a,n/a,c0,x,"
        "2026-01-01T00:00:00+00:00,1.0\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "site")}
    done = subprocess.run([sys.executable, "-c", "import reid_bench, sys; from reid_bench.cli import main; "
                           "print(reid_bench.__file__); sys.exit(main(['tables', sys.argv[1]]))", str(results)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(str(tmp_path / "site"))  # the installed copy, not the source tree
    table = (results / "tables" / "reid_table.md").read_text()
    assert "*published:*" in table  # the shipped numbers, beside ours
