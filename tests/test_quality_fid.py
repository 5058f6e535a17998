"""FID: the Fréchet distance, a stand-in feature network, the reference cache, and loading
pytorch-fid's Inception from a local file without any download.

The Inception weights are missing on a fresh machine, so the network tests build a file of
*random* weights in the test (``RANDOM_INCEPTION``) only to check that loading reads the file
and never downloads; no metric value is computed with it.
"""

from __future__ import annotations

from pathlib import Path
from unittest import mock

import numpy as np
import pytest
import torch
from pytorch_fid import inception as fid_inception

from reid_bench.errors import ReidBenchError
from reid_bench.quality import fid


class StandInFeatures:
    """A small fixed feature network for tests only: 4x4 average-pooled pixels through a fixed
    random projection to 12 dimensions. Not Inception; it only has to see image changes."""

    def __init__(self, network_id: str | None = None) -> None:
        self.projection = np.random.default_rng(0).normal(size=(4 * 4 * 3, 12))
        self.calls = 0
        if network_id:
            self.network_id = network_id

    def __call__(self, images: list[np.ndarray]) -> np.ndarray:
        self.calls += 1
        pooled = [image.reshape(4, image.shape[0] // 4, 4, image.shape[1] // 4, 3).mean(axis=(1, 3)).ravel()
                  for image in images]
        return np.stack(pooled) / 255.0 @ self.projection


def _images(count: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    base = rng.integers(40, 200, size=(count, 1, 1, 3))
    return list(np.clip(base + rng.integers(-40, 40, size=(count, 32, 16, 3)), 0, 255).astype(np.uint8))


def _noisy(images: list[np.ndarray], sigma: float, seed: int = 1) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [np.clip(image + rng.normal(0, sigma, image.shape), 0, 255).astype(np.uint8) for image in images]


def test_frechet_distance_of_known_gaussians() -> None:
    mean = np.array([3.0, 4.0])
    assert fid.frechet_distance((np.zeros(2), np.eye(2)), (mean, np.eye(2))) == pytest.approx(25.0)
    # Tr(A + B - 2 sqrt(AB)) for diagonal A = diag(1, 4), B = diag(4, 9): (1 + 4 - 4) + (4 + 9 - 12) = 2
    assert fid.frechet_distance((np.zeros(2), np.diag([1.0, 4.0])), (np.zeros(2), np.diag([4.0, 9.0]))) == \
        pytest.approx(2.0)


def test_fid_of_a_set_against_itself_is_zero_and_grows_with_noise() -> None:
    features = StandInFeatures()
    real = features(_images(200))
    assert abs(fid.fid(real, real)) < 1e-6
    values = [fid.fid(features(_noisy(_images(200), sigma)), real) for sigma in (5, 20, 60)]
    assert 0 < values[0] < values[1] < values[2]


def test_statistics_need_two_images() -> None:
    with pytest.raises(ReidBenchError, match="at least two"):
        fid.statistics(np.zeros((1, 5)))


def test_reference_statistics_are_cached_by_network_and_files(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("REID_BENCH_CACHE", str(tmp_path / "cache"))
    paths = []
    for index, image in enumerate(_images(12)):
        paths.append(tmp_path / f"{index}.npy")
        np.save(paths[-1], image)
    features = StandInFeatures(network_id="stand-in v1")
    first = fid.reference_statistics(paths, features, np.load)
    assert features.calls == 1 and len(list((tmp_path / "cache" / "fid-reference").glob("*.npz"))) == 1
    second = fid.reference_statistics(paths, features, np.load)
    assert features.calls == 1  # read from the cache
    assert np.array_equal(first[0], second[0]) and np.array_equal(first[1], second[1])
    np.save(paths[0], _images(1, seed=9)[0])  # a changed file is a new key
    fid.reference_statistics(paths, features, np.load)
    assert features.calls == 2
    anonymous = StandInFeatures()  # no network_id: never cached
    fid.reference_statistics(paths, anonymous, np.load)
    fid.reference_statistics(paths, anonymous, np.load)
    assert anonymous.calls == 2


@pytest.fixture(scope="module")
def random_inception(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """RANDOM_INCEPTION: a file with the FID Inception's architecture and random weights (test only)."""

    with mock.patch.object(torch.nn.Module, "load_state_dict", lambda self, *args, **kwargs: None), \
            mock.patch.object(fid_inception, "load_state_dict_from_url", lambda *args, **kwargs: None):
        network = fid_inception.fid_inception_v3()
    path = tmp_path_factory.mktemp("weights") / "random-inception.pth"
    torch.save(network.state_dict(), path)
    return path


def test_inception_loads_from_a_local_file_and_never_downloads(random_inception: Path) -> None:
    def no_network(*args, **kwargs):
        raise AssertionError("a download was attempted")

    with mock.patch("torch.hub.download_url_to_file", no_network), \
            mock.patch("torch.hub.load_state_dict_from_url", no_network):
        features = fid.InceptionFeatures(random_inception, batch_size=2)
    saved = torch.load(random_inception, weights_only=True)
    loaded = features.model.blocks[3][2].branch_pool.conv.weight  # Mixed_7c
    assert torch.equal(loaded, saved["Mixed_7c.branch_pool.conv.weight"])


def test_inception_features_batch_by_size_and_keep_order(random_inception: Path) -> None:
    features = fid.InceptionFeatures(random_inception, batch_size=3)
    seen = []

    def pooled_brightness(batch: torch.Tensor) -> list[torch.Tensor]:  # stands in for the slow network
        seen.append(tuple(batch.shape))
        return [batch.mean(dim=(1, 2, 3)).reshape(-1, 1, 1, 1).expand(-1, fid.INCEPTION_DIMS, 1, 1)]

    features.model = pooled_brightness
    images = [np.full(shape, value, np.uint8) for shape, value in
              [((32, 16, 3), 0), ((24, 24, 3), 51), ((32, 16, 3), 102), ((32, 16, 3), 255)]]
    out = features(images)
    assert out.shape == (4, fid.INCEPTION_DIMS)
    assert out[:, 0] == pytest.approx([0.0, 0.2, 0.4, 1.0])  # inputs scaled to [0, 1], order kept
    assert sorted(seen) == [(1, 3, 24, 24), (1, 3, 32, 16), (2, 3, 32, 16)]


def test_a_file_that_is_not_the_inception_is_one_sentence(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.pth"
    garbage.write_bytes(b"not a torch file")
    with pytest.raises(ReidBenchError, match="cannot be read as a torch weights file"):
        fid.build_inception(garbage)
    other = tmp_path / "other.pth"
    torch.save({"conv.weight": torch.zeros(1)}, other)
    with pytest.raises(ReidBenchError, match="does not fit pytorch-fid's Inception"):
        fid.build_inception(other)
