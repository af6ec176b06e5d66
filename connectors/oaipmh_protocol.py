"""OAI-PMH 2.0 on the wire: requests through the shared HttpClient, responses read with the hardened parser.

This module knows the protocol (verbs, arguments, error codes, resumption tokens, datestamp granularities) and
nothing about dmlake's harvest state; `connectors.oaipmh` drives it page by page with checkpoints.

Errors. OAI-PMH errors arrive as `<error code="...">` elements, with HTTP 200 from most servers and HTTP 422 from
invenio-oaiserver (Zenodo, CERN Open Data); both are read the same way. `noRecordsMatch` is not an error for a
harvester (an empty result), so `list_page` returns an empty page for it; every other code raises `OaiError`.
A 200 whose body is not well-formed XML is treated as a transfer cut short and fetched again (bounded), as the
HttpClient does for JSON.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from lxml import etree

from connectors.http import HttpClient, HttpError
from connectors.xmlsafe import XmlError, parse_xml

log = logging.getLogger(__name__)

OAI_NS = "http://www.openarchives.org/OAI/2.0/"
_OAI = "{" + OAI_NS + "}"
OAI_ERROR_STATUSES = (400, 404, 422)
"""HTTP statuses some servers give OAI error bodies (invenio-oaiserver: 422); the body decides what it means."""
DAY = "YYYY-MM-DD"
SECONDS = "YYYY-MM-DDThh:mm:ssZ"
MALFORMED_BODY_ATTEMPTS = 4


class OaiError(Exception):
    """An OAI-PMH error the repository answered (`code` as in the protocol), with the request that caused it."""

    def __init__(self, code: str, message: str, url: str, status: int | None = None) -> None:
        where = f" (HTTP {status})" if status not in (None, 200) else ""
        super().__init__(f"{url}: OAI-PMH error {code}{where}: {message or 'no message'}")
        self.code = code
        self.message = message
        self.url = url
        self.status = status


@dataclass(frozen=True)
class Identify:
    repository_name: str
    base_url: str
    protocol_version: str
    earliest_datestamp: str
    deleted_record: str
    granularity: str
    response_date: str = ""
    """When the repository answered (its clock): the start of a run, from which the next run's watermark comes."""


@dataclass(frozen=True)
class MetadataFormat:
    prefix: str
    schema: str
    namespace: str


@dataclass(frozen=True)
class OaiSet:
    spec: str
    name: str
    """The setName, white space folded ("" when the repository gives none)."""


@dataclass(frozen=True)
class Header:
    identifier: str
    datestamp: str
    set_specs: tuple[str, ...]
    deleted: bool


@dataclass(frozen=True)
class ResumptionToken:
    token: str | None
    cursor: int | None = None
    complete_list_size: int | None = None
    expiration_date: str | None = None


@dataclass
class ListPage:
    """One answer to ListRecords/ListIdentifiers/ListSets: its items and the token for the next one."""

    response_date: str
    items: list[etree._Element] = field(default_factory=list)
    token: ResumptionToken | None = None
    no_records_match: bool = False

    @property
    def next_token(self) -> str | None:
        return self.token.token if self.token is not None and self.token.token else None


# -- datestamps -----------------------------------------------------------------------------------------------------
def parse_datestamp(value: str) -> datetime:
    """A UTCdatetime of either granularity as an aware datetime (a day means its first second)."""
    text = value.strip()
    try:
        if len(text) == 10:
            return datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)
        return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        raise ValueError(f"{value!r} is not an OAI-PMH datestamp (YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ)") from None


def format_datestamp(moment: datetime, granularity: str) -> str:
    moment = moment.astimezone(UTC)
    if granularity == DAY:
        return moment.strftime("%Y-%m-%d")
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def at_granularity(value: str, granularity: str) -> str:
    """A datestamp rewritten at the repository's granularity (a day-granular server refuses seconds: badArgument)."""
    return format_datestamp(parse_datestamp(value), granularity)


def minus(value: str, delta: timedelta, granularity: str) -> str:
    return format_datestamp(parse_datestamp(value) - delta, granularity)


# -- reading responses ----------------------------------------------------------------------------------------------
_HEADER = _OAI + "header"
_IDENTIFIER = _OAI + "identifier"
_DATESTAMP = _OAI + "datestamp"
_SET_SPEC = _OAI + "setSpec"


def header_fields(header: etree._Element) -> tuple[str, str, tuple[str, ...]]:
    """A `<header>`'s identifier, datestamp (stripped, "" when absent) and non-empty set specs, in one pass over its
    children; the first identifier and datestamp count, as `findtext` takes them."""
    identifier = datestamp = None
    specs: list[str] = []
    for child in header:
        tag = child.tag
        if tag == _IDENTIFIER:
            identifier = (child.text or "") if identifier is None else identifier
        elif tag == _DATESTAMP:
            datestamp = (child.text or "") if datestamp is None else datestamp
        elif tag == _SET_SPEC:
            spec = (child.text or "").strip()
            if spec:
                specs.append(spec)
    return (identifier or "").strip(), (datestamp or "").strip(), tuple(specs)


def header_of(element: etree._Element) -> Header:
    """The header of a `<record>` or a bare `<header>` (ListIdentifiers)."""
    header = element if element.tag == _HEADER else element.find(_HEADER)
    if header is None:
        raise ValueError("a record without <header>")
    identifier, datestamp, specs = header_fields(header)
    if not identifier or not datestamp:
        raise ValueError(f"a header without identifier or datestamp: {etree.tostring(header)[:200]!r}")
    return Header(identifier, datestamp, specs, header.get("status") == "deleted")


def record_payload(record: etree._Element) -> bytes:
    """A `<record>` as a standalone UTF-8 document, its in-scope namespace declarations included."""
    return etree.tostring(record, encoding="UTF-8", xml_declaration=False, with_tail=False)


def _errors(root: etree._Element) -> list[tuple[str, str]]:
    return [(e.get("code") or "unknown", (e.text or "").strip()) for e in root.iterfind(_OAI + "error")]


def _token(parent: etree._Element) -> ResumptionToken | None:
    element = parent.find(_OAI + "resumptionToken")
    if element is None:
        return None

    def number(name: str) -> int | None:
        value = element.get(name)
        return int(value) if value is not None and value.strip().isdigit() else None

    text = (element.text or "").strip() or None
    return ResumptionToken(text, number("cursor"), number("completeListSize"), element.get("expirationDate"))


class OaiClient:
    """The six verbs of one repository, over the shared client."""

    def __init__(self, http: HttpClient, base_url: str, name: str) -> None:
        self.http = http
        self.base_url = base_url
        self.name = name

    def url_for(self, **params: str) -> str:
        # built by hand: httpx.URL costs ~0.3 ms, and every harvested record gets one (its GetRecord URL)
        return f"{self.base_url}{'&' if '?' in self.base_url else '?'}{urlencode(params)}"

    def call(self, params: Mapping[str, str], what: str) -> tuple[etree._Element, int]:
        """One request; the parsed OAI-PMH root and the HTTP status. Raises `OaiError` for any `<error>`."""
        root, status = self._fetch(params, what)
        errors = _errors(root)
        if errors:
            code, message = errors[0]
            raise OaiError(code, message, self.url_for(**params), status)
        if status != 200:
            raise HttpError(self.url_for(**params), f"HTTP {status} without an OAI-PMH error element", status)
        return root, status

    def _fetch(self, params: Mapping[str, str], what: str) -> tuple[etree._Element, int]:
        for attempt in range(1, MALFORMED_BODY_ATTEMPTS + 1):
            response = self.http.request("GET", self.base_url, params=params, ok_statuses=OAI_ERROR_STATUSES)
            try:
                root = parse_xml(response.content, f"{what} of {self.name}")
            except XmlError as error:
                if response.status_code != 200:
                    raise HttpError(str(response.request.url), f"{error}", response.status_code) from None
                if attempt == MALFORMED_BODY_ATTEMPTS:
                    raise HttpError(str(response.request.url), f"{error} (after {attempt} attempts)", 200) from None
                # a 200 that does not parse is a body cut short or garbled in transit: fetch it again
                self.http.stats.retries += 1
                log.info("%s: %s; fetching again (attempt %d)", self.name, error, attempt + 1)
                continue
            if root.tag != _OAI + "OAI-PMH":
                raise HttpError(str(response.request.url), f"not an OAI-PMH response (root {root.tag})", 200)
            return root, response.status_code
        raise AssertionError("unreachable")

    # -- verbs ------------------------------------------------------------------------------------------------------
    def identify(self) -> Identify:
        root, _ = self.call({"verb": "Identify"}, "Identify")
        node = root.find(_OAI + "Identify")
        if node is None:
            raise OaiError("badResponse", "Identify answer without <Identify>", self.url_for(verb="Identify"))

        def text(name: str, default: str = "") -> str:
            return (node.findtext(_OAI + name) or default).strip()

        return Identify(
            repository_name=text("repositoryName"),
            base_url=text("baseURL", self.base_url),
            protocol_version=text("protocolVersion"),
            earliest_datestamp=text("earliestDatestamp"),
            deleted_record=text("deletedRecord", "no"),
            granularity=text("granularity", DAY),
            response_date=(root.findtext(_OAI + "responseDate") or "").strip(),
        )

    def list_metadata_formats(self) -> list[MetadataFormat]:
        root, _ = self.call({"verb": "ListMetadataFormats"}, "ListMetadataFormats")
        return [
            MetadataFormat(
                (f.findtext(_OAI + "metadataPrefix") or "").strip(),
                (f.findtext(_OAI + "schema") or "").strip(),
                (f.findtext(_OAI + "metadataNamespace") or "").strip(),
            )
            for f in root.iter(_OAI + "metadataFormat")
        ]

    def list_sets(self, max_pages: int | None = None) -> tuple[list[str], bool]:
        """Set specs, and whether the listing was read to its end (False: stopped after `max_pages`)."""
        sets, complete = self.list_named_sets(max_pages)
        return [s.spec for s in sets], complete

    def list_named_sets(self, max_pages: int | None = None) -> tuple[list[OaiSet], bool]:
        """The sets (spec and name; a set without a spec is passed over), and whether the listing was read to its
        end (False: stopped after `max_pages`). A repository without sets (`noSetHierarchy`) has none."""
        sets: list[OaiSet] = []
        params: dict[str, str] = {"verb": "ListSets"}
        pages = 0
        while True:
            try:
                root, _ = self.call(params, "ListSets")
            except OaiError as error:
                if error.code == "noSetHierarchy":
                    return [], True
                raise
            node = root.find(_OAI + "ListSets")
            if node is None:
                return sets, True
            for element in node.iterfind(_OAI + "set"):
                spec = (element.findtext(_OAI + "setSpec") or "").strip()
                if spec:
                    sets.append(OaiSet(spec, " ".join((element.findtext(_OAI + "setName") or "").split())))
            pages += 1
            token = _token(node)
            if token is None or not token.token:
                return sets, True
            if max_pages is not None and pages >= max_pages:
                return sets, False
            params = {"verb": "ListSets", "resumptionToken": token.token}

    def list_page(self, verb: str, params: Mapping[str, str]) -> ListPage:
        """One page of ListRecords or ListIdentifiers (`params` without `verb`)."""
        request = {"verb": verb, **params}
        try:
            root, _ = self.call(request, verb)
        except OaiError as error:
            if error.code == "noRecordsMatch":
                return ListPage(response_date="", no_records_match=True)
            raise
        date = (root.findtext(_OAI + "responseDate") or "").strip()
        node = root.find(_OAI + verb)
        if node is None:
            raise OaiError("badResponse", f"{verb} answer without <{verb}>", self.url_for(**request))
        tag = _OAI + ("record" if verb == "ListRecords" else "header")
        return ListPage(date, list(node.iterfind(tag)), _token(node))

    def get_record(self, identifier: str, prefix: str) -> etree._Element:
        params = {"verb": "GetRecord", "identifier": identifier, "metadataPrefix": prefix}
        root, _ = self.call(params, f"GetRecord {identifier}")
        record = root.find(f"{_OAI}GetRecord/{_OAI}record")
        if record is None:
            raise OaiError("badResponse", "GetRecord answer without <record>", self.url_for(**params))
        return record

    def iter_pages(self, verb: str, params: Mapping[str, str]) -> Iterator[ListPage]:
        """Every page of a listing (no checkpointing: for benchmarks and small listings)."""
        page = self.list_page(verb, params)
        yield page
        while page.next_token:
            page = self.list_page(verb, {"resumptionToken": page.next_token})
            yield page


def request_params(**values: Any) -> dict[str, str]:
    """OAI arguments without the unset ones (`from_` is spelled `from` on the wire)."""
    return {("from" if k == "from_" else k): str(v) for k, v in values.items() if v is not None}
