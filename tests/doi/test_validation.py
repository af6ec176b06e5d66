"""Acceptance 3 (issue 7): every metadata body sent to DataCite validates against the DataCite 4.6 XSD (and the JSON
schema); a record that fails gets a report naming the fields, and DataCite hears nothing about it."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import jsonschema
from doi_lab import DoiLab, status
from lxml import etree

from dmlake.lake import Lake
from doi.client import DataCiteClient
from doi.policy import Credentials, load
from doi.registrar import DoiRegistrar
from doi.store import DoiStore
from harvester.catalogue import Catalogue
from ontology.datacite import xml_from_attributes
from ontology.model import Record
from sandbox.replicas.datacite import DEFAULT_ACCOUNT


def test_every_body_sent_validates_against_datacite_4_6(lab: DoiLab, standards: Path) -> None:
    lab.doi("reserve")
    lab.doi("publish", "--source", "dmdc")
    lab.doi("publish", "--source", "kcdc-html")
    xsd = etree.XMLSchema(etree.parse(str(standards / "datacite/kernel-4.6/metadata.xsd")))
    schema = json.loads((standards / "datacite/json/datacite-v4.6.json").read_text())
    validator = jsonschema.Draft201909Validator(schema)
    bodies = [b["attributes"] for b in lab.bodies()]
    with_metadata = [{k: v for k, v in b.items() if k != "event"} for b in bodies if "titles" in b]
    assert len(with_metadata) >= len(status(lab)) * 2, "a create and a publish body per DOI"
    for attributes in with_metadata:
        document = etree.fromstring(xml_from_attributes(attributes))
        assert xsd.validate(document), (attributes["doi"], [e.message for e in xsd.error_log])
        assert not list(validator.iter_errors(attributes)), attributes["doi"]
        assert document.findtext("{http://datacite.org/schema/kernel-4}identifier") == attributes["doi"]


class OneRecordBroken:
    """The catalogue's change feed, except that one record comes out with a publication year of "20x0"."""

    def __init__(self, catalogue: Catalogue, broken: str) -> None:
        self.catalogue = catalogue
        self.broken = broken

    def records(self, ids: Sequence[str]) -> Mapping[str, Record]:
        found = self.catalogue.records(ids)
        if self.broken in found:
            found[self.broken] = found[self.broken].model_copy(update={"issued": "20x0", "created": None})
        return found

    def __getattr__(self, name: str) -> Any:
        return getattr(self.catalogue, name)


def test_an_invalid_record_gets_a_report_and_no_call(lab: DoiLab) -> None:
    lake = Lake.open(lab.home)
    try:
        broken = next(iter(lake.catalogue.iter_records(source="kcdc-html"))).id
        policy = load(lab.home / "doi.toml")
        client = DataCiteClient(policy.endpoint, Credentials(*DEFAULT_ACCOUNT), requests_per_minute=None)
        feed = OneRecordBroken(lake.catalogue, broken)
        registrar = DoiRegistrar(feed, DoiStore(lake.catalogue.engine), client, policy, {"kcdc-html": "kcdc"})
        outcome = registrar.reserve()
    finally:
        lake.close()
    assert list(outcome.failed) == [broken]
    assert "publicationYear" in outcome.failed[broken] and "20x0" in outcome.failed[broken]
    row = next(r for r in status(lab) if r["key"] == broken)
    assert row["confirmed"] is None and "publicationYear" in row["report"]
    suffix = row["doi"].split("/", 1)[1]
    assert not [r for r in lab.requests() if suffix in r["path"]], "no GET, POST or PUT for the broken record"
    assert not [b for b in lab.bodies() if b["attributes"].get("doi") == row["doi"]]
    assert row["doi"] not in lab.remote()
    others = [r for r in status(lab) if r["source"] == "kcdc-html" and r["key"] != broken]
    assert others and all(r["confirmed"] == "draft" for r in others), "the other records are not held up"
    # the report is what a data manager sees
    shown = lab.doi("status", "--source", "kcdc-html").stdout
    assert "publicationYear" in shown
