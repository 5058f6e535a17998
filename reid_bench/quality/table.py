"""Table 1 of the SAN paper (generator image quality), from image-quality rows: Markdown, LaTeX, CSV.

One section per dataset and protocol. Rows are methods: the paper's (published numbers,
``published.csv`` rows with ``table == generation``) and ours (generator names, matched
to the paper's method names ignoring case and punctuation, e.g. ``san`` = "SAN", ``vunet`` =
"VU-Net", ``gfla`` = "GFLA (Deep Image Spatial)"). Columns are the metrics present, each with our
value (95% bootstrap interval in brackets when there is one) and, where the paper reports the
metric for that dataset, the published value beside it. Published numbers appear only in sections
whose protocol is the one they were measured under (``gfla2020``). Under each table: the
protocol's full statement, what exactly each of our columns computed (the rows' ``protocol``
cells) and with which weights, and the sources of the published numbers.

``reid-bench tables`` (:mod:`reid_bench.results.table_files`) calls :func:`render_table1` and writes
``table1.{md,tex,csv}``.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from typing import Protocol, Sequence

from reid_bench.quality import protocols
from reid_bench.quality.protocols import LOWER_IS_BETTER, METRICS
from reid_bench.quality.rows import QualityRow

DATASET_KEYS = {"market": "market1501", "market-1501": "market1501"}  # our dataset kind -> published name
DATASET_TITLES = {"market1501": "Market-1501", "deepfashion": "DeepFashion", "synthpeople": "SynthPeople"}
DECIMALS = {"FID": 3, "PSNR": 2, "identity-rank1": 1, "identity-mAP": 1}  # else 4, as the paper prints LPIPS
CSV_FIELDS = ("dataset", "protocol", "method", "metric", "ours", "ci_low", "ci_high", "paper", "paper_source")


class PublishedNumber(Protocol):
    """A published number (e.g. :class:`reid_bench.results.published.PublishedRow`)."""

    dataset: str
    method: str
    protocol: str
    metric: str
    value: float
    source: str


def method_key(name: str) -> str:
    """``"GFLA (Deep Image Spatial)"`` -> ``"gfla"``, ``"VU-Net"`` -> ``"vunet"``."""
    return re.sub(r"[^a-z0-9]", "", name.split(" (")[0].lower())


@dataclass
class _Section:
    dataset: str  # published.csv's name
    protocol: str
    ours: dict[tuple[str, str], QualityRow]  # (method key, metric) -> row
    paper: dict[tuple[str, str], PublishedNumber]
    names: dict[str, str]  # method key -> display name
    metrics: list[str]
    paper_metrics: set[str]


def _dataset(name: str) -> str:
    return DATASET_KEYS.get(name.lower(), name.lower())


def _sections(rows: Sequence[QualityRow], published: Sequence[PublishedNumber]) -> list[_Section]:
    groups: dict[tuple[str, str], list[QualityRow]] = {}
    for row in rows:
        groups.setdefault((_dataset(row.dataset), protocols.protocol_of(row.protocol)), []).append(row)
    for item in published:
        groups.setdefault((_dataset(item.dataset), item.protocol), [])
    sections = []
    for (dataset, protocol), ours in groups.items():
        paper = [p for p in published if _dataset(p.dataset) == dataset and p.protocol == protocol]
        names = {method_key(p.method): p.method for p in paper}
        for row in ours:
            names.setdefault(method_key(row.generator), row.generator)
        present = {row.metric for row in ours} | {p.metric for p in paper}
        sections.append(_Section(
            dataset, protocol, {(method_key(r.generator), r.metric): r for r in ours},
            {(method_key(p.method), p.metric): p for p in paper}, names,
            [m for m in METRICS if m in present] + sorted(present - set(METRICS)), {p.metric for p in paper}))
    return sections


def _number(value: float, metric: str) -> str:
    return f"{value:.{DECIMALS.get(metric, 4)}f}"


def _ours(row: QualityRow | None, metric: str) -> tuple[str, str]:
    """(value, interval) texts of our cell."""
    if row is None:
        return "–", ""
    if row.missing:
        return "missing", ""
    interval = "" if row.ci_low is None else f"[{_number(row.ci_low, metric)}, {_number(row.ci_high, metric)}]"
    return _number(row.value, metric), interval


def _paper(section: _Section, key: str, metric: str) -> str:
    published = section.paper.get((key, metric))
    return _number(float(published.value), metric) if published else "–"


def _arrow(metric: str, latex: bool) -> str:
    down = metric in LOWER_IS_BETTER
    if latex:
        return r"$\downarrow$" if down else r"$\uparrow$"
    return "↓" if down else "↑"


def _notes(section: _Section) -> list[str]:
    lines = []
    known = section.protocol in protocols.PROTOCOLS
    lines.append(f"Protocol: {protocols.statement(section.protocol) if known else section.protocol}")
    for metric in section.metrics:
        cells = sorted({r.protocol for (_, m), r in section.ours.items() if m == metric})
        weights = sorted({r.weights for (_, m), r in section.ours.items() if m == metric})
        if cells:
            lines.append(f"Ours, {metric}: {' | '.join(cells)}; weights: {' | '.join(weights)}.")
    sources = sorted({p.source for p in section.paper.values()})
    if sources:
        lines.append("Paper values: " + "; ".join(sources) + ".")
    return lines


def _title(section: _Section) -> str:
    return f"Table 1 — {DATASET_TITLES.get(section.dataset, section.dataset)}, protocol {section.protocol}"


def _markdown(section: _Section) -> str:
    header, rule = ["Method"], ["---"]
    for metric in section.metrics:
        header.append(f"{metric} {_arrow(metric, False)} (ours)")
        rule.append("---:")
        if metric in section.paper_metrics:
            header.append(f"{metric} (paper)")
            rule.append("---:")
    lines = [f"### {_title(section)}", "", "| " + " | ".join(header) + " |", "| " + " | ".join(rule) + " |"]
    for key, name in section.names.items():
        cells = [name]
        for metric in section.metrics:
            value, interval = _ours(section.ours.get((key, metric)), metric)
            cells.append(f"{value} {interval}".strip())
            if metric in section.paper_metrics:
                cells.append(_paper(section, key, metric))
        lines.append("| " + " | ".join(cells) + " |")
    lines += [""] + [f"- {note}" for note in _notes(section)]
    return "\n".join(lines)


_TEX = {"&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{", "}": r"\}",
        "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "\\": r"\textbackslash{}", "–": "--", "—": "---"}


def _tex(text: str) -> str:
    return "".join(_TEX.get(char, char) for char in text)


def _latex(section: _Section) -> str:
    spans = [(m, 2 if m in section.paper_metrics else 1) for m in section.metrics]
    top = " & ".join(rf"\multicolumn{{{n}}}{{c}}{{{_tex(m)} {_arrow(m, True)}}}" for m, n in spans)
    sub = " & ".join("ours & paper" if n == 2 else "ours" for _, n in spans)
    lines = [
        r"\begin{table}[t]", r"\centering", rf"\caption{{{_tex(_title(section))}}}",
        rf"\begin{{tabular}}{{l{'r' * sum(n for _, n in spans)}}}", r"\toprule",
        rf" & {top} \\", rf"Method & {sub} \\", r"\midrule",
    ]
    for key, name in section.names.items():
        cells = [_tex(name)]
        for metric, n in spans:
            value, interval = _ours(section.ours.get((key, metric)), metric)
            cells.append(_tex(value) + (rf" {{\scriptsize {interval}}}" if interval else ""))
            if n == 2:
                cells.append(_tex(_paper(section, key, metric)))
        lines.append(" & ".join(cells) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}", r"\par\smallskip\footnotesize"]
    lines += [_tex(note) + r"\par" for note in _notes(section)]
    lines.append(r"\end{table}")
    return "\n".join(lines)


def _plain(value: float | None) -> str:
    return "" if value is None else format(value, ".7g")


def _csv(sections: list[_Section]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_FIELDS)
    for section in sections:
        for key, name in section.names.items():
            for metric in section.metrics:
                row, published = section.ours.get((key, metric)), section.paper.get((key, metric))
                if row is None and published is None:
                    continue
                ours = (None, None, None) if row is None else (row.value, row.ci_low, row.ci_high)
                paper = None if published is None else float(published.value)
                writer.writerow([section.dataset, section.protocol, name, metric, *map(_plain, (*ours, paper)),
                                 "" if published is None else published.source])
    return buffer.getvalue()


def render_table1(rows: Sequence[QualityRow], published: Sequence[PublishedNumber] = ()) -> dict[str, str]:
    """Table 1 of ``rows`` beside ``published``: ``{"markdown": ..., "latex": ..., "csv": ...}``.

    The LaTeX uses booktabs rules (``\\usepackage{booktabs}``).
    """
    sections = _sections(rows, published)
    return {"markdown": "\n\n".join(_markdown(s) for s in sections) + "\n",
            "latex": "\n\n".join(_latex(s) for s in sections) + "\n",
            "csv": _csv(sections)}
