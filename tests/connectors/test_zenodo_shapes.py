"""Both shapes of one record map to the same model values.

Each record is fetched from the running replica twice — `Accept: application/json` (Zenodo's legacy JSON) and
`Accept: application/vnd.inveniordm.v1+json` — and both answers are mapped. The replica writes the shape a record
was not captured in with Zenodo's own conversions (zenodo-rdm's legacy serializer and its migration mapping), so
this checks that the mapper reads the same data the same way in either shape. What the legacy shape cannot carry
is left out of the comparison, and checked to be there in the RDM shape: ROR ids and given/family names of people,
media types Zenodo stores, and the person/organisation distinction.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from connectors.base import RawRecord
from connectors.zenodo import ZenodoConnector
from ontology import Record
from sandbox.replicas.zenodo import ZenodoReplica
from sandbox.server import RunningSandbox, start

RDM = "application/vnd.inveniordm.v1+json"
CLIENT = httpx.Client()  # one keep-alive connection per replica instead of a new one per request


@pytest.fixture(scope="module")
def sandbox(corpus: Path) -> Iterator[RunningSandbox]:
    replica = ZenodoReplica.from_corpus(corpus)
    assert replica is not None
    with start({"corpus": replica, "generated": ZenodoReplica.generated(160, seed=31)}) as running:
        yield running


def _fetch(url: str, recid: str, accept: str) -> Record:
    response = CLIENT.get(f"{url}/api/records/{recid}", headers={"Accept": accept})
    assert response.status_code == 200, response.text
    raw = RawRecord(recid, response.content, accept, f"{url}/api/records/{recid}", response.json()["updated"])
    return ZenodoConnector.map_record(raw, "zenodo")


def _people(agents: list[Any]) -> list[tuple[Any, ...]]:
    return [(a.name, a.orcid, tuple(f.name for f in a.affiliations)) for a in agents]


def _comparable(record: Record, with_publisher: bool) -> dict[str, Any]:
    data = record.content_dict()
    data.pop("provenance")
    for key in ("creators", "contributors", "subjects"):
        data.pop(key, None)
    if not with_publisher:
        data.pop("publisher", None)
    if "license" in data:
        data["license"].pop("raw")  # "CC-BY-4.0" in a 2020 legacy capture, "cc-by-4.0" in InvenioRDM
    for distribution in data.get("distributions", []):
        distribution.pop("media_type", None)
    return data


def _compare(url: str, recid: str) -> tuple[Record, Record]:
    legacy, rdm = _fetch(url, recid, "application/json"), _fetch(url, recid, RDM)
    assert _comparable(legacy, rdm.publisher is not None) == _comparable(rdm, rdm.publisher is not None)
    assert _people(legacy.creators) == _people(rdm.creators)
    assert _people(legacy.contributors) == _people(rdm.contributors)
    return legacy, rdm


def test_corpus_records_map_alike_in_both_shapes(sandbox: RunningSandbox) -> None:
    url = sandbox.urls["corpus"]
    replica = sandbox.replicas["corpus"]
    recids = sorted(e.native_id for e in replica.store.entries())
    assert len(recids) == 17
    for recid in recids:
        _, rdm = _compare(url, recid)
        assert rdm.identifiers and rdm.title
        # the RDM shape keeps the split of "Family, Given" that the legacy shape leaves to convention
        for agent in rdm.creators:
            if "," in agent.name:
                assert agent.family_name == agent.name.split(",")[0].strip()


def test_generated_records_map_alike_in_both_shapes(sandbox: RunningSandbox) -> None:
    url = sandbox.urls["generated"]
    replica = sandbox.replicas["generated"]
    recids = sorted(e.native_id for e in replica.store.entries())
    seen = {"ror": 0, "embargoed": 0, "restricted": 0, "organisation": 0, "new_version": 0, "coverage": 0}
    for recid in recids:
        _, rdm = _compare(url, recid)
        assert rdm.experiments and rdm.messengers
        seen["ror"] += any(f.ror for a in rdm.creators for f in a.affiliations)
        seen["embargoed"] += rdm.access_rights == "embargoed"
        seen["restricted"] += rdm.access_rights == "restricted"
        seen["organisation"] += any(a.kind == "organization" for a in rdm.creators)
        seen["new_version"] += bool(rdm.is_new_version_of)
        seen["coverage"] += rdm.temporal_coverage is not None
        assert all(d.media_type for d in rdm.distributions)
    # the sample covers what distinguishes the shapes
    assert all(count > 0 for count in seen.values()), seen


def test_what_only_the_rdm_shape_carries(sandbox: RunningSandbox) -> None:
    url = sandbox.urls["generated"]
    replica = sandbox.replicas["generated"]
    for entry in replica.store.entries():
        rdm = _fetch(url, entry.native_id, RDM)
        people = [a for a in rdm.creators if a.kind == "person"]
        with_ror = [f for a in people for f in a.affiliations if f.ror]
        if with_ror and people[0].given_name:
            legacy = _fetch(url, entry.native_id, "application/json")
            assert all(f.ror is None for a in legacy.creators for f in a.affiliations)
            assert [a.given_name for a in legacy.creators if a.kind == "person"] == [a.given_name for a in people]
            root = [d for d in rdm.distributions if d.format == "root"]
            if root:  # Zenodo's stored type; the legacy shape leaves it to a guess from the extension
                assert root[0].media_type == "application/octet-stream"
                assert next(d for d in legacy.distributions if d.format == "root").media_type is None
                return
    pytest.fail("no generated record with a ROR affiliation and a ROOT file")
