"""LPIPS and mask-LPIPS (Zhang et al., "The Unreasonable Effectiveness of Deep Features as a
Perceptual Metric", CVPR 2018, Eq. 1).

``d(x, y) = sum_l mean_hw |w_l * (f_l(x) - f_l(y))|^2`` over the five ReLU layers of AlexNet,
features unit-normalised along channels, ``w_l`` the learned v0.1 linear layers: the ``lpips``
package's ``LPIPS(net="alex", version="0.1")``, which is PerceptualSimilarity's ``net-lin``/
``alex`` model that GFLA (Ren et al., CVPR 2020, ``script/metrics.py``) used. Images are uint8
RGB at their file size, scaled to [-1, 1] (``x / 127.5 - 1``), not resized.

mask-LPIPS (GFLA's ``calculate_mask_lpips``): both images are multiplied, in [-1, 1], by the
target's body mask before LPIPS, so the background becomes 0 (mid-grey) in both; the mask is the
one the row's ``protocol`` names (keypoints, as GFLA, or parsing).

Weights, offline: the package is built with a random trunk and no linear layers
(``pretrained=False, pnet_rand=True``, so it downloads nothing), then the v0.1 linear layers are
loaded from the package's own ``weights/v0.1/alex.pth`` and the AlexNet trunk from torchvision's
``alexnet-owt-7be5be79.pth``, both strictly (every tensor must be there and fit).
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import lpips
import numpy as np
import torch

from reid_bench.errors import ReidBenchError
from reid_bench.storage import load_torch_file


def _read(path: Path, what: str) -> dict[str, torch.Tensor]:
    return load_torch_file(path, "a torch weights file", f"replace it with {what}")


def build_lpips(alexnet_path: str | os.PathLike, linear_path: str | os.PathLike) -> torch.nn.Module:
    """``lpips.LPIPS(net="alex", version="0.1")`` with its weights read from the two files."""

    with warnings.catch_warnings():  # lpips passes torchvision's deprecated ``pretrained=False``
        warnings.simplefilter("ignore", UserWarning)
        model = lpips.LPIPS(net="alex", version="0.1", pretrained=False, pnet_rand=True, verbose=False)
    linear = _read(Path(linear_path), "lpips' weights/v0.1/alex.pth")
    trunk = _read(Path(alexnet_path), "alexnet-owt-7be5be79.pth")
    try:
        model.load_state_dict(_full_state(model, linear, trunk))
    except (KeyError, RuntimeError) as error:
        raise ReidBenchError(f"{alexnet_path} or {linear_path} does not fit LPIPS' AlexNet ({str(error)[:80]}); "
                             "use torchvision's alexnet-owt-7be5be79.pth and lpips 0.1's alex.pth.") from None
    return model.eval()


def _full_state(model: torch.nn.Module, linear: dict, trunk: dict) -> dict[str, torch.Tensor]:
    """LPIPS' state dict filled from the linear-layer file and the torchvision AlexNet file.

    ``net.sliceK.I.*`` is torchvision's ``features.I.*``; ``linK.*`` and its alias ``lins.K.*``
    come from the linear file; ``scaling_layer.*`` are fixed constants kept from the model.
    """
    state = {}
    for key, value in model.state_dict().items():
        if key.startswith("net."):
            _, _, index, param = key.split(".")
            state[key] = trunk[f"features.{index}.{param}"]
        elif key.startswith("lins."):
            _, index, rest = key.split(".", 2)
            state[key] = linear[f"lin{index}.{rest}"]
        elif key.startswith("lin"):
            state[key] = linear[key]
        else:
            state[key] = value
    return state


class LpipsDistance:
    """Per-pair LPIPS of [-1, 1] image batches: ``(N, 3, H, W), (N, 3, H, W) -> (N,)``."""

    def __init__(self, model: torch.nn.Module, device: str | torch.device = "cpu") -> None:
        self.device = torch.device(device)
        self.model = model.to(self.device).eval()

    @torch.inference_mode()
    def __call__(self, generated: torch.Tensor, target: torch.Tensor) -> np.ndarray:
        out = self.model(generated.to(self.device), target.to(self.device))
        return out.reshape(len(generated)).double().cpu().numpy()


def to_lpips_input(images: np.ndarray, masks: np.ndarray | None = None) -> torch.Tensor:
    """(N, H, W, 3) uint8 -> (N, 3, H, W) float in [-1, 1], times ``masks`` (N, H, W) if given."""
    tensor = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 127.5 - 1.0
    if masks is not None:
        tensor = tensor * torch.from_numpy(masks.astype(np.float32))[:, None]
    return tensor
