"""The paper's Re-ID augmentation table, as Markdown, LaTeX and CSV.

One section per dataset, preset and processor (the machine the models trained on: rows of two
processors are never averaged or set against each other's ``none``): rows are the generators and ``none``
(no augmentation), one per factor K; columns are the protocols IDE + Euclidean, IDE + XQDA,
IDE + KISSME and Siamese (+ Euclidean), as in the SAN paper's Re-ID table, followed by any other
trainer + ranker present (cosine, re-ranking, ...). A cell is rank-1 / mAP in percent, mean ± sample
std over seeds, with the number of seeds. Under each section: the gain of each generator over
``none`` per protocol (the mean of the per-seed differences over the seeds both have, so an arm run
on fewer seeds than ``none`` is not set against the other seeds' baseline), and the published
numbers of ``published.csv`` for that dataset, labelled as published with their sources. A
published ``reid`` row goes to the Siamese column if its method names Siamese, else to IDE, with
its ranker as ``protocol``; one whose protocol has no column here is listed below the table instead.
"""

from __future__ import annotations

import csv
import dataclasses
import io
from collections import defaultdict
from typing import Any, Iterable, Sequence

from reid_bench.errors import ReidBenchError
from reid_bench.records import UNRECORDED_PROCESSOR
from reid_bench.results.published import PublishedRow, same_dataset
from reid_bench.results.rows import NO_GENERATOR, RERANK_SUFFIX, ResultRow
from reid_bench.results.stats import Stat, summarize

Protocol = tuple[str, str]  # (trainer, ranker)
PAPER_PROTOCOLS: tuple[Protocol, ...] = (("ide", "euclidean"), ("ide", "xqda"), ("ide", "kissme"),
                                         ("siamese", "euclidean"))
CSV_COLUMNS = ("dataset", "preset", "processor", "kind", "generator", "factor", "recipe", "trainer", "ranker", "n",
               "rank1_mean", "rank1_std", "mAP_mean", "mAP_std", "rank1_gain", "mAP_gain", "source")
_TRAINER_LABELS = {"ide": "IDE", "siamese": "Siamese"}
_RANKER_LABELS = {"euclidean": "Euclidean", "xqda": "XQDA", "kissme": "KISSME"}
_NO_PRETRAINED, _NO_PERCEPTUAL = "†", "‡"
_LATEX_MARKS = {_NO_PRETRAINED: r"$^\dagger$", _NO_PERCEPTUAL: r"$^\ddagger$"}
_TEX_ESCAPES = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}
_FOOTNOTES = {_NO_PRETRAINED: "backbone trained without ImageNet-pretrained weights",
              _NO_PERCEPTUAL: "generator trained without its perceptual term"}


@dataclasses.dataclass(frozen=True)
class Cell:
    """rank-1 and mAP over the seeds of one generator x factor x protocol."""

    by_seed: dict[int, tuple[float, float]]  # seed -> (rank-1, mAP)
    marks: str  # _NO_PRETRAINED and/or _NO_PERCEPTUAL

    @property
    def rank1(self) -> Stat:
        return summarize([rank1 for rank1, _ in self.by_seed.values()])

    @property
    def mAP(self) -> Stat:
        return summarize([mAP for _, mAP in self.by_seed.values()])


@dataclasses.dataclass(frozen=True)
class Line:
    """One generator at one factor under one recipe: its cells by protocol."""

    generator: str
    factor: int
    cells: dict[Protocol, Cell]
    recipe: str = "n/a"  # the recipe levers of its rows (reid_bench.presets.recipe_label)

    @property
    def label(self) -> str:
        """The generator as the table shows it: its name, and its recipe when that is not the default."""
        return self.generator if self.recipe in ("default", "n/a") else f"{self.generator} ({self.recipe})"


@dataclasses.dataclass(frozen=True)
class PublishedLine:
    """One published method: metric -> value by protocol, and the indexes of its sources (1-based)."""

    method: str
    values: dict[Protocol, dict[str, float]]
    notes: tuple[int, ...]


@dataclasses.dataclass(frozen=True)
class Section:
    """The table of one dataset, preset and processor."""

    dataset: str
    preset: str
    processor: str
    protocols: list[Protocol]
    lines: list[Line]
    published: list[PublishedLine]
    sources: list[str]  # footnote texts, numbered from 1

    def published_in_columns(self) -> list[PublishedLine]:
        """The published methods with a number under at least one of this section's protocols."""
        return [pub for pub in self.published if any(p in pub.values for p in self.protocols)]

    def published_elsewhere(self) -> list[tuple[PublishedLine, Protocol]]:
        """Published numbers under protocols that have no column here, as (method, protocol)."""
        return [(pub, p) for pub in self.published for p in pub.values if p not in self.protocols]

    def gain(self, line: Line, protocol: Protocol) -> tuple[float, float] | None:
        """(rank-1, mAP) of ``line`` minus those of ``none`` under ``protocol``, averaged over the seeds
        both have; None if either is missing or they share no seed."""
        base = next((b.cells.get(protocol) for b in self.lines if b.generator == NO_GENERATOR), None)
        cell = line.cells.get(protocol)
        if base is None or cell is None or line.generator == NO_GENERATOR:
            return None
        seeds = sorted(cell.by_seed.keys() & base.by_seed.keys())
        if not seeds:
            return None
        return tuple(sum(cell.by_seed[s][k] - base.by_seed[s][k] for s in seeds) / len(seeds) for k in (0, 1))


def protocol_label(protocol: Protocol) -> str:
    """``("ide", "xqda")`` -> ``IDE + XQDA``; Siamese with Euclidean distance is just ``Siamese``."""
    trainer, ranker = protocol
    rerank = ranker.endswith(RERANK_SUFFIX)
    base = ranker[:-len(RERANK_SUFFIX)] if rerank else ranker
    parts = [_TRAINER_LABELS.get(trainer, trainer)]
    if not (trainer == "siamese" and base == "euclidean"):
        parts.append(_RANKER_LABELS.get(base, base))
    return " + ".join(parts) + (" + re-ranking" if rerank else "")


def _cell(rows: list[ResultRow]) -> Cell:
    seeds = [row.seed for row in rows]
    first = rows[0]
    if len(set(seeds)) != len(seeds):
        twice = next(seed for seed in seeds if seeds.count(seed) > 1)
        raise ReidBenchError(
            f"seed {twice} of {first.dataset} {first.generator} K={first.factor} {first.trainer} {first.ranker} "
            f"appears in two runs (config hashes {', '.join(sorted({r.config_hash for r in rows}))}), and the "
            "table averages over seeds; pass those runs to separate reid-bench tables calls.")
    for name in ("pretrained", "perceptual"):
        if len({getattr(row, name) for row in rows}) > 1:
            raise ReidBenchError(
                f"the seeds of {first.dataset} {first.generator} K={first.factor} {first.trainer} {first.ranker} "
                f"differ in {name} ({', '.join(sorted({str(getattr(r, name)) for r in rows}))}), so they cannot "
                "be averaged; pass those runs to separate reid-bench tables calls.")
    marks = (_NO_PRETRAINED if not first.pretrained else "") + \
        (_NO_PERCEPTUAL if first.perceptual.startswith("off") else "")
    return Cell({row.seed: (row.rank1, row.mAP) for row in rows}, marks)


def _published(dataset: str, published: Iterable[PublishedRow]) -> tuple[list[PublishedLine], list[str]]:
    sources: list[str] = []
    values: dict[str, dict[Protocol, dict[str, float]]] = defaultdict(lambda: defaultdict(dict))
    notes: dict[str, list[int]] = defaultdict(list)
    for row in published:
        if row.table != "reid" or not same_dataset(row.dataset, dataset) or row.metric not in ("rank1", "mAP"):
            continue
        if row.source not in sources:
            sources.append(row.source)
        note = sources.index(row.source) + 1
        values[row.method][(row.trainer, row.protocol)][row.metric] = row.value
        if note not in notes[row.method]:
            notes[row.method].append(note)
    lines = [PublishedLine(method, dict(by_protocol), tuple(notes[method])) for method, by_protocol in values.items()]
    return lines, sources


def build_sections(rows: Sequence[ResultRow], published: Sequence[PublishedRow] = ()) -> list[Section]:
    """Group ``rows`` into one :class:`Section` per dataset, preset and processor, with its published numbers."""
    groups: dict[tuple[str, str, str], list[ResultRow]] = defaultdict(list)
    for row in rows:
        groups[(row.dataset, row.preset, row.processor)].append(row)
    sections = []
    for (dataset, preset, processor), members in sorted(groups.items()):
        found = {(row.trainer, row.ranker) for row in members}
        protocols = list(PAPER_PROTOCOLS) + sorted(found - set(PAPER_PROTOCOLS))
        cells: dict[tuple[str, int, str], dict[Protocol, list[ResultRow]]] = defaultdict(lambda: defaultdict(list))
        for row in members:
            cells[(row.generator, row.factor, row.recipe)][(row.trainer, row.ranker)].append(row)
        order = sorted(cells, key=lambda gkr: (gkr[0] != NO_GENERATOR, gkr[0], gkr[1], gkr[2]))
        lines = [Line(g, k, {p: _cell(rs) for p, rs in cells[(g, k, r)].items()}, r) for g, k, r in order]
        pub_lines, sources = _published(dataset, published)
        sections.append(Section(dataset, preset, processor, protocols, lines, pub_lines, sources))
    return sections


# ---- rendering ----------------------------------------------------------------------------------

def _stat_text(stat: Stat, latex: bool) -> str:
    text = stat.text(with_n=False)
    return "$" + text.replace("±", r"\pm") + "$" if latex else text


def _dash(latex: bool) -> str:
    return "--" if latex else "—"


def _cell_text(cell: Cell | None, latex: bool = False) -> str:
    if cell is None:
        return _dash(latex)
    n = cell.rank1.n
    marks = "".join(_LATEX_MARKS[m] for m in cell.marks) if latex else cell.marks
    return f"{_stat_text(cell.rank1, latex)} / {_stat_text(cell.mAP, latex)} (n={n}){marks}"


def _published_text(values: dict[str, float] | None, latex: bool = False) -> str:
    if not values:
        return _dash(latex)
    return " / ".join(f"{values[m]:.2f}" if m in values else (_dash(latex)) for m in ("rank1", "mAP"))


def _gain_text(gain: tuple[float, float] | None, latex: bool = False) -> str:
    if gain is None:
        return _dash(latex)
    text = f"{gain[0]:+.2f} / {gain[1]:+.2f}"
    return f"${text}$".replace(" / ", "$ / $") if latex else text


def _heading(section: Section) -> str:
    processor = "processor not recorded" if section.processor == UNRECORDED_PROCESSOR else section.processor
    return f"{section.dataset} (preset {section.preset}; {processor})"


def _notes_text(notes: tuple[int, ...]) -> str:
    return "[" + ",".join(str(n) for n in notes) + "]"


def _used_marks(section: Section) -> str:
    return "".join(m for m in _FOOTNOTES if any(m in c.marks for line in section.lines for c in line.cells.values()))


def render_markdown(sections: Sequence[Section]) -> str:
    """The sections as Markdown, one heading and table (plus gains, published notes) per section."""
    out = ["# Re-ID with generated training images", "",
           "Each cell: rank-1 / mAP (%), mean ± sample std over seeds (n = seeds). "
           "Rows marked *published* are numbers printed elsewhere, with their sources below.", ""]
    for section in sections:
        header = ["Generator", "K"] + [protocol_label(p) for p in section.protocols]
        out += [f"## {_heading(section)}", "", _md_row(header), _md_row(["---"] * len(header))]
        for line in section.lines:
            out.append(_md_row([line.label, str(line.factor)] +
                               [_cell_text(line.cells.get(p)) for p in section.protocols]))
        for pub in section.published_in_columns():
            out.append(_md_row([f"*published:* {pub.method} {_notes_text(pub.notes)}", ""] +
                               [_published_text(pub.values.get(p)) for p in section.protocols]))
        gains = [line for line in section.lines if line.generator != NO_GENERATOR]
        if gains and any(line.generator == NO_GENERATOR for line in section.lines):
            out += ["", "Gain over none (rank-1 / mAP, mean difference over the seeds both have, "
                    "percentage points):", "", _md_row(header), _md_row(["---"] * len(header))]
            out += [_md_row([line.label, str(line.factor)] +
                            [_gain_text(section.gain(line, p)) for p in section.protocols]) for line in gains]
        elif gains:
            out += ["", "No `none` rows for this dataset: gains over no augmentation need them."]
        out.append("")
        out += [f"[{i}] {source}  " for i, source in enumerate(section.sources, 1)]
        out += [f"Published under another protocol: {pub.method}, {protocol[1]}: rank-1 / mAP "
                f"{_published_text(pub.values[protocol])} {_notes_text(pub.notes)}  "
                for pub, protocol in section.published_elsewhere()]
        out += [f"{mark} {_FOOTNOTES[mark]}  " for mark in _used_marks(section)]
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def _md_row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cell.replace("|", r"\|") for cell in cells) + " |"


def _tex(text: str) -> str:
    return "".join(_TEX_ESCAPES.get(char, char) for char in text)


def render_latex(sections: Sequence[Section]) -> str:
    """The sections as LaTeX ``tabular`` blocks (booktabs), sources as footnote-size lines below each."""
    out = ["% reid-bench tables: rank-1 / mAP (%), mean $\\pm$ sample std over seeds (n = seeds).",
           "% Needs \\usepackage{booktabs}."]
    for section in sections:
        width = 2 + len(section.protocols)
        out += ["", f"% {_heading(section)}", f"\\begin{{tabular}}{{ll{'c' * len(section.protocols)}}}", "\\toprule",
                f"\\multicolumn{{{width}}}{{l}}{{\\textbf{{{_tex(_heading(section))}}}}} \\\\",
                " & ".join(["Generator", "$K$"] + [_tex(protocol_label(p)) for p in section.protocols]) + " \\\\",
                "\\midrule"]
        out += [" & ".join([_tex(line.label), str(line.factor)] +
                           [_cell_text(line.cells.get(p), latex=True) for p in section.protocols]) + " \\\\"
                for line in section.lines]
        if section.published_in_columns():
            out += ["\\midrule", f"\\multicolumn{{{width}}}{{l}}{{\\textit{{Published}}}} \\\\"]
            out += [" & ".join([f"{_tex(pub.method)}\\textsuperscript{{{','.join(map(str, pub.notes))}}}", ""] +
                               [_published_text(pub.values.get(p), latex=True) for p in section.protocols]) + " \\\\"
                    for pub in section.published_in_columns()]
        gains = [line for line in section.lines if line.generator != NO_GENERATOR]
        if gains and any(line.generator == NO_GENERATOR for line in section.lines):
            out += ["\\midrule", f"\\multicolumn{{{width}}}{{l}}{{\\textit{{Gain over none}}}} \\\\"]
            out += [" & ".join([_tex(line.label), str(line.factor)] +
                               [_gain_text(section.gain(line, p), latex=True) for p in section.protocols]) + " \\\\"
                    for line in gains]
        out += ["\\bottomrule", "\\end{tabular}"]
        notes = [f"[{i}] {_tex(source)}" for i, source in enumerate(section.sources, 1)]
        notes += [f"Published under another protocol: {_tex(pub.method)}, {_tex(protocol[1])}: rank-1 / mAP "
                  f"{_published_text(pub.values[protocol], latex=True)} {_notes_text(pub.notes)}"
                  for pub, protocol in section.published_elsewhere()]
        notes += [f"{_LATEX_MARKS[m]} {_FOOTNOTES[m]}" for m in _used_marks(section)]
        if notes:
            out += ["", "{\\footnotesize", " \\\\\n".join(notes), "}"]
    return "\n".join(out) + "\n"


def render_csv(sections: Sequence[Section]) -> str:
    """The sections in long form: one line per cell (ours) or per published method and protocol."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for s in sections:
        for line in s.lines:
            for protocol, cell in line.cells.items():
                gain = s.gain(line, protocol)
                writer.writerow([s.dataset, s.preset, s.processor, "ours", line.generator, line.factor, line.recipe,
                                 *protocol,
                                 cell.rank1.n, _num(cell.rank1.mean), _num(cell.rank1.std), _num(cell.mAP.mean),
                                 _num(cell.mAP.std), _num(gain[0]) if gain else "", _num(gain[1]) if gain else "", ""])
        for pub in s.published:
            for protocol, values in pub.values.items():
                writer.writerow([s.dataset, s.preset, s.processor, "published", pub.method, "", "", *protocol, "",
                                 _num(values.get("rank1")), "", _num(values.get("mAP")), "", "", "",
                                 "; ".join(s.sources[n - 1] for n in pub.notes)])
    return buffer.getvalue()


def _num(value: float | None) -> str:
    return "" if value is None or value != value else f"{value:.4f}".rstrip("0").rstrip(".")


def render_reid_table(rows: Sequence[ResultRow], published: Sequence[PublishedRow] = ()) -> dict[str, str]:
    """The Re-ID table of ``rows`` with ``published`` numbers: ``{"markdown": ..., "latex": ..., "csv": ...}``."""
    if not rows:
        raise ReidBenchError("no Re-ID result rows were given, so there is no Re-ID table to write; "
                             "give results CSVs written by reid-bench run.")
    sections = build_sections(rows, published)
    return {"markdown": render_markdown(sections), "latex": render_latex(sections), "csv": render_csv(sections)}


_RANKER_TABLE_COLUMNS = (("ranker", "ranker"), ("rank1", "rank-1"), ("rank5", "rank-5"), ("rank10", "rank-10"),
                 ("mAP", "mAP"), ("mINP", "mINP"))


def format_ranker_table(rows: Sequence[dict[str, Any]]) -> str:
    """A plain-text table of ranker, rank-1/5/10, mAP and mINP (percentages)."""
    header = [title for _, title in _RANKER_TABLE_COLUMNS]
    body = [[row["ranker"]] + [f"{float(row[key]):.2f}" for key, _ in _RANKER_TABLE_COLUMNS[1:]] for row in rows]
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]
    lines = ["  ".join(cell.rjust(w) if i else cell.ljust(w) for i, (cell, w) in enumerate(zip(line, widths)))
             for line in [header, *body]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
