"""Heatmaps, PG2 body masks and one-hot parsing."""

import numpy as np
import pytest
from PIL import Image, ImageDraw
from scipy import ndimage

from reid_bench.data import body_mask_from_keypoints, keypoint_heatmaps, parsing_one_hot, read_keypoints_csv
from reid_bench.data.pose_maps import read_parsing
from reid_bench.errors import ReidBenchError

# PG2's limb list as its code writes it: 1-based COCO-18 indices.
PG2_LIMBS_1_BASED = [
    [2, 3], [2, 6], [3, 4], [4, 5], [6, 7], [7, 8], [2, 9], [9, 10], [10, 11], [2, 12], [12, 13], [13, 14],
    [2, 1], [1, 15], [15, 17], [1, 16], [16, 18], [2, 17], [2, 18], [9, 12], [12, 6], [9, 3], [17, 18],
]


def pg2_mask_drawn_with_pil(kp, height, width, radius=4):
    """An independent rendering of PG2's mask: rectangles and disks drawn by PIL, then 5x5 closing."""
    canvas = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(canvas)
    seen = lambda k: kp[k][0] != -1 and kp[k][1] != -1  # noqa: E731
    for f, t in np.array(PG2_LIMBS_1_BASED) - 1:
        if seen(f) and seen(t) and (kp[f] != kp[t]).any():
            normal = np.array([-(kp[f] - kp[t])[1], (kp[f] - kp[t])[0]], dtype=float)
            normal *= radius / np.linalg.norm(normal)
            corners = [kp[f] + normal, kp[f] - normal, kp[t] - normal, kp[t] + normal]
            draw.polygon([(c[1], c[0]) for c in corners], fill=1)
    for y, x in kp:
        if y != -1 and x != -1:
            draw.ellipse([x - radius + 1, y - radius + 1, x + radius - 1, y + radius - 1], fill=1)
    raw = np.asarray(canvas) > 0
    return ndimage.grey_erosion(ndimage.grey_dilation(raw.astype(np.uint8), size=(5, 5)), size=(5, 5)) > 0


def test_heatmap_is_a_gaussian_of_sigma_6_at_each_point(data_files):
    kp = data_files.STANDING_POSE.copy()
    kp[6] = [-1, -1]
    maps = keypoint_heatmaps(kp, 128, 64)
    assert maps.shape == (18, 128, 64) and maps.dtype == np.float32
    y, x = kp[0]
    assert maps[0, y, x] == pytest.approx(1.0)
    assert maps[0, y + 6, x] == pytest.approx(np.exp(-0.5), rel=1e-5)  # one sigma away
    assert maps[0, y + 3, x + 4] == pytest.approx(np.exp(-25 / 72), rel=1e-5)
    assert np.unravel_index(maps[10].argmax(), (128, 64)) == tuple(kp[10])
    assert not maps[6].any()  # missing point: zeros


def test_heatmap_accepts_subpixel_points():
    kp = np.full((18, 2), -1.0)
    kp[1] = [10.5, 20.0]
    maps = keypoint_heatmaps(kp, 32, 32, sigma=2)
    assert maps[1, 10, 20] == pytest.approx(maps[1, 11, 20])
    assert maps[1, 10, 20] == pytest.approx(np.exp(-0.25 / 8), rel=1e-5)
    assert not maps[np.arange(18) != 1].any()


def test_single_joint_gives_a_small_disk():
    kp = np.full((18, 2), -1)
    kp[0] = [40, 30]
    mask = body_mask_from_keypoints(kp, 128, 64)
    assert mask[40, 30] and mask[40, 33] and mask[43, 30]
    assert not mask[40, 35] and not mask[46, 30]
    assert 30 < mask.sum() < 60  # about pi * 4^2


def test_limb_is_a_band_of_half_width_4_and_closing_fills_narrow_gaps():
    kp = np.full((18, 2), -1)
    kp[8], kp[9] = [60, 26], [90, 26]  # Rhip - Rkne
    band = body_mask_from_keypoints(kp, 128, 64)
    assert band[75, 22:31].all() and not band[75, 20] and not band[75, 32]
    kp[11], kp[12] = [60, 36], [90, 36]  # Lhip - Lkne, 10 px away: a 1-px gap at x = 31
    legs = body_mask_from_keypoints(kp, 128, 64)
    assert legs[75, 22:41].all()  # the gap is closed
    kp[11], kp[12] = [60, 46], [90, 46]  # 20 px away: a 11-px gap stays open
    legs = body_mask_from_keypoints(kp, 128, 64)
    assert not legs[75, 31:38].any()


def test_mask_of_missing_pose_is_empty(data_files):
    assert not body_mask_from_keypoints(data_files.NO_POSE, 128, 64).any()


def test_mask_matches_pg2_drawn_independently_on_real_poses(real_market):
    """Same limbs, radius and closing as PG2; PIL's fillers differ from ours only on band edges."""
    keypoints = read_keypoints_csv(real_market / "market-annotation-train.csv")
    ious = []
    for name in sorted(keypoints)[:400:8]:
        ours = body_mask_from_keypoints(keypoints[name], 128, 64)
        reference = pg2_mask_drawn_with_pil(keypoints[name], 128, 64)
        if not reference.any():
            assert not ours.any()
            continue
        ious.append((ours & reference).sum() / (ours | reference).sum())
    assert len(ious) > 40
    assert min(ious) > 0.88 and np.mean(ious) > 0.92  # a missing limb (e.g. neck-ears) fails this


def test_parsing_one_hot(data_files):
    labels = data_files.parsing_labels()
    one_hot = parsing_one_hot(labels)
    assert one_hot.shape == (20, 128, 64) and one_hot.dtype == np.float32
    assert (one_hot.sum(axis=0) == 1).all()
    assert (one_hot.argmax(axis=0) == labels).all()
    assert one_hot[5].sum() == (labels == 5).sum() > 0
    with pytest.raises(ValueError):
        parsing_one_hot(np.full((4, 4), 20, dtype=np.uint8))


def test_read_parsing_checks_mode_size_and_labels(tmp_path, data_files):
    good = data_files.write_parsing(tmp_path / "good.png")
    assert (read_parsing(good, (128, 64)) == data_files.parsing_labels()).all()
    with pytest.raises(ReidBenchError, match="is 128x64 but its image is 256x128"):
        read_parsing(good, (256, 128))
    labels = data_files.parsing_labels()
    labels[0, 0] = 20
    with pytest.raises(ReidBenchError, match="holds label 20"):
        read_parsing(data_files.write_parsing(tmp_path / "bad.png", labels))
    Image.new("RGB", (64, 128)).save(tmp_path / "rgb.png")
    with pytest.raises(ReidBenchError, match="RGB PNG"):
        read_parsing(tmp_path / "rgb.png")
