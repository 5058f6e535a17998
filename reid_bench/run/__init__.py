"""``reid-bench run``: the whole experiment (:mod:`.pipeline`) and what it prints and draws at the
end (:mod:`.summary`)."""

from reid_bench.run.pipeline import RunRequest, RunSummary, run

__all__ = ["RunRequest", "RunSummary", "run"]
