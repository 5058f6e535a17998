"""IDE and Siamese learn on a toy dataset; checkpoints resume after SIGKILL; bad checkpoints; kept images."""

from __future__ import annotations

import dataclasses
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision
from plain_presets import PLAIN_QUICK
from test_reid_toydata import make_toy_market, rank1, read_split
from torchvision import transforms as T

from reid_bench.errors import ReidBenchError
from reid_bench.records import processor_name
from reid_bench.reid import backbones, extract_features, load_checkpoint, train_reid, transforms
from reid_bench.reid.train import build_model, model_hash, read_checkpoint

TOY = dataclasses.replace(PLAIN_QUICK.reid.replace(backbone="tiny", height=64, width=32, batch_size=16, lr=3e-3,
                                                   lr_step=100), siamese_lr=None)  # one lr for both trainers


@pytest.fixture(scope="module")
def toy(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list]:
    root = make_toy_market(tmp_path_factory.mktemp("reid") / "toy", train_ids=12, test_ids=16)
    return {split: read_split(root / folder) for split, folder in
            [("train", "bounding_box_train"), ("query", "query"), ("gallery", "bounding_box_test")]}


def _rank1(model: torch.nn.Module, toy: dict[str, list]) -> float:
    return rank1(extract_features(model, toy["query"], TOY), extract_features(model, toy["gallery"], TOY),
                 toy["query"], toy["gallery"])


@pytest.fixture(scope="module")
def untrained_rank1(toy: dict[str, list]) -> float:
    torch.manual_seed(0)
    return _rank1(build_model("ide", backbones.build("tiny"), 12, TOY), toy)


@pytest.mark.parametrize("trainer, epochs", [("ide", 6), ("siamese", 8)])
def test_trainer_beats_chance_and_its_untrained_self(trainer: str, epochs: int, toy: dict, untrained_rank1: float,
                                                     tmp_path: Path) -> None:
    chance = 1 / 16  # 16 test identities, 1 query each, gallery balanced over them
    started = time.perf_counter()
    trained = train_reid(toy["train"], trainer, TOY.replace(epochs=epochs), tmp_path / "run", seed=0)
    elapsed = time.perf_counter() - started
    score = _rank1(trained.model, toy)
    print(f"{trainer}: rank-1 {score:.3f} (untrained {untrained_rank1:.3f}, chance {chance:.3f}), "
          f"{epochs} epochs in {elapsed:.1f} s")
    assert score >= 0.5 > 4 * chance
    assert score > untrained_rank1 + 0.1
    assert trained.epoch == epochs and trained.pretrained is False
    again = load_checkpoint(trained.path)
    assert again.trainer == trainer and again.epoch == epochs and again.config_hash == trained.config_hash
    np.testing.assert_array_equal(extract_features(again.model, toy["query"], TOY),
                                  extract_features(trained.model, toy["query"], TOY))


def test_features_are_unit_length_and_deterministic(toy: dict) -> None:
    torch.manual_seed(0)
    model = build_model("ide", backbones.build("tiny"), 12, TOY)
    first = extract_features(model, toy["query"], TOY)
    assert first.shape == (16, 256) and first.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(first, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(first, extract_features(model, toy["query"], TOY))
    raw = extract_features(model, toy["query"], TOY.replace(normalize_features=False, flip_test=False))
    assert not np.allclose(np.linalg.norm(raw, axis=1), 1.0)


def test_options_run_end_to_end(toy: dict, tmp_path: Path) -> None:
    """PK sampler, BN-neck, random erasing, dropout, staged lr: a smoke test, not a quality test."""
    settings = TOY.replace(epochs=1, sampler="pk", pk_instances=4, bn_neck=True, random_erase=0.5, dropout=0.2,
                           base_lr_mult=0.1)
    trained = train_reid(toy["train"], "siamese", settings, tmp_path / "run")
    again = load_checkpoint(trained.path)
    assert again.settings == settings and again.epoch == 1
    assert np.isfinite(extract_features(again.model, toy["query"], settings)).all()


def test_siamese_lr_trains_the_siamese_model_only_and_leaves_ide_keys_alone(toy: dict, tmp_path: Path) -> None:
    """``siamese_lr`` is the Siamese model's learning rate (its checkpoint records it as ``lr``), and an IDE
    model's settings and config hash are the same with it as without it."""
    settings = TOY.replace(epochs=1, siamese_lr=2e-2)
    siamese = load_checkpoint(train_reid(toy["train"], "siamese", settings, tmp_path / "siamese").path)
    assert siamese.settings.lr == 2e-2 and siamese.settings.siamese_lr is None
    optimised = read_checkpoint(siamese.path)["optimizer"]["param_groups"]
    assert [group["initial_lr"] for group in optimised] == [2e-2, 2e-2]  # backbone and new layers
    assert siamese.config_hash == model_hash(toy["train"], "siamese", TOY.replace(epochs=1, lr=2e-2), False, 0)
    ide = train_reid(toy["train"], "ide", settings, tmp_path / "ide")
    assert ide.settings == TOY.replace(epochs=1)
    assert ide.config_hash == model_hash(toy["train"], "ide", TOY.replace(epochs=1), False, 0)


def test_a_rate_that_is_not_positive_is_refused() -> None:
    with pytest.raises(ReidBenchError, match="siamese_lr must be above 0"):
        TOY.replace(siamese_lr=0.0)


RESUME_SCRIPT = """
import sys
from pathlib import Path
import torch
from reid_bench import presets
from reid_bench.reid import train_reid
torch.set_num_threads(1)  # two of these run at once on a 2-core machine; same threads, same sums
data, out, epochs = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
records = [(p, int(p.name[:4]), int(p.name[6]) - 1) for p in sorted(data.glob("*.jpg"))]
plain = presets.without_levers(presets.get("quick")).reid
settings = plain.replace(backbone="tiny", height=64, width=32, batch_size=16, lr=3e-3, lr_step=2, epochs=epochs,
                         dropout=0.3, random_erase=0.5)
result = train_reid(records, "ide", settings, out, seed=7)
print("resumed_from", result.resumed_from)
"""


def _train_in_subprocess(script: Path, data: Path, out: Path, epochs: int) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(script), str(data), str(out), str(epochs)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_resume_after_sigkill_matches_an_uninterrupted_run(tmp_path: Path) -> None:
    root = make_toy_market(tmp_path / "toy", train_ids=12, test_ids=1, per_camera=6)
    data = root / "bounding_box_train"
    script = tmp_path / "train.py"
    script.write_text(RESUME_SCRIPT)
    epochs = 4
    checkpoint = tmp_path / "killed" / "checkpoint.pt"

    victim = _train_in_subprocess(script, data, tmp_path / "killed", epochs)
    reference = _train_in_subprocess(script, data, tmp_path / "reference", epochs)
    deadline = time.monotonic() + 300
    while not checkpoint.exists():
        assert victim.poll() is None, victim.communicate()
        assert time.monotonic() < deadline, "no checkpoint appeared"
        time.sleep(0.01)
    victim.send_signal(signal.SIGKILL)
    victim.communicate()
    assert victim.returncode == -signal.SIGKILL
    killed_at = load_checkpoint(checkpoint).epoch
    assert 1 <= killed_at < epochs

    rerun = _train_in_subprocess(script, data, tmp_path / "killed", epochs)
    out, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err
    assert f"resumed_from [{killed_at}]" in out
    out, err = reference.communicate(timeout=300)
    assert reference.returncode == 0, err
    assert "resumed_from []" in out

    resumed = load_checkpoint(checkpoint)
    uninterrupted = load_checkpoint(tmp_path / "reference" / "checkpoint.pt")
    assert resumed.epoch == uninterrupted.epoch == epochs
    # Same seed, per-epoch reseeding, same ops on CPU: the weights are equal bit for bit.
    for (name, a), (_, b) in zip(resumed.model.state_dict().items(), uninterrupted.model.state_dict().items()):
        assert torch.equal(a, b), name


def test_rerun_of_a_finished_run_trains_nothing(toy: dict, tmp_path: Path) -> None:
    first = train_reid(toy["train"], "ide", TOY.replace(epochs=1), tmp_path / "run")
    stamp = first.path.stat().st_mtime_ns
    again = train_reid(toy["train"], "ide", TOY.replace(epochs=1), tmp_path / "run")
    assert again.epoch == 1 and again.path.stat().st_mtime_ns == stamp


def test_the_model_records_its_processor_and_a_resume_on_another_adds_it(toy: dict, tmp_path: Path) -> None:
    here = processor_name(torch.device("cpu"))
    first = train_reid(toy["train"], "ide", TOY.replace(epochs=2), tmp_path / "run")
    assert first.processor == load_checkpoint(first.path).processor == here
    state = torch.load(first.path, weights_only=False)
    state.update(epoch=1, finished=False, processor="Other CPU (family 1, model 1)")  # as if killed there
    torch.save(state, first.path)
    resumed = train_reid(toy["train"], "ide", TOY.replace(epochs=2), tmp_path / "run")
    assert resumed.finished and resumed.processor == f"Other CPU (family 1, model 1) + {here}"
    assert train_reid(toy["train"], "ide", TOY.replace(epochs=2), tmp_path / "run").processor == resumed.processor
    del state["processor"]  # a checkpoint from before processors were recorded
    state.update(epoch=2, finished=True)
    torch.save(state, first.path)
    assert load_checkpoint(first.path).processor == "unrecorded"


def test_checkpoint_of_another_run_is_refused(toy: dict, tmp_path: Path) -> None:
    train_reid(toy["train"], "ide", TOY.replace(epochs=1), tmp_path / "run")
    with pytest.raises(ReidBenchError, match="checkpoint of another run .*give another --out"):
        train_reid(toy["train"], "siamese", TOY.replace(epochs=1), tmp_path / "run")


def test_bad_checkpoints_are_one_sentence_errors(toy: dict, tmp_path: Path) -> None:
    trained = train_reid(toy["train"], "ide", TOY.replace(epochs=1), tmp_path / "run")
    with pytest.raises(ReidBenchError, match="does not exist"):
        load_checkpoint(tmp_path / "absent.pt")

    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(trained.path.read_bytes()[:5000])
    with pytest.raises(ReidBenchError, match="is corrupt or not a torch file"):
        load_checkpoint(corrupt)

    foreign = tmp_path / "imagenet.pth"
    torch.save(trained.model.backbone.state_dict(), foreign)
    with pytest.raises(ReidBenchError, match="is not a reid-bench Re-ID checkpoint"):
        load_checkpoint(foreign)

    state = torch.load(trained.path, weights_only=True)
    state["backbone"] = "resnet18"  # weights of the tiny net under another architecture's name
    other = tmp_path / "other.pt"
    torch.save(state, other)
    with pytest.raises(ReidBenchError, match="does not fit the ide network on backbone resnet18"):
        load_checkpoint(other)


def test_fixbase_epochs_train_only_the_new_layers(toy: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """torchreid's fixbase_epoch: with pretrained weights the backbone (and its BN statistics) stays put."""

    hub = tmp_path / "torch" / "hub" / "checkpoints"
    hub.mkdir(parents=True)
    torch.manual_seed(1)
    imagenet = torchvision.models.resnet18(weights=None).state_dict()  # stands in for the real file
    torch.save(imagenet, hub / "resnet18-f37072fd.pth")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    settings = TOY.replace(backbone="resnet18", epochs=1, fixbase_epochs=1)
    trained = train_reid(toy["train"], "ide", settings, tmp_path / "run")
    assert trained.pretrained is True
    backbone = trained.model.backbone.state_dict()
    for name, tensor in imagenet.items():
        if not name.startswith("fc."):
            assert torch.equal(backbone[name], tensor), name
    assert all(p.requires_grad for p in trained.model.parameters())
    torch.manual_seed(0)
    fresh = build_model("ide", backbones.build("resnet18"), 12, settings)
    assert not torch.equal(fresh.head.classifier.weight, trained.model.head.classifier.weight)


def test_kept_images_give_the_same_tensors_as_torchvisions_pipeline_and_are_read_once(
        toy: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = TOY.replace(height=80, width=40, random_erase=0.5)  # a real resize, and erasing after the flip
    reference = T.Compose([T.Resize((80, 40)), T.RandomHorizontalFlip(), T.ToTensor(),
                           T.Normalize(transforms.IMAGENET_MEAN, transforms.IMAGENET_STD), T.RandomErasing(p=0.5)])
    records = transforms.as_triplets(toy["train"][:12])
    reads = []
    read = transforms.read_image
    monkeypatch.setattr(transforms, "read_image", lambda path: reads.append(path) or read(path))
    kept = transforms.ImageDataset(records, transforms.train_transform(settings), keep_loaded=True)
    torch.manual_seed(5)
    two_epochs = [kept[i][0] for _ in range(2) for i in range(len(records))]
    assert len(reads) == len(records)  # the second epoch decoded nothing
    torch.manual_seed(5)
    expected = [reference(read(r.path)) for _ in range(2) for r in records]
    assert all(torch.equal(a, b) for a, b in zip(two_epochs, expected))
    assert not all(torch.equal(a, b) for a, b in zip(two_epochs[:12], two_epochs[12:]))  # the flips are redrawn
    assert transforms.worth_keeping(5346, TOY.replace(height=128, width=64), workers=0)
    assert not transforms.worth_keeping(5346, TOY, workers=4)  # each worker would hold its own copy
    assert not transforms.worth_keeping(38808, TOY.replace(height=256, width=128), workers=0)
