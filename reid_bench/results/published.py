"""Published reference numbers (``published.csv``, shipped in this package), shown beside ours in the tables.

Columns: ``table, dataset, method, protocol, metric, value, source``. ``table`` is ``reid`` (a Re-ID
number: ``protocol`` is the ranker, ``metric`` rank1 / mAP / ...) or ``generation`` (an image-quality
number of Table 1). Each value keeps its source, so a table can say where it comes from.
"""

from __future__ import annotations

import csv
import dataclasses
import math
import os
from pathlib import Path

from reid_bench.errors import ReidBenchError

PUBLISHED_COLUMNS = ("table", "dataset", "method", "protocol", "metric", "value", "source")
DEFAULT_PUBLISHED = Path(__file__).resolve().with_name("published.csv")  # package data: in wheels too
_DATASET_ALIASES = {"market": "market1501", "market-1501": "market1501"}


@dataclasses.dataclass(frozen=True)
class PublishedRow:
    """One published number and where it was printed."""

    table: str  # "reid" or "generation"
    dataset: str
    method: str  # e.g. "none (IDE ResNet-50)", "SAN"
    protocol: str  # the ranker for reid rows, the evaluation protocol for generation rows
    metric: str  # rank1, mAP, FID, LPIPS, ...
    value: float
    source: str

    @property
    def trainer(self) -> str:
        """The Re-ID trainer a ``reid`` row corresponds to: ``siamese`` if its method says so, else ``ide``."""
        return "siamese" if "siamese" in self.method.lower() else "ide"


def same_dataset(a: str, b: str) -> bool:
    """Whether two dataset names mean one dataset (``market`` as the data reader names it = ``market1501``)."""
    return _DATASET_ALIASES.get(a.lower(), a.lower()) == _DATASET_ALIASES.get(b.lower(), b.lower())


def read_published(path: str | os.PathLike) -> list[PublishedRow]:
    """Every row of a published-numbers CSV, validated; a bad line raises one clear sentence."""
    path = Path(path)
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            if tuple(reader.fieldnames or ()) != PUBLISHED_COLUMNS:
                raise ReidBenchError(f"{path} is a foreign CSV: published numbers need the header "
                                     f"{','.join(PUBLISHED_COLUMNS)}; give the published.csv that reid-bench ships "
                                     "(reid_bench/results/published.csv).")
            rows = []
            for record in reader:
                line = reader.line_num
                if None in record or None in record.values():
                    raise ReidBenchError(f"{path} line {line} does not have {len(PUBLISHED_COLUMNS)} fields; "
                                         "fix or delete that line.")
                try:
                    value = float(record["value"])
                except ValueError:
                    value = math.nan
                if not math.isfinite(value):
                    raise ReidBenchError(f"{path} line {line}: value {record['value']!r} is not a number; "
                                         "fix or delete that line.")
                rows.append(PublishedRow(**{**record, "value": value}))
    except FileNotFoundError:
        raise ReidBenchError(f"{path} does not exist; give --published the path of published.csv.") from None
    except (UnicodeDecodeError, csv.Error) as error:
        raise ReidBenchError(f"{path} is not a readable CSV ({error}); give the published.csv that reid-bench ships "
                             "(reid_bench/results/published.csv).") from None
    return rows
