"""Re-ID trainers (IDE, Siamese), feature extraction and their settings.

``train_reid(records, "ide", preset("quick"))`` trains (resuming from ``checkpoint.pt`` when one
is there), ``load_checkpoint(path)`` rebuilds the network, ``extract_features(model, records,
settings)`` gives an ``(N, D)`` array for the rankers.
"""

from reid_bench.reid.config import PRESETS, ReidSettings, preset
from reid_bench.reid.features import extract_features
from reid_bench.reid.train import TRAINERS, TrainedModel, load_checkpoint, train_reid

__all__ = [
    "PRESETS",
    "TRAINERS",
    "ReidSettings",
    "TrainedModel",
    "extract_features",
    "load_checkpoint",
    "preset",
    "train_reid",
]
