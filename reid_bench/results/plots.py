"""Result figures (PNG): CMC curves and rank-1 gain against factor K (:mod:`reid_bench.figures` draws them).

CMC curves are stored beside the result rows as small JSON files (:func:`save_cmc`):
``{"format": "reid-bench-cmc", "version": 1, "curves": {label: [fractions]}}``, where ``curves[label][k]``
is the fraction of queries with a true match within the top ``k + 1``, as
:func:`reid_bench.evaluation.evaluate` returns ``cmc``. :func:`cmc_path` names the file of one trained
model (its curves keyed by ranker) beside a results CSV; :func:`add_cmc` adds curves to that file
under its lock (:func:`reid_bench.storage.locked`), keeping the rankers already in it.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
from matplotlib.ticker import MaxNLocator

from reid_bench.errors import ReidBenchError
from reid_bench.figures import figure_of_size, save_figure
from reid_bench.results.rows import NO_GENERATOR, ResultRow
from reid_bench.results.stats import Stat, summarize
from reid_bench.results.tables import protocol_label
from reid_bench.storage import atomic_path, locked

CMC_FORMAT, CMC_VERSION = "reid-bench-cmc", 1


# ---- CMC files ----------------------------------------------------------------------------------

def cmc_path(results_csv: str | os.PathLike, row: ResultRow) -> Path:
    """Where the CMC curves of ``row``'s trained model live: ``<csv stem>.cmc/<model>.json`` beside the CSV.

    One file per dataset x generator x factor x trainer x seed x config hash; curves keyed by ranker.
    """
    csv_path = Path(results_csv)
    name = f"{row.dataset}_{row.generator}_K{row.factor}_{row.trainer}_seed{row.seed}_{row.config_hash}.json"
    return csv_path.parent / f"{csv_path.stem}.cmc" / name


def _check_curve(label: str, values: object, where: str) -> np.ndarray:
    curve = np.asarray(values, dtype=float)
    if curve.ndim != 1 or curve.size == 0 or not np.all(np.isfinite(curve)):
        raise ReidBenchError(f"{where}: CMC curve {label!r} is not a non-empty list of numbers; "
                             "write it again with save_cmc.")
    if curve.min() < 0 or curve.max() > 1 or np.any(np.diff(curve) < 0):
        raise ReidBenchError(f"{where}: CMC curve {label!r} is not a non-decreasing list of fractions in [0, 1]; "
                             "pass evaluate(...).cmc, not percentages.")
    return curve


def save_cmc(path: str | os.PathLike, curves: Mapping[str, np.ndarray]) -> Path:
    """Write ``curves`` (label -> CMC fractions) as a reid-bench CMC JSON file, atomically."""
    checked = {str(label): _check_curve(str(label), values, str(path)).tolist() for label, values in curves.items()}
    if not checked:
        raise ValueError("save_cmc needs at least one curve")
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps({"format": CMC_FORMAT, "version": CMC_VERSION, "curves": checked}) + "\n")
    return Path(path)


def add_cmc(path: str | os.PathLike, curves: Mapping[str, np.ndarray]) -> Path:
    """Add ``curves`` to the CMC file at ``path`` (created if absent), keeping its other rankers' curves;
    the read and the rewrite hold the file's lock, so concurrent evaluations keep each other's curves."""
    path = Path(path)
    with locked(path):
        return save_cmc(path, {**(load_cmc(path) if path.exists() else {}), **curves})


def load_cmc(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """The curves of a CMC file written by :func:`save_cmc`; anything else raises one clear sentence."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ReidBenchError(f"{path} does not exist; give a CMC file written beside the results.") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ReidBenchError(f"{path} is not valid JSON ({error}); write it again with save_cmc.") from None
    if not isinstance(data, dict) or data.get("format") != CMC_FORMAT or not isinstance(data.get("curves"), dict):
        raise ReidBenchError(f"{path} is not a reid-bench CMC file (no \"format\": \"{CMC_FORMAT}\" with curves); "
                             "write it again with save_cmc.")
    if data.get("version") != CMC_VERSION:
        raise ReidBenchError(f"{path} has CMC format version {data.get('version')!r}, this reid-bench reads "
                             f"{CMC_VERSION}; write it again with this version.")
    return {label: _check_curve(label, values, str(path)) for label, values in data["curves"].items()}


# ---- figures ------------------------------------------------------------------------------------

def plot_cmc(curves: Mapping[str, np.ndarray], path: str | os.PathLike, *, max_rank: int = 20,
             title: str | None = None, size_px: tuple[int, int] = (640, 480)) -> Path:
    """CMC curves (label -> fractions), in percent over ranks 1..``max_rank``, as a PNG of ``size_px``."""
    if not curves:
        raise ValueError("plot_cmc needs at least one curve")
    figure = figure_of_size(size_px)
    axes = figure.add_subplot()
    for label, values in curves.items():
        curve = _check_curve(label, values, "plot_cmc")[:max_rank]
        axes.plot(np.arange(1, curve.size + 1), 100 * curve, marker=".", label=f"{label} (rank-1 {100 * curve[0]:.1f})")
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_xlabel("rank")
    axes.set_ylabel("matching rate (%)")
    axes.set_xlim(1, max_rank)
    axes.grid(alpha=0.3)
    axes.legend(loc="lower right", fontsize="small")
    if title:
        axes.set_title(title)
    figure.tight_layout()
    return save_figure(figure, path)


def gain_by_factor(rows: Sequence[ResultRow]) -> dict[tuple, dict[int, Stat]]:
    """Rank-1 gain over ``none`` per factor: ``(dataset, preset, trainer, ranker, generator) -> {K: Stat}``.

    The Stat's mean is the mean over seeds of the generator's rank-1 minus the mean rank-1 of ``none``
    under the same dataset, preset and protocol; its std and n are those of the generator's seeds.
    Generators without such ``none`` rows are left out.
    """
    baseline: dict[tuple, list[float]] = defaultdict(list)
    series: dict[tuple, dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
    for row in rows:
        context = (row.dataset, row.preset, row.trainer, row.ranker)
        if row.generator == NO_GENERATOR:
            baseline[context].append(row.rank1)
        else:
            series[(*context, row.generator)][row.factor].append(row.rank1)
    gains = {}
    for key, by_factor in sorted(series.items()):
        if key[:4] in baseline:
            base = summarize(baseline[key[:4]]).mean
            gains[key] = {k: _shift(summarize(values), -base) for k, values in sorted(by_factor.items())}
    return gains


def _shift(stat: Stat, offset: float) -> Stat:
    return Stat(stat.mean + offset, stat.std, stat.n)


def plot_gain_vs_factor(rows: Sequence[ResultRow], path: str | os.PathLike, *,
                        size_px: tuple[int, int] = (640, 480)) -> Path:
    """Rank-1 gain over ``none`` against factor K (:func:`gain_by_factor`), one axes per dataset and one
    line per generator x protocol (and preset), with sample-std error bars over seeds."""
    gains = gain_by_factor(rows)
    if not gains:
        raise ReidBenchError("no generator rows share dataset, preset and protocol with rows of generator none, "
                             "so there is no gain to plot; include the none runs.")
    datasets = sorted({key[0] for key in gains})
    presets = {key[1] for key in gains}
    figure = figure_of_size(size_px)
    for index, dataset in enumerate(datasets, 1):
        axes = figure.add_subplot(1, len(datasets), index)
        for key in (k for k in gains if k[0] == dataset):
            factors = list(gains[key])
            stats = [gains[key][k] for k in factors]
            label = f"{key[4]}, {protocol_label(key[2:4])}" + (f" ({key[1]})" if len(presets) > 1 else "")
            axes.errorbar(factors, [s.mean for s in stats], yerr=[0 if s.n < 2 else s.std for s in stats],
                          marker="o", capsize=3, label=label)
        axes.axhline(0, color="grey", linewidth=0.8)
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.set_xlabel("factor K")
        axes.set_ylabel("rank-1 gain over none (points)")
        axes.set_title(dataset)
        axes.grid(alpha=0.3)
        axes.legend(fontsize="small")
    figure.tight_layout()
    return save_figure(figure, path)
