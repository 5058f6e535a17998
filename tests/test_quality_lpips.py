"""LPIPS: built offline from an AlexNet file and the package's linear layers, strictly.

torchvision's ImageNet AlexNet is missing on a fresh machine, so these tests write a
*randomly initialised* torchvision AlexNet file (``RANDOM_ALEXNET``) only to check that the trunk
is read from the given file, the v0.1 linear layers from the lpips package, and nothing else;
no LPIPS value of a result comes from it.
"""

from __future__ import annotations

from pathlib import Path
from unittest import mock

import numpy as np
import pytest
import torch
import torchvision

from reid_bench.errors import ReidBenchError
from reid_bench.quality.lpips_metric import LpipsDistance, build_lpips, to_lpips_input
from reid_bench.quality.metric_weights import locate_lpips_linear


@pytest.fixture(scope="module")
def random_alexnet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("weights") / "random-alexnet.pth"
    torch.save(torchvision.models.alexnet().state_dict(), path)
    return path


def _no_network(*args, **kwargs):
    raise AssertionError("a download was attempted")


def test_trunk_and_linear_layers_come_from_the_files(random_alexnet: Path) -> None:
    linear_path = locate_lpips_linear().path
    with mock.patch("torch.hub.download_url_to_file", _no_network), \
            mock.patch("torch.hub.load_state_dict_from_url", _no_network):
        model = build_lpips(random_alexnet, linear_path)
    trunk = torch.load(random_alexnet, weights_only=True)
    linear = torch.load(linear_path, map_location="cpu", weights_only=True)
    state = model.state_dict()
    assert torch.equal(state["net.slice1.0.weight"], trunk["features.0.weight"])
    assert torch.equal(state["net.slice5.10.bias"], trunk["features.10.bias"])
    for k in range(5):
        assert torch.equal(state[f"lin{k}.model.1.weight"], linear[f"lin{k}.model.1.weight"])
        assert torch.equal(state[f"lins.{k}.model.1.weight"], linear[f"lin{k}.model.1.weight"])
    assert not model.training


def test_distances_per_pair_and_masking(random_alexnet: Path) -> None:
    distance = LpipsDistance(build_lpips(random_alexnet, locate_lpips_linear().path))
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (3, 64, 32, 3), dtype=np.uint8)
    b = a.copy()
    b[1] = 255 - b[1]
    values = distance(to_lpips_input(a), to_lpips_input(b))
    assert values.shape == (3,) and values[0] == 0 and values[2] == 0 and values[1] > 0
    empty = np.zeros(a.shape[:3], dtype=bool)
    assert distance(to_lpips_input(a, empty), to_lpips_input(b, empty)).tolist() == [0, 0, 0]


def test_lpips_input_range_and_mask_value() -> None:
    images = np.array([[[[0, 255, 127]]]], dtype=np.uint8)
    assert to_lpips_input(images).flatten().tolist() == pytest.approx([-1.0, 1.0, 127 / 127.5 - 1])
    assert to_lpips_input(images, np.zeros((1, 1, 1), bool)).flatten().tolist() == [0.0, 0.0, 0.0]


def test_wrong_files_are_one_sentence(tmp_path: Path, random_alexnet: Path) -> None:
    garbage = tmp_path / "garbage.pth"
    garbage.write_bytes(b"\x00" * 64)
    with pytest.raises(ReidBenchError, match="cannot be read as a torch weights file"):
        build_lpips(garbage, locate_lpips_linear().path)
    vgg_like = tmp_path / "other.pth"
    torch.save({"features.0.weight": torch.zeros(3)}, vgg_like)
    with pytest.raises(ReidBenchError, match="does not fit LPIPS' AlexNet"):
        build_lpips(vgg_like, locate_lpips_linear().path)
