"""The Re-ID augmentation table on hand-made rows: means, sample stds, gains and published rows by hand."""

from __future__ import annotations

import csv
import dataclasses
import io

import pytest
from results_fixtures import row

from reid_bench.errors import ReidBenchError
from reid_bench.quality.rows import QUALITY_FIELDS
from reid_bench.results.published import PublishedRow, same_dataset
from reid_bench.results.rows import append_rows
from reid_bench.results.table_files import default_out, write_tables
from reid_bench.results.tables import build_sections, protocol_label, render_reid_table

PUBLISHED = [
    PublishedRow("reid", "market1501", "none (IDE ResNet-50)", "euclidean", "rank1", 75.62, "IDE README"),
    PublishedRow("reid", "market1501", "none (IDE ResNet-50)", "euclidean", "mAP", 50.68, "IDE README"),
    PublishedRow("reid", "market1501", "none (Siamese ResNet-50)", "euclidean", "rank1", 80.82, "Siamese README"),
    PublishedRow("reid", "market1501", "none (BoT)", "cosine", "rank1", 94.4, "fast-reid MODEL_ZOO"),
    PublishedRow("reid", "deepfashion", "none (other)", "euclidean", "rank1", 11.0, "a deepfashion source"),
    PublishedRow("generation", "market1501", "SAN", "gfla2020", "FID", 14.142, "SAN paper"),
]


def hand_rows():
    """none: rank-1 70, 72, 74 (mean 72, std 2); mAP 40, 41, 45 (mean 42, std sqrt(14 / 2) = 2.6458).
    san K=2: rank-1 73, 76 (mean 74.5, std sqrt(4.5) = 2.1213); mAP 44, 46 (mean 45, std 1.4142), on
    none's seeds 0 and 1 only, so its gain is over those: (73 - 70 + 76 - 72) / 2 = 3.5 rank-1,
    (44 - 40 + 46 - 41) / 2 = 4.5 mAP (the difference of all the means would be 2.5 / 3.0).
    Siamese none: one seed, 80 / 60."""
    rows = [row(seed=s, rank1=r1, mAP=m) for s, r1, m in ((0, 70, 40), (1, 72, 41), (2, 74, 45))]
    rows += [row(generator="san", seed=s, rank1=r1, mAP=m) for s, r1, m in ((0, 73, 44), (1, 76, 46))]
    rows.append(row(trainer="siamese", rank1=80, mAP=60))
    return rows


def test_sections_by_hand():
    (section,) = build_sections(hand_rows(), PUBLISHED)
    assert section.protocols == [("ide", "euclidean"), ("ide", "xqda"), ("ide", "kissme"), ("siamese", "euclidean")]
    none, san = section.lines
    assert (none.generator, san.generator, san.factor) == ("none", "san", 2)
    cell = none.cells[("ide", "euclidean")]
    assert (cell.rank1.mean, cell.rank1.std, cell.rank1.n) == (72.0, 2.0, 3)
    assert (cell.mAP.mean, cell.mAP.std) == (42.0, pytest.approx(2.6458, abs=1e-4))
    assert section.gain(san, ("ide", "euclidean")) == (3.5, 4.5)  # over seeds 0 and 1, not none's seed 2
    assert section.gain(san, ("siamese", "euclidean")) is None  # san has no Siamese run
    assert [p.method for p in section.published_in_columns()] == ["none (IDE ResNet-50)", "none (Siamese ResNet-50)"]
    elsewhere = [(p.method, protocol) for p, protocol in section.published_elsewhere()]
    assert elsewhere == [("none (BoT)", ("ide", "cosine"))]


def test_a_gain_needs_a_seed_in_common_with_none():
    rows = [row(seed=0, rank1=70, mAP=40), row(generator="san", seed=5, rank1=90, mAP=60)]
    (section,) = build_sections(rows)
    assert section.gain(section.lines[1], ("ide", "euclidean")) is None
    assert "| san | 2 | — |" in render_reid_table(rows)["markdown"]


def test_rows_of_two_processors_make_two_sections_each_against_its_own_none():
    other = [dataclasses.replace(r, processor="cpu-b", rank1=r.rank1 - 10, rank5=r.rank5 - 10, rank10=r.rank10 - 10)
             for r in hand_rows() if r.generator == "none"]
    first, second = build_sections(hand_rows() + other)
    assert (first.processor, second.processor) == ("cpu-a", "cpu-b")
    assert [line.generator for line in second.lines] == ["none"]
    assert second.lines[0].cells[("ide", "euclidean")].rank1.mean == 62.0  # not averaged with cpu-a's 72
    assert first.gain(first.lines[1], ("ide", "euclidean")) == (3.5, 4.5)  # against cpu-a's none alone
    assert "## market1501 (preset quick; cpu-b)" in render_reid_table(hand_rows() + other)["markdown"]


def test_markdown_by_hand():
    markdown = render_reid_table(hand_rows(), PUBLISHED)["markdown"]
    assert "## market1501 (preset quick; cpu-a)" in markdown
    assert "| Generator | K | IDE + Euclidean | IDE + XQDA | IDE + KISSME | Siamese |" in markdown
    assert "| none | 1 | 72.00 ± 2.00 / 42.00 ± 2.65 (n=3) | — | — | 80.00 / 60.00 (n=1) |" in markdown
    assert "| san | 2 | 74.50 ± 2.12 / 45.00 ± 1.41 (n=2) | — | — | — |" in markdown
    assert "| san | 2 | +3.50 / +4.50 | — | — | — |" in markdown  # gain over none, seeds 0 and 1
    assert "| *published:* none (IDE ResNet-50) [1] |  | 75.62 / 50.68 | — | — | — |" in markdown
    assert "| *published:* none (Siamese ResNet-50) [2] |  | — | — | — | 80.82 / — |" in markdown
    assert "[1] IDE README" in markdown and "[3] fast-reid MODEL_ZOO" in markdown
    assert "none (BoT), cosine: rank-1 / mAP 94.40 / — [3]" in markdown
    assert "deepfashion source" not in markdown and "FID" not in markdown  # other dataset, other table


def test_latex_and_csv_by_hand():
    rendered = render_reid_table(hand_rows(), PUBLISHED)
    latex = rendered["latex"]
    assert r"none & 1 & $72.00 \pm 2.00$ / $42.00 \pm 2.65$ (n=3) & -- & -- & $80.00$ / $60.00$ (n=1) \\" in latex
    assert r"san & 2 & $+3.50$ / $+4.50$ & -- & -- & -- \\" in latex
    assert r"\begin{tabular}{llcccc}" in latex and r"\end{tabular}" in latex
    lines = list(csv.DictReader(io.StringIO(rendered["csv"])))
    san = next(line for line in lines if line["generator"] == "san")
    assert (san["kind"], san["factor"], san["n"]) == ("ours", "2", "2")
    assert (san["rank1_mean"], san["rank1_std"]) == ("74.5", "2.1213")
    assert (san["rank1_gain"], san["mAP_gain"]) == ("3.5", "4.5")
    ide = next(line for line in lines if line["generator"] == "none (IDE ResNet-50)")
    assert (ide["kind"], ide["rank1_mean"], ide["mAP_mean"]) == ("published", "75.62", "50.68")
    assert ide["source"] == "IDE README"


def test_extra_protocols_presets_marks_and_escaping():
    rows = [row(ranker="xqda+rerank"), row(preset="market", dataset="market", pretrained=False),
            row(generator="my_gan", perceptual="off (vgg19 weights missing)")]
    sections = build_sections(rows, PUBLISHED)
    assert [(s.dataset, s.preset) for s in sections] == [("market", "market"), ("market1501", "quick")]
    assert sections[1].protocols[-1] == ("ide", "xqda+rerank")
    assert protocol_label(("ide", "xqda+rerank")) == "IDE + XQDA + re-ranking"
    assert [p.method for p in sections[0].published_in_columns()][0] == "none (IDE ResNet-50)"  # market = market1501
    rendered = render_reid_table(rows)
    assert "(n=1)† |" in rendered["markdown"] and "† backbone trained without ImageNet" in rendered["markdown"]
    assert "(n=1)‡ |" in rendered["markdown"]
    assert r"my\_gan" in rendered["latex"] and r"$^\ddagger$" in rendered["latex"]
    assert same_dataset("Market-1501", "market1501") and not same_dataset("market", "deepfashion")


def test_cells_that_cannot_be_averaged():
    with pytest.raises(ReidBenchError, match="seed 0 of market1501 none K=1 ide euclidean appears in two runs"):
        build_sections([row(), row(config_hash="cfg1")])
    with pytest.raises(ReidBenchError, match="differ in pretrained"):
        build_sections([row(), row(seed=1, pretrained=False)])
    with pytest.raises(ReidBenchError, match="no Re-ID result rows"):
        render_reid_table([])


def test_write_tables_files_and_default_folder(tmp_path):
    results = tmp_path / "runs"
    append_rows(results / "a.csv", hand_rows()[:3])
    append_rows(results / "b.csv", hand_rows()[3:] + [row(generator="san", factor=3, rank1=75, mAP=43)])
    published = tmp_path / "published.csv"
    published.write_text("table,dataset,method,protocol,metric,value,source\n"
                         "reid,market1501,none (IDE ResNet-50),euclidean,rank1,75.62,IDE README\n")
    report = write_tables([results / "a.csv", results / "b.csv"], published=published)
    assert report.out == results / "tables" == default_out([results / "a.csv"])
    assert sorted(p.name for p in report.written) == ["gain_vs_factor.png", "reid_table.csv", "reid_table.md",
                                                      "reid_table.tex"]
    assert all(p.stat().st_size > 0 for p in report.written)
    assert "| san | 3 | 75.00 / 43.00 (n=1) |" in (results / "tables" / "reid_table.md").read_text()
    assert "IDE README" in report.markdown
    # a folder: its CSVs, published.csv among them, the tables/ sub-folder is not read back
    (results / "published.csv").write_text(published.read_text())
    again = write_tables([results], out=tmp_path / "out")
    assert again.skipped == [] and "IDE README" in again.markdown
    assert default_out([results]) == results / "tables"


def test_write_tables_adds_table1_for_quality_rows(tmp_path):
    append_rows(tmp_path / "reid.csv", hand_rows())
    quality = tmp_path / "quality.csv"
    quality.write_text(",".join(QUALITY_FIELDS) + "\n"
                       "market1501,san,LPIPS,0.2500,0.2400,0.2600,100,gfla2020: LPIPS on 256x176,alexnet\n")
    report = write_tables([tmp_path], out=tmp_path / "t")
    names = sorted(p.name for p in report.written)
    assert names == ["reid_table.csv", "reid_table.md", "reid_table.tex", "table1.csv", "table1.md", "table1.tex"]
    table1 = (tmp_path / "t" / "table1.md").read_text()
    assert "0.2500" in table1 and "0.2632" in table1  # ours beside the paper's SAN LPIPS (results/published.csv)
    only_quality = write_tables([quality], out=tmp_path / "q")
    assert sorted(p.name for p in only_quality.written) == ["table1.csv", "table1.md", "table1.tex"]
