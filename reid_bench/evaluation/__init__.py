"""Evaluation: the Market-1501 evaluator over a distance matrix (:mod:`.metrics`), and a trained
Re-ID model's protocols, its features ranked by each ranker (:mod:`.protocols`)."""

from reid_bench.evaluation.metrics import EvaluationResult, evaluate

__all__ = ["EvaluationResult", "evaluate"]
