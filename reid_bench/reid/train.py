"""The Re-ID training loop (IDE and Siamese), with a checkpoint every epoch and resume.

Optimiser and schedule follow torchreid's ResNet-50 softmax recipe (:class:`reid_bench.presets.ReidSettings`): Adam
or AMSGrad with weight decay, the backbone at ``lr * base_lr_mult`` (torchreid's ``staged_lr``),
the lr of every group multiplied by ``lr_gamma`` each ``lr_step`` epochs (``single_step``; set at
every step from the step count, so a fractional ``lr_step`` decays mid-epoch), and
for the first ``fixbase_epochs`` only the new layers train (torchreid's ``fixbase_epoch``; skipped
when the backbone is randomly initialised, since freezing random layers teaches nothing).

Every epoch ends with an atomic write of ``checkpoint.pt`` (model, optimiser, AMP scaler, epoch,
whether training has finished, the run's config and its hash). Rerunning the same command finds it
and continues from that epoch; a checkpoint of another run in the same folder is refused. A
checkpoint of an unfinished run is a partial model: the evaluation refuses it unless asked
(:func:`reid_bench.evaluation.protocols.evaluate_trained`). Ctrl-C keeps the epochs completed and
says so; the epoch in progress is trained again by the rerun. Mixed precision, channels-last and
loader workers follow :mod:`reid_bench.accel` (bf16 autocast on a CPU with native bf16, so CPU
results depend on the processor; ``run.json`` records the precision). Each epoch reseeds torch from
``(seed, epoch)`` (sampler, augmentation, dropout), so on CPU a resumed run's final weights equal
an uninterrupted run's bit for bit.

Under ``torchrun --nproc_per_node=N`` (:mod:`reid_bench.distributed`) the network is wrapped in
``DistributedDataParallel`` and ``batch_size`` stays the global batch: at each step rank r takes
every N-th sample of the batch one process would take (``DistributedSampler`` over the same
seeded permutation for IDE's shuffle and the Siamese pairs, ``batch[r::N]`` of each PK batch),
so N processes follow one process's steps up to summation order and per-process BatchNorm
statistics (``sync_bn`` shares them, on GPUs). Augmentation and dropout draw from a per-rank
seed. Rank 0 alone writes ``run.json`` and ``checkpoint.pt`` and shows progress; every rank
resumes from the checkpoint.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler
from tqdm import tqdm

from reid_bench import accel, distributed, seeds, storage
from reid_bench.errors import ReidBenchError
from reid_bench.presets import ReidSettings, validate_reid
from reid_bench.profiling import OFF, Profile, Timing, time_calls
from reid_bench.records import UNRECORDED_PROCESSOR, processor_name, write_run_record
from reid_bench.reid import backbones, trainers
from reid_bench.reid.models import ReidNet
from reid_bench.reid.samplers import PKSampler, balanced_pairs, generated_per_batch, stream_batches
from reid_bench.reid.transforms import ImageDataset, PairDataset, Triplet, as_triplets, train_transform, worth_keeping

log = logging.getLogger(__name__)

CHECKPOINT_FORMAT = "reid-bench/reid-checkpoint"
CHECKPOINT_VERSION = 3  # 2: the training records are stored (rankers fit on them); 3: whether training finished
READABLE_VERSIONS = (2, 3)  # a version-2 checkpoint finished when its epoch reached its settings' epochs
CHECKPOINT_NAME = "checkpoint.pt"


@dataclass
class TrainedModel:
    """A Re-ID network with what the result rows need to know about how it was trained."""

    model: ReidNet
    trainer: str
    backbone: str
    pretrained: bool  # ImageNet weights were loaded into the backbone
    settings: ReidSettings
    seed: int
    epoch: int  # epochs completed
    config_hash: str
    meta: dict[str, Any] = field(default_factory=dict)  # dataset, generator, factor, n_real, ...
    train_wall_s: float = 0.0  # summed over resumed runs
    resumed_from: list[int] = field(default_factory=list)  # epochs at which runs resumed
    path: Path | None = None
    training_records: list[Triplet] = field(default_factory=list)  # the images it trained on (rankers fit on them)
    frozen_epochs: int = 0  # epochs trained with the backbone frozen (fixbase; only from pretrained weights)
    finished: bool = False  # trained for all of settings.epochs (False: a partial model, e.g. after a kill)
    processor: str = UNRECORDED_PROCESSOR  # where it trained (records.processor_name; "A + B" if resumed on B)

    def partial_note(self) -> str:
        """Why this model is partial, for errors and result labels ("3 of 8 epochs")."""
        return f"{self.epoch} of {self.settings.epochs} epochs"


def build_model(trainer: str, backbone: backbones.Backbone, num_classes: int,
                settings: ReidSettings) -> ReidNet:
    """The network of ``trainer`` (a name of :mod:`reid_bench.reid.trainers`) on ``backbone``."""
    return trainers.get(trainer).network.from_settings(backbone, num_classes, settings)


def data_fingerprint(records: Sequence[Any]) -> str:
    """A hash of the training list (file names, pids, camids), part of the run's identity."""
    return storage.config_hash(sorted((r.path.name, r.pid, r.camid, r.generated) for r in as_triplets(records)))


def model_spec(records: Sequence[Any], trainer: str, settings: ReidSettings, pretrained: bool, seed: int,
               meta: dict[str, Any] | None = None) -> dict[str, Any]:
    """What identifies a trained model (its config hash is this dict's): trainer, backbone, whether it
    starts from pretrained weights, classes, the settings it trains with (:meth:`ReidSettings.for_trainer`),
    seed, the training list and ``meta``."""
    triplets = as_triplets(records)
    trained_with = settings.for_trainer(trainer)
    return {
        "trainer": trainer, "backbone": settings.backbone, "pretrained": pretrained,
        "num_classes": len({t.pid for t in triplets}), "settings": trained_with.as_dict(), "seed": seed,
        "data": data_fingerprint(triplets), "meta": dict(meta or {}),
    }


def model_hash(records: Sequence[Any], trainer: str, settings: ReidSettings, pretrained: bool, seed: int,
               meta: dict[str, Any] | None = None) -> str:
    """The config hash :func:`train_reid` gives the model of these arguments (its cache folder's name)."""
    return storage.config_hash(model_spec(records, trainer, validate_reid(settings), pretrained, seed, meta))


def train_reid(records: Sequence[Any], trainer: str, settings: ReidSettings,
               out_dir: str | os.PathLike | None = None, *,
               backbone_weights: str | os.PathLike | None = None, seed: int = 0,
               meta: dict[str, Any] | None = None, device: str | None = None,
               progress: bool = False, profile: Profile = OFF) -> TrainedModel:
    """Train ``trainer`` on ``records`` (ImageRecords or ``(path, pid, camid)``), resuming if possible.

    Pids are relabelled ``0..N-1`` here. ``out_dir`` defaults to
    ``$REID_BENCH_CACHE/reid/<config hash>``; ``meta`` (dataset, generator, factor, n_real,
    n_generated) is stored in the checkpoint for the result rows. ``profile`` (``--profile``) gets
    the seconds of data loading, forward, backward, optimiser step and checkpointing.
    """
    settings = validate_reid(settings).for_trainer(trainer)
    distributed.per_rank(*_step_size(trainer, settings))  # a batch that does not split fails here
    triplets = as_triplets(records)
    if not triplets:
        raise ReidBenchError("no training images: the training split is empty.")
    pids = sorted({t.pid for t in triplets})
    label_of = {pid: label for label, pid in enumerate(pids)}
    labels = [label_of[t.pid] for t in triplets]
    if trainers.get(trainer).unit == "pairs" and len(pids) < 2:
        raise ReidBenchError("the Siamese trainer needs at least two training identities.")

    torch.manual_seed(seed)
    backbone = backbones.build(settings.backbone, backbone_weights)
    model = build_model(trainer, backbone, len(pids), settings)
    spec = model_spec(triplets, trainer, settings, backbone.pretrained, seed, meta)
    config_hash = storage.config_hash(spec)
    out = Path(out_dir) if out_dir else storage.cache_root() / "reid" / config_hash
    checkpoint_path = out / CHECKPOINT_NAME

    dev = distributed.init_from_env(accel.pick_device(device))
    if settings.sync_bn:
        model = distributed.sync_batchnorm(model, dev)
    model.to(dev)
    if settings.channels_last:
        accel.channels_last(model)
    accel.compile_module(model, settings.compile)
    optimizer = _optimizer(model, settings)
    precision = accel.resolve_amp(settings.amp, dev)
    scaler = accel.grad_scaler(dev, precision)
    result = TrainedModel(model, trainer, settings.backbone, backbone.pretrained, settings, seed,
                          0, config_hash, dict(meta or {}), path=checkpoint_path, training_records=triplets,
                          processor=processor_name(dev))
    if checkpoint_path.exists():
        _resume(checkpoint_path, result, optimizer, scaler)
    elif distributed.is_main():
        write_run_record(out, "reid-model", {**spec, "config_hash": config_hash}, device=dev, precision=precision)
    if result.finished:
        log.info("%s already holds a finished run (%d epochs); nothing to train.", checkpoint_path, result.epoch)
        return result

    keep = worth_keeping(len(triplets), settings, accel.loader_options(dev)["num_workers"])
    dataset = ImageDataset(triplets, train_transform(settings), labels, keep_loaded=keep)
    lock = storage.exclusive_folder(out, f"the {trainer} model") if distributed.is_main() else contextlib.nullcontext()
    with lock:
        for epoch in range(result.epoch, settings.epochs):
            started = time.perf_counter()
            try:
                stats = _train_epoch(result, dataset, optimizer, scaler, precision, epoch, dev, progress, profile)
            except KeyboardInterrupt:
                raise KeyboardInterrupt(_interrupted(checkpoint_path, result, epoch)) from None
            result.epoch = epoch + 1
            result.finished = result.epoch >= settings.epochs
            result.train_wall_s += time.perf_counter() - started
            with profile.section("checkpoint"):
                distributed.on_main(lambda: _save(checkpoint_path, result, optimizer, scaler))
            log.info("epoch %d/%d: %s", epoch + 1, settings.epochs,
                     ", ".join(f"{k} {v:.4f}" for k, v in stats.items()))
    return result


def time_steps(trainer: str, settings: ReidSettings, num_classes: int, *, device: str | torch.device | None = None,
               timed: int = 2, warmup: int = 1, samples: int | None = None) -> tuple[Timing, Timing]:
    """Seconds of one training step and of one feature-extraction batch of ``trainer`` at ``settings``'
    sizes, on random images (``run --plan``'s estimate; the values of weights and pixels do not change
    the time): (step with ``min(samples, batch)`` images or Siamese pairs, the step's optimiser and
    precision as :func:`train_reid` runs them; extraction of ``min(feature_batch, 16)`` images, with
    the flip of ``flip_test``). The backbone's weights are not loaded; a frozen fixbase epoch, which
    skips the backbone's gradients, is faster than this step."""
    settings = validate_reid(settings).for_trainer(trainer)
    dev = accel.pick_device(device)
    torch.manual_seed(0)
    model = build_model(trainer, backbones.build(settings.backbone, load_weights=False), num_classes, settings).to(dev)
    if settings.channels_last:
        accel.channels_last(model)
    optimizer = _optimizer(model, settings)
    precision = accel.resolve_amp(settings.amp, dev)
    scaler = accel.grad_scaler(dev, precision)
    unit, _ = _step_size(trainer, settings)
    n = max(1, min(unit, samples)) if samples else unit

    def images(count: int) -> torch.Tensor:
        return accel.to_device(torch.randn(count, 3, settings.height, settings.width), dev, settings.channels_last)

    labels = torch.arange(n, device=dev) % num_classes
    no = torch.zeros(n, dtype=torch.bool, device=dev)
    if trainers.get(trainer).unit == "pairs":
        batch: tuple = (images(n), images(n), labels, labels.roll(1), (labels == labels.roll(1)).long(), no, no)
    else:
        batch = (images(n), labels, torch.zeros(n, dtype=torch.long, device=dev), no)

    def step() -> None:
        with accel.autocast(dev, precision):
            loss, _ = model.training_loss(batch)
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()

    model.train()
    training = time_calls(step, timed, warmup, batch=n)
    model.eval()
    count = min(settings.feature_batch, 16)
    shown = images(count)

    @torch.no_grad()
    def extract() -> None:
        with accel.autocast(dev, precision):
            model.embed(shown)
            if settings.flip_test:
                model.embed(shown.flip(3))

    return training, time_calls(extract, timed, warmup, batch=count)


def _interrupted(path: Path, result: TrainedModel, epoch: int) -> str:
    """What Ctrl-C in ``epoch`` (0-based) kept: the epochs checkpointed before it."""
    total = result.settings.epochs
    if result.epoch == 0:
        return (f"interrupted in epoch 1 of {total}; no epoch had finished, so nothing was saved and a rerun of "
                "the same command starts from epoch 1.")
    kept = f"{result.epoch} finished epoch{'s' if result.epoch > 1 else ''}"
    return (f"interrupted in epoch {epoch + 1} of {total}; {path} keeps the {kept} (a partial model), and a "
            f"rerun of the same command resumes from epoch {result.epoch + 1}.")


def _optimizer(model: ReidNet, settings: ReidSettings) -> torch.optim.Optimizer:
    new = model.new_parameters()
    new_ids = {id(p) for p in new}
    base = [p for p in model.parameters() if id(p) not in new_ids]
    groups = [{"params": base, "lr": settings.lr * settings.base_lr_mult}, {"params": new, "lr": settings.lr}]
    for group in groups:
        group["initial_lr"] = group["lr"]
    if settings.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=settings.lr, momentum=settings.momentum,
                               weight_decay=settings.weight_decay)
    return torch.optim.Adam(groups, lr=settings.lr, betas=settings.adam_betas,
                            weight_decay=settings.weight_decay, amsgrad=settings.optimizer == "amsgrad")


def _step_size(trainer: str, settings: ReidSettings) -> tuple[int, str]:
    """Samples in one global step and what they are: Siamese pairs, PK's P x K images, or images."""
    if trainers.get(trainer).unit == "pairs":
        return max(1, settings.batch_size // 2), "pairs"
    if settings.sampler == "pk":
        return settings.batch_size // settings.pk_instances * settings.pk_instances, "images"
    return settings.batch_size, "images"


def _loader(result: TrainedModel, dataset: ImageDataset, generator: torch.Generator, epoch_seed: int,
            device: torch.device) -> DataLoader:
    """This process's batches of one epoch; the ranks' batches of a step make one process's batch."""
    settings = result.settings
    options = accel.loader_options(device)
    unit, what = _step_size(result.trainer, settings)
    size = distributed.per_rank(unit, what)
    two_streams = settings.generated_share is not None and any(record.generated for record in dataset.records)
    if trainers.get(result.trainer).unit == "pairs":  # balanced_pairs returns the pairs in random order already
        pairs = PairDataset(dataset, balanced_pairs(dataset.labels, generator))
        if two_streams:  # pairs whose first image is generated form the second stream
            streams = _split(range(len(pairs)), lambda i: dataset.records[pairs.pairs[i][0]].generated)
            batches = stream_batches(*streams, unit, settings.generated_share, generator)
            return DataLoader(pairs, batch_sampler=[distributed.shard(b) for b in batches], **options)
        sampler = _rank_sampler(pairs, shuffle=False, seed=0)
        return DataLoader(pairs, batch_size=size, sampler=sampler, drop_last=len(sampler) > size,
                          generator=generator, **options)
    if settings.sampler == "pk":
        k = settings.pk_instances
        try:
            batches = PKSampler(dataset.labels, settings.batch_size // k, k, generator).batches
        except ValueError as error:
            raise ReidBenchError(f"the PK sampler cannot run on this data: {error}.") from None
        return DataLoader(dataset, batch_sampler=[distributed.shard(batch) for batch in batches],
                          generator=generator, **options)
    if two_streams:
        streams = _split(range(len(dataset)), lambda i: dataset.records[i].generated)
        batches = stream_batches(*streams, unit, settings.generated_share, generator)
        return DataLoader(dataset, batch_sampler=[distributed.shard(b) for b in batches], **options)
    sampler = _rank_sampler(dataset, shuffle=True, seed=epoch_seed)
    return DataLoader(dataset, batch_size=size, sampler=sampler, drop_last=len(sampler) > size,
                      generator=generator, **options)


def _split(indices, is_generated) -> tuple[list[int], list[int]]:
    """(real, generated) indices."""
    real, fake = [], []
    for index in indices:
        (fake if is_generated(index) else real).append(index)
    return real, fake


def steps_per_epoch(trainer: str, settings: ReidSettings, n_real: int, n_generated: int) -> int:
    """Optimisation steps of one epoch over ``n_real`` real and ``n_generated`` generated images, as the
    loader takes them (a pass over every image; with ``generated_share``, a pass over the real ones)."""
    unit, _ = _step_size(trainer, settings)
    if settings.generated_share is not None and n_generated:
        return max(1, n_real // (unit - generated_per_batch(unit, settings.generated_share)))
    total = n_real + n_generated
    return total // unit if total > unit else 1


def _rank_sampler(data: torch.utils.data.Dataset, shuffle: bool, seed: int) -> DistributedSampler:
    """Every ``world``-th item of one (seeded) order, from this rank; the tail that does not split
    evenly is dropped, so ``floor(len / world)`` items a rank (with one process: all, in that order)."""
    return DistributedSampler(data, num_replicas=distributed.world_size(), rank=distributed.rank(),
                              shuffle=shuffle, seed=seed, drop_last=True)


class _TrainingLoss(nn.Module):
    """The network's training loss as its forward pass: DDP synchronises what runs through forward."""

    def __init__(self, model: ReidNet) -> None:
        super().__init__()
        self.model = model

    def forward(self, batch: tuple) -> tuple[torch.Tensor, dict[str, float]]:
        return self.model.training_loss(batch)


def _training_loss(result: TrainedModel, device: torch.device) -> nn.Module:
    """The model's loss, under DDP when several processes train; built each epoch, after freezing,
    since DDP synchronises only the parameters that require gradients when it is built."""
    loss = _TrainingLoss(result.model)
    if distributed.world_size() == 1:
        return loss
    # torchreid models also run their own classifier, which no loss here uses.
    unused = result.backbone.startswith(backbones.TORCHREID_PREFIX)
    return DistributedDataParallel(loss, device_ids=[device.index] if device.type == "cuda" else None,
                                   find_unused_parameters=unused)


def _train_epoch(result: TrainedModel, dataset: ImageDataset, optimizer: torch.optim.Optimizer,
                 scaler: torch.amp.GradScaler, precision: torch.dtype | None, epoch: int,
                 device: torch.device, progress: bool, profile: Profile) -> dict[str, float]:
    settings, model = result.settings, result.model
    epoch_seed = seed_for_epoch(result.seed, epoch)
    torch.manual_seed(distributed.rank_seed(epoch_seed))  # augmentation, dropout: per rank
    generator = torch.Generator().manual_seed(epoch_seed)  # sample order: the same on every rank
    loader = _loader(result, dataset, generator, epoch_seed, device)
    steps_per_epoch = len(loader)
    frozen = result.pretrained and epoch < settings.fixbase_epochs
    result.frozen_epochs += int(frozen)
    model.train()
    for parameter in model.backbone.parameters():
        parameter.requires_grad_(not frozen)
    if frozen:
        model.backbone.eval()
    training_loss = _training_loss(result, device)
    totals: dict[str, float] = {}
    bar = tqdm(loader, desc=f"{result.trainer} epoch {epoch + 1}/{settings.epochs}", unit="batch",
               disable=not (progress and distributed.is_main()), leave=False)
    for step, batch in enumerate(profile.iterate(bar, "data"), start=1):
        set_lr(optimizer, settings, epoch * steps_per_epoch + step - 1, steps_per_epoch)
        with profile.section("forward"):
            batch = tuple(accel.to_device(item, device, settings.channels_last) for item in batch)
            with accel.autocast(device, precision):
                loss, stats = training_loss(batch)
        with profile.section("backward"):
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
        with profile.section("optimizer"):
            scaler.step(optimizer)
            scaler.update()
        for key, value in stats.items():
            totals[key] = totals.get(key, 0.0) + value
        bar.set_postfix({key: f"{value / step:.3f}" for key, value in totals.items()})
    for parameter in model.backbone.parameters():
        parameter.requires_grad_(True)
    steps = max(1, len(loader))
    means = distributed.mean_over_ranks({key: value / steps for key, value in totals.items()}, device)
    return {key: float(value) for key, value in means.items()}


def set_lr(optimizer: torch.optim.Optimizer, settings: ReidSettings, step: int, steps_per_epoch: int) -> None:
    """Step decay at every ``lr_step * steps_per_epoch`` optimisation steps (0-based ``step``)."""
    decays = int(step // (settings.lr_step * steps_per_epoch))
    for group in optimizer.param_groups:
        group["lr"] = group["initial_lr"] * settings.lr_gamma ** decays


def seed_for_epoch(seed: int, epoch: int) -> int:
    """The torch seed of one epoch: a function of the run's seed and the epoch alone (:mod:`reid_bench.seeds`)."""
    return seeds.derived(seed, epoch)


def _save(path: Path, result: TrainedModel, optimizer: torch.optim.Optimizer,
          scaler: torch.amp.GradScaler) -> None:
    state = {
        "format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION,
        "trainer": result.trainer, "backbone": result.backbone, "pretrained": result.pretrained,
        "num_classes": result.model.head.classifier.out_features,
        "settings": result.settings.as_dict(), "seed": result.seed, "epoch": result.epoch,
        "finished": result.finished,
        "config_hash": result.config_hash, "meta": result.meta,
        "train_wall_s": result.train_wall_s, "resumed_from": result.resumed_from,
        "frozen_epochs": result.frozen_epochs, "processor": result.processor,
        "training_records": [[str(t.path), t.pid, t.camid, t.generated] for t in result.training_records],
        "model": result.model.state_dict(), "optimizer": optimizer.state_dict(),
        "scaler": scaler.state_dict(),
    }
    storage.save_torch_file(state, path)


def _resume(path: Path, result: TrainedModel, optimizer: torch.optim.Optimizer,
            scaler: torch.amp.GradScaler) -> None:
    state = read_checkpoint(path)
    if state["config_hash"] != result.config_hash:
        raise ReidBenchError(
            f"{path} is a checkpoint of another run (trainer {state['trainer']}, backbone {state['backbone']}, "
            f"{state['settings']['epochs']} epochs, seed {state['seed']}, or other data or settings); "
            "give another --out folder or delete it to start afresh."
        )
    _load_weights(path, state, result.model)
    optimizer.load_state_dict(state["optimizer"])
    scaler.load_state_dict(state["scaler"])
    result.epoch = int(state["epoch"])
    result.finished = bool(state["finished"])
    result.train_wall_s = float(state["train_wall_s"])
    result.resumed_from = [*state["resumed_from"], result.epoch]
    result.frozen_epochs = int(state.get("frozen_epochs", 0))
    recorded = state.get("processor", UNRECORDED_PROCESSOR)  # the epochs still to train run here
    result.processor = recorded if result.finished else joined_processors(recorded, result.processor)
    log.info("resuming %s from epoch %d", path, result.epoch)


def joined_processors(before: str, now: str) -> str:
    """The processor of a model trained on ``before`` and resumed on ``now``: ``before``, or ``before + now``."""
    return before if now in before.split(" + ") else f"{before} + {now}"


def read_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """The raw checkpoint dict, or a one-sentence error for a missing, corrupt or foreign file."""
    path = Path(path)
    state = storage.load_torch_file(path, "a Re-ID checkpoint",
                                    "pass the checkpoint.pt that `reid-bench train-reid` writes, or train it again")
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise ReidBenchError(f"{path} is not a reid-bench Re-ID checkpoint (one written by `reid-bench train-reid`).")
    if state.get("version") not in READABLE_VERSIONS:
        raise ReidBenchError(f"checkpoint {path} has format version {state.get('version')}; "
                             f"this reid-bench reads versions {' and '.join(map(str, READABLE_VERSIONS))}.")
    if "finished" not in state:  # version 2
        state["finished"] = int(state["epoch"]) >= int(state["settings"]["epochs"])
    return state


def _load_weights(path: Path, state: dict[str, Any], model: ReidNet) -> None:
    try:
        model.load_state_dict(state["model"])
    except RuntimeError:
        raise ReidBenchError(
            f"checkpoint {path} does not fit the {state['trainer']} network on backbone {state['backbone']} "
            "it names (another architecture or an edited file); retrain it."
        ) from None


def load_checkpoint(path: str | os.PathLike, device: str | None = None) -> TrainedModel:
    """Rebuild the trained network from ``checkpoint.pt`` (no ImageNet weights are needed)."""
    state = read_checkpoint(path)
    try:
        settings = validate_reid(ReidSettings(**state["settings"]))
    except TypeError:
        raise ReidBenchError(f"checkpoint {path} holds settings this reid-bench does not know; retrain it.") from None
    backbone = backbones.build(state["backbone"], load_weights=False)
    model = build_model(state["trainer"], backbone, int(state["num_classes"]), settings)
    _load_weights(Path(path), state, model)
    model.to(accel.pick_device(device)).eval()
    if settings.channels_last:  # as it trained (bench_features: NCHW weights cost ~5%)
        accel.channels_last(model)
    return TrainedModel(model, state["trainer"], state["backbone"], bool(state["pretrained"]), settings,
                        int(state["seed"]), int(state["epoch"]), state["config_hash"], dict(state["meta"]),
                        float(state["train_wall_s"]), list(state["resumed_from"]), Path(path),
                        [Triplet(Path(name), int(pid), int(camid), bool(generated))
                         for name, pid, camid, generated in state["training_records"]],
                        frozen_epochs=int(state.get("frozen_epochs", 0)), finished=bool(state["finished"]),
                        processor=state.get("processor", UNRECORDED_PROCESSOR))
