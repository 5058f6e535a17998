"""Which registered generators can train on a dataset folder now, and what each one lacks.

``reid-bench data prepare`` ends with this list. For each generator of the registry (by its
``needs``: parsing, mask, keypoints, heatmap), the training pairs it would get
(:class:`reid_bench.data.PoseTransferPairs` with the generator's name, which raises the one sentence
of :mod:`reid_bench.data.inputs` when none is left: what is missing, for how many images, and the
command that makes it). A generator that reads a SynthPeople render itself (``needs_data_root``,
``synth-oracle``) is listed only on a SynthPeople folder.
"""

from __future__ import annotations

from dataclasses import dataclass

from reid_bench.data import PoseTransferPairs, ReidDataset
from reid_bench.data.inputs import missing_pairs_message
from reid_bench.errors import ReidBenchError
from reid_bench.generators.registry import get, names, title


@dataclass(frozen=True)
class Readiness:
    lines: tuple[tuple[str, str], ...]  # (generator, "ready: N training pairs" or the missing sentence)

    def __str__(self) -> str:
        width = max((len(name) for name, _ in self.lines), default=0)
        rows = [f"  {name:<{width}}  {state}" for name, state in self.lines]
        return "\n".join(["generators on this folder now:", *rows])


def readiness(dataset: ReidDataset) -> Readiness:
    """The state of every registered generator on ``dataset``'s training split (module docstring)."""
    lines, by_needs = [], {}
    has_pairs = dataset.pairs_path("train") is not None
    for name in names():
        generator = get(name)
        if getattr(generator, "needs_data_root", False) and dataset.kind != "synthpeople":
            continue
        if not has_pairs:
            lines.append((name, missing_pairs_message(dataset, "train", title(name))))
            continue
        if generator.needs not in by_needs:
            try:
                pairs = PoseTransferPairs(dataset, "train", needs=generator.needs, who="{who}")
                by_needs[generator.needs] = f"ready: {len(pairs):,} training pairs" + (
                    f" ({pairs.skipped_note()})" if pairs.skipped else "")
            except ReidBenchError as error:
                by_needs[generator.needs] = str(error)
        lines.append((name, by_needs[generator.needs].replace("{who}", title(name))))
    return Readiness(tuple(lines))
