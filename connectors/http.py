"""The one HTTP client every connector uses.

It retries what is worth retrying (connection errors, timeouts, truncated bodies, 429 and 5xx) with exponential
backoff and jitter, honours `Retry-After`, limits the request rate and the requests in flight per host, sends a
User-Agent with a contact address, and counts what it did so a run report can say so.
"""

from __future__ import annotations

import email.utils
import logging
import os
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx
import orjson
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
)

from connectors.base import Limits

log = logging.getLogger(__name__)

DEFAULT_CONTACT = "dmlake-admin@localhost"
USER_AGENT = "dmlake/0.1 (+https://github.com/dmlake/dmlake; mailto:{contact})"

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
    """A 200 whose body does not parse: usually a body cut short in transit, so it is retried."""


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
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


@dataclass
class RequestStats:
    """What the client did; read by the harvester for the run report."""

    requests: int = 0
    retries: int = 0
    by_status: Counter[int] = field(default_factory=Counter)
    waited_seconds: float = 0.0


class _HostGate:
    """Per-host politeness: a token bucket for the request rate and a semaphore for requests in flight."""

    def __init__(self, limits: Limits) -> None:
        self.in_flight = threading.BoundedSemaphore(max(1, limits.concurrency))
        self.interval = 60.0 / limits.requests_per_minute if limits.requests_per_minute else 0.0
        self._next_slot = 0.0
        self._lock = threading.Lock()

    def wait_turn(self, sleep: Callable[[float], None]) -> float:
        if not self.interval:
            return 0.0
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next_slot)
            self._next_slot = slot + self.interval
        delay = slot - now
        if delay > 0:
            sleep(delay)
        return delay


class HttpClient:
    """A polite, retrying HTTP client shared by all connectors of a harvest."""

    def __init__(
        self,
        limits: Limits | None = None,
        *,
        contact: str | None = None,
        max_backoff: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
        headers: Mapping[str, str] | None = None,
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
        self._sleep = sleep
        self._gates: dict[str, _HostGate] = {}
        self._host_limits: dict[str, Limits] = {}
        self._gates_lock = threading.Lock()
        self.stats = RequestStats()
        self._stats_lock = threading.Lock()

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
            self._host_limits[host] = limits
            self._gates[host] = _HostGate(limits)

    def _gate(self, url: str) -> tuple[_HostGate, Limits]:
        host = urlsplit(url).netloc
        with self._gates_lock:
            gate = self._gates.get(host)
            if gate is None:
                gate = self._gates[host] = _HostGate(self.limits)
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
        return self._send("GET", url, params, headers, set(ok_statuses), None, None, parse=orjson.loads)[1]

    def get_json_response(
        self,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        ok_statuses: Iterable[int] = (),
        headers: Mapping[str, str] | None = None,
    ) -> tuple[httpx.Response, Any]:
        """GET and parse JSON, returning the response too (for its headers and status)."""
        return self._send("GET", url, params, headers, set(ok_statuses), None, None, parse=orjson.loads)

    def _send(
        self,
        method: str,
        url: str,
        params: Mapping[str, Any] | None,
        headers: Mapping[str, str] | None,
        accepted: set[int],
        json_body: Any,
        auth: tuple[str, str] | None,
        parse: Callable[[bytes], Any] | None,
    ) -> tuple[httpx.Response, Any]:
        gate, limits = self._gate(url)

        def attempt() -> tuple[httpx.Response, Any]:
            with gate.in_flight:
                waited = gate.wait_turn(self._sleep)
                try:
                    response = self._client.request(
                        method, url, params=params, headers=headers, json=json_body, auth=auth
                    )
                except httpx.TransportError as error:
                    self._count(None, waited)
                    raise HttpError(url, f"{type(error).__name__}: {error}", retryable=True) from error
            self._count(response.status_code, waited)
            status = response.status_code
            if (status == 429 or status >= 500) and status not in accepted:
                raise _RetryableStatus(response)
            if not (response.is_success or status in accepted):
                raise HttpError(str(response.request.url), _short_body(response), status)
            if parse is None or not response.is_success:
                return response, None
            try:
                return response, parse(response.content)
            except ValueError as error:
                raise MalformedBody(
                    str(response.request.url), f"body does not parse ({error}); retrying", retryable=True
                ) from error

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
            return float(min(retry_after, self.max_backoff))
        exponential = min(self.max_backoff, 0.5 * 2 ** (state.attempt_number - 1))
        return float(random.uniform(0, exponential))

    def _before_sleep(self, state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        with self._stats_lock:
            self.stats.retries += 1
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


def _min_optional(a: float | None, b: float | None) -> float | None:
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)
