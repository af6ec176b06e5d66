"""A replica of the DataCite REST API's `/dois` (JSON:API), for the DOI registrar's tests and the demo.

What it imitates (https://support.datacite.org/docs/api-create-dois, .../api-update-dois, .../doi-states):

* `POST /dois` creates a DOI from `{"data": {"type": "dois", "attributes": {...}}}`: `doi`, or `prefix` (+ optional
  `suffix`; without one a random suffix is drawn, as DataCite does). Without `event` the DOI is a **draft**; with
  `event: publish` it is **findable**, with `register` **registered**. A DOI that exists already: 422 "This DOI has
  already been taken". A prefix the account does not own: 403.
* `PUT /dois/{doi}` updates attributes and applies `event`; on a DOI that does not exist it creates it (DataCite's
  PUT is an upsert). The state machine is DataCite's: `register` draft → registered, `publish` draft|registered →
  findable, `hide` findable → registered; nothing goes back to draft; any other event from a state is a 422.
* Registered and findable DOIs need valid metadata: they are checked against the DataCite 4.6 JSON schema and the
  mandatory properties (creators, titles, publisher, publicationYear, types.resourceTypeGeneral, url); failures are
  422s with DataCite's error body `{"errors": [{"source": "<property>", "title": "<message>", "uid": "<doi>"}]}`.
  Drafts are not validated (DataCite does not either).
* `DELETE /dois/{doi}` removes a draft (204); registered and findable DOIs cannot be deleted (405).
* `GET /dois/{doi}` (404 when unknown; drafts and registered DOIs only to their owner), `GET /dois?prefix=...` lists
  with `page[number]`/`page[size]`, `meta` and `links.next`.
* A DOI name may contain `/` after its prefix (HEPData's tables `…/t1`, dmlake's parts `…/t1`, `…/f.<name>`): every
  `{doi}` route takes the rest of the path, plain or percent-encoded, as DataCite's do (lupo's routes:
  `resources :dois, constraints: { id: /.+/ }`).
* Basic auth on every write (401 "Bad credentials" otherwise); reads without credentials see findable DOIs only.
* Resolution: `GET /resolve/{doi}` answers as the handle system at doi.org does: 302 to the DOI's `url` when it is
  registered or findable, 404 for drafts and unknown DOIs.

Admin routes besides the base class's: `PATCH /_sandbox/dois/{doi}` overwrites attributes without checks or events
(drift injected "at DataCite"), `GET /_sandbox/dois` every DOI as stored, `GET /_sandbox/bodies` every create and
update body received (method, DOI, attributes), so tests can check what was sent. 429 with `Retry-After` and the other
faults come from the base class's fault injection (`PUT /_sandbox/faults`).
"""

from __future__ import annotations

import base64
import copy
import secrets
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from ontology.datacite import NAMESPACE, json_errors
from sandbox.replica import Replica
from sandbox.store import ListBase, ReplicaStore

DEFAULT_PREFIX = "10.80000"
DEFAULT_ACCOUNT = ("DMLAKE.SANDBOX", "sandbox-password")
JSONAPI = "application/vnd.api+json"
_MANDATORY = {
    "creators": "Creators can't be blank",
    "titles": "Title can't be blank",
    "publisher": "Publisher can't be blank",
    "publicationYear": "Publication year can't be blank",
    "types": "Resource type general can't be blank",
    "url": "Url can't be blank",
}
_TRANSITIONS = {
    "register": ({"draft"}, "registered"),
    "publish": ({"draft", "registered"}, "findable"),
    "hide": ({"findable"}, "registered"),
}
_READ_ONLY = {"doi", "prefix", "suffix", "state", "created", "updated", "registered", "published", "isActive", "event"}


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _errors(status: int, *errors: dict[str, str]) -> JSONResponse:
    return JSONResponse({"errors": list(errors)}, status_code=status, media_type=JSONAPI)


class DataCiteReplica(Replica):
    kind: ClassVar[str] = "datacite"

    def __init__(
        self,
        prefixes: tuple[str, ...] = (DEFAULT_PREFIX,),
        account: tuple[str, str] = DEFAULT_ACCOUNT,
    ) -> None:
        super().__init__(ReplicaStore(ListBase([], [], []), lambda record, _rev, _when: record))
        self.prefixes = tuple(p.lower() for p in prefixes)
        self.account = account
        self.dois: dict[str, dict[str, Any]] = {}
        self.bodies: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    @classmethod
    def from_corpus(cls, corpus: Path) -> DataCiteReplica | None:
        return None  # DataCite holds what the registrar sends it, not portal records

    @classmethod
    def generated(cls, count: int, seed: int = 0) -> DataCiteReplica:
        return cls()

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/dois", self._list, methods=["GET"]),
            Route("/dois", self._create, methods=["POST"]),
            Route("/dois/{doi:path}", self._get, methods=["GET"]),
            Route("/dois/{doi:path}", self._update, methods=["PUT"]),
            Route("/dois/{doi:path}", self._delete_doi, methods=["DELETE"]),
            Route("/resolve/{doi:path}", self._resolve, methods=["GET"]),
            Route("/_sandbox/dois", self._admin_list, methods=["GET"]),
            Route("/_sandbox/bodies", self._admin_bodies, methods=["GET"]),
            Route("/_sandbox/dois/{doi:path}", self._admin_patch, methods=["PATCH"]),
        ]

    # -- auth ------------------------------------------------------------------------------------------------
    def _authenticated(self, request: Request) -> bool | None:
        """True: the account's credentials; False: wrong ones; None: none sent."""
        header = request.headers.get("authorization", "")
        if not header:
            return None
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, _, password = base64.b64decode(value).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return False
        return secrets.compare_digest(user, self.account[0]) and secrets.compare_digest(password, self.account[1])

    def _refuse_unless_owner(self, request: Request) -> Response | None:
        if self._authenticated(request) is not True:
            return _errors(401, {"status": "401", "title": "Bad credentials."})
        return None

    # -- routes ----------------------------------------------------------------------------------------------
    async def _list(self, request: Request) -> Response:
        owner = self._authenticated(request) is True
        prefix = request.query_params.get("prefix", "").lower()
        size = max(1, min(1000, int(request.query_params.get("page[size]", "25"))))
        number = max(1, int(request.query_params.get("page[number]", "1")))
        with self._lock:
            chosen = [
                d
                for key, d in sorted(self.dois.items())
                if (not prefix or d["prefix"] == prefix) and (owner or d["state"] == "findable")
            ]
            page = [self._resource(d) for d in chosen[(number - 1) * size : number * size]]
        pages = max(1, -(-len(chosen) // size))
        body: dict[str, Any] = {"data": page, "meta": {"total": len(chosen), "totalPages": pages, "page": number}}
        if number < pages:
            query = f"page[number]={number + 1}&page[size]={size}" + (f"&prefix={prefix}" if prefix else "")
            body["links"] = {"self": str(request.url), "next": f"{self.base_url}/dois?{query}"}
        return JSONResponse(body, media_type=JSONAPI)

    async def _get(self, request: Request) -> Response:
        doi = request.path_params["doi"].lower()
        with self._lock:
            stored = copy.deepcopy(self.dois.get(doi))
        if stored is None or (stored["state"] != "findable" and self._authenticated(request) is not True):
            return _errors(404, {"status": "404", "title": "The resource you are looking for doesn't exist."})
        return JSONResponse({"data": self._resource(stored)}, media_type=JSONAPI)

    async def _create(self, request: Request) -> Response:
        refused = self._refuse_unless_owner(request)
        if refused is not None:
            return refused
        attributes, problem = await self._attributes(request)
        if problem is not None:
            return problem
        doi = str(attributes.get("doi") or "").lower()
        if not doi:
            prefix = str(attributes.get("prefix") or "").lower()
            suffix = str(attributes.get("suffix") or "") or secrets.token_hex(4)
            doi = f"{prefix}/{suffix}".lower()
        with self._lock:
            if doi in self.dois:
                return _errors(422, {"source": "doi", "title": "This DOI has already been taken", "uid": doi})
            return self._write(doi, attributes, created=True)

    async def _update(self, request: Request) -> Response:
        refused = self._refuse_unless_owner(request)
        if refused is not None:
            return refused
        attributes, problem = await self._attributes(request)
        if problem is not None:
            return problem
        doi = request.path_params["doi"].lower()
        with self._lock:
            return self._write(doi, attributes, created=doi not in self.dois)

    async def _delete_doi(self, request: Request) -> Response:
        refused = self._refuse_unless_owner(request)
        if refused is not None:
            return refused
        doi = request.path_params["doi"].lower()
        with self._lock:
            stored = self.dois.get(doi)
            if stored is None:
                return _errors(404, {"status": "404", "title": "The resource you are looking for doesn't exist."})
            if stored["state"] != "draft":
                return _errors(405, {"status": "405", "title": "Method not allowed"})
            del self.dois[doi]
        return Response(status_code=204)

    async def _resolve(self, request: Request) -> Response:
        doi = request.path_params["doi"].lower()
        with self._lock:
            stored = self.dois.get(doi)
            url = stored.get("url") if stored and stored["state"] in ("registered", "findable") else None
        if not url:
            return Response("DOI Not Found", status_code=404, media_type="text/plain")
        return RedirectResponse(str(url), status_code=302)

    async def _admin_list(self, request: Request) -> Response:
        with self._lock:
            return JSONResponse({doi: copy.deepcopy(d) for doi, d in sorted(self.dois.items())})

    async def _admin_bodies(self, request: Request) -> Response:
        with self._lock:
            return JSONResponse(copy.deepcopy(self.bodies))

    async def _admin_patch(self, request: Request) -> Response:
        doi = request.path_params["doi"].lower()
        changes = await request.json()
        with self._lock:
            if doi not in self.dois:
                return JSONResponse({"error": f"no DOI {doi}"}, status_code=404)
            self.dois[doi].update(changes)
            return JSONResponse(copy.deepcopy(self.dois[doi]))

    # -- internals -------------------------------------------------------------------------------------------
    async def _attributes(self, request: Request) -> tuple[dict[str, Any], Response | None]:
        try:
            body = await request.json()
            data = body["data"]
            attributes = dict(data.get("attributes") or {})
            if data.get("type", "dois") != "dois":
                raise ValueError("type")
        except (ValueError, KeyError, TypeError, AttributeError):
            return {}, _errors(
                400, {"status": "400", "title": "You need to provide a payload following the JSONAPI spec"}
            )
        with self._lock:
            self.bodies.append({"method": request.method, "path": request.url.path, "attributes": attributes})
        return attributes, None

    def _write(self, doi: str, attributes: dict[str, Any], created: bool) -> Response:
        """Create or update `doi` with `attributes` (and their `event`); the caller holds the lock."""
        prefix, _, suffix = doi.partition("/")
        if prefix not in self.prefixes or not suffix:
            return _errors(403, {"status": "403", "title": "You are not authorized to access this resource."})
        current = copy.deepcopy(self.dois.get(doi)) or {
            "doi": doi,
            "prefix": prefix,
            "suffix": suffix,
            "state": "draft",
        }
        event = attributes.get("event")
        state = current["state"]
        if event is not None:
            allowed = _TRANSITIONS.get(str(event))
            if allowed is None:
                return _errors(
                    422,
                    {"source": "event", "title": f"Event {event!r} is not one of register, publish, hide", "uid": doi},
                )
            sources, target = allowed
            if state not in sources:
                return _errors(422, {"source": "event", "title": f"Can't {event} a DOI in state {state}", "uid": doi})
            state = target
        merged = {**current, **{k: v for k, v in attributes.items() if k not in _READ_ONLY}}
        if state != "draft":
            problems = self._metadata_errors(doi, merged)
            if problems:
                return _errors(422, *problems)
        stamp = _now()
        merged |= {"state": state, "updated": stamp, "isActive": state == "findable"}
        merged.setdefault("created", stamp)
        if state != "draft" and not merged.get("registered"):
            merged["registered"] = stamp
        if state == "findable" and not merged.get("published"):
            merged["published"] = stamp[:4]
        self.dois[doi] = merged
        return JSONResponse({"data": self._resource(merged)}, status_code=201 if created else 200, media_type=JSONAPI)

    def _metadata_errors(self, doi: str, attributes: dict[str, Any]) -> list[dict[str, str]]:
        problems = [
            {"source": key, "title": message, "uid": doi}
            for key, message in _MANDATORY.items()
            if not attributes.get(key)
        ]
        if problems:
            return problems
        metadata = {
            k: v
            for k, v in attributes.items()
            if k not in {"prefix", "suffix", "state", "created", "updated", "registered", "published", "isActive"}
        }
        metadata.setdefault("schemaVersion", NAMESPACE)  # DataCite fills it in when a body leaves it out
        return [
            {"source": message.split("/", 1)[0].split(":", 1)[0], "title": message, "uid": doi}
            for message in json_errors(metadata)
        ]

    def _resource(self, stored: dict[str, Any]) -> dict[str, Any]:
        attributes = copy.deepcopy(stored)
        attributes.setdefault("identifiers", [])
        return {
            "id": stored["doi"],
            "type": "dois",
            "attributes": attributes,
            "relationships": {"client": {"data": {"id": self.account[0].lower(), "type": "clients"}}},
        }
