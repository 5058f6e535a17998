"""``reid-bench run ... --plan``: what the run would do (and the run then does it), the estimate from a
few timed steps, the paper presets' length, and the preset a GPU machine picks (CUDA faked: no
CUDA kernel runs here)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import torch
from paper_fixtures import write_deepfashion, write_real_market

import reid_bench.reid.train
import reid_bench.run.plan
from reid_bench.accel import cpu_name
from reid_bench.cli import main
from reid_bench.data.prepare import PrepareOptions, prepare_dataset
from reid_bench.data.synth import SynthConfig, render_dataset
from reid_bench.presets import parse_overrides
from reid_bench.run.pipeline import RunRequest, resolve_preset
from reid_bench.run.plan import plan_run, start_estimate

QUICK = ["--preset", "quick", "--no-recipe", "--set", "generator.steps=2", "--set", "reid.backbone=tiny",
         "--reid-epochs", "1"]


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory) -> Path:
    return render_dataset(tmp_path_factory.mktemp("plan") / "synth", SynthConfig(identities=6, seed=2), workers=1).root


@pytest.fixture(scope="module")
def paper_folders(tmp_path_factory) -> dict[str, Path]:
    """The issue's Market-1501 folder (no parsing) and PATN's DeepFashion folder, both prepared."""
    base = tmp_path_factory.mktemp("paper")
    market = write_real_market(base / "market")
    prepare_dataset(market, PrepareOptions(parsing="keypoints"), progress=False)
    fashion = write_deepfashion(base / "fashion")
    prepare_dataset(fashion / "fashion_data", PrepareOptions(parsing=str(fashion / "schp")), progress=False)
    return {"market": market, "deepfashion": fashion / "fashion_data"}


@pytest.fixture(autouse=True)
def own_cache(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("REID_BENCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))


def _steps(text: str, stage: str) -> int:
    """The total steps a plan line gives for ``stage`` (``ide none seed 1``)."""
    line = next(line for line in text.splitlines() if f". {stage}:" in line)
    return int(re.search(r"= ([\d,]+) steps", line).group(1).replace(",", ""))


def test_the_plan_is_what_the_run_then_does(tiny_data: Path, tmp_path: Path, capsys, monkeypatch) -> None:
    out = tmp_path / "results"
    args = ["run", "--generator", "identity", "--factor", "2", "--data", str(tiny_data), "--out", str(out),
            "--trainers", "ide", *QUICK]
    assert main([*args, "--plan", "--plan-steps", "0"]) == 0
    plan = capsys.readouterr().out
    assert "(nothing is trained)" in plan and "no step timed" in plan
    assert not (tmp_path / "cache" / "reid").exists() and not out.exists()  # nothing ran
    assert "result rows (" in plan and "6 new, 0 already there" in plan
    planned = _steps(plan, "ide none seed 1") + _steps(plan, "ide identity seed 1")
    generated = int(re.search(r"augmented set, seed 1: ([\d,]+) images", plan).group(1).replace(",", ""))

    steps = {"n": 0}
    real_set_lr = reid_bench.reid.train.set_lr

    def counting(*arguments, **keywords):
        steps["n"] += 1
        return real_set_lr(*arguments, **keywords)

    monkeypatch.setattr(reid_bench.reid.train, "set_lr", counting)
    assert main(args) == 0
    ran = capsys.readouterr().out
    assert steps["n"] == planned  # set_lr runs once per optimisation step (the estimate's timed steps are not)
    assert f"{generated} generated images" in ran
    assert ran.startswith("estimated time: ~ ") and "from one timed step of each network" in ran.splitlines()[0]

    assert main([*args, "--plan", "--plan-steps", "0"]) == 0
    again = capsys.readouterr().out
    assert "0 new, 6 already there" in again  # the plan computes the keys the run wrote
    assert "generator identity" in again and "cached, nothing to do" in again
    assert main(args) == 0  # every row on record: nothing left to train, so nothing to estimate
    assert "estimated time" not in capsys.readouterr().out


def _tiny_san(tiny_data: Path, tmp_path: Path) -> RunRequest:
    """A quick-preset SAN run at the smallest sizes, IDE only, on the CPU."""
    overrides = parse_overrides(["generator.steps=2", "reid.backbone=tiny", "model.channels=2", "model.blocks=1"],
                                ("generator", "reid", "model"), {"channels": int, "blocks": int})
    return RunRequest(generator="san", factor=2, data=str(tiny_data), preset="quick", out=tmp_path / "out",
                      trainers=("ide",), overrides=overrides, reid_epochs=1, device="cpu")


def test_the_estimate_comes_from_steps_timed_here(tiny_data: Path, tmp_path: Path) -> None:
    request = _tiny_san(tiny_data, tmp_path)
    plan = plan_run(request, timed_steps=1)
    text = str(plan)
    assert f"estimated time on cpu ({cpu_name()}, {torch.get_num_threads()} threads, fp32)" in text
    san, ide = plan.measured["san training step"], plan.measured["ide training step"]
    assert len(san.seconds) == 1 and san.warmup == 1 and san.batch == 8  # quick's batch of 8 pairs
    generator = plan.stages[0]
    assert generator.name == "generator san" and "2 steps at batch 8 (set as steps)" in generator.detail
    assert generator.seconds == pytest.approx(2 * san.per_call)
    real = next(stage for stage in plan.stages if stage.name == "ide none seed 1")
    steps = int(re.search(r"= ([\d,]+) steps", real.detail).group(1))
    assert real.seconds > steps * ide.per_call > 0  # the steps, then the features of every image
    assert "measured on this device" in text and "1 warm-up call not counted" in text
    assert "another device will differ" in text
    with pytest.raises(Exception, match="--plan-steps -1"):
        plan_run(request, timed_steps=-1)


@pytest.mark.parametrize("native_bf16", [False, True])
def test_the_start_estimate_leaves_the_random_state_and_names_a_cpu_without_bf16(
        tiny_data: Path, tmp_path: Path, monkeypatch, native_bf16: bool) -> None:
    monkeypatch.setattr(reid_bench.run.plan, "native_cpu_bf16", lambda: native_bf16)
    request = _tiny_san(tiny_data, tmp_path)
    torch.manual_seed(7)
    before = torch.get_rng_state()
    line = start_estimate(request)
    assert torch.equal(torch.get_rng_state(), before)  # the run then draws what it would have drawn
    assert line.startswith("estimated time: ~ ") and f"on cpu ({cpu_name()}," in line
    assert ("this CPU has no native bf16" in line) is not native_bf16


def test_the_paper_presets_state_their_length(paper_folders: dict[str, Path], capsys) -> None:
    market = ["run", "--generator", "san", "--factor", "3", "--data", str(paper_folders["market"]), "--preset",
              "market", "--plan", "--plan-steps", "0"]
    assert main(market) == 0
    text = capsys.readouterr().out
    assert "300 epochs x 4,000 pairs (PATN's epoch) / batch 32 = 37,500 steps; 8 training pairs" in text
    assert "stand-ins (recorded in its rows' recipe): parsing=keypoints, mask=keypoints" in text
    assert "8 real + 16 generated images" in text and "x 60 epochs" in text
    assert "fixbase (5 epochs) skipped: resnet50 starts from random weights" in text
    assert "the run would stop:" in text and "vgg19-dcbb9e9d.pth" in text
    assert "model: channels=64 blocks=5" in text
    assert main([*market, "--set", "generator.epoch_pairs=none"]) == 0
    assert "300 epochs x all 8 training pairs / batch 32 = 300 steps" in capsys.readouterr().out
    assert main(["--nproc", "2", *market]) == 0  # planned here, once, for the two processes
    assert "--nproc 2: the same global batches, split over 2 processes" in capsys.readouterr().out

    assert main(["run", "--generator", "san", "--factor", "2", "--data", str(paper_folders["deepfashion"]),
                 "--preset", "deepfashion", "--plan", "--plan-steps", "0"]) == 0
    text = capsys.readouterr().out
    assert "500 epochs x 4,000 pairs (PATN's epoch) / batch 8 = 250,000 steps; 2 training pairs" in text
    assert "deepfashion at" in text and "train 3 images of 2 identities; query 1; gallery 2" in text
    assert "stand-ins" not in text  # an imported parser's parsing is no stand-in
    assert "alpha=15.0 beta=1.0 gamma=5.0" in text


def test_a_gpu_machine_runs_the_embedded_dataset_at_a_gpus_size(paper_folders: dict[str, Path], tmp_path: Path,
                                                                 monkeypatch, capsys) -> None:
    """CUDA availability is faked: the preset's choice, its message and --plan, never a CUDA kernel."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    preset, why = resolve_preset(RunRequest(generator="san", factor=3))
    assert preset.name == "synth-gpu" and "a GPU was found and no --data was given" in why
    assert preset.generator.options_preset == "market" and preset.reid.backbone == "resnet50"
    assert resolve_preset(RunRequest(generator="san", factor=3, data=str(paper_folders["market"])))[0].name == "market"
    assert resolve_preset(RunRequest(generator="san", factor=3,
                                     data=str(paper_folders["deepfashion"])))[0].name == "deepfashion"

    assert main(["run", "--generator", "san", "--factor", "3", "--out", str(tmp_path / "out"), "--plan",
                 "--plan-steps", "0"]) == 0
    text = capsys.readouterr().out
    assert "preset: synth-gpu (chosen because a GPU was found and no --data was given: the embedded SynthPeople" in text
    assert "the embedded SynthPeople (1000 identities, 128x64), not rendered yet" in text
    assert "100 epochs x 4,000 pairs (PATN's epoch) / batch 32 = 12,500 steps" in text
    assert "model: channels=64 blocks=5" in text and "backbone=resnet50 height=256 width=128" in text
    assert not (tmp_path / "cache" / "synthpeople").exists()  # the plan rendered nothing

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    preset, why = resolve_preset(RunRequest(generator="san", factor=3))
    assert preset.name == "quick" and "no GPU was found" in why
    shutil.rmtree(tmp_path / "out", ignore_errors=True)
