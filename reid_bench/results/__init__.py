"""Results: Re-ID result rows (CSV), ``compare``, the paper's Re-ID table, and figures.

- :mod:`~reid_bench.results.rows`: the row schema, atomic append, validated reading, duplicate keys.
- :mod:`~reid_bench.results.published`: the published reference numbers shown beside ours.
- :mod:`~reid_bench.results.inputs`: reading Re-ID, image-quality and published CSVs by header.
- :mod:`~reid_bench.results.compare`: two results files, row by row, with a paired test over seeds.
- :mod:`~reid_bench.results.tables`: the Re-ID augmentation table as Markdown, LaTeX and CSV.
- :mod:`~reid_bench.results.table_files`: ``reid-bench tables``: every table and figure of some inputs.
- :mod:`~reid_bench.results.plots`: CMC curves (and their JSON files), gain against K, sample grids.

``plots`` imports matplotlib, so it is not imported here.
"""

from reid_bench.results.compare import Comparison, compare_rows, format_comparison
from reid_bench.results.inputs import collect, kind_of, read_any
from reid_bench.results.published import PublishedRow, read_published
from reid_bench.results.rows import (
                                     KEY_FIELDS,
                                     REID_COLUMNS,
                                     ResultRow,
                                     append_rows,
                                     existing_keys,
                                     read_rows,
                                     row_exists,
)
from reid_bench.results.tables import render_reid_table

__all__ = [
    "KEY_FIELDS", "REID_COLUMNS", "Comparison", "PublishedRow", "ResultRow", "append_rows", "collect",
    "compare_rows", "existing_keys", "format_comparison", "kind_of", "read_any", "read_published", "read_rows",
    "render_reid_table", "row_exists",
]
