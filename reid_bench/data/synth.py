"""SynthPeople: the embedded dataset, rendered procedurally in Market-1501's layout.

``render_dataset(out, SynthConfig())`` writes, under ``out``:

- ``bounding_box_train/``, ``bounding_box_test/``, ``query/``: JPEGs named
  ``PPPP_cCsS_FFFFFF_BB.jpg`` (pid, camera, sequence, frame, box), distractors ``0000_...`` and
  junk ``-1_...`` in the gallery, as in Market-1501;
- ``parsing/<split folder>/<stem>.png``: palettised PNGs of the 20 LIP labels, exact;
- ``annotation-{train,test,query}.csv``: PATN's keypoint format, exact (-1 = not visible);
- ``pairs-{train,test}.csv``: pose-transfer pairs (``from,to``) within identities;
- ``synthpeople-views.csv``: the view bin and gait phase of every person image;
- ``synthpeople.json``: the config and counts (its presence marks a complete render).

Identities (:mod:`synth_appearance`) are split half for training, half for testing. In the
training split each identity shows only ``train_views_per_id`` of the eight view bins and a
``train_phase_span`` share of the gait cycle, as pose variety per person is limited in
Market-1501; query and gallery images cover every view. That gap is what pose-transfer
augmentation can fill. Poses come from :mod:`pose_model` (fitted to Market-1501's keypoints),
cameras from :mod:`synth_scene`, drawing from :mod:`synth_body`. Every image is rendered from its
own seed, so the output is byte-identical for the same config whatever the number of workers.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from reid_bench import checks
from reid_bench.data import pose_model as pm
from reid_bench.data import synth_appearance as sa
from reid_bench.data import synth_body, synth_scene
from reid_bench.data.vocabulary import LIP_PALETTE
from reid_bench.errors import ReidBenchError
from reid_bench.storage import atomic_path, cache_root, config_hash, locked

SPLIT_FOLDERS = {"train": "bounding_box_train", "test": "bounding_box_test", "query": "query"}
FORMAT_VERSION = 1
SIZES = ("128x64", "256x128")  # HxW: Market-1501's crops, and twice that
MIN_IDENTITIES = 2  # one to train on and one to test on


@dataclass(frozen=True)
class SynthConfig:
    identities: int = 300  # in all; half train, half test (Market-1501: 751 + 750)
    seed: int = 0
    size: tuple[int, int] = (128, 64)  # (height, width); 256x128 on request
    cameras: int = 6
    train_images_per_id: tuple[int, int] = (8, 16)  # inclusive range, drawn per identity
    gallery_images_per_id: tuple[int, int] = (5, 11)
    queries_per_id: tuple[int, int] = (2, 4)  # each query from a different camera
    train_views_per_id: int = 2  # of the 8 view bins, how many an identity shows in training (8 = all)
    train_phase_span: float = 0.35  # share of the gait cycle an identity shows in training (1 = all)
    distractor_share: float = 0.1  # distractors (pid 0000) per gallery image
    junk_share: float = 0.05  # junk images (pid -1) per gallery image
    crop_rate: float = 0.12  # partial detections (feet, head or a side cut off)
    occluder_rate: float = 0.08  # an object in front of the person
    train_pairs_per_id: int = 60  # at most, in pairs-train.csv
    test_pairs_per_id: int = 12  # at most, in pairs-test.csv

    def __post_init__(self) -> None:
        checks.at_least(self.identities, MIN_IDENTITIES, "identities")
        height, width = self.size
        if height < 32 or width < 16:  # the command line takes SIZES only; fixtures may render other shapes
            raise ReidBenchError(f"image size {height}x{width} is too small for SynthPeople's bodies; use "
                                 f"{' or '.join(SIZES)}.")


def parse_size(text: str) -> tuple[int, int]:
    """``"128x64"`` -> (128, 64)."""
    try:
        height, width = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise ReidBenchError(f"image size {text!r} is not HxW; use 128x64 or 256x128.") from None
    if height < 32 or width < 16:
        raise ReidBenchError(f"image size {text!r} is too small; use 128x64 or 256x128.")
    return height, width


@dataclass(frozen=True)
class ImageJob:
    split: str  # train | test | query
    name: str
    kind: str  # person | distractor | junk
    identity: int  # index into the identity list (-1: none)
    camera: int  # 1-based
    view_bin: int
    phase: float
    crop: str  # none | feet | head | side
    occluded: bool
    seed: int


@dataclass
class SynthSummary:
    root: Path
    images: dict[str, int] = field(default_factory=dict)
    identities: dict[str, int] = field(default_factory=dict)
    pairs: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    reused: bool = False

    def __str__(self) -> str:
        how = "already rendered" if self.reused else f"rendered in {self.seconds:.1f} s"
        images = ", ".join(f"{split} {count}" for split, count in self.images.items())
        return (f"SynthPeople at {self.root} ({how}): images {images}; identities train "
                f"{self.identities.get('train', 0)}, test {self.identities.get('test', 0)}; "
                f"pairs train {self.pairs.get('train', 0)}, test {self.pairs.get('test', 0)}")


def plan(config: SynthConfig) -> tuple[list[sa.Appearance], list[ImageJob]]:
    """The identities and one job per image, decided up front from the seed."""
    rng = np.random.default_rng([config.seed, 1])
    n_train = config.identities // 2
    pids = rng.choice(np.arange(1, max(1502, config.identities + 1)), size=config.identities, replace=False)
    identity_params = pm.sample_params(rng, config.identities)
    appearances = [sa.sample_appearance(rng, float(identity_params.shoulder[i]), float(identity_params.hip[i]))
                   for i in range(config.identities)]
    jobs: list[ImageJob] = []
    names: set[str] = set()
    view_weights = pm.view_bin_weights()

    def add(split, kind, identity, pid_text, camera, view_bin, phase):
        while True:
            name = (f"{pid_text}_c{camera}s{rng.integers(1, 7)}_{rng.integers(0, 200000):06d}_"
                    f"{rng.integers(1, 9):02d}.jpg")
            if name not in names:
                break
        names.add(name)
        crop = "none"
        if kind == "junk":
            crop = str(rng.choice(["feet", "head", "side"]))
        elif rng.random() < config.crop_rate:
            crop = str(rng.choice(["feet", "head", "side"], p=[0.6, 0.2, 0.2]))
        jobs.append(ImageJob(split, name, kind, identity, camera, view_bin, phase, crop,
                             bool(rng.random() < config.occluder_rate), int(rng.integers(2**31))))

    for identity in range(config.identities):
        pid_text = f"{pids[identity]:04d}"
        cameras = rng.choice(np.arange(1, config.cameras + 1), size=int(rng.integers(2, config.cameras + 1)),
                             replace=False)
        if identity < n_train:
            bins = rng.choice(8, size=min(config.train_views_per_id, 8), replace=False, p=view_weights)
            phase0 = rng.uniform(0, 2 * np.pi)
            for _ in range(int(rng.integers(config.train_images_per_id[0], config.train_images_per_id[1] + 1))):
                phase = phase0 + rng.uniform(0, 2 * np.pi * config.train_phase_span)
                add("train", "person", identity, pid_text, int(rng.choice(cameras)), int(rng.choice(bins)), phase)
            continue
        n_query = min(int(rng.integers(config.queries_per_id[0], config.queries_per_id[1] + 1)), len(cameras) - 1)
        for camera in cameras[:n_query]:
            add("query", "person", identity, pid_text, int(camera), int(rng.choice(8, p=view_weights)),
                rng.uniform(0, 2 * np.pi))
        for _ in range(int(rng.integers(config.gallery_images_per_id[0], config.gallery_images_per_id[1] + 1))):
            add("test", "person", identity, pid_text, int(rng.choice(cameras)),
                int(rng.choice(8, p=view_weights)), rng.uniform(0, 2 * np.pi))
    n_gallery = sum(job.split == "test" for job in jobs)
    test_ids = np.arange(n_train, config.identities)
    for kind, share, pid_text in (("distractor", config.distractor_share, "0000"), ("junk", config.junk_share, "-1")):
        for _ in range(int(round(share * n_gallery))):
            identity = int(rng.choice(test_ids)) if len(test_ids) else -1
            add("test", kind, identity, pid_text, int(rng.integers(1, config.cameras + 1)),
                int(rng.choice(8, p=view_weights)), rng.uniform(0, 2 * np.pi))
    return appearances, jobs


# Worker state, set once per process (fork inherits it; spawn runs the initializer).
_STATE: dict = {}


def _init_worker(config: SynthConfig, appearances, cameras, root: str) -> None:
    _STATE.update(config=config, appearances=appearances, cameras=cameras, root=Path(root))


def _render_job(job: ImageJob) -> tuple[str, str, np.ndarray]:
    config, root = _STATE["config"], _STATE["root"]
    camera = _STATE["cameras"][job.camera - 1]
    pixels, parsing, keypoints = render_person_image(config, _STATE["appearances"][job.identity], camera, job,
                                                     job_rng(config, job))
    folder = SPLIT_FOLDERS[job.split]
    Image.fromarray(pixels).save(root / folder / job.name, quality=camera.jpeg_quality)
    save_parsing(parsing, root / "parsing" / folder / (Path(job.name).stem + ".png"))
    return job.split, job.name, keypoints


def make_cameras(config: SynthConfig) -> list[synth_scene.Camera]:
    """The config's cameras (scenes and effects), drawn from its seed."""
    return synth_scene.make_cameras(np.random.default_rng([config.seed, 3]), config.cameras, *config.size)


def job_rng(config: SynthConfig, job: ImageJob) -> np.random.Generator:
    """The random stream the render of ``job`` draws from (every image has its own)."""
    return np.random.default_rng([config.seed, 7, job.seed])


def render_person_image(config: SynthConfig, appearance: sa.Appearance, camera: synth_scene.Camera,
                        job: ImageJob, rng: np.random.Generator, pose: pm.Pose | None = None
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One image of ``job`` (its kind, occluder, view bin, phase, crop) dressed as ``appearance``
    in ``camera``, drawing from ``rng``: (pixels (H, W, 3) uint8 before JPEG, parsing (H, W) uint8
    LIP labels, keypoints (18, 2) int, -1 = not visible). ``pose`` given is drawn instead of the
    job's own (which :func:`draw_pose` would take from ``rng``): the synth-oracle generator's use."""
    height, width = config.size
    image, occluder, has_person = _scene(config, camera, job, rng)
    parsing = np.zeros((height, width), np.uint8)
    keypoints = np.full((18, 2), -1, int)
    if has_person:
        if pose is None:
            pose = draw_pose(config, job, appearance, rng)
        image, parsing, keypoints = synth_body.render_person(appearance, pose, 0, image, occluder)
    elif occluder is not None:
        image[occluder[0]] = occluder[1][occluder[0]]
    return synth_scene.apply_camera(image, camera, rng), parsing, keypoints


def _scene(config: SynthConfig, camera: synth_scene.Camera, job: ImageJob, rng: np.random.Generator):
    """The draws before the person's: background, occluder, and whether a distractor shows a person."""
    height, width = config.size
    image = synth_scene.background(camera, rng, height, width)
    occluder = synth_scene.occluder(rng, height, width) if job.occluded else None
    return image, occluder, job.kind != "distractor" or rng.random() < 0.5


def draw_pose(config: SynthConfig, job: ImageJob, appearance: sa.Appearance, rng: np.random.Generator) -> pm.Pose:
    """The body pose of ``job`` (its view bin, gait phase and crop; the rest from ``rng``) with the
    build (shoulder and hip widths) of ``appearance``."""
    height, width = config.size
    params = pm.sample_params(rng, 1, views=pm.sample_views(rng, 1, bins=np.array([job.view_bin])),
                              phases=np.array([job.phase]))
    params.shoulder[:] = appearance.shoulder + rng.normal(0, 0.004)
    params.hip[:] = appearance.hip + rng.normal(0, 0.002)
    _apply_crop(params, "feet" if job.kind == "distractor" else job.crop, rng,
                strength=2.0 if job.kind != "person" else 1.0)
    return pm.pose_from_params(params, height, width, rng=rng)


def job_pose(config: SynthConfig, job: ImageJob, camera: synth_scene.Camera,
             appearance: sa.Appearance) -> pm.Pose | None:
    """Exactly the pose the render of ``job`` draws (its rng replayed up to it), with the build of
    ``appearance``; None for a distractor image drawn without a person."""
    rng = job_rng(config, job)
    has_person = _scene(config, camera, job, rng)[2]
    return draw_pose(config, job, appearance, rng) if has_person else None


def _apply_crop(params: pm.PoseParams, crop: str, rng: np.random.Generator, strength: float) -> None:
    """Move or enlarge the body so that part of it falls outside the detection box."""
    if crop == "feet":
        params.feet_y += rng.uniform(0.12, 0.35) * strength
    elif crop == "head":
        params.neck_y -= rng.uniform(0.12, 0.22) * strength
        params.feet_y -= rng.uniform(0.0, 0.08)
    elif crop == "side":
        shift = rng.choice([-1, 1]) * rng.uniform(0.3, 0.45) * strength
        params.neck_x += shift
        params.feet_x += shift


def save_parsing(labels: np.ndarray, path: Path) -> None:
    """A palettised PNG whose pixel values are LIP labels (what Self-Correction-Human-Parsing writes)."""
    image = Image.fromarray(labels.astype(np.uint8), mode="P")
    palette = np.zeros((256, 3), np.uint8)
    palette[: len(LIP_PALETTE)] = LIP_PALETTE
    image.putpalette(palette.flatten().tolist())
    image.save(path, optimize=False)


def render_dataset(out: str | os.PathLike, config: SynthConfig = SynthConfig(), workers: int | None = None,
                   progress: bool = False) -> SynthSummary:
    """Render SynthPeople into ``out`` (atomically: a temp folder renamed when complete).

    If ``out`` already holds a complete render of the same config it is reused as it is. A second
    process rendering into the same ``out`` at once (two runs on a new cache) waits for the first
    (:func:`reid_bench.storage.locked`) and then reuses its render.
    """
    out = Path(out)
    with locked(out):
        return _existing_summary(out, config) or _render(out, config, workers, progress)


def _render(out: Path, config: SynthConfig, workers: int | None, progress: bool) -> SynthSummary:
    started = time.perf_counter()
    appearances, jobs = plan(config)
    cameras = make_cameras(config)
    workers = max(1, workers if workers is not None else (os.cpu_count() or 1))
    keypoints: dict[str, dict[str, np.ndarray]] = {split: {} for split in SPLIT_FOLDERS}
    with atomic_path(out) as tmp:
        for folder in SPLIT_FOLDERS.values():
            (tmp / folder).mkdir(parents=True)
            (tmp / "parsing" / folder).mkdir(parents=True)
        initargs = (config, appearances, cameras, str(tmp))
        bar = tqdm(total=len(jobs), desc="SynthPeople", unit="img", disable=not progress)
        if workers == 1:
            _init_worker(*initargs)
            results = map(_render_job, jobs)
            pool = None
        else:
            pool = multiprocessing.get_context().Pool(workers, _init_worker, initargs)
            results = pool.imap(_render_job, jobs, chunksize=16)
        try:
            for split, name, points in results:
                keypoints[split][name] = points
                bar.update()
        finally:
            bar.close()
            if pool is not None:
                pool.terminate()
        for split, rows in keypoints.items():
            _write_annotations(tmp / f"annotation-{split}.csv", rows)
        pair_counts = _write_pairs(tmp, config, jobs, keypoints)
        _write_views(tmp / "synthpeople-views.csv", jobs)
        summary = SynthSummary(
            root=out,
            images={split: sum(job.split == split for job in jobs) for split in SPLIT_FOLDERS},
            identities={"train": config.identities // 2, "test": config.identities - config.identities // 2},
            pairs=pair_counts,
            seconds=time.perf_counter() - started,
        )
        meta = {"format_version": FORMAT_VERSION, "config": asdict(config), "images": summary.images,
                "identities": summary.identities, "pairs": summary.pairs}
        (tmp / "synthpeople.json").write_text(json.dumps(meta, indent=2) + "\n")
    return summary


def _existing_summary(out: Path, config: SynthConfig) -> SynthSummary | None:
    if not out.exists():
        return None
    if not out.is_dir():
        raise ReidBenchError(f"{out} is a file, not a folder; choose another --out for the SynthPeople render.")
    meta_path = out / "synthpeople.json"
    if meta_path.is_file():
        meta = json.loads(meta_path.read_text())
        if (meta.get("format_version") == FORMAT_VERSION
                and meta.get("config") == json.loads(json.dumps(asdict(config)))):
            return SynthSummary(root=out, images=meta["images"], identities=meta["identities"],
                                pairs=meta["pairs"], reused=True)
        raise ReidBenchError(f"{out} holds a SynthPeople render with another config; "
                             "choose another --out or delete that folder.")
    if any(out.iterdir()):
        raise ReidBenchError(f"{out} exists and is not empty; choose another --out or delete that folder.")
    out.rmdir()
    return None


def _write_annotations(path: Path, rows: dict[str, np.ndarray]) -> None:
    lines = ["name:keypoints_y:keypoints_x"]
    for name in sorted(rows):
        points = rows[name]
        lines.append(f"{name}: {json.dumps(points[:, 0].tolist())}: {json.dumps(points[:, 1].tolist())}")
    path.write_text("\n".join(lines) + "\n")


def _write_pairs(root: Path, config: SynthConfig, jobs: list[ImageJob],
                 keypoints: dict[str, dict[str, np.ndarray]]) -> dict[str, int]:
    """Ordered pairs of two images of one identity whose core keypoints are all visible."""
    rng = np.random.default_rng([config.seed, 5])
    counts = {}
    for split, cap in (("train", config.train_pairs_per_id), ("test", config.test_pairs_per_id)):
        by_identity: dict[int, list[str]] = {}
        for job in jobs:
            points = keypoints[split].get(job.name)
            if job.split == split and job.kind == "person" and (points[list(pm.CORE_POINTS)] >= 0).all():
                by_identity.setdefault(job.identity, []).append(job.name)
        pairs = []
        for names in by_identity.values():
            candidates = [(a, b) for a in names for b in names if a != b]
            chosen = rng.permutation(len(candidates))[:cap]
            pairs += [candidates[i] for i in sorted(chosen)]
        (root / f"pairs-{split}.csv").write_text("from,to\n" + "".join(f"{a},{b}\n" for a, b in pairs))
        counts[split] = len(pairs)
    return counts


def _write_views(path: Path, jobs: list[ImageJob]) -> None:
    lines = ["name,split,kind,view_bin,view,phase"]
    for job in jobs:
        view = pm.VIEW_BIN_NAMES[job.view_bin] if job.kind == "person" else ""
        lines.append(f"{job.name},{job.split},{job.kind},{job.view_bin if view else ''},{view},"
                     f"{job.phase % (2 * np.pi):.4f}")
    path.write_text("\n".join(lines) + "\n")


def embedded_root(config: SynthConfig = SynthConfig(), progress: bool = True) -> Path:
    """The embedded dataset: ``config`` rendered once into ``$REID_BENCH_CACHE/synthpeople/<hash>``.

    Every command that runs without ``--data`` uses this folder, so they share one render (and the
    generators and models cached against it).
    """

    root = embedded_path(config)
    render_dataset(root, config, progress=progress)
    return root


def embedded_path(config: SynthConfig = SynthConfig()) -> Path:
    """Where :func:`embedded_root` renders ``config`` (rendered there or not)."""
    return cache_root() / "synthpeople" / config_hash(asdict(config))


def is_rendered(root: Path) -> bool:
    """Whether ``root`` holds a complete SynthPeople render (its ``synthpeople.json`` is written last)."""
    return (Path(root) / "synthpeople.json").is_file()
