"""A test double for the Elasticsearch HTTP protocol: it records requests and answers as Elasticsearch documents.

What it is: an HTTP server on 127.0.0.1 that the official `elasticsearch` client talks to through its real
transport (so the requests it records are exactly the bytes a cluster would receive), answering each endpoint the
backend uses with a response shaped as the Elasticsearch documentation and OpenAPI specification describe it.

What it is not: a search engine. It keeps only protocol state (which indices exist, which aliases point where,
which points in time are open); it never stores documents, evaluates a query, ranks, sorts or aggregates. A search
answers "no hits" with empty facet buckets unless the test installs a `search` responder; a bulk request answers
"every operation applied" unless the test installs a `bulk` responder. Tests that need hits script them.

    with ElasticsearchDouble() as es:
        client = Elasticsearch(es.url)
        ...
        assert es.requests[0].path == "/_index_template/dmlake-records"
"""

from __future__ import annotations

import itertools
import json
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

VERSION = "8.17.0"

Answer = tuple[int, Any] | tuple[int, Any, dict[str, str]]
"""An HTTP status, a JSON body and optionally extra response headers (e.g. Retry-After)."""


@dataclass
class Recorded:
    """One request as the double received it."""

    method: str
    path: str
    params: dict[str, str]
    headers: dict[str, str]
    raw: bytes
    json: Any = None
    lines: list[Any] = field(default_factory=list)
    """For NDJSON (bulk) bodies: each line parsed."""
    status: int = 0
    response: Any = None
    """What the double answered."""

    @property
    def target(self) -> str:
        return self.path


def error_body(status: int, kind: str, reason: str, **extra: Any) -> dict[str, Any]:
    """An error response as Elasticsearch shapes it (`error.root_cause`, `type`, `reason`, `status`)."""
    cause = {"type": kind, "reason": reason, **extra}
    return {"error": {"root_cause": [cause], **cause}, "status": status}


def shards(total: int = 1) -> dict[str, int]:
    return {"total": total, "successful": total, "skipped": 0, "failed": 0}


def empty_search(body: Mapping[str, Any] | None) -> dict[str, Any]:
    """A search response with no hits, and an empty bucket list for each terms aggregation asked for."""
    response: dict[str, Any] = {
        "took": 1,
        "timed_out": False,
        "_shards": shards(),
        "hits": {"total": {"value": 0, "relation": "eq"}, "max_score": None, "hits": []},
    }
    aggregations = (body or {}).get("aggregations") or (body or {}).get("aggs")
    if aggregations:
        response["aggregations"] = {
            name: {"doc_count_error_upper_bound": 0, "sum_other_doc_count": 0, "buckets": []} for name in aggregations
        }
    if body and "pit" in body:
        response["pit_id"] = body["pit"]["id"]
    return response


def applied_bulk(lines: list[Any]) -> dict[str, Any]:
    """A bulk response in which every operation was applied."""
    items = []
    for action in lines_actions(lines):
        ((kind, meta),) = action.items()
        result = "deleted" if kind == "delete" else "created"
        status = 200 if kind == "delete" else 201
        items.append({kind: item_result(meta, status, result)})
    return {"took": 3, "errors": False, "items": items}


def item_result(meta: Mapping[str, Any], status: int, result: str | None = None, error: Any = None) -> dict[str, Any]:
    out: dict[str, Any] = {"_index": meta.get("_index", "unknown"), "_id": meta.get("_id", ""), "status": status}
    if error is not None:
        out["error"] = error
    else:
        out.update(
            {
                "_version": meta.get("version", 1),
                "result": result,
                "_shards": {"total": 1, "successful": 1, "failed": 0},
                "_seq_no": 0,
                "_primary_term": 1,
            }
        )
    return out


def lines_actions(lines: list[Any]) -> list[dict[str, Any]]:
    """The action lines of a bulk body (source lines skipped)."""
    actions = []
    iterator = iter(lines)
    for line in iterator:
        actions.append(line)
        (kind,) = line
        if kind in ("index", "create", "update"):
            next(iterator)
    return actions


class ElasticsearchDouble:
    """See the module doc. `search`, `bulk` and `count` may be replaced by responders taking the recorded request."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.failures: list[Exception] = []
        """Exceptions raised while answering (answered as 500s); `es_double` fixtures assert there are none."""
        self.indices: dict[str, dict[str, Any]] = {}
        self.aliases: dict[str, dict[str, dict[str, Any]]] = {}
        self.templates: dict[str, Any] = {}
        self.pits: set[str] = set()
        self.search: Callable[[Recorded], Answer] = lambda request: (200, empty_search(request.json))
        self.bulk: Callable[[Recorded], Answer] = lambda request: (200, applied_bulk(request.lines))
        self.count: Callable[[Recorded], Answer] = lambda request: (200, {"count": 0, "_shards": shards()})
        self._pit_numbers = itertools.count(1)
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, name="es-double", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> ElasticsearchDouble:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def clear(self) -> None:
        with self._lock:
            self.requests.clear()

    def of(self, method: str, pattern: str) -> list[Recorded]:
        """The recorded requests with this method whose path matches the regular expression."""
        return [r for r in self.requests if r.method == method and re.fullmatch(pattern, r.path)]

    def open_pit(self) -> str:
        pit = f"pit-{next(self._pit_numbers)}"
        self.pits.add(pit)
        return pit

    # ---- routing --------------------------------------------------------------------------------------------

    def answer(self, request: Recorded) -> Answer:
        method, path = request.method, request.path
        parts = [unquote(p) for p in path.split("/") if p]
        if parts and parts[-1] == "_bulk" and method in ("POST", "PUT"):
            return self.bulk(request)  # outside the lock: concurrent bulk requests stay concurrent
        with self._lock:
            if not parts:
                return 200, {
                    "name": "es-double",
                    "cluster_name": "dmlake-test",
                    "cluster_uuid": "double",
                    "version": {
                        "number": VERSION,
                        "build_flavor": "default",
                        "lucene_version": "9.12.0",
                        "minimum_wire_compatibility_version": "7.17.0",
                        "minimum_index_compatibility_version": "7.0.0",
                    },
                    "tagline": "You Know, for Search",
                }
            if parts[0] == "_index_template" and len(parts) == 2 and method == "PUT":
                self.templates[parts[1]] = request.json
                return 200, {"acknowledged": True}
            if parts[0] == "_index_template" and len(parts) == 2 and method == "DELETE":
                if self.templates.pop(parts[1], None) is None:
                    return 404, error_body(
                        404, "index_template_missing_exception", f"index_template [{parts[1]}] missing"
                    )
                return 200, {"acknowledged": True}
            if parts[0] == "_aliases" and method == "POST":
                return self._update_aliases(request.json)
            if parts[0] == "_alias" and len(parts) == 2 and method in ("GET", "HEAD"):
                return self._get_alias(parts[1])
            if parts == ["_pit"] and method == "DELETE":
                pit = (request.json or {}).get("id")
                freed = 1 if pit in self.pits else 0
                self.pits.discard(pit)
                return (200 if freed else 404), {"succeeded": True, "num_freed": freed}
            if parts[-1] == "_search" and method in ("GET", "POST"):
                return self._search(request, parts)
            if parts[-1] == "_pit" and len(parts) == 2 and method == "POST":
                if not self._resolve(parts[0]):
                    return 404, error_body(
                        404, "index_not_found_exception", f"no such index [{parts[0]}]", index=parts[0]
                    )
                return 200, {"id": self.open_pit(), "_shards": shards()}
            if parts[-1] == "_refresh" and method in ("GET", "POST"):
                return 200, {"_shards": shards()}
            if parts[-1] == "_count" and method in ("GET", "POST"):
                if len(parts) > 1 and not self._resolve(parts[0]):
                    return 404, error_body(
                        404, "index_not_found_exception", f"no such index [{parts[0]}]", index=parts[0]
                    )
                return self.count(request)
            if len(parts) == 1 and method == "PUT":
                return self._create_index(parts[0], request.json)
            if len(parts) == 1 and method == "DELETE":
                return self._delete_index(parts[0], request.params)
        return 400, error_body(400, "illegal_argument_exception", f"the double has no route for {method} {path}")

    def _resolve(self, target: str) -> list[str]:
        names = []
        for name in target.split(","):
            if name in self.indices:
                names.append(name)
            else:
                names.extend(index for index, aliases in self.aliases.items() if name in aliases)
        return names

    def _search(self, request: Recorded, parts: list[str]) -> Answer:
        body = request.json or {}
        if "pit" in body:
            if len(parts) > 1:
                return 400, error_body(
                    400,
                    "action_request_validation_exception",
                    "Validation Failed: 1: [indices] cannot be used with point in time;",
                )
            if body["pit"]["id"] not in self.pits:
                return 404, error_body(
                    404, "search_context_missing_exception", f"No search context found for id [{body['pit']['id']}]"
                )
        elif len(parts) > 1 and not self._resolve(parts[0]):
            return 404, error_body(404, "index_not_found_exception", f"no such index [{parts[0]}]", index=parts[0])
        return self.search(request)

    def _create_index(self, name: str, body: Any) -> Answer:
        if name in self.indices:
            return 400, error_body(
                400, "resource_already_exists_exception", f"index [{name}] already exists", index=name
            )
        self.indices[name] = body or {}
        self.aliases[name] = {}
        return 200, {"acknowledged": True, "shards_acknowledged": True, "index": name}

    def _delete_index(self, target: str, params: Mapping[str, str]) -> Answer:
        names = [n for n in target.split(",") if n in self.indices]
        missing = [n for n in target.split(",") if n not in self.indices]
        if missing and params.get("ignore_unavailable") != "true":
            return 404, error_body(404, "index_not_found_exception", f"no such index [{missing[0]}]", index=missing[0])
        for name in names:
            del self.indices[name]
            self.aliases.pop(name, None)
        return 200, {"acknowledged": True}

    def _get_alias(self, alias: str) -> Answer:
        found = {
            index: {"aliases": {alias: aliases[alias]}} for index, aliases in self.aliases.items() if alias in aliases
        }
        if not found:
            return 404, {"error": f"alias [{alias}] missing", "status": 404}
        return 200, found

    def _update_aliases(self, body: Any) -> Answer:
        staged = {index: dict(aliases) for index, aliases in self.aliases.items()}
        for action in (body or {}).get("actions", []):
            ((kind, spec),) = action.items()
            index, alias = spec.get("index"), spec.get("alias")
            if index not in staged:
                return 404, error_body(404, "index_not_found_exception", f"no such index [{index}]", index=index)
            if kind == "add":
                staged[index][alias] = {k: v for k, v in spec.items() if k not in ("index", "alias")}
            elif kind == "remove":
                if alias not in staged[index]:
                    return 404, error_body(404, "aliases_not_found_exception", f"aliases [{alias}] missing")
                del staged[index][alias]
        self.aliases = staged  # all actions or none: the swap is atomic
        return 200, {"acknowledged": True}

    # ---- HTTP -----------------------------------------------------------------------------------------------

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        double = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                split = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                request = Recorded(
                    method=self.command,
                    path=split.path,
                    params=dict(parse_qsl(split.query, keep_blank_values=True)),
                    headers={k.lower(): v for k, v in self.headers.items()},
                    raw=raw,
                )
                if raw:
                    if "ndjson" in request.headers.get("content-type", ""):
                        request.lines = [json.loads(line) for line in raw.split(b"\n") if line.strip()]
                    else:
                        request.json = json.loads(raw)
                with double._lock:
                    double.requests.append(request)
                try:
                    status, body, *more = double.answer(request)
                except Exception as error:  # a responder's bug must fail the test, not hang up on the client
                    double.failures.append(error)
                    status, body, more = 500, error_body(500, "double_failure", repr(error)), []
                request.status, request.response = status, body
                extra_headers: dict[str, str] = more[0] if more else {}
                payload = b"" if self.command == "HEAD" else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/vnd.elasticsearch+json;compatible-with=8")
                self.send_header("X-Elastic-Product", "Elasticsearch")
                for name, value in extra_headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _serve

        return Handler
