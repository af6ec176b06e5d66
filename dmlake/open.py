"""A record's file opened as an `xarray.Dataset`, with its units, its uncertainties and where it came from.

The bytes come through `portal.table_files.FileCache` (the best replica, checksum verified before anything is
cached, cached under the home); the reading is `portal.tables.read_table` for delimited text and HEPData tables
and xarray's `h5netcdf` engine for NetCDF-4/HDF5. What a header does not say is taken from the release's README
(`dmlake.column_notes`): COSINE-100's CSVs name their columns but give their units and uncertainties only there.

Each variable gets `units` where known; an uncertainty variable gets `uncertainty_of` (the variable it belongs to)
and the variable its `ancillary_variables` (its uncertainties, comma-separated: names may hold spaces). The
Dataset's attributes say where it came from: `source_record`, `title`, `doi`, `file`, `file_checksum`,
`source_url`, `landing_page`, `license`, `experiments`.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import xarray as xr

from dmlake.column_notes import FileNote, attributes_for, notes_for, read_notes
from ontology.model import Distribution, Record
from portal.table_files import FileCache, FileUnavailable, best_url
from portal.tables import TableError, error_columns, is_table_name, is_uncertainty, numeric_columns, read_table

NETCDF_SUFFIXES = (".nc", ".nc4", ".netcdf", ".cdf", ".h5", ".hdf5", ".he5", ".hdf")


class OpenError(ValueError):
    """A resource that cannot be opened: names the record, the file, and what to do."""


def find_distribution(record: Record, resource: str | int) -> tuple[int, Distribution]:
    """A record's file by position, by name (`data/EventRate_erc1-3.csv`), or by its last path part
    (`EventRate_erc1-3.csv`) when that names one file only. Raises `OpenError` listing the files."""
    files = record.distributions
    if isinstance(resource, int) or (isinstance(resource, str) and resource.strip().isdigit()):
        index = int(resource)
        if 0 <= index < len(files):
            return index, files[index]
        raise OpenError(f"record {record.id} has {len(files)} files; there is no file {index}")
    wanted = resource.strip()
    for index, file in enumerate(files):
        if file.name == wanted:
            return index, file
    by_base = [(i, f) for i, f in enumerate(files) if f.name.rsplit("/", 1)[-1] == wanted.rsplit("/", 1)[-1]]
    if len(by_base) == 1:
        return by_base[0]
    names = ", ".join(f.name for f in files[:30]) + (" …" if len(files) > 30 else "")
    if by_base:
        raise OpenError(f"{wanted!r} names {len(by_base)} files of record {record.id}; give the full name: {names}")
    raise OpenError(f"record {record.id} has no file {wanted!r}; its files: {names}")


def open_file(record: Record, resource: str | int, cache: FileCache, *, table: int | str = 0) -> xr.Dataset:
    """The file `resource` of `record` as a Dataset (see the module's description)."""
    _, file = find_distribution(record, resource)
    data = _fetch(record, file, cache)
    lowered = file.name.lower()
    if lowered.endswith(NETCDF_SUFFIXES) or data[:4] in (b"\x89HDF", b"CDF\x01", b"CDF\x02"):
        dataset = _open_netcdf(record, file, data)
    elif is_table_name(file.name, file.media_type, file.format, "table" if file.role == "table" else None):
        try:
            dataset = read_table(data, file.name, table=table)
        except TableError as error:
            raise OpenError(f"record {record.id}: {error}") from None
        _annotate_columns(dataset, file.name, _readme_notes(record, file, cache))
    else:
        raise OpenError(
            f"{file.name} of record {record.id} is not a table, NetCDF or HDF5 file "
            f"(format {file.format or 'unknown'}, media type {file.media_type or 'unknown'}); "
            "download it from " + (best_url(file) or "its landing page")
        )
    dataset.attrs.update(provenance(record, file))
    return dataset


def provenance(record: Record, file: Distribution) -> dict[str, Any]:
    """Where a Dataset came from, as attributes (strings only, so that every netCDF writer takes them)."""
    doi = next((i.value for i in file.identifiers if i.scheme == "doi"), None) or next(
        (i.value for i in record.identifiers if i.scheme == "doi"), None
    )
    out: dict[str, Any] = {
        "source_record": record.id,
        "title": record.title,
        "file": file.name,
        "source_url": best_url(file) or "",
    }
    optional = {
        "doi": doi,
        "file_checksum": str(file.checksum) if file.checksum else None,
        "landing_page": record.landing_page,
        "license": record.license.label if record.license else None,
        "experiments": ", ".join(e.label for e in record.experiments) or None,
        "source": record.source,
        "version": record.version,
    }
    out.update({key: value for key, value in optional.items() if value})
    return out


def _fetch(record: Record, file: Distribution, cache: FileCache) -> bytes:
    try:
        return cache.fetch(file)
    except FileUnavailable as error:
        raise OpenError(f"record {record.id}: {error}") from None


def _open_netcdf(record: Record, file: Distribution, data: bytes) -> xr.Dataset:
    engine = "scipy" if data[:3] == b"CDF" else "h5netcdf"  # netCDF-3 classic is not HDF5: h5netcdf cannot read it
    try:
        # phony_dims: plain HDF5 datasets without netCDF dimension scales still open, with generated dimensions
        options: dict[str, Any] = {"phony_dims": "sort"} if engine == "h5netcdf" else {}
        with xr.open_dataset(io.BytesIO(data), engine=engine, **options) as opened:
            return opened.load()
    except (ValueError, OSError, ImportError) as error:
        raise OpenError(
            f"{file.name} of record {record.id} could not be read as NetCDF/HDF5 with xarray's {engine} engine: {error}"
        ) from None


def _readme_notes(record: Record, file: Distribution, cache: FileCache) -> FileNote | None:
    """The README's description of `file`: from the README nearest to it (same folder first), if the record has one
    that describes it. A README that cannot be fetched leaves the units to the header."""
    folder = file.name.rpartition("/")[0]
    readmes = [f for f in record.distributions if f.name.rsplit("/", 1)[-1].lower().startswith("readme")]
    readmes.sort(key=lambda f: (not folder.startswith(f.name.rpartition("/")[0]), -len(f.name.rpartition("/")[0])))
    for readme in readmes:
        try:
            text = cache.fetch(readme).decode("utf-8", errors="replace")
        except FileUnavailable:
            continue
        note = notes_for(read_notes(text), file.name)
        if note is not None:
            note.description = note.description or ""
            return note
    return None


def _annotate_columns(dataset: xr.Dataset, name: str, note: FileNote | None) -> None:
    columns = [str(c) for c in dataset.data_vars]
    described = attributes_for(note, name, columns) if note else {}
    links: dict[str, list[str]] = {}
    for column, attributes in described.items():
        variable = dataset[column]
        if attributes.units and "units" not in variable.attrs:
            variable.attrs["units"] = attributes.units
        if attributes.description:
            variable.attrs["description"] = attributes.description
        if not attributes.units and attributes.units_by_calibration:
            by = attributes.units_by_calibration
            variable.attrs["units_by_calibration"] = "; ".join(f"{k}: {v}" for k, v in by.items())
        if attributes.uncertainty_of:
            variable.attrs["uncertainty_of"] = attributes.uncertainty_of
            links.setdefault(attributes.uncertainty_of, []).append(column)
    # the names tables give uncertainties (`C_error`, `C_lower_error`…) where the README says nothing
    for column in numeric_columns(dataset):
        if is_uncertainty(column) or column in links:
            continue
        found = error_columns(dataset, column)
        for companion in dict.fromkeys(found or ()):
            if "uncertainty_of" not in dataset[companion].attrs:
                dataset[companion].attrs["uncertainty_of"] = column
                links.setdefault(column, []).append(companion)
                if "units" in dataset[column].attrs and "units" not in dataset[companion].attrs:
                    dataset[companion].attrs["units"] = dataset[column].attrs["units"]
    for column, companions in links.items():
        existing = [c for c in str(dataset[column].attrs.get("ancillary_variables", "")).split(", ") if c]
        dataset[column].attrs["ancillary_variables"] = ", ".join(dict.fromkeys([*existing, *companions]))
    if note and note.description:
        dataset.attrs["description"] = note.description


def uncertainties_of(dataset: xr.Dataset, variable: str) -> Sequence[str]:
    """The variables holding `variable`'s uncertainties."""
    return [n for n in str(dataset[variable].attrs.get("ancillary_variables", "")).split(", ") if n]
