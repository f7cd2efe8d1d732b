"""Tables of results: :class:`Table` (rows that render themselves) and :func:`render_table`.

The column orders of the runner's tables are defined here: :data:`TABLE_COLUMNS`
(one row per method), :data:`BIN_COLUMNS` (one row per method and hole-size bin) and
:data:`REGION_COLUMNS` (one row per method and region).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

__all__ = ["BIN_COLUMNS", "REGION_COLUMNS", "TABLE_COLUMNS", "Table", "render_table"]

#: Columns of the standard table, in order (those absent from the rows are skipped).
TABLE_COLUMNS = (
    "method",
    "hole_psnr",
    "hole_ssim",
    "hole_mae",
    "psnr",
    "ssim",
    "seconds_per_frame",
    "n_frames",
)

#: Columns of the table by hole-size bin (see :func:`xinpaint.evaluation.bin_rows`).
BIN_COLUMNS = (
    "method",
    "bin",
    "n_holes",
    "area_median",
    "pooled_psnr",
    "psnr_mean",
    "ci_low",
    "ci_high",
    "psnr_median",
    "psnr_std",
)

#: Columns of the region table (metrics in holes ∩ region, see ``regions``).
REGION_COLUMNS = ("method", "region", "n_pixels", "psnr", "ssim", "gradient_ssim", "mae")


class Table(list):
    """A list of row dicts that renders itself as a table in notebooks.

    Parameters
    ----------
    rows : iterable of dict
        The rows.
    columns : sequence of str, optional
        Columns to show, in order; default: the keys of the first row.

    Examples
    --------
    >>> t = Table([{"method": "nearest", "hole_psnr": 28.31}])
    >>> print(t.to_markdown())
    | method | hole_psnr |
    |---|---|
    | nearest | 28.31 |
    """

    def __init__(self, rows: Iterable[dict] = (), columns: Sequence[str] | None = None):
        super().__init__(rows)
        self.columns = tuple(columns) if columns is not None else None

    def _columns(self) -> list[str]:
        if not self:
            return list(self.columns or ())
        keys = list(self[0])
        if self.columns is None:
            return keys
        present = {k for row in self for k in row}
        return [c for c in self.columns if c in present]

    def column(self, name: str) -> list:
        """The values of one column (None where a row lacks it)."""
        return [row.get(name) for row in self]

    def where(self, **equal) -> Table:
        """The rows whose values equal the given ones, e.g. ``t.where(method="linear")``."""
        rows = [r for r in self if all(r.get(k) == v for k, v in equal.items())]
        return Table(rows, self.columns)

    def to_markdown(self, digits: int = 2) -> str:
        """The table as GitHub/MyST markdown."""
        return render_table(self, columns=self._columns(), fmt="markdown", digits=digits)

    def to_html(self, digits: int = 2) -> str:
        """The table as an HTML ``<table>``."""
        return render_table(self, columns=self._columns(), fmt="html", digits=digits)

    def _repr_html_(self) -> str:
        return self.to_html()

    def _repr_markdown_(self) -> str:
        return self.to_markdown()


def _format(value, digits: int) -> str:
    if value is None:
        return ""
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        v = float(value)
        if not math.isfinite(v):
            return str(v)
        if v != 0 and abs(v) < 10 ** (-digits):
            return f"{v:.{digits}e}"
        return f"{v:.{digits}f}"
    return str(value)


def render_table(
    rows: Iterable[Mapping],
    *,
    columns: Sequence[str] | None = None,
    fmt: str = "markdown",
    digits: int = 2,
) -> str:
    """Render rows (dicts) as a markdown or HTML table.

    Parameters
    ----------
    rows : iterable of dict
        The rows; missing keys are left blank.
    columns : sequence of str, optional
        Columns in order; default: the keys of the first row.
    fmt : {"markdown", "html"}
        Output format.
    digits : int
        Digits after the decimal point for floats (small values switch to
        scientific notation).

    Returns
    -------
    str
        The table. In a notebook, show it with ``IPython.display.Markdown`` or
        ``IPython.display.HTML``.

    Raises
    ------
    ValueError
        If ``fmt`` is unknown.
    """
    if fmt not in ("markdown", "html"):
        raise ValueError(
            f"Unknown table format: expected 'markdown' or 'html'. Received fmt={fmt!r}."
        )
    rows = list(rows)
    if columns is None:
        columns = list(rows[0]) if rows else []
    cells = [[_format(r.get(c), digits) for c in columns] for r in rows]
    if fmt == "markdown":
        lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
        lines += ["| " + " | ".join(row) + " |" for row in cells]
        return "\n".join(lines)
    import html

    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in row) + "</tr>" for row in cells
    )
    return f'<table class="table xinpaint-table"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
