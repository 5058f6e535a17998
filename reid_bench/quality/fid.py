"""Fréchet Inception Distance (Heusel et al., "GANs Trained by a Two Time-Scale Update Rule
Converge to a Local Nash Equilibrium", NeurIPS 2017, Sec. 3).

``FID = |mu_g - mu_r|^2 + Tr(S_g + S_r - 2 (S_g S_r)^(1/2))`` between Gaussians fitted (mean,
``np.cov`` covariance with N - 1) to the features of the generated and of the reference images,
computed by pytorch-fid's ``calculate_frechet_distance`` (scipy ``sqrtm``; ``1e-6`` added to
the diagonals if the product is singular).

Features: pytorch-fid's ``InceptionV3`` (Seitzer, pytorch-fid 0.3), final average pool
(``pool3``, 2048-d), with the TF-ported weights of the original TTUR implementation
(``pt_inception-2015-12-05-6726825d.pth``). Resize rule: every image is decoded to RGB uint8 at
its file's size, scaled to [0, 1], resized bilinearly to 299x299 (``F.interpolate``,
``align_corners=False``: pytorch-fid's ``resize_input``) and scaled to [-1, 1] (its
``normalize_input``). The weights are read from disk: pytorch-fid's own builder is run with its
download function replaced by a reader of the found file, so nothing is ever fetched and a file
that does not fit the network is an error.

The features are any ``FeatureFn``, a callable mapping a list of (H, W, 3) uint8 images to an
(N, D) array; :class:`InceptionFeatures` is the real one, and tests inject a small stand-in.
No confidence interval is computed for FID: a bootstrap would need one 2048x2048 matrix square
root per resample (1,000 of them; one takes about a minute and a half on 2 CPU cores).
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Callable, Sequence
from unittest import mock

import numpy as np
import torch
from pytorch_fid import inception as fid_inception
from pytorch_fid.fid_score import calculate_frechet_distance
from tqdm import tqdm

from reid_bench.errors import ReidBenchError
from reid_bench.storage import atomic_path, cache_root, config_hash, load_torch_file

FeatureFn = Callable[[Sequence[np.ndarray]], np.ndarray]
INCEPTION_DIMS = 2048


def build_inception(weights_path: str | os.PathLike) -> torch.nn.Module:
    """pytorch-fid's ``InceptionV3([pool3])`` with the FID weights read from ``weights_path``."""

    path = Path(weights_path)
    state = load_torch_file(path, "a torch weights file", "replace it with pt_inception-2015-12-05-6726825d.pth")

    def from_disk(url: str, *args: object, **kwargs: object) -> dict:
        return state

    block = fid_inception.InceptionV3.BLOCK_INDEX_BY_DIM[INCEPTION_DIMS]
    try:
        with mock.patch.object(fid_inception, "load_state_dict_from_url", from_disk):
            model = fid_inception.InceptionV3([block], resize_input=True, normalize_input=True)
    except RuntimeError as error:
        raise ReidBenchError(f"{path} does not fit pytorch-fid's Inception network ({str(error)[:80]}...); "
                             "it must be pt_inception-2015-12-05-6726825d.pth.") from None
    return model.eval()


class InceptionFeatures:
    """``FeatureFn`` of pytorch-fid's Inception pool3 (see the module docstring)."""

    def __init__(self, weights_path: str | os.PathLike, device: str | torch.device = "cpu",
                 batch_size: int = 32) -> None:
        self.model = build_inception(weights_path).to(device)
        self.device = torch.device(device)
        self.batch_size = batch_size
        self.network_id = f"pytorch-fid InceptionV3 pool3, {Path(weights_path).name}"

    @torch.inference_mode()
    def __call__(self, images: Sequence[np.ndarray]) -> np.ndarray:
        out = np.empty((len(images), INCEPTION_DIMS), dtype=np.float64)
        for start in range(0, len(images), self.batch_size):
            chunk = list(range(start, min(len(images), start + self.batch_size)))
            for shape in {images[i].shape for i in chunk}:  # one batch per image size
                rows = [i for i in chunk if images[i].shape == shape]
                batch = torch.from_numpy(np.stack([images[i] for i in rows])).to(self.device)
                batch = batch.permute(0, 3, 1, 2).float() / 255.0
                pooled = self.model(batch)[0]
                out[rows] = pooled.reshape(len(rows), -1).double().cpu().numpy()
        return out


def statistics(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance (``np.cov``, N - 1) of (N, D) features; at least two rows."""
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2 or len(features) < 2:
        raise ReidBenchError(f"FID needs the features of at least two images, got {len(features)}.")
    return features.mean(axis=0), np.cov(features, rowvar=False)


def frechet_distance(a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray]) -> float:
    """The Fréchet distance between two (mean, covariance) pairs (pytorch-fid's implementation)."""

    with warnings.catch_warnings():  # pytorch-fid 0.3 passes scipy's deprecated sqrtm(disp=False)
        warnings.filterwarnings("ignore", message=".*disp.*", category=DeprecationWarning)
        return float(calculate_frechet_distance(a[0], np.atleast_2d(a[1]), b[0], np.atleast_2d(b[1])))


def fid(generated: np.ndarray, reference: np.ndarray) -> float:
    """FID between two (N, D) feature arrays."""
    return frechet_distance(statistics(generated), statistics(reference))


def features_of_files(paths: Sequence[Path], features: FeatureFn, read: Callable[[Path], np.ndarray],
                      batch_size: int = 64, progress: bool = False, desc: str = "FID reference") -> np.ndarray:
    """(N, D) features of image files, read ``batch_size`` at a time."""
    rows = []
    for start in tqdm(range(0, len(paths), batch_size), desc=desc, unit="batch", disable=not progress):
        rows.append(features([read(path) for path in paths[start:start + batch_size]]))
    return np.concatenate(rows) if rows else np.zeros((0, 0))


def reference_statistics(paths: Sequence[Path], features: FeatureFn, read: Callable[[Path], np.ndarray], *,
                         cached: bool = True, progress: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance of the features of ``paths``, cached when ``features`` names its network.

    The cache (``$REID_BENCH_CACHE/fid-reference/<hash>.npz``) is keyed by the network
    (``features.network_id``) and every file's path, size and modification time, so a changed
    image or other weights never reuse stale statistics. Injected feature functions without a
    ``network_id`` are never cached.
    """
    network = getattr(features, "network_id", None)
    if not (cached and network):
        return statistics(features_of_files(paths, features, read, progress=progress))
    key = config_hash({"network": network, "files": [_file_key(p) for p in paths]})
    path = cache_root() / "fid-reference" / f"{key}.npz"
    if path.is_file():
        with np.load(path) as stored:
            return stored["mu"], stored["sigma"]
    mu, sigma = statistics(features_of_files(paths, features, read, progress=progress))
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        np.savez(handle, mu=mu, sigma=sigma)
    return mu, sigma


def _file_key(path: Path) -> tuple[str, int, int]:
    stat = path.stat()
    return str(path.resolve()), stat.st_size, stat.st_mtime_ns
