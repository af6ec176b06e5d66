"""A recording HTTP proxy on 127.0.0.1 in front of a real Elasticsearch cluster (for the live parity suite).

The backend talks to the proxy; the proxy forwards each request unchanged to the cluster, returns the cluster's
answer unchanged, and keeps a `Recorded` copy of the request, so the live suite can validate every request body the
backend sent against the specification, as the offline tests do with the protocol double.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
from es_double import Recorded

HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "proxy-authorization",
    "proxy-authenticate",
    "host",
    "content-length",
}


class RecordingProxy:
    def __init__(self, upstream: str, *, verify: bool | str = True) -> None:
        split = urlsplit(upstream)
        self.upstream = f"{split.scheme}://{split.hostname}:{split.port or (443 if split.scheme == 'https' else 80)}"
        auth = (split.username, split.password or "") if split.username else None
        self.requests: list[Recorded] = []
        self._client = httpx.Client(base_url=self.upstream, auth=auth, verify=verify, timeout=120)
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, name="es-proxy", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> RecordingProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._client.close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _forward(self) -> None:
                split = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                recorded = Recorded(
                    self.command,
                    split.path,
                    dict(parse_qsl(split.query, keep_blank_values=True)),
                    {k.lower(): v for k, v in headers.items()},
                    raw,
                )
                if raw:
                    if "ndjson" in recorded.headers.get("content-type", ""):
                        recorded.lines = [json.loads(line) for line in raw.split(b"\n") if line.strip()]
                    else:
                        recorded.json = json.loads(raw)
                with proxy._lock:
                    proxy.requests.append(recorded)
                answer = proxy._client.request(self.command, self.path, content=raw or None, headers=headers)
                recorded.status = answer.status_code
                body = answer.content
                self.send_response(answer.status_code)
                for name, value in answer.headers.items():
                    if name.lower() not in HOP_BY_HOP and name.lower() != "content-encoding":
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _forward

        return Handler
