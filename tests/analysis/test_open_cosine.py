"""Acceptance 1: every COSINE-100 CSV of the corpus opens through `Catalog.open` (fetched from the DMDC GitLab
replica, checksum verified) as a Dataset with the units and uncertainty variables its README gives."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from dmlake import Catalog
from dmlake.open import OpenError, uncertainties_of

COSINE = "dmdc/dmdc/cosine/cosine100-6years-modulation@v1.0"
DRU = {"erc": "counts/day/kg/keVee", "nrc": "counts/day/kg/3.3 keVnr", "irc": "counts/day/kg/11 keVnr,I"}
DIMENSIONLESS = ("livetime_efficiency_", "counts_", "mcmc_samples", "pseudo_experiments", "efficiency_")
"""Columns the README gives no unit for because they have none (counts, fractions)."""


def calibration(name: str) -> str:
    return name.rsplit("_", 1)[-1][:3]


def test_every_cosine_csv_opens_with_its_readme_units_and_uncertainties(harvested: Any, cosine_data: Path) -> None:
    files = sorted(cosine_data.glob("*.csv"))
    assert len(files) == 22
    with Catalog(harvested.home) as catalog:
        for path in files:
            dataset = catalog.open(COSINE, path.name)
            expected = pd.read_csv(path)
            # the values are the file's, column for column
            assert list(dataset.data_vars) == list(expected.columns), path.name
            for column in expected.columns:
                np.testing.assert_array_equal(dataset[column].values, expected[column].to_numpy(dtype=float))
            # provenance: the record, the file and its checksum (that of the corpus file, byte for byte)
            assert dataset.attrs["file"] == f"data/{path.name}"
            assert dataset.attrs["file_checksum"] == "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()
            assert dataset.attrs["source_record"].endswith("cosine100-6years-modulation%40v1.0")
            assert dataset.attrs["experiments"] == "COSINE-100" and dataset.attrs["license"] == "CC-BY-4.0"
            for column in expected.columns:
                attrs = dataset[column].attrs
                if column.startswith(DIMENSIONLESS) or column in ("energy_min", "energy_max"):
                    continue
                # every quantity with a unit in the README has it; uncertainties carry their value's unit
                assert attrs.get("units") or column.startswith("dama_amplitude"), (path.name, column)
            # each uncertainty names the column it belongs to, and that column lists it
            for column in expected.columns:
                of = dataset[column].attrs.get("uncertainty_of")
                if any(word in column for word in ("error", "_err", "bound")):
                    assert of in dataset.data_vars, (path.name, column)
                    assert column in uncertainties_of(dataset, of), (path.name, column)
                else:
                    assert of is None, (path.name, column)


def test_units_follow_the_calibration_policy_of_the_file_and_column(harvested: Any) -> None:
    with Catalog(harvested.home) as catalog:
        for name in ("EventRate_erc1-3.csv", "EventRate_nrc2-6.csv"):
            rates = catalog.open(COSINE, name)
            unit = DRU[name.split("_")[1][:3]]
            assert rates["day_centers"].attrs["units"] == "days since 2016-01-01 00:00:00"
            for column in ("event_rate_crystal2", "event_rate_error_crystal7", "residual_crystal3", "mean_residual"):
                assert rates[column].attrs["units"] == unit, (name, column)
            assert rates["event_rate_error_crystal2"].attrs["uncertainty_of"] == "event_rate_crystal2"
            assert uncertainties_of(rates, "mean_residual") == ["mean_residual_error"]
        for name in ("AmplitudePosterior_irc2-6.csv", "PseudoUnderDama_nrc2-6.csv"):
            posterior = catalog.open(COSINE, name)
            first = next(iter(posterior.data_vars))
            assert posterior[first].attrs["units"] == DRU[name.split("_")[1][:3]]
        spectrum = catalog.open(COSINE, "AmplitudeSpectrum.csv")
        assert spectrum["cosine_nrc_single_amplitude"].attrs["units"] == DRU["nrc"]
        assert spectrum["cosine_erc_multiple_amplitude_lower_error"].attrs["units"] == DRU["erc"]
        assert uncertainties_of(spectrum, "cosine_erc_single_amplitude") == [
            "cosine_erc_single_amplitude_upper_error",
            "cosine_erc_single_amplitude_lower_error",
        ]
        # the bin edges' unit depends on a calibration the file does not fix: both are given, none is guessed
        assert "units" not in spectrum["energy_min"].attrs
        assert "erc: counts/day/kg/keVee" in spectrum["energy_min"].attrs["units_by_calibration"]
        efficiency = catalog.open(COSINE, "SelectionEfficiency.csv")
        assert efficiency["energy_kevee_4"].attrs["units"] == "keVee"
        assert uncertainties_of(efficiency, "efficiency_4") == ["efficiency_upper_bound_4", "efficiency_lower_bound_4"]
        sodium, iodine = catalog.open(COSINE, "CosineNaQF.csv"), catalog.open(COSINE, "CosineIQF.csv")
        assert sodium["nuclear_recoil_energy"].attrs["units"] == "keVnr"
        assert iodine["nuclear_recoil_energy"].attrs["units"] == "keVnr,I"
        assert sodium["qf_err"].attrs == {
            "units": "%",
            "description": "corresponding 1σ error in %.",
            "uncertainty_of": "qf",
        }


def test_resources_are_found_by_name_position_or_last_path_part_and_mistakes_are_explained(
    harvested: Any,
) -> None:
    with Catalog(harvested.home) as catalog:
        names = catalog.files(COSINE)
        index = names.index("data/CosineNaQF.csv")
        by_position = catalog.open(COSINE, index)
        by_name = catalog.open(COSINE, "data/CosineNaQF.csv")
        assert by_position.identical(by_name)
        with pytest.raises(OpenError, match=r"has no file 'NoSuch\.csv'; its files: LICENSE, README\.md"):
            catalog.open(COSINE, "NoSuch.csv")
        with pytest.raises(OpenError, match=r"README\.md of record .* is not a table, NetCDF or HDF5 file"):
            catalog.open(COSINE, "README.md")
        with pytest.raises(LookupError, match="no record"):
            catalog.open("dmdc/no/such@v1", "x.csv")
