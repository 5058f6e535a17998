"""Result rows: validation, atomic append, refusal of foreign files, duplicate keys, reading any kind."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from results_fixtures import BASE, row

from reid_bench.errors import ReidBenchError
from reid_bench.results.inputs import collect, read_any
from reid_bench.results.rows import REID_COLUMNS, ResultRow, append_rows, existing_keys, read_rows, row_exists

HEADER = ",".join(REID_COLUMNS)
GOOD_LINE = ("market1501,none,1,ide,euclidean,0,70.0,90.0,95.0,40.0,10.0,100,0,quick,true,n/a,n/a,cpu-a,cfg0,abc,"
             "2024-05-01T12:00:00,1.5")
BEFORE_PROCESSOR_LINE = ("market1501,san,3,ide,euclidean,0,70.0,90.0,95.0,40.0,10.0,100,200,quick,true,n/a,"
                         "pose=random,cfg0,abc,2024-05-01T12:00:00,1.5")
LEGACY_LINE = ("market1501,san,3,ide,euclidean,0,70.0,90.0,95.0,40.0,10.0,100,200,quick,true,n/a,cfg0,abc,"
               "2024-05-01T12:00:00,1.5")


def test_columns_are_the_design_schema():
    assert REID_COLUMNS == ("dataset", "generator", "factor", "trainer", "ranker", "seed", "rank1", "rank5",
                            "rank10", "mAP", "mINP", "n_real", "n_generated", "preset", "pretrained",
                            "perceptual", "recipe", "processor", "config_hash", "commit", "started", "wall_s")
    assert tuple(f.name for f in dataclasses.fields(ResultRow)) == REID_COLUMNS


def test_a_file_from_before_the_processor_column_reads_as_unrecorded_and_never_hides_a_row_made_here(tmp_path):
    before = ",".join(name for name in REID_COLUMNS if name != "processor")
    path = tmp_path / "old.csv"
    path.write_text(before + "\n" + BEFORE_PROCESSOR_LINE + "\n")
    (old,) = read_rows(path)
    assert (old.recipe, old.processor) == ("pose=random", "unrecorded")
    here = dataclasses.replace(old, processor="AMD EPYC (family 26, model 2)", rank1=72.0, rank5=90.0)
    assert not row_exists(path, here.key)  # another processor's row (or an unknown one) is not this one
    assert append_rows(path, [here]) == [here]  # both kept: same config, seed and ranker, two processors
    assert path.read_text().splitlines()[0] == HEADER
    assert [(r.processor, r.rank1) for r in read_rows(path)] == [("unrecorded", 70.0),
                                                                  ("AMD EPYC (family 26, model 2)", 72.0)]


def test_a_file_from_before_the_recipe_column_reads_as_the_default_recipe(tmp_path):
    legacy = ",".join(name for name in REID_COLUMNS if name not in ("recipe", "processor"))
    path = tmp_path / "old.csv"
    path.write_text(legacy + "\n" + LEGACY_LINE + "\n")
    (old,) = read_rows(path)
    assert (old.generator, old.recipe, old.n_generated) == ("san", "default", 200)
    added = append_rows(path, [row(generator="none", seed=5)])
    assert len(added) == 1 and path.read_text().splitlines()[0] == HEADER  # rewritten with the column
    assert [(r.recipe, r.processor) for r in read_rows(path)] == [("default", "unrecorded"), ("n/a", "cpu-a")]


@pytest.mark.parametrize("changes, words", [
    (dict(trainer="triplet"), "trainer 'triplet'"),
    (dict(rank1=101.0, rank5=101.0, rank10=101.0), "outside 0-100"),
    (dict(mAP=-0.5), "outside 0-100"),
    (dict(rank1=96.0), "do not increase"),
    (dict(factor=2), "generator none needs factor 1"),
    (dict(generator="san", factor=0), "factor 0"),
    (dict(ranker="xqda+rerank+rerank"), "not a ranker name"),
    (dict(started="yesterday"), "ISO 8601"),
    (dict(dataset=""), "dataset ''"),
])
def test_invalid_rows_are_refused(changes, words):
    with pytest.raises(ValueError, match=words.replace("+", r"\+")):
        row(**changes)


def test_rerank_ranker_and_round_trip(tmp_path):
    original = [row(), row(ranker="xqda+rerank", seed=1, rank1=71.25, pretrained=False),
                row(generator="san", perceptual="off (vgg19 weights missing; preset 'quick')")]
    path = tmp_path / "r.csv"
    assert append_rows(path, original) == original
    assert read_rows(path) == original
    assert path.read_text().splitlines()[0] == HEADER


def test_append_skips_existing_keys_and_row_exists(tmp_path):
    path = tmp_path / "r.csv"
    first = row()
    append_rows(path, [first])
    rerun = dataclasses.replace(first, wall_s=99.0, started="2024-06-01T00:00:00")
    new = row(seed=1)
    assert append_rows(path, [rerun, new]) == [new]
    assert [r.seed for r in read_rows(path)] == [0, 1]
    assert read_rows(path)[0].wall_s == 12.5
    assert row_exists(path, first.key)
    assert not row_exists(path, row(seed=2).key)
    assert existing_keys(tmp_path / "absent.csv") == set()
    assert first.key == ("market1501", "none", 1, "ide", "euclidean", 0, "cpu-a", "cfg0")


def test_append_accepts_dicts_and_refuses_same_key_twice(tmp_path):
    record = {**BASE, "rank1": "70.5"}
    assert append_rows(tmp_path / "r.csv", [record])[0].rank1 == 70.5
    with pytest.raises(ValueError, match="same key"):
        append_rows(tmp_path / "r.csv", [row(seed=3), row(seed=3)])


def test_append_refuses_a_foreign_header(tmp_path):
    path = tmp_path / "other.csv"
    path.write_text("name,score\na,1\n")
    with pytest.raises(ReidBenchError, match=r"other\.csv has another header.*give another --out file"):
        append_rows(path, [row()])
    assert path.read_text() == "name,score\na,1\n"


def test_append_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "r.csv"
    append_rows(path, [row()])
    before = path.read_bytes()
    calls = []

    def failing_to_record(self):
        calls.append(1)
        if len(calls) == 2:
            raise OSError("disk full")
        return original(self)

    original = ResultRow.to_record
    monkeypatch.setattr(ResultRow, "to_record", failing_to_record)
    with pytest.raises(OSError):
        append_rows(path, [row(seed=1), row(seed=2)])
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["r.csv"]  # no temporary left behind


@pytest.mark.parametrize("body, words", [
    ("name,score\na,1\n", r"foreign CSV.*give a results CSV"),
    ("", r"foreign CSV: its header \(empty\)"),
    (HEADER + "\n" + GOOD_LINE.replace(",70.0,", ",abc,") + "\n",
     r"line 2: rank1 'abc' is not a number; fix or delete"),
    (HEADER + "\n" + GOOD_LINE.replace(",ide,", ",triplet,") + "\n",
     r"line 2: trainer 'triplet' is not one of ide, siamese"),
    (HEADER + "\n" + GOOD_LINE.replace(",40.0,", ",140.0,") + "\n", r"line 2: mAP 140.0 is outside 0-100"),
    (HEADER + "\n" + GOOD_LINE + "\n" + GOOD_LINE.rsplit(",", 3)[0] + "\n", r"line 3 has 19 fields, expected 22"),
    (HEADER + "\n" + GOOD_LINE + "\n" + GOOD_LINE.replace(",1.5", ",2.5") + "\n",
     r"line 3 repeats the key .*seed=0.* of line 2; delete one"),
    (HEADER + "\n" + GOOD_LINE.replace(",true,", ",maybe,") + "\n", r"pretrained 'maybe' is not true or false"),
])
def test_bad_files_give_one_clear_sentence(tmp_path, body, words):
    path = tmp_path / "bad.csv"
    path.write_text(body)
    with pytest.raises(ReidBenchError, match=words) as caught:
        read_rows(path)
    message = str(caught.value)
    assert str(path) in message and "\n" not in message and message.endswith(".")


def test_missing_file(tmp_path):
    with pytest.raises(ReidBenchError, match="does not exist"):
        read_rows(tmp_path / "none.csv")


def test_read_any_recognises_kinds(tmp_path):
    reid = tmp_path / "reid.csv"
    append_rows(reid, [row()])
    assert read_any(reid) == ("reid", [row()])
    published = tmp_path / "published.csv"
    published.write_text("table,dataset,method,protocol,metric,value,source\n"
                         "reid,market1501,none (IDE ResNet-50),euclidean,rank1,75.62,somewhere\n")
    kind, rows = read_any(published)
    assert kind == "published" and rows[0].value == 75.62 and rows[0].trainer == "ide"
    foreign = tmp_path / "foreign.csv"
    foreign.write_text("a,b\n1,2\n")
    with pytest.raises(ReidBenchError, match="foreign CSV"):
        read_any(foreign)
    quality = tmp_path / "quality.csv"
    quality.write_text("dataset,generator,metric,value,ci_low,ci_high,n_pairs,protocol,weights\n"
                       "market1501,san,LPIPS,0.25,0.24,0.26,100,gfla2020: rule,alexnet\n")
    kind, rows = read_any(quality)
    assert kind == "quality" and rows[0].value == 0.25 and rows[0].generator == "san"


def test_collect_folders_dedupes_and_skips_foreign(tmp_path):
    append_rows(tmp_path / "a.csv", [row(), row(seed=1)])
    append_rows(tmp_path / "b.csv", [row(seed=1), row(seed=2)])  # seed 1 copied: kept once
    (tmp_path / "notes.csv").write_text("x,y\n")
    collected = collect([tmp_path, tmp_path / "a.csv"])
    assert sorted(r.seed for r in collected.reid) == [0, 1, 2]
    assert collected.skipped == [tmp_path / "notes.csv"]
    with pytest.raises(ReidBenchError, match="foreign CSV"):
        collect([tmp_path / "notes.csv"])
    append_rows(tmp_path / "again" / "d.csv", [row(seed=2, started="2026-11-25T00:00:00+00:00", wall_s=99.0)])
    assert len(collect([tmp_path, tmp_path / "again" / "d.csv"]).reid) == 3  # re-evaluated later: one row
    append_rows(tmp_path / "sub" / "c.csv", [row(seed=2, rank1=80.0)])
    with pytest.raises(ReidBenchError, match="different numbers for one row key"):
        collect([tmp_path, tmp_path / "sub" / "c.csv"])


def test_construction_normalises_types():
    built = ResultRow(**{**BASE, "factor": np.int64(1), "rank1": "70.0", "pretrained": "false", "seed": "0"})
    assert built == row(pretrained=False)
    assert type(built.factor) is int and built.pretrained is False
    with pytest.raises(ValueError, match="factor 1.5 is not a whole number"):
        row(factor=1.5)


def test_a_spreadsheet_byte_order_mark_is_accepted(tmp_path):
    path = tmp_path / "excel.csv"
    path.write_text("\ufeff" + HEADER + "\n" + GOOD_LINE + "\n", encoding="utf-8")
    assert read_rows(path)[0].wall_s == 1.5
