"""Generator checkpoints: what they hold, how a model is rebuilt from one, and mismatch errors.

A checkpoint is a ``torch.save``'d dict, written atomically (temporary file, then rename)::

    format      "reid-bench-generator/1"
    generator   registry name, e.g. "san"
    options     every constructor option (``model.options``), enough to rebuild the architecture
    state_dict  the generator's weights and buffers (BatchNorm statistics)
    meta        free-form run facts: step, preset, perceptual on/off, data, versions

The training loop's resumable state (``checkpoints/latest.pt``) is the same dict with more keys
(discriminators, optimisers, schedulers, scalers, RNG states, step), so :func:`load` reads both; a
checkpoint whose ``meta`` says it stopped before its total steps is a partially trained generator,
which :func:`load` refuses unless ``allow_partial``. Loading reads with ``weights_only=True``
(:func:`reid_bench.storage.load_torch_file`): a checkpoint never runs code.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping

from reid_bench.errors import ReidBenchError
from reid_bench.generators.base import Generator
from reid_bench.generators.registry import create
from reid_bench.storage import load_torch_file, save_torch_file

FORMAT = "reid-bench-generator/1"


def record(model: Generator, meta: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The checkpoint dict of ``model`` (weights moved to the CPU)."""
    state = {key: value.detach().cpu() for key, value in model.state_dict().items()}
    return {
        "format": FORMAT,
        "generator": model.name,
        "options": dict(model.options),
        "state_dict": state,
        "meta": dict(meta or {}),
    }


def save(path: str | os.PathLike, checkpoint: Mapping[str, Any]) -> Path:
    """Write ``checkpoint`` (from :func:`record`, maybe with training keys) atomically."""
    return save_torch_file(dict(checkpoint), path)


def read(path: str | os.PathLike) -> dict[str, Any]:
    """The checkpoint dict at ``path``, on the CPU; a clear error if it is not one."""
    path = Path(path)
    checkpoint = load_torch_file(path, "a generator checkpoint",
                                 "pass the generator.pt that `reid-bench train-generator` writes, or train one again")
    if not isinstance(checkpoint, dict) or checkpoint.get("format") != FORMAT:
        raise ReidBenchError(f"{path} is not a reid-bench generator checkpoint (no format {FORMAT!r}).")
    return checkpoint


def check_matches(checkpoint: Mapping[str, Any], path: str | os.PathLike, name: str | None,
                  options: Mapping[str, Any]) -> None:
    """Fail clearly if ``checkpoint`` holds another generator or other values of ``options``."""
    held = checkpoint["generator"]
    stored = checkpoint["options"]
    if name is not None and name != held:
        raise ReidBenchError(
            f"checkpoint {path} holds generator {held!r}, not {name!r}; pass a {name} checkpoint "
            f"or --generator {held}."
        )
    differing = sorted(key for key, value in options.items() if stored.get(key, _MISSING) != value)
    if differing:
        holds = ", ".join(f"{key}={stored.get(key, '(none)')}" for key in differing)
        asked = ", ".join(f"{key}={options[key]}" for key in differing)
        raise ReidBenchError(
            f"checkpoint {path} holds generator {held!r} with {holds}; you asked for {asked}; "
            "use a checkpoint trained with those options, or leave them out to rebuild the checkpoint's own model."
        )


_MISSING = object()


def load_weights(model: Generator, checkpoint: Mapping[str, Any], path: str | os.PathLike) -> None:
    """Copy the checkpoint's weights into ``model``, after checking it is the same architecture."""
    check_matches(checkpoint, path, model.name, model.options)
    try:
        model.load_state_dict(checkpoint["state_dict"])
    except RuntimeError as error:
        raise ReidBenchError(
            f"checkpoint {path} does not fit {model.describe()} although its options match "
            f"(the code changed since it was written?): {str(error).splitlines()[0]}"
        ) from error


def load(path: str | os.PathLike, generator: str | None = None, *, allow_partial: bool = False,
         **expected: Any) -> Generator:
    """Rebuild the generator a checkpoint holds, with its weights and ``meta``, in eval mode.

    ``generator`` and ``expected`` options are checked against the checkpoint: asking for
    ``load(path, "san", blocks=3)`` from a 5-block checkpoint is a :class:`ReidBenchError`. A partially
    trained generator (module docstring) is refused unless ``allow_partial``.
    """

    checkpoint = read(path)
    check_matches(checkpoint, path, generator, expected)
    meta = checkpoint["meta"]
    if not allow_partial and "total_steps" in meta and int(meta.get("step", 0)) < int(meta["total_steps"]):
        raise ReidBenchError(
            f"{path} holds a partially trained {checkpoint['generator']} (step {meta.get('step', 0)} of "
            f"{meta['total_steps']}: the resumable state of an unfinished train-generator run, not its generator.pt); "
            "rerun that train-generator command to finish it, or give generate --allow-partial to draw images "
            "with it as it is."
        )
    model = create(checkpoint["generator"], **checkpoint["options"])
    load_weights(model, checkpoint, path)
    model.meta = dict(checkpoint["meta"])
    return model.eval()
