"""``reid-bench train-generator`` and ``reid-bench generate`` on a tiny SynthPeople."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest
import torch
from PIL import Image

from reid_bench.cli import main
from reid_bench.data import read_pairs_csv
from reid_bench.data.synth import SynthConfig, render_dataset
from reid_bench.generators.generate import output_name, parse_output_name
from reid_bench.generators.san import SAN
from reid_bench.presets import parse_overrides

TINY = ["--set", "model.channels=4", "--set", "model.blocks=1"]


@pytest.fixture(autouse=True)
def one_thread_no_vgg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    monkeypatch.setenv("REID_BENCH_CACHE", str(tmp_path / "cache"))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def synthpeople(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("synth") / "synthpeople"
    render_dataset(root, SynthConfig(identities=4, seed=1), workers=1)
    return root


def test_train_then_generate(synthpeople: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "san"
    args = ["train-generator", "--data", str(synthpeople), "--steps", "4", "--batch-size", "2",
            "--out", str(out), *TINY]
    assert main([*args, "--stop-at", "2"]) == 0
    assert "stopped at step 2; rerun to continue" in capsys.readouterr().out
    assert main([*args, "--profile"]) == 0
    printed = capsys.readouterr().out
    assert "perceptual off (vgg19 weights missing" in printed and "finished: 4/4 steps" in printed
    profiled = (out / "profile.csv").read_text()
    for section in ("generator forward", "discriminator update", "generator update"):
        assert f"\n{section},2," in profiled  # the two steps of this invocation
    assert "\ndata,3," in profiled and "\nsamples,1," in profiled  # + the loader's last, empty next
    assert (out / "generator.pt").is_file() and list((out / "samples").glob("*.png"))

    images = tmp_path / "generated"
    pairs_csv = next(synthpeople.glob("*pairs-test.csv"))
    command = ["generate", "--generator", "san", "--checkpoint", str(out / "generator.pt"), "--pairs",
               str(pairs_csv), "--data", str(synthpeople), "--out", str(images)]
    assert main(command) == 0
    pairs = read_pairs_csv(pairs_csv)
    assert sorted(p.name for p in images.iterdir()) == sorted(output_name(a, b) for a, b in pairs)
    with Image.open(images / output_name(*pairs[0])) as image:
        assert image.format == "PNG" and image.size == (64, 128) and image.mode == "RGB"
    capsys.readouterr()
    assert main(command) == 0
    assert f"0 images written to {images} ({len(pairs)} already there" in capsys.readouterr().out


def test_identity_model_drives_the_identity_term(synthpeople: Path, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    reid = tmp_path / "reid"
    assert main(["train-reid", "--data", str(synthpeople), "--backbone", "tiny", "--epochs", "1", "--out", str(reid),
                 "--set", "reid.height=64", "--set", "reid.width=32", "--set", "reid.batch_size=8"]) == 0
    out = tmp_path / "san"
    args = ["train-generator", "--data", str(synthpeople), "--steps", "2", "--batch-size", "2", "--out", str(out),
            *TINY, "--set", "generator.identity_weight=1", "--set", "generator.foreground_weight=2"]
    capsys.readouterr()  # (without --identity-model, train-generator trains the run's real-only IDE: test_recipe.py)
    assert main([*args, "--identity-model", str(reid / "checkpoint.pt")]) == 0
    assert "identity term ide/tiny config" in capsys.readouterr().out
    header = (out / "losses.csv").read_text().splitlines()[0].split(",")
    assert {"g_identity_ce", "g_identity_feature", "g_foreground_l1"} <= set(header)


def test_default_out_is_in_the_cache_and_printed(synthpeople: Path, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train-generator", "--data", str(synthpeople), "--steps", "1", "--batch-size", "2", *TINY]) == 0
    runs = list((tmp_path / "cache" / "generators").iterdir())
    assert len(runs) == 1 and runs[0].name.startswith("san-") and (runs[0] / "generator.pt").is_file()
    assert str(runs[0]) in capsys.readouterr().out


def test_errors_are_one_line(synthpeople: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train-generator", "--data", str(synthpeople), "--preset", "market"]) == 2
    assert "vgg19-dcbb9e9d.pth" in capsys.readouterr().err
    assert main(["train-generator", "--data", str(synthpeople), "--set", "model.blocks"]) == 2
    assert "is not SECTION.FIELD=VALUE" in capsys.readouterr().err
    assert main(["generate", "--checkpoint", str(tmp_path / "none.pt"), "--pairs", "x.csv",
                 "--data", str(synthpeople), "--out", str(tmp_path)]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_option_values_and_output_names() -> None:
    parsed = parse_overrides(["model.blocks=3", "model.use_mask=false", "model.attention=patn", "model.alpha=1.5"],
                             ("model",), SAN.option_types())
    assert parsed.section("model") == {"blocks": 3, "use_mask": False, "attention": "patn", "alpha": 1.5}
    name = output_name("0001_c1s1_000151_01.jpg", "0001_c2s1_000301_01.jpg")
    assert name == "0001_c1s1_000151_01___0001_c2s1_000301_01.png"
    assert parse_output_name(name) == ("0001_c1s1_000151_01", "0001_c2s1_000301_01")
