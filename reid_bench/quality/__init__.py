"""Generator image quality: FID, LPIPS, mask-LPIPS, SSIM, mask-SSIM, L1, PSNR, identity preservation.

================  ========================================================================
fid               FID (Heusel et al. 2017) with pytorch-fid's Inception, weights from disk
lpips_metric      LPIPS v0.1 AlexNet (Zhang et al. CVPR 2018) and GFLA's mask-LPIPS
ssim              SSIM (Wang et al. 2004) and mask-SSIM (Ma et al. PG2 2017) as PATN; L1, PSNR
identity          identity preservation with a Re-ID model trained on real images
bootstrap         percentile bootstrap intervals over pairs
protocols         ``gfla2020`` (GFLA CVPR 2020's FID reference: the training split) and ``test-targets``
folder            a folder of ``<from>___<to>.png`` images, checked against its dataset and pairs
metric_weights    the metrics' files found offline; ``reid-bench weights``
evaluate          ``eval-generator``: all metrics over a folder or a trained generator
rows              image-quality CSV rows (DESIGN.md schema), written atomically
table             Table 1 in Markdown / LaTeX beside the published numbers
================  ========================================================================

Typical use (what ``reid-bench eval-generator`` does)::

    from reid_bench.quality import QualitySettings, evaluate_folder, load_networks, write_rows
    settings = QualitySettings(protocol="gfla2020")
    networks = load_networks(settings, reid_checkpoint="runs/ide/checkpoint.pt")
    rows = evaluate_folder("generated/", "data/market", "san", networks=networks, settings=settings)
    write_rows("results/image-quality.csv", rows)

Submodules are imported on first use, so reading rows or rendering tables does not import torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "QualitySettings": "evaluate", "Networks": "evaluate", "load_networks": "evaluate",
    "evaluate_folder": "evaluate", "evaluate_checkpoint": "evaluate",
    "QualityRow": "rows", "read_rows": "rows", "write_rows": "rows",
    "render_table1": "table", "read_published": "table",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"reid_bench.quality.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
