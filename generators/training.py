"""The one GAN training loop, for SAN and every baseline (SAN paper Sec. 4.2 settings).

Per step: ``fake = G(batch)``; a discriminator step on ``fake.detach()``; a generator step with the
discriminators frozen (pix2pix's order). Adam (beta1 0.5, beta2 0.999) for the generator and for
all its discriminators; the learning rate decays linearly from 2e-4 to 0 over the whole run,
stepped per iteration. Mixed precision follows :func:`reid_bench.accel.resolve_amp`: on CUDA
bf16, or fp16 with a GradScaler per optimiser, plus DataLoader workers and pinned memory; on a CPU
with native bf16 instructions bf16 autocast (about 2x faster for SAN on this project's Xeon), else
fp32. On the CPU a run is deterministic for a seed and a processor.

An output folder holds::

    run.json               the run record (reid_bench.records): resolved config, perceptual on/off,
                           provenance, environment, and once finished the steps and seconds
    losses.csv             step, lr, seconds, g_<term>..., d_<term>... averaged over log_every steps
    samples/step_NNNNNNN.png   source | target pose | generated | target, fixed pairs
    checkpoints/latest.pt  resumable state (atomic): weights, optimisers, schedulers, scalers, RNG, step
    generator.pt           the trained generator (written when the run completes; generators.load reads it)

Rerunning the same command resumes from ``checkpoints/latest.pt``: the batch order is a function
of (seed, step) (:class:`StepBatchSampler`) and every RNG state is restored, so an interrupted and
resumed CPU run ends with the same weights as an uninterrupted one. Logging, samples and
checkpoints happen on rank 0 only (:func:`reid_bench.distributed.is_main`). A finished folder
(``generator.pt``) is reused only for the settings it was trained with (those that change the
weights, :data:`_RESUME_KEYS`, and the total steps, data and identity network); other settings are
refused with one sentence naming the difference, as they are for a half-finished folder.

Ctrl-C lets the step in progress finish, writes a checkpoint and stops with a sentence saying
which step was saved (:class:`_DeferredInterrupt`); a second Ctrl-C stops at once, keeping the
last consistent checkpoint.

Recipe terms: the loop adds these terms to every generator's own objective, so that SAN and every
baseline get the same treatment (``GeneratorSettings``; all off by default, and the paper
presets keep them off):

- ``foreground_weight`` x the mean over all pixels of ``tgt_mask * |generated - target|``, PG2's
  pose-mask L1 (Ma et al., NeurIPS 2017, eq. 2: ``||(G - I_B) * (1 + M_B)||_1``): with the weight
  of the generator's own L1, the person counts twice, as in PG2;
- an identity term from a frozen Re-ID network trained on the real training split (the run's
  real-only IDE; ``guide``, :class:`reid_bench.reid.guide.IdentityGuide`): ``identity_weight`` x
  its cross-entropy of the generated image as the source person (DG-Net's identity loss through a
  frozen Re-ID encoder, Zheng et al., CVPR 2019; Liu et al.'s CVPR 2018 "guider" likewise applies
  Re-ID losses to generated samples while the generator trains) plus ``identity_feature_weight``
  x (1 - cosine of its features of the generated and the real target image), both ramped
  linearly from 0 over ``identity_warmup`` steps; with ``identity_jitter`` the network scores a random
  view of each generated image (:func:`reid_bench.reid.guide.random_views`). It is logged as ``g_identity_ce`` and
  ``g_identity_feature``, never as a perceptual (VGG) term; where VGG-19 is missing it is the
  honest stand-in for one;
- ``region_colour_weight`` x :func:`~reid_bench.generators.losses.region_colour_loss`: the colour
  mean and deviation inside each region of the target's parsing, generated against the real
  target (the loop then reads ``tgt_parsing``, :func:`loop_needs`).

Under ``torchrun --nproc_per_node=N`` (:mod:`reid_bench.distributed`) ``batch_size`` stays the
global batch: rank r trains on ``batch[r::N]`` of each step's batch, and after every backward the
gradients are averaged over the ranks by one all-reduce (:func:`~reid_bench.distributed.average_gradients`)
before the optimiser steps, for G and for the discriminators alike. DDP's wrapper is not used: a
discriminator step runs the discriminator twice (real, fake) per backward, which its reducer
refuses without ``static_graph``, and one explicit all-reduce per update serves both networks.
Every rank starts from rank 0's weights (broadcast after build or resume), so the ranks stay
identical, and N processes compute one process's step up to summation order, except for
BatchNorm statistics, which are per process unless ``sync_bn`` (GPUs only) shares them. Random
draws inside the models (dropout, sampling) use a per-rank seed; the logged losses are the ranks'
means.
"""

from __future__ import annotations

import csv
import os
import random
import signal
import threading
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, Sampler, default_collate
from tqdm import tqdm

from reid_bench import distributed, seeds
from reid_bench.accel import (
    autocast,
    channels_last,
    compile_module,
    grad_scaler,
    keeps_decoded,
    move_batch,
    pick_device,
    resolve_amp,
)
from reid_bench.errors import ReidBenchError
from reid_bench.generators import checkpoints
from reid_bench.generators.base import Batch, Generator, set_requires_grad
from reid_bench.generators.losses import region_colour_loss
from reid_bench.generators.registry import create
from reid_bench.generators.run_config import RunConfig, needs_guide
from reid_bench.generators.samples import save_grid
from reid_bench.presets import GeneratorSettings, steps_per_epoch
from reid_bench.profiling import OFF, Profile, Timing, time_calls
from reid_bench.records import write_run_record
from reid_bench.storage import atomic_path, exclusive_folder

# Settings that change the arithmetic of a run: a resumed run must use the same ones, and a finished
# generator.pt is reused only for the same ones (with the same total steps, data and identity network).
_RESUME_KEYS = ("image_size", "batch_size", "lr", "beta1", "beta2", "amp", "seed", "foreground_weight",
                "identity_weight", "identity_feature_weight", "identity_warmup", "identity_jitter",
                "region_colour_weight")
_STOP = "_interrupt"  # the Ctrl-C flag, averaged over the ranks with the losses so that all stop at one step


@dataclass(frozen=True)
class TrainResult:
    out: Path
    step: int  # steps completed
    total_steps: int
    finished: bool  # generator.pt written
    perceptual: str

    @property
    def losses(self) -> Path:
        return self.out / "losses.csv"

    @property
    def generator(self) -> Path:
        return self.out / "generator.pt"


class StepBatchSampler(Sampler[list[int]]):
    """Index batches for steps ``start`` .. ``total - 1``; epoch e's order is seeded by (seed, e).

    With ``world`` > 1 each batch is the ``rank``-th of ``world`` interleaved shares of the global one.
    """

    def __init__(self, size: int, batch_size: int, seed: int, start: int, total: int,
                 rank: int = 0, world: int = 1) -> None:
        self.size, self.batch_size, self.seed = size, batch_size, seed
        self.start, self.total = start, total
        self.rank, self.world = rank, world
        self.per_epoch = steps_per_epoch(size, batch_size)

    def __iter__(self) -> Iterator[list[int]]:
        order, order_epoch = None, -1
        for step in range(self.start, self.total):
            epoch, index = divmod(step, self.per_epoch)
            if epoch != order_epoch:
                generator = torch.Generator().manual_seed(seeds.derived(self.seed, epoch))
                order, order_epoch = torch.randperm(self.size, generator=generator), epoch
            yield order[index * self.batch_size:(index + 1) * self.batch_size].tolist()[self.rank::self.world]

    def __len__(self) -> int:
        return self.total - self.start


class LossLog:
    """``losses.csv``: one row of per-term means per call to :meth:`write`; rows past the resumed
    step (written after the last checkpoint) are dropped on resume."""

    def __init__(self, path: Path, resume_step: int) -> None:
        self.path = path
        self.sums: dict[str, torch.Tensor] = {}
        self.count = 0
        self.columns: list[str] | None = None
        self.offset = 0.0  # seconds already spent before this invocation
        if path.exists():
            with open(path, newline="") as handle:
                reader = csv.DictReader(handle)
                rows = [row for row in reader if int(row["step"]) <= resume_step]
                self.columns = list(reader.fieldnames or []) or None
            if self.columns:
                self._rewrite(rows)
            if rows:
                self.offset = float(rows[-1]["seconds"])
        self.started = time.perf_counter()

    def _rewrite(self, rows: list[dict[str, str]]) -> None:
        assert self.columns is not None
        with atomic_path(self.path) as tmp, open(tmp, "w", newline="") as handle:
            writer = csv.DictWriter(handle, self.columns)
            writer.writeheader()
            writer.writerows(rows)

    def add(self, terms: Mapping[str, torch.Tensor]) -> None:
        for key, value in terms.items():
            self.sums[key] = self.sums.get(key, 0) + value.detach().float()
        self.count += 1

    def write(self, step: int, lr: float) -> dict[str, float]:
        """Append the row for ``step`` and return its means (empty if nothing was added)."""
        if not self.count:
            return {}
        means = {key: float(total) / self.count for key, total in self.sums.items()}
        self.sums, self.count = {}, 0
        row = {"step": step, "lr": f"{lr:.6g}", "seconds": f"{self.offset + time.perf_counter() - self.started:.1f}"}
        row.update({key: f"{value:.6g}" for key, value in sorted(means.items())})
        if self.columns is None:
            self.columns = list(row)
            self._rewrite([])
        with open(self.path, "a", newline="") as handle:
            csv.DictWriter(handle, self.columns, extrasaction="ignore").writerow(row)
        return means


def _rng_state() -> dict[str, Any]:
    kind, keys, position, has_gauss, gauss = np.random.get_state()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "python": random.getstate(),
        "numpy": [kind, keys.tolist(), position, has_gauss, gauss],
    }


def _set_rng_state(state: Mapping[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    kind, keys, position, has_gauss, cached = state["numpy"]
    np.random.set_state((kind, np.array(keys, dtype=np.uint32), position, has_gauss, cached))


@dataclass
class _Trainer:
    """The live objects of one run; :func:`train` drives it."""

    config: RunConfig
    model: Generator
    discriminators: nn.ModuleDict
    loss_networks: nn.ModuleDict
    device: torch.device
    total: int
    amp: torch.dtype | None
    guide: nn.Module | None = None  # frozen Re-ID network of the identity term (module docstring)
    optimizers: dict[str, torch.optim.Optimizer] = field(init=False)
    schedulers: dict[str, torch.optim.lr_scheduler.LambdaLR] = field(init=False)
    scalers: dict[str, torch.amp.GradScaler] = field(init=False)

    def __post_init__(self) -> None:
        s = self.config.settings
        params = {"g": list(self.model.parameters())}
        if self.adversarial:
            params["d"] = list(self.discriminators.parameters())
        self.optimizers = {k: torch.optim.Adam(p, lr=s.lr, betas=(s.beta1, s.beta2)) for k, p in params.items()}
        decay = self._decay
        self.schedulers = {k: torch.optim.lr_scheduler.LambdaLR(o, decay) for k, o in self.optimizers.items()}
        self.scalers = {k: grad_scaler(self.device, self.amp) for k in self.optimizers}

    @property
    def adversarial(self) -> bool:
        """Whether there is a discriminator step (VU-Net has no discriminator)."""
        return any(True for _ in self.discriminators.parameters())

    def _decay(self, step: int) -> float:
        return max(0.0, 1.0 - step / self.total)

    def autocast(self) -> torch.autocast:
        return autocast(self.device, self.amp)

    def _update(self, key: str, loss: torch.Tensor) -> None:
        optimizer, scaler = self.optimizers[key], self.scalers[key]
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        distributed.average_gradients([p for group in optimizer.param_groups for p in group["params"]])
        scaler.step(optimizer)
        scaler.update()

    def recipe_terms(self, batch: Batch, fake: torch.Tensor, step: int) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The weighted sum and the unweighted values of the loop's own terms (module docstring)."""
        s = self.config.settings
        terms: dict[str, torch.Tensor] = {}
        total = fake.new_zeros((), dtype=torch.float32)
        if s.foreground_weight:
            error = (fake.float() - batch["tgt_image"].float()).abs() * batch["tgt_mask"].float()
            terms["foreground_l1"] = error.mean()
            total = total + s.foreground_weight * terms["foreground_l1"]
        if s.region_colour_weight:
            terms["region_colour"] = region_colour_loss(fake, batch["tgt_image"], batch["tgt_parsing"])
            total = total + s.region_colour_weight * terms["region_colour"]
        if self.guide is not None:
            ramp = min(1.0, (step + 1) / s.identity_warmup) if s.identity_warmup else 1.0
            terms.update(self.guide(batch, fake, jitter=s.identity_jitter))
            total = total + ramp * (s.identity_weight * terms["identity_ce"]
                                    + s.identity_feature_weight * terms["identity_feature"])
        return total, terms

    def step(self, batch: Batch, profile: Profile = OFF, index: int = 0) -> dict[str, torch.Tensor]:
        """One optimisation step (``index``: the 0-based step of the run, for the identity ramp)."""
        with profile.section("generator forward"), self.autocast():
            fake = self.model(batch)
        d_terms: dict[str, torch.Tensor] = {}
        if self.adversarial:
            set_requires_grad(self.discriminators, True)
            with profile.section("discriminator update"):
                with self.autocast():
                    d_terms = self.model.discriminator_losses(batch, fake.detach(), self.discriminators)
                self._update("d", d_terms["total"])
            set_requires_grad(self.discriminators, False)
        with profile.section("generator update"):
            with self.autocast():
                g_terms = self.model.generator_losses(batch, fake, self.discriminators, self.loss_networks)
                extra, recipe = self.recipe_terms(batch, fake, index)
                g_terms = {**g_terms, **recipe, "total": g_terms["total"] + extra} if recipe else g_terms
            self._update("g", g_terms["total"])
        for scheduler in self.schedulers.values():
            scheduler.step()
        terms = {f"g_{key}": value for key, value in g_terms.items()}
        terms.update({f"d_{key}": value for key, value in d_terms.items()})
        return terms

    def lr(self) -> float:
        return self.optimizers["g"].param_groups[0]["lr"]

    @torch.no_grad()
    def samples(self, path: Path, batch: Batch) -> None:
        self.model.eval()
        with self.autocast():
            generated = self.model(batch)
        self.model.train()
        save_grid(path, batch, generated)

    def state(self, step: int) -> dict[str, Any]:
        state = checkpoints.record(self.model, self.meta(step))
        state.update({
            "step": step,
            "settings": self.config.settings_dict(),
            "discriminators": self.discriminators.state_dict(),
            "optimizers": {k: o.state_dict() for k, o in self.optimizers.items()},
            "schedulers": {k: s.state_dict() for k, s in self.schedulers.items()},
            "scalers": {k: s.state_dict() for k, s in self.scalers.items()},
            "rng": _rng_state(),
        })
        return state

    def restore(self, state: Mapping[str, Any], path: Path) -> int:
        checkpoints.load_weights(self.model, state, path)
        changed = changed_settings(state["settings"], state["meta"], self.config, self.total)
        if changed:
            raise ReidBenchError(
                f"{path} was trained with other settings ({'; '.join(changed)}); rerun with the same "
                "settings to resume, or choose another --out."
            )
        self.discriminators.load_state_dict(state["discriminators"])
        for kind in ("optimizers", "schedulers", "scalers"):
            for key, obj in getattr(self, kind).items():
                obj.load_state_dict(state[kind][key])
        _set_rng_state(state["rng"])
        return int(state["step"])

    def meta(self, step: int) -> dict[str, Any]:
        return {
            "step": step,
            "total_steps": self.total,
            "preset": self.config.settings.preset,
            "image_size": self.config.settings_dict()["image_size"],
            "perceptual": self.config.perceptual,
            "identity": self.config.identity,
            "data": self.config.data,
            "config_hash": self.config.config_hash(),
            "settings": self.config.settings_dict(),
        }


def time_steps(config: RunConfig, batch: Batch, *, device: str | torch.device = "auto", timed: int = 2,
               warmup: int = 1) -> tuple[Timing, Timing] | None:
    """Seconds of one step of this loop and of one generation forward on ``batch`` (``run --plan``'s
    estimate), the model built as :func:`train` builds it (options, discriminators, VGG-19, memory
    format, precision); None for a generator with nothing to train. The identity term's Re-ID network
    is not run; ``batch`` is what a step would get (sample dicts, collated)."""
    device = pick_device(device)
    settings = config.settings
    torch.manual_seed(settings.seed)
    model = create(config.generator, **config.options).to(device).train()
    if not any(parameter.requires_grad for parameter in model.parameters()):
        return None
    discriminators = model.build_discriminators().to(device).train()
    loss_networks = model.build_loss_networks(Path(config.vgg_weights) if config.vgg_weights else None).to(device)
    if settings.channels_last:
        for module in (model, discriminators, loss_networks):
            channels_last(module)
    trainer = _Trainer(config, model, discriminators, loss_networks, device, warmup + timed,
                       resolve_amp(settings.amp, device))
    batch = move_batch(batch, device, settings.channels_last)
    size = int(batch["src_image"].shape[0])
    training = time_calls(lambda: trainer.step(batch), timed, warmup, batch=size)
    model.eval()

    @torch.no_grad()
    def forward() -> None:
        with trainer.autocast():
            model(batch)

    return training, time_calls(forward, timed, warmup, batch=size)


def changed_settings(stored: Mapping[str, Any], meta: Mapping[str, Any], config: RunConfig, total: int) -> list[str]:
    """What differs between a checkpoint's run (its ``settings`` and ``meta``) and ``config`` of ``total``
    steps, among what changes the trained weights (:data:`_RESUME_KEYS`), as "seed 0 (now 7)" clauses."""
    current = config.settings_dict()
    changed = [f"{key} {stored.get(key)} (now {current.get(key)})" for key in _RESUME_KEYS
               if stored.get(key) != current.get(key)]
    if meta.get("total_steps") != total:
        changed.append(f"total steps {meta.get('total_steps')} (now {total})")
    changed += [f"{key} {meta[key]} (now {now})" for key, now in (("data", config.data), ("identity", config.identity))
                if key in meta and meta[key] != now]
    return changed


def _check_finished(path: Path, checkpoint: Mapping[str, Any], config: RunConfig, total: int) -> None:
    """Refuse a finished ``generator.pt`` of another run in the folder: it is reused only for its own settings."""
    checkpoints.check_matches(checkpoint, path, config.generator, config.options)
    meta = checkpoint["meta"]
    if "settings" in meta:
        changed = changed_settings(meta["settings"], meta, config, total)
    elif meta.get("total_steps", 0) and meta.get("config_hash") != config.config_hash():  # written before settings
        changed = [f"config hash {meta.get('config_hash')} (now {config.config_hash()})"]
    else:  # nothing was trained (a generator without parameters): no setting changes it
        changed = []
    if changed:
        raise ReidBenchError(
            f"{path.parent} already holds a finished {checkpoint['generator']} model trained with other settings "
            f"({'; '.join(changed)}); give another --out to train one with these settings, or rerun with the "
            "same settings to reuse it."
        )


class _DeferredInterrupt:
    """Ctrl-C during the loop: the step in progress completes, is saved, and the loop then stops.

    The first SIGINT only sets :attr:`requested` (the loop checks it after each step, the ranks
    agreeing through the averaged losses); a second one interrupts at once, as Python's own handler
    does. Installed only in the main thread, over whatever handler is there unless Ctrl-C is ignored
    (a launcher such as torchrun may have put its own), which :meth:`close` puts back.
    """

    def __init__(self) -> None:
        self.requested = False
        self._previous = signal.getsignal(signal.SIGINT)
        self._installed = (threading.current_thread() is threading.main_thread()
                           and self._previous not in (signal.SIG_IGN, None))
        if self._installed:
            signal.signal(signal.SIGINT, self._handle)

    def _handle(self, signum: int, frame: object) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def close(self) -> None:
        if self._installed:
            signal.signal(signal.SIGINT, self._previous)


def _interrupted(step: int, saved: int, total: int, state_path: Path) -> str:
    """The sentence for Ctrl-C at ``step``: what was saved (``saved`` steps, 0 = nothing) and what a rerun does."""
    if saved == 0:
        return (f"interrupted at step {step} of {total} before any checkpoint; nothing was saved, and a rerun of "
                "the same command starts from step 0.")
    lost = f" (the {step - saved} steps after it were not saved)" if step > saved else ""
    return (f"interrupted at step {step} of {total}; step {saved} is saved in {state_path}{lost}, and a rerun "
            f"of the same command resumes from step {saved}.")


def loop_needs(settings: GeneratorSettings) -> frozenset[str]:
    """What the loop's own terms read from the sample dict besides a generator's ``needs``."""
    return frozenset(({"mask"} if settings.foreground_weight else set())
                     | ({"parsing"} if settings.region_colour_weight else set()))


def _loader(pairs: Dataset, settings: GeneratorSettings, device: torch.device, start: int, total: int) -> DataLoader:
    sampler = StepBatchSampler(len(pairs), settings.batch_size, settings.seed, start, total,
                               distributed.rank(), distributed.world_size())
    cuda = device.type == "cuda"
    workers = settings.workers if cuda else 0
    if hasattr(pairs, "keep_loaded") and keeps_decoded(pairs.decoded_bytes(), workers):  # decode each image once
        pairs.keep_loaded()
    return DataLoader(pairs, batch_sampler=sampler, num_workers=workers, pin_memory=cuda,
                      generator=torch.Generator().manual_seed(settings.seed + start),
                      persistent_workers=workers > 0, worker_init_fn=_ignore_interrupt if workers else None)


def _ignore_interrupt(worker: int) -> None:
    """Loader workers ignore Ctrl-C, which the terminal sends them too: a worker killed by it would end
    the loop with a loader error before the step in progress could finish and be saved
    (:class:`_DeferredInterrupt`)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def train(config: RunConfig, pairs: Dataset, out: str | os.PathLike, *, sample_pairs: Dataset | None = None,
          device: str | torch.device = "auto", stop_at: int | None = None, progress: bool = True,
          profile: Profile = OFF, guide: nn.Module | None = None) -> TrainResult:
    """Train ``config.generator`` on ``pairs`` (sample dicts) into ``out``, resuming if it was started.

    A generator without trainable parameters (``identity``) has nothing to learn: its checkpoint is
    written at once.
    ``sample_pairs`` (default: ``pairs``) supplies the fixed rows of the sample grids. ``stop_at``
    ends this invocation after that many completed steps with a checkpoint (the learning-rate
    schedule still spans the whole run); the same call without it continues. ``profile``
    (``--profile``) gets the seconds of data loading, each part of a step, samples and checkpoints.
    ``guide`` is the frozen Re-ID network of the identity term (module docstring), needed when
    ``identity_weight`` or ``identity_feature_weight`` is set; ``config.identity`` names it.

    The output folder is locked while a process trains into it (:func:`reid_bench.storage.exclusive_folder`).
    """
    lock = exclusive_folder(out, f"{config.generator} training") if distributed.is_main() else nullcontext()
    with lock:
        result = _train(config, pairs, out, sample_pairs=sample_pairs, device=device, stop_at=stop_at,
                        progress=progress, profile=profile, guide=guide)
    # Every rank passes this one barrier, whichever way _train returned (a finished generator.pt
    # found, nothing to train, or a run completed), so the others read rank 0's files only once
    # they are written, and the ranks' later barriers stay paired.
    distributed.barrier()
    return result


def _train(config: RunConfig, pairs: Dataset, out: str | os.PathLike, *, sample_pairs: Dataset | None,
           device: str | torch.device, stop_at: int | None, progress: bool, profile: Profile,
           guide: nn.Module | None) -> TrainResult:
    """The body of :func:`train`, inside its lock."""
    out, settings = Path(out), config.settings
    if len(pairs) == 0:
        note = getattr(pairs, "skipped_note", lambda: "")()
        raise ReidBenchError(f"there are no training pairs to train {config.generator} on: "
                             + (f"{note}; reid-bench data prepare DIR makes the missing inputs." if note
                                else "the pairs list is empty; give a *pairs-train.csv with rows, or delete it and "
                                     "run reid-bench data prepare DIR to make one by PATN's rule."))
    wants_guide = needs_guide(config.generator, settings)
    if wants_guide and guide is None:
        raise ReidBenchError("generator.identity_weight and identity_feature_weight need a frozen Re-ID model: give "
                             "train-generator --identity-model CHECKPOINT (a train-reid checkpoint of real images); "
                             "reid-bench run uses its real-only IDE.")
    if wants_guide and config.identity == "off":
        raise ReidBenchError("the identity term's Re-ID model must be named in the run's config: "
                             "configure(..., identity=guide.describe()).")
    guide = guide if wants_guide else None
    total = settings.total_steps(len(pairs))
    final, state_path = out / "generator.pt", out / "checkpoints" / "latest.pt"
    if final.exists():
        _check_finished(final, checkpoints.read(final), config, total)
        return TrainResult(out, total, total, True, config.perceptual)
    distributed.per_rank(min(settings.batch_size, len(pairs)), "pairs")
    device = distributed.init_from_env(pick_device(device))
    torch.manual_seed(settings.seed)
    model = create(config.generator, **config.options).to(device).train()
    if not any(parameter.requires_grad for parameter in model.parameters()):  # e.g. identity
        if distributed.is_main():
            checkpoints.save(final, checkpoints.record(model, {"step": 0, "total_steps": 0,
                                                               "perceptual": config.perceptual}))
        return TrainResult(out, 0, 0, True, config.perceptual)
    discriminators = model.build_discriminators().to(device).train()
    if settings.sync_bn:
        model, discriminators = (distributed.sync_batchnorm(m, device) for m in (model, discriminators))
    vgg = Path(config.vgg_weights) if config.vgg_weights else None
    loss_networks = model.build_loss_networks(vgg).to(device)
    if settings.channels_last:
        for module in (model, discriminators, loss_networks):
            channels_last(module)
    compile_module(model, settings.compile)
    if guide is not None:
        guide = guide.to(device)
        if settings.channels_last:
            channels_last(guide)
    trainer = _Trainer(config, model, discriminators, loss_networks, device, total, resolve_amp(settings.amp, device),
                       guide)
    main = distributed.is_main()
    step = trainer.restore(checkpoints.read(state_path), state_path) if state_path.exists() else 0
    if distributed.world_size() > 1:
        for module in (model, discriminators):
            distributed.broadcast_module(module)
        torch.manual_seed(distributed.rank_seed(seeds.derived(settings.seed, step)))
    run = {**config.describe(), "total_steps": total, "pairs": len(pairs), "resumed_from": step}
    if main:
        write_run_record(out, "generator", run, device=device, precision=trainer.amp)
    log = LossLog(out / "losses.csv", step) if main else None
    sample_source = sample_pairs if sample_pairs is not None else pairs
    shown = default_collate([sample_source[i] for i in range(min(settings.sample_count, len(sample_source)))])
    shown = move_batch(shown, device, settings.channels_last)
    stop, saved = min(total, stop_at if stop_at is not None else total), step
    bar = tqdm(total=total, initial=step, desc=f"train {config.generator}", unit="step",
               disable=not (progress and main), dynamic_ncols=True)
    started = time.perf_counter()
    mid_step = False  # an interrupt inside a step leaves D updated and G not: keep the last checkpoint then
    ctrl_c = _DeferredInterrupt()
    try:
        for batch in profile.iterate(_loader(pairs, settings, device, step, stop), "data"):
            mid_step = True
            batch = move_batch(batch, device, settings.channels_last)
            terms = {**trainer.step(batch, profile, step), _STOP: float(ctrl_c.requested)}
            terms = distributed.mean_over_ranks(terms, device)
            interrupted = float(terms.pop(_STOP)) > 0
            step, mid_step = step + 1, False
            bar.update(1)
            if log is not None:
                log.add(terms)
                if step % settings.log_every == 0 or step == stop:
                    means = log.write(step, trainer.lr())
                    bar.set_postfix({k: f"{v:.3g}" for k, v in means.items() if k.endswith(("total", "l1"))})
            if main and (step % settings.sample_every == 0 or step == total):
                with profile.section("samples"):
                    trainer.samples(out / "samples" / f"step_{step:07d}.png", shown)
            if step < total and (step % settings.checkpoint_every == 0 or step == stop):
                if main:
                    with profile.section("checkpoint"):
                        checkpoints.save(state_path, trainer.state(step))
                saved = step
            if interrupted and step < stop:
                raise KeyboardInterrupt
    except KeyboardInterrupt:
        if step > saved and not mid_step:
            if main:
                checkpoints.save(state_path, trainer.state(step))
            saved = step
        raise KeyboardInterrupt(_interrupted(step, saved, total, state_path)) from None
    finally:
        ctrl_c.close()
        bar.close()
    finished = step == total
    if main and finished:
        checkpoints.save(final, checkpoints.record(model, trainer.meta(step)))
        state_path.unlink(missing_ok=True)  # optimiser states are ~3x the model; the run is complete
        if state_path.parent.is_dir() and not any(state_path.parent.iterdir()):
            state_path.parent.rmdir()
        write_run_record(out, "generator", run, device=device, precision=trainer.amp,
                         outcome={"finished_step": step, "wall_s": round(time.perf_counter() - started, 1)})
    return TrainResult(out, step, total, finished, config.perceptual)
