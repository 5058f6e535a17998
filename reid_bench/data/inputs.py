"""What a generator's inputs are made of in a dataset folder, and the sentence when one is missing.

A generator declares the inputs it reads besides images (``needs``: parsing, mask, keypoints,
heatmap; DESIGN.md, "Sample dict"). For the images of one split this module tells

- which images lack an input (:func:`missing_message`: one sentence naming the input, how many
  images lack it, where it was looked for and the command that makes it; the loader raises it when
  no pair is left, :class:`reid_bench.data.pairs.PoseTransferPairs` with ``who``);
- where each input comes from when it is not the dataset's own files (:func:`input_sources`, e.g.
  ``{"parsing": "keypoints"}``), so that every result row that depends on a stand-in says so:
  the run puts it in the rows' ``recipe`` (:func:`reid_bench.presets.recipe_label`) and in the
  generator's config hash.

A mask is taken as :class:`~reid_bench.data.pairs.PoseTransferPairs` takes it: the image's
``masks/`` PNG (its recorded source: ``maskrcnn``, or ``own`` for one the dataset came with), else
its parsing's foreground (``parsing``; ``keypoints`` when that parsing was itself drawn from
keypoints), else a keypoint body mask (``keypoints``: ``data prepare``'s PNG, or drawn on the
fly). The defaults, left out of the record, are a parser's (or the dataset's own) parsing, its
foreground, and mask PNGs that came with the dataset (``own``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from reid_bench.data.label_files import png_source, source_kind
from reid_bench.data.market import ReidDataset
from reid_bench.data.pose_maps import visible

SPLIT_WORDS = {"train": "training", "test": "test", "query": "query"}
DEFAULT_KINDS = {"parsing": ("parser",), "mask": ("parsing", "own")}  # what needs no mention in a row


@dataclass(frozen=True)
class ImageInputs:
    """What one image has: its parsing's source kind, its mask's, and whether it has keypoints."""

    name: str
    parsing: str | None  # "parser" (a parser's or the dataset's own PNG), "keypoints", or None: no PNG
    mask: str | None  # "maskrcnn", "keypoints", "parsing", "own" (a masks/ PNG not written by reid-bench), or None
    keypoints: bool  # a keypoint row with at least one visible point


def split_inputs(dataset: ReidDataset, split: str) -> list[ImageInputs]:
    """:class:`ImageInputs` of every image in the folder of ``split`` (reads PNG headers only)."""
    rows = dataset.keypoints(split) if dataset.keypoints_path(split) is not None else {}
    out = []
    for name in dataset.split_names(split):
        points = rows.get(name)
        has_points = points is not None and bool(visible(points).any())
        parsing_path = dataset.parsing_path(name)
        parsing = source_kind(png_source(parsing_path)) if parsing_path is not None else None
        mask_path = dataset.mask_path(name)
        mask_kind = source_kind(png_source(mask_path)) if mask_path is not None else None
        if mask_kind is not None and not (mask_kind == "keypoints" and parsing is not None):
            mask = mask_kind if mask_kind != "parser" else "own"  # a mask PNG reid-bench did not write: the dataset's
        elif parsing is not None:
            mask = "keypoints" if parsing == "keypoints" else "parsing"
        else:
            mask = "keypoints" if has_points else None
        out.append(ImageInputs(name, parsing, mask, has_points))
    return out


def _describe(counts: Counter, defaults: tuple[str, ...]) -> str | None:
    """``keypoints`` when one stand-in covers every image that has the input, ``keypoints:37/40``
    (joined by ``+``) when some do; None when all are ``defaults``."""
    total = sum(counts.values())
    others = [(kind, n) for kind, n in counts.most_common() if kind not in defaults]
    if not others:
        return None
    if len(others) == 1 and others[0][1] == total:
        return others[0][0]
    return "+".join(f"{kind}:{n}/{total}" for kind, n in others)


def input_sources(dataset: ReidDataset, split: str, needs: frozenset[str] | set[str]) -> dict[str, str]:
    """Where the ``needs`` of ``split``'s images come from when that is not the default (module
    docstring): ``{"parsing": "keypoints", "mask": "maskrcnn"}``; empty for the dataset's own files."""
    wanted = [key for key in ("parsing", "mask") if key in needs]
    if not wanted:
        return {}
    images = split_inputs(dataset, split)
    sources = {}
    for key in wanted:
        counts = Counter(getattr(image, key) for image in images if getattr(image, key) is not None)
        described = _describe(counts, DEFAULT_KINDS[key])
        if described is not None:
            sources[key] = described
    return sources


def _keypoint_file(dataset: ReidDataset, split: str) -> str:
    path = dataset.keypoints_path(split)
    return path.name if path is not None else f"*annotation-{split}.csv (there is none)"


def missing_message(dataset: ReidDataset, split: str, needs: frozenset[str] | set[str], who: str) -> str | None:
    """One sentence on the input of ``needs`` that the most images of ``split`` lack (module
    docstring), or None when every image has every input."""
    images = split_inputs(dataset, split)
    total, word, folder, root = len(images), SPLIT_WORDS.get(split, split), dataset.folders[split], dataset.root
    lacking = {}
    if "parsing" in needs:
        lacking["parsing"] = [image for image in images if image.parsing is None]
    if needs & {"keypoints", "heatmap"}:
        lacking["keypoints"] = [image for image in images if not image.keypoints]
    if "mask" in needs:
        lacking["mask"] = [image for image in images if image.mask is None]
    lacking = {key: value for key, value in lacking.items() if value}
    if not lacking:
        return None
    key = max(lacking, key=lambda name: len(lacking[name]))
    count = f"{len(lacking[key]):,} of {total:,} {word} images"
    if key == "parsing":
        if all(image.keypoints for image in lacking[key]):
            fix = f"run reid-bench data prepare {root} --parsing keypoints, or put a parser's PNGs there"
        else:
            fix = (f"put a human parser's PNGs there (Self-Correction-Human-Parsing, LIP labels), or keypoint rows "
                   f"in {_keypoint_file(dataset, split)} so that reid-bench data prepare {root} --parsing keypoints "
                   "can draw them")
        return f"{who} needs parsing maps: {count} have none under parsing/{folder}/; {fix}."
    if key == "keypoints":
        return (f"{who} needs keypoints: {count} have no visible point in {_keypoint_file(dataset, split)}; "
                "reid-bench estimates no poses: run OpenPose as PATN does (its tool/compute_coordinates.py) and "
                "write PATN's name:keypoints_y:keypoints_x rows there.")
    return (f"{who} needs body masks: {count} have no mask under masks/{folder}/, no parsing and no keypoints; "
            f"run reid-bench data prepare {root} with Mask R-CNN's COCO weights (reid-bench weights lists them), "
            f"or add their keypoint rows to {_keypoint_file(dataset, split)}.")


def missing_pairs_message(dataset: ReidDataset, split: str, who: str) -> str:
    """The sentence for a folder without ``*pairs-<split>.csv``."""
    return (f"{who} needs {SPLIT_WORDS.get(split, split)} pairs: {dataset.root} has no *pairs-{split}.csv; run "
            f"reid-bench data prepare {dataset.root} to make them by PATN's rule from "
            f"{_keypoint_file(dataset, split)}.")
