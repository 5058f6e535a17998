"""Where and how tensors run: device, mixed precision, memory format, loader workers, CPU threads.

One place for the choices every trainer and extractor makes (the Re-ID trainers, the generator
loop, feature extraction, generation):

- **Device**: ``auto`` is CUDA when available, else the CPU; a device this machine lacks is refused.
- **Mixed precision** (``amp``): ``auto`` is bf16 on a GPU that supports it, else fp16 (with a
  ``GradScaler``); on the CPU bf16 when the processor has native bf16 instructions (AMX or
  AVX512-BF16, through oneDNN), else full precision, since emulated bf16 is slower than fp32.
  On this project's 2-core Xeon, ``torch.autocast("cpu", bfloat16)`` with channels-last tensors
  makes a ResNet-18 training step at batch 32, 128x64, 2.2x faster (0.378 s -> 0.170 s).
- **Compilation** (``compile``): optional ``torch.compile`` of a network's forward, off by default.
- **Memory format**: channels-last for convolutional networks on CUDA and CPU (oneDNN and cuDNN
  both prefer NHWC).
- **Loader**: worker processes and pinned memory on CUDA; the main process on the CPU, where
  workers would compete with the compute threads for the same cores, and where a training set keeps
  its decoded images in memory when they fit (:func:`keeps_decoded`).
- **CPU threads**: under ``torchrun`` with N processes on one machine, each process gets
  ``cores // N`` intra-op threads instead of every process taking all cores.
"""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Any, Mapping

import torch

from reid_bench.errors import ReidBenchError

AMP_CHOICES = ("auto", "bf16", "fp16", "off")
COMPILE_CHOICES = ("off", "default", "reduce-overhead", "max-autotune")  # off, or a torch.compile mode


def pick_device(name: str | torch.device | None = None) -> torch.device:
    """``name`` if this machine has it (``auto`` and ``None``: CUDA when available, else CPU).

    Only ``cpu``, ``cuda`` and ``cuda:N`` are accepted; an unknown name, or a GPU that torch cannot
    see, is one sentence here rather than a CUDA driver error in the middle of a run.
    """
    if name is None or str(name) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except (RuntimeError, TypeError, ValueError):
        raise ReidBenchError(f"device {str(name)!r} is not a device; give auto, cpu, cuda or cuda:N.") from None
    if device.type == "cpu":
        return device
    if device.type != "cuda":
        raise ReidBenchError(f"device {str(name)!r}: reid-bench runs on cpu or cuda; give auto, cpu, cuda or cuda:N.")
    if not torch.cuda.is_available():
        raise ReidBenchError(f"device {name} asks for a GPU, but torch finds no CUDA device on this machine; "
                             "give --device cpu (or auto, which picks the CPU here).")
    count = torch.cuda.device_count()
    if device.index is not None and device.index >= count:
        raise ReidBenchError(f"device {name} asks for GPU {device.index}, but this machine has {count} "
                             f"(cuda:0 to cuda:{count - 1}); give one of those.")
    return device


def cpu_name(cpuinfo: str | None = None) -> str:
    """The CPU's model name with its family and model numbers (``/proc/cpuinfo``, or the text given;
    else the platform's name), e.g. ``AMD EPYC (family 26, model 2)``: a virtual machine's model
    name may be as bare as ``AMD EPYC``, and bf16 results depend on the processor's generation."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text()
        except OSError:
            cpuinfo = ""
    fields: dict[str, str] = {}
    for line in cpuinfo.splitlines():
        key, colon, value = line.partition(":")
        key = key.strip().lower()
        if not colon:
            continue
        if key in fields:  # the first processor's block is enough
            break
        fields[key] = value.strip()
    if "model name" not in fields:
        return platform.processor() or platform.machine()
    labels = (("cpu family", "family"), ("model", "model"))
    numbers = [f"{label} {fields[key]}" for key, label in labels if key in fields]
    return fields["model name"] + (f" ({', '.join(numbers)})" if numbers else "")


def native_cpu_bf16() -> bool:
    """Whether this CPU computes bf16 natively (AMX tiles or AVX512-BF16)."""
    checks = ("_is_amx_tile_supported", "_is_avx512_bf16_supported")
    return any(bool(getattr(torch.cpu, name, lambda: False)()) for name in checks)


def resolve_amp(amp: str | bool, device: torch.device) -> torch.dtype | None:
    """The autocast dtype for ``amp`` on ``device`` (see the module docstring); ``None`` = fp32.

    ``True``/``False`` are read as ``auto``/``off``.
    """
    if isinstance(amp, bool):
        amp = "auto" if amp else "off"
    if amp not in AMP_CHOICES:
        raise ReidBenchError(f"amp must be one of {', '.join(AMP_CHOICES)}, not {amp!r}.")
    if amp == "off":
        return None
    if amp == "fp16":
        return torch.float16
    if amp == "bf16":
        return torch.bfloat16
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if device.type == "cpu" and native_cpu_bf16():
        return torch.bfloat16
    return None


def autocast(device: torch.device, dtype: torch.dtype | None) -> torch.autocast:
    """``torch.autocast`` for ``dtype`` on ``device`` (disabled when ``dtype`` is ``None``)."""
    return torch.autocast(device.type, dtype=dtype or torch.float32, enabled=dtype is not None)


def grad_scaler(device: torch.device, dtype: torch.dtype | None) -> torch.amp.GradScaler:
    """A loss scaler, enabled only for fp16 (bf16 has fp32's exponent range and needs none)."""
    return torch.amp.GradScaler(device.type, enabled=dtype == torch.float16)


def precision_name(dtype: torch.dtype | None) -> str:
    """``bf16`` / ``fp16`` / ``fp32``: the precision a run used, for its records."""
    return {torch.bfloat16: "bf16", torch.float16: "fp16"}.get(dtype, "fp32")


def compile_module(module: torch.nn.Module, mode: str) -> torch.nn.Module:
    """``module`` with its forward compiled in place by ``torch.compile(mode=mode)``; ``off``: as is.

    ``nn.Module.compile`` keeps the parameter names, so checkpoints do not change. Compilation
    happens at the first forward (tens of seconds; on the CPU it needs a C++ compiler).
    """
    if mode not in COMPILE_CHOICES:
        raise ReidBenchError(f"compile must be one of {', '.join(COMPILE_CHOICES)}, not {mode!r}.")
    if mode != "off":
        module.compile(mode=mode)
    return module


def channels_last(module: torch.nn.Module) -> torch.nn.Module:
    """``module`` with its 4-d weights in channels-last layout (no-op for other tensors)."""
    return module.to(memory_format=torch.channels_last)


def as_channels_last(images: torch.Tensor) -> torch.Tensor:
    """A 4-d batch in channels-last layout (other tensors unchanged)."""
    return images.contiguous(memory_format=torch.channels_last) if images.dim() == 4 else images


def to_device(tensor: torch.Tensor, device: torch.device, channels_last: bool = False) -> torch.Tensor:
    """``tensor`` on ``device`` (asynchronously from pinned memory), channels-last if 4-d and asked."""
    tensor = tensor.to(device, non_blocking=True)
    return as_channels_last(tensor) if channels_last else tensor


def move_batch(batch: Mapping[str, Any], device: torch.device, channels_last: bool = False) -> dict[str, Any]:
    """A sample-dict batch with its tensors moved by :func:`to_device` (other values as they are)."""
    return {key: to_device(value, device, channels_last) if torch.is_tensor(value) else value
            for key, value in batch.items()}


def loader_options(device: torch.device, workers: int | None = None) -> dict[str, Any]:
    """DataLoader keyword arguments: workers and pinned memory on CUDA, the main process on CPU.

    ``workers`` defaults to ``min(8, cores // local processes)`` on CUDA.
    """
    if device.type != "cuda":
        return {"num_workers": 0}
    if workers is None:
        workers = min(8, max(1, (os.cpu_count() or 1) // local_world_size()))
    return {"num_workers": workers, "pin_memory": True, "persistent_workers": workers > 0}


DECODED_BUDGET_BYTES = 2 * 2**30  # decoded training images kept in memory only up to this size


def keeps_decoded(nbytes: int, workers: int, budget: int = DECODED_BUDGET_BYTES) -> bool:
    """Whether a training set read every epoch keeps its decoded images (``nbytes`` of them) in memory:
    only where it loads in the training process (``workers == 0``, the CPU; each worker process would
    keep a copy of its own) and they fit in ``budget`` (the Re-ID trainers' ``ImageDataset`` and the GAN
    loop's ``PoseTransferPairs``)."""
    return workers == 0 and nbytes <= budget


def local_world_size() -> int:
    """Processes on this machine in a ``torchrun`` launch (1 otherwise)."""
    return max(1, int(os.environ.get("LOCAL_WORLD_SIZE", "1")))


def configure_cpu_threads() -> int:
    """Share this machine's cores between the processes of a ``torchrun`` launch.

    Returns the intra-op threads this process now uses. An explicit ``OMP_NUM_THREADS`` (torchrun
    sets 1 when it starts several processes) is respected.
    """
    if "OMP_NUM_THREADS" not in os.environ:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        torch.set_num_threads(max(1, cores // local_world_size()))
    return torch.get_num_threads()
