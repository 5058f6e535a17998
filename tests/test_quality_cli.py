"""``reid-bench eval-generator`` and ``reid-bench weights`` end to end on a tiny SynthPeople render.

The generated folders are made in the test: copies of each pair's target (a perfect generator)
and copies of its source (no pose change). FID and LPIPS run with small stand-in networks
(library calls) or are reported missing (the CLI on a machine without the weights).
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from plain_presets import PLAIN_QUICK
from test_quality_fid import StandInFeatures

from reid_bench import generators
from reid_bench.cli import main
from reid_bench.data import load_dataset, read_pairs_csv
from reid_bench.data.synth import SynthConfig, render_dataset
from reid_bench.generators.base import Generator
from reid_bench.generators.checkpoints import record, save
from reid_bench.generators.generate import output_name
from reid_bench.quality.comparison import evenly_spaced, shared_pairs, target_pose_picture
from reid_bench.quality.evaluate import Networks, QualitySettings, evaluate_checkpoint, evaluate_folder, load_networks
from reid_bench.quality.rows import QUALITY_FIELDS
from reid_bench.reid import train_reid


def stand_in_lpips(generated: torch.Tensor, target: torch.Tensor) -> np.ndarray:
    """Test-only stand-in for LPIPS: mean squared difference per pair (no network)."""
    return ((generated - target) ** 2).mean(dim=(1, 2, 3)).double().numpy()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("quality")
    render_dataset(root / "synth", SynthConfig(identities=6, seed=3), workers=1)
    dataset = load_dataset(root / "synth")
    for kind, index in (("targets", 1), ("sources", 0)):
        (root / kind).mkdir()
        for pair in read_pairs_csv(dataset.pairs_path("test")):
            Image.open(dataset.image_path(pair[index])).convert("RGB").save(root / kind / output_name(*pair))
    return {"root": root, "data": root / "synth", "targets": root / "targets", "sources": root / "sources"}


@pytest.fixture()
def offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))  # empty: no Inception, no AlexNet
    monkeypatch.setenv("REID_BENCH_CACHE", str(tmp_path / "cache"))
    return tmp_path


def _read(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        reader = csv.DictReader(handle)
        assert tuple(reader.fieldnames) == QUALITY_FIELDS
        return list(reader)


def _error(capsys: pytest.CaptureFixture) -> str:
    err = capsys.readouterr().err.strip()
    assert err.startswith("reid-bench: error: ") and "\n" not in err and "Traceback" not in err
    return err


def test_eval_generator_writes_well_formed_rows(world: dict[str, Path], offline: Path,
                                                capsys: pytest.CaptureFixture) -> None:
    out = offline / "quality.csv"
    code = main(["eval-generator", "--generated", str(world["targets"]), "--data", str(world["data"]),
                 "--generator", "oracle", "--out", str(out), "--resamples", "200"])
    assert code == 0
    printed = capsys.readouterr().out
    assert (f"FID: not computed - missing: pt_inception-2015-12-05-6726825d.pth "
            f"(looked in {offline / 'torch'}") in printed
    rows = {row["metric"]: row for row in _read(out)}
    assert list(rows) == ["FID", "LPIPS", "mask-LPIPS", "SSIM", "mask-SSIM", "L1", "PSNR", "identity-rank1",
                          "identity-mAP", "identity-cosine", "identity-cosine-source"]
    n_pairs = str(len(read_pairs_csv(world["data"] / "pairs-test.csv")))
    for row in rows.values():
        assert row["dataset"] == "synthpeople" and row["generator"] == "oracle" and row["n_pairs"] == n_pairs
        assert row["protocol"].startswith("gfla2020: ")
    assert rows["FID"]["value"] == "" and rows["FID"]["weights"].startswith("missing: pt_inception")
    assert "all " in rows["FID"]["protocol"] and "bounding_box_train/" in rows["FID"]["protocol"]
    assert rows["LPIPS"]["weights"].startswith("missing: alexnet-owt-7be5be79.pth")
    assert rows["identity-rank1"]["weights"].startswith("missing: a Re-ID checkpoint")
    assert float(rows["SSIM"]["value"]) == pytest.approx(1.0) and float(rows["L1"]["value"]) == 0
    assert "keypoints" in rows["mask-SSIM"]["protocol"]
    for metric in ("SSIM", "mask-SSIM", "L1"):
        low, value, high = (float(rows[metric][k]) for k in ("ci_low", "value", "ci_high"))
        assert low <= value <= high


def test_targets_score_above_sources_with_stand_in_networks(world: dict[str, Path], offline: Path) -> None:
    networks = Networks(fid=StandInFeatures(), lpips=stand_in_lpips, notes={"fid": "stand-in", "lpips": "stand-in"})
    settings = QualitySettings(protocol="test-targets", metrics=("FID", "LPIPS", "mask-LPIPS", "SSIM", "mask-SSIM"),
                               mask_source="parsing", resamples=100)
    scores = {}
    for kind in ("targets", "sources"):
        rows = evaluate_folder(world[kind], world["data"], kind, networks=networks, settings=settings)
        scores[kind] = {row.metric: row.value for row in rows}
    assert abs(scores["targets"]["FID"]) < 1e-6 < scores["sources"]["FID"]
    assert scores["targets"]["LPIPS"] == 0 < scores["sources"]["LPIPS"]
    assert scores["targets"]["mask-LPIPS"] == 0 < scores["sources"]["mask-LPIPS"]
    assert scores["targets"]["SSIM"] == pytest.approx(1.0)
    assert scores["sources"]["SSIM"] < 0.99
    assert scores["sources"]["mask-SSIM"] < 1
    gfla = evaluate_folder(world["targets"], world["data"], "targets", networks=networks,
                           settings=QualitySettings(metrics=("FID",)))
    assert gfla[0].value > 0  # the training split is not the test targets


def test_identity_metrics_with_a_trained_reid_model(world: dict[str, Path], offline: Path,
                                                    capsys: pytest.CaptureFixture) -> None:

    settings = PLAIN_QUICK.reid.replace(backbone="tiny", epochs=2, height=64, width=32, batch_size=16)
    train_reid(load_dataset(world["data"]).train, "ide", settings, offline / "reid", seed=0)
    cosine = {}
    for kind in ("targets", "sources"):
        out = offline / f"{kind}.csv"
        assert main(["eval-generator", "--generated", str(world[kind]), "--data", str(world["data"]),
                     "--generator", kind, "--out", str(out), "--metrics",
                     "identity-rank1,identity-mAP,identity-cosine,identity-cosine-source",
                     "--reid-checkpoint", str(offline / "reid" / "checkpoint.pt"), "--resamples", "100"]) == 0
        rows = {row["metric"]: row for row in _read(out)}
        assert 0 <= float(rows["identity-rank1"]["value"]) <= 100 and 0 <= float(rows["identity-mAP"]["value"]) <= 100
        assert "ide/tiny" in rows["identity-mAP"]["protocol"] and rows["identity-mAP"]["weights"].startswith("Re-ID")
        cosine[kind] = (float(rows["identity-cosine"]["value"]), float(rows["identity-cosine-source"]["value"]))
    assert cosine["targets"][0] == pytest.approx(1.0)
    assert cosine["sources"][0] == pytest.approx(cosine["sources"][1])  # a source copy scores the reference
    assert cosine["targets"][1] == cosine["sources"][1] < cosine["targets"][0]
    capsys.readouterr()


def test_identity_on_augmentation_pairs_asks_for_the_source_person(world: dict[str, Path], offline: Path) -> None:
    """Augmentation pairs (sources of the training split, targets of other people): the generated image
    must show the source's person, found among the real training images; no cosine to the target."""
    dataset = load_dataset(world["data"])
    settings = PLAIN_QUICK.reid.replace(backbone="tiny", epochs=2, height=64, width=32, batch_size=16)
    trained = train_reid(dataset.train, "ide", settings, offline / "reid", seed=0)
    networks = load_networks(QualitySettings(), reid_checkpoint=trained.path)
    others = {record.name: [other.name for other in dataset.train if other.pid != record.pid]
              for record in dataset.train}
    pairs = [(source, candidates[i % len(candidates)]) for i, (source, candidates) in enumerate(others.items())]
    folders = {}
    for kind, person in (("source copies", 0), ("wrong person", 1)):
        folders[kind] = offline / kind.replace(" ", "-")
        folders[kind].mkdir()
        for source, target in pairs:  # the "generated" image: the source itself, or the target (someone else)
            Image.open(dataset.image_path((source, target)[person])).convert("RGB").save(
                folders[kind] / output_name(source, target))
    metrics = QualitySettings(metrics=("identity-rank1", "identity-mAP", "identity-cosine"), resamples=50)
    scores = {}
    for kind, folder in folders.items():
        rows = {row.metric: row for row in evaluate_folder(folder, dataset, kind, networks=networks, pairs=pairs,
                                                           settings=metrics)}
        assert "augmentation pairs" in rows["identity-mAP"].protocol and rows["identity-mAP"].n_pairs == len(pairs)
        assert rows["identity-cosine"].value is None and "another person" in rows["identity-cosine"].weights
        scores[kind] = rows["identity-mAP"].value
    assert scores["source copies"] > scores["wrong person"]


@generators.register(name="quality-test-oracle")
class Oracle(Generator):
    """Test-only generator returning the target image (a perfect generator)."""

    def __init__(self) -> None:
        super().__init__({})

    def forward(self, batch):
        return batch["tgt_image"].clone()

    def build_discriminators(self):
        raise NotImplementedError

    def generator_losses(self, batch, fake, discriminators, loss_networks):
        raise NotImplementedError

    def discriminator_losses(self, batch, fake, discriminators):
        raise NotImplementedError


def test_checkpoint_path_generates_then_evaluates(world: dict[str, Path], offline: Path) -> None:
    checkpoint = save(offline / "generator.pt", record(Oracle(), {"step": 0}))
    settings = QualitySettings(metrics=("SSIM", "L1"), resamples=50)
    rows, folder = evaluate_checkpoint(checkpoint, world["data"], networks=Networks(), settings=settings,
                                       out=offline / "generated")
    assert folder == offline / "generated" and len(list(folder.glob("*___*.png"))) == rows[0].n_pairs
    assert [(r.generator, r.metric) for r in rows] == [("quality-test-oracle", "SSIM"), ("quality-test-oracle", "L1")]
    assert rows[0].value == pytest.approx(1.0) and rows[1].value == pytest.approx(0.0)


def _copy_folder(source: Path, target: Path) -> Path:
    target.mkdir()
    for path in source.iterdir():
        (target / path.name).write_bytes(path.read_bytes())
    return target


def _run(world: dict[str, Path], folder: Path, offline: Path, *extra: str) -> int:
    return main(["eval-generator", "--generated", str(folder), "--data", str(world["data"]), "--generator", "x",
                 "--out", str(offline / "q.csv"), "--metrics", "SSIM", *extra])


def test_malformed_folders_get_one_sentence(world: dict[str, Path], offline: Path,
                                            capsys: pytest.CaptureFixture) -> None:
    assert _run(world, offline / "nowhere", offline) == 2
    assert "nowhere is not a folder" in _error(capsys)

    folder = _copy_folder(world["targets"], offline / "bad-name")
    first = sorted(folder.glob("*.png"))[0]
    first.rename(folder / "no-separator.png")
    assert _run(world, folder, offline) == 2
    assert "no-separator.png: the name lacks '___'" in _error(capsys)

    folder = _copy_folder(world["targets"], offline / "missing")
    sorted(folder.glob("*.png"))[0].unlink()
    assert _run(world, folder, offline) == 2
    assert "lacks the images of 1 of the" in _error(capsys)

    folder = _copy_folder(world["targets"], offline / "extra")
    Image.new("RGB", (64, 128)).save(folder / output_name(*read_pairs_csv(world["data"] / "pairs-train.csv")[0]))
    assert _run(world, folder, offline) == 2
    assert "not in the pair list" in _error(capsys)

    folder = _copy_folder(world["targets"], offline / "size")
    resized = sorted(folder.glob("*.png"))[0]
    Image.open(resized).resize((32, 64)).save(resized)
    assert _run(world, folder, offline) == 2
    assert f"{resized.name} is 64x32 but its target" in _error(capsys)

    folder = _copy_folder(world["targets"], offline / "stranger")
    Image.new("RGB", (64, 128)).save(folder / "9999_c1s1_000001_01___9999_c2s1_000002_01.png")
    assert _run(world, folder, offline) == 2
    assert "'9999_c1s1_000001_01' is not an image of" in _error(capsys)

    folder = _copy_folder(world["targets"], offline / "corrupt")
    broken = sorted(folder.glob("*.png"))[0]
    broken.write_bytes(broken.read_bytes()[:100])
    assert _run(world, folder, offline) == 2
    assert f"{broken.name} cannot be decoded" in _error(capsys)


def test_option_errors_are_one_sentence(world: dict[str, Path], offline: Path, capsys: pytest.CaptureFixture) -> None:
    common = ["eval-generator", "--generated", str(world["targets"]), "--data", str(world["data"]),
              "--out", str(offline / "q.csv")]
    assert main(common) == 2
    assert "--generated needs --generator NAME" in _error(capsys)
    assert main([*common, "--generator", "x", "--metrics", "SSIM,sharpness"]) == 2
    assert "unknown metric 'sharpness'" in _error(capsys)
    assert main([*common, "--generator", "x", "--inception-weights", str(offline / "no.pth")]) == 2
    assert "no.pth does not exist" in _error(capsys)
    fake = offline / "pt_inception-2015-12-05-6726825d.pth"
    fake.write_bytes(b"not the inception")
    assert main([*common, "--generator", "x", "--inception-weights", str(fake)]) == 2
    assert "its SHA-256 does not start with 6726825d" in _error(capsys)


def test_weights_lists_every_file(offline: Path, capsys: pytest.CaptureFixture) -> None:
    given = offline / "inception.pth"
    given.write_bytes(b"something else")
    assert main(["weights", "--inception-weights", str(given)]) == 0
    out = capsys.readouterr().out
    for name in ("resnet50-0676ba61.pth", "resnet18-f37072fd.pth", "vgg19-dcbb9e9d.pth", "alexnet-owt-7be5be79.pth",
                 "pt_inception-2015-12-05-6726825d.pth", "alex.pth (sha256 df73285e",
                 "maskrcnn_resnet50_fpn_coco-bf2d0c1e.pth", "maskrcnn_resnet50_fpn_v2_coco-73cbd019.pth"):
        assert name in out
    assert f"found at {given} (HASH MISMATCH)" in out
    assert out.count("    missing") == 6 and str(offline / "torch" / "hub" / "checkpoints") in out
    assert "lpips/weights/v0.1/alex.pth (hash ok)" in out


def test_samples_draws_the_shared_pairs_side_by_side(world: dict[str, Path], offline: Path,
                                                     capsys: pytest.CaptureFixture) -> None:
    fewer = _copy_folder(world["sources"], offline / "fewer")
    dropped = sorted(fewer.glob("*.png"))[::2]
    for path in dropped:
        path.unlink()
    dataset = load_dataset(world["data"])
    shared = shared_pairs({"copy": world["targets"], "fewer": fewer}, dataset)
    assert len(shared) == len(list(world["targets"].glob("*.png"))) - len(dropped)
    assert all(images["fewer"].path.parent == fewer for images in shared.values())
    out = offline / "figure.png"
    args = ["samples", "--data", str(world["data"]), "--out", str(out), "--pairs", "2",
            f"perfect={world['targets']}", f"no pose change={fewer}"]
    assert main(args) == 0
    with Image.open(out) as figure:
        assert figure.size == (200 * 5, 360 * 2 + 40)  # source, target parsing, target + 2 generators
    assert main(["samples", "--data", str(world["data"]), "--out", str(offline / "x.png"), "no-folder"]) == 2
    assert "'no-folder' is not LABEL=FOLDER" in _error(capsys)
    assert main(["samples", "--out", str(offline / "x.png"), "--pairs", "0", f"a={fewer}"]) == 2
    assert "needs at least one pair, not 0" in _error(capsys)
    assert not (offline / "cache").exists()  # checked before the embedded dataset is rendered
    elsewhere = offline / "elsewhere"
    elsewhere.mkdir()
    pairs = read_pairs_csv(world["data"] / "pairs-train.csv")[:1]
    Image.open(dataset.image_path(pairs[0][1])).convert("RGB").save(elsewhere / output_name(*pairs[0]))
    assert main(["samples", "--data", str(world["data"]), "--out", str(offline / "y.png"),
                 f"a={world['targets']}", f"b={elsewhere}"]) == 2
    assert "hold no pair in common" in _error(capsys)
    assert not (offline / "y.png").exists()


def test_evenly_spaced_rows() -> None:
    assert evenly_spaced(3, 10) == [0, 4, 9] and evenly_spaced(1, 10) == [0] and evenly_spaced(5, 3) == [0, 1, 2]


def test_target_pose_is_the_parsing_or_else_the_keypoint_mask(world: dict[str, Path], tmp_path: Path) -> None:
    target = read_pairs_csv(world["data"] / "pairs-test.csv")[0][1]
    picture, kind = target_pose_picture(load_dataset(world["data"]), target, (128, 64))
    assert kind == "target parsing" and picture.shape == (128, 64, 3) and picture.dtype == np.uint8
    shutil.copytree(world["data"], tmp_path / "no-parsing", ignore=shutil.ignore_patterns("parsing"))
    picture, kind = target_pose_picture(load_dataset(tmp_path / "no-parsing"), target, (128, 64))
    assert kind == "target mask" and picture.shape == (128, 64) and set(np.unique(picture)) == {0, 255}
