"""The load benchmark's hand-written HTTP/1.1 client (`bench.search_load`): it reads what uvicorn sends (lengths and
chunks, keep-alive, `Connection: close`), and a short closed loop against the real service counts every request, the
matches of every query as the Python API finds them, and no errors."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import pytest
import uvicorn
from lakes import generated_lake

from bench.search_load import QUERIES, RawHttpConnection, closed_loop, free_port, mix_query
from dmlake.lake import Lake
from portal.app import create_app

T = TypeVar("T")


def run_alone(coroutine: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run` in a thread of its own: the browser tests' Playwright session, when this worker ran them first,
    leaves an event loop running in the main thread, where `asyncio.run` refuses to start."""
    with ThreadPoolExecutor(max_workers=1) as thread:
        return thread.submit(asyncio.run, coroutine).result()


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lake]:
    with generated_lake(tmp_path_factory.mktemp("load-client-home"), 500, seed=2) as the_lake:
        yield the_lake


@pytest.fixture(scope="module")
def service(lake: Lake) -> Iterator[int]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(lake), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        threading.Event().wait(0.05)
    assert server.started, "uvicorn did not start"
    yield port
    server.should_exit = True
    thread.join(timeout=10)


def python_total(lake: Lake, params: dict[str, Any]) -> int:
    return lake.search(mix_query(params)).total


def test_a_short_closed_loop_counts_every_answer(service: int, lake: Lake) -> None:
    result = run_alone(closed_loop("127.0.0.1", service, clients=4, duration=1.5))
    assert result["errors"] == 0, result["first_errors"]
    assert result["requests"] == sum(row["requests"] for row in result["per_query"]) > len(QUERIES)
    assert [row["matches"] for row in result["per_query"]] == [python_total(lake, q) for q in QUERIES]
    assert 0 < result["p50_ms"] <= result["p95_ms"] <= result["p99_ms"]
    assert 0 < result["client_cpu_us_per_request"] < 5_000


def test_a_closed_loop_shorter_than_one_pass_still_asks_every_query(service: int, lake: Lake) -> None:
    result = run_alone(closed_loop("127.0.0.1", service, clients=3, duration=0.0))
    assert result["errors"] == 0, result["first_errors"]
    assert all(row["requests"] >= 1 for row in result["per_query"])
    assert [row["matches"] for row in result["per_query"]] == [python_total(lake, q) for q in QUERIES]


def test_refusals_are_counted_as_errors(service: int) -> None:
    async def ask() -> tuple[int, bytes]:
        connection = RawHttpConnection("127.0.0.1", service)
        try:
            request = f"GET /api/search?q=title%3A%28 HTTP/1.1\r\nHost: 127.0.0.1:{service}\r\n\r\n".encode()
            return await connection.get(request)
        finally:
            await connection.close()

    status, body = run_alone(ask())
    assert status == 400 and b'"parameter":"q"' in body


def test_chunked_answers_and_closed_connections_are_read() -> None:
    async def exchange() -> list[tuple[int, bytes]]:
        async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;x=y\r\n world\r\n0\r\n\r\n"
            )
            await reader.readuntil(b"\r\n\r\n")
            writer.write(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\nConnection: close\r\n\r\nbusy")
            await writer.drain()
            writer.close()

        server = await asyncio.start_server(answer, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        connection = RawHttpConnection("127.0.0.1", port)
        request = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
        answers = [await connection.get(request), await connection.get(request)]
        await connection.close()
        server.close()
        await server.wait_closed()
        return answers

    assert run_alone(exchange()) == [(200, b"hello world"), (503, b"busy")]
