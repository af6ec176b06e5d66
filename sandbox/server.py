"""Serve several replicas on 127.0.0.1, each on its own ephemeral port (each stands for a different host).

`start(replicas)` runs them on a background thread (tests, the demo, benchmarks); `run_daemon` runs them in the
foreground of a detached process started by `dmlake sandbox up`, which writes a state file (pid and URLs) that
`dmlake sandbox down` reads.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn

from sandbox.faults import quiet_injected_faults
from sandbox.replica import Replica
from sandbox.replicas import SERVICE_CLASSES


def _bind() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # accepted connections inherit this; without it every keep-alive response waits ~40 ms on Nagle + delayed ACK
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(512)
    sock.set_inheritable(True)
    return sock


@dataclass
class RunningSandbox:
    """Replicas being served: their URLs by source name, and how to stop them."""

    replicas: dict[str, Replica]
    urls: dict[str, str]
    _servers: list[uvicorn.Server] = field(default_factory=list, repr=False)
    _thread: threading.Thread | None = field(default=None, repr=False)

    def sources_toml(self, limits: Mapping[str, Mapping[str, Any]] | None = None) -> str:
        """The sources file naming these replicas; `limits` adds keys to a source's limits table (by source)."""
        return sources_toml(_described(self.replicas, self.urls), limits)

    def stop(self) -> None:
        for server in self._servers:
            server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)

    def __enter__(self) -> RunningSandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


SourceLine = tuple[str, str] | tuple[str, str, Mapping[str, Any]]
"""(kind, URL) or (kind, URL, connector options) of one source."""


LOCAL_LIMITS: Mapping[str, Any] = {"requests_per_minute": "unlimited"}
"""Every replica's limits: a replica on 127.0.0.1 is ours to load, and the polite default rates the sources file
gives a source without limits (Zenodo's 30/min, ...) would stretch a test harvest from seconds to hours."""


def sources_toml(sources: Mapping[str, SourceLine], limits: Mapping[str, Mapping[str, Any]] | None = None) -> str:
    """A sources file naming each replica (name → kind, URL, options), in the format `dmlake sources` reads; every
    source is unlimited unless `limits` (by source name) sets its `requests_per_minute`, plus any other limit keys."""
    unknown = sorted(set(limits or {}) - set(sources))
    if unknown:
        raise ValueError(f"limits for {', '.join(map(repr, unknown))}: no such replica; serving {', '.join(sources)}")
    lines = [
        "# Written by `dmlake sandbox up`: the local replicas of the portal APIs.",
        '# Their requests_per_minute is "unlimited" because they run on this machine; a source for a real portal',
        "# should leave it out (the polite default for its host or kind applies) or set a rate the portal allows.",
        "",
    ]
    for name, (kind, url, *rest) in sources.items():
        lines += [f"[sources.{name}]", f"kind = {_toml_value(kind)}", f"url = {_toml_value(url)}", ""]
        options: Mapping[str, Any] = rest[0] if rest else {}
        if options:
            lines.append(f"[sources.{name}.options]")
            lines += [f"{key} = {_toml_value(value)}" for key, value in options.items()]
            lines.append("")
        lines.append(f"[sources.{name}.limits]")
        table = {**LOCAL_LIMITS, **(limits or {}).get(name, {})}
        lines += [f"{key} = {_toml_value(value)}" for key, value in table.items()]
        lines.append("")
    return "\n".join(lines)


def _toml_value(value: Any) -> str:
    # JSON strings, numbers, booleans and flat arrays of them are valid TOML values; nothing richer is needed.
    if isinstance(value, str | bool | int | float) or (
        isinstance(value, list) and all(isinstance(item, str | bool | int | float) for item in value)
    ):
        return json.dumps(value)
    raise TypeError(f"sandbox source option of type {type(value).__name__} cannot be written to a sources file")


def _described(replicas: Mapping[str, Replica], urls: Mapping[str, str]) -> dict[str, SourceLine]:
    # replicas of services dmlake writes to (DataCite) are not sources: a harvest of them would fail
    return {
        name: (replica.kind, urls[name], replica.source_options())
        for name, replica in replicas.items()
        if replica.kind not in SERVICE_CLASSES
    }


def _prepare(replicas: Mapping[str, Replica]) -> tuple[list[uvicorn.Server], list[socket.socket], dict[str, str]]:
    quiet_injected_faults()
    servers, sockets, urls = [], [], {}
    for name, replica in replicas.items():
        sock = _bind()
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        replica.base_url = url
        urls[name] = url
        config = uvicorn.Config(
            replica.app(), lifespan="off", log_level="warning", access_log=False, timeout_keep_alive=30
        )
        servers.append(uvicorn.Server(config))
        sockets.append(sock)
    return servers, sockets, urls


async def _serve(servers: list[uvicorn.Server], sockets: list[socket.socket]) -> None:
    await asyncio.gather(*(server.serve(sockets=[sock]) for server, sock in zip(servers, sockets, strict=True)))


def start(replicas: Mapping[str, Replica]) -> RunningSandbox:
    """Serve replicas on a background thread; returns once every one accepts connections."""
    servers, sockets, urls = _prepare(replicas)
    thread = threading.Thread(target=lambda: asyncio.run(_serve(servers, sockets)), name="sandbox", daemon=True)
    thread.start()
    for server in servers:
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("the sandbox server thread stopped during start-up")
            threading.Event().wait(0.01)
    return RunningSandbox(dict(replicas), urls, servers, thread)


def run_daemon(replicas: Mapping[str, Replica], state_file: Path, sources_out: Path | None) -> None:
    """Serve in the foreground; write the state file once listening, remove it on exit."""
    servers, sockets, urls = _prepare(replicas)
    described = _described(replicas, urls)
    served = {name: {"kind": r.kind, "url": urls[name]} for name, r in replicas.items()}
    state = {
        "pid": os.getpid(),
        "sources": {name: info for name, info in served.items() if name in described},
        "services": {name: info for name, info in served.items() if name not in described},
        "sources_file": str(sources_out) if sources_out else None,
    }
    if sources_out is not None:
        sources_out.write_text(sources_toml(described))
    temporary = state_file.with_suffix(".tmp")
    temporary.write_text(json.dumps(state, indent=2))
    temporary.replace(state_file)
    try:
        asyncio.run(_serve(servers, sockets))
    finally:
        state_file.unlink(missing_ok=True)
