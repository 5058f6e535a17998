"""Backbones: offline ImageNet weights, the random-init warning, torchreid names, settings."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
import torch
import torchvision

from reid_bench import presets
from reid_bench.errors import ReidBenchError
from reid_bench.presets import PRESETS
from reid_bench.reid import backbones


@pytest.fixture()
def empty_hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    return tmp_path / "torch" / "hub" / "checkpoints"


@pytest.fixture()
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args, **kwargs):
        raise AssertionError("a network connection was attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)


def test_missing_weights_warn_and_record_not_pretrained(empty_hub: Path, no_network: None) -> None:
    with pytest.warns(UserWarning, match="random initialisation.*pretrained=false"):
        backbone = backbones.build("resnet18")
    assert backbone.pretrained is False
    assert backbone.feature_dim == 512
    assert backbone.module(torch.zeros(2, 3, 64, 32)).shape == (2, 512)


def test_weights_found_in_the_hub_cache_are_loaded(empty_hub: Path) -> None:
    reference = torchvision.models.resnet18(weights=None).state_dict()
    empty_hub.mkdir(parents=True)
    torch.save(reference, empty_hub / "resnet18-f37072fd.pth")
    backbone = backbones.build("resnet18")
    assert backbone.pretrained is True
    assert torch.equal(backbone.module.state_dict()["conv1.weight"], reference["conv1.weight"])


def test_weights_given_by_path(tmp_path: Path, empty_hub: Path) -> None:
    reference = torchvision.models.resnet18(weights=None).state_dict()
    torch.save(reference, tmp_path / "mine.pth")
    assert backbones.build("resnet18", tmp_path / "mine.pth").pretrained is True
    with pytest.raises(ReidBenchError, match="does not exist"):
        backbones.build("resnet18", tmp_path / "absent.pth")


def test_weights_of_another_network_are_refused(tmp_path: Path, empty_hub: Path) -> None:
    torch.save(torchvision.models.resnet18(weights=None).state_dict(), tmp_path / "r18.pth")
    with pytest.raises(ReidBenchError, match="does not fit torchvision's resnet50"):
        backbones.build("resnet50", tmp_path / "r18.pth")
    (tmp_path / "junk.pth").write_bytes(b"not a torch file")
    with pytest.raises(ReidBenchError, match="could not be read"):
        backbones.build("resnet18", tmp_path / "junk.pth")


@pytest.mark.filterwarnings("ignore:Cython evaluation")
def test_torchreid_backbone_builds_without_download(no_network: None, monkeypatch: pytest.MonkeyPatch) -> None:
    from torchreid.reid.models import osnet  # noqa: PLC0415  (optional: the torchreid extra, imported under its warning filter)

    def never(*args, **kwargs):
        raise AssertionError("torchreid tried to load pretrained weights")

    monkeypatch.setattr(osnet, "init_pretrained_weights", never)
    with pytest.warns(UserWarning, match="never downloaded"):
        backbone = backbones.build("torchreid:osnet_x0_25")
    assert backbone.pretrained is False
    assert backbone.feature_dim == 512
    images = torch.randn(2, 3, 64, 32)
    backbone.module.train()
    assert backbone.module(images).shape == (2, 512)  # training mode: the v of (logits, v)
    backbone.module.eval()
    assert backbone.module(images).shape == (2, 512)


def test_torchvision_backbones_lose_their_classifier(tmp_path: Path, no_network: None) -> None:
    for name, dim in (("mobilenet_v3_small", 576), ("shufflenet_v2_x0_5", 1024)):
        with pytest.warns(UserWarning, match="no ImageNet file"):
            backbone = backbones.build(f"torchvision:{name}")
        assert backbone.pretrained is False and backbone.feature_dim == dim
        assert backbone.module(torch.randn(2, 3, 128, 64)).shape == (2, dim)
    reference = torchvision.models.get_model("mobilenet_v3_small", weights=None)
    torch.save(reference.state_dict(), tmp_path / "mnv3.pth")
    given = backbones.build("torchvision:mobilenet_v3_small", tmp_path / "mnv3.pth")
    assert given.pretrained and torch.equal(given.module.features[0][0].weight, reference.features[0][0].weight)
    with pytest.raises(ReidBenchError, match="does not fit torchvision's shufflenet_v2_x0_5"):
        backbones.build("torchvision:shufflenet_v2_x0_5", tmp_path / "mnv3.pth")


def test_a_narrow_resnet18_has_the_layout_at_a_fraction_of_the_width() -> None:
    full, narrow = backbones.build("resnet18", load_weights=False), backbones.build("resnet18-w32")
    assert narrow.feature_dim == 256 and not narrow.pretrained
    assert narrow.module(torch.randn(2, 3, 128, 64)).shape == (2, 256)
    shapes = {name: tuple(p.shape) for name, p in narrow.module.named_parameters()}
    assert shapes.keys() == {name for name, _ in full.module.named_parameters()}  # the same blocks
    assert shapes["layer4.1.conv2.weight"] == (256, 256, 3, 3) and shapes["conv1.weight"] == (32, 3, 7, 7)
    with pytest.raises(ReidBenchError, match="no ImageNet weights"):
        backbones.build("resnet18-w32", "weights.pth")
    with pytest.raises(ReidBenchError, match="not a whole number"):
        backbones.build("resnet18-wide")


def test_unknown_backbones_are_user_errors() -> None:
    with pytest.raises(ReidBenchError, match="unknown backbone"):
        backbones.build("vgg16")
    with pytest.raises(ReidBenchError, match="torchreid has no model 'nope'"):
        backbones.build("torchreid:nope")
    with pytest.raises(ReidBenchError, match="torchvision has no model 'nope'"):
        backbones.build("torchvision:nope")


def test_presets_and_overrides() -> None:
    assert set(PRESETS) == {"quick", "synth-gpu", "market", "deepfashion"}
    market = presets.get("market").reid
    assert (market.backbone, market.height, market.width, market.epochs, market.batch_size) == (
        "resnet50", 256, 128, 60, 32)
    assert (market.optimizer, market.lr, market.weight_decay, market.lr_step, market.lr_gamma) == (
        "amsgrad", 3e-4, 5e-4, 20, 0.1)
    assert presets.get("quick").reid.replace(epochs=2, backbone=None).epochs == 2
    with pytest.raises(ReidBenchError, match="unknown preset"):
        presets.get("imagenet")
    with pytest.raises(ReidBenchError, match="optimizer 'lbfgs'"):
        market.replace(optimizer="lbfgs")
