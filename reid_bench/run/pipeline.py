"""``reid-bench run``: generator -> factor-K augmentation -> IDE / Siamese -> rankers -> result rows.

The paper's experiment (Section 5, its Re-ID table) as one resumable job. For each seed, IDE and
Siamese models are trained on the real training images alone (generator ``none``) and on real +
generated images, with the same seed and the same budget (``RunPreset.budget``: by default the
same number of optimisation steps, so a gain cannot come from training longer); IDE features are
ranked with Euclidean distance, XQDA and KISSME, Siamese features with Euclidean distance (the
paper's protocols), optionally re-ranked. Every run therefore carries its own baseline.

Every expensive step is cached by a hash of its inputs (DESIGN.md, "Caches and runs"): the
SynthPeople render, the trained generator (its loop resumes), each augmented set (generation
resumes file by file), each Re-ID model (resumes per epoch). Result rows are appended atomically
as each model is evaluated, and a row whose key is already in the CSV is not computed again, so an
interrupted run resumes and a rerun adds no duplicates.

Under ``torchrun`` (``reid-bench --nproc N run ...``) every process trains the generator and the
Re-ID models together (:mod:`reid_bench.distributed`); rank 0 alone renders the dataset, writes
the augmented sets, evaluates, appends the rows and draws the report, and the others wait for it
at a barrier, then read what it wrote.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import torch

from reid_bench import distributed, generators, presets
from reid_bench.accel import pick_device, resolve_amp
from reid_bench.augment import AugmentConfig, augmented_records, choose_targets, write_augmented_set
from reid_bench.data import PoseTransferPairs, ReidDataset, load_dataset
from reid_bench.data.synth import embedded_root
from reid_bench.errors import ReidBenchError
from reid_bench.evaluation.protocols import evaluate_trained
from reid_bench.generators.run_config import configure
from reid_bench.generators.training import train
from reid_bench.profiling import OFF, Profile
from reid_bench.records import write_run_record
from reid_bench.reid import preset as reid_preset
from reid_bench.reid import train_reid
from reid_bench.results import ResultRow, append_rows, existing_keys, read_rows
from reid_bench.results.plots import cmc_path, save_cmc
from reid_bench.storage import cache_root, config_hash

PROTOCOLS = {"ide": ("euclidean", "xqda", "kissme"), "siamese": ("euclidean",)}
RESULTS_NAME = "results.csv"


@dataclass(frozen=True)
class RunRequest:
    generator: str  # a registry name, or "none" for the real-only baseline alone
    factor: int  # K
    data: str | None = None  # dataset folder; None: SynthPeople rendered into the cache
    preset: str | None = None  # None: quick without a GPU, market with one
    seeds: tuple[int, ...] = (1,)
    out: Path = Path("results")
    rerank: bool = False
    trainers: tuple[str, ...] = ("ide", "siamese")
    generator_checkpoint: str | None = None  # use this trained generator instead of training one
    generator_steps: int | None = None  # override the generator preset's length
    reid_epochs: int | None = None  # override the Re-ID preset's epochs
    backbone: str | None = None  # override the Re-ID preset's backbone
    backbone_weights: str | None = None
    vgg_weights: str | None = None
    poses: str | None = None  # random | kmeans (None: the preset's)
    device: str | None = None
    profile: bool = False  # time every step of the run (RunSummary.profile; written as profile.csv)


@dataclass
class RunSummary:
    preset: str
    results: Path
    rows: list[ResultRow] = field(default_factory=list)  # the rows of this run (new or found)
    added: int = 0  # rows computed by this invocation
    dataset_root: Path | None = None
    augmented: list[Path] = field(default_factory=list)  # augmented-set folders, one per seed
    profile: Profile = OFF  # seconds per step when RunRequest.profile is set


def run(request: RunRequest, echo: Callable[[str], None] = print, progress: bool = True) -> RunSummary:
    """Run the experiment of ``request`` (see the module docstring)."""
    distributed.init_from_env(pick_device(request.device))
    if not distributed.is_main():
        echo, progress = _silent, False
    preset = presets.get(request.preset or presets.default_preset_name(torch.cuda.is_available()))
    if request.preset:
        echo(f"preset: {preset.name}")
    else:
        echo(f"preset: {preset.name} (chosen because {'a GPU was' if preset.name != 'quick' else 'no GPU was'} found)")
    if request.factor < 1:
        raise ReidBenchError(f"--factor must be 1 or more, not {request.factor}.")
    profile = Profile(enabled=request.profile)
    with profile.section("dataset"):
        dataset = _main_first(lambda: _dataset(request, preset, echo, progress))
    out = Path(request.out)
    results_csv = out / RESULTS_NAME
    summary = RunSummary(preset.name, results_csv, dataset_root=Path(dataset.root), profile=profile)
    with profile.section(f"generator {request.generator}"):
        model, checkpoint_id, perceptual = _generator(request, preset, dataset, echo, progress, profile)
    if distributed.is_main():
        _write_run_record(out, request, preset, dataset, checkpoint_id, perceptual)


    settings = reid_settings(reid_preset(preset.reid_preset), request.reid_epochs or preset.reid_epochs,
                             request.backbone or preset.reid_backbone)
    for seed in request.seeds:
        arms = [("none", 1, list(dataset.train), None)]
        if model is not None and request.factor > 1:
            with profile.section(f"augment seed {seed}"):
                folder = _main_first(lambda: _augmented(dataset, model, checkpoint_id, request, preset, seed,
                                                        echo, progress))
            summary.augmented.append(folder)
            generated = augmented_records(dataset, folder)
            arms.append((request.generator, request.factor, list(dataset.train) + generated, len(generated)))
        for generator_name, factor, records, n_generated in arms:
            for trainer in request.trainers:
                with profile.section(f"{trainer} {generator_name} seed {seed}"):
                    rows, added = _train_and_evaluate(dataset, records, generator_name, factor, trainer, settings,
                                                      seed, n_generated or 0, preset, request, perceptual,
                                                      results_csv, echo, progress, profile)
                summary.rows += rows
                summary.added += added
    return summary


def _silent(message: str) -> None:
    """The echo of the ranks other than 0."""


def _main_first(step: Callable[[], object]):
    """``step()`` on rank 0, then on the other ranks once it is done (they find its cached output)."""
    if distributed.is_main():
        result = step()
        distributed.barrier()
        return result
    distributed.barrier()
    return step()


def _dataset(request: RunRequest, preset: presets.RunPreset, echo, progress: bool) -> ReidDataset:
    if request.data is not None:
        return load_dataset(request.data)
    if preset.synth is None:
        raise ReidBenchError(f"preset {preset.name!r} runs on a real dataset: give its folder with --data.")

    root = embedded_root(preset.synth, progress=progress)
    echo(f"dataset: the embedded SynthPeople, in {root}")
    return load_dataset(root)


def _generator(request: RunRequest, preset: presets.RunPreset, dataset: ReidDataset, echo, progress: bool,
               profile: Profile):
    """The trained generator (trained now unless given or cached), its checkpoint id and perceptual state."""
    if request.generator == "none":
        return None, "none", "n/a"

    checkpoint = request.generator_checkpoint
    if checkpoint is None:

        config = configure(request.generator, data=str(Path(dataset.root).resolve()), preset=preset.generator_preset,
                           vgg_weights=request.vgg_weights, steps=request.generator_steps)
        out = config.default_out()
        echo(f"generator {request.generator}: {config.settings.preset} preset, perceptual {config.perceptual}, in {out}")
        needs = generators.get(request.generator).needs
        pairs = PoseTransferPairs(dataset, "train", needs=needs, image_size=config.settings.image_size)
        shown = PoseTransferPairs(dataset, "test", needs=needs, image_size=config.settings.image_size) \
            if dataset.pairs_path("test") is not None else None
        result = train(config, pairs, out, sample_pairs=shown, device=request.device or "auto", progress=progress,
                       profile=profile)
        checkpoint = result.generator
    model = generators.load(checkpoint, request.generator)
    digest = hashlib.sha256(Path(checkpoint).read_bytes()).hexdigest()[:12]
    perceptual = str(model.meta.get("perceptual", "n/a"))
    return model, digest, perceptual


def _augmented(dataset: ReidDataset, model, checkpoint_id: str, request: RunRequest, preset: presets.RunPreset,
               seed: int, echo, progress: bool) -> Path:
    """The augmented set of ``seed`` (generated now unless cached)."""
    config = AugmentConfig(factor=request.factor, poses=request.poses or preset.poses, seed=seed)
    key = config_hash({"data": str(Path(dataset.root).resolve()), "checkpoint": checkpoint_id, **asdict(config)})
    folder = cache_root() / "augmented" / f"{request.generator}-K{request.factor}-{key}"
    pairs = choose_targets(dataset, config)
    write_augmented_set(dataset, model, pairs, folder, checkpoint_id, batch_size=preset.generate_batch,
                        device=str(pick_device(request.device)), progress=progress)
    echo(f"augmented set (seed {seed}): {len(pairs)} generated images for {len(dataset.train)} real, in {folder}")
    return folder


def reid_settings(settings, epochs: int | None, backbone: str | None):
    """The Re-ID preset with ``epochs`` (its lr decay kept at the same share of training) and ``backbone``."""
    if epochs is not None and epochs != settings.epochs:
        settings = settings.replace(epochs=epochs, lr_step=settings.lr_step * epochs / settings.epochs)
    return settings.replace(backbone=backbone)


def budget_settings(settings, n_real: int, n_total: int, budget: str):
    """Re-ID settings for a training set of ``n_total`` images given the real-only ``settings``.

    With the ``steps`` budget, epochs shrink by ``n_real / n_total`` (rounded: the step totals then
    differ by under half an epoch of the larger set) and ``lr_step`` by exactly that ratio, so the
    lr decays at the same optimisation step in both arms (:func:`reid_bench.reid.train.set_lr`).
    """
    if budget == "epochs" or n_total == n_real:
        return settings
    if budget != "steps":
        raise ReidBenchError(f"unknown budget {budget!r}; use steps or epochs.")
    ratio = n_real / n_total
    return settings.replace(epochs=max(1, round(settings.epochs * ratio)),
                            lr_step=settings.lr_step * ratio,
                            fixbase_epochs=round(settings.fixbase_epochs * ratio))


def _train_and_evaluate(dataset: ReidDataset, records: list, generator_name: str, factor: int, trainer: str,
                        settings, seed: int, n_generated: int, preset: presets.RunPreset, request: RunRequest,
                        perceptual: str, results_csv: Path, echo, progress: bool,
                        profile: Profile) -> tuple[list[ResultRow], int]:
    """Train (or find) one model, evaluate the protocols not yet in the CSV; (its rows, rows added)."""

    n_real = len(dataset.train)
    arm_settings = budget_settings(settings, n_real, len(records), preset.budget)
    meta = {"dataset": dataset.kind, "generator": generator_name, "factor": factor,
            "n_real": n_real, "n_generated": n_generated}
    echo(f"seed {seed}: {trainer} on {n_real} real + {n_generated} generated images ({generator_name}, K={factor})")
    with profile.section("train"):
        trained = train_reid(records, trainer, arm_settings, backbone_weights=request.backbone_weights, seed=seed,
                             meta=meta, device=request.device, progress=progress, profile=profile)
    if not distributed.is_main():  # rank 0 evaluates and writes the rows
        distributed.barrier()
        return [], 0
    rankers = list(PROTOCOLS[trainer]) + ([f"{name}+rerank" for name in PROTOCOLS[trainer]] if request.rerank else [])
    done = existing_keys(results_csv)
    wanted = [name for name in rankers
              if (dataset.kind, generator_name, factor, trainer, name, seed, trained.config_hash) not in done]
    evaluation_set = _EvaluationSet(dataset.kind, records, dataset.query, dataset.gallery)
    with profile.section("evaluate"):
        new_rows, curves = evaluate_trained(trained, evaluation_set, wanted, device=request.device,
                                            progress=progress) if wanted else ([], {})
    for row in new_rows:
        row["perceptual"] = perceptual if generator_name != "none" else "n/a"
    appended = append_rows(results_csv, new_rows) if new_rows else []
    if appended:
        save_cmc(cmc_path(results_csv, appended[0]), curves)

    rows = [row for row in read_rows(results_csv)
            if (row.generator, row.factor, row.trainer, row.seed, row.config_hash)
            == (generator_name, factor, trainer, seed, trained.config_hash)]
    distributed.barrier()
    return rows, len(appended)


@dataclass(frozen=True)
class _EvaluationSet:
    """What the evaluator reads: the training images the model saw (rankers fit on them), query, gallery."""

    kind: str
    train: Sequence
    query: Sequence
    gallery: Sequence


def _write_run_record(out: Path, request: RunRequest, preset: presets.RunPreset, dataset: ReidDataset,
                      checkpoint_id: str, perceptual: str) -> Path:
    """The resolved config and seeds of this invocation, beside the results (``runs/<time>-<generator>-K<K>.json``)."""
    config = {
        "request": {key: (str(value) if isinstance(value, Path) else value) for key, value in asdict(request).items()},
        "preset": asdict(preset),
        "dataset": {"root": str(dataset.root), "kind": dataset.kind, "train": len(dataset.train),
                    "query": len(dataset.query), "gallery": len(dataset.gallery)},
        "generator_checkpoint": checkpoint_id, "perceptual": perceptual,
    }
    started = dt.datetime.now(dt.timezone.utc)
    device = pick_device(request.device)
    name = f"{started.strftime('%Y%m%dT%H%M%S')}-{request.generator}-K{request.factor}.json"
    return write_run_record(out / "runs", "run", config, device=device, precision=resolve_amp("auto", device), name=name)
