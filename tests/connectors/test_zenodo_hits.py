"""Zenodo search pages read with each hit kept as the server's bytes (`connectors.zenodo_hits`).

The listing reads only id, update stamp and self link of a hit; the payload a mapping worker gets is the hit's own
slice of the body. Checked on every search response of the corpus and on the replica's generated pages: the slice is
the hit (parsed, it equals the hit of a full parse), the three fields are the hit's, and the record mapped from it is
the record mapped from the sorted re-serialisation the listing stored before, so a catalogue harvested before this
change sees no content change. Bodies that do not parse are refused (the HTTP client retries them), bodies of
another shape reach the listing's own checks.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from connectors.base import HarvestState, Limits, RawRecord, SourceSpec
from connectors.http import HttpClient
from connectors.paging import dig
from connectors.zenodo import ZenodoConnector, ZenodoListingError
from connectors.zenodo_hits import Hit, parse_record_body, parse_search_body
from harvester import codec
from sandbox.replicas.zenodo import ZenodoReplica
from sandbox.server import start


def _search_bodies(corpus: Path) -> list[tuple[str, bytes]]:
    bodies = []
    for path in sorted((corpus / "zenodo" / "rest").rglob("*")):
        if not path.is_file():
            continue
        data = path.read_bytes()
        if path.suffix == ".txt":
            data = re.split(rb"^###\s*$", data, maxsplit=1, flags=re.MULTILINE)[0]
        try:
            parsed = orjson.loads(data)
        except orjson.JSONDecodeError:
            continue
        if isinstance(parsed, dict) and isinstance(dig(parsed, ("hits", "hits")), list):
            bodies.append((path.name, data))
    return bodies


def _generated_pages(count: int) -> list[bytes]:
    with start({"zenodo": ZenodoReplica.generated(count, seed=11)}) as running:
        return _pages_from(running.urls["zenodo"], count)


def _pages_from(url: str, count: int) -> list[bytes]:
    """Every page of the replica's plain listing (all versions, oldest update first)."""
    with httpx.Client() as client:
        pages = []
        for page in range(1, -(-count // 25) + 1):
            response = client.get(
                f"{url}/api/records",
                params={"q": "", "sort": "updated-asc", "size": 25, "page": page, "all_versions": "true"},
                headers={"Accept": "application/vnd.inveniordm.v1+json"},
            )
            response.raise_for_status()
            pages.append(response.content)
        return pages


def _check_page(data: bytes) -> int:
    full = orjson.loads(data)
    read = parse_search_body(data, "test")
    assert read["hits"]["total"] == full["hits"].get("total")
    hits: list[Hit] = read["hits"]["hits"]
    assert len(hits) == len(full["hits"]["hits"])
    for hit, item in zip(hits, full["hits"]["hits"], strict=True):
        assert hit.payload in data  # the server's own bytes
        assert orjson.loads(hit.payload) == item
        assert (hit.id, hit.updated, hit.self_link) == (item["id"], item.get("updated"), dig(item, ("links", "self")))
    return len(hits)


def test_every_corpus_search_page_is_read_hit_by_hit(corpus: Path) -> None:
    bodies = _search_bodies(corpus)
    assert len(bodies) >= 4  # the legacy search responses of corpus 3c at least
    assert sum(_check_page(data) for _, data in bodies) >= 13


def test_generated_pages_are_read_hit_by_hit() -> None:
    assert sum(_check_page(data) for data in _generated_pages(100)) == 100


def _content(payload: bytes, native_id: str) -> tuple[str, dict[str, Any]]:
    """The record's content hash and everything it holds but the hash of its payload's bytes."""
    record = ZenodoConnector.map_record(RawRecord(native_id, payload, "application/json", "u"), "zenodo")
    dumped = record.model_dump(mode="json")
    assert dumped["provenance"].pop("raw_sha256") == hashlib.sha256(payload).hexdigest()
    return codec.content_hash(record), dumped


def test_a_record_mapped_from_its_slice_equals_the_record_mapped_from_the_sorted_reserialisation(
    corpus: Path,
) -> None:
    pages = [data for _, data in _search_bodies(corpus)] + _generated_pages(50)
    compared = 0
    for data in pages:
        for hit in parse_search_body(data, "test")["hits"]["hits"]:
            item = orjson.loads(hit.payload)
            if "metadata" not in item:
                continue
            sorted_payload = orjson.dumps(item, option=orjson.OPT_SORT_KEYS)
            assert _content(hit.payload, str(hit.id)) == _content(sorted_payload, str(hit.id))
            compared += 1
    assert compared >= 60


@pytest.mark.parametrize(
    "body",
    [
        b'{"hits": {"hits": [{"id": "1", "updated": "2024-01-01T00:00:00+00:00"}',  # cut short
        b'{"hits": {"hits": [{"id": "1", "title": "a\x01b"}]}}',  # a stray control byte
        b'{"hits": {"hits": [{"id": "1", "title": "caf\xe9"}]}}',  # not UTF-8, inside a string nobody reads
        b"<html><body>upstream timed out</body></html>",
    ],
)
def test_a_body_that_does_not_parse_is_refused_for_a_retry(body: bytes) -> None:
    with pytest.raises(ValueError):
        parse_search_body(body, "test")
    with pytest.raises(ValueError):
        parse_record_body(body, "test")


def test_a_body_of_another_shape_is_handed_on_parsed() -> None:
    assert parse_search_body(b'{"hits": {"hits": {"a": 1}}}', "t") == {"hits": {"hits": {"a": 1}}}
    assert parse_search_body(b"[1, 2]", "t") == [1, 2]
    assert parse_search_body(b'{"aggregations": {}}', "t") == {}
    assert parse_search_body(b'{"hits": {"total": 0}}', "t") == {"hits": {"total": 0}}
    odd = parse_search_body(b'{"hits": {"hits": [1, {"id": 7, "links": []}]}}', "t")["hits"]["hits"]
    assert [(h.payload, h.id, h.self_link) for h in odd] == [(b"1", None, None), (b'{"id": 7, "links": []}', 7, None)]
    assert parse_record_body(b'["not", "a", "record"]', "t").id is None


def _connector(url: str) -> ZenodoConnector:
    spec = SourceSpec("zenodo", "zenodo", url, {}, Limits(requests_per_minute=None))
    return ZenodoConnector(spec, HttpClient(Limits(), sleep=lambda _: None, max_backoff=0.01))


def test_a_hit_without_id_or_stamp_stops_the_listing_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    body = b'{"hits": {"hits": ["just a string"], "total": 1}}'

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body, headers={"Content-Type": "application/json"})

    source = _connector("https://zenodo.example")
    source.http = HttpClient(Limits(), sleep=lambda _: None, transport=httpx.MockTransport(answer))
    with pytest.raises(ZenodoListingError, match='without id or updated stamp: "just a string"'):
        next(source.pages(HarvestState(known=lambda ids: {})))


def test_the_listing_stores_each_hit_as_the_server_sent_it() -> None:
    replica = ZenodoReplica.generated(60, seed=5)
    with start({"zenodo": replica}) as running:
        url = running.urls["zenodo"]
        records: list[RawRecord] = []
        for page in _connector(url).pages(HarvestState(known=lambda ids: {})):
            records += page.records
        bodies = _pages_from(url, 60)
    assert len(records) == 60
    for record in records:
        assert any(record.payload in body for body in bodies)
        assert record.source_updated == orjson.loads(record.payload)["updated"]
        assert record.url == f"{url}/api/records/{record.native_id}"
