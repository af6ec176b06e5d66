"""A replica of Zenodo's REST API (InvenioRDM, zenodo-rdm), fed by the corpus or by generated records.

Routes, as zenodo.org answers them (FORMATS.md §3, and live probes of the API recorded in public repositories):

* `GET /api/records` search: `q` (InvenioRDM query syntax, see `zenodo_query`), `page`, `size`, `sort`
  (`bestmatch`, `newest`, `oldest`, `mostrecent`, `updated-asc|desc`, `publication-asc|desc`, `mostviewed`,
  `version`), `all_versions` (only the latest version of each record without it), `communities`, `type`,
  `subtype`, `resource_type`, `access_status`, `file_type`, `subject`. Answers `{hits: {hits, total}, aggregations,
  links: {self, next?, prev?}, sortBy}`. Pages hold at most 25 hits anonymously, 100 with a token (HTTP 400
  "Page size cannot be greater than 25. ..."); a page past the 10,000th hit is refused (HTTP 400 "Invalid
  querystring parameters.").
* `GET /api/records/<id>`: the record (ETag = revision); a concept id redirects (302) to the latest version; a
  deleted record answers HTTP 410 with its tombstone; an unknown id HTTP 404.
* `GET /api/records/<id>/versions` (newest version first) and `/versions/latest` (301 to the latest version).
* `GET /api/communities/<slug or id>`.

Content negotiation by `Accept`: `application/json` and `application/vnd.zenodo.v1+json` give Zenodo's legacy
JSON, `application/vnd.inveniordm.v1+json` the InvenioRDM JSON; anything else HTTP 406. Every answer carries
`X-RateLimit-Limit/Remaining/Reset` and `Retry-After` for its bucket (search: 30 a minute; other routes: 133 a
minute as observed for guests, 100 with a token as documented); with `enforce_rate_limits` set, a client over its
budget gets HTTP 429 as Zenodo answers it.

The corpus replica serves every Zenodo record of `corpus/zenodo/rest/` (search hits, single records and version
pages, each record once) and the captured tombstone as a deleted record. It does not serve the InvenioRDM record
of CERN's demo instance (corpus 3f): its id, DOI prefix and links are not Zenodo's, and a Zenodo harvest that
returned it would be wrong. Mapping tests read that record directly for the full RDM shape.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar, Literal
from urllib.parse import urlencode

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sandbox.replica import Replica
from sandbox.replicas.zenodo_generate import GeneratedBase
from sandbox.replicas.zenodo_query import Node, Or, Term, conjoin, parse_query
from sandbox.replicas.zenodo_records import CommunityRegistry, CorpusBase, Wrapper, ZenodoBase, load_corpus
from sandbox.replicas.zenodo_search import SORTS, Overlay, Searcher, SearchRequest
from sandbox.replicas.zenodo_shapes import (
    RESOURCE_TYPES,
    community_slugs,
    rdm_to_legacy,
    rewrite_links,
    serve_rdm,
    tombstone,
)
from sandbox.store import Entry, ReplicaStore

Shape = Literal["legacy", "rdm"]
MEDIA_TYPES: dict[str, Shape] = {
    "application/json": "legacy",
    "application/vnd.zenodo.v1+json": "legacy",
    "application/vnd.inveniordm.v1+json": "rdm",
}
RESULT_WINDOW = 10_000
DEFAULT_PAGE_SIZE = 10


@dataclass(frozen=True)
class RateLimits:
    """Requests a minute per client: Zenodo's search bucket and its general bucket (guest / with a token)."""

    search: int = 30
    guest: int = 133
    authenticated: int = 100
    window_seconds: int = 60


def revise(wrapper: Wrapper, revision: int, when: datetime) -> Wrapper:
    """An edit as a depositor makes it: new text in the description, a new revision, a fresh update stamp."""
    stamp = when.astimezone(UTC).isoformat()
    note = f"<p>Revision {revision} of this record, {when.astimezone(UTC):%Y-%m-%d %H:%M} UTC.</p>"
    rdm = wrapper["rdm"]
    rdm["updated"] = stamp
    rdm["revision_id"] = int(rdm.get("revision_id") or 0) + revision
    rdm.setdefault("metadata", {})["description"] = str(rdm["metadata"].get("description") or "") + note
    legacy = wrapper.get("legacy")
    if legacy is not None:
        legacy["updated"] = legacy["modified"] = stamp
        legacy["revision"] = int(legacy.get("revision") or 0) + revision
        md = legacy.setdefault("metadata", {})
        md["description"] = str(md.get("description") or "") + note
    return wrapper


def _json(
    body: Any, status: int = 200, media_type: str = "application/json", headers: dict[str, str] | None = None
) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type=media_type, headers=headers)


class ZenodoReplica(Replica):
    kind: ClassVar[str] = "zenodo"

    def __init__(
        self,
        store: ReplicaStore,
        base: ZenodoBase,
        communities: CommunityRegistry,
        tombstones: dict[str, dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(store)
        self.base = base
        self.communities = communities
        self.tombstones = dict(tombstones or {})
        self.searcher = Searcher(store, base)
        self.rate_limits = RateLimits()
        self.enforce_rate_limits = False
        """Answer HTTP 429 past the budget (off by default so tests and demos are not slowed down)."""
        self._windows: dict[tuple[str, bool, str], tuple[int, int]] = {}
        self._windows_lock = threading.Lock()

    # -- feeding -------------------------------------------------------------------------------------------------
    @classmethod
    def from_corpus(cls, corpus: Path) -> ZenodoReplica | None:
        data = load_corpus(corpus)
        if data is None or not data.wrappers:
            return None
        base = CorpusBase(data.wrappers)
        return cls(ReplicaStore(base, revise), base, data.communities, data.tombstones)

    @classmethod
    def generated(cls, count: int, seed: int = 0) -> ZenodoReplica:
        base = GeneratedBase(count, seed)
        registry = CommunityRegistry(base.community_records("https://zenodo.org"), "https://zenodo.org")
        return cls(ReplicaStore(base, revise), base, registry)

    # -- routes --------------------------------------------------------------------------------------------------
    def routes(self) -> list[BaseRoute]:
        return [
            Route("/api/records", self._search, methods=["GET"]),
            Route("/api/records/", self._search, methods=["GET"]),
            Route("/api/records/{recid}", self._record, methods=["GET"]),
            Route("/api/records/{recid}/versions", self._versions, methods=["GET"]),
            Route("/api/records/{recid}/versions/latest", self._latest, methods=["GET"]),
            Route("/api/communities/{community}", self._community, methods=["GET"]),
        ]

    # -- request plumbing ----------------------------------------------------------------------------------------
    @staticmethod
    def _authenticated(request: Request) -> bool:
        header = request.headers.get("authorization", "")
        return bool(header.lower().startswith("bearer ") and header[7:].strip()) or bool(
            request.query_params.get("access_token")
        )

    def _rate(self, request: Request, bucket: str) -> tuple[dict[str, str], bool]:
        authenticated = self._authenticated(request)
        limits = self.rate_limits
        limit = limits.search if bucket == "search" else (limits.authenticated if authenticated else limits.guest)
        now = time.time()
        window = int(now - now % limits.window_seconds)
        key = (request.client.host if request.client else "?", authenticated, bucket)
        with self._windows_lock:
            start, count = self._windows.get(key, (window, 0))
            count = count + 1 if start == window else 1
            self._windows[key] = (window, count)
        reset = window + limits.window_seconds
        headers = {
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": str(max(0, limit - count)),
            "X-RateLimit-Reset": str(reset),
            "Retry-After": str(max(1, int(reset - now))),
        }
        return headers, count > limit

    def _guard(self, request: Request, bucket: str) -> tuple[dict[str, str], Response | None]:
        headers, exceeded = self._rate(request, bucket)
        if exceeded and self.enforce_rate_limits:
            message = f"Too many requests: the limit is {headers['X-RateLimit-Limit']} per 1 minute."
            return headers, _json({"status": 429, "message": message}, 429, headers=headers)
        return headers, None

    @staticmethod
    def _negotiate(request: Request) -> tuple[Shape, str] | None:
        accept = request.headers.get("accept", "").strip()
        if not accept:
            return "legacy", "application/json"
        choices = []
        for position, part in enumerate(accept.split(",")):
            media, _, options = part.strip().partition(";")
            quality = 1.0
            for option in options.split(";"):
                name, _, value = option.strip().partition("=")
                if name == "q":
                    try:
                        quality = float(value)
                    except ValueError:
                        quality = 0.0
            choices.append((-quality, position, media.strip().lower()))
        for quality, _, media in sorted(choices):
            if quality >= 0:
                continue
            if media in MEDIA_TYPES:
                return MEDIA_TYPES[media], media
            if media in ("*/*", "application/*"):
                return "legacy", "application/json"
        return None

    def _not_acceptable(self, headers: dict[str, str]) -> Response:
        expected = ", ".join(MEDIA_TYPES)
        return _json(
            {"status": 406, "message": f"Invalid 'Accept' header. Expected one of: {expected}"}, 406, headers=headers
        )

    @staticmethod
    def _validation_error(errors: list[dict[str, Any]], headers: dict[str, str]) -> Response:
        return _json({"status": 400, "message": "A validation error occurred.", "errors": errors}, 400, headers=headers)

    def _paging(self, request: Request, errors: list[dict[str, Any]]) -> tuple[int, int]:
        values = []
        for name, default in (("page", 1), ("size", DEFAULT_PAGE_SIZE)):
            raw = request.query_params.get(name)
            try:
                value = int(raw) if raw not in (None, "") else default
            except ValueError:
                errors.append({"field": name, "messages": ["Not a valid integer."]})
                value = default
            if value < 1:
                errors.append({"field": name, "messages": ["Must be greater than or equal to 1."]})
            values.append(value)
        page, size = values
        authenticated = self._authenticated(request)
        largest = 100 if authenticated else 25
        if size > largest:
            message = f"Page size cannot be greater than {largest}."
            if not authenticated:
                message += " Please use authenticated requests to increase the limit to 100."
            errors.append({"field": "size", "messages": [message]})
        return page, size

    def _link(self, path: str, pairs: list[tuple[str, str]]) -> str:
        return f"{self.base_url}{path}?{urlencode(sorted(pairs))}"

    # -- serving records -----------------------------------------------------------------------------------------
    def _serve(self, entry: Entry, shape: Shape, overlay: Overlay | None = None) -> dict[str, Any]:
        wrapper = self.store.record(entry)
        legacy = wrapper.get("legacy")
        if shape == "legacy" and legacy is not None:
            return dict(rewrite_links(legacy, self.base_url))
        landing = None
        if legacy is not None:
            links = legacy.get("links") or {}
            captured = links.get("self_html") or links.get("html")
            landing = rewrite_links(captured, self.base_url) if captured else None
        served = serve_rdm(wrapper["rdm"], self.base_url, self.searcher.is_latest(entry.index, overlay), landing)
        if shape == "rdm":
            return served
        return rdm_to_legacy(served, served["links"], community_slugs(served))

    # -- handlers ------------------------------------------------------------------------------------------------
    async def _search(self, request: Request) -> Response:
        headers, refused = self._guard(request, "search")
        if refused is not None:
            return refused
        negotiated = self._negotiate(request)
        if negotiated is None:
            return self._not_acceptable(headers)
        shape, media_type = negotiated
        params = request.query_params
        errors: list[dict[str, Any]] = []
        page, size = self._paging(request, errors)
        q = params.get("q", "")
        sort = params.get("sort") or ("bestmatch" if q.strip() else "newest")
        if sort not in SORTS:
            errors.append({"field": "_schema", "messages": [f"Invalid sort option '{sort}'."]})
        if errors:
            return self._validation_error(errors, headers)
        if page * size > RESULT_WINDOW:
            return _json({"status": 400, "message": "Invalid querystring parameters."}, 400, headers=headers)

        filters, selected = self._filters(request)
        # one reading of the overlay serves the search and every hit's version flag
        overlay = self.searcher.overlay()
        wanted = SearchRequest(conjoin([parse_query(q), *filters]), sort, page, size, selected)
        result = self.searcher.search(wanted, overlay)
        pairs = [(k, v) for k, v in params.multi_items() if k not in ("page", "size", "sort", "access_token")]
        pairs += [("size", str(size)), ("sort", sort)]
        links = {"self": self._link("/api/records", [*pairs, ("page", str(page))])}
        if page > 1:
            links["prev"] = self._link("/api/records", [*pairs, ("page", str(page - 1))])
        if page * size < result.total:
            links["next"] = self._link("/api/records", [*pairs, ("page", str(page + 1))])
        body = {
            "hits": {"hits": [self._serve(e, shape, overlay) for e in result.entries], "total": result.total},
            "aggregations": result.aggregations,
            "links": links,
            "sortBy": sort,
        }
        return _json(body, media_type=media_type, headers=headers)

    def _filters(self, request: Request) -> tuple[list[Node], dict[str, frozenset[str]]]:
        params = request.query_params
        filters: list[Node] = []
        selected: dict[str, frozenset[str]] = {}

        def any_of(field: str, values: list[str]) -> None:
            if values:
                filters.append(Or(tuple(Term(field, v) for v in values)))

        flag = (params.get("all_versions") or params.get("allversions") or "").strip().lower()
        if flag not in ("true", "1", "yes", "on"):
            filters.append(Term("versions.is_latest", "true"))
        any_of("communities", params.getlist("communities"))
        any_of("type", params.getlist("type"))
        subtypes = params.getlist("subtype")
        if subtypes:
            full = [k for k in RESOURCE_TYPES if any(k == s or k.endswith(f"-{s}") for s in subtypes)]
            any_of("metadata.resource_type.id", full or subtypes)
        resource_types = params.getlist("resource_type")
        if resource_types:
            terms: list[Node] = []
            for value in resource_types:
                top, _, sub = value.partition("::")
                terms.append(Term("metadata.resource_type.id", sub) if sub else Term("type", top))
            filters.append(Or(tuple(terms)))
            selected["resource_type"] = frozenset(v.partition("::")[2] or v for v in resource_types)
        access = params.getlist("access_status") + params.getlist("access_right")
        any_of("access_right", access)
        selected["access_status"] = frozenset(access)
        any_of("filetype", params.getlist("file_type"))
        selected["file_type"] = frozenset(params.getlist("file_type"))
        any_of("keywords", params.getlist("subject"))
        selected["subject"] = frozenset(params.getlist("subject"))
        return filters, selected

    async def _record(self, request: Request) -> Response:
        headers, refused = self._guard(request, "general")
        if refused is not None:
            return refused
        negotiated = self._negotiate(request)
        if negotiated is None:
            return self._not_acceptable(headers)
        shape, media_type = negotiated
        recid = request.path_params["recid"]
        index = self.base.index_of(recid)
        if index is not None:
            entry = self.store.entry(index)
            if entry is None:
                deleted_at = self.store.deleted_at(recid) or datetime.now(UTC)
                return _json(tombstone(self.base.record(index)["rdm"], deleted_at), 410, headers=headers)
            body = self._serve(entry, shape)
            revision = body.get("revision_id", body.get("revision"))
            return _json(body, media_type=media_type, headers={**headers, "ETag": f'"{revision}"'})
        if recid in self.tombstones:
            return _json(self.tombstones[recid], 410, headers=headers)
        latest = self._latest_of_concept(recid)
        if latest is not None:
            location = f"{self.base_url}/api/records/{latest}"
            return Response(status_code=302, headers={**headers, "Location": location})
        return self._not_found(headers)

    def _latest_of_concept(self, concept_id: str) -> str | None:
        family = self.base.concept_family(concept_id)
        if not family:
            return None
        live = [i for i in family if self.store.entry(i) is not None]
        return self.base.native_id(live[-1]) if live else None

    @staticmethod
    def _not_found(headers: dict[str, str]) -> Response:
        return _json({"status": 404, "message": "The persistent identifier does not exist."}, 404, headers=headers)

    async def _versions(self, request: Request) -> Response:
        headers, refused = self._guard(request, "general")
        if refused is not None:
            return refused
        negotiated = self._negotiate(request)
        if negotiated is None:
            return self._not_acceptable(headers)
        shape, media_type = negotiated
        errors: list[dict[str, Any]] = []
        page, size = self._paging(request, errors)
        if errors:
            return self._validation_error(errors, headers)
        recid = request.path_params["recid"]
        index = self.base.index_of(recid)
        if index is None:
            if recid in self.tombstones:
                return _json({"hits": {"hits": [], "total": 0}}, media_type=media_type, headers=headers)
            return self._not_found(headers)
        if self.store.entry(index) is None:
            return _json({"hits": {"hits": [], "total": 0}}, media_type=media_type, headers=headers)
        members = list(reversed(self.searcher.live_family(index)))
        chosen = members[(page - 1) * size : page * size]
        entries = [e for i in chosen if (e := self.store.entry(i)) is not None]
        path = f"/api/records/{recid}/versions"
        pairs = [("size", str(size)), ("sort", "version")]
        links = {"self": self._link(path, [*pairs, ("page", str(page))])}
        if page > 1:
            links["prev"] = self._link(path, [*pairs, ("page", str(page - 1))])
        if page * size < len(members):
            links["next"] = self._link(path, [*pairs, ("page", str(page + 1))])
        body = {
            "hits": {"hits": [self._serve(e, shape) for e in entries], "total": len(members)},
            "links": links,
            "sortBy": "version",
        }
        return _json(body, media_type=media_type, headers=headers)

    async def _latest(self, request: Request) -> Response:
        headers, refused = self._guard(request, "general")
        if refused is not None:
            return refused
        recid = request.path_params["recid"]
        index = self.base.index_of(recid)
        if index is None:
            return self._not_found(headers)
        live = self.searcher.live_family(index)
        target = self.base.native_id(live[-1]) if live else recid
        return Response(status_code=301, headers={**headers, "Location": f"{self.base_url}/api/records/{target}"})

    async def _community(self, request: Request) -> Response:
        headers, refused = self._guard(request, "general")
        if refused is not None:
            return refused
        found = self.communities.get(request.path_params["community"])
        if found is None:
            return self._not_found(headers)
        return _json(rewrite_links(found, self.base_url), headers=headers)
