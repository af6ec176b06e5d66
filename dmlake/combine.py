"""Resources of several records (several experiments) put on one coordinate, with unit conversion.

    limits = cat.combine(
        [("xenon/limits@v1", "limit.csv", "mass", "sigma_SI"), ("lz/limits@v2", "sd.csv", "m_chi", "xsec")],
        on="wimp_mass", units="GeV", grid=(1, 1e4, 200),
    )

Each resource is `(record_id, file, x, y)` (a `Resource`, or a Dataset already open: `Resource(dataset=…)`); `x`
is converted to `units` (the first resource's unit when not given) and `y` to the first resource's unit, then `y`
is interpolated onto `grid`: log-log where both axes are positive and the grid spans more than a decade (exclusion
limits, spectra), linear otherwise; never extrapolated (NaN outside a resource's range). A time axis
(`days since 2016-01-01 00:00:00`, CF's spelling) becomes absolute times, so data with different epochs align.
The result has a `source` dimension with the record, file, DOI and experiment of each, the uncertainty of `y`
interpolated alongside where the resource has one, and attributes saying what was done.

Units are a small table, not pint (no dependency for a few dozen units): energy and mass-as-energy (eV…PeV, with
`ee`/`nr` kept apart: keVee and keVnr measure different things), mass (g, kg), time (s…yr), cross-section
(cm², barn and its prefixes), and plain numbers (%, none).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import xarray as xr

from dmlake.open import uncertainties_of

if TYPE_CHECKING:
    from dmlake.catalog import Catalog

Combined = xr.Dataset

_ENERGY_PREFIX = {"": 1.0, "k": 1e3, "m": 1e6, "g": 1e9, "t": 1e12, "p": 1e15, "u": 1e-6, "µ": 1e-6, "μ": 1e-6}
_BARN_PREFIX = {"": 1.0, "m": 1e-3, "u": 1e-6, "mu": 1e-6, "µ": 1e-6, "n": 1e-9, "p": 1e-12, "f": 1e-15, "a": 1e-18}
_YEAR = 365.25 * 86400.0
_TIME = {"s": 1.0, "sec": 1.0, "second": 1.0, "min": 60.0, "minute": 60.0, "h": 3600.0, "hr": 3600.0,
         "hour": 3600.0, "d": 86400.0, "day": 86400.0, "yr": _YEAR, "y": _YEAR, "year": _YEAR}  # fmt: skip
_EPOCH = re.compile(r"^\s*(?P<unit>\w+?)s?\s+since\s+(?P<epoch>.+)$")


class CombineError(ValueError):
    """Resources that cannot be put on one coordinate: says which and why."""


@dataclass(frozen=True)
class Unit:
    """A unit as a dimension and a factor to that dimension's base (eV, kg, s, cm², 1)."""

    dimension: str
    factor: float
    text: str


def parse_unit(text: str | None) -> Unit:
    """The unit a column's `units` attribute names. Raises `CombineError` for one outside the table."""
    raw = (text or "").strip()
    compact = raw.replace(" ", "").replace("^", "").replace("**", "")
    if compact in ("", "1", "-", "none", "dimensionless"):
        return Unit("number", 1.0, raw)
    if compact == "%":
        return Unit("number", 0.01, raw)
    lowered = compact.lower()
    energy = re.fullmatch(r"(?P<p>[kmgtpuµμ]?)ev(?:/c2?)?(?P<kind>ee|nr(?:,i|,na)?)?", lowered)
    if energy:
        # HEPData writes GEV and MEV in capitals: "mev" is MeV unless written exactly meV
        milli = energy["p"] == "m" and compact.startswith("meV")
        scale = 1e-3 if milli else _ENERGY_PREFIX[energy["p"]]
        kind = (energy["kind"] or "").split(",")[0]
        return Unit(f"energy{'-' + kind if kind else ''}", scale, raw)
    mass = re.fullmatch(r"(?P<p>[kmµμu]?)g", lowered)
    if mass:
        return Unit("mass", {"k": 1.0, "": 1e-3, "m": 1e-6, "u": 1e-9, "µ": 1e-9, "μ": 1e-9}[mass["p"]], raw)
    if lowered == "cm2":
        return Unit("area", 1.0, raw)
    barn = re.fullmatch(r"(?P<p>mu|[munpfaµ]?)b(?:arn)?", lowered)
    if barn:
        return Unit("area", 1e-24 * _BARN_PREFIX[barn["p"]], raw)
    time = _TIME.get(lowered if lowered in _TIME else lowered.removesuffix("s"))
    if time is not None:
        return Unit("time", time, raw)
    raise CombineError(
        f"unit {raw!r} is not in dmlake's unit table (energies eV…PeV with ee/nr, g/kg, s…yr, cm²/barn, %); "
        "convert the column yourself and pass a Dataset"
    )


def convert(values: np.ndarray, source: str | None, target: str | None) -> np.ndarray:
    """`values` in unit `source` expressed in `target`. Raises `CombineError` if they measure different things."""
    if (source or "").strip() == (target or "").strip():
        return np.asarray(values, dtype=float)  # the same unit, in the table or not (counts/day/kg/keVee)
    have, want = parse_unit(source), parse_unit(target)
    if have.dimension != want.dimension:
        raise CombineError(f"cannot convert {source!r} ({have.dimension}) to {target!r} ({want.dimension})")
    return np.asarray(values, dtype=float) * (have.factor / want.factor)


@dataclass(frozen=True)
class Resource:
    """One curve to combine: a record's file and its x and y columns (or a Dataset already open)."""

    record_id: str = ""
    file: str | int = ""
    x: str = ""
    y: str = ""
    label: str | None = None
    table: int | str = 0
    dataset: xr.Dataset | None = None


def combine(
    catalog: Catalog | None,
    resources: Sequence[Resource | tuple[Any, ...] | dict[str, Any]],
    *,
    on: str | None = None,
    grid: Any = None,
    units: str | None = None,
    interpolation: str = "auto",
    name: str | None = None,
) -> xr.Dataset:
    """See the module's description. `grid` is an array of coordinate values (in `units`), `(low, high, n)`, or
    None for the union of the resources' coordinates (sorted, duplicates dropped)."""
    items = [_resource(r) for r in resources]
    if len(items) < 2:
        raise CombineError("combine needs at least two resources")
    curves = [_curve(catalog, item) for item in items]
    on = on or items[0].x
    name = name or items[0].y
    is_time = [c.epoch is not None for c in curves]
    if any(is_time) and not all(is_time):
        raise CombineError("some resources have a time axis (`… since …`) and some do not: they cannot share one")
    steps: list[str] = []
    if all(is_time):
        xs = [c.times() for c in curves]
        target_x: str | None = "datetime64[ns]"
        for c in curves:
            steps.append(f"{c.label}: {c.x_name} in {c.x_units} made absolute times")
    else:
        target_x = units or curves[0].x_units
        xs = []
        for c in curves:
            xs.append(convert(c.x, c.x_units, target_x))
            if (c.x_units or "") != (target_x or ""):
                steps.append(f"{c.label}: {c.x_name} converted from {c.x_units} to {target_x}")
    target_y = curves[0].y_units
    ys, errors = [], []
    for c in curves:
        factor = convert(np.ones(1), c.y_units, target_y)[0]
        ys.append(c.y * factor)
        errors.append(None if c.error is None else c.error * factor)
        if (c.y_units or "") != (target_y or ""):
            steps.append(f"{c.label}: {c.y_name} converted from {c.y_units} to {target_y} (×{factor:g})")
    axis = _grid(grid, xs, time=all(is_time))
    mode = _mode(interpolation, axis, ys, time=all(is_time))
    values = np.stack([_interpolate(axis, x, y, mode) for x, y in zip(xs, ys, strict=True)])
    dataset = xr.Dataset(
        {name: (("source", on), values, {"units": target_y or "", "long_name": name})},
        coords={
            "source": [c.label for c in curves],
            on: (on, axis, {} if all(is_time) else {"units": target_x or ""}),
            "source_record": ("source", [c.record for c in curves]),
            "file": ("source", [c.file for c in curves]),
            "doi": ("source", [c.doi for c in curves]),
            "original_x": ("source", [c.x_name for c in curves]),
            "original_y": ("source", [c.y_name for c in curves]),
        },
    )
    if any(e is not None for e in errors):
        stacked = [
            np.full(len(axis), np.nan)
            if e is None
            else _interpolate(axis, x, e, "linear" if mode == "linear" else "loglog")
            for x, e in zip(xs, errors, strict=True)
        ]
        dataset[f"{name}_uncertainty"] = (
            ("source", on),
            np.stack(stacked),
            {"units": target_y or "", "uncertainty_of": name},
        )
        dataset[name].attrs["ancillary_variables"] = f"{name}_uncertainty"
    dataset.attrs.update(
        combined_on=on,
        interpolation=(
            f"{mode}: {'log y against log x' if mode == 'loglog' else 'linear'} interpolation onto the grid; "
            "no extrapolation (NaN outside each resource's range)"
        ),
        conversions="; ".join(steps) or "none: every resource was in the same units",
        grid=f"{len(axis)} points from {axis[0]} to {axis[-1]}",
        sources=", ".join(f"{c.label} ({c.record} {c.file})" for c in curves),
    )
    return dataset


@dataclass
class _Curve:
    label: str
    record: str
    file: str
    doi: str
    x_name: str
    y_name: str
    x: np.ndarray
    y: np.ndarray
    error: np.ndarray | None
    x_units: str | None
    y_units: str | None
    epoch: str | None

    def times(self) -> np.ndarray:
        match = _EPOCH.match(self.x_units or "")
        assert match is not None
        step = _TIME.get(match["unit"].lower())
        if step is None:
            raise CombineError(f"{self.label}: time unit {match['unit']!r} in {self.x_units!r} is not known")
        start = pd.Timestamp(match["epoch"].strip())
        return np.asarray(start + pd.to_timedelta(self.x * step, unit="s"), dtype="datetime64[ns]")


def _resource(item: Resource | tuple[Any, ...] | dict[str, Any]) -> Resource:
    if isinstance(item, Resource):
        return item
    if isinstance(item, dict):
        return Resource(**item)
    if isinstance(item, tuple) and len(item) in (4, 5):
        return Resource(*item)
    raise CombineError(f"{item!r} is not a resource: give (record_id, file, x, y[, label]) or a Resource")


def _curve(catalog: Catalog | None, item: Resource) -> _Curve:
    if item.dataset is not None:
        dataset = item.dataset
    elif catalog is None:
        raise CombineError(f"{item.record_id} {item.file}: a resource from a record needs a Catalog")
    else:
        dataset = catalog.open(item.record_id, item.file, table=item.table)
    where = f"{dataset.attrs.get('source_record', item.record_id)} {dataset.attrs.get('file', item.file)}"
    for column in (item.x, item.y):
        if column not in dataset.variables:
            raise CombineError(
                f"{where} has no column {column!r}; its columns: {', '.join(map(str, dataset.data_vars))}"
            )
    x = np.asarray(dataset[item.x].values, dtype=float)
    y = np.asarray(dataset[item.y].values, dtype=float)
    companions = uncertainties_of(dataset, item.y)
    symmetric = [c for c in companions if not re.search(r"\b(upper|lower|plus|minus|bound)\b", c.replace("_", " "))]
    error = np.abs(np.asarray(dataset[symmetric[0]].values, dtype=float)) if symmetric else None
    keep = np.isfinite(x) & np.isfinite(y)
    order = np.argsort(x[keep], kind="stable")
    x_units = dataset[item.x].attrs.get("units")
    label = item.label or str(dataset.attrs.get("experiments") or "") or item.record_id or "resource"
    return _Curve(
        label=label,
        record=str(dataset.attrs.get("source_record", item.record_id)),
        file=str(dataset.attrs.get("file", item.file)),
        doi=str(dataset.attrs.get("doi", "")),
        x_name=item.x,
        y_name=item.y,
        x=x[keep][order],
        y=y[keep][order],
        error=None if error is None else error[keep][order],
        x_units=x_units,
        y_units=dataset[item.y].attrs.get("units"),
        epoch=x_units if x_units and _EPOCH.match(x_units) else None,
    )


def _grid(grid: Any, xs: Sequence[np.ndarray], *, time: bool) -> np.ndarray:
    if grid is None:
        return np.unique(np.concatenate(xs))
    if isinstance(grid, tuple) and len(grid) == 3 and not time:
        low, high, count = float(grid[0]), float(grid[1]), int(grid[2])
        if low > 0 and high / low > 10:
            return np.geomspace(low, high, count)
        return np.linspace(low, high, count)
    axis = np.asarray(grid, dtype="datetime64[ns]" if time else float)
    if axis.ndim != 1 or len(axis) < 2:
        raise CombineError("grid must be a 1-D array of at least two values, or (low, high, n)")
    return np.sort(axis)


def _mode(interpolation: str, axis: np.ndarray, ys: Sequence[np.ndarray], *, time: bool) -> str:
    if interpolation not in ("auto", "loglog", "linear"):
        raise CombineError(f"interpolation {interpolation!r}: use auto, loglog or linear")
    positive = not time and bool(np.all(axis > 0)) and all(bool(np.all(y > 0)) for y in ys)
    if interpolation == "loglog" and not positive:
        raise CombineError("log-log interpolation needs positive coordinates and values")
    if interpolation != "auto":
        return interpolation
    return "loglog" if positive and float(axis[-1]) / float(axis[0]) > 10 else "linear"


def _interpolate(axis: np.ndarray, x: np.ndarray, y: np.ndarray, mode: str) -> np.ndarray:
    if len(x) == 0:
        return np.full(len(axis), np.nan)
    if axis.dtype.kind == "M":
        grid_f, x_f = axis.astype("int64").astype(float), x.astype("datetime64[ns]").astype("int64").astype(float)
        return np.interp(grid_f, x_f, y, left=np.nan, right=np.nan)
    if mode == "loglog":
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.exp(np.interp(np.log(axis), np.log(x), np.log(y), left=np.nan, right=np.nan))
        return np.asarray(out)
    return np.interp(axis, x, y, left=np.nan, right=np.nan)
