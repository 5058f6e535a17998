"""Binary body masks by Mask R-CNN, the SAN paper's method, with its COCO weights found offline.

The SAN paper (Sec. 3, "Notations") obtains the binary segmentation mask of every image "by
Mask-RCNN" (He et al., ICCV 2017). Here that is torchvision's ``maskrcnn_resnet50_fpn`` (or
``maskrcnn_resnet50_fpn_v2``) with torchvision's COCO weights, looked for offline as every
pretrained file is (:mod:`reid_bench.weights`: ``maskrcnn_resnet50_fpn_coco-bf2d0c1e.pth``, else
``maskrcnn_resnet50_fpn_v2_coco-73cbd019.pth``, in the torch hub cache or at ``--maskrcnn-weights``;
``reid-bench weights`` lists both). Nothing is downloaded; without the file ``data prepare`` falls
back to the keypoint body mask of PG2 / PATN and records which one each mask is
(:mod:`reid_bench.data.label_files`).

Which instance is the person of a Re-ID crop (:func:`choose_person`): the COCO ``person``
detections (label 1) scoring at least 0.5; of those whose box holds the image centre (a detector's
crop is centred on its person, as Market-1501's DPM boxes are), the highest-scoring; else the
highest-scoring of all. Its mask is torchvision's mask probability above 0.5. Of torchvision's COCO
settings only the detections kept per image change (10, not 100: a crop shows a few people at most,
and pasting 100 masks per crop is most of the time on a CPU); the proposals the RPN keeps (1,000)
and the resize (shorter side to 800 px) are options of ``data prepare``'s library call. An image without
such a detection has no Mask R-CNN mask, and ``data prepare`` draws the keypoint mask for it
(counted and recorded apart). The paper does not say how it picked the instance or set the
thresholds; these are torchvision's and Detectron's usual 0.5.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torchvision.models import detection

from reid_bench import weights
from reid_bench.errors import ReidBenchError

MASKRCNN_KEYS = ("maskrcnn", "maskrcnn_v2")  # reid_bench.weights.KNOWN_WEIGHTS, in the order looked for
PERSON_LABEL = 1  # COCO's "person" in torchvision's category list
SCORE_THRESHOLD = 0.5
MASK_THRESHOLD = 0.5
COCO_CLASSES = 91  # torchvision's COCO heads (background + 90 category slots)
DETECTIONS = 10  # detections kept per image (torchvision: 100); one crop shows a few people at most


@dataclass(frozen=True)
class MaskRCNNWeights:
    key: str  # "maskrcnn" or "maskrcnn_v2"
    path: Path

    @property
    def source(self) -> str:
        """What each mask PNG records: ``maskrcnn:<file name> sha256 <8 hex digits>``."""
        digest = hashlib.sha256()
        with open(self.path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        return f"maskrcnn:{self.path.name} sha256 {digest.hexdigest()[:8]}"


def find_maskrcnn(given: str | os.PathLike | None = None) -> MaskRCNNWeights | None:
    """The Mask R-CNN weights on disk: ``given`` (its architecture read from the name, ``_v2`` or not),
    else torchvision's v1 file, else its v2 file, in the torch hub cache; None if there is none."""
    if given:
        key = "maskrcnn_v2" if "_v2" in Path(given).name else "maskrcnn"
        found = weights.find(key, given)
        return MaskRCNNWeights(key, found) if found is not None else None
    for key in MASKRCNN_KEYS:
        found = weights.find(key)
        if found is not None:
            return MaskRCNNWeights(key, found)
    return None


def missing_note() -> str:
    """Why the keypoint masks were drawn instead: where Mask R-CNN's weights were looked for."""
    names = " or ".join(weights.KNOWN_WEIGHTS[key].file_name for key in MASKRCNN_KEYS)
    return (f"Mask R-CNN's COCO weights ({names}) are not in {weights.hub_checkpoints_dir()}; nothing is downloaded: "
            "copy one there or pass --maskrcnn-weights for the paper's masks")


def choose_person(output: dict[str, torch.Tensor], height: int, width: int) -> np.ndarray | None:
    """The (H, W) bool mask of the crop's person in one torchvision detection ``output`` (module
    docstring), or None without a person detection."""
    labels, scores = output["labels"].cpu(), output["scores"].float().cpu()
    keep = (labels == PERSON_LABEL) & (scores >= SCORE_THRESHOLD)
    if not keep.any():
        return None
    indices = torch.nonzero(keep).flatten()
    boxes = output["boxes"].float().cpu()[indices]
    cy, cx = height / 2, width / 2
    central = (boxes[:, 0] <= cx) & (boxes[:, 2] >= cx) & (boxes[:, 1] <= cy) & (boxes[:, 3] >= cy)
    pool = indices[central] if central.any() else indices
    best = pool[torch.argmax(scores[pool])]
    return output["masks"][best, 0].float().cpu().numpy() > MASK_THRESHOLD


class PersonSegmenter:
    """torchvision's COCO Mask R-CNN in eval mode: RGB images in, the crop's person mask out."""

    def __init__(self, found: MaskRCNNWeights, device: torch.device, min_size: int = 800,
                 proposals: int = 1000) -> None:
        build = detection.maskrcnn_resnet50_fpn_v2 if found.key == "maskrcnn_v2" else detection.maskrcnn_resnet50_fpn
        model = build(weights=None, weights_backbone=None, num_classes=COCO_CLASSES, min_size=min_size,
                      rpn_post_nms_top_n_test=proposals, box_detections_per_img=DETECTIONS)
        try:
            state = torch.load(found.path, map_location="cpu", weights_only=True)
            model.load_state_dict(state)
        except Exception:  # a truncated file, another architecture, not a torch file
            raise ReidBenchError(
                f"{found.path} does not load into torchvision's {build.__name__}; pass torchvision's COCO file "
                f"({weights.KNOWN_WEIGHTS[found.key].file_name}) with --maskrcnn-weights."
            ) from None
        self.model = model.to(device).eval()
        self.device = device
        self.found = found

    @torch.no_grad()
    def __call__(self, images: Sequence[np.ndarray]) -> list[np.ndarray | None]:
        """Person masks of (H, W, 3) uint8 RGB ``images`` (None where Mask R-CNN finds no person)."""
        tensors = [torch.from_numpy(np.array(image)).permute(2, 0, 1).float().div(255).to(self.device)
                   for image in images]
        outputs = self.model(tensors)
        return [choose_person(output, image.shape[0], image.shape[1]) for output, image in zip(outputs, images)]
