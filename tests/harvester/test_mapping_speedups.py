"""The mapping tail's shortcuts change no byte: each against the straightforward way it replaced.

* `codec.encode_and_hash` serialises a record once and reads the content hash's input back from that JSON
  (`ontology.model.content_from_json`) instead of dumping the record a second time with pydantic's
  `exclude_defaults`: the blob and the hash must be exactly `encode_record`'s and `content_hash`'s, or every record
  of an existing catalogue would look changed on its next harvest.
* a mapping worker sends back the fields of `map_one`'s `Mapped` without building it (`_map_fields`): the same
  values, in the order `MappingJob.result` puts them back in;
* `identity_rules.match_keys` compares schemes with module constants instead of `IdentifierScheme.X` look-ups and
  adds keys without a nested function: the same keys, roles and order as the straightforward loop below.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from pydantic import BaseModel

from connectors.base import RawRecord
from connectors.cernopendata import CernOpenDataConnector
from connectors.zenodo import ZenodoConnector
from harvester import codec
from harvester.catalogue import Mapped
from harvester.identity_rules import PAPER_DATA_KINDS, PAPER_SCHEMES, PORTAL_ID_SCHEMES, MatchKey, Role, match_keys
from harvester.mapping import _map_chunk, map_one
from indexer.document import DOCUMENT_FINGERPRINT, member_entry
from ontology.model import (
    Affiliation,
    Agent,
    Availability,
    Checksum,
    Distribution,
    Identifier,
    IdentifierScheme,
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


def _generated_zenodo_raws(count: int) -> Iterator[RawRecord]:
    base = GeneratedBase(count, seed=3)
    for index in range(count):
        item = base.record(index)["rdm"]
        yield RawRecord(str(item["id"]), orjson.dumps(item, option=orjson.OPT_SORT_KEYS), "application/json", "x")


def _generated_zenodo_records(count: int) -> Iterator[Record]:
    for raw in _generated_zenodo_raws(count):
        yield ZenodoConnector.map_record(raw, "zenodo")


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


def _match_keys_the_straightforward_way(record: Record) -> list[MatchKey]:
    """`match_keys` as it was written first (session 18)."""
    keys: dict[str, Role] = {}

    def add(key: str, role: Role) -> None:
        if keys.get(key) != "id":
            keys[key] = role

    for identifier in record.identifiers:
        scheme = identifier.scheme
        if scheme == IdentifierScheme.DOI:
            add(f"doi:{identifier.value.lower()}", "id")
        elif scheme == IdentifierScheme.CONCEPT_DOI:
            add(f"doi:{identifier.value.lower()}", "version")
        elif scheme in PORTAL_ID_SCHEMES:
            add(f"pid:{scheme}:{identifier.value}", "id")
        elif scheme == IdentifierScheme.GITLAB_PATH:
            add(f"gitlab:{identifier.value.lower()}", "id")
    for target in record.is_version_of:
        if target.scheme in (IdentifierScheme.DOI, IdentifierScheme.CONCEPT_DOI):
            add(f"doi:{target.value.lower()}", "version")
        elif target.scheme == IdentifierScheme.GITLAB_PATH:
            add(f"gitlab:{target.value.lower()}", "version")
    paper_role: Role = "paper-data" if record.provenance.source_kind in PAPER_DATA_KINDS else "paper-cites"
    for target in record.is_supplement_to:
        if target.scheme in PAPER_SCHEMES:
            value = target.value.lower() if target.scheme == IdentifierScheme.DOI else target.value
            add(f"paper:{target.scheme}:{value}", paper_role)
    return list(keys.items())


def _records_with_every_kind_of_key(records: list[Record]) -> Iterator[Record]:
    """Identifiers of every scheme, listed as the record's own, as what it is a version of and as the paper it
    supplements, with repeats in both roles and in mixed case, from a HEPData record and from another kind."""
    values = {
        IdentifierScheme.DOI: "10.17182/HEPData.1",
        IdentifierScheme.CONCEPT_DOI: "10.5281/Zenodo.7",
        IdentifierScheme.INSPIRE: "1396331",
        IdentifierScheme.ARXIV: "1512.00001",
        IdentifierScheme.HEPDATA: "ins1396331",
        IdentifierScheme.CERN_RECID: "28001",
        IdentifierScheme.ZENODO: "7",
        IdentifierScheme.GITLAB_PATH: "Group/Project",
        IdentifierScheme.HANDLE: "11.1/2",
        IdentifierScheme.CDS: "1",
        IdentifierScheme.OAI: "oai:zenodo.org:7",
        IdentifierScheme.URL: "https://example.org",
        IdentifierScheme.ISBN: "978-3-16-148410-0",
        IdentifierScheme.OTHER: "x",
    }
    rng = random.Random(23)
    for i in range(300):
        template = records[i % len(records)]
        kind = rng.choice(["hepdata", "zenodo"])

        def some() -> list[Identifier]:
            chosen = rng.choices(list(values), k=rng.randint(0, 6))
            return [Identifier(scheme=s, value=values[s]) for s in chosen]

        yield template.model_copy(
            update={
                "identifiers": some(),
                "is_version_of": some(),
                "is_supplement_to": some(),
                "provenance": template.provenance.model_copy(update={"source_kind": kind}),
            }
        )


def test_match_keys_are_the_straightforward_ones(records: list[Record]) -> None:
    for record in [*records, *_records_with_every_kind_of_key(records)]:
        assert match_keys(record) == _match_keys_the_straightforward_way(record), record.id


def test_a_worker_sends_back_the_fields_of_map_one() -> None:
    at = datetime(2026, 11, 22, 7, 0, tzinfo=UTC)
    raws = [*_generated_zenodo_raws(60), RawRecord("1", b"{not json", "application/json", "x")]
    rows = _map_chunk("zenodo", "zenodo", 7, at, raws)
    assert [row[0] for row in rows] == ["ok"] * 60 + ["rejected"]
    for raw, row in zip(raws[:60], rows, strict=False):
        mapped = map_one(ZenodoConnector, raw, "zenodo", 7, at)
        assert isinstance(mapped, Mapped) and Mapped(raw, *row[1:]) == mapped
        record = ZenodoConnector.map_record(raw, "zenodo")
        record.provenance.harvest_run = 7
        record.provenance.retrieved_at = at
        assert (mapped.record_id, mapped.native_id) == (record.id, record.native_id)
        assert (mapped.raw_sha256, mapped.mapping_version) == (
            record.provenance.raw_sha256,
            record.provenance.mapping_version,
        )
        assert mapped.content_hash == codec.content_hash(record)
        assert codec.decode_record(mapped.blob) == record
        assert codec.decompress(mapped.raw_blob) == raw.payload
        assert mapped.match_keys == tuple(match_keys(record))
        assert codec.decompress(mapped.index_entry) == orjson.dumps(member_entry(record))
        assert mapped.index_entry_version == DOCUMENT_FINGERPRINT
