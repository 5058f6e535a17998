"""The annotation vocabulary, defined once: COCO-OpenPose keypoints, LIP parsing labels, LIP's palette.

- Keypoints: the 18 points of OpenPose's COCO model in the order PG2, Def-GAN and PATN write them
  in their ``*annotation-*.csv`` files, (y, x), -1 for a missing point.
- Parsing: the 20 labels of LIP (Gong et al., "Look into Person", CVPR 2017), 0 = background, as
  Self-Correction-Human-Parsing writes them.
- :data:`LIP_PALETTE`: the colour of each label in LIP's (and Self-Correction-Human-Parsing's)
  visualisation palette. Every parsing the suite writes or draws uses it: SynthPeople's PNGs, the
  training loop's sample grids, the run's sample figure and the qualitative comparison.
"""

from __future__ import annotations

import numpy as np

KEYPOINT_NAMES = (
    "nose", "neck", "Rsho", "Relb", "Rwri", "Lsho", "Lelb", "Lwri", "Rhip",
    "Rkne", "Rank", "Lhip", "Lkne", "Lank", "Leye", "Reye", "Lear", "Rear",
)
LIP_LABELS = (
    "background", "hat", "hair", "glove", "sunglasses", "upper-clothes", "dress", "coat", "socks",
    "pants", "jumpsuits", "scarf", "skirt", "face", "left-arm", "right-arm", "left-leg",
    "right-leg", "left-shoe", "right-shoe",
)
NUM_PARSING_LABELS = len(LIP_LABELS)
LIP_PALETTE = np.array([
    [0, 0, 0], [128, 0, 0], [255, 0, 0], [0, 85, 0], [170, 0, 51], [255, 85, 0], [0, 0, 85],
    [0, 119, 221], [85, 85, 0], [0, 85, 85], [85, 51, 0], [52, 86, 128], [0, 128, 0], [0, 0, 255],
    [51, 170, 221], [0, 255, 255], [85, 255, 170], [170, 255, 85], [255, 255, 0], [255, 170, 0],
], np.uint8)


def colour_parsing(labels: np.ndarray) -> np.ndarray:
    """(H, W) LIP labels -> (H, W, 3) uint8 colours of :data:`LIP_PALETTE` (labels past 19 black)."""
    labels = np.asarray(labels)
    return np.where((labels < NUM_PARSING_LABELS)[..., None], LIP_PALETTE[np.minimum(labels, NUM_PARSING_LABELS - 1)],
                    0).astype(np.uint8)
