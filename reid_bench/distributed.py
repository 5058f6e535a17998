"""Multi-process training with torch's own engine: ``torchrun`` environment, process group, helpers.

``torchrun --nproc_per_node=N`` (``torch.distributed.run``) starts N copies of a command with
``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK`` and the rendezvous address in their environment.
:func:`init_from_env` joins them into one process group (NCCL on CUDA, gloo on the CPU; each
process takes the GPU of its ``LOCAL_RANK`` and ``cores / N`` CPU threads); without ``torchrun``
(``WORLD_SIZE`` unset or 1) it does nothing, and every helper here answers as the only process.

The trainers keep the *global* batch of a step the same whatever N is: each rank takes
``batch / N`` of its samples (:func:`per_rank`, :func:`shard`), and gradients are averaged over the
ranks (DDP in the Re-ID trainers, :func:`average_gradients` in the GAN loop), so N processes
compute the step one process would, up to floating-point summation order. BatchNorm statistics
are per process unless ``sync_bn`` converts them to ``SyncBatchNorm``, which torch runs on GPUs
only (:func:`sync_batchnorm`).

Failures end every process promptly. Work that rank 0 does alone while the others wait
(:func:`on_main`, :func:`main_first`: rendering, generating, evaluating, writing) shares its outcome
with them, so when rank 0 fails the others stop at once with its message instead of waiting at a
barrier until the process group times out. A process that fails inside a collective (a training
step) exits, and ``torchrun`` then stops the others (its elastic agent ends every worker when one
fails) and names the failed rank.
"""

from __future__ import annotations

import os
from typing import Any, Callable, Mapping, TypeVar

import torch
import torch.distributed as dist
from torch import nn

from reid_bench import accel, seeds
from reid_bench.errors import ReidBenchError

T = TypeVar("T")


def _initialised() -> bool:
    return dist.is_available() and dist.is_initialized()


def rank() -> int:
    """This process's rank (0 without ``torchrun``)."""
    return dist.get_rank() if _initialised() else int(os.environ.get("RANK", "0"))


def world_size() -> int:
    """The number of processes training together (1 without ``torchrun``)."""
    return dist.get_world_size() if _initialised() else max(1, int(os.environ.get("WORLD_SIZE", "1")))


def local_rank() -> int:
    """This process's index on its machine (its GPU under ``torchrun``)."""
    return int(os.environ.get("LOCAL_RANK", "0"))


def is_main() -> bool:
    """Whether this process logs, prints and writes checkpoints and results (rank 0)."""
    return rank() == 0


def init_from_env(device: torch.device) -> torch.device:
    """Join the ``torchrun`` process group (once per process); return the device to train on.

    Under ``torchrun`` with CUDA that is ``cuda:LOCAL_RANK``; otherwise ``device`` itself.
    """
    if world_size() == 1:
        return device
    cuda = device.type == "cuda"
    if cuda:
        device = torch.device("cuda", local_rank())
        torch.cuda.set_device(device)
    if not _initialised():
        accel.configure_cpu_threads()
        dist.init_process_group("nccl" if cuda else "gloo")
    return device


def leave() -> None:
    """Leave the process group at the end of a command (no-op without one), so that its gloo threads
    stop before the interpreter exits; left running, one of them can abort the process after its work
    is done ("terminate called without an active exception")."""
    if _initialised():
        dist.destroy_process_group()


def barrier() -> None:
    """Wait until every process gets here (no-op for one process)."""
    if _initialised():
        dist.barrier()


def _share_outcome(failure: str | None) -> str | None:
    """Rank 0's outcome (``None``: it succeeded; else its message), broadcast to every process."""
    box = [failure]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def on_main(step: Callable[[], T]) -> T | None:
    """``step()`` on rank 0 alone while the others wait for it; ``None`` on the others.

    If it fails, every process raises: rank 0 its own error, the others a :class:`ReidBenchError`
    with rank 0's message, at once.
    """
    if not _initialised():
        return step()
    if is_main():
        try:
            result = step()
        except BaseException as error:
            _share_outcome(f"{type(error).__name__}: {error}" if not isinstance(error, ReidBenchError) else str(error))
            raise
        _share_outcome(None)
        return result
    failure = _share_outcome(None)
    if failure is not None:
        raise ReidBenchError(f"process 0 failed, so process {rank()} stops too: {failure}")
    return None


def main_first(step: Callable[[], T]) -> T:
    """``step()`` on rank 0, then on the other ranks once it is done (they find its cached output).
    A failure on rank 0 stops every rank with its message (:func:`on_main`)."""
    result = on_main(step)
    return result if is_main() else step()


def per_rank(global_batch: int, unit: str) -> int:
    """The share of one process in a step of ``global_batch`` ``unit`` (images, pairs)."""
    world = world_size()
    if global_batch % world:
        raise ReidBenchError(f"the global batch of {global_batch} {unit} does not split evenly over {world} "
                             f"processes; choose a batch size that is a multiple of {world}.")
    return global_batch // world


def shard(indices: list[int]) -> list[int]:
    """This process's part of a global batch: every ``world``-th index from its rank."""
    return indices[rank()::world_size()]


def rank_seed(seed: int) -> int:
    """``seed`` on rank 0, a distinct seed on every other rank (for per-sample randomness; :mod:`reid_bench.seeds`)."""
    return seeds.for_rank(seed, rank())


def sync_batchnorm(module: nn.Module, device: torch.device) -> nn.Module:
    """``module`` with its BatchNorm layers synchronised across processes (SyncBatchNorm)."""
    if device.type != "cuda":
        raise ReidBenchError("sync_bn needs CUDA GPUs (torch's SyncBatchNorm does not run on the CPU); "
                             "drop --sync-bn or train on GPUs.")
    return nn.SyncBatchNorm.convert_sync_batchnorm(module)


def broadcast_module(module: nn.Module) -> None:
    """Copy rank 0's parameters and buffers into every process's ``module``."""
    if _initialised():
        for tensor in module.state_dict().values():
            dist.broadcast(tensor, src=0)


def average_gradients(parameters: list[nn.Parameter]) -> None:
    """Replace each gradient by its mean over the processes (one all-reduce of a flat buffer)."""
    if not _initialised() or world_size() == 1:
        return
    grads = [p.grad for p in parameters if p.grad is not None]
    if not grads:
        return
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat)
    flat /= world_size()
    for grad, averaged in zip(grads, flat.split([g.numel() for g in grads])):
        grad.copy_(averaged.view_as(grad))


def mean_over_ranks(values: Mapping[str, float | torch.Tensor], device: torch.device) -> dict[str, Any]:
    """Each value (a number or a 0-d tensor) averaged over the processes, for logging losses.

    With one process the values come back unchanged; otherwise as float64 0-d tensors.
    """
    if not _initialised() or not values:
        return dict(values)
    stacked = torch.stack([torch.as_tensor(v, device=device).detach().double().reshape(()) for v in values.values()])
    dist.all_reduce(stacked)
    return dict(zip(values, (stacked / world_size()).unbind()))
