"""The shared HTTP client against a real local server: retries on every fault kind, Retry-After, limits, errors,
conditional GET, XML, the User-Agent."""

from __future__ import annotations

import importlib.metadata
from collections.abc import Iterator
from datetime import datetime

import httpx
import pytest
from starlette.requests import Request as StarletteRequest
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from tiny_replica import TinyReplica

from connectors.base import Limits
from connectors.http import (
    Fetched,
    HttpClient,
    HttpError,
    MalformedBody,
    NotModified,
    ValidatorCache,
    Validators,
    polite_limits,
)
from connectors.paging import LinksNext, Listing, PageNumber, Request
from harvester.config import parse
from sandbox.server import RunningSandbox, start


@pytest.fixture(scope="module")
def server() -> Iterator[RunningSandbox]:
    with start({"tiny": TinyReplica.generated(95)}) as running:
        yield running


def cleared(base: str) -> Iterator[str]:
    """A replica's base URL with no faults and no logged requests; its faults are cleared again after the test."""
    httpx.put(f"{base}/_sandbox/faults", json=[])
    httpx.delete(f"{base}/_sandbox/requests")
    yield base
    httpx.put(f"{base}/_sandbox/faults", json=[])


@pytest.fixture
def url(server: RunningSandbox) -> Iterator[str]:
    yield from cleared(server.urls["tiny"])


def faults(url: str, *plans: dict[str, object]) -> None:
    assert httpx.put(f"{url}/_sandbox/faults", json=list(plans)).status_code == 200


class FakeTime:
    """A clock that only moves when the client sleeps: waits are recorded, not spent."""

    def __init__(self) -> None:
        self.now = 1_000.0
        self.slept: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


def client(**limits: object) -> tuple[HttpClient, list[float]]:
    fake = FakeTime()
    http = HttpClient(Limits(**limits), sleep=fake.sleep, clock=fake.clock, max_backoff=5)  # type: ignore[arg-type]
    return http, fake.slept


def test_user_agent_names_contact(url: str) -> None:
    http = HttpClient(Limits(), contact="curator@example.org")
    http.get_json(f"{url}/items/0001")
    # the server cannot echo headers; check what the client sends
    assert "mailto:curator@example.org" in http._client.headers["user-agent"]


def test_429_with_retry_after_is_retried_after_the_given_delay(url: str) -> None:
    faults(url, {"kind": "status", "status": 429, "retry_after": 3, "every": 1, "max_faults": 2})
    http, slept = client()
    assert http.get_json(f"{url}/items/0001")["id"] == "0001"
    assert slept == [3.0, 3.0]
    assert http.stats.retries == 2
    assert http.stats.by_status[429] == 2


def test_5xx_is_retried_with_bounded_backoff(url: str) -> None:
    faults(url, {"kind": "status", "status": 503, "every": 1, "max_faults": 3})
    http, slept = client()
    assert http.get_json(f"{url}/items/0002")["id"] == "0002"
    assert len(slept) == 3
    assert all(0 <= s <= 5 for s in slept)


def test_truncated_body_is_retried(url: str) -> None:
    faults(url, {"kind": "truncate", "every": 1, "max_faults": 2})
    http, _ = client()
    assert http.get_json(f"{url}/items/0003")["title"] == "Item 3"
    assert http.stats.retries == 2


def test_giving_up_names_url_and_status(url: str) -> None:
    faults(url, {"kind": "status", "status": 502, "every": 1})
    http, _ = client(max_retries=2)
    with pytest.raises(HttpError) as caught:
        http.get_json(f"{url}/items/0004")
    assert caught.value.status == 502
    assert "/items/0004" in str(caught.value)
    assert http.stats.requests == 3


def test_client_errors_are_not_retried(url: str) -> None:
    http, _ = client()
    with pytest.raises(HttpError) as caught:
        http.get_json(f"{url}/items/nope")
    assert caught.value.status == 404
    assert "no such item" in str(caught.value)
    assert http.stats.requests == 1


def test_accepted_status_is_returned_not_raised(url: str) -> None:
    http, _ = client()
    response = http.get(f"{url}/items/nope", ok_statuses=(404,))
    assert response.status_code == 404


def test_stalled_response_times_out_and_is_retried(url: str) -> None:
    faults(url, {"kind": "stall", "stall_seconds": 2, "every": 1, "max_faults": 1})
    http, _ = client(timeout=0.5)
    assert http.get_json(f"{url}/items/0005")["id"] == "0005"
    assert http.stats.retries == 1


def test_rate_limit_spaces_requests() -> None:
    fake = FakeTime()
    http = HttpClient(Limits(requests_per_minute=600), sleep=fake.sleep, clock=fake.clock)
    gate, _ = http._gate("http://example.invalid/x")
    for _ in range(4):
        gate.wait_turn(http._sleep)
    assert fake.slept == pytest.approx([0.1, 0.1, 0.1])


def test_listing_follows_links_next_and_resumes(url: str) -> None:
    http, _ = client()
    listing = Listing(Request.of(f"{url}/items", {"size": 20}), ("hits", "hits"), LinksNext())
    pages = list(listing.pages(http))
    assert [len(p.items) for p in pages] == [20, 20, 20, 20, 15]
    resumed = list(listing.pages(http, resume=pages[2].next))
    assert [p.items[0]["id"] for p in resumed] == ["0060", "0080"]
    state = pages[2].next
    assert state is not None and Request.from_state(state.to_state()) == state


def test_page_number_paging_stops_on_a_short_page(url: str) -> None:
    http, _ = client()
    paging = PageNumber(size=30, total_path=("hits", "total"))
    listing = Listing(paging.first(Request.of(f"{url}/items")), ("hits", "hits"), paging)
    ids = [item["id"] for page in listing.pages(http) for item in page.items]
    assert ids == [f"{i:04d}" for i in range(95)]


def test_concurrent_fetches_keep_order(url: str) -> None:
    http, _ = client(concurrency=6)
    wanted = [f"{i:04d}" for i in range(40)]
    got = http.map_concurrently(lambda i: http.get_json(f"{url}/items/{i}")["id"], wanted)
    assert got == wanted


# -- the client side of everything the sandbox can do to it --------------------------------------------------------
class EchoReplica(TinyReplica):
    """The tiny replica plus a route echoing request headers and an XML answer."""

    def routes(self) -> list[BaseRoute]:
        return [*super().routes(), Route("/echo", self._echo), Route("/xml/{item_id}", self._xml)]

    async def _echo(self, request: StarletteRequest) -> Response:
        return JSONResponse(dict(request.headers))

    async def _xml(self, request: StarletteRequest) -> Response:
        item = request.path_params["item_id"]
        if item == "laughs":
            return Response(BILLION_LAUGHS, media_type="application/xml")
        body = f'<?xml version="1.0"?><item id="{item}"><title>Item {item}</title></item>'
        return Response(body.encode(), media_type="application/xml")

    def last_modified(self, path: str, query: str) -> datetime | None:
        entry = self.store.find(path.rsplit("/", 1)[1]) if path.startswith("/items/") else None
        return entry.updated if entry is not None else None


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<lolz>&lol3;</lolz>"""


@pytest.fixture(scope="module")
def echo_server() -> Iterator[RunningSandbox]:
    with start({"echo": EchoReplica.generated(20)}) as running:
        yield running


@pytest.fixture
def echo(echo_server: RunningSandbox) -> Iterator[str]:
    yield from cleared(echo_server.urls["echo"])


def statuses(url: str) -> list[int]:
    return [entry["status"] for entry in httpx.get(f"{url}/_sandbox/requests").json()]


def test_the_user_agent_names_dmlake_its_version_its_home_and_the_contact(echo: str) -> None:
    with HttpClient(Limits(), contact="curator@example.org") as http:
        sent = http.get_json(f"{echo}/echo")["user-agent"]
    version = importlib.metadata.version("dmlake")
    assert sent == f"dmlake/{version} (+https://github.com/dmlake/dmlake; mailto:curator@example.org)"
    assert http.user_agent == sent


def test_the_contact_comes_from_the_sources_file_defaults(echo: str) -> None:
    config = parse('[defaults]\ncontact = "archive@example.org"\n', "<test>")
    with HttpClient(Limits(), contact=config.contact) as http:
        assert http.get_json(f"{echo}/echo")["user-agent"].endswith("; mailto:archive@example.org)")


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_every_5xx_is_retried(url: str, status: int) -> None:
    faults(url, {"kind": "status", "status": status, "every": 1, "max_faults": 2})
    http, _ = client()
    assert http.get_json(f"{url}/items/0006")["id"] == "0006"
    assert http.stats.retries == 2
    assert http.stats.retried_because == {f"HTTP {status}": 2}


@pytest.mark.parametrize(("kind", "cause"), [("reset", "ReadError"), ("drop", "RemoteProtocolError")])
def test_resets_and_dropped_connections_are_retried(url: str, kind: str, cause: str) -> None:
    faults(url, {"kind": kind, "every": 1, "max_faults": 3, "seed": 2})
    http, _ = client()
    assert http.get_json(f"{url}/items/0007")["id"] == "0007"
    assert http.stats.retries == 3
    assert set(http.stats.retried_because) <= {cause, "ReadError", "RemoteProtocolError"}


def test_a_slow_answer_within_the_timeout_is_waited_for_not_retried(url: str) -> None:
    faults(url, {"kind": "slow", "slow_seconds": 0.6, "every": 1})
    http, _ = client(timeout=0.5)
    assert http.get_json(f"{url}/items/0008")["id"] == "0008"
    assert http.stats.retries == 0


def test_a_sources_timeout_applies_to_its_host(url: str) -> None:
    faults(url, {"kind": "stall", "stall_seconds": 1.5, "every": 1, "max_faults": 1})
    http, _ = client(timeout=30)
    http.set_host_limits(url, Limits(timeout=0.4))
    assert http.get_json(f"{url}/items/0009")["id"] == "0009"
    assert http.stats.retried_because == {"ReadTimeout": 1}


def test_malformed_json_is_retried(url: str) -> None:
    faults(url, {"kind": "malformed", "every": 1, "max_faults": 3, "seed": 3})
    http, _ = client()
    assert http.get_json(f"{url}/items/0010")["id"] == "0010"
    assert http.stats.retried_because == {"malformed body": 3}


def test_xml_is_parsed_and_malformed_xml_retried(echo: str) -> None:
    http, _ = client()
    assert http.get_xml(f"{echo}/xml/a1").findtext("title") == "Item a1"
    faults(echo, {"kind": "malformed", "every": 1, "max_faults": 3, "seed": 4})
    response, root = http.get_xml_response(f"{echo}/xml/a2")
    assert root is not None and root.get("id") == "a2"
    assert response.status_code == 200
    assert http.stats.retried_because == {"malformed body": 3}


def test_xml_with_entities_is_never_expanded(echo: str) -> None:
    http, _ = client(max_retries=1)
    with pytest.raises(MalformedBody) as caught:
        http.get_xml(f"{echo}/xml/laughs")
    assert "entit" in str(caught.value) and "/xml/laughs" in str(caught.value)


def test_retry_after_longer_than_the_client_waits_fails_at_once_saying_so(url: str) -> None:
    faults(url, {"kind": "status", "status": 429, "retry_after": 3600, "every": 1})
    http, slept = client()
    with pytest.raises(HttpError) as caught:
        http.get_json(f"{url}/items/0011")
    assert caught.value.status == 429
    assert "wait 3600 s" in str(caught.value) and "try again later" in str(caught.value)
    assert slept == [] and http.stats.requests == 1


def test_retry_after_holds_every_request_to_the_host() -> None:
    fake = FakeTime()
    http = HttpClient(Limits(), sleep=fake.sleep, clock=fake.clock)
    gate, _ = http._gate("http://portal.example/api/records")
    gate.hold(5)
    other, _ = http._gate("http://portal.example/api/other")  # same host, same gate
    assert other is gate
    assert other.wait_turn(fake.sleep) == pytest.approx(5)
    assert other.wait_turn(fake.sleep) == 0
    elsewhere, _ = http._gate("http://other.example/")
    assert elsewhere.wait_turn(fake.sleep) == 0


def test_conditional_get_revalidates_and_sees_changes(echo: str) -> None:
    http, _ = client()
    first = http.get_conditional(f"{echo}/items/0012", parse="json")
    assert isinstance(first, Fetched) and first.body["id"] == "0012"
    assert first.validators is not None and first.validators.etag and first.validators.last_modified
    second = http.get_conditional(f"{echo}/items/0012", parse="json")
    assert isinstance(second, NotModified) and second.validators == first.validators
    assert http.stats.not_modified == 1
    httpx.post(f"{echo}/_sandbox/edit", json={"ids": ["0012"]})
    third = http.get_conditional(f"{echo}/items/0012", parse="json")
    assert isinstance(third, Fetched) and third.body["revision"] == 1
    assert third.validators is not None and third.validators.etag != first.validators.etag
    assert statuses(echo) == [200, 304, 200]


def test_conditional_get_with_the_callers_validators(echo: str) -> None:
    http, _ = client()
    fetched = http.get_conditional(f"{echo}/items", params={"size": 3})
    assert isinstance(fetched, Fetched) and fetched.validators is not None
    kept = Validators.from_state(fetched.validators.to_state())  # as a checkpoint would keep them
    fresh_client, _ = client()
    assert isinstance(fresh_client.get_conditional(f"{echo}/items", params={"size": 3}, validators=kept), NotModified)
    assert isinstance(fresh_client.get_conditional(f"{echo}/items", params={"size": 4}, validators=None), Fetched)
    # Last-Modified alone: If-Modified-Since
    dated = http.get_conditional(f"{echo}/items/0013")
    assert isinstance(dated, Fetched) and dated.validators is not None
    by_date = Validators(last_modified=dated.validators.last_modified)
    assert by_date.headers() == {"If-Modified-Since": dated.validators.last_modified}
    assert isinstance(fresh_client.get_conditional(f"{echo}/items/0013", validators=by_date), NotModified)


def test_the_validator_cache_keeps_the_most_recently_used() -> None:
    cache = ValidatorCache(size=2)
    cache.put("a", Validators('"1"'))
    cache.put("b", Validators('"2"'))
    assert cache.get("a") == Validators('"1"')
    cache.put("c", Validators('"3"'))
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == (Validators('"1"'), None, Validators('"3"'))
    cache.put("a", None)
    assert cache.get("a") is None and len(cache) == 1


def test_polite_defaults_per_kind_and_host() -> None:
    assert polite_limits("zenodo").requests_per_minute == 30
    assert polite_limits("gitlab").requests_per_minute == 600
    assert polite_limits("hepdata").requests_per_minute == 60
    assert polite_limits("cernopendata").requests_per_minute == 60
    assert polite_limits("oaipmh", url="https://zenodo.org/oai2d").requests_per_minute == 30
    assert polite_limits("oaipmh", url="https://opendata.cern.ch/oai2d").requests_per_minute == 60
    assert polite_limits("oaipmh", url="http://127.0.0.1:8000").requests_per_minute is None
    explicit = Limits(requests_per_minute=5, concurrency=2)
    assert polite_limits("zenodo", explicit) == explicit
    assert polite_limits("zenodo", Limits(concurrency=1)).concurrency == 1
