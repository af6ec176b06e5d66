"""A generic OAI-PMH 2.0 repository over a `ReplicaStore`: the six verbs, their errors, resumption tokens.

Subclasses (`oaipmh_zenodo`, `oaipmh_cern`, `oaipmh_kcdc`) give the records and a `RepositoryProfile` saying how
their real server behaves: its route, granularity, page size, metadata formats, sets, the HTTP status of error
answers (invenio-oaiserver: 422; the protocol and most servers: 200), the error it gives for an unknown prefix,
whether it lists by datestamp or in index order, and how long its resumption tokens live.

Records. The base holds, per record, its identifier, sets and one metadata body per format it can be
disseminated in (`{"identifier", "sets", "bodies": {prefix: xml}, "deleted"}`); base stamps never decrease with
the index (corpus bases are sorted by datestamp; generated ones are built so). Edits through the store overlay give
a record a new revision and datestamp (a marker is added to its title, so its bytes change too); deletions make it
a `<header status="deleted">` dated when it was deleted. Listing in datestamp order, an edited or deleted record
moves to its new datestamp, as on a server that sorts by datestamp; in index order it stays where it was.

Resumption tokens are opaque, signed, and carry the request and the position after the last item sent (keyset, so
a page boundary never shifts when records change). They expire after `token_lifetime` seconds (120 like Zenodo's
`OAISERVER_RESUMPTION_TOKEN_EXPIRE_TIME`), and `POST /_sandbox/expire-tokens` makes every token issued so far
invalid at once (body `{"lifetime": s}` also changes the lifetime). A refused token answers `badResumptionToken`.
"""

from __future__ import annotations

import base64
import bisect
import hashlib
import heapq
import hmac
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import pairwise
from typing import Any, ClassVar, Protocol, runtime_checkable
from xml.sax.saxutils import escape, quoteattr

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from sandbox.replica import Replica
from sandbox.store import Entry, RecordBase, ReplicaStore

OAI_NS = "http://www.openarchives.org/OAI/2.0/"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
DAY = "YYYY-MM-DD"
SECONDS = "YYYY-MM-DDThh:mm:ssZ"
VERBS = ("Identify", "ListMetadataFormats", "ListSets", "ListIdentifiers", "ListRecords", "GetRecord")
ARGUMENTS: dict[str, tuple[set[str], set[str]]] = {
    # verb: (required, optional) besides `verb`; resumptionToken is exclusive where it is allowed
    "Identify": (set(), set()),
    "ListMetadataFormats": (set(), {"identifier"}),
    "ListSets": (set(), {"resumptionToken"}),
    "ListIdentifiers": ({"metadataPrefix"}, {"from", "until", "set", "resumptionToken"}),
    "ListRecords": ({"metadataPrefix"}, {"from", "until", "set", "resumptionToken"}),
    "GetRecord": ({"identifier", "metadataPrefix"}, set()),
}
BAD_TOKEN = "The value of the resumptionToken argument is invalid or expired."


@dataclass(frozen=True)
class MetadataFormat:
    prefix: str
    schema: str
    namespace: str


OAI_DC = MetadataFormat(
    "oai_dc", "http://www.openarchives.org/OAI/2.0/oai_dc.xsd", "http://www.openarchives.org/OAI/2.0/oai_dc/"
)
OAI_DC_OPEN = (
    '<oai_dc:dc xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" '
    'xsi:schemaLocation="http://www.openarchives.org/OAI/2.0/oai_dc/ http://www.openarchives.org/OAI/2.0/oai_dc.xsd">'
)
"""The opening tag of an oai_dc body inside a response that declares `xsi` (as the generated replicas write it)."""
OAI_DATACITE = MetadataFormat(
    "oai_datacite", "http://schema.datacite.org/oai/oai-1.1/oai.xsd", "http://schema.datacite.org/oai/oai-1.1/"
)
DATACITE = MetadataFormat(
    "datacite", "http://schema.datacite.org/meta/kernel-4.5/metadata.xsd", "http://datacite.org/schema/kernel-4"
)


@dataclass(frozen=True)
class RepositoryProfile:
    """How one real OAI-PMH server behaves (what a subclass imitates)."""

    name: str
    path: str
    admin_email: str
    formats: tuple[MetadataFormat, ...]
    sets: tuple[tuple[str, str], ...] = ()
    granularity: str = SECONDS
    deleted_record: str = "persistent"
    earliest_datestamp: str = "2000-01-01T00:00:00Z"
    error_status: int = 200
    unknown_prefix: tuple[str, str] = ("cannotDisseminateFormat", "The metadata format is not supported.")
    page_size: int = 50
    set_page_size: int = 100
    order: str = "datestamp"
    """`datestamp`: listed by (datestamp, index), edits move to the end; `index`: base order (Zenodo's scroll)."""
    token_lifetime: float = 120.0
    stylesheet: str | None = None
    derived: Mapping[str, tuple[str, Callable[[str], str]]] = field(default_factory=dict)
    """Formats computed from another format's body (oai_datacite wraps the datacite kernel): prefix → (source, how)."""


def stamp_text(moment: datetime, granularity: str) -> str:
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d" if granularity == DAY else "%Y-%m-%dT%H:%M:%SZ")


def parse_stamp(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


_TITLE_END = re.compile(r"</((?:[A-Za-z_][\w.-]*:)?title)>")


def revise(record: dict[str, Any], revision: int, when: datetime) -> dict[str, Any]:
    """An edited record: its title says which revision it is, in every format (so its bytes change)."""
    marker = f" (revision {revision})"
    record["bodies"] = {
        prefix: _TITLE_END.sub(lambda m: f"{marker}</{m.group(1)}>", body, count=1)
        for prefix, body in record.get("bodies", {}).items()
    }
    return record


class OaiError(Exception):
    def __init__(self, code: str, message: str = "") -> None:
        super().__init__(code)
        self.code = code
        self.message = message


@runtime_checkable
class OaiBase(RecordBase, Protocol):
    """A base whose records' sets and formats are known without building the records (listings filter on them)."""

    def sets_of(self, index: int) -> tuple[str, ...]: ...

    def formats_of(self, index: int) -> frozenset[str]:
        """The prefixes the record has a metadata body in."""
        ...

    def listed_of(self, index: int) -> frozenset[str]:
        """Prefixes under which only the record's header is known (recorded ListIdentifiers answers)."""
        ...

    def deleted_of(self, index: int) -> bool:
        """Whether the source itself holds the record as deleted (a recorded `status="deleted"` header)."""
        ...

    def count(self, lo: int, hi: int, set_spec: str | None, prefixes: frozenset[str]) -> int | None:
        """Records in [lo, hi) in the set with a body in one of `prefixes`, if the base can count them cheaply."""
        ...

    @property
    def monotonic(self) -> bool:
        """Whether base datestamps never decrease with the index (ranges are then found by bisection)."""
        ...


class OaiBaseDefaults:
    """What an OAI base built from records (not replayed from recordings) answers unless it says otherwise: no
    header-only records, none deleted at the source, datestamps growing with the index."""

    def listed_of(self, index: int) -> frozenset[str]:
        return frozenset()

    def deleted_of(self, index: int) -> bool:
        return False

    @property
    def monotonic(self) -> bool:
        return True


@dataclass(frozen=True)
class Item:
    """One header of a listing: a live entry or a deletion, with its listing key."""

    index: int
    stamp: datetime
    deleted: bool
    entry: Entry | None


class OaiPmhReplica(Replica):
    kind: ClassVar[str] = "oaipmh"
    profile: ClassVar[RepositoryProfile]

    def __init__(self, store: ReplicaStore, profile: RepositoryProfile | None = None) -> None:
        super().__init__(store)
        self.repository = profile or type(self).profile
        self.token_lifetime = self.repository.token_lifetime
        self._secret = hashlib.sha256(f"{type(self).__name__}:{id(self)}".encode()).digest()
        self._epoch = 0
        self._formats = {f.prefix: f for f in self.repository.formats}

    # -- what the base knows without building records ---------------------------------------------------------------
    @property
    def oai_base(self) -> OaiBase:
        base = self.store.base
        assert isinstance(base, OaiBase)
        return base

    def base_sets(self, index: int) -> tuple[str, ...]:
        return self.oai_base.sets_of(index)

    def has_format(self, index: int, prefix: str, headers_only: bool = False) -> bool:
        """Whether record `index` can be listed in `prefix` (ListIdentifiers also lists recorded bare headers)."""
        formats = self.oai_base.formats_of(index)
        if prefix in formats:
            return True
        source = self.repository.derived.get(prefix)
        if source is not None and source[0] in formats:
            return True
        return headers_only and prefix in self.oai_base.listed_of(index)

    # -- routes ----------------------------------------------------------------------------------------------------
    def routes(self) -> list[BaseRoute]:
        return [
            Route(self.repository.path, self._oai, methods=["GET", "POST"]),
            # the sandbox's sources file names each replica by its root URL: answer there too
            Route("/", self._oai, methods=["GET", "POST"]),
            Route("/_sandbox/expire-tokens", self._expire_tokens, methods=["POST"]),
        ]

    async def _expire_tokens(self, request: Request) -> Response:
        body = await request.body()
        options = orjson.loads(body) if body.strip() else {}
        if "lifetime" in options:
            self.token_lifetime = float(options["lifetime"])
        self._epoch += 1
        return JSONResponse({"epoch": self._epoch, "lifetime": self.token_lifetime})

    async def _oai(self, request: Request) -> Response:
        pairs = list(request.query_params.multi_items())
        if request.method == "POST":
            pairs += [(k, str(v)) for k, v in (await request.form()).multi_items()]
        args: dict[str, str] = {}
        repeated = False
        for key, value in pairs:
            repeated |= key in args
            args[key] = value
        try:
            if repeated:
                raise OaiError("badArgument", "An argument was given more than once.")
            body = self._answer(args)
        except OaiError as error:
            return self._error(error, args)
        return Response(body, media_type="text/xml", headers={"content-type": "text/xml; charset=utf-8"})

    # -- envelope --------------------------------------------------------------------------------------------------
    def _head(self, args: Mapping[str, str] | None, declaration: bool = True) -> str:
        parts = []
        if declaration:
            parts.append("<?xml version='1.0' encoding='UTF-8'?>\n")
        if self.repository.stylesheet:
            parts.append(f'<?xml-stylesheet type="text/xsl" href="{self.repository.stylesheet}"?>\n')
        parts.append(
            f'<OAI-PMH xmlns="{OAI_NS}" xmlns:xsi="{XSI_NS}" '
            f'xsi:schemaLocation="{OAI_NS} http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd">\n'
        )
        parts.append(f"  <responseDate>{stamp_text(datetime.now(UTC), SECONDS)}</responseDate>\n")
        attributes = "".join(f" {k}={quoteattr(v)}" for k, v in (args or {}).items() if k in _REQUEST_ATTRIBUTES)
        parts.append(f"  <request{attributes}>{escape(self.base_url + self.repository.path)}</request>\n")
        return "".join(parts)

    def _error(self, error: OaiError, args: Mapping[str, str]) -> Response:
        invenio = self.repository.error_status == 422
        # invenio-oaiserver serialises errors without an XML declaration and without the request's arguments
        body = self._head(None if invenio else _valid_request(args), declaration=not invenio)
        body += f'  <error code="{error.code}">{escape(error.message)}</error>\n</OAI-PMH>\n'
        return Response(body, status_code=self.repository.error_status, media_type="text/xml")

    # -- verbs -----------------------------------------------------------------------------------------------------
    def _answer(self, args: dict[str, str]) -> str:
        verb = args.get("verb")
        if verb not in VERBS:
            raise OaiError("badVerb", "Illegal OAI verb" if verb else "The verb argument is missing.")
        required, optional = ARGUMENTS[verb]
        given = set(args) - {"verb"}
        if "resumptionToken" in given and "resumptionToken" in optional:
            if given != {"resumptionToken"}:
                raise OaiError("badArgument", "You have passed too many arguments.")
        else:
            missing = required - given
            if missing:
                raise OaiError("badArgument", f"Missing required argument(s): {', '.join(sorted(missing))}.")
            illegal = given - required - optional
            if illegal:
                raise OaiError("badArgument", f"Illegal argument(s): {', '.join(sorted(illegal))}.")
        if verb == "Identify":
            return self._identify(args)
        if verb == "ListMetadataFormats":
            return self._list_formats(args)
        if verb == "ListSets":
            return self._list_sets(args)
        if verb == "GetRecord":
            return self._get_record(args)
        return self._list(verb, args)

    def _identify(self, args: Mapping[str, str]) -> str:
        r = self.repository
        return (
            self._head(args) + "  <Identify>\n"
            f"    <repositoryName>{escape(r.name)}</repositoryName>\n"
            f"    <baseURL>{escape(self.base_url + r.path)}</baseURL>\n"
            "    <protocolVersion>2.0</protocolVersion>\n"
            f"    <adminEmail>{escape(r.admin_email)}</adminEmail>\n"
            f"    <earliestDatestamp>{r.earliest_datestamp}</earliestDatestamp>\n"
            f"    <deletedRecord>{r.deleted_record}</deletedRecord>\n"
            f"    <granularity>{r.granularity}</granularity>\n"
            "  </Identify>\n</OAI-PMH>\n"
        )

    def _list_formats(self, args: Mapping[str, str]) -> str:
        formats: Sequence[MetadataFormat] = self.repository.formats
        if "identifier" in args:
            index = self._index_of(args["identifier"])
            formats = [f for f in formats if self.has_format(index, f.prefix, headers_only=True)]
            if not formats:
                raise OaiError("noMetadataFormats", "There are no metadata formats available for this item.")
        body = "".join(
            f"    <metadataFormat>\n      <metadataPrefix>{f.prefix}</metadataPrefix>\n"
            f"      <schema>{f.schema}</schema>\n      <metadataNamespace>{f.namespace}</metadataNamespace>\n"
            "    </metadataFormat>\n"
            for f in formats
        )
        return self._head(args) + f"  <ListMetadataFormats>\n{body}  </ListMetadataFormats>\n</OAI-PMH>\n"

    def _list_sets(self, args: Mapping[str, str]) -> str:
        sets = self.repository.sets
        if not sets:
            raise OaiError("noSetHierarchy", "This repository does not support sets.")
        start = 0
        if "resumptionToken" in args:
            start = int(self._read_token(args["resumptionToken"], "ListSets")["position"])
        size = self.repository.set_page_size
        chunk = sets[start : start + size]
        body = "".join(
            f"    <set>\n      <setSpec>{escape(spec)}</setSpec>\n      <setName>{escape(name)}</setName>\n    </set>\n"
            for spec, name in chunk
        )
        more = start + size < len(sets)
        token = self._token_element(
            {"verb": "ListSets", "position": start + size} if more else None, start, len(sets), start > 0 or more
        )
        return self._head(args) + f"  <ListSets>\n{body}{token}  </ListSets>\n</OAI-PMH>\n"

    def _get_record(self, args: Mapping[str, str]) -> str:
        prefix = self._prefix(args["metadataPrefix"])
        index = self._index_of(args["identifier"])
        item = self._item(index)
        if not item.deleted and not self.has_format(index, prefix):
            raise OaiError("cannotDisseminateFormat", f"The item cannot be disseminated as {prefix}.")
        return self._head(args) + f"  <GetRecord>\n{self._record_xml(item, prefix)}  </GetRecord>\n</OAI-PMH>\n"

    def _list(self, verb: str, args: Mapping[str, str]) -> str:
        if "resumptionToken" in args:
            request = self._read_token(args["resumptionToken"], verb)
        else:
            request = {"verb": verb, "prefix": self._prefix(args["metadataPrefix"]), "set": args.get("set")}
            request.update(self._range(args.get("from"), args.get("until")))
            request["after"] = None
            request["cursor"] = 0
        prefix, set_spec = str(request["prefix"]), request.get("set")
        lower = parse_stamp(request["from"]) if request.get("from") else None
        upper = parse_stamp(request["until"]) if request.get("until") else None
        after = tuple(request["after"]) if request.get("after") else None
        size = self.repository.page_size
        headers_only = verb == "ListIdentifiers"
        items = list(self._items(prefix, set_spec, lower, upper, after, size + 1, headers_only))
        if not items and after is None:
            raise OaiError("noRecordsMatch", "")
        page, more = items[:size], len(items) > size
        cursor = int(request.get("cursor", 0))
        total = self._count(prefix, set_spec, lower, upper, headers_only)
        if verb == "ListRecords":
            body = "".join(self._record_xml(item, prefix) for item in page)
        else:
            body = "".join(self._header_xml(item, indent="    ") for item in page)
        following = None
        if more:
            last = page[-1]
            following = {**request, "after": self._key(last), "cursor": cursor + len(page)}
        token = self._token_element(following, cursor, total, cursor > 0 or more)
        return self._head(args) + f"  <{verb}>\n{body}{token}  </{verb}>\n</OAI-PMH>\n"

    # -- arguments -------------------------------------------------------------------------------------------------
    def _prefix(self, prefix: str) -> str:
        if prefix not in self._formats:
            raise OaiError(*self.repository.unknown_prefix)
        return prefix

    def _index_of(self, identifier: str) -> int:
        index = self.store.base.index_of(identifier)
        if index is None:
            raise OaiError("idDoesNotExist", "No matching identifier")
        return index

    def _range(self, lower: str | None, upper: str | None) -> dict[str, str | None]:
        bounds: dict[str, str | None] = {"from": None, "until": None}
        lengths = set()
        for name, value in (("from", lower), ("until", upper)):
            if value is None:
                continue
            if not re.fullmatch(r"\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}Z)?", value):
                raise OaiError("badArgument", f"The {name} argument {value!r} is not a valid datestamp.")
            if len(value) > 10 and self.repository.granularity == DAY:
                raise OaiError("badArgument", f"The {name} argument {value!r} is finer than the repository's days.")
            try:
                moment = parse_stamp(value if len(value) > 10 else value + "T00:00:00Z")
            except ValueError:
                raise OaiError("badArgument", f"The {name} argument {value!r} is not a valid date.") from None
            if name == "until" and len(value) == 10:
                moment = moment.replace(hour=23, minute=59, second=59)
            lengths.add(len(value))
            bounds[name] = moment.isoformat()
        if len(lengths) > 1:
            raise OaiError("badArgument", "The from and until arguments have different granularities.")
        if bounds["from"] and bounds["until"] and bounds["from"] > bounds["until"]:
            raise OaiError("badArgument", "The from argument is later than the until argument.")
        return bounds

    # -- tokens ----------------------------------------------------------------------------------------------------
    def _token_element(self, state: dict[str, Any] | None, cursor: int, total: int, show: bool) -> str:
        if not show:
            return ""
        expires = datetime.fromtimestamp(time.time() + self.token_lifetime, UTC)
        attributes = f' expirationDate="{stamp_text(expires, SECONDS)}" cursor="{cursor}" completeListSize="{total}"'
        if state is None:
            return f"    <resumptionToken{attributes}/>\n"
        return f"    <resumptionToken{attributes}>{self._sign(state)}</resumptionToken>\n"

    def _sign(self, state: dict[str, Any]) -> str:
        payload = base64.urlsafe_b64encode(orjson.dumps({**state, "t": time.time(), "e": self._epoch})).rstrip(b"=")
        signature = hmac.new(self._secret, payload, hashlib.sha256).hexdigest()[:20]
        return f"{payload.decode()}.{signature}"

    def _read_token(self, token: str, verb: str) -> dict[str, Any]:
        payload, _, signature = token.partition(".")
        expected = hmac.new(self._secret, payload.encode(), hashlib.sha256).hexdigest()[:20]
        if not hmac.compare_digest(signature, expected):
            raise OaiError("badResumptionToken", BAD_TOKEN)
        try:
            state: dict[str, Any] = orjson.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        except ValueError:
            raise OaiError("badResumptionToken", BAD_TOKEN) from None
        expired = time.time() - float(state.get("t", 0)) > self.token_lifetime or state.get("e") != self._epoch
        if expired or state.get("verb") != verb:
            raise OaiError("badResumptionToken", BAD_TOKEN)
        return state

    # -- listing ---------------------------------------------------------------------------------------------------
    def _item(self, index: int) -> Item:
        entry = self.store.entry(index)
        if entry is not None:
            return Item(index, entry.updated, self.oai_base.deleted_of(index) and not entry.revision, entry)
        deleted = self.store.deleted_at(self.store.base.native_id(index))
        return Item(index, deleted or self.store.base.updated(index), True, None)

    def _base_matches(self, index: int, set_spec: str | None, prefix: str, headers_only: bool) -> bool:
        if set_spec is not None and not _in_set(self.base_sets(index), set_spec):
            return False
        return self.has_format(index, prefix, headers_only)

    def _matches(
        self,
        item: Item,
        set_spec: str | None,
        prefix: str,
        lower: datetime | None,
        upper: datetime | None,
        headers_only: bool,
    ) -> bool:
        if lower is not None and item.stamp < lower:
            return False
        if upper is not None and item.stamp > upper:
            return False
        if set_spec is not None and not _in_set(self.base_sets(item.index), set_spec):
            return False
        return item.deleted or self.has_format(item.index, prefix, headers_only)

    def _key(self, item: Item) -> list[Any]:
        if self.repository.order == "index":
            return [item.index]
        return [item.stamp.isoformat(), item.index]

    def _overlay(self) -> list[Item]:
        """Edited and deleted records, by (new datestamp, index)."""
        epoch = datetime(1, 1, 1, tzinfo=UTC)
        edited = [Item(e.index, e.updated, False, e) for e in self.store.changed_since(epoch)]
        deleted = []
        for native_id, when in self.store.deleted_since(epoch):
            index = self.store.base.index_of(native_id)
            if index is not None:
                deleted.append(Item(index, when, True, None))
        return sorted(edited + deleted, key=lambda item: (item.stamp, item.index))

    def _base_start(self, lower: datetime | None) -> int:
        if lower is None or not self.oai_base.monotonic:
            return 0
        base = self.store.base
        return bisect.bisect_left(range(len(base)), lower, key=base.updated)

    def _base_stop(self, upper: datetime | None) -> int:
        base = self.store.base
        if upper is None or not self.oai_base.monotonic:
            return len(base)
        return bisect.bisect_right(range(len(base)), upper, key=base.updated)

    def _items(
        self,
        prefix: str,
        set_spec: str | None,
        lower: datetime | None,
        upper: datetime | None,
        after: tuple[Any, ...] | None,
        limit: int,
        headers_only: bool,
    ) -> Iterator[Item]:
        if self.repository.order == "index":
            # edits keep their place in index order, so an edited record may sit outside the base's datestamp range
            first = int(after[0]) + 1 if after else 0
            lo, hi = self._base_start(lower), self._base_stop(upper)
            outside = sorted(i for i in {item.index for item in self._overlay()} if i >= first and not lo <= i < hi)
            produced = 0
            for index in heapq.merge(range(max(first, lo), hi), outside):
                item = self._item(index)
                if self._matches(item, set_spec, prefix, lower, upper, headers_only):
                    yield item
                    produced += 1
                    if produced >= limit:
                        return
            return
        overlay = self._overlay()
        moved = {item.index for item in overlay}
        lo, hi = self._base_start(lower), self._base_stop(upper)
        if after is not None:
            key_stamp, key_index = parse_stamp(after[0]), int(after[1])
            lo = max(lo, bisect.bisect_right(range(len(self.store.base)), (key_stamp, key_index), key=self._base_key))
        pending = [
            item
            for item in overlay
            if (after is None or (item.stamp, item.index) > (parse_stamp(after[0]), int(after[1])))
            and self._matches(item, set_spec, prefix, lower, upper, headers_only)
        ]
        produced = 0
        index = lo
        while produced < limit:
            while index < hi and (index in moved or not self._base_matches(index, set_spec, prefix, headers_only)):
                index += 1
            base_item = self._item(index) if index < hi else None
            if pending and (base_item is None or (pending[0].stamp, pending[0].index) < (base_item.stamp, index)):
                yield pending.pop(0)
            elif base_item is not None:
                yield base_item
                index += 1
            else:
                return
            produced += 1

    def _base_key(self, index: int) -> tuple[datetime, int]:
        return (self.store.base.updated(index), index)

    def _count(
        self, prefix: str, set_spec: str | None, lower: datetime | None, upper: datetime | None, headers_only: bool
    ) -> int:
        lo, hi = self._base_start(lower), self._base_stop(upper)
        formats = {prefix} | ({self.repository.derived[prefix][0]} if prefix in self.repository.derived else set())
        # a base that counts (generated ones) has no bare headers; a corpus base is counted item by item below
        total = self.oai_base.count(lo, hi, set_spec, frozenset(formats))
        if not self.oai_base.monotonic:
            candidates = (self._item(i) for i in range(len(self.store.base)))
            return sum(1 for it in candidates if self._matches(it, set_spec, prefix, lower, upper, headers_only))
        if total is None:
            total = sum(1 for i in range(lo, hi) if self._base_matches(i, set_spec, prefix, headers_only))
        for item in self._overlay():
            if lo <= item.index < hi and self._base_matches(item.index, set_spec, prefix, headers_only):
                total -= 1  # no longer at its base datestamp
            if self._matches(item, set_spec, prefix, lower, upper, headers_only):
                total += 1
        return total

    # -- records ---------------------------------------------------------------------------------------------------
    def _header_xml(self, item: Item, indent: str) -> str:
        base = self.store.base
        status = ' status="deleted"' if item.deleted else ""
        specs = "".join(f"{indent}  <setSpec>{escape(s)}</setSpec>\n" for s in self.base_sets(item.index))
        return (
            f"{indent}<header{status}>\n"
            f"{indent}  <identifier>{escape(base.native_id(item.index))}</identifier>\n"
            f"{indent}  <datestamp>{stamp_text(item.stamp, self.repository.granularity)}</datestamp>\n"
            f"{specs}{indent}</header>\n"
        )

    def _record_xml(self, item: Item, prefix: str) -> str:
        header = self._header_xml(item, indent="      ")
        body = None if item.deleted else self.body(item, prefix)
        metadata = f"      <metadata>\n{body}\n      </metadata>\n" if body else ""
        return f"    <record>\n{header}{metadata}    </record>\n"

    def body(self, item: Item, prefix: str) -> str | None:
        """The metadata element of a live record in one format (None: the record has none)."""
        assert item.entry is not None
        record = self.store.record(item.entry)
        bodies: Mapping[str, str] = record.get("bodies", {})
        if prefix in bodies:
            return bodies[prefix]
        derived = self.repository.derived.get(prefix)
        if derived is not None and derived[0] in bodies:
            return derived[1](bodies[derived[0]])
        return None


_REQUEST_ATTRIBUTES = {"verb", "identifier", "metadataPrefix", "from", "until", "set", "resumptionToken"}


def _valid_request(args: Mapping[str, str]) -> dict[str, str]:
    # the protocol: a request element carries the arguments only when they were valid
    return {k: v for k, v in args.items() if k in _REQUEST_ATTRIBUTES and args.get("verb") in VERBS}


def _in_set(specs: Sequence[str], wanted: str) -> bool:
    return any(spec == wanted or spec.startswith(wanted + ":") for spec in specs)


def wrap_oai_datacite(symbol: str, version: str = "4.5") -> tuple[str, Callable[[str], str]]:
    """oai_datacite as invenio serves it: the DataCite kernel resource inside DataCite's OAI envelope."""

    def derive(resource: str) -> str:
        return (
            '<oai_datacite xmlns="http://schema.datacite.org/oai/oai-1.1/" '
            'xsi:schemaLocation="http://schema.datacite.org/oai/oai-1.1/ http://schema.datacite.org/oai/oai-1.1/oai.xsd">'
            f"<schemaVersion>{version}</schemaVersion><datacentreSymbol>{symbol}</datacentreSymbol>"
            f"<payload>{resource}</payload></oai_datacite>"
        )

    return "datacite", derive


@dataclass(frozen=True)
class OaiRecord:
    """A record of a corpus base: its header and its metadata bodies by prefix."""

    identifier: str
    datestamp: datetime
    sets: tuple[str, ...] = ()
    bodies: Mapping[str, str] = field(default_factory=dict)
    listed: frozenset[str] = frozenset()
    deleted: bool = False


class OaiListBase:
    """Corpus records held in memory, in the order given (sorted by datestamp unless the replica lists by index)."""

    def __init__(self, records: Sequence[OaiRecord]) -> None:
        self.records = list(records)
        self._positions = {r.identifier: i for i, r in enumerate(self.records)}
        stamps = [r.datestamp for r in self.records]
        self._monotonic = all(a <= b for a, b in pairwise(stamps))

    def __len__(self) -> int:
        return len(self.records)

    def native_id(self, index: int) -> str:
        return self.records[index].identifier

    def record(self, index: int) -> dict[str, Any]:
        r = self.records[index]
        return {"identifier": r.identifier, "sets": list(r.sets), "bodies": dict(r.bodies)}

    def updated(self, index: int) -> datetime:
        return self.records[index].datestamp

    def index_of(self, native_id: str) -> int | None:
        return self._positions.get(native_id)

    def sets_of(self, index: int) -> tuple[str, ...]:
        return self.records[index].sets

    def formats_of(self, index: int) -> frozenset[str]:
        return frozenset(self.records[index].bodies)

    def listed_of(self, index: int) -> frozenset[str]:
        return self.records[index].listed

    def deleted_of(self, index: int) -> bool:
        return self.records[index].deleted

    def count(self, lo: int, hi: int, set_spec: str | None, prefixes: frozenset[str]) -> int | None:
        return None

    @property
    def monotonic(self) -> bool:
        return self._monotonic
