"""The `site` and `availability` facets from replica state (issue 8), on both backends.

Documents are made as the index follower makes them: records stored in a catalogue, the replica ledger filled (as
`replication/` fills it), and the cluster documents rendered from the overlaid records. The embedded backend and
Elasticsearch (the protocol double answering from `es_reference.Reference`, the Query DSL as Elasticsearch documents
it) give the same hits and counts, and every request body sent is valid against the specification.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from es_double import ElasticsearchDouble
from es_openapi import ElasticsearchSpec
from es_reference import Reference
from es_testing import ReferenceSearch, assert_valid, es_spec
from replica_records import File, make_record, store

from dmlake.lake import Lake, cluster_documents
from harvester.catalogue import Catalogue
from harvester.replica_ledger import FileReplica
from indexer.document import SCHEMA_VERSION
from indexer.elasticsearch_backend import ElasticsearchIndex
from indexer.query import Query
from indexer.tantivy_backend import MARKER_FILE, TantivyIndex
from ontology.model import Availability, record_id

__all__ = ["es_spec"]  # fixtures

ONLINE, ON_TAPE, REPLICATING, REQUESTED = (
    Availability.ONLINE,
    Availability.ON_TAPE,
    Availability.REPLICATING,
    Availability.REQUESTED,
)
SITES = ["SITE_A", "SITE_B", "SITE_C"]


def rid(n: int) -> str:
    return record_id("zenodo", str(n))


def replicas_of(n: int) -> list[FileReplica]:
    """Six kinds of replica state, in turn over 30 records."""
    r, name = rid(n), "data.csv"
    return [
        [  # online at A (verified); B still copying
            FileReplica(r, name, "SITE_A", ONLINE, f"root://site-a//z/{n}", True),
            FileReplica(r, name, "SITE_B", REPLICATING),
        ],
        [  # online and verified at two sites
            FileReplica(r, name, "SITE_B", ONLINE, f"https://site-b/z/{n}", True),
            FileReplica(r, name, "SITE_C", ONLINE, f"root://site-c//z/{n}", True),
        ],
        [FileReplica(r, name, "SITE_C", ON_TAPE)],
        [FileReplica(r, name, "SITE_A", REQUESTED), FileReplica(r, name, "SITE_B", REQUESTED)],
        [FileReplica(r, name, "SITE_D", ONLINE, f"root://site-d//z/{n}")],  # not verified yet: not held
        [],  # replication knows nothing: the source's own value
    ][n % 6]


@pytest.fixture(scope="module")
def documents(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    catalogue = Catalogue.open(f"sqlite:///{tmp_path_factory.mktemp('replica-facets') / 'catalogue.sqlite'}")
    store(
        catalogue,
        *(
            make_record("zenodo", str(n), [File("data.csv", availability=Availability.ON_REQUEST)], title=f"run {n}")
            for n in range(30)
        ),
    )
    for n in range(30):
        catalogue.replicas.replace(rid(n), replicas_of(n))
    rendered = list(cluster_documents(catalogue))
    catalogue.close()
    return rendered


@pytest.fixture(scope="module")
def backends(
    documents: list[dict[str, Any]], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[TantivyIndex, Reference]]:
    index = TantivyIndex(tmp_path_factory.mktemp("replica-facets-index"))
    index.index_documents(documents)
    index.commit()
    yield index, Reference(documents)
    index.close()


def test_documents_hold_the_sites_that_hold_a_verified_or_taped_copy(documents: list[dict[str, Any]]) -> None:
    by_id = {d["id"]: d for d in documents}
    for n in range(30):
        copies = replicas_of(n)
        held = sorted(c.site for c in copies if (c.state == ONLINE and c.checksum_verified) or c.state == ON_TAPE)
        assert by_id[rid(n)]["site"] == held, n
        availability = ["online", "online", "on-tape", "requested", "replicating", "on-request"][n % 6]
        assert by_id[rid(n)]["availability"] == [availability], n
    assert {s for d in documents for s in d["site"]} == set(SITES)


QUERIES: list[tuple[str, list[str]]] = [
    ("", []),
    ("", ["site=SITE_B"]),
    ("", ["site=site_a", "site=SITE_C"]),
    ("site:SITE_C", []),
    ("", ["availability=online", "site=SITE_A"]),
    ("run", ["availability=replicating"]),
    ("", ["availability=requested"]),
    ("", ["availability=on-request"]),
    ("", ["availability=on-tape", "site=SITE_C"]),
]


def parse(text: str, filters: list[str], **options: Any) -> Query:
    return Query.parse(text, filters=filters, facets=["site,availability"], size=50, **options)


def counts(facets: Any) -> dict[str, dict[str, int]]:
    return {name: {v.value: v.count for v in values} for name, values in facets.items()}


@pytest.mark.parametrize(("text", "filters"), QUERIES, ids=[f"{t} {' '.join(f)}" for t, f in QUERIES])
def test_the_embedded_backend_counts_as_the_documents_say(
    backends: tuple[TantivyIndex, Reference], documents: list[dict[str, Any]], text: str, filters: list[str]
) -> None:
    index, _ = backends
    answer = index.search(parse(text, filters))
    wanted = {f.partition("=")[2].upper() for f in filters if f.startswith("site=")}
    if text.startswith("site:"):
        wanted.add(text.partition(":")[2])
    states = {f.partition("=")[2] for f in filters if f.startswith("availability=")}
    expected = [
        d for d in documents
        if (not wanted or wanted & set(d["site"])) and (not states or states & set(d["availability"]))
    ]  # fmt: skip
    assert sorted(h.id for h in answer.hits) == sorted(d["id"] for d in expected)
    assert answer.total == len(expected) > 0
    assert counts(answer.facets)["site"] == {
        site: n for site in SITES if (n := sum(site in d["site"] for d in expected))
    }


@pytest.mark.parametrize("disjunctive", [False, True])
def test_elasticsearch_counts_the_same_with_valid_requests(
    backends: tuple[TantivyIndex, Reference], es_spec: ElasticsearchSpec, disjunctive: bool
) -> None:
    index, reference = backends
    with ElasticsearchDouble() as double:
        double.search = ReferenceSearch(reference)
        remote = ElasticsearchIndex.from_url(double.url)
        remote.ensure()
        for text, filters in QUERIES:
            query = Query.parse(text, filters=filters, facets=["site,availability"], size=0, disjunctive=disjunctive)
            answer, embedded = remote.search(query), index.search(query)
            assert answer.total == embedded.total, (text, filters)
            assert counts(answer.facets) == counts(embedded.facets), (text, filters)
        assert_valid(es_spec, double.requests)
        remote.close()
        assert not double.failures, double.failures


def test_the_template_maps_site_as_a_keyword() -> None:
    deployed = json.loads((Path(__file__).parents[2] / "deploy/elasticsearch/index-template.json").read_text())
    assert deployed["template"]["mappings"]["properties"]["site"]["type"] == "keyword"
    assert deployed["version"] == SCHEMA_VERSION


def test_an_index_of_an_older_document_schema_is_rebuilt_by_the_follower(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DMLAKE_ES_URL", raising=False)
    lake = Lake.open(tmp_path)
    store(lake.catalogue, make_record("zenodo", "1", [File("data.csv")]))
    lake.catalogue.replicas.replace(rid(1), [FileReplica(rid(1), "data.csv", "SITE_B", ONLINE, "root://b//1", True)])
    lake.update_index()
    lake.close()
    # as an index written before the site field was: another schema version
    marker = tmp_path / "index" / MARKER_FILE
    marker.write_text(json.dumps({"schema_version": SCHEMA_VERSION - 1}))
    lake = Lake.open(tmp_path)
    try:
        assert lake.index_outdated()
        assert lake.update_index() >= 1
        assert not lake.index_outdated()
        assert json.loads(marker.read_text())["schema_version"] == SCHEMA_VERSION
        result = lake.search(Query.parse("", filters=["site=SITE_B"], facets=["site"]))
        assert [h.id for h in result.hits] == [rid(1)]
        assert lake.update_index() == 0
    finally:
        lake.close()
