"""Fit SynthPeople's pose distribution to Market-1501's training keypoints.

Usage: python scripts/fit_pose_model.py [../shared/data/market1501/market-annotation-train.csv]

Minimises the Frechet distance between Gaussians fitted to the normalised core keypoints (neck,
shoulders, hips, knees, ankles; poses with all nine visible) of the real file and of poses sampled
from :mod:`reid_bench.data.pose_model` (common random numbers, Nelder-Mead then Powell), and prints
the fitted :class:`PoseDistribution` to paste into ``pose_model.FITTED``. Not needed at run time.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import numpy as np
from scipy import optimize

from reid_bench.data.formats import read_keypoints_csv
from reid_bench.data.pose_model import (
    FITTED,
    PoseDistribution,
    frechet_distance,
    normalised_core,
    pose_from_params,
    sample_params,
    visible_keypoints,
)

H, W = 128, 64
SAMPLES = 6000


def flatten(dist: PoseDistribution) -> np.ndarray:
    values = []
    for field in dataclasses.fields(dist):
        value = getattr(dist, field.name)
        values.extend(value if isinstance(value, tuple) else [value])
    return np.asarray(values, float)


def unflatten(vector: np.ndarray) -> PoseDistribution:
    values, position = {}, 0
    for field in dataclasses.fields(FITTED):
        template = getattr(FITTED, field.name)
        if isinstance(template, tuple):
            values[field.name] = tuple(float(v) for v in vector[position:position + len(template)])
            position += len(template)
        else:
            values[field.name] = float(vector[position])
            position += 1
    for name in ("view_jitter", "jitter", "knee_bend"):
        values[name] = abs(values[name])
    return PoseDistribution(**values)


def sampled_core(dist: PoseDistribution, seed: int = 0, n: int = SAMPLES) -> np.ndarray:
    rng = np.random.default_rng(seed)
    pose = pose_from_params(sample_params(rng, n, dist), H, W, dist, rng)
    return normalised_core(visible_keypoints(pose, H, W), H, W)


def main(path: str) -> None:
    real = normalised_core(np.stack(list(read_keypoints_csv(path).values())), H, W)
    print(f"{len(real)} real poses with the nine core points visible")

    def loss(vector: np.ndarray) -> float:
        try:
            return frechet_distance(sampled_core(unflatten(vector)), real)
        except (ValueError, np.linalg.LinAlgError):
            return 10.0

    start = flatten(FITTED)
    print(f"start: {loss(start):.4f}")
    result = optimize.minimize(loss, start, method="Nelder-Mead",
                               options={"maxiter": 4000, "xatol": 1e-4, "fatol": 1e-5, "adaptive": True})
    result = optimize.minimize(loss, result.x, method="Powell", options={"maxiter": 20000, "xtol": 1e-4})
    fitted = unflatten(result.x)
    print(f"fitted: {result.fun:.4f}; held-out seed: {frechet_distance(sampled_core(fitted, seed=1), real):.4f}")
    print(repr(fitted))


if __name__ == "__main__":
    default = Path(__file__).resolve().parents[2] / "shared/data/market1501/market-annotation-train.csv"
    main(sys.argv[1] if len(sys.argv) > 1 else str(default))
