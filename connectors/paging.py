"""Pagination as declared data, not a hand-written loop per source.

A `Listing` names an endpoint, its parameters, where the items sit in the JSON body and which `Paginator` leads
to the next page. Its resume state is simply the next request (URL and parameters), which is what a checkpoint
stores: any paginator resumes exactly after the last committed page.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import httpx

from connectors.http import HttpClient


@dataclass(frozen=True)
class Request:
    """A GET request: a URL without query string, and its parameters."""

    url: str
    params: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, url: str, params: Mapping[str, Any] | None = None) -> Request:
        """Split any query string off `url` and merge it with `params` (explicit params win)."""
        parts = urlsplit(url)
        merged = dict(parse_qsl(parts.query, keep_blank_values=True))
        merged.update({k: str(v) for k, v in (params or {}).items() if v is not None})
        return cls(urlunsplit(parts._replace(query="")), tuple(sorted(merged.items())))

    def with_params(self, **params: Any) -> Request:
        merged = dict(self.params)
        merged.update({k: str(v) for k, v in params.items() if v is not None})
        return Request(self.url, tuple(sorted(merged.items())))

    def to_state(self) -> dict[str, Any]:
        return {"url": self.url, "params": [list(p) for p in self.params]}

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> Request:
        return cls(state["url"], tuple((str(k), str(v)) for k, v in state["params"]))


class Paginator(Protocol):
    """Given a page just fetched, the request for the next one, or None at the end."""

    def next_request(
        self, request: Request, response: httpx.Response, body: Any, items: Sequence[Any]
    ) -> Request | None: ...


def dig(body: Any, path: Sequence[str]) -> Any:
    """Follow keys into nested JSON; None when a key is missing."""
    for key in path:
        if not isinstance(body, Mapping):
            return None
        body = body.get(key)
    return body


@dataclass(frozen=True)
class LinksNext:
    """Follow a `next` link inside the body (Invenio: `links.next`)."""

    path: tuple[str, ...] = ("links", "next")

    def next_request(
        self, request: Request, response: httpx.Response, body: Any, items: Sequence[Any]
    ) -> Request | None:
        link = dig(body, self.path)
        if not link or not items:
            return None
        return Request.of(str(link))


@dataclass(frozen=True)
class LinkHeader:
    """Follow RFC 8288 `Link: <...>; rel="next"` (GitLab, GitHub)."""

    def next_request(
        self, request: Request, response: httpx.Response, body: Any, items: Sequence[Any]
    ) -> Request | None:
        link = response.links.get("next", {}).get("url")
        return Request.of(link) if link and items else None


@dataclass(frozen=True)
class PageNumber:
    """`page=N` (1-based by default) until a short or empty page, or until `total` is reached."""

    param: str = "page"
    size_param: str = "size"
    size: int = 100
    total_path: tuple[str, ...] | None = None

    def first(self, request: Request, start: int = 1) -> Request:
        return request.with_params(**{self.param: start, self.size_param: self.size})

    def next_request(
        self, request: Request, response: httpx.Response, body: Any, items: Sequence[Any]
    ) -> Request | None:
        if len(items) < self.size:
            return None
        page = int(dict(request.params).get(self.param, "1"))
        if self.total_path is not None:
            total = dig(body, self.total_path)
            if isinstance(total, int) and page * self.size >= total:
                return None
        return request.with_params(**{self.param: page + 1})


@dataclass(frozen=True)
class ListedPage:
    """One page of a listing: its items, the parsed body and response, and the request for the next page."""

    items: list[Any]
    body: Any
    response: httpx.Response
    next: Request | None


@dataclass(frozen=True)
class Listing:
    """An endpoint listed page by page."""

    first: Request
    items_path: tuple[str, ...]
    paginator: Paginator
    ok_statuses: tuple[int, ...] = field(default=())
    headers: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    """Request headers sent with every page (content negotiation, credentials); never part of a checkpoint."""
    parse: Callable[[bytes, str], Any] | None = field(default=None, repr=False)
    """Reads a page's body instead of a plain JSON parse (`connectors.http.HttpClient.get_json_response`)."""

    def pages(self, http: HttpClient, resume: Request | None = None) -> Iterator[ListedPage]:
        request: Request | None = resume or self.first
        while request is not None:
            response, body = http.get_json_response(
                request.url,
                params=dict(request.params),
                ok_statuses=self.ok_statuses,
                headers=dict(self.headers) or None,
                parse=self.parse,
            )
            items = dig(body, self.items_path) if self.items_path else body
            if items is None:
                items = []
            if not isinstance(items, list):
                raise ValueError(
                    f"{request.url}: expected a list at {'.'.join(self.items_path)}, got {type(items).__name__}"
                )
            following = self.paginator.next_request(request, response, body, items)
            yield ListedPage(items, body, response, following)
            request = following
