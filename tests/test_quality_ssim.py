"""SSIM, mask-SSIM, L1 and PSNR on hand-made cases, and SSIM against an explicit 11x11 window."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from reid_bench.quality import ssim

SHAPE = (2, 32, 24, 3)


def _noise(seed: int = 0, shape: tuple[int, ...] = SHAPE) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=shape, dtype=np.uint8)


def _constant(value: int) -> np.ndarray:
    return np.full(SHAPE, value, dtype=np.uint8)


def _reference_ssim(generated: np.ndarray, target: np.ndarray) -> float:
    """Wang et al.'s SSIM with an explicit 11x11 Gaussian window (sigma 1.5), one image pair."""
    taps = np.exp(-(np.arange(-5, 6) ** 2) / (2 * 1.5**2))
    window = np.outer(taps, taps) / np.outer(taps, taps).sum()
    r = float(generated.max()) - float(generated.min())
    c1, c2 = (0.01 * r) ** 2, (0.03 * r) ** 2
    scores = []
    for channel in range(3):
        x, y = target[..., channel].astype(float), generated[..., channel].astype(float)
        mean = lambda image: ndimage.correlate(image, window, mode="reflect")  # noqa: E731
        mx, my = mean(x), mean(y)
        vx, vy, cxy = mean(x * x) - mx * mx, mean(y * y) - my * my, mean(x * y) - mx * my
        s = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx**2 + my**2 + c1) * (vx + vy + c2))
        scores.append(s[5:-5, 5:-5].mean())
    return float(np.mean(scores))


def test_identical_images_score_one_zero_and_infinity() -> None:
    images = _noise()
    assert ssim.ssim(images, images) == pytest.approx([1.0, 1.0])
    assert ssim.mask_ssim(images, images, np.random.default_rng(1).random(SHAPE[:3]) > 0.5) == pytest.approx([1, 1])
    assert ssim.l1(images, images).tolist() == [0.0, 0.0]
    assert np.isinf(ssim.psnr(images, images)).all()


def test_ssim_matches_an_explicit_gaussian_window() -> None:
    target = _noise(0)
    generated = np.clip(target.astype(int) + np.random.default_rng(2).integers(-60, 60, SHAPE), 0, 255).astype(np.uint8)
    got = ssim.ssim(generated, target)
    want = [_reference_ssim(generated[i], target[i]) for i in range(len(target))]
    assert got == pytest.approx(want, abs=1e-12)
    assert 0 < got.min() < 1


def test_constant_images_follow_the_closed_form() -> None:
    # No variance: SSIM = (2 v w + C1) / (v^2 + w^2 + C1); a constant generated image uses R = 255.
    v, w = 100, 140
    c1 = (0.01 * 255) ** 2
    assert ssim.ssim(_constant(w), _constant(v)) == pytest.approx((2 * v * w + c1) / (v * v + w * w + c1))


def test_data_range_is_the_generated_images_range() -> None:
    target = _noise(3)
    half_range = (target // 2).astype(np.uint8)  # range about 127: smaller C1, C2 than 255 would give
    assert ssim.ssim(half_range, target) == pytest.approx([_reference_ssim(half_range[i], target[i]) for i in range(2)])


def test_l1_and_psnr_of_a_constant_offset() -> None:
    a, b = _constant(100), _constant(151)
    assert ssim.l1(b, a) == pytest.approx([51 / 127.5] * 2)
    assert ssim.psnr(b, a) == pytest.approx([10 * np.log10(255**2 / 51**2)] * 2)


def test_mask_ssim_ignores_what_lies_outside_the_mask() -> None:
    target = _noise(4)
    mask = np.zeros(SHAPE[:3], dtype=bool)
    mask[:, 8:24, 6:18] = True
    generated = target.copy()
    generated[~mask] = 255 - generated[~mask]  # wrong only in the background
    assert ssim.mask_ssim(generated, target, mask) == pytest.approx([1.0, 1.0])
    assert ssim.ssim(generated, target).max() < 0.5
    masked = ssim.apply_mask(generated, mask)
    assert (masked[~mask] == 0).all() and (masked[mask] == generated[mask]).all()


def test_all_true_mask_equals_plain_ssim() -> None:
    a, b = _noise(5), _noise(6)
    assert ssim.mask_ssim(a, b, np.ones(SHAPE[:3], dtype=bool)) == pytest.approx(ssim.ssim(a, b))


def test_shapes_are_checked() -> None:
    with pytest.raises(ValueError, match="one shape"):
        ssim.ssim(_noise(), _noise(shape=(2, 32, 20, 3)))
    with pytest.raises(ValueError, match="too small"):
        ssim.ssim(_noise(shape=(1, 8, 8, 3)), _noise(shape=(1, 8, 8, 3)))
