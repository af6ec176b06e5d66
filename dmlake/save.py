"""Opened or combined Datasets written out for other tools: NetCDF-4 (h5netcdf) with every attribute, CSV with
units in the header and the provenance as `#` comment lines, and PNG plots with error bars.

NetCDF names may not hold `/` (HEPData's `D2SIG/DPT/DYRAP`): it becomes `∕` (U+2215, division slash) and the name
as published stays in the variable's `original_name`; `ancillary_variables` and `uncertainty_of` follow.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import xarray as xr

from dmlake.open import uncertainties_of

FORMATS = ("netcdf", "csv")
_SLASH = "\u2215"


def save(dataset: xr.Dataset, path: Path, fmt: str) -> Path:
    """Write `dataset` to `path` as `netcdf` or `csv`; returns the path."""
    if fmt == "netcdf":
        netcdf_ready(dataset).to_netcdf(path, engine="h5netcdf")
    elif fmt == "csv":
        path.write_text(to_csv(dataset), encoding="utf-8")
    else:
        raise ValueError(f"format {fmt!r}: use one of {', '.join(FORMATS)}")
    return path


def netcdf_ready(dataset: xr.Dataset) -> xr.Dataset:
    """A copy whose names and attributes every netCDF writer takes."""
    renames = {str(n): str(n).replace("/", _SLASH) for n in dataset.variables if "/" in str(n)}
    out = dataset.rename(renames) if renames else dataset.copy()
    for old, new in renames.items():
        out[new].attrs["original_name"] = old
    for variable in out.variables.values():
        for key in ("ancillary_variables", "uncertainty_of", "bounds", "bin_edge_of"):
            if key in variable.attrs:
                variable.attrs[key] = str(variable.attrs[key]).replace("/", _SLASH)
        for key, value in list(variable.attrs.items()):
            if isinstance(value, dict | list | tuple | bool) or value is None:
                variable.attrs[key] = str(value)
    for key, value in list(out.attrs.items()):
        if isinstance(value, dict | list | tuple | bool) or value is None:
            out.attrs[key] = str(value)
    return out


def to_csv(dataset: xr.Dataset) -> str:
    """The Dataset as CSV: a `# key: value` line per Dataset attribute, then a header `name [units]`."""
    frame = dataset.to_dataframe()
    header = []
    for column in frame.columns:
        units = dataset[column].attrs.get("units") if column in dataset.variables else None
        header.append(f"{column} [{units}]" if units and f"[{units}]" not in str(column) else str(column))
    frame.columns = header
    lines = [f"# {key}: {' '.join(str(value).split())}" for key, value in dataset.attrs.items()]
    return "\n".join(lines) + ("\n" if lines else "") + frame.to_csv()


def plot_png(
    dataset: xr.Dataset, path: Path, x: str | None = None, ys: Sequence[str] = (), title: str | None = None
) -> Path:
    """A PNG of `ys` against `x` with error bars from the uncertainty variables; a combined Dataset (with a
    `source` dimension) is drawn one line per source, on log axes when it was interpolated log-log."""
    from matplotlib.figure import Figure

    from portal.tables import choose_columns

    figure = Figure(figsize=(8, 4.5), layout="constrained")
    axes = figure.add_subplot()
    if "source" in dataset.dims:
        on = str(dataset.attrs.get("combined_on", x or ""))
        names = list(ys) or [n for n in map(str, dataset.data_vars) if "uncertainty_of" not in dataset[n].attrs]
        for name in names:
            for source in dataset["source"].values:
                row = dataset.sel(source=source)
                errors = uncertainties_of(dataset, name)
                yerr = np.asarray(row[errors[0]].values, dtype=float) if errors else None
                axes.errorbar(row[on].values, row[name].values, yerr=yerr, label=f"{source}", linewidth=1)
        axes.set_xlabel(_label(dataset, on))
        axes.set_ylabel(_label(dataset, names[0]))
        if str(dataset.attrs.get("interpolation", "")).startswith("loglog"):
            axes.set_xscale("log")
            axes.set_yscale("log")
        axes.legend(fontsize="small")
    else:
        x, chosen = choose_columns(dataset, x, ys)
        xs = np.asarray(dataset[x].values, dtype=float)
        for column in chosen:
            errors = [e for e in uncertainties_of(dataset, column) if "plus" not in e and "minus" not in e]
            yerr = np.abs(np.asarray(dataset[errors[0]].values, dtype=float)) if errors else None
            axes.errorbar(xs, dataset[column].values, yerr=yerr, label=column, marker="o", markersize=2, linewidth=1)
        axes.set_xlabel(_label(dataset, x))
        if len(chosen) == 1:
            axes.set_ylabel(_label(dataset, chosen[0]))
        else:
            axes.legend(fontsize="small")
    axes.grid(True, linewidth=0.4, alpha=0.5)
    shown = title or str(dataset.attrs.get("file", dataset.attrs.get("sources", "")))[:100]
    if shown:
        axes.set_title(shown.replace("$", r"\$"), fontsize="medium")
    figure.savefig(path, format="png", dpi=120)
    return path


def _label(dataset: xr.Dataset, name: str) -> str:
    units = dataset[name].attrs.get("units") if name in dataset.variables else None
    text = name.replace("$", r"\$")
    return f"{text} [{units}]" if units and f"[{units}]" not in name else text
