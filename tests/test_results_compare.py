"""compare: pairs, differences, mean ± std over seeds, paired t-test, unmatched rows (numbers by hand)."""

from __future__ import annotations

import dataclasses
import math

import pytest
from results_fixtures import row

from reid_bench.errors import ReidBenchError
from reid_bench.results.compare import compare_rows, format_comparison
from reid_bench.results.stats import paired_p_value, summarize


def _three_seeds(rank1s, maps, **changes):
    return [row(seed=seed, rank1=r1, mAP=m, **changes) for seed, (r1, m) in enumerate(zip(rank1s, maps))]


def test_summarize_by_hand():
    stat = summarize([70.0, 72.0, 74.0])
    assert (stat.mean, stat.std, stat.n) == (72.0, 2.0, 3)
    assert stat.text() == "72.00 ± 2.00 (n=3)"
    one = summarize([80.0])
    assert one.n == 1 and math.isnan(one.std) and one.text() == "80.00 (n=1)"


def test_paired_p_value_by_hand():
    # differences 1, 2, 3: t = 2 / (1 / sqrt 3) = 3.4641 with 2 degrees of freedom, where the
    # two-sided p-value is 1 - t / sqrt(2 + t^2) = 1 - 3.4641 / 3.7417 = 0.0742.
    assert paired_p_value([70, 72, 75], [69, 70, 72]) == pytest.approx(0.07418, abs=1e-4)
    assert paired_p_value([70], [69]) is None  # n < 2
    assert paired_p_value([70, 72], [69, 71]) is None  # constant difference


def test_compare_rows_matches_and_summarises():
    a = _three_seeds([70, 72, 75], [40, 41, 45]) + [row(ranker="xqda", rank1=71)]
    b = _three_seeds([69, 70, 72], [40, 40, 40], config_hash="other") + [row(trainer="siamese")]
    result = compare_rows(a, b)
    assert [pair.a.rank1 - pair.b.rank1 for pair in result.pairs] == [1, 2, 3]
    (summary,) = result.summaries
    assert summary.protocol == ("market1501", "none", 1, "n/a", "cpu-a", "ide", "euclidean")
    assert summary.a_rank1.mean == pytest.approx(72.3333, abs=1e-4)  # 70, 72, 75
    assert summary.a_rank1.std == pytest.approx(2.5166, abs=1e-4)  # sqrt((5.444 + 0.111 + 7.111) / 2)
    assert (summary.d_rank1.mean, summary.d_rank1.std) == (2.0, 1.0)
    assert (summary.d_mAP.mean, summary.d_mAP.n) == (2.0, 3)  # mAP differences 0, 1, 5
    assert summary.p_rank1 == pytest.approx(0.07418, abs=1e-4)
    assert [r.ranker for r in result.only_a] == ["xqda"]
    assert [r.trainer for r in result.only_b] == ["siamese"]
    text = format_comparison(result, "a.csv", "b.csv")
    assert "A = a.csv" in text and "difference = A - B" in text
    assert "+3.00" in text and "+2.00 ± 1.00" in text and "p=0.074" in text
    assert "only in A (1 row):" in text and "only in B (1 row):" in text


def test_compare_by_generator():
    san = _three_seeds([73, 75, 77], [44, 45, 46], generator="san")
    none = _three_seeds([70, 72, 74], [40, 41, 45])
    result = compare_rows(san, none, by="generator")
    assert result.fields == ("dataset", "processor", "trainer", "ranker", "seed")
    (summary,) = result.summaries
    assert (summary.d_rank1.mean, summary.d_rank1.std) == (3.0, 0.0)
    assert summary.p_rank1 is None  # every seed gained exactly 3
    # mAP differences 4, 4, 1: mean 3, deviations 1, 1, -2, sample std sqrt(6 / 2) = 1.7321
    assert (summary.d_mAP.mean, summary.d_mAP.std) == (3.0, pytest.approx(1.7321, abs=1e-4))
    text = format_comparison(result)
    assert "san K=2" in text and "none K=1" in text and "p n/a" in text
    # the same file holds two generators for one (dataset, trainer, ranker, seed): ambiguous
    with pytest.raises(ReidBenchError,
                       match="two rows for dataset=market1501 processor=cpu-a trainer=ide ranker=euclidean seed=0"):
        compare_rows(san + none, none, by="generator", names=("mixed.csv", "none.csv"))


def test_single_seed_has_no_test_and_no_summary_block():
    result = compare_rows([row()], [row(rank1=69.0)])
    assert result.summaries[0].p_rank1 is None
    assert "per protocol" not in format_comparison(result)


def test_no_overlap_says_so():
    text = format_comparison(compare_rows([row()], [row(generator="san")]))
    assert "no row of A matches a row of B; to compare two generators use --by generator." in text


def test_rows_of_two_processors_are_never_paired():
    here = [dataclasses.replace(r, processor="cpu-b") for r in _three_seeds([70, 72, 74], [40, 41, 45])]
    san = _three_seeds([73, 75, 77], [44, 45, 46], generator="san")
    result = compare_rows(san, here, by="generator")
    assert result.pairs == [] and len(result.only_a) == len(result.only_b) == 3
    text = format_comparison(result)
    assert "A's rows come from cpu-a and B's from cpu-b, and rows of two processors are not paired." in text
    mixed = compare_rows(san, here + _three_seeds([70, 72, 74], [40, 41, 45]), by="generator")
    assert [pair.b.processor for pair in mixed.pairs] == ["cpu-a"] * 3  # the same processor's none, not the other
