"""``reid-bench run``: generator -> factor-K augmentation -> IDE / Siamese -> rankers -> result rows.

The paper's experiment (Section 5, its Re-ID table) as one resumable job. For each seed, IDE and
Siamese models are trained on the real training images alone (generator ``none``) and on real +
generated images, with the same seed and the same budget (``RunSettings.budget``: by default the
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

import dataclasses
import datetime as dt
import hashlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch

from reid_bench import distributed, generators, presets, rankers
from reid_bench.accel import pick_device, resolve_amp
from reid_bench.augment import AugmentConfig, augmented_records, choose_targets, keep_confident, write_augmented_set
from reid_bench.data import PoseTransferPairs, ReidDataset, load_dataset
from reid_bench.data.inputs import input_sources
from reid_bench.data.synth import embedded_root
from reid_bench.errors import ReidBenchError
from reid_bench.evaluation.protocols import evaluate_trained, fit_mark, row_hash, row_processor
from reid_bench.generators.run_config import configure_guided
from reid_bench.generators.training import loop_needs, train
from reid_bench.presets import BUDGETS, Overrides, ReidSettings, RunPreset, real_only
from reid_bench.profiling import OFF, Profile
from reid_bench.records import processor_name, write_run_record
from reid_bench.reid import TrainedModel, backbones, train_reid, trainers
from reid_bench.reid.features import class_index, source_probabilities
from reid_bench.reid.guide import IdentityGuide
from reid_bench.reid.train import model_hash, steps_per_epoch
from reid_bench.results import ResultRow, append_rows, existing_keys, read_rows
from reid_bench.results.plots import add_cmc, cmc_path
from reid_bench.storage import cache_root, config_hash

RESULTS_NAME = "results.csv"
GUIDE_SEED = 1  # the seed of the real-only IDE that the generator's identity term scores with (Experiment.guide_ide)


@dataclass(frozen=True)
class RunRequest:
    generator: str  # a registry name, or "none" for the real-only baseline alone
    factor: int  # K
    data: str | None = None  # dataset folder; None: SynthPeople rendered into the cache
    preset: str | None = None  # None: presets.default_preset_name (quick without a GPU; with one synth-gpu, market
    # or deepfashion by the data)
    seeds: tuple[int, ...] = (1,)
    out: Path = Path("results")
    rerank: bool = False
    trainers: tuple[str, ...] = ("ide", "siamese")
    generator_checkpoint: str | None = None  # use this trained generator instead of training one
    overrides: Overrides = Overrides()  # --set SECTION.FIELD=VALUE (reid_bench.presets.parse_overrides)
    reid_epochs: int | None = None  # the Re-ID length, its lr decay kept at the same share (ReidSettings.with_epochs)
    backbone_weights: str | None = None
    vgg_weights: str | None = None
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


@dataclass(frozen=True)
class Arm:
    """One side of the comparison: the images a Re-ID model trains on."""

    generator: str  # "none", or the generator whose images join the real ones
    factor: int
    records: list  # real training records, then the generated ones
    n_generated: int
    augmented_set: str = ""  # the augmented set's cache folder name (it names the generator checkpoint)


@dataclass
class TrainedGenerator:
    model: generators.Generator | None  # None for the real-only run
    checkpoint_id: str  # sha256 prefix of generator.pt ("none" without a generator)
    perceptual: str  # as the checkpoint records it ("n/a" without a generator)
    checkpoint: Path | None = None  # generator.pt


def resolve_preset(request: RunRequest) -> tuple[RunPreset, str]:
    """The run preset with the request's overrides, and how it was chosen (for the log): the one named,
    else :func:`reid_bench.presets.default_preset_name` of this machine and the ``--data`` folder's kind."""
    if request.preset:
        name, why = request.preset, ""
    else:
        cuda = torch.cuda.is_available()
        kind = load_dataset(request.data).kind if cuda and request.data is not None else None
        name = presets.default_preset_name(cuda, kind)
        why = f" (chosen because {presets.default_reason(name, cuda, kind)})"
    preset = request.overrides.apply(presets.get(name))
    return dataclasses.replace(preset, reid=preset.reid.with_epochs(request.reid_epochs)), why


def generator_needs(generator: str, preset: RunPreset) -> frozenset[str]:
    """What the run reads of the data for ``generator``: its own ``needs``, the loop's recipe terms', and
    the target masks of compositing."""
    needs = generators.get(generator).needs | loop_needs(preset.generator)
    return needs | ({"mask"} if preset.run.composite == "target" else frozenset())


def augment_config(request: RunRequest, preset: RunPreset, seed: int) -> AugmentConfig:
    """How the augmented set of ``seed`` is chosen (factor, poses, compositing)."""
    return AugmentConfig(factor=request.factor, poses=preset.run.poses, seed=seed, composite=preset.run.composite)


def augmented_folder(dataset: ReidDataset, generator: str, checkpoint_id: str, config: AugmentConfig) -> Path:
    """The cache folder of the augmented set of ``config`` drawn by the generator checkpoint ``checkpoint_id``."""
    key = config_hash({"data": str(Path(dataset.root).resolve()), "checkpoint": checkpoint_id, **asdict(config)})
    return cache_root() / "augmented" / f"{generator}-K{config.factor}-{key}"


def checkpoint_id(path: str | Path) -> str:
    """The id of a generator checkpoint in the run's caches: its SHA-256, first 12 hex digits."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]


def arm_settings(preset: RunPreset, trainer: str, n_real: int, n_generated: int) -> ReidSettings:
    """The Re-ID settings of an arm of ``n_real`` real and ``n_generated`` generated images: the real-only
    model ignores the generated-image fields, and the augmented one gets the run's budget
    (:func:`budget_settings`)."""
    real_settings = real_only(preset.reid)
    if n_generated == 0:
        return real_settings
    base = steps_per_epoch(trainer, real_settings, n_real, 0)
    steps = steps_per_epoch(trainer, preset.reid, n_real, n_generated)
    return budget_settings(preset.reid, base, steps, preset.run.budget)


def model_meta(dataset: ReidDataset, arm: Arm, recipe: str, perceptual: str) -> dict[str, Any]:
    """What a Re-ID model of ``arm`` records for its result rows (part of its config hash)."""
    augmented = arm.n_generated > 0
    return {"dataset": dataset.kind, "generator": arm.generator, "factor": arm.factor,
            "n_real": len(dataset.train), "n_generated": arm.n_generated,
            "recipe": recipe if augmented else "n/a", "perceptual": perceptual if augmented else "n/a",
            **({"augmented_set": arm.augmented_set} if augmented else {})}


def run(request: RunRequest, echo: Callable[[str], None] = print, progress: bool = True) -> RunSummary:
    """Run the experiment of ``request`` (see the module docstring)."""
    return Experiment(request, echo, progress).run()


class Experiment:
    """The state of one ``reid-bench run``: its request, preset, dataset, generator and summary."""

    def __init__(self, request: RunRequest, echo: Callable[[str], None] = print, progress: bool = True) -> None:
        if request.factor < 1:
            raise ReidBenchError(f"--factor must be 1 or more, not {request.factor}.")
        self.request = request
        self.device = distributed.init_from_env(pick_device(request.device))
        self.processor = processor_name(self.device)  # in the key of every row this run writes or skips
        main = distributed.is_main()
        self.echo = echo if main else _silent
        self.progress = progress and main
        self.preset, why = resolve_preset(request)
        self.echo(f"preset: {self.preset.name}{why}")
        self.profile = Profile(enabled=request.profile)
        self.out = Path(request.out)
        self.results_csv = self.out / RESULTS_NAME

    def prepare(self) -> "Experiment":
        """The dataset (rendered if need be) and the trained generator (trained if need be), as the run
        uses them; :meth:`run` starts here, and other scripts (Table 1) reuse the same cached steps."""
        with self.profile.section("dataset"):
            self.dataset = distributed.main_first(self.load_data)
        with self.profile.section(f"generator {self.request.generator}"):
            self.generator = self.trained_generator()
        return self

    def run(self) -> RunSummary:
        self.prepare()
        summary = RunSummary(self.preset.name, self.results_csv, dataset_root=Path(self.dataset.root),
                             profile=self.profile)
        if distributed.is_main():
            self._write_run_record()
        for seed in self.request.seeds:
            for arm in self._arms(seed, summary):
                for trainer in self.request.trainers:
                    with self.profile.section(f"{trainer} {arm.generator} seed {seed}"):
                        rows, added = self._train_and_evaluate(arm, trainer, seed)
                    summary.rows += rows
                    summary.added += added
        return summary

    # ---- steps ------------------------------------------------------------------------------

    def load_data(self) -> ReidDataset:
        if self.request.data is not None:
            return load_dataset(self.request.data)
        if self.preset.synth is None:
            raise ReidBenchError(f"preset {self.preset.name!r} runs on a real dataset: give its folder with --data "
                                 "(reid-bench run --plan shows what it would do).")
        root = embedded_root(self.preset.synth, progress=self.progress)
        self.echo(f"dataset: the embedded SynthPeople, in {root}")
        return load_dataset(root)

    def guide_ide(self) -> TrainedModel:
        """The identity term's frozen network: the real-only IDE of :data:`GUIDE_SEED`, whichever seeds the run
        evaluates, so ``--seeds 3`` trains the same generator as ``--seeds 1,2,3`` (and ``train-generator``)."""
        return self.real_only_ide(GUIDE_SEED)

    def real_only_ide(self, seed: int) -> TrainedModel:
        """The real-only IDE model of ``seed``, trained now unless cached: the run's none arm, which the
        identity term and the confidence filter reuse instead of training a network of their own (the
        dataset is loaded first if need be: ``train-generator`` asks for this model alone)."""
        if not hasattr(self, "dataset"):
            self.dataset = distributed.main_first(self.load_data)
        arm = self._real_arm()
        with self.profile.section(f"ide none seed {seed}/train"):
            return self._train(arm, "ide", seed)

    def _real_arm(self) -> Arm:
        return Arm("none", 1, list(self.dataset.train), 0)

    def trained_generator(self) -> TrainedGenerator:
        """The generator (trained now unless given or cached), its checkpoint id and perceptual state."""
        request = self.request
        self.inputs: dict[str, str] = {}
        if request.generator == "none":
            return TrainedGenerator(None, "none", "n/a")
        self.inputs = input_sources(self.dataset, "train", generator_needs(request.generator, self.preset))
        if self.inputs:
            self.echo(f"generator {request.generator} trains on stand-in inputs, recorded in every row that uses them: "
                      + ", ".join(f"{key} from {value}" for key, value in self.inputs.items()))
        checkpoint = request.generator_checkpoint
        if checkpoint is None:
            settings = self.preset.generator
            needs = generators.get(request.generator).needs | loop_needs(settings)
            size = settings.image_size
            who = generators.title(request.generator)
            pairs = PoseTransferPairs(self.dataset, "train", needs=needs, image_size=size, who=who)  # inputs checked
            shown = PoseTransferPairs(self.dataset, "test", needs=needs, image_size=size) \
                if self.dataset.pairs_path("test") is not None else None

            config, guide = configure_guided(
                request.generator, lambda: IdentityGuide(self.guide_ide()),
                data=str(Path(self.dataset.root).resolve()), preset=settings,
                options=request.overrides.section("model"), vgg_weights=request.vgg_weights, inputs=self.inputs)
            out = config.default_out()
            self.echo(f"generator {request.generator}: {config.settings.preset} preset, "
                      f"{settings.length(len(pairs))}, perceptual {config.perceptual}, "
                      f"identity term {config.identity}, in {out}")
            if pairs.skipped:
                self.echo(f"generator {request.generator}: {pairs.skipped_note()}")
            result = train(config, pairs, out, sample_pairs=shown if shown else None, device=self.device,
                           progress=self.progress, profile=self.profile, guide=guide)
            checkpoint = result.generator
        model = generators.load(checkpoint, request.generator)
        return TrainedGenerator(model, checkpoint_id(checkpoint), str(model.meta.get("perceptual", "n/a")),
                                Path(checkpoint))

    def _arms(self, seed: int, summary: RunSummary) -> list[Arm]:
        """The real-only arm and, with a generator and K > 1, the augmented arm of ``seed``."""
        real = self._real_arm()
        arms = [real]
        if self.generator.model is not None and self.request.factor > 1:
            with self.profile.section(f"augment seed {seed}"):
                folder = distributed.main_first(lambda: self.augmented_set(seed))
            summary.augmented.append(folder)
            generated = augmented_records(self.dataset, folder)
            threshold = self.preset.run.filter_confidence
            if threshold:
                ide = self.real_only_ide(seed)
                confidence = source_probabilities(ide.model, generated, ide.settings,
                                                  class_index(ide.training_records), device=self.device)
                kept = keep_confident(generated, confidence, threshold)
                self.echo(f"filter (seed {seed}): kept {len(kept)} of {len(generated)} generated images to which "
                          f"the real-only IDE gives their person a probability of {threshold:g} or more")
                generated = kept
            arms.append(Arm(self.request.generator, self.request.factor, real.records + generated, len(generated),
                            folder.name))
        return arms

    def augmented_set(self, seed: int) -> Path:
        """The augmented set of ``seed`` (generated now unless cached)."""
        request, run_settings = self.request, self.preset.run
        config = augment_config(request, self.preset, seed)
        folder = augmented_folder(self.dataset, request.generator, self.generator.checkpoint_id, config)
        pairs = choose_targets(self.dataset, config)
        write_augmented_set(self.dataset, self.generator.model, pairs, folder, self.generator.checkpoint_id,
                            composite=config.composite, batch_size=run_settings.generate_batch,
                            device=str(self.device), progress=self.progress)
        self.echo(f"augmented set (seed {seed}): {len(pairs)} generated images for {len(self.dataset.train)} real, "
                  f"in {folder}")
        return folder

    def _arm_settings(self, arm: Arm, trainer: str) -> ReidSettings:
        """The Re-ID settings of ``arm`` (:func:`arm_settings`)."""
        return arm_settings(self.preset, trainer, len(self.dataset.train), arm.n_generated)

    def _meta(self, arm: Arm) -> dict[str, Any]:
        recipe = presets.recipe_label(self.preset, getattr(self, "inputs", {}),
                                      self.request.generator == "none" or generators.learns(self.request.generator))
        perceptual = self.generator.perceptual if hasattr(self, "generator") else "n/a"
        return model_meta(self.dataset, arm, recipe, perceptual)

    def _train(self, arm: Arm, trainer: str, seed: int) -> TrainedModel:
        """The Re-ID model of ``arm``, ``trainer`` and ``seed``, trained now unless cached (it resumes)."""
        return train_reid(arm.records, trainer, self._arm_settings(arm, trainer),
                          backbone_weights=self.request.backbone_weights, seed=seed, meta=self._meta(arm),
                          device=self.request.device, progress=self.progress, profile=self.profile)

    def _row_keys(self, arm: Arm, trainer: str, seed: int, config_hash_of: Callable[[str], str],
                  processor: str) -> dict[str, tuple]:
        """The result-row key of each ranker of :func:`protocol_names` for this model, by ranker name."""
        return {name: ResultRow.key_of(dataset=self.dataset.kind, generator=arm.generator, factor=arm.factor,
                                       trainer=trainer, seed=seed, ranker=name, processor=processor,
                                       config_hash=config_hash_of(name))
                for name in protocol_names(trainer, self.request.rerank)}

    def _rows_on_record(self, arm: Arm, trainer: str, seed: int) -> list[ResultRow] | None:
        """The CSV's rows of every protocol of the finished model of ``arm``, ``trainer`` and ``seed`` if all are
        there (the model then need not be trained or found again: its cache may have been cleared), else None."""
        settings = self._arm_settings(arm, trainer)
        pretrained = backbones.would_be_pretrained(settings.backbone, self.request.backbone_weights)
        key = model_hash(arm.records, trainer, settings, pretrained, seed, self._meta(arm))
        fit = self.preset.run.ranker_fit
        wanted = set(self._row_keys(arm, trainer, seed, lambda name: key + fit_mark(rankers.create(name), fit,
                                                                                      arm.n_generated > 0),
                                    self.processor).values())
        if not wanted <= existing_keys(self.results_csv):
            return None
        return [row for row in read_rows(self.results_csv) if row.key in wanted]

    def _train_and_evaluate(self, arm: Arm, trainer: str, seed: int) -> tuple[list[ResultRow], int]:
        """Train (or find) one model, evaluate the protocols not yet in the CSV; (its rows, rows added)."""
        self.echo(f"seed {seed}: {trainer} on {len(self.dataset.train)} real + {arm.n_generated} generated images "
                  f"({arm.generator}, K={arm.factor})")
        on_record = self._rows_on_record(arm, trainer, seed)
        if on_record is not None:
            self.echo(f"seed {seed}: {trainer} {arm.generator}: every protocol's row is in {self.results_csv} already")
            return on_record, 0
        with self.profile.section("train"):
            trained = self._train(arm, trainer, seed)
        found = distributed.on_main(lambda: self._evaluate(arm, trainer, seed, trained))  # rank 0 alone
        return found if found is not None else ([], 0)

    def _evaluate(self, arm: Arm, trainer: str, seed: int, trained: TrainedModel) -> tuple[list[ResultRow], int]:
        """Evaluate the protocols of ``trained`` not yet in the CSV and append their rows; (its rows, rows added)."""
        done = existing_keys(self.results_csv)
        fit = self.preset.run.ranker_fit
        keys = self._row_keys(arm, trainer, seed, lambda name: row_hash(trained, rankers.create(name), fit),
                              row_processor(trained, self.device))
        wanted = [name for name, key in keys.items() if key not in done]
        with self.profile.section("evaluate"):
            new_rows, curves = evaluate_trained(trained, self.dataset, wanted, device=self.request.device,
                                                progress=self.progress, ranker_fit=fit) if wanted else ([], {})
        appended = append_rows(self.results_csv, new_rows) if new_rows else []
        if appended:
            add_cmc(cmc_path(self.results_csv, appended[0]), curves)
        mine = set(keys.values())
        rows = [row for row in read_rows(self.results_csv) if row.key in mine]
        return rows, len(appended)

    def _write_run_record(self) -> Path:
        """The resolved config and seeds of this invocation, beside the results
        (``runs/<time>-<generator>-K<K>.json``)."""
        dataset = self.dataset
        config: dict[str, Any] = {
            "request": {key: (str(value) if isinstance(value, Path) else value)
                        for key, value in asdict(self.request).items()},
            "preset": presets.describe(self.preset),
            "dataset": {"root": str(dataset.root), "kind": dataset.kind, "train": len(dataset.train),
                        "query": len(dataset.query), "gallery": len(dataset.gallery)},
            "generator_checkpoint": self.generator.checkpoint_id, "perceptual": self.generator.perceptual,
        }
        started = dt.datetime.now(dt.timezone.utc)
        name = f"{started.strftime('%Y%m%dT%H%M%S')}-{self.request.generator}-K{self.request.factor}.json"
        return write_run_record(self.out / "runs", "run", config, device=self.device,
                                precision=resolve_amp(self.preset.reid.amp, self.device), name=name)


def _silent(message: str) -> None:
    """The echo of the ranks other than 0."""




def protocol_names(trainer: str, rerank: bool) -> list[str]:
    """The rankers of ``trainer``'s rows: its protocols, then, with ``rerank``, each of them re-ranked."""
    protocols = list(trainers.get(trainer).protocols)
    return protocols + ([f"{name}+rerank" for name in protocols] if rerank else [])


def budget_settings(settings: ReidSettings, real_steps: int, arm_steps: int, budget: str) -> ReidSettings:
    """Re-ID settings for an arm of ``arm_steps`` steps per epoch, given the real-only arm's
    ``real_steps`` per epoch (:func:`reid_bench.reid.train.steps_per_epoch`).

    With the ``steps`` budget, epochs shrink by ``real_steps / arm_steps`` (rounded: the step totals
    then differ by under half an epoch of the larger set) and ``lr_step`` by exactly that ratio, so
    the lr decays at the same optimisation step in both arms (:func:`reid_bench.reid.train.set_lr`).
    With ``epochs`` the arm keeps the epochs, so it trains ``arm_steps / real_steps`` times longer.
    """
    if budget not in BUDGETS:
        raise ReidBenchError(f"unknown budget {budget!r}; use steps or epochs.")
    if budget == "epochs" or arm_steps == real_steps:
        return settings
    ratio = real_steps / arm_steps
    return settings.replace(epochs=max(1, round(settings.epochs * ratio)),
                            lr_step=settings.lr_step * ratio,
                            fixbase_epochs=round(settings.fixbase_epochs * ratio))
