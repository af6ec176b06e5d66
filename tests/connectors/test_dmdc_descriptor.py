"""The DMDC-style descriptor schema: a valid draft 2020-12 schema that documents every field, accepts the descriptor
written for the COSINE-100 corpus release, and refuses bad descriptors naming the project and the JSON path."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from connectors.base import MappingError
from connectors.dmdc_descriptor import descriptor_schema, parse_descriptor, validation_errors
from sandbox.replicas.gitlab_projects import cosine_project


@pytest.fixture(scope="module")
def cosine(corpus: Path) -> dict[str, Any]:
    project = cosine_project(corpus)
    assert project is not None
    files = project["commits"][project["branch"]]["files"]
    document: dict[str, Any] = json.loads(files["dmdc.json"])
    return document


def _described(schema: Any, where: str = "$") -> list[str]:
    """Every property of the schema (recursively, through $defs) that has no description."""
    missing = []
    if isinstance(schema, dict):
        for name, sub in (schema.get("properties") or {}).items():
            if not isinstance(sub, dict) or "description" not in sub:
                missing.append(f"{where}.{name}")
            missing += _described(sub, f"{where}.{name}")
        for name, sub in (schema.get("$defs") or {}).items():
            missing += _described(sub, f"{where}.$defs.{name}")
        if isinstance(schema.get("items"), dict):
            missing += _described(schema["items"], f"{where}[]")
    return missing


def test_the_schema_is_draft_2020_12_and_documents_every_field() -> None:
    schema = descriptor_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)
    assert _described(schema) == []
    for name in ("collaboration", "description", "target_material", "detector_technology", "fiducial_volume",
                 "exposure", "live_time", "citable_resources", "title", "version", "license", "contacts"):  # fmt: skip
        assert name in schema["properties"], name
    resource = schema["$defs"]["resource"]["properties"]
    assert {"name", "description", "category", "usage_note"} <= set(resource)
    assert {"event data", "background", "detector response"} <= set(resource["category"]["enum"])


def test_the_cosine_descriptor_validates_and_parses(cosine: dict[str, Any], corpus: Path) -> None:
    assert validation_errors(cosine) == []
    parsed = parse_descriptor(json.dumps(cosine), "project dmdc/cosine/x")
    assert parsed.collaboration == "COSINE-100"
    assert parsed.target_material == ("NaI(Tl)",)
    assert parsed.live_time is not None and parsed.live_time.unit == "d"
    # the mean live time of crystals 2, 3, 4, 6, 7 over the 15-day bins of EventRate_erc1-6.csv
    assert parsed.live_time.value == pytest.approx(2123.46, abs=0.01)
    assert parsed.data_taking == {"start": "2016-10-12", "end": "2023-05-08"}
    categories = {r.path: r.category for r in parsed.resources}
    assert categories["data/EventRate_erc1-6.csv"] == "event data"
    assert categories["data/BackgroundRate_nrc2-6.csv"] == "background"
    assert categories["data/SelectionEfficiency.csv"] == "detector response"
    assert categories["data/CosineNaQF.csv"] == "detector response"
    csvs = sorted((corpus / "dmdc/cosine100-publicdata/COSINE100-6YearsModulation/data").glob("*.csv"))
    assert len(csvs) == 22
    assert sorted(r.path for r in parsed.resources) == sorted(["README.md", *(f"data/{p.name}" for p in csvs)])


@pytest.mark.parametrize(
    ("change", "path", "words"),
    [
        (lambda d: d.pop("collaboration"), "$", "'collaboration' is a required property"),
        (lambda d: d["resources"][2].update(category="signal"), "$.resources[2].category", "'signal' is not one of"),
        (lambda d: d["live_time"].update(unit="kg"), "$.live_time.unit", "'kg' is not one of"),
        (
            lambda d: d.update(exposure={"value": -1, "unit": "kg.d"}),
            "$.exposure.value",
            "less than or equal to the minimum of 0",
        ),
        (lambda d: d.update(licence="CC-BY-4.0"), "$.licence", "unknown field 'licence' (known: $schema, citable"),
        (lambda d: d["resources"][0].update(size=3), "$.resources[0].size", "unknown field 'size'"),
        (lambda d: d["contacts"].clear(), "$.contacts", "should be non-empty"),
        (lambda d: d["citable_resources"][0].update(type="isbn"), "$.citable_resources[0].type", "'isbn'"),
        (lambda d: d.update(data_level=7), "$.data_level", "7 is greater than the maximum of 4"),
        (lambda d: d["data_taking"].update(start="12.10.2016"), "$.data_taking.start", "does not match"),
    ],
)
def test_a_bad_descriptor_names_the_project_and_the_json_path(
    cosine: dict[str, Any], change: Any, path: str, words: str
) -> None:
    document = copy.deepcopy(cosine)
    change(document)
    with pytest.raises(MappingError) as caught:
        parse_descriptor(json.dumps(document), "project dmdc/cosine/cosine100-6years-modulation at tag v1.0")
    assert caught.value.field == f"dmdc.json:{path}"
    assert "project dmdc/cosine/cosine100-6years-modulation at tag v1.0" in caught.value.message
    assert words in caught.value.message


def test_extension_fields_are_allowed_and_json_errors_are_named(cosine: dict[str, Any]) -> None:
    document = copy.deepcopy(cosine)
    document["x-dmdc-internal-id"] = 17
    assert validation_errors(document) == []
    with pytest.raises(MappingError) as caught:
        parse_descriptor(b'{"title": ', "project a/b", "dataset.json")
    assert caught.value.field == "dataset.json:$" and "not JSON" in caught.value.message


def test_the_schema_ships_as_package_data() -> None:
    from importlib import resources

    assert resources.files("connectors.schemas").joinpath("dmdc-descriptor.schema.json").is_file()
