"""reid-bench: does pose-guided person image generation help person re-identification?

One import namespace, ``reid_bench``: the harness (data, augmentation, Re-ID trainers, rankers,
evaluation, image quality, results, the run pipeline, the CLI) and the generators
(``reid_bench.generators``: the interface, the GAN loop and SAN; ``reid_bench.baselines``), which
install from the repository's top-level ``generators/`` and ``baselines/`` folders.
"""

try:
    from reid_bench._version import __version__  # written by setuptools-scm when installed
except ImportError:  # a source tree that was never installed
    __version__ = "0+unknown"
