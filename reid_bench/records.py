"""Where a result came from: the suite's own commit, and the one run-record schema (``run.json``).

Every trained Re-ID model, every trained generator and every ``reid-bench run`` writes a
``run.json`` through :func:`write_run_record`, with one schema::

    schema       "reid-bench/run-record/1"
    kind         "reid-model" | "generator" | "run"
    written      ISO 8601 time (UTC)
    provenance   version, commit, dirty, source  (:func:`provenance`)
    environment  python, torch, torchvision, device, precision, threads, processes, cpu (model name,
                 family and model: :func:`reid_bench.accel.cpu_name`), gpu, native_cpu_bf16
    config       what the run resolved to (its own keys per kind)
    outcome      what it did (steps finished, seconds, ...); absent while it runs

The commit is the suite's own, never the caller's repository's: from the source tree when the
package runs from a git checkout of reid-bench (an editable install), with ``dirty`` true when a
tracked file differs from that commit; otherwise from the install metadata, the version that
setuptools-scm wrote into ``reid_bench/_version.py`` when the wheel was built
(``0.1.devN+g<commit>[.d<date>]``, the ``.d`` marking a dirty tree).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
import platform
import re
import subprocess
from pathlib import Path
from typing import Any, Mapping

import torch
import torchvision

from reid_bench import __version__, accel, distributed
from reid_bench.storage import atomic_path

SCHEMA = "reid-bench/run-record/1"
UNRECORDED_PROCESSOR = "unrecorded"  # a result row or model from before processors were recorded
RECORD_NAME = "run.json"
KINDS = ("reid-model", "generator", "run")
_SOURCE_TREE = Path(__file__).resolve().parent.parent  # the checkout's root when run from one
_SCM_VERSION = re.compile(r"\+g(?P<commit>[0-9a-f]{7,40})(?P<dirty>\.d\d{8})?")


def _git(*args: str) -> str | None:
    try:
        done = subprocess.run(["git", "-C", str(_SOURCE_TREE), *args], capture_output=True, text=True,
                              timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip()


@functools.lru_cache(maxsize=1)
def _from_source_tree() -> dict[str, Any] | None:
    """Commit and dirty flag of the reid-bench checkout this package runs from, if it runs from one."""
    top = _git("rev-parse", "--show-toplevel")
    if top is None or Path(top).resolve() != _SOURCE_TREE or not (_SOURCE_TREE / "pyproject.toml").is_file():
        return None  # not a checkout, or a checkout of another project that merely holds the venv
    commit = _git("rev-parse", "HEAD")
    status = _git("status", "--porcelain", "--untracked-files=no")
    if not commit:
        return None
    return {"commit": commit, "dirty": bool(status), "source": "source tree"}


def _from_install_metadata(version: str) -> dict[str, Any]:
    found = _SCM_VERSION.search(version)
    if found is None:
        return {"commit": "unknown", "dirty": None, "source": "install metadata (no commit recorded)"}
    return {"commit": found["commit"], "dirty": found["dirty"] is not None, "source": "install metadata"}


def provenance() -> dict[str, Any]:
    """``version``, ``commit``, ``dirty`` (True, False, or None when unknown) and ``source``."""
    found = _from_source_tree() or _from_install_metadata(__version__)
    return {"version": __version__, **found}


def commit_label() -> str:
    """The commit as result rows record it: the hash, ``+dirty`` appended when the tree was dirty."""
    found = provenance()
    return found["commit"] + ("+dirty" if found["dirty"] else "")


def processor_name(device: torch.device) -> str:
    """The processor that results computed on ``device`` come from, as result rows record it: the GPU's
    name, else the CPU's (:func:`reid_bench.accel.cpu_name`), preceded by ``N x`` under N processes,
    e.g. ``AMD EPYC (family 26, model 2)`` or ``2 x NVIDIA H200``. The same key on two processors
    gives different numbers (bf16 kernels differ by CPU generation; results/synthpeople-quick/README.md),
    so rows of two processors are never taken for one another or paired."""
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else accel.cpu_name()
    processes = distributed.world_size()
    return f"{processes} x {name}" if processes > 1 else name


def environment(device: torch.device, precision: torch.dtype | None) -> dict[str, Any]:
    """Versions and hardware of this process, for a run record."""
    return {
        "python": platform.python_version(), "torch": torch.__version__, "torchvision": torchvision.__version__,
        "device": str(device), "precision": accel.precision_name(precision), "threads": torch.get_num_threads(),
        "processes": distributed.world_size(), "cpu": accel.cpu_name(),
        "gpu": torch.cuda.get_device_name(device) if device.type == "cuda" else None,
        "native_cpu_bf16": accel.native_cpu_bf16(),
    }


def write_run_record(folder: str | os.PathLike, kind: str, config: Mapping[str, Any], *,
                     device: torch.device, precision: torch.dtype | None,
                     outcome: Mapping[str, Any] | None = None, name: str = RECORD_NAME) -> Path:
    """Write ``folder/name`` atomically in the schema of the module docstring; returns its path."""
    if kind not in KINDS:
        raise ValueError(f"run-record kind {kind!r} is not one of {', '.join(KINDS)}")
    record: dict[str, Any] = {
        "schema": SCHEMA, "kind": kind,
        "written": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "provenance": provenance(), "environment": environment(device, precision), "config": dict(config),
    }
    if outcome is not None:
        record["outcome"] = dict(outcome)
    path = Path(folder) / name
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(record, indent=2, sort_keys=True, default=str) + "\n")
    return path


def read_run_record(path: str | os.PathLike) -> dict[str, Any]:
    """A run record written by :func:`write_run_record`."""
    return json.loads(Path(path).read_text())
