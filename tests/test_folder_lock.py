"""Two processes never train into one folder at once: the second stops with one sentence."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from generators_fixtures import SyntheticPairs
from plain_presets import PLAIN_QUICK
from test_reid_toydata import make_toy_market, read_split

from reid_bench.errors import ReidBenchError
from reid_bench.generators.run_config import configure
from reid_bench.generators.training import train
from reid_bench.reid import train_reid
from reid_bench.storage import LOCK_NAME, exclusive_folder

HOLD = """
import sys, time
from reid_bench.storage import exclusive_folder
with exclusive_folder(sys.argv[1], "a test model"):
    print("locked", flush=True)
    time.sleep(60)
"""


def test_a_second_writer_is_refused_while_the_first_holds_the_folder(tmp_path: Path) -> None:
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(ReidBenchError, match=rf"{tmp_path} is in use: process {holder.pid} is writing "
                                                 r"a test model into it; wait for it to finish "
                                                 r"or give another --out for another model"):
            with exclusive_folder(tmp_path, "another model"):
                pass
    finally:
        holder.kill()
        holder.wait()
    with exclusive_folder(tmp_path, "a model after the holder died"):  # a killed holder leaves no lock behind
        assert (tmp_path / LOCK_NAME).is_file()
    assert not (tmp_path / LOCK_NAME).exists()  # removed when released


def test_the_trainers_refuse_a_folder_another_process_trains_into(tmp_path: Path, people: Path) -> None:
    busy = tmp_path / "busy"
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(busy)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        root = make_toy_market(tmp_path / "toy", train_ids=3, test_ids=2, per_camera=2)
        settings = PLAIN_QUICK.reid.replace(backbone="tiny", height=64, width=32, batch_size=8, epochs=1)
        with pytest.raises(ReidBenchError, match="is in use"):
            train_reid(read_split(root / "bounding_box_train"), "ide", settings, busy, seed=0)
        config = configure("pg2", data=str(people), preset=PLAIN_QUICK.generator, steps=1, batch_size=2,
                           image_size=None)
        with pytest.raises(ReidBenchError, match="is in use"):
            train(config, SyntheticPairs(2), busy, progress=False)
        assert not (busy / "checkpoint.pt").exists() and not (busy / "generator.pt").exists()
    finally:
        holder.kill()
        holder.wait()
