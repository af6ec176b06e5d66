"""Fetching a record's files for the web page's plots: through the project's HTTP client, with a size cap, checked
against the record's checksum, and cached under the lake's home (`<home>/cache/files/`).

The cap holds even when a server sends no Content-Length or a wrong one: the client's transport counts the bytes
as they arrive and stops at the cap. A file whose record gives a checksum is cached for good (its bytes cannot
change without the checksum changing); one without is fetched again after a day.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote, urlsplit

import httpx

from connectors.base import Limits
from connectors.http import HttpClient, HttpError, polite_limits
from ontology.model import Distribution

MAX_BYTES = 25 * 1024 * 1024
"""The largest file the page fetches to plot: a table bigger than this is for an analysis, not a page."""
UNCHECKED_TTL = 24 * 3600.0
"""Seconds a file without a checksum in its record stays cached."""
FETCH_LIMITS = Limits(concurrency=2, timeout=30.0, max_retries=2)
"""A person is waiting for the page: a few quick retries, not a harvest's patience."""


class FileUnavailable(Exception):
    """A file the page cannot plot from: too large, unreachable, refused, or not what the record says it is."""


class _TooLarge(HttpError):
    pass


class _CappedStream(httpx.SyncByteStream):
    def __init__(self, inner: httpx.SyncByteStream, url: str, cap: int) -> None:
        self._inner = inner
        self._url = url
        self._cap = cap

    def __iter__(self) -> Iterator[bytes]:
        received = 0
        for chunk in self._inner:
            received += len(chunk)
            if received > self._cap:
                raise _TooLarge(self._url, f"the file is larger than {self._cap:,} bytes")
            yield chunk

    def close(self) -> None:
        self._inner.close()


class CappedTransport(httpx.BaseTransport):
    """An httpx transport that refuses bodies over `cap` bytes: by Content-Length at once, else while reading."""

    def __init__(self, cap: int, inner: httpx.BaseTransport | None = None) -> None:
        self.cap = cap
        self._inner = inner or httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self._inner.handle_request(request)
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.cap:
            response.close()
            raise _TooLarge(str(request.url), f"the file is {int(declared):,} bytes, over {self.cap:,}")
        if isinstance(response.stream, httpx.SyncByteStream):
            response.stream = _CappedStream(response.stream, str(request.url), self.cap)
        return response

    def close(self) -> None:
        self._inner.close()


class FileCache:
    """Files of records by download URL, fetched once (see the module's description)."""

    def __init__(
        self, directory: Path, *, max_bytes: int = MAX_BYTES, transport: httpx.BaseTransport | None = None
    ) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        self._transport = transport
        self._client: HttpClient | None = None
        self._hosts: set[str] = set()
        self._lock = threading.Lock()

    @property
    def client(self) -> HttpClient:
        with self._lock:
            if self._client is None:
                self._client = HttpClient(FETCH_LIMITS, transport=CappedTransport(self.max_bytes, self._transport))
            return self._client

    def fetch(self, file: Distribution) -> bytes:
        """The file's bytes, from the cache or its download URL. Raises `FileUnavailable` saying why."""
        url = best_url(file)
        if not url:
            raise FileUnavailable(f"{file.name} has no download URL in the record")
        if url.startswith("file://"):
            return self._read_local(file, url)
        if not url.startswith(("http://", "https://")):
            raise FileUnavailable(f"{file.name} is served over {url.split(':', 1)[0]}, which the page cannot fetch")
        if file.size_bytes is not None and file.size_bytes > self.max_bytes:
            raise FileUnavailable(
                f"{file.name} is {human_size(file.size_bytes)}; the page plots files of up to "
                f"{human_size(self.max_bytes)} (download it and open it with xarray)"
            )
        path = self.directory / hashlib.sha256(f"{url}\n{file.checksum or ''}".encode()).hexdigest()
        if path.exists() and (file.checksum is not None or time.time() - path.stat().st_mtime < UNCHECKED_TTL):
            return path.read_bytes()
        data = self._download(url, file.name)
        _verify(file, data, f"as downloaded from {url}")
        self.directory.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.part")
        partial.write_bytes(data)
        partial.replace(path)
        return data

    def _read_local(self, file: Distribution, url: str) -> bytes:
        """A replica on this machine (`file://`): read in place, never copied into the cache, checked all the same."""
        path = Path(unquote(urlsplit(url).path))
        try:
            size = path.stat().st_size
            if size > self.max_bytes:
                raise FileUnavailable(
                    f"{file.name} is {human_size(size)}; files of up to {human_size(self.max_bytes)} are read"
                )
            data = path.read_bytes()
        except OSError as error:
            raise FileUnavailable(f"{file.name} could not be read from its local replica {path}: {error}") from None
        _verify(file, data, f"read from its local replica {path}")
        return data

    def _download(self, url: str, name: str) -> bytes:
        host = httpx.URL(url).host
        client = self.client
        with self._lock:
            if host not in self._hosts:
                client.set_host_limits(url, polite_limits("", FETCH_LIMITS, url))
                self._hosts.add(host)
        try:
            return client.get(url).content
        except _TooLarge as error:
            raise FileUnavailable(
                f"{name} is larger than {human_size(self.max_bytes)}, the most the page plots ({error.message})"
            ) from None
        except HttpError as error:
            raise FileUnavailable(f"{name} could not be fetched: {error}") from None
        except httpx.HTTPError as error:
            raise FileUnavailable(f"{name} could not be fetched from {url}: {error}") from None

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None


READY_REPLICA_STATES = ("available", "online", "ok", "complete", "done", "active")
"""Replica states (as replication services spell them) meaning the copy can be read now."""


def best_url(file: Distribution) -> str | None:
    """Where to read a file from: a local (`file://`) replica that exists, else an available replica, else the
    record's download URL, else its access URL. Replicas are what replication knows; the download URL is what the
    source publishes, so a ready replica nearer to the reader wins."""
    for replica in file.replicas:
        if replica.url and replica.url.startswith("file://") and Path(unquote(urlsplit(replica.url).path)).is_file():
            return replica.url
    for replica in file.replicas:
        ready = replica.state.strip().lower() in READY_REPLICA_STATES
        if ready and replica.url and replica.url.startswith(("http://", "https://")):
            return replica.url
    return file.url or file.access_url


def checksum_of(data: bytes, algorithm: str) -> str:
    """The hex digest of `data` in `algorithm` (one of the model's: adler32, md5, sha1, sha256, sha512)."""
    if algorithm == "adler32":
        return f"{zlib.adler32(data):08x}"
    return hashlib.new(algorithm, data).hexdigest()


def _verify(file: Distribution, data: bytes, how: str) -> None:
    if file.checksum is None or _matches(data, file.checksum.algorithm, file.checksum.value):
        return
    actual = checksum_of(data, file.checksum.algorithm)
    raise FileUnavailable(
        f"{file.name} {how} does not match the record's checksum {file.checksum}: its bytes have "
        f"{file.checksum.algorithm}:{actual}. The file changed at its source, or the transfer was corrupted; "
        "nothing was cached"
    )


def _matches(data: bytes, algorithm: str, expected: str) -> bool:
    if algorithm == "adler32":
        return f"{zlib.adler32(data):08x}" == expected.rjust(8, "0")
    return hashlib.new(algorithm, data).hexdigest() == expected


def human_size(size: int | None) -> str:
    """Bytes in the units people read: `18.2 kB`, `1.3 GB` (SI, as the portals show them)."""
    if size is None:
        return ""
    if size < 1000:
        return f"{size} B"
    value = float(size)
    for unit in ("kB", "MB", "GB", "TB", "PB"):
        value /= 1000
        if value < 999.95 or unit == "PB":
            return f"{value:.1f} {unit}"
    return f"{size} B"  # unreachable: the loop ends at PB
