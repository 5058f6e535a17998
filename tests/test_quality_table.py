"""Table 1 from hand-made image-quality rows and published numbers: Markdown, LaTeX, CSV."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from reid_bench.quality.rows import QualityRow
from reid_bench.quality.table import CSV_FIELDS, method_key, render_table1


@dataclass(frozen=True)
class Number:
    """A published number, shaped like reid_bench.results.published.PublishedRow."""

    dataset: str
    method: str
    protocol: str
    metric: str
    value: float
    source: str
    table: str = "generation"


PUBLISHED = [
    Number("market1501", "SAN", "gfla2020", "FID", 14.142, "SAN paper Table 1"),
    Number("market1501", "SAN", "gfla2020", "LPIPS", 0.2632, "SAN paper Table 1"),
    Number("market1501", "GFLA (Deep Image Spatial)", "gfla2020", "FID", 19.751, "SAN paper Table 1"),
    Number("market1501", "PATN", "gfla2020", "LPIPS", 0.3196, "GFLA CVPR 2020 Table 1 (recalled)"),
    Number("deepfashion", "SAN", "gfla2020", "FID", 8.732, "SAN paper Table 1"),
]


def _row(generator: str, metric: str, value: float | None, ci: tuple[float, float] | None = None,
         dataset: str = "market", protocol: str = "gfla2020", weights: str = "w") -> QualityRow:
    low, high = ci or (None, None)
    return QualityRow(dataset, generator, metric, value, low, high, 12000, f"{protocol}: rule of {metric}", weights)


ROWS = [
    _row("san", "FID", 15.0312, weights="pt_inception-2015-12-05-6726825d.pth (sha256 6726825d)"),
    _row("san", "LPIPS", 0.27011, (0.26512, 0.27534)),
    _row("san", "SSIM", 0.3141, (0.31, 0.318)),
    _row("patn", "FID", None, weights="missing: pt_inception-2015-12-05-6726825d.pth (looked in /x)"),
    _row("san", "SSIM", 0.52, (0.5, 0.54), dataset="synthpeople", protocol="test-targets"),
]


def test_method_names_match_the_papers() -> None:
    assert method_key("GFLA (Deep Image Spatial)") == method_key("gfla") == "gfla"
    assert method_key("VU-Net") == method_key("vunet")
    assert method_key("Def-GAN") == method_key("defgan") and method_key("SAN") == method_key("san")


def test_markdown_puts_ours_beside_the_paper() -> None:
    markdown = render_table1(ROWS, PUBLISHED)["markdown"]
    market = markdown.split("### ")[1]
    assert market.startswith("Table 1 — Market-1501, protocol gfla2020")
    lines = market.splitlines()
    header = next(line for line in lines if line.startswith("| Method"))
    assert header == ("| Method | FID ↓ (ours) | FID (paper) | LPIPS ↓ (ours) | LPIPS (paper) | SSIM ↑ (ours) |")
    san = next(line for line in lines if line.startswith("| SAN "))
    assert san == "| SAN | 15.031 | 14.142 | 0.2701 [0.2651, 0.2753] | 0.2632 | 0.3141 [0.3100, 0.3180] |"
    patn = next(line for line in lines if line.startswith("| PATN "))
    assert patn == "| PATN | missing | – | – | 0.3196 | – |"
    gfla = next(line for line in lines if line.startswith("| GFLA (Deep Image Spatial) "))
    assert gfla.split(" | ")[1:3] == ["–", "19.751"]
    notes = "\n".join(line for line in lines if line.startswith("- "))
    assert "Protocol: gfla2020: FID reference = every image of the training split folder" in notes
    assert "Ours, FID: gfla2020: rule of FID; weights: missing: pt_inception" in notes
    assert "Paper values: GFLA CVPR 2020 Table 1 (recalled); SAN paper Table 1." in notes


def test_sections_per_dataset_and_protocol() -> None:
    markdown = render_table1(ROWS, PUBLISHED)["markdown"]
    titles = [part.splitlines()[0] for part in markdown.split("### ")[1:]]
    assert titles == ["Table 1 — Market-1501, protocol gfla2020", "Table 1 — SynthPeople, protocol test-targets",
                      "Table 1 — DeepFashion, protocol gfla2020"]
    synth = markdown.split("### ")[2]
    assert "(paper)" not in synth  # published numbers were measured under gfla2020 on other data
    assert "Protocol: test-targets: FID reference = the real target images" in synth
    deepfashion = markdown.split("### ")[3]
    assert "| SAN | – | 8.732 |" in deepfashion


def test_latex_is_balanced_and_escaped() -> None:
    latex = render_table1(ROWS, PUBLISHED)["latex"]
    assert latex.count(r"\begin{table}") == latex.count(r"\end{table}") == 3
    assert latex.count(r"\begin{tabular}") == latex.count(r"\end{tabular}") == 3
    assert r"\multicolumn{2}{c}{FID $\downarrow$} & \multicolumn{2}{c}{LPIPS $\downarrow$} & " \
           r"\multicolumn{1}{c}{SSIM $\uparrow$} \\" in latex
    assert r"SAN & 15.031 & 14.142 & 0.2701 {\scriptsize [0.2651, 0.2753]} & 0.2632" in latex
    assert "pt\\_inception-2015-12-05-6726825d.pth" in latex and "10 log10(255\\textasciicircum{}2" in latex
    assert "_inception" not in latex.replace("\\_inception", "")


def test_csv_lists_every_cell() -> None:
    rendered = render_table1(ROWS, PUBLISHED)["csv"]
    rows = list(csv.DictReader(io.StringIO(rendered)))
    assert tuple(rows[0]) == CSV_FIELDS
    san_lpips = next(r for r in rows
                     if r["method"] == "SAN" and r["metric"] == "LPIPS" and r["dataset"] == "market1501")
    assert (san_lpips["ours"], san_lpips["ci_low"], san_lpips["paper"]) == ("0.27011", "0.26512", "0.2632")
    patn_fid = next(r for r in rows if r["method"] == "PATN" and r["metric"] == "FID")
    assert patn_fid["ours"] == "" and patn_fid["paper"] == ""
    assert len(rows) == 8  # market: SAN x3, GFLA, PATN x2; SynthPeople: san; DeepFashion: SAN


def test_published_only_and_ours_only() -> None:
    assert "| SAN | – | 14.142 |" in render_table1([], PUBLISHED[:1])["markdown"]
    alone = render_table1(ROWS[:1], [])["markdown"]
    assert "| san | 15.031 |" in alone and "(paper)" not in alone
