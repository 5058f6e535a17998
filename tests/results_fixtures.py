"""Hand-made Re-ID result rows for the tests of ``reid_bench.results``."""

from __future__ import annotations

from reid_bench.results.rows import ResultRow

BASE = dict(dataset="market1501", generator="none", factor=1, trainer="ide", ranker="euclidean", seed=0,
            rank1=70.0, rank5=90.0, rank10=95.0, mAP=40.0, mINP=10.0, n_real=100, n_generated=0,
            preset="quick", pretrained=True, perceptual="n/a", recipe="n/a", processor="cpu-a", config_hash="cfg0",
            commit="abc123",
            started="2024-05-01T12:00:00+00:00", wall_s=12.5)


def row(**changes: object) -> ResultRow:
    """A valid row with ``changes``; a generator other than none gets factor 2 and generated images."""
    values = dict(BASE)
    if changes.get("generator", "none") != "none":
        values.update(factor=2, n_generated=100, recipe="default", config_hash="cfg-" + str(changes["generator"]))
    values.update(changes)
    return ResultRow(**values)
