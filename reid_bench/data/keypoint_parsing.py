"""A coarse LIP parsing drawn from the 18 keypoints, for datasets that have no human parser's output.

SAN reads a 20-label LIP parsing of every image (paper Sec. 3, the parsing "extracted by the
Pascal-Person-Part" parser, LIP's labels). Where no parser was run (no Self-Correction-Human-Parsing
PNGs), ``reid-bench data prepare DIR --parsing keypoints`` draws this stand-in from the keypoint
row instead. It is no parser, and every result row that depends on it says ``parsing=keypoints``
(:func:`reid_bench.data.inputs.input_sources`).

What is drawn, on a canvas of the image's size, with a limb half-width ``r`` of PG2's 4 px at
Market-1501's height of 128 (scaled with the image height; PG2's pose mask uses the same 4 px,
:func:`reid_bench.data.pose_maps.body_mask_from_keypoints`), parts later in the list painting over
earlier ones:

1. pants (9): thighs and shins (hip-knee-ankle) as bands of half-width 1.25 r, and the hip-hip band;
2. left-shoe (18) / right-shoe (19): a disk of radius r at each ankle;
3. upper-clothes (5): the torso, the polygon of the shoulders and hips grown by r (the neck-hip
   bands where a shoulder or hip is missing);
4. face (13): a disk over the visible face points (nose, eyes, ears) whose radius is 0.6 of the
   neck-nose distance (at least 1.5 r);
5. left-arm (14) / right-arm (15): shoulder-elbow-wrist bands of half-width r.

Left and right are the person's, as COCO's L/R keypoints and LIP's labels both are. Simplified
away: hair, hats, skirts, dresses, coats, bags and bare skin (every leg is in pants, every arm is
bare), and the body's true outline; the labels are where the parts are, roughly, not what the
person wears.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from reid_bench.data.pose_maps import visible
from reid_bench.data.vocabulary import KEYPOINT_NAMES, LIP_LABELS

REFERENCE_HEIGHT = 128  # Market-1501's image height, where the limb half-width is PG2's 4 px
LIMB_RADIUS = 4.0
_K = {name: index for index, name in enumerate(KEYPOINT_NAMES)}
_L = {name: index for index, name in enumerate(LIP_LABELS)}
FACE_POINTS = tuple(_K[name] for name in ("nose", "Leye", "Reye", "Lear", "Rear"))


def parsing_from_keypoints(keypoints: np.ndarray, height: int, width: int) -> np.ndarray:
    """(H, W) uint8 LIP labels drawn from (18, 2) (y, x) keypoints, -1 = missing (module docstring).

    All zeros when no point is visible.
    """
    points = np.asarray(keypoints, dtype=np.float64)
    shown = visible(points)
    canvas = Image.new("L", (width, height), 0)
    if not shown.any():
        return np.asarray(canvas)
    draw = ImageDraw.Draw(canvas)
    r = max(1.0, LIMB_RADIUS * height / REFERENCE_HEIGHT)

    def xy(name: str) -> tuple[float, float] | None:
        k = _K[name]
        return (points[k, 1], points[k, 0]) if shown[k] else None

    def band(a: str, b: str, radius: float, label: int) -> None:
        p, q = xy(a), xy(b)
        if p is not None and q is not None:
            draw.line([p, q], fill=label, width=max(1, int(round(2 * radius))))
            for x, y in (p, q):
                draw.ellipse([x - radius, y - radius, x + radius, y + radius], fill=label)

    def disk(centre: tuple[float, float] | None, radius: float, label: int) -> None:
        if centre is not None:
            x, y = centre
            draw.ellipse([x - radius, y - radius, x + radius, y + radius], fill=label)

    for side in "RL":
        band(f"{side}hip", f"{side}kne", 1.25 * r, _L["pants"])
        band(f"{side}kne", f"{side}ank", 1.25 * r, _L["pants"])
    band("Rhip", "Lhip", 1.25 * r, _L["pants"])
    disk(xy("Lank"), r, _L["left-shoe"])
    disk(xy("Rank"), r, _L["right-shoe"])

    corners = [xy(name) for name in ("Rsho", "Lsho", "Lhip", "Rhip")]
    if all(corner is not None for corner in corners):
        draw.polygon(corners, fill=_L["upper-clothes"])
        for a, b in (("Rsho", "Lsho"), ("Lsho", "Lhip"), ("Lhip", "Rhip"), ("Rhip", "Rsho")):
            band(a, b, r, _L["upper-clothes"])
    else:
        for a, b in (("neck", "Rhip"), ("neck", "Lhip"), ("neck", "Rsho"), ("neck", "Lsho")):
            band(a, b, 1.5 * r, _L["upper-clothes"])

    face = [k for k in FACE_POINTS if shown[k]]
    if face:
        centre = points[face].mean(axis=0)
        radius = 1.5 * r
        if shown[_K["neck"]] and shown[_K["nose"]]:
            radius = max(radius, 0.6 * float(np.hypot(*(points[_K["neck"]] - points[_K["nose"]]))))
        disk((centre[1], centre[0]), radius, _L["face"])

    band("Rsho", "Relb", r, _L["right-arm"])
    band("Relb", "Rwri", r, _L["right-arm"])
    band("Lsho", "Lelb", r, _L["left-arm"])
    band("Lelb", "Lwri", r, _L["left-arm"])
    return np.asarray(canvas, dtype=np.uint8)
