"""reid-bench: does pose-guided person image generation help person re-identification?

The harness (data, augmentation, Re-ID trainers, rankers, evaluation, results, CLI) lives here;
generators live in the sibling packages ``generators`` (SAN) and ``baselines``.
"""

__version__ = "0.1.0"
