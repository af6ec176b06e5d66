"""A table's columns drawn as an SVG line plot, server-side with matplotlib.

Why server-side SVG: the page needs no plotting library shipped to the browser (the service has no CDN to lean on),
a reader without JavaScript gets the same figure, the drawing is testable by parsing the SVG, and matplotlib is what
the analysts of issue 9 use, so the page's plot and theirs look alike. Text stays text in the SVG (selectable,
searchable, read by screen readers); a long table is thinned to at most `MAX_POINTS` points per line, and the
figure says so.
"""

from __future__ import annotations

import io
import re
import threading
from collections.abc import Sequence

import matplotlib
import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from portal.tables import error_columns

MAX_POINTS = 4000
MARKERS_UP_TO = 80
"""Points per line up to which each point is marked (a few bins read better as points than as a line)."""
_RC_LOCK = threading.Lock()


def svg_plot(dataset: xr.Dataset, x: str, ys: Sequence[str], title: str | None = None) -> str:
    """The SVG document of `ys` against `x`, with error bars where the table has uncertainty columns for them."""
    rows = dataset.sizes.get("row", 0)
    step = max(1, -(-rows // MAX_POINTS))
    xs = _values(dataset, x)[::step]
    monotonic = bool(np.all(np.diff(xs[~np.isnan(xs)]) >= 0)) or bool(np.all(np.diff(xs[~np.isnan(xs)]) <= 0))
    figure = Figure(figsize=(8, 4.5), layout="constrained")
    axes = figure.add_subplot()
    for column in ys:
        values = _values(dataset, column)[::step]
        marker = "o" if len(xs) <= MARKERS_UP_TO or not monotonic else None
        style = "-" if monotonic else "none"
        errors = error_columns(dataset, column)
        if errors is not None:
            lower, upper = (np.abs(_values(dataset, c)[::step]) for c in errors)
            axes.errorbar(
                xs, values, yerr=[lower, upper], label=_label(dataset, column), marker=marker, markersize=3,
                linestyle=style, linewidth=1, elinewidth=0.8, capsize=0,
            )  # fmt: skip
        else:
            axes.plot(xs, values, label=_label(dataset, column), marker=marker, markersize=3, linestyle=style,
                      linewidth=1)  # fmt: skip
    axes.set_xlabel(_label(dataset, x))
    if len(ys) == 1:
        axes.set_ylabel(_label(dataset, ys[0]))
    else:
        axes.legend(fontsize="small", loc="best")
    axes.grid(True, linewidth=0.4, alpha=0.5)
    if title:
        axes.set_title(title, fontsize="medium")
    if step > 1:
        figure.text(0.99, 0.01, f"every {step}th of {rows:,} rows shown", ha="right", va="bottom", fontsize="x-small")
    buffer = io.StringIO()
    # text as <text> elements, not glyph paths; rcParams are process-wide, hence the lock
    with _RC_LOCK, matplotlib.rc_context({"svg.fonttype": "none"}):
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    return _accessible(buffer.getvalue(), f"{', '.join(ys)} against {x}" + (f" in {title}" if title else ""))


def _values(dataset: xr.Dataset, column: str) -> np.ndarray:
    return np.asarray(dataset[column].values, dtype=float)


def _label(dataset: xr.Dataset, column: str) -> str:
    units = dataset[column].attrs.get("units")
    # mathtext would read `$` in a column name as maths and fail on half a formula
    text = column.replace("$", r"\$")
    return f"{text} [{units}]" if units and f"[{units}]" not in column else text


def _accessible(svg: str, description: str) -> str:
    """The figure as an image with a name for screen readers, scaling to its container (its viewBox stays)."""
    start = svg.index("<svg")
    end = svg.index(">", start)
    tag = re.sub(r'\s(width|height)="[^"]*"', "", svg[start:end])
    escaped = description.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
    return f'{tag} role="img" aria-label="Plot of {escaped}" class="table-plot"' + svg[end:]
