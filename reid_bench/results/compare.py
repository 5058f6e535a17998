"""``reid-bench compare A.csv B.csv``: row-by-row differences of two Re-ID results files.

Rows are matched on (dataset, generator, factor, recipe, processor, trainer, ranker, seed), or with
``by="generator"`` on (dataset, processor, trainer, ranker, seed), to compare one generator's rows
with another's (say SAN against ``none``). Rows of two processors are never paired: the same run
gives other numbers on another processor (:func:`reid_bench.records.processor_name`). Each pair
shows rank-1 and mAP of both and the difference A - B. Per protocol (the match fields without the
seed) it gives mean ± std over seeds and a paired t-test
(:func:`reid_bench.results.stats.paired_p_value`), and it lists the rows found in one file only.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from typing import Sequence

from reid_bench.errors import ReidBenchError
from reid_bench.results.rows import ResultRow
from reid_bench.results.stats import Stat, p_text, paired_p_value, summarize

MATCH_FIELDS = {
    "row": ("dataset", "generator", "factor", "recipe", "processor", "trainer", "ranker", "seed"),
    "generator": ("dataset", "processor", "trainer", "ranker", "seed"),
}


@dataclasses.dataclass(frozen=True)
class Pair:
    """A row of A and the row of B with the same match key."""

    key: tuple
    a: ResultRow
    b: ResultRow


@dataclasses.dataclass(frozen=True)
class ProtocolSummary:
    """Over the seeds of one protocol: each side's rank-1 and mAP, their differences A - B, p-values."""

    protocol: tuple  # the match key without the seed
    a_rank1: Stat
    b_rank1: Stat
    a_mAP: Stat
    b_mAP: Stat
    d_rank1: Stat
    d_mAP: Stat
    p_rank1: float | None  # None when n < 2 or the differences are all equal
    p_mAP: float | None


@dataclasses.dataclass(frozen=True)
class Comparison:
    """The result of :func:`compare_rows`."""

    fields: tuple[str, ...]  # the match fields
    pairs: list[Pair]
    summaries: list[ProtocolSummary]
    only_a: list[ResultRow]
    only_b: list[ResultRow]


def _index(rows: Sequence[ResultRow], fields: tuple[str, ...], name: str) -> dict[tuple, ResultRow]:
    index: dict[tuple, ResultRow] = {}
    for row in rows:
        key = tuple(getattr(row, field) for field in fields)
        if key in index:
            other = index[key]
            raise ReidBenchError(
                f"{name} holds two rows for {_describe(fields, key)} (config hashes {other.config_hash} and "
                f"{row.config_hash}, generators {other.generator} and {row.generator}), and compare matches "
                f"on {', '.join(fields)}; put those runs in separate files.")
        index[key] = row
    return index


def _describe(fields: tuple[str, ...], key: tuple) -> str:
    return " ".join(f"{field}={value}" for field, value in zip(fields, key))


def compare_rows(a: Sequence[ResultRow], b: Sequence[ResultRow], by: str = "row",
                 names: tuple[str, str] = ("A", "B")) -> Comparison:
    """Match ``a`` against ``b`` on ``MATCH_FIELDS[by]``; ``names`` name the two sides in errors."""
    if by not in MATCH_FIELDS:
        raise ReidBenchError(f"compare --by {by!r}: expected one of {', '.join(MATCH_FIELDS)}.")
    fields = MATCH_FIELDS[by]
    index_a, index_b = _index(a, fields, names[0]), _index(b, fields, names[1])
    pairs = [Pair(key, row, index_b[key]) for key, row in index_a.items() if key in index_b]
    pairs.sort(key=lambda pair: tuple(str(part) for part in pair.key))
    groups: dict[tuple, list[Pair]] = defaultdict(list)
    for pair in pairs:
        groups[pair.key[:-1]].append(pair)  # the seed is the last match field
    summaries = [_summarize(protocol, members) for protocol, members in groups.items()]
    return Comparison(fields, pairs, summaries,
                      [row for key, row in index_a.items() if key not in index_b],
                      [row for key, row in index_b.items() if key not in index_a])


def _summarize(protocol: tuple, pairs: list[Pair]) -> ProtocolSummary:
    a1, b1 = [p.a.rank1 for p in pairs], [p.b.rank1 for p in pairs]
    am, bm = [p.a.mAP for p in pairs], [p.b.mAP for p in pairs]
    return ProtocolSummary(
        protocol, summarize(a1), summarize(b1), summarize(am), summarize(bm),
        summarize([x - y for x, y in zip(a1, b1)]), summarize([x - y for x, y in zip(am, bm)]),
        paired_p_value(a1, b1), paired_p_value(am, bm))


def _table(header: list[str], body: list[list[str]]) -> list[str]:
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip() for line in [header, *body]]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return lines


def _row_label(row: ResultRow) -> str:
    recipe = "" if row.recipe in ("default", "n/a") else f" ({row.recipe})"
    return (f"{row.dataset} {row.generator}{recipe} K={row.factor} {row.trainer} {row.ranker} seed {row.seed} "
            f"({row.config_hash})")


def _why_unmatched(comparison: Comparison, by_generator: bool) -> str:
    processors_a = {row.processor for row in comparison.only_a}
    processors_b = {row.processor for row in comparison.only_b}
    if processors_a and processors_b and not processors_a & processors_b:
        return (f"; A's rows come from {' | '.join(sorted(processors_a))} and B's from "
                f"{' | '.join(sorted(processors_b))}, and rows of two processors are not paired.")
    return "; to compare two generators use --by generator." if not by_generator else "."


def format_comparison(comparison: Comparison, name_a: str = "A", name_b: str = "B") -> str:
    """The comparison as plain text: pairs, per-protocol summaries when seeds repeat, unmatched rows."""
    fields = list(comparison.fields)
    by_generator = "generator" not in fields
    lines = [f"A = {name_a}", f"B = {name_b}", f"rows matched on {', '.join(fields)}; difference = A - B", ""]
    if comparison.pairs:
        extra = ["generator A", "generator B"] if by_generator else []
        header = fields + extra + ["rank-1 A", "rank-1 B", "diff", "mAP A", "mAP B", "diff"]
        body = []
        for pair in comparison.pairs:
            names = [f"{pair.a.generator} K={pair.a.factor}", f"{pair.b.generator} K={pair.b.factor}"]
            body.append([str(part) for part in pair.key] + (names if by_generator else []) + [
                f"{pair.a.rank1:.2f}", f"{pair.b.rank1:.2f}", f"{pair.a.rank1 - pair.b.rank1:+.2f}",
                f"{pair.a.mAP:.2f}", f"{pair.b.mAP:.2f}", f"{pair.a.mAP - pair.b.mAP:+.2f}"])
        lines += _table(header, body)
    else:
        lines.append("no row of A matches a row of B" + _why_unmatched(comparison, by_generator))
    if any(summary.a_rank1.n >= 2 for summary in comparison.summaries):
        lines += ["", "per protocol over seeds (mean ± sample std; paired t-test of A against B):"]
        header = fields[:-1] + ["seeds", "rank-1 A", "rank-1 B", "diff", "p", "mAP A", "mAP B", "diff", "p"]
        body = [[str(part) for part in s.protocol] + [
            str(s.a_rank1.n), s.a_rank1.text(with_n=False), s.b_rank1.text(with_n=False),
            _signed(s.d_rank1), p_text(s.p_rank1), s.a_mAP.text(with_n=False), s.b_mAP.text(with_n=False),
            _signed(s.d_mAP), p_text(s.p_mAP)] for s in comparison.summaries]
        lines += _table(header, body)
        if any(s.p_rank1 is None or s.p_mAP is None for s in comparison.summaries):
            lines.append("p n/a: fewer than two seeds, or the same difference on every seed.")
    for label, rows in (("A", comparison.only_a), ("B", comparison.only_b)):
        if rows:
            lines += ["", f"only in {label} ({len(rows)} row{'s' if len(rows) != 1 else ''}):"]
            lines += [f"  {_row_label(row)}" for row in rows]
    return "\n".join(lines)


def _signed(stat: Stat) -> str:
    text = stat.text(with_n=False)
    return text if text.startswith("-") else "+" + text
