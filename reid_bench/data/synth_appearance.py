"""SynthPeople identities: an identity is an appearance.

Body build, skin tone, hair or hat, upper clothes (t-shirt, shirt, coat, dress, jumpsuit) with a
colour and a texture (solid, stripes, checks, a print on the front), lower clothes (pants, shorts,
skirt), socks, shoes, a bag or backpack, and accessories (sunglasses, scarf, gloves). Together the
identities use all 20 LIP labels (:data:`reid_bench.data.vocabulary.LIP_LABELS`). Attributes are drawn from skewed
distributions so that identities share them (most trousers are dark, many tops are white, grey or
black): telling people apart takes more than one colour, as in Market-1501.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

(BACKGROUND, HAT, HAIR, GLOVE, SUNGLASSES, UPPER, DRESS, COAT, SOCKS, PANTS, JUMPSUIT, SCARF,
 SKIRT, FACE, LEFT_ARM, RIGHT_ARM, LEFT_LEG, RIGHT_LEG, LEFT_SHOE, RIGHT_SHOE) = range(20)

#: Label of each upper-garment type, and how far its sleeves reach along the arm (0 = none,
#: 1 = to the elbow, 2 = to the wrist).
UPPER_TYPES = {"t-shirt": (UPPER, 0.55), "shirt": (UPPER, 2.0), "coat": (COAT, 2.0),
               "dress": (DRESS, 0.45), "jumpsuit": (JUMPSUIT, 0.55)}
UPPER_WEIGHTS = {"t-shirt": 0.42, "shirt": 0.2, "coat": 0.18, "dress": 0.1, "jumpsuit": 0.1}
LOWER_WEIGHTS = {"pants": 0.68, "shorts": 0.2, "skirt": 0.12}
TEXTURES = ("solid", "stripes", "checks", "print")
TEXTURE_WEIGHTS = (0.55, 0.18, 0.12, 0.15)
BAGS = ("none", "backpack", "shoulder-bag", "handbag")
BAG_WEIGHTS = (0.55, 0.2, 0.15, 0.1)

SKIN_TONES = np.array([[236, 200, 170], [224, 180, 145], [198, 150, 112], [164, 118, 84],
                       [125, 86, 58], [92, 62, 44]], float)
HAIR_COLOURS = np.array([[25, 20, 18], [50, 35, 25], [90, 60, 35], [140, 100, 60],
                         [190, 160, 110], [120, 120, 120]], float)
HAIR_WEIGHTS = np.array([0.42, 0.25, 0.13, 0.08, 0.06, 0.06])
#: Garment colours with weights: dark and neutral colours are common, bright ones rarer.
GARMENT_COLOURS = np.array([
    [20, 20, 24], [45, 45, 50], [28, 34, 62], [110, 110, 115], [175, 175, 178], [235, 235, 232],
    [60, 90, 140], [150, 30, 35], [200, 60, 60], [40, 110, 60], [120, 150, 80], [230, 200, 60],
    [220, 130, 50], [130, 70, 140], [230, 150, 180], [90, 60, 40], [170, 140, 100], [70, 150, 170],
], float)
UPPER_COLOUR_WEIGHTS = np.array([10, 7, 5, 6, 5, 12, 5, 4, 4, 3, 2, 3, 2, 2, 3, 2, 3, 2], float)
LOWER_COLOUR_WEIGHTS = np.array([22, 14, 12, 5, 2, 2, 12, 1, 0.5, 1, 1, 0.3, 0.3, 0.3, 0.3, 3, 4, 1], float)


@dataclass(frozen=True)
class Garment:
    label: int  # LIP label painted into the parsing map
    colour: tuple[float, float, float]  # RGB 0-255
    texture: str  # solid | stripes | checks | print
    second_colour: tuple[float, float, float]  # stripes, checks and print use it
    period: float  # texture period, as a fraction of the body length


@dataclass(frozen=True)
class Appearance:
    build: float  # girth factor of limbs and torso (slim < 1 < heavy)
    shoulder: float  # shoulder half-width (fraction of the neck-to-feet length)
    hip: float  # hip half-width (fraction of the neck-to-feet length)
    skin: tuple[float, float, float]
    hair_colour: tuple[float, float, float]
    long_hair: bool
    hat: Garment | None
    upper_type: str  # a key of UPPER_TYPES
    upper: Garment
    lower_type: str  # pants | shorts | skirt; "none" under a dress or jumpsuit
    lower: Garment
    socks: Garment | None
    shoes: tuple[float, float, float]
    bag: str  # one of BAGS
    bag_colour: tuple[float, float, float]
    sunglasses: bool
    scarf: Garment | None
    gloves: tuple[float, float, float] | None


def _pick(rng: np.random.Generator, options, weights) -> object:
    weights = np.asarray(weights, float)
    return options[rng.choice(len(options), p=weights / weights.sum())]


def _colour(rng: np.random.Generator, weights: np.ndarray) -> tuple[float, float, float]:
    base = GARMENT_COLOURS[rng.choice(len(GARMENT_COLOURS), p=weights / weights.sum())]
    return tuple(np.clip(base + rng.normal(0, 10, 3), 0, 255))


def _garment(rng: np.random.Generator, label: int, weights: np.ndarray, textured: bool = True) -> Garment:
    texture = str(_pick(rng, TEXTURES, TEXTURE_WEIGHTS)) if textured else "solid"
    colour = _colour(rng, weights)
    second = _colour(rng, UPPER_COLOUR_WEIGHTS)
    while np.abs(np.subtract(second, colour)).sum() < 120:
        second = tuple(np.clip(255 - np.asarray(colour) + rng.normal(0, 30, 3), 0, 255))
    return Garment(label, colour, texture, second, float(rng.uniform(0.04, 0.09)))


def sample_appearance(rng: np.random.Generator, shoulder: float, hip: float) -> Appearance:
    """One identity's appearance; ``shoulder`` / ``hip`` come from the fitted pose model."""
    upper_type = str(_pick(rng, list(UPPER_TYPES), list(UPPER_WEIGHTS.values())))
    upper = _garment(rng, UPPER_TYPES[upper_type][0], UPPER_COLOUR_WEIGHTS)
    if upper_type in ("dress", "jumpsuit"):
        lower_type, lower = "none", upper
    else:
        lower_type = str(_pick(rng, list(LOWER_WEIGHTS), list(LOWER_WEIGHTS.values())))
        lower = _garment(rng, SKIRT if lower_type == "skirt" else PANTS, LOWER_COLOUR_WEIGHTS,
                         textured=rng.random() < 0.25)
    bare_legs = lower_type in ("shorts", "skirt") or upper_type == "dress"
    socks = _garment(rng, SOCKS, UPPER_COLOUR_WEIGHTS, textured=False) if bare_legs and rng.random() < 0.6 else None
    hat = _garment(rng, HAT, UPPER_COLOUR_WEIGHTS, textured=False) if rng.random() < 0.15 else None
    scarf = _garment(rng, SCARF, UPPER_COLOUR_WEIGHTS, textured=rng.random() < 0.5) if rng.random() < 0.12 else None
    return Appearance(
        build=float(rng.uniform(0.85, 1.2)),
        shoulder=shoulder,
        hip=hip,
        skin=tuple(SKIN_TONES[rng.integers(len(SKIN_TONES))] + rng.normal(0, 6, 3)),
        hair_colour=tuple(HAIR_COLOURS[rng.choice(len(HAIR_COLOURS), p=HAIR_WEIGHTS)]),
        long_hair=bool(rng.random() < 0.3),
        hat=hat,
        upper_type=upper_type,
        upper=upper,
        lower_type=lower_type,
        lower=lower,
        socks=socks,
        shoes=_colour(rng, LOWER_COLOUR_WEIGHTS),
        bag=str(_pick(rng, BAGS, BAG_WEIGHTS)),
        bag_colour=_colour(rng, LOWER_COLOUR_WEIGHTS),
        sunglasses=bool(rng.random() < 0.12),
        scarf=scarf,
        gloves=_colour(rng, LOWER_COLOUR_WEIGHTS) if rng.random() < 0.1 else None,
    )


def texture_colours(garment: Garment, u: np.ndarray, v: np.ndarray, body_length: float,
                    front: bool) -> np.ndarray:
    """RGB (..., 3) of a garment at part coordinates ``u`` (along the part) and ``v`` (across), in
    pixels. ``front`` is whether the front of this part faces the camera (prints show only then)."""
    period = garment.period * body_length
    colour, second = np.asarray(garment.colour), np.asarray(garment.second_colour)
    if garment.texture == "stripes":
        use_second = np.sin(2 * np.pi * u / period) > 0.3
    elif garment.texture == "checks":
        use_second = (np.floor(u / period) + np.floor(v / period)) % 2 == 1
    elif garment.texture == "print" and front:
        use_second = (np.abs(v) < 1.3 * period) & (np.abs(u - 2.6 * period) < 1.1 * period)
    else:
        use_second = np.zeros(np.shape(u), bool)
    return np.where(use_second[..., None], second, colour)
