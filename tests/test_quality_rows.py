"""Image-quality CSV rows: round trip, merge on rerun, one-sentence errors for other files."""

from __future__ import annotations

from pathlib import Path

import pytest

from reid_bench.errors import ReidBenchError
from reid_bench.quality.rows import QUALITY_FIELDS, QualityRow, read_rows, write_rows


def _row(metric: str = "SSIM", value: float | None = 0.71, generator: str = "san",
         protocol: str = "gfla2020: PATN SSIM") -> QualityRow:
    ci = (None, None) if value is None else (value - 0.01, value + 0.01)
    return QualityRow("market", generator, metric, value, *ci, 12000, protocol, "none needed")


def test_round_trip_keeps_values_and_empty_cells(tmp_path: Path) -> None:
    path = tmp_path / "quality.csv"
    rows = [_row(), _row("FID", None, protocol="gfla2020: reference = x, y"), _row("PSNR", float("inf"))]
    write_rows(path, rows)
    assert path.read_text().splitlines()[0] == ",".join(QUALITY_FIELDS)
    back = read_rows(path)
    assert back[0] == rows[0]
    assert back[1].missing and back[1].ci_low is None and back[1].protocol == "gfla2020: reference = x, y"
    assert back[2].value == float("inf")


def test_rewriting_replaces_same_metric_and_protocol_and_keeps_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "quality.csv"
    write_rows(path, [_row(), _row(generator="patn"), _row(protocol="test-targets: PATN SSIM")])
    write_rows(path, [_row(value=0.9)])
    rows = read_rows(path)
    assert len(rows) == 3
    assert [(r.generator, r.protocol.split(":")[0], r.value) for r in rows] == [
        ("patn", "gfla2020", 0.71), ("san", "test-targets", 0.71), ("san", "gfla2020", 0.9)]
    assert not list(tmp_path.glob(".*.tmp"))


def test_other_files_are_one_sentence(tmp_path: Path) -> None:
    with pytest.raises(ReidBenchError, match="does not exist"):
        read_rows(tmp_path / "none.csv")
    reid = tmp_path / "reid.csv"
    reid.write_text("dataset,generator,factor,trainer,ranker,seed,rank1,mAP\nmarket,none,1,ide,euclidean,0,80,60\n")
    with pytest.raises(ReidBenchError, match="Re-ID result rows"):
        read_rows(reid)
    foreign = tmp_path / "foreign.csv"
    foreign.write_text("a,b\n1,2\n")
    with pytest.raises(ReidBenchError, match="not an image-quality CSV.*eval-generator"):
        read_rows(foreign)
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(ReidBenchError, match="not UTF-8"):
        read_rows(binary)


def test_bad_cells_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "quality.csv"
    header = ",".join(QUALITY_FIELDS)
    path.write_text(f"{header}\nmarket,san,SSIM,high,,,10,gfla2020: x,none\n")
    with pytest.raises(ReidBenchError, match="line 2: value 'high' is not a number"):
        read_rows(path)
    path.write_text(f"{header}\nmarket,san,SSIM,0.5,,,ten,gfla2020: x,none\n")
    with pytest.raises(ReidBenchError, match="line 2: n_pairs 'ten'"):
        read_rows(path)
    path.write_text(f"{header}\nmarket,san,SSIM\n")
    with pytest.raises(ReidBenchError, match="line 2: expected 9 columns"):
        read_rows(path)
