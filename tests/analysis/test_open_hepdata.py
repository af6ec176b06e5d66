"""Acceptance 2: the HEPData submissions of the corpus open as Datasets with their qualifiers and errors, from the
files themselves and through `Catalog.open` of the harvested HEPData records."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import yaml

from dmlake import Catalog
from dmlake.open import OpenError, uncertainties_of
from portal.tables import read_table

LHCB = "hepdata/ins1396331.v1"
BELLE = "hepdata/ins1512299.v1"


def submission(corpus: Path) -> Path:
    return corpus / "hepdata" / "submission_format"


def check_against_yaml(dataset: Any, document: dict[str, Any]) -> None:
    """Every dependent variable's values, each named uncertainty (plus and minus) and qualifiers as published."""
    dependents = [n for n in dataset.data_vars if dataset[n].attrs.get("hepdata_role") == "dependent variable"]
    assert len(dependents) == len(document["dependent_variables"])
    for name, variable in zip(dependents, document["dependent_variables"], strict=True):
        attrs = dataset[name].attrs
        assert attrs.get("units", "") == variable["header"].get("units", "")
        for qualifier in variable.get("qualifiers") or []:
            assert f"{qualifier['name']}: {qualifier['value']}" in attrs["qualifiers"]
        errors = uncertainties_of(dataset, name)
        assert errors[0] == f"{name} error"
        for row, point in enumerate(variable["values"]):
            if point["value"] == "-":  # HEPData's mark for a point without a value
                assert math.isnan(dataset[name].values[row])
                continue
            assert dataset[name].values[row] == pytest.approx(float(point["value"]))
            for position, error in enumerate(point.get("errors") or []):
                label = error.get("label") or f"error {position + 1}"
                plus = dataset[f"{name} error ({label}, plus)"].values[row]
                minus = dataset[f"{name} error ({label}, minus)"].values[row]
                if "symerror" in error:
                    assert (plus, minus) == pytest.approx((float(error["symerror"]), -float(error["symerror"])))
                else:
                    published = error["asymerror"]
                    assert (plus, minus) == pytest.approx((float(published["plus"]), float(published["minus"])))
                assert dataset[f"{name} error ({label}, plus)"].attrs["uncertainty_of"] == name


def test_the_lhcb_submission_opens_with_qualifiers_and_stat_and_sys_errors(corpus: Path) -> None:
    path = submission(corpus) / "ins1396331_LHCb" / "data1.yaml"
    dataset = read_table(path.read_bytes(), path.name)
    document = yaml.safe_load(path.read_text())
    check_against_yaml(dataset, document)
    first = "D2SIG/DPT/DYRAP [MUB/(GEV/c)] (YRAP=2.0 TO 2.5)"
    assert dataset[first].attrs["qualifier_YRAP"] == "2.0 TO 2.5"
    assert dataset[first].attrs["qualifier_SQRT_S"] == "13000.0 GEV"
    assert dataset["PT [GEV]"].attrs["bounds"] == "PT [GEV] low, PT [GEV] high"
    assert list(dataset["PT [GEV] low"].values[:2]) == [0.0, 1.0]


def test_every_table_of_the_belle_single_file_submission_opens_by_position_and_name(corpus: Path) -> None:
    path = submission(corpus) / "ins1512299_Belle_single_file" / "1512299.yaml"
    documents = [d for d in yaml.safe_load_all(path.read_text()) if d and "dependent_variables" in d]
    assert len(documents) == 5
    for position, document in enumerate(documents):
        by_position = read_table(path.read_bytes(), path.name, table=position)
        by_name = read_table(path.read_bytes(), path.name, table=document["name"])
        assert by_position.identical(by_name)
        assert by_position.attrs["table_name"] == document["name"] and by_position.attrs["tables"] == 5
        check_against_yaml(by_position, document)
        total = next(n for n in by_position.data_vars if str(n).endswith(" error"))
        if f"{total} (error 1, plus)" in by_position:  # the correlation table has no uncertainties
            single = by_position[f"{total} (error 1, plus)"].values
            assert list(by_position[total].values) == pytest.approx(list(single))  # one error: the total is itself
    with pytest.raises(ValueError, match=r"has no table named 'Table 9'; its tables: 'Table 1'"):
        read_table(path.read_bytes(), path.name, table="Table 9")


def test_harvested_hepdata_tables_open_through_the_catalog_with_provenance(harvested: Any, corpus: Path) -> None:
    document = yaml.safe_load((submission(corpus) / "ins1396331_LHCb" / "data1.yaml").read_text())
    with Catalog(harvested.home) as catalog:
        table = catalog.open(LHCB, "HEPData-ins1396331-v1-Table_1.yaml")
        check_against_yaml(table, document)
        assert table.attrs["doi"] == "10.17182/hepdata.73066.v1/t1"  # the table's own DOI
        assert table.attrs["experiments"] == "LHCb" and table.attrs["license"] == "CC0-1.0"
        assert table.attrs["source_url"].endswith("/download/table/ins1396331/Table1/1/yaml")
        # the CSV view of the same table: values and the header's units
        csv = catalog.open(LHCB, "HEPData-ins1396331-v1-Table_1.csv")
        assert csv["PT [GEV]"].attrs["units"] == "GEV"
        belle = catalog.files(BELLE)
        assert any(name.endswith(".yaml") for name in belle)
        with pytest.raises(OpenError, match=r"\.root of record .* is not a table"):
            catalog.open(LHCB, "HEPData-ins1396331-v1-Table_1.root")
        assert not math.isnan(float(table["PT [GEV]"].values[0]))
