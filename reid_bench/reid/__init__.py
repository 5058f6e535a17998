"""Re-ID trainers (IDE, Siamese) and feature extraction; their settings are
:class:`reid_bench.presets.ReidSettings`.

``train_reid(records, "ide", presets.get("quick").reid)`` trains (resuming from ``checkpoint.pt`` when one
is there), ``load_checkpoint(path)`` rebuilds the network, ``extract_features(model, records,
settings)`` gives an ``(N, D)`` array for the rankers.
"""

from reid_bench.reid.features import extract_features
from reid_bench.reid.train import TrainedModel, load_checkpoint, train_reid
from reid_bench.reid.trainers import TRAINERS, Trainer

__all__ = [
    "TRAINERS",
    "TrainedModel",
    "Trainer",
    "extract_features",
    "load_checkpoint",
    "train_reid",
]
