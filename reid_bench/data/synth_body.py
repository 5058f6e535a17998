"""Drawing one SynthPeople person: image, exact LIP parsing map and visible keypoints together.

The body of :mod:`reid_bench.data.pose_model` is drawn as parts (capsules for limbs, a quad for
the torso, an ellipse for the head, quads for skirts, dresses and coat hems, boxes for bags),
each with its LIP label per pixel (a t-shirt's sleeve ends half-way down the upper arm, socks cover
the ankle end of the shin, ...), its garment texture in part coordinates, and cylinder shading.
Parts are painted far to near by their depth towards the camera, so they occlude each other as the
view dictates; the same painting writes the parsing map, which is therefore exact. Keypoints are
-1 where they leave the image, where a face point turns away, where an elbow or wrist is behind
the torso, or under an occluder.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reid_bench.data import pose_model as pm
from reid_bench.data import synth_appearance as sa


@dataclass
class Layer:
    depth: float
    mask: np.ndarray  # (H, W) bool
    label: np.ndarray | int  # LIP label(s)
    colour: np.ndarray  # (H, W, 3) or (3,) RGB


class Canvas:
    """Pixel grid helpers for one image."""

    def __init__(self, height: int, width: int):
        self.height, self.width = height, width
        self.yy, self.xx = np.mgrid[0:height, 0:width].astype(float) + 0.5

    def segment(self, p0: np.ndarray, p1: np.ndarray):
        """Per pixel: t along p0->p1 clamped to [0, 1], distance to the segment, u (pixels along),
        v (signed pixels across)."""
        d = p1 - p0
        length2 = max(float(d @ d), 1e-6)
        rel_y, rel_x = self.yy - p0[0], self.xx - p0[1]
        along = (rel_y * d[0] + rel_x * d[1]) / length2
        t = np.clip(along, 0, 1)
        dist = np.hypot(rel_y - t * d[0], rel_x - t * d[1])
        length = np.sqrt(length2)
        return t, dist, along * length, (rel_x * d[0] - rel_y * d[1]) / length

    def quad(self, corners: np.ndarray) -> np.ndarray:
        """Pixels inside a convex quad given as four (y, x) corners in order."""
        signs = []
        for a, b in zip(corners, np.roll(corners, -1, axis=0)):
            signs.append((b[1] - a[1]) * (self.yy - a[0]) - (b[0] - a[0]) * (self.xx - a[1]))
        signs = np.stack(signs)
        return (signs >= 0).all(0) | (signs <= 0).all(0)


def _shade(dist: np.ndarray, radius: float) -> np.ndarray:
    return np.clip(1.0 - 0.35 * (dist / max(radius, 1e-6)) ** 2, 0.55, 1.0)[..., None]


def render_person(appearance: sa.Appearance, pose: pm.Pose, index: int, image: np.ndarray,
                  occluder: tuple[np.ndarray, np.ndarray] | None = None):
    """Paint pose ``index`` of ``pose`` dressed as ``appearance`` onto ``image`` (H, W, 3 float,
    the background). Returns (image, parsing (H, W) uint8, keypoints (18, 2) int)."""
    height, width = image.shape[:2]
    canvas = Canvas(height, width)
    pts, depth = pose.points[index], pose.depth[index]
    scale, view = float(pose.scale[index]), float(pose.params.view[index])
    layers: list[Layer] = []
    layers += _legs(canvas, appearance, pts, depth, scale)
    torso_layers, torso_mask, torso_depth = _torso(canvas, appearance, pts, depth, scale, view)
    layers += torso_layers
    layers += _arms(canvas, appearance, pts, depth, scale)
    layers += _head(canvas, appearance, pts, depth, scale, view)
    layers += _bag(canvas, appearance, pts, depth, scale, view, torso_depth)

    out = image.astype(float).copy()
    parsing = np.zeros((height, width), np.uint8)
    for layer in sorted(layers, key=lambda item: item.depth):
        colour = np.broadcast_to(layer.colour, out.shape)
        out[layer.mask] = colour[layer.mask]
        labels = np.broadcast_to(np.asarray(layer.label, np.uint8), parsing.shape)
        parsing[layer.mask] = labels[layer.mask]

    keypoints = pm.visible_keypoints(pose, height, width)[index]
    for joint in (pm.RELB, pm.RWRI, pm.LELB, pm.LWRI):
        y, x = keypoints[joint]
        if y >= 0 and depth[joint] < torso_depth - 0.02 * scale and torso_mask[y, x]:
            keypoints[joint] = -1
    if occluder is not None:
        mask, colour = occluder
        out[mask] = colour[mask]
        parsing[mask] = sa.BACKGROUND
        covered = (keypoints[:, 0] >= 0) & mask[keypoints[:, 0].clip(0), keypoints[:, 1].clip(0)]
        keypoints[covered] = -1
    return out, parsing, keypoints


def _limb_layer(canvas: Canvas, p0, p1, radius: float, layer_depth: float, cut: float,
                garment: sa.Garment | None, skin_label: int, skin, scale: float, front: bool) -> Layer:
    """A capsule p0->p1 wearing ``garment`` where t < cut and bare skin beyond."""
    t, dist, u, v = canvas.segment(p0, p1)
    mask = dist <= radius
    shade = _shade(dist, radius)
    if garment is None or cut <= 0:
        return Layer(layer_depth, mask, skin_label, np.asarray(skin) * shade)
    clothed = t < cut if cut < 1 else np.ones_like(mask)
    colour = np.where(clothed[..., None], sa.texture_colours(garment, u, v, scale, front), np.asarray(skin))
    return Layer(layer_depth, mask, np.where(clothed, garment.label, skin_label), colour * shade)


def _legs(canvas: Canvas, a: sa.Appearance, pts, depth, scale: float) -> list[Layer]:
    layers = []
    sides = ((pm.RHIP, pm.RKNE, pm.RANK, pm.RTOE, sa.RIGHT_LEG, sa.RIGHT_SHOE),
             (pm.LHIP, pm.LKNE, pm.LANK, pm.LTOE, sa.LEFT_LEG, sa.LEFT_SHOE))
    if a.upper_type == "jumpsuit":
        thigh_cut, shin_cut, garment = 1.0, 1.0, a.upper
    elif a.lower_type == "pants":
        thigh_cut, shin_cut, garment = 1.0, 1.0, a.lower
    elif a.lower_type == "shorts":
        thigh_cut, shin_cut, garment = 0.65, 0.0, a.lower
    else:  # skirt or dress: bare legs, the skirt is drawn over them
        thigh_cut, shin_cut, garment = 0.0, 0.0, None
    for hip, knee, ankle, toe, skin_label, shoe_label in sides:
        d = float(np.mean(depth[[hip, knee, ankle]]))
        thigh_r, shin_r = 0.06 * scale * a.build, 0.045 * scale * a.build
        layers.append(_limb_layer(canvas, pts[hip], pts[knee], thigh_r, d, thigh_cut, garment,
                                  skin_label, a.skin, scale, True))
        shin = _limb_layer(canvas, pts[knee], pts[ankle], shin_r, d + 1e-3, shin_cut, garment,
                           skin_label, a.skin, scale, True)
        if a.socks is not None and shin_cut == 0:
            t, _, _, _ = canvas.segment(pts[knee], pts[ankle])
            sock = shin.mask & (t > 0.8)
            shin.label = np.where(sock, sa.SOCKS, shin.label)
            shin.colour = np.where(sock[..., None], np.asarray(a.socks.colour) * 0.9, shin.colour)
        layers.append(shin)
        t, dist, _, _ = canvas.segment(pts[ankle], pts[toe])
        shoe_r = 0.032 * scale
        layers.append(Layer(d + 2e-3, dist <= shoe_r, shoe_label, np.asarray(a.shoes) * _shade(dist, shoe_r)))
    return layers


def _torso(canvas: Canvas, a: sa.Appearance, pts, depth, scale: float, view: float):
    top = (pts[pm.RSHO] + pts[pm.LSHO]) / 2
    bottom = (pts[pm.RHIP] + pts[pm.LHIP]) / 2
    axis = bottom - top
    normal = np.array([-axis[1], axis[0]]) / max(np.linalg.norm(axis), 1e-6)
    side = abs(np.sin(view))
    w_top = np.hypot(abs(pts[pm.LSHO][1] - pts[pm.RSHO][1]) / 2, 0.075 * scale * side) + 0.02 * scale * a.build
    w_bottom = np.hypot(abs(pts[pm.LHIP][1] - pts[pm.RHIP][1]) / 2, 0.065 * scale * side) + 0.025 * scale * a.build
    corners = np.array([top - normal * w_top, top + normal * w_top,
                        bottom + normal * w_bottom, bottom - normal * w_bottom])
    corners[:2] -= axis / max(np.linalg.norm(axis), 1e-6) * 0.02 * scale  # round shoulders
    mask = canvas.quad(corners)
    torso_depth = float(np.mean(depth[[pm.RSHO, pm.LSHO, pm.RHIP, pm.LHIP]]))
    _, dist, u, v = canvas.segment(top, bottom)
    front = np.cos(view) > 0.3
    garment = a.upper
    layers = [Layer(torso_depth, mask, garment.label,
                    sa.texture_colours(garment, u, v, scale, front) * _shade(dist, w_top * 1.1))]

    neck_r = 0.032 * scale
    t, dist, _, _ = canvas.segment(pts[pm.NECK], pts[pm.HEAD])
    layers.append(Layer(torso_depth - 1e-3, (dist <= neck_r) & (t < 0.6), sa.FACE, np.asarray(a.skin) * 0.9))
    if a.scarf is not None:
        t, dist, u, v = canvas.segment(pts[pm.NECK] + axis * 0.02, pts[pm.NECK] + axis * 0.12)
        scarf_mask = dist <= 0.05 * scale
        layers.append(Layer(torso_depth + 0.03 * scale, scarf_mask, sa.SCARF,
                            sa.texture_colours(a.scarf, u, v, scale, True) * _shade(dist, 0.05 * scale)))

    leg_depth = float(np.max(depth[[pm.RKNE, pm.LKNE, pm.RANK, pm.LANK]]))
    knee = (pts[pm.RKNE] + pts[pm.LKNE]) / 2
    if a.upper_type == "dress" or a.lower_type == "skirt":
        skirt = a.upper if a.upper_type == "dress" else a.lower
        hem = bottom + (knee - bottom) * (0.9 if a.upper_type == "dress" else 0.75)
        flare = w_bottom * 1.45 + 0.02 * scale
        quad = np.array([bottom - normal * w_bottom, bottom + normal * w_bottom,
                         hem + normal * flare, hem - normal * flare])
        _, dist, u, v = canvas.segment(bottom, hem)
        layers.append(Layer(max(leg_depth, torso_depth) + 0.01 * scale, canvas.quad(quad), skirt.label,
                            sa.texture_colours(skirt, u, v, scale, front) * _shade(dist, flare * 1.2)))
    elif a.upper_type == "coat":
        hem = bottom + (knee - bottom) * 0.45
        quad = np.array([bottom - normal * w_bottom, bottom + normal * w_bottom,
                         hem + normal * w_bottom * 1.15, hem - normal * w_bottom * 1.15])
        _, dist, u, v = canvas.segment(bottom, hem)
        layers.append(Layer(max(leg_depth, torso_depth) + 0.01 * scale, canvas.quad(quad), sa.COAT,
                            sa.texture_colours(a.upper, u, v, scale, front) * _shade(dist, w_bottom * 1.3)))
    return layers, mask, torso_depth


def _arms(canvas: Canvas, a: sa.Appearance, pts, depth, scale: float) -> list[Layer]:
    layers = []
    reach = sa.UPPER_TYPES[a.upper_type][1]
    sides = ((pm.RSHO, pm.RELB, pm.RWRI, sa.RIGHT_ARM), (pm.LSHO, pm.LELB, pm.LWRI, sa.LEFT_ARM))
    for shoulder, elbow, wrist, skin_label in sides:
        d = float(np.mean(depth[[shoulder, elbow, wrist]])) + 0.01 * scale
        upper_r, fore_r = 0.04 * scale * a.build, 0.033 * scale * a.build
        layers.append(_limb_layer(canvas, pts[shoulder], pts[elbow], upper_r, d, min(reach, 1.0),
                                  a.upper, skin_label, a.skin, scale, True))
        layers.append(_limb_layer(canvas, pts[elbow], pts[wrist], fore_r, d + 1e-3, reach - 1.0,
                                  a.upper, skin_label, a.skin, scale, True))
        hand = np.hypot(canvas.yy - pts[wrist][0], canvas.xx - pts[wrist][1]) <= 0.032 * scale
        if a.gloves is not None:
            layers.append(Layer(d + 2e-3, hand, sa.GLOVE, np.asarray(a.gloves)))
        else:
            layers.append(Layer(d + 2e-3, hand, skin_label, np.asarray(a.skin) * 0.95))
    return layers


def _head(canvas: Canvas, a: sa.Appearance, pts, depth, scale: float, view: float) -> list[Layer]:
    centre = pts[pm.HEAD]
    rx, ry = 0.062 * scale, 0.08 * scale
    dy, dx = (canvas.yy - centre[0]) / ry, (canvas.xx - centre[1]) / rx
    head = dx ** 2 + dy ** 2 <= 1
    head_depth = float(depth[pm.HEAD]) + 0.15 * scale
    facing_x = np.sin(view)  # image-x direction the face points to
    layers = []
    if a.long_hair:
        _, dist, _, _ = canvas.segment(centre, centre + np.array([0.16 * scale, 0.0]))
        back = float(depth[pm.HEAD]) - 0.08 * scale * np.cos(view)
        layers.append(Layer(back, dist <= 0.07 * scale, sa.HAIR,
                            np.asarray(a.hair_colour) * _shade(dist, 0.07 * scale)))
    hair = head & ((dy < -0.35) | (dx * facing_x < -0.45) | (np.cos(view) < -0.35))
    label = np.where(hair, sa.HAIR, sa.FACE)
    colour = np.where(hair[..., None], np.asarray(a.hair_colour), np.asarray(a.skin))
    if np.cos(view) > -0.2:
        eye_y = -0.1
        eyes = head & ~hair & (np.abs(dy - eye_y) < 0.12)
        if a.sunglasses:
            label = np.where(eyes, sa.SUNGLASSES, label)
            colour = np.where(eyes[..., None], np.array([15.0, 15.0, 20.0]), colour)
    if a.hat is not None:
        crown = (dx ** 2 + dy ** 2 <= 1.05) & (dy < -0.3)
        brim = (np.abs(dx) <= 1.25) & (np.abs(dy + 0.35) < 0.12)
        hat = crown | brim
        head = head | hat
        label = np.where(hat, sa.HAT, label)
        colour = np.where(hat[..., None], np.asarray(a.hat.colour), colour)
    shade = np.clip(1.0 - 0.3 * (dx ** 2 + dy ** 2), 0.6, 1.0)[..., None]
    layers.append(Layer(head_depth, head, label, colour * shade))
    return layers


def _bag(canvas: Canvas, a: sa.Appearance, pts, depth, scale: float, view: float,
         torso_depth: float) -> list[Layer]:
    """Bags are not LIP labels: their pixels are background (0) in the parsing map."""
    if a.bag == "none":
        return []
    colour = np.asarray(a.bag_colour)
    top = (pts[pm.RSHO] + pts[pm.LSHO]) / 2
    bottom = (pts[pm.RHIP] + pts[pm.LHIP]) / 2
    if a.bag == "backpack":
        behind = np.array([0.0, -np.sin(view) * 0.07 * scale])
        centre_top, centre_bottom = top + (bottom - top) * 0.1 + behind, top + (bottom - top) * 0.75 + behind
        half = 0.085 * scale * max(abs(np.cos(view)), 0.5)
        quad = np.array([centre_top + [0, -half], centre_top + [0, half],
                         centre_bottom + [0, half], centre_bottom + [0, -half]])
        # The pack is on the back: in front of the torso only when the back faces the camera.
        d = torso_depth - 0.12 * scale * np.cos(view)
        return [Layer(d, canvas.quad(quad), sa.BACKGROUND, colour)]
    if a.bag == "shoulder-bag":
        hip = pts[pm.LHIP] if np.cos(view) >= 0 else pts[pm.RHIP]
        centre = hip + np.array([0.0, 0.0])
        box = (np.abs(canvas.yy - centre[0]) < 0.06 * scale) & (np.abs(canvas.xx - centre[1]) < 0.055 * scale)
        return [Layer(torso_depth + 0.05 * scale * abs(np.cos(view)) + 1e-3, box, sa.BACKGROUND, colour)]
    wrist = pm.RWRI
    centre = pts[wrist] + np.array([0.05 * scale, 0.0])
    box = (np.abs(canvas.yy - centre[0]) < 0.05 * scale) & (np.abs(canvas.xx - centre[1]) < 0.045 * scale)
    return [Layer(float(depth[wrist]) + 0.02 * scale, box, sa.BACKGROUND, colour)]
