"""Tabular resources read into `xarray.Dataset`s: delimited text (CSV, TSV, whitespace-separated columns) and
HEPData tables (their YAML and their CSV export).

The web page plots these; analysts (issue 9) open the same files with the same reader:

    dataset = read_table(data, name="EventRate_erc1-3.csv")
    x, ys = choose_columns(dataset)

A table becomes a Dataset with one dimension, `row`, and one variable per column, in file order; a column header
`NAME [UNIT]` (HEPData's spelling) gives the variable the attribute `units`. Comment lines (`#`) are kept in
`dataset.attrs["comments"]`, HEPData's `#: key: value` lines as attributes. A file holding several tables one after
another separated by blank lines (HEPData's CSV of a table with several sets of qualifiers) is read one table at a
time: `table=` picks one and `dataset.attrs["tables"]` says how many there are.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd
import xarray as xr
import yaml

MAX_ROWS = 500_000
MAX_COLUMNS = 1_000
DEFAULT_Y_COLUMNS = 8
"""Columns plotted when the reader chooses none: more lines than this make a plot nobody can read."""

TEXT_SUFFIXES = (".csv", ".tsv", ".tab", ".txt", ".dat")
YAML_SUFFIXES = (".yaml", ".yml")
_UNIT = re.compile(r"^(?P<name>.*?)\s*\[(?P<unit>[^\]]*)\]\s*$")
_DELIMITERS = ",;\t|"
_UNCERTAINTY_WORDS = {"error", "err", "errors", "uncertainty", "unc", "sigma"}


class TableError(ValueError):
    """A file that cannot be read as a table: the message says which file and why."""


def is_table_name(name: str, media_type: str | None = None, fmt: str | None = None, role: str | None = None) -> bool:
    """Whether a file looks like a table this module reads, judged from its name, media type, format name and role
    (no bytes needed: the record page decides which files to offer a plot for before fetching any). YAML counts
    only as a HEPData table (role `table`)."""
    lowered = name.lower()
    if lowered.endswith(YAML_SUFFIXES):
        return role == "table"
    if lowered.endswith(TEXT_SUFFIXES):
        return True
    media = (media_type or "").split(";")[0].strip().lower()
    return media in ("text/csv", "text/tab-separated-values") or (fmt or "").lower() in ("csv", "tsv")


def read_table(data: bytes, name: str = "table", *, table: int | str = 0) -> xr.Dataset:
    """Read a table file's bytes into a Dataset (see the module's description). Raises `TableError`. `table` picks
    one of several tables by position, or a HEPData table by its name (`"Table 3"`)."""
    text = _decode(data, name)
    if name.lower().endswith(YAML_SUFFIXES):
        return _read_hepdata_yaml(text, name, table)
    if isinstance(table, str):
        raise TableError(f"{name} is a text table; pick one of its tables by number, not by name ({table!r})")
    return _read_delimited(text, name, table)


def numeric_columns(dataset: xr.Dataset) -> list[str]:
    """The variables holding numbers, in file order."""
    return [str(n) for n, v in dataset.data_vars.items() if v.dtype.kind in "iuf"]


def choose_columns(
    dataset: xr.Dataset, x: str | None = None, y: Iterable[str] = (), limit: int = DEFAULT_Y_COLUMNS
) -> tuple[str, list[str]]:
    """The columns to plot: `x` (default: the first numeric column) against `y` (default: the other numeric
    columns, at most `limit`, leaving out the uncertainty columns of the columns shown). Raises `TableError` for a
    column the table does not have or that holds no numbers."""
    numeric = numeric_columns(dataset)
    name = dataset.attrs.get("name", "the table")
    if len(numeric) < 2:
        raise TableError(
            f"{name} has {len(numeric)} numeric column{'s' if len(numeric) != 1 else ''} "
            f"({', '.join(numeric) or 'none'}): a plot needs two"
        )
    for wanted in (x, *y):
        if wanted is not None and wanted not in numeric:
            raise TableError(f"{name} has no numeric column {wanted!r}; its numeric columns: {', '.join(numeric)}")
    x = x or numeric[0]
    chosen = [c for c in dict.fromkeys(y) if c != x]
    if not chosen:
        chosen = [c for c in numeric if c != x and not is_uncertainty(c)][:limit]
    return x, chosen


def is_uncertainty(column: str) -> bool:
    """Whether a column's name says it holds an uncertainty (`…_error…`, `…_err`, `stat +`, `sys -`)."""
    words = set(re.split(r"[\s_\-]+", column.lower()))
    return bool(words & _UNCERTAINTY_WORDS) or bool(re.match(r"^(stat|sys|syst)\s*[+-]$", column.strip().lower()))


def error_columns(dataset: xr.Dataset, column: str) -> tuple[str, str] | None:
    """The columns holding `column`'s uncertainty below and above, by the names tables give them: one column
    `C_error`, `C_err`, `C error` (HEPData's total) or `BASE_error_SUFFIX` for `BASE_SUFFIX`
    (`event_rate_error_crystal2`), or a pair `C_lower_error` and `C_upper_error`."""

    def numeric(name: str) -> bool:
        return name in dataset.data_vars and dataset[name].dtype.kind in "iuf"

    symmetric = [f"{column}_error", f"{column}_err", f"{column} error"]
    base, sep, suffix = column.rpartition("_")
    if sep and base:
        symmetric += [f"{base}_error_{suffix}", f"{base}_err_{suffix}"]
    found = next((c for c in symmetric if numeric(c)), None)
    if found:
        return found, found
    lower, upper = f"{column}_lower_error", f"{column}_upper_error"
    return (lower, upper) if numeric(lower) and numeric(upper) else None


# -- delimited text ---------------------------------------------------------------------------------------------
def _decode(data: bytes, name: str) -> str:
    if b"\x00" in data[:4096]:
        raise TableError(f"{name} is a binary file, not a text table")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _blocks(text: str) -> tuple[list[list[str]], list[str]]:
    """Tables separated by blank lines (comment lines kept apart), and the comment lines."""
    blocks: list[list[str]] = [[]]
    comments: list[str] = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            comments.append(stripped)
            continue
        if not stripped:
            if blocks[-1]:
                blocks.append([])
            continue
        blocks[-1].append(line)
    return [b for b in blocks if b], comments


def _read_delimited(text: str, name: str, table: int) -> xr.Dataset:
    blocks, comments = _blocks(text)
    if not blocks:
        raise TableError(f"{name} holds no rows")
    if not 0 <= table < len(blocks):
        plural = "s" if len(blocks) != 1 else ""
        raise TableError(f"{name} holds {len(blocks)} table{plural}; there is no table {table}")
    lines = blocks[table]
    delimiter = _delimiter(lines[:20])
    first = _split(lines[0], delimiter)
    header = any(not _is_number(cell) for cell in first if cell.strip())
    names = [_unquote(cell) or f"column {i + 1}" for i, cell in enumerate(first)] if header else None
    body = lines[1:] if header else lines
    if not body:
        raise TableError(f"{name} has a header but no rows")
    if len(body) > MAX_ROWS:
        raise TableError(f"{name} has {len(body):,} rows; tables of up to {MAX_ROWS:,} rows are read")
    try:
        frame = pd.read_csv(
            io.StringIO("\n".join(body)),
            sep=r"\s+" if delimiter is None else delimiter,
            header=None,
            quotechar='"',
            skipinitialspace=True,
            engine="python" if delimiter is None else "c",
        )
    except (pd.errors.ParserError, ValueError) as error:
        raise TableError(f"{name} is not a regular table: {error}") from None
    if names is None:
        names = [f"column {i + 1}" for i in range(frame.shape[1])]
    if frame.shape[1] != len(names):
        raise TableError(f"{name}: the header names {len(names)} columns but the rows have {frame.shape[1]}")
    if len(names) > MAX_COLUMNS:
        raise TableError(f"{name} has {len(names):,} columns; tables of up to {MAX_COLUMNS:,} columns are read")
    frame.columns = _unique_names(names)
    frame.index.name = "row"
    dataset = xr.Dataset.from_dataframe(frame.apply(_numeric_if_possible))
    for column in dataset.data_vars:
        match = _UNIT.match(str(column))
        if match and match["unit"].strip():
            dataset[column].attrs["units"] = match["unit"].strip()
    dataset.attrs.update(_comment_attributes(comments))
    dataset.attrs.update(name=name, tables=len(blocks), table=table, delimiter=delimiter or "whitespace")
    return dataset


def _delimiter(sample: Sequence[str]) -> str | None:
    """The delimiter of these lines, or None for columns separated by runs of whitespace."""
    try:
        return csv.Sniffer().sniff("\n".join(sample), delimiters=_DELIMITERS).delimiter
    except csv.Error:
        pass
    counts = {d: {line.count(d) for line in sample} for d in _DELIMITERS}
    steady = [d for d, seen in counts.items() if len(seen) == 1 and next(iter(seen)) > 0]
    return steady[0] if steady else None


def _split(line: str, delimiter: str | None) -> list[str]:
    if delimiter is None:
        return line.split()
    return next(csv.reader([line], delimiter=delimiter, skipinitialspace=True))


def _unquote(cell: str) -> str:
    cell = cell.strip()
    if len(cell) >= 2 and cell[0] == cell[-1] and cell[0] in "'\"":
        cell = cell[1:-1]
    return cell.strip()


def _unique_names(names: Sequence[str]) -> list[str]:
    seen: dict[str, int] = {}
    unique = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        unique.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return unique


def _is_number(text: str) -> bool:
    try:
        float(_unquote(text))
    except ValueError:
        return _unquote(text).lower() in ("nan", "inf", "-inf", "")
    return True


def _numeric_if_possible(column: pd.Series) -> pd.Series:
    if column.dtype.kind in "iufb":
        return column
    converted = pd.to_numeric(column, errors="coerce")
    # a column with a few placeholders ("-", "n/a") among numbers is numeric; a column of words is not
    present = column.notna().sum()
    return converted if present and converted.notna().sum() >= 0.8 * present else column.astype(str)


def _comment_attributes(comments: Sequence[str]) -> dict[str, Any]:
    attributes: dict[str, Any] = {}
    if comments:
        attributes["comments"] = "\n".join(comments)
    for line in comments:
        if line.startswith("#:"):
            key, sep, value = line[2:].partition(":")
            if sep and key.strip() and "," not in key:
                attributes.setdefault(key.strip(), value.strip())
    return attributes


# -- HEPData YAML -----------------------------------------------------------------------------------------------
def _read_hepdata_yaml(text: str, name: str, table: int | str = 0) -> xr.Dataset:
    """A HEPData table: one variable per independent variable (its bin edges as `… low`/`… high`), per dependent
    variable its values, its total uncertainty (`… error`, quadrature sum) and each named uncertainty as its own
    pair of variables (`… error (stat, plus)`, `… error (stat, minus)`), its qualifiers as attributes. A YAML file of
    several documents (HEPData's single-file submission) holds one table per document with `dependent_variables`;
    `table=` picks one by position or by `name`."""
    try:
        documents = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as error:
        raise TableError(f"{name} is not YAML: {error}") from None
    tables = [d for d in documents if isinstance(d, Mapping) and "dependent_variables" in d]
    if not tables:
        raise TableError(f"{name} is not a HEPData table (no dependent_variables)")
    document = _pick_table(tables, name, table)
    columns: dict[str, list[Any]] = {}
    attributes: dict[str, dict[str, Any]] = {}
    for variable in document.get("independent_variables") or []:
        label, unit = _hepdata_label(variable)
        label = _unique_names([*columns, label])[-1]
        values = variable.get("values") or []
        columns[label] = [_point(v) for v in values]
        attributes[label] = {"hepdata_role": "independent variable"}
        if any("low" in v for v in values if isinstance(v, Mapping)):
            columns[f"{label} low"] = [_float(v.get("low")) if isinstance(v, Mapping) else math.nan for v in values]
            columns[f"{label} high"] = [_float(v.get("high")) if isinstance(v, Mapping) else math.nan for v in values]
            attributes[label]["bounds"] = f"{label} low, {label} high"
            for side in ("low", "high"):
                attributes[f"{label} {side}"] = (
                    {"bin_edge_of": label, "units": unit} if unit else {"bin_edge_of": label}
                )
        if unit:
            attributes[label]["units"] = unit
    for variable in document["dependent_variables"] or []:
        label, unit = _hepdata_label(variable)
        qualifiers = [q for q in variable.get("qualifiers") or [] if isinstance(q, Mapping)]
        shown = [f"{q.get('name')}={q.get('value')}" for q in qualifiers if q.get("name") not in ("RE", "SQRT(S)")]
        if shown:
            label = f"{label} ({', '.join(shown)})"
        label = _unique_names([*columns, label])[-1]
        values = [v if isinstance(v, Mapping) else {"value": v} for v in variable.get("values") or []]
        central = [_float(v.get("value")) for v in values]
        columns[label] = central
        total = f"{label} error"
        columns[total] = [_total_error(v.get("errors") or [], c) for v, c in zip(values, central, strict=True)]
        own: dict[str, Any] = {"hepdata_role": "dependent variable", **_qualifier_attributes(qualifiers)}
        components = _error_components(values, central)
        for component, (plus, minus) in components.items():
            columns[f"{total} ({component}, plus)"] = plus
            columns[f"{total} ({component}, minus)"] = minus
        ancillary = [total] + [f"{total} ({c}, {s})" for c in components for s in ("plus", "minus")]
        own["ancillary_variables"] = ", ".join(ancillary)
        attributes[label] = {**own, **({"units": unit} if unit else {})}
        attributes[total] = {"uncertainty_of": label, "uncertainty": "total: all uncertainties in quadrature"}
        for component in components:
            for side in ("plus", "minus"):
                attributes[f"{total} ({component}, {side})"] = {
                    "uncertainty_of": label,
                    "uncertainty": f"{component}, {side} side (signed as published)",
                }
        for ancillary_name in ancillary:
            if unit:
                attributes[ancillary_name]["units"] = unit
    lengths = {len(v) for v in columns.values()}
    if len(lengths) != 1:
        raise TableError(f"{name}: its variables have different numbers of values ({sorted(lengths)})")
    frame = pd.DataFrame(columns)
    frame.index.name = "row"
    dataset = xr.Dataset.from_dataframe(frame)
    for column, attrs in attributes.items():
        dataset[column].attrs.update(attrs)
    dataset.attrs.update(name=name, tables=len(tables), table=tables.index(document), format="HEPData YAML")
    for key in ("name", "description", "location"):
        if document.get(key):
            dataset.attrs["table_name" if key == "name" else key] = str(document[key])
    for keyword in document.get("keywords") or []:
        if isinstance(keyword, Mapping) and keyword.get("name") and keyword.get("values"):
            dataset.attrs[f"keyword_{keyword['name']}"] = "; ".join(str(v) for v in keyword["values"])
    return dataset


def _pick_table(tables: Sequence[Mapping[str, Any]], name: str, table: int | str) -> Mapping[str, Any]:
    if isinstance(table, str):
        for document in tables:
            if str(document.get("name", "")).strip().lower() == table.strip().lower():
                return document
        names = ", ".join(repr(str(d.get("name"))) for d in tables)
        raise TableError(f"{name} has no table named {table!r}; its tables: {names}")
    if not 0 <= table < len(tables):
        raise TableError(
            f"{name} holds {len(tables)} table{'s' if len(tables) != 1 else ''}; there is no table {table}"
        )
    return tables[table]


def _qualifier_attributes(qualifiers: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """Qualifiers as attributes: all of them in `qualifiers`, and each as `qualifier_NAME` (a name netCDF accepts)."""
    out: dict[str, str] = {}
    texts = []
    for qualifier in qualifiers:
        value = f"{qualifier.get('value')}" + (f" {qualifier['units']}" if qualifier.get("units") else "")
        texts.append(f"{qualifier.get('name')}: {value}")
        key = re.sub(r"[^0-9A-Za-z]+", "_", str(qualifier.get("name"))).strip("_") or "unnamed"
        out.setdefault(f"qualifier_{key}", value)
    if texts:
        out["qualifiers"] = "; ".join(texts)
    return out


def _error_components(
    values: Sequence[Mapping[str, Any]], central: Sequence[float]
) -> dict[str, tuple[list[float], list[float]]]:
    """Each named uncertainty of the points (`stat`, `sys`; unnamed ones `error 1`, `error 2`…), its plus and minus
    sides as published (a symmetric one is `+e` and `-e`; percentages are taken of the value)."""
    labels: list[str] = []
    for point in values:
        for position, error in enumerate(point.get("errors") or []):
            label = str(error.get("label") or f"error {position + 1}")
            if label not in labels:
                labels.append(label)
    out: dict[str, tuple[list[float], list[float]]] = {label: ([], []) for label in labels}
    for point, value in zip(values, central, strict=True):
        found: dict[str, tuple[float, float]] = {}
        for position, error in enumerate(point.get("errors") or []):
            label = str(error.get("label") or f"error {position + 1}")
            if "symerror" in error:
                size = _size(error["symerror"], value)
                found[label] = (size, -size)
            elif "asymerror" in error:
                both = error["asymerror"] or {}
                found[label] = (_signed(both.get("plus"), value), _signed(both.get("minus"), value))
        for label in labels:
            plus, minus = found.get(label, (math.nan, math.nan))
            out[label][0].append(plus)
            out[label][1].append(minus)
    return out


def _signed(value: Any, reference: float) -> float:
    if isinstance(value, str) and value.strip().endswith("%"):
        return _float(value.strip()[:-1]) * abs(reference) / 100
    return _float(value)


def _hepdata_label(variable: Mapping[str, Any]) -> tuple[str, str]:
    header = variable.get("header") or {}
    name = str(header.get("name") or "value")
    unit = str(header.get("units") or "")
    return (f"{name} [{unit}]" if unit else name), unit


def _point(value: Any) -> float:
    if isinstance(value, Mapping):
        if "value" in value:
            return _float(value["value"])
        low, high = _float(value.get("low")), _float(value.get("high"))
        return (low + high) / 2
    return _float(value)


def _float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _total_error(errors: Sequence[Mapping[str, Any]], value: float) -> float:
    """All uncertainties of a point added in quadrature (the larger side of an asymmetric one); a percentage is
    taken of the value."""
    total = 0.0
    for error in errors:
        if "symerror" in error:
            size = _size(error["symerror"], value)
        elif "asymerror" in error:
            both = error["asymerror"] or {}
            size = max(abs(_size(both.get("plus"), value)), abs(_size(both.get("minus"), value)))
        else:
            continue
        if not math.isnan(size):
            total += size * size
    return math.sqrt(total)


def _size(value: Any, reference: float) -> float:
    if isinstance(value, str) and value.strip().endswith("%"):
        return abs(_float(value.strip()[:-1]) * reference / 100)
    return abs(_float(value))
