"""The mapping tail's shortcuts change no byte: each against the straightforward way it replaced.

* `codec.encode_and_hash` serialises a record once and reads the content hash's input back from that JSON
  (`ontology.model.content_from_json`) instead of dumping the record a second time with pydantic's
  `exclude_defaults`: the blob and the hash must be exactly `encode_record`'s and `content_hash`'s, or every record
  of an existing catalogue would look changed on its next harvest.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from pydantic import BaseModel

from connectors.base import RawRecord
from connectors.cernopendata import CernOpenDataConnector
from connectors.zenodo import ZenodoConnector
from harvester import codec
from ontology.model import (
    Affiliation,
    Agent,
    Availability,
    Checksum,
    Distribution,
    Record,
    Replica,
    SelectedQuantity,
    _DefaultsPlan,
    content_from_json,
)
from sandbox.generated_records import generated_record, generated_records
from sandbox.replicas.cernopendata_api import api_record, dumps, fixture_stamps
from sandbox.replicas.zenodo_generate import GeneratedBase

CERN_PER_FILE = 6
"""CERN corpus records checked per record file (693 of the 7,443): every file's kind of record is seen."""


def _cern_records(corpus: Path) -> Iterator[Record]:
    for path in sorted((corpus / "cernopendata" / "records").glob("*.json")):
        for fixture in json.loads(path.read_text())[:CERN_PER_FILE]:
            created, updated = fixture_stamps(fixture)
            body = api_record(fixture, created=created, updated=updated, base_url="https://opendata.cern.ch")
            url = f"https://opendata.cern.ch/api/records/{fixture['recid']}"
            raw = RawRecord(str(fixture["recid"]), dumps(body), "application/json", url, body["updated"])
            yield CernOpenDataConnector.map_record(raw, "cern")


def _zenodo_corpus_records(corpus: Path) -> Iterator[Record]:
    for path in sorted((corpus / "zenodo" / "rest").rglob("*.json")):
        page = json.loads(path.read_bytes())
        for hit in (page.get("hits") or {}).get("hits") or []:
            raw = RawRecord(str(hit["id"]), json.dumps(hit).encode(), "application/json", "https://zenodo.org/x")
            yield ZenodoConnector.map_record(raw, "zenodo")


def _generated_zenodo_records(count: int) -> Iterator[Record]:
    base = GeneratedBase(count, seed=3)
    for index in range(count):
        item = base.record(index)["rdm"]
        payload = orjson.dumps(item, option=orjson.OPT_SORT_KEYS)
        yield ZenodoConnector.map_record(RawRecord(str(item["id"]), payload, "application/json", "x"), "zenodo")


def _records_with_every_default() -> Iterator[Record]:
    """Every field with a default other than None, at its default (given and left out) and at another value."""
    rng = random.Random(19)
    organisation = Agent(name="CERN", kind="organization", affiliations=[Affiliation(name="CERN")])
    for i, (kind, verified, applied, role, availability) in enumerate(
        [
            ("person", False, False, "data", Availability.UNKNOWN),
            ("organization", True, True, "software", Availability.ONLINE),
            ("person", True, False, "documentation", Availability.UNKNOWN),
        ]
    ):
        distribution = Distribution(
            name=f"f{i}.root",
            url="https://example.org/f.root",
            role=role,  # type: ignore[arg-type]
            availability=availability,
            categories=[],
            identifiers=[],
            replicas=[Replica(site="CERN-PROD", state="online", checksum_verified=verified)],
            checksum=Checksum(algorithm="adler32", value="0a1b2c3d"),
        )
        yield generated_record(
            i,
            rng,
            creators=[Agent(name="A. Person", kind=kind, affiliations=[]), organisation],  # type: ignore[arg-type]
            publisher=Agent(name="Zenodo", kind=kind),  # type: ignore[arg-type]
            selection=[
                SelectedQuantity(quantity="E", applied=applied, raw="E"),
                SelectedQuantity(quantity="x", raw=""),
            ],
            distributions=[distribution, Distribution(name="bare")],
            keywords=[],
            reactions=["P P --> TOP TOPBAR X"] if applied else [],
        )


@pytest.fixture(scope="module")
def records(corpus: Path) -> list[Record]:
    found = [
        *_cern_records(corpus),
        *_zenodo_corpus_records(corpus),
        *_generated_zenodo_records(300),
        *generated_records(300, seed=5),
        *_records_with_every_default(),
    ]
    assert len(found) > 1300
    return found


def test_content_read_back_from_the_stored_json_is_the_content_dict(records: list[Record]) -> None:
    for record in records:
        dumped = record.model_dump_json(exclude_none=True).encode()
        assert content_from_json(dumped) == record.content_dict(), record.id


def test_defaults_are_dropped_at_every_depth() -> None:
    record = next(_records_with_every_default())
    content = content_from_json(record.model_dump_json(exclude_none=True))
    assert "keywords" not in content and "kind" not in content["creators"][0]
    assert content["creators"][1]["kind"] == "organization"
    assert content["distributions"][0]["replicas"] == [{"site": "CERN-PROD", "state": "online"}]
    assert content["distributions"][1] == {"name": "bare"}
    assert content["selection"] == [{"quantity": "E", "raw": "E"}, {"quantity": "x", "raw": ""}]
    assert set(content["provenance"]) == {"source", "source_kind"}


def test_encode_and_hash_give_the_bytes_of_encode_record_and_content_hash(records: list[Record]) -> None:
    for record in records:
        blob, content_hash = codec.encode_and_hash(record)
        assert content_hash == codec.content_hash(record), record.id
        assert codec.decompress(blob) == codec.decompress(codec.encode_record(record)), record.id


def test_the_defaults_plan_refuses_fields_it_cannot_compare_with_json() -> None:
    class Inner(BaseModel):
        kind: str = "x"

    class Keyed(BaseModel):
        parts: dict[str, Inner]

    class ModelDefault(BaseModel):
        inner: Inner = Inner()

    class TupleDefault(BaseModel):
        pair: tuple[int, int] = (1, 2)

    for model in (Keyed, ModelDefault, TupleDefault):
        with pytest.raises(TypeError, match="content_from_json"):
            _DefaultsPlan(model)


def test_a_record_whose_fields_all_hold_their_defaults_keeps_only_what_has_none(records: list[Record]) -> None:
    bare: dict[str, Any] = {
        "id": records[0].id,
        "source": records[0].source,
        "native_id": records[0].native_id,
        "title": "t",
        "provenance": records[0].provenance,
    }
    record = Record(**bare)
    assert content_from_json(record.model_dump_json(exclude_none=True)) == record.content_dict()
