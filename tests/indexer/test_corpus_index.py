"""The real CERN Open Data corpus (7,443 records) mapped by the connector and indexed: facets and filters agree
with counts read straight from the portal's fixture files, and known records are found by what people type."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from connectors.base import RawRecord
from connectors.cernopendata import CernOpenDataConnector
from indexer.query import Query
from indexer.tantivy_backend import TantivyIndex
from ontology.vocabulary import concept
from sandbox.replicas.cernopendata_api import api_record, dumps, fixture_stamps

SOURCE = "cern"


@pytest.fixture(scope="module")
def fixtures(corpus: Path) -> dict[str, dict[str, Any]]:
    records: dict[str, dict[str, Any]] = {}
    for path in sorted((corpus / "cernopendata" / "records").glob("*.json")):
        for record in json.loads(path.read_text()):
            records[str(record["recid"])] = record
    return records


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory, fixtures: dict[str, dict[str, Any]]) -> TantivyIndex:
    def mapped() -> Any:
        for fixture in fixtures.values():
            created, updated = fixture_stamps(fixture)
            body = api_record(fixture, created=created, updated=updated, base_url="https://opendata.cern.ch")
            url = f"https://opendata.cern.ch/api/records/{fixture['recid']}"
            raw = RawRecord(str(fixture["recid"]), dumps(body), "application/json", url, body["updated"])
            yield CernOpenDataConnector.map_record(raw, SOURCE)

    index = TantivyIndex(tmp_path_factory.mktemp("cern-index"))
    index.index(mapped())
    index.commit()
    index.close()
    return index


def energy(fixture: dict[str, Any]) -> str | None:
    return (fixture.get("collision_information") or {}).get("energy")


def test_every_record_is_indexed(index: TantivyIndex, fixtures: dict[str, dict[str, Any]]) -> None:
    assert index.count() == len(fixtures) == 7443


def test_experiment_and_year_facets_match_the_fixtures(index: TantivyIndex, fixtures: dict[str, Any]) -> None:
    result = index.search(Query.parse(facets=["experiment,year,source"], facet_size=100, size=0))
    experiments = Counter(concept("experiment", e).label for f in fixtures.values() for e in set(f["experiment"]))
    years = Counter(str(f["date_published"])[:4] for f in fixtures.values())
    assert {v.value: v.count for v in result.facets["experiment"]} == dict(experiments)
    assert experiments["CMS"] == 6993  # 6,992 CMS records and one of all four LHC experiments
    assert {v.value: v.count for v in result.facets["year"]} == dict(years)
    assert [(v.value, v.count) for v in result.facets["source"]] == [(SOURCE, 7443)]


def test_collision_energy_filters_match_the_fixtures(index: TantivyIndex, fixtures: dict[str, Any]) -> None:
    raw = Counter(energy(f) for f in fixtures.values())
    assert index.search(Query.parse(filters=["sqrt_s_gev=13000"], size=0)).total == raw["13TeV"] == 1747
    in_between = sum(n for e, n in raw.items() if e in ("5TeV", "5.02TeV", "7TeV", "8TeV"))
    assert index.search(Query.parse(filters=["sqrt_s_gev=5000..8000"], size=0)).total == in_between


def test_collision_type_spellings_meet(index: TantivyIndex, fixtures: dict[str, Any]) -> None:
    raw = Counter((f.get("collision_information") or {}).get("type") for f in fixtures.values())
    lead = raw["Pb-Pb"] + raw["PbPb"]
    assert lead == 157
    for spelling in ("PbPb", "Pb-Pb", "lead-lead"):
        assert index.search(Query.parse(filters=[f"collision_type={spelling}"], size=0)).total == lead
    found = {hit.id for hit in index.search(Query.parse("Pb-Pb", size=1000)).hits}
    assert len(found) >= lead  # the text search finds every lead-lead record (and any that mention it)


def test_a_record_is_found_by_its_identifiers(index: TantivyIndex, fixtures: dict[str, Any]) -> None:
    fixture = next(f for f in fixtures.values() if f.get("doi"))
    wanted = f"https://w3id.org/dmlake/record/{SOURCE}/{fixture['recid']}"
    by_filter = index.search(Query.parse(filters=[f"doi={fixture['doi'].upper()}"]))
    assert [hit.id for hit in by_filter.hits] == [wanted]
    by_text = index.search(Query.parse(fixture["doi"], size=5))
    assert by_text.hits[0].id == wanted
    by_recid = index.search(Query.parse(filters=[f"identifier=cern-recid:{fixture['recid']}"]))
    assert [hit.id for hit in by_recid.hits] == [wanted]


def test_a_dataset_name_finds_its_record_first(index: TantivyIndex, fixtures: dict[str, Any]) -> None:
    title = fixtures["1"]["title"]
    assert title == "/BTau/Run2010B-Apr21ReReco-v1/AOD"
    result = index.search(Query.parse(f'"{title}"', size=5))
    assert result.hits[0].id == f"https://w3id.org/dmlake/record/{SOURCE}/1"
    assert result.hits[0].fields["title"] == title
    unquoted = index.search(Query.parse("BTau Run2010B AOD", size=50))
    assert f"https://w3id.org/dmlake/record/{SOURCE}/1" in {hit.id for hit in unquoted.hits}


def test_newest_first_by_default(index: TantivyIndex, fixtures: dict[str, Any]) -> None:
    hits = index.search(Query.parse(size=100)).hits
    issued = [hit.fields["issued"] for hit in hits]
    assert issued == sorted(issued, reverse=True)
    assert issued[0][:4] == max(str(f["date_published"])[:4] for f in fixtures.values())
