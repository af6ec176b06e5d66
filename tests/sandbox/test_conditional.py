"""Conditional GET on a served replica: validators on every GET 200, 304 for a client that has the answer already."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import datetime, timedelta

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from tiny_replica import TinyReplica

from sandbox.conditional import entity_tag, http_date, none_match, not_modified_since
from sandbox.server import RunningSandbox, start


class DatedReplica(TinyReplica):
    """The tiny replica, knowing when each item last changed, plus a route that sends validators of its own."""

    def routes(self) -> list[BaseRoute]:
        return [*super().routes(), Route("/tagged", self._tagged)]

    async def _tagged(self, request: Request) -> Response:
        headers = {"ETag": 'W/"v7"', "Last-Modified": "Tue, 02 Jan 2024 03:04:05 GMT"}
        return JSONResponse({"version": 7}, headers=headers)

    def last_modified(self, path: str, query: str) -> datetime | None:
        if not path.startswith("/items/"):
            return None
        entry = self.store.find(path.rsplit("/", 1)[1])
        return entry.updated if entry is not None else None


@pytest.fixture(scope="module")
def server() -> Iterator[RunningSandbox]:
    with start({"dated": DatedReplica.generated(30)}) as running:
        yield running


@pytest.fixture
def url(server: RunningSandbox) -> str:
    return server.urls["dated"]


def test_every_get_200_carries_a_strong_etag_of_its_body(url: str) -> None:
    response = httpx.get(f"{url}/items/0001")
    assert response.headers["etag"] == '"' + hashlib.blake2b(response.content, digest_size=16).hexdigest() + '"'
    assert response.headers["etag"] == entity_tag(response.content)
    listing = httpx.get(f"{url}/items?size=3")
    assert listing.headers["etag"] == entity_tag(listing.content) != response.headers["etag"]
    assert "etag" not in httpx.get(f"{url}/items/nope").headers  # a 404 is not a representation to revalidate
    assert "etag" not in httpx.get(f"{url}/_sandbox/info").headers


@pytest.mark.parametrize("form", ["{tag}", "W/{tag}", '"other", {tag}', "*"])
def test_a_matching_if_none_match_gets_304_without_a_body(url: str, form: str) -> None:
    first = httpx.get(f"{url}/items/0002")
    tag = first.headers["etag"]
    again = httpx.get(f"{url}/items/0002", headers={"If-None-Match": form.format(tag=tag)})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == tag
    assert "content-type" not in again.headers


def test_a_different_etag_gets_the_answer(url: str) -> None:
    response = httpx.get(f"{url}/items/0003", headers={"If-None-Match": '"not-this-one"'})
    assert response.status_code == 200
    assert response.json()["id"] == "0003"


def test_an_edit_changes_the_etag_and_the_old_one_gets_the_new_answer(url: str) -> None:
    old = httpx.get(f"{url}/items/0004")
    assert httpx.post(f"{url}/_sandbox/edit", json={"ids": ["0004"]}).json() == {"edited": ["0004"]}
    new = httpx.get(f"{url}/items/0004", headers={"If-None-Match": old.headers["etag"]})
    assert new.status_code == 200
    assert new.json()["revision"] == 1
    assert new.headers["etag"] != old.headers["etag"]


def test_last_modified_comes_from_the_replica_and_answers_if_modified_since(url: str, server: RunningSandbox) -> None:
    entry = server.replicas["dated"].store.find("0005")
    assert entry is not None
    response = httpx.get(f"{url}/items/0005")
    stamp = response.headers["last-modified"]
    assert stamp == http_date(entry.updated) == "Mon, 01 Jan 2024 00:00:00 GMT"
    assert httpx.get(f"{url}/items/0005", headers={"If-Modified-Since": stamp}).status_code == 304
    later = http_date(entry.updated + timedelta(days=1))
    assert httpx.get(f"{url}/items/0005", headers={"If-Modified-Since": later}).status_code == 304
    earlier = http_date(entry.updated - timedelta(seconds=1))
    assert httpx.get(f"{url}/items/0005", headers={"If-Modified-Since": earlier}).status_code == 200
    assert httpx.get(f"{url}/items/0005", headers={"If-Modified-Since": "yesterday"}).status_code == 200
    # If-None-Match decides when both are sent (RFC 9110 §13.2.2)
    both = {"If-None-Match": '"stale"', "If-Modified-Since": stamp}
    assert httpx.get(f"{url}/items/0005", headers=both).status_code == 200
    assert "last-modified" not in httpx.get(f"{url}/items?size=2").headers  # the hook knows items, not listings


def test_an_edit_moves_last_modified_on(url: str) -> None:
    stamp = httpx.get(f"{url}/items/0006").headers["last-modified"]
    httpx.post(f"{url}/_sandbox/edit", json={"ids": ["0006"]})
    response = httpx.get(f"{url}/items/0006", headers={"If-Modified-Since": stamp})
    assert response.status_code == 200
    assert response.headers["last-modified"] != stamp


def test_a_routes_own_validators_are_kept_and_honoured(url: str) -> None:
    response = httpx.get(f"{url}/tagged")
    assert response.headers["etag"] == 'W/"v7"'
    assert response.headers["last-modified"] == "Tue, 02 Jan 2024 03:04:05 GMT"
    assert httpx.get(f"{url}/tagged", headers={"If-None-Match": '"v7"'}).status_code == 304
    since = {"If-Modified-Since": "Tue, 02 Jan 2024 03:04:05 GMT"}
    assert httpx.get(f"{url}/tagged", headers=since).status_code == 304


def test_head_and_post_are_passed_through(url: str) -> None:
    head = httpx.head(f"{url}/items/0007")
    assert head.status_code == 200 and "etag" not in head.headers
    assert httpx.post(f"{url}/_sandbox/edit", json={"ids": []}).status_code == 200


def test_the_comparison_rules() -> None:
    assert none_match('W/"a", "b"', '"a"') and none_match('"a"', 'W/"a"')
    assert not none_match('"a"', None) and none_match("*", None)
    assert not none_match('"ab"', '"a"')
    assert not_modified_since("Mon, 01 Jan 2024 00:00:00 GMT", "Mon, 01 Jan 2024 00:00:00 GMT")
    assert not not_modified_since("Mon, 01 Jan 2024 00:00:00 GMT", "Mon, 01 Jan 2024 00:00:01 GMT")
    assert not not_modified_since("Mon, 01 Jan 2024 00:00:00 GMT", None)
    assert not not_modified_since("", "Mon, 01 Jan 2024 00:00:01 GMT")
