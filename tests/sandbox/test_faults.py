"""Fault injection as a client meets it: real requests to a served replica, each fault kind seen on the wire."""

from __future__ import annotations

import contextlib
import random
import socket
import time
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from tiny_replica import TinyReplica

from connectors.http import parse_xml
from sandbox.faults import MIXED_KINDS, FaultPlan, corrupt
from sandbox.server import RunningSandbox, start


class ShapesReplica(TinyReplica):
    """The tiny replica plus an XML, an HTML and an empty answer, and a count of edits made through its route."""

    edits_seen = 0

    def routes(self) -> list[BaseRoute]:
        return [
            *super().routes(),
            Route("/xml/{item_id}", self._xml),
            Route("/page.html", self._html),
            Route("/empty", self._empty),
        ]

    async def _xml(self, request: Request) -> Response:
        item = request.path_params["item_id"]
        body = f'<?xml version="1.0"?><item id="{item}"><title>Item {item}</title><pad>{"x" * 500}</pad></item>'
        return Response(body.encode(), media_type="application/xml")

    async def _html(self, request: Request) -> Response:
        return Response(b"<html><body><table><tr><td>KCDC</td></tr></table></body></html>", media_type="text/html")

    async def _empty(self, request: Request) -> Response:
        return Response(b"", media_type="application/json")

    async def _edit(self, request: Request) -> Response:
        type(self).edits_seen += 1
        return await super()._edit(request)


@pytest.fixture(scope="module")
def server() -> Iterator[RunningSandbox]:
    replica = ShapesReplica.generated(40)
    with start({"shapes": replica}) as running:
        yield running


@pytest.fixture
def url(server: RunningSandbox) -> Iterator[str]:
    base = server.urls["shapes"]
    faults(base)
    yield base
    faults(base)


def faults(url: str, *plans: dict[str, Any]) -> list[dict[str, Any]]:
    response = httpx.put(f"{url}/_sandbox/faults", json=list(plans))
    assert response.status_code == 200, response.text
    answer: list[dict[str, Any]] = response.json()
    return answer


def plans(url: str) -> list[dict[str, Any]]:
    answer: list[dict[str, Any]] = httpx.get(f"{url}/_sandbox/faults").json()
    return answer


def raw_exchange(url: str, path: str) -> tuple[bytes, str]:
    """Send one HTTP/1.1 request on a bare socket; what arrived, and how the connection ended (eof/reset)."""
    port = int(url.rsplit(":", 1)[1])
    received = b""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n".encode())
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except ConnectionResetError:
            return received, "reset"
    return received, "eof"


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_status_faults_answer_that_status_once(url: str, status: int) -> None:
    faults(url, {"kind": "status", "status": status, "retry_after": 7, "every": 1, "max_faults": 1})
    refused = httpx.get(f"{url}/items/0001")
    assert refused.status_code == status
    assert refused.headers["retry-after"] == "7"
    assert refused.json()["status"] == status
    assert httpx.get(f"{url}/items/0001").json()["id"] == "0001"
    assert plans(url)[0]["by_kind"] == {f"status:{status}": 1}


def test_a_mixed_plan_sends_retry_after_only_with_429_and_503(url: str) -> None:
    kinds = ["status:429", "status:500", "status:503", "status:504"]
    faults(url, {"kind": "mixed", "kinds": kinds, "rate": 1.0, "retry_after": 2, "seed": 4})
    seen: dict[int, set[str | None]] = {}
    for _ in range(40):
        response = httpx.get(f"{url}/items/0002")
        seen.setdefault(response.status_code, set()).add(response.headers.get("retry-after"))
    assert seen == {429: {"2"}, 500: {None}, 503: {"2"}, 504: {None}}


def test_a_stall_outlasts_a_shorter_timeout(url: str) -> None:
    faults(url, {"kind": "stall", "stall_seconds": 1.5, "every": 1, "max_faults": 1})
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(f"{url}/items/0003", timeout=0.4)
    assert httpx.get(f"{url}/items/0003", timeout=0.4).status_code == 200


def test_a_slow_answer_arrives_whole_within_the_timeout(url: str) -> None:
    expected = httpx.get(f"{url}/items/0004").content
    faults(url, {"kind": "slow", "slow_seconds": 0.8, "every": 1})
    started = time.monotonic()
    response = httpx.get(f"{url}/items/0004", timeout=0.5)  # no single wait is as long as the whole delay
    assert time.monotonic() - started >= 0.8
    assert response.content == expected


def test_a_truncated_body_is_a_short_read(url: str) -> None:
    faults(url, {"kind": "truncate", "every": 1})
    with pytest.raises(httpx.RemoteProtocolError, match="complete message body"):
        httpx.get(f"{url}/items/0005")


def test_an_empty_body_cannot_be_cut_short_so_the_connection_closes(url: str) -> None:
    faults(url, {"kind": "truncate", "every": 1})
    received, ending = raw_exchange(url, "/empty")
    assert (received, ending) == (b"", "eof")
    faults(url, {"kind": "reset", "every": 1, "seed": 1})
    for _ in range(4):
        assert raw_exchange(url, "/empty") == (b"", "reset")


@pytest.mark.parametrize("path", ["/items/0006", "/xml/0006"])
def test_malformed_bodies_are_whole_200s_that_do_not_parse(url: str, path: str) -> None:
    faults(url, {"kind": "malformed", "every": 1, "seed": 11})
    shapes = set()
    for _ in range(30):
        response = httpx.get(f"{url}{path}")  # reads exactly Content-Length bytes: no transport error
        assert response.status_code == 200
        assert int(response.headers["content-length"]) == len(response.content)
        if path.startswith("/xml"):
            assert response.headers["content-type"].startswith("application/xml")
            with pytest.raises(ValueError, match="malformed answer"):
                parse_xml(response.content, "malformed answer")
        else:
            assert response.headers["content-type"] == "application/json"
            with pytest.raises(orjson.JSONDecodeError):
                orjson.loads(response.content)
        body = response.content
        shapes.add("html" if body.startswith(b"<html>") else "control" if b"\x01" in body else "cut")
    assert shapes == {"html", "control", "cut"}


def test_malformed_leaves_other_content_types_alone(url: str) -> None:
    expected = httpx.get(f"{url}/page.html").content
    faults(url, {"kind": "malformed", "every": 1})
    assert httpx.get(f"{url}/page.html").content == expected
    assert corrupt(expected, "text/html; charset=utf-8", random.Random(0)) is None


def test_a_reset_is_a_tcp_rst_before_or_during_the_answer(url: str) -> None:
    faults(url, {"kind": "reset", "every": 1, "seed": 2})
    endings = [raw_exchange(url, "/items/0007") for _ in range(10)]
    assert {ending for _, ending in endings} == {"reset"}
    before = [received for received, _ in endings if not received]
    during = [received for received, _ in endings if received]
    assert before and during, "expected resets both before the answer and in the middle of its body"
    assert all(received.startswith(b"HTTP/1.1 200") for received in during)
    with pytest.raises(httpx.ReadError):
        httpx.get(f"{url}/items/0007")


def test_a_drop_closes_the_connection_without_an_answer(url: str) -> None:
    faults(url, {"kind": "drop", "every": 1})
    assert raw_exchange(url, "/items/0008") == (b"", "eof")
    with pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
        httpx.get(f"{url}/items/0008")


def test_change_edits_records_through_the_replicas_own_edit_route(url: str, server: RunningSandbox) -> None:
    store = server.replicas["shapes"].store
    before = ShapesReplica.edits_seen
    faults(url, {"kind": "change", "every": 1, "max_faults": 3, "edit_count": 2, "seed": 5})
    for _ in range(5):
        assert httpx.get(f"{url}/items?size=5").status_code == 200
    plan = plans(url)[0]
    assert plan["injected"] == 3 and len(plan["edited"]) == 6
    assert ShapesReplica.edits_seen - before == 3
    for native_id, when in plan["edited"]:
        entry = store.find(native_id)
        assert entry is not None and entry.revision >= 1
        assert httpx.get(f"{url}/items/{native_id}").json()["revision"] == entry.revision
        assert when.endswith("+00:00")


def test_a_mixed_plan_draws_every_kind(url: str) -> None:
    quick = [k for k in MIXED_KINDS if k not in ("stall", "slow")]
    faults(url, {"kind": "mixed", "kinds": quick, "rate": 1.0, "seed": 9})
    for _ in range(150):
        with contextlib.suppress(httpx.TransportError):  # resets, drops and short reads: counted all the same
            httpx.get(f"{url}/items/0009", timeout=5)
    by_kind = plans(url)[0]["by_kind"]
    assert set(by_kind) == set(quick)
    assert sum(by_kind.values()) == 150


def test_a_mixed_plan_faults_about_its_rate(url: str) -> None:
    faults(url, FaultPlan.everything(0.1, seed=1, kinds=["status:500"]).to_dict())
    statuses = [httpx.get(f"{url}/items/0010").status_code for _ in range(400)]
    assert 0.06 < statuses.count(500) / len(statuses) < 0.14
    assert plans(url)[0]["injected"] == statuses.count(500)


def test_everything_draws_from_every_kind_and_status() -> None:
    plan = FaultPlan.everything()
    assert (plan.kind, plan.rate, plan.kinds, plan.retry_after) == ("mixed", 0.1, None, 1)
    assert {f"status:{s}" for s in (429, 500, 502, 503, 504)} < set(MIXED_KINDS)
    assert {"stall", "slow", "truncate", "malformed", "reset", "drop", "change"} < set(MIXED_KINDS)


@pytest.mark.parametrize(
    ("plan", "message"),
    [
        ({"kind": "explode"}, "not one of"),
        ({"kind": "status", "colour": "red"}, "unknown fault plan keys: colour"),
        ({"kind": "mixed", "kinds": ["status:abc"]}, "not a fault kind for a mixed plan"),
        ({"kind": "mixed", "kinds": ["mixed"]}, "not a fault kind for a mixed plan"),
        ({"kind": "status", "rate": 2}, "not a fraction"),
        ({"kind": "status", "path": "("}, "missing"),
    ],
)
def test_bad_plans_are_refused_with_the_reason(url: str, plan: dict[str, Any], message: str) -> None:
    response = httpx.put(f"{url}/_sandbox/faults", json=[plan])
    assert response.status_code == 400
    assert message in response.json()["error"]


def test_admin_routes_are_never_faulted_and_the_log_records_arrival_times(url: str) -> None:
    faults(url, {"kind": "status", "status": 500, "every": 1})
    assert httpx.get(f"{url}/_sandbox/info").status_code == 200
    httpx.delete(f"{url}/_sandbox/requests")
    started = time.time()
    assert httpx.get(f"{url}/items/0011").status_code == 500
    log = httpx.get(f"{url}/_sandbox/requests").json()
    assert [(e["path"], e["status"]) for e in log] == [("/items/0011", 500)]
    assert started - 1 <= log[0]["time"] <= time.time()
