"""``reid-bench run ... --plan``: what the run would do and how long it would take here, without training.

For the request as :func:`~reid_bench.run.pipeline.run` would resolve it (the same preset, dataset,
generator settings, arms and budget, through the same functions), the plan lists

- the preset and how it was chosen, and every resolved value (:func:`reid_bench.presets.describe`);
- the dataset and its counts (an embedded SynthPeople that is not rendered yet is counted from its
  render plan, :func:`reid_bench.data.synth.plan`, without rendering it), its pairs, and where the
  generator's inputs come from when they are stand-ins (``parsing=keypoints``);
- each stage: the generator's length (epochs of how many pairs, at which batch: its steps,
  :meth:`~reid_bench.presets.GeneratorSettings.length`), the images each augmented set generates,
  each Re-ID model's images, steps per epoch (:func:`reid_bench.reid.train.steps_per_epoch`), epochs
  under the run's budget (:func:`~reid_bench.run.pipeline.arm_settings`), lr decay and fixbase
  epochs, and what is cached already;
- the result rows it would add, and which are already in the results CSV (a real-only model's key
  is known before training; an augmented model's once its generator and augmented set exist);
- what would stop the run (a missing VGG-19, missing parsing: the sentences the run would print);
- an estimated time per stage: a few real steps of the generator loop and of each Re-ID trainer are
  timed at the preset's sizes on this machine's device (:func:`reid_bench.generators.training.time_steps`,
  :func:`reid_bench.reid.train.time_steps`; one warm-up step first, not counted) and multiplied by
  the steps; generation and feature extraction by their images. The batch timed is the one the run
  would take: the preset's, or all the pairs (images) when the dataset has fewer. The estimate is
  for this device only, and says which; data loading, checkpoints, sample grids and the rankers'
  fitting are not in it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import default_collate

from reid_bench import generators, presets
from reid_bench.accel import cpu_name, native_cpu_bf16, pick_device, precision_name, resolve_amp
from reid_bench.augment import augmented_records, choose_targets
from reid_bench.data import PoseTransferPairs, ReidDataset, load_dataset
from reid_bench.data import synth as synthpeople
from reid_bench.data.inputs import input_sources
from reid_bench.data.pose_maps import body_mask_from_keypoints, keypoint_heatmaps
from reid_bench.errors import ReidBenchError
from reid_bench.evaluation.protocols import fit_mark
from reid_bench.generators.run_config import RunConfig, configure
from reid_bench.generators.training import loop_needs
from reid_bench.generators.training import time_steps as time_generator
from reid_bench.profiling import Timing
from reid_bench.rankers import create as create_ranker
from reid_bench.records import processor_name
from reid_bench.reid import backbones, trainers
from reid_bench.reid.train import model_hash, steps_per_epoch
from reid_bench.reid.train import time_steps as time_reid
from reid_bench.results import ResultRow, existing_keys
from reid_bench.run.pipeline import (
    RESULTS_NAME,
    Arm,
    RunRequest,
    arm_settings,
    augment_config,
    augmented_folder,
    checkpoint_id,
    generator_needs,
    model_meta,
    protocol_names,
    resolve_preset,
)
from reid_bench.storage import cache_root

DEFAULT_TIMED_STEPS = 2


@dataclass
class Stage:
    name: str
    detail: str
    seconds: float | None = None  # estimated on this device; None: not estimated
    state: str = ""  # "cached", "resumes", ...


@dataclass
class RunPlan:
    """What :func:`plan_run` found; ``str()`` is the printed plan."""

    command: str
    preset: str
    why: str
    values: dict[str, Any]
    dataset: list[str]
    stages: list[Stage] = field(default_factory=list)
    rows: list[tuple[tuple, bool]] = field(default_factory=list)  # (row key, already in the CSV)
    rows_unknown: list[str] = field(default_factory=list)  # rows whose key is known only after training
    results: Path = Path(RESULTS_NAME)
    timings: list[str] = field(default_factory=list)
    measured: dict[str, Timing] = field(default_factory=dict)  # "san training step", "ide training step", ...
    device: str = ""
    problems: list[str] = field(default_factory=list)

    def time_left(self) -> tuple[float, int]:
        """The estimated seconds of the stages still to run, and how many of them were not timed."""
        left = [stage.seconds for stage in self.stages if stage.state != "cached"]
        return sum(seconds for seconds in left if seconds is not None), sum(seconds is None for seconds in left)

    def total_seconds(self) -> float | None:
        total, untimed = self.time_left()
        return None if untimed else total

    def __str__(self) -> str:
        lines = [f"plan of {self.command} (nothing is trained)", f"preset: {self.preset}{self.why}"]
        for section in ("generator", "reid", "run", "model"):
            if section in self.values:
                values = " ".join(f"{key}={value}" for key, value in self.values[section].items())
                lines.append(f"  {section}: {values}")
        lines += ["dataset:", *(f"  {line}" for line in self.dataset)]
        lines.append(f"stages (estimated time on {self.device}):" if self.device else
                     "stages (no step timed: --plan-steps 0):")
        for number, stage in enumerate(self.stages, start=1):
            when = "cached, nothing to do" if stage.state == "cached" else _duration(stage.seconds)
            state = f" [{stage.state}]" if stage.state and stage.state != "cached" else ""
            lines.append(f"  {number}. {stage.name}: {stage.detail}{state}  ~ {when}")
        total = self.total_seconds()
        if self.device:
            lines.append(f"  total: ~ {_duration(total)} on this device (data loading, checkpoints, samples and "
                         "rankers not included; another device will differ)")
        new = sum(not there for _, there in self.rows) + len(self.rows_unknown)
        lines.append(f"result rows ({self.results}): {new} new, {sum(there for _, there in self.rows)} already there")
        for key, there in self.rows:
            dataset, generator, factor, trainer, ranker, seed, processor, config = key
            lines.append(f"  {dataset} {generator} K={factor} {trainer} {ranker} seed {seed} ({config}, {processor}): "
                         + ("already in the CSV" if there else "new"))
        lines += [f"  {text}: new (its model's key is known once the generator is trained)"
                  for text in self.rows_unknown]
        if self.timings:
            lines += ["measured on this device (the estimates above come from these):",
                      *(f"  {line}" for line in self.timings)]
        if self.problems:
            lines += ["the run would stop:", *(f"  - {problem}" for problem in self.problems)]
        return "\n".join(lines)


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "not estimated"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.1f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def device_label(device: torch.device, precision: torch.dtype | None) -> str:
    """``cpu (AMD EPYC, 2 threads, fp32)`` or ``cuda:0 (NVIDIA H200, bf16)``."""
    if device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)}, {precision_name(precision)})"
    return f"{device} ({cpu_name()}, {torch.get_num_threads()} threads, {precision_name(precision)})"


def _flat(values: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if key != "preset"}


class _Planner:
    def __init__(self, request: RunRequest, timed: int, processes: int) -> None:
        self.request, self.timed = request, timed
        self.preset, why = resolve_preset(request)
        self.device = pick_device(request.device)
        described = presets.describe(self.preset)
        values = {section: _flat(described[section]) for section in ("generator", "reid", "run")}
        command = f"reid-bench run --generator {request.generator} --factor {request.factor}"
        self.plan = RunPlan(command, self.preset.name, why or " (given)", values, [],
                            results=Path(request.out) / RESULTS_NAME)
        if processes > 1:
            self.plan.dataset.append(f"--nproc {processes}: the same global batches, split over {processes} processes; "
                                     "the steps below are the same, the times are for one process on this device")
        if timed:
            self.plan.device = device_label(self.device, resolve_amp(self.preset.reid.amp, self.device))

    # ---- dataset ----------------------------------------------------------------------------

    def dataset(self) -> ReidDataset | None:
        """The dataset, or None for an embedded SynthPeople not rendered yet (counted from its plan)."""
        request, preset = self.request, self.preset
        if request.data is not None:
            dataset = load_dataset(request.data)
        elif preset.synth is None:
            raise ReidBenchError(f"preset {preset.name!r} runs on a real dataset: give its folder with --data.")
        else:
            root = synthpeople.embedded_path(preset.synth)
            if not synthpeople.is_rendered(root):
                _, jobs = synthpeople.plan(preset.synth)
                counts = {split: sum(job.split == split for job in jobs) for split in ("train", "query", "test")}
                self.plan.dataset += [
                    f"the embedded SynthPeople ({preset.synth.identities} identities, "
                    f"{preset.synth.size[0]}x{preset.synth.size[1]}), not rendered yet: the run renders it into {root}",
                    f"train {counts['train']:,} images of {preset.synth.identities // 2} identities; "
                    f"query {counts['query']:,}; gallery {counts['test']:,} (junk included)",
                    "pairs: counted once rendered (at most "
                    f"{preset.synth.train_pairs_per_id * (preset.synth.identities // 2):,} training pairs)"]
                self.counts = counts
                return None
            dataset = load_dataset(root)
            self.plan.dataset.append(f"the embedded SynthPeople, rendered in {root}")
        pairs = {split: dataset.pairs_path(split) for split in ("train", "test")}
        self.plan.dataset += [
            f"{dataset.kind} at {dataset.root}",
            f"train {len(dataset.train):,} images of {dataset.num_train_pids:,} identities; "
            f"query {len(dataset.query):,}; gallery {len(dataset.gallery):,}",
            "pairs files: " + ", ".join(f"{split} {path.name if path else 'none'}" for split, path in pairs.items())]
        self.counts = {"train": len(dataset.train), "query": len(dataset.query), "test": len(dataset.gallery)}
        return dataset

    # ---- the generator ----------------------------------------------------------------------

    def generator(self, dataset: ReidDataset | None) -> tuple[str | None, str, Timing | None]:
        """Plan the generator stage; (its checkpoint id if trained or given, perceptual, generation timing)."""
        request, settings = self.request, self.preset.generator
        name = request.generator
        needs = generator_needs(name, self.preset)
        inputs = input_sources(dataset, "train", needs) if dataset is not None else {}
        self.inputs = inputs
        if inputs:
            self.plan.dataset.append(f"inputs of {name} that are stand-ins (recorded in its rows' recipe): "
                                     + ", ".join(f"{key}={value}" for key, value in inputs.items()))
        data = str(Path(dataset.root).resolve()) if dataset is not None else "embedded"
        model_options = request.overrides.section("model")
        try:
            config = configure(name, data=data, preset=settings, options=model_options,
                               vgg_weights=request.vgg_weights, inputs=inputs)
            shown_options, perceptual_text = dict(config.options), f"perceptual {config.perceptual}"
        except ReidBenchError as error:  # VGG-19 missing under a preset that needs it: the run stops
            self.plan.problems.append(str(error))
            config = configure(name, data=data, preset=settings, options={**model_options, "perceptual": False},
                               inputs=inputs)
            self.without_perceptual = True
            shown_options = {**config.options, "perceptual": True}
            perceptual_text = "perceptual on, but its VGG-19 file is missing (see below)"
        self.plan.values["model"] = shown_options
        pairs = self._pairs(dataset, name, settings.image_size, generators.get(name).needs | loop_needs(settings))
        count = len(pairs) if pairs is not None else None
        countable = count is not None or settings.steps is not None or settings.epoch_pairs is not None
        length = settings.length(count or 0) if countable else \
            f"{settings.epochs} epochs of all training pairs (counted once the data is rendered)"
        steps = settings.total_steps(count or 0) if countable else None
        detail = (f"{length}; {count:,} training pairs; " if count is not None else f"{length}; ") + perceptual_text
        stage = Stage(f"generator {name}", detail)
        checkpoint, perceptual = request.generator_checkpoint, config.perceptual
        out = config.default_out()
        if checkpoint is None and (out / "generator.pt").is_file():
            checkpoint = str(out / "generator.pt")
        if checkpoint is not None:
            stage.state = "cached"
            stage.detail += f" (trained: {checkpoint})"
        elif (out / "checkpoints" / "latest.pt").is_file():
            stage.state = "resumes from its last checkpoint"
        self.plan.stages.append(stage)
        generation = None
        if self.timed:
            timings = time_generator(config, self._batch(pairs, config, needs), device=self.device, timed=self.timed)
            if timings is not None:
                training, generation = timings
                self.plan.measured.update({f"{name} training step": training, f"{name} generation": generation})
                note = " (without the perceptual term: its VGG-19 is missing)" if getattr(
                    self, "without_perceptual", False) else ""
                self.plan.timings += [f"{name} training step{note}: {training.describe()}",
                                      f"{name} generation forward: {generation.describe()}"]
                if steps is not None:
                    stage.seconds = steps * training.per_call
            else:
                stage.seconds = 0.0
        return (checkpoint_id(checkpoint) if checkpoint else None), perceptual, generation

    def _pairs(self, dataset: ReidDataset | None, name: str, size, needs) -> PoseTransferPairs | None:
        if dataset is None:
            return None
        try:
            pairs = PoseTransferPairs(dataset, "train", needs=needs, image_size=size, who=generators.title(name))
        except ReidBenchError as error:
            self.plan.problems.append(str(error))
            return None
        self.plan.dataset.append(f"{len(pairs):,} training pairs usable by {name}"
                                 + (f" ({pairs.skipped_note()})" if pairs.skipped else ""))
        return pairs

    def _batch(self, pairs: PoseTransferPairs | None, config: RunConfig, needs: frozenset[str]) -> dict:
        """The batch a step would get: real pairs if there are any, else stand-in tensors of their shape."""
        settings = config.settings
        if pairs is not None and len(pairs):
            return default_collate([pairs[i] for i in range(min(settings.batch_size, len(pairs)))])
        height, width = settings.image_size or self.preset.synth.size
        return stand_in_batch(needs, settings.batch_size, height, width)

    # ---- the run ----------------------------------------------------------------------------

    def run(self) -> RunPlan:
        request, preset, plan = self.request, self.preset, self.plan
        dataset = self.dataset()
        self.inputs: dict[str, str] = {}
        checkpoint, perceptual, generation = (None, "n/a", None)
        if request.generator != "none":
            checkpoint, perceptual, generation = self.generator(dataset)
        recipe = presets.recipe_label(preset, self.inputs,
                                      request.generator == "none" or generators.learns(request.generator))
        n_real = self.counts["train"]
        done = existing_keys(plan.results)
        reid_timings = self._reid_timings(dataset, n_real)
        rankers_of = {name: protocol_names(name, request.rerank) for name in request.trainers}
        extracted = self.counts["query"] + self.counts["test"]
        for seed in request.seeds:
            arms = [(Arm("none", 1, list(dataset.train) if dataset else [], 0), None)]
            if request.generator != "none" and request.factor > 1:
                arms.append(self._augmented_arm(dataset, seed, checkpoint, generation))
            for arm, records in arms:
                for trainer in request.trainers:
                    self._reid_stage(dataset, arm, records, trainer, seed, recipe, perceptual, reid_timings,
                                     n_real, extracted, done, rankers_of[trainer])
        return plan

    def _augmented_arm(self, dataset: ReidDataset | None, seed: int, checkpoint: str | None,
                       generation: Timing | None) -> tuple[Arm, list | None]:
        request = self.request
        config = augment_config(request, self.preset, seed)
        per_image = request.factor - 1
        if dataset is not None:
            model_needs = generators.get(request.generator).needs | (
                {"mask"} if config.composite == "target" else set())
            targets = choose_targets(dataset, config)
            count = len(PoseTransferPairs(dataset, "train", needs=model_needs, pairs=targets))
        else:
            count = self.counts["train"] * per_image
        detail = (f"{count:,} images ({per_image} per training image, poses {config.poses}, composite "
                  f"{config.composite})")
        if self.preset.run.filter_confidence:
            detail += f"; then only those the real-only IDE gives p >= {self.preset.run.filter_confidence:g}"
        stage = Stage(f"augmented set, seed {seed}", detail,
                      seconds=count * generation.per_item if generation is not None else None)
        records = None
        if checkpoint is not None and dataset is not None:
            folder = augmented_folder(dataset, request.generator, checkpoint, config)
            if (folder / "manifest.csv").is_file():
                stage.state, records = "cached", augmented_records(dataset, folder)
            arm = Arm(request.generator, request.factor, [], count, folder.name)
        else:
            arm = Arm(request.generator, request.factor, [], count, "")
        self.plan.stages.append(stage)
        return arm, records

    def _reid_timings(self, dataset: ReidDataset | None, n_real: int) -> dict[str, tuple[Timing, Timing]]:
        if not self.timed:
            return {}
        classes = dataset.num_train_pids if dataset is not None else max(2, self.preset.synth.identities // 2)
        timings = {}
        for trainer in self.request.trainers:
            settings = arm_settings(self.preset, trainer, n_real, 0)
            timings[trainer] = time_reid(trainer, settings, classes, device=self.device, timed=self.timed,
                                         samples=n_real)
            training, extraction = timings[trainer]
            self.plan.measured.update({f"{trainer} training step": training, f"{trainer} extraction": extraction})
            unit = "pairs" if trainers.get(trainer).unit == "pairs" else "images"
            self.plan.timings += [f"{trainer} training step ({settings.backbone} {settings.height}x{settings.width}, "
                                  f"batch in {unit}): {training.describe()}",
                                  f"{trainer} feature extraction: {extraction.describe()}"]
        return timings

    def _reid_stage(self, dataset, arm: Arm, records: list | None, trainer: str, seed: int, recipe: str,
                    perceptual: str, timings, n_real: int, extracted: int, done: set, rankers: list[str]) -> None:
        request = self.request
        settings = arm_settings(self.preset, trainer, n_real, arm.n_generated)
        per_epoch = steps_per_epoch(trainer, settings, n_real, arm.n_generated)
        total = per_epoch * settings.epochs
        pretrained = backbones.would_be_pretrained(settings.backbone, request.backbone_weights)
        if settings.fixbase_epochs and pretrained:
            fixbase = f"; backbone frozen for the first {settings.fixbase_epochs} epochs (fixbase)"
        elif settings.fixbase_epochs:
            fixbase = (f"; fixbase ({settings.fixbase_epochs} epochs) skipped: {settings.backbone} starts from random "
                       "weights (no ImageNet file found), recorded as pretrained=false")
        else:
            fixbase = ""
        batch = (f"{settings.batch_size // 2} pairs" if trainers.get(trainer).unit == "pairs"
                 else f"{settings.batch_size} images")
        detail = (f"{n_real:,} real + {arm.n_generated:,} generated images; {per_epoch:,} steps/epoch of {batch} "
                  f"x {settings.epochs} epochs = {total:,} steps; lr x{settings.lr_gamma:g} every "
                  f"{settings.lr_step:.3g} epochs{fixbase}; then features of {n_real + arm.n_generated + extracted:,} "
                  f"images and {', '.join(rankers)}")
        stage = Stage(f"{trainer} {arm.generator} seed {seed}", detail)
        if trainer in timings:
            training, extraction = timings[trainer]
            stage.seconds = total * training.per_call + (n_real + arm.n_generated + extracted) * extraction.per_item
        key = None
        known = arm.n_generated == 0 or (records is not None and not self.preset.run.filter_confidence)
        if dataset is not None and known:
            meta = model_meta(dataset, arm if records is None else Arm(arm.generator, arm.factor, [], len(records),
                                                                         arm.augmented_set), recipe, perceptual)
            all_records = list(dataset.train) + (records or [])
            key = model_hash(all_records, trainer, settings, pretrained, seed, meta)
            if (cache_root() / "reid" / key / "checkpoint.pt").is_file():
                stage.state = "checkpoint in the cache: trained or resumes"
        self.plan.stages.append(stage)
        rows = []
        for ranker in rankers:
            if key is None:
                self.plan.rows_unknown.append(f"{dataset.kind if dataset else 'synthpeople'} {arm.generator} "
                                              f"K={arm.factor} {trainer} {ranker} seed {seed}")
                continue
            mark = fit_mark(create_ranker(ranker), self.preset.run.ranker_fit, arm.n_generated > 0)
            row = ResultRow.key_of(dataset=dataset.kind, generator=arm.generator, factor=arm.factor, trainer=trainer,
                                   ranker=ranker, seed=seed, processor=processor_name(self.device),
                                   config_hash=key + mark)
            rows.append((row, row in done))
        self.plan.rows += rows
        if rows and all(there for _, there in rows):  # rows: one per ranker once the model's key is known
            stage.state = "cached"  # the run skips a model whose every row is on record


def stand_in_batch(needs: frozenset[str] | set[str], batch: int, height: int, width: int) -> dict[str, Any]:
    """Random tensors shaped as a collated batch of sample dicts (DESIGN.md) with ``needs``, for timing a
    step where the dataset has no usable pair yet (their values do not change a step's time)."""
    generator = torch.Generator().manual_seed(0)
    scale = torch.tensor([height, width], dtype=torch.float32)
    items: dict[str, Any] = {"pid": torch.zeros(batch, dtype=torch.long),
                             "src_name": ["stand-in"] * batch, "tgt_name": ["stand-in"] * batch}
    for prefix in ("src", "tgt"):
        items[f"{prefix}_image"] = torch.rand(batch, 3, height, width, generator=generator) * 2 - 1
        points = (torch.rand(batch, 18, 2, generator=generator) * 0.6 + 0.2) * scale
        if "parsing" in needs:
            labels = torch.randint(0, 20, (batch, height, width), generator=generator)
            items[f"{prefix}_parsing"] = torch.nn.functional.one_hot(labels, 20).permute(0, 3, 1, 2).float()
        if "mask" in needs:
            items[f"{prefix}_mask"] = torch.stack([torch.from_numpy(body_mask_from_keypoints(p.numpy(), height, width))
                                                   for p in points]).float()[:, None]
        if "keypoints" in needs:
            items[f"{prefix}_keypoints"] = points
        if "heatmap" in needs:
            items[f"{prefix}_heatmap"] = torch.stack([torch.from_numpy(keypoint_heatmaps(p.numpy(), height, width))
                                                      for p in points])
    return items


def plan_run(request: RunRequest, timed_steps: int = DEFAULT_TIMED_STEPS, processes: int = 1) -> RunPlan:
    """The plan of ``request`` (module docstring); ``timed_steps`` steps of each network are timed after
    a warm-up step (0: no estimate, nothing is run on the device); ``processes``: the run's ``--nproc``."""
    if timed_steps < 0:
        raise ReidBenchError(f"--plan-steps {timed_steps} is not a number of steps; give 0 (no estimate) or more.")
    return _Planner(request, timed_steps, processes).run()


def start_estimate(request: RunRequest) -> str | None:
    """The line ``reid-bench run`` prints before it trains: the time its training steps will take here.

    It is :func:`plan_run`'s total with one timed step of each network (a few seconds), for what is
    left to do (cached stages cost nothing), so a newcomer on a slow CPU learns at once that the run
    takes an hour there rather than the README's minutes. Torch's random state is restored after
    the timed steps, so the run trains exactly what it would without them. ``None`` when nothing is
    left to train or the plan found what would stop the run (the run then says it in its own words).
    """
    with torch.random.fork_rng(devices=[]):
        plan = plan_run(request, timed_steps=1)
    total, untimed = plan.time_left()  # untimed: e.g. copying images for a generator with no network
    if plan.problems or not total:
        return None
    also = f", and {untimed} stage(s) not timed" if untimed else ""
    line = (f"estimated time: ~ {_duration(total)} of training steps on {plan.device}, from one timed step of "
            f"each network (data loading and evaluation come on top{also}; --plan lists each stage)")
    device, amp = pick_device(request.device), resolve_preset(request)[0].reid.amp
    if device.type == "cpu" and amp == "auto" and not native_cpu_bf16():
        line += ("; this CPU has no native bf16 (AMX or AVX512-BF16), so it trains in fp32, several times slower "
                 "per step than the CPUs the README times")
    return line
