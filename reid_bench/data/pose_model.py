"""SynthPeople's articulated 2D body: walking poses whose statistics match Market-1501.

A pose is a walking person seen from a view angle, posed by 18 COCO-OpenPose keypoints (order
nose, neck, Rsho, Relb, Rwri, Lsho, Lelb, Lwri, Rhip, Rkne, Rank, Lhip, Lkne, Lank, Leye, Reye,
Lear, Rear; (y, x) pixels). The body lives in a person frame (x to the person's left, y down,
z forward), is posed by a gait model (legs swing in the sagittal plane with walking phase and
stride, arms swing against them, knees and elbows bend), turned by the view angle about the
vertical axis and projected orthographically: ``x_img = x cos(view) + z sin(view)``, with
``depth = -x sin(view) + z cos(view)`` (towards the camera) used to order the parts when they are
drawn. View 0 faces the camera, pi shows the back, pi/2 walks towards the image's right.

The distribution of the parameters (view mixture, position, scale, body proportions, stride,
lean) was fitted by ``scripts/fit_pose_model.py`` to the real keypoints of the 12,936
Market-1501 training images (``market-annotation-train.csv``): it minimises the Frechet distance
between Gaussians fitted to the normalised (y/H, x/W) neck, shoulder, hip, knee and ankle
coordinates of real and sampled poses with those nine points visible. The fitted numbers are
baked in :data:`FITTED`, so the real file is not needed at run time.

Simplified: an orthographic camera (no perspective, no camera pitch), rigid head, no
out-of-plane arm abduction; visibility of the face points follows the head's facing only.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
from scipy import linalg

NOSE, NECK, RSHO, RELB, RWRI, LSHO, LELB, LWRI, RHIP, RKNE, RANK, LHIP, LKNE, LANK, LEYE, REYE, LEAR, REAR = range(18)
#: Points beyond the 18 that the renderer needs: the head's centre and the toes.
HEAD, RTOE, LTOE = 18, 19, 20
#: The nine points the pose-statistics test compares (neck, shoulders, hips, knees, ankles).
CORE_POINTS = (NECK, RSHO, LSHO, RHIP, RKNE, RANK, LHIP, LKNE, LANK)

#: Eight view bins, centred on these angles: front, front-right-walking, right-walking, ...
VIEW_BIN_ANGLES = np.arange(8) * (np.pi / 4)
VIEW_BIN_NAMES = ("front", "front-oblique-right", "right", "back-oblique-right",
                  "back", "back-oblique-left", "left", "front-oblique-left")


@dataclass(frozen=True)
class PoseDistribution:
    """Parameters of the pose distribution; body lengths are fractions of the neck-to-feet length."""

    view_logits: tuple[float, ...]  # log-weights of the 8 view bins
    view_jitter: float  # std of the angle within a bin (rad)
    neck_x: tuple[float, float]  # mean, std of the neck's x (fraction of W)
    neck_y: tuple[float, float]  # mean, std of the neck's y (fraction of H)
    feet_x: tuple[float, float]  # mean, std of the x of the straight body's feet (fraction of W)
    feet_y: tuple[float, float]  # mean, std of the y of the straight body's feet (fraction of H)
    shoulder: tuple[float, float]  # shoulder half-width (fraction of the neck-to-feet length)
    hip: tuple[float, float]  # hip half-width (fraction of the neck-to-feet length)
    torso: tuple[float, float]  # neck-to-hip length (fraction of the neck-to-feet length)
    thigh: float  # thigh share of the leg length
    stride: tuple[float, float]  # thigh swing amplitude (rad)
    knee_bend: float  # largest knee bend in the swing phase (rad)
    lean: tuple[float, float]  # forward lean of the torso (rad)
    jitter: float  # std of independent per-keypoint noise (fraction of H)


#: Fitted to Market-1501's training keypoints by scripts/fit_pose_model.py.
FITTED = PoseDistribution(
    view_logits=(0.6002, 0.1499, 0.3500, 0.1804, -0.0400, -0.0150, 0.3694, 0.0017),
    view_jitter=0.0277,
    neck_x=(0.4884, 0.0691),
    neck_y=(0.1892, 0.0527),
    feet_x=(0.5267, 0.0919),
    feet_y=(0.9221, 0.0364),
    shoulder=(0.1931, 0.0046),
    hip=(0.1152, 0.0021),
    torso=(0.4084, 0.0172),
    thigh=0.4956,
    stride=(0.4970, 0.2092),
    knee_bend=0.8506,
    lean=(-0.0273, 0.0687),
    jitter=0.0146,
)


@dataclass
class PoseParams:
    """Per-pose parameters, each an array of shape (N,)."""

    view: np.ndarray
    phase: np.ndarray
    neck_x: np.ndarray
    neck_y: np.ndarray
    feet_x: np.ndarray
    feet_y: np.ndarray
    shoulder: np.ndarray
    hip: np.ndarray
    torso: np.ndarray
    stride: np.ndarray
    lean: np.ndarray
    arm_swing: np.ndarray
    elbow_bend: np.ndarray

    def __len__(self) -> int:
        return len(self.view)

    def take(self, index) -> "PoseParams":
        return PoseParams(**{f.name: getattr(self, f.name)[index] for f in fields(self)})


@dataclass
class Pose:
    """Projected points of N poses: ``points`` (N, 21, 2) float (y, x) in pixels (the 18 COCO
    keypoints, then HEAD, RTOE, LTOE), ``depth`` (N, 21) towards the camera, ``facing`` (N, 21) bool
    (a face point turned towards the camera), ``scale`` (N,) pixels per body unit."""

    points: np.ndarray
    depth: np.ndarray
    facing: np.ndarray
    scale: np.ndarray
    params: PoseParams


def sample_params(rng: np.random.Generator, n: int, dist: PoseDistribution = FITTED,
                  views: np.ndarray | None = None, phases: np.ndarray | None = None) -> PoseParams:
    """Draw ``n`` pose parameter sets; ``views`` / ``phases`` fix the view angle or gait phase."""

    def normal(mean_std: tuple[float, float]) -> np.ndarray:
        return rng.normal(mean_std[0], mean_std[1], n)

    if views is None:
        views = sample_views(rng, n, dist)
    if phases is None:
        phases = rng.uniform(0, 2 * np.pi, n)
    stride = np.abs(normal(dist.stride))
    return PoseParams(
        view=np.asarray(views, float),
        phase=np.asarray(phases, float),
        neck_x=normal(dist.neck_x),
        neck_y=normal(dist.neck_y),
        feet_x=normal(dist.feet_x),
        feet_y=normal(dist.feet_y),
        shoulder=np.abs(normal(dist.shoulder)),
        hip=np.abs(normal(dist.hip)),
        torso=normal(dist.torso),
        stride=stride,
        lean=normal(dist.lean),
        arm_swing=stride * rng.uniform(0.6, 1.2, n),
        elbow_bend=rng.uniform(0.1, 0.6, n),
    )


def view_bin_weights(dist: PoseDistribution = FITTED) -> np.ndarray:
    logits = np.asarray(dist.view_logits, float)
    weights = np.exp(logits - logits.max())
    return weights / weights.sum()


def sample_views(rng: np.random.Generator, n: int, dist: PoseDistribution = FITTED,
                 bins: np.ndarray | None = None) -> np.ndarray:
    """View angles: a bin (from the fitted mixture, or from ``bins`` given) plus jitter."""
    if bins is None:
        bins = rng.choice(8, size=n, p=view_bin_weights(dist))
    return VIEW_BIN_ANGLES[np.asarray(bins)] + rng.normal(0, dist.view_jitter, n)


def pose_from_params(params: PoseParams, image_height: int, image_width: int,
                     dist: PoseDistribution = FITTED, rng: np.random.Generator | None = None) -> Pose:
    """Forward kinematics and projection of N poses to pixel keypoints (y, x)."""
    n = len(params)
    p = params
    body = np.zeros((n, 21, 3))  # person frame, in units of the body height: x left, y down, z forward
    torso_vec = np.stack([np.zeros(n), np.cos(p.lean), -np.sin(p.lean)], 1) * p.torso[:, None]
    shoulder_drop = 0.03
    body[:, RSHO] = np.stack([-p.shoulder, np.full(n, shoulder_drop), np.zeros(n)], 1)
    body[:, LSHO] = np.stack([p.shoulder, np.full(n, shoulder_drop), np.zeros(n)], 1)
    hip_centre = torso_vec
    body[:, RHIP] = hip_centre + np.stack([-p.hip, np.zeros(n), np.zeros(n)], 1)
    body[:, LHIP] = hip_centre + np.stack([p.hip, np.zeros(n), np.zeros(n)], 1)

    leg = np.clip(1.0 - p.torso, 0.3, None)  # leg length so that neck-to-ankle is 1 when straight
    thigh, shin = leg * dist.thigh, leg * (1 - dist.thigh)
    for hip_i, knee_i, ankle_i, phase_shift in ((RHIP, RKNE, RANK, 0.0), (LHIP, LKNE, LANK, np.pi)):
        phase = p.phase + phase_shift
        swing = p.stride * np.sin(phase)  # forward (+z) swing of the thigh
        bend = dist.knee_bend * np.clip(np.sin(phase + 1.2), 0, None) * (p.stride / max(dist.stride[0], 1e-6))
        body[:, knee_i] = body[:, hip_i] + _limb(thigh, swing)
        body[:, ankle_i] = body[:, knee_i] + _limb(shin, swing - bend)
        toe_i = RTOE if ankle_i == RANK else LTOE
        body[:, toe_i] = body[:, ankle_i] + _limb(0.075, swing - bend + np.pi / 2 - 0.25)

    upper_arm, forearm = 0.19, 0.17
    for sho_i, elb_i, wri_i, side, phase_shift in ((RSHO, RELB, RWRI, -1.0, np.pi), (LSHO, LELB, LWRI, 1.0, 0.0)):
        swing = p.arm_swing * np.sin(p.phase + phase_shift)
        body[:, elb_i] = body[:, sho_i] + _limb(upper_arm, swing, outward=side * 0.02)
        body[:, wri_i] = body[:, elb_i] + _limb(forearm, swing + p.elbow_bend, outward=side * 0.01)

    head_r = 0.075
    head_centre = np.array([0.0, -1.25 * head_r, 0.15 * head_r])
    face_offsets = {
        NOSE: (0.0, 0.15, 0.95), LEYE: (0.35, -0.15, 0.85), REYE: (-0.35, -0.15, 0.85),
        LEAR: (0.95, 0.0, 0.0), REAR: (-0.95, 0.0, 0.0),
    }
    # How far a face point may turn away and still be seen (cosine towards the camera): a detector
    # finds the nose and ears of a head in profile, the eyes only when they face it.
    facing_threshold = {NOSE: -0.35, LEYE: 0.1, REYE: 0.1, LEAR: -0.3, REAR: -0.3}
    for index, offset in face_offsets.items():
        body[:, index] = head_centre + head_r * np.asarray(offset)
    body[:, HEAD] = head_centre

    cos_v, sin_v = np.cos(p.view)[:, None], np.sin(p.view)[:, None]
    x_img = body[..., 0] * cos_v + body[..., 2] * sin_v
    depth = -body[..., 0] * sin_v + body[..., 2] * cos_v
    y_img = body[..., 1]
    facing = np.ones((n, 21), bool)
    for index, offset in face_offsets.items():
        normal = np.asarray(offset) / np.linalg.norm(offset)
        towards_camera = -normal[0] * sin_v[:, 0] + normal[2] * cos_v[:, 0]
        facing[:, index] = towards_camera > facing_threshold[index]

    # A similarity maps the straight body's neck (0, 0) and feet (0, 1) to the sampled pixels.
    neck = np.stack([p.neck_y * image_height, p.neck_x * image_width], -1)
    feet = np.stack([p.feet_y * image_height, p.feet_x * image_width], -1)
    axis = feet - neck
    scale = np.linalg.norm(axis, axis=-1)[:, None]  # body units -> pixels
    cos_r, sin_r = (axis[:, 0:1] / scale), (-axis[:, 1:2] / scale)  # in-plane tilt of the body
    ys = neck[:, 0:1] + (x_img * sin_r + y_img * cos_r) * scale
    xs = neck[:, 1:2] + (x_img * cos_r - y_img * sin_r) * scale
    points = np.stack([ys, xs], -1)
    if rng is not None and dist.jitter > 0:
        points = points + rng.normal(0, dist.jitter * image_height, points.shape)
    return Pose(points=points, depth=depth * scale, facing=facing, scale=scale[:, 0], params=params)


def _limb(length: np.ndarray | float, angle: np.ndarray, outward: float = 0.0) -> np.ndarray:
    """A limb vector of ``length`` swung by ``angle`` (rad, forward positive) in the sagittal plane."""
    length = np.broadcast_to(length, angle.shape)
    return np.stack([np.full(angle.shape, outward), length * np.cos(angle), length * np.sin(angle)], 1)


def visible_keypoints(pose: Pose, image_height: int, image_width: int) -> np.ndarray:
    """Integer (N, 18, 2) keypoints as the annotation files hold them: -1 where a point lies
    outside the image or is a face point turned away from the camera."""
    points = np.rint(pose.points[:, :18]).astype(int)
    inside = ((points[..., 0] >= 0) & (points[..., 0] < image_height)
              & (points[..., 1] >= 0) & (points[..., 1] < image_width))
    keep = inside & pose.facing[:, :18]
    return np.where(keep[..., None], points, -1)


def normalised_core(keypoints: np.ndarray, image_height: int, image_width: int) -> np.ndarray:
    """(M, 18) normalised (y/H, x/W) core coordinates of the poses whose nine core points are all
    visible: the vectors the pose-statistics test compares."""
    core = keypoints[:, CORE_POINTS]
    visible = (core >= 0).all(axis=(1, 2))
    scaled = core[visible] / np.array([image_height, image_width], float)
    return scaled.reshape(len(scaled), -1)


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Frechet distance between Gaussians fitted to the rows of ``a`` and ``b`` (as FID does)."""

    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = linalg.sqrtm(cov_a @ cov_b)
    if np.iscomplexobj(covmean):
        covmean = covmean.real
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a + cov_b - 2 * covmean))
