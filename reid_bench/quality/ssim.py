"""Pixel metrics of a generated image against its target: SSIM, mask-SSIM, L1, PSNR (no weights).

- **SSIM** (Wang et al., "Image Quality Assessment: From Error Visibility to Structural
  Similarity", IEEE TIP 2004, Eq. 13) exactly as PG2's and PATN's metric scripts call
  scikit-image (PATN, Zhu et al. CVPR 2019, ``tool/getMetrics_market.py``)::

      compare_ssim(target, generated, gaussian_weights=True, sigma=1.5,
                   use_sample_covariance=False, multichannel=True,
                   data_range=generated.max() - generated.min())

  on uint8 RGB arrays. That is, per colour channel of the float64 images: local means,
  variances and covariance from a Gaussian window (sigma 1.5, truncated at 3.5 sigma: 11 taps,
  borders reflected as ``scipy.ndimage.gaussian_filter`` does), population (not sample)
  covariance, ``C1 = (0.01 R)^2``, ``C2 = (0.03 R)^2`` with ``R`` the *generated* image's range
  (max - min over all its pixels, PATN's rule, usually close to 255), the SSIM map with a 5-pixel
  border cropped, averaged; then the mean of the three channels. One addition: a constant
  generated image (range 0, where PATN's call divides 0 by 0) uses ``R = 255``. GFLA's
  ``script/metrics.py`` (Ren et al. CVPR 2020) reports this same number as ``ssim_256``, beside
  another SSIM (51-pixel uniform window on [0, 1] images) that is not computed here.
- **mask-SSIM** (Ma et al., "Pose Guided Person Image Generation", NeurIPS 2017, Sec. 4.1):
  the same SSIM of ``target * mask`` against ``generated * mask``, where ``mask`` is the
  target's body mask and the background becomes black (0), as PATN computes it (the data range
  is then that of the masked generated image).
- **L1**: PATN's ``l1_score``, the mean absolute difference with images scaled to [-1, 1]
  (``|a - b| / 127.5`` on uint8). GFLA's ``compare_l1`` works in [0, 1] and is half of this.
- **PSNR**: ``10 log10(255^2 / MSE)`` over all pixels and channels (scikit-image's
  ``compare_psnr`` with data range 1 on [0, 1] images, as GFLA calls it); ``inf`` for identical
  images.

All functions take batches: ``(N, H, W, 3)`` uint8 arrays, masks ``(N, H, W)`` bool, and return
one value per image pair, ``(N,)`` float64.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

SIGMA = 1.5
TRUNCATE = 3.5  # scikit-image's Gaussian window: 2 * int(3.5 * 1.5 + 0.5) + 1 = 11 taps
CROP = 5  # (11 - 1) // 2, scikit-image's border crop
K1, K2 = 0.01, 0.03


def _check(generated: np.ndarray, target: np.ndarray) -> None:
    if generated.shape != target.shape or generated.ndim != 4 or generated.shape[-1] != 3:
        raise ValueError(f"expected two (N, H, W, 3) batches of one shape, got {generated.shape} and {target.shape}")


def _window_mean(images: np.ndarray) -> np.ndarray:
    """Gaussian-weighted local mean over H and W of each image and channel."""
    return ndimage.gaussian_filter(images, sigma=(0, SIGMA, SIGMA, 0), truncate=TRUNCATE, mode="reflect")


def ssim(generated: np.ndarray, target: np.ndarray) -> np.ndarray:
    """(N,) PATN's SSIM of each generated image against its target (see the module docstring)."""
    _check(generated, target)
    x = target.astype(np.float64)
    y = generated.astype(np.float64)
    spread = y.reshape(len(y), -1)
    data_range = spread.max(axis=1) - spread.min(axis=1)
    data_range[data_range == 0] = 255.0
    c1 = ((K1 * data_range) ** 2)[:, None, None, None]
    c2 = ((K2 * data_range) ** 2)[:, None, None, None]
    mu_x, mu_y = _window_mean(x), _window_mean(y)
    var_x = _window_mean(x * x) - mu_x * mu_x
    var_y = _window_mean(y * y) - mu_y * mu_y
    cov_xy = _window_mean(x * y) - mu_x * mu_y
    ssim_map = ((2 * mu_x * mu_y + c1) * (2 * cov_xy + c2)) / ((mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2))
    height, width = ssim_map.shape[1:3]
    if height <= 2 * CROP or width <= 2 * CROP:
        raise ValueError(f"images of {height}x{width} are too small for SSIM's 11x11 window")
    cropped = ssim_map[:, CROP:height - CROP, CROP:width - CROP, :]
    return cropped.mean(axis=(1, 2)).mean(axis=1)


def apply_mask(images: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """uint8 images with every pixel outside ``masks`` set to 0 (PATN's ``image * mask``)."""
    return images * masks[..., None].astype(images.dtype)


def mask_ssim(generated: np.ndarray, target: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """(N,) SSIM of the masked images (PG2's mask-SSIM, as PATN computes it)."""
    return ssim(apply_mask(generated, masks), apply_mask(target, masks))


def l1(generated: np.ndarray, target: np.ndarray) -> np.ndarray:
    """(N,) mean |generated - target| with images in [-1, 1] (PATN's ``l1_score``)."""
    _check(generated, target)
    diff = np.abs(generated.astype(np.float64) - target.astype(np.float64)) / 127.5
    return diff.reshape(len(diff), -1).mean(axis=1)


def psnr(generated: np.ndarray, target: np.ndarray) -> np.ndarray:
    """(N,) ``10 log10(255^2 / MSE)``; ``inf`` where the two images are identical."""
    _check(generated, target)
    diff = generated.astype(np.float64) - target.astype(np.float64)
    mse = (diff * diff).reshape(len(diff), -1).mean(axis=1)
    with np.errstate(divide="ignore"):
        return 10.0 * np.log10(255.0**2 / mse)
