"""Zenodo's OAI-PMH endpoint (`/oai2d`, invenio-oaiserver), replayed from the recorded sessions or generated.

From the corpus (`zenodo/oai/extracted/`): every identifier of every recorded answer (347), with its latest
recorded header (datestamp, sets, `status="deleted"`) and the metadata bodies recorded for it (`oai_dc` for 216,
the DataCite kernel for 54 of those). They are served in the order Zenodo listed them (its listing follows the
search index, not the datestamp), 50 per page, through real resumption tokens. `oai_datacite` is the recorded
DataCite kernel inside DataCite's OAI envelope, as invenio's serializer writes it (no oai_datacite answer was
recorded). The 131 identifiers recorded only as ListIdentifiers headers are listed by ListIdentifiers under the
prefix they were recorded with; their metadata was never recorded, so GetRecord answers `cannotDisseminateFormat`
for them and ListRecords does not list them. Errors are answered as Zenodo answers them — HTTP 422, invenio's
envelope, the recorded codes and messages (`badArgument` "metadataPrefix does not exist" for an unknown prefix,
`noRecordsMatch` for an unknown set or an empty range, `badResumptionToken`, `idDoesNotExist`, and "You have passed
too many arguments." for a token with other arguments).

Generated: exactly the records `ZenodoReplica.generated(count, seed)` serves (record i of
`zenodo_generate.GeneratedBase`: `oai:zenodo.org:<recid>` with the same DOI, concept DOI, title, creators, dates,
licence and communities), in `oai_dc`, `datacite` and `oai_datacite` rendered from the REST record's own JSON as
InvenioRDM's serializers render it (`zenodo_oai_render`), in its community sets (`user-<slug>`) and Zenodo's
type sets (`openaire_data`, `software`); datestamps are the REST `updated` stamps to the second and grow with i,
so a million records cost nothing until listed.
"""

from __future__ import annotations

import bisect
import json
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

from lxml import etree

from sandbox.replicas.oaipmh import (
    DATACITE,
    OAI_DATACITE,
    OAI_DC,
    SECONDS,
    Item,
    MetadataFormat,
    OaiBaseDefaults,
    OaiListBase,
    OaiPmhReplica,
    OaiRecord,
    RepositoryProfile,
    revise,
    wrap_oai_datacite,
)
from sandbox.replicas.zenodo_generate import GROUP_COMMUNITIES, PERIOD, SHARED_COMMUNITIES, GeneratedBase, Pattern
from sandbox.replicas.zenodo_oai_render import TYPE_SETS, datacite, dublin_core, oai_sets
from sandbox.store import ReplicaStore

_OAI = "{http://www.openarchives.org/OAI/2.0/}"
NAMESPACE_PREFIX = {
    "http://www.openarchives.org/OAI/2.0/oai_dc/": "oai_dc",
    "http://datacite.org/schema/kernel-4": "datacite",
}
OAI_ID_PREFIX = "oai:zenodo.org:"
GENERATED_FORMATS = frozenset(("oai_dc", "datacite"))
COMMUNITIES = (*GROUP_COMMUNITIES.values(), *SHARED_COMMUNITIES)
"""The generated records' communities (slug, title): the REST generator's."""
ZENODO_FORMATS = (
    MetadataFormat(
        "marcxml",
        "https://www.loc.gov/standards/marcxml/schema/MARC21slim.xsd",
        "https://www.loc.gov/standards/marcxml/",
    ),
    OAI_DC,
    DATACITE,
    OAI_DATACITE,
)
ZENODO = RepositoryProfile(
    name="Zenodo",
    path="/oai2d",
    admin_email="info@zenodo.org",
    formats=ZENODO_FORMATS,
    sets=(
        ("openaire_data", "OpenAIRE data sets"),
        ("software", "Software"),
        *((f"user-{slug}", title) for slug, title in COMMUNITIES),
    ),
    granularity=SECONDS,
    deleted_record="no",
    earliest_datestamp="2014-02-03T14:41:33Z",
    error_status=422,
    unknown_prefix=("badArgument", "metadataPrefix does not exist"),
    page_size=50,
    order="index",
    token_lifetime=120.0,
    stylesheet="/static/oai2.xsl",
    derived={"oai_datacite": wrap_oai_datacite("CERN.ZENODO")},
)


def _recover_parser() -> etree.XMLParser:
    # one recorded page (2024, ListIdentifiers) was cut short before </ListIdentifiers>: read what it holds
    return etree.XMLParser(recover=True, resolve_entities=False, no_network=True, load_dtd=False)


def load_corpus(corpus: Path) -> list[OaiRecord] | None:
    folder = corpus / "zenodo" / "oai" / "extracted"
    index = folder / "INDEX.json"
    if not index.is_file():
        return None
    entries = sorted(json.loads(index.read_text()), key=lambda e: e["recorded_at"])
    order: list[str] = []
    headers: dict[str, tuple[str, tuple[str, ...], bool]] = {}
    bodies: dict[str, dict[str, str]] = {}
    listed: dict[str, set[str]] = {}
    for entry in entries:
        if entry["status"] != 200:
            continue
        root = etree.fromstring((folder / Path(entry["file"]).name).read_bytes(), _recover_parser())
        prefix = _prefix_of(entry["uri"])
        for header in root.iter(_OAI + "header"):
            identifier = (header.findtext(_OAI + "identifier") or "").strip()
            if not identifier:
                continue
            if identifier not in headers:
                order.append(identifier)
            specs = tuple((s.text or "").strip() for s in header.iterfind(_OAI + "setSpec"))
            # Zenodo flags the same record, at the same datestamp, deleted in one answer and live in another: a
            # record any answer called deleted is served as deleted
            was_deleted = identifier in headers and headers[identifier][2]
            stamp = (header.findtext(_OAI + "datestamp") or "").strip()
            headers[identifier] = (stamp, specs, was_deleted or _deleted(header))
            record = header.getparent()
            metadata = record.find(_OAI + "metadata") if record is not None and record.tag == _OAI + "record" else None
            if metadata is not None and len(metadata):
                body = metadata[0]
                kind = NAMESPACE_PREFIX.get(etree.QName(body).namespace or "")
                if kind:
                    bodies.setdefault(identifier, {})[kind] = etree.tostring(body, encoding="unicode", with_tail=False)
            elif prefix:
                listed.setdefault(identifier, set()).add(prefix)
    records = [
        OaiRecord(
            identifier=identifier,
            datestamp=datetime.fromisoformat(headers[identifier][0].replace("Z", "+00:00")),
            sets=headers[identifier][1],
            bodies=bodies.get(identifier, {}),
            listed=frozenset(listed.get(identifier, set())),
            deleted=headers[identifier][2],
        )
        for identifier in order
    ]
    return records or None


def _deleted(header: etree._Element) -> bool:
    return header.get("status") == "deleted"


def _prefix_of(uri: str) -> str | None:
    from urllib.parse import parse_qs, urlsplit

    values = parse_qs(urlsplit(uri).query).get("metadataPrefix")
    return values[0] if values else ("oai_dc" if "resumptionToken" in uri else None)


class ZenodoOaiReplica(OaiPmhReplica):
    profile = ZENODO

    def source_options(self) -> dict[str, Any]:
        return {"profile": "zenodo", "metadata_prefix": "oai_dc"}

    @classmethod
    def from_corpus(cls, corpus: Path) -> ZenodoOaiReplica | None:
        records = load_corpus(corpus)
        if records is None:
            return None
        return cls(ReplicaStore(OaiListBase(records), revise))

    @classmethod
    def generated(cls, count: int, seed: int = 0) -> ZenodoOaiReplica:
        return cls(ReplicaStore(GeneratedZenodoBase(count, seed), revise))

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
        base = self.store.base
        if set_spec is not None and isinstance(base, GeneratedZenodoBase) and not base.has_members(set_spec):
            # no record is in the set, edited or not: say so at once instead of scanning a million records
            return iter(())
        return super()._items(prefix, set_spec, lower, upper, after, limit, headers_only)


# -- generated records ----------------------------------------------------------------------------------------------
class GeneratedZenodoBase(OaiBaseDefaults):
    """The records of `ZenodoReplica.generated(count, seed)` as Zenodo's OAI-PMH server serves them.

    Record i is the REST replica's record i (`zenodo_generate.GeneratedBase`), identified `oai:zenodo.org:<recid>`,
    dated by its `updated` stamp to the second, in its community and resource-type sets, its `oai_dc` and
    `datacite` bodies rendered from its RDM JSON when first asked for (`zenodo_oai_render`). Set membership follows
    the REST generator's patterns, which repeat every `PERIOD` records, so a set's size in any index range is
    arithmetic; datestamps grow with i, so a datestamp range is an index range found by bisection.
    """

    def __init__(self, count: int, seed: int = 0) -> None:
        self.rest = GeneratedBase(count, seed)
        self.seed = seed
        members: dict[str, list[int]] = {}
        for residue in range(PERIOD):
            for spec in self._pattern_sets(self.rest.pattern(residue)):
                members.setdefault(spec, []).append(residue)
        self._residues = members
        """Set spec → the residues modulo PERIOD of its members (ascending)."""

    def __len__(self) -> int:
        return len(self.rest)

    def native_id(self, index: int) -> str:
        return f"{OAI_ID_PREFIX}{self.rest.native_id(index)}"

    def index_of(self, native_id: str) -> int | None:
        if not native_id.startswith(OAI_ID_PREFIX):
            return None
        return self.rest.index_of(native_id.removeprefix(OAI_ID_PREFIX))

    def updated(self, index: int) -> datetime:
        # invenio-oaiserver's datestamp is the record's `updated`, to the second
        return self.rest.updated(index).replace(microsecond=0)

    def sets_of(self, index: int) -> tuple[str, ...]:
        return self._pattern_sets(self.rest.pattern(index))

    @staticmethod
    def _pattern_sets(pattern: Pattern) -> tuple[str, ...]:
        type_set = TYPE_SETS.get(pattern.resource_type.split("-")[0])
        return (*(f"user-{slug}" for slug, _ in pattern.communities), *([type_set] if type_set else []))

    def formats_of(self, index: int) -> frozenset[str]:
        return GENERATED_FORMATS

    def has_members(self, set_spec: str) -> bool:
        """Whether any record is in the set (Zenodo's sets are flat: no `a:b` below `a`)."""
        residues = self._residues.get(set_spec) or []
        return bool(residues) and residues[0] < len(self)

    def count(self, lo: int, hi: int, set_spec: str | None, prefixes: frozenset[str]) -> int | None:
        if not prefixes & GENERATED_FORMATS or hi <= lo:
            return 0
        if set_spec is None:
            return hi - lo
        residues = self._residues.get(set_spec, [])  # flat sets: no `a:b` below `a`
        return _count_residues(hi, residues) - _count_residues(lo, residues)

    def record(self, index: int) -> dict[str, Any]:
        rdm = self.rest.record(index)["rdm"]
        return {"identifier": self.native_id(index), "sets": list(oai_sets(rdm)), "bodies": RenderedBodies(rdm)}


class RenderedBodies(Mapping[str, str]):
    """A record's metadata bodies by prefix, each rendered from its RDM JSON the first time it is asked for (a
    listing wants one format; rendering both for every record of a million-record harvest would double the work)."""

    RENDERERS: ClassVar[dict[str, Callable[[Mapping[str, Any]], str]]] = {"oai_dc": dublin_core, "datacite": datacite}

    def __init__(self, rdm: Mapping[str, Any]) -> None:
        self.rdm = rdm
        self._rendered: dict[str, str] = {}

    def __getitem__(self, prefix: str) -> str:
        if prefix not in self._rendered:
            self._rendered[prefix] = self.RENDERERS[prefix](self.rdm)
        return self._rendered[prefix]

    def __iter__(self) -> Iterator[str]:
        return iter(self.RENDERERS)

    def __len__(self) -> int:
        return len(self.RENDERERS)


def _count_residues(n: int, residues: list[int]) -> int:
    """How many i in [0, n) have i % PERIOD in `residues` (sorted)."""
    full, rest = divmod(n, PERIOD)
    return full * len(residues) + bisect.bisect_left(residues, rest)
