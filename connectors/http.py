"""The one HTTP client every connector uses.

It retries what is worth retrying (connection errors and resets, timeouts, truncated bodies, bodies that do not
parse as the JSON or XML asked for, 429 and 5xx) with exponential backoff and full jitter, honours `Retry-After`
(holding back every request to that host, not only the one refused), limits the request rate and the requests in
flight per host, sends a User-Agent naming dmlake and a contact address, does conditional GET on request
(`get_conditional`: ETag and Last-Modified validators, a 304 becomes `NotModified`), and counts what it did so a
run report can say so.
"""

from __future__ import annotations

import copy
import email.utils
import importlib.metadata
import logging
import os
import random
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit

import httpx
import orjson
from lxml import etree
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
)

from connectors import xmlsafe
from connectors.base import Limits

log = logging.getLogger(__name__)

DEFAULT_CONTACT = "dmlake-admin@localhost"
PROJECT_URL = "https://github.com/dmlake/dmlake"


def _version() -> str:
    try:
        return importlib.metadata.version("dmlake")
    except importlib.metadata.PackageNotFoundError:  # running from a source tree that was never installed
        return "0+unknown"


VERSION = _version()
USER_AGENT = f"dmlake/{VERSION} (+{PROJECT_URL}; mailto:{{contact}})"
"""Format with `contact=`: sent with every request, so a portal's operators know who calls and how to reach them."""

POLITE_REQUESTS_PER_MINUTE: dict[str, float] = {
    "zenodo": 30,
    "gitlab": 600,
    "hepdata": 60,
    "cernopendata": 60,
}
"""Default request rates per connector kind, for sources whose limits set none (Zenodo's guest search limit is
30/min; GitLab.com allows 2,000/min to authenticated API users, 600 leaves room for others; HEPData and CERN Open
Data publish no limit: one a second)."""

POLITE_REQUESTS_PER_MINUTE_BY_HOST: dict[str, float] = {
    "zenodo.org": 30,
    "opendata.cern.ch": 60,
    "www.hepdata.net": 60,
    "hepdata.net": 60,
    "gitlab.com": 600,
}
"""The same per real host, so a portal reached through another kind (Zenodo or CERN over OAI-PMH) is as safe."""


def polite_limits(kind: str, limits: Limits | None = None, url: str | None = None) -> Limits:
    """`limits` (or the defaults) with a default request rate where none is set: the host's, else the kind's."""
    limits = limits or Limits()
    if limits.requests_per_minute is not None:
        return limits
    host = (urlsplit(url).hostname or "") if url else ""
    rate = POLITE_REQUESTS_PER_MINUTE_BY_HOST.get(host, POLITE_REQUESTS_PER_MINUTE.get(kind))
    return limits if rate is None else replace(limits, requests_per_minute=rate)


T = TypeVar("T")
R = TypeVar("R")


class HttpError(Exception):
    """A request that failed for good: names the URL, the status and what the server said."""

    def __init__(self, url: str, message: str, status: int | None = None, retryable: bool = False) -> None:
        where = f"HTTP {status} " if status is not None else ""
        super().__init__(f"{where}{url}: {message}")
        self.url = url
        self.status = status
        self.retryable = retryable
        self.message = message


class _RetryableStatus(HttpError):
    def __init__(self, response: httpx.Response) -> None:
        super().__init__(str(response.request.url), _short_body(response), response.status_code, retryable=True)
        self.retry_after = _retry_after_seconds(response.headers.get("retry-after"))


class MalformedBody(HttpError):
    """A 200 whose body does not parse: usually a body cut short or mangled in transit, so it is retried."""


def _short_body(response: httpx.Response) -> str:
    text = response.text.strip().replace("\n", " ")
    return text[:300] or response.reason_phrase


def _retry_after_seconds(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when.timestamp() - time.time())


# -- XML ----------------------------------------------------------------------------------------------------------
def parse_xml(data: bytes, what: str) -> etree._Element:
    """Parse an XML body safely (no entities, no DTD, no network): `connectors.xmlsafe.parse_xml`."""
    return xmlsafe.parse_xml(data, what)


# -- conditional GET ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Validators:
    """What a server said identifies the version of an answer: its ETag and its Last-Modified date (as sent)."""

    etag: str | None = None
    last_modified: str | None = None

    @classmethod
    def of(cls, response: httpx.Response) -> Validators | None:
        etag, modified = response.headers.get("etag"), response.headers.get("last-modified")
        return cls(etag, modified) if etag or modified else None

    def headers(self) -> dict[str, str]:
        """The conditional request headers: If-None-Match when there is an ETag (it wins), else If-Modified-Since."""
        if self.etag:
            return {"If-None-Match": self.etag}
        if self.last_modified:
            return {"If-Modified-Since": self.last_modified}
        return {}

    def to_state(self) -> dict[str, str]:
        """A JSON-able form, for callers that keep validators across runs (in a checkpoint, say)."""
        return {k: v for k, v in (("etag", self.etag), ("last_modified", self.last_modified)) if v}

    @classmethod
    def from_state(cls, state: Mapping[str, str]) -> Validators:
        return cls(state.get("etag"), state.get("last_modified"))


@dataclass(frozen=True)
class Fetched:
    """A conditional GET that got a full answer: the response, its parsed body (if asked for) and its validators."""

    response: httpx.Response
    body: Any
    validators: Validators | None


@dataclass(frozen=True)
class NotModified:
    """A conditional GET answered 304: what the caller had for `url` is still current."""

    url: str
    validators: Validators
    response: httpx.Response


class ValidatorCache:
    """The validators last seen per URL (with its query string), least recently used dropped past `size`."""

    def __init__(self, size: int = 100_000) -> None:
        self.size = size
        self._entries: OrderedDict[str, Validators] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, url: str) -> Validators | None:
        with self._lock:
            found = self._entries.get(url)
            if found is not None:
                self._entries.move_to_end(url)
            return found

    def put(self, url: str, validators: Validators | None) -> None:
        with self._lock:
            if validators is None:
                self._entries.pop(url, None)
                return
            self._entries[url] = validators
            self._entries.move_to_end(url)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)


def _full_url(url: str, params: Mapping[str, Any] | None) -> str:
    return str(httpx.URL(url, params=params)) if params else url


# -- politeness ---------------------------------------------------------------------------------------------------
@dataclass
class RequestStats:
    """What the client did; read by the harvester for the run report."""

    requests: int = 0
    retries: int = 0
    by_status: Counter[int] = field(default_factory=Counter)
    waited_seconds: float = 0.0
    not_modified: int = 0
    retried_because: Counter[str] = field(default_factory=Counter)
    """Retries by cause: `HTTP 503`, `ReadTimeout`, `RemoteProtocolError`, `malformed JSON`, ..."""


class _HostGate:
    """Per-host politeness: a token bucket for the request rate, a semaphore for requests in flight, and a hold
    that keeps every request to the host back while a server's `Retry-After` runs."""

    def __init__(self, limits: Limits, clock: Callable[[], float] = time.monotonic) -> None:
        self.in_flight = threading.BoundedSemaphore(max(1, limits.concurrency))
        self.interval = 60.0 / limits.requests_per_minute if limits.requests_per_minute else 0.0
        self._clock = clock
        self._next_slot = 0.0
        self._lock = threading.Lock()

    def wait_turn(self, sleep: Callable[[float], None]) -> float:
        with self._lock:
            now = self._clock()
            slot = max(now, self._next_slot)
            self._next_slot = slot + self.interval
        delay = slot - now
        if delay > 0:
            sleep(delay)
        return delay

    def hold(self, seconds: float) -> None:
        """No request to this host starts in the next `seconds` (a 429 or 503 with Retry-After)."""
        with self._lock:
            self._next_slot = max(self._next_slot, self._clock() + seconds)


class HttpClient:
    """A polite, retrying HTTP client shared by all connectors of a harvest."""

    def __init__(
        self,
        limits: Limits | None = None,
        *,
        contact: str | None = None,
        max_backoff: float = 60.0,
        max_retry_after: float = 600.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        transport: httpx.BaseTransport | None = None,
        headers: Mapping[str, str] | None = None,
        validator_cache: ValidatorCache | None = None,
    ) -> None:
        self.limits = limits or Limits()
        contact = contact or os.environ.get("DMLAKE_CONTACT", DEFAULT_CONTACT)
        self._client = httpx.Client(
            timeout=httpx.Timeout(self.limits.timeout),
            headers={"User-Agent": USER_AGENT.format(contact=contact), **(headers or {})},
            follow_redirects=True,
            transport=transport,
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=32),
        )
        self.max_backoff = max_backoff
        self.max_retry_after = max_retry_after
        """A server asking for a longer pause than this is not waited for: the request fails, saying so."""
        self._sleep = sleep
        self._clock = clock
        self._gates: dict[str, _HostGate] = {}
        self._host_limits: dict[str, Limits] = {}
        self._gates_lock = threading.Lock()
        self.stats = RequestStats()
        self._stats_lock = threading.Lock()
        self.validators = validator_cache if validator_cache is not None else ValidatorCache()
        """Validators seen by `get_conditional`, per URL: used when the caller gives none."""

    @property
    def user_agent(self) -> str:
        return str(self._client.headers["user-agent"])

    # -- configuration ---------------------------------------------------------------------------------------
    def set_host_limits(self, url: str, limits: Limits) -> None:
        """Apply a source's limits to its host (the strictest source of a shared host wins)."""
        host = urlsplit(url).netloc
        with self._gates_lock:
            current = self._host_limits.get(host)
            if current is not None:
                limits = Limits(
                    requests_per_minute=_min_optional(current.requests_per_minute, limits.requests_per_minute),
                    concurrency=min(current.concurrency, limits.concurrency),
                    timeout=max(current.timeout, limits.timeout),
                    max_retries=max(current.max_retries, limits.max_retries),
                )
                if limits == current:
                    # the same limits again (each run of a source sets them): keep the gate, with its requests in
                    # flight and its next free slot, or a second source on the host would start with a fresh budget
                    return
            self._host_limits[host] = limits
            self._gates[host] = _HostGate(limits, self._clock)

    def for_job(self) -> HttpClient:
        """This client with request counts of its own: concurrent harvests in one process (the scheduler) share its
        connections, per-host gates and limits, and validators, and each run still counts only its own requests.
        Close the client it came from, never the view."""
        view = copy.copy(self)
        view.stats = RequestStats()
        view._stats_lock = threading.Lock()
        return view

    def _gate(self, url: str) -> tuple[_HostGate, Limits]:
        host = urlsplit(url).netloc
        with self._gates_lock:
            gate = self._gates.get(host)
            if gate is None:
                gate = self._gates[host] = _HostGate(self.limits, self._clock)
            return gate, self._host_limits.get(host, self.limits)

    # -- requests --------------------------------------------------------------------------------------------
    def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        ok_statuses: Iterable[int] = (),
        json_body: Any = None,
        auth: tuple[str, str] | None = None,
    ) -> httpx.Response:
        """Send a request with retries. Returns 2xx responses and those in `ok_statuses`; raises `HttpError`."""
        return self._send(method, url, params, headers, set(ok_statuses), json_body, auth, parse=None)[0]

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def get_json(
        self,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        ok_statuses: Iterable[int] = (),
    ) -> Any:
        """GET and parse JSON; a body that does not parse is retried as a transfer cut short."""
        return self._send("GET", url, params, headers, set(ok_statuses), None, None, parse=_parse_json)[1]

    def get_json_response(
        self,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        ok_statuses: Iterable[int] = (),
        headers: Mapping[str, str] | None = None,
        parse: Callable[[bytes, str], Any] | None = None,
    ) -> tuple[httpx.Response, Any]:
        """GET and parse JSON, returning the response too (for its headers and status). `parse(body, url)` reads
        the body instead of a plain JSON parse; its `ValueError` is a body that does not parse, and is retried."""
        return self._send("GET", url, params, headers, set(ok_statuses), None, None, parse=parse or _parse_json)

    def get_xml(
        self,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        ok_statuses: Iterable[int] = (),
    ) -> etree._Element:
        """GET and parse XML safely (no entities, DTDs or network); a body that does not parse is retried."""
        return self._send("GET", url, params, headers, set(ok_statuses), None, None, parse=_parse_xml_body)[1]

    def get_xml_response(
        self,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        ok_statuses: Iterable[int] = (),
    ) -> tuple[httpx.Response, etree._Element | None]:
        """GET and parse XML, returning the response too; the element is None for an accepted non-2xx status."""
        return self._send("GET", url, params, headers, set(ok_statuses), None, None, parse=_parse_xml_body)

    def get_conditional(
        self,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        validators: Validators | None = None,
        parse: Literal["json", "xml"] | None = None,
        ok_statuses: Iterable[int] = (),
    ) -> Fetched | NotModified:
        """A conditional GET: sends If-None-Match / If-Modified-Since from `validators`, or from the validators this
        client last saw for the same URL and parameters. A 304 is returned as `NotModified` (the caller keeps what
        it has); anything else as `Fetched`, its body parsed as `parse` asks (retried when it does not parse)."""
        key = _full_url(url, params)
        known = validators if validators is not None else self.validators.get(key)
        sent = {**(known.headers() if known else {}), **(headers or {})}
        parser = {"json": _parse_json, "xml": _parse_xml_body, None: None}[parse]
        response, body = self._send("GET", url, params, sent, {304, *ok_statuses}, None, None, parse=parser)
        if response.status_code == 304:
            with self._stats_lock:
                self.stats.not_modified += 1
            fresh = Validators.of(response)
            current = Validators(
                (fresh.etag if fresh else None) or (known.etag if known else None),
                (fresh.last_modified if fresh else None) or (known.last_modified if known else None),
            )
            self.validators.put(key, current)
            return NotModified(str(response.request.url), current, response)
        seen = Validators.of(response) if response.is_success else None
        if response.is_success:
            self.validators.put(key, seen)
        return Fetched(response, body, seen)

    def _send(
        self,
        method: str,
        url: str,
        params: Mapping[str, Any] | None,
        headers: Mapping[str, str] | None,
        accepted: set[int],
        json_body: Any,
        auth: tuple[str, str] | None,
        parse: Callable[[bytes, str], Any] | None,
    ) -> tuple[httpx.Response, Any]:
        gate, limits = self._gate(url)

        def attempt() -> tuple[httpx.Response, Any]:
            with gate.in_flight:
                waited = gate.wait_turn(self._sleep)
                try:
                    response = self._client.request(
                        method,
                        url,
                        params=params,
                        headers=headers,
                        json=json_body,
                        auth=auth,
                        timeout=limits.timeout,  # the source's own, not the client's default
                    )
                except httpx.TransportError as error:
                    self._count(None, waited)
                    raise HttpError(url, f"{type(error).__name__}: {error}", retryable=True) from error
            self._count(response.status_code, waited)
            status = response.status_code
            if (status == 429 or status >= 500) and status not in accepted:
                refused = _RetryableStatus(response)
                if refused.retry_after is not None:
                    if refused.retry_after > self.max_retry_after:
                        refused.retryable = False
                        refused.args = (
                            f"{refused}; the server asks to wait {refused.retry_after:.0f} s (Retry-After), "
                            f"longer than this client waits ({self.max_retry_after:.0f} s): try again later",
                        )
                    else:
                        gate.hold(refused.retry_after)
                raise refused
            if not (response.is_success or status in accepted):
                raise HttpError(str(response.request.url), _short_body(response), status)
            if parse is None or not response.is_success:
                return response, None
            where = str(response.request.url)
            try:
                return response, parse(response.content, where)
            except ValueError as error:
                raise MalformedBody(where, f"body does not parse ({error}); retrying", retryable=True) from error

        return self._retrying(limits, attempt)

    def download(
        self,
        url: str,
        sink: Callable[[], Any],
        *,
        headers: Mapping[str, str] | None = None,
        chunk_size: int = 1 << 20,
    ) -> int:
        """Stream a body into a binary file without holding it in memory (large data files), with the same gates
        and retries as every request. `sink()` returns the file to write, called afresh for each attempt (a retry
        starts the file over: open it with "wb"). Returns the bytes written; a body cut short is retried."""
        gate, limits = self._gate(url)

        def attempt() -> int:
            with gate.in_flight:
                waited = gate.wait_turn(self._sleep)
                try:
                    with self._client.stream("GET", url, headers=headers, timeout=limits.timeout) as response:
                        self._count(response.status_code, waited)
                        status = response.status_code
                        if status == 429 or status >= 500:
                            response.read()
                            refused = _RetryableStatus(response)
                            if refused.retry_after is not None and refused.retry_after <= self.max_retry_after:
                                gate.hold(refused.retry_after)
                            raise refused
                        if not response.is_success:
                            response.read()
                            raise HttpError(str(response.request.url), _short_body(response), status)
                        written = 0
                        with sink() as out:
                            for chunk in response.iter_bytes(chunk_size):
                                out.write(chunk)
                                written += len(chunk)
                        return written
                except httpx.TransportError as error:
                    raise HttpError(url, f"{type(error).__name__}: {error}", retryable=True) from error

        return self._retrying(limits, attempt)

    def map_concurrently(self, fn: Callable[[T], R], items: Sequence[T], workers: int | None = None) -> list[R]:
        """Apply `fn` to each item with up to `workers` threads (per-host limits still apply inside `fn`)."""
        if len(items) <= 1:
            return [fn(item) for item in items]
        workers = workers or self.limits.concurrency
        with ThreadPoolExecutor(max_workers=max(1, min(workers, len(items)))) as pool:
            return list(pool.map(fn, items))

    # -- internals -------------------------------------------------------------------------------------------
    def _retrying(self, limits: Limits, attempt: Callable[[], T]) -> T:
        retrying = Retrying(
            retry=retry_if_exception(lambda error: isinstance(error, HttpError) and error.retryable),
            stop=stop_after_attempt(limits.max_retries + 1),
            wait=self._backoff,
            sleep=self._sleep,
            before_sleep=self._before_sleep,
            reraise=True,
        )
        return retrying(attempt)

    def _backoff(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        retry_after = getattr(error, "retry_after", None)
        if retry_after is not None:
            return float(retry_after)  # bounded by max_retry_after before it got here
        exponential = min(self.max_backoff, 0.5 * 2 ** (state.attempt_number - 1))
        return float(random.uniform(0, exponential))

    def _before_sleep(self, state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        with self._stats_lock:
            self.stats.retries += 1
            self.stats.retried_because[_cause(error)] += 1
        log.info("retrying after %s (attempt %d): %s", type(error).__name__, state.attempt_number, error)

    def _count(self, status: int | None, waited: float) -> None:
        with self._stats_lock:
            self.stats.requests += 1
            self.stats.waited_seconds += waited
            if status is not None:
                self.stats.by_status[status] += 1

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _parse_json(data: bytes, where: str) -> Any:
    return orjson.loads(data)


def _parse_xml_body(data: bytes, where: str) -> etree._Element:
    return parse_xml(data, f"XML answer from {where}")


def _cause(error: BaseException | None) -> str:
    """A short name for why a request was retried, for the run report."""
    if isinstance(error, MalformedBody):
        return "malformed body"
    if isinstance(error, HttpError) and error.status is not None:
        return f"HTTP {error.status}"
    cause = error.__cause__ if error is not None else None
    return type(cause or error).__name__


def _min_optional(a: float | None, b: float | None) -> float | None:
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)
