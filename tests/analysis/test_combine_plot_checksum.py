"""Acceptance 3 (combine on a common grid, non-empty PNG plots) and 4 (a checksum mismatch names the file and both
checksums, and leaves the cache clean); the unit table; the CLI's `open` and `plot`."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import xarray as xr
from typer.testing import CliRunner

from dmlake import Catalog
from dmlake.combine import CombineError, Resource, combine, convert, parse_unit
from dmlake.open import OpenError, open_file
from dmlake.save import plot_png
from harvester.cli import app
from ontology.model import Checksum, Replica
from portal.table_files import FileCache

COSINE = "dmdc/dmdc/cosine/cosine100-6years-modulation@v1.0"
PNG = b"\x89PNG\r\n\x1a\n"


def is_png(path: Path) -> bool:
    data = path.read_bytes()
    return data.startswith(PNG) and len(data) > 5000


def test_quenching_factors_of_sodium_and_iodine_on_one_recoil_energy_grid(harvested: Any, tmp_path: Path) -> None:
    with Catalog(harvested.home) as catalog:
        sodium = catalog.open(COSINE, "CosineNaQF.csv")
        combined = catalog.combine(
            [
                (COSINE, "CosineNaQF.csv", "nuclear_recoil_energy", "qf", "Na"),
                (COSINE, "CosineIQF.csv", "nuclear_recoil_energy", "qf", "I"),
            ],
            on="recoil_energy",
            grid=(1, 100, 60),
        )
    assert combined["qf"].dims == ("source", "recoil_energy") and list(combined["source"].values) == ["Na", "I"]
    assert combined["recoil_energy"].attrs["units"] == "keVnr" and combined["qf"].attrs["units"] == "%"
    assert np.allclose(combined["recoil_energy"].values, np.geomspace(1, 100, 60))
    assert combined.attrs["interpolation"].startswith("loglog")
    # on the grid the interpolation reproduces the published curve between its points, and nothing outside it
    x, y = sodium["nuclear_recoil_energy"].values, sodium["qf"].values
    inside = (combined["recoil_energy"] >= x.min()) & (combined["recoil_energy"] <= x.max())
    expected = np.exp(np.interp(np.log(combined["recoil_energy"].values), np.log(x), np.log(y)))
    assert np.allclose(combined["qf"].sel(source="Na").values[inside], expected[inside.values])
    assert np.isnan(combined["qf"].sel(source="Na").values[~inside]).all()
    assert combined["qf_uncertainty"].attrs["uncertainty_of"] == "qf"
    assert combined["file"].values.tolist() == ["data/CosineNaQF.csv", "data/CosineIQF.csv"]
    assert "keVnr,I to keVnr" in combined.attrs["conversions"]
    assert is_png(plot_png(combined, tmp_path / "qf.png"))


def test_event_and_background_rates_on_one_time_axis(harvested: Any, tmp_path: Path) -> None:
    with Catalog(harvested.home) as catalog:
        combined = catalog.combine(
            [
                Resource(COSINE, "EventRate_erc2-6.csv", "day_centers", "event_rate_crystal2", "rate"),
                Resource(COSINE, "BackgroundRate_erc2-6.csv", "day_centers", "background_crystal2", "background"),
            ],
            on="time",
        )
    assert combined["time"].dtype.kind == "M"  # days since 2016-01-01 became absolute times
    assert combined["time"].values[0] == np.datetime64("2016-10-12T12:00")  # 285.5 days after the epoch
    assert combined["event_rate_crystal2"].attrs["units"] == "counts/day/kg/keVee"
    rate = combined["event_rate_crystal2"].sel(source="rate").dropna("time")
    assert len(rate) > 100 and np.all((rate > 1) & (rate < 6))


def test_exclusion_limits_in_different_units_meet_on_one_wimp_mass_grid() -> None:
    masses_gev = np.array([10.0, 100.0, 1000.0])
    first = xr.Dataset(
        {"mass": ("row", masses_gev, {"units": "GeV"}), "sigma": ("row", [1e-45, 1e-46, 1e-45], {"units": "cm2"})},
        attrs={"experiments": "A"},
    )
    second = xr.Dataset(
        {"m": ("row", masses_gev / 1000, {"units": "TeV"}), "xs": ("row", [1e-9, 1e-10, 1e-9], {"units": "pb"})},
        attrs={"experiments": "B"},
    )
    combined = combine(
        None,
        [Resource(x="mass", y="sigma", dataset=first), Resource(x="m", y="xs", dataset=second)],
        on="wimp_mass",
        grid=[10.0, 31.6227766, 100.0],
    )
    # 1e-9 pb = 1e-45 cm²; TeV → GeV; log-log: the geometric midpoint of a power law lies on it
    assert np.allclose(combined["sigma"].values, [[1e-45, 10**-45.5, 1e-46]] * 2, rtol=1e-6)
    assert list(combined["source"].values) == ["A", "B"]
    assert "B: m converted from TeV to GeV" in combined.attrs["conversions"]
    assert "xs converted from pb to cm2" in combined.attrs["conversions"]
    with pytest.raises(CombineError, match=r"cannot convert 'keVee' \(energy-ee\) to 'keVnr' \(energy-nr\)"):
        convert(np.ones(1), "keVee", "keVnr")
    with pytest.raises(CombineError, match=r"unit 'furlongs' is not in dmlake's unit table"):
        parse_unit("furlongs")
    assert convert(np.array([2.0]), "MUB", "pb")[0] == pytest.approx(2e6)


def test_a_checksum_mismatch_names_the_file_and_both_checksums_and_caches_nothing(
    harvested: Any, tmp_path: Path, cosine_data: Path
) -> None:
    with Catalog(harvested.home) as catalog:
        record = catalog.get(COSINE)
    index = next(i for i, f in enumerate(record.distributions) if f.name == "data/CosineIQF.csv")
    real = hashlib.sha256((cosine_data / "CosineIQF.csv").read_bytes()).hexdigest()
    # the record says one thing, the source now serves another (as after a silent change at the source)
    claimed = "0" * 64
    files = list(record.distributions)
    files[index] = files[index].model_copy(update={"checksum": Checksum(algorithm="sha256", value=claimed)})
    changed = record.model_copy(update={"distributions": files})
    cache_dir = tmp_path / "cache"
    cache = FileCache(cache_dir)
    with pytest.raises(OpenError) as caught:
        open_file(changed, "data/CosineIQF.csv", cache)
    message = str(caught.value)
    assert "data/CosineIQF.csv" in message and f"sha256:{claimed}" in message and f"sha256:{real}" in message
    assert not cache_dir.exists() or not any(cache_dir.iterdir())  # nothing corrupt, nothing partial
    # a corrupted local replica is refused the same way; an intact one is read in place, not copied
    local = tmp_path / "replica.csv"
    local.write_bytes((cosine_data / "CosineIQF.csv").read_bytes()[:-10])
    replica = Replica(site="here", state="available", url=local.as_uri())
    files[index] = record.distributions[index].model_copy(update={"replicas": [replica]})
    with pytest.raises(OpenError, match=rf"read from its local replica .* sha256:{real}.*its bytes have sha256:"):
        open_file(record.model_copy(update={"distributions": files}), "data/CosineIQF.csv", cache)
    local.write_bytes((cosine_data / "CosineIQF.csv").read_bytes())
    dataset = open_file(record.model_copy(update={"distributions": files}), "data/CosineIQF.csv", cache)
    assert dataset.attrs["source_url"] == local.as_uri() and dataset["qf"].attrs["units"] == "%"
    cache.close()


def test_cli_open_writes_netcdf_and_csv_and_plot_writes_a_png(harvested: Any, tmp_path: Path) -> None:
    runner = CliRunner()
    home = ["--home", str(harvested.home)]
    netcdf = tmp_path / "rates.nc"
    result = runner.invoke(app, [*home, "open", COSINE, "EventRate_nrc2-6.csv", "--to", "netcdf", "-o", str(netcdf)])
    assert result.exit_code == 0, result.output
    with xr.open_dataset(netcdf, engine="h5netcdf", decode_times=False) as written:
        assert written["event_rate_crystal3"].attrs["units"] == "counts/day/kg/3.3 keVnr"
        assert written["event_rate_error_crystal3"].attrs["uncertainty_of"] == "event_rate_crystal3"
        assert written.attrs["file"] == "data/EventRate_nrc2-6.csv" and written.attrs["file_checksum"].startswith(
            "sha256:"
        )
    # a HEPData table: `/` in names is not allowed in netCDF; the published name is kept
    hep = tmp_path / "t1.nc"
    result = runner.invoke(
        app, [*home, "open", "hepdata/ins1396331.v1", "HEPData-ins1396331-v1-Table_1.yaml", "-o", str(hep)]
    )
    assert result.exit_code == 0, result.output
    with xr.open_dataset(hep, engine="h5netcdf") as written:
        name = "D2SIG\u2215DPT\u2215DYRAP [MUB\u2215(GEV\u2215c)] (YRAP=2.0 TO 2.5)"
        assert written[name].attrs["original_name"] == name.replace("\u2215", "/")
        assert written[name].attrs["qualifier_YRAP"] == "2.0 TO 2.5"
    csv = tmp_path / "qf.csv"
    result = runner.invoke(app, [*home, "open", COSINE, "CosineNaQF.csv", "--to", "csv", "-o", str(csv)])
    assert result.exit_code == 0, result.output
    text = csv.read_text()
    assert "# file: data/CosineNaQF.csv" in text and "row,nuclear_recoil_energy [keVnr],qf [%],qf_err [%]" in text
    png = tmp_path / "plot.png"
    result = runner.invoke(
        app,
        [*home, "plot", COSINE, "EventRate_erc2-6.csv", "-o", str(png), "--x", "day_centers", "--y", "mean_residual"],
    )
    assert result.exit_code == 0, result.output
    assert is_png(png)
    wrong = runner.invoke(app, [*home, "plot", COSINE, "EventRate_erc2-6.csv", "-o", str(png), "--y", "no_such"])
    assert wrong.exit_code == 1 and "has no numeric column 'no_such'" in wrong.output
    missing = runner.invoke(app, [*home, "open", COSINE, "nothing.csv"])
    assert missing.exit_code == 1 and "has no file 'nothing.csv'" in missing.output


@pytest.mark.parametrize(
    ("name", "write"),
    [
        ("rates-classic.nc", lambda ds, path: ds.to_netcdf(path, format="NETCDF3_CLASSIC", engine="scipy")),
        ("rates.nc4", lambda ds, path: ds.to_netcdf(path, engine="h5netcdf")),
        ("rates.h5", lambda ds, path: _plain_hdf5(ds, path)),
    ],
)
def test_netcdf_3_netcdf_4_and_plain_hdf5_files_open_with_provenance(
    harvested: Any, tmp_path: Path, name: str, write: Any
) -> None:
    """The formats analysts meet besides tables, each through the xarray engine made for it (scipy for netCDF-3
    classic, h5netcdf for netCDF-4 and HDF5), from a local replica whose checksum is verified."""
    with Catalog(harvested.home) as catalog:
        record = catalog.get(COSINE)
    written = xr.Dataset({"rate": ("day", np.array([0.5, 0.75, 1.25]))}, coords={"day": np.array([1.0, 2.0, 3.0])})
    path = tmp_path / name
    write(written, path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    file = record.distributions[0].model_copy(
        update={
            "name": f"data/{name}",
            "checksum": Checksum(algorithm="sha256", value=digest),
            "replicas": [Replica(site="here", state="available", url=path.as_uri())],
        }
    )
    cache = FileCache(tmp_path / "cache")
    dataset = open_file(record.model_copy(update={"distributions": [file]}), f"data/{name}", cache)
    cache.close()
    variable = next(v for v in dataset.data_vars if dataset[v].size == 3)
    assert dataset[variable].values.tolist() == [0.5, 0.75, 1.25]
    assert dataset.attrs["source_record"] == record.id and dataset.attrs["source_url"] == path.as_uri()
    assert digest in dataset.attrs["file_checksum"]


def _plain_hdf5(dataset: xr.Dataset, path: Path) -> None:
    """An HDF5 file as instruments write it: a bare dataset, no netCDF dimension scales."""
    import h5py

    with h5py.File(path, "w") as hdf:
        hdf.create_dataset("rate", data=dataset["rate"].values)
