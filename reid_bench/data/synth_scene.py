"""SynthPeople cameras: backgrounds, illumination, colour cast, blur, noise, JPEG quality, occluders.

Each of the six cameras has its own scene (wall and floor colours, horizon, fixed clutter such as
doors, windows, benches and signs), its own light (brightness, gamma, a left-right gradient), colour
cast, lens blur, sensor noise and JPEG quality, as the six cameras of Market-1501 differ. A crop
of the scene at a random place is the background of each detection; passers-by at the edges and
occasional occluders (a pole, a bin, a bicycle-like box) in front of the person are added per
image, like Market-1501's detections.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage


@dataclass(frozen=True)
class Camera:
    index: int  # 1-based, as in Market-1501 file names
    scene: np.ndarray  # (H, 3W, 3) float RGB, the camera's background, wider than a crop
    gain: float  # overall brightness
    gamma: float
    cast: tuple[float, float, float]  # per-channel colour multipliers
    light_slope: float  # left-right illumination gradient
    blur: float  # Gaussian sigma (pixels at 128x64)
    noise: float  # std of additive noise (0-255 scale)
    jpeg_quality: int


def make_cameras(rng: np.random.Generator, count: int, height: int, width: int) -> list[Camera]:
    return [_make_camera(rng, index + 1, height, width) for index in range(count)]


def _make_camera(rng: np.random.Generator, index: int, height: int, width: int) -> Camera:
    scene_w = 3 * width
    yy, xx = np.mgrid[0:height, 0:scene_w].astype(float)
    wall, floor = rng.uniform(40, 220, 3), rng.uniform(40, 200, 3)
    horizon = rng.uniform(0.45, 0.75) * height
    scene = np.where((yy < horizon)[..., None], wall, floor)
    scene = scene * (1 + 0.15 * np.sin(xx[..., None] / rng.uniform(8, 30) + rng.uniform(0, 6)))
    for _ in range(int(rng.integers(5, 11))):  # doors, windows, signs, benches
        h = rng.uniform(0.08, 0.5) * height
        w = rng.uniform(0.1, 0.6) * width
        top = rng.uniform(0, height - h)
        left = rng.uniform(0, scene_w - w)
        box = (yy >= top) & (yy < top + h) & (xx >= left) & (xx < left + w)
        scene[box] = rng.uniform(10, 245, 3)
    for _ in range(int(rng.integers(2, 6))):  # floor tiles and kerbs
        y0 = rng.uniform(horizon, height)
        scene[np.abs(yy - y0) < rng.uniform(0.3, 1.5) * height / 128] *= rng.uniform(0.6, 0.9)
    return Camera(
        index=index,
        scene=np.clip(scene, 0, 255),
        gain=float(rng.uniform(0.7, 1.2)),
        gamma=float(rng.uniform(0.8, 1.25)),
        cast=tuple(rng.uniform(0.82, 1.15, 3)),
        light_slope=float(rng.uniform(-0.25, 0.25)),
        blur=float(rng.uniform(0.0, 1.1)),
        noise=float(rng.uniform(1.0, 7.0)),
        jpeg_quality=int(rng.integers(65, 96)),
    )


def background(camera: Camera, rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """A (H, W, 3) crop of the camera's scene, with blurred passers-by at the edges now and then."""
    left = int(rng.integers(0, camera.scene.shape[1] - width + 1))
    image = camera.scene[:, left:left + width].copy()
    yy, xx = np.mgrid[0:height, 0:width].astype(float)
    for _ in range(int(rng.poisson(0.6))):
        cx = rng.choice([rng.uniform(-0.2, 0.1), rng.uniform(0.9, 1.2)]) * width
        cy = rng.uniform(0.3, 0.7) * height
        blob = ((xx - cx) / (0.18 * width)) ** 2 + ((yy - cy) / (0.45 * height)) ** 2 < 1
        image[blob] = rng.uniform(20, 200, 3)
    return image


def occluder(rng: np.random.Generator, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """A mask (H, W) bool and a colour image of an object in front of the person."""
    yy, xx = np.mgrid[0:height, 0:width].astype(float)
    kind = rng.integers(3)
    if kind == 0:  # a pole
        x0 = rng.uniform(0.05, 0.85) * width
        mask = (xx >= x0) & (xx < x0 + rng.uniform(0.06, 0.16) * width)
    elif kind == 1:  # a bin or a box at the bottom
        top = rng.uniform(0.65, 0.85) * height
        x0 = rng.uniform(-0.3, 0.6) * width
        mask = (yy >= top) & (xx >= x0) & (xx < x0 + rng.uniform(0.4, 0.8) * width)
    else:  # a bicycle-like frame: two wheels and a bar
        cy = rng.uniform(0.75, 0.9) * height
        r = rng.uniform(0.1, 0.16) * height
        cx = rng.uniform(0.2, 0.8) * width

        def ring(x: float) -> np.ndarray:
            return np.abs(np.hypot(xx - x, yy - cy) - r) < 0.02 * height + 0.8

        mask = ring(cx - 0.6 * r) | ring(cx + 0.6 * r) | ((np.abs(yy - (cy - r)) < 0.015 * height + 0.6)
                                                           & (np.abs(xx - cx) < r))
    colour = np.broadcast_to(rng.uniform(20, 220, 3), (height, width, 3))
    return mask, colour


def apply_camera(image: np.ndarray, camera: Camera, rng: np.random.Generator) -> np.ndarray:
    """Light, colour cast, blur and noise of the camera on a (H, W, 3) float image; uint8 out."""
    height, width = image.shape[:2]
    ramp = 1 + camera.light_slope * (np.linspace(-1, 1, width)[None, :, None])
    gain = camera.gain * rng.uniform(0.9, 1.1)
    out = 255 * (np.clip(image * ramp * gain, 0, 255) / 255) ** camera.gamma
    out = out * np.asarray(camera.cast)
    sigma = camera.blur * height / 128
    if sigma > 0.05:
        out = ndimage.gaussian_filter(out, sigma=(sigma, sigma, 0))
    out = out + rng.normal(0, camera.noise, out.shape)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)
