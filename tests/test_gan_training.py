"""The GAN training loop (generators/training.py) on a tiny SAN and 8 fixed pairs
(SynthPeople for the learning test, in-memory synthetic pairs for the mechanics)."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import torchvision
from generators_fixtures import SyntheticPairs
from PIL import Image
from plain_presets import PLAIN_QUICK

from reid_bench import generators
from reid_bench.data import PoseTransferPairs, load_dataset
from reid_bench.data.synth import SynthConfig, render_dataset
from reid_bench.errors import ReidBenchError
from reid_bench.generators import checkpoints
from reid_bench.generators.generate import generate
from reid_bench.generators.run_config import configure
from reid_bench.generators.training import LossLog, StepBatchSampler, train
from reid_bench.records import read_run_record

pytestmark = pytest.mark.usefixtures("one_thread", "no_vgg")

TINY = {"channels": 8, "blocks": 2}


def tiny_config(steps: int, **settings: Any):
    settings = {"batch_size": 8, "image_size": None, "log_every": 10, "sample_every": 1000,
                "checkpoint_every": 1000, **settings}
    return configure("san", data="synthetic", preset=PLAIN_QUICK.generator, options=TINY, steps=steps, **settings)


def rows(out: Path) -> list[dict[str, str]]:
    with open(out / "losses.csv", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def synthpeople(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("synth") / "synthpeople"
    render_dataset(root, SynthConfig(identities=4, seed=0), workers=1)
    return root


def eight_pairs(root: Path, generator: str) -> list[dict]:
    """8 fixed training pairs at 32x16 with what ``generator`` needs, kept in memory."""
    pairs = PoseTransferPairs(load_dataset(root), "train", needs=generators.get(generator).needs, image_size=(32, 16))
    return [pairs[i] for i in range(8)]


@pytest.fixture(scope="module")
def eight_synthpeople_pairs(synthpeople: Path) -> list[dict]:
    return eight_pairs(synthpeople, "san")


def test_two_hundred_steps_halve_the_l1_loss(tmp_path: Path, eight_synthpeople_pairs: list[dict]) -> None:
    result = train(tiny_config(200), eight_synthpeople_pairs, tmp_path / "run", progress=False)
    assert result.finished and result.step == 200
    log = rows(result.out)
    assert [int(row["step"]) for row in log] == list(range(10, 201, 10))
    assert float(log[-1]["g_l1"]) < 0.5 * float(log[0]["g_l1"])
    assert float(log[-1]["lr"]) == 0  # linear decay to 0
    model = generators.load(result.generator)
    assert model.options["perceptual"] is False and model.meta["step"] == 200
    assert not (result.out / "checkpoints").exists()


def test_resume_continues_exactly(tmp_path: Path) -> None:
    config = tiny_config(12, log_every=3)
    straight = train(config, SyntheticPairs(8), tmp_path / "straight", progress=False)
    half = train(config, SyntheticPairs(8), tmp_path / "resumed", stop_at=6, progress=False)
    assert not half.finished and half.step == 6 and (half.out / "checkpoints" / "latest.pt").exists()
    resumed = train(config, SyntheticPairs(8), tmp_path / "resumed", progress=False)
    assert resumed.finished and read_run_record(resumed.out / "run.json")["config"]["resumed_from"] == 6
    a, b = (checkpoints.read(r.generator)["state_dict"] for r in (straight, resumed))
    assert all(torch.equal(a[key], b[key]) for key in a)
    assert [row["step"] for row in rows(resumed.out)] == [row["step"] for row in rows(straight.out)]


class InterruptedPairs(SyntheticPairs):
    """Raises KeyboardInterrupt once, on the ``at``-th item fetched (like Ctrl-C mid-run)."""

    def __init__(self, at: int) -> None:
        super().__init__(8)
        self.fetched, self.at = 0, at

    def __getitem__(self, index: int) -> dict:
        self.fetched += 1
        if self.fetched == self.at:
            raise KeyboardInterrupt
        return super().__getitem__(index)


def test_interrupted_run_saves_and_the_same_call_resumes(tmp_path: Path) -> None:
    config = tiny_config(10)
    straight = train(config, SyntheticPairs(8), tmp_path / "straight", progress=False)
    pairs = InterruptedPairs(at=8 + 8 * 7 + 3)  # 8 fetched for the sample grid, then step 8's batch
    with pytest.raises(KeyboardInterrupt):
        train(config, pairs, tmp_path / "run", progress=False)
    assert checkpoints.read(tmp_path / "run" / "checkpoints" / "latest.pt")["step"] == 7
    resumed = train(config, pairs, tmp_path / "run", progress=False)
    a, b = (checkpoints.read(r.generator)["state_dict"] for r in (straight, resumed))
    assert all(torch.equal(a[key], b[key]) for key in a)


def test_interrupt_inside_a_step_keeps_the_last_consistent_checkpoint(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    config = tiny_config(10, checkpoint_every=4)
    straight = train(config, SyntheticPairs(8), tmp_path / "straight", progress=False)
    san = type(generators.create("san", **TINY))
    original, calls = san.generator_losses, []

    def interrupted(self, *args):  # Ctrl-C after step 6's discriminator update
        calls.append(1)
        if len(calls) == 6:
            raise KeyboardInterrupt
        return original(self, *args)

    monkeypatch.setattr(san, "generator_losses", interrupted)
    with pytest.raises(KeyboardInterrupt):
        train(config, SyntheticPairs(8), tmp_path / "run", progress=False)
    assert checkpoints.read(tmp_path / "run" / "checkpoints" / "latest.pt")["step"] == 4
    monkeypatch.setattr(san, "generator_losses", original)
    resumed = train(config, SyntheticPairs(8), tmp_path / "run", progress=False)
    a, b = (checkpoints.read(r.generator)["state_dict"] for r in (straight, resumed))
    assert all(torch.equal(a[key], b[key]) for key in a)


def test_resuming_with_other_options_or_settings_fails_clearly(tmp_path: Path) -> None:
    train(tiny_config(4), SyntheticPairs(8), tmp_path / "run", stop_at=2, progress=False)
    other = configure("san", data="synthetic", preset=PLAIN_QUICK.generator, options={**TINY, "blocks": 3}, steps=4,
                      batch_size=8, image_size=None)
    with pytest.raises(ReidBenchError, match="blocks=2; you asked for blocks=3"):
        train(other, SyntheticPairs(8), tmp_path / "run", progress=False)
    with pytest.raises(ReidBenchError, match="other settings \\(batch_size"):
        train(tiny_config(4, batch_size=4), SyntheticPairs(8), tmp_path / "run", progress=False)


def test_sample_grid_is_written(tmp_path: Path) -> None:
    result = train(tiny_config(4, sample_every=2, sample_count=3), SyntheticPairs(8), tmp_path / "run", progress=False)
    grids = sorted((result.out / "samples").glob("*.png"))
    assert [grid.name for grid in grids] == ["step_0000002.png", "step_0000004.png"]
    with Image.open(grids[-1]) as image:
        assert image.size == (2 + 4 * (16 + 2), 2 + 3 * (32 + 2))  # 4 columns x 3 pairs of 32x16


def test_quick_preset_records_perceptual_off(tmp_path: Path) -> None:
    config = tiny_config(2)
    assert config.perceptual.startswith("off (vgg19 weights missing")
    result = train(config, SyntheticPairs(8), tmp_path / "run", progress=False)
    run = read_run_record(result.out / "run.json")["config"]
    assert run["perceptual"] == config.perceptual and run["options"]["perceptual"] is False
    assert checkpoints.read(result.generator)["meta"]["perceptual"] == config.perceptual
    assert "g_perceptual" not in rows(result.out)[0]


def test_market_preset_stops_without_vgg() -> None:
    with pytest.raises(ReidBenchError, match="preset 'market' trains with the perceptual loss: vgg19-dcbb9e9d.pth"):
        configure("san", data="synthetic", preset="market")
    assert configure("san", data="synthetic", preset="market", options={"perceptual": False}).perceptual == \
        "off (perceptual=False)"


def test_perceptual_term_with_a_stand_in_vgg_file(tmp_path: Path) -> None:
    """A random-weights STAND-IN for vgg19-dcbb9e9d.pth: exercises the code path, measures nothing."""

    features = torchvision.models.vgg19(weights=None).features[:4]
    stand_in = tmp_path / "random-vgg19-STAND-IN.pth"
    torch.save({f"features.{key}": value for key, value in features.state_dict().items()}, stand_in)
    config = configure("san", data="synthetic", preset=PLAIN_QUICK.generator, options=TINY, vgg_weights=str(stand_in),
                       steps=2, batch_size=8, image_size=None, log_every=1)
    assert config.perceptual == "on (relu1_2)" and config.vgg_weights == str(stand_in)
    result = train(config, SyntheticPairs(8), tmp_path / "run", progress=False)
    assert float(rows(result.out)[0]["g_perceptual"]) > 0


def test_batches_depend_only_on_seed_and_step() -> None:
    straight = list(StepBatchSampler(10, 4, seed=3, start=0, total=9))
    assert list(StepBatchSampler(10, 4, seed=3, start=5, total=9)) == straight[5:]
    assert len(straight) == 9 and all(len(batch) == 4 for batch in straight)
    assert sorted(sum(straight[:2], [])) != list(range(8))  # shuffled
    assert len(set(sum(straight[:2], []))) == 8  # without repetition inside an epoch


def test_loss_log_drops_rows_written_after_the_last_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "losses.csv"
    path.write_text("step,lr,seconds,g_l1\n10,1,1.0,0.5\n20,1,2.0,0.4\n30,1,3.0,0.3\n")
    log = LossLog(path, resume_step=20)
    log.add({"g_l1": torch.tensor(0.2)})
    log.add({"g_l1": torch.tensor(0.4)})
    assert log.write(25, lr=0.5) == {"g_l1": pytest.approx(0.3)}
    steps = [(row["step"], row["g_l1"]) for row in rows(tmp_path)]
    assert steps == [("10", "0.5"), ("20", "0.4"), ("25", "0.3")]


def test_a_generator_without_discriminators_trains_without_a_discriminator_step(tmp_path: Path,
                                                                                 synthpeople: Path) -> None:
    config = configure("vunet", data="synthetic", preset=PLAIN_QUICK.generator, steps=4, batch_size=4, image_size=None,
                       log_every=2, sample_every=1000, checkpoint_every=2,
                       options={"channels": 4, "max_channels": 8, "scales": 4, "perceptual": False})
    pairs = eight_pairs(synthpeople, "vunet")
    result = train(config, pairs, tmp_path / "run", progress=False, stop_at=2)
    state = torch.load(result.out / "checkpoints" / "latest.pt", weights_only=False)
    assert set(state["optimizers"]) == {"g"} and state["discriminators"] == {}
    assert not any(column.startswith("d_") for column in rows(result.out)[0])
    result = train(config, pairs, tmp_path / "run", progress=False)
    assert result.finished and [int(row["step"]) for row in rows(result.out)] == [2, 4]


def test_channels_last_changes_speed_not_results(tmp_path: Path, eight_synthpeople_pairs: list[dict]) -> None:
    """NHWC training and generation compute the same function, up to summation order."""
    trained, losses = {}, {}
    for layout in (True, False):
        result = train(tiny_config(5, channels_last=layout, log_every=1), eight_synthpeople_pairs,
                       tmp_path / str(layout), progress=False)
        trained[layout], losses[layout] = generators.load(result.generator), rows(result.out)
    first = {layout: float(losses[layout][0]["g_total"]) for layout in losses}  # before any update
    assert first[True] == pytest.approx(first[False], rel=1e-5)
    torch.manual_seed(0)
    start = generators.create("san", **tiny_config(5).options).state_dict()
    moved = sum((trained[False].state_dict()[k].float() - start[k].float()).norm() ** 2 for k in start) ** 0.5
    apart = sum((trained[True].state_dict()[k].float() - trained[False].state_dict()[k].float()).norm() ** 2
                for k in start) ** 0.5
    assert apart < 0.01 * moved, (float(apart), float(moved))
    images = {}
    for layout in (True, False):
        generate(trained[False], eight_synthpeople_pairs, tmp_path / f"images-{layout}", channels_last=layout,
                 progress=False)
        images[layout] = [np.asarray(Image.open(p), dtype=int)
                          for p in sorted((tmp_path / f"images-{layout}").iterdir())]
    assert len(images[True]) == 8
    assert max(np.abs(a - b).max() for a, b in zip(images[True], images[False])) <= 1  # uint8 rounding only


def test_the_cpu_loop_keeps_the_pairs_decoded_images(tmp_path: Path, synthpeople: Path) -> None:
    needs = generators.get("san").needs
    pairs = PoseTransferPairs(load_dataset(synthpeople), "train", needs=needs, image_size=(32, 16))
    assert pairs.kept is None
    train(tiny_config(3), pairs, tmp_path / "run", progress=False)
    assert pairs.kept  # the loop read its batches in this process and kept what it decoded
    assert set(pairs.kept) <= {image.name for pair in pairs.pairs for image in pair}
