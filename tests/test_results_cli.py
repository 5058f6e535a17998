"""reid-bench compare / tables: exit 0 on good input, 2 with one sentence on bad input."""

from __future__ import annotations

import pytest
from results_fixtures import row

from reid_bench.cli import main
from reid_bench.results.rows import append_rows


@pytest.fixture
def files(tmp_path):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    append_rows(a, [row(seed=s, rank1=70 + 2 * s) for s in range(3)] + [row(ranker="xqda")])
    append_rows(b, [row(generator="san", seed=s, rank1=72 + s) for s in range(3)])
    foreign = tmp_path / "foreign.csv"
    foreign.write_text("name,score\nx,1\n")
    return a, b, foreign


def _one_error_sentence(capsys):
    err = capsys.readouterr().err.strip()
    assert err.startswith("reid-bench: error: ") and "\n" not in err and err.endswith(".")
    return err


def test_compare_exit_codes(files, capsys):
    a, b, foreign = files
    assert main(["compare", str(a), str(a)]) == 0
    assert "+0.00" in capsys.readouterr().out
    assert main(["compare", str(b), str(a), "--by", "generator"]) == 0
    out = capsys.readouterr().out
    assert "san K=2" in out and "only in B (1 row):" in out
    assert main(["compare", str(a), str(foreign)]) == 2
    assert "foreign CSV" in _one_error_sentence(capsys)
    assert main(["compare", str(a), str(a.parent / "missing.csv")]) == 2
    assert "does not exist" in _one_error_sentence(capsys)


def test_tables_exit_codes(files, tmp_path, capsys):
    a, b, foreign = files
    assert main(["tables", str(a), str(b), "--out", str(tmp_path / "t")]) == 0
    captured = capsys.readouterr()
    assert "## market1501 (preset quick; cpu-a)" in captured.out and "wrote" in captured.err
    assert (tmp_path / "t" / "reid_table.md").stat().st_size > 0
    assert main(["tables", str(foreign)]) == 2
    assert "foreign CSV" in _one_error_sentence(capsys)
    assert main(["tables", str(tmp_path / "t")]) == 2  # a folder with no results rows
    assert "hold no Re-ID or image-quality rows" in _one_error_sentence(capsys)
