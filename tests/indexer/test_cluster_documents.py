"""One search document per record cluster (issue 4, identity): which record speaks for it, what it merges, and the
index kept right through merges, undone merges and tombstones by the change-feed consumer."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from fake_source import FakePaperDataConnector
from fake_sources import Lab
from sqlalchemy import update

from dmlake.lake import Lake
from harvester import codec
from harvester.schema import records as records_table
from indexer.consumer import member_entries
from indexer.document import (
    CLUSTER_FIELD,
    DOCUMENT_FINGERPRINT,
    ID_FIELD,
    SUMMARY_FIELD,
    cluster_document,
    index_document,
    member_entry,
    merge_members,
)
from indexer.query import Query
from ontology import Record, record_id
from ontology.model import Identifier, IdentifierScheme, Provenance


def record(source: str, kind: str, native_id: str, **fields: object) -> Record:
    provenance = Provenance(source=source, source_kind=kind, raw_sha256="0" * 64, mapping_version="1")
    values: dict[str, object] = {"title": f"{source} {native_id}", **fields}
    return Record(id=record_id(source, native_id), source=source, native_id=native_id, provenance=provenance, **values)


DOI = [Identifier(scheme=IdentifierScheme.DOI, value="10.5281/zenodo.123")]


def test_a_single_record_is_a_cluster_of_one() -> None:
    alone = record("zenodo", "zenodo", "1", identifiers=DOI)
    document = cluster_document([alone])
    assert document == index_document(alone)
    assert document[SUMMARY_FIELD]["cluster_id"] == alone.id
    assert document[SUMMARY_FIELD]["records"] == [
        {
            "id": alone.id,
            "source": "zenodo",
            "native_id": "1",
            "doi": "10.5281/zenodo.123",
            "version": None,
            "issued": None,
            "landing_page": None,
        }
    ]


def test_the_portal_api_record_speaks_for_its_oai_view_and_both_are_searchable() -> None:
    rest = record("zenodo", "zenodo", "123", identifiers=DOI, issued="2024-05-01", keywords=["WIMP"])
    oai = record("zenodo-oai", "oaipmh", "oai:zenodo.org:123", identifiers=DOI, issued="2024-05-01", keywords=["NaI"])
    document = cluster_document([oai, rest])
    assert document[ID_FIELD] == rest.id
    assert document[CLUSTER_FIELD] == min(rest.id, oai.id)
    assert document["source"] == ["zenodo", "zenodo-oai"]
    assert document["keyword"] == ["WIMP", "NaI"]
    assert [r["id"] for r in document[SUMMARY_FIELD]["records"]] == [rest.id, oai.id]
    assert document[SUMMARY_FIELD]["title"] == rest.title


def test_the_newest_version_speaks_for_a_concept() -> None:
    concept = [Identifier(scheme=IdentifierScheme.CONCEPT_DOI, value="10.5281/zenodo.100")]
    v1 = record("zenodo", "zenodo", "101", issued="2021-01-01", version="v1", is_version_of=concept)
    v2 = record("zenodo", "zenodo", "102", issued="2023-06-30", version="v2", is_version_of=concept)
    undated = record("zenodo", "zenodo", "103", is_version_of=concept)
    document = cluster_document([v1, undated, v2])
    assert document[ID_FIELD] == v2.id
    assert [r["version"] for r in document[SUMMARY_FIELD]["records"]] == ["v2", "v1", None]
    with pytest.raises(ValueError, match="at least one record"):
        cluster_document([])


def test_the_index_shows_each_cluster_once_through_merges_undos_and_tombstones(tmp_path: Path) -> None:
    lake = Lake.open(tmp_path / "home")
    lab = Lab(lake.catalogue)
    lab.source("rest", [{"id": "1", "dois": ["10.1234/a"], "issued": "2024"}, {"id": "2", "title": "lonely"}])
    lab.source("oai", [{"id": "x", "title": "x"}])
    lab.source("hepdata", [{"id": "ins9", "papers": ["1510.01707"]}], base=FakePaperDataConnector)
    lab.harvest()
    lake.update_index()
    assert lake.search(Query()).total == 4

    def hits() -> dict[str, list[str]]:
        result = lake.search(Query(size=100))
        return {hit.id: [r["source"] for r in hit.fields["records"]] for hit in result.hits}

    lab.stores["oai"].edit("x", dois=["10.1234/a"], papers=["1510.01707"])
    lab.harvest("oai")
    lake.update_index()
    merged = hits()
    assert merged == {record_id("rest", "1"): ["rest", "hepdata", "oai"], record_id("rest", "2"): ["rest"]}
    by_doi = lake.search(Query.parse(filters=["doi=10.1234/a"], facets=["source"]))
    assert by_doi.total == 1
    assert {f.value: f.count for f in by_doi.facets["source"]} == {"rest": 1, "oai": 1, "hepdata": 1}

    paper_link = next(link for link in lake.catalogue.identity_links() if link.rule == "same-paper")
    lake.catalogue.undo_link(paper_link.id, "the HEPData tables are another dataset")
    lake.update_index()
    assert hits() == {
        record_id("rest", "1"): ["rest", "oai"],
        record_id("rest", "2"): ["rest"],
        record_id("hepdata", "ins9"): ["hepdata"],
    }

    del lab.stores["rest"].items["1"]
    lab.harvest("rest", full=True)
    lake.update_index()
    assert hits() == {
        record_id("oai", "x"): ["oai"],
        record_id("rest", "2"): ["rest"],
        record_id("hepdata", "ins9"): ["hepdata"],
    }
    # the index equals one rebuilt from scratch
    lake.rebuild_index()
    assert hits() == {
        record_id("oai", "x"): ["oai"],
        record_id("rest", "2"): ["rest"],
        record_id("hepdata", "ins9"): ["hepdata"],
    }
    lake.close()


def test_kept_member_entries_are_the_records_own_and_stale_ones_are_rebuilt(tmp_path: Path) -> None:
    """The mapping workers build each record's cluster-document entry once and the catalogue keeps it; the follower
    merges clusters from those. An entry built by other code (another fingerprint) is never used."""
    lake = Lake.open(tmp_path / "home")
    lab = Lab(lake.catalogue)
    lab.source("rest", [{"id": str(n), "dois": ["10.1234/a"] if n < 2 else [], "issued": "2024"} for n in range(20)])
    lab.harvest()
    ids = sorted(lake.catalogue.iter_ids())
    assert len(ids) == 20
    records = lake.catalogue.records(ids)
    kept = lake.catalogue.index_entries(ids, DOCUMENT_FINGERPRINT)
    assert sorted(kept) == ids  # the harvest kept every record's entry, built by this code
    assert {rid: orjson.loads(kept[rid]) for rid in ids} == {rid: member_entry(records[rid]) for rid in ids}
    assert lake.catalogue.index_entries(ids, "another-fingerprint") == {}

    with lake.catalogue.engine.begin() as conn:  # as if an older dmlake had built them
        conn.execute(update(records_table).values(index_doc=codec.compress(b'{"stale": true}'), index_doc_version="0"))
    assert lake.catalogue.index_entries(ids, DOCUMENT_FINGERPRINT) == {}
    entries = member_entries(lake.catalogue, ids)
    assert entries == {rid: member_entry(records[rid]) for rid in ids}
    pair = lake.catalogue.clusters(ids)[record_id("rest", "0")]
    assert merge_members([entries[m] for m in pair]) == cluster_document([records[m] for m in pair])
    lake.update_index()
    assert lake.search(Query()).total == 19  # the two sharing a DOI are one hit
    lake.close()
