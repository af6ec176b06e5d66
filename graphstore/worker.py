"""A SPARQL worker process: answers queries over a read-only snapshot of the graph, one at a time.

    serve(sys.stdin.buffer, sys.stdout.buffer)   # started and spoken to by `graphstore.timed.QueryRunner`

Oxigraph cannot stop a query once it runs, so a query with a time limit runs here, in a process of its own that
can be killed when the limit passes; the service's process and its store are never touched by it. The worker opens
the snapshot it is sent (a RocksDB checkpoint of the store, read-only, so several workers share one) and keeps it
open for the next query on the same snapshot.

Messages are length-prefixed: a request is one JSON object (`snapshot`, `query`, `format`, `accept`); an answer is
a JSON header (`ok`, `media_type` or `error` and `message`) followed by the body.
"""

from __future__ import annotations

import struct
from typing import IO, Any

import orjson
import pyoxigraph as ox

from graphstore.answers import UnknownAnswerFormat, pick_format, serialize

_LENGTH = struct.Struct(">Q")


def write_message(stream: IO[bytes], data: bytes) -> None:
    stream.write(_LENGTH.pack(len(data)))
    stream.write(data)


def read_message(stream: IO[bytes]) -> bytes | None:
    """The next message, or None when the other side has closed the stream."""
    head = _read_exactly(stream, _LENGTH.size)
    if head is None:
        return None
    body = _read_exactly(stream, _LENGTH.unpack(head)[0])
    if body is None:
        raise EOFError("the stream ended inside a message")
    return body


def _read_exactly(stream: IO[bytes], size: int) -> bytes | None:
    chunks: list[bytes] = []
    left = size
    while left:
        chunk = stream.read(left)
        if not chunk:
            if left == size:
                return None
            raise EOFError("the stream ended inside a message")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def answer(store: ox.Store, request: dict[str, Any]) -> tuple[dict[str, Any], bytes]:
    prefixes: dict[str, str] = request.get("prefixes") or {}
    try:
        result = store.query(request["query"], prefixes=prefixes, use_default_graph_as_union=True)
        reply = serialize(result, pick_format(result, request.get("format"), request.get("accept")))
    except SyntaxError as error:
        return {"ok": False, "error": "sparql", "message": f"not a SPARQL 1.1 query: {error}"}, b""
    except UnknownAnswerFormat as error:
        return {"ok": False, "error": "format", "message": str(error)}, b""
    except (OSError, RuntimeError, ValueError) as error:
        return {"ok": False, "error": "failed", "message": f"{type(error).__name__}: {error}"}, b""
    return {"ok": True, "media_type": reply.media_type}, reply.body


def serve(requests: IO[bytes], answers: IO[bytes]) -> None:
    opened: tuple[str, ox.Store] | None = None
    while (message := read_message(requests)) is not None:
        request = orjson.loads(message)
        if opened is None or opened[0] != request["snapshot"]:
            opened = None  # the previous snapshot's store closes before the next opens
            opened = (request["snapshot"], ox.Store.read_only(request["snapshot"]))
        header, body = answer(opened[1], request)
        write_message(answers, orjson.dumps(header))
        write_message(answers, body)
        answers.flush()
