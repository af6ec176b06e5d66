"""Cursor walks over a 100,000-document index: every hit exactly once, in order, with no 10,000 wall — also while
documents are added and re-indexed between pages."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from indexer.document import SORT_LEVELS, index_document
from indexer.query import Query
from indexer.tantivy_backend import TantivyIndex
from ontology.model import Record

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("indexer-deep-paging")]

COUNT = 100_000
KEPT = ("id", "tiebreak", "issued_ts", "year", *SORT_LEVELS["title"])


@dataclass
class Deep:
    path: Path
    documents: list[dict[str, Any]]
    records: Callable[..., Iterator[Record]]


@pytest.fixture(scope="module")
def deep(tmp_path_factory: pytest.TempPathFactory, generated: Callable[..., Iterator[Record]]) -> Deep:
    path = tmp_path_factory.mktemp("deep-index")
    kept: list[dict[str, Any]] = []

    def documents() -> Iterator[dict[str, Any]]:
        for record in generated(COUNT, seed=3):
            document = index_document(record)
            kept.append({name: document[name] for name in KEPT})
            yield document

    index = TantivyIndex(path)
    index.index_documents(documents())
    index.commit()
    index.close()
    return Deep(path, kept, generated)


def expected_order(documents: list[dict[str, Any]], sort: str) -> list[str]:
    descending = sort.startswith("-")
    fields = SORT_LEVELS[sort.lstrip("-")]
    present = [d for d in documents if d[fields[0]] is not None]
    missing = [d for d in documents if d[fields[0]] is None]
    present.sort(key=lambda d: (*(-d[f] if descending else d[f] for f in fields), d["tiebreak"], d["id"]))
    missing.sort(key=lambda d: (d["tiebreak"], d["id"]))
    return [d["id"] for d in present + missing]


def walk(index: TantivyIndex, query: Query, between_pages: Callable[[int], None] | None = None) -> list[Any]:
    hits: list[Any] = []
    cursor: str | None = None
    page_number = 0
    while True:
        page = index.search(query.with_cursor(cursor))
        hits.extend(page.hits)
        cursor = page.next_cursor
        if cursor is None:
            return hits
        page_number += 1
        if between_pages is not None:
            between_pages(page_number)


@pytest.mark.parametrize("sort", ["-issued", "title"])
def test_a_field_sorted_walk_returns_every_hit_once_in_order(deep: Deep, sort: str) -> None:
    index = TantivyIndex(deep.path)
    hits = walk(index, Query.parse(sort=sort, size=1000))
    assert len(hits) == COUNT
    assert [hit.id for hit in hits] == expected_order(deep.documents, sort)


def test_a_relevance_walk_returns_every_hit_once(deep: Deep) -> None:
    index = TantivyIndex(deep.path)
    query = Query.parse("muon OR neutrino OR pp OR higgs", size=1000)
    hits = walk(index, query)
    total = index.search(query.with_cursor(None)).total
    assert total > 30_000  # deep enough to go past the point where the ranking is materialised
    ids = [hit.id for hit in hits]
    assert len(ids) == len(set(ids)) == total
    scores = [hit.score for hit in hits]
    assert scores == sorted(scores, reverse=True)
    assert len(set(scores)) > 10  # a real ranking, not one big tie
    same_set = walk(index, Query.parse("muon OR neutrino OR pp OR higgs", sort="title", size=1000))
    assert set(ids) == {hit.id for hit in same_set}


def test_a_relevance_walk_of_pure_ties_returns_every_hit_once(deep: Deep) -> None:
    index = TantivyIndex(deep.path)
    ids = [hit.id for hit in walk(index, Query.parse(sort="relevance", size=1000))]
    assert len(ids) == len(set(ids)) == COUNT


@pytest.mark.parametrize("sort", ["-issued", "title"])
def test_a_field_sorted_walk_survives_index_updates(deep: Deep, tmp_path: Path, sort: str) -> None:
    """New documents land before and after the cursor, old ones are re-indexed: no duplicates, no old ones missed."""
    path = tmp_path / "index"
    shutil.copytree(deep.path, path)
    index = TantivyIndex(path)
    by_id = {record.id: record for record in deep.records(2_000, seed=3)}  # the first 2,000, to re-index as they are
    old_records = list(by_id.values())

    def update(page_number: int) -> None:
        if page_number % 2:
            return
        start = COUNT + page_number * 100
        index.index(deep.records(100, seed=99, start=start))
        index.index(old_records[(page_number * 97) % 1900 :][:100])
        index.commit()

    hits = walk(index, Query.parse(sort=sort, size=1_000), between_pages=update)
    ids = [hit.id for hit in hits]
    assert len(ids) == len(set(ids))
    old_ids = {d["id"] for d in deep.documents}
    assert old_ids <= set(ids)
    assert len(set(ids) - old_ids) > 0  # some of the new documents were after the cursor and were found
    assert index.count() > COUNT
    index.close()


def test_a_relevance_walk_reads_one_snapshot_while_the_index_changes(deep: Deep, tmp_path: Path) -> None:
    path = tmp_path / "index"
    shutil.copytree(deep.path, path)
    index = TantivyIndex(path)
    query = Query.parse("muon OR higgs", size=1_000)
    before = {hit.id for hit in walk(index, Query.parse("muon OR higgs", sort="title", size=1_000))}

    def update(page_number: int) -> None:
        index.index(deep.records(200, seed=5, start=COUNT + page_number * 200))
        index.commit()

    ids = [hit.id for hit in walk(index, query, between_pages=update)]
    assert len(ids) == len(set(ids))
    assert set(ids) == before
    index.close()
