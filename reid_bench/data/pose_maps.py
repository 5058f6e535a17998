"""Dense maps built from sparse annotations: keypoint heatmaps, body masks, one-hot parsing.

- :func:`keypoint_heatmaps` is the pose representation of PG2 (Ma et al., "Pose Guided Person
  Image Generation", NeurIPS 2017, Sec. 3.1) as PATN (Zhu et al., "Progressive Pose Attention
  Transfer", CVPR 2019) computes it: one channel per COCO-OpenPose point,
  ``exp(-((y - y_k)^2 + (x - x_k)^2) / (2 sigma^2))`` with sigma = 6 pixels, all zeros where the
  point is missing.
- :func:`body_mask_from_keypoints` is PG2's pose mask (the "M_B" of its pose-mask L1 loss, Eq. 2),
  as PG2's and PATN's ``produce_ma_mask`` draw it: 23 limbs of the COCO-18 skeleton (the usual 17
  bones plus neck-ears, hip-hip, hip-shoulder and ear-ear segments, so the torso and head close)
  drawn as bands of half-width 4 px, a disk of radius 4 px on each visible joint, then a 5x5
  morphological closing (dilation then erosion, borders reflected as scikit-image does).
  Simplification: bands and disks are rasterised by distance from pixel centres to the segment or
  joint rather than by scikit-image's polygon and circle fillers; the result differs at most by
  single pixels on the band edges.
- :func:`parsing_one_hot` turns a LIP label map (20 labels, 0 = background) into 20 binary channels;
  :func:`read_parsing` reads one from a palettised PNG (what Self-Correction-Human-Parsing writes).

Keypoints are ``(18, 2)`` arrays of (y, x) pixel coordinates, -1 for a missing point, in the order
nose, neck, Rsho, Relb, Rwri, Lsho, Lelb, Lwri, Rhip, Rkne, Rank, Lhip, Lkne, Lank, Leye, Reye,
Lear, Rear.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage

from reid_bench.data.vocabulary import KEYPOINT_NAMES, NUM_PARSING_LABELS
from reid_bench.errors import ReidBenchError

MISSING = -1


def _limb(a: str, b: str) -> tuple[int, int]:
    return KEYPOINT_NAMES.index(a), KEYPOINT_NAMES.index(b)


# The limbs PG2's pose mask draws: the skeleton plus the segments that close torso and head.
MASK_LIMBS = tuple(_limb(a, b) for a, b in (
    ("neck", "Rsho"), ("neck", "Lsho"), ("Rsho", "Relb"), ("Relb", "Rwri"), ("Lsho", "Lelb"),
    ("Lelb", "Lwri"), ("neck", "Rhip"), ("Rhip", "Rkne"), ("Rkne", "Rank"), ("neck", "Lhip"),
    ("Lhip", "Lkne"), ("Lkne", "Lank"), ("neck", "nose"), ("nose", "Leye"), ("Leye", "Lear"),
    ("nose", "Reye"), ("Reye", "Rear"), ("neck", "Lear"), ("neck", "Rear"), ("Rhip", "Lhip"),
    ("Lhip", "Lsho"), ("Rhip", "Rsho"), ("Lear", "Rear"),
))


def visible(keypoints: np.ndarray) -> np.ndarray:
    """(18,) bool: which points are present (neither coordinate is -1)."""
    keypoints = np.asarray(keypoints)
    return ~(keypoints == MISSING).any(axis=1)


def keypoint_heatmaps(keypoints: np.ndarray, height: int, width: int, sigma: float = 6) -> np.ndarray:
    """(18, H, W) float32 Gaussian heatmaps, one per point; a missing point's channel is all zeros."""
    keypoints = np.asarray(keypoints, dtype=np.float64)
    ys = np.arange(height, dtype=np.float64)
    xs = np.arange(width, dtype=np.float64)
    gy = np.exp(-((ys[None, :] - keypoints[:, :1]) ** 2) / (2 * sigma**2))  # (18, H)
    gx = np.exp(-((xs[None, :] - keypoints[:, 1:]) ** 2) / (2 * sigma**2))  # (18, W)
    maps = gy[:, :, None] * gx[:, None, :]
    maps[~visible(keypoints)] = 0.0
    return maps.astype(np.float32)


def body_mask_from_keypoints(
    keypoints: np.ndarray, height: int, width: int, radius: float = 4
) -> np.ndarray:
    """(H, W) bool body mask from keypoints, as PG2 and PATN build it (see the module docstring)."""
    keypoints = np.asarray(keypoints, dtype=np.float64)
    shown = visible(keypoints)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    mask = np.zeros((height, width), dtype=bool)
    for k in np.flatnonzero(shown):
        mask |= (yy - keypoints[k, 0]) ** 2 + (xx - keypoints[k, 1]) ** 2 < radius**2
    for a, b in MASK_LIMBS:
        if not (shown[a] and shown[b]):
            continue
        start, direction = keypoints[a], keypoints[b] - keypoints[a]
        length_sq = float(direction @ direction)
        if length_sq == 0:
            continue
        dy, dx = yy - start[0], xx - start[1]
        along = (dy * direction[0] + dx * direction[1]) / length_sq
        across = np.abs(dy * direction[1] - dx * direction[0]) / np.sqrt(length_sq)
        mask |= (along >= 0) & (along <= 1) & (across <= radius)
    closed = ndimage.grey_closing(mask.astype(np.uint8), size=(5, 5), mode="reflect")
    return closed.astype(bool)


def parsing_one_hot(labels: np.ndarray, num_labels: int = NUM_PARSING_LABELS) -> np.ndarray:
    """(num_labels, H, W) float32 one-hot encoding of an (H, W) label map (LIP: 0 = background)."""
    labels = np.asarray(labels)
    if labels.ndim != 2:
        raise ValueError(f"expected an (H, W) label map, got shape {labels.shape}")
    if labels.size and int(labels.max()) >= num_labels:
        raise ValueError(f"label {int(labels.max())} is outside 0..{num_labels - 1}")
    return (labels[None] == np.arange(num_labels)[:, None, None]).astype(np.float32)


def read_parsing(path: Path, size: tuple[int, int] | None = None) -> np.ndarray:
    """(H, W) uint8 LIP labels of a palettised (or greyscale) parsing PNG, checked to be 0..19.

    ``size`` (H, W), if given, is the size the PNG must have (its image's size).
    """
    try:
        with Image.open(path) as png:
            if png.mode not in ("P", "L"):
                raise ReidBenchError(
                    f"{path} is a {png.mode} PNG; parsing must be a palettised PNG whose pixels are LIP labels 0..19."
                )
            labels = np.asarray(png)
    except (OSError, SyntaxError) as error:
        raise ReidBenchError(f"{path} cannot be decoded ({error}); re-create that parsing PNG.") from None
    if size is not None and labels.shape != size:
        raise ReidBenchError(
            f"{path} is {labels.shape[0]}x{labels.shape[1]} but its image is {size[0]}x{size[1]}; "
            "parsing must have the size of its image."
        )
    if labels.size and int(labels.max()) >= NUM_PARSING_LABELS:
        raise ReidBenchError(
            f"{path} holds label {int(labels.max())}; LIP parsing labels are 0..{NUM_PARSING_LABELS - 1}."
        )
    return labels
