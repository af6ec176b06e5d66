"""The OAI-PMH 2.0 provider at `/oai`: the catalogue for harvesters (aggregators, OpenAIRE, other dmlakes).

Verbs (GET with a query, or POST `application/x-www-form-urlencoded`; answers are `text/xml`, HTTP 200 also for
protocol errors, gzip-compressed when the harvester accepts it):

* `Identify`: repositoryName, baseURL, protocolVersion 2.0, adminEmail, earliestDatestamp, deletedRecord
  `persistent`, granularity `YYYY-MM-DDThh:mm:ssZ`, compression `gzip`, and an `oai-identifier` description.
* `ListMetadataFormats` [identifier]: `oai_dc` and `oai_datacite` (`portal.oai_formats`); for one item, the formats
  it can be written in (a deleted item has none: `noMetadataFormats`).
* `ListSets`: `source`, `experiment`, `messenger` and their members (`portal.oai_sets`), each with a Dublin Core
  setDescription; all in one answer (there are tens of sets, not thousands).
* `ListIdentifiers`, `ListRecords` (metadataPrefix, [from], [until], [set] | resumptionToken) and `GetRecord`
  (identifier, metadataPrefix).

Items are the catalogue's records, each from one source (a dataset that two sources publish is two items: each
carries its own provenance). Identifiers are `oai:<repository identifier>:<source>/<native id>`, the tail of the
dmlake record URI (percent-encoded), so they are as stable as the record URIs. Datestamps are the catalogue row's
`updated_at` (UTC, to the second): the time dmlake last stored a change of the record (new content or a tombstone),
which is what an incremental harvester needs, not the source's own modification date. `from` and `until` are
inclusive, at either granularity (both of the same one). A record tombstoned in the catalogue is answered as
`<header status="deleted">` for good, in the sets of its last version.

Lists are in (datestamp, identifier) order and page by resumption tokens (`portal.oai_tokens`): stateless, signed,
valid for a day by default (at least ten minutes) and across restarts, with `cursor`, `completeListSize` and
`expirationDate`. The upper end of a list is frozen at its first request (its `until`, else that moment): every
record unchanged during the listing is delivered exactly once; a record that changes meanwhile gets a later
datestamp and is not repeated in this list — the next incremental harvest, `from` this list's first responseDate,
gets its new version (or its deletion). A record that a format cannot express is left out of that format's lists
(and GetRecord answers `cannotDisseminateFormat`). Every error code the protocol defines is used where it applies;
a well-formed set that does not exist selects nothing (`noRecordsMatch`), and a repository without records has no
sets (`noSetHierarchy`).

A record committed to the catalogue while a list request is being answered can carry a datestamp a moment before
that request's responseDate and still be missing from its answer; harvesters should overlap incremental harvests
by a few seconds (dmlake's own OAI connector overlaps by an hour).
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI, Request
from fastapi.responses import Response
from lxml import etree
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from dmlake.lake import Lake
from harvester.schema import sources as sources_table
from ontology.model import RECORD_ID_BASE, record_id, split_record_id
from portal import oai_xml as xml
from portal.oai_formats import FORMATS, CannotWrite, unwritable_stored
from portal.oai_provenance import provenance
from portal.oai_sets import GROUPS, SET_SPEC, set_description
from portal.oai_settings import OaiSettings
from portal.oai_store import WHOLE_REPOSITORY, Item, OaiStore, Selection, datestamp, stamp_of
from portal.oai_tokens import BadToken, ListPosition, TokenCodec, load_or_create_key

MEDIA_TYPE = "text/xml; charset=utf-8"
GRANULARITY = "YYYY-MM-DDThh:mm:ssZ"
OAI_IDENTIFIER_NAMESPACE = "http://www.openarchives.org/OAI/2.0/oai-identifier"
OAI_IDENTIFIER_SCHEMA = "http://www.openarchives.org/OAI/2.0/oai-identifier.xsd"
METADATA_PREFIX = re.compile(r"^[A-Za-z0-9\-_.!~*'()]+$")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_SECONDS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")

ARGUMENTS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "Identify": (frozenset(), frozenset()),
    "ListMetadataFormats": (frozenset(), frozenset({"identifier"})),
    "ListSets": (frozenset(), frozenset({"resumptionToken"})),
    "GetRecord": (frozenset({"identifier", "metadataPrefix"}), frozenset()),
    "ListIdentifiers": (frozenset({"metadataPrefix"}), frozenset({"from", "until", "set", "resumptionToken"})),
    "ListRecords": (frozenset({"metadataPrefix"}), frozenset({"from", "until", "set", "resumptionToken"})),
}
"""Required and optional arguments of each verb (`resumptionToken` is exclusive: with it, nothing is required)."""


class OaiError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class _BadRequest(Exception):
    """badVerb or badArgument: the answer's request element carries the base URL only."""

    def __init__(self, errors: list[tuple[str, str]]) -> None:
        super().__init__(errors)
        self.errors = errors


class OaiProvider:
    def __init__(self, lake: Lake, settings: OaiSettings) -> None:
        self.lake = lake
        self.settings = settings
        self.store = OaiStore(lake.home.path, lake.catalogue, unwritable_stored)
        self.tokens = TokenCodec(load_or_create_key(lake.home.path))
        self.identifier_prefix = f"oai:{settings.repository_identifier}:"

    # -- identifiers ---------------------------------------------------------------------------------------------
    def identifier(self, of_record: str) -> str:
        return self.identifier_prefix + of_record.removeprefix(RECORD_ID_BASE)

    def record_id(self, identifier: str) -> str | None:
        if not identifier.startswith(self.identifier_prefix):
            return None
        try:
            return record_id(*split_record_id(identifier.removeprefix(self.identifier_prefix)))
        except ValueError:
            return None

    # -- one request ---------------------------------------------------------------------------------------------
    def respond(self, pairs: Sequence[tuple[str, str]], base_url: str) -> bytes:
        now = self.settings.clock()
        base_url = self.settings.base_url or base_url
        try:
            verb, arguments = self._arguments(pairs)
        except _BadRequest as bad:
            root = xml.envelope(now, base_url, None)
            xml.add_errors(root, bad.errors)
            return xml.serialize(root)
        root = xml.envelope(now, base_url, {"verb": verb, **arguments})
        try:
            self.store.catch_up()
            handlers = {
                "Identify": self._identify,
                "ListMetadataFormats": self._list_metadata_formats,
                "ListSets": self._list_sets,
                "GetRecord": self._get_record,
                "ListIdentifiers": self._list_identifiers,
                "ListRecords": self._list_records,
            }
            handlers[verb](root, arguments, now)
        except OaiError as error:
            root = xml.envelope(now, base_url, {"verb": verb, **arguments})
            xml.add_errors(root, [(error.code, error.message)])
        except _BadRequest as bad:
            root = xml.envelope(now, base_url, None)
            xml.add_errors(root, bad.errors)
        return xml.serialize(root)

    @staticmethod
    def _arguments(pairs: Sequence[tuple[str, str]]) -> tuple[str, dict[str, str]]:
        verbs = [value for key, value in pairs if key == "verb"]
        if len(verbs) != 1 or verbs[0] not in ARGUMENTS:
            reason = (
                "the verb argument is missing"
                if not verbs
                else "the verb argument is repeated"
                if len(verbs) > 1
                else f"{verbs[0]!r} is not an OAI-PMH verb"
            )
            raise _BadRequest([("badVerb", f"{reason}; use one of {', '.join(ARGUMENTS)}")])
        verb = verbs[0]
        required, optional = ARGUMENTS[verb]
        arguments: dict[str, str] = {}
        errors: list[str] = []
        for key, value in pairs:
            if key == "verb":
                continue
            if key not in required | optional:
                errors.append(f"{verb} takes no argument {key!r}")
            elif key in arguments:
                errors.append(f"the argument {key!r} is repeated")
            elif not value.strip():
                errors.append(f"the argument {key!r} is empty")
            elif _NOT_XML.search(value):
                errors.append(f"the argument {key!r} holds characters XML cannot carry")
            else:
                arguments[key] = value
        if "resumptionToken" in arguments:
            others = sorted(set(arguments) - {"resumptionToken"})
            if others:
                errors.append(f"resumptionToken is an exclusive argument; {', '.join(others)} may not come with it")
        else:
            errors += [f"{verb} requires the argument {name!r}" for name in sorted(required - set(arguments))]
        if "metadataPrefix" in arguments and not METADATA_PREFIX.match(arguments["metadataPrefix"]):
            errors.append(f"{arguments['metadataPrefix']!r} is not a metadataPrefix")
        if "set" in arguments and not SET_SPEC.match(arguments["set"]):
            errors.append(f"{arguments['set']!r} is not a setSpec (letters, digits, -_.!~*'() and ':' between parts)")
        for name in ("from", "until"):
            if name in arguments and not (_DAY.match(arguments[name]) or _SECONDS.match(arguments[name])):
                errors.append(f"{name}={arguments[name]!r} is not a UTC datestamp (YYYY-MM-DD or {GRANULARITY})")
        if errors:
            raise _BadRequest([("badArgument", message) for message in errors])
        return verb, arguments

    # -- verbs ---------------------------------------------------------------------------------------------------
    def _identify(self, root: etree._Element, _arguments: dict[str, str], now: datetime) -> None:
        identify = xml.add(root, "Identify")
        xml.add(identify, "repositoryName", self.settings.repository_name)
        xml.add(identify, "baseURL", root.findtext(f"{{{xml.OAI_NAMESPACE}}}request"))
        xml.add(identify, "protocolVersion", "2.0")
        for email in self.settings.admin_emails:
            xml.add(identify, "adminEmail", email)
        earliest = self.store.earliest()
        xml.add(identify, "earliestDatestamp", datestamp(earliest) if earliest else xml.utc_seconds(now))
        xml.add(identify, "deletedRecord", "persistent")
        xml.add(identify, "granularity", GRANULARITY)
        xml.add(identify, "compression", "gzip")
        description = xml.add(identify, "description")
        scheme = etree.SubElement(
            description,
            f"{{{OAI_IDENTIFIER_NAMESPACE}}}oai-identifier",
            nsmap={None: OAI_IDENTIFIER_NAMESPACE, "xsi": xml.XSI},
        )
        scheme.set(f"{{{xml.XSI}}}schemaLocation", f"{OAI_IDENTIFIER_NAMESPACE} {OAI_IDENTIFIER_SCHEMA}")
        for name, value in (
            ("scheme", "oai"),
            ("repositoryIdentifier", self.settings.repository_identifier),
            ("delimiter", ":"),
            ("sampleIdentifier", f"{self.identifier_prefix}zenodo/1234567"),
        ):
            etree.SubElement(scheme, f"{{{OAI_IDENTIFIER_NAMESPACE}}}{name}").text = value

    def _list_metadata_formats(self, root: etree._Element, arguments: dict[str, str], _now: datetime) -> None:
        prefixes = list(FORMATS)
        if "identifier" in arguments:
            item = self._item(arguments["identifier"])
            if item.deleted:
                raise OaiError(
                    "noMetadataFormats",
                    f"{arguments['identifier']} was deleted: only its header remains (GetRecord answers it)",
                )
            prefixes = [p for p in prefixes if self.store.writable(item.record_id, p)]
            if not prefixes:
                raise OaiError("noMetadataFormats", f"{arguments['identifier']} cannot be written in any format")
        answer = xml.add(root, "ListMetadataFormats")
        for prefix in prefixes:
            metadata_format = xml.add(answer, "metadataFormat")
            xml.add(metadata_format, "metadataPrefix", prefix)
            xml.add(metadata_format, "schema", FORMATS[prefix].schema)
            xml.add(metadata_format, "metadataNamespace", FORMATS[prefix].namespace)

    def _list_sets(self, root: etree._Element, arguments: dict[str, str], _now: datetime) -> None:
        if "resumptionToken" in arguments:
            raise OaiError("badResumptionToken", "this repository lists all its sets at once and issues no tokens")
        sets = self.store.sets()
        if not sets:
            raise OaiError("noSetHierarchy", "the catalogue has no records yet, so no sets")
        sources = self._sources()
        answer = xml.add(root, "ListSets")
        groups = [g for g in GROUPS if any(s.group == g for s in sets)]
        for group in groups:
            entry = xml.add(answer, "set")
            xml.add(entry, "setSpec", group)
            xml.add(entry, "setName", GROUPS[group])
            for member in (s for s in sets if s.group == group):
                entry = xml.add(answer, "set")
                xml.add(entry, "setSpec", member.spec)
                xml.add(entry, "setName", member.name)
                if group == "source":
                    kind, url = sources.get(member.label, ("unknown", None))
                    text = f"Dataset releases dmlake harvested from the source {member.label!r} ({kind} connector)"
                    described = set_description(text + (f" at {url}." if url else "."), url)
                else:
                    text = f"Dataset releases of the {group} {member.label}."
                    described = set_description(text, member.uri)
                xml.add(entry, "setDescription").append(described)

    def _get_record(self, root: etree._Element, arguments: dict[str, str], _now: datetime) -> None:
        prefix = arguments["metadataPrefix"]
        self._known_format(prefix)
        item = self._item(arguments["identifier"])
        if not item.deleted and not self.store.writable(item.record_id, prefix):
            raise OaiError("cannotDisseminateFormat", self._why_not(item, prefix))
        answer = xml.add(root, "GetRecord")
        if not self._add_records(answer, [item], prefix, full=True):
            raise OaiError("cannotDisseminateFormat", self._why_not(item, prefix))

    def _list_identifiers(self, root: etree._Element, arguments: dict[str, str], now: datetime) -> None:
        self._list(root, "ListIdentifiers", arguments, now)

    def _list_records(self, root: etree._Element, arguments: dict[str, str], now: datetime) -> None:
        self._list(root, "ListRecords", arguments, now)

    # -- lists ---------------------------------------------------------------------------------------------------
    def _list(self, root: etree._Element, verb: str, arguments: dict[str, str], now: datetime) -> None:
        position = self._list_position(verb, arguments, now)
        selection = Selection(position.set_spec or WHOLE_REPOSITORY, position.prefix, position.lower, position.upper)
        size = self.settings.page_size if verb == "ListRecords" else self.settings.identifiers_page_size
        items = self.store.page(selection, position.after, size + 1)
        more = len(items) > size
        items = items[:size]
        if not items:
            raise OaiError("noRecordsMatch", self._nothing_matches(position))
        answer = xml.add(root, verb)
        if verb == "ListRecords":
            self._add_records(answer, items, position.prefix, full=True)
            if len(answer) == 0:  # every record of the page failed to be written
                raise OaiError("noRecordsMatch", f"no record of this page can be written as {position.prefix}")
        else:
            self._add_records(answer, items, position.prefix, full=False)
        resumed = position.after is not None
        if not more and not resumed:
            return
        complete = self.store.count(selection)
        if more:
            last = items[-1]
            following = replace(position, after=(last.stamp, last.record_id), cursor=position.cursor + len(items))
            expires = now + self.settings.token_lifetime
            xml.add_resumption_token(answer, self.tokens.encode(following, expires), position.cursor, complete, expires)
        else:
            xml.add_resumption_token(answer, "", position.cursor, complete, None)

    def _list_position(self, verb: str, arguments: dict[str, str], now: datetime) -> ListPosition:
        if "resumptionToken" in arguments:
            try:
                return self.tokens.decode(arguments["resumptionToken"], verb, now)[0]
            except BadToken as error:
                raise OaiError("badResumptionToken", str(error)) from None
        prefix = arguments["metadataPrefix"]
        self._known_format(prefix)
        lower, upper = _bounds(arguments.get("from"), arguments.get("until"))
        frozen = stamp_of(now)
        set_spec = arguments.get("set")
        if set_spec is not None:
            self._known_set(set_spec)
        return ListPosition(
            verb=verb,
            prefix=prefix,
            set_spec=set_spec,
            lower=lower,
            upper=min(upper, frozen) if upper else frozen,
            after=None,
            cursor=0,
        )

    def _add_records(self, parent: etree._Element, items: list[Item], prefix: str, full: bool) -> int:
        """Append each item (a header, or a whole record); returns how many were appended."""
        specs = self.store.sets_of_items([i.record_id for i in items])
        contents = self.store.content([i.record_id for i in items if not i.deleted]) if full else {}
        metadata_format = FORMATS[prefix]
        added = 0
        for item in items:
            record_element = xml.add(parent, "record") if full else parent
            xml.add_header(
                record_element,
                self.identifier(item.record_id),
                datestamp(item.stamp),
                specs.get(item.record_id, []),
                item.deleted,
            )
            added += 1
            if not full or item.deleted:
                continue
            content = contents.get(item.record_id)
            try:
                if content is None:
                    raise CannotWrite(f"{item.record_id} is no longer in the catalogue")
                metadata = metadata_format.write(content.record, self.settings)
            except CannotWrite:
                parent.remove(record_element)
                added -= 1
                continue
            xml.add(record_element, "metadata").append(metadata)
            origin = provenance(content.record, self._raw_payload)
            if origin is not None:
                xml.add(record_element, "about").append(origin)
        return added

    # -- helpers -------------------------------------------------------------------------------------------------
    def _item(self, identifier: str) -> Item:
        wanted = self.record_id(identifier)
        item = self.store.item(wanted) if wanted else None
        if item is None:
            raise OaiError(
                "idDoesNotExist",
                f"{identifier!r} is not an item of this repository (identifiers are {self.identifier_prefix}"
                "<source>/<native id>; ListIdentifiers names them)",
            )
        return item

    @staticmethod
    def _known_format(prefix: str) -> None:
        if prefix not in FORMATS:
            raise OaiError(
                "cannotDisseminateFormat",
                f"metadataPrefix {prefix!r} is not served here; ListMetadataFormats names {', '.join(FORMATS)}",
            )

    def _known_set(self, spec: str) -> None:
        sets = self.store.sets()
        if not sets:
            raise OaiError("noSetHierarchy", "the catalogue has no records yet, so no sets")
        known = {s.spec for s in sets} | {s.group for s in sets}
        if spec not in known:
            raise OaiError("noRecordsMatch", f"there is no set {spec!r} (ListSets names the sets)")

    def _why_not(self, item: Item, prefix: str) -> str:
        content = self.store.content([item.record_id]).get(item.record_id)
        reason = "it is no longer in the catalogue"
        if content is not None:
            try:
                FORMATS[prefix].check(content.record)
                FORMATS[prefix].write(content.record, self.settings)
                reason = "it could not be written"
            except CannotWrite as error:
                reason = str(error)
        return f"{self.identifier(item.record_id)} cannot be disseminated as {prefix}: {reason}"

    @staticmethod
    def _nothing_matches(position: ListPosition) -> str:
        if position.after is not None:
            return "the rest of this list changed meanwhile: nothing is left of it (harvest again from its start date)"
        scope = f" in set {position.set_spec!r}" if position.set_spec else ""
        return f"no record{scope} has a datestamp in the range asked for and can be written as {position.prefix}"

    def _raw_payload(self, sha256: str) -> bytes | None:
        found = self.lake.catalogue.raw_payload(sha256)
        return found[0] if found else None

    def _sources(self) -> dict[str, tuple[str, str]]:
        with self.lake.catalogue.engine.connect() as conn:
            rows = conn.execute(select(sources_table.c.name, sources_table.c.kind, sources_table.c.url))
            return {row.name: (row.kind, row.url) for row in rows}


def _bounds(lower: str | None, upper: str | None) -> tuple[str | None, str | None]:
    """Inclusive stamps of `from` and `until`; badArgument for mixed granularities or impossible dates."""
    if lower and upper and len(lower) != len(upper):
        raise _BadRequest(
            [("badArgument", f"from={lower} and until={upper} have different granularities; use one for both")]
        )
    return _stamp(lower, "from", end=False), _stamp(upper, "until", end=True)


def _stamp(value: str | None, name: str, end: bool) -> str | None:
    if value is None:
        return None
    try:
        if len(value) == 10:
            moment = datetime.strptime(value, "%Y-%m-%d")
            if end:
                moment += timedelta(days=1, microseconds=-1)
        else:
            moment = datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ")
            if end:
                moment += timedelta(seconds=1, microseconds=-1)
    except ValueError:
        raise _BadRequest([("badArgument", f"{name}={value} is not a date that exists")]) from None
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# -- the routes -------------------------------------------------------------------------------------------------
def _contact(lake: Lake) -> str | None:
    try:
        return lake.sources().contact
    except Exception:  # an unreadable sources file must not keep the provider from starting; Identify falls back
        return None


def add_oai_routes(app: FastAPI, lake: Lake, settings: OaiSettings | None = None) -> OaiProvider:
    """Serve the OAI-PMH provider at `/oai` (GET and POST); settings from the environment unless given."""
    provider = OaiProvider(lake, settings or OaiSettings.from_env(contact=_contact(lake)))
    description = (
        "OAI-PMH 2.0 (verbs Identify, ListMetadataFormats, ListSets, ListIdentifiers, ListRecords, GetRecord; "
        "metadata formats oai_dc and oai_datacite; sets source:, experiment:, messenger:). Protocol errors are "
        "answered with HTTP 200 and an <error> element, as the protocol requires."
    )
    responses: dict[int | str, dict[str, Any]] = {200: {"content": {"text/xml": {}}, "description": "An answer."}}

    def answer(request: Request, pairs: list[tuple[str, str]]) -> Response:
        body = provider.respond(pairs, str(request.url.replace(query=None)))
        headers = {"Vary": "Accept-Encoding"}
        if "gzip" in request.headers.get("accept-encoding", "").lower() and len(body) > 1024:
            body = gzip.compress(body, compresslevel=5)
            headers["Content-Encoding"] = "gzip"
        return Response(body, media_type=MEDIA_TYPE, headers=headers)

    @app.get("/oai", summary="OAI-PMH 2.0 provider", description=description, tags=["oai-pmh"], responses=responses)
    def oai_get(request: Request) -> Response:
        return answer(request, request.query_params.multi_items())

    @app.post("/oai", summary="OAI-PMH 2.0 provider (form)", description=description, tags=["oai-pmh"])
    async def oai_post(request: Request) -> Response:
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        raw = (await request.body()).decode("utf-8", errors="replace")
        pairs = parse_qsl(raw, keep_blank_values=True) if content_type == "application/x-www-form-urlencoded" else []
        pairs += request.query_params.multi_items()
        return await run_in_threadpool(answer, request, pairs)

    return provider
