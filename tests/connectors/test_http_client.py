"""The shared HTTP client against a real local server: retries, Retry-After, truncated bodies, limits, errors."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
from tiny_replica import TinyReplica

from connectors.base import Limits
from connectors.http import HttpClient, HttpError
from connectors.paging import LinksNext, Listing, PageNumber, Request
from sandbox.server import RunningSandbox, start


@pytest.fixture(scope="module")
def server() -> Iterator[RunningSandbox]:
    with start({"tiny": TinyReplica.generated(95)}) as running:
        yield running


@pytest.fixture
def url(server: RunningSandbox) -> Iterator[str]:
    base = server.urls["tiny"]
    httpx.put(f"{base}/_sandbox/faults", json=[])
    httpx.delete(f"{base}/_sandbox/requests")
    yield base
    httpx.put(f"{base}/_sandbox/faults", json=[])


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
    slept: list[float] = []
    http = HttpClient(Limits(requests_per_minute=600), sleep=lambda s: (slept.append(s), time.sleep(s)))
    gate, _ = http._gate("http://example.invalid/x")
    for _ in range(4):
        gate.wait_turn(http._sleep)
    assert sum(slept) == pytest.approx(0.3, abs=0.05)


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
