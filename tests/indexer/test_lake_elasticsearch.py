"""With `DMLAKE_ES_URL` set, a lake searches in Elasticsearch: the change-feed consumer writes one document per
record cluster through the bulk API, and a rebuild fills a new index and swaps the aliases. Checked through the
protocol double (`es_double`: records requests, answers as Elasticsearch documents, searches nothing), every request
validated against the Elasticsearch 8.17 specification."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from es_double import ElasticsearchDouble
from es_openapi import ElasticsearchSpec
from es_testing import assert_valid, es_double, es_spec
from fake_sources import Lab

from dmlake.lake import ES_URL_ENV, Lake, cluster_documents
from indexer.elasticsearch_backend import ElasticsearchIndex
from indexer.tantivy_backend import TantivyIndex
from ontology import record_id

__all__ = ["es_double", "es_spec"]  # fixtures


def bulk_actions(double: ElasticsearchDouble) -> list[tuple[dict[str, Any], dict[str, Any] | None]]:
    """Every bulk action sent, with its source line (index) or none (delete)."""
    found: list[tuple[dict[str, Any], dict[str, Any] | None]] = []
    for request in [r for r in double.requests if r.path.endswith("/_bulk")]:
        lines = iter(request.lines)
        for action in lines:
            found.append((action, next(lines) if "index" in action else None))
    return found


def indexed_sources(double: ElasticsearchDouble) -> dict[str, list[str]]:
    """Document id → the sources of its records, from every bulk index line sent."""
    return {
        action["index"]["_id"]: [r["source"] for r in source["summary"]["records"]]
        for action, source in bulk_actions(double)
        if source is not None
    }


def test_a_lake_with_dmlake_es_url_indexes_clusters_in_elasticsearch(
    es_double: ElasticsearchDouble, es_spec: ElasticsearchSpec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ES_URL_ENV, es_double.url)
    lake = Lake.open(tmp_path / "home")
    lab = Lab(lake.catalogue)
    lab.source("rest", [{"id": "1", "dois": ["10.1234/a"]}, {"id": "2"}])
    lab.source("oai", [{"id": "x", "dois": ["10.1234/a"]}])
    lab.harvest()
    assert isinstance(lake.index, ElasticsearchIndex)
    assert lake.update_index() == lake.catalogue.last_seq()
    cluster_doc = next(doc for doc in cluster_documents(lake.catalogue) if len(doc["summary"]["records"]) == 2)
    sent = indexed_sources(es_double)
    assert sorted(sent[cluster_doc["id"]]) == ["oai", "rest"]
    assert sent[record_id("rest", "2")] == ["rest"]
    assert len(list(cluster_documents(lake.catalogue))) == 2
    # every write carries the change-feed position as an external version: a late, older write never wins
    sent_actions = [action for action, _ in bulk_actions(es_double)]
    assert {kind for action in sent_actions for kind in action} == {"index", "delete"}
    assert {meta["version_type"] for action in sent_actions for meta in action.values()} == {"external"}

    es_double.clear()
    lake.rebuild_index()
    created = es_double.of("PUT", r"/dmlake-records-.+")
    swapped = es_double.of("POST", r"/_aliases")
    assert created and swapped, [f"{r.method} {r.path}" for r in es_double.requests]
    assert set(indexed_sources(es_double)) == {cluster_doc["id"], record_id("rest", "2")}
    assert_valid(es_spec, es_double.requests)
    lake.close()


def test_without_dmlake_es_url_the_lake_searches_in_tantivy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ES_URL_ENV, raising=False)
    lake = Lake.open(tmp_path / "home")
    assert isinstance(lake.index, TantivyIndex)
    lake.close()
