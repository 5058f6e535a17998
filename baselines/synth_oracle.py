"""``synth-oracle``: a perfect pose-transfer "generator" that exists only for SynthPeople.

Not a paper's method and not a baseline: it is an upper bound, a control that no real dataset
allows. SynthPeople (:mod:`reid_bench.data.synth`) is rendered from a seed, so its renderer can
draw any of its people in any of its poses. Given a (source, target) pair of SynthPeople image
names, the oracle renders, exactly as the dataset's renderer would:

- from the TARGET image: its body pose, replayed from the target's own random stream (view angle
  and its jitter, gait phase, position, scale, torso, stride, lean, arm swing, its crop shift and
  keypoint jitter), so that for two images of one identity the body is the target's, pixel for
  pixel, and its parsing the target's;
- from the SOURCE image: the identity (clothes, textures, hair, bag, accessories, and the body
  build: shoulder and hip widths) and the camera (its scene as background, colour cast, gain,
  blur, noise and JPEG quality); the background crop and the noise are drawn from a seed of both
  images, so they are a fresh draw of the source's camera, not the source image's own pixels;
- from neither: no occluder (it belongs to one image, not to a person or a camera).

If Re-ID trained on real + ``synth-oracle`` images does not beat the real-only baseline, the
augmentation protocol or the dataset, not the generators' image quality, is what limits it.

It has no parameters and nothing to train (the shared loop writes its checkpoint at once, as for
``identity``). Its one option, ``data``, is the SynthPeople folder (the one holding
``synthpeople.json``); :func:`reid_bench.generators.run_config.configure` fills it from its ``data``
argument (``needs_data_root``), so ``reid-bench run --generator synth-oracle`` works as it is.
The checkpoint stores that path; the identities and image jobs are rebuilt from the folder's
config with :func:`reid_bench.data.synth.plan`.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, fields, replace
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch
from PIL import Image

from reid_bench.data import synth
from reid_bench.data.synth_appearance import Appearance
from reid_bench.data.synth_scene import Camera
from reid_bench.errors import ReidBenchError
from reid_bench.generators.base import Batch, UntrainedGenerator


class _World(NamedTuple):
    """What the renderer rebuilds from a SynthPeople folder's config."""

    config: synth.SynthConfig
    appearances: list[Appearance]
    cameras: list[Camera]
    jobs: dict[str, synth.ImageJob]  # by image name


@dataclass(frozen=True)
class SynthOracleOptions:
    data: str | None = None  # the SynthPeople folder (holding synthpeople.json), stored resolved

    def __post_init__(self) -> None:
        if self.data is None:
            raise ReidBenchError("the synth-oracle generator needs option data=<a SynthPeople folder>, "
                                 "the dataset whose people it renders.")
        object.__setattr__(self, "data", str(Path(self.data).resolve()))


class SynthOracle(UntrainedGenerator):
    """The source's SynthPeople identity rendered in the target image's pose; options: :class:`SynthOracleOptions`."""

    name = "synth-oracle"
    needs = frozenset()  # only the names, which every sample dict has
    needs_data_root = True  # configure() passes its data folder as the option ``data``
    preset_options = {"quick": {}, "market": {}, "deepfashion": {}}
    Options = SynthOracleOptions
    config: SynthOracleOptions

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._world = _load_world(str(self.config.data))

    def render(self, source: str, target: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The source person in the target pose at the dataset's size: (pixels (H, W, 3) uint8 as
        its JPEG decodes, parsing (H, W) uint8 LIP labels, keypoints (18, 2) int, -1 = not visible)."""
        world = self._world
        src, tgt = self._job(source), self._job(target)
        if src.identity < 0:
            raise ReidBenchError(f"the source image {source} shows no identity of {self.options['data']}.")
        appearance = world.appearances[src.identity]
        pose = synth.job_pose(world.config, tgt, world.cameras[tgt.camera - 1], appearance)
        if pose is None:
            raise ReidBenchError(f"the target image {target} is a distractor without a person, so it has no pose.")
        camera = world.cameras[src.camera - 1]
        rng = np.random.default_rng([world.config.seed, 13, src.seed, tgt.seed])
        job = replace(src, kind="person", occluded=False)
        pixels, parsing, keypoints = synth.render_person_image(world.config, appearance, camera, job, rng, pose=pose)
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, format="JPEG", quality=camera.jpeg_quality)  # as the dataset stores it
        buffer.seek(0)
        return np.asarray(Image.open(buffer).convert("RGB")), parsing, keypoints

    def forward(self, batch: Batch) -> torch.Tensor:
        if "src_name" not in batch or "tgt_name" not in batch:
            raise ReidBenchError("the synth-oracle generator needs src_name and tgt_name in the batch "
                                 "(PoseTransferPairs supplies them).")
        sources, targets = batch["src_name"], batch["tgt_name"]
        sources = [sources] if isinstance(sources, str) else list(sources)
        targets = [targets] if isinstance(targets, str) else list(targets)
        like = batch["src_image"]
        height, width = (int(v) for v in like.shape[-2:])
        images = []
        for source, target in zip(sources, targets, strict=True):
            pixels = self.render(source, target)[0]
            if pixels.shape[:2] != (height, width):  # resized as the data layer resizes real images
                pixels = np.asarray(Image.fromarray(pixels).resize((width, height), Image.BILINEAR))
            images.append(pixels)
        out = torch.from_numpy(np.stack(images).astype(np.float32) / 127.5 - 1.0).permute(0, 3, 1, 2)
        return out.contiguous().to(like.device)

    def _job(self, name: str) -> synth.ImageJob:
        job = self._world.jobs.get(name)
        if job is None:
            raise ReidBenchError(f"image {name} is not in the SynthPeople render {self.options['data']}.")
        return job


def _load_world(root: str) -> _World:
    """The config, identities, cameras and image jobs of the SynthPeople render at ``root``."""
    meta_path = Path(root) / "synthpeople.json"
    if not meta_path.is_file():
        raise ReidBenchError(f"{root} is not a SynthPeople render (it has no synthpeople.json), and the "
                             "synth-oracle generator only works on one.")
    return _plan_world(root, meta_path.read_text())


@lru_cache(maxsize=4)
def _plan_world(root: str, description: str) -> _World:
    meta_path = Path(root) / "synthpeople.json"
    try:
        meta = json.loads(description)
        known = {field.name for field in fields(synth.SynthConfig)}
        values = {key: tuple(value) if isinstance(value, list) else value for key, value in meta["config"].items()}
        if meta.get("format_version") != synth.FORMAT_VERSION or set(values) - known:
            raise ValueError("another format version")
        config = synth.SynthConfig(**values)
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise ReidBenchError(f"{meta_path} is not a SynthPeople description this version reads ({error}).") from None
    appearances, jobs = synth.plan(config)
    counts = {split: sum(job.split == split for job in jobs) for split in synth.SPLIT_FOLDERS}
    if counts != meta.get("images"):
        raise ReidBenchError(f"{root} was rendered by another version of the SynthPeople renderer "
                             f"(images {meta.get('images')}, its config plans {counts}); render it again.")
    return _World(config, appearances, synth.make_cameras(config), {job.name: job for job in jobs})
